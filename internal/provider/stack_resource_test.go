package provider

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

const stackAddr = "swarm_stack.app"

// stackConfig is a swarm_stack of the compose file in dir, with the test images as variables.
func stackConfig(name, dir string, extra string) string {
	return fmt.Sprintf(`
resource "swarm_stack" "app" {
  name          = %q
  compose_files = [%q]
  environment = {
    IMAGE    = %q
    IMAGE_V2 = %q
  }
%s
}
`, name, filepath.Join(dir, "docker-compose.yml"), os.Getenv("TEST_IMAGE"), os.Getenv("TEST_IMAGE_V2"), extra)
}

// stackCompose is a small stack: web (published on port in host mode, healthchecked, with a config), api
// (with a secret from a file, an env_file, on front and on the internal network), and worker when withWorker.
func stackCompose(port int, apiImage string, withWorker bool) string {
	worker := ""
	if withWorker {
		worker = `
  worker:
    image: ${IMAGE}
    environment: {VERSION: worker-v1}
    networks: [back]
`
	}
	return fmt.Sprintf(`
services:
  web:
    image: ${IMAGE}
    environment: {VERSION: web-v1}
    ports:
      - {target: 8080, published: %d, mode: host}
    networks: [front]
    configs:
      - source: web_conf
        target: /etc/web/web.conf
    healthcheck:
      test: ["CMD", "/app", "health"]
      interval: 1s
      timeout: 2s
      retries: 3
    deploy:
      update_config: {monitor: 2s} # stop-first: the old task frees the host port
  api:
    image: %s
    env_file: ./api.env
    networks: [front, back]
    secrets: [db_password]
    healthcheck:
      test: ["CMD", "/app", "health"]
      interval: 1s
    deploy:
      replicas: 1
      endpoint_mode: dnsrr # this machine's kernel has no IPVS: service VIPs do not route
      resources: {limits: {memory: 64M}}
      update_config: {order: start-first, monitor: 2s, failure_action: rollback}
%s
networks:
  front: {}
  back: {internal: true}
secrets:
  db_password:
    file: ./db_password.txt
configs:
  web_conf:
    file: ./web.conf
`, port, apiImage, worker)
}

// stackCLI runs the docker CLI against the test engine, in dir, with the test images as
// IMAGE and IMAGE_V2, and answers its output.
func stackCLI(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("docker", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+acctest.DockerHost(), "IMAGE="+os.Getenv("TEST_IMAGE"), "IMAGE_V2="+os.Getenv("TEST_IMAGE_V2"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// A stack deployed by swarm_stack, then changed the ways a team changes one: the CLI's stack
// commands work on it; one service's image changes and only its tasks restart, the apply
// waiting for them; a secret file changes and rotates with no failed request through the
// stack, the old version collected; a service removed from the file is pruned; a change made
// with the Docker CLI is planned back; destroy removes everything the stack made and nothing
// else. After every apply the plan is empty.
func TestAccStackResource_lifecycle(t *testing.T) {
	acctest.Parallel(t)
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("the docker CLI is not on PATH")
	}
	cli := acctest.Docker(t)
	stack := acctest.Name("stk")
	port := acctest.FreePort(t)
	dir := t.TempDir()
	image, imageV2 := "${IMAGE}", "${IMAGE_V2}"
	write := func(apiImage, password string, worker bool) {
		acctest.WriteFile(t, dir, "docker-compose.yml", stackCompose(port, apiImage, worker))
		acctest.WriteFile(t, dir, "api.env", "VERSION=api-v1\n")
		acctest.WriteFile(t, dir, "db_password.txt", password)
		acctest.WriteFile(t, dir, "web.conf", "upstream = http://api:8080\n")
	}
	write(image, "first-password", true)
	// An object of another stack's kind that is not the stack's: destroy leaves it.
	other := acctest.Name("stkother")
	if _, err := cli.ConfigCreate(context.Background(), swarm.ConfigSpec{Annotations: swarm.Annotations{Name: other}, Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.ConfigRemove(context.Background(), other) })
	config := stackConfig(stack, dir, "")
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	var webTasks, apiTasks []string
	var traffic *load
	version := func(key string) tfjsonpath.Path {
		return tfjsonpath.New("services").AtMapKey(key).AtMapKey("version")
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if left := acctest.StackObjects(t, cli, stack); len(left) > 0 {
				return fmt.Errorf("destroy left %s", strings.Join(left, ", "))
			}
			if _, _, err := cli.ConfigInspectWithRaw(context.Background(), other); err != nil {
				return fmt.Errorf("destroy removed a config that was not the stack's: %v", err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(stackAddr, tfjsonpath.New("services").AtMapKey("api").AtMapKey("name"), knownvalue.StringExact(stack+"_api")),
					statecheck.ExpectKnownValue(stackAddr, tfjsonpath.New("services").AtMapKey("api").AtMapKey("replicas"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(stackAddr, tfjsonpath.New("services").AtMapKey("web").AtMapKey("image"), knownvalue.StringExact(os.Getenv("TEST_IMAGE"))),
					statecheck.ExpectKnownValue(stackAddr, tfjsonpath.New("files"), knownvalue.MapSizeExact(4)),
				},
				Check: func(*terraform.State) error {
					if got := get(t, base+"/fetch?url=http://api:8080/"); !strings.Contains(got, "api-v1") {
						return fmt.Errorf("web → api answered %q", got)
					}
					listed := stackCLI(t, dir, "stack", "services", "--format", "{{.Name}}", stack)
					for _, key := range []string{"web", "api", "worker"} {
						if !strings.Contains(listed, stack+"_"+key+"\n") {
							return fmt.Errorf("docker stack services does not list %s_%s:\n%s", stack, key, listed)
						}
					}
					if ls := stackCLI(t, dir, "stack", "ls", "--format", "{{.Name}} {{.Services}}"); !strings.Contains(ls, stack+" 3\n") {
						return fmt.Errorf("docker stack ls does not list %s with 3 services:\n%s", stack, ls)
					}
					if ps := stackCLI(t, dir, "stack", "ps", "--filter", "desired-state=running", "--format", "{{.Name}} {{.CurrentState}}", stack); strings.Count(ps, "Running") != 3 {
						return fmt.Errorf("docker stack ps does not show 3 running tasks:\n%s", ps)
					}
					webTasks, apiTasks = acctest.RunningTaskIDs(t, cli, stack+"_web"), acctest.RunningTaskIDs(t, cli, stack+"_api")
					return nil
				},
			},
			{
				// api's image changes: only api restarts, and the apply waits for it.
				PreConfig: func() { write(imageV2, "first-password", true) },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(stackAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue(stackAddr, version("api")),
					plancheck.ExpectKnownValue(stackAddr, tfjsonpath.New("services").AtMapKey("api").AtMapKey("image"), knownvalue.StringExact(os.Getenv("TEST_IMAGE_V2"))),
					plancheck.ExpectKnownValue(stackAddr, version("web"), knownvalue.NotNull()),
					plancheck.ExpectKnownValue(stackAddr, version("worker"), knownvalue.NotNull()),
				}},
				Check: func(*terraform.State) error {
					if got := acctest.RunningTaskIDs(t, cli, stack+"_web"); !slices.Equal(got, webTasks) {
						return fmt.Errorf("web's tasks restarted: %v, were %v", got, webTasks)
					}
					got := acctest.RunningTaskIDs(t, cli, stack+"_api")
					if len(got) != 1 || slices.Contains(apiTasks, got[0]) {
						return fmt.Errorf("api's tasks are %v, were %v: want one new task, running when the apply ended", got, apiTasks)
					}
					svc := acctest.InspectService(t, cli, stack+"_api")
					if svc.UpdateStatus == nil || svc.UpdateStatus.State != swarm.UpdateStateCompleted {
						return fmt.Errorf("api's rollout is %+v when the apply ended, want completed", svc.UpdateStatus)
					}
					return nil
				},
			},
			{
				// The secret file changes under a client sending requests through web to api.
				PreConfig: func() {
					write(imageV2, "second-password", true)
					traffic = startLoad(base + "/fetch?url=http://api:8080/")
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue(stackAddr, version("api")),
					plancheck.ExpectKnownValue(stackAddr, version("web"), knownvalue.NotNull()),
				}},
				Check: func(*terraform.State) error {
					ok, failed := traffic.stop()
					t.Logf("under rotation: %d requests answered, %d failed", ok, failed)
					if ok == 0 || failed > 0 {
						return fmt.Errorf("during the rotation %d requests were answered and %d failed", ok, failed)
					}
					for _, v := range acctest.ReadTaskFile(t, cli, stack+"_api", "/run/secrets/db_password") {
						if v != "second-password" {
							return fmt.Errorf("an api task reads a password of %d bytes, not the new one", len(v))
						}
					}
					var secrets []string
					for _, o := range acctest.StackObjects(t, cli, stack) {
						if strings.HasPrefix(o, "secret ") {
							secrets = append(secrets, o)
						}
					}
					if len(secrets) != 1 {
						return fmt.Errorf("after the rotation the stack has secrets %v, want one", secrets)
					}
					return nil
				},
			},
			{
				// worker leaves the file: it is pruned.
				PreConfig: func() { write(imageV2, "second-password", false) },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue(stackAddr, tfjsonpath.New("services"), knownvalue.MapSizeExact(2)),
					plancheck.ExpectKnownValue(stackAddr, version("api"), knownvalue.NotNull()),
				}},
				Check: func(*terraform.State) error {
					if _, _, err := cli.ServiceInspectWithRaw(context.Background(), stack+"_worker", swarm.ServiceInspectOptions{}); err == nil {
						return fmt.Errorf("worker was not pruned")
					}
					return nil
				},
			},
			{
				// Drift made with the Docker CLI shows as a change of that service, and the
				// apply puts the file's spec back.
				PreConfig: func() {
					stackCLI(t, dir, "service", "update", "--detach=true", "--env-add", "DRIFT=1", stack+"_api")
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue(stackAddr, version("api")),
					plancheck.ExpectKnownValue(stackAddr, version("web"), knownvalue.NotNull()),
				}},
				Check: func(*terraform.State) error {
					if env := acctest.InspectService(t, cli, stack+"_api").Spec.TaskTemplate.ContainerSpec.Env; slices.Contains(env, "DRIFT=1") {
						return fmt.Errorf("api keeps the drift: env %v", env)
					}
					return nil
				},
			},
		},
	})
}

// A stack deployed with `docker stack deploy` is imported by its name with its files and
// variables (the JSON form of the import ID). The first plan with the same configuration is
// empty, and its apply restarts no task and keeps the CLI's secret and config. Imported by its
// name alone, it reads the same but for the files, which the first apply records. A changed secret file then rotates from the
// CLI's fixed name to a versioned secret, and the CLI's is removed.
func TestAccStackResource_adoptCLIStack(t *testing.T) {
	acctest.Parallel(t)
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("the docker CLI is not on PATH")
	}
	cli := acctest.Docker(t)
	stack := acctest.Name("stkadopt")
	dir := t.TempDir()
	port := acctest.FreePort(t)
	write := func(password string) {
		acctest.WriteFile(t, dir, "docker-compose.yml", stackCompose(port, "${IMAGE}", false))
		acctest.WriteFile(t, dir, "api.env", "VERSION=api-v1\n")
		acctest.WriteFile(t, dir, "db_password.txt", password)
		acctest.WriteFile(t, dir, "web.conf", "upstream = http://api:8080\n")
	}
	write("cli-password")
	stackCLI(t, dir, "stack", "deploy", "--detach=false", "-c", "docker-compose.yml", stack)
	t.Cleanup(func() {
		if len(acctest.StackObjects(t, cli, stack)) > 0 {
			stackCLI(t, dir, "stack", "rm", "--detach=false", stack)
		}
	})
	tasks := map[string][]string{}
	for _, key := range []string{"web", "api"} {
		tasks[key] = acctest.RunningTaskIDs(t, cli, stack+"_"+key)
	}
	before := acctest.StackObjects(t, cli, stack)
	config := stackConfig(stack, dir, "")
	importID := fmt.Sprintf(`{"name":%q,"compose_files":[%q],"environment":{"IMAGE":%q,"IMAGE_V2":%q}}`,
		stack, filepath.Join(dir, "docker-compose.yml"), os.Getenv("TEST_IMAGE"), os.Getenv("TEST_IMAGE_V2"))
	version := func(key string) tfjsonpath.Path {
		return tfjsonpath.New("services").AtMapKey(key).AtMapKey("version")
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if left := acctest.StackObjects(t, cli, stack); len(left) > 0 {
				return fmt.Errorf("destroy left %s", strings.Join(left, ", "))
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config:             config,
				ResourceName:       stackAddr,
				ImportState:        true,
				ImportStateId:      importID,
				ImportStatePersist: true,
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
				Check: func(*terraform.State) error {
					for key, was := range tasks {
						if got := acctest.RunningTaskIDs(t, cli, stack+"_"+key); !slices.Equal(got, was) {
							return fmt.Errorf("%s's tasks are %v, were %v before the adoption", key, got, was)
						}
					}
					if got := acctest.StackObjects(t, cli, stack); !slices.Equal(got, before) {
						return fmt.Errorf("the stack's objects are %v, were %v before the adoption", got, before)
					}
					return nil
				},
			},
			{
				// By its name alone: everything but what only the files say.
				Config:                  config,
				ResourceName:            stackAddr,
				ImportState:             true,
				ImportStateId:           stack,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"compose_files", "environment", "files"},
			},
			{
				PreConfig: func() { write("terraform-password") },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue(stackAddr, version("api")),
					plancheck.ExpectKnownValue(stackAddr, version("web"), knownvalue.NotNull()),
				}},
				Check: func(*terraform.State) error {
					for _, v := range acctest.ReadTaskFile(t, cli, stack+"_api", "/run/secrets/db_password") {
						if v != "terraform-password" {
							return fmt.Errorf("an api task reads a password of %d bytes, not the new one", len(v))
						}
					}
					var secrets []string
					for _, o := range acctest.StackObjects(t, cli, stack) {
						if strings.HasPrefix(o, "secret ") {
							secrets = append(secrets, o)
						}
					}
					if len(secrets) != 1 || secrets[0] == "secret "+stack+"_db_password" {
						return fmt.Errorf("after the rotation the stack has secrets %v, want one new version", secrets)
					}
					return nil
				},
			},
		},
	})
}

// Bad compose files fail at plan time, at compose_files, with the compose path of the value
// and what is allowed; the service rules are swarm_service's, reported at compose paths. These
// run without a swarm.
func TestStackValidation(t *testing.T) {
	acctest.Parallel(t)
	tests := []struct {
		name, compose string
		want          string
	}{
		{"memory reservation above the limit", `
services:
  api:
    image: app:v1
    deploy:
      resources:
        limits: {memory: 64M}
        reservations: {memory: 128M}
`, `(?s)Reservation Above Limit.*compose_files.*services\.api\.deploy\.resources\.reservations\.memory: the memory reservation \(128MiB\) is above the memory limit \(64MiB\)`},
		{"the same published port twice", `
services:
  web:
    image: app:v1
    ports: ["8080:80", "8080:81"]
`, `(?s)Duplicate Published Port.*services\.web\.ports\[1\]`},
		{"unknown deploy mode", `
services:
  web:
    image: app:v1
    deploy: {mode: daemonset}
`, `(?s)services\.web\.deploy\.mode`},
		{"no image", `
services:
  web:
    command: ["x"]
`, `(?s)Missing Image.*services\.web\.image: a service of a stack needs an image`},
		{"a secret file that does not exist", `
services:
  web:
    image: app:v1
    secrets: [pw]
secrets:
  pw: {file: ./missing.txt}
`, `(?s)secrets\.pw`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			acctest.WriteFile(t, dir, "docker-compose.yml", tc.compose)
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      stackConfig("valid", dir, ""),
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(strings.ReplaceAll(tc.want, " ", `\s+`)),
				}},
			})
		})
	}
}

// A failing version of one service (an env_file line that makes it exit at start) fails the
// apply with its exit code and log tail; Swarm rolls it back, as the file's
// update_config.failure_action says; the other service is not touched. State tells the truth:
// the next plan shows the change again, and with the file put back it is empty.
func TestAccStackResource_failedRollout(t *testing.T) {
	acctest.Parallel(t)
	cli := acctest.Docker(t)
	stack := acctest.Name("stkfail")
	dir := t.TempDir()
	port := acctest.FreePort(t)
	write := func(env string) {
		acctest.WriteFile(t, dir, "docker-compose.yml", stackCompose(port, "${IMAGE}", false))
		acctest.WriteFile(t, dir, "api.env", env)
		acctest.WriteFile(t, dir, "db_password.txt", "password")
		acctest.WriteFile(t, dir, "web.conf", "upstream = http://api:8080\n")
	}
	write("VERSION=api-v1\n")
	config := stackConfig(stack, dir, "")
	var webTasks []string
	var rolledBack *time.Time
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(*terraform.State) error {
					webTasks = acctest.RunningTaskIDs(t, cli, stack+"_web")
					return nil
				},
			},
			{
				PreConfig:   func() { write("VERSION=api-v2\nFAIL_ON_START=1\n") },
				Config:      config,
				ExpectError: regexp.MustCompile(`(?s)Stack\s+Service\s+Did\s+Not\s+Converge.*services\.api.*rolled\s+the\s+service\s+back.*exit\s+code\s+3.*FAIL_ON_START\s+is\s+set`),
			},
			{
				Config:             config,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
				PreConfig: func() {
					if got := acctest.RunningTaskIDs(t, cli, stack+"_web"); !slices.Equal(got, webTasks) {
						t.Fatalf("web's tasks are %v, were %v: the failed apply touched web", got, webTasks)
					}
					svc := acctest.InspectService(t, cli, stack+"_api")
					if svc.UpdateStatus == nil || svc.UpdateStatus.State != swarm.UpdateStateRollbackCompleted {
						t.Fatalf("api's rollout is %+v, want rolled back", svc.UpdateStatus)
					}
					rolledBack = svc.UpdateStatus.StartedAt
				},
			},
			{
				PreConfig: func() { write("VERSION=api-v1\n") },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
				Check: func(*terraform.State) error {
					// A write would start another update (Swarm bumps the version on its own).
					if u := acctest.InspectService(t, cli, stack+"_api").UpdateStatus; u == nil || u.StartedAt == nil || rolledBack == nil || !u.StartedAt.Equal(*rolledBack) {
						return fmt.Errorf("api was written (its last update %+v), though it runs what the file says", u)
					}
					return nil
				},
			},
		},
	})
}

// A swarm_scaling_policy targets a stack's service by services["api"].id and owns its replica
// count: a redeploy that rolls api onto a new spec keeps the policy's count (the file says 1),
// and the plans stay empty (docker/cli#2235).
func TestAccStackResource_policyOwnedReplicas(t *testing.T) {
	acctest.Parallel(t)
	cli := acctest.Docker(t)
	stack := acctest.Name("stkpol")
	dir := t.TempDir()
	port := acctest.FreePort(t)
	write := func(version string) {
		acctest.WriteFile(t, dir, "docker-compose.yml", stackCompose(port, "${IMAGE}", false))
		acctest.WriteFile(t, dir, "api.env", "VERSION="+version+"\n")
		acctest.WriteFile(t, dir, "db_password.txt", "password")
		acctest.WriteFile(t, dir, "web.conf", "upstream = http://api:8080\n")
	}
	write("api-v1")
	config := stackConfig(stack, dir, "") + `
resource "swarm_scaling_policy" "api" {
  service_id   = swarm_stack.app.services["api"].id
  min_replicas = 2
  max_replicas = 2
}
`
	liveReplicas := func(want uint64) resource.TestCheckFunc {
		return func(*terraform.State) error {
			svc := acctest.InspectService(t, cli, stack+"_api")
			if got := *svc.Spec.Mode.Replicated.Replicas; got != want {
				return fmt.Errorf("api runs %d replicas, want %d", got, want)
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config, Check: liveReplicas(2)},
			{
				PreConfig: func() { write("api-v2") },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue(stackAddr, tfjsonpath.New("services").AtMapKey("api").AtMapKey("version")),
					plancheck.ExpectKnownValue(stackAddr, tfjsonpath.New("services").AtMapKey("api").AtMapKey("replicas"), knownvalue.Int64Exact(2)),
				}},
				Check: resource.ComposeTestCheckFunc(liveReplicas(2), func(*terraform.State) error {
					for _, v := range acctest.ReadTaskFile(t, cli, stack+"_api", "/proc/self/environ") {
						if !strings.Contains(v, "VERSION=api-v2") {
							return fmt.Errorf("an api task does not run the new spec")
						}
					}
					return nil
				}),
			},
		},
	})
}

// The runnable example examples/stacks/compose, applied as a user would: requests cross
// web → api → store; the plan after apply is empty. A changed env file then plans a rolling
// update of api that the plan names, a compose key Swarm ignores is listed in a warning, and
// after the apply the plan is empty again. The secret file's content is in no output and not
// in state.
func TestAccStack_composeExample(t *testing.T) {
	acctest.Parallel(t)
	ctx := context.Background()
	tf := acctest.NewTerraformFrom(t, "examples/stacks/compose")
	for _, f := range []string{"docker-compose.yml", "api.env", "db_password.txt", "web.conf"} {
		b, err := os.ReadFile(filepath.Join(acctest.RepoRoot(t), "examples/stacks/compose", f))
		if err != nil {
			t.Fatal(err)
		}
		acctest.WriteFile(t, tf.Dir, f, string(b))
	}
	port := acctest.FreePort(t)
	tf.SetEnv("TF_VAR_name", acctest.Name("stkex"))
	tf.SetEnv("TF_VAR_image", os.Getenv("TEST_IMAGE"))
	tf.SetEnv("TF_VAR_web_port", fmt.Sprint(port))
	run := func(args ...string) string {
		t.Helper()
		out, err := tf.Run(ctx, append(args, "-input=false", "-no-color")...)
		if err != nil {
			t.Fatalf("terraform %s: %v\n%s", args[0], err, out)
		}
		return out
	}
	run("apply", "-auto-approve")
	if got := get(t, fmt.Sprintf("http://127.0.0.1:%d/fetch?url=http://api:8080/fetch%%3Furl%%3Dhttp://store:8080/", port)); !strings.Contains(got, "version=store-v1") {
		t.Fatalf("web → api → store answered %q", got)
	}
	run("plan", "-detailed-exitcode")

	acctest.WriteFile(t, tf.Dir, "api.env", "VERSION=api-v2\nSTORE_URL=http://store:8080/\n")
	compose, err := os.ReadFile(filepath.Join(tf.Dir, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	acctest.WriteFile(t, tf.Dir, "docker-compose.yml", strings.Replace(string(compose), "  store:\n", "  store:\n    container_name: store\n", 1))
	out, err := tf.Run(ctx, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	if err == nil {
		t.Fatalf("the plan after changing api.env is empty:\n%s", out)
	}
	for _, want := range []string{"Rolling Update Planned", "services.api", "services.store.container_name", "version  = ", "(known after apply)"} {
		if !strings.Contains(out, want) {
			t.Errorf("the plan does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "services.web (") || strings.Contains(out, "services.store (") {
		t.Errorf("the plan says a service other than api restarts:\n%s", out)
	}
	out = run("apply", "-auto-approve")
	run("plan", "-detailed-exitcode")

	// The secret file's content reaches no output and no state: only its keyed hash.
	secret, err := os.ReadFile(filepath.Join(tf.Dir, "db_password.txt"))
	if err != nil {
		t.Fatal(err)
	}
	state, err := os.ReadFile(filepath.Join(tf.Dir, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	word := strings.TrimSpace(string(secret))
	if strings.Contains(out, word) || strings.Contains(string(state), word) {
		t.Fatalf("the secret file's content shows in the apply output or in state")
	}
}

// Creating a stack whose name runs services already (deployed with the CLI) is refused at plan
// time, with the import that takes it into state; nothing is written.
func TestAccStackResource_existingStackRefused(t *testing.T) {
	acctest.Parallel(t)
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("the docker CLI is not on PATH")
	}
	cli := acctest.Docker(t)
	stack := acctest.Name("stkexists")
	dir := t.TempDir()
	acctest.WriteFile(t, dir, "docker-compose.yml", "services:\n  web:\n    image: ${IMAGE}\n    deploy: {replicas: 0}\n")
	stackCLI(t, dir, "stack", "deploy", "--detach=true", "-c", "docker-compose.yml", stack)
	t.Cleanup(func() { stackCLI(t, dir, "stack", "rm", "--detach=false", stack) })
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      stackConfig(stack, dir, ""),
			ExpectError: regexp.MustCompile(`(?s)Stack Already Exists.*` + stack + `_web.*terraform\s+import\s+swarm_stack`),
		}},
	})
	// Swarm bumps the version on its own as it allocates the service: any write would have
	// left the spec before it as the previous spec.
	if svc := acctest.InspectService(t, cli, stack+"_web"); svc.PreviousSpec != nil {
		t.Fatalf("the CLI's service was written: it has a previous spec")
	}
}

// resolve_image as the CLI's --resolve-image: "never" writes the tag as the file gives it;
// "always" asks the registry at plan time, so the service, which runs an unpinned tag, plans a
// rolling update onto the digest the tag names, and the plan after it is empty.
func TestAccStackResource_resolveImage(t *testing.T) {
	acctest.Parallel(t)
	cli := acctest.Docker(t)
	image := acctest.Env(t, "TEST_REGISTRY_IMAGE")
	registry, user, password := acctest.Env(t, "TEST_REGISTRY"), acctest.Env(t, "TEST_REGISTRY_USER"), acctest.Env(t, "TEST_REGISTRY_PASSWORD")
	stack := acctest.Name("stkresolve")
	dir := t.TempDir()
	acctest.WriteFile(t, dir, "docker-compose.yml", fmt.Sprintf("services:\n  app:\n    image: %s\n    deploy: {replicas: 0}\n", image))
	config := func(resolve string) string {
		return fmt.Sprintf(`
provider "swarm" {
  registry_auth = [{ address = %q, username = %q, password = %q }]
}
`, registry, user, password) + stackConfig(stack, dir, fmt.Sprintf("  resolve_image = %q", resolve))
	}
	runs := func(want func(string) bool, what string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			if got := acctest.InspectService(t, cli, stack+"_app").Spec.TaskTemplate.ContainerSpec.Image; !want(got) {
				return fmt.Errorf("the service runs %s, want %s", got, what)
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config("never"),
				Check:  runs(func(s string) bool { return s == image }, image+" as written"),
			},
			{
				Config: config("always"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue(stackAddr, tfjsonpath.New("services").AtMapKey("app").AtMapKey("version")),
				}},
				Check: runs(func(s string) bool { return strings.HasPrefix(s, image+"@sha256:") }, image+" pinned to its digest"),
			},
		},
	})
}

// With prune = false, a service the files no longer have keeps running and stays in the
// services map, and the plans say so; with prune = true the next apply removes it.
func TestAccStackResource_pruneFalse(t *testing.T) {
	acctest.Parallel(t)
	cli := acctest.Docker(t)
	stack := acctest.Name("stkprune")
	dir := t.TempDir()
	write := func(services ...string) {
		compose := "services:\n"
		for _, s := range services {
			compose += fmt.Sprintf("  %s:\n    image: ${IMAGE}\n    deploy: {replicas: 0}\n", s)
		}
		acctest.WriteFile(t, dir, "docker-compose.yml", compose)
	}
	write("a", "b")
	exists := func(want bool) resource.TestCheckFunc {
		return func(*terraform.State) error {
			_, _, err := cli.ServiceInspectWithRaw(context.Background(), stack+"_b", swarm.ServiceInspectOptions{})
			if got := err == nil; got != want {
				return fmt.Errorf("service b exists: %v, want %v", got, want)
			}
			return nil
		}
	}
	services := tfjsonpath.New("services")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if left := acctest.StackObjects(t, cli, stack); len(left) > 0 {
				return fmt.Errorf("destroy left %s", strings.Join(left, ", "))
			}
			return nil
		},
		Steps: []resource.TestStep{
			{Config: stackConfig(stack, dir, "  prune = false"), Check: exists(true)},
			{
				PreConfig: func() { write("a") },
				Config:    stackConfig(stack, dir, "  prune = false"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue(stackAddr, services, knownvalue.MapSizeExact(2)),
				}},
				Check: exists(true),
			},
			{
				Config: stackConfig(stack, dir, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue(stackAddr, services, knownvalue.MapSizeExact(1)),
				}},
				Check: exists(false),
			},
		},
	})
}

// The fields a compose file sets that swarm_service does not model (tty, stdin_open,
// oom_score_adj, ...) are the stack's too: a change of one plans an update of that service,
// and the apply writes it.
func TestAccStackResource_ownsWhatTheFileSets(t *testing.T) {
	acctest.Parallel(t)
	cli := acctest.Docker(t)
	stack := acctest.Name("stkown")
	dir := t.TempDir()
	write := func(tty bool) {
		acctest.WriteFile(t, dir, "docker-compose.yml", fmt.Sprintf("services:\n  a:\n    image: ${IMAGE}\n    tty: %v\n    stdin_open: %v\n    deploy: {replicas: 0}\n", tty, tty))
	}
	write(false)
	tty := func(want bool) resource.TestCheckFunc {
		return func(*terraform.State) error {
			cs := acctest.InspectService(t, cli, stack+"_a").Spec.TaskTemplate.ContainerSpec
			if cs.TTY != want || cs.OpenStdin != want {
				return fmt.Errorf("tty %v, stdin_open %v: want %v", cs.TTY, cs.OpenStdin, want)
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: stackConfig(stack, dir, ""), Check: tty(false)},
			{
				PreConfig: func() { write(true) },
				Config:    stackConfig(stack, dir, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue(stackAddr, tfjsonpath.New("services").AtMapKey("a").AtMapKey("version")),
				}},
				Check: tty(true),
			},
		},
	})
}

// An apply that runs out of time while a service rolls records the write as not confirmed:
// the next plan shows that service's version as known after apply and says why, and the next
// apply waits for it (writing nothing) until it converges; the plan after that is empty.
func TestAccStackResource_convergenceNotConfirmed(t *testing.T) {
	acctest.Parallel(t)
	cli := acctest.Docker(t)
	stack := acctest.Name("stkwait")
	dir := t.TempDir()
	write := func(version, monitor string) {
		acctest.WriteFile(t, dir, "docker-compose.yml", fmt.Sprintf(`
services:
  a:
    image: ${IMAGE}
    environment: {VERSION: %s}
    deploy:
      update_config: {monitor: %s}
`, version, monitor))
	}
	write("v1", "1s")
	var started *time.Time
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: stackConfig(stack, dir, "")},
			{
				// The new spec is watched for 30s, the apply may take 4s.
				PreConfig:   func() { write("v2", "30s") },
				Config:      stackConfig(stack, dir, `  timeouts = { update = "4s" }`),
				ExpectError: regexp.MustCompile(`(?s)Stack\s+Service\s+Did\s+Not\s+Converge.*services\.a.*stopped\s+waiting`),
			},
			{
				PreConfig: func() {
					if u := acctest.InspectService(t, cli, stack+"_a").UpdateStatus; u != nil {
						started = u.StartedAt
					}
				},
				Config: stackConfig(stack, dir, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue(stackAddr, tfjsonpath.New("services").AtMapKey("a").AtMapKey("version")),
				}},
				Check: func(*terraform.State) error {
					// Swarm bumps the version as the rollout's status changes: the update's start
					// time tells whether the apply wrote the service again.
					u := acctest.InspectService(t, cli, stack+"_a").UpdateStatus
					if u == nil || u.State != swarm.UpdateStateCompleted {
						return fmt.Errorf("the apply ended before the rollout completed: %+v", u)
					}
					if started == nil || u.StartedAt == nil || !u.StartedAt.Equal(*started) {
						return fmt.Errorf("the service was written again: its update started at %v, the cut-short one at %v", u.StartedAt, started)
					}
					return nil
				},
			},
		},
	})
}

// A stack's identity is its name: a redeploy (changed compose file, services updated in
// place) keeps it. An import block that gives it imports the stack, with the same identity;
// its plan is an update that records the files, as after any import of a stack (the
// adoption test shows that apply restarts no task).
func TestAccIdentity_stack(t *testing.T) {
	acctest.IdentityTerraform(t)
	stack, dir := acctest.Name("ident-stk"), t.TempDir()
	write := func(v string) {
		acctest.WriteFile(t, dir, "docker-compose.yml", fmt.Sprintf("services:\n  web:\n    image: ${IMAGE}\n    environment: {VERSION: %s}\n", v))
	}
	write("v1")
	config := stackConfig(stack, dir, "")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: append(acctest.IdentityIs(stackAddr, "name"),
					statecheck.ExpectIdentityValue(stackAddr, tfjsonpath.New("name"), knownvalue.StringExact(stack))),
			},
			{
				PreConfig: func() { write("v2") },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(stackAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: append(acctest.IdentityIs(stackAddr, "name"),
					statecheck.ExpectIdentityValue(stackAddr, tfjsonpath.New("name"), knownvalue.StringExact(stack))),
			},
			func() resource.TestStep {
				s := acctest.ImportByIdentity(stackAddr)
				s.ExpectNonEmptyPlan = true
				s.ImportPlanChecks.PreApply = []plancheck.PlanCheck{plancheck.ExpectResourceAction(stackAddr, plancheck.ResourceActionUpdate)}
				return s
			}(),
		},
	})
}
