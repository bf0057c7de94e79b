package orchestrator

import (
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

var (
	testSince  = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	testAfter  = testSince.Add(time.Second)
	testBefore = testSince.Add(-time.Minute)
	testNodes  = map[string]swarm.Node{
		"n1":   {ID: "n1", Status: swarm.NodeStatus{State: swarm.NodeStateReady}},
		"n2":   {ID: "n2", Status: swarm.NodeStatus{State: swarm.NodeStateReady}},
		"down": {ID: "down", Status: swarm.NodeStatus{State: swarm.NodeStateDown}},
	}
)

func replicatedService(n uint64) swarm.Service {
	return swarm.Service{Spec: swarm.ServiceSpec{Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &n}}}}
}

func testTask(id string, slot int, node string, state swarm.TaskState, created time.Time) swarm.Task {
	desired := swarm.TaskStateRunning
	if state == swarm.TaskStateShutdown || isFailedState(state) {
		desired = swarm.TaskStateShutdown
	}
	return swarm.Task{ID: id, Slot: slot, NodeID: node, DesiredState: desired, Status: swarm.TaskStatus{State: state}, Meta: swarm.Meta{CreatedAt: created}}
}

func withUpdateStatus(s swarm.Service, state swarm.UpdateState, started time.Time) swarm.Service {
	s.UpdateStatus = &swarm.UpdateStatus{State: state, StartedAt: &started, Message: "msg"}
	return s
}

func withUpdateConfig(s swarm.Service, ratio float32, action string) swarm.Service {
	s.Spec.UpdateConfig = &swarm.UpdateConfig{MaxFailureRatio: ratio, FailureAction: action, Monitor: time.Second}
	return s
}

// withPrevious gives the service a previous spec that differs from the current one, as any
// update leaves behind.
func withPrevious(s swarm.Service) swarm.Service {
	prev := s.Spec
	prev.TaskTemplate.ForceUpdate = 99
	s.PreviousSpec = &prev
	return s
}

func TestEvaluate(t *testing.T) {
	global := swarm.Service{Spec: swarm.ServiceSpec{Mode: swarm.ServiceMode{Global: &swarm.GlobalService{}}}}
	stable := 10 * time.Second

	tests := []struct {
		name        string
		svc         swarm.Service
		upToDate    []swarm.Task
		all         []swarm.Task
		rollout     bool
		stable      time.Duration
		want        Phase
		wantEnding  Ending
		wantRunning int
		wantDesired int
	}{
		{name: "all slots running and stable", svc: replicatedService(2), stable: stable,
			upToDate: []swarm.Task{testTask("a", 1, "n1", swarm.TaskStateRunning, testAfter), testTask("b", 2, "n1", swarm.TaskStateRunning, testAfter)},
			want:     Converged, wantRunning: 2, wantDesired: 2},
		{name: "all slots running, monitor window not over", svc: replicatedService(2), stable: 4 * time.Second,
			upToDate: []swarm.Task{testTask("a", 1, "n1", swarm.TaskStateRunning, testAfter), testTask("b", 2, "n1", swarm.TaskStateRunning, testAfter)},
			want:     Progressing, wantRunning: 2, wantDesired: 2},
		{name: "one slot still starting (healthcheck not yet healthy)", svc: replicatedService(2), stable: stable,
			upToDate: []swarm.Task{testTask("a", 1, "n1", swarm.TaskStateRunning, testAfter), testTask("b", 2, "n1", swarm.TaskStateStarting, testAfter)},
			want:     Progressing, wantRunning: 1, wantDesired: 2},
		{name: "two tasks in one slot count once (start-first)", svc: replicatedService(2), stable: stable,
			upToDate: []swarm.Task{testTask("a", 1, "n1", swarm.TaskStateRunning, testAfter), testTask("b", 1, "n1", swarm.TaskStateRunning, testAfter)},
			want:     Progressing, wantRunning: 1, wantDesired: 2},
		{name: "zero replicas converge at once", svc: replicatedService(0), want: Converged},
		{name: "old-spec tasks do not count", svc: replicatedService(1), upToDate: nil, stable: stable,
			all:  []swarm.Task{testTask("old", 1, "n1", swarm.TaskStateRunning, testBefore)},
			want: Progressing, wantDesired: 1},
		{name: "a new service whose task crashed fails", svc: replicatedService(2),
			upToDate: []swarm.Task{testTask("a", 1, "n1", swarm.TaskStateRunning, testAfter), testTask("b", 2, "n1", swarm.TaskStateFailed, testAfter)},
			want:     Failed, wantEnding: EndingFailed},
		{name: "a task that exits 0 fails too (services run until stopped)", svc: replicatedService(1),
			upToDate: []swarm.Task{testTask("a", 1, "n1", swarm.TaskStateComplete, testAfter)},
			want:     Failed, wantEnding: EndingFailed},
		{name: "a rejected task fails", svc: replicatedService(1),
			upToDate: []swarm.Task{testTask("a", 1, "n1", swarm.TaskStateRejected, testAfter)},
			want:     Failed, wantEnding: EndingFailed},
		{name: "failures before this write are history", svc: replicatedService(1), stable: stable,
			upToDate: []swarm.Task{testTask("old", 1, "n1", swarm.TaskStateFailed, testBefore), testTask("a", 1, "n1", swarm.TaskStateRunning, testAfter)},
			want:     Converged, wantRunning: 1, wantDesired: 1},
		{name: "a shut down task (scaled away) is no failure", svc: replicatedService(1), stable: stable,
			upToDate: []swarm.Task{testTask("a", 1, "n1", swarm.TaskStateRunning, testAfter), testTask("b", 2, "n1", swarm.TaskStateShutdown, testAfter)},
			want:     Converged, wantRunning: 1, wantDesired: 1},
		{name: "failures within max_failure_ratio are tolerated", svc: withUpdateConfig(replicatedService(4), 0.5, swarm.UpdateFailureActionPause), stable: stable,
			upToDate: []swarm.Task{testTask("x", 1, "n1", swarm.TaskStateFailed, testAfter), testTask("a", 1, "n1", swarm.TaskStateRunning, testAfter), testTask("b", 2, "n1", swarm.TaskStateRunning, testAfter), testTask("c", 3, "n1", swarm.TaskStateRunning, testAfter), testTask("d", 4, "n1", swarm.TaskStateRunning, testAfter)},
			want:     Converged, wantRunning: 4, wantDesired: 4},
		{name: "failure_action continue: converged despite failures once all run", svc: withUpdateConfig(replicatedService(1), 0, swarm.UpdateFailureActionContinue), rollout: true, stable: stable,
			upToDate: []swarm.Task{testTask("x", 1, "n1", swarm.TaskStateFailed, testAfter), testTask("a", 1, "n1", swarm.TaskStateRunning, testAfter)},
			want:     Converged, wantRunning: 1, wantDesired: 1},
		{name: "a stale paused status from an earlier update is ignored", svc: withUpdateStatus(replicatedService(1), swarm.UpdateStatePaused, testBefore), stable: stable,
			upToDate: []swarm.Task{testTask("a", 1, "n1", swarm.TaskStateRunning, testAfter)}, want: Converged, wantRunning: 1, wantDesired: 1},
		{name: "update still running", svc: withUpdateStatus(replicatedService(1), swarm.UpdateStateUpdating, testAfter), rollout: true,
			upToDate: []swarm.Task{testTask("a", 1, "n1", swarm.TaskStateRunning, testAfter)}, want: Progressing, wantRunning: 1, wantDesired: 1},
		{name: "tasks run and are stable, but Swarm's updater has not completed (delay, monitor after the last batch)", svc: withUpdateStatus(replicatedService(1), swarm.UpdateStateUpdating, testAfter), rollout: true, stable: stable,
			upToDate: []swarm.Task{testTask("a", 1, "n1", swarm.TaskStateRunning, testAfter)}, want: Progressing, wantRunning: 1, wantDesired: 1},
		{name: "an update status from an earlier rollout does not hold a new one", svc: withUpdateStatus(replicatedService(1), swarm.UpdateStateUpdating, testBefore), rollout: true, stable: stable,
			upToDate: []swarm.Task{testTask("a", 1, "n1", swarm.TaskStateRunning, testAfter)}, want: Converged, wantRunning: 1, wantDesired: 1},
		{name: "update completed and tasks run", svc: withUpdateStatus(replicatedService(1), swarm.UpdateStateCompleted, testAfter), rollout: true, stable: stable,
			upToDate: []swarm.Task{testTask("a", 1, "n1", swarm.TaskStateRunning, testAfter)}, want: Converged, wantRunning: 1, wantDesired: 1},
		{name: "rolled back is a failure, never a success", svc: withUpdateStatus(replicatedService(1), swarm.UpdateStateRollbackCompleted, testAfter), rollout: true, stable: stable,
			upToDate: []swarm.Task{testTask("a", 1, "n1", swarm.TaskStateRunning, testBefore)}, want: Failed, wantEnding: EndingRolledBack},
		{name: "rollback paused", svc: withUpdateStatus(replicatedService(1), swarm.UpdateStateRollbackPaused, testAfter), rollout: true,
			want: Failed, wantEnding: EndingRollbackPaused},
		{name: "global: one task per node", svc: global, stable: stable,
			upToDate: []swarm.Task{testTask("a", 0, "n1", swarm.TaskStateRunning, testAfter), testTask("b", 0, "n2", swarm.TaskStateRunning, testAfter)},
			want:     Converged, wantRunning: 2, wantDesired: 2},
		{name: "global: a node still starting", svc: global, stable: stable,
			upToDate: []swarm.Task{testTask("a", 0, "n1", swarm.TaskStateRunning, testAfter), testTask("b", 0, "n2", swarm.TaskStatePreparing, testAfter)},
			want:     Progressing, wantRunning: 1, wantDesired: 2},
		{name: "global: tasks on down nodes are ignored", svc: global, stable: stable,
			upToDate: []swarm.Task{testTask("a", 0, "n1", swarm.TaskStateRunning, testAfter), testTask("b", 0, "down", swarm.TaskStatePending, testAfter)},
			want:     Converged, wantRunning: 1, wantDesired: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			all := tc.all
			if all == nil {
				all = tc.upToDate
			}
			v := Evaluate(RolloutPoll{Service: tc.svc, UpToDate: tc.upToDate, All: all, Nodes: testNodes, Since: testSince, Rollout: tc.rollout, Stable: tc.stable})
			if v.Phase != tc.want {
				t.Fatalf("phase = %v (%s), want %v", v.Phase, v.Reason, tc.want)
			}
			if v.Ending != tc.wantEnding {
				t.Errorf("ending = %q, want %q", v.Ending, tc.wantEnding)
			}
			if tc.want != Failed && (v.Running != tc.wantRunning || v.Desired != tc.wantDesired) {
				t.Errorf("running/desired = %d/%d, want %d/%d", v.Running, v.Desired, tc.wantRunning, tc.wantDesired)
			}
			if v.Reason == "" {
				t.Error("a verdict must say why")
			}
		})
	}
}

// A rollout whose new tasks fail ends the same way whatever was observed first: the failed
// task before Swarm's paused (or rolled back) status, the status first, or both in one poll.
// Swarm's updater is waited for while it works; where it has nothing left to act on, the
// failure action is applied by the verdict itself.
func TestEvaluateOrderings(t *testing.T) {
	// Two slots; the rollout gave slot 1 the new spec, whose task failed.
	failedNew := testTask("new1", 1, "n1", swarm.TaskStateFailed, testAfter)
	restartedNew := testTask("new1b", 1, "n1", swarm.TaskStateStarting, testAfter.Add(time.Second))
	oldRunning := testTask("old2", 2, "n1", swarm.TaskStateRunning, testBefore)
	newFailed2 := testTask("new2", 2, "n1", swarm.TaskStateFailed, testAfter)

	type poll struct {
		name     string
		status   swarm.UpdateState // "" for none
		upToDate []swarm.Task
		others   []swarm.Task // tasks of older specs
		want     Phase
	}
	// slotsLeft: slot 2 still runs the old spec, so Swarm's updater is at work.
	slotsLeft := []poll{
		{name: "task failure seen before Swarm's updater marked the update", status: "", upToDate: []swarm.Task{failedNew}, others: []swarm.Task{oldRunning}, want: Progressing},
		{name: "task failure seen while Swarm is updating", status: swarm.UpdateStateUpdating, upToDate: []swarm.Task{failedNew, restartedNew}, others: []swarm.Task{oldRunning}, want: Progressing},
	}
	// everySlot: every slot already had the new spec (parallelism 0, or a resumed rollout),
	// so Swarm's updater has nothing left to pause or roll back.
	everySlot := []poll{
		{name: "failures after every slot had the new spec, no update status", status: "", upToDate: []swarm.Task{failedNew, newFailed2}, want: Failed},
		{name: "failures after Swarm completed its update", status: swarm.UpdateStateCompleted, upToDate: []swarm.Task{failedNew, newFailed2}, want: Failed},
	}
	tests := []struct {
		action string
		// terminal are the polls that end the wait; all must give wantEnding.
		terminal   []poll
		wantEnding Ending
	}{
		{action: swarm.UpdateFailureActionPause, wantEnding: EndingPaused, terminal: append([]poll{
			{name: "Swarm's paused status seen before the failed task", status: swarm.UpdateStatePaused, upToDate: []swarm.Task{restartedNew}, others: []swarm.Task{oldRunning}, want: Failed},
			{name: "paused status and failed task in the same poll", status: swarm.UpdateStatePaused, upToDate: []swarm.Task{failedNew}, others: []swarm.Task{oldRunning}, want: Failed},
		}, everySlot...)},
		{action: swarm.UpdateFailureActionRollback, wantEnding: EndingRolledBack, terminal: []poll{
			{name: "Swarm's rollback completed before the failed task was seen", status: swarm.UpdateStateRollbackCompleted, others: []swarm.Task{oldRunning}, want: Failed},
			{name: "rollback completed and failed task in the same poll", status: swarm.UpdateStateRollbackCompleted, upToDate: []swarm.Task{failedNew}, others: []swarm.Task{oldRunning}, want: Failed},
		}},
		{action: swarm.UpdateFailureActionContinue, wantEnding: EndingContinued, terminal: everySlot},
	}
	for _, tc := range tests {
		t.Run(tc.action, func(t *testing.T) {
			svc := withPrevious(withUpdateConfig(replicatedService(2), 0, tc.action))
			run := func(p poll) Verdict {
				s := svc
				if p.status != "" {
					s = withUpdateStatus(s, p.status, testAfter)
				}
				return Evaluate(RolloutPoll{Service: s, UpToDate: p.upToDate, All: append(append([]swarm.Task{}, p.upToDate...), p.others...),
					Nodes: testNodes, Since: testSince, Rollout: true})
			}
			for _, p := range slotsLeft {
				if v := run(p); v.Phase != Progressing || v.RequestRollback {
					t.Errorf("%s: phase %v (%s), rollback request %v; want Swarm's verdict awaited", p.name, v.Phase, v.Reason, v.RequestRollback)
				}
			}
			for _, p := range tc.terminal {
				v := run(p)
				if tc.action == swarm.UpdateFailureActionRollback || v.RequestRollback {
					continue // checked below
				}
				if v.Phase != p.want || v.Ending != tc.wantEnding {
					t.Errorf("%s: phase %v ending %q (%s); want %v ending %q", p.name, v.Phase, v.Ending, v.Reason, p.want, tc.wantEnding)
				}
				if !strings.Contains(v.Reason, tc.action) {
					t.Errorf("%s: reason %q does not name failure_action %q", p.name, v.Reason, tc.action)
				}
			}
			if tc.action != swarm.UpdateFailureActionRollback {
				return
			}
			for _, p := range tc.terminal {
				if v := run(p); v.Phase != Failed || v.Ending != EndingRolledBack {
					t.Errorf("%s: phase %v ending %q; want rolled back", p.name, v.Phase, v.Ending)
				}
			}
			// Where Swarm's updater will not roll back, the verdict asks for the rollback,
			// and once it is done the wait ends as if Swarm had made it.
			for _, p := range everySlot {
				v := run(p)
				if v.Phase != Progressing || !v.RequestRollback {
					t.Errorf("%s: phase %v, rollback request %v (%s); want a rollback asked for", p.name, v.Phase, v.RequestRollback, v.Reason)
				}
				done := withUpdateStatus(svc, swarm.UpdateStateRollbackCompleted, testAfter.Add(3*time.Second))
				end := Evaluate(RolloutPoll{Service: done, All: p.upToDate, Nodes: testNodes, Since: testSince, Rollout: true, RollbackCause: v.Reason})
				if end.Phase != Failed || end.Ending != EndingRolledBack || !strings.Contains(end.Reason, v.Reason) {
					t.Errorf("%s, after the rollback: phase %v ending %q reason %q", p.name, end.Phase, end.Ending, end.Reason)
				}
			}
		})
	}
}

func TestEvaluateEndingUpdateState(t *testing.T) {
	for ending, want := range map[Ending]swarm.UpdateState{
		EndingPaused: swarm.UpdateStatePaused, EndingRolledBack: swarm.UpdateStateRollbackCompleted, EndingRollbackPaused: swarm.UpdateStateRollbackPaused,
		EndingFailed: "", EndingContinued: "", EndingNoProgress: "",
	} {
		if got := ending.UpdateState(); got != want {
			t.Errorf("%s.UpdateState() = %q, want %q", ending, got, want)
		}
	}
}

func TestEvaluateRollbackNeedsAnotherSpec(t *testing.T) {
	// A resumed rollout wrote the same spec again, which Swarm keeps as the previous spec; a
	// rollout restarted around a down node changed one label. Neither previous spec runs other
	// tasks, so there is nothing to roll back to: the failure ends paused instead.
	svc := withUpdateConfig(replicatedService(1), 0, swarm.UpdateFailureActionRollback)
	same := svc.Spec
	labelOnly := svc.Spec
	labelOnly.Labels = map[string]string{RestartedRolloutLabel: "1:x"}
	for name, prev := range map[string]swarm.ServiceSpec{"resumed": same, "restarted around a down node": labelOnly} {
		svc.PreviousSpec = &prev
		v := Evaluate(RolloutPoll{Service: svc, UpToDate: []swarm.Task{testTask("a", 1, "n1", swarm.TaskStateFailed, testAfter)},
			All: []swarm.Task{testTask("a", 1, "n1", swarm.TaskStateFailed, testAfter)}, Nodes: testNodes, Since: testSince, Rollout: true})
		if v.Phase != Failed || v.Ending != EndingPaused || v.RequestRollback || !strings.Contains(v.Reason, "nothing to roll back to") {
			t.Errorf("%s: phase %v ending %q rollback %v (%s); want paused without a rollback request", name, v.Phase, v.Ending, v.RequestRollback, v.Reason)
		}
	}
}

func TestEvaluateProgressDeadline(t *testing.T) {
	pending := testTask("p", 1, "", swarm.TaskStatePending, testAfter)
	pending.Status.Err = "no suitable node"
	old := testTask("old", 1, "n1", swarm.TaskStateShutdown, testBefore)
	obs := func(action string, stalled time.Duration, cause string) RolloutPoll {
		svc := withPrevious(withUpdateConfig(replicatedService(1), 0, action))
		svc = withUpdateStatus(svc, swarm.UpdateStateUpdating, testAfter)
		return RolloutPoll{Service: svc, UpToDate: []swarm.Task{pending}, All: []swarm.Task{pending, old}, Nodes: testNodes, Since: testSince,
			Rollout: true, ProgressDeadline: 4 * time.Second, Stalled: stalled, RollbackCause: cause}
	}
	if v := Evaluate(obs(swarm.UpdateFailureActionPause, 3*time.Second, "")); v.Phase != Progressing {
		t.Errorf("before the deadline: phase %v (%s)", v.Phase, v.Reason)
	}
	v := Evaluate(obs(swarm.UpdateFailureActionPause, 5*time.Second, ""))
	if v.Phase != Failed || v.Ending != EndingNoProgress || len(v.Failures) != 1 || !strings.Contains(v.Reason, "progress_deadline") {
		t.Errorf("pause past the deadline: phase %v ending %q failures %d (%s)", v.Phase, v.Ending, len(v.Failures), v.Reason)
	}
	v = Evaluate(obs(swarm.UpdateFailureActionRollback, 5*time.Second, ""))
	if v.Phase != Progressing || !v.RequestRollback || len(v.Failures) != 1 {
		t.Errorf("rollback past the deadline: phase %v rollback %v (%s)", v.Phase, v.RequestRollback, v.Reason)
	}
	// Once the rollback was asked for, the deadline does not ask again.
	if v := Evaluate(obs(swarm.UpdateFailureActionRollback, 5*time.Second, "stalled")); v.Phase != Progressing || v.RequestRollback {
		t.Errorf("after the rollback request: phase %v rollback %v (%s)", v.Phase, v.RequestRollback, v.Reason)
	}
	// A new service has no rollout to roll back.
	o := obs(swarm.UpdateFailureActionRollback, 5*time.Second, "")
	o.Rollout, o.Service.UpdateStatus = false, nil
	if v := Evaluate(o); v.Phase != Failed || v.Ending != EndingNoProgress {
		t.Errorf("create past the deadline: phase %v ending %q", v.Phase, v.Ending)
	}
}

// A task no node of the swarm can ever run (Unplaceable) ends the wait at once, with the cause,
// as the progress deadline would end it; one that waits for what a node may still come to
// offer (here a label) is waited for.
func TestEvaluateNeverPlaceable(t *testing.T) {
	nodes := map[string]swarm.Node{"n1": {ID: "n1", Status: swarm.NodeStatus{State: swarm.NodeStateReady},
		Description: swarm.NodeDescription{Engine: swarm.EngineDescription{Plugins: []swarm.PluginDescription{{Type: "Log", Name: "json-file"}}}}}}
	pending := func(driver, err string) swarm.Task {
		t := testTask("p", 1, "", swarm.TaskStatePending, testAfter)
		t.Status.Err = err
		t.Spec.LogDriver = &swarm.Driver{Name: driver}
		return t
	}
	missing := pending("nope", "no suitable node (missing plugin on 1 node)")
	old := testTask("old", 1, "n1", swarm.TaskStateShutdown, testBefore)
	tests := []struct {
		name        string
		task        swarm.Task
		rollout     bool
		action      string
		rollingBack string // RollbackCause
		want        Phase
		wantEnding  Ending
		wantRequest bool
	}{
		{name: "a new service: failed", task: missing, action: swarm.UpdateFailureActionPause, want: Failed, wantEnding: EndingFailed},
		{name: "a rollout with failure_action pause: stays pending, the wait ends", task: missing, rollout: true, action: swarm.UpdateFailureActionPause, want: Failed, wantEnding: EndingUnplaceable},
		{name: "a rollout with failure_action continue", task: missing, rollout: true, action: swarm.UpdateFailureActionContinue, want: Failed, wantEnding: EndingUnplaceable},
		{name: "a rollout with failure_action rollback: rolled back", task: missing, rollout: true, action: swarm.UpdateFailureActionRollback, want: Progressing, wantRequest: true},
		{name: "while the rollback it asked for runs", task: missing, rollout: true, action: swarm.UpdateFailureActionRollback, rollingBack: "earlier", want: Progressing},
		{name: "the scheduler has not tried yet", task: pending("nope", ""), action: swarm.UpdateFailureActionPause, want: Progressing},
		{name: "the log driver exists: the constraint may be met by labelling a node", task: pending("json-file", "no suitable node (scheduling constraints not satisfied on 1 node)"),
			action: swarm.UpdateFailureActionPause, want: Progressing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := withPrevious(withUpdateConfig(replicatedService(1), 0, tc.action))
			if tc.rollout {
				svc = withUpdateStatus(svc, swarm.UpdateStateUpdating, testAfter)
			}
			v := Evaluate(RolloutPoll{Service: svc, UpToDate: []swarm.Task{tc.task}, All: []swarm.Task{tc.task, old}, Nodes: nodes, Since: testSince,
				Rollout: tc.rollout, RollbackCause: tc.rollingBack})
			if v.Phase != tc.want || v.Ending != tc.wantEnding || v.RequestRollback != tc.wantRequest {
				t.Fatalf("phase %v ending %q rollback %v (%s), want %v %q %v", v.Phase, v.Ending, v.RequestRollback, v.Reason, tc.want, tc.wantEnding, tc.wantRequest)
			}
			if tc.want == Failed || tc.wantRequest {
				if !strings.Contains(v.Reason, `no node of the swarm can ever run the new spec's tasks: the log driver "nope" is not installed`) || len(v.Failures) != 1 {
					t.Errorf("reason %q, failures %d: want the cause and the task", v.Reason, len(v.Failures))
				}
			}
		})
	}
}

func TestRolloutClock(t *testing.T) {
	t0 := testSince
	running := func(ids ...string) RolloutPoll {
		o := RolloutPoll{Service: replicatedService(2), Nodes: testNodes}
		for i, id := range ids {
			o.UpToDate = append(o.UpToDate, testTask(id, i+1, "n1", swarm.TaskStateRunning, testAfter))
		}
		return o
	}
	var c rolloutClock
	steps := []struct {
		at                  time.Duration
		obs                 RolloutPoll
		wantStable, wantGap time.Duration
	}{
		{0, running("a"), 0, 0},
		{2 * time.Second, running("a"), 0, 2 * time.Second},
		{3 * time.Second, running("a", "b"), 0, 0},
		{5 * time.Second, running("a", "b"), 2 * time.Second, 2 * time.Second},
		{6 * time.Second, running("a", "c"), 0, 3 * time.Second}, // b replaced: the window starts again
		{8 * time.Second, running("a", "c"), 2 * time.Second, 5 * time.Second},
	}
	for i, s := range steps {
		stable, stalled := c.measure(s.obs, t0.Add(s.at))
		if stable != s.wantStable || stalled != s.wantGap {
			t.Errorf("step %d: stable %s stalled %s, want %s and %s", i, stable, stalled, s.wantStable, s.wantGap)
		}
	}
}

func TestClockFrom(t *testing.T) {
	asked := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	answered := asked.Add(40 * time.Millisecond)
	// The manager's clock runs 90s ahead.
	c := clockFrom(asked.Add(20*time.Millisecond+90*time.Second).Format(time.RFC3339Nano), asked, answered)
	if got := c.before(answered); got.After(answered.Add(90*time.Second)) || got.Before(answered.Add(90*time.Second-time.Second)) {
		t.Errorf("before(now) = %s, want just before now+90s (%s)", got, answered.Add(90*time.Second))
	}
	if c := clockFrom("not a time", asked, answered); c.before(answered) != answered.Add(-time.Second) {
		t.Errorf("an unreadable manager time falls back to ours, a second early; got %s", c.before(answered))
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

// Tasks of the new spec stranded on a node that went down while they started, which Swarm's
// updater would wait for forever.
func TestStrandedOnDownNode(t *testing.T) {
	updating := withUpdateStatus(replicatedService(3), swarm.UpdateStateUpdating, testSince)
	stranded := func(id string, state swarm.TaskState) swarm.Task {
		task := testTask(id, 3, "down", state, testAfter)
		task.DesiredState = swarm.TaskStateShutdown
		return task
	}
	oldRunning := testTask("old1", 1, "n1", swarm.TaskStateRunning, testBefore)
	newRunning := testTask("new2", 2, "n2", swarm.TaskStateRunning, testAfter)
	replacement := testTask("new3", 3, "n1", swarm.TaskStateRunning, testAfter)
	tests := []struct {
		name     string
		svc      swarm.Service
		rollout  bool
		upToDate []swarm.Task
		old      []swarm.Task
		want     []string
	}{
		{"starting on a node now down, slots left", updating, true,
			[]swarm.Task{newRunning, replacement, stranded("s", swarm.TaskStateReady)}, []swarm.Task{oldRunning}, []string{"s"}},
		{"assigned, never started", updating, true,
			[]swarm.Task{newRunning, stranded("s", swarm.TaskStateAssigned)}, []swarm.Task{oldRunning}, []string{"s"}},
		{"it ran before the node went down: the updater saw it up", updating, true,
			[]swarm.Task{newRunning, stranded("s", swarm.TaskStateRunning)}, []swarm.Task{oldRunning}, nil},
		{"still meant to run (the node is only slow to be replaced)", updating, true,
			[]swarm.Task{newRunning, testTask("s", 3, "down", swarm.TaskStateReady, testAfter)}, []swarm.Task{oldRunning}, nil},
		// Every slot runs the new spec, but the updater still waits for the task, and counts it
		// as failed when its node is back (CI saw the rollout paused then).
		{"no slot left to replace: the updater still waits for it", updating, true,
			[]swarm.Task{newRunning, replacement, stranded("s", swarm.TaskStateReady)}, nil, []string{"s"}},
		{"the old task left is on the down node too", updating, true,
			[]swarm.Task{newRunning, stranded("s", swarm.TaskStateReady)}, []swarm.Task{testTask("old3", 1, "down", swarm.TaskStateRunning, testBefore)}, []string{"s"}},
		{"update completed", withUpdateStatus(replicatedService(3), swarm.UpdateStateCompleted, testSince), true,
			[]swarm.Task{newRunning, stranded("s", swarm.TaskStateReady)}, []swarm.Task{oldRunning}, nil},
		{"update paused", withUpdateStatus(replicatedService(3), swarm.UpdateStatePaused, testSince), true,
			[]swarm.Task{newRunning, stranded("s", swarm.TaskStateReady)}, []swarm.Task{oldRunning}, nil},
		{"not a rollout (a create or a scale)", updating, false,
			[]swarm.Task{newRunning, stranded("s", swarm.TaskStateReady)}, []swarm.Task{oldRunning}, nil},
		{"on a ready node", updating, true,
			[]swarm.Task{newRunning, func() swarm.Task { x := stranded("s", swarm.TaskStateReady); x.NodeID = "n2"; return x }()}, []swarm.Task{oldRunning}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := RolloutPoll{Service: tt.svc, Rollout: tt.rollout, UpToDate: tt.upToDate, All: append(append([]swarm.Task{}, tt.upToDate...), tt.old...), Nodes: testNodes, Since: testSince}
			var got []string
			for _, task := range StrandedOnDownNode(o) {
				got = append(got, task.ID)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("stranded %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTaskFailed(t *testing.T) {
	tests := []struct {
		state swarm.TaskState
		err   string
		want  bool
	}{
		{swarm.TaskStateFailed, "task: non-zero exit (1)", true},
		{swarm.TaskStateComplete, "", true},
		{swarm.TaskStateRejected, "No such image: app:v9", true},
		{swarm.TaskStateFailed, "No such container: web.2.a3b9gd5mpjk578y92neh3w005", false},
		{swarm.TaskStateRunning, "", false},
		{swarm.TaskStateShutdown, "", false},
	}
	for _, tt := range tests {
		task := swarm.Task{Status: swarm.TaskStatus{State: tt.state, Err: tt.err}}
		if got := taskFailed(task); got != tt.want {
			t.Errorf("taskFailed(%s, %q) = %v, want %v", tt.state, tt.err, got, tt.want)
		}
	}
}

// A global service is converged only when every eligible node runs its task: right after a
// create Swarm has made no task yet, which is not "0 of 0".
func TestEvaluateGlobalWaitsForEligibleNodes(t *testing.T) {
	active := func(id string, labels map[string]string) swarm.Node {
		return swarm.Node{ID: id, Status: swarm.NodeStatus{State: swarm.NodeStateReady},
			Spec: swarm.NodeSpec{Availability: swarm.NodeAvailabilityActive, Annotations: swarm.Annotations{Labels: labels}}}
	}
	nodes := map[string]swarm.Node{"n1": active("n1", map[string]string{"zone": "a"}), "n2": active("n2", map[string]string{"zone": "b"}),
		"drained": {ID: "drained", Status: swarm.NodeStatus{State: swarm.NodeStateReady}, Spec: swarm.NodeSpec{Availability: swarm.NodeAvailabilityDrain}}}
	global := func(constraints ...string) swarm.Service {
		return swarm.Service{Spec: swarm.ServiceSpec{Mode: swarm.ServiceMode{Global: &swarm.GlobalService{}},
			TaskTemplate: swarm.TaskSpec{Placement: &swarm.Placement{Constraints: constraints}}}}
	}
	running := func(id, node string) swarm.Task { return testTask(id, 0, node, swarm.TaskStateRunning, testAfter) }
	tests := []struct {
		name        string
		svc         swarm.Service
		tasks       []swarm.Task
		want        Phase
		wantDesired int
	}{
		{"no task yet", global(), nil, Progressing, 2},
		{"one of two eligible nodes", global(), []swarm.Task{running("a", "n1")}, Progressing, 2},
		{"every eligible node", global(), []swarm.Task{running("a", "n1"), running("b", "n2")}, Converged, 2},
		{"a constraint leaves one node", global("node.labels.zone==a"), []swarm.Task{running("a", "n1")}, Converged, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := Evaluate(RolloutPoll{Service: tc.svc, UpToDate: tc.tasks, All: tc.tasks, Nodes: nodes, Since: testSince, Stable: time.Minute})
			if v.Phase != tc.want || v.Desired != tc.wantDesired {
				t.Errorf("phase %v, desired %d (%s); want %v, %d", v.Phase, v.Desired, v.Reason, tc.want, tc.wantDesired)
			}
		})
	}
}

// A rollback someone asked for (RollbackService) succeeds at Swarm's rollback_completed once
// the previous spec's tasks run stable; its failures fail it, and it is never rolled back in
// turn.
func TestEvaluateAskedRollback(t *testing.T) {
	running := []swarm.Task{testTask("a", 1, "n1", swarm.TaskStateRunning, testAfter)}
	failed := []swarm.Task{testTask("x", 1, "n1", swarm.TaskStateFailed, testAfter)}
	svc := withPrevious(withUpdateConfig(replicatedService(1), 0, swarm.UpdateFailureActionRollback))
	tests := []struct {
		name       string
		state      swarm.UpdateState
		tasks      []swarm.Task
		stable     time.Duration
		want       Phase
		wantEnding Ending
	}{
		{name: "completed and stable", state: swarm.UpdateStateRollbackCompleted, tasks: running, stable: 10 * time.Second, want: Converged},
		{name: "completed, monitor window not over", state: swarm.UpdateStateRollbackCompleted, tasks: running, want: Progressing},
		{name: "still rolling back", state: swarm.UpdateStateRollbackStarted, tasks: running, stable: 10 * time.Second, want: Progressing},
		{name: "paused by Swarm", state: swarm.UpdateStateRollbackPaused, tasks: failed, want: Failed, wantEnding: EndingRollbackPaused},
		{name: "its tasks fail after Swarm completed it: failed, not rolled back again", state: swarm.UpdateStateRollbackCompleted, tasks: failed, want: Failed, wantEnding: EndingFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := Evaluate(RolloutPoll{Service: withUpdateStatus(svc, tc.state, testAfter), UpToDate: tc.tasks, All: tc.tasks, Nodes: testNodes,
				Since: testSince, Rollout: true, RollbackAsked: true, Stable: tc.stable})
			if v.Phase != tc.want || v.Ending != tc.wantEnding || v.RequestRollback {
				t.Fatalf("phase %v ending %q rollback %v (%s); want %v %q without a rollback request", v.Phase, v.Ending, v.RequestRollback, v.Reason, tc.want, tc.wantEnding)
			}
		})
	}
}
