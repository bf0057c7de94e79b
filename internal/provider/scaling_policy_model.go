package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

// scalingPolicyModel is swarm_scaling_policy as Terraform sees it.
type scalingPolicyModel struct {
	ID              types.String       `tfsdk:"id"`
	ServiceID       types.String       `tfsdk:"service_id"`
	MinReplicas     wholeValue         `tfsdk:"min_replicas"`
	MaxReplicas     wholeValue         `tfsdk:"max_replicas"`
	Metrics         []metricModel      `tfsdk:"metrics"`
	Tolerance       types.Number       `tfsdk:"tolerance"`
	ScaleUp         *scalingRulesModel `tfsdk:"scale_up"`
	ScaleDown       *scalingRulesModel `tfsdk:"scale_down"`
	Schedules       []scheduleModel    `tfsdk:"schedules"`
	DryRun          types.Bool         `tfsdk:"dry_run"`
	Evaluation      types.String       `tfsdk:"evaluation"`
	CurrentReplicas wholeValue         `tfsdk:"current_replicas"`
	DesiredReplicas wholeValue         `tfsdk:"desired_replicas"`
	Decision        types.String       `tfsdk:"decision"`
	LastScaledAt    types.String       `tfsdk:"last_scaled_at"`
	LastEvaluatedAt types.String       `tfsdk:"last_evaluated_at"`
	Timeouts        timeouts.Value     `tfsdk:"timeouts"`
}

// continuous says whether the configuration asks the controller to decide.
func (m scalingPolicyModel) continuous() bool {
	return m.Evaluation.ValueString() == orchestrator.EvaluationContinuous
}

type metricModel struct {
	Type              types.String `tfsdk:"type"`
	TargetUtilization types.Number `tfsdk:"target_utilization"`
	Source            types.String `tfsdk:"source"`
	Query             types.String `tfsdk:"query"`
	Address           types.String `tfsdk:"address"`
	TargetValue       types.Number `tfsdk:"target_value"`
	TargetAverage     types.Number `tfsdk:"target_average_value"`
}

type scalingRulesModel struct {
	StabilizationWindow kindValue  `tfsdk:"stabilization_window"`
	MaxStep             wholeValue `tfsdk:"max_step"`
	MaxPercent          wholeValue `tfsdk:"max_percent"`
}

type scheduleModel struct {
	Cron        types.String `tfsdk:"cron"`
	Duration    kindValue    `tfsdk:"duration"`
	Timezone    types.String `tfsdk:"timezone"`
	MinReplicas wholeValue   `tfsdk:"min_replicas"`
	MaxReplicas wholeValue   `tfsdk:"max_replicas"`
}

// policy is the configured part of the model in the engine's terms. Values that are null or
// not known yet come out empty (see unknownPaths).
func (m scalingPolicyModel) policy() orchestrator.ScalingPolicy {
	p := orchestrator.ScalingPolicy{
		MinReplicas: m.MinReplicas.ValueInt64(),
		MaxReplicas: m.MaxReplicas.ValueInt64(),
		Tolerance:   decimalOf(m.Tolerance),
		ScaleUp:     m.ScaleUp.rules(orchestrator.DefaultScaleUp),
		ScaleDown:   m.ScaleDown.rules(orchestrator.DefaultScaleDown),
		DryRun:      m.DryRun.ValueBool(),
		Evaluation:  m.Evaluation.ValueString(),
	}
	for _, mm := range m.Metrics {
		p.Metrics = append(p.Metrics, orchestrator.PolicyMetric{
			Type:               mm.Type.ValueString(),
			TargetUtilization:  decimalOf(mm.TargetUtilization),
			Source:             mm.Source.ValueString(),
			Query:              mm.Query.ValueString(),
			Address:            mm.Address.ValueString(),
			TargetValue:        decimalOf(mm.TargetValue),
			TargetAverageValue: decimalOf(mm.TargetAverage),
		})
	}
	for _, s := range m.Schedules {
		p.Schedules = append(p.Schedules, orchestrator.PolicySchedule{
			Cron:        s.Cron.ValueString(),
			Duration:    s.Duration.ValueString(),
			Timezone:    s.Timezone.ValueString(),
			MinReplicas: s.MinReplicas.ValueInt64Pointer(),
			MaxReplicas: s.MaxReplicas.ValueInt64Pointer(),
		})
	}
	return p
}

func (r *scalingRulesModel) rules(def orchestrator.PolicyRules) orchestrator.PolicyRules {
	if r == nil {
		return def
	}
	return orchestrator.PolicyRules{StabilizationWindow: r.StabilizationWindow.ValueString(), MaxStep: r.MaxStep.ValueInt64(), MaxPercent: r.MaxPercent.ValueInt64()}
}

func rulesModel(r orchestrator.PolicyRules) *scalingRulesModel {
	return &scalingRulesModel{StabilizationWindow: durationValue(r.StabilizationWindow), MaxStep: intValue(r.MaxStep), MaxPercent: intValue(r.MaxPercent)}
}

// unknownPaths lists the configured attributes whose values are not known yet, in the
// engine's path spelling, so that rules reading them wait for the plan.
func (m scalingPolicyModel) unknownPaths() map[string]bool {
	out := map[string]bool{}
	add := func(p string, v interface{ IsUnknown() bool }) {
		if v.IsUnknown() {
			out[p] = true
		}
	}
	add("min_replicas", m.MinReplicas)
	add("max_replicas", m.MaxReplicas)
	add("tolerance", m.Tolerance)
	for name, r := range map[string]*scalingRulesModel{"scale_up": m.ScaleUp, "scale_down": m.ScaleDown} {
		if r != nil {
			add(name+".stabilization_window", r.StabilizationWindow)
			add(name+".max_step", r.MaxStep)
			add(name+".max_percent", r.MaxPercent)
		}
	}
	for i, mm := range m.Metrics {
		at := fmt.Sprintf("metrics[%d].", i)
		add(at+"type", mm.Type)
		add(at+"target_utilization", mm.TargetUtilization)
		add(at+"source", mm.Source)
		add(at+"query", mm.Query)
		add(at+"address", mm.Address)
		add(at+"target_value", mm.TargetValue)
		add(at+"target_average_value", mm.TargetAverage)
	}
	for i, s := range m.Schedules {
		at := fmt.Sprintf("schedules[%d].", i)
		add(at+"cron", s.Cron)
		add(at+"duration", s.Duration)
		add(at+"timezone", s.Timezone)
		add(at+"min_replicas", s.MinReplicas)
		add(at+"max_replicas", s.MaxReplicas)
	}
	return out
}

// problems are the engine's rule violations in the configured policy, leaving out rules that
// read a value not known yet (they are checked again at plan time).
func (m scalingPolicyModel) problems() []orchestrator.FieldProblem {
	unknown := m.unknownPaths()
	var out []orchestrator.FieldProblem
	for _, p := range m.policy().Validate() {
		if !readsAny(p, unknown) {
			out = append(out, p)
		}
	}
	return out
}

// policyModel is the one function that turns a policy as the cluster holds it into the model.
// prior (state, or empty on import) decides between null and empty lists, keeps the spelling
// of service_id and the timeouts.
func policyModel(t *orchestrator.ScalingTarget, prior scalingPolicyModel) scalingPolicyModel {
	p := t.Policy
	m := scalingPolicyModel{
		ID:              types.StringValue(t.Service.ID),
		ServiceID:       types.StringValue(t.Service.ID),
		MinReplicas:     intValue(p.MinReplicas),
		MaxReplicas:     intValue(p.MaxReplicas),
		Tolerance:       numberOf(p.Tolerance),
		ScaleUp:         rulesModel(p.ScaleUp),
		ScaleDown:       rulesModel(p.ScaleDown),
		DryRun:          types.BoolValue(p.DryRun),
		Evaluation:      types.StringValue(p.Evaluation),
		CurrentReplicas: intValue(int64(t.Replicas)),
		DesiredReplicas: intValue(int64(t.State.Desired)),
		Decision:        types.StringValue(t.State.Decision),
		LastScaledAt:    timeOrNull(t.State.ScaledAt),
		LastEvaluatedAt: timeOrNull(t.State.DecidedAt),
		Timeouts:        prior.Timeouts,
	}
	if prior.ServiceID.ValueString() != "" && prior.ServiceID.ValueString() != t.Service.ID {
		// Configured by name: keep the spelling, it names the same service.
		m.ServiceID = prior.ServiceID
	}
	for _, mm := range p.Metrics {
		m.Metrics = append(m.Metrics, metricModel{
			Type:              types.StringValue(mm.Type),
			TargetUtilization: numberOf(mm.TargetUtilization),
			Source:            stringOrNull(mm.Source),
			Query:             stringOrNull(mm.Query),
			Address:           stringOrNull(mm.Address),
			TargetValue:       numberOf(mm.TargetValue),
			TargetAverage:     numberOf(mm.TargetAverageValue),
		})
	}
	if m.Metrics == nil && prior.Metrics != nil {
		m.Metrics = []metricModel{}
	}
	for _, s := range p.Schedules {
		m.Schedules = append(m.Schedules, scheduleModel{
			Cron:        types.StringValue(s.Cron),
			Duration:    durationValue(s.Duration),
			Timezone:    types.StringValue(s.Timezone),
			MinReplicas: intPointer(s.MinReplicas),
			MaxReplicas: intPointer(s.MaxReplicas),
		})
	}
	if m.Schedules == nil && prior.Schedules != nil {
		m.Schedules = []scheduleModel{}
	}
	return m
}

// known says whether everything a decision needs is known at plan time.
func (m scalingPolicyModel) known() bool {
	return len(m.unknownPaths()) == 0 && !m.ServiceID.IsUnknown() && !m.DryRun.IsUnknown() && !m.Evaluation.IsUnknown() && m.ScaleUp != nil && m.ScaleDown != nil
}

// Private state: the refresh's observation (Read) and the plan's decision (ModifyPlan, for
// apply). Both are the engine's types, as JSON.
const (
	observationKey = "observation"
	plannedKey     = "planned_decision"
)

type privateGetter interface {
	GetKey(context.Context, string) ([]byte, diag.Diagnostics)
}

type privateSetter interface {
	SetKey(context.Context, string, []byte) diag.Diagnostics
}

// readPrivate decodes a private state value into v; false when there is none (or it cannot be
// read, as after a provider change of format: it is then treated as absent).
func readPrivate(ctx context.Context, p privateGetter, key string, v any) bool {
	b, d := p.GetKey(ctx, key)
	if d.HasError() || len(b) == 0 {
		return false
	}
	return json.Unmarshal(b, v) == nil
}

func writePrivate(ctx context.Context, p privateSetter, key string, v any, diags *diag.Diagnostics) {
	var b []byte
	if v != nil {
		b, _ = json.Marshal(v)
	}
	diags.Append(p.SetKey(ctx, key, b)...)
}

// plannedDecision is what a plan decided, kept for apply.
type plannedDecision struct {
	At             int64 `json:"at"`
	Recommendation int   `json:"recommendation"`
	// From is the replica count the plan saw.
	From int `json:"from"`
}

func timeOrNull(t time.Time) types.String {
	if t.IsZero() {
		return types.StringNull()
	}
	return types.StringValue(t.UTC().Format(time.RFC3339))
}

// decimalOf spells a Terraform number for the engine, as the shortest decimal that reads back
// to the same value at Terraform's precision.
func decimalOf(v types.Number) orchestrator.Decimal {
	if v.IsNull() || v.IsUnknown() {
		return ""
	}
	return orchestrator.DecimalOf(v.ValueBigFloat())
}

func numberOf(d orchestrator.Decimal) types.Number {
	f := d.BigFloat()
	if f == nil {
		return types.NumberNull()
	}
	return types.NumberValue(f)
}
