package provider

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"

	dockerimage "github.com/docker/docker/api/types/image"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

// A private image deploys with credentials from the provider block only (the daemon holds
// none), the engine pins it to a digest, and the pinned digest never shows as a diff.
func TestAccService_privateRegistryDigestPinning(t *testing.T) {
	acctest.Parallel(t)
	name := acctest.Name("registry")
	image, image2 := acctest.Env(t, "TEST_REGISTRY_IMAGE"), acctest.Env(t, "TEST_REGISTRY_IMAGE_V2")
	cli := acctest.Docker(t)
	acctest.RemoveServiceAtCleanup(t, cli, name)
	provider := fmt.Sprintf(`
provider "swarm" {
  registry_auth = [{
    address  = %q
    username = %q
    password = %q
  }]
}
`, acctest.Env(t, "TEST_REGISTRY"), acctest.Env(t, "TEST_REGISTRY_USER"), acctest.Env(t, "TEST_REGISTRY_PASSWORD"))
	resourceBlock := func(img string) string {
		return fmt.Sprintf(`
resource "swarm_service" "test" {
  name  = %q
  image = %q
}
`, name, img)
	}
	config := func(img string) string { return provider + resourceBlock(img) }
	pinned := func(want string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			got := acctest.InspectService(t, cli, name).Spec.TaskTemplate.ContainerSpec.Image
			if !regexp.MustCompile(`^` + regexp.QuoteMeta(want) + `@sha256:[0-9a-f]{64}$`).MatchString(got) {
				return fmt.Errorf("engine runs %q, want %s pinned to a digest", got, want)
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// Without credentials the daemon cannot pull the image (the local copy is
				// untagged first, so nothing falls back to it): the apply fails with Swarm's
				// reason instead of waiting out the timeout.
				PreConfig: func() {
					for _, ref := range []string{image, image2} {
						_, _ = cli.ImageRemove(context.Background(), ref, dockerimage.RemoveOptions{})
					}
				},
				Config:      `provider "swarm" {}` + resourceBlock(image),
				ExpectError: regexp.MustCompile(`(?s)Service Did Not Converge.*rejected.*(No\s+such\s+image|no\s+basic\s+auth|pull\s+access\s+denied|unauthorized)`),
			},
			{
				Config: config(image),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("image"), knownvalue.StringExact(image)),
					statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("running_replicas"), knownvalue.Int64Exact(1)),
				},
				Check: pinned(image),
			},
			{
				Config: config(image2),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("image"), knownvalue.StringExact(image2)),
				},
				Check: pinned(image2),
			},
			{ResourceName: svcAddr, ImportState: true, ImportStateVerify: true, ImportStateVerifyIgnore: []string{"running_replicas", "image"}},
		},
	})
}

// The engine reached over TCP with mutual TLS, from PEM strings only (as in Terraform Cloud).
func TestAccProvider_mutualTLS(t *testing.T) {
	acctest.Parallel(t)
	acctest.SkipUnlessAcc(t)
	ca, caKey := acctest.NewCA(t, "swarmform test CA")
	otherCA, _ := acctest.NewCA(t, "some other CA")
	serverCert, serverKey := acctest.NewLeaf(t, ca, caKey, "127.0.0.1", true)
	clientCert, clientKey := acctest.NewLeaf(t, ca, caKey, "client", false)
	// socat terminates TLS, demands a client certificate signed by the CA, and forwards to
	// the local engine's socket.
	port := acctest.TLSEngine(t, t.TempDir(), serverCert, serverKey, ca)

	name := acctest.Name("tls")
	img := acctest.Env(t, "TEST_IMAGE")
	config := func(caPEM, certPEM, keyPEM string) string {
		return fmt.Sprintf(`
provider "swarm" {
  host     = "tcp://127.0.0.1:%d"
  ca_pem   = %q
  cert_pem = %q
  key_pem  = %q
}

resource "swarm_service" "test" {
  name     = %q
  image    = %q
  replicas = 0
}
`, port, caPEM, certPEM, keyPEM, name, img)
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      config(otherCA, clientCert, clientKey),
				ExpectError: acctest.ErrorWords("TLS handshake with the Docker engine failed"),
			},
			{
				Config: config(ca, clientCert, clientKey),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("name"), knownvalue.StringExact(name)),
				},
			},
		},
	})
}

func TestAccProvider_connectionErrors(t *testing.T) {
	acctest.Parallel(t)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      `provider "swarm" { host = "unix:///nonexistent/docker.sock" }` + "\n" + serviceConfig("x", `  image = "app:v1"`)[len("\nprovider \"swarm\" {}\n"):],
				ExpectError: acctest.ErrorWords("Cannot reach the Docker engine"),
			},
			{
				Config:      fmt.Sprintf(`provider "swarm" { host = "tcp://127.0.0.1:%d" }`, acctest.FreePort(t)) + "\n" + serviceConfig("x", `  image = "app:v1"`)[len("\nprovider \"swarm\" {}\n"):],
				ExpectError: acctest.ErrorWords("Cannot reach the Docker engine"),
			},
		},
	})
}

// The engine reached over ssh:// (ssh + `docker system dial-stdio`), through an sshd the test
// runs on loopback with keys it generates.
func TestAccProvider_ssh(t *testing.T) {
	acctest.Parallel(t)
	srv := startSSHD(t)
	name := acctest.Name("ssh")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: srv.provider(srv.port, srv.key) + fmt.Sprintf(`
resource "swarm_service" "test" {
  name     = %q
  image    = %q
  replicas = 1
}
`, name, acctest.Env(t, "TEST_IMAGE")),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("running_replicas"), knownvalue.Int64Exact(1)),
			},
		}},
	})
}

// sshServer is an sshd on loopback that lets root in with the key it generated.
type sshServer struct {
	port int
	dir  string
	key  string // the private key that the server accepts
}

// startSSHD runs an sshd on a free loopback port until the test ends; its log is shown when
// the test fails. extra are more sshd arguments.
func startSSHD(t *testing.T, extra ...string) sshServer {
	t.Helper()
	acctest.SkipUnlessAcc(t)
	srv := sshServer{dir: t.TempDir()}
	host := newSSHKey(t, srv.dir, "host")
	srv.key = newSSHKey(t, srv.dir, "id")
	pub, err := os.ReadFile(srv.key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	authorized := acctest.WriteFile(t, srv.dir, "authorized_keys", string(pub))
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	srv.port = acctest.FreePort(t)
	args := append([]string{"-D", "-e", "-p", fmt.Sprint(srv.port), "-h", host,
		"-o", "ListenAddress=127.0.0.1", "-o", "AuthorizedKeysFile=" + authorized,
		"-o", "StrictModes=no", "-o", "PermitRootLogin=prohibit-password", "-o", "UsePAM=no", "-o", "PidFile=" + filepath.Join(srv.dir, "sshd.pid")}, extra...)
	sshd := exec.Command("/usr/sbin/sshd", args...)
	// A file, not a pipe: session processes outlive the group kill and would hold a pipe open.
	logPath := filepath.Join(srv.dir, "sshd.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	sshd.Stderr = logFile
	sshd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := sshd.Start(); err != nil {
		t.Fatalf("start sshd (scripts/swarm-up.sh installs openssh-server): %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-sshd.Process.Pid, syscall.SIGKILL)
		_ = sshd.Wait()
		_ = logFile.Close()
		if t.Failed() {
			log, _ := os.ReadFile(logPath)
			t.Logf("sshd: %s", log)
		}
	})
	acctest.WaitForPort(t, srv.port)
	return srv
}

// provider is a provider block that reaches port over ssh with the key.
func (s sshServer) provider(port int, key string) string {
	return fmt.Sprintf(`
provider "swarm" {
  host     = "ssh://root@127.0.0.1:%d"
  ssh_opts = ["-i", %q, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]
}
`, port, key)
}

// newSSHKey generates an ed25519 key pair without a passphrase in dir and returns the private
// key's path (the public key is beside it, with .pub).
func newSSHKey(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", p).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	return p
}
