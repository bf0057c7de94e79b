package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

// slowService starts slowly: healthy only START_DELAY after each task starts.
func slowService(name, version, delay string) string {
	return fmt.Sprintf(`provider "swarm" {}

resource "swarm_service" "test" {
  name  = %q
  image = %q
  env   = { VERSION = %q, START_DELAY = %q }
  healthcheck = { test = ["CMD", "/app", "health"], interval = "500ms", timeout = "10s", retries = 3, start_period = "60s" }
}
`, name, os.Getenv("TEST_IMAGE"), version, delay)
}

// interrupt runs terraform apply, sends it SIGINT once ready says so, and returns what it
// printed; terraform exits with an error after an interrupt.
func interrupt(t *testing.T, tf *acctest.Terraform, ready func() bool) string {
	t.Helper()
	cmd := tf.Command(context.Background(), "apply", "-auto-approve", "-input=false", "-no-color")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the apply to reach the point of interruption", ready)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("terraform apply after SIGINT: %v (want an exit with an error)\n%s", err, out.String())
	}
	t.Logf("terraform apply after SIGINT:\n%s", out.String())
	return out.String()
}

// waitFor polls cond every 200 ms until it holds, or fails the test after 90 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	const limit = 90 * time.Second
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting %s for %s", limit, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func serviceExists(cli *client.Client, name string) func() bool {
	return func() bool {
		_, _, err := cli.ServiceInspectWithRaw(context.Background(), name, swarm.ServiceInspectOptions{})
		return err == nil
	}
}

// planIsEmpty runs terraform plan -detailed-exitcode: exit 0 means no changes.
func planIsEmpty(t *testing.T, tf *acctest.Terraform) {
	t.Helper()
	out, err := tf.Run(context.Background(), "plan", "-detailed-exitcode", "-input=false", "-no-color")
	if err != nil {
		t.Fatalf("the plan is not empty (%v):\n%s", err, out)
	}
}

// planShowsConfirmation runs terraform plan -detailed-exitcode and checks that the plan shows,
// for the reviewer, that the next apply waits for the service's convergence: a warning, and
// what the apply reads back after the wait (update_state, running_replicas, version) known only
// after it (exit code 2).
func planShowsConfirmation(t *testing.T, tf *acctest.Terraform) {
	t.Helper()
	out, err := tf.Run(context.Background(), "plan", "-detailed-exitcode", "-input=false", "-no-color")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("the plan does not show a change (%v):\n%s", err, out)
	}
	text := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{"Convergence Not Confirmed", "This apply waits for it", "update_state = ", "(known after apply)", "1 to change"} {
		if !strings.Contains(text, want) {
			t.Errorf("the plan does not say %q:\n%s", want, out)
		}
	}
}

// applyConfirms applies and checks that the apply wrote nothing to the service (its version
// is the same) and succeeded; the plan after it is empty.
func applyConfirms(t *testing.T, tf *acctest.Terraform, cli *client.Client, name string) {
	t.Helper()
	before := acctest.InspectService(t, cli, name).Version.Index
	if out, err := tf.Run(context.Background(), "apply", "-auto-approve", "-input=false", "-no-color"); err != nil {
		t.Fatalf("the confirming apply failed: %v\n%s", err, out)
	}
	if after := acctest.InspectService(t, cli, name).Version.Index; after != before {
		t.Errorf("the confirming apply wrote to the service (version %d -> %d)", before, after)
	}
	planIsEmpty(t, tf)
}

// Interrupting terraform while a new service starts normally keeps the service, not tainted.
// Its convergence was never seen, so the next plan shows that the apply after it confirms it,
// and that apply waits, writes nothing and succeeds; the plan after it is empty.
func TestAccService_interruptedCreateIsKept(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("intr-create")
	cli := acctest.Docker(t)
	tf := acctest.NewTerraform(t, slowService(name, "v1", "6s"))
	out := interrupt(t, tf, serviceExists(cli, name))
	if !strings.Contains(out, "Apply Interrupted") || !strings.Contains(out, "not tainted") {
		t.Errorf("the interrupted apply does not say that the service is kept:\n%s", out)
	}
	st, ok := tf.State(t)["swarm_service.test"]
	if !ok || st.Tainted {
		t.Fatalf("after the interrupt the service is in state: %v, tainted: %v (want kept, not tainted)", ok, st.Tainted)
	}
	waitFor(t, "the task to run", func() bool { return len(acctest.RunningTasks(t, cli, name)) == 1 })
	planShowsConfirmation(t, tf)
	applyConfirms(t, tf, cli, name)
}

// A new service whose task crashes after a while (it listens on a port that cannot be, once its
// start delay is over: exit code 1, again at every restart; within the monitor window, so an
// apply that waited would have failed), created by an apply interrupted before the first
// crash: the next apply waits for it and fails with the task's exit code and log, like any
// apply, and the service stays to be confirmed in the plan after it.
func TestAccService_interruptedCreateOfCrashLoopFailsNextApply(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("intr-crash")
	cli := acctest.Docker(t)
	acctest.RemoveServiceAtCleanup(t, cli, name)
	tf := acctest.NewTerraform(t, fmt.Sprintf(`provider "swarm" {}

resource "swarm_service" "test" {
  name  = %q
  image = %q
  env   = { START_DELAY = "8s", PORT = "no-such-port" }
  rolling_update = { monitor = "30s" }
}
`, name, os.Getenv("TEST_IMAGE")))
	interrupt(t, tf, serviceExists(cli, name))
	if st := tf.State(t)["swarm_service.test"]; st.Tainted {
		t.Fatal("the interrupted create tainted the service")
	}
	planShowsConfirmation(t, tf)
	out, err := tf.Run(context.Background(), "apply", "-auto-approve", "-input=false", "-no-color")
	if err == nil {
		t.Fatalf("the apply after the interrupt succeeded for a service whose task crashes:\n%s", out)
	}
	t.Logf("the apply after the interrupt:\n%s", out)
	text := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{"Service Did Not Converge", "which the last apply created but stopped waiting for, has not converged", "exit code 1", "fatal: listen", "stays to be confirmed"} {
		if !strings.Contains(text, want) {
			t.Errorf("the failed apply does not say %q:\n%s", want, out)
		}
	}
	planShowsConfirmation(t, tf)
}

// Interrupting terraform mid-rollout says what is true: Swarm carries on, state records the
// spec that was written, and the next plan shows that the rollout is still to be confirmed;
// once it has succeeded, the apply confirms it, writing nothing, and the plan after is empty.
func TestAccService_interruptedUpdateSaysWhatIsTrue(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("intr-update")
	cli := acctest.Docker(t)
	tf := acctest.NewTerraform(t, slowService(name, "v1", "0s"))
	if out, err := tf.Run(context.Background(), "apply", "-auto-approve", "-input=false", "-no-color"); err != nil {
		t.Fatalf("first apply: %v\n%s", err, out)
	}
	tf.Configure(t, slowService(name, "v2", "6s"))
	out := interrupt(t, tf, func() bool {
		svc := acctest.InspectService(t, cli, name)
		return strings.Contains(strings.Join(svc.Spec.TaskTemplate.ContainerSpec.Env, ","), "VERSION=v2")
	})
	for _, want := range []string{"The apply was interrupted", "Swarm carries on with the rollout", "State records what was written", "convergence is still to be confirmed"} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), want) {
			t.Errorf("the interrupted apply does not say %q:\n%s", want, out)
		}
	}
	if st := tf.State(t)["swarm_service.test"]; st.Tainted {
		t.Error("an interrupted update tainted the service")
	}
	waitFor(t, "the rollout to complete", func() bool {
		us := acctest.InspectService(t, cli, name).UpdateStatus
		return us != nil && us.State == swarm.UpdateStateCompleted
	})
	planShowsConfirmation(t, tf)
	applyConfirms(t, tf, cli, name)
}

// A service removed by someone else while the apply waits for it: the apply says so, the
// service leaves state, and the next plan creates it again.
func TestAccService_removedWhileWaiting(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("removed")
	cli := acctest.Docker(t)
	tf := acctest.NewTerraform(t, slowService(name, "v1", "30s"))
	cmd := tf.Command(context.Background(), "apply", "-auto-approve", "-input=false", "-no-color")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the service to be created", serviceExists(cli, name))
	if err := cli.ServiceRemove(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatalf("the apply succeeded although its service was removed:\n%s", out.String())
	}
	text := strings.Join(strings.Fields(out.String()), " ")
	if !strings.Contains(text, "Service Removed During Apply") || !strings.Contains(text, "the next plan creates it again") || strings.Contains(text, "kept so that you can inspect it") {
		t.Errorf("the apply does not say what happened:\n%s", out.String())
	}
	if _, ok := tf.State(t)["swarm_service.test"]; ok {
		t.Error("the removed service is still in state")
	}
}

// A local image (no registry can be asked for its digest) is reported once per run, in plain
// words, however many services use it.
func TestAccService_localImageWarnsOnce(t *testing.T) {
	acctest.Parallel(t)
	a, b := acctest.Name("local-a"), acctest.Name("local-b")
	img := os.Getenv("TEST_IMAGE")
	tf := acctest.NewTerraform(t, fmt.Sprintf(`provider "swarm" {}

resource "swarm_service" "a" {
  name  = %q
  image = %q
}

resource "swarm_service" "b" {
  name  = %q
  image = %q
}
`, a, img, b, img))
	out, err := tf.Run(context.Background(), "apply", "-auto-approve", "-input=false", "-no-color")
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	text := strings.Join(strings.Fields(out), " ")
	if n := strings.Count(text, "is not pinned to a digest"); n != 1 {
		t.Errorf("the local image is reported %d times, want once:\n%s", n, out)
	}
	for _, want := range []string{"Image " + img + " is not pinned to a digest", "on a multi-node swarm nodes may run different builds", "Push the image to a registry"} {
		if !strings.Contains(text, want) {
			t.Errorf("the warning does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(text, "lookup registry-1.docker.io") {
		t.Errorf("the warning quotes the raw DNS error:\n%s", out)
	}
}
