package acctest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// RepoRoot is the repository's top directory: the first directory upwards from the test's
// working directory that holds a go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test's working directory")
		}
		dir = parent
	}
}

// providerBinary is the provider built from the working tree once per test binary.
var providerBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "swarmform-provider-")
	if err != nil {
		return "", err
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "terraform-provider-swarm"), ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the provider: %v\n%s", err, out)
	}
	return dir, nil
})

// Terraform is a working directory in which the real terraform CLI runs this provider (built
// from the working tree, through dev_overrides): for tests that need the process itself, such
// as an interrupt with SIGINT.
type Terraform struct {
	Dir string
	env []string
	bin string
}

// NewTerraform writes config (provider and resources; the required_providers block is added)
// into a new directory. The directory is destroyed with `terraform destroy` when the test
// ends.
func NewTerraform(t *testing.T, config string) *Terraform {
	t.Helper()
	tf := newTerraform(t)
	tf.Configure(t, config)
	return tf
}

// NewTerraformFrom copies the Terraform files of a directory of the repository (such as an
// example, which has its own terraform block) into a new directory, destroyed as NewTerraform's
// is.
func NewTerraformFrom(t *testing.T, dir string) *Terraform {
	t.Helper()
	tf := newTerraform(t)
	files, err := filepath.Glob(filepath.Join(RepoRoot(t), dir, "*.tf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Terraform files in %s (%v)", dir, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tf.Dir, filepath.Base(f)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return tf
}

func newTerraform(t *testing.T) *Terraform {
	t.Helper()
	SkipUnlessAcc(t)
	bin, err := providerBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rc := filepath.Join(dir, "terraformrc")
	if err := os.WriteFile(rc, fmt.Appendf(nil, "provider_installation {\n  dev_overrides {\n    \"registry.terraform.io/swarmform/swarm\" = %q\n  }\n  direct {}\n}\n", bin), 0o600); err != nil {
		t.Fatal(err)
	}
	tf := &Terraform{Dir: dir, env: append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")}
	t.Cleanup(func() {
		if out, err := tf.Run(context.Background(), "destroy", "-auto-approve", "-input=false", "-no-color"); err != nil {
			t.Logf("terraform destroy after the test: %v\n%s", err, out)
		}
	})
	return tf
}

// Configure replaces the directory's configuration (the required_providers block is added).
func (tf *Terraform) Configure(t testing.TB, config string) {
	t.Helper()
	main := "terraform {\n  required_providers {\n    swarm = { source = \"swarmform/swarm\" }\n  }\n}\n" + config
	if err := os.WriteFile(filepath.Join(tf.Dir, "main.tf"), []byte(main), 0o600); err != nil {
		t.Fatal(err)
	}
}

// UseBinary makes the directory's terraform commands run bin (such as ModernTerraform's)
// instead of TF_ACC_TERRAFORM_PATH or the terraform on PATH.
func (tf *Terraform) UseBinary(bin string) {
	tf.bin = bin
}

// SetEnv sets an environment variable for the terraform commands run from now on.
func (tf *Terraform) SetEnv(key, value string) {
	tf.env = append(tf.env, key+"="+value)
}

// Command is a terraform command in the directory, not started.
func (tf *Terraform) Command(ctx context.Context, args ...string) *exec.Cmd {
	bin := tf.bin
	if bin == "" {
		bin = os.Getenv("TF_ACC_TERRAFORM_PATH")
	}
	if bin == "" {
		bin = "terraform"
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Env = tf.Dir, tf.env
	return cmd
}

// Run runs a terraform command to its end and returns what it printed.
func (tf *Terraform) Run(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	out, err := tf.Command(ctx, args...).CombinedOutput()
	return string(out), err
}

// StateResource is one resource instance in `terraform show -json`.
type StateResource struct {
	Address string         `json:"address"`
	Tainted bool           `json:"tainted"`
	Values  map[string]any `json:"values"`
}

// State is the resources in the directory's state, by address.
func (tf *Terraform) State(t testing.TB) map[string]StateResource {
	t.Helper()
	out, err := tf.Command(context.Background(), "show", "-json").Output()
	if err != nil {
		t.Fatalf("terraform show -json: %v", err)
	}
	var show struct {
		Values struct {
			RootModule struct {
				Resources []StateResource `json:"resources"`
			} `json:"root_module"`
		} `json:"values"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out), &show); err != nil {
		t.Fatalf("read terraform show -json: %v", err)
	}
	res := map[string]StateResource{}
	for _, r := range show.Values.RootModule.Resources {
		res[r.Address] = r
	}
	return res
}

// RawInstance is one resource instance as the directory's terraform.tfstate stores it: its
// attributes, its schema version, and the provider's private state by key (each value as the
// provider wrote it).
type RawInstance struct {
	SchemaVersion int               `json:"schema_version"`
	Attributes    map[string]any    `json:"attributes"`
	Private       map[string][]byte `json:"-"`
}

// Raw reads the instance of a resource (a root module address such as swarm_secret.test) from
// the state file itself, private state included, which `terraform show` leaves out.
func (tf *Terraform) Raw(t testing.TB, address string) RawInstance {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(tf.Dir, "terraform.tfstate"))
	if err != nil {
		t.Fatalf("read the state file: %v", err)
	}
	var state struct {
		Resources []struct {
			Mode, Type, Name string
			Instances        []struct {
				RawInstance
				Private []byte `json:"private"` // base64 in the file
			} `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(b, &state); err != nil {
		t.Fatalf("read the state file: %v", err)
	}
	for _, r := range state.Resources {
		if r.Mode != "managed" || r.Type+"."+r.Name != address || len(r.Instances) != 1 {
			continue
		}
		in := r.Instances[0]
		out := in.RawInstance
		if len(in.Private) > 0 {
			// The framework keeps its private state as a JSON object of base64 values.
			if err := json.Unmarshal(in.Private, &out.Private); err != nil {
				t.Fatalf("read the private state of %s: %v", address, err)
			}
		}
		return out
	}
	t.Fatalf("no single instance of %s in the state file", address)
	return RawInstance{}
}
