package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

// Secret, config and network input that Swarm would refuse, or that could not stay as written,
// fails at plan time with the attribute path, without a swarm. A secret's value is never quoted.
func TestObjectValidation(t *testing.T) {
	acctest.Parallel(t)
	tests := []struct{ name, config, want string }{
		{"reserved secret label", `resource "swarm_secret" "test" {
  name   = "s"
  data   = "x"
  labels = { "swarmform.x" = "1" }
}`, `Reserved Label.*Attribute labels\["swarmform.x"\]: Label "swarmform.x" starts with "swarmform."`},
		{"reserved config label", `resource "swarm_config" "test" {
  name   = "c"
  data   = "x"
  labels = { "swarmform.rotation" = "c-" }
}`, `Reserved Label.*labels\["swarmform.rotation"\]`},
		{"reserved network label", `resource "swarm_network" "test" {
  name   = "n"
  labels = { "swarmform.owner" = "me" }
}`, `Reserved Label.*labels\["swarmform.owner"\]`},
		{"negative data_wo_version", `resource "swarm_secret" "test" {
  name            = "s"
  data_wo         = "x"
  data_wo_version = -1
}`, `Attribute data_wo_version value must be at least 0, got: -1`},
		{"empty secret", `resource "swarm_secret" "test" {
  name = "s"
  data = ""
}`, `Invalid Secret Size.*Attribute data: a secret cannot be empty`},
		{"secret too large", `resource "swarm_secret" "test" {
  name = "s"
  data = format("%0512000d", 7)
}`, `Invalid Secret Size.*Attribute data: the content is 512000 bytes; Swarm takes a secret of fewer than 512000 bytes \(500 KB\)`},
		{"write-only secret too large", `resource "swarm_secret" "test" {
  name    = "s"
  data_wo = format("%0600000d", 7)
}`, `Invalid Secret Size.*Attribute data_wo: the content is 600000 bytes`},
		{"config too large", `resource "swarm_config" "test" {
  name = "c"
  data = format("%01024000d", 7)
}`, `Invalid Config Size.*Attribute data: the content is 1024000 bytes; Swarm takes a config of fewer than 1024000 bytes \(1000 KB\)`},
		{"config template that does not parse", `resource "swarm_config" "test" {
  name            = "c"
  data            = "upstream {{ .Service.Name }"
  template_driver = "golang"
}`, `Invalid Config Template.*Attribute data: the content is not a Go template that the golang driver can expand: config:1: unexpected "}" in operand`},
		{"config template with an unknown function", `resource "swarm_config" "test" {
  name            = "c"
  data            = "{{ secrett \"db\" }}"
  template_driver = "golang"
}`, `Invalid Config Template.*function "secrett" not defined`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      "provider \"swarm\" {}\n\n" + tc.config + "\n",
					PlanOnly:    true,
					ExpectError: acctest.ErrorPattern(tc.want),
				}},
			})
		})
	}
}
