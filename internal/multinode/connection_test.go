package multinode_test

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

// The provider pointed at a worker says it is not a manager and where to point it instead;
// pointed at an engine outside swarm mode, it says that. Both fail when the provider is
// configured, before anything is planned.
func TestAccProvider_notAManagerAndNotInSwarmMode(t *testing.T) {
	c := acctest.MultiNode(t)
	spare := c.Spare(t)
	config := func(host string) string {
		return providerBlock(host) + service("test", acctest.Name("conn"), fmt.Sprintf("  image = %q", c.Image))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []resource.TestStep{
			{
				Config:      config(c.Workers[0].Host),
				PlanOnly:    true,
				ExpectError: acctest.ErrorPattern(`Docker node is not a swarm manager .*the engine at ` + c.Workers[0].Host + ` is a worker; point host at a manager node`),
			},
			{
				Config:      config(spare.Host),
				PlanOnly:    true,
				ExpectError: acctest.ErrorPattern(`Docker engine not in swarm mode .*the engine at ` + spare.Host + ` is not part of a swarm; run .docker swarm init. there, or point host at a manager`),
			},
		},
	})
}
