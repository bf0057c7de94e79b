package orchestrator

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

func TestScalingStateRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	st := ScalingState{Desired: 3, Decision: "cpu at 100%; 1 -> 3", ScaledAt: at, History: scalingHistory{
		{At: at.Add(-time.Minute), Replicas: 2}, {At: at, Replicas: 3},
	}}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"desired":3,"decision":"cpu at 100%; 1 -\u003e 3","scaled_at":"2026-11-27T03:00:00Z","history":"1795748340:2 1795748400:3"}`
	if string(b) != want {
		t.Fatalf("encoded\n %s\nwant\n %s", b, want)
	}
	spec := swarm.ServiceSpec{Annotations: swarm.Annotations{Labels: map[string]string{ScalingOwnerLabel: "{}", ScalingStateLabel: string(b)}}}
	got, ok, err := ScalingStateOf(spec)
	if err != nil || !ok {
		t.Fatalf("decode: ok=%v err=%v", ok, err)
	}
	if got.Desired != 3 || !got.ScaledAt.Equal(at) || len(got.History) != 2 || got.History[0].Replicas != 2 || !got.History[1].At.Equal(at) {
		t.Fatalf("decoded %+v", got)
	}
}

func TestReplicasOwnedElsewhere(t *testing.T) {
	labels := func(kv ...string) swarm.ServiceSpec {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return swarm.ServiceSpec{Annotations: swarm.Annotations{Labels: m}}
	}
	tests := []struct {
		name string
		spec swarm.ServiceSpec
		want bool
	}{
		{"no policy", labels(), false},
		{"a policy without state", labels(ScalingOwnerLabel, "{}"), true},
		{"a policy that scales", labels(ScalingOwnerLabel, "{}", ScalingStateLabel, `{"desired":2}`), true},
		{"a dry run", labels(ScalingOwnerLabel, "{}", ScalingStateLabel, `{"desired":2,"dry_run":true}`), false},
		{"unreadable state counts as owned", labels(ScalingOwnerLabel, "{}", ScalingStateLabel, `{"desired":`), true},
		{"state without a policy", labels(ScalingStateLabel, `{"desired":2}`), false},
	}
	for _, tc := range tests {
		if got := ReplicasOwnedElsewhere(tc.spec); got != tc.want {
			t.Errorf("%s: owned = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPruneHistory(t *testing.T) {
	now := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	history := []Recommendation{{At: now.Add(-10 * time.Minute), Replicas: 5}, {At: now.Add(-5 * time.Minute), Replicas: 4}, {At: now.Add(-time.Minute), Replicas: 3}}
	// The entry exactly 5 minutes old is outside the window, as in HPA.
	if got := pruneHistory(history, now, 5*time.Minute); len(got) != 1 || got[0].Replicas != 3 {
		t.Fatalf("history %+v", got)
	}
	if got := pruneHistory(history, now, 0); len(got) != 0 {
		t.Fatalf("no window keeps nothing, got %+v", got)
	}
}

// The state label written by the first release (format 1, no version) still reads; the
// current format carries its version; a newer format is refused rather than misread.
func TestScalingStateFormats(t *testing.T) {
	v1 := `{"desired":3,"decision":"cpu at 100%; 1 -> 3","scaled_at":"2026-11-27T03:00:00Z","dry_run":true,"history":"1795748340:2 1795748400:3"}`
	spec := func(label string) swarm.ServiceSpec {
		return swarm.ServiceSpec{Annotations: swarm.Annotations{Labels: map[string]string{ScalingOwnerLabel: "{}", ScalingStateLabel: label}}}
	}
	st, ok, err := ScalingStateOf(spec(v1))
	if err != nil || !ok || st.Version != 0 || st.Desired != 3 || !st.DryRun || len(st.History) != 2 {
		t.Fatalf("format 1: %+v ok=%v err=%v", st, ok, err)
	}
	again, _, err := ScalingStateOf(spec(st.label()))
	if err != nil || again.Version != ScalingStateFormat || again.Desired != 3 || !again.DryRun || len(again.History) != 2 || !again.ScaledAt.Equal(st.ScaledAt) {
		t.Fatalf("format %d round trip: %+v err=%v", ScalingStateFormat, again, err)
	}
	if _, _, err := ScalingStateOf(spec(`{"version":99,"desired":1}`)); !errors.Is(err, ErrNewerFormat) {
		t.Fatalf("a newer format must be refused, got %v", err)
	}
}

func TestScalingPolicyLabelFormats(t *testing.T) {
	// As the first release wrote it.
	v1 := `{"min":1,"max":3,"metrics":[{"type":"cpu","target_utilization":"40"},{"type":"prometheus","query":"sum(rate(x[1m]))","address":"http://p:9090","target_average_value":"100"}],"tolerance":"0.1","scale_up":{"stabilization_window":"0s","max_step":4,"max_percent":100},"scale_down":{"stabilization_window":"45s","max_step":0,"max_percent":0},"schedules":[{"cron":"0 8 * * 1-5","duration":"10h","timezone":"Europe/Berlin","min_replicas":2}]}`
	p, err := ParseScalingPolicy(v1)
	if err != nil {
		t.Fatal(err)
	}
	if p.MinReplicas != 1 || p.MaxReplicas != 3 || len(p.Metrics) != 2 || p.Metrics[1].TargetAverageValue != "100" || p.Tolerance != "0.1" ||
		p.ScaleDown.StabilizationWindow != "45s" || len(p.Schedules) != 1 || *p.Schedules[0].MinReplicas != 2 || p.Schedules[0].MaxReplicas != nil {
		t.Fatalf("format 1 decoded as %+v", p)
	}
	label := p.Label()
	if !strings.Contains(label, `"version":2`) {
		t.Fatalf("label %s does not carry format 2", label)
	}
	again, err := ParseScalingPolicy(label)
	if err != nil || !reflect.DeepEqual(again, p) {
		t.Fatalf("round trip:\n %+v\n %+v (%v)", again, p, err)
	}
	// A source needs format 3, which providers without sources refuse instead of reading the
	// metric as Docker stats.
	p.Metrics[0].Source, p.Metrics[0].Address = SourceCAdvisor, "http://p:9090"
	label = p.Label()
	if !strings.Contains(label, `"version":3`) || !strings.Contains(label, `"source":"cadvisor"`) {
		t.Fatalf("label %s does not carry format 3 and the source", label)
	}
	if again, err := ParseScalingPolicy(label); err != nil || !reflect.DeepEqual(again, p) {
		t.Fatalf("format 3 round trip:\n %+v\n %+v (%v)", again, p, err)
	}
	// Continuous evaluation needs format 4: a provider that knows no evaluation would decide the
	// policy at plan as well as the controller. Plan evaluation is the default every format means.
	if p.Evaluation != EvaluationPlan {
		t.Fatalf("a label without evaluation reads as %q, want %q", p.Evaluation, EvaluationPlan)
	}
	p.Evaluation = EvaluationContinuous
	label = p.Label()
	if !strings.Contains(label, `"version":4`) || !strings.Contains(label, `"evaluation":"continuous"`) {
		t.Fatalf("label %s does not carry format 4 and the evaluation", label)
	}
	if again, err := ParseScalingPolicy(label); err != nil || !reflect.DeepEqual(again, p) || !again.Continuous() {
		t.Fatalf("format 4 round trip:\n %+v\n %+v (%v)", again, p, err)
	}
	if _, err := ParseScalingPolicy(`{"version":5,"min":1,"max":2}`); !errors.Is(err, ErrNewerFormat) {
		t.Fatalf("a newer format must be refused, got %v", err)
	}
}

func TestScalingPolicyValidate(t *testing.T) {
	valid := func() ScalingPolicy {
		return ScalingPolicy{MinReplicas: 1, MaxReplicas: 5, Tolerance: "0.1", ScaleUp: DefaultScaleUp, ScaleDown: DefaultScaleDown,
			Metrics: []PolicyMetric{{Type: MetricCPU, TargetUtilization: "60"}}}
	}
	n := func(v int64) *int64 { return &v }
	tests := []struct {
		name     string
		edit     func(*ScalingPolicy)
		path     string
		summary  string
		detail   string
		alsoRead string
	}{
		{"valid", func(*ScalingPolicy) {}, "", "", "", ""},
		{"negative min", func(p *ScalingPolicy) { p.MinReplicas = -1 }, "min_replicas", "Invalid Replica Bounds", "0 or more", ""},
		{"max of 0", func(p *ScalingPolicy) { p.MinReplicas, p.MaxReplicas = 0, 0 }, "max_replicas", "Invalid Replica Bounds", "at least 1", ""},
		{"max below min", func(p *ScalingPolicy) { p.MinReplicas = 6 }, "max_replicas", "Invalid Replica Bounds", "max_replicas (5) must be at least min_replicas (6)", "min_replicas"},
		{"tolerance of 1", func(p *ScalingPolicy) { p.Tolerance = "1" }, "tolerance", "Invalid Tolerance", "below 1", ""},
		{"negative window", func(p *ScalingPolicy) { p.ScaleDown.StabilizationWindow = "-5m" }, "scale_down.stabilization_window", "Invalid Stabilization Window", "0 or more", ""},
		{"negative step", func(p *ScalingPolicy) { p.ScaleUp.MaxStep = -1 }, "scale_up.max_step", "Invalid Rate Limit", "got -1", ""},
		{"negative percent", func(p *ScalingPolicy) { p.ScaleDown.MaxPercent = -1 }, "scale_down.max_percent", "Invalid Rate Limit", "got -1", ""},
		{"unknown type", func(p *ScalingPolicy) { p.Metrics[0].Type = "disk" }, "metrics[0].type", "Unknown Metric Type", `"disk"`, ""},
		{"cpu without target", func(p *ScalingPolicy) { p.Metrics[0].TargetUtilization = "" }, "metrics[0].target_utilization", "Missing Attribute", "needs target_utilization", "metrics[0].type"},
		{"zero target", func(p *ScalingPolicy) { p.Metrics[0].TargetUtilization = "0" }, "metrics[0].target_utilization", "Invalid Target", "above 0", ""},
		{"cpu with a query", func(p *ScalingPolicy) { p.Metrics[0].Query = "up" }, "metrics[0].query", "Attribute Not Allowed", "does not apply to a cpu metric", "metrics[0].type"},
		{"two cpu metrics", func(p *ScalingPolicy) { p.Metrics = append(p.Metrics, p.Metrics[0]) }, "metrics[1].type", "Duplicate Metric", "metrics[0] already tracks cpu", ""},
		{"cpu from cAdvisor", func(p *ScalingPolicy) { p.Metrics[0].Source, p.Metrics[0].Address = SourceCAdvisor, "http://p:9090" }, "", "", "", ""},
		{"cpu from cAdvisor without an address", func(p *ScalingPolicy) { p.Metrics[0].Source = SourceCAdvisor }, "metrics[0].address", "Missing Attribute", "the base URL of the Prometheus that scrapes cAdvisor", "metrics[0].source"},
		{"cpu from Docker stats with an address", func(p *ScalingPolicy) { p.Metrics[0].Address = "http://p:9090" }, "metrics[0].address", "Attribute Not Allowed", `with source = "cadvisor"`, "metrics[0].source"},
		{"unknown source", func(p *ScalingPolicy) { p.Metrics[0].Source = "statsd" }, "metrics[0].source", "Unknown Metric Source", `"statsd" is not a metric source`, ""},
		{"prometheus with a source", func(p *ScalingPolicy) {
			p.Metrics = []PolicyMetric{{Type: MetricPrometheus, Query: "up", Address: "http://p:9090", TargetValue: "1", Source: SourceCAdvisor}}
		}, "metrics[0].source", "Attribute Not Allowed", "does not apply to a prometheus metric", ""},
		{"prometheus without targets", func(p *ScalingPolicy) {
			p.Metrics = []PolicyMetric{{Type: MetricPrometheus, Query: "up", Address: "http://p:9090"}}
		}, "metrics[0].target_value", "Exactly One Target", "neither is set", "metrics[0].target_average_value"},
		{"prometheus with both targets", func(p *ScalingPolicy) {
			p.Metrics = []PolicyMetric{{Type: MetricPrometheus, Query: "up", Address: "http://p:9090", TargetValue: "1", TargetAverageValue: "2"}}
		}, "metrics[0].target_value", "Exactly One Target", "both are set", ""},
		{"prometheus address with credentials", func(p *ScalingPolicy) {
			p.Metrics = []PolicyMetric{{Type: MetricPrometheus, Query: "up", Address: "http://u:secret@p:9090", TargetValue: "1"}}
		}, "metrics[0].address", "Invalid Prometheus Address", "must not carry credentials", ""},
		{"prometheus address without a scheme", func(p *ScalingPolicy) {
			p.Metrics = []PolicyMetric{{Type: MetricPrometheus, Query: "up", Address: "p:9090", TargetValue: "1"}}
		}, "metrics[0].address", "Invalid Prometheus Address", "http:// or https://", ""},
		{"bad cron", func(p *ScalingPolicy) { p.Schedules = []PolicySchedule{{Cron: "0 25 * * *", Duration: "1h"}} }, "schedules[0].cron", "Invalid Cron Expression", "25 is outside 0-23", ""},
		{"schedule too long", func(p *ScalingPolicy) { p.Schedules = []PolicySchedule{{Cron: "0 8 * * *", Duration: "200h"}} }, "schedules[0].duration", "Invalid Schedule Duration", "at most 168h", ""},
		{"unknown zone", func(p *ScalingPolicy) {
			p.Schedules = []PolicySchedule{{Cron: "0 8 * * *", Duration: "1h", Timezone: "Mars/Olympus"}}
		}, "schedules[0].timezone", "Unknown Time Zone", "Mars/Olympus", ""},
		{"the machine's own zone", func(p *ScalingPolicy) {
			p.Schedules = []PolicySchedule{{Cron: "0 8 * * *", Duration: "1h", Timezone: "Local"}}
		}, "schedules[0].timezone", "Unknown Time Zone", "Local", ""},
		{"schedule bounds against the policy's", func(p *ScalingPolicy) {
			p.Schedules = []PolicySchedule{{Cron: "0 8 * * *", Duration: "1h", MinReplicas: n(20)}}
		}, "schedules[0].max_replicas", "Invalid Replica Bounds", "max_replicas (5) must be at least min_replicas (20)", "max_replicas"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := valid()
			tc.edit(&p)
			got := p.Validate()
			if tc.path == "" {
				if len(got) != 0 {
					t.Fatalf("want no problem, got %+v", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("want one problem at %s, got %+v", tc.path, got)
			}
			g := got[0]
			if g.Path != tc.path || g.Summary != tc.summary || !strings.Contains(g.Detail, tc.detail) {
				t.Errorf("got %s %q %q; want %s %q containing %q", g.Path, g.Summary, g.Detail, tc.path, tc.summary, tc.detail)
			}
			if tc.alsoRead != "" && !slices.Contains(g.Reads, tc.alsoRead) {
				t.Errorf("the rule reads %v; want %s among them (it cannot be checked while that is unknown)", g.Reads, tc.alsoRead)
			}
		})
	}
}

func TestScalingPolicyDecide(t *testing.T) {
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	prom := PolicyMetric{Type: MetricPrometheus, Query: "sum(rate(requests[1m]))", Address: "http://p:9090", TargetAverageValue: "100"}
	policy := func(metrics ...PolicyMetric) ScalingPolicy {
		return ScalingPolicy{MinReplicas: 1, MaxReplicas: 10, Tolerance: "0.1", ScaleUp: DefaultScaleUp, ScaleDown: DefaultScaleDown, Metrics: metrics}
	}
	obs := func(replicas int, values map[string]ObservedValue) *PolicyObservation {
		return &PolicyObservation{At: at, Replicas: replicas, Values: values}
	}
	tests := []struct {
		name        string
		policy      ScalingPolicy
		obs         *PolicyObservation
		wantOK      bool
		wantDesired int
		wantAfter   int
		wantReason  string
		wantProblem string
	}{
		{name: "cpu above target", policy: policy(PolicyMetric{Type: MetricCPU, TargetUtilization: "40"}),
			obs:    obs(1, map[string]ObservedValue{MetricCPU: {Value: 100, Base: "one CPU"}}),
			wantOK: true, wantDesired: 3, wantAfter: 3, wantReason: "cpu at 100% against a 40% target (ceil(1 × 100/40) = 3); 1 -> 3"},
		{name: "a total shared among the replicas", policy: policy(prom),
			obs:    obs(3, map[string]ObservedValue{prom.Key(): {Value: 250}}),
			wantOK: true, wantDesired: 3, wantAfter: 3, wantReason: `query "sum(rate(requests[1m]))" at 83.33 per replica against a target of 100 (ceil(3 × 83.33/100) = 3); stays at 3`},
		{name: "a dry run decides but does not scale", policy: func() ScalingPolicy { p := policy(prom); p.DryRun = true; return p }(),
			obs:    obs(1, map[string]ObservedValue{prom.Key(): {Value: 250}}),
			wantOK: true, wantDesired: 3, wantAfter: 1},
		{name: "a metric configured after the refresh is decided at apply", policy: policy(prom),
			obs: obs(1, map[string]ObservedValue{MetricCPU: {Value: 10}}), wantOK: false},
		{name: "another query's value is not used", policy: policy(prom),
			obs: obs(1, map[string]ObservedValue{MetricPrometheus + " http://p:9090 up": {Value: 250}}), wantOK: false},
		{name: "memory without a limit", policy: policy(PolicyMetric{Type: MetricMemory, TargetUtilization: "80"}),
			obs: obs(1, map[string]ObservedValue{MetricMemory: {Value: 0}}), wantProblem: "Memory Metric Needs a Limit"},
		{name: "a partial view says how many of how many and why, and holds a scale-down", policy: policy(PolicyMetric{Type: MetricCPU, TargetUtilization: "40"}),
			obs: obs(3, map[string]ObservedValue{MetricCPU: {Value: 2, Base: "one CPU", Measured: 1, Ready: 3,
				Note: "measured on 1 of 3 ready tasks: 2 run on mn-2, mn-3, whose containers the Docker engine the provider talks to (unix:///m.sock) cannot read"}}),
			wantOK: true, wantDesired: 3, wantAfter: 3,
			wantReason: "cpu at 2% on 1 of 3 ready tasks, 0.67% with the other 2 counted as idle, against a 40% target (ceil(3 × 0.67/40) = 1); " +
				"cpu on 1 of 3 ready tasks measured only, so no scale-down; stays at 3; " +
				"cpu measured on 1 of 3 ready tasks: 2 run on mn-2, mn-3, whose containers the Docker engine the provider talks to (unix:///m.sock) cannot read"},
		{name: "cAdvisor values are kept apart from Docker stats", policy: policy(PolicyMetric{Type: MetricCPU, TargetUtilization: "40", Source: SourceCAdvisor, Address: "http://p:9090"}),
			obs: obs(1, map[string]ObservedValue{MetricCPU: {Value: 100, Base: "one CPU"}}), wantOK: false},
		{name: "cpu from cAdvisor on every task", policy: policy(PolicyMetric{Type: MetricCPU, TargetUtilization: "40", Source: SourceCAdvisor, Address: "http://p:9090"}),
			obs:    obs(2, map[string]ObservedValue{"cpu cadvisor http://p:9090": {Value: 100, Base: "one CPU", Measured: 2, Ready: 2}}),
			wantOK: true, wantDesired: 5, wantAfter: 5, wantReason: "cpu at 100% against a 40% target (ceil(2 × 100/40) = 5); 2 -> 5"},
		{name: "coverage is said", policy: policy(PolicyMetric{Type: MetricCPU, TargetUtilization: "40"}),
			obs:    &PolicyObservation{At: at, Replicas: 2, Coverage: "utilisation measured on 1 of 2 ready tasks", Values: map[string]ObservedValue{MetricCPU: {Value: 40, Base: "one CPU"}}},
			wantOK: true, wantDesired: 2, wantAfter: 2, wantReason: "cpu at 40% against a 40% target is within the 10% tolerance; stays at 2; utilisation measured on 1 of 2 ready tasks"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, ok, problems := tc.policy.Decide(tc.obs)
			if tc.wantProblem != "" {
				if len(problems) != 1 || problems[0].Summary != tc.wantProblem || problems[0].Path != "metrics[0].type" || ok {
					t.Fatalf("want problem %q at metrics[0].type, got ok=%v %+v", tc.wantProblem, ok, problems)
				}
				return
			}
			if ok != tc.wantOK || len(problems) > 0 {
				t.Fatalf("ok = %v, problems %+v; want ok = %v", ok, problems, tc.wantOK)
			}
			if !ok {
				return
			}
			if d.Desired != tc.wantDesired || d.After != tc.wantAfter || d.From != tc.obs.Replicas || !d.At.Equal(at) {
				t.Errorf("desired %d after %d from %d at %s; want %d, %d, %d, %s", d.Desired, d.After, d.From, d.At, tc.wantDesired, tc.wantAfter, tc.obs.Replicas, at)
			}
			if tc.wantReason != "" && d.Reason != tc.wantReason {
				t.Errorf("reason %q\n want %q", d.Reason, tc.wantReason)
			}
		})
	}
}

// A rollout is in progress while Swarm's updater runs it or has paused it, and between a write
// that changed the task template and the moment the updater starts (Swarm clears the status on
// every write); not after it completed, nor after a write that changed only labels or the count.
func TestRolloutInProgress(t *testing.T) {
	v1 := swarm.ServiceSpec{TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "app:v1"}}}
	v2 := swarm.ServiceSpec{TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "app:v2"}}}
	relabeled := v2
	relabeled.Labels = map[string]string{ScalingStateLabel: "{}"}
	status := func(s swarm.UpdateState) *swarm.UpdateStatus { return &swarm.UpdateStatus{State: s} }
	for _, tc := range []struct {
		name string
		svc  swarm.Service
		want bool
	}{
		{"created, never updated", swarm.Service{Spec: v1}, false},
		{"image written, updater not started", swarm.Service{Spec: v2, PreviousSpec: &v1}, true},
		{"updating", swarm.Service{Spec: v2, PreviousSpec: &v1, UpdateStatus: status(swarm.UpdateStateUpdating)}, true},
		{"rolling back", swarm.Service{Spec: v1, PreviousSpec: &v2, UpdateStatus: status(swarm.UpdateStateRollbackStarted)}, true},
		{"completed", swarm.Service{Spec: v2, PreviousSpec: &v1, UpdateStatus: status(swarm.UpdateStateCompleted)}, false},
		{"rolled back", swarm.Service{Spec: v1, PreviousSpec: &v2, UpdateStatus: status(swarm.UpdateStateRollbackCompleted)}, false},
		{"paused: a write would resume it", swarm.Service{Spec: v2, PreviousSpec: &v1, UpdateStatus: status(swarm.UpdateStatePaused)}, true},
		{"rollback paused", swarm.Service{Spec: v1, PreviousSpec: &v2, UpdateStatus: status(swarm.UpdateStateRollbackPaused)}, true},
		{"labels written after the rollout", swarm.Service{Spec: relabeled, PreviousSpec: &v2}, false},
	} {
		if got := RolloutInProgress(tc.svc); got != tc.want {
			t.Errorf("%s: RolloutInProgress = %v, want %v", tc.name, got, tc.want)
		}
	}
}
