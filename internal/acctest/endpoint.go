package acctest

// Endpoints on loopback for the connection tests: free ports, socat in front of the local
// engine's socket (plain TCP or TLS), and the certificates a TLS endpoint needs.

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
	"strings"
	"syscall"
	"testing"
	"time"
)

// engineSocket is the local engine's socket, which the socat endpoints forward to.
func engineSocket(t testing.TB) string {
	t.Helper()
	sock, ok := strings.CutPrefix(DockerHost(), "unix://")
	if !ok {
		t.Fatalf("the connection tests put socat in front of the engine's socket; DOCKER_HOST is %s", DockerHost())
	}
	return sock
}

// FreePort is a TCP port on 127.0.0.1 that nothing listens on (the kernel's choice).
func FreePort(t testing.TB) int {
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

// WaitForPort waits until something accepts connections on 127.0.0.1:port.
func WaitForPort(t testing.TB, port int) {
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

// Socat runs socat with a listening address on 127.0.0.1:port (such as
// "TCP-LISTEN:port,bind=127.0.0.1,reuseaddr,fork") and a target, until the test ends, and waits
// until the port accepts connections. What socat said is logged when the test fails.
func Socat(t testing.TB, port int, listen, target string) {
	t.Helper()
	if _, err := exec.LookPath("socat"); err != nil {
		t.Fatal("socat is needed for the connection tests (scripts/swarm-up.sh installs it)")
	}
	cmd := exec.Command("socat", listen, target)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// Its own process group, so the connection children it forks die with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("socat %s: %s", listen, stderr.String())
		}
	})
	WaitForPort(t, port)
}

// PlainEngine is a plain-HTTP TCP port on loopback in front of the local engine, as dockerd's
// -H tcp://127.0.0.1:2375 would be; it returns the port.
func PlainEngine(t testing.TB) int {
	t.Helper()
	port := FreePort(t)
	Socat(t, port, fmt.Sprintf("TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork", port), "UNIX-CONNECT:"+engineSocket(t))
	return port
}

// TLSEngine is a TLS port on loopback in front of the local engine, as dockerd --tlsverify
// would be: its certificate (for 127.0.0.1) is signed by ca, and when clientCA is not empty it
// demands a client certificate signed by it. The PEM files are written into dir.
func TLSEngine(t testing.TB, dir, serverCert, serverKey, clientCA string) int {
	t.Helper()
	port := FreePort(t)
	listen := fmt.Sprintf("OPENSSL-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,cert=%s,key=%s", port,
		WriteFile(t, dir, "server.pem", serverCert), WriteFile(t, dir, "server.key", serverKey))
	if clientCA != "" {
		listen += ",verify=1,cafile=" + WriteFile(t, dir, "client-ca.pem", clientCA)
	} else {
		listen += ",verify=0"
	}
	Socat(t, port, listen, "UNIX-CONNECT:"+engineSocket(t))
	return port
}

// NewCA is a self-signed CA certificate (PEM) and its key, valid for an hour.
func NewCA(t testing.TB, cn string) (string, *ecdsa.PrivateKey) {
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

// NewLeaf is a certificate signed by the CA, and its key (PEM): a server certificate for the
// IP address cn, or a client certificate.
func NewLeaf(t testing.TB, caPEM string, caKey *ecdsa.PrivateKey, cn string, server bool) (certPEM, keyPEM string) {
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

// WriteFile writes content to dir/name (mode 0600) and returns the file's path.
func WriteFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
