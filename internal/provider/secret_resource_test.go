package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

const secretAddr = "swarm_secret.test"

// secretWithService is a rotating secret (name_prefix, write-only value) and a service that
// reads it as /run/secrets/db: two replicas, start-first, so the rotation never takes the
// service down.
func secretWithService(prefix, service, value, labels string) string {
	return fmt.Sprintf(`
provider "swarm" {}

resource "swarm_secret" "test" {
  name_prefix = %q
  data_wo     = %q
  labels      = %s
}

resource "swarm_service" "test" {
  name     = %q
  image    = %q
  replicas = 2
  secrets  = [{ id = swarm_secret.test.id, file_name = "db", mode = "0400" }]
  healthcheck    = { test = ["CMD", "/app", "health"], interval = "500ms", timeout = "10s", retries = 3 }
  rolling_update = { order = "start-first", parallelism = 1, monitor = "1s" }
}
`, prefix, value, labels, service, os.Getenv("TEST_IMAGE"))
}

// secretsWithPrefix lists the secrets whose name starts with prefix.
func secretsWithPrefix(t *testing.T, cli *client.Client, prefix string) []swarm.Secret {
	t.Helper()
	list, err := cli.SecretList(context.Background(), swarm.SecretListOptions{Filters: filters.NewArgs(filters.Arg("name", prefix))})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// A new value under a running service: a new secret named after it, the service moves to it
// in one rolling update with no failed task, the old secret is gone after the apply, every
// task reads the new value, and the plan after it is empty. Labels change in place; import
// by name gives the same secret; destroy leaves no version behind.
func TestAccSecret_rotationUnderRunningService(t *testing.T) {
	acctest.Parallel(t)
	prefix, service := acctest.Name("sec")+"-", acctest.Name("secsvc")
	cli := acctest.Docker(t)
	changed := statecheck.CompareValue(compare.ValuesDiffer())
	var firstID string
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if left := secretsWithPrefix(t, cli, prefix); len(left) > 0 {
				return fmt.Errorf("%d secret(s) left after destroy, e.g. %s", len(left), left[0].Spec.Name)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: secretWithService(prefix, service, "first-value", `{ team = "a" }`),
				ConfigStateChecks: []statecheck.StateCheck{
					changed.AddStateValue(secretAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(secretAddr, tfjsonpath.New("name"), knownvalue.StringRegexp(acctest.ErrorPattern("^"+prefix+"[0-9a-f]{10}$"))),
					statecheck.ExpectKnownValue(secretAddr, tfjsonpath.New("data_wo"), knownvalue.Null()),
				},
				Check: func(s *terraform.State) error {
					firstID = s.RootModule().Resources[secretAddr].Primary.ID
					for _, got := range acctest.ReadTaskFile(t, cli, service, "/run/secrets/db") {
						if got != "first-value" {
							return fmt.Errorf("a task reads %q", got)
						}
					}
					return nil
				},
			},
			{
				Config: secretWithService(prefix, service, "second-value", `{ team = "a" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(secretAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(svcAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue(secretAddr, tfjsonpath.New("id")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{changed.AddStateValue(secretAddr, tfjsonpath.New("id"))},
				Check: func(*terraform.State) error {
					for _, got := range acctest.ReadTaskFile(t, cli, service, "/run/secrets/db") {
						if got != "second-value" {
							return fmt.Errorf("after the rotation a task reads %q", got)
						}
					}
					if failed := acctest.FailedTasks(t, cli, service); len(failed) > 0 {
						return fmt.Errorf("%d task(s) failed during the rotation: %s", len(failed), failed[0].Status.Err)
					}
					left := secretsWithPrefix(t, cli, prefix)
					if len(left) != 1 || left[0].ID == firstID {
						return fmt.Errorf("after the rotation the secrets are %v; want only the new one", names(left))
					}
					return nil
				},
			},
			{
				Config: secretWithService(prefix, service, "second-value", `{ team = "b" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(secretAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(svcAddr, plancheck.ResourceActionNoop),
				}},
				Check: func(*terraform.State) error {
					left := secretsWithPrefix(t, cli, prefix)
					if len(left) != 1 || left[0].Spec.Labels["team"] != "b" {
						return fmt.Errorf("labels not changed in place: %+v", left)
					}
					return nil
				},
			},
			{
				// Labels changed outside Terraform are put back.
				PreConfig: func() {
					s := secretsWithPrefix(t, cli, prefix)[0]
					s.Spec.Labels["team"] = "changed-by-hand"
					if err := cli.SecretUpdate(context.Background(), s.ID, s.Version, s.Spec); err != nil {
						t.Fatal(err)
					}
				},
				Config: secretWithService(prefix, service, "second-value", `{ team = "b" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(secretAddr, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					if got := secretsWithPrefix(t, cli, prefix)[0].Spec.Labels["team"]; got != "b" {
						return fmt.Errorf("label after the apply: %q", got)
					}
					return nil
				},
			},
			{
				ResourceName: secretAddr, ImportState: true, ImportStateVerify: true,
				// Swarm never gives a secret's value back; the write-only value is never stored.
				ImportStateVerifyIgnore: []string{"data_wo"},
			},
		},
	})
}

func names(list []swarm.Secret) []string {
	var out []string
	for _, s := range list {
		out = append(out, s.Spec.Name)
	}
	return out
}

// A secret's value appears nowhere Terraform writes. With data_wo (write-only, from an
// ephemeral variable) that is everywhere: plan output, saved plan, state, the provider's trace
// log, diagnostics. With data (sensitive) Terraform itself keeps the value in state and in a
// saved plan, as it does every sensitive value; plan and apply output, the trace log and the
// diagnostics still never show it.
func TestAccSecret_valueNeverShown(t *testing.T) {
	acctest.Parallel(t)
	for _, tc := range []struct {
		attr, variable string
		stored         bool // Terraform keeps the value in state and saved plans
	}{
		{attr: "data_wo", variable: "ephemeral = true\n  sensitive = true"},
		{attr: "data", variable: "sensitive = true", stored: true},
	} {
		t.Run(tc.attr, func(t *testing.T) {
			value := "n3ver-Shown-" + tc.attr + "-0f4c2a" // distinctive, so a match is no accident
			name := acctest.Name("secret-hidden")
			logPath := filepath.Join(t.TempDir(), "trace.log")
			// Two secrets of the same name: the second fails, so an error message is searched
			// too. The value comes in as a variable, as it does in real use (a literal would
			// show in the configuration's own JSON, whatever the provider does).
			tf := acctest.NewTerraform(t, fmt.Sprintf(`provider "swarm" {}

variable "secret_value" {
  type      = string
  %[3]s
}

resource "swarm_secret" "test" {
  name    = %[1]q
  %[2]s = var.secret_value
}

resource "swarm_secret" "clash" {
  name       = %[1]q
  %[2]s = var.secret_value
  depends_on = [swarm_secret.test]
}
`, name, tc.attr, tc.variable))
			tf.SetEnv("TF_VAR_secret_value", value)
			run := func(args ...string) string {
				out, _ := tf.Run(context.Background(), args...)
				return out
			}
			tf.SetEnv("TF_LOG_PROVIDER", "trace")
			tf.SetEnv("TF_LOG_PATH", logPath)
			outputs := map[string]string{
				"plan":  run("plan", "-no-color", "-out", "plan.bin"),
				"apply": run("apply", "-no-color", "plan.bin"),
				"show":  run("show", "-no-color"),
			}
			if !tc.stored {
				outputs["show -json"] = run("show", "-no-color", "-json")
				if b, err := tf.Command(context.Background(), "show", "-json", "plan.bin").Output(); err == nil {
					outputs["saved plan"] = string(b)
				}
				for _, f := range []string{"terraform.tfstate", "plan.bin"} {
					if b, err := os.ReadFile(filepath.Join(tf.Dir, f)); err == nil {
						outputs[f] = string(b)
					}
				}
			}
			logs, err := os.ReadFile(logPath)
			if err != nil || len(logs) == 0 {
				t.Fatalf("no trace log was written (%v): the test would prove nothing", err)
			}
			outputs["trace log"] = string(logs)
			for where, text := range outputs {
				if strings.Contains(text, value) {
					t.Errorf("the secret's value appears in the %s", where)
				}
			}
			if !strings.Contains(outputs["apply"], "Error") {
				t.Fatalf("the second secret should have failed:\n%s", outputs["apply"])
			}
			if len(secretsWithPrefix(t, acctest.Docker(t), name)) != 1 {
				t.Error("the secret was not created")
			}
		})
	}
}
