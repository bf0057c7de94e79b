package provider

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

func TestClusterFrom(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("CET", 3600))
	m := clusterFrom(orchestrator.Cluster{ID: "c", CreatedAt: created, UpdatedAt: created, ManagerAddresses: []string{},
		Counts: orchestrator.NodeCounts{Total: 3, Managers: 1, Workers: 2, Ready: 2, ReachableManagers: 1}})
	if m.CreatedAt.ValueString() != "2026-01-02T02:04:05Z" || m.NodeCounts.Workers.ValueInt64() != 2 || m.ManagerAddresses == nil || !m.LeaderAddress.IsNull() {
		t.Errorf("cluster %+v", m)
	}
	ds := dataSourceSchema(t, &clusterDataSource{})
	tokens := ds.Attributes["join_tokens"]
	if !tokens.IsSensitive() {
		t.Error("join_tokens is not sensitive")
	}
}

// swarm_cluster against the engine's own view of the swarm; the join tokens are in state but
// sensitive: an output that shows one without saying so is refused.
func TestAccDataSourceCluster(t *testing.T) {
	acctest.Parallel(t)
	cli := acctest.Docker(t)
	ctx := context.Background()
	sw, err := cli.SwarmInspect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := cli.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := orchestrator.ClusterOf(sw, nodes)
	var addrs []knownvalue.Check
	for _, a := range c.ManagerAddresses {
		addrs = append(addrs, knownvalue.StringExact(a))
	}
	addr := "data.swarm_cluster.this"
	count := func(name string, n int) statecheck.StateCheck {
		return statecheck.ExpectKnownValue(addr, tfjsonpath.New("node_counts").AtMapKey(name), knownvalue.Int64Exact(int64(n)))
	}
	config := "provider \"swarm\" {}\n\ndata \"swarm_cluster\" \"this\" {}\n"
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact(sw.ID)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("created_at"), knownvalue.StringExact(sw.CreatedAt.UTC().Format(time.RFC3339))),
					count("total", len(nodes)), count("managers", c.Counts.Managers), count("workers", c.Counts.Workers),
					count("ready", c.Counts.Ready), count("reachable_managers", c.Counts.ReachableManagers),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("manager_addresses"), knownvalue.ListExact(addrs)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("leader_address"), knownvalue.StringExact(c.LeaderAddress)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("join_tokens").AtMapKey("worker"), knownvalue.StringExact(sw.JoinTokens.Worker)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("join_tokens").AtMapKey("manager"), knownvalue.StringExact(sw.JoinTokens.Manager)),
				},
			},
			{
				Config:      config + "\noutput \"token\" {\n  value = data.swarm_cluster.this.join_tokens.worker\n}\n",
				ExpectError: regexp.MustCompile(`Output refers to sensitive values`),
			},
		},
	})
}
