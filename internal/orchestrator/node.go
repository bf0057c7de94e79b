package orchestrator

// Nodes. The engine never creates or removes a node: it adopts one that has joined the swarm
// and owns some of its settings, the labels it was given, its availability and its role. What
// the node had before, and which of its settings are owned, is kept on the node itself (the
// adoption label), so that releasing it puts back what was there, whatever machine runs the
// release.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
)

// NodeAdoptionLabel, set on a node, records that a configuration owns some of its settings,
// and what the node had before (NodeAdoption as JSON).
const NodeAdoptionLabel = EngineLabelPrefix + "adopted"

// NodeAdoptionFormat is the format version of the adoption label this engine writes.
const NodeAdoptionFormat = 1

// DefaultDrainDeadline is how long a drain may go without another of the node's tasks starting
// elsewhere before the wait gives up.
const DefaultDrainDeadline = 2 * time.Minute

// DefaultRoleDeadline is how long a role change may take to reach Raft (a promoted node a
// reachable manager, a demoted one out of the managers) before the wait gives up.
const DefaultRoleDeadline = 2 * time.Minute

// ErrNodeAdopted is returned when a second configuration tries to adopt a node.
var ErrNodeAdopted = errors.New("the node is already managed by a swarm_node resource")

// NodeAdoption is what the adoption label holds.
type NodeAdoption struct {
	// Version is the label's format (NodeAdoptionFormat).
	Version int `json:"version"`
	// Labels maps each label the configuration owns to the value the node had before the
	// configuration first set it; nil when the node did not have the label.
	Labels map[string]*string `json:"labels,omitempty"`
	// Availability says the configuration owns the availability: releasing the node makes it
	// active again.
	Availability bool `json:"availability,omitempty"`
}

func (a NodeAdoption) label() string {
	a.Version = NodeAdoptionFormat
	b, _ := json.Marshal(a)
	return string(b)
}

// NodeAdoptionOf decodes a node's adoption label; ok is false when the node is not adopted.
func NodeAdoptionOf(spec swarm.NodeSpec) (a NodeAdoption, ok bool, err error) {
	raw, ok := spec.Labels[NodeAdoptionLabel]
	if !ok {
		return a, false, nil
	}
	if err := json.Unmarshal([]byte(raw), &a); err != nil {
		return a, true, fmt.Errorf("label %s: %w", NodeAdoptionLabel, err)
	}
	if a.Version > NodeAdoptionFormat {
		return a, true, fmt.Errorf("label %s: format %d %w", NodeAdoptionLabel, a.Version, ErrNewerFormat)
	}
	return a, true, nil
}

// NodeSettings are the settings a configuration owns on a node. A nil Labels, an empty
// Availability or an empty Role leave that setting to others.
type NodeSettings struct {
	Labels       map[string]string
	Availability swarm.NodeAvailability
	Role         swarm.NodeRole
}

// NodeState is a node as the engine observed it.
type NodeState struct {
	Node swarm.Node
	// Adoption is the node's adoption record; nil when no configuration owns the node.
	Adoption *NodeAdoption
	// Local says the engine talks to this node.
	Local bool
}

// UserLabels are the node's labels less those the engine owns.
func (s NodeState) UserLabels() map[string]string {
	out := map[string]string{}
	for k, v := range s.Node.Spec.Labels {
		if !strings.HasPrefix(k, EngineLabelPrefix) {
			out[k] = v
		}
	}
	return out
}

// Node finds a node by ID, else by hostname, in the shared snapshot. A hostname that several
// nodes report (a machine that left the swarm and joined it again is listed twice, the old
// entry down) names the one that is not down; when that still leaves several, it fails.
func (e *Engine) Node(ctx context.Context, idOrHostname string) (*NodeState, error) {
	nodes, err := e.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	n, err := findNode(nodes, idOrHostname)
	if err != nil {
		return nil, err
	}
	return e.nodeState(ctx, n)
}

// NodeFresh reads one node straight from the engine, for use right after a write.
func (e *Engine) NodeFresh(ctx context.Context, id string) (*NodeState, error) {
	n, err := read(ctx, e, "inspect node "+id, func(ctx context.Context) (swarm.Node, error) {
		n, _, err := e.cli.NodeInspectWithRaw(ctx, id)
		return n, err
	})
	if cerrdefs.IsNotFound(err) {
		return nil, fmt.Errorf("node %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return e.nodeState(ctx, n)
}

func (e *Engine) nodeState(ctx context.Context, n swarm.Node) (*NodeState, error) {
	st := &NodeState{Node: n}
	a, ok, err := NodeAdoptionOf(n.Spec)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", nodeName(n), err)
	}
	if ok {
		st.Adoption = &a
	}
	local, err := e.localNodeID(ctx)
	if err != nil {
		return nil, err
	}
	st.Local = n.ID == local
	return st, nil
}

// findNode is the node whose ID, else whose hostname, is key.
func findNode(nodes []swarm.Node, key string) (swarm.Node, error) {
	for _, n := range nodes {
		if n.ID == key {
			return n, nil
		}
	}
	var named, up []swarm.Node
	for _, n := range nodes {
		if n.Description.Hostname == key {
			named = append(named, n)
			if n.Status.State != swarm.NodeStateDown {
				up = append(up, n)
			}
		}
	}
	switch {
	case len(named) == 1:
		return named[0], nil
	case len(up) == 1:
		return up[0], nil
	case len(named) == 0:
		return swarm.Node{}, fmt.Errorf("node %q: %w", key, ErrNotFound)
	}
	ids := make([]string, len(named))
	for i, n := range named {
		ids[i] = fmt.Sprintf("%s (%s)", n.ID, n.Status.State)
	}
	return swarm.Node{}, fmt.Errorf("hostname %q names %d nodes: %s; choose one by node_id, or remove the stale one with docker node rm", key, len(named), strings.Join(ids, ", "))
}

func nodeName(n swarm.Node) string {
	if n.Description.Hostname != "" {
		return n.Description.Hostname
	}
	return n.ID
}

// adoptNode returns the node spec that gives the node the settings, and the adoption record
// that goes with it. Labels the record owned and the settings no longer name get back the
// value they had before; a label owned for the first time records the value it has now.
// Availability is recorded as owned while the settings name one; the role is never recorded:
// releasing a node leaves its role as it is.
func adoptNode(spec swarm.NodeSpec, rec NodeAdoption, want NodeSettings) (swarm.NodeSpec, NodeAdoption) {
	out := spec
	out.Labels = maps.Clone(spec.Labels)
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	next := NodeAdoption{Version: NodeAdoptionFormat, Labels: map[string]*string{}}
	for k, prior := range rec.Labels {
		if _, still := want.Labels[k]; !still {
			restoreLabel(out.Labels, k, prior)
		}
	}
	for k, v := range want.Labels {
		prior, owned := rec.Labels[k]
		if !owned {
			prior = nil
			if cur, ok := spec.Labels[k]; ok {
				prior = &cur
			}
		}
		next.Labels[k] = prior
		out.Labels[k] = v
	}
	if len(next.Labels) == 0 {
		next.Labels = nil
	}
	if want.Availability != "" {
		out.Availability = want.Availability
		next.Availability = true
	}
	if want.Role != "" {
		out.Role = want.Role
	}
	out.Labels[NodeAdoptionLabel] = next.label()
	return out, next
}

// releaseNode returns the node spec with what the record says was set put back: owned labels
// get their earlier values (or go), an owned availability becomes active, and the record goes.
func releaseNode(spec swarm.NodeSpec, rec NodeAdoption) swarm.NodeSpec {
	out := spec
	out.Labels = maps.Clone(spec.Labels)
	for k, prior := range rec.Labels {
		restoreLabel(out.Labels, k, prior)
	}
	if rec.Availability {
		out.Availability = swarm.NodeAvailabilityActive
	}
	delete(out.Labels, NodeAdoptionLabel)
	return out
}

func restoreLabel(labels map[string]string, k string, prior *string) {
	if prior == nil {
		delete(labels, k)
		return
	}
	labels[k] = *prior
}

// CheckRoleChange says why a node cannot be given a role, or nil. Demoting the manager the
// provider talks to would cut the provider off from the swarm; demoting the last manager
// would leave the swarm without one; demoting a manager while too few of the others are
// reachable would cost the swarm its quorum (Swarm refuses that too, later). Promoting a node
// that is down adds a manager that cannot vote, which weakens the quorum instead.
func CheckRoleChange(nodes []swarm.Node, target swarm.Node, localID string, role swarm.NodeRole) error {
	current := nodeRole(&target)
	if role == "" || role == current {
		return nil
	}
	name := nodeName(target)
	if role == swarm.NodeRoleManager {
		if target.Status.State != swarm.NodeStateReady {
			return fmt.Errorf("node %s is %s: a manager that cannot be reached weakens the swarm's quorum instead of adding to it; promote it once it is ready", name, target.Status.State)
		}
		return nil
	}
	if target.ID == localID {
		return fmt.Errorf("node %s is the manager the provider talks to: demoting it would cut the provider off from the swarm; point the provider's host at another manager first", name)
	}
	managers, reachable := 0, 0
	for i := range nodes {
		n := &nodes[i]
		if nodeRole(n) != swarm.NodeRoleManager || n.ID == target.ID {
			continue
		}
		managers++
		if n.ManagerStatus != nil && n.ManagerStatus.Reachability == swarm.ReachabilityReachable {
			reachable++
		}
	}
	switch {
	case managers == 0:
		return fmt.Errorf("node %s is the swarm's last manager: demoting it would leave the swarm without one; promote another node first", name)
	case reachable <= managers/2:
		return fmt.Errorf("demoting node %s would leave %d manager(s), of which only %d can be reached: the swarm would lose its quorum; bring the unreachable managers back (or remove them) first", name, managers, reachable)
	}
	return nil
}

// NodeWriteResult reports a node write.
type NodeWriteResult struct {
	ID      string
	Outcome Outcome
	// Draining says the write drained the node: its tasks are being moved, and WaitDrained
	// follows them.
	Draining bool
	// Role is the role the write gave the node, when it changed it (WaitRole follows it).
	Role swarm.NodeRole
	// Moving are the services that had tasks meant to run on the node before it was drained.
	Moving []string
	// Since is when the write was made, on the manager's clock.
	Since time.Time
}

// WriteNode makes the node have the settings (get, mutate, compare, write with the node's
// version; a conflict re-reads and retries). claim fails with ErrNodeAdopted when the node is
// adopted already (a new resource). Before a drain it notes the services whose tasks will
// move.
func (e *Engine) WriteNode(ctx context.Context, id string, want NodeSettings, claim bool) (NodeWriteResult, error) {
	defer e.Invalidate()
	res := NodeWriteResult{ID: id, Outcome: OutcomeUnchanged}
	err := e.writeNode(ctx, id, &res, func(observed swarm.Node) (swarm.NodeSpec, bool, error) {
		rec, adopted, err := NodeAdoptionOf(observed.Spec)
		if err != nil {
			return swarm.NodeSpec{}, false, fmt.Errorf("node %s: %w", nodeName(observed), err)
		}
		if claim && adopted {
			return swarm.NodeSpec{}, false, fmt.Errorf("node %s (label %s): %w", nodeName(observed), NodeAdoptionLabel, ErrNodeAdopted)
		}
		if want.Role != "" {
			nodes, err := e.listNodes(ctx)
			if err != nil {
				return swarm.NodeSpec{}, false, err
			}
			local, err := e.localNodeID(ctx)
			if err != nil {
				return swarm.NodeSpec{}, false, err
			}
			if err := CheckRoleChange(nodes, observed, local, want.Role); err != nil {
				return swarm.NodeSpec{}, false, &NodeRoleError{Node: nodeName(observed), Err: err}
			}
		}
		desired, _ := adoptNode(observed.Spec, rec, want)
		res.Role = ""
		if want.Role != "" && want.Role != nodeRole(&observed) {
			res.Role = want.Role
		}
		res.Draining = desired.Availability == swarm.NodeAvailabilityDrain && observed.Spec.Availability != swarm.NodeAvailabilityDrain
		if res.Draining {
			moving, err := e.servicesOnNode(ctx, observed.ID)
			if err != nil {
				return swarm.NodeSpec{}, false, err
			}
			res.Moving = moving
		}
		return desired, !reflect.DeepEqual(desired, observed.Spec), nil
	})
	return res, err
}

// NodeRoleError is a role change that is not safe.
type NodeRoleError struct {
	Node string
	Err  error
}

func (e *NodeRoleError) Error() string { return e.Err.Error() }
func (e *NodeRoleError) Unwrap() error { return e.Err }

// ReleaseNode puts back what the adoption record says was set and removes the record. A node
// that is gone, or not adopted, is not an error.
func (e *Engine) ReleaseNode(ctx context.Context, id string) error {
	defer e.Invalidate()
	var res NodeWriteResult
	err := e.writeNode(ctx, id, &res, func(observed swarm.Node) (swarm.NodeSpec, bool, error) {
		rec, adopted, err := NodeAdoptionOf(observed.Spec)
		if err != nil {
			// Unreadable (a newer format): leave everything as it is but the record.
			rec = NodeAdoption{}
		}
		if !adopted {
			return observed.Spec, false, nil
		}
		return releaseNode(observed.Spec, rec), true, nil
	})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// writeNode is the get-mutate-compare-write loop of node writes, as writeService is for
// services, transient failures included: a write whose answer was lost counts as made when
// the node's version moved past the one written to and its spec is the one sent.
func (e *Engine) writeNode(ctx context.Context, id string, res *NodeWriteResult,
	mutate func(observed swarm.Node) (desired swarm.NodeSpec, write bool, err error)) error {
	const attempts = 5
	var (
		lost        *swarm.NodeSpec
		lostVersion swarm.Version
		lostSince   time.Time
		conflicts   int
	)
	return e.retry(ctx, "update node "+id, func(ctx context.Context) error {
		for {
			observed, _, err := e.cli.NodeInspectWithRaw(ctx, id)
			if err != nil {
				if cerrdefs.IsNotFound(err) {
					return fmt.Errorf("node %s: %w", id, ErrNotFound)
				}
				return e.wrap("inspect node "+id, err)
			}
			if lost != nil && observed.Version.Index > lostVersion.Index && jsonEqual(observed.Spec, *lost) {
				res.Outcome, res.Since = OutcomeUpdated, lostSince
				return nil
			}
			desired, write, err := mutate(observed)
			if err != nil || !write {
				return err
			}
			res.Since = e.clock.before(time.Now())
			if err := e.cli.NodeUpdate(ctx, observed.ID, observed.Version, desired); err != nil {
				if isOutOfSequence(err) && conflicts < attempts-1 {
					conflicts++
					continue
				}
				if Transient(err) {
					lost, lostVersion, lostSince = &desired, observed.Version, res.Since
				}
				return e.wrap("update node "+nodeName(observed), err)
			}
			res.Outcome = OutcomeUpdated
			return nil
		}
	})
}

// servicesOnNode lists the services with tasks meant to run on the node, by ID.
func (e *Engine) servicesOnNode(ctx context.Context, nodeID string) ([]string, error) {
	tasks, err := e.listTasks(ctx, filters.NewArgs(filters.Arg("node", nodeID), filters.Arg("desired-state", "running")))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, t := range tasks {
		seen[t.ServiceID] = true
	}
	return slices.Sorted(maps.Keys(seen)), nil
}

// DrainPoll is what the drain verdict looks at: the drained node, the tasks on it, and the
// services whose tasks were on it with all their tasks.
type DrainPoll struct {
	Node swarm.Node
	// OnNode are the tasks the node has, in any state.
	OnNode []swarm.Task
	// Services are the services that had tasks meant to run on the node when it was drained,
	// by ID; a service removed since is missing.
	Services map[string]swarm.Service
	// Tasks are the tasks of those services.
	Tasks []swarm.Task
	Nodes map[string]swarm.Node
	// Stalled is how long no task of those services has started running; Deadline fails the
	// drain past it.
	Stalled, Deadline time.Duration
}

// DrainVerdict is the outcome of one look at a drain.
type DrainVerdict struct {
	Phase Phase
	// Left is how many tasks still run on the node; Waiting how many tasks of the moved
	// services do not run yet elsewhere.
	Left, Waiting int
	Reason        string
	// Stuck are tasks of the moved services that do not run, with Swarm's reason.
	Stuck []swarm.Task
}

// EvaluateDrain decides whether a drained node's tasks have moved: nothing runs on the node
// any more, and every replicated service that had tasks on it runs its full count again on
// nodes that are not down. Global services' tasks do not move, they stop. When no further task
// has started for the deadline, the drain has failed, and the tasks that cannot start say why
// (Swarm's "no suitable node", for one).
func EvaluateDrain(p DrainPoll) DrainVerdict {
	var v DrainVerdict
	for _, t := range p.OnNode {
		if t.DesiredState == swarm.TaskStateRunning || t.Status.State == swarm.TaskStateRunning {
			v.Left++
		}
	}
	ids := slices.Sorted(maps.Keys(p.Services))
	for _, id := range ids {
		svc := p.Services[id]
		rep := svc.Spec.Mode.Replicated
		if rep == nil || rep.Replicas == nil {
			continue
		}
		running := 0
		for _, t := range p.Tasks {
			if t.ServiceID != id || t.DesiredState != swarm.TaskStateRunning || nodeDown(p.Nodes, t.NodeID) || t.NodeID == p.Node.ID {
				continue
			}
			if t.Status.State == swarm.TaskStateRunning {
				running++
			} else {
				v.Stuck = append(v.Stuck, t)
			}
		}
		v.Waiting += max(0, int(*rep.Replicas)-running)
	}
	sort.Slice(v.Stuck, func(i, j int) bool { return v.Stuck[i].ID < v.Stuck[j].ID })
	switch {
	case v.Left == 0 && v.Waiting == 0:
		v.Phase, v.Stuck, v.Reason = Converged, nil, "every task moved off the node"
	case p.Deadline > 0 && p.Stalled > p.Deadline:
		v.Phase = Failed
		v.Reason = fmt.Sprintf("no task moved off node %s started elsewhere for %s: %d task(s) still on the node, %d waiting to run on another", nodeName(p.Node), p.Deadline, v.Left, v.Waiting)
	default:
		v.Reason = fmt.Sprintf("%d task(s) still on node %s, %d waiting to run on another", v.Left, nodeName(p.Node), v.Waiting)
	}
	return v
}

// DrainError is a drain whose tasks did not all move.
type DrainError struct {
	Node   string
	Reason string
	Stuck  []TaskReport
}

func (e *DrainError) Error() string {
	var b strings.Builder
	b.WriteString(e.Reason)
	for _, t := range e.Stuck {
		fmt.Fprintf(&b, "\n- task %s (service %s): %s: %s", shortID(t.ID), t.Service, t.State, t.Message)
	}
	return b.String()
}

// RoleTaken says whether Raft has made a role change that the node's spec asks for: a
// promoted node is a reachable manager, a demoted one is no manager at all. Until then, why
// not.
func RoleTaken(n swarm.Node, role swarm.NodeRole) (bool, string) {
	ms := n.ManagerStatus
	switch {
	case role == swarm.NodeRoleManager && ms == nil:
		return false, "not yet a member of the managers' Raft group"
	case role == swarm.NodeRoleManager && ms.Reachability != swarm.ReachabilityReachable:
		return false, fmt.Sprintf("a manager that Raft reports %s", ms.Reachability)
	case role == swarm.NodeRoleWorker && ms != nil:
		return false, "still a member of the managers' Raft group"
	}
	return true, ""
}

// WaitRole follows a role change written to node id until Raft has made it (RoleTaken),
// deadline has passed (zero: DefaultRoleDeadline), or ctx ends. A promotion takes a few
// seconds (the node gets a manager certificate and joins Raft); a demotion too (Raft removes
// the member, the node stops its manager).
func (e *Engine) WaitRole(ctx context.Context, id string, role swarm.NodeRole, deadline time.Duration) error {
	defer e.Invalidate()
	if deadline <= 0 {
		deadline = DefaultRoleDeadline
	}
	tick := time.NewTicker(e.PollInterval)
	defer tick.Stop()
	start, why := time.Now(), "not read yet"
	for {
		st, err := e.NodeFresh(ctx, id)
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("following node %s's change to %s: %w", id, role, err)
		}
		if err == nil {
			var taken bool
			if taken, why = RoleTaken(st.Node, role); taken {
				return nil
			}
		}
		if time.Since(start) >= deadline {
			return fmt.Errorf("node %s was made a %s, and after %s Swarm has not carried it out: it is %s", id, role, deadline, why)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up waiting for node %s to become a %s (it is %s): %w", id, role, why, ctx.Err())
		case <-tick.C:
		}
	}
}

// WaitDrained follows a drain until every task has moved (EvaluateDrain), the drain stalls
// past deadline (zero: DefaultDrainDeadline), or ctx ends.
func (e *Engine) WaitDrained(ctx context.Context, res NodeWriteResult, deadline time.Duration) (DrainVerdict, error) {
	defer e.Invalidate()
	if deadline <= 0 {
		deadline = DefaultDrainDeadline
	}
	tick := time.NewTicker(e.PollInterval)
	defer tick.Stop()
	var (
		last         DrainVerdict
		bestRunning  = -1
		lastProgress = time.Now()
	)
	for {
		p, running, err := e.pollDrain(ctx, res)
		if err != nil {
			if ctx.Err() != nil {
				return last, fmt.Errorf("gave up waiting for the tasks of node %s to move (%s): %w", res.ID, last.Reason, ctx.Err())
			}
			return last, err
		}
		if running > bestRunning {
			bestRunning, lastProgress = running, time.Now()
		}
		p.Stalled, p.Deadline = time.Since(lastProgress), deadline
		last = EvaluateDrain(p)
		switch last.Phase {
		case Converged:
			return last, nil
		case Failed:
			de := &DrainError{Node: nodeName(p.Node), Reason: last.Reason}
			for i, t := range last.Stuck {
				if i == 3 {
					break
				}
				r := TaskReport{ID: t.ID, Service: p.Services[t.ServiceID].Spec.Name, State: string(t.Status.State), Message: t.Status.Err}
				if r.Message == "" {
					r.Message = t.Status.Message
				}
				de.Stuck = append(de.Stuck, r)
			}
			return last, de
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("gave up waiting for the tasks of node %s to move (%s): %w", nodeName(p.Node), last.Reason, ctx.Err())
		case <-tick.C:
		}
	}
}

// pollDrain observes a drain; running counts the moved services' running tasks, for progress.
func (e *Engine) pollDrain(ctx context.Context, res NodeWriteResult) (DrainPoll, int, error) {
	p := DrainPoll{Services: map[string]swarm.Service{}, Nodes: map[string]swarm.Node{}}
	nodes, err := e.listNodes(ctx)
	if err != nil {
		return p, 0, err
	}
	for _, n := range nodes {
		p.Nodes[n.ID] = n
	}
	n, ok := p.Nodes[res.ID]
	if !ok {
		return p, 0, fmt.Errorf("node %s was removed while its tasks moved: %w", res.ID, ErrNotFound)
	}
	p.Node = n
	if p.OnNode, err = e.listTasks(ctx, filters.NewArgs(filters.Arg("node", res.ID))); err != nil {
		return p, 0, err
	}
	if len(res.Moving) == 0 {
		return p, 0, nil
	}
	args := filters.NewArgs()
	for _, id := range res.Moving {
		args.Add("id", id)
	}
	services, err := read(ctx, e, "list services", func(ctx context.Context) ([]swarm.Service, error) {
		return e.cli.ServiceList(ctx, swarm.ServiceListOptions{Filters: args})
	})
	if err != nil {
		return p, 0, err
	}
	for _, s := range services {
		p.Services[s.ID] = s
	}
	if len(services) == 0 {
		return p, 0, nil
	}
	// The tasks are kept by service here, not by a service filter of the call: the daemon
	// refuses a filter that names a service removed since the list above ("service ... not
	// found"), which failed a drain whenever another service on the node was removed meanwhile.
	all, err := e.listTasks(ctx, filters.NewArgs(filters.Arg("desired-state", "running")))
	if err != nil {
		return p, 0, err
	}
	for _, t := range all {
		if _, ok := p.Services[t.ServiceID]; ok {
			p.Tasks = append(p.Tasks, t)
		}
	}
	running := 0
	for _, t := range p.Tasks {
		if t.Status.State == swarm.TaskStateRunning && t.NodeID != res.ID {
			running++
		}
	}
	return p, running, nil
}

// PlanNode looks at a change of a node's settings before it is made. Problems are what would
// make it fail: the node is adopted already (claim, a new resource; Path ""), or the role
// change is not safe (Path "role"). Warnings say what it does that a reviewer should see: a
// drain moves the node's tasks.
func (e *Engine) PlanNode(ctx context.Context, st *NodeState, want NodeSettings, claim bool) (problems, warnings []FieldProblem, err error) {
	n := st.Node
	if claim && st.Adoption != nil {
		problems = append(problems, problem("", "Node Already Managed",
			fmt.Sprintf("Node %s already carries the label %s: another swarm_node resource (of this or another configuration) manages it. A node has at most one: import it (terraform import <address> %s) or remove the other resource.", nodeName(n), NodeAdoptionLabel, n.ID)))
	}
	nodes, err := e.Nodes(ctx)
	if err != nil {
		return nil, nil, err
	}
	if want.Role != "" {
		local, err := e.localNodeID(ctx)
		if err != nil {
			return nil, nil, err
		}
		if err := CheckRoleChange(nodes, n, local, want.Role); err != nil {
			problems = append(problems, problem("role", "Unsafe Role Change", strings.ToUpper(err.Error()[:1])+err.Error()[1:]+"."))
		}
	}
	if want.Availability == swarm.NodeAvailabilityDrain && n.Spec.Availability != swarm.NodeAvailabilityDrain {
		tasks, err := e.listTasks(ctx, filters.NewArgs(filters.Arg("node", n.ID), filters.Arg("desired-state", "running")))
		if err != nil {
			return nil, nil, err
		}
		services, err := e.Services(ctx)
		if err != nil {
			return nil, nil, err
		}
		warnings = append(warnings, problem("availability", "Node Drain Planned", drainText(n, nodes, tasks, services)))
	}
	return problems, warnings, nil
}

// drainText says what draining the node does to the tasks it runs.
func drainText(n swarm.Node, nodes []swarm.Node, tasks []swarm.Task, services []swarm.Service) string {
	if len(tasks) == 0 {
		return fmt.Sprintf("Node %s will take no new tasks. It runs none now.", nodeName(n))
	}
	names := map[string]string{}
	for _, s := range services {
		names[s.ID] = s.Spec.Name
	}
	count := map[string]int{}
	for _, t := range tasks {
		name := names[t.ServiceID]
		if name == "" {
			name = t.ServiceID
		}
		count[name]++
	}
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(count)) {
		parts = append(parts, fmt.Sprintf("%s (%d)", name, count[name]))
	}
	text := fmt.Sprintf("Draining node %s stops the %d task(s) it runs, of %s; Swarm starts replicated services' tasks on other nodes (global services' tasks just stop), and the apply waits until they run there.", nodeName(n), len(tasks), strings.Join(parts, ", "))
	others := 0
	for i := range nodes {
		if nodes[i].ID != n.ID && nodeTakesTasks(&nodes[i]) {
			others++
		}
	}
	if others == 0 {
		text += " No other node is ready and active, so they cannot start anywhere: the apply will fail after progress_deadline."
	}
	return text
}
