package orchestrator

// The swarm itself and its nodes, for reading: nodes come from the shared snapshot and are
// filtered here (no filtered list call per reader); the swarm's identity and join tokens take
// one inspect of the swarm.

import (
	"context"
	"sort"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// NodeFilter selects nodes; a zero field selects every node.
type NodeFilter struct {
	Role         swarm.NodeRole
	Availability swarm.NodeAvailability
	// Labels are node labels (those of `docker node update --label-add`, which placement
	// constraints read as node.labels) that a node must all have, with these values.
	Labels map[string]string
}

// Match says whether the filter selects the node.
func (f NodeFilter) Match(n swarm.Node) bool {
	if f.Role != "" && n.Spec.Role != f.Role {
		return false
	}
	if f.Availability != "" && n.Spec.Availability != f.Availability {
		return false
	}
	for k, v := range f.Labels {
		if have, ok := n.Spec.Labels[k]; !ok || have != v {
			return false
		}
	}
	return true
}

// FilterNodes returns the nodes the filter selects, sorted by host name, then ID.
func FilterNodes(nodes []swarm.Node, f NodeFilter) []swarm.Node {
	out := []swarm.Node{}
	for _, n := range nodes {
		if f.Match(n) {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Description.Hostname != out[j].Description.Hostname {
			return out[i].Description.Hostname < out[j].Description.Hostname
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// ListNodes returns the nodes the filter selects, from the shared snapshot.
func (e *Engine) ListNodes(ctx context.Context, f NodeFilter) ([]swarm.Node, error) {
	nodes, err := e.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	return FilterNodes(nodes, f), nil
}

// Cluster is the swarm as a whole.
type Cluster struct {
	ID                   string
	CreatedAt, UpdatedAt time.Time
	// JoinTokens are secrets: anyone who has one can join a node to the swarm.
	JoinTokens swarm.JoinTokens
	Counts     NodeCounts
	// ManagerAddresses are the managers' addresses for nodes to join through (host:port),
	// sorted; LeaderAddress is the Raft leader's.
	ManagerAddresses []string
	LeaderAddress    string
}

// NodeCounts counts the swarm's nodes.
type NodeCounts struct {
	Total, Managers, Workers int
	// Ready are the nodes whose state is ready (not down, unknown or disconnected).
	Ready int
	// ReachableManagers are the managers the Raft leader reaches (the leader included): the
	// swarm keeps working while they are more than half of Managers.
	ReachableManagers int
}

// ClusterOf summarises the swarm and its nodes.
func ClusterOf(sw swarm.Swarm, nodes []swarm.Node) Cluster {
	c := Cluster{ID: sw.ID, CreatedAt: sw.CreatedAt, UpdatedAt: sw.UpdatedAt, JoinTokens: sw.JoinTokens, ManagerAddresses: []string{}}
	for _, n := range nodes {
		c.Counts.Total++
		if n.Status.State == swarm.NodeStateReady {
			c.Counts.Ready++
		}
		if n.Spec.Role != swarm.NodeRoleManager {
			c.Counts.Workers++
			continue
		}
		c.Counts.Managers++
		ms := n.ManagerStatus
		if ms == nil {
			continue
		}
		if ms.Reachability == swarm.ReachabilityReachable {
			c.Counts.ReachableManagers++
		}
		if ms.Addr != "" {
			c.ManagerAddresses = append(c.ManagerAddresses, ms.Addr)
			if ms.Leader {
				c.LeaderAddress = ms.Addr
			}
		}
	}
	sort.Strings(c.ManagerAddresses)
	return c
}

// Cluster reads the swarm (one inspect: the join tokens are only there) and its nodes (from
// the shared snapshot).
func (e *Engine) Cluster(ctx context.Context) (Cluster, error) {
	sw, err := e.cli.SwarmInspect(ctx)
	if err != nil {
		return Cluster{}, e.wrap("inspect the swarm", err)
	}
	nodes, err := e.Nodes(ctx)
	if err != nil {
		return Cluster{}, err
	}
	return ClusterOf(sw, nodes), nil
}
