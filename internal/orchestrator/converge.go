package orchestrator

// Convergence: after a write, has the service reached the new spec, is it still getting there,
// or has the rollout failed, and if so, how does the failure leave the service? Evaluate is the
// pure verdict over one observation; WaitConverged only observes, measures time and carries out
// what the verdict asks for.

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// RolloutPoll is everything the convergence verdict looks at: one poll of the service, its tasks
// and the nodes, plus what the waiting loop knows about the write and the time since.
type RolloutPoll struct {
	Service swarm.Service
	// UpToDate are the tasks whose spec matches the service's current spec.
	UpToDate []swarm.Task
	// All are every task of the service, any spec.
	All   []swarm.Task
	Nodes map[string]swarm.Node
	// Since is when the write being waited for was made, on the manager's clock.
	Since time.Time
	// Rollout says the write replaced the task template of an existing service, so Swarm's
	// updater rolls the tasks over and rolling_update.failure_action applies. A create or a
	// scale has no rollout: failed tasks then simply fail the wait.
	Rollout bool
	// Stable is how long every slot has been running the same tasks of the new spec; zero
	// while any slot is not.
	Stable time.Duration
	// Stalled is how long no further slot has started running the new spec.
	Stalled time.Duration
	// ProgressDeadline fails (or, with failure_action rollback, rolls back) a rollout that has
	// stalled this long; zero means no deadline.
	ProgressDeadline time.Duration
	// RollbackCause is set once the engine has asked Swarm to roll back during this wait: why
	// it did.
	RollbackCause string
	// RollbackAsked says the write was a rollback someone asked for (not one of a failed
	// update): its rollback_completed means the previous spec runs, to be checked as any
	// rollout's end is.
	RollbackAsked bool
}

// Phase is where a rollout stands.
type Phase int

const (
	Progressing Phase = iota
	Converged
	Failed
)

// Ending says how a failed wait leaves the service. It follows from the failure action, not
// from which sign of the failure was observed first: a task of the new spec seen failing before
// Swarm paused the update ends the same way as Swarm's paused status seen first.
type Ending string

const (
	// EndingFailed: tasks failed where no rollout was running (a new service, a scale-up).
	EndingFailed Ending = "failed"
	// EndingPaused: failure_action "pause". Slots already given the new spec keep it, the
	// others keep the old one; writing the spec again resumes the rollout.
	EndingPaused Ending = "paused"
	// EndingRolledBack: failure_action "rollback". The service runs its previous spec again.
	EndingRolledBack Ending = "rolled_back"
	// EndingRollbackPaused: the rollback failed too, and Swarm paused it.
	EndingRollbackPaused Ending = "rollback_paused"
	// EndingContinued: failure_action "continue". Swarm carried on; the new spec stays although
	// tasks of it failed.
	EndingContinued Ending = "continued"
	// EndingNoProgress: the progress deadline passed and the failure action could not undo the
	// rollout (pause, continue); Swarm keeps trying to place the tasks.
	EndingNoProgress Ending = "no_progress"
	// EndingUnplaceable: no node of the swarm can ever run the new spec's tasks (Unplaceable),
	// and the failure action could not undo the rollout (pause, continue); Swarm keeps them
	// pending until the service changes.
	EndingUnplaceable Ending = "unplaceable"
)

// UpdateState is the rollout state the service is left in, as the adapter records it: paused
// even where Swarm had nothing left to pause (every slot already had the new spec), so the
// next write resumes it either way. Empty means Swarm's own state stands.
func (e Ending) UpdateState() swarm.UpdateState {
	switch e {
	case EndingPaused:
		return swarm.UpdateStatePaused
	case EndingRolledBack:
		return swarm.UpdateStateRollbackCompleted
	case EndingRollbackPaused:
		return swarm.UpdateStateRollbackPaused
	}
	return ""
}

// Verdict is the outcome of one evaluation.
type Verdict struct {
	Phase   Phase
	Desired int
	Running int
	Reason  string
	// Ending is set when Phase is Failed.
	Ending   Ending
	Failures []swarm.Task
	// Completed counts a job's completions reached in its current run (0 for a service).
	Completed int
	// Pending are up-to-date tasks not running yet, for progress messages.
	Pending []swarm.Task
	// AllRunning is whether every slot runs a task of the new spec, even while the stability
	// window or Swarm's monitoring still runs.
	AllRunning bool
	// Warnings are worth telling the user but change nothing about the verdict.
	Warnings []string
	// RequestRollback asks the waiting loop to have Swarm roll the service back, because
	// failure_action is "rollback" and Swarm's updater will not do it: the rollout stalled past
	// the progress deadline, or tasks failed after every slot already had the new spec.
	RequestRollback bool
}

// Evaluate decides whether a rollout has converged, is still progressing or has failed, in the
// manner of `docker service update`: only tasks of the current spec count, one per slot (or per
// node for global services), tasks on down nodes are ignored, and a task counts once it runs
// (Swarm reports a task with a healthcheck as running only once it is healthy), stable for the
// monitor window.
//
// While Swarm's updater works on the rollout, its verdict is awaited rather than raced: failed
// tasks seen before Swarm paused or rolled back end the same way as Swarm's status seen first.
// Where Swarm's updater has nothing to act on (every slot already had the new spec, or it
// completed before tasks failed), the failure action is applied here: "pause" ends paused,
// "rollback" asks for a rollback, "continue" fails the wait and keeps the new spec.
//
// A job (IsJob) has no rollout: its verdict is evaluateJob's, over the tasks of its current run.
func Evaluate(o RolloutPoll) Verdict {
	if IsJob(o.Service.Spec) {
		return evaluateJob(o)
	}
	v := Verdict{Failures: recentFailures(o.All, o.Since)}
	v.Desired, v.Running, v.Pending = countSlots(o)
	v.AllRunning = v.Running >= v.Desired && len(v.Pending) == 0
	uc := updateConfigOf(o.Service.Spec)
	failed, allowed := failedUpToDate(o), int(math.Floor(float64(uc.MaxFailureRatio)*float64(max(v.Desired, 1))))
	tooMany := failed > allowed
	failedText := fmt.Sprintf("%d task(s) of the new spec failed (%d allowed by max_failure_ratio)", failed, allowed)

	status := swarmStatus(o)
	switch status {
	case swarm.UpdateStatePaused:
		return v.fail(EndingPaused, "Swarm paused the rolling update (failure_action \"pause\"): "+o.Service.UpdateStatus.Message)
	case swarm.UpdateStateRollbackPaused:
		return v.fail(EndingRollbackPaused, "the rollback to the previous spec failed too, and Swarm paused it: "+o.Service.UpdateStatus.Message)
	case swarm.UpdateStateRollbackCompleted:
		if o.RollbackAsked {
			break
		}
		if o.RollbackCause != "" {
			return v.fail(EndingRolledBack, o.RollbackCause+"; the service was rolled back to its previous spec (failure_action \"rollback\")")
		}
		return v.fail(EndingRolledBack, "the update failed and Swarm rolled the service back to its previous spec (failure_action \"rollback\"): "+o.Service.UpdateStatus.Message)
	case swarm.UpdateStateRollbackStarted:
		v.Reason = "Swarm is rolling the service back to its previous spec"
		return v
	}
	// Swarm's updater is (about to be) at work on this rollout: it judges failures itself
	// (monitor window, max_failure_ratio, failure_action) and will pause or roll back.
	swarmJudges := o.Rollout && (status == swarm.UpdateStateUpdating || status == "" && hasDirtySlots(o))

	if tooMany && !swarmJudges {
		switch {
		case !o.Rollout || o.RollbackAsked: // never roll back a rollback
			return v.fail(EndingFailed, fmt.Sprintf("%d task(s) failed (%d allowed by max_failure_ratio)", failed, allowed))
		case uc.FailureAction == swarm.UpdateFailureActionContinue:
			if !v.AllRunning {
				return v.fail(EndingContinued, failedText+"; with failure_action \"continue\" Swarm carries on and the service keeps the new spec")
			}
		case uc.FailureAction == swarm.UpdateFailureActionRollback && canRollBack(o.Service):
			v.RequestRollback = true
			v.Reason = failedText + " after every slot had the new spec, so Swarm's updater will not roll back; asking Swarm to roll back (failure_action \"rollback\")"
			return v
		case uc.FailureAction == swarm.UpdateFailureActionRollback:
			return v.fail(EndingPaused, failedText+", and the service's previous spec runs the same tasks, so there is nothing to roll back to (the rollout was resumed, or restarted around a down node); the rollout counts as paused")
		default:
			return v.fail(EndingPaused, failedText+" after every slot had the new spec, so Swarm has no update left to pause; the rollout counts as paused (failure_action \"pause\")")
		}
	}
	if v.AllRunning {
		v.Reason = "every slot runs the new spec; watching that it stays so"
		switch {
		case o.Rollout && status == swarm.UpdateStateUpdating && (v.Desired == 0 || o.Stable >= monitorWindow(uc)):
			// Swarm's updater marks the update completed after the delay and the monitor
			// window that follow its last batch (a start-first batch ends when its new tasks
			// run): its verdict is awaited, so that what the apply records is what Swarm says.
			v.Reason = "every slot runs the new spec; waiting for Swarm to complete its rolling update"
		case v.Desired == 0 || o.Stable >= monitorWindow(uc):
			v.Phase, v.Reason = Converged, "converged"
		}
		return v
	}
	if stuck, causes := neverPlaced(v.Pending, o.Nodes); len(causes) > 0 && o.RollbackCause == "" {
		// Waiting could only end in a timeout: fail now, with the cause.
		reason := "no node of the swarm can ever run the new spec's tasks: " + strings.Join(causes, "; ")
		v.Failures = append(v.Failures, stuck...)
		switch {
		case !o.Rollout || o.RollbackAsked:
			return v.fail(EndingFailed, reason)
		case uc.FailureAction == swarm.UpdateFailureActionRollback && canRollBack(o.Service):
			v.RequestRollback, v.Reason = true, reason
			return v
		}
		return v.fail(EndingUnplaceable, reason)
	}
	if d := o.ProgressDeadline; d > 0 && o.Stalled > d && o.RollbackCause == "" {
		stalled := fmt.Sprintf("no progress: no task of the new spec started running for %s (progress_deadline); %d of %d slots run the new spec", d, v.Running, v.Desired)
		v.Failures = append(v.Failures, v.Pending...)
		if o.Rollout && !o.RollbackAsked && uc.FailureAction == swarm.UpdateFailureActionRollback && canRollBack(o.Service) {
			v.RequestRollback, v.Reason = true, stalled
			return v
		}
		return v.fail(EndingNoProgress, stalled)
	}
	switch {
	case tooMany:
		v.Reason = failedText + "; waiting for Swarm's updater to apply failure_action \"" + uc.FailureAction + "\""
	case status == swarm.UpdateStateUpdating:
		v.Reason = "Swarm is updating the service"
	default:
		v.Reason = fmt.Sprintf("%d of %d slots run the new spec", v.Running, v.Desired)
	}
	return v
}

// neverPlaced returns the pending tasks for which Swarm's scheduler found no node and no node
// of the swarm can ever run, and why (Unplaceable), each reason once.
func neverPlaced(pending []swarm.Task, nodes map[string]swarm.Node) (tasks []swarm.Task, causes []string) {
	for _, t := range pending {
		if !awaitsNode(t) {
			continue
		}
		why := Unplaceable(t.Spec, nodes)
		if len(why) == 0 {
			continue
		}
		tasks = append(tasks, t)
		for _, c := range why {
			if !slices.Contains(causes, c) {
				causes = append(causes, c)
			}
		}
	}
	return tasks, causes
}

// awaitsNode says whether a task is pending because Swarm's scheduler found no node for it.
func awaitsNode(t swarm.Task) bool {
	return t.Status.State == swarm.TaskStatePending && strings.Contains(t.Status.Err, "no suitable node")
}

func (v Verdict) fail(e Ending, reason string) Verdict {
	v.Phase, v.Ending, v.Reason = Failed, e, reason
	return v
}

// swarmStatus is the state of Swarm's update when it concerns the write being waited for; an
// update status from before the write is history ("").
func swarmStatus(o RolloutPoll) swarm.UpdateState {
	us := o.Service.UpdateStatus
	if us == nil || us.StartedAt != nil && us.StartedAt.Before(o.Since) {
		return ""
	}
	return us.State
}

// updateConfigOf is the service's update config with Swarm's defaults filled in.
func updateConfigOf(spec swarm.ServiceSpec) swarm.UpdateConfig {
	uc := swarm.UpdateConfig{FailureAction: swarm.UpdateFailureActionPause, Monitor: DefaultMonitor}
	if c := spec.UpdateConfig; c != nil {
		uc = *c
		if uc.FailureAction == "" {
			uc.FailureAction = swarm.UpdateFailureActionPause
		}
		if uc.Monitor <= 0 {
			uc.Monitor = DefaultMonitor
		}
	}
	return uc
}

func monitorWindow(uc swarm.UpdateConfig) time.Duration { return uc.Monitor }

// canRollBack says whether the service has a previous spec whose task template differs from
// the current one: rolling back to anything else restores nothing the failing tasks run.
// (Resuming a paused rollout writes the same spec again, which makes it the previous spec
// too; restarting a rollout stranded on a down node changes only a label.)
func canRollBack(svc swarm.Service) bool {
	return svc.PreviousSpec != nil && Classify(*svc.PreviousSpec, svc.Spec) == ChangeTaskTemplate
}

// failedUpToDate counts tasks of the current spec that failed since the write.
func failedUpToDate(o RolloutPoll) int {
	n := 0
	for _, t := range o.UpToDate {
		if taskFailed(t) && !t.CreatedAt.Before(o.Since) {
			n++
		}
	}
	return n
}

// hasDirtySlots reports whether a task meant to run still has an older spec, on a node that is
// not down: Swarm's updater has slots left to replace.
func hasDirtySlots(o RolloutPoll) bool {
	current := make(map[string]bool, len(o.UpToDate))
	for _, t := range o.UpToDate {
		current[t.ID] = true
	}
	for _, t := range o.All {
		if !current[t.ID] && t.DesiredState == swarm.TaskStateRunning && !nodeDown(o.Nodes, t.NodeID) {
			return true
		}
	}
	return false
}

// StrandedOnDownNode returns the tasks Swarm's updater may wait for forever: tasks of the new
// spec that were starting on a node that then went down (the orchestrator replaced them, so
// their desired state is past running, but no agent will ever report them running or
// stopped), while the service's update is in progress. Swarm's updater waits for each task it
// started to come up, without a timeout, so until the node is back the rollout stands still
// if slots are left, and stays "updating" if none are; when the node comes back, the task
// reports as shut down, within the monitor window, and the updater counts it as a failure
// (failure_action "pause" then pauses a rollout whose every slot runs the new spec). Writing
// the service again starts a new updater, which replaces the slots left, if any, and
// completes.
func StrandedOnDownNode(o RolloutPoll) []swarm.Task {
	us := o.Service.UpdateStatus
	if !o.Rollout || us == nil || us.State != swarm.UpdateStateUpdating {
		return nil
	}
	var out []swarm.Task
	for _, t := range o.UpToDate {
		if nodeDown(o.Nodes, t.NodeID) && t.DesiredState != swarm.TaskStateRunning && taskStateBefore(t.Status.State, swarm.TaskStateRunning) {
			out = append(out, t)
		}
	}
	return out
}

// taskStateBefore says whether state a comes before b in a task's life (new, pending, ...,
// starting, running, then the ends).
func taskStateBefore(a, b swarm.TaskState) bool {
	order := []swarm.TaskState{swarm.TaskStateNew, swarm.TaskStateAllocated, swarm.TaskStatePending, swarm.TaskStateAssigned,
		swarm.TaskStateAccepted, swarm.TaskStatePreparing, swarm.TaskStateReady, swarm.TaskStateStarting, swarm.TaskStateRunning}
	ia, ib := slices.Index(order, a), slices.Index(order, b)
	return ia >= 0 && ib >= 0 && ia < ib
}

func nodeDown(nodes map[string]swarm.Node, id string) bool {
	n, ok := nodes[id]
	return ok && n.Status.State == swarm.NodeStateDown
}

// countSlots counts, among tasks of the current spec on nodes that are not down, the slots (or
// nodes, for global services) that should run, those that do, and the tasks not running yet.
func countSlots(o RolloutPoll) (desired, running int, pending []swarm.Task) {
	global := o.Service.Spec.Mode.Global != nil
	runningSlots := map[string]bool{}
	wanted := map[string]bool{}
	for _, t := range o.UpToDate {
		key := fmt.Sprintf("slot %d", t.Slot)
		if global {
			key = t.NodeID
		}
		if t.DesiredState == swarm.TaskStateRunning && !nodeDown(o.Nodes, t.NodeID) {
			wanted[key] = true
			if t.Status.State == swarm.TaskStateRunning {
				runningSlots[key] = true
			} else {
				pending = append(pending, t)
			}
		}
	}
	if global {
		// Swarm makes a task for every eligible node, but not at once: a global service with
		// no task yet (just created, or a node that just joined) has not converged.
		desired = max(len(wanted), len(EligibleNodes(slices.Collect(maps.Values(o.Nodes)), o.Service.Spec.TaskTemplate.Placement)))
	} else if r := o.Service.Spec.Mode.Replicated; r != nil && r.Replicas != nil {
		desired = int(*r.Replicas)
	}
	return desired, len(runningSlots), pending
}

// isFailedState is a task that ended on its own. A service task should run until the
// orchestrator stops it (state "shutdown"); one that completes, even with exit code 0, has
// failed as far as the service is concerned (Swarm also stops containers whose healthcheck
// fails, and a well-behaved process then exits 0).
func isFailedState(s swarm.TaskState) bool {
	return s == swarm.TaskStateFailed || s == swarm.TaskStateRejected || s == swarm.TaskStateComplete
}

// taskFailed is a task that failed through its own doing. A task whose container vanished
// ("No such container": its node's daemon restarted, which stops every container without
// live-restore) failed with its node, not through its image or configuration; Swarm starts
// its slot again, and the wait goes on.
func taskFailed(t swarm.Task) bool {
	return isFailedState(t.Status.State) && !strings.HasPrefix(t.Status.Err, "No such container")
}

func recentFailures(tasks []swarm.Task, since time.Time) []swarm.Task {
	var out []swarm.Task
	for _, t := range tasks {
		if taskFailed(t) && !t.CreatedAt.Before(since) {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out
}

// DefaultMonitor is Swarm's default monitor window, used when a service sets none.
const DefaultMonitor = 5 * time.Second
