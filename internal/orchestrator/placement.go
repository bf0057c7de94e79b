package orchestrator

// How many tasks a replicated service's placement can hold, so that a scaling policy never asks
// for more replicas than Swarm could schedule (max replicas per node × eligible nodes). A node is
// eligible when Swarm's scheduler would consider it for a new task of the service, leaving
// resources and ports aside: it is ready and active (swarmkit's ReadyFilter), it satisfies every
// placement constraint (ConstraintFilter) and it runs one of the placement's platforms
// (PlatformFilter).
//
// Constraints are read as swarmkit's manager/constraint package reads them:
//   - `key == value` or `key != value`, with or without spaces around the operator.
//   - Keys are case-insensitive (NODE.Hostname is node.hostname); the name after node.labels. or
//     engine.labels. is not, since it is looked up in a map as written.
//   - Values are compared case-insensitively (strings.EqualFold) for every key, node.id and
//     label values included; node.ip is compared as an address or a CIDR range instead.
//   - An absent label reads as the empty string, and a constraint's value is never empty, so
//     `==` on an absent label fails and `!=` on it holds. A label set to "" is the same as an
//     absent one.
//   - node.platform.arch is compared as reported, without the x86_64/amd64 aliasing that
//     applies to platforms: swarmkit does not alias it there either.
//
// Where swarmkit would refuse the node, we accept it: a constraint with an unknown key, one that
// does not parse, and a node.ip constraint whose value is neither an address nor a CIDR all count
// as matching. Docker rejects unparsable constraints when a service is created, so these are
// rare, and overestimating the capacity only lets tasks go pending, while underestimating it
// would hold the service below what it needs.
//
// Platforms are compared case-insensitively (swarmkit compares them exactly; the two only differ
// for spellings Docker does not report), with x86_64 read as amd64 and aarch64 as arm64, and an
// empty OS or architecture in an entry matching anything.

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
	units "github.com/docker/go-units"
)

// Constraint key prefixes for node and engine labels.
const (
	nodeLabelKeyPrefix   = "node.labels."
	engineLabelKeyPrefix = "engine.labels."
)

// PlacementCapacity returns how many tasks placement can hold: the service's max replicas per
// node times the nodes eligible to run it, or 0 when there is no such cap (MaxReplicas unset).
// eligible is the number of eligible nodes either way, for the reason text. With no eligible
// node the capacity is 0 too, which callers read as no cap: nothing could be scheduled anyway.
// A product too large for an int is clamped to math.MaxInt.
func PlacementCapacity(nodes []swarm.Node, placement *swarm.Placement) (capacity int, eligible int) {
	eligible = len(EligibleNodes(nodes, placement))
	if placement == nil || placement.MaxReplicas == 0 || eligible == 0 {
		return 0, eligible
	}
	if placement.MaxReplicas > uint64(math.MaxInt/eligible) {
		return math.MaxInt, eligible
	}
	return int(placement.MaxReplicas) * eligible, eligible
}

// EligibleNodes returns the nodes, in their order, that could take a new task under placement
// (nil placement: every ready, active node).
func EligibleNodes(nodes []swarm.Node, placement *swarm.Placement) []swarm.Node {
	var constraints []placementConstraint
	var platforms []swarm.Platform
	if placement != nil {
		constraints = parsePlacementConstraints(placement.Constraints)
		platforms = placement.Platforms
	}
	var out []swarm.Node
	for i := range nodes {
		n := &nodes[i]
		if nodeTakesTasks(n) && platformAllowed(n.Description.Platform, platforms) &&
			constraintsHold(constraints, n) {
			out = append(out, *n)
		}
	}
	return out
}

// nodeTakesTasks reports whether the scheduler gives the node new tasks at all: it must be up,
// and neither paused nor drained.
func nodeTakesTasks(n *swarm.Node) bool {
	return n.Status.State == swarm.NodeStateReady && n.Spec.Availability == swarm.NodeAvailabilityActive
}

// placementConstraint is one parsed `key == value` or `key != value`.
type placementConstraint struct {
	key   string // as written
	equal bool   // == rather than !=
	value string
}

// parsePlacementConstraints parses every constraint, leaving out those that do not parse: they
// count as matching every node.
func parsePlacementConstraints(exprs []string) []placementConstraint {
	var out []placementConstraint
	for _, e := range exprs {
		if c, ok := parsePlacementConstraint(e); ok {
			out = append(out, c)
		}
	}
	return out
}

// parsePlacementConstraint splits `key op value` around its one operator, trimming spaces. It
// fails on an empty key or value, a key with spaces in it, and a second operator anywhere.
func parsePlacementConstraint(expr string) (placementConstraint, bool) {
	c := placementConstraint{equal: true}
	i := strings.Index(expr, "==")
	if i < 0 {
		c.equal = false
		if i = strings.Index(expr, "!="); i < 0 {
			return c, false
		}
	}
	c.key = strings.TrimSpace(expr[:i])
	c.value = strings.TrimSpace(expr[i+2:])
	if c.key == "" || c.value == "" || strings.ContainsAny(c.key, "=! \t\r\n") ||
		strings.ContainsAny(c.value, "=!") {
		return c, false
	}
	return c, true
}

// constraintsHold reports whether the node satisfies every constraint.
func constraintsHold(constraints []placementConstraint, n *swarm.Node) bool {
	for _, c := range constraints {
		if !c.holds(n) {
			return false
		}
	}
	return true
}

// holds reports whether the node satisfies the constraint; an unknown key always holds.
func (c placementConstraint) holds(n *swarm.Node) bool {
	if strings.EqualFold(c.key, "node.ip") {
		return c.holdsForAddr(n.Status.Addr)
	}
	got, known := nodeAttribute(c.key, n)
	if !known {
		return true
	}
	return strings.EqualFold(got, c.value) == c.equal
}

// holdsForAddr applies a node.ip constraint to the node's address. The value is one address or
// a CIDR range; any other value holds. A node whose address does not parse is in no range.
func (c placementConstraint) holdsForAddr(addr string) bool {
	node, err := netip.ParseAddr(addr)
	nodeOK := err == nil
	node = node.Unmap().WithZone("")
	var in bool
	if want, err := netip.ParseAddr(c.value); err == nil {
		in = nodeOK && want.Unmap().WithZone("") == node
	} else if prefix, err := netip.ParsePrefix(c.value); err == nil {
		in = nodeOK && prefix.Contains(node)
	} else {
		return true
	}
	return in == c.equal
}

// nodeAttribute returns what a constraint key names on the node, "" for an absent label, and
// false when the key is not one swarmkit knows (node.ip is handled by the caller).
func nodeAttribute(key string, n *swarm.Node) (string, bool) {
	switch {
	case strings.EqualFold(key, "node.id"):
		return n.ID, true
	case strings.EqualFold(key, "node.hostname"):
		return n.Description.Hostname, true
	case strings.EqualFold(key, "node.role"):
		return string(nodeRole(n)), true
	case strings.EqualFold(key, "node.platform.os"):
		return n.Description.Platform.OS, true
	case strings.EqualFold(key, "node.platform.arch"):
		return n.Description.Platform.Architecture, true
	}
	if name, ok := labelName(key, nodeLabelKeyPrefix); ok {
		return n.Spec.Labels[name], true
	}
	if name, ok := labelName(key, engineLabelKeyPrefix); ok {
		return n.Description.Engine.Labels[name], true
	}
	return "", false
}

// labelName returns the label name after prefix (matched case-insensitively) in key, as
// written; false when key does not start with prefix or names no label.
func labelName(key, prefix string) (string, bool) {
	if len(key) <= len(prefix) || !strings.EqualFold(key[:len(prefix)], prefix) {
		return "", false
	}
	return key[len(prefix):], true
}

// nodeRole is the node's role: the one in its spec, or, should that be empty, manager when it
// reports a manager status.
func nodeRole(n *swarm.Node) swarm.NodeRole {
	switch {
	case n.Spec.Role != "":
		return n.Spec.Role
	case n.ManagerStatus != nil:
		return swarm.NodeRoleManager
	default:
		return swarm.NodeRoleWorker
	}
}

// platformAllowed reports whether a node's platform is one of those allowed; an empty list
// allows every platform.
func platformAllowed(node swarm.Platform, allowed []swarm.Platform) bool {
	if len(allowed) == 0 {
		return true
	}
	for _, p := range allowed {
		if platformFits(p, node) {
			return true
		}
	}
	return false
}

// platformFits reports whether a node's platform matches a wanted one, whose empty fields match
// anything.
func platformFits(want, node swarm.Platform) bool {
	wantArch := canonicalArch(want.Architecture)
	return (want.OS == "" || strings.EqualFold(want.OS, node.OS)) &&
		(wantArch == "" || wantArch == canonicalArch(node.Architecture))
}

// canonicalArch lower-cases an architecture and gives the kernel's names for amd64 and arm64
// (what a node reports) their Go names (what an image declares).
func canonicalArch(arch string) string {
	switch arch = strings.ToLower(arch); arch {
	case "x86_64":
		return "amd64"
	case "aarch64":
		return "arm64"
	}
	return arch
}

// Unplaceable says why no node of the swarm can ever run a task of spec, whatever is done to
// the nodes' labels, availability or load: it needs a log or volume driver that no node has
// installed, a platform that no node runs, or more CPU or memory than any node has in all.
// Only the service's configuration (or new software or machines in the swarm) changes that, so
// a wait for such a task can only time out. Every node counts, down, drained and paused ones
// too, since they may come back; what a node does not report (its engine lists no plugin of
// that kind, no platform, no resources) counts as having it.
//
// What nodes that exist can come to offer is left out, and left to the progress deadline: a
// constraint (labelling a node meets it), a node to become ready or active, resources or host
// ports other tasks hold, room under max replicas per node.
func Unplaceable(spec swarm.TaskSpec, nodes map[string]swarm.Node) []string {
	if len(nodes) == 0 {
		return nil
	}
	var out []string
	if d := spec.LogDriver; d != nil && d.Name != "" && d.Name != "none" && !anyNode(nodes, func(n swarm.Node) bool { return hasPlugin(n, "Log", d.Name) }) {
		out = append(out, fmt.Sprintf("the log driver %q is not installed on any node of the swarm", d.Name))
	}
	if cs := spec.ContainerSpec; cs != nil {
		for _, m := range cs.Mounts {
			if m.Type != mount.TypeVolume || m.VolumeOptions == nil || m.VolumeOptions.DriverConfig == nil {
				continue
			}
			if name := m.VolumeOptions.DriverConfig.Name; name != "" && name != "local" && !anyNode(nodes, func(n swarm.Node) bool { return hasPlugin(n, "Volume", name) }) {
				out = append(out, fmt.Sprintf("the volume driver %q of the mount at %s is not installed on any node of the swarm", name, m.Target))
			}
		}
	}
	if p := spec.Placement; p != nil && len(p.Platforms) > 0 && !anyNode(nodes, func(n swarm.Node) bool {
		return n.Description.Platform == (swarm.Platform{}) || platformAllowed(n.Description.Platform, p.Platforms)
	}) {
		out = append(out, fmt.Sprintf("the service runs on %s only, and no node of the swarm does (they run %s)", platformsText(p.Platforms), nodePlatformsText(nodes)))
	}
	if r := spec.Resources; r != nil && r.Reservations != nil {
		var cpus, memory int64 // the most any node has
		for _, n := range nodes {
			cpus, memory = max(cpus, n.Description.Resources.NanoCPUs), max(memory, n.Description.Resources.MemoryBytes)
		}
		if res := r.Reservations.NanoCPUs; res > 0 && !anyNode(nodes, func(n swarm.Node) bool { c := n.Description.Resources.NanoCPUs; return c == 0 || c >= res }) {
			out = append(out, fmt.Sprintf("each task reserves %s CPUs, more than any node of the swarm has (the most is %s)", cpusText(res), cpusText(cpus)))
		}
		if res := r.Reservations.MemoryBytes; res > 0 && !anyNode(nodes, func(n swarm.Node) bool { m := n.Description.Resources.MemoryBytes; return m == 0 || m >= res }) {
			out = append(out, fmt.Sprintf("each task reserves %s of memory, more than any node of the swarm has (the most is %s)", units.BytesSize(float64(res)), units.BytesSize(float64(memory))))
		}
	}
	return out
}

func anyNode(nodes map[string]swarm.Node, f func(swarm.Node) bool) bool {
	for _, n := range nodes {
		if f(n) {
			return true
		}
	}
	return false
}

// hasPlugin says whether a node's engine has a plugin of that type and name ("name" also
// matches an installed "name:latest"), or lists no plugin of that type at all (it does not
// report them, so it may have it).
func hasPlugin(n swarm.Node, kind, name string) bool {
	typeListed := false
	for _, p := range n.Description.Engine.Plugins {
		if p.Type != kind {
			continue
		}
		typeListed = true
		if p.Name == name || p.Name == name+":latest" {
			return true
		}
	}
	return !typeListed
}

func platformsText(ps []swarm.Platform) string {
	var out []string
	for _, p := range ps {
		out = append(out, orDefault(p.OS, "any OS")+"/"+orDefault(p.Architecture, "any architecture"))
	}
	return strings.Join(out, ", ")
}

func nodePlatformsText(nodes map[string]swarm.Node) string {
	var out []string
	for _, n := range nodes {
		p := n.Description.Platform.OS + "/" + n.Description.Platform.Architecture
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}
