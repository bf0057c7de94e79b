package multinode_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

// placed checks where a service's running tasks are, per hostname ("mn-1:1 mn-2:2"), straight
// after the apply: the apply returned only once they ran.
func placed(t *testing.T, c *acctest.Cluster, name, want string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		counts, err := tasksByNode(context.Background(), c.Client(t), name)
		if err != nil {
			return err
		}
		if got := spread(counts); got != want {
			return fmt.Errorf("service %s runs %s, want %s", name, got, want)
		}
		return nil
	}
}

// Constraints on node labels, with the labels set by swarm_node: the tasks run only on the
// labelled node; another constraint moves them (a rolling update) to the nodes it allows.
func TestAccScheduling_constraintsOnNodeLabels(t *testing.T) {
	c := acctest.MultiNode(t)
	restoreNodesAtCleanup(t, c.Client(t))
	name := acctest.Name("constraint")
	n := c.Node(3)
	config := func(constraint string) string {
		return providerBlock(c.ManagerHost) + fmt.Sprintf(`resource "swarm_node" "front" {
  hostname = %q
  labels   = { tier = "front" }
}
`, n.Hostname) + service("test", name, fmt.Sprintf(`  image = %q
  replicas = 2
  placement = { constraints = [%q] }
  rolling_update = { monitor = "1s" }
  depends_on = [swarm_node.front]`, c.Image, constraint))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []resource.TestStep{
			{Config: config("node.labels.tier==front"), Check: placed(t, c, name, n.Hostname+":2")},
			{Config: config("node.labels.tier!=front"), Check: func(s *terraform.State) error {
				counts, err := tasksByNode(context.Background(), c.Client(t), name)
				if err != nil {
					return err
				}
				if counts[n.Hostname] != 0 || counts["mn-1"]+counts["mn-2"] != 2 {
					return fmt.Errorf("service %s runs %s, want 2 tasks off %s", name, spread(counts), n.Hostname)
				}
				return nil
			}},
		},
	})
}

// A spread preference over the zone label puts the same number of tasks in each zone, and
// max_replicas_per_node caps a node: a fourth task with a cap of one per node on three nodes
// cannot be placed, and the apply fails within progress_deadline with Swarm's reason.
func TestAccScheduling_spreadAndMaxReplicasPerNode(t *testing.T) {
	c := acctest.MultiNode(t)
	name := acctest.Name("spread")
	config := func(placement string, replicas int) string {
		return providerBlock(c.ManagerHost) + service("test", name, fmt.Sprintf(`  image = %q
  replicas = %d
  placement = %s
  rolling_update = { monitor = "1s" }
  wait = { progress_deadline = "10s" }`, c.Image, replicas, placement))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []resource.TestStep{
			{Config: config(`{ preferences = ["spread=node.labels.zone"] }`, 6), Check: placed(t, c, name, "mn-1:2 mn-2:2 mn-3:2")},
			{Config: config(`{ max_replicas_per_node = 1 }`, 3), Check: placed(t, c, name, "mn-1:1 mn-2:1 mn-3:1")},
			{
				Config:      config(`{ max_replicas_per_node = 1 }`, 4),
				ExpectError: regexp.MustCompile(`(?s)Service Update Did Not Converge.*no\s+progress.*3\s+of\s+4\s+slots.*pending.*no\s+suitable\s+node\s+\(max\s+replicas\s+per\s+node\s+limit\s+exceed`),
			},
			{
				// State recorded the 4 replicas written; back to 3, the plan is an update and
				// the apply converges.
				Config: config(`{ max_replicas_per_node = 1 }`, 3),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue("swarm_service.test", tfjsonpath.New("replicas"), knownvalue.Int64Exact(3)),
				}},
				Check: placed(t, c, name, "mn-1:1 mn-2:1 mn-3:1"),
			},
		},
	})
}

// A reservation no node of the swarm can ever satisfy (more memory than any node has) fails
// the create at once, with the cause; one a node may still come to satisfy (a constraint on a
// label no node has yet) fails within progress_deadline, naming Swarm's reason. Neither waits
// for the timeout.
func TestAccScheduling_unsatisfiableReservation(t *testing.T) {
	c := acctest.MultiNode(t)
	name, other := acctest.Name("toobig"), acctest.Name("nolabel")
	removeServicesAtCleanup(t, c.Client(t), name, other)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []resource.TestStep{
			{
				Config: providerBlock(c.ManagerHost) + service("test", name, fmt.Sprintf(`  image = %q
  resources = { reservations = { memory = "1000GiB" } }
  timeouts = { create = "10m" }`, c.Image)),
				ExpectError: regexp.MustCompile(`(?s)Service Did Not Converge.*no\s+node\s+of\s+the\s+swarm\s+can\s+ever\s+run\s+the\s+new\s+spec's\s+tasks.*each\s+task\s+reserves\s+1000GiB\s+of\s+memory,\s+more\s+than\s+any\s+node\s+of\s+the\s+swarm\s+has`),
			},
			{
				Config: providerBlock(c.ManagerHost) + service("test", other, fmt.Sprintf(`  image = %q
  placement = { constraints = ["node.labels.swarmform-test-nosuch==yes"] }
  wait = { progress_deadline = "10s" }
  timeouts = { create = "10m" }`, c.Image)),
				ExpectError: regexp.MustCompile(`(?s)Service Did Not Converge.*no\s+progress.*no\s+task\s+of\s+the\s+new\s+spec\s+started\s+running\s+for\s+10s.*pending.*no\s+suitable\s+node\s+\(scheduling\s+constraints\s+not\s+satisfied\s+on\s+3\s+nodes\).*No\s+node\s+may\s+run\s+these\s+tasks`),
			},
		},
	})
}

// A global service runs one task on every node, and on a node that joins later; the plans
// after the join and after the node leaves are empty.
func TestAccScheduling_globalOnEveryNodeAndOnAJoiner(t *testing.T) {
	c := acctest.MultiNode(t)
	spare := c.Spare(t)
	name := acctest.Name("global")
	config := providerBlock(c.ManagerHost) + service("test", name, fmt.Sprintf(`  image = %q
  mode = "global"
  rolling_update = { monitor = "1s" }`, c.Image))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []resource.TestStep{
			{
				Config: config,
				Check:  placed(t, c, name, "mn-1:1 mn-2:1 mn-3:1"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("swarm_service.test", tfjsonpath.New("running_replicas"), knownvalue.Int64Exact(3)),
				},
			},
			{
				PreConfig: func() {
					c.JoinNode(t, spare.Index)
					want := "mn-1:1 mn-2:1 mn-3:1 " + spare.Hostname + ":1"
					waitFor(t, defaultWait, "the global service's task on the node that joined", func() (bool, string, error) {
						counts, err := tasksByNode(context.Background(), c.Client(t), name)
						return spread(counts) == want, spread(counts), err
					})
				},
				Config:   config,
				PlanOnly: true,
			},
			{
				PreConfig: func() { c.LeaveNode(t, spare.Index) },
				Config:    config,
				PlanOnly:  true,
			},
		},
	})
}
