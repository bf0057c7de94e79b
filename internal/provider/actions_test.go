package provider

import (
	"context"
	"encoding/json"
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

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

// Actions need Terraform 1.14 or newer, which terraform-plugin-testing's steps do not drive:
// these tests run the terraform binary themselves (acctest.ModernTerraform), in a directory
// whose configuration holds the resources and the action blocks.

// modernTerraform is a directory of config run by Terraform >= 1.14, applied once and checked
// to plan empty.
func modernTerraform(t *testing.T, config string) *acctest.Terraform {
	t.Helper()
	acctest.SkipUnlessAcc(t)
	bin := acctest.ModernTerraform(t)
	tf := acctest.NewTerraform(t, config)
	tf.UseBinary(bin)
	return tf
}

// applyEmpty applies the configuration, then checks that the next plan is empty.
func applyEmpty(t *testing.T, tf *acctest.Terraform) {
	t.Helper()
	out, err := tf.Run(context.Background(), "apply", "-auto-approve", "-input=false", "-no-color")
	if err != nil {
		t.Fatalf("terraform apply: %v\n%s", err, out)
	}
	planEmpty(t, tf)
}

// planEmpty fails the test unless the next plan proposes no change.
func planEmpty(t *testing.T, tf *acctest.Terraform) {
	t.Helper()
	out, err := tf.Run(context.Background(), "plan", "-detailed-exitcode", "-input=false", "-no-color")
	if err != nil {
		t.Fatalf("expected an empty plan: %v\n%s", err, out)
	}
}

// invoke runs an action with terraform apply -invoke and returns what terraform printed.
func invoke(tf *acctest.Terraform, address string) (string, error) {
	return tf.Run(context.Background(), "apply", "-invoke="+address, "-auto-approve", "-input=false", "-no-color")
}

func restartConfig(name, image string) string {
	return fmt.Sprintf(`provider "swarm" {}

resource "swarm_service" "api" {
  name     = %q
  image    = %q
  replicas = 2
  rolling_update = { parallelism = 2, monitor = "1s" }
}

action "swarm_service_restart" "api" {
  config {
    service_id = swarm_service.api.name
    timeout    = "5m"
  }
}
`, name, image)
}

// A restart replaces every task of the service with a new one of the same spec; the spec
// changes only in its force_update counter, and the next plan is empty.
func TestAccServiceRestartAction(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("restart")
	tf := modernTerraform(t, restartConfig(name, acctest.Env(t, "TEST_IMAGE")))
	applyEmpty(t, tf)
	cli := acctest.Docker(t)
	before := acctest.InspectService(t, cli, name)
	oldTasks := acctest.RunningTaskIDs(t, cli, name)
	if len(oldTasks) != 2 {
		t.Fatalf("before the restart: running tasks %v, want 2", oldTasks)
	}

	out, err := invoke(tf, "action.swarm_service_restart.api")
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, out)
	}
	if !strings.Contains(out, "restarted: 2 of 2 tasks replaced and running") {
		t.Errorf("the invoke did not report the restart:\n%s", out)
	}
	after := acctest.InspectService(t, cli, name)
	newTasks := acctest.RunningTaskIDs(t, cli, name)
	if len(newTasks) != 2 {
		t.Errorf("after the restart: running tasks %v, want 2", newTasks)
	}
	for _, id := range newTasks {
		if slices.Contains(oldTasks, id) {
			t.Errorf("task %s ran before the restart and still runs (before %v, after %v)", id, oldTasks, newTasks)
		}
	}
	if got, want := after.Spec.TaskTemplate.ForceUpdate, before.Spec.TaskTemplate.ForceUpdate+1; got != want {
		t.Errorf("force_update = %d, want %d", got, want)
	}
	same := after.Spec
	same.TaskTemplate.ForceUpdate = before.Spec.TaskTemplate.ForceUpdate
	if diff := specDiff(before.Spec, same); diff != "" {
		t.Errorf("the restart changed the spec beyond force_update: %s", diff)
	}
	planEmpty(t, tf)
}

// specDiff says how two specs differ, by their JSON, or "".
func specDiff(a, b swarm.ServiceSpec) string {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) == string(jb) {
		return ""
	}
	return fmt.Sprintf("before %s\nafter  %s", ja, jb)
}

// A restart whose new tasks crash-loop fails the invoke, naming the exit code and the log
// tail of a failed task.
func TestAccServiceRestartAction_crashLoopFails(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("restartfail")
	img := acctest.Env(t, "TEST_IMAGE")
	cli := acctest.Docker(t)
	// A service whose tasks exit 1 at once (Swarm restarts them for ever): made with the
	// docker CLI, as a service Terraform does not manage.
	acctest.RemoveServiceAtCleanup(t, cli, name)
	if out, err := exec.Command("docker", "service", "create", "--detach", "--name", name, "--restart-delay", "1s",
		"--update-monitor", "2s", "--entrypoint", "/app", img, "cat", "/missing/config.yml").CombinedOutput(); err != nil {
		t.Fatalf("docker service create: %v\n%s", err, out)
	}
	tf := modernTerraform(t, fmt.Sprintf(`provider "swarm" {}

action "swarm_service_restart" "broken" {
  config {
    service_id = %q
    timeout    = "3m"
  }
}
`, name))
	out, err := invoke(tf, "action.swarm_service_restart.broken")
	if err == nil {
		t.Fatalf("the restart of a crash-looping service succeeded:\n%s", out)
	}
	want := acctest.ErrorPattern(`Service Restart Failed.*Restarting service "` + name + `".*exit code 1.*open /missing/config.yml: no such file or directory`)
	if !want.MatchString(out) {
		t.Errorf("the failed invoke does not match %s:\n%s", want, out)
	}
}

func jobRunConfig(job, image string) string {
	return fmt.Sprintf(`provider "swarm" {}

resource "swarm_job" "migrate" {
  name    = %q
  image   = %q
  command = ["/app", "cat", "/proc/version"]
}

action "swarm_job_run" "migrate" {
  config {
    job_id = swarm_job.migrate.id
  }
}
`, job, image)
}

// jobIteration is a job's run counter.
func jobIteration(t *testing.T, name string) uint64 {
	t.Helper()
	svc := acctest.InspectService(t, acctest.Docker(t), name)
	if svc.JobStatus == nil {
		t.Fatalf("service %s has no job status", name)
	}
	return svc.JobStatus.JobIteration.Index
}

// swarm_job_run runs a job again and waits for the run; the job's resource plans empty after.
func TestAccJobRunAction(t *testing.T) {
	acctest.Parallel(t)
	job := acctest.Name("jobrun")
	tf := modernTerraform(t, jobRunConfig(job, acctest.Env(t, "TEST_IMAGE")))
	applyEmpty(t, tf)
	before := jobIteration(t, job)
	out, err := invoke(tf, "action.swarm_job_run.migrate")
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, out)
	}
	if after := jobIteration(t, job); after <= before {
		t.Errorf("job iteration %d after the run, %d before: the job did not run again", after, before)
	}
	if !strings.Contains(out, "completed run") {
		t.Errorf("the invoke did not report the completed run:\n%s", out)
	}
	planEmpty(t, tf)
}

// The main example (examples/actions/migrate-before-update): a migration job run
// before_update of the API service. An update of the service runs the job, and the job's run
// ends before the service's rollout starts. A run that fails (the job reads a file of the host,
// removed meanwhile; the job itself is unchanged) fails the apply before the service changes;
// with the file back, the next apply runs the migration and rolls the service out.
func TestAccJobRunAction_beforeUpdateTrigger(t *testing.T) {
	acctest.Parallel(t)
	job, svc := acctest.Name("migrate"), acctest.Name("api")
	img := acctest.Env(t, "TEST_IMAGE")
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	writeFile(t, ready)
	config := func(version string) string {
		return fmt.Sprintf(`provider "swarm" {}

resource "swarm_job" "migrate" {
  name    = %q
  image   = %q
  command = ["/app", "cat", "/input/ready"]
  mounts  = [{ type = "bind", source = %q, target = "/input", read_only = true }]
}

action "swarm_job_run" "migrate" {
  config {
    job_id = swarm_job.migrate.id
  }
}

resource "swarm_service" "api" {
  name  = %q
  image = %q
  env   = { VERSION = %q }

  lifecycle {
    action_trigger {
      events  = [before_update]
      actions = [action.swarm_job_run.migrate]
    }
  }
}
`, job, img, dir, svc, img, version)
	}
	tf := modernTerraform(t, config("v1"))
	applyEmpty(t, tf)
	cli := acctest.Docker(t)
	first := jobIteration(t, job)

	tf.Configure(t, config("v2"))
	applyEmpty(t, tf)
	if got := jobIteration(t, job); got != first+1 {
		t.Errorf("job iteration %d after the service's update, want %d (one run before the update)", got, first+1)
	}
	api := acctest.InspectService(t, cli, svc)
	if api.UpdateStatus == nil || api.UpdateStatus.StartedAt == nil {
		t.Fatalf("service %s has no update status after its update", svc)
	}
	ended := lastTaskEnd(t, job)
	if !ended.Before(*api.UpdateStatus.StartedAt) {
		t.Errorf("the migration's run ended at %s, after the service's rollout started at %s", ended, *api.UpdateStatus.StartedAt)
	}

	// The migration fails: the apply fails with the task's exit code and log line, and the
	// service keeps v2.
	if err := os.Remove(ready); err != nil {
		t.Fatal(err)
	}
	tf.Configure(t, config("v3"))
	out, err := tf.Run(context.Background(), "apply", "-auto-approve", "-input=false", "-no-color")
	if err == nil {
		t.Fatalf("the apply with a failing migration succeeded:\n%s", out)
	}
	if want := acctest.ErrorPattern(`Job Run Failed.*exit code 1.*open /input/ready: no such file or directory`); !want.MatchString(out) {
		t.Errorf("the failed apply does not match %s:\n%s", want, out)
	}
	if env := acctest.InspectService(t, cli, svc).Spec.TaskTemplate.ContainerSpec.Env; !slices.Contains(env, "VERSION=v2") {
		t.Errorf("service %s has env %v after the failed migration; want VERSION=v2 (unchanged)", svc, env)
	}
	// Fixed, the migration runs and the service rolls out.
	writeFile(t, ready)
	applyEmpty(t, tf)
	if env := acctest.InspectService(t, cli, svc).Spec.TaskTemplate.ContainerSpec.Env; !slices.Contains(env, "VERSION=v3") {
		t.Errorf("service %s has env %v after the fixed migration; want VERSION=v3", svc, env)
	}
}

// lastTaskEnd is when the last task of a job's current run ended.
func lastTaskEnd(t *testing.T, job string) time.Time {
	t.Helper()
	svc := acctest.InspectService(t, acctest.Docker(t), job)
	tasks, err := acctest.Docker(t).TaskList(context.Background(), swarm.TaskListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var last time.Time
	for _, task := range tasks {
		if task.ServiceID != svc.ID || task.JobIteration == nil || task.JobIteration.Index != svc.JobStatus.JobIteration.Index {
			continue
		}
		if task.Status.State != swarm.TaskStateComplete {
			t.Fatalf("task %s of job %s's last run is %s, want complete", task.ID, job, task.Status.State)
		}
		if task.Status.Timestamp.After(last) {
			last = task.Status.Timestamp
		}
	}
	if last.IsZero() {
		t.Fatalf("job %s has no task in its current run", job)
	}
	return last
}

// A rollback restores the previous image (v1 -> v2 -> rollback -> v1 runs); the next plan
// proposes the configuration's v2 again, and its apply rolls the service forward.
func TestAccServiceRollbackAction(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("rollback")
	v1, v2 := acctest.Env(t, "TEST_IMAGE"), acctest.Env(t, "TEST_IMAGE_V2")
	config := func(image string) string {
		return fmt.Sprintf(`provider "swarm" {}

resource "swarm_service" "api" {
  name     = %q
  image    = %q
  replicas = 2
  rolling_update = { monitor = "1s" }
  rollback       = { parallelism = 2, monitor = "1s" }
}

action "swarm_service_rollback" "api" {
  config {
    service_id = swarm_service.api.id
  }
}
`, name, image)
	}
	cli := acctest.Docker(t)
	runningImages := func() []string {
		var images []string
		for _, task := range acctest.RunningTasks(t, cli, name) {
			images = append(images, task.Spec.ContainerSpec.Image)
		}
		return images
	}
	tf := modernTerraform(t, config(v1))
	applyEmpty(t, tf)
	tf.Configure(t, config(v2))
	applyEmpty(t, tf)

	out, err := invoke(tf, "action.swarm_service_rollback.api")
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, out)
	}
	if !acctest.ErrorPattern(`rolled back: 2 of 2 tasks run image ` + regexp.QuoteMeta(v1)).MatchString(out) {
		t.Errorf("the invoke does not say that %s runs:\n%s", v1, out)
	}
	images := runningImages()
	if len(images) != 2 {
		t.Errorf("after the rollback: running images %v, want 2 tasks", images)
	}
	for _, image := range images {
		if !strings.HasPrefix(image, v1) {
			t.Errorf("after the rollback a task runs %s, want %s", image, v1)
		}
	}
	// The configuration still says v2: the plan proposes it again, and the apply restores it.
	plan, err := tf.Run(context.Background(), "plan", "-detailed-exitcode", "-input=false", "-no-color")
	if err == nil || !strings.Contains(plan, v2) {
		t.Errorf("after the rollback, the plan does not propose %s again (%v):\n%s", v2, err, plan)
	}
	applyEmpty(t, tf)
	for _, image := range runningImages() {
		if !strings.HasPrefix(image, v2) {
			t.Errorf("after the apply a task runs %s, want %s", image, v2)
		}
	}
}

// A service never updated has no previous spec: the rollback fails and changes nothing.
func TestAccServiceRollbackAction_noPreviousSpec(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("rollbacknone")
	tf := modernTerraform(t, fmt.Sprintf(`provider "swarm" {}

resource "swarm_service" "api" {
  name  = %q
  image = %q
}

action "swarm_service_rollback" "api" {
  config {
    service_id = swarm_service.api.name
  }
}
`, name, acctest.Env(t, "TEST_IMAGE")))
	applyEmpty(t, tf)
	out, err := invoke(tf, "action.swarm_service_rollback.api")
	if err == nil || !acctest.ErrorPattern(`Service Rollback Failed.*has no previous spec to roll back to`).MatchString(out) {
		t.Errorf("the rollback of a service never updated: %v\n%s", err, out)
	}
	planEmpty(t, tf)
}

// The example examples/actions/migrate-before-update runs as documented: an apply that changes
// the service runs the migration job once, and plans empty after.
func TestAccActionsExample_migrateBeforeUpdate(t *testing.T) {
	acctest.Parallel(t)
	acctest.SkipUnlessAcc(t)
	bin := acctest.ModernTerraform(t)
	prefix := acctest.Name("ex") + "-"
	tf := acctest.NewTerraformFrom(t, "examples/actions/migrate-before-update")
	tf.UseBinary(bin)
	tf.SetEnv("TF_VAR_name_prefix", prefix)
	tf.SetEnv("TF_VAR_image", acctest.Env(t, "TEST_IMAGE"))
	applyEmpty(t, tf)
	first := jobIteration(t, prefix+"migrate")
	tf.SetEnv("TF_VAR_api_version", "v2")
	applyEmpty(t, tf)
	if got := jobIteration(t, prefix+"migrate"); got != first+1 {
		t.Errorf("job iteration %d after the service's update, want %d", got, first+1)
	}
}

// Bad input in an action's config is refused at terraform validate, at its attribute, with
// what is allowed; nothing runs.
func TestAccActions_badInputRefusedAtValidate(t *testing.T) {
	acctest.Parallel(t)
	tf := modernTerraform(t, `provider "swarm" {}

action "swarm_service_restart" "bad" {
  config {
    service_id = "api"
    timeout    = "soon"
  }
}

action "swarm_node_drain" "empty" {
  config {
    node_id = ""
  }
}
`)
	// Runs before the directory's destroy, which would refuse the same input.
	t.Cleanup(func() { tf.Configure(t, `provider "swarm" {}`) })
	out, err := tf.Run(context.Background(), "validate", "-no-color")
	if err == nil {
		t.Fatalf("terraform validate accepted the bad input:\n%s", out)
	}
	for _, want := range []string{`Invalid Duration.*Attribute timeout: .*"soon"`, `node_id.*at least 1`} {
		if !acctest.ErrorPattern(want).MatchString(out) {
			t.Errorf("validate does not say %s:\n%s", want, out)
		}
	}
}
