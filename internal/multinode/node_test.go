package multinode_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/docker/docker/api/types/swarm"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

const nodeAddr = "swarm_node.test"

func nodeConfig(host, body string) string {
	return providerBlock(host) + fmt.Sprintf("resource \"swarm_node\" \"test\" {\n%s\n}\n", body)
}

// checkLabels compares the node's labels, less the adoption record, with want.
func checkLabels(t *testing.T, c *acctest.Cluster, host string, want map[string]string, adopted bool) resource.TestCheckFunc {
	return func(*terraform.State) error {
		n := inspectNode(t, c.Client(t), host)
		got := map[string]string{}
		for k, v := range n.Spec.Labels {
			if k != orchestrator.NodeAdoptionLabel {
				got[k] = v
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("node %s has labels %v, want %v", host, got, want)
		}
		if _, ok := n.Spec.Labels[orchestrator.NodeAdoptionLabel]; ok != adopted {
			return fmt.Errorf("node %s carries the adoption label: %v, want %v", host, ok, adopted)
		}
		return nil
	}
}

// Labels: the resource owns only the labels it names (zone changed, team added, the harness's
// own left alone); a label dropped from the map gets its earlier value back; import by ID,
// by hostname and with an import block plans nothing; a label changed by hand shows in the
// plan and is put back; destroying the resource puts the node back as it was.
func TestAccNode_labels(t *testing.T) {
	c := acctest.MultiNode(t)
	cli := c.Client(t)
	restoreNodesAtCleanup(t, cli)
	n := c.Node(3)
	before := map[string]string{"zone": n.Zone, "swarmform.node": "3"}
	config := func(labels string) string {
		return nodeConfig(c.ManagerHost, fmt.Sprintf("  hostname = %q\n  labels = %s", n.Hostname, labels))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		CheckDestroy:             checkLabels(t, c, n.Hostname, before, false),
		Steps: []resource.TestStep{
			{
				Config: config(`{ zone = "x", team = "web" }`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(nodeAddr, tfjsonpath.New("node_id"), knownvalue.StringExact(n.ID)),
					statecheck.ExpectKnownValue(nodeAddr, tfjsonpath.New("availability"), knownvalue.StringExact("active")),
					statecheck.ExpectKnownValue(nodeAddr, tfjsonpath.New("role"), knownvalue.StringExact("worker")),
				},
				Check: checkLabels(t, c, n.Hostname, map[string]string{"zone": "x", "team": "web", "swarmform.node": "3"}, true),
			},
			{
				// zone leaves the map: it gets "c" back; team changes in place.
				Config: config(`{ team = "api" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(nodeAddr, plancheck.ResourceActionUpdate),
				}},
				Check: checkLabels(t, c, n.Hostname, map[string]string{"zone": n.Zone, "team": "api", "swarmform.node": "3"}, true),
			},
			{ResourceName: nodeAddr, ImportState: true, ImportStateVerify: true},
			{ResourceName: nodeAddr, ImportState: true, ImportStateId: n.Hostname, ImportStateVerify: true},
			{
				// Changed by hand: the plan shows it, the apply puts it back.
				PreConfig: func() {
					updateNode(t, cli, n.Hostname, func(s *swarm.NodeSpec) { s.Labels["team"] = "someone-else" })
				},
				Config: config(`{ team = "api" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(nodeAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(nodeAddr, tfjsonpath.New("labels").AtMapKey("team"), knownvalue.StringExact("api")),
				}},
				Check: checkLabels(t, c, n.Hostname, map[string]string{"zone": n.Zone, "team": "api", "swarmform.node": "3"}, true),
			},
			acctest.ForgetStep(t, nodeAddr, providerBlock(c.ManagerHost)),
			{
				// Forgotten, then taken back: the adoption record on the node says which labels
				// the resource owns, so nothing changes.
				SkipFunc: acctest.NeedsTerraform(t, "1.7.0", "importing what a removed block forgot"),
				Config:   acctest.ImportBlock(nodeAddr, n.Hostname) + config(`{ team = "api" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(nodeAddr, plancheck.ResourceActionNoop),
				}},
			},
			{
				// A second resource for the same node is refused at plan time.
				Config:      config(`{ team = "api" }`) + fmt.Sprintf("resource \"swarm_node\" \"again\" {\n  node_id = %q\n}\n", n.ID),
				PlanOnly:    true,
				ExpectError: acctest.ErrorWords("Node Already Managed"),
			},
		},
	})
}

// Draining through swarm_node moves the node's tasks: the apply returns once they run on other
// nodes, and the service's plan stays empty. A drain whose task no other node may take fails
// after progress_deadline with Swarm's reason. Destroying the resource makes the node active.
func TestAccNode_drain(t *testing.T) {
	c := acctest.MultiNode(t)
	cli := c.Client(t)
	restoreNodesAtCleanup(t, cli)
	n := c.Node(3)
	web, pinned := acctest.Name("drain-web"), acctest.Name("drain-pinned")
	removeServicesAtCleanup(t, cli, web, pinned)
	webBlock := service("web", web, fmt.Sprintf(`  image = %q
  replicas = 3
  placement = { preferences = ["spread=node.labels.zone"] }
  rolling_update = { monitor = "1s" }`, c.Image))
	pinnedBlock := service("pinned", pinned, fmt.Sprintf(`  image = %q
  placement = { constraints = ["node.labels.zone==%s"] }
  rolling_update = { monitor = "1s" }`, c.Image, n.Zone))
	nodeBlock := func(availability, extra string) string {
		return fmt.Sprintf("resource \"swarm_node\" \"test\" {\n  hostname = %q\n  availability = %q\n%s\n  depends_on = [swarm_service.web]\n}\n", n.Hostname, availability, extra)
	}
	onNode := func(svc string, want int) resource.TestCheckFunc {
		return func(*terraform.State) error {
			counts, err := tasksByNode(context.Background(), cli, svc)
			if err != nil {
				return err
			}
			total := 0
			for _, k := range counts {
				total += k
			}
			if counts[n.Hostname] != want || total != 3 {
				return fmt.Errorf("service %s runs %s, want %d task(s) on %s and 3 in all", svc, spread(counts), want, n.Hostname)
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		CheckDestroy: func(*terraform.State) error {
			if a := inspectNode(t, cli, n.Hostname).Spec.Availability; a != swarm.NodeAvailabilityActive {
				return fmt.Errorf("after destroy node %s is %s, want active", n.Hostname, a)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: providerBlock(c.ManagerHost) + webBlock + nodeBlock("active", ""),
				Check:  onNode(web, 1),
			},
			{
				Config: providerBlock(c.ManagerHost) + webBlock + nodeBlock("drain", ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("swarm_service.web", plancheck.ResourceActionNoop),
						plancheck.ExpectResourceAction(nodeAddr, plancheck.ResourceActionUpdate),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				// The apply returned only once the task ran elsewhere: checked at once, no wait.
				Check: onNode(web, 0),
			},
			{
				// Back to active: nothing moves back by itself (Swarm does not rebalance).
				Config: providerBlock(c.ManagerHost) + webBlock + nodeBlock("active", ""),
				Check:  onNode(web, 0),
			},
			{
				Config: providerBlock(c.ManagerHost) + webBlock + pinnedBlock + nodeBlock("active", ""),
			},
			{
				// The pinned service's task can run nowhere else.
				Config:      providerBlock(c.ManagerHost) + webBlock + pinnedBlock + nodeBlock("drain", `  progress_deadline = "5s"`),
				ExpectError: regexp.MustCompile(`(?s)Node Drain Did Not Complete.*started\s+elsewhere\s+for\s+5s.*` + regexp.QuoteMeta(pinned) + `.*no\s+suitable\s+node`),
			},
			{
				// State recorded the drain; making the node active again plans an update.
				Config: providerBlock(c.ManagerHost) + webBlock + pinnedBlock + nodeBlock("active", ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(nodeAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(nodeAddr, tfjsonpath.New("availability"), knownvalue.StringExact("active")),
				}},
			},
			{
				// Left out, the availability is not managed: drained by hand, nothing to plan.
				PreConfig: func() {
					updateNode(t, cli, n.Hostname, func(s *swarm.NodeSpec) { s.Availability = swarm.NodeAvailabilityPause })
				},
				Config: providerBlock(c.ManagerHost) + webBlock + pinnedBlock + fmt.Sprintf("resource \"swarm_node\" \"test\" {\n  hostname = %q\n}\n", n.Hostname),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(nodeAddr, plancheck.ResourceActionNoop),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(nodeAddr, tfjsonpath.New("availability"), knownvalue.StringExact("pause")),
				},
			},
			{
				// Managed again: destroying the resource then makes it active.
				Config: providerBlock(c.ManagerHost) + webBlock + pinnedBlock + nodeBlock("pause", ""),
			},
		},
	})
}

// Roles: demoting the manager the provider talks to is refused at plan time, naming why; a
// worker is promoted and demoted again, each apply returning once Raft has carried the change
// out; destroying the resource leaves the role as it is.
func TestAccNode_role(t *testing.T) {
	c := acctest.MultiNode(t)
	cli := c.Client(t)
	restoreNodesAtCleanup(t, cli)
	w := c.Node(2)
	role := func(host, r string) string {
		return nodeConfig(c.ManagerHost, fmt.Sprintf("  hostname = %q\n  role = %q", host, r))
	}
	managerStatus := func(want bool) resource.TestCheckFunc {
		return func(*terraform.State) error {
			n := inspectNode(t, cli, w.Hostname)
			if got := n.ManagerStatus != nil && n.ManagerStatus.Reachability == swarm.ReachabilityReachable; got != want {
				return fmt.Errorf("node %s is a reachable manager: %v, want %v (role %s)", w.Hostname, got, want, n.Spec.Role)
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []resource.TestStep{
			{
				Config:      role(c.Manager.Hostname, "worker"),
				PlanOnly:    true,
				ExpectError: acctest.ErrorPattern(`Unsafe Role Change .*the manager the provider talks to.*point the provider's host at another manager first`),
			},
			{
				// The apply returns once Raft has made the node a reachable manager: checked
				// at once, no wait.
				Config: role(w.Hostname, "manager"),
				Check:  managerStatus(true),
			},
			{
				// And once Raft has let go of it (a moment after the write: under load,
				// longer than the read that follows it).
				Config: role(w.Hostname, "worker"),
				Check:  managerStatus(false),
			},
		},
	})
}

// A node's identity is its ID: a label change (an update in place) keeps it, and an import
// block that gives it plans no change. The label is the test's own, on node 1.
func TestAccIdentity_node(t *testing.T) {
	acctest.IdentityTerraform(t)
	c := acctest.MultiNode(t)
	cli := c.Client(t)
	restoreNodesAtCleanup(t, cli)
	n, key := c.Node(1), acctest.Name("ident")
	config := func(v string) string {
		return nodeConfig(c.ManagerHost, fmt.Sprintf("  hostname = %q\n  labels = { %q = %q }", n.Hostname, key, v))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []resource.TestStep{
			{
				Config: config("a"),
				ConfigStateChecks: append(acctest.IdentityIs(nodeAddr, "id"),
					statecheck.ExpectIdentityValue(nodeAddr, tfjsonpath.New("id"), knownvalue.StringExact(n.ID))),
			},
			acctest.ImportByIdentity(nodeAddr),
			{
				Config: config("b"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(nodeAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: append(acctest.IdentityIs(nodeAddr, "id"),
					statecheck.ExpectIdentityValue(nodeAddr, tfjsonpath.New("id"), knownvalue.StringExact(n.ID))),
			},
		},
	})
}
