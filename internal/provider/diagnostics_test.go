package provider

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"testing"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

// A name taken outside Terraform (a service, network, secret or config made with the Docker
// API) fails the apply with the same words for every kind: what exists (kind, name, ID, when it was made),
// the import block and the terraform import command that take it into state, or another name.
// The object is left as it was. Where the configuration can manage the object as it is (a
// network, a config), the import block it names completes the next apply, and the plan after
// it is empty.
func TestAccNameTakenOutsideTerraform(t *testing.T) {
	acctest.Parallel(t)
	cli := acctest.Docker(t)
	ctx := context.Background()
	tests := []struct {
		kind string
		// make creates the object with the Docker API and returns its ID.
		make func(t *testing.T, name string) string
		// exists says whether the object still has this ID.
		exists func(name, id string) bool
		body   string
		// importable: the configuration manages the object as it is, so an import plans nothing.
		importable bool
	}{
		{"network", func(t *testing.T, name string) string { return createNetwork(t, cli, name, network.CreateOptions{}) },
			func(name, id string) bool {
				n, err := cli.NetworkInspect(ctx, name, network.InspectOptions{Scope: "swarm"})
				return err == nil && n.ID == id
			}, "", true},
		{"service", func(t *testing.T, name string) string {
			one := uint64(1)
			resp, err := cli.ServiceCreate(ctx, swarm.ServiceSpec{Annotations: swarm.Annotations{Name: name},
				TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: acctest.Env(t, "TEST_IMAGE")}},
				Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &one}}}, swarm.ServiceCreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			acctest.RemoveServiceAtCleanup(t, cli, name)
			return resp.ID
		}, func(name, id string) bool {
			svc, _, err := cli.ServiceInspectWithRaw(ctx, name, swarm.ServiceInspectOptions{})
			return err == nil && svc.ID == id
		}, fmt.Sprintf("  image = %q", os.Getenv("TEST_IMAGE")), false},
		{"secret", func(t *testing.T, name string) string {
			resp, err := cli.SecretCreate(ctx, swarm.SecretSpec{Annotations: swarm.Annotations{Name: name}, Data: []byte("made by hand")})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cli.SecretRemove(context.Background(), resp.ID) })
			return resp.ID
		}, func(name, id string) bool {
			s, _, err := cli.SecretInspectWithRaw(ctx, name)
			return err == nil && s.ID == id
		}, `  data = "made by hand"`, false},
		{"config", func(t *testing.T, name string) string {
			resp, err := cli.ConfigCreate(ctx, swarm.ConfigSpec{Annotations: swarm.Annotations{Name: name}, Data: []byte("made by hand")})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cli.ConfigRemove(context.Background(), resp.ID) })
			return resp.ID
		}, func(name, id string) bool {
			c, _, err := cli.ConfigInspectWithRaw(ctx, name)
			return err == nil && c.ID == id
		}, `  data = "made by hand"`, true},
	}
	for _, tc := range tests {
		t.Run(tc.kind, func(t *testing.T) {
			acctest.Parallel(t)
			name := acctest.Name("taken-" + tc.kind)
			id := tc.make(t, name)
			address := "swarm_" + tc.kind + ".test"
			config := fmt.Sprintf("provider \"swarm\" {}\n\nresource \"swarm_%s\" \"test\" {\n  name = %q\n%s\n}\n", tc.kind, name, tc.body)
			title := map[string]string{"service": "Service", "network": "Network", "secret": "Secret", "config": "Config"}[tc.kind]
			steps := []resource.TestStep{{
				Config: config,
				ExpectError: acctest.ErrorPattern(title + ` Already Exists.*Creating ` + tc.kind + ` "?` + name + `"?: a ` + tc.kind + ` named "` + name + `" already exists in the swarm ` +
					`\(ID ` + id + `, created \d{4}-\d\d-\d\dT[\d:]+Z\), and Swarm refuses a second one of that name\..*` +
					`import \{ to = swarm_` + tc.kind + `\.<name> id = "` + id + `" \}.*` + regexp.QuoteMeta("`terraform import swarm_"+tc.kind+".<name> "+id+"`") +
					`.*Otherwise choose another name\.`),
			}}
			if tc.importable {
				steps = append(steps, resource.TestStep{
					Config: config + acctest.ImportBlock(address, id),
					Check: func(*terraform.State) error {
						if !tc.exists(name, id) {
							return fmt.Errorf("the %s %s was replaced by the import", tc.kind, id)
						}
						return nil
					},
				})
			}
			resource.Test(t, resource.TestCase{
				PreCheck:                 func() { testAccPreCheck(t) },
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps:                    steps,
			})
			if !tc.importable && !tc.exists(name, id) {
				t.Errorf("the %s %s made outside Terraform is gone or changed", tc.kind, id)
			}
		})
	}
}
