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

const policyAddr = "swarm_scaling_policy.test"

// A cpu policy on a service with one task per node: the tasks on the workers burn their whole
// CPU limit, the one on the manager (the engine the provider talks to) is idle.
//
// From Docker stats the provider sees only the manager's idle task. It does not scale down on
// that partial view, and the decision says so: measured on 1 of 3 ready tasks, the other 2 on
// mn-2 and mn-3, which the manager's engine cannot read. (Before, it scaled 3 -> 1.)
//
// From cAdvisor through Prometheus it sees all three, averages 2 × 100% and 0% against a 30%
// target and scales up to max_replicas; once every task is idle it scales down to
// min_replicas.
func TestAccScaling_multiNode(t *testing.T) {
	c := acctest.MultiNode(t)
	prom := c.NeedPrometheus(t)
	cli := c.Client(t)
	name := acctest.Name("mn-cpu")
	service := func(burn string) string {
		return service("test", name, fmt.Sprintf(`  image = %q
  replicas = 3
  env = { BURN_CPU = %q }
  resources = { limits = { cpus = 0.05 } }
  placement = { preferences = ["spread=node.labels.zone"] }
  rolling_update = { parallelism = 0, monitor = "1s" }`, c.Image, burn))
	}
	// Swarm expands the template per task: the manager's task is idle, the workers' burn.
	const workersBurn = `{{if eq .Node.Hostname "mn-1"}}false{{else}}true{{end}}`
	policy := func(maxReplicas int, source, window string) string {
		return fmt.Sprintf(`resource "swarm_scaling_policy" "test" {
  service_id   = swarm_service.test.id
  min_replicas = 1
  max_replicas = %d
  metrics      = [{ type = "cpu", target_utilization = 30 %s }]
  scale_down   = { stabilization_window = %q }
}
`, maxReplicas, source, window)
	}
	fromCAdvisor := fmt.Sprintf(`, source = "cadvisor", address = %q`, prom)
	docker, cadvisor := policy(4, "", "0s"), policy(4, fromCAdvisor, "0s")
	// While the tasks go idle, a long window holds the scale-down whatever cAdvisor has seen
	// of the new tasks yet, so the plan after that apply is empty every time (CI5 failed on
	// a plan that was empty or not depending on it).
	cadvisorHeld := policy(4, fromCAdvisor, "10m")
	partial := `cpu at [\d.]+% on 1 of 3 ready tasks, [\d.]+% with the other 2 counted as idle, against a 30% target .*; ` +
		`cpu on 1 of 3 ready tasks measured only, so no scale-down; stays at 3; ` +
		`cpu measured on 1 of 3 ready tasks: 2 run on mn-2, mn-3, whose containers the Docker engine that reads the stats \(` + regexp.QuoteMeta(c.ManagerHost) + `\) cannot read$`
	config := func(burn, policy string) string { return providerBlock(c.ManagerHost) + service(burn) + policy }
	replicas := func(want uint64) resource.TestCheckFunc {
		return func(*terraform.State) error {
			if got := *acctest.InspectService(t, cli, name).Spec.Mode.Replicated.Replicas; got != want {
				return fmt.Errorf("the service has %d replicas, want %d", got, want)
			}
			return nil
		}
	}
	// logged records each decision in the test log, for the guide and for anyone reading it.
	logged := func(step string) resource.TestCheckFunc {
		return func(st *terraform.State) error {
			if r := st.RootModule().Resources[policyAddr]; r != nil {
				t.Logf("%s: desired %s: %s", step, r.Primary.Attributes["desired_replicas"], r.Primary.Attributes["decision"])
			}
			return nil
		}
	}
	decision := func(re string) statecheck.StateCheck {
		return statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("decision"), knownvalue.StringRegexp(regexp.MustCompile(re)))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []resource.TestStep{
			{
				// The policy's first decision, at apply, from Docker stats.
				Config: config(workersBurn, docker),
				Check:  resource.ComposeTestCheckFunc(replicas(3), placed(t, c, name, "mn-1:1 mn-2:1 mn-3:1"), logged("docker stats")),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("desired_replicas"), knownvalue.Int64Exact(3)),
					decision(`^` + partial),
				},
			},
			{
				// A plan that decides (the policy changed) shows the same in its decision.
				Config: config(workersBurn, policy(5, "", "0s")),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("swarm_service.test", plancheck.ResourceActionNoop),
					plancheck.ExpectKnownValue(policyAddr, tfjsonpath.New("desired_replicas"), knownvalue.Int64Exact(3)),
					plancheck.ExpectKnownValue(policyAddr, tfjsonpath.New("decision"), knownvalue.StringRegexp(regexp.MustCompile(`^`+partial))),
				}},
				Check: replicas(3),
			},
			{
				// cAdvisor sees every task: 2 × ~100% and ~0% average well above 30%; the
				// count goes to max_replicas.
				PreConfig: func() { waitForCAdvisor(t, c, prom, name, 3) },
				Config:    config(workersBurn, cadvisor),
				Check:     resource.ComposeTestCheckFunc(replicas(4), logged("cadvisor, workers burning")),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("desired_replicas"), knownvalue.Int64Exact(4)),
					// Above 70% the raw count passes the default step limit (+4) before max_replicas.
					decision(`^cpu at [\d.]+% against a 30% target \(ceil\(3 × [\d.]+/30\) = \d+\); (scale-up limited to \+4 per decision; )?lowered to max_replicas 4; 3 -> 4$`),
				},
			},
			{
				// Every task idle (a rolling update), the scale-down held by the window: nothing
				// scales, and the plan after it is empty.
				Config: config("false", cadvisorHeld),
				Check:  replicas(4),
			},
			{
				// Seen idle on all four tasks (settled rates, past their start-up), the window
				// back to 0s: down to min_replicas in one decision.
				PreConfig: func() { waitForCAdvisor(t, c, prom, name, 4) },
				Config:    config("false", cadvisor),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("swarm_service.test", plancheck.ResourceActionNoop),
					plancheck.ExpectKnownValue(policyAddr, tfjsonpath.New("desired_replicas"), knownvalue.Int64Exact(1)),
				}},
				Check: resource.ComposeTestCheckFunc(replicas(1), logged("cadvisor, all idle")),
				ConfigStateChecks: []statecheck.StateCheck{
					decision(`^cpu at [\d.]+% against a 30% target \(ceil\(4 × [\d.]+/30\) = [01]\); (raised to min_replicas 1; )?4 -> 1$`),
				},
			},
		},
	})
}

// waitForCAdvisor waits until the Prometheus has a settled CPU rate from cAdvisor for each of
// the service's n running tasks, so that a refresh sees all of them as they run now: the rate
// is the last two samples' (irate), and a task's first samples hold its start-up, which
// against a 0.05 CPU limit reads as load (CI once saw new idle tasks decide 2 replicas, not
// 1). Settled means at least settledSamples samples of the task, so the last two come after
// its start.
func waitForCAdvisor(t *testing.T, c *acctest.Cluster, prom, name string, n int) {
	t.Helper()
	const settledSamples = 5
	cli := c.Client(t)
	ctx := context.Background()
	waitFor(t, defaultWait, fmt.Sprintf("settled cAdvisor rates for the %d tasks of %s", n, name), func() (bool, string, error) {
		svc := acctest.InspectService(t, cli, name)
		tasks := acctest.RunningTasks(t, cli, name)
		cpu, _ := orchestrator.CAdvisorQueries(svc.ID)
		series, err := orchestrator.QueryPrometheusSeries(ctx, nil, prom, cpu)
		if err != nil {
			return false, "", err
		}
		counts, err := orchestrator.QueryPrometheusSeries(ctx, nil, prom, fmt.Sprintf(
			`max by (container_label_com_docker_swarm_task_id) (count_over_time(container_cpu_usage_seconds_total{container_label_com_docker_swarm_service_id=%q}[1m]))`, svc.ID))
		if err != nil {
			return false, "", err
		}
		samples := map[string]float64{}
		for _, s := range counts {
			samples[s.Labels["container_label_com_docker_swarm_task_id"]] = s.Value
		}
		seen := map[string]bool{}
		for _, s := range series {
			seen[s.Labels["container_label_com_docker_swarm_task_id"]] = true
		}
		have := 0
		for _, task := range tasks {
			if seen[task.ID] && samples[task.ID] >= settledSamples && task.Status.State == swarm.TaskStateRunning {
				have++
			}
		}
		return have == n && len(tasks) == n, fmt.Sprintf("%d of %d running tasks have a settled rate", have, len(tasks)), nil
	})
}
