package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

var testAccProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"swarm": func() (tfprotov6.ProviderServer, error) { return ProtocolServer("test")(), nil },
}

// testAccPreCheck makes sure the test images that scripts/swarm-up.sh builds are known.
func testAccPreCheck(t *testing.T) {
	t.Helper()
	acctest.Env(t, "TEST_IMAGE")
	acctest.Env(t, "TEST_IMAGE_V2")
}
