package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/list"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

// List resources need Terraform 1.14 or newer (terraform query): these tests run the binary
// themselves, as the action tests do.

// queryResults runs terraform query in the directory and returns the display names it
// printed, by list block address (list.swarm_service.web), and what it printed.
func queryResults(t *testing.T, tf *acctest.Terraform, args ...string) (map[string][]string, string) {
	t.Helper()
	out, err := tf.Run(context.Background(), append([]string{"query", "-no-color"}, args...)...)
	if err != nil {
		t.Fatalf("terraform query: %v\n%s", err, out)
	}
	// One line a result: the block's address, the identity, the display name.
	line := regexp.MustCompile(`(?m)^(list\.\S+)\s+\S+\s+(.+?)\s*$`)
	found := map[string][]string{}
	for _, m := range line.FindAllStringSubmatch(out, -1) {
		found[m[1]] = append(found[m[1]], m[2])
	}
	for k := range found {
		slices.Sort(found[k])
	}
	return found, out
}

func listBlock(typ, name, config string) string {
	return fmt.Sprintf("list %q %q {\n  provider = swarm\n  config {\n%s  }\n}\n", typ, name, config)
}

// A swarm populated with the docker CLI (a service, a job, a network, a secret, a config and a
// two-service stack deployed with docker stack deploy, all named with one prefix and carrying
// one label, and a decoy network with the prefix and another label value) is found by
// terraform query exactly, by name_prefix, labels and stack; no secret value is listed or
// generated. The configuration -generate-config-out writes, with the values the docs say to
// add (the config's data, the secret's data_wo, the stack's compose_files, and the stack's
// import by an ID that names its files in place of the identity, which holds its name only),
// plans an import of everything and no change; its apply restarts no task and runs the job no
// more, and the plan after it is empty.
func TestAccListResources_queryAndAdopt(t *testing.T) {
	acctest.Parallel(t)
	acctest.SkipUnlessAcc(t)
	bin := acctest.ModernTerraform(t)
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("the docker CLI is not on PATH")
	}
	cli := acctest.Docker(t)
	p := acctest.Name("query")
	label := "test.query=" + p
	secretValue := "query-secret-" + p
	dir := t.TempDir()
	docker := func(args ...string) { t.Helper(); stackCLI(t, dir, args...) }
	undo := func(args ...string) {
		t.Cleanup(func() { _ = exec.Command("docker", args...).Run() })
	}

	undo("service", "rm", p+"-svc")
	docker("service", "create", "--detach=false", "--quiet", "--name", p+"-svc", "--label", label, "--update-monitor", "1s", os.Getenv("TEST_IMAGE"))
	undo("service", "rm", p+"-job")
	docker("service", "create", "--detach=false", "--quiet", "--mode", "replicated-job", "--name", p+"-job", "--label", label,
		"--entrypoint", "/app", os.Getenv("TEST_IMAGE"), "cat", "/proc/version")
	undo("network", "rm", p+"-net")
	docker("network", "create", "--driver", "overlay", "--label", label, p+"-net")
	undo("network", "rm", p+"-decoy")
	docker("network", "create", "--driver", "overlay", "--label", "test.query=other", p+"-decoy")
	acctest.WriteFile(t, dir, "secret.txt", secretValue)
	undo("secret", "rm", p+"-secret")
	docker("secret", "create", "--label", label, p+"-secret", "secret.txt")
	acctest.WriteFile(t, dir, "app.conf", "listen 8080\n")
	undo("config", "rm", p+"-config")
	docker("config", "create", "--label", label, p+"-config", "app.conf")
	stack := p + "-stk"
	compose := acctest.WriteFile(t, dir, "docker-compose.yml", fmt.Sprintf(`version: "3.8"
services:
  a:
    image: %[2]s
    deploy:
      labels: { test.query: %[1]s }
  b:
    image: %[2]s
    deploy:
      labels: { test.query: %[1]s }
`, p, os.Getenv("TEST_IMAGE")))
	t.Cleanup(func() {
		if len(acctest.StackObjects(t, cli, stack)) > 0 {
			_ = exec.Command("docker", "stack", "rm", stack).Run()
		}
	})
	docker("stack", "deploy", "--detach=false", "-c", "docker-compose.yml", stack)
	info, err := cli.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	node, _, err := cli.NodeInspectWithRaw(context.Background(), info.Swarm.NodeID)
	if err != nil {
		t.Fatal(err)
	}

	tf := acctest.NewTerraform(t, `provider "swarm" {}`+"\n")
	tf.UseBinary(bin)
	labels := fmt.Sprintf("    labels = { %q = %q }\n", "test.query", p)
	prefix := fmt.Sprintf("    name_prefix = %q\n", p)
	byStack := fmt.Sprintf("    stack = %q\n", stack)
	find := strings.Join([]string{
		listBlock("swarm_service", "svc", prefix+labels),
		listBlock("swarm_service", "in_stack", byStack),
		listBlock("swarm_job", "job", labels),
		listBlock("swarm_network", "net", prefix+labels),
		listBlock("swarm_network", "by_prefix", prefix),
		listBlock("swarm_network", "in_stack", byStack),
		listBlock("swarm_secret", "secret", labels),
		listBlock("swarm_config", "config", prefix),
		listBlock("swarm_stack", "stack", prefix),
		listBlock("swarm_stack", "stack_labels", labels),
		listBlock("swarm_node", "node", fmt.Sprintf("    name_prefix = %q\n", node.Description.Hostname)),
	}, "")
	query := filepath.Join(tf.Dir, "find.tfquery.hcl")
	if err := os.WriteFile(query, []byte(find), 0o600); err != nil {
		t.Fatal(err)
	}
	found, out := queryResults(t, tf)
	stackName := fmt.Sprintf("%s (2 services)", stack)
	for block, want := range map[string][]string{
		"list.swarm_service.svc":        {p + "-svc"},
		"list.swarm_service.in_stack":   {stack + "_a", stack + "_b"},
		"list.swarm_job.job":            {p + "-job"},
		"list.swarm_network.net":        {p + "-net"},
		"list.swarm_network.by_prefix":  {p + "-decoy", p + "-net"},
		"list.swarm_network.in_stack":   {stack + "_default"},
		"list.swarm_secret.secret":      {p + "-secret"},
		"list.swarm_config.config":      {p + "-config"},
		"list.swarm_stack.stack":        {stackName},
		"list.swarm_stack.stack_labels": {stackName},
		"list.swarm_node.node":          {node.Description.Hostname + " (" + node.ID + ")"},
	} {
		if got := found[block]; !slices.Equal(got, want) {
			t.Errorf("%s found %q, want %q", block, got, want)
		}
	}
	if t.Failed() {
		t.Fatalf("terraform query printed:\n%s", out)
	}
	if strings.Contains(out, secretValue) {
		t.Errorf("terraform query printed the secret's value:\n%s", out)
	}

	// Generate the configuration of everything but the node (adopting the shared test node
	// would change it for the other tests) and the stack's members (swarm_stack adopts them).
	adopt := strings.Join([]string{
		listBlock("swarm_service", "svc", labels),
		listBlock("swarm_job", "job", labels),
		listBlock("swarm_network", "net", labels),
		listBlock("swarm_secret", "secret", labels),
		listBlock("swarm_config", "config", labels),
		listBlock("swarm_stack", "stack", labels),
	}, "")
	if err := os.WriteFile(query, []byte(adopt), 0o600); err != nil {
		t.Fatal(err)
	}
	_, out = queryResults(t, tf, "-generate-config-out=generated.tf")
	generated, err := os.ReadFile(filepath.Join(tf.Dir, "generated.tf"))
	if err != nil {
		t.Fatalf("terraform query -generate-config-out wrote no file: %v\n%s", err, out)
	}
	for what, text := range map[string]string{"terraform query": out, "generated.tf": string(generated)} {
		if strings.Contains(text, secretValue) {
			t.Errorf("%s holds the secret's value", what)
		}
	}
	// What the docs say to add: the config's content, the secret's value, the compose files,
	// and the files in the stack's import ID (its identity is its name alone: imported by it,
	// the first plan records the files, an update that writes no service).
	filled := string(generated)
	for _, edit := range []struct{ re, with string }{
		{`(?m)^\s*data\s*= null # sensitive\n`, ``},
		{`(?m)^(\s*)data_wo(\s*)= null # sensitive$`, fmt.Sprintf(`${1}data_wo${2}= file(%q)`, filepath.Join(dir, "secret.txt"))},
		{`(?m)^(\s*)data(\s*)= null$`, fmt.Sprintf(`${1}data${2}= file(%q)`, filepath.Join(dir, "app.conf"))},
		{`(?m)^(\s*)compose_files(\s*)= null$`, fmt.Sprintf(`${1}compose_files${2}= [%q]`, compose)},
		{`identity\s*=\s*\{\s*name\s*=\s*"` + regexp.QuoteMeta(stack) + `"\s*\}`, fmt.Sprintf(`id = %q`, stack+":"+compose)},
	} {
		re := regexp.MustCompile(edit.re)
		if !re.MatchString(filled) {
			t.Fatalf("generated.tf has no line matching %s:\n%s", edit.re, generated)
		}
		filled = re.ReplaceAllString(filled, edit.with)
	}
	if err := os.WriteFile(filepath.Join(tf.Dir, "generated.tf"), []byte(filled), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(query); err != nil {
		t.Fatal(err)
	}

	changes := planChanges(t, tf)
	want := map[string]string{}
	for _, typ := range []string{"service", "job", "network", "secret", "config", "stack"} {
		want["swarm_"+typ] = "import no-op"
	}
	got := map[string]string{}
	for _, c := range changes {
		got[c.Type] = c.what()
	}
	if len(changes) != len(want) || !maps.Equal(got, want) {
		t.Fatalf("the plan of the generated configuration: %v, want %v\n%s", got, want, filled)
	}

	tasks := map[string][]string{}
	for _, svc := range []string{p + "-svc", stack + "_a", stack + "_b"} {
		tasks[svc] = acctest.RunningTaskIDs(t, cli, svc)
	}
	job := jobIteration(t, p+"-job")
	applyEmpty(t, tf)
	for svc, was := range tasks {
		if now := acctest.RunningTaskIDs(t, cli, svc); !slices.Equal(now, was) {
			t.Errorf("%s's tasks are %v after the apply, were %v", svc, now, was)
		}
	}
	if now := jobIteration(t, p+"-job"); now != job {
		t.Errorf("the job ran again: iteration %d, was %d", now, job)
	}
}

// plannedChange is one resource change of a saved plan.
type plannedChange struct {
	Type   string `json:"type"`
	Change struct {
		Actions   []string        `json:"actions"`
		Importing json.RawMessage `json:"importing"`
	} `json:"change"`
}

func (c plannedChange) what() string {
	s := strings.Join(c.Change.Actions, ",")
	if len(c.Change.Importing) > 0 && string(c.Change.Importing) != "null" {
		s = "import " + s
	}
	return s
}

// planChanges saves a plan and returns its resource changes.
func planChanges(t *testing.T, tf *acctest.Terraform) []plannedChange {
	t.Helper()
	if out, err := tf.Run(context.Background(), "plan", "-out=query.tfplan", "-input=false", "-no-color"); err != nil {
		t.Fatalf("terraform plan: %v\n%s", err, out)
	}
	out, err := tf.Command(context.Background(), "show", "-json", "query.tfplan").Output()
	if err != nil {
		t.Fatalf("terraform show -json: %v", err)
	}
	var plan struct {
		ResourceChanges []plannedChange `json:"resource_changes"`
	}
	if err := json.Unmarshal(out, &plan); err != nil {
		t.Fatalf("read the plan: %v", err)
	}
	return plan.ResourceChanges
}

// listRequest is a list request for a resource, with its schemas, as the framework makes it.
func listRequest(t *testing.T, r resource.ResourceWithIdentity, include bool) list.ListRequest {
	t.Helper()
	ctx := context.Background()
	var s resource.SchemaResponse
	r.Schema(ctx, resource.SchemaRequest{}, &s)
	var id resource.IdentitySchemaResponse
	r.IdentitySchema(ctx, resource.IdentitySchemaRequest{}, &id)
	return list.ListRequest{IncludeResource: include, ResourceSchema: s.Schema, ResourceIdentitySchema: id.IdentitySchema}
}

// A secret or config is listed as metadata: the identity, name or name_prefix, labels, a
// secret's data_wo_version and a config's template driver, and no value nor hash of one, even
// where the object's labels record a hash; a rotating object's result has no name, which its
// configuration (name_prefix) must not set.
func TestObjectListResult(t *testing.T) {
	ctx := context.Background()
	labels := map[string]string{"team": "shop", orchestrator.DataHashLabel: "0f1e2d3c", orchestrator.RotationLabel: "db-", orchestrator.DataVersionLabel: "3"}
	for _, tc := range []struct {
		name  string
		r     resource.ResourceWithIdentity
		read  func(orchestrator.Object) func(context.Context, tfsdk.State) (any, diag.Diagnostics)
		obj   orchestrator.Object
		nulls []string
		want  map[string]string
	}{
		{"secret", withIdentity(t, NewSecretResource()), secretListed,
			orchestrator.Object{Kind: orchestrator.KindSecret, ID: "s1", Name: "db-0123456789", Labels: labels},
			[]string{"name", "data", "data_wo", "data_hash"}, map[string]string{"id": "s1", "name_prefix": "db-"}},
		{"config", withIdentity(t, NewConfigResource()), configListed,
			orchestrator.Object{Kind: orchestrator.KindConfig, ID: "c1", Name: "nginx", Labels: map[string]string{"team": "shop", orchestrator.DataHashLabel: "0f1e2d3c"},
				Data: []byte("listen 80"), TemplateDriver: "golang"},
			[]string{"data", "data_hash", "name_prefix"}, map[string]string{"id": "c1", "name": "nginx", "template_driver": "golang"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lr := &listResource{}
			res := lr.result(ctx, listRequest(t, tc.r, true), objectListed(tc.obj, tc.read))
			if res.Diagnostics.HasError() {
				t.Fatalf("diagnostics: %v", res.Diagnostics)
			}
			for attr, want := range tc.want {
				var v types.String
				if d := res.Resource.GetAttribute(ctx, path.Root(attr), &v); d.HasError() || v.ValueString() != want {
					t.Errorf("%s = %s, want %q (%v)", attr, v, want, d)
				}
			}
			for _, attr := range tc.nulls {
				var v types.String
				if d := res.Resource.GetAttribute(ctx, path.Root(attr), &v); d.HasError() || !v.IsNull() {
					t.Errorf("%s = %s, want null (%v)", attr, v, d)
				}
			}
			var got map[string]string
			res.Resource.GetAttribute(ctx, path.Root("labels"), &got)
			if !maps.Equal(got, map[string]string{"team": "shop"}) {
				t.Errorf("labels = %v, want the user's only", got)
			}
			var id, name types.String
			res.Identity.GetAttribute(ctx, path.Root("id"), &id)
			res.Identity.GetAttribute(ctx, path.Root("name"), &name)
			if id.ValueString() != tc.obj.ID || name.ValueString() != tc.obj.Name {
				t.Errorf("identity id=%s name=%s, want %s %s", id, name, tc.obj.ID, tc.obj.Name)
			}
			if tc.name == "secret" {
				var v wholeValue
				res.Resource.GetAttribute(ctx, path.Root("data_wo_version"), &v)
				if v.ValueInt64() != 3 {
					t.Errorf("data_wo_version = %s, want 3", v)
				}
			}
			// Without IncludeResource: the identity alone.
			bare := lr.result(ctx, listRequest(t, tc.r, false), objectListed(tc.obj, tc.read))
			if !bare.Resource.Raw.IsNull() || bare.Identity.Raw.IsNull() {
				t.Errorf("without IncludeResource: resource %v, identity %v", bare.Resource.Raw, bare.Identity.Raw)
			}
		})
	}
}

// withIdentity is the resource as one that declares an identity; the test fails when it does not.
func withIdentity(t *testing.T, r resource.Resource) resource.ResourceWithIdentity {
	t.Helper()
	ri, ok := r.(resource.ResourceWithIdentity)
	if !ok {
		t.Fatalf("%T declares no identity", r)
	}
	return ri
}
