package provider

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

var (
	_ resource.Resource                = &autoscalerResource{}
	_ resource.ResourceWithConfigure   = &autoscalerResource{}
	_ resource.ResourceWithImportState = &autoscalerResource{}
	_ resource.ResourceWithIdentity    = &autoscalerResource{}
)

// NewAutoscalerResource is the swarm_autoscaler resource: the autoscaling controller
// (cmd/swarm-autoscaler) as a Swarm service on the managers. What the service looks like is
// the engine's (orchestrator.AutoscalerSpec); so is every step of its apply.
func NewAutoscalerResource() resource.Resource { return &autoscalerResource{} }

type autoscalerResource struct {
	resourceBase
}

type autoscalerModel struct {
	ID           types.String    `tfsdk:"id"`
	Name         types.String    `tfsdk:"name"`
	Image        kindValue       `tfsdk:"image"`
	Interval     kindValue       `tfsdk:"interval"`
	LogLevel     types.String    `tfsdk:"log_level"`
	Resources    *resourcesModel `tfsdk:"resources"`
	Constraints  []types.String  `tfsdk:"placement_constraints"`
	Networks     []types.String  `tfsdk:"networks"`
	DockerSocket types.String    `tfsdk:"docker_socket"`
	Version      wholeValue      `tfsdk:"version"`
	RunningTasks wholeValue      `tfsdk:"running_tasks"`
	Timeouts     timeouts.Value  `tfsdk:"timeouts"`
}

// settings are the model in the engine's terms.
func (m autoscalerModel) settings() orchestrator.AutoscalerSettings {
	s := orchestrator.AutoscalerSettings{Name: m.Name.ValueString(), Image: m.Image.ValueString(), Interval: parseDuration(m.Interval),
		LogLevel: m.LogLevel.ValueString(), Resources: m.Resources.toSwarm(intNull()), Socket: m.DockerSocket.ValueString()}
	for _, c := range m.Constraints {
		s.Constraints = append(s.Constraints, c.ValueString())
	}
	for _, n := range m.Networks {
		s.Networks = append(s.Networks, n.ValueString())
	}
	return s
}

// autoscalerFrom is the one function that turns the controller's service into the model; prior
// keeps the configuration's spellings (image without digest, empty lists) and the timeouts.
func autoscalerFrom(st *orchestrator.ServiceState, prior autoscalerModel) autoscalerModel {
	s, _ := orchestrator.AutoscalerSettingsOf(st.Service.Spec)
	m := autoscalerModel{
		ID: types.StringValue(st.Service.ID), Name: types.StringValue(s.Name), Image: imageValue(s.Image),
		Interval: durationValue(s.Interval.String()), LogLevel: types.StringValue(s.LogLevel),
		Resources: resourcesFrom(s.Resources, prior.Resources), Version: intValue(int64(st.Service.Version.Index)),
		RunningTasks: intValue(int64(st.RunningReplicas)), DockerSocket: types.StringValue(s.Socket), Timeouts: prior.Timeouts,
	}
	if m.Resources != nil && m.Resources.Limits == nil && m.Resources.Reservations == nil && prior.Resources == nil {
		m.Resources = nil
	}
	for _, c := range s.Constraints {
		m.Constraints = append(m.Constraints, types.StringValue(c))
	}
	if m.Constraints == nil && prior.Constraints != nil {
		m.Constraints = []types.String{}
	}
	for i, n := range s.Networks {
		var spelled types.String
		if i < len(prior.Networks) {
			spelled = prior.Networks[i]
		}
		m.Networks = append(m.Networks, readRef(n, spelled, orchestrator.KindNetwork, st.Resolve))
	}
	if m.Networks == nil && prior.Networks != nil {
		m.Networks = []types.String{}
	}
	if prior.Interval.ValueString() != "" && parseDuration(prior.Interval) == s.Interval {
		m.Interval = prior.Interval // "1m" stays "1m", not "1m0s"
	}
	return m
}

func (r *autoscalerResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_autoscaler"
}

// IdentitySchema: the controller is a service, known by its ID and by its name, which is
// unique among the swarm's services and cannot change (a new name replaces it).
func (r *autoscalerResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identityByIDAndName("The controller service's ID. An import block may give the service's name here instead.", "The controller service's name.")
}

func (r *autoscalerResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The autoscaling controller, as a Swarm service with one task on every manager. It decides and scales, every `interval`, the " +
			"`swarm_scaling_policy` resources whose `evaluation` is `continuous`, with the rule a plan uses. Only the task on the swarm's Raft leader acts; " +
			"the others stand by and take over when the leader changes. Each task mounts its node's Docker socket, which gives it control of the swarm: " +
			"that is why it runs on managers only. The apply waits until every task has finished its first round (its healthcheck passes then). " +
			"See the autoscaling guide.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The controller service's ID.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(orchestrator.DefaultAutoscalerName),
				MarkdownDescription: fmt.Sprintf("Name of the controller's service. Default `%s`. Changing it replaces the service.", orchestrator.DefaultAutoscalerName),
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:          []validator.String{check{summary: "Invalid Service Name", text: orchestrator.CheckName}}},
			"image": schema.StringAttribute{CustomType: imageType, Required: true,
				MarkdownDescription: "The controller's image: `swarmform/swarm-autoscaler` at the provider's version (`make autoscaler-image` builds `swarmform/swarm-autoscaler:dev` from a checkout). " +
					"A tag is pinned to its digest when the registry can be asked; the digest never shows as a diff."},
			"interval": schema.StringAttribute{CustomType: durationType, Optional: true, Computed: true, Default: stringdefault.StaticString(orchestrator.DefaultAutoscalerInterval.String()),
				MarkdownDescription: "How often the controller evaluates every continuous policy, a Go duration of at least `1s`. Default `5s`.",
				Validators:          []validator.String{check{summary: "Invalid Interval", text: checkInterval}}},
			"log_level": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(orchestrator.DefaultAutoscalerLogLevel),
				MarkdownDescription: "`info` (the default: one JSON line per decision written), `debug` (one per policy and round), `warn` or `error`. Read them with `docker service logs`.",
				Validators:          []validator.String{stringvalidator.OneOf("debug", "info", "warn", "error")}},
			"resources": resourcesAttribute(),
			"placement_constraints": schema.ListAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Placement constraints on top of `node.role==manager`, such as `node.labels.autoscaler==yes`, to keep the controller off some managers.",
				Validators:          []validator.List{check{summary: "Invalid Constraint", text: orchestrator.CheckConstraint}}},
			"networks": schema.ListAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Networks the controller attaches to (IDs or names), so that it reaches the Prometheus of `prometheus` metrics and of `source = \"cadvisor\"`: " +
					"an overlay network Prometheus is on, or `host` for a Prometheus on the managers' own addresses. Left out, the controller reaches only the Docker socket " +
					"(enough for `cpu` and `memory` from Docker stats).",
				Validators: []validator.List{listvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1))}},
			"docker_socket": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(orchestrator.DefaultAutoscalerSocket),
				MarkdownDescription: fmt.Sprintf("Path of the Docker engine's socket on the managers, mounted into each controller task: the controller acts through its own node's engine. Default `%s`. ", orchestrator.DefaultAutoscalerSocket) +
					"Swarm's service templates are expanded on each node, for engines whose socket is named after their node: `/run/docker/{{.Node.Hostname}}.sock`. " +
					"A change rolls the controller's tasks.",
				Validators: []validator.String{check{summary: "Invalid Docker Socket", text: orchestrator.CheckAutoscalerSocket}}},
			"version": schema.Int64Attribute{CustomType: wholeType{}, Computed: true, MarkdownDescription: "Swarm's version of the service object."},
			"running_tasks": schema.Int64Attribute{CustomType: wholeType{}, Computed: true,
				MarkdownDescription: "Controller tasks running when the service was last read (one per manager it may run on)."},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

// checkInterval checks the interval as the engine does.
func checkInterval(s string) error {
	if err := orchestrator.CheckDuration(s); err != nil {
		return err
	}
	d, _ := time.ParseDuration(s)
	return orchestrator.CheckAutoscalerInterval(d)
}

func (r *autoscalerResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	defer setIdentity(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var plan autoscalerModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Create, defaultCreateTimeout, &resp.Diagnostics)
	defer cancel()
	a, err := r.engine.ApplyService(ctx, "", orchestrator.AutoscalerSpec(plan.settings()), orchestrator.ApplyOptions{Converge: true})
	if a.Wrote {
		// Recorded whatever follows, so that Terraform knows the service exists.
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), a.Write.ID)...)
	}
	r.record(ctx, a, plan, &resp.State, &resp.Diagnostics)
	if err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Start the Autoscaling Controller", fmt.Sprintf("Creating service %q, then waiting until every controller task finished its first round", plan.Name.ValueString()), err)
	}
}

func (r *autoscalerResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	defer setReadIdentity(ctx, req.State, &resp.State, resp.Identity, &resp.Diagnostics)
	var state autoscalerModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	st, err := r.engine.Service(ctx, state.ID.ValueString())
	if errors.Is(err, orchestrator.ErrNotFound) {
		tflog.Info(ctx, "the autoscaler service is gone, removing it from state", map[string]any{"id": state.ID.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Read the Autoscaling Controller", "Reading service "+state.ID.ValueString(), err)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, autoscalerFrom(st, state))...)
}

func (r *autoscalerResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	defer setIdentity(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var plan, state autoscalerModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Update, defaultUpdateTimeout, &resp.Diagnostics)
	defer cancel()
	planned := orchestrator.AutoscalerSpec(state.settings())
	a, err := r.engine.ApplyService(ctx, state.ID.ValueString(), orchestrator.AutoscalerSpec(plan.settings()),
		orchestrator.ApplyOptions{Write: orchestrator.WriteOptions{PlannedFrom: &planned}, Converge: true})
	prior := plan
	if err != nil {
		prior = state
	}
	r.record(ctx, a, prior, &resp.State, &resp.Diagnostics)
	if err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Update the Autoscaling Controller", fmt.Sprintf("Updating service %q", plan.Name.ValueString()), err)
	}
}

// record stores what the apply step read back; a service that could not be read keeps what
// state had (a create, its ID).
func (r *autoscalerResource) record(ctx context.Context, a orchestrator.Applied, prior autoscalerModel, st stateSetter, diags *diag.Diagnostics) {
	addWarnings(diags, a.Write.Warnings)
	addWarnings(diags, a.Verdict.Warnings)
	switch {
	case a.Service != nil:
		diags.Append(st.Set(ctx, autoscalerFrom(a.Service, prior))...)
	case a.ReadErr != nil:
		addEngineError(diags, "Cannot Read the Autoscaling Controller", "Reading service "+a.Write.ID+" after writing it", a.ReadErr)
	}
}

func (r *autoscalerResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state autoscalerModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, state.Timeouts.Delete, defaultDeleteTimeout, &resp.Diagnostics)
	defer cancel()
	if err := r.engine.DeleteAutoscaler(ctx, state.ID.ValueString()); err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Delete the Autoscaling Controller", fmt.Sprintf("Removing service %q", state.Name.ValueString()), err)
	}
}

// ImportState takes the controller service's ID or name; a service that is not a controller is
// refused.
func (r *autoscalerResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !r.connected(&resp.Diagnostics) {
		return
	}
	key := importKey(ctx, req, "id", &resp.Diagnostics)
	st, err := r.engine.Service(ctx, key)
	if err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Import the Autoscaling Controller", "Looking up service "+key, err)
		return
	}
	if _, ok := orchestrator.AutoscalerSettingsOf(st.Service.Spec); !ok {
		resp.Diagnostics.AddError("Cannot Import the Autoscaling Controller", fmt.Sprintf("Service %s is not an autoscaling controller (it has no %s label). Import it as a swarm_service instead.",
			st.Service.Spec.Name, orchestrator.AutoscalerLabel))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), st.Service.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), st.Service.Spec.Name)...)
	setIdentity(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
}
