package orchestrator

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/pkg/stdcopy"
)

// Observation is everything the convergence verdict looks at, gathered in one poll.
type Observation struct {
	Service swarm.Service
	// UpToDate are the tasks whose spec matches the service's current spec.
	UpToDate []swarm.Task
	// All are every task of the service, any spec.
	All   []swarm.Task
	Nodes map[string]swarm.Node
	// Since is when the write being waited for was made.
	Since time.Time
}

// Phase is where a rollout stands.
type Phase int

const (
	Progressing Phase = iota
	Converged
	Failed
)

// Verdict is the outcome of one evaluation.
type Verdict struct {
	Phase    Phase
	Desired  int
	Running  int
	Reason   string
	Failures []swarm.Task
	// Pending are up-to-date tasks not running yet, for progress messages.
	Pending []swarm.Task
	// AllRunning is whether every slot runs a task of the new spec, even while Swarm is still
	// monitoring the update; the caller's stability window starts there.
	AllRunning bool
	cause      error
}

// Evaluate decides whether a rollout has converged, is still progressing or has failed, in the
// manner of `docker service update`: only tasks of the current spec count, one per slot (or per
// node for global services), tasks on down nodes are ignored, and a task counts once it runs
// (Swarm reports a task with a healthcheck as running only once it is healthy).
func Evaluate(o Observation) Verdict {
	v := Verdict{}
	v.Failures = recentFailures(o.All, o.Since)

	if us := o.Service.UpdateStatus; us != nil && (us.StartedAt == nil || !us.StartedAt.Before(o.Since.Add(-time.Second))) {
		switch us.State {
		case swarm.UpdateStatePaused:
			v.Phase, v.Reason = Failed, "the rolling update was paused by Swarm: "+us.Message
			return v
		case swarm.UpdateStateRollbackPaused:
			v.Phase, v.Reason = Failed, "the rollback was paused by Swarm: "+us.Message
			return v
		case swarm.UpdateStateRollbackCompleted:
			v.Phase, v.Reason = Failed, "the update failed and Swarm rolled the service back to its previous spec: "+us.Message
			return v
		case swarm.UpdateStateUpdating, swarm.UpdateStateRollbackStarted:
			// Swarm's updater is judging the new tasks itself (monitor window,
			// max_failure_ratio, failure_action): wait for its verdict rather than race it.
			v.Phase, v.Reason = Progressing, string(us.State)
			v.Desired, v.Running, v.Pending = countSlots(o)
			v.AllRunning = v.Running >= v.Desired && len(v.Pending) == 0
			return v
		}
	}

	var running int
	v.Desired, running, v.Pending = countSlots(o)
	v.Running = running
	var upToDateFailed int
	for _, t := range o.UpToDate {
		if isFailedState(t.Status.State) && !t.CreatedAt.Before(o.Since) {
			upToDateFailed++
		}
	}

	// Swarm's own rule: more failures of the new spec than max_failure_ratio allows stop the
	// rollout. On create there is no update, so the same rule is applied here.
	ratio := 0.0
	if uc := o.Service.Spec.UpdateConfig; uc != nil {
		ratio = float64(uc.MaxFailureRatio)
	}
	allowed := int(math.Floor(ratio * float64(max(v.Desired, 1))))
	continueOnFailure := o.Service.Spec.UpdateConfig != nil && o.Service.Spec.UpdateConfig.FailureAction == swarm.UpdateFailureActionContinue
	if upToDateFailed > allowed && !(continueOnFailure && v.Running >= v.Desired) {
		v.Phase = Failed
		v.Reason = fmt.Sprintf("%d task(s) of the new spec failed (%d allowed by max_failure_ratio)", upToDateFailed, allowed)
		return v
	}
	if v.Running >= v.Desired && len(v.Pending) == 0 {
		v.Phase, v.AllRunning = Converged, true
		return v
	}
	v.Phase = Progressing
	return v
}

// isFailedState is a task that ended on its own. A service task should run until the
// orchestrator stops it (state "shutdown"); one that completes, even with exit code 0, has
// failed as far as the service is concerned (Swarm also stops containers whose healthcheck
// fails, and a well-behaved process then exits 0).
// countSlots counts, among tasks of the current spec on nodes that are not down, the slots (or
// nodes, for global services) that should run, those that do, and the tasks not running yet.
func countSlots(o Observation) (desired, running int, pending []swarm.Task) {
	nodeDown := func(id string) bool {
		n, ok := o.Nodes[id]
		return ok && n.Status.State == swarm.NodeStateDown
	}
	global := o.Service.Spec.Mode.Global != nil
	runningSlots := map[string]bool{}
	wanted := map[string]bool{}
	for _, t := range o.UpToDate {
		key := fmt.Sprintf("slot %d", t.Slot)
		if global {
			key = t.NodeID
		}
		if t.DesiredState == swarm.TaskStateRunning && !nodeDown(t.NodeID) {
			wanted[key] = true
			if t.Status.State == swarm.TaskStateRunning {
				runningSlots[key] = true
			} else {
				pending = append(pending, t)
			}
		}
	}
	if global {
		desired = len(wanted)
	} else if r := o.Service.Spec.Mode.Replicated; r != nil && r.Replicas != nil {
		desired = int(*r.Replicas)
	}
	return desired, len(runningSlots), pending
}

func isFailedState(s swarm.TaskState) bool {
	return s == swarm.TaskStateFailed || s == swarm.TaskStateRejected || s == swarm.TaskStateComplete
}

func recentFailures(tasks []swarm.Task, since time.Time) []swarm.Task {
	var out []swarm.Task
	for _, t := range tasks {
		if isFailedState(t.Status.State) && !t.CreatedAt.Before(since) {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out
}

// RolloutError is a rollout that failed, naming the tasks that failed and why.
type RolloutError struct {
	Service string
	Reason  string
	Tasks   []TaskReport
	// NoProgress is set when the progress deadline ended the wait (Swarm itself had not
	// given up, so nothing was rolled back yet).
	NoProgress bool
}

// TaskReport describes one failed task for a human.
type TaskReport struct {
	ID       string
	Slot     int
	Node     string
	State    string
	ExitCode int
	// Exited is whether a container ran and exited (ExitCode is then meaningful).
	Exited  bool
	Message string
	LogTail []string
}

func (e *RolloutError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "service %s: %s", e.Service, e.Reason)
	for _, t := range e.Tasks {
		where := fmt.Sprintf("slot %d", t.Slot)
		if t.Slot == 0 {
			where = "global task"
		}
		exit := ""
		if t.Exited {
			exit = fmt.Sprintf(", exit code %d", t.ExitCode)
		}
		fmt.Fprintf(&b, "\n- task %s (%s on node %s): %s%s: %s", shortID(t.ID), where, t.Node, t.State, exit, t.Message)
		if len(t.LogTail) > 0 {
			fmt.Fprintf(&b, "\n  last log lines:")
			for _, l := range t.LogTail {
				fmt.Fprintf(&b, "\n    %s", l)
			}
		}
	}
	return b.String()
}

// TimeoutError is a wait that ran out of time while the rollout was still progressing.
type TimeoutError struct {
	Service string
	Verdict Verdict
	Err     error
}

func (e *TimeoutError) Error() string {
	msg := fmt.Sprintf("service %s: gave up waiting for convergence (%d of %d slots running the new spec): %v", e.Service, e.Verdict.Running, e.Verdict.Desired, e.Err)
	for i, t := range e.Verdict.Pending {
		if i == 3 {
			break
		}
		msg += fmt.Sprintf("\n- task %s is %s", shortID(t.ID), t.Status.State)
		if t.Status.Err != "" {
			msg += ": " + t.Status.Err
		} else if t.Status.Message != "" {
			msg += ": " + t.Status.Message
		}
	}
	return msg
}

func (e *TimeoutError) Unwrap() error { return e.Err }

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// DefaultMonitor is Swarm's default monitor window, used when a service sets none.
const DefaultMonitor = 5 * time.Second

// WaitOptions tune WaitConverged.
type WaitOptions struct {
	// ProgressDeadline fails the wait when no task of the new spec has started running for this
	// long (Swarm has no such deadline). Zero means none.
	ProgressDeadline time.Duration
}

// ErrNoProgress is returned (wrapped in a RolloutError) when the progress deadline passed.
var ErrNoProgress = errors.New("no progress")

// WaitConverged polls the service until Evaluate says converged and the same tasks have stayed
// running for the service's monitor window, or until it fails or ctx ends. The window catches
// tasks that crash right after they start.
func (e *Engine) WaitConverged(ctx context.Context, id string, since time.Time, opts WaitOptions) (Verdict, error) {
	defer e.Invalidate()
	tick := time.NewTicker(e.PollInterval)
	defer tick.Stop()
	var last Verdict
	var stableSince time.Time
	var stableTasks string
	lastProgress, bestRunning := time.Now(), -1
	for {
		obs, err := e.observeService(ctx, id, since)
		if err != nil {
			if ctx.Err() != nil {
				return last, &TimeoutError{Service: id, Verdict: last, Err: ctx.Err()}
			}
			return last, err
		}
		last = Evaluate(obs)
		// The stability window runs from the moment every slot runs the new spec, alongside
		// Swarm's own monitoring of the update, not after it.
		if key := runningKey(obs.UpToDate); !last.AllRunning {
			stableSince = time.Time{}
		} else if key != stableTasks || stableSince.IsZero() {
			stableSince, stableTasks = time.Now(), key
		}
		switch last.Phase {
		case Converged:
			window := DefaultMonitor
			if uc := obs.Service.Spec.UpdateConfig; uc != nil && uc.Monitor > 0 {
				window = uc.Monitor
			}
			if time.Since(stableSince) >= window || last.Desired == 0 {
				return last, nil
			}
		case Progressing:
			if last.Running > bestRunning {
				bestRunning, lastProgress = last.Running, time.Now()
			}
			if d := opts.ProgressDeadline; d > 0 && time.Since(lastProgress) > d && !last.AllRunning {
				last.Phase, last.cause = Failed, ErrNoProgress
				last.Reason = fmt.Sprintf("%v: no task of the new spec started running for %s (progress_deadline); %d of %d slots run the new spec", ErrNoProgress, d, last.Running, last.Desired)
				last.Failures = append(last.Failures, last.Pending...)
				return last, e.rolloutError(ctx, obs, last)
			}
		case Failed:
			return last, e.rolloutError(ctx, obs, last)
		}
		select {
		case <-ctx.Done():
			return last, &TimeoutError{Service: obs.Service.Spec.Name, Verdict: last, Err: ctx.Err()}
		case <-tick.C:
		}
	}
}

// runningKey identifies the set of running up-to-date tasks, so a replaced task restarts the
// stability window.
func runningKey(tasks []swarm.Task) string {
	var ids []string
	for _, t := range tasks {
		if t.Status.State == swarm.TaskStateRunning && t.DesiredState == swarm.TaskStateRunning {
			ids = append(ids, t.ID)
		}
	}
	sort.Strings(ids)
	return strings.Join(ids, ",")
}

func (e *Engine) observeService(ctx context.Context, id string, since time.Time) (Observation, error) {
	o := Observation{Since: since, Nodes: map[string]swarm.Node{}}
	svc, _, err := e.cli.ServiceInspectWithRaw(ctx, id, swarm.ServiceInspectOptions{})
	if err != nil {
		return o, e.wrap("inspect service "+id, err)
	}
	o.Service = svc
	o.UpToDate, err = e.cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", svc.ID), filters.Arg("_up-to-date", "true"))})
	if err != nil {
		return o, e.wrap("list tasks", err)
	}
	o.All, err = e.cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", svc.ID))})
	if err != nil {
		return o, e.wrap("list tasks", err)
	}
	nodes, err := e.cli.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return o, e.wrap("list nodes", err)
	}
	for _, n := range nodes {
		o.Nodes[n.ID] = n
	}
	return o, nil
}

// rolloutError builds the error for a failed rollout with the failing tasks' exit codes,
// messages and log tails.
func (e *Engine) rolloutError(ctx context.Context, o Observation, v Verdict) error {
	re := &RolloutError{Service: o.Service.Spec.Name, Reason: v.Reason, NoProgress: errors.Is(v.cause, ErrNoProgress)}
	for i, t := range v.Failures {
		if i == 3 {
			break
		}
		r := TaskReport{ID: t.ID, Slot: t.Slot, State: string(t.Status.State), Message: t.Status.Err, Node: t.NodeID}
		if r.Node == "" {
			r.Node = "(not scheduled)"
		}
		if r.Message == "" {
			r.Message = t.Status.Message
		}
		if n, ok := o.Nodes[t.NodeID]; ok && n.Description.Hostname != "" {
			r.Node = n.Description.Hostname
		}
		if cs := t.Status.ContainerStatus; cs != nil && cs.ContainerID != "" && t.Status.State != swarm.TaskStateRejected {
			r.ExitCode, r.Exited = cs.ExitCode, true
		}
		if t.Status.State == swarm.TaskStateComplete {
			r.Message = "the container exited while the service should keep running"
			if cs := t.Status.ContainerStatus; cs != nil {
				if h := e.lastHealthOutput(ctx, cs.ContainerID); h != "" {
					r.Message += "; Swarm stopped it after its healthcheck failed: " + h
				}
			}
		}
		r.LogTail = e.taskLogTail(ctx, t.ID, 10)
		re.Tasks = append(re.Tasks, r)
	}
	return re
}

// lastHealthOutput returns the last failing healthcheck output of a container, when the
// container is on the node the engine talks to and was unhealthy.
func (e *Engine) lastHealthOutput(ctx context.Context, containerID string) string {
	if containerID == "" {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c, err := e.cli.ContainerInspect(ctx, containerID)
	if err != nil || c.State == nil || c.State.Health == nil || c.State.Health.Status != "unhealthy" {
		return ""
	}
	logs := c.State.Health.Log
	if len(logs) == 0 {
		return "unhealthy"
	}
	l := logs[len(logs)-1]
	return fmt.Sprintf("exit code %d, output %q", l.ExitCode, strings.TrimSpace(l.Output))
}

func (e *Engine) taskLogTail(ctx context.Context, taskID string, lines int) []string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rc, err := e.cli.TaskLogs(ctx, taskID, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: fmt.Sprint(lines)})
	if err != nil {
		return nil
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil && !errors.Is(err, context.DeadlineExceeded) && out.Len() == 0 {
		return nil
	}
	var res []string
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		if l := strings.TrimRight(sc.Text(), "\r"); l != "" {
			res = append(res, l)
		}
	}
	if len(res) > lines {
		res = res[len(res)-lines:]
	}
	return res
}
