package provider

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
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
	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

const secretAddr = "swarm_secret.test"

// secretWithService is a rotating secret (name_prefix, write-only value) and a service that
// reads it as /run/secrets/db: two replicas, start-first, so the rotation never takes the
// service down.
func secretWithService(prefix, service, value string, version int, labels string) string {
	return fmt.Sprintf(`
provider "swarm" {}

resource "swarm_secret" "test" {
  name_prefix     = %q
  data_wo         = %q
  data_wo_version = %d
  labels          = %s
}

resource "swarm_service" "test" {
  name     = %q
  image    = %q
  replicas = 2
  secrets  = [{ id = swarm_secret.test.id, file_name = "db", mode = "0400" }]
  healthcheck    = { test = ["CMD", "/app", "health"], interval = "500ms", timeout = "10s", retries = 3 }
  rolling_update = { order = "start-first", parallelism = 1, monitor = "1s" }
}
`, prefix, value, version, labels, service, os.Getenv("TEST_IMAGE"))
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

// A new value (a raised data_wo_version) under a running service: a new secret, the service moves to it
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
				Config: secretWithService(prefix, service, "first-value", 1, `{ team = "a" }`),
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
				Config: secretWithService(prefix, service, "second-value", 2, `{ team = "a" }`),
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
				Config: secretWithService(prefix, service, "second-value", 2, `{ team = "b" }`),
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
				Config: secretWithService(prefix, service, "second-value", 2, `{ team = "b" }`),
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
				// The version is read back from the secret's label, so the import verifies whole.
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

// A write-only value leaves nothing in state that could confirm a guess of it: no hash in
// data_hash, no hash key in private state, no name derived from it. A new value is told by
// data_wo_version alone: a changed data_wo with the same version plans nothing, a raised version
// makes a new secret (and the old one goes). An import reads the version back from the
// secret's label and plans no change.
func TestAccSecret_writeOnlyKeepsNothing(t *testing.T) {
	acctest.Parallel(t)
	prefix := acctest.Name("secwo") + "-"
	cli := acctest.Docker(t)
	config := func(version int, extra string) string {
		return fmt.Sprintf(`provider "swarm" {}

variable "value" {
  type      = string
  ephemeral = true
}

resource "swarm_secret" "test" {
  name_prefix     = %q
  data_wo         = var.value
  data_wo_version = %d
}
%s`, prefix, version, extra)
	}
	tf := acctest.NewTerraform(t, config(1, ""))
	run := func(value string, args ...string) (string, error) {
		tf.SetEnv("TF_VAR_value", value) // the destroy at the end takes the last one
		return tf.Run(context.Background(), append(args, "-no-color", "-input=false")...)
	}
	apply := func(value string) {
		t.Helper()
		if out, err := run(value, "apply", "-auto-approve"); err != nil {
			t.Fatalf("apply: %v\n%s", err, out)
		}
	}
	planIsEmpty := func(value, why string) {
		t.Helper()
		out, err := run(value, "plan", "-detailed-exitcode")
		if err != nil {
			t.Fatalf("%s: the plan is not empty (%v):\n%s", why, err, out)
		}
	}
	keepsNothing := func(value string) swarm.Secret {
		t.Helper()
		raw := tf.Raw(t, secretAddr)
		if raw.Attributes["data_hash"] != nil {
			t.Errorf("state keeps data_hash = %v for a write-only value", raw.Attributes["data_hash"])
		}
		for key := range raw.Private {
			if key == "hash_key" {
				t.Error("private state keeps a hash key for a write-only value")
			}
		}
		state, err := os.ReadFile(filepath.Join(tf.Dir, "terraform.tfstate"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(state), value) {
			t.Error("the state file holds the value")
		}
		list := secretsWithPrefix(t, cli, prefix)
		if len(list) != 1 {
			t.Fatalf("secrets %v, want one", names(list))
		}
		if _, ok := list[0].Spec.Labels["swarmform.data-hash"]; ok {
			t.Errorf("the secret carries a hash of its write-only value: %v", list[0].Spec.Labels)
		}
		return list[0]
	}

	apply("first-value")
	first := keepsNothing("first-value")
	if got := first.Spec.Labels["swarmform.data-version"]; got != "1" {
		t.Errorf("the secret's version label is %q, want 1", got)
	}
	planIsEmpty("another-value", "data_wo changed without a new data_wo_version")

	tf.Configure(t, config(2, ""))
	out, err := run("second-value", "plan", "-detailed-exitcode")
	if err == nil || !strings.Contains(out, "1 to change") {
		t.Fatalf("a raised data_wo_version should plan an update in place:\n%s", out)
	}
	apply("second-value")
	second := keepsNothing("second-value")
	if second.ID == first.ID || second.Spec.Name == first.Spec.Name {
		t.Errorf("a raised data_wo_version kept the secret %s", first.Spec.Name)
	}
	planIsEmpty("second-value", "after the new version")

	// Forgotten and imported by name: the version comes back from the label.
	if out, err := tf.Run(context.Background(), "state", "rm", secretAddr); err != nil {
		t.Fatalf("state rm: %v\n%s", err, out)
	}
	tf.Configure(t, config(2, acctest.ImportBlock(secretAddr, second.Spec.Name)))
	out, err = run("second-value", "plan")
	if err != nil || !strings.Contains(out, "1 to import, 0 to add, 0 to change, 0 to destroy") {
		t.Fatalf("the import should change nothing (%v):\n%s", err, out)
	}
	apply("second-value")
	keepsNothing("second-value")
}

// A state written before write-only values kept nothing (schema version 0: a keyed hash of
// the value in data_hash, its key in private state) upgrades to one that keeps neither, with
// no change planned and the same secret kept.
func TestAccSecret_writeOnlyStateUpgrade(t *testing.T) {
	acctest.Parallel(t)
	prefix := acctest.Name("secv0") + "-"
	cli := acctest.Docker(t)
	const value = "v0-value-9d1e"
	// What version 0 wrote: a random key, the value's keyed hash with its version, a secret
	// named after the hash.
	key := []byte("0123456789abcdef0123456789abcdef")
	hash := orchestrator.DataHash(key, []byte(value), "1", "")
	name := orchestrator.VersionName(prefix, hash)
	resp, err := cli.SecretCreate(context.Background(), swarm.SecretSpec{
		Annotations: swarm.Annotations{Name: name, Labels: map[string]string{"swarmform.rotation": prefix, "swarmform.data-hash": hash}},
		Data:        []byte(value),
	})
	if err != nil {
		t.Fatal(err)
	}
	tf := acctest.NewTerraform(t, fmt.Sprintf(`provider "swarm" {}

resource "swarm_secret" "test" {
  name_prefix     = %q
  data_wo         = %q
  data_wo_version = 1
}
`, prefix, value))
	private, _ := json.Marshal(map[string][]byte{"hash_key": fmt.Appendf(nil, "%q", hex.EncodeToString(key))})
	attrs, _ := json.Marshal(map[string]any{"id": resp.ID, "name": name, "name_prefix": prefix, "labels": nil, "data": nil, "data_wo": nil, "data_wo_version": 1, "data_hash": hash})
	state := fmt.Sprintf(`{"version": 4, "terraform_version": "1.11.4", "serial": 1, "lineage": "0b9c6b3e-0000-4000-8000-000000000001", "outputs": {},
  "resources": [{"mode": "managed", "type": "swarm_secret", "name": "test", "provider": "provider[\"registry.terraform.io/swarmform/swarm\"]",
    "instances": [{"schema_version": 0, "attributes": %s, "sensitive_attributes": [], "private": %q}]}]}`, attrs, base64.StdEncoding.EncodeToString(private))
	if err := os.WriteFile(filepath.Join(tf.Dir, "terraform.tfstate"), []byte(state), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := tf.Run(context.Background(), "plan", "-detailed-exitcode", "-no-color"); err != nil {
		t.Fatalf("the upgraded state should plan no change (%v):\n%s", err, out)
	}
	if out, err := tf.Run(context.Background(), "apply", "-refresh-only", "-auto-approve", "-no-color"); err != nil {
		t.Fatalf("refresh: %v\n%s", err, out)
	}
	raw := tf.Raw(t, secretAddr)
	if raw.SchemaVersion != 1 || raw.Attributes["data_hash"] != nil || raw.Attributes["id"] != resp.ID {
		t.Errorf("after the upgrade: schema version %d, data_hash %v, id %v; want 1, null, %s", raw.SchemaVersion, raw.Attributes["data_hash"], raw.Attributes["id"], resp.ID)
	}
	if _, ok := raw.Private["hash_key"]; ok {
		t.Error("private state still keeps the hash key")
	}
	b, _ := os.ReadFile(filepath.Join(tf.Dir, "terraform.tfstate"))
	if strings.Contains(string(b), hash) || strings.Contains(string(b), hex.EncodeToString(key)) {
		t.Error("the state file still holds the hash or its key")
	}
}

// A name_prefix secret's identity follows its rotation: a new value under a running service
// makes a new secret in place, and the identity names the new one (ID and name) with no
// identity error; an import block that gives the identity plans no change.
func TestAccIdentity_secretRotation(t *testing.T) {
	acctest.IdentityTerraform(t)
	prefix, service := acctest.Name("ident-sec")+"-", acctest.Name("ident-secsvc")
	changed := statecheck.CompareValue(compare.ValuesDiffer())
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:            secretWithService(prefix, service, "first-value", 1, `{ team = "a" }`),
				ConfigStateChecks: append(acctest.IdentityIs(secretAddr, "id", "name"), changed.AddStateValue(secretAddr, tfjsonpath.New("id"))),
			},
			acctest.ImportByIdentity(secretAddr),
			{
				Config: secretWithService(prefix, service, "second-value", 2, `{ team = "a" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(secretAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: append(acctest.IdentityIs(secretAddr, "id", "name"), changed.AddStateValue(secretAddr, tfjsonpath.New("id"))),
			},
			acctest.ImportByIdentity(secretAddr),
		},
	})
}
