package orchestrator

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

func replicatedJob(concurrent, total uint64, iteration uint64) swarm.Service {
	return swarm.Service{ID: "job", Spec: swarm.ServiceSpec{Mode: swarm.ServiceMode{ReplicatedJob: &swarm.ReplicatedJob{MaxConcurrent: &concurrent, TotalCompletions: &total}}},
		JobStatus: &swarm.JobStatus{JobIteration: swarm.Version{Index: iteration}, LastExecution: testSince}}
}

// jobTask is a task of job "job" in iteration it: desired state complete until it ends.
func jobTask(id string, slot int, node string, state swarm.TaskState, it uint64, at time.Time) swarm.Task {
	t := swarm.Task{ID: id, ServiceID: "job", Slot: slot, NodeID: node, DesiredState: swarm.TaskStateComplete,
		Status: swarm.TaskStatus{State: state, Timestamp: at}, Meta: swarm.Meta{CreatedAt: testSince}}
	if it > 0 {
		t.JobIteration = &swarm.Version{Index: it}
	}
	if state == swarm.TaskStateFailed {
		t.DesiredState = swarm.TaskStateShutdown
		t.Status.Err = "task: non-zero exit (1)"
		t.Status.ContainerStatus = &swarm.ContainerStatus{ContainerID: "c-" + id, ExitCode: 1}
	}
	return t
}

// The verdict on a job's run: only the tasks of its current iteration count; every completion
// reached converges, a failed task fails at once, tasks no node can run fail at once, and the
// progress deadline counts only while tasks wait to start.
func TestEvaluateJob(t *testing.T) {
	at := testAfter
	globalJob := swarm.Service{ID: "job", Spec: swarm.ServiceSpec{Mode: swarm.ServiceMode{GlobalJob: &swarm.GlobalJob{}}}, JobStatus: &swarm.JobStatus{}}
	node := func(id string) swarm.Node {
		return swarm.Node{ID: id, Status: swarm.NodeStatus{State: swarm.NodeStateReady}, Spec: swarm.NodeSpec{Availability: swarm.NodeAvailabilityActive},
			Description: swarm.NodeDescription{Engine: swarm.EngineDescription{Plugins: []swarm.PluginDescription{{Type: "Log", Name: "json-file"}}}}}
	}
	ready := map[string]swarm.Node{"n1": node("n1"), "n2": node("n2")}
	pendingNoNode := jobTask("p", 2, "", swarm.TaskStatePending, 0, at)
	pendingNoNode.Status.Err = "no suitable node (missing plugin on 2 nodes)"
	pendingNoNode.Spec.LogDriver = &swarm.Driver{Name: "nope"}

	tests := []struct {
		name          string
		svc           swarm.Service
		tasks         []swarm.Task
		deadline      time.Duration
		stalled       time.Duration
		want          Phase
		wantEnding    Ending
		wantCompleted int
		wantDesired   int
		wantReason    string
	}{
		{name: "three of three completed, two at a time", svc: replicatedJob(2, 3, 0),
			tasks: []swarm.Task{jobTask("a", 0, "n1", swarm.TaskStateComplete, 0, at), jobTask("b", 1, "n1", swarm.TaskStateComplete, 0, at), jobTask("c", 2, "n1", swarm.TaskStateComplete, 0, at)},
			want:  Converged, wantCompleted: 3, wantDesired: 3},
		{name: "two of three completed, the third running", svc: replicatedJob(2, 3, 0),
			tasks: []swarm.Task{jobTask("a", 0, "n1", swarm.TaskStateComplete, 0, at), jobTask("b", 1, "n1", swarm.TaskStateComplete, 0, at), jobTask("c", 2, "n1", swarm.TaskStateRunning, 0, at)},
			want:  Progressing, wantCompleted: 2, wantDesired: 3, wantReason: "2 of 3 completions reached, 1 task(s) running"},
		{name: "no task yet right after the write", svc: replicatedJob(1, 1, 0),
			want: Progressing, wantDesired: 1},
		{name: "a task exited non-zero: failed at once, though others still run", svc: replicatedJob(2, 3, 0),
			tasks: []swarm.Task{jobTask("a", 0, "n1", swarm.TaskStateFailed, 0, at), jobTask("b", 1, "n1", swarm.TaskStateRunning, 0, at)},
			want:  Failed, wantEnding: EndingFailed, wantDesired: 3, wantReason: "1 task(s) of the job failed"},
		{name: "the completions of the run before count for nothing", svc: replicatedJob(1, 2, 4),
			tasks: []swarm.Task{jobTask("old1", 0, "n1", swarm.TaskStateComplete, 3, at), jobTask("old2", 1, "n1", swarm.TaskStateComplete, 3, at), jobTask("new", 0, "n1", swarm.TaskStateRunning, 4, at)},
			want:  Progressing, wantCompleted: 0, wantDesired: 2},
		{name: "a failure of the run before is history", svc: replicatedJob(1, 1, 1),
			tasks: []swarm.Task{jobTask("old", 0, "n1", swarm.TaskStateFailed, 0, at), jobTask("new", 0, "n1", swarm.TaskStateComplete, 1, at)},
			want:  Converged, wantCompleted: 1, wantDesired: 1},
		{name: "the same slot completed twice counts once", svc: replicatedJob(1, 2, 0),
			tasks: []swarm.Task{jobTask("a", 0, "n1", swarm.TaskStateComplete, 0, at), jobTask("b", 0, "n1", swarm.TaskStateComplete, 0, at)},
			want:  Progressing, wantCompleted: 1, wantDesired: 2},
		{name: "global job: one completion per eligible node", svc: globalJob,
			tasks: []swarm.Task{jobTask("a", 0, "n1", swarm.TaskStateComplete, 0, at), jobTask("b", 0, "n2", swarm.TaskStateComplete, 0, at)},
			want:  Converged, wantCompleted: 2, wantDesired: 2},
		{name: "global job: a node has no task yet", svc: globalJob,
			tasks: []swarm.Task{jobTask("a", 0, "n1", swarm.TaskStateComplete, 0, at)},
			want:  Progressing, wantCompleted: 1, wantDesired: 2},
		{name: "tasks no node can ever run fail at once", svc: replicatedJob(1, 1, 0),
			tasks: []swarm.Task{pendingNoNode},
			want:  Failed, wantEnding: EndingUnplaceable, wantDesired: 1, wantReason: "no node of the swarm can ever run the job's tasks"},
		{name: "pending past the progress deadline fails", svc: replicatedJob(1, 1, 0),
			tasks:    []swarm.Task{jobTask("p", 0, "", swarm.TaskStatePending, 0, at)},
			deadline: time.Minute, stalled: 2 * time.Minute,
			want: Failed, wantEnding: EndingNoProgress, wantDesired: 1, wantReason: "no task of the job started for 1m0s"},
		{name: "pending within the progress deadline waits", svc: replicatedJob(1, 1, 0),
			tasks:    []swarm.Task{jobTask("p", 0, "", swarm.TaskStatePending, 0, at)},
			deadline: time.Minute, stalled: 30 * time.Second,
			want: Progressing, wantDesired: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := Evaluate(RolloutPoll{Service: tc.svc, All: tc.tasks, UpToDate: tc.tasks, Nodes: ready, Since: testSince, ProgressDeadline: tc.deadline, Stalled: tc.stalled})
			if v.Phase != tc.want || v.Ending != tc.wantEnding || v.Completed != tc.wantCompleted || v.Desired != tc.wantDesired {
				t.Errorf("got phase %v ending %q completed %d of %d (%s); want phase %v ending %q completed %d of %d",
					v.Phase, v.Ending, v.Completed, v.Desired, v.Reason, tc.want, tc.wantEnding, tc.wantCompleted, tc.wantDesired)
			}
			if !strings.Contains(v.Reason, tc.wantReason) {
				t.Errorf("reason %q does not say %q", v.Reason, tc.wantReason)
			}
			if tc.want == Failed && len(v.Failures) == 0 {
				t.Errorf("a failed run names no task")
			}
		})
	}
}

// The recorded outcome of a run: its status, counts, start and end.
func TestJobRunOf(t *testing.T) {
	t1, t2 := testSince.Add(time.Second), testSince.Add(3*time.Second)
	done := JobRunOf(replicatedJob(2, 2, 1), []swarm.Task{jobTask("a", 0, "n1", swarm.TaskStateComplete, 1, t1), jobTask("b", 1, "n1", swarm.TaskStateComplete, 1, t2),
		jobTask("old", 0, "n1", swarm.TaskStateFailed, 0, testSince.Add(time.Hour))}, nil)
	want := JobRun{Iteration: 1, Started: testSince, Ended: t2, Desired: 2, Completed: 2, Status: JobCompleted}
	if done != want {
		t.Errorf("completed run = %+v, want %+v", done, want)
	}
	failed := JobRunOf(replicatedJob(1, 2, 0), []swarm.Task{jobTask("a", 0, "n1", swarm.TaskStateComplete, 0, t1), jobTask("b", 1, "n1", swarm.TaskStateFailed, 0, t2)}, nil)
	if failed.Status != JobFailed || failed.Failed != 1 || failed.Completed != 1 || !failed.Ended.Equal(t2) {
		t.Errorf("failed run = %+v", failed)
	}
	running := JobRunOf(replicatedJob(1, 2, 0), []swarm.Task{jobTask("a", 0, "n1", swarm.TaskStateComplete, 0, t1), jobTask("b", 1, "n1", swarm.TaskStateRunning, 0, t2)}, nil)
	if running.Status != JobRunning || running.Running != 1 || !running.Ended.IsZero() {
		t.Errorf("running run = %+v", running)
	}
}

// The progress clock of a job stalls only while tasks wait to start: a long task is no stall.
func TestJobClock(t *testing.T) {
	svc := replicatedJob(1, 2, 0)
	var c rolloutClock
	now := testSince
	running := RolloutPoll{Service: svc, All: []swarm.Task{jobTask("a", 0, "n1", swarm.TaskStateRunning, 0, now)}}
	c.measure(running, now)
	if _, stalled := c.measure(running, now.Add(time.Hour)); stalled != 0 {
		t.Errorf("a task running for an hour stalls the run for %s; want 0", stalled)
	}
	pending := RolloutPoll{Service: svc, All: []swarm.Task{jobTask("a", 0, "n1", swarm.TaskStateComplete, 0, now), jobTask("b", 1, "", swarm.TaskStatePending, 0, now)}}
	c.measure(running, now.Add(2*time.Hour))
	c.measure(pending, now.Add(2*time.Hour))
	if _, stalled := c.measure(pending, now.Add(2*time.Hour+time.Minute)); stalled != time.Minute {
		t.Errorf("a task pending for a minute stalls the run for %s; want 1m", stalled)
	}
}

// A job's error names the job, and its tasks by completion slot.
func TestRolloutErrorNamesJobTasks(t *testing.T) {
	re := &RolloutError{Service: "migrate", Reason: "1 task(s) of the job failed", Mode: ModeReplicatedJob,
		Tasks: []TaskReport{{ID: "abcdefabcdefabcdef", Slot: 0, Node: "node-1", State: "failed", ExitCode: 3, Exited: true, Message: "task: non-zero exit (3)", LogTail: []string{"migration 42 failed"}}}}
	got := re.Error()
	for _, want := range []string{"job migrate: 1 task(s) of the job failed", "task abcdefabcdef (completion slot 0 on node node-1): failed, exit code 3", "migration 42 failed"} {
		if !strings.Contains(got, want) {
			t.Errorf("error %q does not say %q", got, want)
		}
	}
}

// A job's status counts the failed tasks of its current run, not those of earlier runs.
func TestStatusOfJobCountsFailedTasks(t *testing.T) {
	svc := replicatedJob(1, 2, 1)
	svc.ServiceStatus = &swarm.ServiceStatus{DesiredTasks: 2, CompletedTasks: 1}
	tasks := []swarm.Task{jobTask("ok", 0, "n1", swarm.TaskStateComplete, 1, testAfter), jobTask("bad", 1, "n1", swarm.TaskStateFailed, 1, testAfter),
		jobTask("old", 1, "n1", swarm.TaskStateFailed, 0, testAfter)}
	st := StatusOf(svc, tasks, nil, testAfter)
	if st.Failed != 1 || st.Completed != 1 || st.OK {
		t.Errorf("status %+v; want 1 failed, 1 completed, not ok", st)
	}
	if st := StatusOf(replicatedService(1), nil, nil, testAfter); st.Failed != 0 {
		t.Errorf("a service's status counts %d failed job tasks", st.Failed)
	}
}

// A job's spec from swarm_job has no rollout or endpoint settings, which a job made elsewhere
// (the Docker CLI writes them for every service) may have: a write keeps them, and they are no
// change since the plan.
func TestJobWriteKeepsRolloutAndEndpoint(t *testing.T) {
	one := uint64(1)
	desired := swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "migrate"},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "app:v2"}},
		Mode:         swarm.ServiceMode{ReplicatedJob: &swarm.ReplicatedJob{MaxConcurrent: &one, TotalCompletions: &one}}}
	observed := desired
	observed.TaskTemplate.ContainerSpec = &swarm.ContainerSpec{Image: "app:v1"}
	observed.UpdateConfig = &swarm.UpdateConfig{Parallelism: 3, FailureAction: swarm.UpdateFailureActionContinue}
	observed.RollbackConfig = &swarm.UpdateConfig{Parallelism: 2}
	observed.EndpointSpec = &swarm.EndpointSpec{Mode: swarm.ResolutionModeDNSRR}

	got := mergeDesired(desired, observed)
	if got.TaskTemplate.ContainerSpec.Image != "app:v2" {
		t.Errorf("the job's image is %q, want app:v2", got.TaskTemplate.ContainerSpec.Image)
	}
	if got.UpdateConfig == nil || got.UpdateConfig.Parallelism != 3 || got.RollbackConfig == nil || got.RollbackConfig.Parallelism != 2 ||
		got.EndpointSpec == nil || got.EndpointSpec.Mode != swarm.ResolutionModeDNSRR {
		t.Errorf("the write strips what the job had: update %+v rollback %+v endpoint %+v", got.UpdateConfig, got.RollbackConfig, got.EndpointSpec)
	}
	planned := observed
	planned.UpdateConfig, planned.RollbackConfig, planned.EndpointSpec = nil, nil, nil
	if changed := ownedChanges(planned, observed); len(changed) > 0 {
		t.Errorf("a job's rollout and endpoint settings count as changed since the plan: %v", changed)
	}
}

// A wait for a job's run that runs out of time says how far the run got.
func TestTimeoutErrorOfJob(t *testing.T) {
	err := &TimeoutError{Service: "migrate", Job: true, Verdict: Verdict{Desired: 3, Completed: 1, Running: 2}, Err: context.DeadlineExceeded}
	if want := "job migrate: gave up waiting for the run to complete (1 of 3 completions reached, 2 task(s) running): context deadline exceeded"; err.Error() != want {
		t.Errorf("error %q, want %q", err.Error(), want)
	}
}
