package orchestrator

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
)

// placementNode is a ready, active Linux worker on x86_64; edits adjust it.
func placementNode(id string, edits ...func(*swarm.Node)) swarm.Node {
	n := swarm.Node{
		ID: id,
		Spec: swarm.NodeSpec{
			Role:         swarm.NodeRoleWorker,
			Availability: swarm.NodeAvailabilityActive,
		},
		Description: swarm.NodeDescription{
			Hostname: id,
			Platform: swarm.Platform{OS: "linux", Architecture: "x86_64"},
		},
		Status: swarm.NodeStatus{State: swarm.NodeStateReady, Addr: "10.0.0.1"},
	}
	for _, edit := range edits {
		edit(&n)
	}
	return n
}

func withState(s swarm.NodeState) func(*swarm.Node) {
	return func(n *swarm.Node) { n.Status.State = s }
}

func withAvailability(a swarm.NodeAvailability) func(*swarm.Node) {
	return func(n *swarm.Node) { n.Spec.Availability = a }
}

func withRole(r swarm.NodeRole) func(*swarm.Node) {
	return func(n *swarm.Node) { n.Spec.Role = r }
}

func withHostname(h string) func(*swarm.Node) {
	return func(n *swarm.Node) { n.Description.Hostname = h }
}

func withNodeLabels(kv ...string) func(*swarm.Node) {
	return func(n *swarm.Node) { n.Spec.Labels = labelMap(kv) }
}

func withEngineLabels(kv ...string) func(*swarm.Node) {
	return func(n *swarm.Node) { n.Description.Engine.Labels = labelMap(kv) }
}

func withPlatform(os, arch string) func(*swarm.Node) {
	return func(n *swarm.Node) { n.Description.Platform = swarm.Platform{OS: os, Architecture: arch} }
}

func withAddr(addr string) func(*swarm.Node) {
	return func(n *swarm.Node) { n.Status.Addr = addr }
}

func labelMap(kv []string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func constrained(maxReplicas uint64, constraints ...string) *swarm.Placement {
	return &swarm.Placement{MaxReplicas: maxReplicas, Constraints: constraints}
}

func onPlatforms(platforms ...swarm.Platform) *swarm.Placement {
	return &swarm.Placement{MaxReplicas: 1, Platforms: platforms}
}

func nodeIDs(nodes []swarm.Node) []string {
	ids := []string{}
	for _, n := range nodes {
		ids = append(ids, n.ID)
	}
	return ids
}

func TestPlacementCapacity(t *testing.T) {
	// A small cluster most cases run against.
	cluster := []swarm.Node{
		placementNode("m1", withRole(swarm.NodeRoleManager), withHostname("Manager-One"),
			withNodeLabels("zone", "East", "ssd", "true"), withEngineLabels("gpu", "nvidia"),
			withAddr("10.0.0.10")),
		placementNode("w1", withNodeLabels("zone", "west"), withAddr("10.0.1.20")),
		placementNode("w2", withNodeLabels("zone", "east"), withEngineLabels("gpu", "none"),
			withPlatform("linux", "aarch64"), withAddr("192.168.1.5")),
		placementNode("w3", withPlatform("windows", "x86_64"), withAddr("2001:db8::3")),
	}

	tests := []struct {
		name      string
		nodes     []swarm.Node
		placement *swarm.Placement
		want      []string // eligible node IDs, in order
		capacity  int
	}{
		{
			name:      "nil placement: every ready, active node, no cap",
			nodes:     cluster,
			placement: nil,
			want:      []string{"m1", "w1", "w2", "w3"},
		},
		{
			name:      "max replicas unset: no cap, nodes still counted",
			nodes:     cluster,
			placement: constrained(0, "node.role == worker"),
			want:      []string{"w1", "w2", "w3"},
		},
		{
			name:      "max replicas times eligible nodes",
			nodes:     cluster,
			placement: constrained(2),
			want:      []string{"m1", "w1", "w2", "w3"},
			capacity:  8,
		},
		{
			name:      "no nodes",
			placement: constrained(3),
			want:      []string{},
		},
		{
			name: "nodes that are down, unknown or disconnected are left out",
			nodes: []swarm.Node{
				placementNode("up"),
				placementNode("down", withState(swarm.NodeStateDown)),
				placementNode("unknown", withState(swarm.NodeStateUnknown)),
				placementNode("disconnected", withState(swarm.NodeStateDisconnected)),
				placementNode("blank", withState("")),
			},
			placement: constrained(3),
			want:      []string{"up"},
			capacity:  3,
		},
		{
			name: "drained and paused nodes are left out",
			nodes: []swarm.Node{
				placementNode("active"),
				placementNode("drained", withAvailability(swarm.NodeAvailabilityDrain)),
				placementNode("paused", withAvailability(swarm.NodeAvailabilityPause)),
				placementNode("other-active"),
			},
			placement: constrained(1),
			want:      []string{"active", "other-active"},
			capacity:  2,
		},
		{
			name:      "role == manager",
			nodes:     cluster,
			placement: constrained(4, "node.role == manager"),
			want:      []string{"m1"},
			capacity:  4,
		},
		{
			name:      "role != manager, no spaces",
			nodes:     cluster,
			placement: constrained(1, "node.role!=manager"),
			want:      []string{"w1", "w2", "w3"},
			capacity:  3,
		},
		{
			name:      "role value and key in any case",
			nodes:     cluster,
			placement: constrained(1, "Node.Role==WORKER"),
			want:      []string{"w1", "w2", "w3"},
			capacity:  3,
		},
		{
			name: "role from manager status when the spec has none",
			nodes: []swarm.Node{
				placementNode("promoted", withRole(""), func(n *swarm.Node) { n.ManagerStatus = &swarm.ManagerStatus{} }),
				placementNode("plain", withRole("")),
			},
			placement: constrained(1, "node.role == manager"),
			want:      []string{"promoted"},
			capacity:  1,
		},
		{
			name:      "node label ==, value case-insensitive",
			nodes:     cluster,
			placement: constrained(2, "node.labels.zone == east"),
			want:      []string{"m1", "w2"},
			capacity:  4,
		},
		{
			name:      "node label != holds on nodes without the label",
			nodes:     cluster,
			placement: constrained(1, "node.labels.zone != west"),
			want:      []string{"m1", "w2", "w3"},
			capacity:  3,
		},
		{
			name:      "node label == fails on nodes without the label",
			nodes:     cluster,
			placement: constrained(1, "node.labels.ssd == true"),
			want:      []string{"m1"},
			capacity:  1,
		},
		{
			name:      "node label != on a label no node has holds everywhere",
			nodes:     cluster,
			placement: constrained(1, "node.labels.rack != r1"),
			want:      []string{"m1", "w1", "w2", "w3"},
			capacity:  4,
		},
		{
			name: "a label set to the empty string is as good as absent",
			nodes: []swarm.Node{
				placementNode("empty", withNodeLabels("tier", "")),
				placementNode("set", withNodeLabels("tier", "web")),
			},
			placement: constrained(1, "node.labels.tier != web"),
			want:      []string{"empty"},
			capacity:  1,
		},
		{
			name:      "label names are case-sensitive, the prefix is not",
			nodes:     cluster,
			placement: constrained(1, "NODE.LABELS.Zone == east"),
			want:      []string{},
		},
		{
			name:      "label prefix in any case",
			nodes:     cluster,
			placement: constrained(1, "Node.Labels.zone == EAST"),
			want:      []string{"m1", "w2"},
			capacity:  2,
		},
		{
			name:      "engine label ==",
			nodes:     cluster,
			placement: constrained(3, "engine.labels.gpu == NVIDIA"),
			want:      []string{"m1"},
			capacity:  3,
		},
		{
			name:      "engine label != holds where engine labels are absent",
			nodes:     cluster,
			placement: constrained(1, "engine.labels.gpu != none"),
			want:      []string{"m1", "w1", "w3"},
			capacity:  3,
		},
		{
			name:      "node labels and engine labels are different maps",
			nodes:     cluster,
			placement: constrained(1, "node.labels.gpu == nvidia"),
			want:      []string{},
		},
		{
			name:      "hostname compared case-insensitively",
			nodes:     cluster,
			placement: constrained(5, "node.hostname == manager-one"),
			want:      []string{"m1"},
			capacity:  5,
		},
		{
			name:      "hostname !=",
			nodes:     cluster,
			placement: constrained(1, "node.hostname != MANAGER-ONE"),
			want:      []string{"w1", "w2", "w3"},
			capacity:  3,
		},
		{
			name:      "node.id",
			nodes:     cluster,
			placement: constrained(2, "node.id==w2"),
			want:      []string{"w2"},
			capacity:  2,
		},
		{
			name:      "platform os constraint",
			nodes:     cluster,
			placement: constrained(1, "node.platform.os == Windows"),
			want:      []string{"w3"},
			capacity:  1,
		},
		{
			name:      "platform arch constraint compares the reported name",
			nodes:     cluster,
			placement: constrained(1, "node.platform.arch == x86_64"),
			want:      []string{"m1", "w1", "w3"},
			capacity:  3,
		},
		{
			name:      "platform arch constraint does not alias amd64",
			nodes:     cluster,
			placement: constrained(1, "node.platform.arch == amd64"),
			want:      []string{},
		},
		{
			name:      "multiple constraints are ANDed",
			nodes:     cluster,
			placement: constrained(2, "node.role == worker", "node.labels.zone == east"),
			want:      []string{"w2"},
			capacity:  2,
		},
		{
			name:      "ANDed constraints that exclude each other leave nothing",
			nodes:     cluster,
			placement: constrained(2, "node.labels.zone == east", "node.labels.zone != east"),
			want:      []string{},
		},
		{
			name:      "constraints and ready/active filters combine",
			nodes:     append(slices.Clone(cluster), placementNode("w4", withNodeLabels("zone", "east"), withAvailability(swarm.NodeAvailabilityDrain))),
			placement: constrained(1, "node.labels.zone == east"),
			want:      []string{"m1", "w2"},
			capacity:  2,
		},
		{
			name:      "platform: amd64 matches a node reporting x86_64",
			nodes:     cluster,
			placement: onPlatforms(swarm.Platform{OS: "linux", Architecture: "amd64"}),
			want:      []string{"m1", "w1"},
			capacity:  2,
		},
		{
			name:      "platform: arm64 matches a node reporting aarch64",
			nodes:     cluster,
			placement: onPlatforms(swarm.Platform{OS: "linux", Architecture: "arm64"}),
			want:      []string{"w2"},
			capacity:  1,
		},
		{
			name:      "platform: x86_64 in the entry, case-insensitive",
			nodes:     cluster,
			placement: onPlatforms(swarm.Platform{OS: "LINUX", Architecture: "X86_64"}),
			want:      []string{"m1", "w1"},
			capacity:  2,
		},
		{
			name:      "platform: empty architecture matches any",
			nodes:     cluster,
			placement: onPlatforms(swarm.Platform{OS: "linux"}),
			want:      []string{"m1", "w1", "w2"},
			capacity:  3,
		},
		{
			name:      "platform: empty OS matches any",
			nodes:     cluster,
			placement: onPlatforms(swarm.Platform{Architecture: "amd64"}),
			want:      []string{"m1", "w1", "w3"},
			capacity:  3,
		},
		{
			name:      "platform: entries are ORed",
			nodes:     cluster,
			placement: onPlatforms(swarm.Platform{OS: "windows", Architecture: "amd64"}, swarm.Platform{OS: "linux", Architecture: "arm64"}),
			want:      []string{"w2", "w3"},
			capacity:  2,
		},
		{
			name:      "platform: none supported",
			nodes:     cluster,
			placement: onPlatforms(swarm.Platform{OS: "linux", Architecture: "s390x"}),
			want:      []string{},
		},
		{
			name:  "platforms and constraints combine",
			nodes: cluster,
			placement: &swarm.Placement{MaxReplicas: 3, Constraints: []string{"node.role == worker"},
				Platforms: []swarm.Platform{{OS: "linux"}}},
			want:     []string{"w1", "w2"},
			capacity: 6,
		},
		{
			name:      "node.ip exact address",
			nodes:     cluster,
			placement: constrained(1, "node.ip == 10.0.1.20"),
			want:      []string{"w1"},
			capacity:  1,
		},
		{
			name:      "node.ip in a CIDR range",
			nodes:     cluster,
			placement: constrained(1, "node.ip == 10.0.0.0/8"),
			want:      []string{"m1", "w1"},
			capacity:  2,
		},
		{
			name:      "node.ip outside a CIDR range",
			nodes:     cluster,
			placement: constrained(1, "node.ip != 10.0.0.0/24"),
			want:      []string{"w1", "w2", "w3"},
			capacity:  3,
		},
		{
			name:      "node.ip IPv6 range",
			nodes:     cluster,
			placement: constrained(1, "node.ip==2001:db8::/32"),
			want:      []string{"w3"},
			capacity:  1,
		},
		{
			name:      "node.ip IPv6 address, written differently",
			nodes:     cluster,
			placement: constrained(1, "NODE.IP == 2001:DB8:0:0::3"),
			want:      []string{"w3"},
			capacity:  1,
		},
		{
			name: "node.ip: a node whose address does not parse is in no range",
			nodes: []swarm.Node{
				placementNode("no-addr", withAddr("")),
				placementNode("in", withAddr("10.1.2.3")),
			},
			placement: constrained(1, "node.ip == 10.0.0.0/8"),
			want:      []string{"in"},
			capacity:  1,
		},
		{
			name:      "node.ip value that is neither address nor range counts as matching",
			nodes:     cluster,
			placement: constrained(1, "node.ip == not-an-ip", "node.role == worker"),
			want:      []string{"w1", "w2", "w3"},
			capacity:  3,
		},
		{
			name:  "unknown keys count as matching",
			nodes: cluster,
			placement: constrained(1, "node.zone == east", "node.labels. == x", "engine.labels.==x",
				"node.role == manager"),
			want:     []string{"m1"},
			capacity: 1,
		},
		{
			name:  "unparsable constraints count as matching",
			nodes: cluster,
			placement: constrained(1, "node.role", "node.role ~ manager", "== manager", "node.role ==",
				"node.role ==  ", "node role == manager", "node.role === manager", "node.role !== manager",
				"node.role == manager == worker", "node.labels.zone == east"),
			want:     []string{"m1", "w2"},
			capacity: 2,
		},
		{
			name:      "spaces around key and value are trimmed",
			nodes:     cluster,
			placement: constrained(1, "  node.labels.zone   ==\teast  "),
			want:      []string{"m1", "w2"},
			capacity:  2,
		},
		{
			name:      "value with inner spaces is compared whole",
			nodes:     []swarm.Node{placementNode("a", withNodeLabels("desc", "Big Box")), placementNode("b", withNodeLabels("desc", "Big"))},
			placement: constrained(1, "node.labels.desc == big box"),
			want:      []string{"a"},
			capacity:  1,
		},
		{
			name:      "a product too large for an int is clamped",
			nodes:     cluster,
			placement: constrained(math.MaxUint64),
			want:      []string{"m1", "w1", "w2", "w3"},
			capacity:  math.MaxInt,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := nodeIDs(EligibleNodes(tt.nodes, tt.placement))
			if !slices.Equal(got, tt.want) {
				t.Errorf("EligibleNodes = %v, want %v", got, tt.want)
			}
			capacity, eligible := PlacementCapacity(tt.nodes, tt.placement)
			if capacity != tt.capacity || eligible != len(tt.want) {
				t.Errorf("PlacementCapacity = (%d, %d), want (%d, %d)", capacity, eligible, tt.capacity, len(tt.want))
			}
		})
	}
}

func TestPlacementCapacityLeavesInputsAlone(t *testing.T) {
	nodes := []swarm.Node{placementNode("a", withNodeLabels("zone", "east")), placementNode("b")}
	p := constrained(2, "node.labels.zone == east")
	before := nodeIDs(nodes)
	if capacity, eligible := PlacementCapacity(nodes, p); capacity != 2 || eligible != 1 {
		t.Fatalf("PlacementCapacity = (%d, %d), want (2, 1)", capacity, eligible)
	}
	if after := nodeIDs(nodes); !slices.Equal(before, after) || len(p.Constraints) != 1 {
		t.Errorf("inputs changed: nodes %v -> %v, constraints %v", before, after, p.Constraints)
	}
}

func TestPlacementConstraintParse(t *testing.T) {
	tests := []struct {
		expr string
		want placementConstraint
		ok   bool
	}{
		{"node.role==manager", placementConstraint{key: "node.role", equal: true, value: "manager"}, true},
		{" node.role != manager ", placementConstraint{key: "node.role", equal: false, value: "manager"}, true},
		{"node.labels.Zone == East Side", placementConstraint{key: "node.labels.Zone", equal: true, value: "East Side"}, true},
		{"node.ip!=10.0.0.0/8", placementConstraint{key: "node.ip", equal: false, value: "10.0.0.0/8"}, true},
		{"", placementConstraint{}, false},
		{"node.role", placementConstraint{}, false},
		{"node.role = manager", placementConstraint{}, false},
		{"==manager", placementConstraint{}, false},
		{"node.role!=", placementConstraint{}, false},
		{"node role==manager", placementConstraint{}, false},
		{"node.role===manager", placementConstraint{}, false},
		{"node.role!==manager", placementConstraint{}, false},
		{"node.role==a!=b", placementConstraint{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, ok := parsePlacementConstraint(tt.expr)
			if ok != tt.ok || (ok && got != tt.want) {
				t.Errorf("parsePlacementConstraint(%q) = %+v, %v; want %+v, %v", tt.expr, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestUnplaceable(t *testing.T) {
	const gib = 1 << 30
	plugins := func(ps ...swarm.PluginDescription) func(*swarm.Node) {
		return func(n *swarm.Node) { n.Description.Engine.Plugins = ps }
	}
	resources := func(cpus, memory int64) func(*swarm.Node) {
		return func(n *swarm.Node) { n.Description.Resources = swarm.Resources{NanoCPUs: cpus, MemoryBytes: memory} }
	}
	builtin := plugins(swarm.PluginDescription{Type: "Log", Name: "json-file"}, swarm.PluginDescription{Type: "Log", Name: "local"},
		swarm.PluginDescription{Type: "Volume", Name: "local"}, swarm.PluginDescription{Type: "Network", Name: "overlay"})
	withSSHFS := plugins(swarm.PluginDescription{Type: "Log", Name: "json-file"}, swarm.PluginDescription{Type: "Volume", Name: "vieux/sshfs:latest"})
	nodes := func(ns ...swarm.Node) map[string]swarm.Node {
		m := map[string]swarm.Node{}
		for _, n := range ns {
			m[n.ID] = n
		}
		return m
	}
	two := nodes(placementNode("a", builtin, resources(2e9, 8*gib)), placementNode("b", builtin, resources(4e9, 16*gib)))
	logDriver := func(name string) swarm.TaskSpec { return swarm.TaskSpec{LogDriver: &swarm.Driver{Name: name}} }
	volume := func(driver string) swarm.TaskSpec {
		return swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Mounts: []mount.Mount{
			{Type: mount.TypeTmpfs, Target: "/tmp"},
			{Type: mount.TypeVolume, Source: "v", Target: "/data", VolumeOptions: &mount.VolumeOptions{DriverConfig: &mount.Driver{Name: driver}}},
		}}}
	}
	platform := func(os, arch string) swarm.TaskSpec {
		return swarm.TaskSpec{Placement: &swarm.Placement{Platforms: []swarm.Platform{{OS: os, Architecture: arch}}}}
	}
	reserve := func(cpus, memory int64) swarm.TaskSpec {
		return swarm.TaskSpec{Resources: &swarm.ResourceRequirements{Reservations: &swarm.Resources{NanoCPUs: cpus, MemoryBytes: memory}}}
	}
	tests := []struct {
		name  string
		spec  swarm.TaskSpec
		nodes map[string]swarm.Node
		want  []string // what the causes say, in order; nil: a node can or might run it
	}{
		{"nothing asked", swarm.TaskSpec{}, two, nil},
		{"no nodes known", logDriver("nope"), nil, nil},
		{"a built-in log driver", logDriver("json-file"), two, nil},
		{"an unknown log driver", logDriver("nope"), two, []string{`the log driver "nope" is not installed on any node of the swarm`}},
		{"log driver none", logDriver("none"), two, nil},
		{"a node that lists no log drivers may have it", logDriver("nope"), nodes(placementNode("a", builtin), placementNode("old")), nil},
		{"the local volume driver", volume("local"), two, nil},
		{"an unknown volume driver", volume("nope"), two, []string{`the volume driver "nope" of the mount at /data is not installed on any node of the swarm`}},
		{"a plugin installed on one node, as name:latest", volume("vieux/sshfs"), nodes(placementNode("a", builtin), placementNode("b", withSSHFS)), nil},
		{"a plugin installed on a down, drained node only: it may come back", volume("vieux/sshfs"),
			nodes(placementNode("a", builtin), placementNode("b", withSSHFS, withState(swarm.NodeStateDown), withAvailability(swarm.NodeAvailabilityDrain))), nil},
		{"a platform the nodes run (x86_64 is amd64)", platform("linux", "amd64"), two, nil},
		{"a platform no node runs", platform("linux", "arm64"), two, []string{`the service runs on linux/arm64 only, and no node of the swarm does (they run linux/x86_64)`}},
		{"a node that reports no platform may run it", platform("linux", "arm64"), nodes(placementNode("a"), placementNode("b", func(n *swarm.Node) { n.Description.Platform = swarm.Platform{} })), nil},
		{"a reservation the largest node holds", reserve(4e9, 16*gib), two, nil},
		{"more CPUs than any node has", reserve(5e9, 0), two, []string{"each task reserves 5 CPUs, more than any node of the swarm has (the most is 4)"}},
		{"more memory than any node has", reserve(0, 17*gib), two, []string{"each task reserves 17GiB of memory, more than any node of the swarm has (the most is 16GiB)"}},
		{"a node that reports no resources may hold it", reserve(5e9, 0), nodes(placementNode("a", resources(2e9, 8*gib)), placementNode("b")), nil},
		{"everything at once", swarm.TaskSpec{LogDriver: &swarm.Driver{Name: "nope"}, Placement: platform("windows", "").Placement,
			Resources: reserve(5e9, 0).Resources}, two, []string{`the log driver "nope"`, "the service runs on windows/any architecture only", "each task reserves 5 CPUs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Unplaceable(tt.spec, tt.nodes)
			if len(got) != len(tt.want) {
				t.Fatalf("causes %q, want %d like %q", got, len(tt.want), tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("cause %d: %q, want it to start with %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}
