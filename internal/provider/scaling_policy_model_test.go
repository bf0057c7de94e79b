package provider

import (
	"math/big"
	"reflect"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

// A rule that reads a value not known at validation time waits for the plan; the others are
// reported at once.
func TestScalingPolicyProblemsSkipUnknown(t *testing.T) {
	m := scalingPolicyModel{
		MinReplicas: intValue(3), MaxReplicas: intUnknown(), Tolerance: types.NumberValue(big.NewFloat(2)),
		Metrics: []metricModel{{Type: types.StringUnknown(), TargetUtilization: types.NumberNull(), Query: types.StringValue("up"),
			Address: types.StringNull(), TargetValue: types.NumberNull(), TargetAverage: types.NumberNull()}},
	}
	got := m.problems()
	if len(got) != 1 || got[0].Path != "tolerance" {
		t.Fatalf("want only the tolerance problem (bounds and the metric read unknown values), got %+v", got)
	}
	m.MaxReplicas = intValue(2)
	if got := m.problems(); len(got) != 2 || got[1].Path != "max_replicas" && got[0].Path != "max_replicas" {
		t.Fatalf("with max_replicas known, the bounds are checked too: %+v", got)
	}
}

// The model and the engine's policy convert into each other without loss, numbers spelled
// as configured ("0.1" stays exactly 0.1 at Terraform's precision).
func TestScalingPolicyRoundTrip(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	p := orchestrator.ScalingPolicy{
		MinReplicas: 2, MaxReplicas: 9, Tolerance: "0.15", DryRun: true,
		ScaleUp:   orchestrator.PolicyRules{StabilizationWindow: "30s", MaxStep: 2, MaxPercent: 50},
		ScaleDown: orchestrator.PolicyRules{StabilizationWindow: "10m", MaxStep: 1, MaxPercent: 10},
		Metrics: []orchestrator.PolicyMetric{
			{Type: "cpu", TargetUtilization: "60.5"},
			{Type: "prometheus", Query: "sum(rate(x[1m]))", Address: "http://p:9090", TargetAverageValue: "0.1"},
			{Type: "prometheus", Query: "max(age)", Address: "https://p", TargetValue: "30"},
		},
		Schedules: []orchestrator.PolicySchedule{{Cron: "0 8 * * 1-5", Duration: "10h", Timezone: "Europe/Berlin", MinReplicas: n(4)}, {Cron: "0 0 * * *", Duration: "1h", Timezone: "UTC", MaxReplicas: n(3)}},
	}
	target := &orchestrator.ScalingTarget{Service: swarm.Service{ID: "svc1"}, Replicas: 4, Policy: &p,
		State: orchestrator.ScalingState{Desired: 4, Decision: "d", ScaledAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), DryRun: true}}
	m := policyModel(target, scalingPolicyModel{})
	if got := m.policy(); !reflect.DeepEqual(got, p) {
		t.Fatalf("spec -> model -> spec:\n got  %+v\n want %+v", got, p)
	}
	if m.Tolerance.ValueBigFloat().Cmp(orchestrator.Decimal("0.15").BigFloat()) != 0 || m.LastScaledAt.ValueString() != "2026-01-02T03:04:05Z" {
		t.Errorf("model values: tolerance %s, last_scaled_at %s", m.Tolerance, m.LastScaledAt)
	}
	// model -> spec -> model
	again := policyModel(&orchestrator.ScalingTarget{Service: target.Service, Replicas: 4, Policy: ptr(m.policy()), State: target.State}, m)
	if !reflect.DeepEqual(again, m) {
		t.Fatalf("model -> spec -> model:\n got  %+v\n want %+v", again, m)
	}
}

func ptr[T any](v T) *T { return &v }
