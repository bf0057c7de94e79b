package orchestrator

// Jobs: services whose tasks run to completion (modes replicated-job and global-job). Swarm
// runs a job once when it is created and again, as a new iteration, whenever its spec is
// written; the tasks of earlier iterations are history. JobRunOf says where the current run
// stands from one observation; Evaluate uses it for the verdict of a wait on a job, and the
// adapters record it as the job's outcome.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
)

// The status of a job's run.
const (
	JobRunning   = "running"
	JobCompleted = "completed"
	JobFailed    = "failed"
)

// JobRun is a job's current run: the iteration Swarm runs now, and how far it got.
type JobRun struct {
	// Iteration is Swarm's counter of the job's runs (JobStatus.JobIteration).
	Iteration uint64
	// Started is when Swarm started the run; Ended, when its last task ended, once the run
	// completed or failed (zero while it runs).
	Started, Ended time.Time
	// Desired is the completions the run needs: total_completions of a replicated job; for a
	// global job, one per node that may run it.
	Desired int
	// Completed counts the slots (nodes, for a global job) whose task exited 0; Running, the
	// tasks running now; Failed, the tasks of the run that failed.
	Completed, Running, Failed int
	// Status is JobCompleted once every completion is reached, JobFailed when a task failed
	// before that, JobRunning otherwise.
	Status string
}

// jobTasks is a job's current run with the tasks the verdict reports.
type jobTasks struct {
	run JobRun
	// failed are the run's failed tasks, newest first; pending, the tasks not started yet.
	failed, pending []swarm.Task
}

// JobRunOf says where the current run of job svc stands, from the tasks (of the swarm, or of
// the job) and the nodes by ID.
func JobRunOf(svc swarm.Service, tasks []swarm.Task, nodes map[string]swarm.Node) JobRun {
	return countJob(svc, tasks, nodes).run
}

func countJob(svc swarm.Service, tasks []swarm.Task, nodes map[string]swarm.Node) jobTasks {
	var j jobTasks
	if js := svc.JobStatus; js != nil {
		j.run.Iteration, j.run.Started = js.JobIteration.Index, js.LastExecution
	}
	global := svc.Spec.Mode.GlobalJob != nil
	completed, wanted := map[string]bool{}, map[string]bool{}
	var last time.Time
	for _, t := range tasks {
		if svc.ID != "" && t.ServiceID != svc.ID || taskIteration(t) != j.run.Iteration {
			continue
		}
		key := fmt.Sprintf("slot %d", t.Slot)
		if global {
			key = t.NodeID
		}
		if !nodeDown(nodes, t.NodeID) {
			wanted[key] = true
		}
		switch s := t.Status.State; {
		case s == swarm.TaskStateComplete:
			completed[key] = true
		case s == swarm.TaskStateRunning:
			j.run.Running++
		case taskFailed(t):
			j.failed = append(j.failed, t)
		case t.DesiredState == swarm.TaskStateComplete && taskStateBefore(s, swarm.TaskStateRunning):
			j.pending = append(j.pending, t)
		}
		if (t.Status.State == swarm.TaskStateComplete || taskFailed(t)) && t.Status.Timestamp.After(last) {
			last = t.Status.Timestamp
		}
	}
	if global {
		j.run.Desired = max(len(wanted), len(EligibleNodes(nodeList(nodes), svc.Spec.TaskTemplate.Placement)))
	} else if rj := svc.Spec.Mode.ReplicatedJob; rj != nil {
		j.run.Desired = int(jobCompletions(rj))
	}
	sort.Slice(j.failed, func(a, b int) bool { return j.failed[a].Status.Timestamp.After(j.failed[b].Status.Timestamp) })
	j.run.Completed, j.run.Failed = len(completed), len(j.failed)
	switch {
	case j.run.Completed >= j.run.Desired:
		j.run.Status = JobCompleted
	case j.run.Failed > 0:
		j.run.Status = JobFailed
	default:
		j.run.Status = JobRunning
	}
	if j.run.Status != JobRunning {
		j.run.Ended = last
	}
	return j
}

// jobCompletions is how many completions a replicated job needs, as Swarm reads its mode:
// total_completions, or max_concurrent when that is not set, and at least one.
func jobCompletions(rj *swarm.ReplicatedJob) uint64 {
	switch {
	case rj.TotalCompletions != nil && *rj.TotalCompletions > 0:
		return *rj.TotalCompletions
	case rj.MaxConcurrent != nil && *rj.MaxConcurrent > 0:
		return *rj.MaxConcurrent
	}
	return 1
}

// taskIteration is the job iteration a task belongs to (0 for the first run, whose tasks carry
// none).
func taskIteration(t swarm.Task) uint64 {
	if t.JobIteration == nil {
		return 0
	}
	return t.JobIteration.Index
}

func nodeList(nodes map[string]swarm.Node) []swarm.Node {
	out := make([]swarm.Node, 0, len(nodes))
	for _, id := range slices.Sorted(maps.Keys(nodes)) {
		out = append(out, nodes[id])
	}
	return out
}

// evaluateJob is Evaluate for a job: the run converged when every completion is reached; a task
// that failed fails it at once; so do tasks no node of the swarm can ever run, and a run in
// which no task started for the progress deadline while some wait to.
func evaluateJob(o RolloutPoll) Verdict {
	j := countJob(o.Service, o.All, o.Nodes)
	v := Verdict{Desired: j.run.Desired, Running: j.run.Running, Completed: j.run.Completed, Pending: j.pending, Failures: j.failed}
	switch {
	case j.run.Failed > 0:
		return v.fail(EndingFailed, fmt.Sprintf("%d task(s) of the job failed (%d of %d completions reached)", j.run.Failed, j.run.Completed, j.run.Desired))
	case j.run.Completed >= j.run.Desired:
		v.Phase, v.AllRunning, v.Reason = Converged, true, "completed"
		return v
	}
	if stuck, causes := neverPlaced(j.pending, o.Nodes); len(causes) > 0 {
		v.Failures = append(v.Failures, stuck...)
		return v.fail(EndingUnplaceable, "no node of the swarm can ever run the job's tasks: "+strings.Join(causes, "; "))
	}
	if d := o.ProgressDeadline; d > 0 && o.Stalled > d {
		v.Failures = append(v.Failures, j.pending...)
		return v.fail(EndingNoProgress, fmt.Sprintf("no progress: no task of the job started for %s (progress_deadline) while %d wait(s) to start; %d of %d completions reached", d, len(j.pending), j.run.Completed, j.run.Desired))
	}
	v.Reason = fmt.Sprintf("%d of %d completions reached, %d task(s) running", j.run.Completed, j.run.Desired, j.run.Running)
	return v
}

// measureJob is rolloutClock.measure for a job: progress is a task that starts (or ends), and
// a run stalls only while tasks wait to start; a job has no stability window.
func (c *rolloutClock) measureJob(o RolloutPoll, now time.Time) (stable, stalled time.Duration) {
	j := countJob(o.Service, o.All, o.Nodes)
	started := j.run.Running + j.run.Completed + j.run.Failed
	if !c.started || started > c.bestRunning || len(j.pending) == 0 {
		c.started, c.bestRunning, c.lastProgress = true, max(started, c.bestRunning), now
	}
	return 0, now.Sub(c.lastProgress)
}

// JobState is a job as observed, with its current run.
type JobState struct {
	ServiceState
	Run JobRun
}

// Job returns a job by ID or name, with its current run, from the shared snapshot.
func (e *Engine) Job(ctx context.Context, idOrName string) (*JobState, error) {
	st, err := e.Service(ctx, idOrName)
	if err != nil {
		return nil, err
	}
	tasks, err := e.Tasks(ctx)
	if err != nil {
		return nil, err
	}
	nodes, err := e.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	return &JobState{ServiceState: *st, Run: JobRunOf(st.Service, tasks, nodesByID(nodes))}, nil
}

// JobApplied is what an apply step of a job did, and its run as the step left it.
type JobApplied struct {
	Applied
	// Run is the job's current run, read back with the job (zero when it could not be read).
	Run JobRun
}

// ApplyJob is one apply step of a job, the same for every adapter (the resource's create and
// update, an action that runs a job again): it writes spec to job id (creates it when id is
// empty; WriteOptions.Rerun runs it again even when nothing changed), waits for the run the
// write started (WaitConverged, whose verdict for a job is evaluateJob), and reads the job and
// its run back. Errors are ApplyService's: a *RolloutError names the failed tasks with their
// exit codes and last log lines.
func (e *Engine) ApplyJob(ctx context.Context, id string, spec swarm.ServiceSpec, opts ApplyOptions) (JobApplied, error) {
	a, err := e.ApplyService(ctx, id, spec, opts)
	j := JobApplied{Applied: a}
	if a.Service != nil {
		var rerr error
		if j.Run, rerr = e.jobRunFresh(context.WithoutCancel(ctx), a.Service.Service); rerr != nil {
			j.Service, j.ReadErr = nil, fmt.Errorf("read the run of job %s back: %w", a.Write.ID, rerr)
		}
	}
	return j, err
}

// RunJob runs job id again as it is: the day-2 operation of an action (swarm_job_run), the
// same apply step as the resource's (ApplyJob), with the job's own spec and Rerun.
func (e *Engine) RunJob(ctx context.Context, id string, wait WaitOptions) (JobApplied, error) {
	st, err := e.ServiceFresh(ctx, id)
	if err != nil {
		return JobApplied{}, err
	}
	if spec := st.Service.Spec; !IsJob(spec) {
		return JobApplied{}, fmt.Errorf("service %s runs in mode %q: its tasks keep running, so it is no job to run", spec.Name, ModeOf(spec))
	}
	return e.ApplyJob(ctx, id, st.Service.Spec, ApplyOptions{Write: WriteOptions{Rerun: true}, Converge: true, Wait: wait})
}

// jobRunFresh reads the current run of a job straight from the engine.
func (e *Engine) jobRunFresh(ctx context.Context, svc swarm.Service) (JobRun, error) {
	tasks, err := read(ctx, e, "list tasks", func(ctx context.Context) ([]swarm.Task, error) {
		return e.cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", svc.ID))})
	})
	if err != nil {
		return JobRun{}, err
	}
	nodes, err := e.listNodes(ctx)
	if err != nil {
		return JobRun{}, err
	}
	return JobRunOf(svc, tasks, nodesByID(nodes)), nil
}
