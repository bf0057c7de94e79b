package provider

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

const configAddr = "swarm_config.test"

func configWithService(prefix, service, content string) string {
	return fmt.Sprintf(`
provider "swarm" {}

resource "swarm_config" "test" {
  name_prefix     = %q
  data            = %q
  template_driver = "golang"
}

resource "swarm_service" "test" {
  name    = %q
  image   = %q
  configs = [{ id = swarm_config.test.name, file_name = "/etc/app.conf" }]
  healthcheck    = { test = ["CMD", "/app", "health"], interval = "500ms", timeout = "10s", retries = 3 }
  rolling_update = { order = "start-first", monitor = "1s" }
}
`, prefix, content, service, os.Getenv("TEST_IMAGE"))
}

// A templated config read by a service (referred to by name): the task sees it expanded; new
// content moves the service to a new config and removes the old; the name is known at plan
// time; import reads the content back; a change made outside Terraform shows in the plan.
func TestAccConfig_contentAndRotation(t *testing.T) {
	acctest.Parallel(t)
	prefix, service := acctest.Name("conf")+"-", acctest.Name("confsvc")
	cli := acctest.Docker(t)
	configs := func() []swarm.Config {
		list, err := cli.ConfigList(context.Background(), swarm.ConfigListOptions{Filters: filters.NewArgs(filters.Arg("name", prefix))})
		if err != nil {
			t.Fatal(err)
		}
		return list
	}
	reads := func(want string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			for _, got := range acctest.ReadTaskFile(t, cli, service, "/etc/app.conf") {
				if got != want {
					return fmt.Errorf("the task reads %q, want %q", got, want)
				}
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if left := configs(); len(left) > 0 {
				return fmt.Errorf("%d config(s) left after destroy", len(left))
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: configWithService(prefix, service, "service={{.Service.Name}} v1"),
				Check:  reads("service=" + service + " v1"),
			},
			{
				Config: configWithService(prefix, service, "service={{.Service.Name}} v2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(configAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(configAddr, tfjsonpath.New("name"), knownvalue.StringRegexp(acctest.ErrorPattern("^"+prefix+"[0-9a-f]{10}$"))),
				}},
				Check: resource.ComposeTestCheckFunc(reads("service="+service+" v2"), func(*terraform.State) error {
					if left := configs(); len(left) != 1 {
						return fmt.Errorf("%d configs after the rotation, want 1", len(left))
					}
					if failed := acctest.FailedTasks(t, cli, service); len(failed) > 0 {
						return fmt.Errorf("%d task(s) failed during the rotation", len(failed))
					}
					return nil
				}),
			},
			{ResourceName: configAddr, ImportState: true, ImportStateVerify: true},
		},
	})
}

// A fixed name and new content: the config is replaced (destroy first: the name is taken). A
// config removed outside Terraform is created again.
func TestAccConfig_fixedNameWarns(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("conf-fixed")
	cli := acctest.Docker(t)
	config := func(content string) string {
		return fmt.Sprintf(`
provider "swarm" {}

resource "swarm_config" "test" {
  name = %q
  data = %q
}
`, name, content)
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config("a"), ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownValue(configAddr, tfjsonpath.New("name"), knownvalue.StringExact(name))}},
			{
				Config: config("b"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(configAddr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
			},
			{
				PreConfig: func() {
					if err := cli.ConfigRemove(context.Background(), name); err != nil {
						t.Fatal(err)
					}
				},
				Config: config("b"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(configAddr, plancheck.ResourceActionCreate),
				}},
				Check: func(*terraform.State) error {
					_, _, err := cli.ConfigInspectWithRaw(context.Background(), name)
					return err
				},
			},
		},
	})
}

// A name_prefix config's identity follows its rotation (new content, a new config in place)
// with no identity error; an import block that gives the identity plans no change.
func TestAccIdentity_config(t *testing.T) {
	acctest.IdentityTerraform(t)
	prefix, service := acctest.Name("ident-conf")+"-", acctest.Name("ident-confsvc")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: configWithService(prefix, service, "a = 1"), ConfigStateChecks: acctest.IdentityIs(configAddr, "id", "name")},
			acctest.ImportByIdentity(configAddr),
			{
				Config: configWithService(prefix, service, "a = 2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(configAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: acctest.IdentityIs(configAddr, "id", "name"),
			},
			acctest.ImportByIdentity(configAddr),
		},
	})
}
