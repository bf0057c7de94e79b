package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
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

const jobAddr = "swarm_job.test"

func jobConfig(name, body string) string {
	return fmt.Sprintf(`
provider "swarm" {}

resource "swarm_job" "test" {
  name = %q
%s
}
`, name, body)
}

// jobRun is what the engine says of a job's current run: its iteration, and its tasks of that
// run by state.
func jobRun(t *testing.T, cli *client.Client, name string) (iteration uint64, states map[swarm.TaskState]int) {
	t.Helper()
	svc := acctest.InspectService(t, cli, name)
	if svc.JobStatus != nil {
		iteration = svc.JobStatus.JobIteration.Index
	}
	tasks, err := cli.TaskList(context.Background(), swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", svc.ID))})
	if err != nil {
		t.Fatalf("list the tasks of job %s: %v", name, err)
	}
	states = map[swarm.TaskState]int{}
	for _, task := range tasks {
		it := uint64(0)
		if task.JobIteration != nil {
			it = task.JobIteration.Index
		}
		if it == iteration {
			states[task.Status.State]++
		}
	}
	return iteration, states
}

// A replicated job with total_completions = 3 and max_concurrent = 2 completes, and the apply
// returns when it has: state records the run as completed with its 3 completions, and the
// engine shows 3 completed tasks of the run. The plan after it is empty although the tasks
// exited; changing nothing runs nothing; changing triggers runs it again, in place; import
// plans nothing.
func TestAccJob_replicatedCompletesAndTriggersRerun(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("job")
	img := acctest.Env(t, "TEST_IMAGE")
	cli := acctest.Docker(t)
	sameID := statecheck.CompareValue(compare.ValuesSame())
	body := func(trigger string) string {
		return fmt.Sprintf(`  image             = %q
  command           = ["/app", "cat", "/proc/version"]
  total_completions = 3
  max_concurrent    = 2
  triggers          = { schema = %q }
}

data "swarm_service_status" "job" {
  name = swarm_job.test.name`, img, trigger)
	}
	var firstIteration uint64
	completed := func(iteration *uint64) resource.TestCheckFunc {
		return func(*terraform.State) error {
			it, states := jobRun(t, cli, name)
			if states[swarm.TaskStateComplete] != 3 {
				return fmt.Errorf("job %s run %d has tasks %v when the apply returned; want 3 complete", name, it, states)
			}
			*iteration = it
			return nil
		}
	}
	var secondIteration uint64
	outcome := func() []statecheck.StateCheck {
		return []statecheck.StateCheck{
			statecheck.ExpectKnownValue(jobAddr, tfjsonpath.New("status"), knownvalue.StringExact("completed")),
			statecheck.ExpectKnownValue(jobAddr, tfjsonpath.New("completions"), knownvalue.Int64Exact(3)),
			statecheck.ExpectKnownValue(jobAddr, tfjsonpath.New("last_run_started"), knownvalue.NotNull()),
			statecheck.ExpectKnownValue(jobAddr, tfjsonpath.New("last_run_ended"), knownvalue.NotNull()),
			statecheck.ExpectKnownValue(jobAddr, tfjsonpath.New("mode"), knownvalue.StringExact("replicated")),
			statecheck.ExpectKnownValue("data.swarm_service_status.job", tfjsonpath.New("mode"), knownvalue.StringExact("replicated-job")),
			statecheck.ExpectKnownValue("data.swarm_service_status.job", tfjsonpath.New("completed_tasks"), knownvalue.Int64Exact(3)),
			statecheck.ExpectKnownValue("data.swarm_service_status.job", tfjsonpath.New("failed_tasks"), knownvalue.Int64Exact(0)),
			sameID.AddStateValue(jobAddr, tfjsonpath.New("id")),
		}
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if _, _, err := cli.ServiceInspectWithRaw(context.Background(), name, swarm.ServiceInspectOptions{}); err == nil {
				return fmt.Errorf("job %s still exists after destroy", name)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config:            jobConfig(name, body("1")),
				ConfigStateChecks: outcome(),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeTestCheckFunc(completed(&firstIteration), func(*terraform.State) error {
					rj := acctest.InspectService(t, cli, name).Spec.Mode.ReplicatedJob
					if rj == nil || *rj.MaxConcurrent != 2 || *rj.TotalCompletions != 3 {
						return fmt.Errorf("job %s mode %+v; want a replicated job, 2 at a time, 3 completions", name, rj)
					}
					return nil
				}),
			},
			{
				// Nothing changed: no action, and Swarm ran the job no further time.
				Config: jobConfig(name, body("1")),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(jobAddr, plancheck.ResourceActionNoop)},
				},
				Check: func(*terraform.State) error {
					if it, _ := jobRun(t, cli, name); it != firstIteration {
						return fmt.Errorf("job %s is in run %d after an apply that changed nothing; want run %d", name, it, firstIteration)
					}
					return nil
				},
			},
			{
				// New triggers: the same job (updated in place) runs again, to completion.
				Config: jobConfig(name, body("2")),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(jobAddr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: outcome(),
				Check: resource.ComposeTestCheckFunc(completed(&secondIteration), func(*terraform.State) error {
					if secondIteration != firstIteration+1 {
						return fmt.Errorf("job %s is in run %d after the triggers changed; want run %d", name, secondIteration, firstIteration+1)
					}
					return nil
				}),
			},
			{
				ResourceName:            jobAddr,
				ImportState:             true,
				ImportStateId:           name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"triggers"},
			},
		},
	})
}

// A task that exits non-zero fails the apply at once, with the job, the task, its exit code and
// its last log line, though Swarm would retry it forever (restart_policy on-failure): the run
// never ends, so only the verdict on the failed task can end the apply (before its timeout,
// whose error would say "gave up waiting").
func TestAccJob_failingTaskFailsApply(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("jobfail")
	img := acctest.Env(t, "TEST_IMAGE")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: jobConfig(name, fmt.Sprintf(`  image          = %q
  command        = ["/app", "cat", "/migrations/0042.sql"]
  restart_policy = { condition = "on-failure", delay = "1s" }
  timeouts       = { create = "5m" }`, img)),
				ExpectError: acctest.ErrorPattern(`Job Run Failed.*job ` + name + `: 1 task\(s\) of the job failed.*- task [0-9a-z]+ \(completion slot 0 on node .*\): failed, exit code 1: .*last log lines: .*open /migrations/0042.sql: no such file or directory`),
			},
		},
	})
}

// migrationConfig is a migration job and a service that depends on it: the service's new
// version rolls out only once the migration has succeeded.
func migrationConfig(job, svc, image, migrationFile, version string) string {
	return fmt.Sprintf(`
provider "swarm" {}

resource "swarm_job" "migrate" {
  name     = %q
  image    = %q
  command  = ["/app", "cat", %q]
  triggers = { version = %q }
}

resource "swarm_service" "api" {
  name       = %q
  image      = %q
  env        = { VERSION = %q }
  depends_on = [swarm_job.migrate]
}
`, job, image, migrationFile, version, svc, image, version)
}

// A failed migration keeps the service that depends on it on its old version, and the error
// names the job's task; the next apply runs the migration again and, once it succeeds, rolls
// the service out.
func TestAccJob_failedMigrationKeepsServiceOnOldVersion(t *testing.T) {
	acctest.Parallel(t)
	job, svc := acctest.Name("migrate"), acctest.Name("api")
	img := acctest.Env(t, "TEST_IMAGE")
	cli := acctest.Docker(t)
	serviceVersion := func(want string) func() error {
		return func() error {
			env := acctest.InspectService(t, cli, svc).Spec.TaskTemplate.ContainerSpec.Env
			if !containsString(env, "VERSION="+want) {
				return fmt.Errorf("service %s has env %v; want VERSION=%s", svc, env, want)
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: migrationConfig(job, svc, img, "/proc/version", "v1"),
				Check:  func(*terraform.State) error { return serviceVersion("v1")() },
			},
			{
				// The v2 migration fails: the apply fails naming the job's task, and the
				// service is not touched.
				Config:      migrationConfig(job, svc, img, "/migrations/v2.sql", "v2"),
				ExpectError: acctest.ErrorPattern(`Job Run Failed.*job ` + job + `: 1 task\(s\) of the job failed.*- task [0-9a-z]+ .*exit code 1.*open /migrations/v2.sql`),
			},
			{
				PreConfig: func() {
					if err := serviceVersion("v1")(); err != nil {
						t.Fatalf("after the failed migration: %v", err)
					}
				},
				// The next plan runs the failed migration again (and still plans the service's
				// rollout); with the migration fixed, both apply.
				Config: migrationConfig(job, svc, img, "/proc/version", "v2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("swarm_job.migrate", plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction("swarm_service.api", plancheck.ResourceActionUpdate),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("swarm_job.migrate", tfjsonpath.New("status"), knownvalue.StringExact("completed")),
				},
				Check: func(*terraform.State) error { return serviceVersion("v2")() },
			},
		},
	})
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// Bad input to a job fails at plan time with the attribute path, without a swarm: the job's own
// attributes, and the task attributes it shares with swarm_service, checked the same way.
func TestJobValidation(t *testing.T) {
	acctest.Parallel(t)
	tests := []struct {
		name string
		body string
		want string
	}{
		{"completions with global mode", `image = "app:v1"
  mode = "global"
  total_completions = 2`, `Completions Not Allowed In Global Mode.*with swarm_job\.test.*total_completions`},
		{"max_concurrent with global mode", `image = "app:v1"
  mode = "global"
  max_concurrent = 2`, `Completions Not Allowed In Global Mode.*max_concurrent`},
		{"zero completions", `image = "app:v1"
  total_completions = 0`, `Attribute total_completions value must be between 1 and`},
		{"unknown mode", `image = "app:v1"
  mode = "replicated-job"`, `Attribute mode value must be one of`},
		{"bad progress deadline", `image = "app:v1"
  progress_deadline = "soon"`, `Invalid Duration.*progress_deadline`},
		{"a shared attribute: bind mount without source", `image = "app:v1"
  mounts = [{ type = "bind", target = "/data" }]`, `Missing Bind Source.*mounts\[0\]\.source`},
		{"a shared attribute: option of another mount type", `image = "app:v1"
  mounts = [{ type = "tmpfs", target = "/data", driver = "local" }]`, `Option Of Another Mount Type.*mounts\[0\]\.driver`},
		{"a shared attribute: unknown restart condition", `image = "app:v1"
  restart_policy = { condition = "sometimes" }`, `restart_policy\.condition.*value must be one of`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      jobConfig("valid-name", "  "+tc.body),
					PlanOnly:    true,
					ExpectError: acctest.ErrorPattern(tc.want),
				}},
			})
		})
	}
}

// A job whose tasks cannot be scheduled fails: within progress_deadline where a node may yet
// take them (a node label the constraint asks for), and at once where no node ever can (a log
// driver no node has), naming the pending task.
func TestAccJob_unschedulableFails(t *testing.T) {
	acctest.Parallel(t)
	img := acctest.Env(t, "TEST_IMAGE")
	for _, tc := range []struct {
		name, body, want string
	}{
		{"deadline", `  placement         = { constraints = ["node.labels.tfacc-nowhere==yes"] }
  progress_deadline = "3s"`, `Job Run Failed.*no progress: no task of the job started for 3s \(progress_deadline\) while 1 wait\(s\) to start.*- task [0-9a-z]+ \(completion slot 0 on node \(not scheduled\)\): pending`},
		{"never", `  log_driver = { name = "tfacc-no-such-driver" }`, `Job Run Failed.*no node of the swarm can ever run the job's tasks: the log driver "tfacc-no-such-driver" is not installed`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				PreCheck:                 func() { testAccPreCheck(t) },
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      jobConfig(acctest.Name("jobnonode"), fmt.Sprintf("  image = %q\n  command = [\"/app\", \"cat\", \"/proc/version\"]\n%s", img, tc.body)),
					ExpectError: acctest.ErrorPattern(tc.want),
				}},
			})
		})
	}
}

// A run that failed plans a run again, with nothing changed in the configuration: the job's
// task reads a file of the host. It is there for the first run; gone for the run that new
// triggers start (the update fails); back for the next apply, whose plan, with the same
// configuration, updates the job (the run again), which completes; the plan after it is empty.
func TestAccJob_failedRunRunsAgain(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("jobretry")
	img := acctest.Env(t, "TEST_IMAGE")
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	config := func(trigger string) string {
		return jobConfig(name, fmt.Sprintf(`  image    = %q
  command  = ["/app", "cat", "/input/ready"]
  mounts   = [{ type = "bind", source = %q, target = "/input", read_only = true }]
  triggers = { run = %q }`, img, dir, trigger))
	}
	completed := statecheck.ExpectKnownValue(jobAddr, tfjsonpath.New("status"), knownvalue.StringExact("completed"))
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig:         func() { writeFile(t, ready) },
				Config:            config("1"),
				ConfigStateChecks: []statecheck.StateCheck{completed},
			},
			{
				PreConfig:   func() { removeFile(t, ready) },
				Config:      config("2"),
				ExpectError: acctest.ErrorPattern(`Job Run Failed.*State records the run as failed.*open /input/ready: no such file or directory`),
			},
			{
				PreConfig: func() { writeFile(t, ready) },
				Config:    config("2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(jobAddr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{completed},
			},
		},
	})
}

func writeFile(t *testing.T, p string) {
	t.Helper()
	if err := os.WriteFile(p, []byte("ok\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func removeFile(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

// A job made with the Docker CLI (`docker service create --mode replicated-job`) is adopted by
// an import block with an empty plan and no run (Swarm's run stays the one the CLI started),
// and its outcome read from the swarm; a service that is not a job is refused, saying what to
// use instead.
func TestAccJob_adoptFromDockerCLI(t *testing.T) {
	acctest.Parallel(t)
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker CLI on PATH")
	}
	job, svc := acctest.Name("clijob"), acctest.Name("clisvc")
	img := acctest.Env(t, "TEST_IMAGE")
	cli := acctest.Docker(t)
	acctest.RemoveServiceAtCleanup(t, cli, job)
	acctest.RemoveServiceAtCleanup(t, cli, svc)
	dockerCLI(t, "", "service", "create", "--quiet", "--no-resolve-image", "--name", job, "--mode", "replicated-job", "--replicas", "2",
		"--restart-condition", "none", "--endpoint-mode", "dnsrr", "--entrypoint", "/app", img, "cat", "/proc/version")
	dockerCLI(t, "", "service", "create", "--detach", "--no-resolve-image", "--name", svc, img)
	var iteration uint64
	config := func(triggers string) string {
		return jobConfig(job, fmt.Sprintf(`  image             = %q
  command           = ["/app"]
  args              = ["cat", "/proc/version"]
  total_completions = 2
  max_concurrent    = 2
  restart_policy    = { condition = "none" }
  triggers          = %s`, img, triggers))
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig: func() { iteration, _ = jobRun(t, cli, job) },
				SkipFunc:  acctest.NeedsTerraform(t, "1.5.0", "import blocks"),
				Config:    acctest.ImportBlock(jobAddr, job) + config("null"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(jobAddr, plancheck.ResourceActionNoop)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(jobAddr, tfjsonpath.New("status"), knownvalue.StringExact("completed")),
					statecheck.ExpectKnownValue(jobAddr, tfjsonpath.New("completions"), knownvalue.Int64Exact(2)),
				},
				Check: func(*terraform.State) error {
					if it, _ := jobRun(t, cli, job); it != iteration {
						return fmt.Errorf("job %s is in run %d after its import; want run %d, the CLI's", job, it, iteration)
					}
					return nil
				},
			},
			{
				// Run it from Terraform: the settings the CLI gave it that swarm_job does not
				// model (its endpoint mode) stay as they are.
				Config: config(`{ run = "2" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(jobAddr, plancheck.ResourceActionUpdate)},
				},
				Check: func(*terraform.State) error {
					if it, states := jobRun(t, cli, job); it != iteration+1 || states[swarm.TaskStateComplete] != 2 {
						return fmt.Errorf("job %s is in run %d with tasks %v; want run %d with 2 complete", job, it, states, iteration+1)
					}
					if ep := acctest.InspectService(t, cli, job).Spec.EndpointSpec; ep == nil || ep.Mode != swarm.ResolutionModeDNSRR {
						return fmt.Errorf("job %s has endpoint %+v after the write; want the CLI's endpoint mode dnsrr kept", job, ep)
					}
					return nil
				},
			},
			{
				SkipFunc: acctest.NeedsTerraform(t, "1.5.0", "import blocks"),
				Config: acctest.ImportBlock("swarm_job.svc", svc) + fmt.Sprintf(`
resource "swarm_job" "svc" {
  name  = %q
  image = %q
}
`, svc, img),
				ExpectError: acctest.ErrorPattern(`Not a Job.*` + acctest.ErrorWords(`runs in mode "replicated": its tasks keep running`).String() + `.*swarm_service`),
			},
		},
	})
}

// pipeJob is a job whose one task reads a named pipe in dir on the host, and so completes only
// once the test writes to the pipe and closes it (endRun): a run that ends when the test says.
func pipeJob(name, dir string) string {
	return fmt.Sprintf(`provider "swarm" {}

resource "swarm_job" "test" {
  name    = %q
  image   = %q
  command = ["/app", "cat", "/input/pipe"]
  mounts  = [{ type = "bind", source = %q, target = "/input", read_only = true }]
}
`, name, os.Getenv("TEST_IMAGE"), dir)
}

func endRun(t *testing.T, pipe string) {
	t.Helper()
	f, err := os.OpenFile(pipe, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	finishPipe(t, f)
}

// tryEndRun is endRun where no task may read the pipe (any more): it says whether one did.
func tryEndRun(t *testing.T, pipe string) bool {
	t.Helper()
	f, err := os.OpenFile(pipe, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ENXIO) {
		return false // no reader
	}
	if err != nil {
		t.Fatal(err)
	}
	finishPipe(t, f)
	return true
}

func finishPipe(t *testing.T, f *os.File) {
	t.Helper()
	if _, err := f.WriteString("done\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Interrupting terraform while a new job runs keeps the job, not tainted, with its run recorded
// as running. The next plan says that the apply waits for that run; that apply writes nothing,
// is still waiting while the run goes on, and completes once the run has; the plan after it is
// empty.
func TestAccJob_interruptedRunIsWaitedFor(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("jobintr")
	cli := acctest.Docker(t)
	acctest.RemoveServiceAtCleanup(t, cli, name)
	dir := t.TempDir()
	pipe := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(pipe, 0o644); err != nil {
		t.Fatal(err)
	}
	tf := acctest.NewTerraform(t, pipeJob(name, dir))
	taskRuns := func() bool {
		return jobTaskStates(cli, name)[swarm.TaskStateRunning] == 1
	}
	out := interrupt(t, tf, taskRuns)
	if text := strings.Join(strings.Fields(out), " "); !strings.Contains(text, "Apply Interrupted") || !strings.Contains(text, "not tainted") {
		t.Errorf("the interrupted apply does not say that the job is kept:\n%s", out)
	}
	if st, ok := tf.State(t)[jobAddr]; !ok || st.Tainted {
		t.Fatalf("after the interrupt the job is in state: %v, tainted: %v (want kept, not tainted)", ok, st.Tainted)
	}

	plan, err := tf.Run(context.Background(), "plan", "-detailed-exitcode", "-input=false", "-no-color")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("the plan does not show a change (%v):\n%s", err, plan)
	}
	for _, want := range []string{"Job Run Not Confirmed", "This apply waits for it", "(known after apply)", "1 to change"} {
		if !strings.Contains(strings.Join(strings.Fields(plan), " "), want) {
			t.Errorf("the plan does not say %q:\n%s", want, plan)
		}
	}

	version := acctest.InspectService(t, cli, name).Version.Index
	apply := tf.Command(context.Background(), "apply", "-auto-approve", "-input=false", "-no-color")
	var applied lockedBuffer
	apply.Stdout, apply.Stderr = &applied, &applied
	if err := apply.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- apply.Wait() }()
	waitFor(t, "the apply to update the job", func() bool { return strings.Contains(applied.String(), "swarm_job.test: Modifying") })
	select {
	case err := <-done:
		t.Fatalf("the apply ended (%v) while the run it waits for still ran:\n%s", err, applied.String())
	default:
	}
	endRun(t, pipe)
	if err := <-done; err != nil {
		t.Fatalf("the apply that waits for the run failed: %v\n%s", err, applied.String())
	}
	if after := acctest.InspectService(t, cli, name).Version.Index; after != version {
		t.Errorf("the apply that waits for the run wrote to the job (version %d -> %d)", version, after)
	}
	if st := tf.Raw(t, jobAddr); st.Attributes["status"] != "completed" {
		t.Errorf("state records the run as %v after the apply that waited for it; want completed", st.Attributes["status"])
	}
	planIsEmpty(t, tf)
}

// jobTaskStates counts the tasks of a job by state; none while the job does not exist yet.
func jobTaskStates(cli *client.Client, name string) map[swarm.TaskState]int {
	states := map[swarm.TaskState]int{}
	svc, _, err := cli.ServiceInspectWithRaw(context.Background(), name, swarm.ServiceInspectOptions{})
	if err != nil {
		return states
	}
	tasks, err := cli.TaskList(context.Background(), swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", svc.ID))})
	if err != nil {
		return states
	}
	for _, task := range tasks {
		states[task.Status.State]++
	}
	return states
}

// A replicated job of 3 completions, 2 at a time, whose tasks each end when the test writes to
// a named pipe: while the apply runs, no more than 2 tasks of the job run at once, and the
// apply is still waiting until the third completion; it then returns, with 3 completions in
// state, and the plan after it is empty.
func TestAccJob_applyWaitsForEveryCompletion(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("jobwait")
	cli := acctest.Docker(t)
	acctest.RemoveServiceAtCleanup(t, cli, name)
	dir := t.TempDir()
	pipe := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(pipe, 0o644); err != nil {
		t.Fatal(err)
	}
	tf := acctest.NewTerraform(t, strings.Replace(pipeJob(name, dir), "  mounts", "  total_completions = 3\n  max_concurrent    = 2\n  mounts", 1))
	apply := tf.Command(context.Background(), "apply", "-auto-approve", "-input=false", "-no-color")
	var applied lockedBuffer
	apply.Stdout, apply.Stderr = &applied, &applied
	if err := apply.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- apply.Wait() }()
	// Each round lets the tasks that read the pipe now finish (2 at most, by max_concurrent),
	// until the apply ends.
	var applyErr error
	rounds := 0
	waitFor(t, "the apply to end", func() bool {
		select {
		case applyErr = <-done:
			return true
		default:
		}
		if running := jobTaskStates(cli, name)[swarm.TaskStateRunning]; running > 2 {
			t.Errorf("%d tasks of the job run at once; max_concurrent is 2", running)
		}
		if tryEndRun(t, pipe) {
			rounds++
		}
		return false
	})
	if applyErr != nil {
		t.Fatalf("the apply failed: %v\n%s", applyErr, applied.String())
	}
	t.Logf("the apply returned after %d round(s) of tasks let finish", rounds)
	if rounds < 2 {
		t.Errorf("the apply returned after %d round(s) of tasks; 3 completions 2 at a time need at least 2", rounds)
	}
	if states := jobTaskStates(cli, name); states[swarm.TaskStateComplete] != 3 {
		t.Errorf("the apply returned with the job's tasks %v; want 3 complete", states)
	}
	if st := tf.Raw(t, jobAddr); fmt.Sprint(st.Attributes["completions"]) != "3" || st.Attributes["status"] != "completed" {
		t.Errorf("state records %v completions, status %v; want 3, completed", st.Attributes["completions"], st.Attributes["status"])
	}
	planIsEmpty(t, tf)
}

// The plan says when a change runs a job again, and what the run is; a plan with nothing
// changed is empty, and one that changes only what Terraform keeps (progress_deadline) runs
// nothing.
func TestAccJob_planSaysItRunsAgain(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("jobplan")
	config := func(trigger, deadline string) string {
		return jobConfig(name, fmt.Sprintf(`  image             = %q
  command           = ["/app", "cat", "/proc/version"]
  total_completions = 3
  max_concurrent    = 2
  triggers          = { run = %q }
  progress_deadline = %q`, os.Getenv("TEST_IMAGE"), trigger, deadline))
	}
	tf := acctest.NewTerraform(t, config("1", "1m"))
	if out, err := tf.Run(context.Background(), "apply", "-auto-approve", "-input=false", "-no-color"); err != nil {
		t.Fatalf("first apply: %v\n%s", err, out)
	}
	planIsEmpty(t, tf)
	tf.Configure(t, config("2", "1m"))
	out, _ := tf.Run(context.Background(), "plan", "-input=false", "-no-color")
	if text := strings.Join(strings.Fields(out), " "); !strings.Contains(text, "Job Runs Again") || !strings.Contains(text, "3 task(s) must exit 0, at most 2 at a time") {
		t.Errorf("the plan of new triggers does not say that the job runs again:\n%s", out)
	}
	tf.Configure(t, config("1", "2m"))
	out, _ = tf.Run(context.Background(), "plan", "-input=false", "-no-color")
	if strings.Contains(out, "Job Runs Again") {
		t.Errorf("a plan that changes only progress_deadline says the job runs again:\n%s", out)
	}
}

// A run that failed, but whose task Swarm then retried to success (restart_policy on-failure),
// is read as completed: the next plan is empty and runs nothing again.
func TestAccJob_runRetriedBySwarmIsCompleted(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("jobretried")
	img := acctest.Env(t, "TEST_IMAGE")
	cli := acctest.Docker(t)
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	config := func(trigger string) string {
		return jobConfig(name, fmt.Sprintf(`  image          = %q
  command        = ["/app", "cat", "/input/ready"]
  mounts         = [{ type = "bind", source = %q, target = "/input", read_only = true }]
  restart_policy = { condition = "on-failure", delay = "1s" }
  triggers       = { run = %q }`, img, dir, trigger))
	}
	var iteration uint64
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig: func() { writeFile(t, ready) },
				Config:    config("1"),
			},
			{
				// The new run's first task fails: the apply fails at once; Swarm retries it.
				PreConfig:   func() { removeFile(t, ready) },
				Config:      config("2"),
				ExpectError: acctest.ErrorPattern(`Job Run Failed.*State records the run as failed`),
			},
			{
				PreConfig: func() {
					writeFile(t, ready)
					acctest.Eventually(t, 2*time.Minute, "Swarm's retry of the failed task to complete", func() (bool, string, error) {
						it, states := jobRun(t, cli, name)
						iteration = it
						return states[swarm.TaskStateComplete] == 1, fmt.Sprintf("run %d tasks %v", it, states), nil
					})
				},
				Config: config("2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(jobAddr, tfjsonpath.New("status"), knownvalue.StringExact("completed")),
				},
				Check: func(*terraform.State) error {
					if it, _ := jobRun(t, cli, name); it != iteration {
						return fmt.Errorf("job %s is in run %d; want run %d, the one Swarm's retry completed", name, it, iteration)
					}
					return nil
				},
			},
		},
	})
}

// A job's networks are checked at plan time as a service's are: a network local to one node is
// refused with the attribute path, before anything is written.
func TestAccJob_localNetworkRefusedAtPlan(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("jobnet")
	cli := acctest.Docker(t)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: jobConfig(name, fmt.Sprintf(`  image    = %q
  command  = ["/app", "cat", "/proc/version"]
  networks = [{ id = "none" }]`, acctest.Env(t, "TEST_IMAGE"))),
			PlanOnly:    true,
			ExpectError: acctest.ErrorPattern(`Not a Swarm Network.*with swarm_job\.test.*Attribute networks\[0\]\.id: network "none" exists, but only on the node the provider talks to`),
		}},
		CheckDestroy: func(*terraform.State) error {
			if _, _, err := cli.ServiceInspectWithRaw(context.Background(), name, swarm.ServiceInspectOptions{}); err == nil {
				return fmt.Errorf("job %s was created although its plan failed", name)
			}
			return nil
		},
	})
}

// A job's identity is its ID and name; a change to its task (an update in place that runs
// it again) keeps it, and an import block that gives it plans no change.
func TestAccIdentity_job(t *testing.T) {
	acctest.IdentityTerraform(t)
	name, img := acctest.Name("ident-job"), acctest.Env(t, "TEST_IMAGE")
	sameID := statecheck.CompareValue(compare.ValuesSame())
	body := func(v string) string {
		return fmt.Sprintf("  image   = %q\n  command = [\"/app\", \"cat\", \"/proc/version\"]\n  env     = { V = %q }", img, v)
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: jobConfig(name, body("1")), ConfigStateChecks: append(acctest.IdentityIs(jobAddr, "id", "name"), sameID.AddStateValue(jobAddr, tfjsonpath.New("id")))},
			acctest.ImportByIdentity(jobAddr),
			{
				Config: jobConfig(name, body("2")),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(jobAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: append(acctest.IdentityIs(jobAddr, "id", "name"), sameID.AddStateValue(jobAddr, tfjsonpath.New("id"))),
			},
		},
	})
}
