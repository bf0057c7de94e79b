package provider

import (
	"fmt"
	"os"
	"sort"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

// dataServiceBody is a service with most attribute families set, durations and sizes spelled
// as the engine spells them (the data source shows the engine's spelling).
func dataServiceBody(image, version string) string {
	return fmt.Sprintf(`
  image            = %q
  command          = ["/app"]
  env              = { VERSION = %q }
  labels           = { team = "platform" }
  container_labels = { "com.example.role" = "web" }
  replicas         = 2
  ports            = [{ target = 8080, mode = "host" }]
  healthcheck      = { test = ["CMD", "/app", "health"], interval = "500ms", timeout = "10s", retries = 3 }
  resources        = { limits = { cpus = 0.5, memory = "64MiB" }, reservations = { cpus = 0.1 } }
  restart_policy   = { condition = "on-failure", delay = "1s", max_attempts = 5, window = "1m0s" }
  placement        = { constraints = ["node.role==manager"], max_replicas_per_node = 2 }
  mounts           = [{ type = "tmpfs", target = "/tmp", tmpfs_size = "8MiB" }]
  read_only        = true
  stop_grace_period = "3s"
  cap_drop         = ["NET_RAW"]
  ulimits          = { nofile = { soft = 1024, hard = 2048 } }
  extra_hosts      = { "db.internal" = "10.1.2.3" }
  rolling_update   = { parallelism = 2, monitor = "1s" }
`, image, version)
}

// dataServiceConfig is the service, the swarm_service data source by ID and by name, and the
// service's status.
func dataServiceConfig(name, body string) string {
	return serviceConfig(name, body) + `
data "swarm_service" "by_id" {
  id = swarm_service.test.id
}

data "swarm_service" "by_name" {
  name = swarm_service.test.name
}

data "swarm_service_status" "test" {
  name = swarm_service.test.name
}
`
}

// sameAsResource compares every attribute of the swarm_service data source at address with
// the resource's: the data source holds what the resource holds.
func sameAsResource(t *testing.T, address string) []statecheck.StateCheck {
	t.Helper()
	ds := dataSourceSchema(t, &serviceDataSource{})
	names := make([]string, 0, len(ds.Attributes))
	for name := range ds.Attributes {
		names = append(names, name)
	}
	sort.Strings(names)
	var checks []statecheck.StateCheck
	for _, name := range names {
		checks = append(checks, statecheck.CompareValuePairs(svcAddr, tfjsonpath.New(name), address, tfjsonpath.New(name), compare.ValuesSame()))
	}
	return checks
}

// A service created by the resource, read by the swarm_service data source (by ID and by name)
// and by swarm_service_status in the same configuration: each attribute of the data source
// equals the resource's, before and after a rolling update; the status says it is healthy.
func TestAccDataSourceService_matchesResource(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("ds-svc")
	img := os.Getenv("TEST_IMAGE")
	statusAddr := "data.swarm_service_status.test"
	status := func(updateState knownvalue.Check) []statecheck.StateCheck {
		return []statecheck.StateCheck{
			statecheck.CompareValuePairs(svcAddr, tfjsonpath.New("id"), statusAddr, tfjsonpath.New("id"), compare.ValuesSame()),
			statecheck.ExpectKnownValue(statusAddr, tfjsonpath.New("desired_replicas"), knownvalue.Int64Exact(2)),
			statecheck.ExpectKnownValue(statusAddr, tfjsonpath.New("running_replicas"), knownvalue.Int64Exact(2)),
			statecheck.ExpectKnownValue(statusAddr, tfjsonpath.New("healthy_replicas"), knownvalue.Int64Exact(2)),
			statecheck.ExpectKnownValue(statusAddr, tfjsonpath.New("healthy"), knownvalue.Bool(true)),
			statecheck.ExpectKnownValue(statusAddr, tfjsonpath.New("recent_errors"), knownvalue.ListExact([]knownvalue.Check{})),
			statecheck.ExpectKnownValue(statusAddr, tfjsonpath.New("update_state"), updateState),
			statecheck.ExpectKnownValue(statusAddr, tfjsonpath.New("summary"), knownvalue.StringExact(fmt.Sprintf("service %s: 2 of 2 replicas healthy", name))),
		}
	}
	checks := func(updateState knownvalue.Check) []statecheck.StateCheck {
		c := append(sameAsResource(t, "data.swarm_service.by_id"), sameAsResource(t, "data.swarm_service.by_name")...)
		return append(c, status(updateState)...)
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:            dataServiceConfig(name, dataServiceBody(img, "v1")),
				ConfigStateChecks: checks(knownvalue.Null()),
			},
			{
				// A rolling update: the data sources are read after it, and still match.
				Config: dataServiceConfig(name, dataServiceBody(img, "v2")),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(svcAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: checks(knownvalue.StringExact("completed")),
			},
		},
	})
}

// A service that is not there is an error at the attribute that named it; giving both id and
// name, or neither, is refused before anything is read.
func TestAccDataSourceService_notFound(t *testing.T) {
	acctest.Parallel(t)
	missing := acctest.Name("ds-missing")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      fmt.Sprintf("provider \"swarm\" {}\ndata \"swarm_service\" \"x\" {\n  name = %q\n}\n", missing),
				ExpectError: acctest.ErrorPattern(`Service Not Found.*Attribute name: The swarm has no service named "` + missing + `"`),
			},
			{
				Config:      "provider \"swarm\" {}\ndata \"swarm_service_status\" \"x\" {\n  id = \"0123456789abcdefghijklmno\"\n}\n",
				ExpectError: acctest.ErrorPattern(`Service Not Found.*Attribute id: The swarm has no service with ID 0123456789abcdefghijklmno`),
			},
			{
				Config:      fmt.Sprintf("provider \"swarm\" {}\ndata \"swarm_service\" \"x\" {\n  id = \"abc\"\n  name = %q\n}\n", missing),
				ExpectError: acctest.ErrorWords("Invalid Attribute Combination"),
			},
			{
				Config:      "provider \"swarm\" {}\ndata \"swarm_service_status\" \"x\" {}\n",
				ExpectError: acctest.ErrorPattern(`Missing Attribute Configuration.*Exactly one of these attributes must be configured: \[id,name\]`),
			},
		},
	})
}
