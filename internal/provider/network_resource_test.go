package provider

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

const netAddr = "swarm_network.test"

func networkConfig(name, body string) string {
	return fmt.Sprintf(`
provider "swarm" {}

resource "swarm_network" "test" {
  name = %q
%s
}
`, name, body)
}

// A network with every attribute: created as configured, imported back with an empty plan,
// replaced when an immutable attribute changes, recreated when removed outside Terraform,
// and gone after destroy.
func TestAccNetwork_basic(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("net")
	cli := acctest.Docker(t)
	body := func(label string) string {
		return fmt.Sprintf(`  attachable     = true
  internal       = true
  encrypted      = true
  labels         = { team = %q }
  driver_options = { "com.docker.network.driver.mtu" = "1400" }
  ipam           = [{ subnet = "10.231.7.0/24", gateway = "10.231.7.1", ip_range = "10.231.7.0/25" }]`, label)
	}
	sameID := statecheck.CompareValue(compare.ValuesDiffer())
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if _, err := cli.NetworkInspect(context.Background(), name, network.InspectOptions{}); err == nil {
				return fmt.Errorf("network %s still exists after destroy", name)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: networkConfig(name, body("a")),
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(netAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(netAddr, tfjsonpath.New("driver"), knownvalue.StringExact("overlay")),
					statecheck.ExpectKnownValue(netAddr, tfjsonpath.New("encrypted"), knownvalue.Bool(true)),
				},
				Check: func(*terraform.State) error {
					n, err := cli.NetworkInspect(context.Background(), name, network.InspectOptions{})
					if err != nil {
						return err
					}
					if n.Scope != "swarm" || !n.Attachable || !n.Internal || n.Options["com.docker.network.driver.mtu"] != "1400" || n.IPAM.Config[0].Subnet != "10.231.7.0/24" {
						return fmt.Errorf("network as created: %+v", n)
					}
					if _, ok := n.Options["encrypted"]; !ok {
						return fmt.Errorf("network not encrypted: %v", n.Options)
					}
					return nil
				},
			},
			{ResourceName: netAddr, ImportState: true, ImportStateVerify: true},
			{ResourceName: netAddr, ImportState: true, ImportStateId: name, ImportStateVerify: true},
			{
				// Docker cannot change a network: a new label replaces it.
				Config: networkConfig(name, body("b")),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(netAddr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{sameID.AddStateValue(netAddr, tfjsonpath.New("id"))},
			},
			{
				PreConfig: func() {
					if err := cli.NetworkRemove(context.Background(), name); err != nil {
						t.Fatal(err)
					}
				},
				Config:             networkConfig(name, body("b")),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
	})
}

// A network left to Swarm's address pools plans no change, and a service attaches to it by
// name or by ID without a diff between the two; adding a second network updates the service
// in place. Replacing a network in use fails at once, naming the service; replacing it under
// a new name with create_before_destroy moves the service (in place) and removes the old one.
func TestAccNetwork_serviceAttachment(t *testing.T) {
	acctest.Parallel(t)
	net1, net2, svc := acctest.Name("net-a"), acctest.Name("net-b"), acctest.Name("netsvc")
	cli := acctest.Docker(t)
	netA := fmt.Sprintf("name = %q", net1)
	configA := func(netA, networks string) string {
		return fmt.Sprintf(`
provider "swarm" {}

resource "swarm_network" "a" {
  %s
}

resource "swarm_network" "b" {
  name = %q
}

resource "swarm_service" "test" {
  name     = %q
  image    = %q
  networks = %s
}
`, netA, net2, svc, os.Getenv("TEST_IMAGE"), networks)
	}
	config := func(networks string) string { return configA(netA, networks) }
	sameService, sameVersion := statecheck.CompareValue(compare.ValuesSame()), statecheck.CompareValue(compare.ValuesSame())
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config(`[{ id = swarm_network.a.name, aliases = ["api"] }]`),
				ConfigStateChecks: []statecheck.StateCheck{
					sameService.AddStateValue(svcAddr, tfjsonpath.New("id")),
					sameVersion.AddStateValue(svcAddr, tfjsonpath.New("version")),
					statecheck.ExpectKnownValue("swarm_network.a", tfjsonpath.New("ipam").AtSliceIndex(0).AtMapKey("subnet"), knownvalue.NotNull()),
				},
			},
			{
				// The same network by ID: Terraform shows the new spelling (a planned value must
				// equal the configuration), the apply writes nothing (the same service version),
				// and the plan after it is empty.
				Config: config(`[{ id = swarm_network.a.id, aliases = ["api"] }]`),
				ConfigStateChecks: []statecheck.StateCheck{
					sameService.AddStateValue(svcAddr, tfjsonpath.New("id")),
					sameVersion.AddStateValue(svcAddr, tfjsonpath.New("version")),
				},
			},
			{
				Config: config(`[{ id = swarm_network.a.id, aliases = ["api"] }, { id = swarm_network.b.id }]`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(svcAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{sameService.AddStateValue(svcAddr, tfjsonpath.New("id"))},
				Check: func(*terraform.State) error {
					nets := acctest.InspectService(t, cli, svc).Spec.TaskTemplate.Networks
					if len(nets) != 2 || strings.Join(nets[0].Aliases, ",") != "api" {
						return fmt.Errorf("service networks %+v", nets)
					}
					return nil
				},
			},
			{
				// Replaced in place of itself: Docker refuses to remove it while the service
				// uses it, and the error says so at once (no wait for the timeout).
				Config: configA(fmt.Sprintf("name = %q\n  internal = true", net1),
					`[{ id = swarm_network.a.id, aliases = ["api"] }, { id = swarm_network.b.id }]`),
				ExpectError: acctest.ErrorPattern(`Network In Use[\s\S]*used by service ` + svc + `[\s\S]*create_before_destroy`),
			},
			{
				// A new name, created before the old one goes: the service moves in place.
				Config: configA(fmt.Sprintf("name = %q\n  internal = true\n  lifecycle {\n    create_before_destroy = true\n  }", net1+"-v2"),
					`[{ id = swarm_network.a.id, aliases = ["api"] }, { id = swarm_network.b.id }]`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("swarm_network.a", plancheck.ResourceActionCreateBeforeDestroy),
					plancheck.ExpectResourceAction(svcAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{sameService.AddStateValue(svcAddr, tfjsonpath.New("id"))},
				Check: func(*terraform.State) error {
					if _, err := cli.NetworkInspect(context.Background(), net1, network.InspectOptions{}); err == nil {
						return fmt.Errorf("the old network %s is still there", net1)
					}
					n, err := cli.NetworkInspect(context.Background(), net1+"-v2", network.InspectOptions{})
					if err != nil {
						return err
					}
					if nets := acctest.InspectService(t, cli, svc).Spec.TaskTemplate.Networks; nets[0].Target != n.ID {
						return fmt.Errorf("the service is on %s, not the new network %s", nets[0].Target, n.ID)
					}
					return nil
				},
			},
		},
	})
}

// What a network's configuration alone shows to be wrong fails at plan time, with the path,
// without a swarm: drivers that cannot make a swarm network services can use, settings a
// node-local driver does not keep, and address pools that Swarm would accept and never
// allocate, or refuse.
func TestNetworkValidation(t *testing.T) {
	acctest.Parallel(t)
	tests := []struct{ name, body, want string }{
		{"host driver", `driver = "host"`, `Driver Cannot Make a Swarm Network.*Attribute driver: Swarm accepts a network with the host driver, but no task can ever attach to it.*networks = \[\{ id = "host" \}\]`},
		{"null driver", `driver = "null"`, `Driver Cannot Make a Swarm Network.*Attribute driver: The null driver`},
		{"bridge with pools", `driver = "bridge"
  ipam   = [{ subnet = "10.231.8.0/24" }]`, `Setting Not Kept for This Driver.*Attribute ipam: With driver "bridge" each node makes the network itself`},
		{"macvlan with options", `driver = "macvlan"
  driver_options = { parent = "eth0" }`, `Setting Not Kept for This Driver.*Attribute driver_options`},
		{"overlapping pools", `ipam = [{ subnet = "10.231.8.0/24" }, { subnet = "10.231.8.128/25" }]`, `Overlapping Subnets.*Attribute ipam\[1\]\.subnet: Subnet 10.231.8.128/25 overlaps ipam\[0\]\.subnet \(10.231.8.0/24\). Swarm accepts such a network but never allocates it`},
		{"gateway outside the subnet", `ipam = [{ subnet = "10.231.8.0/24", gateway = "10.231.9.1" }]`, `Gateway Outside Subnet.*Attribute ipam\[0\]\.gateway: Gateway 10.231.9.1 is not in subnet 10.231.8.0/24`},
		{"not a subnet", `ipam = [{ subnet = "10.231.8.1" }]`, `Invalid Subnet.*Attribute ipam\[0\]\.subnet: "10.231.8.1" is not a subnet in CIDR form`},
		{"subnet too small", `ipam = [{ subnet = "10.231.8.0/31" }]`, `Subnet Too Small.*Attribute ipam\[0\]\.subnet: Subnet 10.231.8.0/31 has no room for a gateway and a task. Swarm accepts it but never allocates the network; give a subnet of /30 or wider`},
		{"gateway the broadcast address", `ipam = [{ subnet = "10.231.8.0/24", gateway = "10.231.8.255" }]`, `Gateway Not a Host Address.*Attribute ipam\[0\]\.gateway: Gateway 10.231.8.255 is the network or broadcast address`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps:                    []resource.TestStep{{Config: networkConfig("valid-name", "  "+tc.body), PlanOnly: true, ExpectError: acctest.ErrorPattern(tc.want)}},
			})
		})
	}
}

// networksNamed counts the swarm networks of that name, allocated or not: a network Swarm has
// not allocated has no driver, and a list filtered by name leaves it out, so the whole list
// of swarm-scoped networks is read.
func networksNamed(t *testing.T, cli *client.Client, name string) int {
	t.Helper()
	list, err := cli.NetworkList(context.Background(), network.ListOptions{Filters: filters.NewArgs(filters.Arg("scope", "swarm"))})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, nw := range list {
		if nw.Name == name {
			n++
		}
	}
	return n
}

// createNetwork makes a swarm network with the Docker API, removed when the test ends.
func createNetwork(t *testing.T, cli *client.Client, name string, opts network.CreateOptions) string {
	t.Helper()
	opts.Scope = "swarm"
	if opts.Driver == "" {
		opts.Driver = "overlay"
	}
	resp, err := cli.NetworkCreate(context.Background(), name, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.NetworkRemove(context.Background(), resp.ID) })
	return resp.ID
}

// A subnet that another swarm network uses (the ingress network's, or one made outside
// Terraform) is refused at plan time, at its path, naming that network: Swarm would accept the
// network and never allocate it. Nothing is written. The subnet of a network being replaced
// is not taken (TestAccNetwork_basic replaces one under the same name).
func TestAccNetwork_subnetInUseRefusedAtPlan(t *testing.T) {
	acctest.Parallel(t)
	name, other := acctest.Name("net-inuse"), acctest.Name("net-other")
	cli := acctest.Docker(t)
	ingress, err := cli.NetworkInspect(context.Background(), "ingress", network.InspectOptions{Scope: "swarm"})
	if err != nil || len(ingress.IPAM.Config) == 0 {
		t.Fatalf("the test swarm's ingress network: %v (pools %v)", err, ingress.IPAM.Config)
	}
	otherID := createNetwork(t, cli, other, network.CreateOptions{IPAM: &network.IPAM{Driver: "default", Config: []network.IPAMConfig{{Subnet: "10.231.20.0/24"}}}})
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: networkConfig(name, fmt.Sprintf(`  ipam = [{ subnet = %q }]`, ingress.IPAM.Config[0].Subnet)),
				ExpectError: acctest.ErrorPattern(`Subnet In Use.*Attribute ipam\[0\]\.subnet: Subnet ` + regexp.QuoteMeta(ingress.IPAM.Config[0].Subnet) +
					` overlaps subnet .* of network ingress \(ID ` + ingress.ID + `\)\. Swarm accepts such a network but never allocates it`),
			},
			{
				Config:      networkConfig(name, `  ipam = [{ subnet = "10.231.21.0/24" }, { subnet = "10.231.20.128/25" }]`),
				ExpectError: acctest.ErrorPattern(`Subnet In Use.*Attribute ipam\[1\]\.subnet: Subnet 10.231.20.128/25 overlaps subnet 10.231.20.0/24 of network ` + other + ` \(ID ` + otherID + `\)`),
			},
			{
				PreConfig: func() {
					if n := networksNamed(t, cli, name); n != 0 {
						t.Fatalf("%d networks named %s after the refused plans, want none", n, name)
					}
				},
				Config: networkConfig(name, `  ipam = [{ subnet = "10.231.21.0/24" }]`),
			},
			{
				// A replacement (here a new name) keeps its subnet: the network it replaces
				// goes first, so its subnet does not count as taken.
				Config: networkConfig(name+"-renamed", `  ipam = [{ subnet = "10.231.21.0/24" }]`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(netAddr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
			},
		},
	})
}

// twoNetworks is two networks in one configuration, with these subnets; b is made after a.
func twoNetworks(a, b, subnetA, subnetB string) string {
	return fmt.Sprintf(`
provider "swarm" {}

resource "swarm_network" "a" {
  name = %q
  ipam = [{ subnet = %q }]
}

resource "swarm_network" "b" {
  name       = %q
  ipam       = [{ subnet = %q }]
  depends_on = [swarm_network.a]
}
`, a, subnetA, b, subnetB)
}

// What the first plan cannot see: two networks of one apply with the same subnet (neither
// exists yet). The second is refused before anything is written, at its path, naming the
// first; once the configuration gives it another subnet, the apply completes. (When both are
// made at the same moment, the engine's bounded wait for Swarm's allocator takes over:
// TestAwaitAllocationRemovesWhatSwarmDidNotAllocate.)
func TestAccNetwork_collisionWithinOneApply(t *testing.T) {
	acctest.Parallel(t)
	a, b := acctest.Name("net-same-a"), acctest.Name("net-same-b")
	cli := acctest.Docker(t)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      twoNetworks(a, b, "10.231.30.0/24", "10.231.30.0/24"),
				ExpectError: acctest.ErrorPattern(`Subnet In Use.*with swarm_network\.b.*Attribute ipam\[0\]\.subnet: .*Subnet 10.231.30.0/24 overlaps subnet 10.231.30.0/24 of network ` + a),
			},
			{
				PreConfig: func() {
					if na, nb := networksNamed(t, cli, a), networksNamed(t, cli, b); na != 1 || nb != 0 {
						t.Fatalf("after the failed apply: %d networks named %s, %d named %s; want 1 and 0", na, a, nb, b)
					}
				},
				Config: twoNetworks(a, b, "10.231.30.0/24", "10.231.31.0/24"),
			},
		},
	})
}

// timeouts.create bounds a create: one out of time fails, saying so, and leaves no network.
// (Out of time after the write, the network made is removed again:
// TestAwaitAllocationCleansUpWhenCutShort.)
func TestAccNetwork_createTimeout(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("net-tmo")
	cli := acctest.Docker(t)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: networkConfig(name, `  timeouts = { create = "1ms" }`),
			// Out of time before the write, or after it (the network made is then removed).
			ExpectError: acctest.ErrorPattern(`Cannot Create Network.*Creating network "` + name + `": network \S+ was (not created|created, and Swarm had not allocated it yet): context deadline exceeded`),
		}},
	})
	if n := networksNamed(t, cli, name); n != 0 {
		t.Errorf("%d networks named %s after the create ran out of time, want none", n, name)
	}
}

// The bridge driver makes a swarm network each node sets up for itself (Swarm gives it no
// address pools); the create completes at once, a service's tasks run on it, the plan after
// the apply is empty, and import reads it back.
func TestAccNetwork_bridgeDriver(t *testing.T) {
	acctest.Parallel(t)
	name, svc := acctest.Name("net-bridge"), acctest.Name("net-bridge-svc")
	config := networkConfig(name, `  driver = "bridge"`) + fmt.Sprintf(`
resource "swarm_service" "test" {
  name     = %q
  image    = %q
  networks = [{ id = swarm_network.test.id }]
}
`, svc, os.Getenv("TEST_IMAGE"))
	cli := acctest.Docker(t)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(netAddr, tfjsonpath.New("driver"), knownvalue.StringExact("bridge")),
					statecheck.ExpectKnownValue(netAddr, tfjsonpath.New("ipam"), knownvalue.ListExact([]knownvalue.Check{})),
				},
				Check: func(*terraform.State) error {
					if n := len(acctest.RunningTasks(t, cli, svc)); n != 1 {
						return fmt.Errorf("%d tasks of %s run on the bridge network, want 1", n, svc)
					}
					return nil
				},
			},
			{ResourceName: netAddr, ImportState: true, ImportStateVerify: true, ImportStateVerifyIgnore: []string{"timeouts"}},
		},
	})
}

// Every swarm has networks named bridge and host that the network list leaves out: a service
// attaches to them as `docker service create --network host` does, keeps the name in state
// (an empty plan), and the data source reads them. A network local to the node (none,
// docker_gwbridge) is not a swarm network: the plan says so, at the path, and what to use.
// No swarm_network can import the swarm's own networks.
func TestAccNetwork_swarmOwnNetworksAndLocalOnes(t *testing.T) {
	acctest.Parallel(t)
	onBridge, onHost := acctest.Name("on-bridge"), acctest.Name("on-host")
	services := func(bridgeNetworks string) string {
		return fmt.Sprintf(`
provider "swarm" {}

resource "swarm_service" "bridge" {
  name     = %q
  image    = %q
  networks = %s
}

resource "swarm_service" "host" {
  name     = %q
  image    = %q
  env      = { PORT = "%d" }
  networks = [{ id = "host" }]
}

data "swarm_network" "bridge" {
  name = "bridge"
}
`, onBridge, os.Getenv("TEST_IMAGE"), bridgeNetworks, onHost, os.Getenv("TEST_IMAGE"), acctest.FreePort(t))
	}
	config := services(`[{ id = "bridge" }]`)
	cli := acctest.Docker(t)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("swarm_service.bridge", tfjsonpath.New("networks").AtSliceIndex(0).AtMapKey("id"), knownvalue.StringExact("bridge")),
					statecheck.ExpectKnownValue("swarm_service.host", tfjsonpath.New("networks").AtSliceIndex(0).AtMapKey("id"), knownvalue.StringExact("host")),
					statecheck.ExpectKnownValue("data.swarm_network.bridge", tfjsonpath.New("driver"), knownvalue.StringExact("bridge")),
				},
				Check: func(s *terraform.State) error {
					for _, name := range []string{onBridge, onHost} {
						if n := len(acctest.RunningTasks(t, cli, name)); n != 1 {
							return fmt.Errorf("%d tasks of %s run, want 1", n, name)
						}
					}
					bridge := s.RootModule().Resources["data.swarm_network.bridge"].Primary.ID
					if got := acctest.InspectService(t, cli, onBridge).Spec.TaskTemplate.Networks[0].Target; got != bridge {
						return fmt.Errorf("the service is attached to %s, not the swarm's bridge network %s", got, bridge)
					}
					return nil
				},
			},
			{
				Config: services(`[{ id = "none" }]`),
				ExpectError: acctest.ErrorPattern(`Not a Swarm Network.*with swarm_service\.bridge.*Attribute networks\[0\]\.id: network "none" exists, but only on the node the provider talks to \(scope local, driver null\): ` +
					`it is not a swarm network.*Attach the service to an overlay network instead \(a swarm_network resource makes one`),
			},
			{
				Config: config + `
data "swarm_network" "gwbridge" {
  name = "docker_gwbridge"
}
`,
				ExpectError: acctest.ErrorPattern(`Not a Swarm Network.*Attribute name: network "docker_gwbridge" exists, but only on the node the provider talks to \(scope local, driver bridge\)`),
			},
			{
				// Swarm never removes its own networks: no resource can manage one.
				Config:        config + "\nresource \"swarm_network\" \"own\" {\n  name = \"host\"\n}\n",
				ResourceName:  "swarm_network.own",
				ImportState:   true,
				ImportStateId: "host",
				ExpectError:   acctest.ErrorPattern(`Cannot Import Network.*Network "host" is one of the networks every swarm has, which Swarm never removes`),
			},
		},
	})
}

// A network attached twice to one service is refused: the same spelling at validate time
// (TestServiceValidation), by ID and by name once the engine can tell: at plan time, or when
// Terraform plans the service again during the apply, once the network it waited for exists;
// the engine refuses it again before writing (resolveRefs).
func TestAccNetwork_attachedTwice(t *testing.T) {
	acctest.Parallel(t)
	net, svc := acctest.Name("net-twice"), acctest.Name("net-twice-svc")
	config := func(networks string) string {
		return networkConfig(net, "") + fmt.Sprintf(`
resource "swarm_service" "test" {
  name     = %q
  image    = %q
  networks = %s
}
`, svc, os.Getenv("TEST_IMAGE"), networks)
	}
	cli := acctest.Docker(t)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// The ID is not known when the plan is made, and the name names no network yet;
				// Terraform plans the service again once the network exists, before writing it.
				Config: config(fmt.Sprintf(`[{ id = swarm_network.test.id }, { id = %q }]`, net)),
				ExpectError: acctest.ErrorPattern(`Network Attached Twice.*with swarm_service\.test.*Attribute networks\[1\]\.id: .*networks\[0\] attaches this network already, as "\w+" \(here "` +
					net + `": the same network by ID and by name\)`),
			},
			{
				PreConfig: func() {
					if _, _, err := cli.ServiceInspectWithRaw(context.Background(), svc, swarm.ServiceInspectOptions{}); err == nil {
						t.Fatalf("service %s was created although its networks were refused", svc)
					}
				},
				Config: config(`[{ id = swarm_network.test.id, aliases = ["api"] }]`),
			},
			{
				Config: config(`[{ id = swarm_network.test.id, aliases = ["api"] }, { id = swarm_network.test.name }]`),
				ExpectError: acctest.ErrorPattern(`Network Attached Twice.*Attribute networks\[1\]\.id: networks\[0\] attaches this network already, as "\w+" \(here "` + net +
					`": the same network by ID and by name\)\. A service attaches to a network once`),
			},
			{
				// Nothing was written: the service is as the second step left it.
				Config:   config(`[{ id = swarm_network.test.id, aliases = ["api"] }]`),
				PlanOnly: true,
			},
		},
	})
}

// A network's identity is its ID and name; an import block that gives it plans no change,
// and one that names a network Swarm never removes (host) is refused as an import ID is.
func TestAccIdentity_network(t *testing.T) {
	acctest.IdentityTerraform(t)
	name := acctest.Name("ident-net")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: networkConfig(name, `  labels = { team = "a" }`), ConfigStateChecks: acctest.IdentityIs(netAddr, "id", "name")},
			acctest.ImportByIdentity(netAddr),
			{
				Config:      networkConfig(name, `  labels = { team = "a" }`) + "import {\n  to = swarm_network.own\n  identity = { id = \"host\" }\n}\nresource \"swarm_network\" \"own\" {\n  name = \"host\"\n}\n",
				ExpectError: acctest.ErrorPattern(`Cannot Import Network.*Network "host" is one of the networks every swarm has`),
			},
		},
	})
}
