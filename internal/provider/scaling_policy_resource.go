package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
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
	_ resource.ResourceWithValidateConfig = &scalingPolicyResource{}
	_ resource.ResourceWithModifyPlan     = &scalingPolicyResource{}
)

// NewScalingPolicyResource is the swarm_scaling_policy resource.
func NewScalingPolicyResource() resource.Resource { return &scalingPolicyResource{} }

type scalingPolicyResource struct {
	engine *orchestrator.Engine
}

// plannedKey names the private plan data that carries the plan's recommendation to apply, so
// that the stabilization history records what the metrics said when the reviewer saw the plan.
const plannedKey = "planned_decision"

// scaleProgressDeadline fails a scaling apply when no new task has started for this long.
const scaleProgressDeadline = 3 * time.Minute

type plannedDecision struct {
	At             int64 `json:"at"`
	Recommendation int   `json:"recommendation"`
	// From is the replica count the plan saw.
	From int `json:"from"`
}

var rulesAttrTypes = map[string]attr.Type{"stabilization_window": durationType, "max_step": types.Int64Type, "max_percent": types.Int64Type}

func (r *scalingPolicyResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_scaling_policy"
}

func (r *scalingPolicyResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	rules := func(desc string, def rulesLabel) schema.SingleNestedAttribute {
		return schema.SingleNestedAttribute{
			Optional: true, Computed: true, MarkdownDescription: desc,
			Default: objectdefault.StaticValue(types.ObjectValueMust(rulesAttrTypes, map[string]attr.Value{
				"stabilization_window": durationValue(def.Window), "max_step": types.Int64Value(def.MaxStep), "max_percent": types.Int64Value(def.MaxPercent),
			})),
			Attributes: map[string]schema.Attribute{
				"stabilization_window": schema.StringAttribute{CustomType: durationType, Optional: true, Computed: true, Default: stringdefault.StaticString(def.Window),
					MarkdownDescription: fmt.Sprintf("How far back earlier recommendations count: a scale-up goes no higher than the lowest recommendation inside the window, a scale-down no lower than the highest. A Go duration; default `%s`.", def.Window)},
				"max_step": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(def.MaxStep), Validators: []validator.Int64{int64validator.AtLeast(0)},
					MarkdownDescription: fmt.Sprintf("Most replicas one decision may change; `0` means no limit. Default `%d`.", def.MaxStep)},
				"max_percent": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(def.MaxPercent), Validators: []validator.Int64{int64validator.AtLeast(0)},
					MarkdownDescription: fmt.Sprintf("Most replicas one decision may change, in percent of the current count (rounded up); `0` means no limit. With both limits set, the more permissive applies, as in Kubernetes. Default `%d`.", def.MaxPercent)},
			},
		}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Owns the replica count of one replicated `swarm_service` and sets it from live metrics, Kubernetes HPA style. " +
			"Each `terraform plan` reads the metrics and shows the decision (`desired_replicas` and `decision`); `terraform apply` scales to exactly what was planned, without restarting tasks. " +
			"While a policy is attached, the service's `replicas` is only its initial size. See the autoscaling guide.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The ID of the service the policy is attached to (one policy per service).",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"service_id": schema.StringAttribute{Required: true, MarkdownDescription: "ID (or name) of the replicated service to scale. Changing it replaces the policy.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}, Validators: []validator.String{stringvalidator.LengthAtLeast(1)}},
			"min_replicas": schema.Int64Attribute{Required: true, Validators: []validator.Int64{int64validator.AtLeast(0)}, MarkdownDescription: "Fewest replicas."},
			"max_replicas": schema.Int64Attribute{Required: true, Validators: []validator.Int64{int64validator.AtLeast(1)}, MarkdownDescription: "Most replicas; at least `min_replicas`."},
			"metrics": schema.ListNestedAttribute{
				Optional: true,
				MarkdownDescription: "Targets to track. Each gives a recommendation, ceil(current × observed / target); the largest wins. " +
					"With no metrics, only the bounds and schedules move the count.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"type": schema.StringAttribute{Required: true, Validators: []validator.String{stringvalidator.OneOf(metricCPU, metricMemory, metricPrometheus)},
						MarkdownDescription: "`cpu` or `memory` (Docker stats of the service's running tasks) or `prometheus` (an instant query)."},
					"target_utilization": schema.NumberAttribute{Optional: true,
						MarkdownDescription: "For `cpu` and `memory`: the average utilisation to keep, in percent of each task's limit (else its reservation; for CPU, else one CPU)."},
					"query":   schema.StringAttribute{Optional: true, MarkdownDescription: "For `prometheus`: a PromQL query returning one number for the whole service (series are summed)."},
					"address": schema.StringAttribute{Optional: true, MarkdownDescription: "For `prometheus`: the server's base URL, such as `http://prometheus:9090`. No credentials in the URL: it is stored in a service label."},
					"target_value": schema.NumberAttribute{Optional: true,
						MarkdownDescription: "For `prometheus`: the value to keep the query at, for values that more replicas bring down (queue age, latency): desired = ceil(current × value / target_value). Set this or `target_average_value`."},
					"target_average_value": schema.NumberAttribute{Optional: true,
						MarkdownDescription: "For `prometheus`: the value per replica to aim at, for totals that more replicas share (requests per second): desired = ceil(value / target_average_value). Set this or `target_value`."},
				}},
			},
			"tolerance": schema.NumberAttribute{Optional: true, Computed: true, Default: numberdefault.StaticBigFloat(decimal("0.1")),
				MarkdownDescription: "No change while every metric is within this fraction of its target. Default `0.1` (10%)."},
			"scale_up":   rules("Brakes on scaling up.", defaultScaleUp),
			"scale_down": rules("Brakes on scaling down.", defaultScaleDown),
			"schedules": schema.ListNestedAttribute{
				Optional:            true,
				MarkdownDescription: "Times when other bounds apply, such as business hours. While several are active, the largest minimum and the largest maximum apply.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"cron": schema.StringAttribute{Required: true, MarkdownDescription: "Standard five-field cron expression (minute hour day-of-month month day-of-week) for when the schedule starts."},
					"duration": schema.StringAttribute{CustomType: durationType, Required: true,
						MarkdownDescription: "How long the schedule stays active after each start, up to `168h`. A Go duration such as `10h`."},
					"timezone": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("UTC"),
						MarkdownDescription: "IANA time zone of the cron expression, such as `Europe/Berlin`. Default `UTC`."},
					"min_replicas": schema.Int64Attribute{Optional: true, Validators: []validator.Int64{int64validator.AtLeast(0)}, MarkdownDescription: "Fewest replicas while active; the policy's own when unset."},
					"max_replicas": schema.Int64Attribute{Optional: true, Validators: []validator.Int64{int64validator.AtLeast(1)}, MarkdownDescription: "Most replicas while active; the policy's own when unset."},
				}},
			},
			"dry_run": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Decide and show the decision without scaling. The service keeps owning its `replicas`."},
			"current_replicas": schema.Int64Attribute{Computed: true,
				MarkdownDescription: "The service's replica count. In a plan, the count it will have after apply."},
			"desired_replicas": schema.Int64Attribute{Computed: true, MarkdownDescription: "The replica count the policy decided on."},
			"decision": schema.StringAttribute{Computed: true,
				MarkdownDescription: "Why: which metric, observed against target, what the rules did. Kept unchanged while the count does not change, so that steady metrics plan nothing."},
			"last_scaled_at": schema.StringAttribute{Computed: true, MarkdownDescription: "When the policy last changed the replica count (RFC 3339), or null."},
			"timeouts":       timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true}),
		},
	}
}

func (r *scalingPolicyResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if req.ProviderData == nil {
		return
	}
	engine, ok := req.ProviderData.(*orchestrator.Engine)
	if !ok {
		resp.Diagnostics.AddError("Unexpected Provider Data", fmt.Sprintf("expected *orchestrator.Engine, got %T; this is a bug in the provider", req.ProviderData))
		return
	}
	r.engine = engine
}

func (r *scalingPolicyResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan scalingPolicyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !configured(r.engine, &resp.Diagnostics) {
		return
	}
	timeout, d := plan.Timeouts.Create(ctx, defaultCreateTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r.apply(ctx, plan, nil, true, &resp.State, &resp.Diagnostics)
}

func (r *scalingPolicyResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state scalingPolicyModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !configured(r.engine, &resp.Diagnostics) {
		return
	}
	id := state.ID.ValueString()
	t, err := r.engine.ScalingTarget(ctx, id)
	if errors.Is(err, orchestrator.ErrNotFound) {
		tflog.Info(ctx, "the policy's service is gone, removing the policy from state", map[string]any{"service": id})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Read Scaling Policy", "Reading the service of scaling policy "+id, err)
		return
	}
	if t.Policy == "" {
		tflog.Info(ctx, "the service no longer carries the policy's label, removing the policy from state", map[string]any{"service": id})
		resp.State.RemoveResource(ctx)
		return
	}
	m, err := policyFromTarget(t, state)
	if err != nil {
		resp.Diagnostics.AddError("Cannot Read Scaling Policy", err.Error()+". Apply the policy again to rewrite the label.")
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
	// The refresh is when the policy looks at the metrics; the plan decides from this.
	obs, diags := r.observe(ctx, m, t)
	resp.Diagnostics.Append(diags...)
	if obs != nil {
		b, _ := json.Marshal(obs)
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, observationKey, b)...)
	}
}

func (r *scalingPolicyResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan scalingPolicyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !configured(r.engine, &resp.Diagnostics) {
		return
	}
	var planned *plannedDecision
	if b, d := req.Private.GetKey(ctx, plannedKey); !d.HasError() && len(b) > 0 {
		var p plannedDecision
		if json.Unmarshal(b, &p) == nil {
			planned = &p
		}
	}
	timeout, d := plan.Timeouts.Update(ctx, defaultUpdateTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r.apply(ctx, plan, planned, false, &resp.State, &resp.Diagnostics)
	// Both are spent: the next plan decides from the next refresh.
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, plannedKey, nil)...)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, observationKey, nil)...)
}

// Delete detaches the policy: its labels go and the service keeps its current size. The
// service's own replicas attribute owns the count again from the next plan on.
func (r *scalingPolicyResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state scalingPolicyModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !configured(r.engine, &resp.Diagnostics) {
		return
	}
	_, err := r.engine.WritePolicy(ctx, state.ID.ValueString(), orchestrator.PolicyWrite{})
	if err != nil && !errors.Is(err, orchestrator.ErrNotFound) {
		addEngineError(&resp.Diagnostics, "Cannot Detach Scaling Policy", "Removing the policy's labels from service "+state.ID.ValueString(), err)
	}
}

// ImportState takes the ID or name of the service the policy is attached to.
func (r *scalingPolicyResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !configured(r.engine, &resp.Diagnostics) {
		return
	}
	t, err := r.engine.ScalingTarget(ctx, req.ID)
	if err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Import Scaling Policy", "Looking up service "+req.ID, err)
		return
	}
	if t.Policy == "" {
		resp.Diagnostics.AddError("Cannot Import Scaling Policy", fmt.Sprintf("Service %s has no scaling policy attached (no %s label). Create the policy with terraform apply instead.", t.Service.Spec.Name, orchestrator.ScalingOwnerLabel))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), t.Service.ID)...)
}

// ValidateConfig checks the rules that span attributes; values unknown until apply are left out.
func (r *scalingPolicyResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m scalingPolicyModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	validatePolicy(m, &resp.Diagnostics)
}

func validatePolicy(m scalingPolicyModel, diags *diag.Diagnostics) {
	known := func(v interface {
		IsNull() bool
		IsUnknown() bool
	}) bool {
		return !v.IsNull() && !v.IsUnknown()
	}
	if known(m.MinReplicas) && known(m.MaxReplicas) && m.MaxReplicas.ValueInt64() < m.MinReplicas.ValueInt64() {
		addPathError(diags, path.Root("max_replicas"), "Invalid Replica Bounds",
			fmt.Sprintf("max_replicas (%d) must be at least min_replicas (%d).", m.MaxReplicas.ValueInt64(), m.MinReplicas.ValueInt64()))
	}
	if known(m.Tolerance) {
		if t := numberFloat(m.Tolerance); t < 0 || t >= 1 {
			addPathError(diags, path.Root("tolerance"), "Invalid Tolerance", fmt.Sprintf("tolerance must be at least 0 and below 1 (a fraction of the target, 0.1 = 10%%), got %s.", numberText(m.Tolerance)))
		}
	}
	for name, rules := range map[string]*scalingRulesModel{"scale_up": m.ScaleUp, "scale_down": m.ScaleDown} {
		if rules != nil && known(rules.StabilizationWindow) && parseDuration(rules.StabilizationWindow) < 0 {
			addPathError(diags, path.Root(name).AtName("stabilization_window"), "Invalid Stabilization Window", "The window cannot be negative.")
		}
	}
	seen := map[string]int{}
	for i, mm := range m.Metrics {
		p := path.Root("metrics").AtListIndex(i)
		if !known(mm.Type) {
			continue
		}
		typ := mm.Type.ValueString()
		present := func(name string, v interface{ IsNull() bool }) {
			if !v.IsNull() {
				addPathError(diags, p.AtName(name), "Attribute Not Allowed", fmt.Sprintf("%s does not apply to a %s metric.", name, typ))
			}
		}
		required := func(name string, v interface{ IsNull() bool }) {
			if v.IsNull() {
				addPathError(diags, p.AtName(name), "Missing Attribute", fmt.Sprintf("A %s metric needs %s.", typ, name))
			}
		}
		positive := func(name string, v types.Number) {
			if known(v) && v.ValueBigFloat().Sign() <= 0 {
				addPathError(diags, p.AtName(name), "Invalid Target", fmt.Sprintf("%s must be above 0, got %s.", name, numberText(v)))
			}
		}
		switch typ {
		case metricCPU, metricMemory:
			required("target_utilization", mm.TargetUtilization)
			positive("target_utilization", mm.TargetUtilization)
			present("query", mm.Query)
			present("address", mm.Address)
			present("target_value", mm.TargetValue)
			present("target_average_value", mm.TargetAverage)
			if j, dup := seen[typ]; dup {
				addPathError(diags, p.AtName("type"), "Duplicate Metric", fmt.Sprintf("metrics[%d] already tracks %s; one target per resource metric.", j, typ))
			}
			seen[typ] = i
		case metricPrometheus:
			required("query", mm.Query)
			required("address", mm.Address)
			if mm.TargetValue.IsNull() == mm.TargetAverage.IsNull() {
				addPathError(diags, p.AtName("target_value"), "Exactly One Target", "A prometheus metric needs either target_value (a value that more replicas bring down) or target_average_value (a total that replicas share), not both.")
			}
			positive("target_value", mm.TargetValue)
			positive("target_average_value", mm.TargetAverage)
			present("target_utilization", mm.TargetUtilization)
			if known(mm.Address) {
				if msg := checkPrometheusAddress(mm.Address.ValueString()); msg != "" {
					addPathError(diags, p.AtName("address"), "Invalid Prometheus Address", msg)
				}
			}
		}
	}
	for i, s := range m.Schedules {
		p := path.Root("schedules").AtListIndex(i)
		if known(s.Cron) {
			if _, err := orchestrator.ParseCron(s.Cron.ValueString()); err != nil {
				addPathError(diags, p.AtName("cron"), "Invalid Cron Expression", err.Error()+".")
			}
		}
		if known(s.Duration) {
			if d := parseDuration(s.Duration); d <= 0 || d > orchestrator.MaxScheduleDuration {
				addPathError(diags, p.AtName("duration"), "Invalid Schedule Duration", fmt.Sprintf("duration must be above 0 and at most 168h, got %s.", s.Duration.ValueString()))
			}
		}
		if known(s.Timezone) {
			if _, err := time.LoadLocation(s.Timezone.ValueString()); err != nil {
				addPathError(diags, p.AtName("timezone"), "Unknown Time Zone", fmt.Sprintf("%q is not an IANA time zone such as Europe/Berlin or UTC: %v.", s.Timezone.ValueString(), err))
			}
		}
		lo, hi := s.MinReplicas, s.MaxReplicas
		if lo.IsNull() {
			lo = m.MinReplicas
		}
		if hi.IsNull() {
			hi = m.MaxReplicas
		}
		if known(lo) && known(hi) && hi.ValueInt64() < lo.ValueInt64() {
			addPathError(diags, p.AtName("max_replicas"), "Invalid Replica Bounds",
				fmt.Sprintf("While this schedule is active, max_replicas (%d) must be at least min_replicas (%d); a bound left out comes from the policy.", hi.ValueInt64(), lo.ValueInt64()))
		}
	}
}

// checkPrometheusAddress returns what is wrong with a Prometheus base URL, or "".
func checkPrometheusAddress(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Sprintf("%q is not a URL.", s)
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return fmt.Sprintf("%q must be an http:// or https:// URL with a host, such as http://prometheus:9090.", s)
	case u.User != nil:
		return "The address must not carry credentials: it is stored in a label on the service, readable by anyone who can inspect it."
	case u.RawQuery != "" || u.Fragment != "":
		return "The address is the server's base URL, without a query or fragment."
	}
	return ""
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
	if resp.Diagnostics.HasError() || !policyKnown(plan) {
		return
	}
	if !creating && plan.ServiceID.ValueString() != state.ServiceID.ValueString() {
		// Another service: the policy is replaced, and the observation is of the old service.
		plan.ID, plan.DesiredReplicas, plan.CurrentReplicas = types.StringUnknown(), types.Int64Unknown(), types.Int64Unknown()
		plan.Decision, plan.LastScaledAt = types.StringUnknown(), types.StringUnknown()
		resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
		creating = true
	}
	if creating {
		// Nothing was observed yet: the first decision is made at apply. Only check that the
		// service can take a policy.
		t, err := r.engine.ScalingTarget(ctx, plan.ServiceID.ValueString())
		switch {
		case err != nil:
			addTargetError(&resp.Diagnostics, plan.ServiceID.ValueString(), err)
		case t.Policy != "":
			addPathError(&resp.Diagnostics, path.Root("service_id"), "Service Already Has a Scaling Policy",
				fmt.Sprintf("Service %s already carries a scaling policy (label %s), from this or another Terraform configuration. A service has at most one policy: import the existing one (terraform import <address> %s) or remove the other.",
					t.Service.Spec.Name, orchestrator.ScalingOwnerLabel, t.Service.ID))
		}
		return
	}
	configChanged := plan.label() != state.label() || plan.DryRun.ValueBool() != state.DryRun.ValueBool()
	keepState := func() {
		plan.ID, plan.DesiredReplicas, plan.CurrentReplicas = state.ID, state.DesiredReplicas, state.CurrentReplicas
		plan.Decision, plan.LastScaledAt = state.Decision, state.LastScaledAt
		resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
	}
	obs := readObservation(ctx, req.Private)
	if obs == nil {
		// Not refreshed (-refresh=false): no new decision.
		if !configChanged {
			keepState()
		}
		return
	}
	d, ok, diags := decideFrom(plan, obs)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() || !ok {
		return // a metric was not observed (it is new in the configuration): decide at apply
	}
	after := obs.Replicas
	if !plan.DryRun.ValueBool() {
		after = d.dec.Desired
	}
	if !configChanged && int64(d.dec.Desired) == state.DesiredReplicas.ValueInt64() && int64(after) == state.CurrentReplicas.ValueInt64() {
		tflog.Info(ctx, "scaling decision unchanged", map[string]any{"service": state.ID.ValueString(), "decision": d.dec.Reason})
		keepState()
		return
	}
	plan.ID = state.ID
	plan.DesiredReplicas = types.Int64Value(int64(d.dec.Desired))
	plan.CurrentReplicas = types.Int64Value(int64(after))
	plan.Decision = types.StringValue(d.dec.Reason)
	plan.LastScaledAt = state.LastScaledAt
	if after != obs.Replicas {
		plan.LastScaledAt = types.StringUnknown()
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
	b, _ := json.Marshal(plannedDecision{At: d.now.Unix(), Recommendation: d.record, From: obs.Replicas})
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, plannedKey, b)...)
}

func addTargetError(diags *diag.Diagnostics, service string, err error) {
	if errors.Is(err, orchestrator.ErrNotFound) || errors.Is(err, orchestrator.ErrNotReplicated) {
		addPathError(diags, path.Root("service_id"), "Cannot Scale Service", err.Error()+".")
		return
	}
	addEngineError(diags, "Cannot Read Service", "Reading service "+service+" for its scaling policy", err)
}

// policyKnown says whether everything a decision needs is known at plan time.
func policyKnown(m scalingPolicyModel) bool {
	vals := []interface{ IsUnknown() bool }{m.ServiceID, m.MinReplicas, m.MaxReplicas, m.Tolerance, m.DryRun}
	for _, mm := range m.Metrics {
		vals = append(vals, mm.Type, mm.TargetUtilization, mm.Query, mm.Address, mm.TargetValue, mm.TargetAverage)
	}
	for _, s := range m.Schedules {
		vals = append(vals, s.Cron, s.Duration, s.Timezone, s.MinReplicas, s.MaxReplicas)
	}
	for _, rr := range []*scalingRulesModel{m.ScaleUp, m.ScaleDown} {
		if rr == nil {
			return false
		}
		vals = append(vals, rr.StabilizationWindow, rr.MaxStep, rr.MaxPercent)
	}
	for _, v := range vals {
		if v.IsUnknown() {
			return false
		}
	}
	return true
}

// observationKey names the private state that holds Read's observation.
const observationKey = "observation"

// observation is what one refresh saw of a policy's service and metrics. Read stores it in
// private state; the plan, and the plan Terraform makes again during apply, decide from it, so
// both give the same answer.
type observation struct {
	At       time.Time                     `json:"at"`
	Replicas int                           `json:"replicas"`
	Rollout  bool                          `json:"rollout,omitempty"`
	Cap      int                           `json:"placement_cap,omitempty"`
	History  []orchestrator.Recommendation `json:"history,omitempty"`
	Values   map[string]observedValue      `json:"values,omitempty"`
	// Note says how much of the service the task metrics cover, when not all of it.
	Note string `json:"note,omitempty"`
}

type observedValue struct {
	Value   float64 `json:"value"`
	Missing bool    `json:"missing,omitempty"`
	// Base is what 100% means for cpu and memory; empty for memory means no limit is set.
	Base string `json:"base,omitempty"`
}

// metricKey identifies a configured metric's source, so that a changed query is not decided
// from the old query's value.
func metricKey(mm metricModel) string {
	if mm.Type.ValueString() == metricPrometheus {
		return metricPrometheus + " " + mm.Address.ValueString() + " " + mm.Query.ValueString()
	}
	return mm.Type.ValueString()
}

func readObservation(ctx context.Context, private interface {
	GetKey(context.Context, string) ([]byte, diag.Diagnostics)
}) *observation {
	b, d := private.GetKey(ctx, observationKey)
	if d.HasError() || len(b) == 0 {
		return nil
	}
	var o observation
	if json.Unmarshal(b, &o) != nil {
		return nil
	}
	return &o
}

// observe reads the service and every configured metric now. Metrics that cannot be read are
// recorded as missing (no scale-down) and reported as warnings.
func (r *scalingPolicyResource) observe(ctx context.Context, m scalingPolicyModel, t *orchestrator.ScalingTarget) (*observation, diag.Diagnostics) {
	var diags diag.Diagnostics
	o := &observation{At: time.Now().UTC(), Replicas: t.Replicas, Rollout: t.RolloutInProgress, Cap: t.PlacementCap,
		History: t.State.History, Values: map[string]observedValue{}}
	for i, mm := range m.Metrics {
		key := metricKey(mm)
		if _, done := o.Values[key]; done {
			continue
		}
		switch mm.Type.ValueString() {
		case metricCPU, metricMemory:
			load, err := r.engine.ServiceLoad(ctx, t.Service)
			if err != nil {
				addEngineError(&diags, "Cannot Read Task Metrics", "Reading Docker stats of service "+t.Service.Spec.Name, err)
				return nil, diags
			}
			missing := load.Measured == 0
			o.Values[metricCPU] = observedValue{Value: load.CPU, Missing: missing, Base: load.CPUBase}
			o.Values[metricMemory] = observedValue{Value: load.Memory, Missing: missing, Base: load.MemoryBase}
			if load.Measured < load.Ready {
				o.Note = fmt.Sprintf("utilisation measured on %d of %d ready tasks (the rest run on nodes other than the one the provider talks to)", load.Measured, load.Ready)
			}
		case metricPrometheus:
			v, err := orchestrator.QueryPrometheus(ctx, nil, mm.Address.ValueString(), mm.Query.ValueString())
			if err != nil {
				addPathWarning(&diags, path.Root("metrics").AtListIndex(i), "Metric Unavailable",
					fmt.Sprintf("The Prometheus query gave no value, so the policy cannot scale the service down now: %v", err))
			}
			o.Values[key] = observedValue{Value: v, Missing: err != nil}
		}
	}
	return o, diags
}

// decided is one scaling decision with what it was made from.
type decided struct {
	dec orchestrator.ScalingDecision
	now time.Time
	// record is the recommendation the stabilization history keeps for this decision.
	record int
}

// decideFrom runs the decision function on an observation. ok is false when the observation
// lacks a configured metric.
func decideFrom(m scalingPolicyModel, o *observation) (*decided, bool, diag.Diagnostics) {
	var diags diag.Diagnostics
	in, err := m.policyInput()
	if err != nil {
		diags.AddError("Invalid Scaling Policy", err.Error())
		return nil, false, diags
	}
	for i, mm := range m.Metrics {
		v, seen := o.Values[metricKey(mm)]
		if !seen {
			return nil, false, diags
		}
		rd := orchestrator.MetricReading{Name: mm.Type.ValueString(), Kind: orchestrator.MetricUtilisation, Observed: v.Value, Missing: v.Missing, Target: numberFloat(mm.TargetUtilization)}
		switch {
		case mm.Type.ValueString() == metricMemory && v.Base == "":
			addPathError(&diags, path.Root("metrics").AtListIndex(i).AtName("type"), "Memory Metric Needs a Limit",
				"The service sets no memory limit or reservation, so memory utilisation has no 100%. Set resources.limits.memory (or reservations.memory) on the service, or track another metric.")
			continue
		case mm.Type.ValueString() == metricPrometheus:
			rd.Name, rd.Kind, rd.Target = promName(mm.Query.ValueString()), orchestrator.MetricValue, numberFloat(mm.TargetValue)
			if !mm.TargetAverage.IsNull() {
				rd.Kind, rd.Target = orchestrator.MetricAverageValue, numberFloat(mm.TargetAverage)
				if o.Replicas > 0 {
					rd.Observed = v.Value / float64(o.Replicas)
				}
			}
		}
		in.Metrics = append(in.Metrics, rd)
	}
	if diags.HasError() {
		return nil, false, diags
	}
	in.Current = o.Replicas
	in.History = o.History
	in.Now = o.At
	in.MaxByPlacement = o.Cap
	in.RolloutInProgress = o.Rollout
	dec, err := orchestrator.DecideScaling(in)
	if err != nil {
		diags.AddError("Invalid Scaling Policy", err.Error())
		return nil, false, diags
	}
	if o.Note != "" && len(in.Metrics) > 0 {
		dec.Reason += "; " + o.Note
	}
	d := &decided{dec: dec, now: in.Now, record: dec.Desired}
	if n := len(dec.NewHistory); n > 0 {
		d.record = dec.NewHistory[n-1].Replicas
	}
	return d, true, diags
}

// promName names a Prometheus metric in the decision by its query, shortened.
func promName(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if len(q) > 60 {
		q = q[:57] + "..."
	}
	return fmt.Sprintf("query %q", q)
}

// apply writes the policy and the replica count. With a planned decision it scales to exactly
// that, and records the plan's recommendation in the history; without one (create, or a plan
// that could not decide) it observes and decides now. It returns the observation made, if any.
func (r *scalingPolicyResource) apply(ctx context.Context, plan scalingPolicyModel, planned *plannedDecision, creating bool, st stateSetter, diags *diag.Diagnostics) *observation {
	t, err := r.engine.ScalingTarget(ctx, plan.ServiceID.ValueString())
	if err != nil {
		addTargetError(diags, plan.ServiceID.ValueString(), err)
		return nil
	}
	var obs *observation
	var rec orchestrator.Recommendation
	desired := int(plan.DesiredReplicas.ValueInt64())
	decision := plan.Decision.ValueString()
	switch {
	case plan.DesiredReplicas.IsUnknown() || plan.DesiredReplicas.IsNull():
		o, dd := r.observe(ctx, plan, t)
		diags.Append(dd...)
		if diags.HasError() {
			return nil
		}
		d, _, dd := decideFrom(plan, o)
		diags.Append(dd...)
		if diags.HasError() {
			return nil
		}
		obs, desired, decision = o, d.dec.Desired, d.dec.Reason
		rec = orchestrator.Recommendation{At: d.now, Replicas: d.record}
	case planned != nil:
		rec = orchestrator.Recommendation{At: time.Unix(planned.At, 0).UTC(), Replicas: planned.Recommendation}
	default:
		rec = orchestrator.Recommendation{At: time.Now().UTC(), Replicas: desired}
	}

	in, _ := plan.policyInput()
	keep := max(in.ScaleUp.StabilizationWindow, in.ScaleDown.StabilizationWindow)
	w := orchestrator.PolicyWrite{Policy: plan.label(), Claim: creating, State: orchestrator.ScalingState{
		Desired:  desired,
		Decision: decision,
		ScaledAt: t.State.ScaledAt,
		DryRun:   plan.DryRun.ValueBool(),
		History:  orchestrator.RecordRecommendation(t.State.History, rec, keep, time.Now()),
	}}
	if !w.State.DryRun && desired != t.Replicas {
		if planned != nil && t.Replicas != planned.From {
			diags.AddWarning("Service Scaled Since Plan", fmt.Sprintf("Service %s had %d replicas when planned and has %d now; it is set to the planned %d.", t.Service.Spec.Name, planned.From, t.Replicas, desired))
		}
		w.State.ScaledAt = time.Now().UTC()
		w.Replicas = &desired
	}
	res, err := r.engine.WritePolicy(ctx, t.Service.ID, w)
	if err != nil {
		if errors.Is(err, orchestrator.ErrPolicyExists) {
			addPathError(diags, path.Root("service_id"), "Service Already Has a Scaling Policy", err.Error()+". Import the existing policy or remove it first.")
			return nil
		}
		addEngineError(diags, "Cannot Apply Scaling Policy", "Writing the policy to service "+t.Service.Spec.Name, err)
		return nil
	}
	addWarnings(diags, res.Warnings)

	// State takes the planned values where the plan knew them, as Terraform requires.
	after := t.Replicas
	if w.Replicas != nil {
		after = desired
	}
	plan.ID = types.StringValue(t.Service.ID)
	plan.DesiredReplicas = types.Int64Value(int64(desired))
	plan.Decision = types.StringValue(decision)
	if plan.CurrentReplicas.IsUnknown() || plan.CurrentReplicas.IsNull() {
		plan.CurrentReplicas = types.Int64Value(int64(after))
	}
	if plan.LastScaledAt.IsUnknown() || creating {
		plan.LastScaledAt = timeOrNull(w.State.ScaledAt)
	}
	// Save what was written before waiting, so that a failed wait leaves true state behind.
	diags.Append(st.Set(ctx, plan)...)
	if w.Replicas == nil || res.Outcome != orchestrator.OutcomeUpdated {
		return obs
	}
	// A task that cannot be placed (no node has the resources it reserves) would otherwise
	// keep the apply waiting until the timeout.
	if _, err := r.engine.WaitConverged(ctx, res, orchestrator.WaitOptions{ProgressDeadline: scaleProgressDeadline}); err != nil {
		addEngineError(diags, "Scaling Did Not Converge", fmt.Sprintf("Service %s was scaled from %d to %d replicas, but the tasks did not all start", t.Service.Spec.Name, t.Replicas, desired), err)
	}
	return obs
}

func configured(e *orchestrator.Engine, diags *diag.Diagnostics) bool {
	if e == nil {
		diags.AddError("Provider Not Connected", "The swarm provider could not connect to a Docker engine during this run (its configuration was not known yet). Run apply again once the values it depends on exist.")
		return false
	}
	return true
}

func addPathWarning(diags *diag.Diagnostics, p path.Path, summary, detail string) {
	diags.AddAttributeWarning(p, summary, "Attribute "+p.String()+": "+detail)
}

// decimal parses a decimal constant at Terraform's precision.
func decimal(s string) *big.Float {
	f, _, _ := big.ParseFloat(s, 10, 512, big.ToNearestEven)
	return f
}
