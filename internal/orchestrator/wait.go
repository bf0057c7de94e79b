package orchestrator

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/pkg/stdcopy"
)

// WaitOptions tune WaitConverged.
type WaitOptions struct {
	// ProgressDeadline fails the wait when no task of the new spec has started running for this
	// long (Swarm has no such deadline); with failure_action "rollback" the service is rolled
	// back first. Zero means none.
	ProgressDeadline time.Duration
	// Progress, when set, is told each verdict whose reason differs from the one before, for
	// progress messages while the wait goes on (an action's progress events).
	Progress func(Verdict)
	// Rollback says the write waited for is a rollback someone asked for (RollbackService):
	// Swarm's rollback_completed is then its success, not a failed update.
	Rollback bool
}

// NeedsWait says whether a write changed anything that tasks must converge to: a new service,
// a scale or a rollout. Metadata (labels, update settings) restarts no task.
func (r WriteResult) NeedsWait() bool {
	return r.Outcome != OutcomeUnchanged && r.Kind != ChangeNone && r.Kind != ChangeMetadata
}

// WaitConverged follows what the write res set in motion until Evaluate says converged or
// failed, or ctx ends. It only observes (every PollInterval), measures how long the tasks have
// been stable and how long progress has stalled, and does what the verdict asks: a rollback
// when the failure action calls for one that Swarm will not make itself. The returned verdict
// says how the service was left.
func (e *Engine) WaitConverged(ctx context.Context, res WriteResult, opts WaitOptions) (Verdict, error) {
	defer e.Invalidate()
	tick := time.NewTicker(e.PollInterval)
	defer tick.Stop()
	var (
		last        Verdict
		clock       rolloutClock
		cause       string
		causeFailed []swarm.Task
		nudged      = map[string]bool{}
		warnings    []string
	)
	for {
		poll, err := e.pollRollout(ctx, res.ID, res.Since)
		if err != nil {
			if ctx.Err() != nil {
				return last, &TimeoutError{Service: res.ID, Verdict: last, Err: ctx.Err()}
			}
			// A service removed between the inspect and the task lists: the daemon refuses a
			// task filter that names it ("service ... not found"). Its absence is the truth.
			if gone := e.removedMeanwhile(ctx, res.ID); gone != nil && !errors.Is(err, ErrNotFound) {
				return last, gone
			}
			return last, err
		}
		poll.Rollout = res.Outcome == OutcomeUpdated && res.Kind == ChangeTaskTemplate
		poll.ProgressDeadline = opts.ProgressDeadline
		poll.RollbackCause = cause
		poll.RollbackAsked = opts.Rollback
		poll.Stable, poll.Stalled = clock.measure(poll, time.Now())
		reason := last.Reason
		last = Evaluate(poll)
		last.Warnings = slices.Concat(warnings, last.Warnings)
		if opts.Progress != nil && last.Reason != reason {
			opts.Progress(last)
		}
		if stranded := unseen(StrandedOnDownNode(poll), nudged); last.Phase != Failed && len(stranded) > 0 {
			// Swarm's updater waits for these tasks until their node is back, then may pause
			// the rollout for them; a new updater, for the slots left if any, starts when the
			// service changes. A rollout that looked converged is watched until Swarm's new
			// updater has taken over.
			if err := e.restartRollout(ctx, res.ID, stranded); err != nil {
				return last, err
			}
			hosts := map[string]bool{}
			for _, t := range stranded {
				nudged[t.ID] = true
				hosts[nodeName(poll.Nodes[t.NodeID])] = true
			}
			warnings = append(warnings, fmt.Sprintf("Node %s went down while a task of the new spec was starting on it; Swarm's rollout waits for such a task until the node is back, "+
				"then counts it as failed, so the engine restarted the rollout (label %s on the service; the task template is unchanged) and it went on without it.", strings.Join(slices.Sorted(maps.Keys(hosts)), ", "), RestartedRolloutLabel))
			if last.Phase == Converged {
				last.Phase, last.Reason = Progressing, "every slot runs the new spec; waiting for Swarm's restarted rollout"
			}
		}
		switch {
		case last.Phase == Converged:
			if res.Outcome == OutcomeUpdated {
				// Versions of rotating secrets and configs the service moved off are
				// removed once no service uses them; a failure here fails nothing.
				if err := e.CollectSuperseded(context.WithoutCancel(ctx), res.MovedOff); err != nil {
					last.Warnings = append(last.Warnings, "superseded secrets or configs could not be removed (the next rotation tries again): "+err.Error())
				}
			}
			return last, nil
		case last.Phase == Failed:
			// A service removed between the inspect and the task lists reads as failed: its
			// tasks are being shut down. Its absence is the truth to report.
			if err := e.removedMeanwhile(ctx, res.ID); err != nil {
				return last, err
			}
			last.Failures = append(causeFailed, last.Failures...)
			return last, e.rolloutError(ctx, poll, last)
		case last.RequestRollback:
			cause, causeFailed = last.Reason, last.Failures
			if _, err := e.rollBack(ctx, res.ID); err != nil {
				if gone := e.removedMeanwhile(ctx, res.ID); gone != nil {
					return last, gone
				}
				last.Phase, last.Ending = Failed, EndingFailed
				last.Reason += "; asking Swarm to roll back failed: " + err.Error()
				return last, e.rolloutError(ctx, poll, last)
			}
			clock = rolloutClock{} // the rollback is a rollout of its own
		}
		select {
		case <-ctx.Done():
			return last, &TimeoutError{Service: poll.Service.Spec.Name, Verdict: last, Err: ctx.Err(), Job: IsJob(poll.Service.Spec)}
		case <-tick.C:
		}
	}
}

// removedMeanwhile returns ErrNotFound when the service no longer exists, and nil otherwise
// (including when it cannot tell: the failure then stands as observed).
func (e *Engine) removedMeanwhile(ctx context.Context, id string) error {
	_, _, err := e.cli.ServiceInspectWithRaw(ctx, id, swarm.ServiceInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return fmt.Errorf("service %s was removed while waiting for it: %w", id, ErrNotFound)
	}
	return nil
}

// rolloutClock turns successive observations into the two durations the verdict needs.
type rolloutClock struct {
	stableSince, lastProgress time.Time
	stableTasks               string
	bestRunning               int
	started                   bool
}

// measure returns how long every slot has run the same up-to-date tasks (zero unless all
// slots do) and how long the count of running slots has not grown.
func (c *rolloutClock) measure(o RolloutPoll, now time.Time) (stable, stalled time.Duration) {
	if IsJob(o.Service.Spec) {
		return c.measureJob(o, now)
	}
	desired, running, pending := countSlots(o)
	if !c.started || running > c.bestRunning {
		c.started, c.bestRunning, c.lastProgress = true, running, now
	}
	if running < desired || len(pending) > 0 {
		c.stableSince, c.stableTasks = time.Time{}, ""
		return 0, now.Sub(c.lastProgress)
	}
	if key := runningKey(o.UpToDate); key != c.stableTasks || c.stableSince.IsZero() {
		c.stableSince, c.stableTasks = now, key
	}
	return now.Sub(c.stableSince), now.Sub(c.lastProgress)
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

// rollBack asks Swarm to roll the service back to its previous spec, as `docker service
// rollback` does. Swarm's updater may write the service's update status meanwhile; the
// version check then makes writeService read again and retry. A rollback whose answer was
// lost is not asked for again once the service is rolling back: a second one would roll
// forward.
func (e *Engine) rollBack(ctx context.Context, id string) (WriteResult, error) {
	res := WriteResult{ID: id, Outcome: OutcomeUnchanged, Kind: ChangeNone}
	err := e.writeService(ctx, id, swarm.ServiceUpdateOptions{Rollback: "previous"}, &res, rollingBack, func(observed swarm.Service) (swarm.ServiceSpec, bool, error) {
		if observed.PreviousSpec != nil {
			res.Kind = Classify(observed.Spec, *observed.PreviousSpec)
		}
		return observed.Spec, true, nil
	})
	return res, err
}

// RestartedRolloutLabel records on a service the tasks stranded on a down node for which the
// engine restarted its rollout; its value is "1:" (the format) and their IDs, comma-separated.
const RestartedRolloutLabel = EngineLabelPrefix + "restarted-rollout"

// restartRollout makes Swarm start a new updater for the slots its rollout has left: Swarm
// keeps the running updater while the service's spec stays the same, so the spec changes in
// one engine-owned label, not in the task template (no task restarts for it).
func (e *Engine) restartRollout(ctx context.Context, id string, stranded []swarm.Task) error {
	var ids []string
	for _, t := range stranded {
		ids = append(ids, t.ID)
	}
	value := "1:" + strings.Join(ids, ",")
	var res WriteResult
	return e.writeService(ctx, id, swarm.ServiceUpdateOptions{}, &res, func(observed swarm.Service, _ swarm.ServiceSpec) bool {
		return observed.Spec.Labels[RestartedRolloutLabel] == value
	}, func(observed swarm.Service) (swarm.ServiceSpec, bool, error) {
		desired := observed.Spec
		desired.Labels = maps.Clone(observed.Spec.Labels)
		if desired.Labels == nil {
			desired.Labels = map[string]string{}
		}
		desired.Labels[RestartedRolloutLabel] = value
		return desired, true, nil
	})
}

// unseen returns the tasks not in seen.
func unseen(tasks []swarm.Task, seen map[string]bool) []swarm.Task {
	var out []swarm.Task
	for _, t := range tasks {
		if !seen[t.ID] {
			out = append(out, t)
		}
	}
	return out
}

// rollingBack says a lost rollback landed: the service is rolling back, or has.
func rollingBack(observed swarm.Service, _ swarm.ServiceSpec) bool {
	us := observed.UpdateStatus
	return us != nil && (us.State == swarm.UpdateStateRollbackStarted || us.State == swarm.UpdateStateRollbackPaused || us.State == swarm.UpdateStateRollbackCompleted)
}

func (e *Engine) pollRollout(ctx context.Context, id string, since time.Time) (RolloutPoll, error) {
	o := RolloutPoll{Since: since, Nodes: map[string]swarm.Node{}}
	svc, err := read(ctx, e, "inspect service "+id, func(ctx context.Context) (swarm.Service, error) {
		svc, _, err := e.cli.ServiceInspectWithRaw(ctx, id, swarm.ServiceInspectOptions{})
		return svc, err
	})
	if cerrdefs.IsNotFound(err) {
		return o, fmt.Errorf("service %s was removed while waiting for it: %w", id, ErrNotFound)
	}
	if err != nil {
		return o, err
	}
	o.Service = svc
	tasks := func(args ...filters.KeyValuePair) func(context.Context) ([]swarm.Task, error) {
		return func(ctx context.Context) ([]swarm.Task, error) {
			return e.cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(args...)})
		}
	}
	if o.UpToDate, err = read(ctx, e, "list tasks", tasks(filters.Arg("service", svc.ID), filters.Arg("_up-to-date", "true"))); err != nil {
		return o, err
	}
	if o.All, err = read(ctx, e, "list tasks", tasks(filters.Arg("service", svc.ID))); err != nil {
		return o, err
	}
	nodes, err := read(ctx, e, "list nodes", func(ctx context.Context) ([]swarm.Node, error) { return e.cli.NodeList(ctx, swarm.NodeListOptions{}) })
	if err != nil {
		return o, err
	}
	for _, n := range nodes {
		o.Nodes[n.ID] = n
	}
	return o, nil
}

// RolloutError is a rollout that failed, naming the tasks that failed and why.
type RolloutError struct {
	Service string
	Reason  string
	// Ending says how the failure left the service.
	Ending Ending
	Tasks  []TaskReport
	// Unschedulable says some task waits because no node may run it (Swarm's "no suitable
	// node": constraints, reservations, max replicas per node, or no active node).
	Unschedulable bool
	// Mode is the service's mode (ModeOf); a job's error names it a job, and its tasks by
	// completion slot.
	Mode string
}

// Job says the error is a job's.
func (e *RolloutError) Job() bool { return e.Mode == ModeReplicatedJob || e.Mode == ModeGlobalJob }

// TaskReport describes one failed task for a human.
type TaskReport struct {
	ID string
	// Service is the task's service, where the report concerns several.
	Service  string
	Slot     int
	Node     string
	State    string
	ExitCode int
	// Exited is whether a container ran and exited (ExitCode is then meaningful).
	Exited  bool
	Message string
	// At is when the task reached State, on the manager's clock.
	At      time.Time
	LogTail []string
}

// reportTask describes a failed task from what the task list says: the node by host name
// where it is known, the exit code where a container ran, and Swarm's error, else its message.
func reportTask(t swarm.Task, nodes map[string]swarm.Node) TaskReport {
	r := TaskReport{ID: t.ID, Slot: t.Slot, State: string(t.Status.State), Message: t.Status.Err, Node: t.NodeID, At: t.Status.Timestamp}
	if r.Node == "" {
		r.Node = "(not scheduled)"
	}
	if r.Message == "" {
		r.Message = t.Status.Message
	}
	if n, ok := nodes[t.NodeID]; ok && n.Description.Hostname != "" {
		r.Node = n.Description.Hostname
	}
	if cs := t.Status.ContainerStatus; cs != nil && cs.ContainerID != "" && t.Status.State != swarm.TaskStateRejected {
		r.ExitCode, r.Exited = cs.ExitCode, true
	}
	if t.Status.State == swarm.TaskStateComplete {
		r.Message = "the container exited while the service should keep running"
	}
	return r
}

func (e *RolloutError) Error() string {
	var b strings.Builder
	noun := "service"
	if e.Job() {
		noun = "job"
	}
	fmt.Fprintf(&b, "%s %s: %s", noun, e.Service, e.Reason)
	for _, t := range e.Tasks {
		where := fmt.Sprintf("slot %d", t.Slot)
		switch {
		case e.Mode == ModeReplicatedJob:
			where = fmt.Sprintf("completion slot %d", t.Slot)
		case e.Mode == ModeGlobalJob || t.Slot == 0:
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
	// Job says the wait was for a job's run.
	Job bool
}

func (e *TimeoutError) Error() string {
	msg := fmt.Sprintf("service %s: gave up waiting for convergence (%d of %d slots running the new spec): %v", e.Service, e.Verdict.Running, e.Verdict.Desired, e.Err)
	if e.Job {
		msg = fmt.Sprintf("job %s: gave up waiting for the run to complete (%d of %d completions reached, %d task(s) running): %v", e.Service, e.Verdict.Completed, e.Verdict.Desired, e.Verdict.Running, e.Err)
	}
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

// rolloutError builds the error for a failed rollout with the failing tasks' exit codes,
// messages and log tails.
func (e *Engine) rolloutError(ctx context.Context, o RolloutPoll, v Verdict) error {
	re := &RolloutError{Service: o.Service.Spec.Name, Reason: v.Reason, Ending: v.Ending, Mode: ModeOf(o.Service.Spec)}
	seen := map[string]bool{}
	for _, t := range v.Failures {
		if len(re.Tasks) == 3 {
			break
		}
		if seen[t.ID] {
			continue
		}
		seen[t.ID] = true
		r := reportTask(t, o.Nodes)
		if cs := t.Status.ContainerStatus; cs != nil && t.Status.State == swarm.TaskStateComplete {
			if h := e.lastHealthOutput(ctx, cs.ContainerID); h != "" {
				r.Message += "; Swarm stopped it after its healthcheck failed: " + h
			}
		}
		if awaitsNode(t) {
			// Tasks no node can ever run say why in the reason; for the others, what a person
			// can change on the nodes may help.
			re.Unschedulable = re.Unschedulable || len(Unplaceable(t.Spec, o.Nodes)) == 0
		} else {
			r.LogTail = e.taskLogTail(ctx, t.ID, 10)
		}
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
