package provider

import (
	"fmt"
	"regexp"
	"sort"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

// The secret and config data sources read metadata only: no attribute may hold a value.
func TestObjectDataSourcesHoldNoData(t *testing.T) {
	for _, ds := range []datasource.DataSource{NewSecretDataSource(), NewConfigDataSource()} {
		s := dataSourceSchema(t, ds)
		var names []string
		for name, a := range s.Attributes {
			names = append(names, name)
			if a.IsSensitive() {
				t.Errorf("%T: %s is sensitive: a metadata attribute should not need to be", ds, name)
			}
		}
		sort.Strings(names)
		for _, name := range names {
			if regexp.MustCompile(`^data($|_wo)`).MatchString(name) {
				t.Errorf("%T has an attribute %q for the value", ds, name)
			}
		}
	}
}

// stackObjects are a network, a rotating secret and a config made by their resources, and the
// data sources that read them back by each selector.
func stackObjects(net, secretPrefix, cfgName, secretValue string) string {
	return fmt.Sprintf(`
provider "swarm" {}

resource "swarm_network" "test" {
  name     = %q
  internal = true
  labels   = { tier = "store" }
  ipam     = [{ subnet = "10.231.8.0/24" }]
}

resource "swarm_secret" "test" {
  name_prefix = %q
  data        = %q
  labels      = { app = "shop" }
}

resource "swarm_config" "test" {
  name            = %q
  data            = "listen {{ env \"PORT\" }}\n"
  template_driver = "golang"
}

data "swarm_network" "by_name" {
  name = swarm_network.test.name
}

data "swarm_network" "by_id" {
  id = swarm_network.test.id
}

data "swarm_secret" "current" {
  name_prefix = %q
  # Read at apply time when the secret changes, so that the state holds the new version.
  depends_on = [swarm_secret.test]
}

data "swarm_secret" "by_id" {
  id = swarm_secret.test.id
}

data "swarm_config" "by_name" {
  name = swarm_config.test.name
}
`, net, secretPrefix, secretValue, cfgName, secretPrefix)
}

// Networks, secrets and configs read by their data sources hold what their resources hold,
// whatever selector found them; a rotating secret is followed by its name_prefix; lookups of
// objects that do not exist fail at the attribute that named them.
func TestAccDataSourceStackObjects(t *testing.T) {
	acctest.Parallel(t)
	net, prefix, cfgName := acctest.Name("dsnet"), acctest.Name("dssecret")+"-", acctest.Name("dsconfig")
	netChecks := func(ds string) []statecheck.StateCheck {
		var out []statecheck.StateCheck
		for name := range dataSourceSchema(t, NewNetworkDataSource()).Attributes {
			out = append(out, statecheck.CompareValuePairs("swarm_network.test", tfjsonpath.New(name), ds, tfjsonpath.New(name), compare.ValuesSame()))
		}
		return out
	}
	secretChecks := []statecheck.StateCheck{
		statecheck.CompareValuePairs("swarm_secret.test", tfjsonpath.New("id"), "data.swarm_secret.current", tfjsonpath.New("id"), compare.ValuesSame()),
		statecheck.CompareValuePairs("swarm_secret.test", tfjsonpath.New("name"), "data.swarm_secret.current", tfjsonpath.New("name"), compare.ValuesSame()),
		statecheck.CompareValuePairs("swarm_secret.test", tfjsonpath.New("data_hash"), "data.swarm_secret.current", tfjsonpath.New("data_hash"), compare.ValuesSame()),
		statecheck.CompareValuePairs("swarm_secret.test", tfjsonpath.New("labels"), "data.swarm_secret.by_id", tfjsonpath.New("labels"), compare.ValuesSame()),
		statecheck.ExpectKnownValue("data.swarm_secret.current", tfjsonpath.New("name_prefix"), knownvalue.StringExact(prefix)),
		statecheck.ExpectKnownValue("data.swarm_secret.by_id", tfjsonpath.New("created_at"), knownvalue.StringRegexp(regexp.MustCompile(`^\d{4}-\d\d-\d\dT`))),
		statecheck.CompareValuePairs("swarm_config.test", tfjsonpath.New("id"), "data.swarm_config.by_name", tfjsonpath.New("id"), compare.ValuesSame()),
		statecheck.ExpectKnownValue("data.swarm_config.by_name", tfjsonpath.New("template_driver"), knownvalue.StringExact("golang")),
		statecheck.ExpectKnownValue("data.swarm_config.by_name", tfjsonpath.New("name_prefix"), knownvalue.Null()),
		statecheck.ExpectKnownValue("data.swarm_config.by_name", tfjsonpath.New("labels"), knownvalue.Null()),
	}
	rotated := statecheck.CompareValue(compare.ValuesDiffer())
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: stackObjects(net, prefix, cfgName, "first value"),
				ConfigStateChecks: append(append(append(netChecks("data.swarm_network.by_name"), netChecks("data.swarm_network.by_id")...), secretChecks...),
					rotated.AddStateValue("data.swarm_secret.current", tfjsonpath.New("id"))),
			},
			{
				// A new value is a new version: name_prefix finds it.
				Config: stackObjects(net, prefix, cfgName, "second value"),
				ConfigStateChecks: append(secretChecks,
					rotated.AddStateValue("data.swarm_secret.current", tfjsonpath.New("id"))),
			},
			{
				Config: stackObjects(net, prefix, cfgName, "second value") + `
data "swarm_secret" "missing" {
  name_prefix = "no-such-prefix-"
}
`,
				ExpectError: regexp.MustCompile(`Secret Not Found[\s\S]*no-such-prefix-`),
			},
			{
				Config: stackObjects(net, prefix, cfgName, "second value") + `
data "swarm_network" "missing" {
  name = "no-such-network"
}
`,
				ExpectError: regexp.MustCompile(`Network Not Found[\s\S]*no-such-network`),
			},
			{
				Config: stackObjects(net, prefix, cfgName, "second value") + `
data "swarm_config" "missing" {
  id = swarm_config.test.name # a name where an ID belongs
}
`,
				ExpectError: regexp.MustCompile(`Config Not Found`),
			},
		},
	})
}
