package orchestrator

import (
	"encoding/json"
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

func TestRecordRecommendation(t *testing.T) {
	now := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	history := []Recommendation{{At: now.Add(-10 * time.Minute), Replicas: 5}, {At: now.Add(-5 * time.Minute), Replicas: 4}, {At: now.Add(-time.Minute), Replicas: 3}}
	got := RecordRecommendation(history, Recommendation{At: now, Replicas: 2}, 5*time.Minute, now)
	// The entry exactly 5 minutes old is outside the window, as in HPA.
	if len(got) != 2 || got[0].Replicas != 3 || got[1].Replicas != 2 {
		t.Fatalf("history %+v", got)
	}
	if got := RecordRecommendation(history, Recommendation{At: now, Replicas: 2}, 0, now); len(got) != 1 {
		t.Fatalf("no window keeps only the new entry, got %+v", got)
	}
}
