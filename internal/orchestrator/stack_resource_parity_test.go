package orchestrator_test

import (
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
	"github.com/swarmform/terraform-provider-swarm/internal/provider"
)

// The compose file of TestStackParity (six services, two networks of which one internal, a
// secret and a config from files, an env_file, healthchecks, resources, placement, update and
// rollback settings, a private image) deployed by `docker stack deploy` and by swarm_stack under
// two stack names: every service spec, network, secret and config compares equal, with the
// differences paritySpec lists. The CLI's stack commands work on swarm_stack's stack: `docker
// stack ls|services|ps` list it, and after `docker stack rm` the next plan creates it again.
func TestAccStackResourceParity(t *testing.T) {
	acctest.SkipUnlessAcc(t)
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("the docker CLI is not on PATH")
	}
	cli := acctest.Docker(t)
	image := acctest.Env(t, "TEST_IMAGE")
	registryImage := acctest.Env(t, "TEST_REGISTRY_IMAGE")
	registry, user, password := acctest.Env(t, "TEST_REGISTRY"), acctest.Env(t, "TEST_REGISTRY_USER"), acctest.Env(t, "TEST_REGISTRY_PASSWORD")

	dir := t.TempDir()
	acctest.WriteFile(t, dir, "docker-compose.yml", orchestrator.ParityCompose)
	acctest.WriteFile(t, dir, "web.env", "ENV_FILE_VALUE=from-env-file\n# a comment\nQUOTED=\"kept as written\"\n")
	acctest.WriteFile(t, dir, "db_password.txt", "s3cret-parity")
	acctest.WriteFile(t, dir, "web.conf", "upstream = http://api:8080\n")
	if err := os.Mkdir(filepath.Join(dir, "docker-config"), 0o700); err != nil {
		t.Fatal(err)
	}
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	acctest.WriteFile(t, dir, "docker-config/config.json", fmt.Sprintf(`{"auths": {%q: {"auth": %q}}}`, registry, auth))
	vars := map[string]string{"IMAGE": image, "REGISTRY_IMAGE": registryImage, "FROM_VARIABLE": "from-variable", "STORE_PORT": fmt.Sprint(acctest.FreePort(t))}

	cliStack, tfStack := acctest.Name("stkpcli"), acctest.Name("stkptf")
	docker := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("docker", args...)
		cmd.Env = append(os.Environ(), "DOCKER_HOST="+acctest.DockerHost(), "DOCKER_CONFIG="+filepath.Join(dir, "docker-config"))
		for k, v := range vars {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	t.Cleanup(func() {
		for _, stack := range []string{cliStack, tfStack} {
			if len(acctest.StackObjects(t, cli, stack)) > 0 {
				docker("stack", "rm", "--detach=false", stack)
			}
		}
	})
	docker("stack", "deploy", "--detach=true", "--with-registry-auth", "-c", filepath.Join(dir, "docker-compose.yml"), cliStack)

	var env []string
	for k, v := range vars {
		env = append(env, fmt.Sprintf("    %s = %q", k, v))
	}
	config := fmt.Sprintf(`
provider "swarm" {
  registry_auth = [{ address = %q, username = %q, password = %q }]
}

resource "swarm_stack" "app" {
  name          = %q
  compose_files = [%q]
  environment = {
%s
  }
}
`, registry, user, password, tfStack, filepath.Join(dir, "docker-compose.yml"), strings.Join(env, "\n"))

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: map[string]func() (tfprotov6.ProviderServer, error){
			"swarm": func() (tfprotov6.ProviderServer, error) { return provider.ProtocolServer("test")(), nil },
		},
		CheckDestroy: func(*terraform.State) error {
			if left := acctest.StackObjects(t, cli, tfStack); len(left) > 0 {
				return fmt.Errorf("destroy left %s", strings.Join(left, ", "))
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(*terraform.State) error {
					names := orchestrator.ObjectNames(t, cli)
					for _, key := range []string{"web", "api", "store", "worker", "monitor", "batch"} {
						want := orchestrator.ParitySpec(t, cli, names, cliStack, key)
						got := orchestrator.ParitySpec(t, cli, names, tfStack, key)
						if diff := cmp.Diff(want, got); diff != "" {
							t.Errorf("service %s: swarm_stack's spec differs from docker stack deploy's (-cli +swarm_stack):\n%s", key, diff)
						}
					}
					for _, key := range []string{"front", "back"} {
						if diff := cmp.Diff(orchestrator.ParityNetwork(t, cli, cliStack, key), orchestrator.ParityNetwork(t, cli, tfStack, key)); diff != "" {
							t.Errorf("network %s differs (-cli +swarm_stack):\n%s", key, diff)
						}
					}
					for _, kind := range []orchestrator.ObjectKind{orchestrator.KindSecret, orchestrator.KindConfig} {
						if diff := cmp.Diff(orchestrator.ParityObjects(t, cli, kind, cliStack), orchestrator.ParityObjects(t, cli, kind, tfStack)); diff != "" {
							t.Errorf("%ss differ (-cli +swarm_stack):\n%s", kind, diff)
						}
					}
					if ls := docker("stack", "ls", "--format", "{{.Name}} {{.Services}}"); !strings.Contains(ls, tfStack+" 6\n") {
						return fmt.Errorf("docker stack ls does not list %s with 6 services:\n%s", tfStack, ls)
					}
					if ps := docker("stack", "ps", "--format", "{{.Name}}", tfStack); !strings.Contains(ps, tfStack+"_web.1") {
						return fmt.Errorf("docker stack ps does not list web's task:\n%s", ps)
					}
					return nil
				},
			},
			{
				// docker stack rm removes it whole; the next plan creates it again.
				PreConfig: func() {
					docker("stack", "rm", "--detach=false", tfStack)
					// A node lists a removed network for a few seconds more.
					acctest.Eventually(t, time.Minute, "stack "+tfStack+" gone", func() (bool, string, error) {
						left := acctest.StackObjects(t, cli, tfStack)
						return len(left) == 0, "left: " + strings.Join(left, ", "), nil
					})
				},
				Config:             config,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
	})
}
