package orchestrator

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

func ptr(s string) *string { return &s }

func TestAdoptNode(t *testing.T) {
	tests := []struct {
		name       string
		labels     map[string]string
		avail      swarm.NodeAvailability
		rec        NodeAdoption
		want       NodeSettings
		wantLabels map[string]string
		wantAvail  swarm.NodeAvailability
		wantRec    NodeAdoption
	}{
		{
			name:   "first adoption records what each owned label was",
			labels: map[string]string{"zone": "a", "other": "x"},
			want:   NodeSettings{Labels: map[string]string{"zone": "b", "team": "web"}},
			// zone had a value, team had none; other is not owned and stays.
			wantLabels: map[string]string{"zone": "b", "team": "web", "other": "x"},
			wantAvail:  swarm.NodeAvailabilityActive,
			wantRec:    NodeAdoption{Version: 1, Labels: map[string]*string{"zone": ptr("a"), "team": nil}},
		},
		{
			name:       "a later write keeps the first prior value, not the value it set itself",
			labels:     map[string]string{"zone": "b", "team": "web"},
			rec:        NodeAdoption{Version: 1, Labels: map[string]*string{"zone": ptr("a"), "team": nil}},
			want:       NodeSettings{Labels: map[string]string{"zone": "c", "team": "web"}},
			wantLabels: map[string]string{"zone": "c", "team": "web"},
			wantAvail:  swarm.NodeAvailabilityActive,
			wantRec:    NodeAdoption{Version: 1, Labels: map[string]*string{"zone": ptr("a"), "team": nil}},
		},
		{
			name:   "a label no longer owned gets back its earlier value, or goes",
			labels: map[string]string{"zone": "b", "team": "web", "other": "x"},
			rec:    NodeAdoption{Version: 1, Labels: map[string]*string{"zone": ptr("a"), "team": nil}},
			want:   NodeSettings{Labels: map[string]string{}},
			// The record stays (the node is still adopted), with no labels.
			wantLabels: map[string]string{"zone": "a", "other": "x"},
			wantAvail:  swarm.NodeAvailabilityActive,
			wantRec:    NodeAdoption{Version: 1},
		},
		{
			name:       "availability owned while set; role changes but is not recorded",
			avail:      swarm.NodeAvailabilityActive,
			want:       NodeSettings{Availability: swarm.NodeAvailabilityDrain, Role: swarm.NodeRoleManager},
			wantLabels: map[string]string{},
			wantAvail:  swarm.NodeAvailabilityDrain,
			wantRec:    NodeAdoption{Version: 1, Availability: true},
		},
		{
			name:       "an availability no longer set is left as it is and no longer owned",
			avail:      swarm.NodeAvailabilityDrain,
			rec:        NodeAdoption{Version: 1, Availability: true},
			want:       NodeSettings{},
			wantLabels: map[string]string{},
			wantAvail:  swarm.NodeAvailabilityDrain,
			wantRec:    NodeAdoption{Version: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := swarm.NodeSpec{Annotations: swarm.Annotations{Labels: tc.labels}, Role: swarm.NodeRoleWorker, Availability: tc.avail}
			if spec.Availability == "" {
				spec.Availability = swarm.NodeAvailabilityActive
			}
			before := len(tc.labels)
			got, rec := adoptNode(spec, tc.rec, tc.want)
			if len(tc.labels) != before {
				t.Fatal("adoptNode changed the observed labels")
			}
			if !reflect.DeepEqual(rec, tc.wantRec) {
				t.Errorf("record = %+v, want %+v", rec, tc.wantRec)
			}
			decoded, ok, err := NodeAdoptionOf(got)
			if !ok || err != nil || !reflect.DeepEqual(decoded, tc.wantRec) {
				t.Errorf("the label decodes to %+v (%v, %v), want %+v", decoded, ok, err, tc.wantRec)
			}
			delete(got.Labels, NodeAdoptionLabel)
			if !reflect.DeepEqual(got.Labels, tc.wantLabels) {
				t.Errorf("labels = %v, want %v", got.Labels, tc.wantLabels)
			}
			if got.Availability != tc.wantAvail {
				t.Errorf("availability = %s, want %s", got.Availability, tc.wantAvail)
			}
			if tc.want.Role != "" && got.Role != tc.want.Role {
				t.Errorf("role = %s, want %s", got.Role, tc.want.Role)
			}
		})
	}
}

func TestReleaseNodePutsBackWhatWasThere(t *testing.T) {
	spec := swarm.NodeSpec{Annotations: swarm.Annotations{Labels: map[string]string{"zone": "a", "other": "x"}}, Role: swarm.NodeRoleWorker, Availability: swarm.NodeAvailabilityActive}
	adopted, rec := adoptNode(spec, NodeAdoption{}, NodeSettings{Labels: map[string]string{"zone": "b", "team": "web"}, Availability: swarm.NodeAvailabilityDrain, Role: swarm.NodeRoleManager})
	got := releaseNode(adopted, rec)
	want := spec
	want.Role = swarm.NodeRoleManager // a role is never put back
	if !reflect.DeepEqual(got, want) {
		t.Errorf("released = %+v, want %+v", got, want)
	}
	// An availability the node had before is not what releasing restores: active is.
	spec.Availability = swarm.NodeAvailabilityPause
	adopted, rec = adoptNode(spec, NodeAdoption{}, NodeSettings{Availability: swarm.NodeAvailabilityDrain})
	if got := releaseNode(adopted, rec); got.Availability != swarm.NodeAvailabilityActive {
		t.Errorf("released availability = %s, want active", got.Availability)
	}
	// Without owned availability, releasing leaves it.
	adopted, rec = adoptNode(spec, NodeAdoption{}, NodeSettings{Labels: map[string]string{"team": "web"}})
	if got := releaseNode(adopted, rec); got.Availability != swarm.NodeAvailabilityPause {
		t.Errorf("released availability = %s, want pause", got.Availability)
	}
}

func TestNodeAdoptionFormat(t *testing.T) {
	for _, tc := range []struct {
		label string
		want  string // error text, "" for none
	}{
		{`{"version":1,"labels":{"zone":"a","team":null},"availability":true}`, ""},
		{`{"version":2}`, "newer format"},
		{`not json`, "invalid character"},
	} {
		_, ok, err := NodeAdoptionOf(swarm.NodeSpec{Annotations: swarm.Annotations{Labels: map[string]string{NodeAdoptionLabel: tc.label}}})
		if !ok || (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: ok %v, err %v; want error %q", tc.label, ok, err, tc.want)
		}
	}
}

func node(id, host string, role swarm.NodeRole, state swarm.NodeState, reach swarm.Reachability) swarm.Node {
	n := swarm.Node{ID: id, Description: swarm.NodeDescription{Hostname: host}, Spec: swarm.NodeSpec{Role: role, Availability: swarm.NodeAvailabilityActive}, Status: swarm.NodeStatus{State: state}}
	if role == swarm.NodeRoleManager {
		n.ManagerStatus = &swarm.ManagerStatus{Reachability: reach}
	}
	return n
}

func TestCheckRoleChange(t *testing.T) {
	m1 := node("m1", "mn-1", swarm.NodeRoleManager, swarm.NodeStateReady, swarm.ReachabilityReachable)
	m2 := node("m2", "mn-2", swarm.NodeRoleManager, swarm.NodeStateReady, swarm.ReachabilityReachable)
	m3 := node("m3", "mn-3", swarm.NodeRoleManager, swarm.NodeStateReady, swarm.ReachabilityReachable)
	m3down := node("m3", "mn-3", swarm.NodeRoleManager, swarm.NodeStateDown, swarm.ReachabilityUnreachable)
	w := node("w", "mn-4", swarm.NodeRoleWorker, swarm.NodeStateReady, "")
	wdown := node("w", "mn-4", swarm.NodeRoleWorker, swarm.NodeStateDown, "")
	tests := []struct {
		name   string
		nodes  []swarm.Node
		target swarm.Node
		role   swarm.NodeRole
		want   string
	}{
		{"no change", []swarm.Node{m1, w}, w, swarm.NodeRoleWorker, ""},
		{"role not managed", []swarm.Node{m1}, m1, "", ""},
		{"promote a ready worker", []swarm.Node{m1, w}, w, swarm.NodeRoleManager, ""},
		{"promote a worker that is down", []swarm.Node{m1, wdown}, wdown, swarm.NodeRoleManager, "is down"},
		{"demote the manager the provider talks to", []swarm.Node{m1, m2, m3}, m1, swarm.NodeRoleWorker, "the manager the provider talks to"},
		{"demote the last manager", []swarm.Node{m2, w}, m2, swarm.NodeRoleWorker, "last manager"},
		{"demote one of three", []swarm.Node{m1, m2, m3}, m2, swarm.NodeRoleWorker, ""},
		{"demote where the rest has no quorum", []swarm.Node{m1, m2, m3down}, m2, swarm.NodeRoleWorker, "lose its quorum"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckRoleChange(tc.nodes, tc.target, "m1", tc.role)
			if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("CheckRoleChange = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestFindNode(t *testing.T) {
	a := node("a", "web-1", swarm.NodeRoleWorker, swarm.NodeStateReady, "")
	old := node("old", "web-1", swarm.NodeRoleWorker, swarm.NodeStateDown, "")
	b := node("b", "web-2", swarm.NodeRoleWorker, swarm.NodeStateReady, "")
	b2 := node("b2", "web-2", swarm.NodeRoleWorker, swarm.NodeStateReady, "")
	nodes := []swarm.Node{old, a, b, b2}
	for _, tc := range []struct{ key, want, err string }{
		{"a", "a", ""},
		{"old", "old", ""},
		{"web-1", "a", ""}, // the entry that is not down
		{"web-2", "", "names 2 nodes"},
		{"web-3", "", "not found"},
	} {
		n, err := findNode(nodes, tc.key)
		if n.ID != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("findNode(%q) = %q, %v; want %q, %q", tc.key, n.ID, err, tc.want, tc.err)
		}
	}
}

func TestEvaluateDrain(t *testing.T) {
	two := uint64(2)
	drained := node("n2", "mn-2", swarm.NodeRoleWorker, swarm.NodeStateReady, "")
	down := node("n3", "mn-3", swarm.NodeRoleWorker, swarm.NodeStateDown, "")
	nodes := map[string]swarm.Node{"n1": node("n1", "mn-1", swarm.NodeRoleManager, swarm.NodeStateReady, swarm.ReachabilityReachable), "n2": drained, "n3": down}
	web := swarm.Service{ID: "web", Spec: swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "web"}, Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &two}}}}
	global := swarm.Service{ID: "agent", Spec: swarm.ServiceSpec{Mode: swarm.ServiceMode{Global: &swarm.GlobalService{}}}}
	task := func(id, svc, node string, desired, state swarm.TaskState, err string) swarm.Task {
		return swarm.Task{ID: id, ServiceID: svc, NodeID: node, DesiredState: desired, Status: swarm.TaskStatus{State: state, Err: err}}
	}
	run, shut := swarm.TaskStateRunning, swarm.TaskStateShutdown
	tests := []struct {
		name     string
		onNode   []swarm.Task
		services map[string]swarm.Service
		tasks    []swarm.Task
		stalled  time.Duration
		phase    Phase
		left     int
		waiting  int
		reason   string
	}{
		{
			name:   "nothing was on the node",
			phase:  Converged,
			reason: "every task moved",
		},
		{
			name:     "just drained: the task on the node is still meant to run there, and counts as not moved",
			onNode:   []swarm.Task{task("t1", "web", "n2", run, run, "")},
			services: map[string]swarm.Service{"web": web},
			tasks:    []swarm.Task{task("t0", "web", "n1", run, run, ""), task("t1", "web", "n2", run, run, "")},
			phase:    Progressing, left: 1, waiting: 1,
		},
		{
			name:     "the old task still runs on the node",
			onNode:   []swarm.Task{task("t1", "web", "n2", shut, run, "")},
			services: map[string]swarm.Service{"web": web},
			tasks:    []swarm.Task{task("t0", "web", "n1", run, run, ""), task("t2", "web", "n1", run, run, "")},
			phase:    Progressing, left: 1,
		},
		{
			name:     "stopped on the node, the replacement not running yet",
			onNode:   []swarm.Task{task("t1", "web", "n2", shut, shut, "")},
			services: map[string]swarm.Service{"web": web},
			tasks:    []swarm.Task{task("t0", "web", "n1", run, run, ""), task("t2", "web", "n1", run, swarm.TaskStateStarting, "")},
			phase:    Progressing, waiting: 1,
		},
		{
			name:     "moved: the replacement runs elsewhere",
			onNode:   []swarm.Task{task("t1", "web", "n2", shut, shut, "")},
			services: map[string]swarm.Service{"web": web, "agent": global},
			tasks:    []swarm.Task{task("t0", "web", "n1", run, run, ""), task("t2", "web", "n1", run, run, "")},
			phase:    Converged,
		},
		{
			name:     "a task on a node that is down does not count as moved",
			onNode:   []swarm.Task{task("t1", "web", "n2", shut, shut, "")},
			services: map[string]swarm.Service{"web": web},
			tasks:    []swarm.Task{task("t0", "web", "n1", run, run, ""), task("t2", "web", "n3", run, run, "")},
			phase:    Progressing, waiting: 1,
		},
		{
			name:     "no node can take it: fails past the deadline with Swarm's reason",
			onNode:   []swarm.Task{task("t1", "web", "n2", shut, shut, "")},
			services: map[string]swarm.Service{"web": web},
			tasks:    []swarm.Task{task("t0", "web", "n1", run, run, ""), task("t2", "web", "", run, swarm.TaskStatePending, "no suitable node (max replicas per node limit exceed)")},
			stalled:  time.Minute + time.Second, phase: Failed, waiting: 1,
			reason: "started elsewhere for 1m0s",
		},
		{
			name:     "a global service's task stops and does not move",
			onNode:   []swarm.Task{task("g1", "agent", "n2", shut, shut, "")},
			services: map[string]swarm.Service{"agent": global},
			phase:    Converged,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := EvaluateDrain(DrainPoll{Node: drained, OnNode: tc.onNode, Services: tc.services, Tasks: tc.tasks, Nodes: nodes, Stalled: tc.stalled, Deadline: time.Minute})
			if v.Phase != tc.phase || v.Left != tc.left || v.Waiting != tc.waiting || !strings.Contains(v.Reason, tc.reason) {
				t.Errorf("verdict = %+v; want phase %d, left %d, waiting %d, reason with %q", v, tc.phase, tc.left, tc.waiting, tc.reason)
			}
			if tc.phase == Failed && (len(v.Stuck) != 1 || v.Stuck[0].Status.Err == "") {
				t.Errorf("a failed drain names the stuck task with its reason: %+v", v.Stuck)
			}
		})
	}
}

func TestRoleTaken(t *testing.T) {
	reachable := &swarm.ManagerStatus{Reachability: swarm.ReachabilityReachable}
	for _, tc := range []struct {
		name   string
		status *swarm.ManagerStatus
		role   swarm.NodeRole
		taken  bool
		why    string
	}{
		{"promoted, in Raft and reachable", reachable, swarm.NodeRoleManager, true, ""},
		{"promoted, not in Raft yet", nil, swarm.NodeRoleManager, false, "not yet a member"},
		{"promoted, in Raft but unreachable", &swarm.ManagerStatus{Reachability: swarm.ReachabilityUnreachable}, swarm.NodeRoleManager, false, "Raft reports unreachable"},
		{"promoted, in Raft, reachability unknown", &swarm.ManagerStatus{Reachability: swarm.ReachabilityUnknown}, swarm.NodeRoleManager, false, "Raft reports unknown"},
		{"demoted, out of Raft", nil, swarm.NodeRoleWorker, true, ""},
		{"demoted, still in Raft", reachable, swarm.NodeRoleWorker, false, "still a member"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			taken, why := RoleTaken(swarm.Node{ManagerStatus: tc.status}, tc.role)
			if taken != tc.taken || !strings.Contains(why, tc.why) {
				t.Errorf("RoleTaken = %v, %q; want %v, %q", taken, why, tc.taken, tc.why)
			}
		})
	}
}
