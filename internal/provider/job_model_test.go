package provider

import (
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

// The whole job: model -> spec -> model keeps every attribute, the task attributes through the
// conversion swarm_service uses, and the run's outcome is recorded as the engine read it.
func TestJobModelRoundTrip(t *testing.T) {
	full := fullServiceModel()
	m := jobModel{ID: types.StringValue("job1"), Name: types.StringValue("migrate"), taskModel: full.taskModel,
		Mode: types.StringValue("replicated"), MaxConcurrent: intValue(2), TotalCompletions: intValue(3),
		Triggers: map[string]string{"release": "1.5.0"}, ProgressDeadline: durationValue("2m"), Timeouts: full.Timeouts,
		Version: intValue(7), Status: types.StringValue("completed"), Completions: intValue(3),
		LastRunStarted: types.StringValue("2026-12-03T20:00:00Z"), LastRunEnded: types.StringValue("2026-12-03T20:00:05Z")}
	spec := m.toSpec()
	if rj := spec.Mode.ReplicatedJob; rj == nil || *rj.MaxConcurrent != 2 || *rj.TotalCompletions != 3 {
		t.Fatalf("mode %+v, want a replicated job of 3 completions, 2 at a time", spec.Mode)
	}
	if spec.UpdateConfig != nil || spec.EndpointSpec != nil {
		t.Errorf("a job's spec has rollout or endpoint settings: %+v %+v", spec.UpdateConfig, spec.EndpointSpec)
	}
	started := time.Date(2026, 12, 3, 20, 0, 0, 0, time.UTC)
	st := &orchestrator.JobState{ServiceState: orchestrator.ServiceState{Service: swarm.Service{ID: "job1", Meta: swarm.Meta{Version: swarm.Version{Index: 7}}, Spec: spec}},
		Run: orchestrator.JobRun{Started: started, Ended: started.Add(5 * time.Second), Desired: 3, Completed: 3, Status: orchestrator.JobCompleted}}
	got := jobFrom(st, m)
	if diff := cmp.Diff(m, got, attrEqual, cmp.AllowUnexported(kindValue{}, jobModel{})); diff != "" {
		t.Errorf("model -> spec -> model (-want +got):\n%s", diff)
	}

	// A global job: no completions, and a run still going has no end.
	g := jobModel{Name: types.StringValue("prune"), taskModel: taskModel{Image: imageValue("tools:1")}, Mode: types.StringValue("global")}
	spec = g.toSpec()
	if spec.Mode.GlobalJob == nil || spec.Mode.ReplicatedJob != nil {
		t.Fatalf("mode %+v, want a global job", spec.Mode)
	}
	got = jobFrom(&orchestrator.JobState{ServiceState: orchestrator.ServiceState{Service: swarm.Service{Spec: spec}},
		Run: orchestrator.JobRun{Started: started, Running: 1, Desired: 3, Completed: 2, Status: orchestrator.JobRunning}}, jobModel{})
	if got.Mode.ValueString() != "global" || !got.MaxConcurrent.IsNull() || !got.TotalCompletions.IsNull() || got.Status.ValueString() != "running" ||
		got.Completions.ValueInt64() != 2 || !got.LastRunEnded.IsNull() || got.LastRunStarted.ValueString() != "2026-12-03T20:00:00Z" {
		t.Errorf("global job read as %+v", got)
	}
}

// A job's read keeps the configured spelling of its task attributes, as a service's does
// (they are embedded: the spellings are kept through the task part itself).
func TestJobReadKeepsSpellings(t *testing.T) {
	prior := jobModel{ID: types.StringValue("job1"), Name: types.StringValue("migrate"), Mode: types.StringValue("replicated"),
		taskModel: taskModel{Image: imageValue("tools:1"), StopGracePeriod: durationValue("0.5m")}}
	st := &orchestrator.JobState{ServiceState: orchestrator.ServiceState{Service: swarm.Service{ID: "job1", Spec: prior.toSpec()}}}
	if got := jobFrom(st, prior).StopGracePeriod.ValueString(); got != "0.5m" {
		t.Errorf("stop_grace_period read back as %q, want the configured %q", got, "0.5m")
	}
}
