package provider

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	dockerimage "github.com/docker/docker/api/types/image"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
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

// TLS settings that cannot be used fail the plan at cert_path and never turn TLS off: a
// cert_path that does not exist once made the provider talk plain HTTP, to a plain port
// without a word and to a TLS port until the connect budget ran out. A client and an engine
// port that disagree about TLS fail at once. The endpoints are socat in front of the local
// engine: a TLS port that demands a client certificate, and a plain-HTTP port.
func TestAccProvider_tlsSettings(t *testing.T) {
	acctest.Parallel(t)
	acctest.SkipUnlessAcc(t)
	ca, caKey := acctest.NewCA(t, "swarmform test CA")
	serverCert, serverKey := acctest.NewLeaf(t, ca, caKey, "127.0.0.1", true)
	clientCert, clientKey := acctest.NewLeaf(t, ca, caKey, "client", false)
	tlsPort := acctest.TLSEngine(t, t.TempDir(), serverCert, serverKey, ca)
	plainPort := acctest.PlainEngine(t)
	content := map[string]string{"ca.pem": ca, "cert.pem": clientCert, "key.pem": clientKey}
	certDir := func(files ...string) string {
		dir := t.TempDir()
		for _, f := range files {
			acctest.WriteFile(t, dir, f, content[f])
		}
		return dir
	}
	missing := filepath.Join(t.TempDir(), "no-such-dir")
	name := acctest.Name("tlsset")
	config := func(port int, tlsArgs string) string {
		return fmt.Sprintf(`
provider "swarm" {
  host = "tcp://127.0.0.1:%d"
  %s
}

resource "swarm_service" "test" {
  name     = %q
  image    = %q
  replicas = 0
}
`, port, tlsArgs, name, acctest.Env(t, "TEST_IMAGE"))
	}
	certPath := func(dir string) string { return fmt.Sprintf("cert_path = %q", dir) }
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// The old code connected here in plain text.
				Config:      config(plainPort, certPath(missing)),
				ExpectError: acctest.ErrorPattern(`Invalid TLS Settings.*Attribute cert_path: cert_path "` + regexp.QuoteMeta(missing) + `" does not exist`),
			},
			{
				Config:      config(tlsPort, certPath(missing)),
				ExpectError: acctest.ErrorPattern(`Invalid TLS Settings.*Attribute cert_path: cert_path "` + regexp.QuoteMeta(missing) + `" does not exist`),
			},
			{
				Config:      config(plainPort, certPath(certDir())),
				ExpectError: acctest.ErrorPattern(`Invalid TLS Settings.*Attribute cert_path:.*holds none of ca\.pem, cert\.pem and key\.pem`),
			},
			{
				Config:      config(tlsPort, certPath(certDir("ca.pem", "cert.pem"))),
				ExpectError: acctest.ErrorPattern(`Invalid TLS Settings.*Attribute cert_path:.*holds cert\.pem but no key\.pem.*private key`),
			},
			{
				Config:      config(tlsPort, certPath(certDir("cert.pem", "key.pem"))),
				ExpectError: acctest.ErrorPattern(`Invalid TLS Settings.*Attribute cert_path:.*holds no ca\.pem.*tls_verify = false`),
			},
			{
				Config:      config(tlsPort, `ca_pem = ""`),
				ExpectError: acctest.ErrorPattern(`Invalid TLS Settings.*Attribute ca_pem: ca_pem is empty`),
			},
			{
				// A plain client at the TLS port, then TLS at the plain port.
				Config:      config(tlsPort, ""),
				ExpectError: acctest.ErrorPattern(`TLS mismatch with the Docker engine.*expects TLS`),
			},
			{
				Config:      config(plainPort, certPath(certDir("ca.pem", "cert.pem", "key.pem"))),
				ExpectError: acctest.ErrorPattern(`TLS mismatch with the Docker engine.*does not speak TLS`),
			},
			{
				Config: config(tlsPort, certPath(certDir("ca.pem", "cert.pem", "key.pem"))),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("name"), knownvalue.StringExact(name)),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

// The provider reports what the engine finds in its connection settings and the DOCKER_*
// variables at validation (so at every plan): problems as errors, at their arguments, the rest
// as warnings. No connection is made: manager.invalid is never resolved.
func TestProviderConnectionDiagnostics(t *testing.T) {
	certs := t.TempDir()
	tests := []struct {
		name   string
		config string
		env    map[string]string
		want   []string // "severity summary @path" of each diagnostic
	}{
		{"local socket", `{}`, nil, nil},
		{"plain TCP on loopback", `{"host": "tcp://127.0.0.1:2375"}`, nil, nil},
		{"plain TCP over the network", `{"host": "tcp://manager.invalid:2375"}`, nil, []string{"WARNING Unencrypted Connection to the Docker Engine @AttributeName(\"host\")"}},
		{"plain TCP over the network from DOCKER_HOST", `{}`, map[string]string{"DOCKER_HOST": "tcp://manager.invalid:2375"}, []string{"WARNING Unencrypted Connection to the Docker Engine @"}},
		{"DOCKER_CERT_PATH with the local socket", `{"host": "unix:///var/run/docker.sock"}`, map[string]string{"DOCKER_CERT_PATH": certs}, []string{"WARNING TLS Variable Ignored @"}},
		{"cert_path with the local socket", `{"host": "unix:///var/run/docker.sock", "cert_path": "` + certs + `"}`, nil, []string{"ERROR TLS Settings Need a tcp:// Host @AttributeName(\"cert_path\")"}},
		{"empty DOCKER_CERT_PATH", `{"host": "tcp://127.0.0.1:2376"}`, map[string]string{"DOCKER_CERT_PATH": certs}, []string{"ERROR Invalid TLS Settings @"}},
		{"DOCKER_TLS_VERIFY over the network", `{"host": "tcp://manager.invalid:2376"}`, map[string]string{"DOCKER_TLS_VERIFY": "1"}, nil},
		{"DOCKER_API_VERSION too old", `{}`, map[string]string{"DOCKER_API_VERSION": "1.40"}, []string{"ERROR Unsupported Engine API Version @"}},
	}
	srv := ProtocolServer("test")()
	schema, err := srv.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	typ := schema.Provider.ValueType()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range []string{"DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY", "DOCKER_API_VERSION"} {
				t.Setenv(v, tc.env[v])
			}
			resp, err := srv.ValidateProviderConfig(context.Background(), &tfprotov6.ValidateProviderConfigRequest{
				Config: &tfprotov6.DynamicValue{MsgPack: encode(t, typ, tc.config)},
			})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range resp.Diagnostics {
				at := ""
				if d.Attribute != nil {
					at = d.Attribute.String()
				}
				got = append(got, fmt.Sprintf("%s %s @%s", d.Severity, d.Summary, at))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("diagnostics:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
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

// When ssh cannot connect, the error carries what ssh said: a key the server does not accept,
// a port where nothing listens, a remote host without docker.
func TestAccProvider_sshErrors(t *testing.T) {
	acctest.Parallel(t)
	srv := startSSHD(t)
	stranger := newSSHKey(t, srv.dir, "stranger")
	// A second server whose sessions find no docker on their PATH.
	nodocker := startSSHD(t, "-o", "SetEnv=PATH=/nonexistent")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      srv.provider(srv.port, stranger) + serviceConfig("x", `  image = "app:v1"`)[len("\nprovider \"swarm\" {}\n"):],
				ExpectError: acctest.ErrorPattern(`SSH Connection to the Docker Engine Failed.*ssh .*exit status 255.*Permission denied \(publickey`),
			},
			{
				Config:      srv.provider(acctest.FreePort(t), srv.key) + serviceConfig("x", `  image = "app:v1"`)[len("\nprovider \"swarm\" {}\n"):],
				ExpectError: acctest.ErrorPattern(`SSH Connection to the Docker Engine Failed.*connect to host 127\.0\.0\.1 port \d+: Connection refused`),
			},
			{
				Config:      nodocker.provider(nodocker.port, nodocker.key) + serviceConfig("x", `  image = "app:v1"`)[len("\nprovider \"swarm\" {}\n"):],
				ExpectError: acctest.ErrorPattern(`SSH Connection to the Docker Engine Failed.*exit status 127.*docker: command not found`),
			},
		},
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
