package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/numberdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

var (
	_ resource.Resource                   = &scalingPolicyResource{}
	_ resource.ResourceWithConfigure      = &scalingPolicyResource{}
	_ resource.ResourceWithImportState    = &scalingPolicyResource{}
	_ resource.ResourceWithIdentity       = &scalingPolicyResource{}
	_ resource.ResourceWithValidateConfig = &scalingPolicyResource{}
	_ resource.ResourceWithModifyPlan     = &scalingPolicyResource{}
	_ resource.ResourceWithUpgradeState   = &scalingPolicyResource{}
)

// NewScalingPolicyResource is the swarm_scaling_policy resource. The policy's rules, its
// decisions and its writes are the engine's (orchestrator.ScalingPolicy, ObservePolicy,
// ApplyScaling); this adapter converts the model, carries the refresh's observation and the
// plan's decision in private state, and reports.
func NewScalingPolicyResource() resource.Resource { return &scalingPolicyResource{} }

type scalingPolicyResource struct {
	resourceBase
}

var rulesAttrTypes = map[string]attr.Type{"stabilization_window": durationType, "max_step": wholeType{}, "max_percent": wholeType{}}

func (r *scalingPolicyResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_scaling_policy"
}

// IdentitySchema: a policy is the service it is attached to (one policy per service), known by
// that service's ID; it has no name of its own.
func (r *scalingPolicyResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identityByID("The ID of the service the policy is attached to. An import block may give the service's name here instead.")
}

func (r *scalingPolicyResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	rules := func(desc string, def orchestrator.PolicyRules) schema.SingleNestedAttribute {
		return schema.SingleNestedAttribute{
			Optional: true, Computed: true, MarkdownDescription: desc,
			Default: objectdefault.StaticValue(types.ObjectValueMust(rulesAttrTypes, map[string]attr.Value{
				"stabilization_window": durationValue(def.StabilizationWindow), "max_step": intValue(def.MaxStep), "max_percent": intValue(def.MaxPercent),
			})),
			Attributes: map[string]schema.Attribute{
				"stabilization_window": schema.StringAttribute{CustomType: durationType, Optional: true, Computed: true, Default: stringdefault.StaticString(def.StabilizationWindow),
					MarkdownDescription: fmt.Sprintf("How far back earlier recommendations count: a scale-up goes no higher than the lowest recommendation inside the window, a scale-down no lower than the highest. A Go duration; default `%s`.", def.StabilizationWindow)},
				"max_step": schema.Int64Attribute{CustomType: wholeType{}, Optional: true, Computed: true, Default: int64default.StaticInt64(def.MaxStep),
					MarkdownDescription: fmt.Sprintf("Most replicas one decision may change; `0` means no limit. Default `%d`.", def.MaxStep)},
				"max_percent": schema.Int64Attribute{CustomType: wholeType{}, Optional: true, Computed: true, Default: int64default.StaticInt64(def.MaxPercent),
					MarkdownDescription: fmt.Sprintf("Most replicas one decision may change, in percent of the current count (rounded up); `0` means no limit. With both limits set, the more permissive applies, as in Kubernetes. Default `%d`.", def.MaxPercent)},
			},
		}
	}
	resp.Schema = schema.Schema{
		Version: scalingPolicySchemaVersion,
		MarkdownDescription: "Owns the replica count of one replicated `swarm_service` and sets it from live metrics, Kubernetes HPA style. " +
			"Each `terraform plan` reads the metrics and shows the decision (`desired_replicas` and `decision`); `terraform apply` scales to exactly what was planned, without restarting tasks. " +
			"While a policy is attached, the service's `replicas` is only its initial size. See the autoscaling guide.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The ID of the service the policy is attached to (one policy per service).",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"service_id": schema.StringAttribute{Required: true, MarkdownDescription: "ID (or name) of the replicated service to scale. Changing it replaces the policy.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}, Validators: []validator.String{stringvalidator.LengthAtLeast(1)}},
			"min_replicas": schema.Int64Attribute{CustomType: wholeType{}, Required: true, MarkdownDescription: "Fewest replicas (0 or more)."},
			"max_replicas": schema.Int64Attribute{CustomType: wholeType{}, Required: true, MarkdownDescription: "Most replicas; at least 1 and at least `min_replicas`."},
			"metrics": schema.ListNestedAttribute{
				Optional: true,
				MarkdownDescription: "Targets to track. Each gives a recommendation, ceil(current × observed / target); the largest wins. " +
					"With no metrics, only the bounds and schedules move the count.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"type": schema.StringAttribute{Required: true,
						MarkdownDescription: "`cpu` or `memory` (utilisation of the service's running tasks, see `source`) or `prometheus` (an instant query)."},
					"source": schema.StringAttribute{Optional: true,
						MarkdownDescription: "For `cpu` and `memory`: where utilisation is read. `docker` (the default) is the Docker stats API of the engine the provider talks to (for a continuous policy: the engine of the manager whose controller acts), which reads only the containers of that engine's own node: " +
							"on a multi-node swarm it measures the tasks there, and the policy then never scales down and says so. `cadvisor` reads every task's CPU and memory from cAdvisor's per-container metrics in the Prometheus at `address`, " +
							"which must scrape a cAdvisor on every node (see the autoscaling guide)."},
					"target_utilization": schema.NumberAttribute{Optional: true,
						MarkdownDescription: "For `cpu` and `memory`: the average utilisation to keep, in percent of each task's limit (else its reservation; for CPU, else one CPU)."},
					"query":   schema.StringAttribute{Optional: true, MarkdownDescription: "For `prometheus`: a PromQL query returning one number for the whole service (series are summed)."},
					"address": schema.StringAttribute{Optional: true, MarkdownDescription: "For `prometheus`, and for `cpu` and `memory` with `source = \"cadvisor\"`: the Prometheus server's base URL, such as `http://prometheus:9090`. No credentials in the URL: it is stored in a service label."},
					"target_value": schema.NumberAttribute{Optional: true,
						MarkdownDescription: "For `prometheus`: the value to keep the query at, for values that more replicas bring down (queue age, latency): desired = ceil(current × value / target_value). Set this or `target_average_value`."},
					"target_average_value": schema.NumberAttribute{Optional: true,
						MarkdownDescription: "For `prometheus`: the value per replica to aim at, for totals that more replicas share (requests per second): desired = ceil(value / target_average_value). Set this or `target_value`."},
				}},
			},
			"tolerance": schema.NumberAttribute{Optional: true, Computed: true, Default: numberdefault.StaticBigFloat(orchestrator.DefaultPolicyTolerance.BigFloat()),
				MarkdownDescription: "No change while every metric is within this fraction of its target. Default `0.1` (10%)."},
			"scale_up":   rules("Brakes on scaling up.", orchestrator.DefaultScaleUp),
			"scale_down": rules("Brakes on scaling down.", orchestrator.DefaultScaleDown),
			"schedules": schema.ListNestedAttribute{
				Optional:            true,
				MarkdownDescription: "Times when other bounds apply, such as business hours. While several are active, the largest minimum and the largest maximum apply.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"cron": schema.StringAttribute{Required: true, MarkdownDescription: "Standard five-field cron expression (minute hour day-of-month month day-of-week) for when the schedule starts."},
					"duration": schema.StringAttribute{CustomType: durationType, Required: true,
						MarkdownDescription: "How long the schedule stays active after each start, up to `168h`. A Go duration such as `10h`."},
					"timezone": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(orchestrator.DefaultTimezone),
						MarkdownDescription: "IANA time zone of the cron expression, such as `Europe/Berlin`. Default `UTC`."},
					"min_replicas": schema.Int64Attribute{CustomType: wholeType{}, Optional: true, MarkdownDescription: "Fewest replicas while active; the policy's own when unset."},
					"max_replicas": schema.Int64Attribute{CustomType: wholeType{}, Optional: true, MarkdownDescription: "Most replicas while active; the policy's own when unset."},
				}},
			},
			"dry_run": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Decide and show the decision without scaling. The service keeps owning its `replicas`. Holds in both evaluations."},
			"evaluation": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(orchestrator.EvaluationPlan),
				MarkdownDescription: "Who decides. `plan` (the default): each `terraform plan` decides from live metrics and `terraform apply` scales to that. " +
					"`continuous`: the autoscaling controller in the cluster (`swarm_autoscaler`) decides and scales every interval, with the same rule; " +
					"the plan shows its latest decision and plans no change for it, and changing the policy only rewrites the policy, which the controller follows from its next round. " +
					"Switching between the two is an update in place.",
				Validators: []validator.String{stringvalidator.OneOf(orchestrator.EvaluationPlan, orchestrator.EvaluationContinuous)}},
			"current_replicas": schema.Int64Attribute{CustomType: wholeType{}, Computed: true,
				MarkdownDescription: "The service's replica count. In a plan, the count it will have after apply."},
			"desired_replicas": schema.Int64Attribute{CustomType: wholeType{}, Computed: true, MarkdownDescription: "The replica count the policy decided on."},
			"decision": schema.StringAttribute{Computed: true,
				MarkdownDescription: "Why: which metric, observed against target, what the rules did. Kept unchanged while the count does not change, so that steady metrics plan nothing."},
			"last_scaled_at": schema.StringAttribute{Computed: true, MarkdownDescription: "When the policy last changed the replica count (RFC 3339), or null."},
			"last_evaluated_at": schema.StringAttribute{Computed: true,
				MarkdownDescription: "When the policy was last evaluated (RFC 3339): for `plan`, when an apply last decided; for `continuous`, the controller's latest recorded round " +
					"(it records one at least every 30 seconds), or its latest decision when no controller runs."},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true}),
		},
	}
}

func (r *scalingPolicyResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	defer setIdentity(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var plan scalingPolicyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Create, defaultCreateTimeout, &resp.Diagnostics)
	defer cancel()
	r.apply(ctx, plan, nil, true, &resp.State, &resp.Diagnostics)
}

func (r *scalingPolicyResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	defer setReadIdentity(ctx, req.State, &resp.State, resp.Identity, &resp.Diagnostics)
	var state scalingPolicyModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	id := state.ID.ValueString()
	t, err := r.engine.ScalingTarget(ctx, id)
	switch {
	case errors.Is(err, orchestrator.ErrNotFound), errors.Is(err, orchestrator.ErrNotReplicated):
		// Gone, or replaced by a global service (a mode change replaces the service), which
		// carries no policy: nothing is attached any more.
		tflog.Info(ctx, "the policy's service is gone or cannot be scaled, removing the policy from state", map[string]any{"service": id, "why": err.Error()})
		resp.State.RemoveResource(ctx)
		return
	case orchestrator.IsCallFailure(err):
		addEngineError(&resp.Diagnostics, "Cannot Read Scaling Policy", "Reading the service of scaling policy "+id, err)
		return
	case err != nil:
		// Labels that cannot be read: state stays as it was, so that a destroy (which
		// refreshes first) still detaches the policy, and an apply writes them again.
		resp.Diagnostics.AddWarning("Scaling Policy Labels Unreadable",
			fmt.Sprintf("Reading the service of scaling policy %s: %v. State keeps the policy as it was; the next apply writes its labels again, and a destroy removes them.", id, err))
		return
	}
	if t.Policy == nil {
		tflog.Info(ctx, "the service no longer carries the policy's label, removing the policy from state", map[string]any{"service": id})
		resp.State.RemoveResource(ctx)
		return
	}
	m := policyModel(t, state)
	if t.Policy.Continuous() {
		// The controller decides: the refresh reads its latest decision (from the labels,
		// above) and when it last ran; no metric is read here.
		r.readController(ctx, &m, &resp.Diagnostics)
		resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
	// The refresh is when the policy looks at the metrics; the plan decides from this.
	obs, warnings, err := r.engine.ObservePolicy(ctx, t, *t.Policy)
	addProblems(&resp.Diagnostics, warnings, false)
	if err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Read Task Metrics", "Reading the metrics of scaling policy "+id, err)
		return
	}
	writePrivate(ctx, resp.Private, observationKey, obs, &resp.Diagnostics)
}

// readController sets when the controller last evaluated a continuous policy, and warns when
// no controller runs: the policy then decides nothing until one does.
func (r *scalingPolicyResource) readController(ctx context.Context, m *scalingPolicyModel, diags *diag.Diagnostics) {
	c, err := r.engine.Controllers(ctx)
	if err != nil {
		diags.AddWarning("Cannot Read the Autoscaling Controller", fmt.Sprintf("Reading whether an autoscaling controller runs, for the continuous policy of service %s: %v", m.ID.ValueString(), err))
		return
	}
	if h := c.Heartbeat; c.Active() && timeOrNull(h.RoundAt).ValueString() > m.LastEvaluatedAt.ValueString() {
		m.LastEvaluatedAt = timeOrNull(h.RoundAt)
	}
	if c.Active() {
		return
	}
	why := "no swarm_autoscaler service runs in the swarm"
	switch {
	case len(c.Services) > 0 && c.Running == 0:
		why = fmt.Sprintf("the controller service %s has no running task", strings.Join(c.Services, ", "))
	case len(c.Services) > 0 && c.Heartbeat != nil:
		why = fmt.Sprintf("the controller service %s runs, but its last recorded round was at %s", strings.Join(c.Services, ", "), c.Heartbeat.RoundAt.UTC().Format(time.RFC3339))
	case len(c.Services) > 0:
		why = fmt.Sprintf("the controller service %s runs, but has recorded no round yet", strings.Join(c.Services, ", "))
	}
	addPathWarning(diags, path.Root("evaluation"), "No Autoscaling Controller Running",
		fmt.Sprintf("The scaling policy of service %s is continuous, but %s, so nothing scales the service now (it keeps %d replicas). "+
			"Deploy the controller with a swarm_autoscaler resource, or set evaluation = \"plan\" to decide at each terraform plan.", m.ID.ValueString(), why, m.CurrentReplicas.ValueInt64()))
}

func (r *scalingPolicyResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	defer setIdentity(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var plan scalingPolicyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	var planned *orchestrator.PlannedScaling
	if !plan.DesiredReplicas.IsUnknown() && !plan.DesiredReplicas.IsNull() {
		planned = &orchestrator.PlannedScaling{Desired: int(plan.DesiredReplicas.ValueInt64()), Reason: plan.Decision.ValueString()}
		var d plannedDecision
		if readPrivate(ctx, req.Private, plannedKey, &d) {
			planned.Decided, planned.At, planned.Record, planned.From = true, time.Unix(d.At, 0).UTC(), d.Recommendation, d.From
		}
	}
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Update, defaultUpdateTimeout, &resp.Diagnostics)
	defer cancel()
	r.apply(ctx, plan, planned, false, &resp.State, &resp.Diagnostics)
	// Both are spent: the next plan decides from the next refresh.
	writePrivate(ctx, resp.Private, plannedKey, nil, &resp.Diagnostics)
	writePrivate(ctx, resp.Private, observationKey, nil, &resp.Diagnostics)
}

// Delete detaches the policy: its labels go and the service keeps its current size. The
// service's own replicas attribute owns the count again from the next plan on.
func (r *scalingPolicyResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state scalingPolicyModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	if err := r.engine.DetachPolicy(ctx, state.ID.ValueString()); err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Detach Scaling Policy", "Removing the policy's labels from service "+state.ID.ValueString(), err)
	}
}

// ImportState takes the ID or name of the service the policy is attached to.
func (r *scalingPolicyResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !r.connected(&resp.Diagnostics) {
		return
	}
	key := importKey(ctx, req, "id", &resp.Diagnostics)
	t, err := r.engine.ScalingTarget(ctx, key)
	if err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Import Scaling Policy", "Looking up service "+key, err)
		return
	}
	if t.Policy == nil {
		resp.Diagnostics.AddError("Cannot Import Scaling Policy", fmt.Sprintf("Service %s has no scaling policy attached (no %s label). Create the policy with terraform apply instead.", t.Service.Spec.Name, orchestrator.ScalingOwnerLabel))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), t.Service.ID)...)
	setIdentity(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
}

// ValidateConfig reports the policy's rules (the engine's) at their attributes. A rule that
// reads a value not known yet is checked at plan time instead.
func (r *scalingPolicyResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m scalingPolicyModel
	if req.Config.Get(ctx, &m).HasError() {
		return // a whole block is not known yet
	}
	addProblems(&resp.Diagnostics, m.problems(), true)
}

// ModifyPlan makes the decision from what Read observed (kept in private state) and plans
// desired_replicas, current_replicas and the decision. Terraform plans every resource again
// during apply and requires the same values, so the decision must come from that stored
// observation, never from a second look at live metrics. When the count stays where it is, the
// computed values stay as in state, so steady metrics plan nothing.
func (r *scalingPolicyResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.engine == nil {
		return
	}
	var plan, state scalingPolicyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	creating := req.State.Raw.IsNull()
	if !creating {
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	}
	if resp.Diagnostics.HasError() || !plan.known() {
		return
	}
	if !creating && plan.ServiceID.ValueString() != state.ServiceID.ValueString() {
		// Another service: the policy is replaced, and the observation is of the old service.
		plan.ID, plan.DesiredReplicas, plan.CurrentReplicas = types.StringUnknown(), intUnknown(), intUnknown()
		plan.Decision, plan.LastScaledAt = types.StringUnknown(), types.StringUnknown()
		resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
		creating = true
	}
	if creating {
		// Nothing was observed yet: the first decision is made at apply. Only check that the
		// service can take a policy.
		warnTargetProblem(&resp.Diagnostics, plan.ServiceID.ValueString(), r.engine.CheckScalingTarget(ctx, plan.ServiceID.ValueString()))
		return
	}
	policy := plan.policy()
	configChanged := policy.Label() != state.policy().Label() || policy.DryRun != state.DryRun.ValueBool()
	keepState := func() {
		plan.ID, plan.DesiredReplicas, plan.CurrentReplicas = state.ID, state.DesiredReplicas, state.CurrentReplicas
		plan.Decision, plan.LastScaledAt, plan.LastEvaluatedAt = state.Decision, state.LastScaledAt, state.LastEvaluatedAt
		resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
	}
	if plan.continuous() {
		// The controller's decisions are not the plan's: they never show as a change. A
		// changed policy only rewrites the policy label, which the controller follows.
		keepState()
		return
	}
	var obs orchestrator.PolicyObservation
	if !readPrivate(ctx, req.Private, observationKey, &obs) {
		// Not refreshed (-refresh=false): no new decision.
		if !configChanged {
			keepState()
		}
		return
	}
	d, ok, problems := policy.Decide(&obs)
	addProblems(&resp.Diagnostics, problems, true)
	if !ok {
		return // a problem, or a metric new in the configuration: decide at apply
	}
	if !configChanged && int64(d.Desired) == state.DesiredReplicas.ValueInt64() && int64(d.After) == state.CurrentReplicas.ValueInt64() {
		tflog.Info(ctx, "scaling decision unchanged", map[string]any{"service": state.ID.ValueString(), "decision": d.Reason})
		keepState()
		return
	}
	plan.ID = state.ID
	plan.DesiredReplicas = intValue(int64(d.Desired))
	plan.CurrentReplicas = intValue(int64(d.After))
	plan.Decision = types.StringValue(d.Reason)
	plan.LastScaledAt, plan.LastEvaluatedAt = state.LastScaledAt, types.StringUnknown()
	if d.After != d.From {
		plan.LastScaledAt = types.StringUnknown()
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
	writePrivate(ctx, resp.Private, plannedKey, plannedDecision{At: d.At.Unix(), Recommendation: d.Record, From: d.From}, &resp.Diagnostics)
}

// warnTargetProblem says at plan time why the service cannot take a new policy, so that the
// apply will fail. A warning, not an error: Terraform plans every resource of the
// configuration before a destroy too (its pre-destroy refresh), and an error there would stop
// `terraform destroy` of everything, the service included, for as long as the configuration
// names such a policy. The apply then fails before it writes anything.
func warnTargetProblem(diags *diag.Diagnostics, service string, err error) {
	switch {
	case err == nil:
	case errors.Is(err, orchestrator.ErrNotFound), errors.Is(err, orchestrator.ErrNotReplicated):
		addPathWarning(diags, path.Root("service_id"), "Cannot Scale Service", err.Error()+". The apply of this policy will fail.")
	case errors.Is(err, orchestrator.ErrPolicyExists):
		addPathWarning(diags, path.Root("service_id"), "Service Already Has a Scaling Policy",
			err.Error()+", from this or another Terraform configuration, so the apply of this policy will fail. A service has at most one policy: import the existing one (terraform import <address> "+service+") or remove the other.")
	default:
		diags.AddWarning("Cannot Read Service", fmt.Sprintf("Reading service %s for its scaling policy: %v. Whether the service can take the policy is checked again at apply.", service, err))
	}
}

// apply has the engine write the policy and scale, then records what it did. Values the plan
// knew are kept as planned, as Terraform requires.
func (r *scalingPolicyResource) apply(ctx context.Context, plan scalingPolicyModel, planned *orchestrator.PlannedScaling, creating bool, st stateSetter, diags *diag.Diagnostics) {
	res, problems, err := r.engine.ApplyScaling(ctx, plan.ServiceID.ValueString(), plan.policy(), planned, creating)
	addProblems(diags, problems, true)
	addProblems(diags, res.Warnings, false)
	if res.Written {
		plan.ID = types.StringValue(res.ServiceID)
		plan.DesiredReplicas = intValue(int64(res.Desired))
		plan.Decision = types.StringValue(res.Reason)
		if plan.CurrentReplicas.IsUnknown() || plan.CurrentReplicas.IsNull() {
			plan.CurrentReplicas = intValue(int64(res.After))
		}
		if plan.LastScaledAt.IsUnknown() || creating {
			plan.LastScaledAt = timeOrNull(res.ScaledAt)
		}
		if plan.LastEvaluatedAt.IsUnknown() {
			plan.LastEvaluatedAt = timeOrNull(res.DecidedAt)
		}
		// Saved before the error below, so that a failed wait leaves true state behind.
		diags.Append(st.Set(ctx, plan)...)
	}
	switch {
	case err == nil:
	case res.Written:
		addEngineError(diags, "Scaling Did Not Converge", "Scaling service "+res.ServiceName, err)
	default:
		addEngineError(diags, "Cannot Apply Scaling Policy", "Writing the policy to service "+plan.ServiceID.ValueString(), err)
	}
}
