package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

// dockerCLI runs the docker CLI against the test swarm, as a person would.
func dockerCLI(t *testing.T, stdin string, args ...string) {
	t.Helper()
	cmd := exec.Command("docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+acctest.DockerHost())
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// A service made with `docker service create` (a network with an alias, a secret, a config, a
// volume mount, and fields swarm_service does not model: a TTY, a bind mount's non-recursive
// option) is adopted with an import block. The first plan shows exactly
// the modelled differences (a changed env, the config and the sysctl the configuration leaves
// out) and warns once about the unmodelled fields; the apply changes just that and keeps
// everything else; the plan after it is empty and warns no more.
func TestAccService_adoptFromDockerCLI(t *testing.T) {
	acctest.Parallel(t)
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker CLI on PATH")
	}
	name := acctest.Name("adopt")
	cli := acctest.Docker(t)
	net, secret, config, volume := name+"-net", name+"-secret", name+"-config", name+"-vol"
	dockerCLI(t, "", "network", "create", "--driver", "overlay", net)
	dockerCLI(t, "s3cret", "secret", "create", secret, "-")
	dockerCLI(t, "conf", "config", "create", config, "-")
	t.Cleanup(func() {
		ctx := context.Background()
		_ = cli.ServiceRemove(ctx, name) // normally destroyed by terraform already
		// The service's tasks hold the network, secret and volume until they are gone.
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
			if cli.NetworkRemove(ctx, net) == nil || !networkExists(cli, net) {
				break
			}
		}
		_ = cli.SecretRemove(ctx, secret)
		_ = cli.ConfigRemove(ctx, config)
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
			if cli.VolumeRemove(ctx, volume, true) == nil {
				break
			}
		}
	})
	dockerCLI(t, "", "service", "create", "--detach", "--no-resolve-image", "--name", name,
		"--network", "name="+net+",alias=db",
		"--secret", "source="+secret+",target=token",
		"--config", "source="+config+",target=/etc/app.conf",
		"--mount", "type=volume,source="+volume+",target=/data,volume-nocopy=true",
		"--mount", "type=bind,source=/etc,target=/hostetc,readonly,bind-recursive=disabled",
		"--tty", "--sysctl", "net.core.somaxconn=1024", "--stop-grace-period", "7s",
		"--env", "MODE=one", "--label", "team=a",
		os.Getenv("TEST_IMAGE"))
	before := acctest.InspectService(t, cli, name)

	tf := acctest.NewTerraform(t, fmt.Sprintf(`provider "swarm" {}

import {
  to = swarm_service.adopted
  id = %[1]q
}

resource "swarm_service" "adopted" {
  name              = %[1]q
  image             = %[2]q
  labels            = { team = "a" }
  env               = { MODE = "two" }
  stop_grace_period = "7s"
  networks          = [{ id = %[3]q, aliases = ["db"] }]
  secrets           = [{ id = %[4]q, file_name = "token" }]
  mounts = [
    { type = "volume", source = %[5]q, target = "/data", no_copy = true },
    { type = "bind", source = "/etc", target = "/hostetc", read_only = true },
  ]
}
`, name, os.Getenv("TEST_IMAGE"), net, secret, volume))
	ctx := context.Background()
	planOut, err := tf.Run(ctx, "plan", "-no-color", "-input=false", "-out", "adopt.plan")
	if err != nil {
		t.Fatalf("plan: %v\n%s", err, planOut)
	}
	// The warning names each unmodelled field, once.
	if n := strings.Count(planOut, "Fields the Configuration Does Not Manage"); n != 1 {
		t.Errorf("the plan warns %d times about unmodelled fields, want once:\n%s", n, planOut)
	}
	for _, field := range []string{"ContainerSpec.TTY", "Mounts[/hostetc].BindOptions"} {
		if !strings.Contains(planOut, field) {
			t.Errorf("the plan's warning does not name %s:\n%s", field, planOut)
		}
	}
	// Exactly the modelled differences are planned.
	changed := plannedChanges(t, tf, "adopt.plan", "swarm_service.adopted")
	// (The service's version and rollout state are known after the apply.)
	want := []string{"configs", "env", "running_replicas (unknown)", "sysctls", "update_state (unknown)", "version (unknown)"}
	if !reflect.DeepEqual(changed, want) {
		t.Errorf("the adopting plan changes %v, want %v\n%s", changed, want, planOut)
	}
	if out, err := tf.Run(ctx, "apply", "-no-color", "-input=false", "adopt.plan"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}

	after := acctest.InspectService(t, cli, name)
	if after.ID != before.ID {
		t.Fatalf("the service was replaced (%s -> %s)", before.ID, after.ID)
	}
	cs, was := after.Spec.TaskTemplate.ContainerSpec, before.Spec.TaskTemplate.ContainerSpec
	if !cs.TTY || cs.Mounts[1].BindOptions == nil || !cs.Mounts[1].BindOptions.NonRecursive {
		t.Errorf("the apply stripped unmodelled fields: tty=%v mounts=%+v", cs.TTY, cs.Mounts)
	}
	// Swarm's defaults, which the daemon keeps unset, are not written out.
	if after.Spec.UpdateConfig != nil || after.Spec.TaskTemplate.RestartPolicy != nil || cs.Init != nil && *cs.Init != *was.Init {
		t.Errorf("the apply respelled defaults: update %+v restart %+v", after.Spec.UpdateConfig, after.Spec.TaskTemplate.RestartPolicy)
	}
	if !slices.Equal(cs.Env, []string{"MODE=two"}) || len(cs.Configs) != 0 || len(cs.Sysctls) != 0 {
		t.Errorf("the planned changes were not applied: env=%v configs=%v sysctls=%v", cs.Env, cs.Configs, cs.Sysctls)
	}
	if !reflect.DeepEqual(cs.Secrets, was.Secrets) || !reflect.DeepEqual(after.Spec.TaskTemplate.Networks, before.Spec.TaskTemplate.Networks) ||
		*cs.StopGracePeriod != *was.StopGracePeriod || after.Spec.Labels["team"] != "a" {
		t.Errorf("the apply changed what the plan kept: secrets %+v -> %+v, networks %+v -> %+v",
			was.Secrets, cs.Secrets, before.Spec.TaskTemplate.Networks, after.Spec.TaskTemplate.Networks)
	}

	out, err := tf.Run(ctx, "plan", "-no-color", "-input=false", "-detailed-exitcode")
	if err != nil {
		t.Fatalf("the plan after the adopting apply is not empty: %v\n%s", err, out)
	}
	if strings.Contains(out, "Does Not Manage") {
		t.Errorf("the warning repeats after the adopting apply:\n%s", out)
	}
}

func networkExists(cli *client.Client, name string) bool {
	_, err := cli.NetworkInspect(context.Background(), name, network.InspectOptions{})
	return err == nil
}

// plannedChanges lists the top-level attributes of a resource whose planned value differs from
// its prior value in a saved plan (attributes left unknown until the apply are not counted).
func plannedChanges(t *testing.T, tf *acctest.Terraform, planFile, address string) []string {
	t.Helper()
	b, err := tf.Command(context.Background(), "show", "-json", planFile).Output()
	if err != nil {
		t.Fatalf("terraform show -json %s: %v", planFile, err)
	}
	var plan struct {
		ResourceChanges []struct {
			Address string `json:"address"`
			Change  struct {
				Actions      []string       `json:"actions"`
				Before       map[string]any `json:"before"`
				After        map[string]any `json:"after"`
				AfterUnknown map[string]any `json:"after_unknown"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal(b, &plan); err != nil {
		t.Fatal(err)
	}
	for _, rc := range plan.ResourceChanges {
		if rc.Address != address {
			continue
		}
		var changed []string
		for k, v := range rc.Change.After {
			if !reflect.DeepEqual(v, rc.Change.Before[k]) {
				changed = append(changed, k)
			}
		}
		for k, v := range rc.Change.AfterUnknown {
			if v == true && !slices.Contains(changed, k) {
				changed = append(changed, k+" (unknown)")
			}
		}
		sort.Strings(changed)
		return changed
	}
	t.Fatalf("no planned change for %s", address)
	return nil
}

// A replicated job made with the Docker CLI: swarm_service refuses to import it, saying what it
// is and what to do, rather than read it as a replicated service (whose every later apply then
// failed on a false "changed since plan"); the swarm_service and swarm_service_status data
// sources read it with its mode.
func TestAccService_jobIsNotImported(t *testing.T) {
	acctest.Parallel(t)
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker CLI on PATH")
	}
	name := acctest.Name("job")
	img := os.Getenv("TEST_IMAGE")
	cli := acctest.Docker(t)
	acctest.RemoveServiceAtCleanup(t, cli, name)
	// Its two tasks serve until stopped: the job runs, it does not complete.
	dockerCLI(t, "", "service", "create", "--detach", "--no-resolve-image", "--name", name, "--mode", "replicated-job", "--replicas", "2", img)
	dataSources := fmt.Sprintf(`provider "swarm" {}

data "swarm_service" "job" {
  name = %[1]q
}

data "swarm_service_status" "job" {
  name = %[1]q
}
`, name)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: acctest.ImportBlock("swarm_service.job", name) + fmt.Sprintf(`provider "swarm" {}

resource "swarm_service" "job" {
  name  = %q
  image = %q
  env   = { VERSION = "v2" }
}
`, name, img),
				ExpectError: acctest.ErrorPattern(`Cannot Import a Job.*` + acctest.ErrorWords(`runs in mode "replicated-job": it is a job`).String() + `.*` +
					acctest.ErrorWords("swarm_service manages replicated and global services").String() + `.*` + acctest.ErrorWords("Remove the import").String()),
			},
			{
				Config: dataSources,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.swarm_service.job", tfjsonpath.New("mode"), knownvalue.StringExact("replicated-job")),
					statecheck.ExpectKnownValue("data.swarm_service.job", tfjsonpath.New("replicas"), knownvalue.Null()),
					statecheck.ExpectKnownValue("data.swarm_service_status.job", tfjsonpath.New("mode"), knownvalue.StringExact("replicated-job")),
					statecheck.ExpectKnownValue("data.swarm_service_status.job", tfjsonpath.New("desired_replicas"), knownvalue.Int64Exact(2)),
				},
			},
		},
	})
	if svc := acctest.InspectService(t, cli, name); svc.Spec.Mode.ReplicatedJob == nil || len(svc.Spec.TaskTemplate.ContainerSpec.Env) != 0 {
		t.Errorf("the refused import changed the job: mode %+v, env %v", svc.Spec.Mode, svc.Spec.TaskTemplate.ContainerSpec.Env)
	}
}

// A state that holds a job (an import made before jobs were refused): refresh reads its mode as
// it is, even at the version state recorded, and the plan says so and shows the replacement the
// configuration asks for, instead of "No changes" for a job read as a replicated service.
func TestAccService_jobInStateIsReadAsJob(t *testing.T) {
	acctest.Parallel(t)
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker CLI on PATH")
	}
	svcName, jobName := acctest.Name("holder"), acctest.Name("job")
	img := os.Getenv("TEST_IMAGE")
	cli := acctest.Docker(t)
	acctest.RemoveServiceAtCleanup(t, cli, svcName)
	acctest.RemoveServiceAtCleanup(t, cli, jobName)
	dockerCLI(t, "", "service", "create", "--detach", "--no-resolve-image", "--name", jobName, "--mode", "replicated-job", img)
	config := func(name string) string {
		return fmt.Sprintf("provider \"swarm\" {}\n\nresource \"swarm_service\" \"test\" {\n  name  = %q\n  image = %q\n}\n", name, img)
	}
	tf := acctest.NewTerraform(t, config(svcName))
	ctx := context.Background()
	if out, err := tf.Run(ctx, "apply", "-auto-approve", "-input=false", "-no-color"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	// Point the state at the job, at the job's version, as an import of it would have left it.
	job := acctest.InspectService(t, cli, jobName)
	pulled, err := tf.Command(ctx, "state", "pull").Output()
	if err != nil {
		t.Fatalf("terraform state pull: %v", err)
	}
	b := withStateAttributes(t, pulled, map[string]any{"id": job.ID, "name": jobName, "version": job.Version.Index})
	if err := os.WriteFile(tf.Dir+"/job.tfstate", b, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := tf.Run(ctx, "state", "push", "job.tfstate"); err != nil {
		t.Fatalf("terraform state push: %v\n%s", err, out)
	}
	tf.Configure(t, config(jobName))
	out, err := tf.Run(ctx, "plan", "-input=false", "-no-color")
	if err != nil {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	text := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{"Service Is a Job", `mode = "replicated-job" -> "replicated" # forces replacement`, "swarm_service.test must be replaced"} {
		if !strings.Contains(text, want) {
			t.Errorf("the plan does not say %q:\n%s", want, out)
		}
	}
}

// withStateAttributes returns a state (as `terraform state pull` prints it) whose one resource
// instance has the given attribute values, and the next serial, for `terraform state push`.
func withStateAttributes(t *testing.T, state []byte, values map[string]any) []byte {
	t.Helper()
	var st struct {
		Serial    int              `json:"serial"`
		Resources []map[string]any `json:"resources"`
	}
	var all map[string]any
	if err := json.Unmarshal(state, &st); err != nil || json.Unmarshal(state, &all) != nil || len(st.Resources) != 1 {
		t.Fatalf("read the pulled state (%v): %s", err, state)
	}
	instances, ok := st.Resources[0]["instances"].([]any)
	if !ok || len(instances) != 1 {
		t.Fatalf("the pulled state has no single instance: %s", state)
	}
	instance, ok := instances[0].(map[string]any)
	attrs, ok2 := instance["attributes"].(map[string]any)
	if !ok || !ok2 {
		t.Fatalf("the pulled state's instance has no attributes: %s", state)
	}
	for k, v := range values {
		attrs[k] = v
	}
	all["serial"], all["resources"] = st.Serial+1, st.Resources
	b, err := json.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A service made with `docker service create` is adopted by an import block that names it
// through its identity: the identity's id takes the service's name, as an import ID does.
// The plan imports it and changes nothing, the apply writes nothing to the service (its
// version stays), and the identity in state then holds the service's real ID and its name.
func TestAccIdentity_serviceFromDockerCLIByName(t *testing.T) {
	acctest.IdentityTerraform(t)
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker CLI on PATH")
	}
	name, image := acctest.Name("ident-cli"), acctest.Env(t, "TEST_IMAGE")
	cli := acctest.Docker(t)
	acctest.RemoveServiceAtCleanup(t, cli, name)
	var before swarm.Service
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			PreConfig: func() {
				dockerCLI(t, "", "service", "create", "--detach", "--no-resolve-image", "--name", name, image)
				before = acctest.InspectService(t, cli, name)
			},
			Config: fmt.Sprintf("import {\n  to = swarm_service.adopted\n  identity = { id = %[1]q }\n}\n", name) +
				fmt.Sprintf("resource \"swarm_service\" \"adopted\" {\n  name  = %q\n  image = %q\n}\n", name, image),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("swarm_service.adopted", plancheck.ResourceActionNoop)},
			},
			ConfigStateChecks: append(acctest.IdentityIs("swarm_service.adopted", "id", "name"),
				statecheck.ExpectIdentityValue("swarm_service.adopted", tfjsonpath.New("name"), knownvalue.StringExact(name))),
			Check: func(*terraform.State) error {
				after := acctest.InspectService(t, cli, name)
				if after.ID != before.ID || after.Version.Index != before.Version.Index {
					return fmt.Errorf("the adopting apply wrote to the service: %s@%d -> %s@%d", before.ID, before.Version.Index, after.ID, after.Version.Index)
				}
				return nil
			},
		}},
	})
}
