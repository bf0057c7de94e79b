package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

var testAccProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"swarm": providerserver.NewProtocol6WithError(New("test")()),
}

// testAccPreCheck makes sure the test images that scripts/swarm-up.sh builds are known.
func testAccPreCheck(t *testing.T) {
	t.Helper()
	acctest.Env(t, "TEST_IMAGE")
	acctest.Env(t, "TEST_IMAGE_V2")
}
