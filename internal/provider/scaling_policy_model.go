package provider

import (
	"encoding/json"
	"fmt"
	"math/big"
	"time"
	_ "time/tzdata" // schedules' time zones work where the system has no zoneinfo (Terraform Cloud runners)

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

// scalingPolicyModel is swarm_scaling_policy as Terraform sees it.
type scalingPolicyModel struct {
	ID              types.String       `tfsdk:"id"`
	ServiceID       types.String       `tfsdk:"service_id"`
	MinReplicas     types.Int64        `tfsdk:"min_replicas"`
	MaxReplicas     types.Int64        `tfsdk:"max_replicas"`
	Metrics         []metricModel      `tfsdk:"metrics"`
	Tolerance       types.Number       `tfsdk:"tolerance"`
	ScaleUp         *scalingRulesModel `tfsdk:"scale_up"`
	ScaleDown       *scalingRulesModel `tfsdk:"scale_down"`
	Schedules       []scheduleModel    `tfsdk:"schedules"`
	DryRun          types.Bool         `tfsdk:"dry_run"`
	CurrentReplicas types.Int64        `tfsdk:"current_replicas"`
	DesiredReplicas types.Int64        `tfsdk:"desired_replicas"`
	Decision        types.String       `tfsdk:"decision"`
	LastScaledAt    types.String       `tfsdk:"last_scaled_at"`
	Timeouts        timeouts.Value     `tfsdk:"timeouts"`
}

type metricModel struct {
	Type              types.String `tfsdk:"type"`
	TargetUtilization types.Number `tfsdk:"target_utilization"`
	Query             types.String `tfsdk:"query"`
	Address           types.String `tfsdk:"address"`
	TargetValue       types.Number `tfsdk:"target_value"`
	TargetAverage     types.Number `tfsdk:"target_average_value"`
}

type scalingRulesModel struct {
	StabilizationWindow kindValue   `tfsdk:"stabilization_window"`
	MaxStep             types.Int64 `tfsdk:"max_step"`
	MaxPercent          types.Int64 `tfsdk:"max_percent"`
}

type scheduleModel struct {
	Cron        types.String `tfsdk:"cron"`
	Duration    kindValue    `tfsdk:"duration"`
	Timezone    types.String `tfsdk:"timezone"`
	MinReplicas types.Int64  `tfsdk:"min_replicas"`
	MaxReplicas types.Int64  `tfsdk:"max_replicas"`
}

const (
	metricCPU        = "cpu"
	metricMemory     = "memory"
	metricPrometheus = "prometheus"
)

// Defaults follow HPA's: scale up at once by up to 4 replicas or 100% (whichever is more), scale
// down only after 5 minutes of lower recommendations, without a rate limit.
var (
	defaultScaleUp   = rulesLabel{Window: "0s", MaxStep: 4, MaxPercent: 100}
	defaultScaleDown = rulesLabel{Window: "5m", MaxStep: 0, MaxPercent: 0}
)

// policyLabel is the policy as stored on its service, so that import and a plan on a fresh
// machine see exactly what was configured. Numbers are kept as decimal text, as written.
type policyLabel struct {
	Min       int64           `json:"min"`
	Max       int64           `json:"max"`
	Metrics   []metricLabel   `json:"metrics,omitempty"`
	Tolerance string          `json:"tolerance"`
	ScaleUp   rulesLabel      `json:"scale_up"`
	ScaleDown rulesLabel      `json:"scale_down"`
	Schedules []scheduleLabel `json:"schedules,omitempty"`
}

type metricLabel struct {
	Type              string `json:"type"`
	TargetUtilization string `json:"target_utilization,omitempty"`
	Query             string `json:"query,omitempty"`
	Address           string `json:"address,omitempty"`
	TargetValue       string `json:"target_value,omitempty"`
	TargetAverage     string `json:"target_average_value,omitempty"`
}

type rulesLabel struct {
	Window     string `json:"stabilization_window"`
	MaxStep    int64  `json:"max_step"`
	MaxPercent int64  `json:"max_percent"`
}

type scheduleLabel struct {
	Cron     string `json:"cron"`
	Duration string `json:"duration"`
	Timezone string `json:"timezone"`
	Min      *int64 `json:"min_replicas,omitempty"`
	Max      *int64 `json:"max_replicas,omitempty"`
}

// label encodes the configured part of the model.
func (m scalingPolicyModel) label() string {
	l := policyLabel{
		Min:       m.MinReplicas.ValueInt64(),
		Max:       m.MaxReplicas.ValueInt64(),
		Tolerance: numberText(m.Tolerance),
		ScaleUp:   m.ScaleUp.label(defaultScaleUp),
		ScaleDown: m.ScaleDown.label(defaultScaleDown),
	}
	for _, mm := range m.Metrics {
		l.Metrics = append(l.Metrics, metricLabel{
			Type:              mm.Type.ValueString(),
			TargetUtilization: numberText(mm.TargetUtilization),
			Query:             mm.Query.ValueString(),
			Address:           mm.Address.ValueString(),
			TargetValue:       numberText(mm.TargetValue),
			TargetAverage:     numberText(mm.TargetAverage),
		})
	}
	for _, s := range m.Schedules {
		l.Schedules = append(l.Schedules, scheduleLabel{
			Cron:     s.Cron.ValueString(),
			Duration: s.Duration.ValueString(),
			Timezone: s.Timezone.ValueString(),
			Min:      s.MinReplicas.ValueInt64Pointer(),
			Max:      s.MaxReplicas.ValueInt64Pointer(),
		})
	}
	b, _ := json.Marshal(l)
	return string(b)
}

func (r *scalingRulesModel) label(def rulesLabel) rulesLabel {
	if r == nil {
		return def
	}
	return rulesLabel{Window: r.StabilizationWindow.ValueString(), MaxStep: r.MaxStep.ValueInt64(), MaxPercent: r.MaxPercent.ValueInt64()}
}

func (l rulesLabel) model() *scalingRulesModel {
	return &scalingRulesModel{StabilizationWindow: durationValue(l.Window), MaxStep: types.Int64Value(l.MaxStep), MaxPercent: types.Int64Value(l.MaxPercent)}
}

func (l rulesLabel) rules() orchestrator.ScalingRules {
	d, _ := time.ParseDuration(l.Window)
	return orchestrator.ScalingRules{StabilizationWindow: d, MaxStep: int(l.MaxStep), MaxPercent: int(l.MaxPercent)}
}

// policyFromTarget is the one function that turns what the cluster holds into the model. prior
// (state, or empty on import) decides between null and empty lists and keeps the timeouts.
func policyFromTarget(t *orchestrator.ScalingTarget, prior scalingPolicyModel) (scalingPolicyModel, error) {
	var l policyLabel
	if err := json.Unmarshal([]byte(t.Policy), &l); err != nil {
		return prior, fmt.Errorf("label %s on service %s cannot be read: %w", orchestrator.ScalingOwnerLabel, t.Service.Spec.Name, err)
	}
	m := scalingPolicyModel{
		ID:              types.StringValue(t.Service.ID),
		ServiceID:       types.StringValue(t.Service.ID),
		MinReplicas:     types.Int64Value(l.Min),
		MaxReplicas:     types.Int64Value(l.Max),
		Tolerance:       numberFromText(l.Tolerance),
		ScaleUp:         l.ScaleUp.model(),
		ScaleDown:       l.ScaleDown.model(),
		DryRun:          types.BoolValue(t.State.DryRun),
		CurrentReplicas: types.Int64Value(int64(t.Replicas)),
		DesiredReplicas: types.Int64Value(int64(t.State.Desired)),
		Decision:        types.StringValue(t.State.Decision),
		LastScaledAt:    timeOrNull(t.State.ScaledAt),
		Timeouts:        prior.Timeouts,
	}
	if prior.ServiceID.ValueString() != "" && prior.ServiceID.ValueString() != t.Service.ID {
		// Configured by name: keep the spelling, it names the same service.
		m.ServiceID = prior.ServiceID
	}
	for _, ml := range l.Metrics {
		m.Metrics = append(m.Metrics, metricModel{
			Type:              types.StringValue(ml.Type),
			TargetUtilization: numberFromText(ml.TargetUtilization),
			Query:             stringOrNull(ml.Query),
			Address:           stringOrNull(ml.Address),
			TargetValue:       numberFromText(ml.TargetValue),
			TargetAverage:     numberFromText(ml.TargetAverage),
		})
	}
	if m.Metrics == nil && prior.Metrics != nil {
		m.Metrics = []metricModel{}
	}
	for _, sl := range l.Schedules {
		m.Schedules = append(m.Schedules, scheduleModel{
			Cron:        types.StringValue(sl.Cron),
			Duration:    durationValue(sl.Duration),
			Timezone:    types.StringValue(sl.Timezone),
			MinReplicas: types.Int64PointerValue(sl.Min),
			MaxReplicas: types.Int64PointerValue(sl.Max),
		})
	}
	if m.Schedules == nil && prior.Schedules != nil {
		m.Schedules = []scheduleModel{}
	}
	return m, nil
}

// policyInput turns the configured policy into the decision function's input, without the
// observations.
func (m scalingPolicyModel) policyInput() (orchestrator.ScalingInput, error) {
	var l policyLabel
	if err := json.Unmarshal([]byte(m.label()), &l); err != nil {
		return orchestrator.ScalingInput{}, err
	}
	in := orchestrator.ScalingInput{
		MinReplicas: int(l.Min),
		MaxReplicas: int(l.Max),
		Tolerance:   numberFloat(m.Tolerance),
		ScaleUp:     l.ScaleUp.rules(),
		ScaleDown:   l.ScaleDown.rules(),
	}
	for i, s := range l.Schedules {
		loc, err := time.LoadLocation(s.Timezone)
		if err != nil {
			return in, fmt.Errorf("schedules[%d].timezone: %w", i, err)
		}
		d, _ := time.ParseDuration(s.Duration)
		sched := orchestrator.ScalingSchedule{Cron: s.Cron, Duration: d, Location: loc, MinReplicas: in.MinReplicas, MaxReplicas: in.MaxReplicas}
		if s.Min != nil {
			sched.MinReplicas = int(*s.Min)
		}
		if s.Max != nil {
			sched.MaxReplicas = int(*s.Max)
		}
		in.Schedules = append(in.Schedules, sched)
	}
	return in, nil
}

func timeOrNull(t time.Time) types.String {
	if t.IsZero() {
		return types.StringNull()
	}
	return types.StringValue(t.UTC().Format(time.RFC3339))
}

// numberText spells a Terraform number as the shortest decimal that reads back to the same
// value at Terraform's precision ("0.1", not the nearest binary double).
func numberText(v types.Number) string {
	if v.IsNull() || v.IsUnknown() {
		return ""
	}
	return v.ValueBigFloat().Text('g', -1)
}

func numberFromText(s string) types.Number {
	if s == "" {
		return types.NumberNull()
	}
	f, _, err := big.ParseFloat(s, 10, 512, big.ToNearestEven)
	if err != nil {
		return types.NumberNull()
	}
	return types.NumberValue(f)
}

func numberFloat(v types.Number) float64 {
	if v.IsNull() || v.IsUnknown() {
		return 0
	}
	f, _ := v.ValueBigFloat().Float64()
	return f
}
