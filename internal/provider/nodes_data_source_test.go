package provider

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/docker/docker/api/types/swarm"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

func TestNodeFrom(t *testing.T) {
	worker := nodeFrom(swarm.Node{ID: "w", Spec: swarm.NodeSpec{Role: swarm.NodeRoleWorker, Availability: swarm.NodeAvailabilityDrain},
		Description: swarm.NodeDescription{Hostname: "w1", Resources: swarm.Resources{NanoCPUs: 1_500_000_000, MemoryBytes: 8 << 30}},
		Status:      swarm.NodeStatus{State: swarm.NodeStateDown, Message: "heartbeat failure"}})
	if worker.ManagerStatus != nil {
		t.Error("a worker has a manager status")
	}
	if worker.Labels == nil || worker.EngineLabels == nil {
		t.Error("no labels are null maps, want empty ones")
	}
	// Resources spelled as swarm_service's: the same conversions.
	if r := worker.Resources; r == nil || r.CPUs.ValueBigFloat().String() != "1.5" || r.Memory.ValueString() != "8GiB" {
		t.Errorf("resources %+v", worker.Resources)
	}
	if worker.Message.ValueString() != "heartbeat failure" || !worker.Address.IsNull() || !worker.Platform.OS.IsNull() {
		t.Errorf("node %+v", worker)
	}
	manager := nodeFrom(swarm.Node{ID: "m", Spec: swarm.NodeSpec{Role: swarm.NodeRoleManager},
		ManagerStatus: &swarm.ManagerStatus{Leader: true, Reachability: swarm.ReachabilityReachable, Addr: "10.0.0.1:2377"}})
	if ms := manager.ManagerStatus; ms == nil || !ms.Leader.ValueBool() || ms.Address.ValueString() != "10.0.0.1:2377" {
		t.Errorf("manager status %+v", manager.ManagerStatus)
	}
	if manager.Resources != nil {
		t.Errorf("a node that reports no resources has %+v", manager.Resources)
	}
}

// swarm_nodes against the engine's own node list: every node, and the local one in full;
// filters by role and label.
func TestAccDataSourceNodes(t *testing.T) {
	acctest.Parallel(t)
	cli := acctest.Docker(t)
	ctx := context.Background()
	info, err := cli.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := cli.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var managers int
	for _, n := range nodes {
		if n.Spec.Role == swarm.NodeRoleManager {
			managers++
		}
	}
	self, _, err := cli.NodeInspectWithRaw(ctx, info.Swarm.NodeID)
	if err != nil {
		t.Fatal(err)
	}
	// The local node, found by ID in the list of all nodes.
	local := func(attr string, want string) resource.TestCheckFunc {
		return func(s *terraform.State) error {
			rs := s.RootModule().Resources["data.swarm_nodes.all"]
			if rs == nil {
				return fmt.Errorf("no data.swarm_nodes.all in state")
			}
			n, _ := strconv.Atoi(rs.Primary.Attributes["nodes.#"])
			for i := range n {
				prefix := fmt.Sprintf("nodes.%d.", i)
				if rs.Primary.Attributes[prefix+"id"] != self.ID {
					continue
				}
				if got := rs.Primary.Attributes[prefix+attr]; got != want {
					return fmt.Errorf("local node's %s is %q, want %q", attr, got, want)
				}
				return nil
			}
			return fmt.Errorf("the local node %s is not in the list", self.ID)
		}
	}
	leader := "false"
	if self.ManagerStatus != nil && self.ManagerStatus.Leader {
		leader = "true"
	}
	missingLabel := acctest.Name("ds-label")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "swarm" {}

data "swarm_nodes" "all" {}

data "swarm_nodes" "managers" {
  role = "manager"
}

data "swarm_nodes" "labelled" {
  labels = { %q = "yes" }
}
`, missingLabel),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.swarm_nodes.all", tfjsonpath.New("nodes"), knownvalue.ListSizeExact(len(nodes))),
				statecheck.ExpectKnownValue("data.swarm_nodes.managers", tfjsonpath.New("nodes"), knownvalue.ListSizeExact(managers)),
				statecheck.ExpectKnownValue("data.swarm_nodes.labelled", tfjsonpath.New("nodes"), knownvalue.ListExact([]knownvalue.Check{})),
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				local("hostname", self.Description.Hostname),
				local("role", string(self.Spec.Role)),
				local("availability", string(self.Spec.Availability)),
				local("state", "ready"),
				local("address", self.Status.Addr),
				local("engine_version", self.Description.Engine.EngineVersion),
				local("platform.os", self.Description.Platform.OS),
				local("platform.architecture", self.Description.Platform.Architecture),
				local("resources.cpus", strconv.FormatFloat(float64(self.Description.Resources.NanoCPUs)/1e9, 'f', -1, 64)),
				local("resources.memory", formatSize(self.Description.Resources.MemoryBytes)),
				local("labels.%", strconv.Itoa(len(self.Spec.Labels))),
				local("manager_status.leader", leader),
				local("manager_status.reachability", "reachable"),
				local("manager_status.address", self.ManagerStatus.Addr),
			),
		}},
	})
}
