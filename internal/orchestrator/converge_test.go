package orchestrator

import (
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

func TestEvaluate(t *testing.T) {
	since := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	after, before := since.Add(time.Second), since.Add(-time.Minute)
	replicated := func(n uint64) swarm.Service {
		return swarm.Service{Spec: swarm.ServiceSpec{Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &n}}}}
	}
	global := swarm.Service{Spec: swarm.ServiceSpec{Mode: swarm.ServiceMode{Global: &swarm.GlobalService{}}}}
	task := func(id string, slot int, node string, state swarm.TaskState, created time.Time) swarm.Task {
		desired := swarm.TaskStateRunning
		if state == swarm.TaskStateShutdown || isFailedState(state) {
			desired = swarm.TaskStateShutdown
		}
		return swarm.Task{ID: id, Slot: slot, NodeID: node, DesiredState: desired, Status: swarm.TaskStatus{State: state}, Meta: swarm.Meta{CreatedAt: created}}
	}
	withStatus := func(s swarm.Service, state swarm.UpdateState, started time.Time) swarm.Service {
		s.UpdateStatus = &swarm.UpdateStatus{State: state, StartedAt: &started, Message: "msg"}
		return s
	}
	withRatio := func(s swarm.Service, ratio float32, action string) swarm.Service {
		s.Spec.UpdateConfig = &swarm.UpdateConfig{MaxFailureRatio: ratio, FailureAction: action}
		return s
	}
	nodes := map[string]swarm.Node{
		"n1":   {ID: "n1", Status: swarm.NodeStatus{State: swarm.NodeStateReady}},
		"n2":   {ID: "n2", Status: swarm.NodeStatus{State: swarm.NodeStateReady}},
		"down": {ID: "down", Status: swarm.NodeStatus{State: swarm.NodeStateDown}},
	}

	tests := []struct {
		name        string
		svc         swarm.Service
		upToDate    []swarm.Task
		all         []swarm.Task
		want        Phase
		wantRunning int
		wantDesired int
	}{
		{name: "all slots running", svc: replicated(2),
			upToDate: []swarm.Task{task("a", 1, "n1", swarm.TaskStateRunning, after), task("b", 2, "n1", swarm.TaskStateRunning, after)},
			want:     Converged, wantRunning: 2, wantDesired: 2},
		{name: "one slot still starting (healthcheck not yet healthy)", svc: replicated(2),
			upToDate: []swarm.Task{task("a", 1, "n1", swarm.TaskStateRunning, after), task("b", 2, "n1", swarm.TaskStateStarting, after)},
			want:     Progressing, wantRunning: 1, wantDesired: 2},
		{name: "two tasks in one slot count once (start-first)", svc: replicated(2),
			upToDate: []swarm.Task{task("a", 1, "n1", swarm.TaskStateRunning, after), task("b", 1, "n1", swarm.TaskStateRunning, after)},
			want:     Progressing, wantRunning: 1, wantDesired: 2},
		{name: "zero replicas converge at once", svc: replicated(0), want: Converged},
		{name: "old-spec tasks do not count", svc: replicated(1), upToDate: nil,
			all:  []swarm.Task{task("old", 1, "n1", swarm.TaskStateRunning, before)},
			want: Progressing, wantDesired: 1},
		{name: "a crashed new task fails the rollout", svc: replicated(2),
			upToDate: []swarm.Task{task("a", 1, "n1", swarm.TaskStateRunning, after), task("b", 2, "n1", swarm.TaskStateFailed, after)},
			all:      []swarm.Task{task("b", 2, "n1", swarm.TaskStateFailed, after)},
			want:     Failed, wantRunning: 1, wantDesired: 2},
		{name: "a task that exits 0 fails too (services run until stopped)", svc: replicated(1),
			upToDate: []swarm.Task{task("a", 1, "n1", swarm.TaskStateComplete, after)},
			want:     Failed, wantDesired: 1},
		{name: "a rejected task fails", svc: replicated(1),
			upToDate: []swarm.Task{task("a", 1, "n1", swarm.TaskStateRejected, after)},
			want:     Failed, wantDesired: 1},
		{name: "failures before this write are history", svc: replicated(1),
			upToDate: []swarm.Task{task("old", 1, "n1", swarm.TaskStateFailed, before), task("a", 1, "n1", swarm.TaskStateRunning, after)},
			want:     Converged, wantRunning: 1, wantDesired: 1},
		{name: "a shut down task (scaled away) is no failure", svc: replicated(1),
			upToDate: []swarm.Task{task("a", 1, "n1", swarm.TaskStateRunning, after), task("b", 2, "n1", swarm.TaskStateShutdown, after)},
			want:     Converged, wantRunning: 1, wantDesired: 1},
		{name: "failures within max_failure_ratio are tolerated", svc: withRatio(replicated(4), 0.5, swarm.UpdateFailureActionPause),
			upToDate: []swarm.Task{task("x", 1, "n1", swarm.TaskStateFailed, after), task("a", 1, "n1", swarm.TaskStateRunning, after), task("b", 2, "n1", swarm.TaskStateRunning, after), task("c", 3, "n1", swarm.TaskStateRunning, after), task("d", 4, "n1", swarm.TaskStateRunning, after)},
			want:     Converged, wantRunning: 4, wantDesired: 4},
		{name: "failure_action continue: converged despite failures once all run", svc: withRatio(replicated(1), 0, swarm.UpdateFailureActionContinue),
			upToDate: []swarm.Task{task("x", 1, "n1", swarm.TaskStateFailed, after), task("a", 1, "n1", swarm.TaskStateRunning, after)},
			want:     Converged, wantRunning: 1, wantDesired: 1},
		{name: "update paused by Swarm", svc: withStatus(replicated(1), swarm.UpdateStatePaused, after),
			upToDate: []swarm.Task{task("a", 1, "n1", swarm.TaskStateRunning, after)}, want: Failed},
		{name: "rolled back is a failure, never a success", svc: withStatus(replicated(1), swarm.UpdateStateRollbackCompleted, after),
			upToDate: []swarm.Task{task("a", 1, "n1", swarm.TaskStateRunning, before)}, want: Failed},
		{name: "rollback paused", svc: withStatus(replicated(1), swarm.UpdateStateRollbackPaused, after), want: Failed},
		{name: "update still running", svc: withStatus(replicated(1), swarm.UpdateStateUpdating, after),
			upToDate: []swarm.Task{task("a", 1, "n1", swarm.TaskStateRunning, after)}, want: Progressing, wantRunning: 1, wantDesired: 1},
		{name: "a stale paused status from an earlier update is ignored", svc: withStatus(replicated(1), swarm.UpdateStatePaused, before),
			upToDate: []swarm.Task{task("a", 1, "n1", swarm.TaskStateRunning, after)}, want: Converged, wantRunning: 1, wantDesired: 1},
		{name: "update completed and tasks run", svc: withStatus(replicated(1), swarm.UpdateStateCompleted, after),
			upToDate: []swarm.Task{task("a", 1, "n1", swarm.TaskStateRunning, after)}, want: Converged, wantRunning: 1, wantDesired: 1},
		{name: "global: one task per node", svc: global,
			upToDate: []swarm.Task{task("a", 0, "n1", swarm.TaskStateRunning, after), task("b", 0, "n2", swarm.TaskStateRunning, after)},
			want:     Converged, wantRunning: 2, wantDesired: 2},
		{name: "global: a node still starting", svc: global,
			upToDate: []swarm.Task{task("a", 0, "n1", swarm.TaskStateRunning, after), task("b", 0, "n2", swarm.TaskStatePreparing, after)},
			want:     Progressing, wantRunning: 1, wantDesired: 2},
		{name: "global: tasks on down nodes are ignored", svc: global,
			upToDate: []swarm.Task{task("a", 0, "n1", swarm.TaskStateRunning, after), task("b", 0, "down", swarm.TaskStatePending, after)},
			want:     Converged, wantRunning: 1, wantDesired: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			all := tc.all
			if all == nil {
				all = tc.upToDate
			}
			v := Evaluate(Observation{Service: tc.svc, UpToDate: tc.upToDate, All: all, Nodes: nodes, Since: since})
			if v.Phase != tc.want {
				t.Fatalf("phase = %v (%s), want %v", v.Phase, v.Reason, tc.want)
			}
			if tc.want != Failed && (v.Running != tc.wantRunning || v.Desired != tc.wantDesired) {
				t.Errorf("running/desired = %d/%d, want %d/%d", v.Running, v.Desired, tc.wantRunning, tc.wantDesired)
			}
			if tc.want == Failed && v.Reason == "" {
				t.Error("a failure must say why")
			}
		})
	}
}

func TestRolloutErrorNamesTasks(t *testing.T) {
	err := &RolloutError{Service: "web", Reason: "1 task(s) of the new spec failed", Tasks: []TaskReport{
		{ID: "abcdefghijklmnop", Slot: 2, Node: "node-1", State: "failed", ExitCode: 3, Exited: true, Message: "task: non-zero exit (3)", LogTail: []string{"fatal: boom"}},
	}}
	got := err.Error()
	for _, want := range []string{"service web", "abcdefghijkl", "slot 2", "node-1", "exit code 3", "non-zero exit (3)", "fatal: boom"} {
		if !strings.Contains(got, want) {
			t.Errorf("error %q does not mention %q", got, want)
		}
	}
}
