package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/google/go-cmp/cmp"
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

const svcAddr = "swarm_service.test"

func serviceConfig(name, body string) string {
	return fmt.Sprintf(`
provider "swarm" {}

resource "swarm_service" "test" {
  name = %q
%s
}
`, name, body)
}

func TestAccService_createUpdateImport(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("basic")
	img1, img2 := os.Getenv("TEST_IMAGE"), os.Getenv("TEST_IMAGE_V2")
	sameID := statecheck.CompareValue(compare.ValuesSame())
	cli := acctest.Docker(t)

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if _, _, err := cli.ServiceInspectWithRaw(context.Background(), name, swarm.ServiceInspectOptions{}); err == nil {
				return fmt.Errorf("service %s still exists after destroy", name)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: serviceConfig(name, fmt.Sprintf(`  image = %q`, img1)),
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(svcAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("replicas"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("running_replicas"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("mode"), knownvalue.StringExact("replicated")),
					statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("image"), knownvalue.StringExact(img1)),
				},
			},
			{
				Config: serviceConfig(name, fmt.Sprintf("  image = %q\n  replicas = 2\n  env = { VERSION = \"v2\" }", img2)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(svcAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(svcAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("running_replicas"), knownvalue.Int64Exact(2)),
				},
				Check: func(*terraform.State) error {
					svc := acctest.InspectService(t, cli, name)
					if got := svc.Spec.TaskTemplate.ContainerSpec.Image; !strings.HasPrefix(got, img2) {
						return fmt.Errorf("engine runs image %q, want %q", got, img2)
					}
					return nil
				},
			},
			{
				// Scale to zero is valid and converges at once.
				Config: serviceConfig(name, fmt.Sprintf("  image = %q\n  replicas = 0\n  env = { VERSION = \"v2\" }", img2)),
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(svcAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("replicas"), knownvalue.Int64Exact(0)),
				},
			},
			{
				// terraform import by ID.
				ResourceName:            svcAddr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"running_replicas"},
			},
			{
				// terraform import by name.
				ResourceName:            svcAddr,
				ImportState:             true,
				ImportStateId:           name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"running_replicas"},
			},
			acctest.ForgetStep(t, svcAddr, `provider "swarm" {}`),
			{
				// An import block by name: nothing to change, and the next plan is empty.
				SkipFunc: acctest.NeedsTerraform(t, "1.7.0", "importing what a removed block forgot"),
				Config:   acctest.ImportBlock(svcAddr, name) + serviceConfig(name, fmt.Sprintf("  image = %q\n  replicas = 0\n  env = { VERSION = \"v2\" }", img2)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(svcAddr, plancheck.ResourceActionNoop)},
				},
			},
		},
	})
}

// allAttributes sets every attribute family; apply followed by plan must be empty, and so must
// import followed by plan.
// Durations and sizes are spelled as the engine reports them; respelled() writes them
// differently.
func allAttributesBody(image string) string {
	return fmt.Sprintf(`
  image            = %q
  command          = ["/app"]
  env              = { VERSION = "all", PORT = "8080" }
  labels           = { team = "platform", tier = "web" }
  container_labels = { "com.example.role" = "web" }
  replicas         = 2
  endpoint_mode    = "dnsrr"
  ports            = [{ target = 8080, mode = "host" }, { target = 9090, protocol = "udp", mode = "host" }]
  healthcheck = {
    test         = ["CMD", "/app", "health"]
    interval     = "1s"
    timeout      = "2s"
    retries      = 3
    start_period = "500ms"
  }
  resources = {
    limits       = { cpus = 0.5, memory = "64MiB" }
    reservations = { cpus = 0.1, memory = "16MiB" }
  }
  restart_policy = { condition = "on-failure", delay = "1s", max_attempts = 5, window = "1m0s" }
  placement = {
    constraints           = ["node.role==manager", "node.platform.os==linux"]
    preferences           = ["spread=node.id"]
    max_replicas_per_node = 2
  }
  mounts = [
    { type = "tmpfs", target = "/tmp", tmpfs_size = "8MiB" },
    { type = "volume", source = "tfacc-all-data", target = "/data", read_only = true },
  ]
  hostname          = "web-{{.Task.Slot}}"
  user              = "65534:65534"
  groups            = ["65533"]
  workdir           = "/"
  read_only         = true
  init              = true
  stop_signal       = "SIGTERM"
  stop_grace_period = "3s"
  cap_drop          = ["NET_RAW", "MKNOD"]
  cap_add           = ["NET_BIND_SERVICE"]
  sysctls           = { "net.ipv4.ip_local_port_range" = "1024 65000" }
  ulimits           = { nofile = { soft = 1024, hard = 2048 } }
  extra_hosts       = { "db.internal" = "10.1.2.3" }
  dns_config        = { nameservers = ["127.0.0.11"], search = ["example.internal"], options = ["ndots:1"] }
  log_driver        = { name = "json-file", options = { "max-size" = "1m" } }
`, image)
}

func respelled(body string) string {
	return strings.NewReplacer(`timeout      = "2s"`, `timeout      = "2000ms"`, `start_period = "500ms"`, `start_period = "0.5s"`,
		`memory = "64MiB"`, `memory = "64M"`, `window = "1m0s"`, `window = "60s"`).Replace(body) + "  args = []\n  timeouts = { create = \"3m\" }\n"
}

func TestAccService_allAttributes(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("all")
	img := os.Getenv("TEST_IMAGE")
	cli := acctest.Docker(t)
	sameVersion := statecheck.CompareValue(compare.ValuesSame())
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: serviceConfig(name, allAttributesBody(img)),
				ConfigStateChecks: []statecheck.StateCheck{
					sameVersion.AddStateValue(svcAddr, tfjsonpath.New("version")),
					statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("running_replicas"), knownvalue.Int64Exact(2)),
				},
				Check: func(*terraform.State) error {
					spec := acctest.InspectService(t, cli, name).Spec
					if got := spec.TaskTemplate.Resources.Limits.MemoryBytes; got != 64<<20 {
						return fmt.Errorf("memory limit in the engine is %d, want %d", got, 64<<20)
					}
					if got := spec.TaskTemplate.ContainerSpec.Healthcheck.Timeout; got != 2*time.Second {
						return fmt.Errorf("healthcheck timeout in the engine is %s", got)
					}
					if got := spec.EndpointSpec.Mode; got != swarm.ResolutionModeDNSRR {
						return fmt.Errorf("endpoint mode %q", got)
					}
					return nil
				},
			},
			{
				// The same values spelled differently: Terraform plans the new spelling, the
				// engine writes nothing (same version), the user's spelling is kept, and the
				// next plan is empty.
				Config: serviceConfig(name, respelled(allAttributesBody(img))),
				ConfigStateChecks: []statecheck.StateCheck{
					sameVersion.AddStateValue(svcAddr, tfjsonpath.New("version")),
					statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("resources").AtMapKey("limits").AtMapKey("memory"), knownvalue.StringExact("64M")),
					statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("healthcheck").AtMapKey("timeout"), knownvalue.StringExact("2000ms")),
					statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("args"), knownvalue.ListExact([]knownvalue.Check{})),
				},
			},
			{
				ResourceName:      svcAddr,
				ImportState:       true,
				ImportStateVerify: true,
				// Spelled differently in the configuration of the previous step.
				ImportStateVerifyIgnore: []string{"running_replicas", "timeouts", "args", "healthcheck.start_period", "healthcheck.timeout", "resources.limits.memory", "restart_policy.window"},
			},
			acctest.ForgetStep(t, svcAddr, `provider "swarm" {}`),
			{
				// Imported with every family set, the configuration has nothing to change.
				SkipFunc: acctest.NeedsTerraform(t, "1.7.0", "importing what a removed block forgot"),
				Config:   acctest.ImportBlock(svcAddr, name) + serviceConfig(name, allAttributesBody(img)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(svcAddr, plancheck.ResourceActionNoop)},
				},
			},
			{
				// Removing every optional family goes back to defaults, in place.
				Config: serviceConfig(name, fmt.Sprintf(`  image = %q`, img)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(svcAddr, plancheck.ResourceActionUpdate)},
				},
				Check: func(*terraform.State) error {
					spec := acctest.InspectService(t, cli, name).Spec
					if spec.TaskTemplate.ContainerSpec.Healthcheck != nil || len(spec.TaskTemplate.ContainerSpec.Mounts) != 0 {
						return fmt.Errorf("healthcheck or mounts left behind: %+v", spec.TaskTemplate.ContainerSpec)
					}
					return nil
				},
			},
		},
	})
	_ = cli.VolumeRemove(context.Background(), "tfacc-all-data", true)
}

func TestAccService_driftIsCorrected(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("drift")
	img := os.Getenv("TEST_IMAGE")
	cli := acctest.Docker(t)
	config := serviceConfig(name, fmt.Sprintf("  image = %q\n  replicas = 1\n  env = { MODE = \"declared\" }\n  labels = { owner = \"terraform\" }", img))
	drift := func() {
		svc := acctest.InspectService(t, cli, name)
		spec := svc.Spec
		n := uint64(2)
		spec.Mode.Replicated.Replicas = &n
		spec.Labels["owner"] = "someone-else"
		spec.TaskTemplate.ContainerSpec.Env = []string{"MODE=drifted"}
		if _, err := cli.ServiceUpdate(context.Background(), svc.ID, svc.Version, spec, swarm.ServiceUpdateOptions{}); err != nil {
			t.Fatalf("drift the service: %v", err)
		}
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config},
			{
				PreConfig:          drift,
				Config:             config,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(svcAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(svcAddr, tfjsonpath.New("replicas"), knownvalue.Int64Exact(1)),
					},
				},
				Check: func(*terraform.State) error {
					spec := acctest.InspectService(t, cli, name).Spec
					if *spec.Mode.Replicated.Replicas != 1 || spec.Labels["owner"] != "terraform" || spec.TaskTemplate.ContainerSpec.Env[0] != "MODE=declared" {
						return fmt.Errorf("drift not corrected: replicas=%d labels=%v env=%v", *spec.Mode.Replicated.Replicas, spec.Labels, spec.TaskTemplate.ContainerSpec.Env)
					}
					return nil
				},
			},
			{
				// Deleted outside Terraform: the plan recreates it.
				PreConfig: func() {
					if err := cli.ServiceRemove(context.Background(), name); err != nil {
						t.Fatalf("remove: %v", err)
					}
				},
				Config:             config,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
	})
}

func TestAccService_globalMode(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("global")
	img := os.Getenv("TEST_IMAGE")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: serviceConfig(name, fmt.Sprintf("  image = %q\n  mode = \"global\"", img)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("mode"), knownvalue.StringExact("global")),
					statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("replicas"), knownvalue.Null()),
					statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("running_replicas"), knownvalue.Int64Exact(1)),
				},
			},
			{ResourceName: svcAddr, ImportState: true, ImportStateVerify: true, ImportStateVerifyIgnore: []string{"running_replicas"}},
			{
				// Changing the mode replaces the service: Swarm cannot convert it.
				Config: serviceConfig(name, fmt.Sprintf("  image = %q\n  replicas = 1", img)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(svcAddr, plancheck.ResourceActionDestroyBeforeCreate)},
				},
			},
		},
	})
}

func TestAccService_hostPortServesTraffic(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("port")
	img := os.Getenv("TEST_IMAGE")
	const port = 18282
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: serviceConfig(name, fmt.Sprintf(`  image = %q
  env   = { VERSION = "port-test" }
  ports = [{ target = 8080, published = %d, mode = "host" }]
  healthcheck = { test = ["CMD", "/app", "health"], interval = "500ms", timeout = "2s", retries = 2 }`, img, port)),
			Check: func(*terraform.State) error {
				// The apply returned only after the task was healthy, so the port answers now.
				resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
				if err != nil {
					return fmt.Errorf("host-mode port not reachable right after apply: %w", err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if !strings.Contains(string(body), "version=port-test") {
					return fmt.Errorf("unexpected answer %q", body)
				}
				return nil
			},
		}},
	})
}

func TestAccService_healthcheckGatesConvergence(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("health")
	img := os.Getenv("TEST_IMAGE")
	cli := acctest.Docker(t)
	body := func(delay string) string {
		return fmt.Sprintf(`  image = %q
  replicas = 2
  env = { START_DELAY = %q }
  healthcheck = { test = ["CMD", "/app", "health"], interval = "500ms", timeout = "1s", retries = 20 }`, img, delay)
	}
	allHealthy := func(*terraform.State) error {
		tasks, err := acctest.ListDesiredRunning(context.Background(), cli, name)
		if err != nil {
			return err
		}
		healthy := 0
		for _, task := range tasks {
			if task.Status.ContainerStatus == nil {
				continue
			}
			c, err := cli.ContainerInspect(context.Background(), task.Status.ContainerStatus.ContainerID)
			if err != nil {
				return err
			}
			if c.State.Health != nil && c.State.Health.Status == "healthy" {
				healthy++
			}
		}
		if healthy != 2 {
			return fmt.Errorf("apply returned with %d healthy containers, want 2", healthy)
		}
		return nil
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: serviceConfig(name, body("3s")), Check: allHealthy},
			{Config: serviceConfig(name, body("2s")), Check: allHealthy},
		},
	})
}

func TestAccService_startFailureFailsFast(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("crash")
	img := os.Getenv("TEST_IMAGE")
	cli := acctest.Docker(t)
	acctest.RemoveServiceAtCleanup(t, cli, name)
	config := serviceConfig(name, fmt.Sprintf("  image = %q\n  env = { FAIL_ON_START = \"1\" }\n  timeouts = { create = \"5m\" }", img))
	var start time.Time
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig: func() { start = time.Now() },
				Config:    config,
				// The task's exit code and the log tail are in the error.
				ExpectError: regexp.MustCompile(`(?s)Service Did Not Converge.*exit\s+code\s+3.*last\s+log\s+lines:.*FAIL_ON_START\s+is\s+set,\s+refusing\s+to\s+start`),
			},
			{
				// The failed service is kept (not deleted behind the user's back) and tainted,
				// so the next plan replaces it.
				PreConfig: func() {
					t.Logf("failed apply returned after %s (create timeout 5m)", time.Since(start).Round(100*time.Millisecond))
					acctest.InspectService(t, cli, name)
				},
				Config:             config,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
	})
}

func TestAccService_unhealthyFailsApply(t *testing.T) {
	acctest.Parallel(t)
	testCreateFails(t, "unhealthy", `
  env = { UNHEALTHY = "1" }
  healthcheck = { test = ["CMD", "/app", "health"], interval = "300ms", timeout = "1s", retries = 2 }
  timeouts = { create = "5m" }`,
		regexp.MustCompile(`(?s)Service Did Not Converge.*exited\s+while\s+the\s+service\s+should\s+keep\s+running.*healthcheck\s+failed`))
}

// A task that no node of the swarm can ever run fails the apply at once, with the cause, instead
// of a wait that could only end in the timeout (set short here, so that a regression fails the
// test rather than hang it).
func TestAccService_neverPlaceableFailsFast(t *testing.T) {
	acctest.Parallel(t)
	for _, tc := range []struct{ name, body, cause string }{
		{"log driver", `log_driver = { name = "tfacc-no-such-driver" }`, `the log driver "tfacc-no-such-driver" is not installed on any node of the swarm`},
		{"volume driver", `mounts = [{ type = "volume", source = "tfacc-never-made", target = "/data", driver = "tfacc-no-such-driver" }]`,
			`the volume driver "tfacc-no-such-driver" of the mount at /data is not installed on any node of the swarm`},
		{"cpu reservation", `resources = { reservations = { cpus = 1024 } }`, `each task reserves 1024 CPUs, more than any node of the swarm has`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acctest.Parallel(t)
			testCreateFails(t, "never", "\n  "+tc.body+"\n  timeouts = { create = \"2m\" }",
				regexp.MustCompile(`(?s)Service Did Not Converge.*`+acctest.ErrorWords("no node of the swarm can ever run the new spec's tasks: "+tc.cause).String()+`.*no\s+suitable\s+node`))
		})
	}
}

// A service made outside Terraform for a platform no node runs (the Docker CLI records the
// image's platforms in the placement, which swarm_service does not model and keeps) is taken
// in with an import block; the apply that changes it fails at once and says why.
func TestAccService_platformNoNodeRunsFailsFast(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("platform")
	img := os.Getenv("TEST_IMAGE")
	cli := acctest.Docker(t)
	acctest.RemoveServiceAtCleanup(t, cli, name)
	replicas := uint64(1)
	_, err := cli.ServiceCreate(context.Background(), swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: name},
		Mode:        swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{Image: img},
			Placement:     &swarm.Placement{Platforms: []swarm.Platform{{OS: "linux", Architecture: "arm64"}}},
		},
	}, swarm.ServiceCreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: acctest.ImportBlock(svcAddr, name) + serviceConfig(name, fmt.Sprintf("  image = %q\n  env = { VERSION = \"v2\" }\n  timeouts = { update = \"2m\" }", img)),
			ExpectError: regexp.MustCompile(`(?s)Service Update Did Not Converge.*` + acctest.ErrorWords("The rollout of service").String() + `.*` +
				acctest.ErrorWords("cannot go on").String() + `.*` +
				acctest.ErrorWords("no node of the swarm can ever run the new spec's tasks: the service runs on linux/arm64 only, and no node of the swarm does").String() +
				`.*unsupported\s+platform`),
		}},
	})
}

// testCreateFails applies a service (the test image plus body) whose create must fail with want.
func testCreateFails(t *testing.T, prefix, body string, want *regexp.Regexp) {
	t.Helper()
	name := acctest.Name(prefix)
	cli := acctest.Docker(t)
	acctest.RemoveServiceAtCleanup(t, cli, name)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      serviceConfig(name, fmt.Sprintf("  image = %q", os.Getenv("TEST_IMAGE"))+body),
			ExpectError: want,
		}},
	})
}

// While a scaling policy owns the replica count (the owner label on the service), the service
// resource neither plans to reset it nor resets it when it applies other changes.
func TestAccService_replicasOwnedByPolicy(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("owned")
	img := os.Getenv("TEST_IMAGE")
	cli := acctest.Docker(t)
	config := func(version string) string {
		return serviceConfig(name, fmt.Sprintf("  image = %q\n  replicas = 1\n  env = { VERSION = %q }", img, version))
	}
	liveReplicas := func(want uint64) resource.TestCheckFunc { return liveReplicasOf(t, cli, name, want) }
	setOwner := func(owner string, replicas uint64) {
		svc := acctest.InspectService(t, cli, name)
		spec := svc.Spec
		if owner == "" {
			delete(spec.Labels, "swarmform.scaling-policy")
		} else {
			spec.Labels["swarmform.scaling-policy"] = owner
		}
		spec.Mode.Replicated.Replicas = &replicas
		if _, err := cli.ServiceUpdate(context.Background(), svc.ID, svc.Version, spec, swarm.ServiceUpdateOptions{}); err != nil {
			t.Fatalf("set owner: %v", err)
		}
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config("a")},
			{
				// A policy takes ownership and scales to 3: nothing to plan.
				PreConfig: func() { setOwner("policy-1", 3) },
				Config:    config("a"),
				PlanOnly:  true,
			},
			{
				// Another change rolls the tasks but keeps the policy's 3 replicas.
				Config: config("b"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("replicas"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("running_replicas"), knownvalue.Int64Exact(3)),
				},
				Check: liveReplicas(3),
			},
			{
				// Ownership released: the declared count applies again.
				PreConfig:          func() { setOwner("", 3) },
				Config:             config("b"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{Config: config("b"), Check: liveReplicas(1)},
		},
	})
}

// during is a plan check that does something between the plan and its apply: terraform-plugin-
// testing applies the saved plan, so a change made here is one no reviewer saw.
type during func()

func (d during) CheckPlan(context.Context, plancheck.CheckPlanRequest, *plancheck.CheckPlanResponse) {
	d()
}

// A saved plan applied after someone changed the service stops instead of silently undoing the
// change; the change stays, and the next plan shows it. A replica count that a scaling policy
// moved meanwhile does not stop the apply.
func TestAccService_stalePlanRefused(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("stale")
	img := os.Getenv("TEST_IMAGE")
	cli := acctest.Docker(t)
	config := func(mode string) string {
		return serviceConfig(name, fmt.Sprintf("  image = %q\n  replicas = 1\n  env = { MODE = %q }\n  labels = { owner = \"terraform\" }", img, mode))
	}
	update := func(edit func(*swarm.ServiceSpec)) during {
		return func() {
			svc := acctest.InspectService(t, cli, name)
			spec := svc.Spec
			edit(&spec)
			if _, err := cli.ServiceUpdate(context.Background(), svc.ID, svc.Version, spec, swarm.ServiceUpdateOptions{}); err != nil {
				t.Fatalf("change the service behind Terraform's back: %v", err)
			}
		}
	}
	two, three := uint64(2), uint64(3)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config("a")},
			{
				Config: config("b"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{update(func(s *swarm.ServiceSpec) {
					s.TaskTemplate.ContainerSpec.Env = append(s.TaskTemplate.ContainerSpec.Env, "X=1")
					s.Labels["owner"] = "ops"
					s.Mode.Replicated.Replicas = &two
				})}},
				ExpectError: acctest.ErrorPattern(`Service Changed Since Plan.*changed after the plan was made, in what this configuration manages: labels, env, replicas.*nothing was written`),
			},
			{
				// Nothing was lost, and the next plan shows the change (and takes it back).
				PreConfig: func() {
					spec := acctest.InspectService(t, cli, name).Spec
					if env := strings.Join(spec.TaskTemplate.ContainerSpec.Env, ","); env != "MODE=a,X=1" || spec.Labels["owner"] != "ops" || *spec.Mode.Replicated.Replicas != 2 {
						t.Errorf("the change made after the plan was not kept: env %s, labels %v, replicas %d", env, spec.Labels, *spec.Mode.Replicated.Replicas)
					}
				},
				Config: config("b"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue(svcAddr, tfjsonpath.New("replicas"), knownvalue.Int64Exact(1)),
					plancheck.ExpectKnownValue(svcAddr, tfjsonpath.New("labels").AtMapKey("owner"), knownvalue.StringExact("terraform")),
				}},
			},
			{
				// A scaling policy (its owner label) takes the count, and moves it between the
				// plan and the apply: the apply goes ahead and keeps the policy's count.
				PreConfig: update(func(s *swarm.ServiceSpec) { s.Labels[orchestrator.ScalingOwnerLabel] = `{"min":1,"max":3}` }),
				Config:    config("c"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{update(func(s *swarm.ServiceSpec) {
					s.Mode.Replicated.Replicas = &three
				})}},
				Check: func(*terraform.State) error {
					spec := acctest.InspectService(t, cli, name).Spec
					if env := strings.Join(spec.TaskTemplate.ContainerSpec.Env, ","); env != "MODE=c" || *spec.Mode.Replicated.Replicas != 3 {
						return fmt.Errorf("after the apply: env %s, replicas %d (want MODE=c and the policy's 3)", env, *spec.Mode.Replicated.Replicas)
					}
					return nil
				},
			},
		},
	})
}

// Empty blocks and lists, which Swarm does not keep, read back as written: the apply succeeds
// and the plans after it are empty (no "inconsistent result", no replacement on every apply).
func TestAccService_emptyValues(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("empty")
	img := os.Getenv("TEST_IMAGE")
	body := func(resources string) string {
		return fmt.Sprintf(`  image = %q
  resources = %s
  placement = { constraints = [], preferences = [] }
  dns_config = { nameservers = [], search = [], options = [] }
  log_driver = { name = "json-file", options = {} }
  env = {}
  labels = {}
  container_labels = {}
  ports = []
  mounts = []
  command = []
  args = []
  groups = []
  cap_add = []
  cap_drop = []
  sysctls = {}
  ulimits = {}
  extra_hosts = {}
`, img, resources)
	}
	sameID := statecheck.CompareValue(compare.ValuesSame())
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:            serviceConfig(name, body("{ limits = {}, reservations = {} }")),
				ConfigStateChecks: []statecheck.StateCheck{sameID.AddStateValue(svcAddr, tfjsonpath.New("id"))},
			},
			{
				Config: serviceConfig(name, body("{}")),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(svcAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{sameID.AddStateValue(svcAddr, tfjsonpath.New("id"))},
			},
		},
	})
}

// The plan's warnings, through the protocol server and without Docker: none when nothing
// changes (the plan is the state), a rolling update for a task-template change, and a paused
// rollout that the next apply resumes.
func TestServicePlanWarnings(t *testing.T) {
	c := newProtoClient(t)
	typ := resourceType(t, "swarm_service")
	stored, err := os.ReadFile("testdata/bench-service-state.json")
	if err != nil {
		t.Fatal(err)
	}
	config, err := os.ReadFile("testdata/bench-service-config.json")
	if err != nil {
		t.Fatal(err)
	}
	upgrade := func(state string) []byte {
		resp := c.call(t, "UpgradeResourceState", map[string]any{"type_name": "swarm_service", "version": int64(serviceSchemaVersion),
			"raw_state": protoMessage(t, "tfplugin6.RawState", map[string]any{"json": []byte(state)})})
		return msgpackOf(resp, "upgraded_state")
	}
	for _, tc := range []struct {
		name, edit, editState string
		want                  []string
	}{
		{name: "unchanged"},
		{name: "new environment value", edit: `"INDEX": "1"`, want: []string{"WARNING: Rolling Update Planned"}},
		{name: "paused rollout", editState: `"update_state": "paused"`, want: []string{"WARNING: Rollout Paused"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := strings.NewReplacer(`"INDEX": "0"`, tc.edit)
			if tc.edit == "" {
				r = strings.NewReplacer()
			}
			state := string(stored)
			if tc.editState != "" {
				state = strings.Replace(state, `"update_state": null`, tc.editState, 1)
			}
			prior := upgrade(state)
			// Terraform proposes the configuration's values, the state's for computed ones.
			proposed := upgrade(r.Replace(state))
			resp := c.call(t, "PlanResourceChange", map[string]any{"type_name": "swarm_service",
				"prior_state": dynamicValue(t, prior), "proposed_new_state": dynamicValue(t, proposed),
				"config": dynamicValue(t, encode(t, typ, r.Replace(string(config))))})
			if diff := cmp.Diff(tc.want, diagnosticSummaries(resp)); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}

// Mount options, a pids limit, secrets and configs by name: applied, read back with an empty
// plan, and imported back as configured.
func TestAccService_mountOptionsAndFiles(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("mounts")
	cli := acctest.Docker(t)
	config := fmt.Sprintf(`
provider "swarm" {}

resource "swarm_secret" "s" {
  name = "%[1]s-secret"
  data = "s3"
}

resource "swarm_config" "c" {
  name = "%[1]s-config"
  data = "c0nf"
}

resource "swarm_service" "test" {
  name       = %[1]q
  image      = %[2]q
  pids_limit = 64
  secrets    = [{ id = swarm_secret.s.name, file_name = "token", uid = "65534", gid = "65534", mode = "0440" }]
  configs    = [{ id = swarm_config.c.name, file_name = "/etc/app.conf" }]
  mounts = [
    { type = "volume", source = "%[1]s-vol", target = "/data", driver = "local", no_copy = true,
      driver_options = { type = "tmpfs", device = "tmpfs", o = "size=8m" }, volume_labels = { team = "a" } },
    { type = "bind", source = "/etc", target = "/hostetc", read_only = true, propagation = "private" },
    { type = "tmpfs", target = "/scratch", tmpfs_size = "4MiB", tmpfs_mode = "1777" },
  ]
}
`, name, os.Getenv("TEST_IMAGE"))
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(*terraform.State) error {
					spec := acctest.InspectService(t, cli, name).Spec
					cs := spec.TaskTemplate.ContainerSpec
					vol := cs.Mounts[0].VolumeOptions
					if spec.TaskTemplate.Resources.Limits.Pids != 64 || vol == nil || vol.DriverConfig.Options["o"] != "size=8m" || !vol.NoCopy ||
						cs.Mounts[1].BindOptions.Propagation != "private" || cs.Mounts[2].TmpfsOptions.Mode != 0o1777 {
						return fmt.Errorf("spec as written: %+v", cs.Mounts)
					}
					if cs.Secrets[0].SecretName != name+"-secret" || cs.Secrets[0].File.Mode != 0o440 || cs.Configs[0].File.Name != "/etc/app.conf" {
						return fmt.Errorf("secrets and configs as written: %+v %+v", cs.Secrets[0], cs.Configs[0])
					}
					if got := acctest.ReadTaskFile(t, cli, name, "/run/secrets/token"); len(got) != 1 || got[0] != "s3" {
						return fmt.Errorf("the task reads the secret as %q", got)
					}
					return nil
				},
			},
			{ResourceName: svcAddr, ImportState: true, ImportStateVerify: true, ImportStateVerifyIgnore: []string{"running_replicas"}},
		},
	})
	_ = cli.VolumeRemove(context.Background(), name+"-vol", true)
}

// A service's identity is its ID and name: set on create, unchanged by an update in place,
// new with a replacement (a new name), and an import block that gives it plans no change.
func TestAccIdentity_service(t *testing.T) {
	acctest.IdentityTerraform(t)
	name, renamed := acctest.Name("ident"), acctest.Name("ident-re")
	img1, img2 := acctest.Env(t, "TEST_IMAGE"), acctest.Env(t, "TEST_IMAGE_V2")
	sameID := statecheck.CompareValue(compare.ValuesSame())
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:            serviceConfig(name, fmt.Sprintf("  image = %q", img1)),
				ConfigStateChecks: append(acctest.IdentityIs(svcAddr, "id", "name"), sameID.AddStateValue(svcAddr, tfjsonpath.New("id"))),
			},
			acctest.ImportByIdentity(svcAddr),
			{
				// An update in place (a rolling update) keeps the identity.
				Config: serviceConfig(name, fmt.Sprintf("  image = %q\n  env = { V = \"2\" }", img2)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(svcAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: append(acctest.IdentityIs(svcAddr, "id", "name"), sameID.AddStateValue(svcAddr, tfjsonpath.New("id"))),
			},
			{
				// A new name replaces the service: a new identity.
				Config: serviceConfig(renamed, fmt.Sprintf("  image = %q\n  env = { V = \"2\" }", img2)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(svcAddr, plancheck.ResourceActionDestroyBeforeCreate)},
				},
				ConfigStateChecks: append(acctest.IdentityIs(svcAddr, "id", "name"),
					statecheck.ExpectIdentityValue(svcAddr, tfjsonpath.New("name"), knownvalue.StringExact(renamed))),
			},
			acctest.ImportByIdentity(svcAddr),
		},
	})
}

// State written by a Terraform that keeps no identity (the one on PATH, 1.11) goes on with
// one that does: its refresh fills the identity in and plans nothing for a service that
// runs, and plans to create one removed outside Terraform meanwhile (a Read that removes a
// resource whose state has no identity yet must still return one, or the framework fails
// the refresh: "Missing Resource Identity After Read").
func TestAccIdentity_stateFromOlderTerraform(t *testing.T) {
	modern := acctest.ModernTerraform(t)
	kept, gone := acctest.Name("ident-kept"), acctest.Name("ident-gone")
	img := acctest.Env(t, "TEST_IMAGE")
	cli := acctest.Docker(t)
	tf := acctest.NewTerraform(t, "provider \"swarm\" {}\n"+
		fmt.Sprintf("resource \"swarm_service\" \"kept\" {\n  name  = %q\n  image = %q\n}\n", kept, img)+
		fmt.Sprintf("resource \"swarm_service\" \"gone\" {\n  name  = %q\n  image = %q\n}\n", gone, img))
	tf.UseBinary("terraform")
	ctx := context.Background()
	if out, err := tf.Run(ctx, "apply", "-auto-approve", "-input=false", "-no-color"); err != nil {
		t.Fatalf("apply with the Terraform on PATH: %v\n%s", err, out)
	}
	if err := cli.ServiceRemove(ctx, gone); err != nil {
		t.Fatal(err)
	}
	tf.UseBinary(modern)
	out, err := tf.Run(ctx, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	if code := exitCode(err); code != 2 || !strings.Contains(out, "swarm_service.gone will be created") || !strings.Contains(out, "1 to add, 0 to change, 0 to destroy") {
		t.Fatalf("the plan with Terraform 1.12+ exits %d (%v), want 2 and only the removed service created:\n%s", code, err, out)
	}
	if out, err := tf.Run(ctx, "apply", "-auto-approve", "-input=false", "-no-color"); err != nil {
		t.Fatalf("apply with Terraform 1.12+: %v\n%s", err, out)
	}
	if out, err := tf.Run(ctx, "plan", "-input=false", "-no-color", "-detailed-exitcode"); err != nil {
		t.Fatalf("the plan after the apply is not empty: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(tf.Dir, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	var state struct {
		Resources []struct {
			Name      string `json:"name"`
			Instances []struct {
				Attributes map[string]any `json:"attributes"`
				Identity   map[string]any `json:"identity"`
			} `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(raw, &state); err != nil {
		t.Fatal(err)
	}
	for _, r := range state.Resources {
		for _, i := range r.Instances {
			if i.Identity["id"] != i.Attributes["id"] || i.Identity["name"] != i.Attributes["name"] {
				t.Errorf("swarm_service.%s has identity %v, want its id %v and name %v", r.Name, i.Identity, i.Attributes["id"], i.Attributes["name"])
			}
		}
	}
}

// exitCode is a command's exit status: 0 when it succeeded, -1 when it did not run.
func exitCode(err error) int {
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	return -1
}
