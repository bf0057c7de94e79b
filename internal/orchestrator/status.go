package orchestrator

// Service status: how many of a service's tasks should run, run and are healthy, where its
// last rollout stands, and which of its tasks failed lately. StatusOf decides it from one
// observation (the service, every task, the nodes); Engine.ServiceStatus takes that
// observation from the shared snapshot, so the status of N services costs one list call per
// kind (services, tasks, nodes), not a task list per service.

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

const (
	// RecentErrorsMax is how many failed tasks a status reports at most, newest first.
	RecentErrorsMax = 5
	// RecentErrorsWindow is how far back a status reports failed tasks, by the time they
	// failed. (Swarm itself keeps only the last few ended tasks of each slot.)
	RecentErrorsWindow = 15 * time.Minute
)

// ServiceRef names a service by exactly one of its ID or its name.
type ServiceRef struct {
	ID, Name string
}

func (r ServiceRef) String() string {
	if r.ID != "" {
		return "with ID " + r.ID
	}
	return fmt.Sprintf("named %q", r.Name)
}

// FindService returns the service with exactly that ID, or exactly that name, from the shared
// snapshot. Unlike Service, an ID is never taken for a name nor a name for an ID.
func (e *Engine) FindService(ctx context.Context, ref ServiceRef) (*ServiceState, error) {
	list, err := e.Services(ctx)
	if err != nil {
		return nil, err
	}
	for _, svc := range list {
		if ref.ID != "" && svc.ID == ref.ID || ref.ID == "" && svc.Spec.Name == ref.Name {
			return stateOf(svc), nil
		}
	}
	return nil, fmt.Errorf("no service %s: %w", ref, ErrNotFound)
}

// ServiceStatus is how a service is doing now.
type ServiceStatus struct {
	ID, Name string
	// Mode is the service's mode (ModeOf); a job's counts are Swarm's own (see StatusOf).
	Mode   string
	Global bool
	// Desired is the number of tasks that should run: the replica count of a replicated
	// service; for a global service, the nodes (not down) on which a task is meant to run.
	Desired int
	// Running counts the slots (nodes, for a global service) whose task meant to run is running.
	Running int
	// Healthy counts the running tasks that are healthy (see StatusOf).
	Healthy int
	// Completed counts a job's tasks that completed in its current run; 0 for a service.
	Completed int
	// Failed counts a job's tasks that failed in its current run (JobRunOf); 0 for a service,
	// whose failures are RecentErrors.
	Failed int
	// UpdateState and UpdateMessage are Swarm's record of the last rollout ("" before any).
	UpdateState   swarm.UpdateState
	UpdateMessage string
	// RecentErrors are the service's tasks that failed within RecentErrorsWindow, newest
	// first, at most RecentErrorsMax.
	RecentErrors []TaskReport
	// OK says the service is healthy: every desired task is healthy, and its last rollout
	// neither stopped on a failure nor was rolled back.
	OK bool
	// Summary says the same in one line for a person, e.g. in a check block's error message.
	Summary string
}

// StatusOf decides a service's status from one observation: every task of the swarm (or of the
// service), the nodes by ID, and the time now on the manager's clock.
//
// A task counts when it is meant to run and is not on a node that is down (Swarm cannot run or
// reach it there), once per slot (per node, for a global service), as `docker service ls` and
// the engine's convergence count. A running task is healthy:
//   - where the service has a healthcheck, as soon as it runs: Swarm reports such a task as
//     running only once its healthcheck has passed, and stops it (the task fails) when the
//     healthcheck fails afterwards;
//   - where it has none (or disables the image's with ["NONE"]), once it has been running for
//     the service's update monitor window (rolling_update.monitor, 5s by default): the time
//     Swarm's updater watches a new task before it counts it as good. There is no other sign
//     of health, and a container that crashes at once and is restarted is then never counted.
//
// A job's tasks run to completion: its counts are Swarm's own for its current run (as `docker
// service ls` shows them), the tasks it wants, runs and has completed, and a task that runs or
// completed counts as healthy. A job's completed tasks are no failures.
//
// OK is Healthy >= Desired, with no rollout paused, rolling back or rolled back.
func StatusOf(svc swarm.Service, tasks []swarm.Task, nodes map[string]swarm.Node, now time.Time) ServiceStatus {
	st := ServiceStatus{ID: svc.ID, Name: svc.Spec.Name, Mode: ModeOf(svc.Spec), Global: svc.Spec.Mode.Global != nil}
	if us := svc.UpdateStatus; us != nil {
		st.UpdateState, st.UpdateMessage = us.State, us.Message
	}
	settle := updateConfigOf(svc.Spec).Monitor
	if hasHealthcheck(svc.Spec) {
		settle = 0
	}
	job := IsJob(svc.Spec)
	wanted, running, healthy := map[string]bool{}, map[string]bool{}, map[string]bool{}
	var failed []swarm.Task
	for _, t := range tasks {
		if t.ServiceID != svc.ID {
			continue
		}
		if isFailedState(t.Status.State) && !(job && t.Status.State == swarm.TaskStateComplete) && now.Sub(t.Status.Timestamp) <= RecentErrorsWindow {
			failed = append(failed, t)
		}
		if job || t.DesiredState != swarm.TaskStateRunning || nodeDown(nodes, t.NodeID) {
			continue
		}
		key := fmt.Sprintf("slot %d", t.Slot)
		if st.Global || t.Slot == 0 {
			key = "node " + t.NodeID
		}
		wanted[key] = true
		if t.Status.State == swarm.TaskStateRunning {
			running[key] = true
			if now.Sub(t.Status.Timestamp) >= settle {
				healthy[key] = true
			}
		}
	}
	switch {
	case svc.Spec.Mode.Replicated != nil && svc.Spec.Mode.Replicated.Replicas != nil:
		st.Desired = int(*svc.Spec.Mode.Replicated.Replicas)
	case st.Global:
		st.Desired = len(wanted)
	}
	st.Running, st.Healthy = len(running), len(healthy)
	if ss := svc.ServiceStatus; job && ss != nil {
		st.Desired, st.Running, st.Completed = int(ss.DesiredTasks), int(ss.RunningTasks), int(ss.CompletedTasks)
		st.Healthy = min(st.Running+st.Completed, st.Desired)
	}
	if job {
		st.Failed = JobRunOf(svc, tasks, nodes).Failed
	}

	sort.SliceStable(failed, func(i, j int) bool { return failed[i].Status.Timestamp.After(failed[j].Status.Timestamp) })
	for i, t := range failed {
		if i == RecentErrorsMax {
			break
		}
		st.RecentErrors = append(st.RecentErrors, reportTask(t, nodes))
	}
	st.OK = st.Healthy >= st.Desired && !rolloutTroubled(st.UpdateState)
	st.Summary = st.summary()
	return st
}

// rolloutTroubled says whether the last rollout stopped on a failure or was undone.
func rolloutTroubled(s swarm.UpdateState) bool {
	switch s {
	case swarm.UpdateStatePaused, swarm.UpdateStateRollbackStarted, swarm.UpdateStateRollbackPaused, swarm.UpdateStateRollbackCompleted:
		return true
	}
	return false
}

// hasHealthcheck says whether the service's spec sets a healthcheck of its own. (One built into
// the image cannot be seen here; its tasks are judged by the monitor window.)
func hasHealthcheck(spec swarm.ServiceSpec) bool {
	cs := spec.TaskTemplate.ContainerSpec
	return cs != nil && cs.Healthcheck != nil && len(cs.Healthcheck.Test) > 0 && cs.Healthcheck.Test[0] != "NONE"
}

func (st ServiceStatus) summary() string {
	var b strings.Builder
	switch st.Mode {
	case ModeReplicatedJob, ModeGlobalJob:
		fmt.Fprintf(&b, "job %s (%s): %d of %d tasks completed, %d running", st.Name, st.Mode, st.Completed, st.Desired, st.Running)
	default:
		fmt.Fprintf(&b, "service %s: %d of %d replicas healthy", st.Name, st.Healthy, st.Desired)
		if st.Running != st.Healthy {
			fmt.Fprintf(&b, " (%d running)", st.Running)
		}
	}
	if rolloutTroubled(st.UpdateState) {
		fmt.Fprintf(&b, "; last rollout %s", strings.ReplaceAll(string(st.UpdateState), "_", " "))
		if st.UpdateMessage != "" {
			fmt.Fprintf(&b, ": %s", st.UpdateMessage)
		}
	}
	if !st.OK && len(st.RecentErrors) > 0 {
		r := st.RecentErrors[0]
		where := fmt.Sprintf("slot %d", r.Slot)
		if r.Slot == 0 {
			where = "global task"
		}
		exit := ""
		if r.Exited {
			exit = fmt.Sprintf(", exit code %d", r.ExitCode)
		}
		fmt.Fprintf(&b, "; latest failure: task %s (%s on node %s) %s%s", shortID(r.ID), where, r.Node, r.State, exit)
		if r.Message != "" {
			fmt.Fprintf(&b, ": %s", r.Message)
		}
	}
	return b.String()
}

// ServiceStatus reads the status of one service from the shared snapshot.
func (e *Engine) ServiceStatus(ctx context.Context, ref ServiceRef) (ServiceStatus, error) {
	st, err := e.FindService(ctx, ref)
	if err != nil {
		return ServiceStatus{}, err
	}
	tasks, err := e.Tasks(ctx)
	if err != nil {
		return ServiceStatus{}, err
	}
	nodes, err := e.Nodes(ctx)
	if err != nil {
		return ServiceStatus{}, err
	}
	return StatusOf(st.Service, tasks, nodesByID(nodes), e.clock.before(time.Now())), nil
}

func nodesByID(nodes []swarm.Node) map[string]swarm.Node {
	out := make(map[string]swarm.Node, len(nodes))
	for _, n := range nodes {
		out[n.ID] = n
	}
	return out
}
