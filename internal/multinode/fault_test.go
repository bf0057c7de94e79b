package multinode_test

// Faults during an apply, each run through the real terraform CLI so that what the user sees
// is what the test reads: a worker's daemon stopped mid-rollout, the manager's daemon
// restarted, a node drained by hand, terraform itself interrupted twice. After each, the
// cluster runs what the configuration says, exactly once, and the next plan is empty.
// README.md in this directory records the outcomes.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

// rollingService is a service whose rolling update takes a while: one task at a time, each
// healthy only START_DELAY after it starts, watched for a second, with a second between
// tasks. The spread over zones puts the same number of tasks on each node.
// The resource is swarm_service.test.
func rollingService(c *acctest.Cluster, name, version string, replicas int) string {
	return slowService(c, "test", name, version, replicas, "2s")
}

// slowService is rollingService with its tasks healthy only startDelay after they start.
func slowService(c *acctest.Cluster, addr, name, version string, replicas int, startDelay string) string {
	return service(addr, name, fmt.Sprintf(`  image    = %q
  replicas = %d
  env      = { VERSION = %q, START_DELAY = %q }
  healthcheck = { test = ["CMD", "/app", "health"], interval = "500ms", timeout = "10s", retries = 3, start_period = "30s" }
  placement = { preferences = ["spread=node.labels.zone"] }
  rolling_update = { parallelism = 1, delay = "1s", monitor = "1s" }
  wait = { progress_deadline = "150s" }
  timeouts = { create = "5m", update = "5m" }`, c.Image, replicas, version, startDelay))
}

// syncBuffer is terraform's output, read while terraform still writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// applyRun is a terraform apply running in the background.
type applyRun struct {
	cmd  *exec.Cmd
	out  syncBuffer
	done chan error
}

// exited says whether terraform has exited.
func (r *applyRun) exited() bool {
	select {
	case err := <-r.done:
		r.done <- err
		return true
	default:
		return false
	}
}

func startApply(t *testing.T, tf *acctest.Terraform) *applyRun {
	t.Helper()
	r := &applyRun{cmd: tf.Command(context.Background(), "apply", "-auto-approve", "-input=false", "-no-color"), done: make(chan error, 1)}
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() {
		if !r.exited() {
			_ = r.cmd.Process.Kill()
			if err := <-r.done; err != nil {
				t.Logf("terraform apply, killed at the end of the test: %v", err)
			}
		}
	})
	return r
}

// wait returns what the apply printed and how it exited, once it has.
func (r *applyRun) wait(t *testing.T) (string, error) {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		return r.out.String(), err
	case <-time.After(10 * time.Minute):
		t.Fatalf("terraform apply still runs after 10 minutes:\n%s", r.out.String())
	}
	return "", nil
}

// mustApply runs terraform apply to its end and fails the test when it fails.
func mustApply(t *testing.T, tf *acctest.Terraform, what string) string {
	t.Helper()
	out, err := tf.Run(context.Background(), "apply", "-auto-approve", "-input=false", "-no-color")
	if err != nil {
		t.Fatalf("%s: terraform apply: %v\n%s", what, err, out)
	}
	return out
}

// planIsEmpty runs terraform plan -detailed-exitcode: exit 0 means no changes.
func planIsEmpty(t *testing.T, tf *acctest.Terraform, when string) {
	t.Helper()
	out, err := tf.Run(context.Background(), "plan", "-detailed-exitcode", "-input=false", "-no-color")
	if err != nil {
		t.Fatalf("the plan %s is not empty (%v):\n%s", when, err, out)
	}
}

// planOnlyConfirms checks that the plan is empty, or shows only the confirmation of a write
// whose convergence an interrupted apply did not see: what the apply reads back after the wait
// (update_state, running_replicas, version) known after apply, with the "Convergence Not
// Confirmed" warning.
func planOnlyConfirms(t *testing.T, tf *acctest.Terraform, when string) {
	t.Helper()
	out, err := tf.Run(context.Background(), "plan", "-detailed-exitcode", "-input=false", "-no-color")
	if err == nil {
		return
	}
	text := strings.Join(strings.Fields(out), " ")
	// The changed attributes, read from the actions alone: the warning about development
	// overrides and the legend above them have lines that start with - and ~ too.
	actions := out
	if i := strings.Index(out, "will perform the following actions"); i >= 0 {
		actions = out[i:]
	}
	if i := strings.Index(actions, "\nPlan: "); i >= 0 {
		actions = actions[:i]
	}
	changed := regexp.MustCompile(`(?m)^\s+[~+-] (\S+)`).FindAllStringSubmatch(actions, -1)
	others := 0
	for _, c := range changed {
		switch c[1] {
		case "resource", "update_state", "running_replicas", "version":
		default:
			others++
		}
	}
	if !strings.Contains(text, "Convergence Not Confirmed") || !strings.Contains(text, "~ update_state") || others > 0 {
		t.Fatalf("the plan %s shows more than the confirmation of the interrupted write (%v):\n%s", when, err, out)
	}
	t.Logf("the plan %s confirms the interrupted write", when)
}

// hasEnv says whether a task runs the given VERSION.
func hasEnv(task swarm.Task, version string) bool {
	return task.Spec.ContainerSpec != nil && slices.Contains(task.Spec.ContainerSpec.Env, "VERSION="+version)
}

// runningVersion counts a service's running tasks (meant to run) of the given VERSION.
func runningVersion(ctx context.Context, cli *client.Client, name, version string) (int, error) {
	tasks, err := acctest.ListDesiredRunning(ctx, cli, name)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, task := range tasks {
		if task.Status.State == swarm.TaskStateRunning && hasEnv(task, version) {
			n++
		}
	}
	return n, nil
}

// newSpecRunning holds once a task of the service runs VERSION v2: the rollout from v1 is
// under way.
func newSpecRunning(cli *client.Client, name string) func() (bool, string, error) {
	return versionRunning(cli, name, "v2")
}

// versionRunning is newSpecRunning for the spec whose VERSION is version.
func versionRunning(cli *client.Client, name, version string) func() (bool, string, error) {
	return func() (bool, string, error) {
		got, err := runningVersion(context.Background(), cli, name, version)
		return got >= 1, fmt.Sprintf("%d task(s) of %s run %s", got, name, version), err
	}
}

// servicesNamed counts the services whose name is exactly name.
func servicesNamed(t *testing.T, cli *client.Client, name string) int {
	t.Helper()
	list, err := cli.ServiceList(context.Background(), swarm.ServiceListOptions{Filters: filters.NewArgs(filters.Arg("name", name))})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range list {
		if s.Spec.Name == name {
			n++
		}
	}
	return n
}

// runsExactly checks that name is one service whose spec says version and whose tasks meant
// to run are replicas tasks of that version, all running, none on the nodes in avoid; it
// returns the tasks per node.
func runsExactly(t *testing.T, cli *client.Client, name, version string, replicas int, avoid ...string) map[string]int {
	t.Helper()
	if n := servicesNamed(t, cli, name); n != 1 {
		t.Fatalf("%d services named %s, want 1", n, name)
	}
	svc := acctest.InspectService(t, cli, name)
	if !slices.Contains(svc.Spec.TaskTemplate.ContainerSpec.Env, "VERSION="+version) {
		t.Errorf("service %s has env %v, want VERSION=%s", name, svc.Spec.TaskTemplate.ContainerSpec.Env, version)
	}
	var byNode map[string]int
	waitFor(t, defaultWait, fmt.Sprintf("%d tasks of %s running %s", replicas, name, version), func() (bool, string, error) {
		tasks, err := acctest.ListDesiredRunning(context.Background(), cli, name)
		if err != nil {
			return false, "", err
		}
		good := 0
		var notes []string
		for _, task := range tasks {
			if task.Status.State == swarm.TaskStateRunning && hasEnv(task, version) {
				good++
			} else {
				notes = append(notes, fmt.Sprintf("task %.12s %s", task.ID, task.Status.State))
			}
		}
		byNode, err = tasksByNode(context.Background(), cli, name)
		if err != nil {
			return false, "", err
		}
		note := fmt.Sprintf("%d meant to run, %d running %s (%s) %s", len(tasks), good, version, spread(byNode), strings.Join(notes, ", "))
		return len(tasks) == replicas && good == replicas, note, nil
	})
	for _, host := range avoid {
		if byNode[host] != 0 {
			t.Errorf("service %s runs %d task(s) on %s (%s)", name, byNode[host], host, spread(byNode))
		}
	}
	return byNode
}

// describe logs a service's update status and every task, as `docker service ps` shows them,
// for a failure's record.
func describe(t *testing.T, cli *client.Client, name string) {
	t.Helper()
	ctx := context.Background()
	svc, _, err := cli.ServiceInspectWithRaw(ctx, name, swarm.ServiceInspectOptions{})
	if err != nil {
		t.Logf("inspect %s: %v", name, err)
		return
	}
	if us := svc.UpdateStatus; us != nil {
		t.Logf("service %s: update %s (%s)", name, us.State, us.Message)
	}
	tasks, err := cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", svc.ID))})
	if err != nil {
		t.Logf("list tasks of %s: %v", name, err)
		return
	}
	hosts, _ := hostnames(ctx, cli)
	slices.SortFunc(tasks, func(a, b swarm.Task) int { return a.Slot - b.Slot })
	for _, task := range tasks {
		version := "v1"
		if hasEnv(task, "v2") {
			version = "v2"
		}
		t.Logf("  slot %d %s on %s: %s (desired %s) %s %s", task.Slot, version, hosts[task.NodeID], task.Status.State, task.DesiredState, task.Status.Message, task.Status.Err)
	}
}

// summary is the lines of terraform's output worth recording: the result and any diagnostic.
func summary(out string) string {
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "Apply complete") || strings.HasPrefix(l, "Error:") || strings.HasPrefix(l, "Warning:") ||
			strings.Contains(l, "Still modifying") || strings.Contains(l, "Modifications complete") || strings.Contains(l, "Creation complete") ||
			strings.Contains(l, "nterrupt") {
			keep = append(keep, strings.TrimSpace(l))
		}
	}
	return strings.Join(keep, "\n")
}

// A worker's daemon stops while a rolling update starts a task of the new spec on it: Swarm
// marks the node down and starts its tasks on the other nodes; Swarm's updater would wait
// for the task that was starting there until the node is back, so the engine restarts the
// rollout. The apply completes once every slot runs the new spec, and the plans after it
// (with the node down, then back) are empty; the node's old tasks do not come back.
func TestAccFault_workerStoppedDuringRollout(t *testing.T) {
	c := acctest.MultiNode(t)
	cli := c.Client(t)
	name := acctest.Name("fault-worker")
	down := c.Node(3)
	tf := acctest.NewTerraform(t, providerBlock(c.ManagerHost)+rollingService(c, name, "v1", 6))
	mustApply(t, tf, "v1")
	t.Logf("before: %s", spread(runsExactly(t, cli, name, "v1", 6)))

	tf.Configure(t, providerBlock(c.ManagerHost)+rollingService(c, name, "v2", 6))
	run := startApply(t, tf)
	// The hard moment: a task of the new spec is on the node, not running yet.
	waitFor(t, defaultWait, "a task of the new spec starting on "+down.Hostname, func() (bool, string, error) {
		tasks, err := acctest.ListDesiredRunning(context.Background(), cli, name)
		if err != nil {
			return false, "", err
		}
		for _, task := range tasks {
			if task.NodeID == down.ID && hasEnv(task, "v2") && task.Status.State != swarm.TaskStateRunning {
				return true, "", nil
			}
		}
		return false, "", nil
	})
	c.StopNode(t, down.Index)
	out, err := run.wait(t)
	t.Logf("terraform apply with %s stopped mid-rollout (%v):\n%s", down.Hostname, err, summary(out))
	if err != nil {
		describe(t, cli, name)
		t.Fatalf("the apply failed when a worker stopped mid-rollout: %v\n%s", err, out)
	}
	// When the node went down while a task of the new spec was starting on it, Swarm's
	// updater would wait for that task until the node is back; the engine restarts the
	// rollout and says so.
	t.Logf("the engine restarted the rollout for a task stranded on %s: %v", down.Hostname,
		strings.Contains(strings.Join(strings.Fields(out), " "), "so the engine restarted the rollout"))
	t.Logf("after, %s down: %s", down.Hostname, spread(runsExactly(t, cli, name, "v2", 6, down.Hostname)))
	planIsEmpty(t, tf, "with the worker down")

	c.StartNode(t, down.Index)
	t.Logf("after %s is back: %s", down.Hostname, spread(runsExactly(t, cli, name, "v2", 6)))
	planIsEmpty(t, tf, "with the worker back")
}

// The manager's daemon restarts while an apply updates one service (a rolling update) and
// waits for a new one (its tasks healthy only 20s after they start): the engine's calls fail for a while (refused, not a manager) and are
// tried again with backoff; the apply completes once the restarted manager finishes both,
// each service exists once, and the next plan is empty.
func TestAccFault_managerRestartedDuringApply(t *testing.T) {
	c := acctest.MultiNode(t)
	cli := c.Client(t)
	name, added := acctest.Name("fault-mgr"), acctest.Name("fault-mgr-new")
	config := providerBlock(c.ManagerHost) + rollingService(c, name, "v1", 6)
	tf := acctest.NewTerraform(t, config)
	removeServicesAtCleanup(t, cli, added)
	mustApply(t, tf, "v1")
	runsExactly(t, cli, name, "v1", 6)

	logFile := filepath.Join(t.TempDir(), "provider.log")
	tf.SetEnv("TF_LOG_PROVIDER", "WARN")
	tf.SetEnv("TF_LOG_PATH", logFile)
	tf.Configure(t, providerBlock(c.ManagerHost)+rollingService(c, name, "v2", 6)+slowService(c, "added", added, "v2", 3, "20s"))
	run := startApply(t, tf)
	waitFor(t, defaultWait, "the rollout under way and the new service created", func() (bool, string, error) {
		ok, note, err := newSpecRunning(cli, name)()
		return ok && servicesNamed(t, cli, added) == 1, note, err
	})
	c.StopNode(t, 1)
	c.StartNode(t, 1)
	out, err := run.wait(t)
	t.Logf("terraform apply with the manager restarted mid-rollout (%v):\n%s", err, summary(out))
	if err != nil {
		describe(t, cli, name)
		describe(t, cli, added)
		t.Fatalf("the apply failed when the manager restarted: %v\n%s", err, out)
	}
	log, _ := os.ReadFile(logFile)
	var retries []string
	for _, l := range strings.Split(string(log), "\n") {
		if strings.Contains(l, "engine call failed transiently, trying again") {
			retries = append(retries, l)
		}
	}
	t.Logf("the provider logged %d retried call(s)", len(retries))
	for i, l := range retries {
		if i < 2 || i == len(retries)-1 {
			t.Logf("  %s", l)
		}
	}
	if len(retries) == 0 {
		t.Errorf("the provider logged no retried call: the restart did not reach the engine's calls\n%s", log)
	}
	runsExactly(t, cli, name, "v2", 6)
	runsExactly(t, cli, added, "v2", 3)
	planIsEmpty(t, tf, "after the manager restarted")
}

// A node is drained by hand (docker node update --availability drain) while a rolling update
// runs: Swarm moves the node's tasks, the apply completes with every slot on the new spec on
// the other nodes, and the next plan is empty; making the node active again moves nothing
// back, and the plan stays empty.
func TestAccFault_nodeDrainedDuringRollout(t *testing.T) {
	c := acctest.MultiNode(t)
	cli := c.Client(t)
	restoreNodesAtCleanup(t, cli)
	name := acctest.Name("fault-drain")
	drained := c.Node(2)
	tf := acctest.NewTerraform(t, providerBlock(c.ManagerHost)+rollingService(c, name, "v1", 6))
	mustApply(t, tf, "v1")
	runsExactly(t, cli, name, "v1", 6)

	tf.Configure(t, providerBlock(c.ManagerHost)+rollingService(c, name, "v2", 6))
	run := startApply(t, tf)
	waitFor(t, defaultWait, "the rollout to give a slot the new spec", newSpecRunning(cli, name))
	updateNode(t, cli, drained.Hostname, func(s *swarm.NodeSpec) { s.Availability = swarm.NodeAvailabilityDrain })
	out, err := run.wait(t)
	t.Logf("terraform apply with %s drained mid-rollout (%v):\n%s", drained.Hostname, err, summary(out))
	if err != nil {
		describe(t, cli, name)
		t.Fatalf("the apply failed when a node was drained mid-rollout: %v\n%s", err, out)
	}
	t.Logf("after: %s", spread(runsExactly(t, cli, name, "v2", 6, drained.Hostname)))
	planIsEmpty(t, tf, "after the drain")

	updateNode(t, cli, drained.Hostname, func(s *swarm.NodeSpec) { s.Availability = swarm.NodeAvailabilityActive })
	runsExactly(t, cli, name, "v2", 6)
	planIsEmpty(t, tf, "with the node active again")
}

// interruptTwice sends terraform SIGINT and, at once, SIGINT again, as a user pressing Ctrl-C
// twice, and says whether terraform took the second (it then exits at once, with an error).
// Two signals sent back to back may reach the process as one, so the second is sent every
// millisecond until terraform says it took it, or has exited. Terraform takes a second
// interrupt only until the provider has answered the first, and this provider answers within
// milliseconds (its wait ends on the cancellation): when terraform exited on the first alone
// (CI8 saw it once, with the second sent every 10 ms), the caller tries the scenario again.
func interruptTwice(t *testing.T, run *applyRun) bool {
	t.Helper()
	if err := run.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(run.out.String(), "Two interrupts received") && !run.exited() {
		time.Sleep(time.Millisecond)
		_ = run.cmd.Process.Signal(os.Interrupt) // fails once terraform has exited
	}
	out, err := run.wait(t)
	t.Logf("terraform apply after two SIGINTs (%v):\n%s", err, summary(out))
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("terraform apply after two SIGINTs: %v, want an exit with an error\n%s", err, out)
	}
	if strings.Contains(out, "Two interrupts received") {
		return true
	}
	if !strings.Contains(out, "Interrupt received") {
		t.Fatalf("terraform took neither interrupt:\n%s", out)
	}
	t.Logf("terraform exited on the first interrupt: the provider had answered it before the second came; trying again")
	return false
}

// interruptAttempts is how many times a test tries to have terraform take a second interrupt.
const interruptAttempts = 3

// terraform apply is interrupted mid-rollout with SIGINT and, before it has stopped, SIGINT
// again, the way an impatient user presses Ctrl-C twice: terraform exits at once. Swarm
// carries on with the rollout; the service exists once; the next plan is empty once the
// rollout is done (refresh reads what runs); the next apply completes and state records the
// new spec.
func TestAccFault_terraformInterruptedTwice(t *testing.T) {
	c := acctest.MultiNode(t)
	cli := c.Client(t)
	name := acctest.Name("fault-sigint")
	tf := acctest.NewTerraform(t, providerBlock(c.ManagerHost)+rollingService(c, name, "v1", 4))
	mustApply(t, tf, "v1")
	runsExactly(t, cli, name, "v1", 4)

	// The version that terraform was interrupted twice rolling out (v2, or a later one when
	// terraform stopped on the first interrupt: Swarm then finishes that rollout first).
	version := ""
	for _, v := range []string{"v2", "v3", "v4"}[:interruptAttempts] {
		tf.Configure(t, providerBlock(c.ManagerHost)+rollingService(c, name, v, 4))
		run := startApply(t, tf)
		waitFor(t, defaultWait, "the rollout to give a slot the new spec", versionRunning(cli, name, v))
		if interruptTwice(t, run) {
			version = v
			break
		}
		waitFor(t, defaultWait, "Swarm to complete the rollout", func() (bool, string, error) {
			us := acctest.InspectService(t, cli, name).UpdateStatus
			return us != nil && us.State == swarm.UpdateStateCompleted, fmt.Sprint(us), nil
		})
	}
	if version == "" {
		t.Fatalf("terraform took a second interrupt in none of %d attempts", interruptAttempts)
	}
	if n := servicesNamed(t, cli, name); n != 1 {
		t.Fatalf("%d services named %s after the interrupts, want 1", n, name)
	}
	st, recorded := tf.State(t)["swarm_service.test"]
	t.Logf("state right after the interrupts has the service: %v (env %v, tainted %v)", recorded, st.Values["env"], st.Tainted)
	if st.Tainted {
		t.Error("the interrupted update tainted the service")
	}

	// Swarm finishes the rollout by itself.
	waitFor(t, defaultWait, "Swarm to complete the rollout", func() (bool, string, error) {
		us := acctest.InspectService(t, cli, name).UpdateStatus
		if us == nil {
			return false, "no update status", nil
		}
		return us.State == swarm.UpdateStateCompleted, string(us.State), nil
	})
	runsExactly(t, cli, name, version, 4)
	if !recorded {
		// Terraform's exit on a second interrupt can lose its own state write ("data loss may
		// have occurred"): the service runs, once, and the next apply says how to take it back.
		id := acctest.InspectService(t, cli, name).ID
		out, err := tf.Run(context.Background(), "apply", "-auto-approve", "-input=false", "-no-color")
		text := strings.Join(strings.Fields(out), " ")
		for _, want := range []string{"Service Already Exists", "(ID " + id, `id = "` + id + `"`} {
			if err == nil || !strings.Contains(text, want) {
				t.Fatalf("the next apply does not fail saying %q (%v):\n%s", want, err, out)
			}
		}
		tf.Configure(t, providerBlock(c.ManagerHost)+rollingService(c, name, version, 4)+fmt.Sprintf("import {\n  to = swarm_service.test\n  id = %q\n}\n", id))
		mustApply(t, tf, "the apply with the import block")
		if got := acctest.InspectService(t, cli, name).ID; got != id {
			t.Errorf("the service was replaced: ID %s, want %s", got, id)
		}
	}
	// Where terraform saved what the provider answered before it exited, state says the
	// update's convergence was never seen: the next plan shows that the apply confirms it
	// (update_state known after apply), and nothing else.
	planOnlyConfirms(t, tf, "after the interrupted apply, once Swarm completed the rollout")
	out := mustApply(t, tf, "the apply after the interrupted one")
	t.Logf("the next apply: %s", summary(out))
	st = tf.State(t)["swarm_service.test"]
	if env, _ := st.Values["env"].(map[string]any); env["VERSION"] != version {
		t.Errorf("state after the next apply records env %v, want VERSION %s", st.Values["env"], version)
	}
	runsExactly(t, cli, name, version, 4)
	planIsEmpty(t, tf, "after the next apply")
}

// terraform apply is interrupted twice while it waits for a service it has just created:
// terraform exits without recording the service (its second interrupt drops what the
// provider answers). The service exists once and runs; the next apply does not make a second
// one (Swarm refuses the name) but fails at once, saying how to take the service into state;
// with the import block it names, the apply completes, and the next plan is empty.
func TestAccFault_terraformInterruptedTwiceDuringCreate(t *testing.T) {
	c := acctest.MultiNode(t)
	cli := c.Client(t)
	var (
		name, config string
		tf           *acctest.Terraform
	)
	for attempt := 1; ; attempt++ {
		// A fresh service each attempt: one where terraform stopped on the first interrupt
		// is destroyed with its working directory at the end of the test.
		name = acctest.Name("fault-sigint-new")
		removeServicesAtCleanup(t, cli, name)
		config = providerBlock(c.ManagerHost) + slowService(c, "test", name, "v2", 3, "20s")
		tf = acctest.NewTerraform(t, config)
		run := startApply(t, tf)
		waitFor(t, defaultWait, "the service to be created", func() (bool, string, error) {
			return servicesNamed(t, cli, name) == 1, "", nil
		})
		if interruptTwice(t, run) {
			break
		}
		if attempt == interruptAttempts {
			t.Fatalf("terraform took a second interrupt in none of %d attempts", interruptAttempts)
		}
	}
	if n := servicesNamed(t, cli, name); n != 1 {
		t.Fatalf("%d services named %s after the interrupts, want 1", n, name)
	}
	id := acctest.InspectService(t, cli, name).ID
	_, recorded := tf.State(t)["swarm_service.test"]
	t.Logf("state right after the interrupts has the service: %v", recorded)

	out, err := tf.Run(context.Background(), "apply", "-auto-approve", "-input=false", "-no-color")
	t.Logf("the next apply (%v): %s", err, summary(out))
	if recorded {
		if err != nil {
			t.Fatalf("the next apply failed: %v\n%s", err, out)
		}
	} else {
		text := strings.Join(strings.Fields(out), " ")
		for _, want := range []string{"Service Already Exists", "(ID " + id, "on a second interrupt", `id = "` + id + `"`} {
			if err == nil || !strings.Contains(text, want) {
				t.Fatalf("the next apply does not fail saying %q (%v):\n%s", want, err, out)
			}
		}
		if n := servicesNamed(t, cli, name); n != 1 {
			t.Fatalf("%d services named %s after the next apply, want 1", n, name)
		}
		tf.Configure(t, config+fmt.Sprintf("import {\n  to = swarm_service.test\n  id = %q\n}\n", id))
		out = mustApply(t, tf, "the apply with the import block")
		t.Logf("the apply with the import block: %s", summary(out))
	}
	if got := acctest.InspectService(t, cli, name).ID; got != id {
		t.Errorf("the service was replaced: ID %s, want %s", got, id)
	}
	runsExactly(t, cli, name, "v2", 3)
	planIsEmpty(t, tf, "after the service is in state")
}
