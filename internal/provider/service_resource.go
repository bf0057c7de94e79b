package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/float64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/float64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

var (
	_ resource.Resource                   = &serviceResource{}
	_ resource.ResourceWithConfigure      = &serviceResource{}
	_ resource.ResourceWithImportState    = &serviceResource{}
	_ resource.ResourceWithIdentity       = &serviceResource{}
	_ resource.ResourceWithValidateConfig = &serviceResource{}
	_ resource.ResourceWithModifyPlan     = &serviceResource{}
	_ resource.ResourceWithUpgradeState   = &serviceResource{}
)

// NewServiceResource is the swarm_service resource.
func NewServiceResource() resource.Resource { return &serviceResource{} }

type serviceResource struct {
	resourceBase
}

const (
	defaultCreateTimeout = 10 * time.Minute
	defaultUpdateTimeout = 10 * time.Minute
	defaultDeleteTimeout = 5 * time.Minute
)

func (r *serviceResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_service"
}

// IdentitySchema: a service is known by its ID and by its name, which is unique among the
// swarm's services and cannot change (a new name replaces the service).
func (r *serviceResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identityByIDAndName("The service's swarm ID. An import block may give the service's name here instead.", "The service's name, unique among the swarm's services.")
}

func (r *serviceResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	// The container and task attributes are swarm_job's too (taskAttributes); these are the
	// service's own.
	attributes := map[string]schema.Attribute{
		"id": schema.StringAttribute{
			Computed: true, MarkdownDescription: "Swarm service ID.",
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
		"name": schema.StringAttribute{
			Required: true, MarkdownDescription: "Service name, unique in the swarm. Changing it replaces the service.",
			PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			Validators:    []validator.String{check{summary: "Invalid Service Name", text: orchestrator.CheckName}},
		},
		"mode": schema.StringAttribute{
			Optional: true, Computed: true, Default: stringdefault.StaticString(serviceDefaults.Mode),
			MarkdownDescription: "`replicated` (default: `replicas` tasks) or `global` (one task per eligible node). Swarm cannot change it in place, so changing it replaces the service. A job (mode `replicated-job` or `global-job`, whose tasks run to completion) is not a service this resource manages: importing one is refused, and the `swarm_service` data source reads it with that mode and null `replicas`.",
			Validators:          []validator.String{stringvalidator.OneOf("replicated", "global")},
			PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
		},
		"replicas": schema.Int64Attribute{CustomType: wholeType{},
			Optional: true, Computed: true,
			MarkdownDescription: "Number of tasks in `replicated` mode (default 1; 0 is allowed). Not allowed in `global` mode. While a scaling policy owns the service, this is only the initial count: the policy's decisions never show as a diff here and applies of this resource keep the live count.",
			Validators:          []validator.Int64{int64validator.Between(0, orchestrator.MaxReplicas)},
			PlanModifiers:       []planmodifier.Int64{replicasDefault{}},
		},
		"ports": schema.ListNestedAttribute{
			Optional: true, MarkdownDescription: "Published ports.",
			NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
				"target": schema.Int64Attribute{CustomType: wholeType{}, Required: true, MarkdownDescription: "Port inside the container.", Validators: []validator.Int64{int64validator.Between(1, 65535)}},
				"published": schema.Int64Attribute{CustomType: wholeType{}, Optional: true, MarkdownDescription: "Port on the nodes. Left out, Swarm picks one.",
					Validators: []validator.Int64{int64validator.Between(1, 65535)}},
				"protocol": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(serviceDefaults.PortProtocol), MarkdownDescription: "`tcp` (default), `udp` or `sctp`.",
					Validators: []validator.String{stringvalidator.OneOf("tcp", "udp", "sctp")}},
				"mode": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(serviceDefaults.PortMode),
					MarkdownDescription: "`ingress` (default: the routing mesh on every node) or `host` (only on nodes running a task).",
					Validators:          []validator.String{stringvalidator.OneOf("ingress", "host")}},
			}},
		},
		"endpoint_mode": schema.StringAttribute{
			Optional: true, Computed: true, Default: stringdefault.StaticString(serviceDefaults.EndpointMode),
			MarkdownDescription: "`vip` (default: one virtual IP) or `dnsrr` (DNS round robin over the task IPs).",
			Validators:          []validator.String{stringvalidator.OneOf("vip", "dnsrr")},
		},
		"rolling_update": updateConfigAttribute("How Swarm rolls tasks onto a new spec (its UpdateConfig). Defaults are Swarm's.", []string{"pause", "continue", "rollback"}),
		"rollback":       updateConfigAttribute("How Swarm rolls back to the previous spec (its RollbackConfig). Defaults are Swarm's.", []string{"pause", "continue"}),
		"wait": schema.SingleNestedAttribute{
			Optional: true, Computed: true,
			MarkdownDescription: "Whether and how apply waits for the rollout. By default it waits until every slot runs a healthy task of the new spec, stable for `rolling_update.monitor`.",
			Default: objectdefault.StaticValue(types.ObjectValueMust(waitAttrTypes, map[string]attr.Value{
				"converge": serviceDefaults.Wait.Converge, "progress_deadline": serviceDefaults.Wait.ProgressDeadline,
			})),
			Attributes: map[string]schema.Attribute{
				"converge": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(serviceDefaults.Wait.Converge.ValueBool()),
					MarkdownDescription: "Wait for convergence (default). `false` returns as soon as Swarm accepted the change."},
				"progress_deadline": schema.StringAttribute{CustomType: durationType, Optional: true,
					MarkdownDescription: "Fail the rollout when no task of the new spec starts running for this long (Swarm itself has no such deadline), e.g. a task stuck pending for lack of a node. With `rolling_update.failure_action = \"rollback\"` the provider then rolls the service back and waits for the rollback. A task that no node of the swarm can ever run (a log or volume driver no node has, a platform no node runs, a reservation larger than any node) fails the rollout at once, deadline or not."},
			},
		},
		"force_update": schema.Int64Attribute{CustomType: wholeType{},
			Optional: true, Computed: true,
			MarkdownDescription: "A counter: raising it restarts every task with the same spec (for example to pick up a new config, or to rebalance). Left out, the current value is kept.",
			Validators:          []validator.Int64{int64validator.AtLeast(0)},
			PlanModifiers:       []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
		},
		"update_state": schema.StringAttribute{
			Computed:            true,
			MarkdownDescription: "State of the last rollout: `updating`, `paused`, `completed`, `rollback_started`, `rollback_paused` or `rollback_completed`; null before the first update. It follows `rolling_update.failure_action` when a rollout fails: `paused` also where every slot already had the new spec, so Swarm had nothing left to pause. A paused rollout shows in the next plan, and the next apply resumes it. After an apply that stopped waiting for the service (it was interrupted, or ran out of time), the next plan shows this attribute as known after the apply: that apply waits for the service's convergence, writing nothing the plan does not show, and fails if its tasks fail.",
		},
		"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		"version": schema.Int64Attribute{CustomType: wholeType{},
			Computed: true, MarkdownDescription: "Swarm's version of the service object; changes with every write.",
		},
		"running_replicas": schema.Int64Attribute{CustomType: wholeType{},
			Computed: true, MarkdownDescription: "Tasks running when the service was last read.",
		},
	}
	maps.Copy(attributes, taskAttributes(serviceDefaults.RestartPolicy, "When Swarm restarts a task's container. Defaults to Swarm's: condition `any`, delay `5s`, no attempt limit."))
	resp.Schema = schema.Schema{
		Version:             serviceSchemaVersion,
		MarkdownDescription: "A Docker Swarm service. Every create and update waits until the service has converged: each slot runs a task of the new spec (healthy, where the service has a healthcheck). A task that fails to start fails the apply at once with its exit code, error and last log lines.",
		Attributes:          attributes,
	}
}

func (r *serviceResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	defer setIdentity(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var plan serviceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Create, defaultCreateTimeout, &resp.Diagnostics)
	defer cancel()

	name := plan.Name.ValueString()
	a, err := r.engine.ApplyService(ctx, "", plan.toSpec(), plan.applyOptions(orchestrator.WriteOptions{}))
	addWarnings(&resp.Diagnostics, a.Write.Warnings)
	if !a.Wrote {
		addEngineError(&resp.Diagnostics, "Cannot Create Service", fmt.Sprintf("Creating service %q", name), err)
		return
	}
	tflog.Info(ctx, "service created", map[string]any{"service": name, "id": a.Write.ID})
	// Recorded whatever follows, so that Terraform knows the service exists.
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), a.Write.ID)...)
	switch {
	case errors.Is(err, orchestrator.ErrNotFound):
		resp.State.RemoveResource(ctx)
		addRemovedDuringApply(&resp.Diagnostics, name)
		return
	case errors.Is(err, context.Canceled):
		// Interrupted while the tasks were starting normally (a failure would have ended the
		// wait first): keep the service as it is, not tainted, and still to be confirmed.
		r.record(ctx, a, plan, &resp.State, &resp.Diagnostics)
		writePrivate(ctx, resp.Private, unconfirmedKey, unconfirmed(a.Awaited), &resp.Diagnostics)
		resp.Diagnostics.AddWarning("Apply Interrupted", fmt.Sprintf("The apply was interrupted while service %q was starting. It is kept as it is (not tainted): Swarm goes on starting its tasks, and state records the service as configured. "+
			"Its convergence is still to be confirmed: the next plan shows that, and the next apply waits for it and fails with the tasks' errors if they fail. `docker service ps %s` shows them now.", name, name))
		return
	}
	// Recorded as it runs even when the wait failed: Terraform then taints it.
	r.record(ctx, a, plan, &resp.State, &resp.Diagnostics)
	if err != nil {
		addEngineError(&resp.Diagnostics, "Service Did Not Converge", fmt.Sprintf("Service %q was created but did not reach a running state. It is kept so that you can inspect it (docker service ps %s); Terraform marks it tainted and replaces it on the next apply.", name, name), err)
	}
}

func (r *serviceResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	defer setReadIdentity(ctx, req.State, &resp.State, resp.Identity, &resp.Diagnostics)
	var id types.String
	var version, running wholeValue
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("id"), &id)...)
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("version"), &version)...)
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("running_replicas"), &running)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	st, err := r.engine.Service(ctx, id.ValueString())
	if errors.Is(err, orchestrator.ErrNotFound) {
		tflog.Info(ctx, "service is gone, removing it from state", map[string]any{"id": id.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Read Service", fmt.Sprintf("Reading service %s", id.ValueString()), err)
		return
	}
	job := orchestrator.IsJob(st.Service.Spec)
	if job && version.IsNull() { // the read that completes an import
		addJobError(&resp.Diagnostics, st.Service.Spec)
		return
	}
	if job {
		// State holds a job (imported before jobs were refused): read it as it is, whatever the
		// version, so that its mode shows, and say what the plan does with it.
		addJobWarning(&resp.Diagnostics, st.Service.Spec)
	}
	// Its scaling policy, refreshed next, will need the tasks' load: start measuring now.
	r.engine.PrefetchLoad(st.Service)
	// Swarm bumps a service's version on every spec change. The same version as in state means
	// the same spec that state already describes: only the live counters need refreshing.
	if !job && !version.IsNull() && uint64(version.ValueInt64()) == st.Service.Version.Index && st.Service.ID == id.ValueString() {
		if running.ValueInt64() != int64(st.RunningReplicas) || running.IsNull() {
			resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("running_replicas"), int64(st.RunningReplicas))...)
		}
		return
	}
	var state serviceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, serviceFrom(st, state))...)
}

func (r *serviceResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	defer setIdentity(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var plan, state serviceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Update, defaultUpdateTimeout, &resp.Diagnostics)
	defer cancel()

	id, name := state.ID.ValueString(), plan.Name.ValueString()
	// State is the service as the plan saw it: a change made to it since is not overwritten.
	plannedFrom := state.toSpec()
	opts := plan.applyOptions(orchestrator.WriteOptions{Resume: rolloutStopped(state.UpdateState), PlannedFrom: &plannedFrom})
	// A write whose wait an earlier apply cut short is waited for again, when this one sets
	// nothing in motion (a write that does is waited for, which confirms the service as it is).
	var pending unconfirmedWrite
	if readPrivate(ctx, req.Private, unconfirmedKey, &pending) && pending.Format == 1 {
		w := pending.result(id)
		opts.Confirm = &w
	}
	a, err := r.engine.ApplyService(ctx, id, plan.toSpec(), opts)
	addWarnings(&resp.Diagnostics, a.Write.Warnings)
	if !a.Wrote {
		addEngineError(&resp.Diagnostics, "Cannot Update Service", fmt.Sprintf("Updating service %q", name), err)
		r.record(ctx, a, state, &resp.State, &resp.Diagnostics)
		return
	}
	tflog.Info(ctx, "service written", map[string]any{"service": name, "outcome": string(a.Write.Outcome), "change": a.Write.Kind.String(), "confirming": a.Confirming})
	if errors.Is(err, orchestrator.ErrNotFound) {
		resp.State.RemoveResource(ctx)
		addRemovedDuringApply(&resp.Diagnostics, name)
		return
	}
	addWarnings(&resp.Diagnostics, a.Verdict.Warnings)
	prior := plan
	if err != nil {
		// Record what really runs (after a rollback: the previous spec) and how the rollout
		// ended, so the next plan proposes what is still to do.
		prior = state
	}
	r.record(ctx, a, prior, &resp.State, &resp.Diagnostics)
	writePrivate(ctx, resp.Private, adoptedKey, nil, &resp.Diagnostics)
	var cut *orchestrator.TimeoutError
	switch {
	case errors.As(err, &cut):
		writePrivate(ctx, resp.Private, unconfirmedKey, unconfirmed(a.Awaited), &resp.Diagnostics)
	case err == nil || !a.Confirming:
		writePrivate(ctx, resp.Private, unconfirmedKey, nil, &resp.Diagnostics)
	} // a confirmation that failed stays to be confirmed
	if err != nil {
		summary, outcome := "Service Update Did Not Converge", rolloutOutcome(name, err)
		switch {
		case cut != nil:
			outcome = fmt.Sprintf("The apply stopped waiting for service %q before it converged. State records what was written; the next plan shows that its convergence is still to be confirmed, and the next apply waits for it (writing nothing the plan does not show) and fails if its tasks fail.", name)
		case a.Confirming:
			summary, outcome = "Service Did Not Converge", confirmationOutcome(name, pending, err)
		}
		addEngineError(&resp.Diagnostics, summary, outcome, err)
	}
}

// confirmationOutcome tells the user that a service whose convergence an earlier apply did not
// see has not converged, and what the next plan does about it.
func confirmationOutcome(name string, pending unconfirmedWrite, err error) string {
	what := fmt.Sprintf("Service %q, which the last apply %s but stopped waiting for, has not converged.", name, pending.Outcome)
	var re *orchestrator.RolloutError
	if pending.Outcome == string(orchestrator.OutcomeUpdated) && errors.As(err, &re) && re.Ending != orchestrator.EndingFailed {
		what += " " + rolloutOutcome(name, err)
	}
	return what + " It is kept as it is and stays to be confirmed: the next plan shows that again, and the next apply waits for it again, until it converges or a new configuration replaces what fails."
}

// rolloutStopped says whether state records a rollout that stopped on a failure, which the
// next apply resumes.
func rolloutStopped(updateState types.String) bool {
	s := swarm.UpdateState(updateState.ValueString())
	return s == swarm.UpdateStatePaused || s == swarm.UpdateStateRollbackPaused
}

func (r *serviceResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state serviceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, state.Timeouts.Delete, defaultDeleteTimeout, &resp.Diagnostics)
	defer cancel()
	if err := r.engine.DeleteService(ctx, state.ID.ValueString()); err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Delete Service", fmt.Sprintf("Removing service %q", state.Name.ValueString()), err)
	}
}

// addJobError refuses to import a job: swarm_service would read it as a replicated service.
func addJobError(diags *diag.Diagnostics, spec swarm.ServiceSpec) {
	diags.AddError("Cannot Import a Job", fmt.Sprintf("Importing service %q: it runs in mode %q: it is a job, whose tasks run to completion, not a service whose tasks keep running. "+
		"swarm_service manages replicated and global services only; swarm_job manages jobs. "+
		"Remove the import (the import block, or the terraform import command) and import the job into a swarm_job resource instead (an import block with to = swarm_job.<name>, the same id).",
		spec.Name, orchestrator.ModeOf(spec)))
}

// addJobWarning says that state holds a job, and what the plan does with it.
func addJobWarning(diags *diag.Diagnostics, spec swarm.ServiceSpec) {
	diags.AddWarning("Service Is a Job", fmt.Sprintf("State holds service %q, which runs in mode %q: it is a job, whose tasks run to completion. "+
		"swarm_service manages replicated and global services only and cannot change a job in place, so the plan shows its mode as it is and replaces it with a service as configured. "+
		"To keep the job, take it out of state instead (a removed block with destroy = false, or terraform state rm) and import it into a swarm_job resource.", spec.Name, orchestrator.ModeOf(spec)))
}

// unconfirmedKey marks, in private state, a write whose convergence no apply has seen: the wait
// for it was cut short (the apply was interrupted, or ran out of time). The next plan shows it,
// and the next apply waits for it as the first would have, with the same verdict and errors,
// writing nothing the plan does not show. A wait that succeeds clears it.
const unconfirmedKey = "unconfirmed"

// unconfirmedWrite is the write to wait for again.
type unconfirmedWrite struct {
	Format  int       `json:"format"` // 1
	Since   time.Time `json:"since"`
	Outcome string    `json:"outcome"` // orchestrator.Outcome: "created" or "updated"
	Change  string    `json:"change"`  // orchestrator.ChangeKind's String
}

func unconfirmed(res orchestrator.WriteResult) unconfirmedWrite {
	return unconfirmedWrite{Format: 1, Since: res.Since, Outcome: string(res.Outcome), Change: res.Kind.String()}
}

// result is the write to wait for, on service id.
func (u unconfirmedWrite) result(id string) orchestrator.WriteResult {
	res := orchestrator.WriteResult{ID: id, Outcome: orchestrator.Outcome(u.Outcome), Since: u.Since, Kind: orchestrator.ChangeTaskTemplate}
	if u.Change == orchestrator.ChangeScale.String() {
		res.Kind = orchestrator.ChangeScale
	}
	return res
}

// adoptedKey marks, in private state, a service just imported: the next plan lists what it
// has that the configuration does not model (kept as it is on every write).
const adoptedKey = "adopted"

// ImportState takes a service ID or name; Read resolves names.
func (r *serviceResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughWithIdentity(ctx, path.Root("id"), path.Root("id"), req, resp)
	writePrivate(ctx, resp.Private, adoptedKey, true, &resp.Diagnostics)
}

// warnUnmodelled lists, after an import, the fields the service has that the configuration
// does not model: every write keeps them as they are.
func (r *serviceResource) warnUnmodelled(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	var adopted bool
	if r.engine == nil || !readPrivate(ctx, req.Private, adoptedKey, &adopted) || !adopted {
		return
	}
	var id types.String
	if req.State.GetAttribute(ctx, path.Root("id"), &id).HasError() {
		return
	}
	st, err := r.engine.Service(ctx, id.ValueString())
	if err != nil {
		return
	}
	if fields := orchestrator.UnownedFields(st.Service.Spec); len(fields) > 0 {
		resp.Diagnostics.AddWarning("Service Has Fields the Configuration Does Not Manage",
			fmt.Sprintf("Service %q has fields that no attribute of swarm_service models. Every apply keeps them exactly as they are, and nothing else leaves the service without showing in the plan:\n  %s",
				st.Service.Spec.Name, strings.Join(fields, "\n  ")))
	}
}

// ValidateConfig runs the engine's rules of a service spec (CheckServiceSpec: ports, mounts,
// resources, networks, ulimits) on what the configuration gives, leaving out the rules that read
// a value not known yet, and checks here what only the configuration's shape says: replicas
// given in global mode, and mount options of another mount type.
func (r *serviceResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var mode types.String
	var replicas wholeValue
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("mode"), &mode)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("replicas"), &replicas)...)
	if mode.ValueString() == "global" && !replicas.IsNull() {
		addPathError(&resp.Diagnostics, path.Root("replicas"), "Replicas Not Allowed In Global Mode",
			"A global service runs one task on every eligible node; remove replicas, or use mode = \"replicated\".")
	}
	validateTaskConfig(ctx, req.Config, &resp.Diagnostics)
}

// validateTaskConfig checks the container and task attributes of a configuration (a service's
// or a job's): the engine's rules of a spec (CheckServiceSpec), leaving out those that read a
// value not known yet, and mount options given for another mount type.
func validateTaskConfig(ctx context.Context, cfg tfsdk.Config, diags *diag.Diagnostics) {
	spec := configuredSpec(ctx, cfg)
	unknown := unknownPaths(cfg.Raw)
	for _, p := range orchestrator.CheckServiceSpec(spec) {
		if !readsUnknown(p, unknown) {
			addProblems(diags, []orchestrator.FieldProblem{p}, true)
		}
	}
	var mounts []mountModel
	if d := cfg.GetAttribute(ctx, path.Root("mounts"), &mounts); d.HasError() {
		return // unknown list: checked again at apply
	}
	for i, m := range mounts {
		if m.Type.IsUnknown() {
			continue
		}
		if m.Type.ValueString() != "tmpfs" && !m.TmpfsSize.IsNull() {
			addPathError(diags, path.Root("mounts").AtListIndex(i).AtName("tmpfs_size"), "Tmpfs Size On Non-Tmpfs Mount", "tmpfs_size applies only to type = \"tmpfs\".")
		}
		for attr, set := range map[string]bool{"tmpfs_mode": !m.TmpfsMode.IsNull(), "driver": !m.Driver.IsNull(), "driver_options": m.DriverOptions != nil,
			"volume_labels": m.VolumeLabels != nil, "no_copy": m.NoCopy.ValueBool(), "propagation": !m.Propagation.IsNull()} {
			if want := mountOptionType[attr]; set && m.Type.ValueString() != want {
				addPathError(diags, path.Root("mounts").AtListIndex(i).AtName(attr), "Option Of Another Mount Type",
					fmt.Sprintf("%s applies only to type = %q.", attr, want))
			}
		}
	}
}

// configuredSpec is the part of a configuration that the engine's spec rules read, as a spec:
// an attribute whose value is not known yet reads as not set (and the rules that read it are
// left out); a collection not known yet as empty.
func configuredSpec(ctx context.Context, cfg tfsdk.Config) swarm.ServiceSpec {
	cs := &swarm.ContainerSpec{}
	spec := swarm.ServiceSpec{TaskTemplate: swarm.TaskSpec{ContainerSpec: cs}}
	var endpointMode types.String
	var ports []portModel
	var mounts []mountModel
	var ulimits map[string]ulimitModel
	var res *resourcesModel
	cfg.GetAttribute(ctx, path.Root("endpoint_mode"), &endpointMode)
	spec.EndpointSpec = &swarm.EndpointSpec{Mode: swarm.ResolutionMode(stringOr(endpointMode, serviceDefaults.EndpointMode))}
	if !cfg.GetAttribute(ctx, path.Root("ports"), &ports).HasError() {
		for _, p := range ports {
			spec.EndpointSpec.Ports = append(spec.EndpointSpec.Ports, p.toSwarm())
		}
	}
	if !cfg.GetAttribute(ctx, path.Root("mounts"), &mounts).HasError() {
		for _, m := range mounts {
			cs.Mounts = append(cs.Mounts, m.toSwarm())
		}
	}
	if !cfg.GetAttribute(ctx, path.Root("ulimits"), &ulimits).HasError() {
		cs.Ulimits = ulimitsToSwarm(ulimits)
	}
	if !cfg.GetAttribute(ctx, path.Root("resources"), &res).HasError() {
		// An unknown or invalid amount reads as 0 (not set): only known amounts are compared.
		spec.TaskTemplate.Resources = res.toSwarm(intNull())
	}
	for _, t := range networkTargets(ctx, cfg) {
		spec.TaskTemplate.Networks = append(spec.TaskTemplate.Networks, swarm.NetworkAttachmentConfig{Target: t})
	}
	return spec
}

// networkTargets are the network references of a configuration or plan, in order: "" for one
// not known yet; none when the list itself is not known.
func networkTargets(ctx context.Context, cfg attributeGetter) []string {
	var nets types.List
	if cfg.GetAttribute(ctx, path.Root("networks"), &nets).HasError() || !known(nets) {
		return nil
	}
	targets := make([]string, len(nets.Elements()))
	for i, v := range nets.Elements() {
		if o, ok := v.(types.Object); ok && known(o) {
			if id, ok := o.Attributes()["id"].(types.String); ok {
				targets[i] = id.ValueString()
			}
		}
	}
	return targets
}

// planNetworks checks, when the networks of a service or a job change, that they are swarm
// networks, each attached once, as the engine resolves them now (PlanServiceNetworks). When the
// swarm cannot be read, the check is left to the write, which makes it again.
func planNetworks(ctx context.Context, engine *orchestrator.Engine, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if engine == nil || req.Plan.Raw.IsNull() {
		return
	}
	targets := networkTargets(ctx, req.Plan)
	if !req.State.Raw.IsNull() && slices.Equal(targets, networkTargets(ctx, req.State)) {
		return
	}
	problems, err := engine.PlanServiceNetworks(ctx, targets)
	if err != nil {
		// The engine resolves the networks again before it writes the service.
		tflog.Warn(ctx, "the service's networks could not be checked at plan time", map[string]any{"error": err.Error()})
		return
	}
	addProblems(&resp.Diagnostics, problems, true)
}

// mountOptionType says which mount type each mount option belongs to.
var mountOptionType = map[string]string{"tmpfs_mode": "tmpfs", "driver": "volume", "driver_options": "volume", "volume_labels": "volume", "no_copy": "volume", "propagation": "bind"}

// applyOptions are the engine's options for an apply step of the service: write as given,
// and wait as the wait block says.
func (m serviceModel) applyOptions(write orchestrator.WriteOptions) orchestrator.ApplyOptions {
	opts := orchestrator.ApplyOptions{Write: write, Converge: true}
	if w := m.Wait; w != nil {
		if !w.Converge.IsNull() && !w.Converge.ValueBool() {
			opts.Converge = false
		}
		opts.Wait.ProgressDeadline = parseDuration(w.ProgressDeadline)
	}
	return opts
}

// ModifyPlan shows a paused rollout as a change (the next apply resumes it) and says when a
// change restarts tasks, so a reviewer sees it in the plan.
func (r *serviceResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	planNetworks(ctx, r.engine, req, resp)
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() {
		return
	}
	var updateState types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("update_state"), &updateState)...)
	// An apply the plan makes for a rollout that stopped, or for a write no apply has seen
	// converge, waits for the tasks (and, to resume, writes): what it reads back then is known
	// after apply.
	afterApply := func() {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("update_state"), types.StringUnknown())...)
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("running_replicas"), intUnknown())...)
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("version"), intUnknown())...)
	}
	if rolloutStopped(updateState) {
		afterApply()
		resp.Diagnostics.AddWarning("Rollout Paused",
			fmt.Sprintf("The last rollout of this service is %s, so its tasks may run a mix of specs. This apply resumes it with the configuration as planned; fix the cause first (docker service ps --no-trunc shows why tasks failed).", updateState.ValueString()))
	}
	var pending unconfirmedWrite
	var converge types.Bool
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("wait").AtName("converge"), &converge)...)
	if readPrivate(ctx, req.Private, unconfirmedKey, &pending) && pending.Format == 1 && !(known(converge) && !converge.ValueBool()) {
		var name types.String
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("name"), &name)...)
		afterApply()
		resp.Diagnostics.AddWarning("Convergence Not Confirmed",
			fmt.Sprintf("The apply that %s service %q stopped waiting for it (it was interrupted, or ran out of time) before the service converged, and no apply has seen it converge since. "+
				"This apply waits for it as that one would have, writing nothing to the service that this plan does not show, and fails with the tasks' errors if they fail.", pending.Outcome, name.ValueString()))
	}
	// After an import, and most of all when its plan is empty.
	r.warnUnmodelled(ctx, req, resp)
	if req.Plan.Raw.Equal(req.State.Raw) {
		return // nothing changes, so nothing else to warn about: most services in most plans
	}
	var state, plan serviceModel
	if req.State.Get(ctx, &state).HasError() || req.Plan.Get(ctx, &plan).HasError() {
		return // unknown values in the plan: the kind of change is decided at apply
	}
	live, owned := r.policyOwnedReplicas(ctx, state.ID.ValueString())
	if owned && !plan.Replicas.IsUnknown() && !plan.Replicas.Equal(state.Replicas) {
		addPathWarning(&resp.Diagnostics, path.Root("replicas"), "Replicas Owned by a Scaling Policy",
			fmt.Sprintf("A swarm_scaling_policy owns the replica count of service %q, so this change of replicas does not resize it (it keeps its %d replicas). Change the policy's min_replicas and max_replicas instead, or remove the policy first.", plan.Name.ValueString(), live))
	}
	if orchestrator.Classify(state.toSpec(), plan.toSpec()) != orchestrator.ChangeTaskTemplate {
		return
	}
	u := plan.RollingUpdate
	if u == nil {
		u = &serviceDefaults.UpdateConfig
	}
	tasks := "every task"
	if plan.Mode.ValueString() != "global" {
		n := plan.Replicas.ValueInt64()
		if owned {
			n = int64(live)
		}
		tasks = fmt.Sprintf("all %d task(s)", n)
	}
	batch := fmt.Sprintf("%d at a time", u.Parallelism.ValueInt64())
	if u.Parallelism.ValueInt64() == 0 {
		batch = "all at once"
	}
	resp.Diagnostics.AddWarning("Rolling Update Planned",
		fmt.Sprintf("This change to service %q restarts %s: %s, %s, each batch monitored for %s; on failure Swarm will %s.",
			plan.Name.ValueString(), tasks, batch, u.Order.ValueString(), u.Monitor.ValueString(), u.FailureAction.ValueString()))
}

// stateSetter is the part of state that readInto writes (create, update and failed-write state).
type stateSetter interface {
	Set(ctx context.Context, val any) diag.Diagnostics
}

// policyOwnedReplicas reports whether a scaling policy owns the service's replica count, and
// the count it runs, from the shared snapshot.
func (r *serviceResource) policyOwnedReplicas(ctx context.Context, id string) (int, bool) {
	if r.engine == nil || id == "" {
		return 0, false
	}
	st, err := r.engine.Service(ctx, id)
	if err != nil || !orchestrator.ReplicasOwnedElsewhere(st.Service.Spec) {
		return 0, false
	}
	if rep := st.Service.Spec.Mode.Replicated; rep != nil && rep.Replicas != nil {
		return int(*rep.Replicas), true
	}
	return 0, false
}

// record stores the service as the apply step read it back. prior decides null-versus-empty
// collections; a failed wait's verdict says which rollout state the failure left. A service
// that could not be read back keeps what state had (a create, its ID).
func (r *serviceResource) record(ctx context.Context, a orchestrator.Applied, prior serviceModel, st stateSetter, diags *diag.Diagnostics) {
	if a.Service == nil {
		if a.ReadErr != nil {
			addEngineError(diags, "Cannot Read Service", fmt.Sprintf("Reading service %s after writing it", a.Write.ID), a.ReadErr)
		}
		return
	}
	m := serviceFrom(a.Service, prior)
	if s := a.Verdict.Ending.UpdateState(); s != "" {
		m.UpdateState = types.StringValue(string(s))
	}
	diags.Append(st.Set(ctx, m)...)
}

// replicasDefault plans 1 for an omitted replicas in replicated mode, and null in global mode.
type replicasDefault struct{}

func (replicasDefault) Description(context.Context) string {
	return "Defaults to 1 in replicated mode, null in global mode."
}
func (m replicasDefault) MarkdownDescription(ctx context.Context) string { return m.Description(ctx) }

func (replicasDefault) PlanModifyInt64(ctx context.Context, req planmodifier.Int64Request, resp *planmodifier.Int64Response) {
	if !req.ConfigValue.IsNull() {
		return
	}
	var mode types.String
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("mode"), &mode)...)
	switch {
	case mode.IsUnknown():
		resp.PlanValue = types.Int64Unknown()
	case mode.ValueString() == "global":
		resp.PlanValue = types.Int64Null()
	default:
		resp.PlanValue = types.Int64Value(serviceDefaults.Replicas)
	}
}

// fileRefsAttribute is the schema of secrets and configs made available as files.
func fileRefsAttribute(desc, kind, example string) schema.ListNestedAttribute {
	return schema.ListNestedAttribute{
		Optional: true, MarkdownDescription: desc,
		NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Required: true, MarkdownDescription: fmt.Sprintf("ID or name of the %s, e.g. `%s`. Either spelling plans no change.", kind, example),
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)}},
			"file_name": schema.StringAttribute{Required: true, MarkdownDescription: "Name of the file in the container. It stays the same when the " + kind + " is rotated to a new version.",
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)}},
			"uid": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(serviceDefaults.FileUID), MarkdownDescription: "Owner of the file. Default `0`."},
			"gid": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(serviceDefaults.FileGID), MarkdownDescription: "Group of the file. Default `0`."},
			"mode": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(serviceDefaults.FileMode),
				MarkdownDescription: "Permissions of the file in octal. Default `0444`.", Validators: []validator.String{check{summary: "Invalid File Mode", text: orchestrator.CheckFileMode}}},
		}},
	}
}

func updateConfigAttribute(desc string, actions []string) schema.SingleNestedAttribute {
	d := serviceDefaults.UpdateConfig
	return schema.SingleNestedAttribute{
		Optional: true, Computed: true, MarkdownDescription: desc,
		Default: objectdefault.StaticValue(types.ObjectValueMust(updateConfigAttrTypes, map[string]attr.Value{
			"parallelism": d.Parallelism, "delay": d.Delay, "failure_action": d.FailureAction,
			"monitor": d.Monitor, "max_failure_ratio": d.MaxFailureRatio, "order": d.Order,
		})),
		Attributes: map[string]schema.Attribute{
			"parallelism": schema.Int64Attribute{CustomType: wholeType{}, Optional: true, Computed: true, Default: int64default.StaticInt64(d.Parallelism.ValueInt64()),
				MarkdownDescription: "Tasks updated at once (0: all at once).", Validators: []validator.Int64{int64validator.AtLeast(0)}},
			"delay": schema.StringAttribute{CustomType: durationType, Optional: true, Computed: true, Default: stringdefault.StaticString(d.Delay.ValueString()),
				MarkdownDescription: "Pause between batches."},
			"failure_action": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(d.FailureAction.ValueString()),
				MarkdownDescription: "What Swarm does when too many tasks fail: " + strings.Join(actions, ", ") + ". Whatever it does, the apply fails and names the failing tasks.",
				Validators:          []validator.String{stringvalidator.OneOf(actions...)}},
			"monitor": schema.StringAttribute{CustomType: durationType, Optional: true, Computed: true, Default: stringdefault.StaticString(d.Monitor.ValueString()),
				MarkdownDescription: "How long each new task is watched for failure; also how long the provider waits for the service to stay stable."},
			"max_failure_ratio": schema.Float64Attribute{Optional: true, Computed: true, Default: float64default.StaticFloat64(d.MaxFailureRatio.ValueFloat64()),
				MarkdownDescription: "Fraction of tasks that may fail before failure_action applies (0 to 1).", Validators: []validator.Float64{float64validator.Between(0, 1)}},
			"order": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(d.Order.ValueString()),
				MarkdownDescription: "`stop-first` (default) or `start-first` (the new task runs before the old one stops: no capacity dip).",
				Validators:          []validator.String{stringvalidator.OneOf("stop-first", "start-first")}},
		},
	}
}

// resourcesAttribute is the schema of a task's CPU and memory limits and reservations.
func resourcesAttribute() schema.SingleNestedAttribute {
	amount := func(desc string) schema.SingleNestedAttribute {
		return schema.SingleNestedAttribute{
			Optional:            true,
			MarkdownDescription: desc,
			Attributes: map[string]schema.Attribute{
				"cpus": schema.NumberAttribute{Optional: true, MarkdownDescription: "CPUs, fractions allowed (`0.5` is half a core); at least `0.001`.",
					Validators: []validator.Number{check{summary: "Invalid CPUs", number: orchestrator.CheckCPUs}}},
				"memory": schema.StringAttribute{CustomType: sizeType, Optional: true, Validators: []validator.String{check{summary: "Invalid Memory", text: memorySize}},
					MarkdownDescription: "Memory as a size such as `256MiB` or `1GiB`. Units are binary (`256M` = `256MiB`); the engine's spelling of the same size never shows as a diff. At least `4MiB`."},
			},
		}
	}
	return schema.SingleNestedAttribute{
		Optional: true, MarkdownDescription: "CPU and memory limits and reservations of each task.",
		Attributes: map[string]schema.Attribute{
			"limits":       amount("Upper bound a task may use."),
			"reservations": amount("What the scheduler reserves on a node for each task. At most the limit: a reservation above its limit would hold on the node what the container may never use, and is refused."),
		},
	}
}
