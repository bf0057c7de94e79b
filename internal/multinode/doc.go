// Package multinode holds the acceptance tests that need more than one node: scheduling across
// nodes, swarm_node, scaling on a multi-node swarm, and faults (a node's daemon stopped, a node
// drained, the manager restarted, terraform interrupted). They run against the separate
// multi-node swarm of scripts/multinode.sh (`make multinode`), never against the single-node
// swarm the other packages use, and `make acc-multinode` runs them. Tests here change nodes
// (stop, drain, join), so none of them runs in parallel with another.
package multinode
