package provider

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

func TestServiceStatusFrom(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	m := serviceStatusFrom(orchestrator.ServiceStatus{ID: "svc", Name: "web", Desired: 3, Running: 2, Healthy: 1, OK: false, Summary: "s",
		RecentErrors: []orchestrator.TaskReport{
			{ID: "t1", Slot: 2, Node: "vm", State: "failed", Exited: true, ExitCode: 3, Message: "task: non-zero exit (3)", At: at},
			{ID: "t2", Slot: 1, Node: "(not scheduled)", State: "rejected", Message: "No such image: x", At: at},
		}})
	if m.DesiredReplicas.ValueInt64() != 3 || m.RunningReplicas.ValueInt64() != 2 || m.HealthyReplicas.ValueInt64() != 1 || m.Healthy.ValueBool() {
		t.Errorf("counts %+v", m)
	}
	if !m.UpdateState.IsNull() || !m.UpdateMessage.IsNull() {
		t.Errorf("a service never updated has update state %v, message %v; want null", m.UpdateState, m.UpdateMessage)
	}
	e1, e2 := m.RecentErrors[0], m.RecentErrors[1]
	if e1.ExitCode.ValueInt64() != 3 || e1.Slot.ValueInt64() != 2 || e1.At.ValueString() != "2026-01-02T02:04:05Z" {
		t.Errorf("failed task %+v", e1)
	}
	if !e2.ExitCode.IsNull() || e2.State.ValueString() != "rejected" {
		t.Errorf("a task whose container never ran has exit code %v, want null", e2.ExitCode)
	}
	global := serviceStatusFrom(orchestrator.ServiceStatus{Global: true, UpdateState: swarm.UpdateStatePaused,
		RecentErrors: []orchestrator.TaskReport{{ID: "t", Node: "vm", State: "failed"}}})
	if !global.RecentErrors[0].Slot.IsNull() || global.UpdateState != types.StringValue("paused") {
		t.Errorf("global service: slot %v, update state %v", global.RecentErrors[0].Slot, global.UpdateState)
	}
	if none := serviceStatusFrom(orchestrator.ServiceStatus{}); none.RecentErrors == nil {
		t.Error("no errors is a null list, want an empty one")
	}
}

// waitForFailedTask waits until one of the service's tasks has failed.
func waitForFailedTask(t *testing.T, cli *client.Client, service string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		tasks, err := cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", service))})
		if err != nil && ctx.Err() == nil {
			t.Fatalf("list tasks of %s: %v", service, err)
		}
		for _, task := range tasks {
			if task.Status.State == swarm.TaskStateFailed {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no task of %s failed within 2 minutes", service)
		case <-tick.C:
		}
	}
}

const failingBody = `
  image    = %q
  env      = { FAIL_ON_START = "1" }
  wait     = { converge = false }`

// A service whose task fails: the status names the failed task (slot, node, exit code, Swarm's
// error), and says it is not healthy.
func TestAccDataSourceServiceStatus_failingTask(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("ds-fail")
	cli := acctest.Docker(t)
	acctest.RemoveServiceAtCleanup(t, cli, name)
	info, err := cli.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	service := serviceConfig(name, fmt.Sprintf(failingBody, os.Getenv("TEST_IMAGE")))
	addr := "data.swarm_service_status.test"
	firstError := tfjsonpath.New("recent_errors").AtSliceIndex(0)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: service},
			{
				PreConfig: func() { waitForFailedTask(t, cli, name) },
				Config:    service + "\ndata \"swarm_service_status\" \"test\" {\n  id = swarm_service.test.id\n}\n",
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("name"), knownvalue.StringExact(name)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("healthy"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("desired_replicas"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("healthy_replicas"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue(addr, firstError.AtMapKey("task_id"), knownvalue.StringRegexp(regexp.MustCompile(`^[a-z0-9]{25}$`))),
					statecheck.ExpectKnownValue(addr, firstError.AtMapKey("slot"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(addr, firstError.AtMapKey("node"), knownvalue.StringExact(info.Name)),
					statecheck.ExpectKnownValue(addr, firstError.AtMapKey("state"), knownvalue.StringExact("failed")),
					statecheck.ExpectKnownValue(addr, firstError.AtMapKey("exit_code"), knownvalue.Int64Exact(3)),
					statecheck.ExpectKnownValue(addr, firstError.AtMapKey("error"), knownvalue.StringExact("task: non-zero exit (3)")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("summary"), knownvalue.StringRegexp(regexp.MustCompile(
						`^service `+name+`: 0 of 1 replicas healthy( \(1 running\))?; latest failure: task [a-z0-9]{12} \(slot 1 on node `+regexp.QuoteMeta(info.Name)+`\) failed, exit code 3: task: non-zero exit \(3\)$`))),
				},
			},
		},
	})
}

// A check block with swarm_service_status flags the degraded service in the plan, with the
// status's summary as its message, and leaves the healthy one alone (it has no healthcheck: its
// task counts as healthy once it has run for the monitor window, which the apply waited for);
// the plan still succeeds. This runs the terraform CLI itself, to read the plan's warnings.
func TestAccDataSourceServiceStatus_checkBlock(t *testing.T) {
	acctest.Parallel(t)
	good, bad := acctest.Name("ds-good"), acctest.Name("ds-bad")
	img := os.Getenv("TEST_IMAGE")
	cli := acctest.Docker(t)
	acctest.RemoveServiceAtCleanup(t, cli, good)
	acctest.RemoveServiceAtCleanup(t, cli, bad)
	check := func(label string) string {
		return fmt.Sprintf(`
check %[1]q {
  data "swarm_service_status" %[1]q {
    id = swarm_service.%[1]s.id
  }
  assert {
    condition     = data.swarm_service_status.%[1]s.healthy
    error_message = data.swarm_service_status.%[1]s.summary
  }
}
`, label)
	}
	tf := acctest.NewTerraform(t, fmt.Sprintf(`
provider "swarm" {}

resource "swarm_service" "good" {
  name  = %q
  image = %q
}

resource "swarm_service" "bad" {
  name = %q
%s
}
`, good, img, bad, fmt.Sprintf(failingBody, img))+check("good")+check("bad"))
	ctx := context.Background()
	if out, err := tf.Run(ctx, "apply", "-auto-approve", "-input=false", "-no-color"); err != nil {
		t.Fatalf("terraform apply: %v\n%s", err, out)
	}
	waitForFailedTask(t, cli, bad)
	out, err := tf.Run(ctx, "plan", "-input=false", "-no-color")
	if err != nil {
		t.Fatalf("terraform plan failed; a failing check must only warn: %v\n%s", err, out)
	}
	// The failing task restarts in a loop: between two failures one may be running, which the
	// summary says ("(1 running)"); either way the service is flagged with its latest failure.
	warning := acctest.ErrorPattern(`Warning: Check block assertion failed.*in check "bad":.*service ` + bad + `: 0 of 1 replicas healthy(\s+\(1\s+running\))?; latest failure: task [a-z0-9]{12} \(slot 1 on node [^)]+\) failed, exit code 3`)
	if !warning.MatchString(out) {
		t.Errorf("the plan does not flag the failing service:\n%s", out)
	}
	if strings.Contains(out, `in check "good"`) {
		t.Errorf("the plan flags the healthy service:\n%s", out)
	}
}
