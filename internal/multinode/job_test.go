package multinode_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

// A global job runs once on each node of the swarm: when the apply returns, every node has
// exactly one task of the job's run, completed, and state counts one completion per node. The
// plan after it is empty; new triggers run it once more on each node.
func TestAccJob_globalRunsOnceOnEachNode(t *testing.T) {
	c := acctest.MultiNode(t)
	name := acctest.Name("globaljob")
	cli := c.Client(t)
	config := func(trigger string) string {
		return providerBlock(c.ManagerHost) + fmt.Sprintf(`resource "swarm_job" "test" {
  name     = %q
  mode     = "global"
  image    = %q
  command  = ["/app", "cat", "/proc/version"]
  triggers = { run = %q }
}
`, name, c.Image, trigger)
	}
	oncePerNode := func(*terraform.State) error {
		svc, _, err := cli.ServiceInspectWithRaw(context.Background(), name, swarm.ServiceInspectOptions{})
		if err != nil {
			return err
		}
		tasks, err := cli.TaskList(context.Background(), swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", svc.ID))})
		if err != nil {
			return err
		}
		names, err := hostnames(context.Background(), cli)
		if err != nil {
			return err
		}
		done := map[string]int{}
		for _, task := range tasks {
			it := uint64(0)
			if task.JobIteration != nil {
				it = task.JobIteration.Index
			}
			if it != svc.JobStatus.JobIteration.Index {
				continue
			}
			if task.Status.State != swarm.TaskStateComplete {
				return fmt.Errorf("job %s: task %s on %s is %s when the apply returned; want complete", name, task.ID, names[task.NodeID], task.Status.State)
			}
			done[names[task.NodeID]]++
		}
		for _, n := range c.Nodes {
			if done[n.Hostname] != 1 {
				return fmt.Errorf("job %s ran %s in its run %d; want once on each of the %d nodes", name, spread(done), svc.JobStatus.JobIteration.Index, len(c.Nodes))
			}
		}
		if len(done) != len(c.Nodes) {
			return fmt.Errorf("job %s ran %s; want once on each of the swarm's %d nodes only", name, spread(done), len(c.Nodes))
		}
		return nil
	}
	outcome := []statecheck.StateCheck{
		statecheck.ExpectKnownValue("swarm_job.test", tfjsonpath.New("status"), knownvalue.StringExact("completed")),
		statecheck.ExpectKnownValue("swarm_job.test", tfjsonpath.New("completions"), knownvalue.Int64Exact(int64(len(c.Nodes)))),
		statecheck.ExpectKnownValue("swarm_job.test", tfjsonpath.New("total_completions"), knownvalue.Null()),
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []resource.TestStep{
			{
				Config:            config("1"),
				ConfigStateChecks: outcome,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check:             oncePerNode,
			},
			{
				Config:            config("2"),
				ConfigStateChecks: outcome,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction("swarm_job.test", plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: oncePerNode,
			},
		},
	})
}
