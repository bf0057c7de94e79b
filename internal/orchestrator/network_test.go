package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

// problemsAt is each problem as "path: summary".
func problemsAt(problems []FieldProblem) string {
	var out []string
	for _, p := range problems {
		out = append(out, p.Path+": "+p.Summary)
	}
	return strings.Join(out, "; ")
}

func TestCheckNetwork(t *testing.T) {
	pools := func(subnets ...string) []IPAMConfig {
		var out []IPAMConfig
		for _, s := range subnets {
			out = append(out, IPAMConfig{Subnet: s})
		}
		return out
	}
	tests := []struct {
		name string
		spec NetworkSpec
		want string // problemsAt, "" for none
	}{
		{"default overlay", NetworkSpec{}, ""},
		{"overlay with everything", NetworkSpec{Driver: "overlay", Encrypted: true, DriverOptions: map[string]string{"com.docker.network.driver.mtu": "1400"},
			IPAM: []IPAMConfig{{Subnet: "10.20.0.0/24", Gateway: "10.20.0.1", IPRange: "10.20.0.0/25"}}}, ""},
		{"host driver", NetworkSpec{Driver: "host"}, "driver: Driver Cannot Make a Swarm Network"},
		{"null driver", NetworkSpec{Driver: "null"}, "driver: Driver Cannot Make a Swarm Network"},
		{"bridge alone", NetworkSpec{Driver: "bridge"}, ""},
		{"macvlan alone", NetworkSpec{Driver: "macvlan"}, ""},
		{"a plugin's driver", NetworkSpec{Driver: "weaveworks/net-plugin:latest", IPAM: pools("10.20.0.0/24")}, ""},
		{"bridge with pools", NetworkSpec{Driver: "bridge", IPAM: pools("10.20.0.0/24")}, "ipam: Setting Not Kept for This Driver"},
		{"macvlan with options", NetworkSpec{Driver: "macvlan", DriverOptions: map[string]string{"parent": "eth0"}}, "driver_options: Setting Not Kept for This Driver"},
		{"ipvlan encrypted", NetworkSpec{Driver: "ipvlan", Encrypted: true}, "encrypted: Setting Not Kept for This Driver"},
		{"two pools apart", NetworkSpec{IPAM: pools("10.20.0.0/24", "10.20.1.0/24")}, ""},
		{"two pools, the second inside the first", NetworkSpec{IPAM: pools("10.20.0.0/16", "10.20.5.0/24")}, "ipam[1].subnet: Overlapping Subnets"},
		{"the same subnet twice", NetworkSpec{IPAM: pools("10.20.0.0/24", "10.20.1.0/24", "10.20.0.0/24")}, "ipam[2].subnet: Overlapping Subnets"},
		{"overlap written unmasked", NetworkSpec{IPAM: pools("10.20.0.0/24", "10.20.0.7/24")}, "ipam[1].subnet: Overlapping Subnets"},
		{"IPv4 and IPv6", NetworkSpec{IPAM: pools("10.20.0.0/24", "fd00:20::/64")}, ""},
		{"a subnet not known yet", NetworkSpec{IPAM: pools("", "10.20.0.0/24")}, ""},
		{"not a subnet", NetworkSpec{IPAM: pools("10.20.0.0")}, "ipam[0].subnet: Invalid Subnet"},
		{"gateway outside", NetworkSpec{IPAM: []IPAMConfig{{Subnet: "10.20.0.0/24", Gateway: "10.21.0.1"}}}, "ipam[0].gateway: Gateway Outside Subnet"},
		{"gateway not an address", NetworkSpec{IPAM: []IPAMConfig{{Subnet: "10.20.0.0/24", Gateway: "10.20.0.0/24"}}}, "ipam[0].gateway: Invalid Gateway"},
		{"range outside", NetworkSpec{IPAM: []IPAMConfig{{Subnet: "10.20.0.0/24", IPRange: "10.20.1.0/25"}}}, "ipam[0].ip_range: IP Range Outside Subnet"},
		{"range wider than the subnet", NetworkSpec{IPAM: []IPAMConfig{{Subnet: "10.20.0.0/24", IPRange: "10.20.0.0/16"}}}, "ipam[0].ip_range: IP Range Outside Subnet"},
		{"a /30, the smallest IPv4 subnet", NetworkSpec{IPAM: pools("10.20.0.0/30")}, ""},
		{"a /31", NetworkSpec{IPAM: pools("10.20.0.0/31")}, "ipam[0].subnet: Subnet Too Small"},
		{"a /32", NetworkSpec{IPAM: pools("10.20.0.7/32")}, "ipam[0].subnet: Subnet Too Small"},
		{"a /127, the smallest IPv6 subnet", NetworkSpec{IPAM: pools("fd00:20::/127")}, ""},
		{"a /128", NetworkSpec{IPAM: pools("fd00:20::1/128")}, "ipam[0].subnet: Subnet Too Small"},
		{"gateway the network address", NetworkSpec{IPAM: []IPAMConfig{{Subnet: "10.20.0.0/24", Gateway: "10.20.0.0"}}}, "ipam[0].gateway: Gateway Not a Host Address"},
		{"gateway the broadcast address", NetworkSpec{IPAM: []IPAMConfig{{Subnet: "10.20.0.0/23", Gateway: "10.20.1.255"}}}, "ipam[0].gateway: Gateway Not a Host Address"},
		{"gateway the last host address", NetworkSpec{IPAM: []IPAMConfig{{Subnet: "10.20.0.0/23", Gateway: "10.20.1.254"}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := problemsAt(CheckNetwork(tt.spec)); got != tt.want {
				t.Errorf("CheckNetwork = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOverlaps(t *testing.T) {
	swarmNet := func(id, name, ipamDriver string, subnets ...string) network.Summary {
		n := network.Summary{ID: id, Name: name, IPAM: network.IPAM{Driver: ipamDriver}}
		for _, s := range subnets {
			n.IPAM.Config = append(n.IPAM.Config, network.IPAMConfig{Subnet: s})
		}
		return n
	}
	existing := []network.Summary{
		swarmNet("ing", "ingress", "default", "10.0.0.0/24"),
		swarmNet("app", "app", "default", "10.30.0.0/24", "10.31.0.0/24"),
		swarmNet("pending", "not-allocated-yet", ""), // no pools until Swarm allocates it
		swarmNet("plug", "plugin-pools", "some-ipam-plugin", "10.40.0.0/24"),
		swarmNet("host", "host", ""), // predefined: no pools
	}
	tests := []struct {
		name    string
		subnets []string
		skip    string
		want    string // "index:network" of each overlap
	}{
		{"apart from all", []string{"10.50.0.0/24"}, "", ""},
		{"the ingress subnet", []string{"10.0.0.0/24"}, "", "0:ingress"},
		{"a supernet of ingress", []string{"10.0.0.0/8"}, "", "0:ingress"},
		{"another network's second pool", []string{"10.50.0.0/24", "10.31.0.128/25"}, "", "1:app"},
		{"the network being replaced", []string{"10.30.0.0/24"}, "app", ""},
		{"another IPAM driver's pools", []string{"10.40.0.0/24"}, "", ""},
		{"not known yet", []string{""}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NetworkSpec{}
			for _, sub := range tt.subnets {
				s.IPAM = append(s.IPAM, IPAMConfig{Subnet: sub})
			}
			var got []string
			for _, o := range overlaps(s, existing, tt.skip) {
				got = append(got, fmt.Sprintf("%d:%s", o.index, o.with.Name))
			}
			if strings.Join(got, ",") != tt.want {
				t.Errorf("overlaps = %v, want %q", got, tt.want)
			}
		})
	}
}

func TestDuplicateNetworks(t *testing.T) {
	tests := []struct {
		name           string
		targets, ids   []string
		want, mentions string
	}{
		{"none", nil, nil, "", ""},
		{"all apart", []string{"a", "b"}, []string{"ida", "idb"}, "", ""},
		{"the same name twice", []string{"a", "b", "a"}, []string{"a", "b", "a"}, "networks[2].id: Network Attached Twice", `networks[0] attaches network "a" already.`},
		{"by ID and by name", []string{"ida", "a"}, []string{"ida", "ida"}, "networks[1].id: Network Attached Twice", `networks[0] attaches this network already, as "ida" (here "a": the same network by ID and by name)`},
		{"not known yet", []string{"", ""}, []string{"", ""}, "", ""},
		{"three times", []string{"a", "a", "a"}, []string{"a", "a", "a"}, "networks[1].id: Network Attached Twice; networks[2].id: Network Attached Twice", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems := duplicateNetworks(tt.targets, tt.ids)
			if got := problemsAt(problems); got != tt.want {
				t.Errorf("duplicateNetworks = %q, want %q", got, tt.want)
			}
			if tt.mentions != "" && !strings.Contains(problems[0].Detail, tt.mentions) {
				t.Errorf("detail %q does not say %q", problems[0].Detail, tt.mentions)
			}
		})
	}
}

// notAllocated connects to the test swarm and makes, with the Docker API, a network Swarm
// cannot allocate: a network with subnet is made and allocated first, then a second one with
// the same subnet. It returns the engine, the second network's spec and ID, the moment it was
// made (on the manager's clock), and the first network. The test removes both at its end.
func notAllocated(t *testing.T, subnet string) (*Engine, NetworkSpec, string, time.Time, network.Summary) {
	t.Helper()
	acctest.SkipUnlessAcc(t)
	ctx := context.Background()
	e, err := New(ctx, Config{Host: acctest.DockerHost()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	create := func(s NetworkSpec) string {
		resp, err := e.cli.NetworkCreate(ctx, s.Name, network.CreateOptions{Driver: "overlay", Scope: "swarm",
			IPAM: &network.IPAM{Driver: "default", Config: []network.IPAMConfig{{Subnet: subnet}}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = e.cli.NetworkRemove(context.Background(), resp.ID) })
		return resp.ID
	}
	firstSpec := NetworkSpec{Name: acctest.Name("net-first"), IPAM: []IPAMConfig{{Subnet: subnet}}}
	firstID := create(firstSpec)
	if err := e.waitAllocated(ctx, firstID); err != nil {
		t.Fatalf("the first network: %v", err)
	}
	first, err := e.cli.NetworkInspect(ctx, firstID, network.InspectOptions{Scope: "swarm"})
	if err != nil {
		t.Fatal(err)
	}
	spec := NetworkSpec{Name: acctest.Name("net-second"), IPAM: []IPAMConfig{{Subnet: subnet}}}
	since := e.clock.before(time.Now())
	return e, spec, create(spec), since, first
}

// gone says whether the network is gone from the node the engine talks to.
func gone(t *testing.T, e *Engine, id string) bool {
	t.Helper()
	_, err := e.cli.NetworkInspect(context.Background(), id, network.InspectOptions{})
	return cerrdefs.IsNotFound(err)
}

// A network Swarm does not allocate fails the create within allocationWait, saying what the
// engine found since (the other network's subnet), and is removed again.
func TestAwaitAllocationRemovesWhatSwarmDidNotAllocate(t *testing.T) {
	e, spec, id, since, first := notAllocated(t, "10.231.60.0/24")
	err := e.awaitAllocation(context.Background(), id, spec, since)
	var ae *AllocationError
	if !errors.As(err, &ae) {
		t.Fatalf("awaitAllocation = %v, want an AllocationError", err)
	}
	want := fmt.Sprintf("subnet 10.231.60.0/24 overlaps subnet 10.231.60.0/24 of network %s (ID %s), made after the check", first.Name, first.ID)
	if ae.ID != id || len(ae.Causes) != 1 || ae.Causes[0] != want {
		t.Errorf("AllocationError for %s, causes %q; want %s, [%q]", ae.ID, ae.Causes, id, want)
	}
	if !strings.Contains(err.Error(), "was removed again, so nothing is left behind") || !gone(t, e, id) {
		t.Errorf("the network Swarm did not allocate is still there (gone: %v): %v", gone(t, e, id), err)
	}
}

// A create cut short while it waits for the allocator (terraform interrupted: the context is
// cancelled; or out of its time: the deadline passed) removes the network on a context of its
// own, which outlives the one that ended.
func TestAwaitAllocationCleansUpWhenCutShort(t *testing.T) {
	for _, tc := range []struct {
		name   string
		subnet string
		ctx    func() (context.Context, context.CancelFunc)
		want   error
	}{
		{"interrupted", "10.231.61.0/24", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, context.Canceled},
		{"out of time", "10.231.62.0/24", func() (context.Context, context.CancelFunc) {
			return context.WithDeadline(context.Background(), time.Now())
		}, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, spec, id, since, _ := notAllocated(t, tc.subnet)
			ctx, cancel := tc.ctx()
			defer cancel()
			err := e.awaitAllocation(ctx, id, spec, since)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), "was removed again, so nothing is left behind") {
				t.Fatalf("awaitAllocation = %v, want %v and the network removed", err, tc.want)
			}
			if !gone(t, e, id) {
				t.Errorf("network %s is still there", id)
			}
		})
	}
}
