package provider

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
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

// taskWatcher polls a service's tasks during an apply and records the fewest tasks that were
// running (and, with a healthcheck, healthy: Swarm reports such tasks running only once
// healthy), and what the other tasks were doing at that moment, to explain a dip.
type taskWatcher struct {
	stop  chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	min   int
	polls int
	atMin []string
}

func watchTasks(cli *client.Client, service string) *taskWatcher {
	w := &taskWatcher{stop: make(chan struct{}), done: make(chan struct{}), min: 1 << 30}
	started := time.Now()
	go func() {
		defer close(w.done)
		for {
			tasks, err := cli.TaskList(context.Background(), swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", service))})
			if err == nil {
				running, others := 0, []string{}
				for _, task := range tasks {
					switch {
					case task.DesiredState == swarm.TaskStateRunning && task.Status.State == swarm.TaskStateRunning:
						running++
					case task.Status.Timestamp.After(started):
						others = append(others, fmt.Sprintf("%s slot %d: desired %s, %s %s %s", task.ID[:12], task.Slot, task.DesiredState, task.Status.State, task.Status.Message, task.Status.Err))
					}
				}
				w.mu.Lock()
				w.polls++
				if running < w.min {
					w.min, w.atMin = running, others
				}
				w.mu.Unlock()
			}
			select {
			case <-w.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return w
}

// finish stops the watcher; atMin describes the tasks that changed, at the fewest running.
func (w *taskWatcher) finish() (minRunning, polls int, atMin string) {
	close(w.stop)
	<-w.done
	return w.min, w.polls, strings.Join(w.atMin, "\n")
}

func rolloutBody(image, version, order, extra string) string {
	return fmt.Sprintf(`  image    = %q
  replicas = 4
  env      = { VERSION = %q }
  healthcheck = { test = ["CMD", "/app", "health"], interval = "500ms", timeout = "10s", retries = 3 }
  rolling_update = { parallelism = 2, order = %q, monitor = "1s" }
%s`, image, version, order, extra)
}

func TestAccService_rollingUpdate(t *testing.T) {
	acctest.Parallel(t)
	for _, order := range []string{"start-first", "stop-first"} {
		t.Run(order, func(t *testing.T) {
			name := acctest.Name("roll")
			img, img2 := os.Getenv("TEST_IMAGE"), os.Getenv("TEST_IMAGE_V2")
			cli := acctest.Docker(t)
			sameID := statecheck.CompareValue(compare.ValuesSame())
			var w *taskWatcher
			resource.Test(t, resource.TestCase{
				PreCheck:                 func() { testAccPreCheck(t) },
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{
					{
						Config:            serviceConfig(name, rolloutBody(img, "v1", order, "")),
						ConfigStateChecks: []statecheck.StateCheck{sameID.AddStateValue(svcAddr, tfjsonpath.New("id"))},
					},
					{
						PreConfig: func() { w = watchTasks(cli, name) },
						Config:    serviceConfig(name, rolloutBody(img2, "v2", order, "")),
						ConfigPlanChecks: resource.ConfigPlanChecks{
							PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(svcAddr, plancheck.ResourceActionUpdate)},
						},
						ConfigStateChecks: []statecheck.StateCheck{
							sameID.AddStateValue(svcAddr, tfjsonpath.New("id")),
							statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("update_state"), knownvalue.StringExact("completed")),
							statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("running_replicas"), knownvalue.Int64Exact(4)),
						},
						Check: func(*terraform.State) error {
							minRunning, polls, atMin := w.finish()
							t.Logf("%s: fewest healthy running tasks during the update: %d (of 4, %d polls)", order, minRunning, polls)
							if order == "start-first" && minRunning < 4 {
								return fmt.Errorf("start-first update dipped to %d healthy running tasks (want never below 4); tasks at that moment:\n%s", minRunning, atMin)
							}
							tasks, err := acctest.ListDesiredRunning(context.Background(), cli, name)
							if err != nil {
								return err
							}
							for _, task := range tasks {
								if !strings.HasPrefix(task.Spec.ContainerSpec.Image, img2) || task.Status.State != swarm.TaskStateRunning {
									return fmt.Errorf("after apply task %s runs %s in state %s", task.ID, task.Spec.ContainerSpec.Image, task.Status.State)
								}
							}
							return nil
						},
					},
				},
			})
		})
	}
}

// failCase is a rollout of a version that breaks, and what it must lead to.
type failCase struct {
	action      string // rolling_update.failure_action
	parallelism int
	breakage    string // the test image's switch that breaks the new version
	wantErr     *regexp.Regexp
	// wantRunningEnv is in the service's spec after the failure: the bad version's when
	// paused, the good one's when rolled back.
	wantRunningEnv string
	// resumeSays, for "pause", must also be in the error of the apply that resumes.
	resumeSays string
}

// failingUpdate applies a good version, then a start-failing one, and checks what the apply
// says, how fast it says it, what runs afterwards and that the next plan is not empty.
func failingUpdate(t *testing.T, fc failCase) {
	action, parallelism, breakage, wantRunningEnv := fc.action, fc.parallelism, fc.breakage, fc.wantRunningEnv
	name := acctest.Name("fail-" + action)
	img := os.Getenv("TEST_IMAGE")
	cli := acctest.Docker(t)
	body := func(env string) string {
		return fmt.Sprintf(`  image    = %q
  replicas = 2
  env      = %s
  healthcheck = { test = ["CMD", "/app", "health"], interval = "250ms", timeout = "10s", retries = 2 }
  rolling_update = { parallelism = %d, monitor = "3s", failure_action = %q }
  timeouts = { update = "5m" }
`, img, env, parallelism, action)
	}
	good, bad := body(`{ VERSION = "good" }`), body(fmt.Sprintf(`{ VERSION = "bad", %s = "1" }`, breakage))
	var start time.Time
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: serviceConfig(name, good)},
			{
				PreConfig:   func() { start = time.Now() },
				Config:      serviceConfig(name, bad),
				ExpectError: fc.wantErr,
			},
			{
				// Nothing is lost: the next plan proposes the change again.
				PreConfig: func() {
					t.Logf("failed update (%s, %s) returned after %s; update timeout 5m", action, breakage, time.Since(start).Round(100*time.Millisecond))
					spec := acctest.InspectService(t, cli, name).Spec
					env := strings.Join(spec.TaskTemplate.ContainerSpec.Env, ",")
					if !strings.Contains(env, wantRunningEnv) {
						t.Errorf("after the failed update the service spec has env %q, want it to contain %q", env, wantRunningEnv)
					}
				},
				Config:             serviceConfig(name, bad),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			resumeStep(action, serviceConfig(name, bad), fc.resumeSays),
			{
				// A new good version: applies cleanly and converges.
				Config: serviceConfig(name, body(`{ VERSION = "good2" }`)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("running_replicas"), knownvalue.Int64Exact(2)),
				},
			},
		},
	})
}

// pausedErr is what a paused rollout says, whether Swarm paused it or the failure showed once
// every slot already had the new spec: the same words, the same update_state.
var pausedErr = `Service\s+Update\s+Did\s+Not\s+Converge.*` + acctest.ErrorWords(`The rollout of service`).String() + `.*` +
	acctest.ErrorWords(`is paused: slots already given the new spec keep it, the others keep the previous spec, and update_state is "paused".`).String()

// resumeStep: after a paused rollout the plan shows it (update_state unknown: state recorded
// "paused"), and applying the same configuration resumes it: Swarm tries the bad tasks again,
// and the apply fails again, loudly, in the same words. Other actions need no resume.
func resumeStep(action, config, says string) resource.TestStep {
	if action != "pause" {
		return resource.TestStep{Config: config, PlanOnly: true, ExpectNonEmptyPlan: true}
	}
	return resource.TestStep{
		Config: config,
		ConfigPlanChecks: resource.ConfigPlanChecks{
			PreApply: []plancheck.PlanCheck{plancheck.ExpectUnknownValue(svcAddr, tfjsonpath.New("update_state"))},
		},
		ExpectError: regexp.MustCompile(`(?s)` + pausedErr + `.*` + says + `.*failure_action\s+"pause".*exit\s+code\s+3`),
	}
}

func TestAccService_failedUpdateRollsBack(t *testing.T) {
	acctest.Parallel(t)
	failingUpdate(t, failCase{action: "rollback", parallelism: 1, breakage: "FAIL_ON_START", wantRunningEnv: "VERSION=good",
		wantErr: regexp.MustCompile(`(?s)Service Update Did Not Converge.*rolled\s+back\s+to\s+its\s+previous\s+spec.*update_state\s+is\s+"rollback_completed".*exit\s+code\s+3.*last\s+log\s+lines:.*refusing\s+to\s+start`)})
}

// One slot at a time: Swarm's updater sees the first failure and pauses (the resume step may
// find the other slot still on the old spec, or not, depending on which Swarm got to first).
func TestAccService_failedUpdatePauses(t *testing.T) {
	acctest.Parallel(t)
	failingUpdate(t, failCase{action: "pause", parallelism: 1, breakage: "FAIL_ON_START", wantRunningEnv: "VERSION=bad",
		wantErr: regexp.MustCompile(`(?s)` + pausedErr + `.*failure_action\s+"pause".*exit\s+code\s+3.*refusing\s+to\s+start`)})
}

// Every slot at once: the resume finds no slot left on the old spec, so Swarm has nothing to
// pause and the verdict applies failure_action itself (resumeSays proves that path was taken).
// The user is told the same thing, and state records the same update_state.
func TestAccService_failedUpdatePausesEverySlot(t *testing.T) {
	acctest.Parallel(t)
	failingUpdate(t, failCase{action: "pause", parallelism: 0, breakage: "FAIL_ON_START", wantRunningEnv: "VERSION=bad",
		wantErr:    regexp.MustCompile(`(?s)` + pausedErr + `.*failure_action\s+"pause".*exit\s+code\s+3.*refusing\s+to\s+start`),
		resumeSays: `after\s+every\s+slot\s+had\s+the\s+new\s+spec,\s+so\s+Swarm\s+has\s+no\s+update\s+left\s+to\s+pause`})
}

func TestAccService_unhealthyUpdateRollsBack(t *testing.T) {
	acctest.Parallel(t)
	failingUpdate(t, failCase{action: "rollback", parallelism: 1, breakage: "UNHEALTHY", wantRunningEnv: "VERSION=good",
		wantErr: regexp.MustCompile(`(?s)Service Update Did Not Converge.*rolled\s+back\s+to\s+its\s+previous\s+spec`)})
}

func TestAccService_progressDeadline(t *testing.T) {
	acctest.Parallel(t)
	// The bad version cannot be scheduled at all: Swarm would wait forever; the provider's
	// progress deadline ends the wait and, with failure_action rollback, rolls back and waits
	// for the rollback. (start-first keeps the old task running; with stop-first Swarm's
	// rollback waits up to a minute for the never-scheduled task to stop.)
	name := acctest.Name("deadline")
	img := os.Getenv("TEST_IMAGE")
	cli := acctest.Docker(t)
	// The first apply gets a deadline a slow start on a loaded machine cannot reach (a task
	// may sit in "starting" for several seconds); the failing one gets 4s.
	body := func(constraint, deadline string) string {
		return fmt.Sprintf(`  image    = %q
  replicas = 1
  placement = { constraints = [%q] }
  rolling_update = { failure_action = "rollback", monitor = "1s", order = "start-first" }
  wait = { progress_deadline = %q }
`, img, constraint, deadline)
	}
	var start time.Time
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: serviceConfig(name, body("node.role==manager", "2m"))},
			{
				PreConfig:   func() { start = time.Now() },
				Config:      serviceConfig(name, body("node.labels.tfacc-nowhere==true", "4s")),
				ExpectError: regexp.MustCompile(`(?s)rolled\s+back\s+to\s+its\s+previous\s+spec.*update_state\s+is\s+"rollback_completed".*no\s+progress.*progress_deadline.*(no\s+suitable\s+node|pending)`),
			},
			{
				PreConfig: func() {
					t.Logf("progress deadline 4s: failed apply returned after %s", time.Since(start).Round(100*time.Millisecond))
					spec := acctest.InspectService(t, cli, name).Spec
					if got := spec.TaskTemplate.Placement.Constraints; len(got) != 1 || got[0] != "node.role==manager" {
						t.Errorf("not rolled back: constraints %v", got)
					}
				},
				Config:             serviceConfig(name, body("node.labels.tfacc-nowhere==true", "4s")),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
	})
}

func TestAccService_forceUpdateAndNoWait(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("force")
	img := os.Getenv("TEST_IMAGE")
	cli := acctest.Docker(t)
	acctest.RemoveServiceAtCleanup(t, cli, name)
	taskIDs := func() string { return strings.Join(acctest.RunningTaskIDs(t, cli, name), ",") }
	var before string
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: serviceConfig(name, fmt.Sprintf("  image = %q\n  replicas = 2", img)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("force_update"), knownvalue.Int64Exact(0)),
				},
			},
			{
				// Same spec, force_update bumped: every task is replaced.
				PreConfig: func() { before = taskIDs() },
				Config:    serviceConfig(name, fmt.Sprintf("  image = %q\n  replicas = 2\n  force_update = 1", img)),
				Check: func(*terraform.State) error {
					after := taskIDs()
					for _, id := range strings.Split(before, ",") {
						if strings.Contains(after, id) {
							return fmt.Errorf("task %s survived force_update (before %s, after %s)", id, before, after)
						}
					}
					return nil
				},
			},
			{
				// Leaving force_update out afterwards keeps the value: no diff, no restart.
				Config:   serviceConfig(name, fmt.Sprintf("  image = %q\n  replicas = 2", img)),
				PlanOnly: true,
			},
			{
				// wait.converge = false returns once Swarm accepted the change, even a bad one
				// (with failure_action continue, Swarm keeps going and nothing pauses).
				Config: serviceConfig(name, fmt.Sprintf("  image = %q\n  replicas = 2\n  env = { FAIL_ON_START = \"1\" }\n  wait = { converge = false }\n  rolling_update = { failure_action = \"continue\" }", img)),
			},
		},
	})
}

func TestAccService_timeoutIsHonoured(t *testing.T) {
	acctest.Parallel(t)
	// Healthy only after 60s: the 3s create timeout ends the wait, and the error says how far
	// the rollout got and what the pending task is doing.
	testCreateFails(t, "timeout", `
  env = { START_DELAY = "60s" }
  healthcheck = { test = ["CMD", "/app", "health"], interval = "500ms", timeout = "1s", retries = 3, start_period = "90s" }
  timeouts = { create = "3s" }`,
		regexp.MustCompile(`(?s)gave\s+up\s+waiting\s+for\s+convergence\s+\(0\s+of\s+1\s+slots.*deadline\s+exceeded.*task\s+\S+\s+is\s+(starting|preparing|assigned|accepted|ready|pending)`))
}

// Swarm marks a rolling update completed only once its last batch has run for the delay and
// then the monitor window; a start-first update stops each old task once its new one runs. The
// apply waits for Swarm's own verdict, not only for the tasks, so state records "completed", as
// Swarm does, and neither the plan right after the apply nor one once Swarm has long settled
// shows a change.
func TestAccService_startFirstUpdateCompletes(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("start-first")
	img := os.Getenv("TEST_IMAGE")
	cli := acctest.Docker(t)
	body := func(version string) string {
		return fmt.Sprintf("  image = %q\n  env = { VERSION = %q }\n  rolling_update = { order = \"start-first\", delay = \"2s\", monitor = \"2s\" }\n", img, version)
	}
	completed := statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("update_state"), knownvalue.StringExact("completed"))
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: serviceConfig(name, body("v1"))},
			{
				Config:            serviceConfig(name, body("v2")),
				ConfigStateChecks: []statecheck.StateCheck{completed},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					if us := acctest.InspectService(t, cli, name).UpdateStatus; us == nil || us.State != swarm.UpdateStateCompleted {
						return fmt.Errorf("the apply returned while Swarm's update status is %+v, want completed", us)
					}
					return nil
				},
			},
			{
				// Refreshed again: still "completed", and no change.
				RefreshState: true,
				Check:        resource.TestCheckResourceAttr(svcAddr, "update_state", "completed"),
			},
			{Config: serviceConfig(name, body("v2")), PlanOnly: true},
		},
	})
}
