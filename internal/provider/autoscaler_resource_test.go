package provider

// The autoscaling controller against the real swarm: swarm_autoscaler runs the image built
// from the checkout (make autoscaler-image), and continuous policies are scaled by it with no
// terraform command between a change of load and the assertion. The load is switched with a
// file the tasks watch (the test image's BURN_FILE), so the service itself never changes.
//
// These tests do not run in parallel with one another: a controller acts on every continuous
// policy of the swarm, so each test has the swarm's one controller to itself.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

const autoscalerAddr = "swarm_autoscaler.test"

// controllerInterval is the tests' controller interval: short, so that the tests are quick.
const controllerInterval = 2 * time.Second

// autoscalerBlock is a controller named name, with extra attributes.
func autoscalerBlock(t *testing.T, name, extra string) string {
	return fmt.Sprintf(`
resource "swarm_autoscaler" "test" {
  name     = %q
  image    = %q
  interval = %q
%s
}
`, name, acctest.AutoscalerImage(t), controllerInterval, extra)
}

// loadedService is a service whose tasks burn CPU (up to their 0.05 CPU limit) while the file
// "on" exists in loadDir.
func loadedService(name, loadDir string) string {
	return fmt.Sprintf(`
resource "swarm_service" "test" {
  name      = %q
  image     = %q
  replicas  = 1
  env       = { BURN_FILE = "/load/on" }
  mounts    = [{ type = "bind", source = %q, target = "/load" }]
  resources = { limits = { cpus = 0.05 } }
  rolling_update = { monitor = "1s" }
}
`, name, os.Getenv("TEST_IMAGE"), loadDir)
}

// continuousPolicy is a cpu policy on swarm_service.test, 1 to 4 replicas.
func continuousPolicy(window, extra string) string {
	return fmt.Sprintf(`
resource "swarm_scaling_policy" "test" {
  service_id   = swarm_service.test.id
  min_replicas = 1
  max_replicas = 4
  evaluation   = "continuous"
  metrics      = [{ type = "cpu", target_utilization = 50 }]
  scale_down   = { stabilization_window = %q }
%s
}
`, window, extra)
}

// replicasOf is the service's replica count, straight from the engine.
func replicasOf(cli *client.Client, name string) (int, error) {
	svc, _, err := cli.ServiceInspectWithRaw(context.Background(), name, swarm.ServiceInspectOptions{})
	if err != nil {
		return 0, err
	}
	if svc.Spec.Mode.Replicated == nil || svc.Spec.Mode.Replicated.Replicas == nil {
		return 0, fmt.Errorf("service %s is not replicated", name)
	}
	return int(*svc.Spec.Mode.Replicated.Replicas), nil
}

// waitReplicas waits until the service's spec asks for n replicas and n tasks run.
func waitReplicas(t *testing.T, cli *client.Client, name string, n int, timeout time.Duration) {
	t.Helper()
	acctest.Eventually(t, timeout, fmt.Sprintf("service %s at %d running replicas", name, n), func() (bool, string, error) {
		got, err := replicasOf(cli, name)
		if err != nil {
			return false, "", err
		}
		running := len(acctest.RunningTasks(t, cli, name))
		return got == n && running == n, fmt.Sprintf("%d replicas, %d running", got, running), nil
	})
}

// scalingState is the state label the policy's decisions are kept in.
func scalingState(t *testing.T, cli *client.Client, name string) orchestrator.ScalingState {
	t.Helper()
	st, _, err := orchestrator.ScalingStateOf(acctest.InspectService(t, cli, name).Spec)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// heartbeat is the acting controller's latest heartbeat; ok is false when there is none.
func heartbeat(cli *client.Client) (h orchestrator.Heartbeat, ok bool) {
	cfg, _, err := cli.ConfigInspectWithRaw(context.Background(), orchestrator.HeartbeatConfig)
	if err != nil {
		return h, false
	}
	return h, json.Unmarshal([]byte(cfg.Spec.Labels[orchestrator.HeartbeatLabel]), &h) == nil
}

// noController checks that the last controller took its heartbeat with it.
func noController(cli *client.Client) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if _, ok := heartbeat(cli); ok {
			return fmt.Errorf("the heartbeat config %s is left after the last controller was destroyed", orchestrator.HeartbeatConfig)
		}
		return nil
	}
}

// Bad input fails at plan time with the attribute path, without a swarm.
func TestAutoscalerValidation(t *testing.T) {
	acctest.Parallel(t)
	for _, tc := range []struct{ name, body, want string }{
		{"interval under a second", `interval = "500ms"`, `Invalid Interval.*Attribute interval: 500ms is too short`},
		{"relative socket", `docker_socket = "docker.sock"`, `Invalid Docker Socket.*Attribute docker_socket: "docker.sock" is not an absolute path`},
		{"socket as a URL", `docker_socket = "unix:///var/run/docker.sock"`, `Invalid Docker Socket.*Attribute docker_socket: .* is not an absolute path`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      "resource \"swarm_autoscaler\" \"test\" {\n  image = \"swarmform/swarm-autoscaler:dev\"\n  " + tc.body + "\n}\n",
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(`(?s)` + strings.ReplaceAll(tc.want, " ", `\s+`)),
				}},
			})
		})
	}
}

// The controller's own resource: every task finished its first round when the apply returns,
// the plan after it is empty, an update rolls it in place, import takes it back, and destroy
// leaves neither the service nor its heartbeat. A service that is not a controller is not
// imported as one.
func TestAccAutoscaler_lifecycle(t *testing.T) {
	name, other := acctest.Name("ctl"), acctest.Name("notctl")
	cli := acctest.Docker(t)
	id := statecheck.CompareValue(compare.ValuesSame())
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             noController(cli),
		Steps: []resource.TestStep{
			{
				Config: "provider \"swarm\" {}\n" + autoscalerBlock(t, name, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					id.AddStateValue(autoscalerAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(autoscalerAddr, tfjsonpath.New("running_tasks"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(autoscalerAddr, tfjsonpath.New("log_level"), knownvalue.StringExact("info")),
					statecheck.ExpectKnownValue(autoscalerAddr, tfjsonpath.New("docker_socket"), knownvalue.StringExact("/var/run/docker.sock")),
				},
				Check: func(*terraform.State) error {
					// Healthy means a round finished: the acting controller recorded it.
					h, ok := heartbeat(cli)
					if !ok || !strings.HasPrefix(h.Holder, name+".") {
						return fmt.Errorf("after the apply the heartbeat is %+v (found %v), want one of %s's task", h, ok, name)
					}
					return nil
				},
			},
			{
				Config: "provider \"swarm\" {}\n" + autoscalerBlock(t, name, `  log_level = "debug"
  resources = { limits = { memory = "64MiB" } }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(autoscalerAddr, plancheck.ResourceActionUpdate)}},
				ConfigStateChecks: []statecheck.StateCheck{
					id.AddStateValue(autoscalerAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(autoscalerAddr, tfjsonpath.New("log_level"), knownvalue.StringExact("debug")),
				},
			},
			{ResourceName: autoscalerAddr, ImportState: true, ImportStateVerify: true, ImportStateVerifyIgnore: []string{"timeouts", "image"}},
			{
				PreConfig: func() {
					if _, err := cli.ServiceCreate(context.Background(), swarm.ServiceSpec{Annotations: swarm.Annotations{Name: other},
						TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: os.Getenv("TEST_IMAGE")}}}, swarm.ServiceCreateOptions{}); err != nil {
						t.Fatal(err)
					}
					acctest.RemoveServiceAtCleanup(t, cli, other)
				},
				Config:        "provider \"swarm\" {}\n" + autoscalerBlock(t, name, "") + strings.Replace(autoscalerBlock(t, other, ""), `"test"`, `"other"`, 1),
				ResourceName:  "swarm_autoscaler.other",
				ImportState:   true,
				ImportStateId: other,
				ExpectError:   acctest.ErrorWords("is not an autoscaling controller"),
			},
		},
	})
}

// A continuous policy is scaled by the controller as the load changes, with no terraform
// command between: up to what the rule says at once, down only after the scale-down window.
// The plans after are empty and read the controller's decision. The policy switches to plan
// evaluation and back in place, dry_run holds in continuous mode, and once the policy is
// destroyed the controller leaves the service alone.
func TestAccScalingPolicy_continuous(t *testing.T) {
	svc, ctl, dir := acctest.Name("cont"), acctest.Name("ctl"), acctest.LoadDir(t)
	cli := acctest.Docker(t)
	const window = 20 * time.Second
	base := "provider \"swarm\" {}\n" + autoscalerBlock(t, ctl, "") + loadedService(svc, dir)
	config := func(extra string) string { return base + continuousPolicy(window.String(), extra) }
	lowered := strings.Replace(config(""), "max_replicas = 4", "max_replicas = 3", 1)
	var stoppedAt, droppedAt time.Time
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             noController(cli),
		Steps: []resource.TestStep{
			{
				Config: config(""),
				ConfigStateChecks: []statecheck.StateCheck{
					expectState("evaluation", knownvalue.StringExact("continuous")),
					expectState("desired_replicas", knownvalue.Int64Exact(1)),
				},
			},
			{
				// Load: the controller scales to the maximum (100% against a 50% target doubles
				// the count each round), and the plan then changes nothing.
				PreConfig: func() {
					acctest.SetLoad(t, dir, true)
					waitReplicas(t, cli, svc, 4, 2*time.Minute)
				},
				Config:           config(""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{
					expectState("desired_replicas", knownvalue.Int64Exact(4)),
					expectState("current_replicas", knownvalue.Int64Exact(4)),
					expectState("decision", knownvalue.StringRegexp(regexp.MustCompile(`^cpu at .* against a 50% target .*-> 4`))),
					expectState("last_scaled_at", knownvalue.NotNull()),
					expectState("last_evaluated_at", knownvalue.NotNull()),
				},
			},
			{
				// A changed policy only rewrites its label; the controller follows it from its
				// next round.
				Config: lowered,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(policyAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(policyAddr, tfjsonpath.New("desired_replicas"), knownvalue.Int64Exact(4)),
				}},
				Check: func(*terraform.State) error {
					waitReplicas(t, cli, svc, 3, time.Minute)
					if !strings.Contains(scalingState(t, cli, svc).Decision, "lowered to max_replicas 3") {
						return fmt.Errorf("the controller's decision under the new policy: %q", scalingState(t, cli, svc).Decision)
					}
					return nil
				},
			},
			{
				// No load: the count falls only once the window has passed since the last
				// high recommendation (at most one interval before the load stopped).
				PreConfig: func() {
					acctest.SetLoad(t, dir, false)
					stoppedAt = time.Now()
					acctest.Eventually(t, 2*time.Minute, "a scale-down", func() (bool, string, error) {
						n, err := replicasOf(cli, svc)
						if n < 3 && droppedAt.IsZero() {
							droppedAt = time.Now()
						}
						return n == 1, fmt.Sprintf("%d replicas", n), err
					})
					if early := droppedAt.Sub(stoppedAt); early < window-controllerInterval {
						t.Fatalf("the first scale-down came %s after the load stopped, before the %s window", early.Round(time.Millisecond), window)
					}
					t.Logf("first scale-down %s after the load stopped (window %s)", droppedAt.Sub(stoppedAt).Round(time.Millisecond), window)
					waitReplicas(t, cli, svc, 1, time.Minute)
				},
				Config:           lowered,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{
					expectState("desired_replicas", knownvalue.Int64Exact(1)),
					expectState("decision", knownvalue.StringRegexp(regexp.MustCompile(`-> 1$`))),
				},
			},
			{
				// To plan evaluation in place: the plan decides from then on.
				Config: strings.Replace(config(""), `evaluation   = "continuous"`, `evaluation   = "plan"`, 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(policyAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{expectState("evaluation", knownvalue.StringExact("plan"))},
				Check: func(*terraform.State) error {
					if p, err := orchestrator.ParseScalingPolicy(acctest.InspectService(t, cli, svc).Spec.Labels[orchestrator.ScalingOwnerLabel]); err != nil || p.Continuous() {
						return fmt.Errorf("the policy label still asks for continuous evaluation (%v)", err)
					}
					return nil
				},
			},
			{
				// Back to continuous, as a dry run: the controller decides under load, and
				// scales nothing.
				Config: config("  dry_run = true"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(policyAddr, plancheck.ResourceActionUpdate),
				}},
			},
			{
				PreConfig: func() {
					acctest.SetLoad(t, dir, true)
					acctest.Eventually(t, time.Minute, "a dry-run decision under load", func() (bool, string, error) {
						st := scalingState(t, cli, svc)
						return st.By == orchestrator.ByController && st.Desired > 1, fmt.Sprintf("state %+v", st), nil
					})
					if n, err := replicasOf(cli, svc); err != nil || n != 1 {
						t.Fatalf("a dry run scaled the service to %d (%v)", n, err)
					}
				},
				Config:           config("  dry_run = true"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{
					expectState("current_replicas", knownvalue.Int64Exact(1)),
					// 100% or a little more of the CPU limit against a 50% target: 2 or 3.
					expectState("desired_replicas", knownvalue.Int64Func(func(v int64) error {
						if v < 2 {
							return fmt.Errorf("desired_replicas %d under load, want 2 or more", v)
						}
						return nil
					})),
				},
			},
			{
				ResourceName: policyAddr, ImportState: true, ImportStateVerify: true,
				// The controller goes on deciding between the two reads: its heartbeat moves
				// on, and under a load near the boundary a dry run's recommendation may move
				// between 2 and 3 (with its reason and time). What it decided is read back as
				// it stands when imported; everything the configuration sets must match.
				ImportStateVerifyIgnore: []string{"timeouts", "last_evaluated_at", "decision", "desired_replicas", "last_scaled_at"},
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					if len(states) != 1 {
						return fmt.Errorf("import gave %d states", len(states))
					}
					a := states[0].Attributes
					if a["evaluation"] != "continuous" || a["dry_run"] != "true" || a["current_replicas"] != "1" {
						return fmt.Errorf("imported evaluation %q, dry_run %q, current_replicas %q", a["evaluation"], a["dry_run"], a["current_replicas"])
					}
					if d, _ := strconv.Atoi(a["desired_replicas"]); d < 2 || !strings.Contains(a["decision"], "cpu at") {
						return fmt.Errorf("imported the controller's decision %q (desired %q), want its recommendation under load", a["decision"], a["desired_replicas"])
					}
					return nil
				},
			},
			{
				// The policy destroyed: its labels go, and the controller leaves the service
				// alone though the load goes on (the service owns its count again).
				Config: base,
				Check: func(*terraform.State) error {
					before, _ := heartbeat(cli)
					acctest.Eventually(t, time.Minute, "two more rounds of the controller", func() (bool, string, error) {
						h, _ := heartbeat(cli)
						return h.RoundAt.After(before.RoundAt.Add(controllerInterval)), "", nil
					})
					svcNow := acctest.InspectService(t, cli, svc)
					if _, ok := svcNow.Spec.Labels[orchestrator.ScalingStateLabel]; ok {
						return fmt.Errorf("the policy's labels are still on the service")
					}
					if n, _ := replicasOf(cli, svc); n != 1 {
						return fmt.Errorf("the service has %d replicas after its policy was destroyed", n)
					}
					return nil
				},
			},
		},
	})
}

// Without a controller, a continuous policy is applied and planned without error, and the plan
// warns, naming swarm_autoscaler; nothing scales it.
func TestAccScalingPolicy_continuousWithoutController(t *testing.T) {
	svc, dir := acctest.Name("noctl"), acctest.LoadDir(t)
	tf := acctest.NewTerraform(t, "provider \"swarm\" {}\n"+loadedService(svc, dir)+continuousPolicy("20s", ""))
	if out, err := tf.Run(context.Background(), "apply", "-auto-approve", "-no-color"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	out, err := tf.Run(context.Background(), "plan", "-no-color", "-detailed-exitcode")
	if err != nil {
		t.Fatalf("the plan should succeed with no change: %v\n%s", err, out)
	}
	if !acctest.ErrorWords("Warning: No Autoscaling Controller Running").MatchString(out) || !acctest.ErrorWords("Deploy the controller with a swarm_autoscaler resource").MatchString(out) {
		t.Fatalf("the plan should warn that no controller runs:\n%s", out)
	}
}

// Two controllers at once (two swarm_autoscaler services, each a task on the one node): only
// one acts, and each decision is written once. The writes are counted by the service's version.
func TestAccAutoscaler_twoControllersActOnce(t *testing.T) {
	svc, ctlA, ctlB, dir := acctest.Name("two"), acctest.Name("ctla"), acctest.Name("ctlb"), acctest.LoadDir(t)
	cli := acctest.Docker(t)
	config := "provider \"swarm\" {}\n" + autoscalerBlock(t, ctlA, "") + strings.Replace(autoscalerBlock(t, ctlB, ""), `"test"`, `"other"`, 1) +
		loadedService(svc, dir) + continuousPolicy("5m", "")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             noController(cli),
		Steps: []resource.TestStep{
			{Config: config},
			{
				PreConfig: func() {
					// The first round after the apply writes the controller's first state.
					acctest.Eventually(t, time.Minute, "the controller's first decision", func() (bool, string, error) {
						return scalingState(t, cli, svc).By == orchestrator.ByController, "", nil
					})
					// Swarm's version index is the store's, not the service's: count the
					// service's update events instead.
					since := time.Now()
					acctest.SetLoad(t, dir, true)
					waitReplicas(t, cli, svc, 4, 2*time.Minute)
					// Let both controllers run more rounds at the maximum, then count.
					beat, _ := heartbeat(cli)
					acctest.Eventually(t, time.Minute, "three more rounds", func() (bool, string, error) {
						h, _ := heartbeat(cli)
						return h.RoundAt.After(beat.RoundAt.Add(3 * controllerInterval)), "", nil
					})
					writes := serviceUpdates(t, cli, svc, since)
					decisions := decisionLines(t, cli, svc, ctlA, ctlB)
					t.Logf("service writes since the load started: %d; decisions logged: %v", writes, decisions)
					var holders = map[string]bool{}
					var scaled []string
					for _, d := range decisions {
						holders[d.controller] = true
						if d.scaled {
							scaled = append(scaled, d.change)
						}
					}
					if len(holders) != 1 {
						t.Errorf("decisions were written by %d controllers, want one: %v", len(holders), decisions)
					}
					seen := map[string]bool{}
					for _, c := range scaled {
						if seen[c] {
							t.Errorf("the decision %s was applied twice: %v", c, decisions)
						}
						seen[c] = true
					}
					if writes != len(scaled) {
						t.Errorf("the service was written %d times for %d decisions that scaled it (%v)", writes, len(scaled), scaled)
					}
				},
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

// serviceUpdates counts the update events of a service since a time, until now.
func serviceUpdates(t *testing.T, cli *client.Client, service string, since time.Time) int {
	t.Helper()
	id := acctest.InspectService(t, cli, service).ID
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	msgs, errs := cli.Events(ctx, events.ListOptions{Since: since.Format(time.RFC3339Nano), Until: time.Now().Format(time.RFC3339Nano),
		Filters: filters.NewArgs(filters.Arg("type", "service"), filters.Arg("service", id), filters.Arg("event", "update"))})
	n := 0
	for {
		select {
		case <-msgs:
			n++
		case err := <-errs:
			if err != nil && err != io.EOF {
				t.Fatal(err)
			}
			return n
		}
	}
}

// decision is one "decision" line of a controller's log.
type decision struct {
	controller, change string
	scaled             bool
}

// decisionLines reads the decisions the controllers logged for a service.
func decisionLines(t *testing.T, cli *client.Client, service string, controllers ...string) []decision {
	t.Helper()
	var out []decision
	for _, ctl := range controllers {
		for _, line := range serviceLogs(t, cli, ctl) {
			var d struct {
				Msg, Service string
				From, To     int
				Scaled       bool
			}
			if json.Unmarshal([]byte(line), &d) != nil || d.Msg != "decision" || d.Service != service {
				continue
			}
			out = append(out, decision{controller: ctl, change: fmt.Sprintf("%d->%d", d.From, d.To), scaled: d.Scaled})
		}
	}
	return out
}

// serviceLogs is every line a service's tasks logged.
func serviceLogs(t *testing.T, cli *client.Client, service string) []string {
	t.Helper()
	rc, err := cli.ServiceLogs(context.Background(), service, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var b strings.Builder
	if _, err := stdcopy.StdCopy(&b, &b, rc); err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(b.String()), "\n")
}

// The acting controller's container killed: Swarm starts it again, the new one takes over
// within two intervals of running, and the history from before the kill holds: the load
// stopped at the kill, and no scale-down comes before the window.
func TestAccAutoscaler_controllerKilled(t *testing.T) {
	svc, ctl, dir := acctest.Name("kill"), acctest.Name("ctl"), acctest.LoadDir(t)
	cli := acctest.Docker(t)
	const window = 30 * time.Second
	config := "provider \"swarm\" {}\n" + autoscalerBlock(t, ctl, "") + loadedService(svc, dir) + continuousPolicy(window.String(), "")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             noController(cli),
		Steps: []resource.TestStep{
			{Config: config},
			{
				PreConfig: func() {
					acctest.SetLoad(t, dir, true)
					waitReplicas(t, cli, svc, 4, 2*time.Minute)
					old := acctest.RunningTasks(t, cli, ctl)
					if len(old) != 1 {
						t.Fatalf("%d controller tasks run, want 1", len(old))
					}
					acctest.SetLoad(t, dir, false)
					stoppedAt := time.Now()
					if err := cli.ContainerKill(context.Background(), old[0].Status.ContainerStatus.ContainerID, "SIGKILL"); err != nil {
						t.Fatal(err)
					}
					// The new task's first round records a heartbeat under its own name.
					var h orchestrator.Heartbeat
					acctest.Eventually(t, time.Minute, "the new controller's first round", func() (bool, string, error) {
						h, _ = heartbeat(cli)
						return h.Holder != "" && !strings.HasSuffix(h.Holder, old[0].ID), "holder " + h.Holder, nil
					})
					var task swarm.Task
					tasks, err := acctest.ListDesiredRunning(context.Background(), cli, ctl)
					if err != nil {
						t.Fatal(err)
					}
					for _, tk := range tasks { // running, or still starting: its healthcheck passes after this round
						if strings.HasSuffix(h.Holder, tk.ID) {
							task = tk
						}
					}
					if task.Status.ContainerStatus == nil {
						t.Fatalf("the heartbeat's holder %s is not a task of %s", h.Holder, ctl)
					}
					c, err := cli.ContainerInspect(context.Background(), task.Status.ContainerStatus.ContainerID)
					if err != nil {
						t.Fatal(err)
					}
					started, _ := time.Parse(time.RFC3339Nano, c.State.StartedAt)
					took := h.RoundAt.Sub(started)
					t.Logf("the new controller's first round ended %s after its container started", took.Round(time.Millisecond))
					if took > 2*controllerInterval {
						t.Errorf("the new controller's first round ended %s after its container started, more than two intervals", took)
					}
					var droppedAt time.Time
					acctest.Eventually(t, 2*time.Minute, "a scale-down", func() (bool, string, error) {
						n, err := replicasOf(cli, svc)
						if n < 4 {
							droppedAt = time.Now()
						}
						return n < 4, fmt.Sprintf("%d replicas", n), err
					})
					if early := droppedAt.Sub(stoppedAt); early < window-controllerInterval {
						t.Fatalf("the restarted controller scaled down %s after the load stopped, before the %s window: the history was lost", early.Round(time.Millisecond), window)
					}
				},
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

// startPrometheus runs a Prometheus of the test's own on a free loopback port and returns its
// address and a function that stops it.
func startPrometheus(t *testing.T) (address string, stop func()) {
	t.Helper()
	dir := t.TempDir()
	conf := acctest.WriteFile(t, dir, "prometheus.yml", "global:\n  scrape_interval: 1s\n")
	port := acctest.FreePort(t)
	cmd := exec.Command("prometheus", "--config.file="+conf, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus (scripts/swarm-up.sh installs it): %v", err)
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
		}
	}
	t.Cleanup(stop)
	acctest.WaitForPort(t, port)
	return fmt.Sprintf("http://127.0.0.1:%d", port), stop
}

// Prometheus goes down under a continuous policy: nothing scales, and the reason is recorded
// in the state label, so that the next plan shows it (with no change planned).
func TestAccScalingPolicy_continuousPrometheusDown(t *testing.T) {
	svc, ctl := acctest.Name("promdown"), acctest.Name("ctl")
	cli := acctest.Docker(t)
	prom, stopProm := startPrometheus(t)
	config := "provider \"swarm\" {}\n" + autoscalerBlock(t, ctl, `  networks = ["host"] # the test's Prometheus listens on the host's loopback`) + fmt.Sprintf(`
resource "swarm_service" "test" {
  name     = %q
  image    = %q
  replicas = 1
}

resource "swarm_scaling_policy" "test" {
  service_id   = swarm_service.test.id
  min_replicas = 1
  max_replicas = 5
  evaluation   = "continuous"
  metrics      = [{ type = "prometheus", address = %q, query = "vector(250)", target_average_value = 100 }]
  scale_down   = { stabilization_window = "0s" }
}
`, svc, os.Getenv("TEST_IMAGE"), prom)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             noController(cli),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(autoscalerAddr, tfjsonpath.New("networks"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("host")})),
				},
			},
			{
				// 250 shared by 100 per replica: 3.
				PreConfig:        func() { waitReplicas(t, cli, svc, 3, 2*time.Minute) },
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				PreConfig: func() {
					stopProm()
					acctest.Eventually(t, time.Minute, "the controller to record that the query has no data", func() (bool, string, error) {
						st := scalingState(t, cli, svc)
						return len(st.Holds) > 0, fmt.Sprintf("holds %v, decision %q", st.Holds, st.Decision), nil
					})
					before, _ := heartbeat(cli)
					acctest.Eventually(t, time.Minute, "two more rounds", func() (bool, string, error) {
						h, _ := heartbeat(cli)
						return h.RoundAt.After(before.RoundAt.Add(controllerInterval)), "", nil
					})
					if n, err := replicasOf(cli, svc); err != nil || n != 3 {
						t.Fatalf("with Prometheus down the service went to %d replicas (%v), want 3 kept", n, err)
					}
				},
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{
					expectState("current_replicas", knownvalue.Int64Exact(3)),
					expectState("decision", knownvalue.StringRegexp(regexp.MustCompile(`^no data for query "vector\(250\)", so the replica count is kept; stays at 3$`))),
				},
			},
		},
	})
}
