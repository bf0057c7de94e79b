package multinode_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

// swarm_node_drain empties a node: the invoke returns once the node's tasks run on other
// nodes; swarm_node_activate puts it back, and a restart of the service may use it again.
// Neither adopts the node. Every node is left active, as the test found it.
func TestAccNodeDrainActivateActions(t *testing.T) {
	c := acctest.MultiNode(t)
	bin := acctest.ModernTerraform(t)
	cli := c.Client(t)
	restoreNodesAtCleanup(t, cli)
	n := c.Node(3)
	if a := inspectNode(t, cli, n.Hostname).Spec.Availability; a != swarm.NodeAvailabilityActive {
		t.Skipf("node %s is %s, not active: another test uses it", n.Hostname, a)
	}
	web := acctest.Name("action-drain")
	removeServicesAtCleanup(t, cli, web)
	tf := acctest.NewTerraform(t, providerBlock(c.ManagerHost)+service("web", web, fmt.Sprintf(`  image = %q
  replicas = 3
  placement = { preferences = ["spread=node.labels.zone"] }
  rolling_update = { monitor = "1s" }`, c.Image))+fmt.Sprintf(`
action "swarm_node_drain" "n3" {
  config {
    node_id = %q
  }
}

action "swarm_node_activate" "n3" {
  config {
    node_id = %q
  }
}

action "swarm_service_restart" "web" {
  config {
    service_id = swarm_service.web.id
  }
}
`, n.Hostname, n.ID))
	tf.UseBinary(bin)
	run := func(args ...string) string {
		t.Helper()
		out, err := tf.Run(context.Background(), append(args, "-auto-approve", "-input=false", "-no-color")...)
		if err != nil {
			t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	planEmpty := func() {
		t.Helper()
		if out, err := tf.Run(context.Background(), "plan", "-detailed-exitcode", "-input=false", "-no-color"); err != nil {
			t.Fatalf("expected an empty plan: %v\n%s", err, out)
		}
	}
	onNode := func() (int, int) {
		t.Helper()
		counts, err := tasksByNode(context.Background(), cli, web)
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, k := range counts {
			total += k
		}
		return counts[n.Hostname], total
	}
	run("apply")
	planEmpty()
	if here, total := onNode(); here == 0 || total != 3 {
		t.Fatalf("before the drain: %d task(s) on %s, %d in all; want at least 1 and 3", here, n.Hostname, total)
	}

	out := run("apply", "-invoke=action.swarm_node_drain.n3")
	if !acctest.ErrorPattern(`drained: its tasks of \d+ service\(s\) run elsewhere`).MatchString(out) {
		t.Errorf("the drain did not report its end:\n%s", out)
	}
	node := inspectNode(t, cli, n.Hostname)
	if node.Spec.Availability != swarm.NodeAvailabilityDrain {
		t.Errorf("after the drain node %s is %s", n.Hostname, node.Spec.Availability)
	}
	if here, total := onNode(); here != 0 || total != 3 {
		t.Errorf("after the drain: %d task(s) on %s, %d in all; want 0 and 3 (running elsewhere)", here, n.Hostname, total)
	}
	planEmpty()

	run("apply", "-invoke=action.swarm_node_activate.n3")
	node = inspectNode(t, cli, n.Hostname)
	if node.Spec.Availability != swarm.NodeAvailabilityActive {
		t.Errorf("after the activation node %s is %s", n.Hostname, node.Spec.Availability)
	}
	if _, adopted := node.Spec.Labels[orchestrator.NodeAdoptionLabel]; adopted {
		t.Errorf("the actions adopted node %s (label %s)", n.Hostname, orchestrator.NodeAdoptionLabel)
	}
	// Swarm moves no task back by itself; a restart spreads them over the node again.
	run("apply", "-invoke=action.swarm_service_restart.web")
	if here, total := onNode(); here == 0 || total != 3 {
		t.Errorf("after the activation and a restart: %d task(s) on %s, %d in all; want at least 1 and 3", here, n.Hostname, total)
	}
	planEmpty()
}
