package provider

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
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

// policyConfig is a service plus a policy attached to it; an empty policy body leaves the
// policy out.
func policyConfig(name, service, policy string) string {
	cfg := serviceConfig(name, service)
	if policy != "" {
		cfg += fmt.Sprintf(`
resource "swarm_scaling_policy" "test" {
  service_id = swarm_service.test.id
%s
}
`, policy)
	}
	return cfg
}

// liveReplicasOf checks the replica count in the service's spec, straight from the engine.
func liveReplicasOf(t *testing.T, cli *client.Client, name string, want uint64) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if got := *acctest.InspectService(t, cli, name).Spec.Mode.Replicated.Replicas; got != want {
			return fmt.Errorf("the service has %d replicas, want %d", got, want)
		}
		return nil
	}
}

func expectPlanned(attr string, v knownvalue.Check) plancheck.PlanCheck {
	return plancheck.ExpectKnownValue(policyAddr, tfjsonpath.New(attr), v)
}

func expectState(attr string, v knownvalue.Check) statecheck.StateCheck {
	return statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New(attr), v)
}

// A CPU-bound workload with a small CPU limit grows to its maximum in one apply, and the plans
// after that stay empty (service included) while it keeps burning. Once idle it shrinks, but
// only after the scale-down stabilization window.
func TestAccScalingPolicy_cpu(t *testing.T) {
	name := acctest.Name("cpu")
	img := os.Getenv("TEST_IMAGE")
	cli := acctest.Docker(t)
	service := func(burn bool) string {
		env := `{ VERSION = "idle" }`
		if burn {
			env = `{ BURN_CPU = "1" }`
		}
		return fmt.Sprintf(`  image = %q
  replicas = 1
  env = %s
  resources = { limits = { cpus = 0.05 } }
  rolling_update = { parallelism = 3, monitor = "1s" }`, img, env)
	}
	// The window must outlast step 5 (a rolling update of three tasks and a refresh) on a
	// loaded CI machine: at 45s a run under load saw it expire before the plan that checks it.
	const window = 90 * time.Second
	policy := `  min_replicas = 1
  max_replicas = 3
  metrics = [{ type = "cpu", target_utilization = 40 }]
  scale_down = { stabilization_window = "90s" }`
	var scaledUpAt time.Time
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// Idle: a new policy makes its first decision at apply, and keeps 1 replica.
				Config: policyConfig(name, service(false), policy),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue(policyAddr, tfjsonpath.New("desired_replicas")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					expectState("desired_replicas", knownvalue.Int64Exact(1)),
					expectState("decision", knownvalue.StringRegexp(regexp.MustCompile(`^cpu at \d+(\.\d+)?% against a 40% target .*; stays at 1$`))),
					expectState("last_scaled_at", knownvalue.Null()),
				},
				Check: liveReplicasOf(t, cli, name, 1),
			},
			{
				// The workload starts burning (a rolling update); the plan after it wants more.
				Config:             policyConfig(name, service(true), policy),
				ExpectNonEmptyPlan: true,
			},
			{
				// Burning 100% of a 0.05 CPU limit against a 40% target: the plan itself says
				// ceil(1 × 100/40) = 3, and the apply delivers exactly that.
				Config: policyConfig(name, service(true), policy),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(svcAddr, plancheck.ResourceActionNoop),
					expectPlanned("desired_replicas", knownvalue.Int64Exact(3)),
					expectPlanned("current_replicas", knownvalue.Int64Exact(3)),
					expectPlanned("decision", knownvalue.StringRegexp(regexp.MustCompile(`^cpu at \d+(\.\d+)?% against a 40% target \(ceil\(1 × [\d.]+/40\) = 3\); 1 -> 3$`))),
					plancheck.ExpectUnknownValue(policyAddr, tfjsonpath.New("last_scaled_at")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					expectState("current_replicas", knownvalue.Int64Exact(3)),
					expectState("last_scaled_at", knownvalue.StringRegexp(regexp.MustCompile(`^\d{4}-\d\d-\d\dT`))),
					statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("replicas"), knownvalue.Int64Exact(1)),
				},
				Check: resource.ComposeTestCheckFunc(liveReplicasOf(t, cli, name, 3), func(*terraform.State) error {
					scaledUpAt = time.Now()
					return nil
				}),
			},
			{
				// Still burning, already at max_replicas: nothing to plan, service or policy.
				Config:   policyConfig(name, service(true), policy),
				PlanOnly: true,
			},
			{
				// The workload goes idle (a rolling update the policy's count survives); the
				// plan after it is still empty, because the window holds the scale-down.
				Config: policyConfig(name, service(false), policy),
				Check:  liveReplicasOf(t, cli, name, 3),
			},
			{
				PreConfig: func() { time.Sleep(time.Until(scaledUpAt.Add(window + time.Second))) },
				Config:    policyConfig(name, service(false), policy),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					expectPlanned("desired_replicas", knownvalue.Int64Exact(1)),
					// Idle reads 0% (ceil 0, raised to min_replicas) or a fraction of a percent
					// (ceil 1): both decide 1 (CI7 read 0.32%).
					expectPlanned("decision", knownvalue.StringRegexp(regexp.MustCompile(`^cpu at [\d.]+% against a 40% target \(ceil\(3 × [\d.]+/40\) = [01]\); (raised to min_replicas 1; )?3 -> 1$`))),
					plancheck.ExpectNonEmptyPlan(),
				}},
				Check: liveReplicasOf(t, cli, name, 1),
			},
		},
	})
}

// Bounds alone move the count; import reproduces the policy; a dry run decides without
// scaling and hands the count back to the service; destroying the policy keeps the size.
func TestAccScalingPolicy_boundsImportDryRun(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("bounds")
	img := os.Getenv("TEST_IMAGE")
	cli := acctest.Docker(t)
	service := func(replicas int) string {
		return fmt.Sprintf("  image = %q\n  replicas = %d", img, replicas)
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: policyConfig(name, service(1), "")},
			{
				Config: policyConfig(name, service(1), "  min_replicas = 2\n  max_replicas = 4"),
				ConfigStateChecks: []statecheck.StateCheck{
					expectState("desired_replicas", knownvalue.Int64Exact(2)),
					expectState("decision", knownvalue.StringExact("no metrics are configured, so only the bounds move the replica count; raised to min_replicas 2; 1 -> 2")),
					expectState("id", knownvalue.NotNull()),
					expectState("tolerance", knownvalue.Float64Exact(0.1)),
					expectState("scale_down", knownvalue.ObjectExact(map[string]knownvalue.Check{
						"stabilization_window": knownvalue.StringExact("5m"), "max_step": knownvalue.Int64Exact(0), "max_percent": knownvalue.Int64Exact(0),
					})),
				},
				Check: liveReplicasOf(t, cli, name, 2),
			},
			{
				ResourceName:            policyAddr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
			{
				// Import by service name gives the same policy.
				ResourceName:            policyAddr,
				ImportState:             true,
				ImportStateId:           name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
			{
				// Forget the policy (the service stays), then take it back with an import block:
				// nothing to change, and the plan after it is empty.
				SkipFunc: acctest.NeedsTerraform(t, "1.7.0", "a removed block"),
				Config:   serviceConfig(name, service(1)) + acctest.Forget(policyAddr),
			},
			{
				SkipFunc: acctest.NeedsTerraform(t, "1.7.0", "importing what a removed block forgot"),
				Config:   acctest.ImportBlock(policyAddr, name) + policyConfig(name, service(1), "  min_replicas = 2\n  max_replicas = 4"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(policyAddr, plancheck.ResourceActionNoop),
				}},
				Check: liveReplicasOf(t, cli, name, 2),
			},
			{
				Config: policyConfig(name, service(1), "  min_replicas = 0\n  max_replicas = 1"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					expectPlanned("desired_replicas", knownvalue.Int64Exact(1)),
					expectPlanned("decision", knownvalue.StringRegexp(regexp.MustCompile(`lowered to max_replicas 1; 2 -> 1$`))),
				}},
				Check: liveReplicasOf(t, cli, name, 1),
			},
			{
				// A dry run decides 3 but leaves the service at 1, and the service's own
				// replicas (1) owns the count again.
				Config: policyConfig(name, service(1), "  min_replicas = 3\n  max_replicas = 5\n  dry_run = true"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					expectPlanned("desired_replicas", knownvalue.Int64Exact(3)),
					expectPlanned("current_replicas", knownvalue.Int64Exact(1)),
				}},
				ConfigStateChecks: []statecheck.StateCheck{expectState("dry_run", knownvalue.Bool(true))},
				Check: resource.ComposeTestCheckFunc(liveReplicasOf(t, cli, name, 1), func(*terraform.State) error {
					if orchestrator.ReplicasOwnedElsewhere(acctest.InspectService(t, cli, name).Spec) {
						return fmt.Errorf("a dry-run policy took the replica count from the service")
					}
					return nil
				}),
			},
			{
				Config: policyConfig(name, service(1), "  min_replicas = 2\n  max_replicas = 5"),
				Check:  liveReplicasOf(t, cli, name, 2),
			},
			{
				// Destroying the policy keeps the service at its size and removes the labels;
				// the service's replicas (1) then plans a change back, as it should.
				Config: policyConfig(name, service(1), ""),
				Check: resource.ComposeTestCheckFunc(liveReplicasOf(t, cli, name, 2), func(*terraform.State) error {
					for k := range acctest.InspectService(t, cli, name).Spec.Labels {
						if strings.HasPrefix(k, "swarmform.scaling") {
							return fmt.Errorf("label %s is still on the service", k)
						}
					}
					return nil
				}),
				ExpectNonEmptyPlan: true,
			},
			{Config: policyConfig(name, service(1), ""), Check: liveReplicasOf(t, cli, name, 1)},
		},
	})
}

// A second policy for the same service fails with a clear error.
func TestAccScalingPolicy_onePerService(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("onepol")
	img := os.Getenv("TEST_IMAGE")
	policy := "  min_replicas = 1\n  max_replicas = 2"
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: policyConfig(name, fmt.Sprintf("  image = %q", img), policy)},
			{
				Config: policyConfig(name, fmt.Sprintf("  image = %q", img), policy) + `
resource "swarm_scaling_policy" "second" {
  service_id   = swarm_service.test.id
  min_replicas = 1
  max_replicas = 5
}
`,
				ExpectError: acctest.ErrorWords("Service Already Has a Scaling Policy"),
			},
		},
	})
}

// A Prometheus query drives the count; a query without data holds the count and warns.
func TestAccScalingPolicy_prometheus(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("prom")
	img := os.Getenv("TEST_IMAGE")
	prom := acctest.Env(t, "TEST_PROMETHEUS")
	cli := acctest.Docker(t)
	policy := func(query string) string {
		return fmt.Sprintf(`  min_replicas = 1
  max_replicas = 5
  metrics = [{ type = "prometheus", address = %q, query = %q, target_average_value = 100 }]`, prom, query)
	}
	service := fmt.Sprintf("  image = %q", img)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: policyConfig(name, service, "")},
			{
				Config: policyConfig(name, service, policy("vector(250)")),
				ConfigStateChecks: []statecheck.StateCheck{
					expectState("desired_replicas", knownvalue.Int64Exact(3)),
					expectState("decision", knownvalue.StringExact(`query "vector(250)" at 250 per replica against a target of 100 (ceil(1 × 250/100) = 3); 1 -> 3`)),
				},
				Check: liveReplicasOf(t, cli, name, 3),
			},
			{
				// 250 shared by 3 is 83.33 per replica: ceil(3 × 83.33/100) = 3, steady.
				Config:   policyConfig(name, service, policy("vector(250)")),
				PlanOnly: true,
			},
			{
				// A changed query is new to the observation, so it is decided at apply. No data:
				// the count is kept (no scale-down on missing metrics).
				Config: policyConfig(name, service, policy("swarmform_no_such_metric")),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue(policyAddr, tfjsonpath.New("desired_replicas")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					expectState("desired_replicas", knownvalue.Int64Exact(3)),
					expectState("decision", knownvalue.StringRegexp(regexp.MustCompile(`^no data for query "swarmform_no_such_metric", so the replica count is kept; stays at 3$`))),
				},
				Check: liveReplicasOf(t, cli, name, 3),
			},
		},
	})
}

// Scaling adds tasks without restarting the running ones, and never goes above what placement
// can hold: with 2 tasks per node on this one-node swarm, min_replicas 4 is capped at 2.
func TestAccScalingPolicy_placementCapNoRestart(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("cap")
	img := os.Getenv("TEST_IMAGE")
	cli := acctest.Docker(t)
	service := fmt.Sprintf("  image = %q\n  replicas = 1\n  placement = { max_replicas_per_node = 2 }", img)
	var firstTask string
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: policyConfig(name, service, ""),
				Check: func(*terraform.State) error {
					ids := acctest.RunningTaskIDs(t, cli, name)
					if len(ids) != 1 {
						return fmt.Errorf("want 1 running task, got %v", ids)
					}
					firstTask = ids[0]
					return nil
				},
			},
			{
				Config: policyConfig(name, service, "  min_replicas = 4\n  max_replicas = 6"),
				ConfigStateChecks: []statecheck.StateCheck{
					expectState("desired_replicas", knownvalue.Int64Exact(2)),
					expectState("decision", knownvalue.StringRegexp(regexp.MustCompile(`raised to min_replicas 4; capped at 2 by placement .*; 1 -> 2$`))),
				},
				Check: resource.ComposeTestCheckFunc(liveReplicasOf(t, cli, name, 2), func(*terraform.State) error {
					ids := acctest.RunningTaskIDs(t, cli, name)
					if len(ids) != 2 || (ids[0] != firstTask && ids[1] != firstTask) {
						return fmt.Errorf("after scaling to 2 the running tasks are %v; the first task %s should still run", ids, firstTask)
					}
					return nil
				}),
			},
		},
	})
}

// Memory utilisation needs a memory limit or reservation on the service to mean anything.
func TestAccScalingPolicy_memoryNeedsLimit(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("memlim")
	img := os.Getenv("TEST_IMAGE")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: policyConfig(name, fmt.Sprintf("  image = %q", img),
					"  min_replicas = 1\n  max_replicas = 2\n  metrics = [{ type = \"memory\", target_utilization = 80 }]"),
				ExpectError: acctest.ErrorWords(`Memory Metric Needs a Limit`),
			},
		},
	})
}

// No scale-down while Swarm rolls out an update: the load of half-replaced tasks says little.
// Two tasks burn their whole CPU limit against a 150% target with a 40% tolerance (steady at
// 2); a slow rollout makes them idle one at a time. Half-way, the load (about 50/150) would
// give ceil(2 × 0.33) = 1, but the plan holds at 2; once the rollout is done, 2 -> 1.
func TestAccScalingPolicy_holdDuringRollout(t *testing.T) {
	name := acctest.Name("hold")
	img := os.Getenv("TEST_IMAGE")
	cli := acctest.Docker(t)
	service := func(burn bool) string {
		env := `{ BURN_CPU = "1" }`
		if !burn {
			env = `{ VERSION = "idle" }`
		}
		return fmt.Sprintf(`  image = %q
  replicas = 2
  env = %s
  resources = { limits = { cpus = 0.05 } }
  rolling_update = { parallelism = 1, delay = "15s", monitor = "1s" }
  wait = { converge = false }`, img, env)
	}
	policy := `  min_replicas = 1
  max_replicas = 3
  metrics = [{ type = "cpu", target_utilization = 150 }]
  tolerance = 0.4
  scale_down = { stabilization_window = "0s" }`
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: policyConfig(name, service(true), "")},
			{
				PreConfig: func() { time.Sleep(2 * time.Second) }, // let both tasks burn
				Config:    policyConfig(name, service(true), policy),
				ConfigStateChecks: []statecheck.StateCheck{
					expectState("desired_replicas", knownvalue.Int64Exact(2)),
				},
			},
			{
				// The rollout starts and the apply returns at once (converge = false). The plan
				// after it must be empty: the policy holds while Swarm updates.
				Config: policyConfig(name, service(false), policy),
				Check: func(*terraform.State) error {
					// Wait until one task is idle and the other still burns, mid-rollout.
					deadline := time.Now().Add(30 * time.Second)
					for time.Now().Before(deadline) {
						idle, burning := runningTasksByEnv(t, cli, name, "VERSION=idle")
						if idle == 1 && burning == 1 {
							time.Sleep(2 * time.Second) // a little CPU history for the idle task
							if us := acctest.InspectService(t, cli, name).UpdateStatus; us == nil || us.State != swarm.UpdateStateUpdating {
								return fmt.Errorf("the rollout should still be running, update status %+v", us)
							}
							return nil
						}
						time.Sleep(200 * time.Millisecond)
					}
					return fmt.Errorf("never saw one idle and one burning task running")
				},
			},
			{
				PreConfig: func() {
					deadline := time.Now().Add(90 * time.Second)
					for time.Now().Before(deadline) {
						if us := acctest.InspectService(t, cli, name).UpdateStatus; us != nil && us.State == swarm.UpdateStateCompleted {
							return
						}
						time.Sleep(500 * time.Millisecond)
					}
					t.Fatal("the rollout did not complete in 90s")
				},
				Config: policyConfig(name, service(false), policy),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					expectPlanned("desired_replicas", knownvalue.Int64Exact(1)),
					expectPlanned("decision", knownvalue.StringRegexp(regexp.MustCompile(`; 2 -> 1$`))),
				}},
				Check: liveReplicasOf(t, cli, name, 1),
			},
		},
	})
}

// runningTasksByEnv counts a service's running tasks whose spec has env (and those without).
func runningTasksByEnv(t *testing.T, cli *client.Client, service, env string) (with, without int) {
	t.Helper()
	for _, task := range acctest.RunningTasks(t, cli, service) {
		if task.Spec.ContainerSpec == nil {
			continue
		}
		if slices.Contains(task.Spec.ContainerSpec.Env, env) {
			with++
		} else {
			without++
		}
	}
	return with, without
}

// A policy that cannot attach never stops `terraform destroy`. Terraform plans the whole
// configuration before a destroy, so an error at plan time would block it: the plan warns
// instead, and the apply fails before it writes anything. Cases: a global service, a second
// policy on one service, and metrics that cannot be read (which only hold the count).
func TestAccScalingPolicy_neverBlocksDestroy(t *testing.T) {
	acctest.Parallel(t)
	img := acctest.Env(t, "TEST_IMAGE")
	cli := acctest.Docker(t)
	policy := func(address string, name string) string {
		metrics := ""
		if address != "" {
			metrics = fmt.Sprintf("\n  metrics = [{ type = \"cpu\", source = \"cadvisor\", address = %q, target_utilization = 50 }]", address)
		}
		return fmt.Sprintf(`
resource "swarm_scaling_policy" %q {
  service_id   = swarm_service.test.id
  min_replicas = 1
  max_replicas = 3%s
}
`, name, metrics)
	}
	for _, tc := range []struct {
		name, service, policies, applyError string
	}{
		{"global service", `mode = "global"`, policy("", "test"), "Cannot Scale Service"},
		{"second policy", `replicas = 1`, policy("", "test") + policy("", "second"), "Service Already Has a Scaling Policy"},
		// Nothing listens there: the cpu cannot be read, which holds the count.
		{"metrics unavailable", `replicas = 1`, policy(fmt.Sprintf("http://127.0.0.1:%d", acctest.FreePort(t)), "test"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := acctest.Name("poldestroy")
			tf := acctest.NewTerraform(t, fmt.Sprintf(`provider "swarm" {}

resource "swarm_service" "test" {
  name  = %q
  image = %q
  %s
}
%s`, name, img, tc.service, tc.policies))
			out, err := tf.Run(context.Background(), "apply", "-auto-approve", "-no-color")
			switch {
			case tc.applyError == "" && err != nil:
				t.Fatalf("apply: %v\n%s", err, out)
			case tc.applyError != "" && (err == nil || !acctest.ErrorWords(tc.applyError).MatchString(out)):
				t.Fatalf("the apply should fail with %q:\n%s", tc.applyError, out)
			}
			// The plan says the same, as a warning.
			out, err = tf.Run(context.Background(), "plan", "-no-color")
			if err != nil {
				t.Fatalf("the plan after the apply fails:\n%s", out)
			}
			if tc.applyError != "" && !acctest.ErrorWords("Warning: "+tc.applyError).MatchString(out) {
				t.Errorf("the plan should warn %q:\n%s", tc.applyError, out)
			}
			if tc.applyError == "" && !acctest.ErrorWords("Metric Unavailable").MatchString(out) {
				t.Errorf("the plan should say the metric cannot be read:\n%s", out)
			}
			if out, err := tf.Run(context.Background(), "destroy", "-auto-approve", "-no-color"); err != nil {
				t.Fatalf("destroy: %v\n%s", err, out)
			}
			if _, _, err := cli.ServiceInspectWithRaw(context.Background(), name, swarm.ServiceInspectOptions{}); err == nil {
				t.Errorf("service %s is still there after destroy", name)
			}
		})
	}
}

// A policy's identity is the ID of its service; new bounds (an update in place) keep it, and
// an import block that gives it plans no change.
func TestAccIdentity_scalingPolicy(t *testing.T) {
	acctest.IdentityTerraform(t)
	name, img := acctest.Name("ident-pol"), acctest.Env(t, "TEST_IMAGE")
	service := fmt.Sprintf("  image = %q\n  replicas = 1", img)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: policyConfig(name, service, "  min_replicas = 1\n  max_replicas = 2"), ConfigStateChecks: acctest.IdentityIs(policyAddr, "id")},
			acctest.ImportByIdentity(policyAddr),
			{
				Config: policyConfig(name, service, "  min_replicas = 1\n  max_replicas = 3"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(policyAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: append(acctest.IdentityIs(policyAddr, "id"),
					statecheck.ExpectIdentityValueMatchesStateAtPath(policyAddr, tfjsonpath.New("id"), tfjsonpath.New("service_id"))),
			},
		},
	})
}
