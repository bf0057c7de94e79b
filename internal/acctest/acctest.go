// Package acctest is what the acceptance tests of every package share: the local test swarm
// (reached through DOCKER_HOST, as the provider reaches it), unique names for test objects,
// task queries, matching of errors as Terraform prints them, and Terraform steps that forget a
// resource and take it back with an import block.
//
// It must not import the engine (internal/orchestrator): the engine's own tests use it.
package acctest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/hashicorp/go-version"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// SkipUnlessAcc skips a test that needs the local swarm unless TF_ACC is set (make test does),
// as resource.Test does.
func SkipUnlessAcc(t testing.TB) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (make test) to run it against the local swarm")
	}
}

// Parallel lets an acceptance test run beside the others (go test -parallel, which make acc
// sets): a test that calls it uses only objects of its own (names from Name, ports from the
// kernel) and asserts nothing that another test's load on the swarm or the CPU changes. Tests
// that measure CPU do not call it. TF_ACC_SERIAL=1 runs every test alone, for a timing
// investigation.
func Parallel(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC_SERIAL") == "" {
		t.Parallel()
	}
}

// Env returns a variable that scripts/swarm-up.sh exports for the tests (make test sources
// it); the test fails when it is missing.
func Env(t testing.TB, name string) string {
	t.Helper()
	SkipUnlessAcc(t)
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: run the tests with `make test`, which brings up the local swarm and exports it", name)
	}
	return v
}

// DockerHost is the engine the tests use: DOCKER_HOST, else the local socket.
func DockerHost() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return "unix:///var/run/docker.sock"
}

// Docker is a Docker client for a test's own checks and for changes made outside Terraform.
func Docker(t testing.TB) *client.Client {
	t.Helper()
	SkipUnlessAcc(t)
	cli, err := client.NewClientWithOpts(client.WithHost(DockerHost()), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatalf("connect to the test swarm at %s: %v", DockerHost(), err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// Name is a unique name for a test object; scripts/swarm-down.sh removes leftovers by prefix.
func Name(prefix string) string {
	return fmt.Sprintf("tfacc-%s-%06d", prefix, rand.IntN(1_000_000))
}

// ErrorWords matches a message the way Terraform prints it: the words in order, any run of
// white space (Terraform wraps long lines) between them.
func ErrorWords(words string) *regexp.Regexp {
	parts := strings.Fields(words)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(`(?s)` + strings.Join(parts, `\s+`))
}

// ErrorPattern compiles a regular expression in which each space matches any run of white
// space and "." also matches a line break.
func ErrorPattern(re string) *regexp.Regexp {
	return regexp.MustCompile(`(?s)` + strings.ReplaceAll(re, " ", `\s+`))
}

// InspectService reads a service straight from the engine.
func InspectService(t testing.TB, cli *client.Client, name string) swarm.Service {
	t.Helper()
	svc, _, err := cli.ServiceInspectWithRaw(context.Background(), name, swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatalf("inspect service %s: %v", name, err)
	}
	return svc
}

// RemoveServiceAtCleanup removes a service when the test ends, for tests whose service
// outlives a failed apply.
func RemoveServiceAtCleanup(t testing.TB, cli *client.Client, name string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = cli.ServiceRemove(ctx, name)
	})
}

// ListDesiredRunning lists a service's tasks that are meant to run, whatever their state,
// sorted by ID; for checks that report an error rather than fail the test.
func ListDesiredRunning(ctx context.Context, cli *client.Client, service string) ([]swarm.Task, error) {
	tasks, err := cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", service), filters.Arg("desired-state", "running"))})
	if err != nil {
		return nil, fmt.Errorf("list tasks of %s: %w", service, err)
	}
	sort.Slice(tasks, func(i, j int) bool { return tasks[i].ID < tasks[j].ID })
	return tasks, nil
}

// RunningTasks lists a service's tasks that run and are meant to, sorted by ID.
func RunningTasks(t testing.TB, cli *client.Client, service string) []swarm.Task {
	t.Helper()
	tasks, err := ListDesiredRunning(context.Background(), cli, service)
	if err != nil {
		t.Fatal(err)
	}
	var out []swarm.Task
	for _, task := range tasks {
		if task.Status.State == swarm.TaskStateRunning {
			out = append(out, task)
		}
	}
	return out
}

// RunningTaskIDs is RunningTasks' IDs.
func RunningTaskIDs(t testing.TB, cli *client.Client, service string) []string {
	t.Helper()
	var ids []string
	for _, task := range RunningTasks(t, cli, service) {
		ids = append(ids, task.ID)
	}
	return ids
}

// Forget is a removed block that drops the resource at address from state without destroying
// it, so that an import can follow. Removed blocks need Terraform 1.7 or newer.
func Forget(address string) string {
	return fmt.Sprintf("removed {\n  from = %s\n  lifecycle {\n    destroy = false\n  }\n}\n", address)
}

// ImportBlock is an import block that takes the object id into address.
func ImportBlock(address, id string) string {
	return fmt.Sprintf("import {\n  to = %s\n  id = %q\n}\n", address, id)
}

// ForgetStep is a step that drops the resource at address from state without destroying it
// (a removed block, skipped before Terraform 1.7); rest is the configuration that stays.
func ForgetStep(t testing.TB, address, rest string) resource.TestStep {
	return resource.TestStep{Config: rest + "\n" + Forget(address), SkipFunc: NeedsTerraform(t, "1.7.0", "a removed block")}
}

// terraformVersion is the version of the terraform binary the acceptance tests run: the one
// TF_ACC_TERRAFORM_PATH names, else the one on PATH.
var terraformVersion = sync.OnceValues(func() (*version.Version, error) {
	bin := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if bin == "" {
		bin = "terraform"
	}
	out, err := exec.Command(bin, "version", "-json").Output()
	if err != nil {
		return nil, fmt.Errorf("%s version -json: %w", bin, err)
	}
	var v struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return nil, fmt.Errorf("read %s version: %w", bin, err)
	}
	return version.NewVersion(v.Version)
})

// NeedsTerraform is a step's SkipFunc for a step that needs a newer Terraform than some of
// the supported ones (what names the language feature); the skip is logged with its reason.
func NeedsTerraform(t testing.TB, minimum, what string) func() (bool, error) {
	return func() (bool, error) {
		have, err := terraformVersion()
		if err != nil {
			return false, err
		}
		if have.LessThan(version.Must(version.NewVersion(minimum))) {
			t.Logf("skipping a step on Terraform %s: %s needs Terraform %s or newer", have, what, minimum)
			return true, nil
		}
		return false, nil
	}
}

// ReadTaskFile returns a file as each running task of a service sees it, by running the test
// image's `/app cat PATH` in the task's container (the image has no shell). A task listed as
// running may be stopping already (its container going away): the whole read is tried again
// until every running task answered, for up to 30 seconds.
func ReadTaskFile(t testing.TB, cli *client.Client, service, path string) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := readTaskFile(t, cli, service, path)
		if err == nil {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("read %s in the tasks of %s: %v", path, service, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func readTaskFile(t testing.TB, cli *client.Client, service, path string) ([]string, error) {
	ctx := context.Background()
	var out []string
	for _, task := range RunningTasks(t, cli, service) {
		if task.Status.ContainerStatus == nil {
			continue
		}
		id := task.Status.ContainerStatus.ContainerID
		exec, err := cli.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: []string{"/app", "cat", path}, AttachStdout: true, AttachStderr: true})
		if err != nil {
			return nil, fmt.Errorf("exec in task %s: %w", task.ID, err)
		}
		resp, err := cli.ContainerExecAttach(ctx, exec.ID, container.ExecAttachOptions{})
		if err != nil {
			return nil, fmt.Errorf("attach to exec in task %s: %w", task.ID, err)
		}
		var stdout, stderr bytes.Buffer
		_, err = stdcopy.StdCopy(&stdout, &stderr, resp.Reader)
		resp.Close()
		if err != nil {
			return nil, fmt.Errorf("task %s: %w", task.ID, err)
		}
		inspect, err := cli.ContainerExecInspect(ctx, exec.ID)
		if err != nil || inspect.ExitCode != 0 || stderr.Len() > 0 {
			return nil, fmt.Errorf("task %s: exit code %d, %v %q %q", task.ID, inspect.ExitCode, err, stderr.String(), stdout.String())
		}
		out = append(out, stdout.String())
	}
	return out, nil
}

// FailedTasks lists a service's tasks that ended on their own (failed, rejected, complete).
func FailedTasks(t testing.TB, cli *client.Client, service string) []swarm.Task {
	t.Helper()
	tasks, err := cli.TaskList(context.Background(), swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", service))})
	if err != nil {
		t.Fatalf("list tasks of %s: %v", service, err)
	}
	var out []swarm.Task
	for _, task := range tasks {
		switch task.Status.State {
		case swarm.TaskStateFailed, swarm.TaskStateRejected, swarm.TaskStateComplete:
			out = append(out, task)
		}
	}
	return out
}

// Eventually polls cond every 200 ms until it holds, and fails the test after timeout with
// what it waited for and cond's last note (or error). Tests wait on conditions this way, never
// on durations.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() (ok bool, note string, err error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, note, err := cond()
		if ok {
			return
		}
		if err != nil {
			note = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s waiting for %s: %s", timeout, what, note)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// LoadDir is a directory that tasks of the test image bind-mount at /load, with
// BURN_FILE=/load/on, so that SetLoad switches their CPU load on and off without changing the
// service (every task, on every node of either test swarm, follows the same file). It
// outlives the services: the test's cleanup removes it, after the destroy.
func LoadDir(t testing.TB) string {
	t.Helper()
	return t.TempDir()
}

// SetLoad switches the load of the tasks that mount dir (LoadDir) on or off.
func SetLoad(t testing.TB, dir string, on bool) {
	t.Helper()
	p := filepath.Join(dir, "on")
	if on {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
}

// AutoscalerImage is the autoscaling controller's image built from the checkout (make
// autoscaler-image; make test builds it); the test fails when the engine does not have it.
func AutoscalerImage(t testing.TB) string {
	t.Helper()
	img := os.Getenv("TEST_AUTOSCALER_IMAGE")
	if img == "" {
		img = "swarmform/swarm-autoscaler:dev"
	}
	if _, err := Docker(t).ImageInspect(context.Background(), img); err != nil {
		t.Fatalf("the autoscaler image %s is not in the test engine (%v): run make autoscaler-image (make test does)", img, err)
	}
	return img
}
