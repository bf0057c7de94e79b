package provider

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/network"
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
