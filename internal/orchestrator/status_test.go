package orchestrator

import (
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/swarm"
)

// statusTask is a task of service "svc" that reached state at the given time; desired follows
// the state as Swarm sets it.
func statusTask(id string, slot int, node string, state swarm.TaskState, at time.Time) swarm.Task {
	t := testTask(id, slot, node, state, at)
	t.ServiceID = "svc"
	t.Status.Timestamp = at
	return t
}

func exited(t swarm.Task, code int, msg string) swarm.Task {
	t.Status.ContainerStatus = &swarm.ContainerStatus{ContainerID: "c-" + t.ID, ExitCode: code}
	t.Status.Err = msg
	return t
}

func withHealthcheck(s swarm.Service, test ...string) swarm.Service {
	s.Spec.TaskTemplate.ContainerSpec = &swarm.ContainerSpec{Healthcheck: &container.HealthConfig{Test: test}}
	return s
}

func TestStatusOf(t *testing.T) {
	now := testSince
	long, recent := now.Add(-time.Minute), now.Add(-2*time.Second)
	svc := func(s swarm.Service) swarm.Service { s.ID, s.Spec.Name = "svc", "web"; return s }
	replicated := svc(replicatedService(3))
	global := svc(swarm.Service{Spec: swarm.ServiceSpec{Mode: swarm.ServiceMode{Global: &swarm.GlobalService{}}}})
	healthchecked := withHealthcheck(replicated, "CMD", "/app", "health")
	monitor1s := replicated
	monitor1s.Spec.UpdateConfig = &swarm.UpdateConfig{Monitor: time.Second}
	other := statusTask("x", 1, "n1", swarm.TaskStateRunning, long)
	other.ServiceID = "another"

	tests := []struct {
		name                      string
		svc                       swarm.Service
		tasks                     []swarm.Task
		desired, running, healthy int
		ok                        bool
		errors                    []string // task IDs, newest first
		summary                   string
	}{
		{name: "all running for long: healthy", svc: replicated, tasks: []swarm.Task{
			statusTask("a", 1, "n1", swarm.TaskStateRunning, long), statusTask("b", 2, "n1", swarm.TaskStateRunning, long),
			statusTask("c", 3, "n2", swarm.TaskStateRunning, long), other},
			desired: 3, running: 3, healthy: 3, ok: true, summary: "service web: 3 of 3 replicas healthy"},
		{name: "no healthcheck: running for less than the monitor window is not healthy yet", svc: replicated, tasks: []swarm.Task{
			statusTask("a", 1, "n1", swarm.TaskStateRunning, long), statusTask("b", 2, "n1", swarm.TaskStateRunning, recent),
			statusTask("c", 3, "n2", swarm.TaskStateRunning, long)},
			desired: 3, running: 3, healthy: 2, summary: "service web: 2 of 3 replicas healthy (3 running)"},
		{name: "no healthcheck: the service's own monitor window", svc: monitor1s, tasks: []swarm.Task{
			statusTask("a", 1, "n1", swarm.TaskStateRunning, long), statusTask("b", 2, "n1", swarm.TaskStateRunning, recent),
			statusTask("c", 3, "n2", swarm.TaskStateRunning, long)},
			desired: 3, running: 3, healthy: 3, ok: true},
		{name: "healthcheck: running means healthy at once", svc: healthchecked, tasks: []swarm.Task{
			statusTask("a", 1, "n1", swarm.TaskStateRunning, long), statusTask("b", 2, "n1", swarm.TaskStateRunning, recent),
			statusTask("c", 3, "n2", swarm.TaskStateStarting, recent)},
			desired: 3, running: 2, healthy: 2},
		{name: "healthcheck NONE counts as none", svc: withHealthcheck(replicated, "NONE"), tasks: []swarm.Task{
			statusTask("a", 1, "n1", swarm.TaskStateRunning, recent)},
			desired: 3, running: 1, healthy: 0},
		{name: "two running tasks of one slot (start-first) count once; old ones do not count", svc: replicated, tasks: []swarm.Task{
			statusTask("a", 1, "n1", swarm.TaskStateRunning, long), statusTask("a2", 1, "n1", swarm.TaskStateRunning, long),
			statusTask("old", 2, "n1", swarm.TaskStateShutdown, long)},
			desired: 3, running: 1, healthy: 1},
		{name: "failures: newest first, within the window, at most five", svc: replicated, tasks: []swarm.Task{
			exited(statusTask("f1", 1, "n1", swarm.TaskStateFailed, now.Add(-1*time.Minute)), 3, "task: non-zero exit (3)"),
			exited(statusTask("f2", 1, "n1", swarm.TaskStateFailed, now.Add(-2*time.Minute)), 3, "task: non-zero exit (3)"),
			exited(statusTask("f3", 1, "n1", swarm.TaskStateFailed, now.Add(-3*time.Minute)), 3, "task: non-zero exit (3)"),
			statusTask("r4", 2, "", swarm.TaskStateRejected, now.Add(-30*time.Second)),
			exited(statusTask("f5", 1, "n1", swarm.TaskStateFailed, now.Add(-5*time.Minute)), 3, "task: non-zero exit (3)"),
			exited(statusTask("f6", 1, "n1", swarm.TaskStateFailed, now.Add(-6*time.Minute)), 3, "task: non-zero exit (3)"),
			exited(statusTask("old", 1, "n1", swarm.TaskStateFailed, now.Add(-time.Hour)), 3, "task: non-zero exit (3)"),
			statusTask("b", 2, "n1", swarm.TaskStateRunning, long), statusTask("c", 3, "n1", swarm.TaskStateRunning, long)},
			desired: 3, running: 2, healthy: 2, errors: []string{"r4", "f1", "f2", "f3", "f5"},
			summary: "service web: 2 of 3 replicas healthy; latest failure: task r4 (slot 2 on node (not scheduled)) rejected"},
		{name: "a recent failure does not make a recovered service unhealthy", svc: replicated, tasks: []swarm.Task{
			exited(statusTask("f1", 1, "n1", swarm.TaskStateFailed, now.Add(-time.Minute)), 3, "task: non-zero exit (3)"),
			statusTask("a", 1, "n1", swarm.TaskStateRunning, long), statusTask("b", 2, "n1", swarm.TaskStateRunning, long),
			statusTask("c", 3, "n2", swarm.TaskStateRunning, long)},
			desired: 3, running: 3, healthy: 3, ok: true, errors: []string{"f1"}, summary: "service web: 3 of 3 replicas healthy"},
		{name: "paused rollout is not healthy even with every task running", svc: withUpdateStatus(replicated, swarm.UpdateStatePaused, long), tasks: []swarm.Task{
			statusTask("a", 1, "n1", swarm.TaskStateRunning, long), statusTask("b", 2, "n1", swarm.TaskStateRunning, long),
			statusTask("c", 3, "n2", swarm.TaskStateRunning, long)},
			desired: 3, running: 3, healthy: 3, summary: "service web: 3 of 3 replicas healthy; last rollout paused: msg"},
		{name: "rolled back is not healthy", svc: withUpdateStatus(replicated, swarm.UpdateStateRollbackCompleted, long), tasks: []swarm.Task{
			statusTask("a", 1, "n1", swarm.TaskStateRunning, long), statusTask("b", 2, "n1", swarm.TaskStateRunning, long),
			statusTask("c", 3, "n2", swarm.TaskStateRunning, long)},
			desired: 3, running: 3, healthy: 3},
		{name: "completed rollout is healthy", svc: withUpdateStatus(replicated, swarm.UpdateStateCompleted, long), tasks: []swarm.Task{
			statusTask("a", 1, "n1", swarm.TaskStateRunning, long), statusTask("b", 2, "n1", swarm.TaskStateRunning, long),
			statusTask("c", 3, "n2", swarm.TaskStateRunning, long)},
			desired: 3, running: 3, healthy: 3, ok: true},
		{name: "global: one per node meant to run; a down node does not count", svc: global, tasks: []swarm.Task{
			statusTask("a", 0, "n1", swarm.TaskStateRunning, long), statusTask("b", 0, "n2", swarm.TaskStatePreparing, recent),
			statusTask("c", 0, "down", swarm.TaskStateRunning, long)},
			desired: 2, running: 1, healthy: 1},
		{name: "zero replicas is healthy", svc: svc(replicatedService(0)), desired: 0, ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := StatusOf(tt.svc, tt.tasks, testNodes, now)
			if st.Desired != tt.desired || st.Running != tt.running || st.Healthy != tt.healthy || st.OK != tt.ok {
				t.Errorf("desired/running/healthy/ok = %d/%d/%d/%v, want %d/%d/%d/%v (%s)", st.Desired, st.Running, st.Healthy, st.OK, tt.desired, tt.running, tt.healthy, tt.ok, st.Summary)
			}
			var ids []string
			for _, r := range st.RecentErrors {
				ids = append(ids, r.ID)
			}
			if strings.Join(ids, ",") != strings.Join(tt.errors, ",") {
				t.Errorf("recent errors %v, want %v", ids, tt.errors)
			}
			if tt.summary != "" && st.Summary != tt.summary {
				t.Errorf("summary\n%q, want\n%q", st.Summary, tt.summary)
			}
		})
	}
}

func TestStatusReportsTasks(t *testing.T) {
	now := testSince
	nodes := map[string]swarm.Node{"n1": {ID: "n1", Description: swarm.NodeDescription{Hostname: "vm1"}}}
	svc := replicatedService(1)
	svc.ID, svc.Spec.Name = "svc", "web"
	tasks := []swarm.Task{
		exited(statusTask("0123456789abcdef", 1, "n1", swarm.TaskStateFailed, now.Add(-time.Second)), 3, "task: non-zero exit (3)"),
		func() swarm.Task {
			r := statusTask("rejected", 1, "", swarm.TaskStateRejected, now.Add(-2*time.Second))
			r.Status.Err = "No such image: nope:1"
			return r
		}(),
		exited(statusTask("done", 1, "n1", swarm.TaskStateComplete, now.Add(-3*time.Second)), 0, ""),
	}
	st := StatusOf(svc, tasks, nodes, now)
	if len(st.RecentErrors) != 3 {
		t.Fatalf("got %d errors, want 3", len(st.RecentErrors))
	}
	f, r, c := st.RecentErrors[0], st.RecentErrors[1], st.RecentErrors[2]
	if !f.Exited || f.ExitCode != 3 || f.Node != "vm1" || f.Slot != 1 || f.Message != "task: non-zero exit (3)" || !f.At.Equal(now.Add(-time.Second)) {
		t.Errorf("failed task reported as %+v", f)
	}
	if r.Exited || r.Node != "(not scheduled)" || r.Message != "No such image: nope:1" {
		t.Errorf("rejected task reported as %+v (no container ran: no exit code)", r)
	}
	if !c.Exited || c.ExitCode != 0 || !strings.Contains(c.Message, "exited while the service should keep running") {
		t.Errorf("completed task of a service reported as %+v", c)
	}
	want := "service web: 0 of 1 replicas healthy; latest failure: task 0123456789ab (slot 1 on node vm1) failed, exit code 3: task: non-zero exit (3)"
	if st.Summary != want {
		t.Errorf("summary\n%q, want\n%q", st.Summary, want)
	}

	// A job's tasks complete by design: not failures.
	job := swarm.Service{ID: "svc", Spec: swarm.ServiceSpec{Mode: swarm.ServiceMode{ReplicatedJob: &swarm.ReplicatedJob{}}}}
	if got := StatusOf(job, tasks, nodes, now).RecentErrors; len(got) != 2 {
		t.Errorf("a job reports %d errors, want 2 (its completed task is not one)", len(got))
	}
}

func TestFilterNodes(t *testing.T) {
	node := func(id, host string, role swarm.NodeRole, avail swarm.NodeAvailability, labels map[string]string) swarm.Node {
		return swarm.Node{ID: id, Spec: swarm.NodeSpec{Role: role, Availability: avail, Annotations: swarm.Annotations{Labels: labels}},
			Description: swarm.NodeDescription{Hostname: host}}
	}
	nodes := []swarm.Node{
		node("3", "b", swarm.NodeRoleWorker, swarm.NodeAvailabilityActive, map[string]string{"zone": "a", "ssd": "true"}),
		node("1", "c", swarm.NodeRoleManager, swarm.NodeAvailabilityActive, nil),
		node("2", "b", swarm.NodeRoleWorker, swarm.NodeAvailabilityDrain, map[string]string{"zone": "b"}),
		node("4", "a", swarm.NodeRoleWorker, swarm.NodeAvailabilityActive, map[string]string{"zone": "a"}),
	}
	ids := func(ns []swarm.Node) string {
		var s []string
		for _, n := range ns {
			s = append(s, n.ID)
		}
		return strings.Join(s, ",")
	}
	for _, tt := range []struct {
		name   string
		filter NodeFilter
		want   string
	}{
		{"none: all, by host name then ID", NodeFilter{}, "4,2,3,1"},
		{"role", NodeFilter{Role: swarm.NodeRoleManager}, "1"},
		{"availability", NodeFilter{Availability: swarm.NodeAvailabilityActive}, "4,3,1"},
		{"one label", NodeFilter{Labels: map[string]string{"zone": "a"}}, "4,3"},
		{"every label", NodeFilter{Labels: map[string]string{"zone": "a", "ssd": "true"}}, "3"},
		{"label with an empty value is not a missing label", NodeFilter{Labels: map[string]string{"ssd": ""}}, ""},
		{"all together", NodeFilter{Role: swarm.NodeRoleWorker, Availability: swarm.NodeAvailabilityActive, Labels: map[string]string{"zone": "a"}}, "4,3"},
	} {
		if got := ids(FilterNodes(nodes, tt.filter)); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := FilterNodes(nil, NodeFilter{}); got == nil {
		t.Error("no nodes gives nil, want an empty list")
	}
}

func TestClusterOf(t *testing.T) {
	manager := func(id, addr string, leader bool, reach swarm.Reachability, state swarm.NodeState) swarm.Node {
		return swarm.Node{ID: id, Spec: swarm.NodeSpec{Role: swarm.NodeRoleManager}, Status: swarm.NodeStatus{State: state},
			ManagerStatus: &swarm.ManagerStatus{Leader: leader, Reachability: reach, Addr: addr}}
	}
	worker := func(id string, state swarm.NodeState) swarm.Node {
		return swarm.Node{ID: id, Spec: swarm.NodeSpec{Role: swarm.NodeRoleWorker}, Status: swarm.NodeStatus{State: state}}
	}
	sw := swarm.Swarm{ClusterInfo: swarm.ClusterInfo{ID: "cluster"}, JoinTokens: swarm.JoinTokens{Worker: "SWMTKN-w", Manager: "SWMTKN-m"}}
	c := ClusterOf(sw, []swarm.Node{
		manager("m2", "10.0.0.2:2377", true, swarm.ReachabilityReachable, swarm.NodeStateReady),
		manager("m1", "10.0.0.1:2377", false, swarm.ReachabilityReachable, swarm.NodeStateReady),
		manager("m3", "10.0.0.3:2377", false, swarm.ReachabilityUnreachable, swarm.NodeStateDown),
		worker("w1", swarm.NodeStateReady), worker("w2", swarm.NodeStateDown),
	})
	want := NodeCounts{Total: 5, Managers: 3, Workers: 2, Ready: 3, ReachableManagers: 2}
	if c.Counts != want {
		t.Errorf("counts %+v, want %+v", c.Counts, want)
	}
	if got := strings.Join(c.ManagerAddresses, " "); got != "10.0.0.1:2377 10.0.0.2:2377 10.0.0.3:2377" {
		t.Errorf("manager addresses %q", got)
	}
	if c.LeaderAddress != "10.0.0.2:2377" || c.ID != "cluster" || c.JoinTokens.Worker != "SWMTKN-w" {
		t.Errorf("cluster %+v", c)
	}
}

// A job is counted as Swarm counts its current run, and says what it is; its tasks, meant to
// complete, are not left out as tasks no longer meant to run.
func TestStatusOfJob(t *testing.T) {
	now := testSince
	job := func(mode swarm.ServiceMode, desired, running, completed uint64) swarm.Service {
		return swarm.Service{ID: "svc", Spec: swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "batch"}, Mode: mode},
			ServiceStatus: &swarm.ServiceStatus{DesiredTasks: desired, RunningTasks: running, CompletedTasks: completed}}
	}
	replicatedJob := swarm.ServiceMode{ReplicatedJob: &swarm.ReplicatedJob{}}
	runningTask := statusTask("a", 1, "n1", swarm.TaskStateRunning, now.Add(-time.Minute))
	runningTask.DesiredState = swarm.TaskStateComplete // as Swarm sets a job's tasks
	failed := exited(statusTask("f", 2, "n1", swarm.TaskStateFailed, now.Add(-time.Minute)), 1, "task: non-zero exit (1)")
	tests := []struct {
		name                                 string
		svc                                  swarm.Service
		tasks                                []swarm.Task
		mode                                 string
		desired, running, healthy, completed int
		ok                                   bool
		summary                              string
	}{
		{"running", job(replicatedJob, 2, 2, 0), []swarm.Task{runningTask}, ModeReplicatedJob, 2, 2, 2, 0, true,
			"job batch (replicated-job): 0 of 2 tasks completed, 2 running"},
		{"completed", job(replicatedJob, 2, 0, 2), nil, ModeReplicatedJob, 2, 0, 2, 2, true,
			"job batch (replicated-job): 2 of 2 tasks completed, 0 running"},
		{"a task failed and is not running again", job(replicatedJob, 2, 1, 0), []swarm.Task{runningTask, failed}, ModeReplicatedJob, 2, 1, 1, 0, false,
			"job batch (replicated-job): 0 of 2 tasks completed, 1 running; latest failure: task f (slot 2 on node n1) failed, exit code 1: task: non-zero exit (1)"},
		{"global job", job(swarm.ServiceMode{GlobalJob: &swarm.GlobalJob{}}, 1, 0, 1), nil, ModeGlobalJob, 1, 0, 1, 1, true,
			"job batch (global-job): 1 of 1 tasks completed, 0 running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := StatusOf(tt.svc, tt.tasks, nil, now)
			if st.Mode != tt.mode || st.Desired != tt.desired || st.Running != tt.running || st.Healthy != tt.healthy || st.Completed != tt.completed || st.OK != tt.ok {
				t.Errorf("status %+v, want mode %s desired %d running %d healthy %d completed %d ok %v", st, tt.mode, tt.desired, tt.running, tt.healthy, tt.completed, tt.ok)
			}
			if st.Summary != tt.summary {
				t.Errorf("summary\n%q, want\n%q", st.Summary, tt.summary)
			}
		})
	}
	if m := StatusOf(swarm.Service{Spec: swarm.ServiceSpec{Mode: swarm.ServiceMode{Global: &swarm.GlobalService{}}}}, nil, nil, now).Mode; m != ModeGlobal {
		t.Errorf("a global service's mode is %q", m)
	}
}
