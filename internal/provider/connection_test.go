package provider

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

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
	if _, err := exec.LookPath("socat"); err != nil {
		t.Fatal("socat is needed for the TLS test (scripts/swarm-up.sh installs it)")
	}
	dir := t.TempDir()
	ca, caKey := newCA(t, "swarmform test CA")
	otherCA, _ := newCA(t, "some other CA")
	serverCert, serverKey := newLeaf(t, ca, caKey, "127.0.0.1", true)
	clientCert, clientKey := newLeaf(t, ca, caKey, "client", false)
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	port := freePort(t)
	// socat terminates TLS, demands a client certificate signed by the CA, and forwards to
	// the local engine's socket.
	cmd := exec.Command("socat",
		fmt.Sprintf("OPENSSL-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,cert=%s,key=%s,cafile=%s,verify=1", port, write("server.pem", serverCert), write("server.key", serverKey), write("ca.pem", ca)),
		"UNIX-CONNECT:/var/run/docker.sock")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// Its own process group, so the connection children it forks die with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
	waitForPort(t, port)

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
	if t.Failed() {
		t.Logf("socat: %s", stderr.String())
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
				Config:      fmt.Sprintf(`provider "swarm" { host = "tcp://127.0.0.1:%d" }`, freePort(t)) + "\n" + serviceConfig("x", `  image = "app:v1"`)[len("\nprovider \"swarm\" {}\n"):],
				ExpectError: acctest.ErrorWords("Cannot reach the Docker engine"),
			},
		},
	})
}

func newCA(t *testing.T, cn string) (string, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), key
}

func newLeaf(t *testing.T, caPEM string, caKey *ecdsa.PrivateKey, cn string, server bool) (certPEM, keyPEM string) {
	t.Helper()
	block, _ := pem.Decode([]byte(caPEM))
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP(cn)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		t.Fatalf("unexpected address %v", l.Addr())
	}
	return addr.Port
}

func waitForPort(t *testing.T, port int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on port %d", port)
}

// The engine reached over ssh:// (ssh + `docker system dial-stdio`), through an sshd the test
// runs on loopback with keys it generates.
func TestAccProvider_ssh(t *testing.T) {
	acctest.Parallel(t)
	acctest.SkipUnlessAcc(t)
	dir := t.TempDir()
	run := func(name string, args ...string) {
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, "host"))
	run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, "id"))
	pub, err := os.ReadFile(filepath.Join(dir, "id.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	sshd := exec.Command("/usr/sbin/sshd", "-D", "-e", "-p", fmt.Sprint(port), "-h", filepath.Join(dir, "host"),
		"-o", "ListenAddress=127.0.0.1", "-o", "AuthorizedKeysFile="+filepath.Join(dir, "authorized_keys"),
		"-o", "StrictModes=no", "-o", "PermitRootLogin=prohibit-password", "-o", "UsePAM=no", "-o", "PidFile="+filepath.Join(dir, "sshd.pid"))
	// A file, not a pipe: session processes outlive the group kill and would hold a pipe open.
	logPath := filepath.Join(dir, "sshd.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	sshd.Stderr = logFile
	sshd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := sshd.Start(); err != nil {
		t.Fatalf("start sshd (scripts/swarm-up.sh installs openssh-server): %v", err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-sshd.Process.Pid, syscall.SIGKILL); _ = sshd.Wait() })
	waitForPort(t, port)

	name := acctest.Name("ssh")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "swarm" {
  host     = "ssh://root@127.0.0.1:%d"
  ssh_opts = ["-i", %q, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]
}

resource "swarm_service" "test" {
  name     = %q
  image    = %q
  replicas = 1
}
`, port, filepath.Join(dir, "id"), name, acctest.Env(t, "TEST_IMAGE")),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(svcAddr, tfjsonpath.New("running_replicas"), knownvalue.Int64Exact(1)),
			},
		}},
	})
	if t.Failed() {
		log, _ := os.ReadFile(logPath)
		t.Logf("sshd: %s", log)
	}
}
