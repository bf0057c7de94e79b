package orchestrator

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

// A client and an engine port that disagree about TLS cannot agree by waiting, nor can a
// client that does not trust the engine's certificate: the first contact says so at once, and
// nothing is tried again. The ports are in front of the real engine: socat's plain TCP and
// TLS (OpenSSL resets a connection that speaks HTTP to it), and Go's TLS server, which is what
// dockerd --tls runs (it answers plain HTTP with 400 "Client sent an HTTP request to an HTTPS
// server").
func TestConnectTLSFailuresAreNotRetried(t *testing.T) {
	acctest.SkipUnlessAcc(t)
	ca, caKey := acctest.NewCA(t, "swarmform test CA")
	otherCA, _ := acctest.NewCA(t, "some other CA")
	serverCert, serverKey := acctest.NewLeaf(t, ca, caKey, "127.0.0.1", true)
	plain := acctest.PlainEngine(t)
	socatTLS := acctest.TLSEngine(t, t.TempDir(), serverCert, serverKey, "")
	pair, err := tls.X509KeyPair([]byte(serverCert), []byte(serverKey))
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	serveProxyOn(t, l, nil, nil)
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		t.Fatalf("unexpected address %v", l.Addr())
	}
	goTLS := addr.Port

	tcp := func(port int) string { return fmt.Sprintf("tcp://127.0.0.1:%d", port) }
	tests := []struct {
		name          string
		cfg           Config
		summary, says string
	}{
		{"TLS at a plain port", Config{Host: tcp(plain), CAPEM: &ca}, "TLS mismatch with the Docker engine", "does not speak TLS"},
		{"plain HTTP at socat's TLS port", Config{Host: tcp(socatTLS)}, "TLS mismatch with the Docker engine", "expects TLS"},
		{"plain HTTP at Go's TLS port", Config{Host: tcp(goTLS)}, "TLS mismatch with the Docker engine", "expects TLS"},
		{"certificate of another CA", Config{Host: tcp(socatTLS), CAPEM: &otherCA}, "TLS handshake with the Docker engine failed", "did not trust its certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var notices []RetryNotice
			tc.cfg.ConnectRetry = Backoff{Initial: 50 * time.Millisecond, Max: 500 * time.Millisecond, Budget: 5 * time.Second}
			tc.cfg.OnRetry = func(_ context.Context, n RetryNotice) { notices = append(notices, n) }
			e, err := New(context.Background(), tc.cfg)
			if err == nil {
				_ = e.Close()
				t.Fatal("connected")
			}
			var ce *ConnectError
			if !errors.As(err, &ce) || ce.Summary != tc.summary || !strings.Contains(ce.Advice, tc.says) {
				t.Errorf("error %q, want %q saying %q", err, tc.summary, tc.says)
			}
			if len(notices) > 0 {
				t.Errorf("tried again %d times; first: %v", len(notices), notices[0].Err)
			}
		})
	}
}

// The version an engine is reported to speak is the engine's own, from its answer, whatever
// the client pinned: an engine older than 1.41 (its ping says 1.40 here: a proxy in front of
// the local engine rewrites the header) is refused with its version, even with api_version
// pinned to 1.41; a pinned version newer than the engine is refused at api_version with the
// engine's version.
func TestConnectReportsTheEngineAPIVersion(t *testing.T) {
	acctest.SkipUnlessAcc(t)
	ctx := context.Background()
	sock := filepath.Join(t.TempDir(), "old.sock")
	serveProxy(t, sock, nil, func(resp *http.Response) {
		if strings.HasSuffix(resp.Request.URL.Path, "/_ping") {
			resp.Header.Set("Api-Version", "1.40")
		}
	})
	for _, pinned := range []string{"", "1.41"} {
		_, err := New(ctx, Config{Host: "unix://" + sock, APIVersion: pinned})
		var ce *ConnectError
		if !errors.As(err, &ce) || ce.Summary != "Docker engine too old" || !strings.Contains(ce.Advice, "speaks Engine API 1.40") {
			t.Errorf("api_version %q, engine at 1.40: %v, want Docker engine too old, saying it speaks 1.40", pinned, err)
		}
	}

	v, err := acctest.Docker(t).ServerVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(ctx, Config{Host: acctest.DockerHost(), APIVersion: "1.99"})
	want := fmt.Sprintf("api_version is 1.99, but the engine at %s speaks Engine API %s at most", acctest.DockerHost(), v.APIVersion)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("api_version 1.99: %v, want %q", err, want)
	}
}

// Every TLS setting that is given is used or refused, with the setting named (the argument,
// or the variable it came from) and why; none turns TLS off. Nothing here connects: the hosts
// other than loopback are only compared, never reached.
func TestConfigCheck(t *testing.T) {
	ca, caKey := acctest.NewCA(t, "swarmform test CA")
	cert, key := acctest.NewLeaf(t, ca, caKey, "client", false)
	_, otherKey := acctest.NewLeaf(t, ca, caKey, "other", false)
	files := map[string]string{"ca.pem": ca, "cert.pem": cert, "key.pem": key}
	dir := func(names ...string) string {
		d := t.TempDir()
		for _, n := range names {
			acctest.WriteFile(t, d, n, files[n])
		}
		return d
	}
	full, caOnly, pairOnly, noKey, noCert, empty := dir("ca.pem", "cert.pem", "key.pem"), dir("ca.pem"), dir("cert.pem", "key.pem"), dir("ca.pem", "cert.pem"), dir("ca.pem", "key.pem"), dir()
	badCA := dir("cert.pem", "key.pem")
	acctest.WriteFile(t, badCA, "ca.pem", "not a certificate")
	missing := filepath.Join(t.TempDir(), "no-such-dir")
	aFile := acctest.WriteFile(t, t.TempDir(), "certs", "")
	s := func(v string) *string { return &v }
	yes, no := true, false
	env := func(pairs ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(pairs); i += 2 {
			m[pairs[i]] = pairs[i+1]
		}
		return m
	}
	const local, remote = "tcp://127.0.0.1:2376", "tcp://manager.invalid:2376"

	// want is "path: words" for each problem, or "path! words" for each warning, in order;
	// " … " separates words that the message holds in that order.
	tests := []struct {
		name string
		cfg  Config
		tls  string // "none", "verify" (verifying, with a client certificate or not) or "insecure"
		want []string
	}{
		{"local socket", Config{}, "none", nil},
		{"plain TCP on loopback", Config{Host: "tcp://127.0.0.1:2375"}, "none", nil},
		{"plain TCP on another loopback address", Config{Host: "tcp://127.1.2.3:2375"}, "none", nil},
		{"plain TCP to localhost", Config{Host: "tcp://localhost:2375"}, "none", nil},
		{"plain TCP to ::1", Config{Host: "tcp://[::1]:2375"}, "none", nil},
		{"plain TCP over the network", Config{Host: "tcp://manager.invalid:2375"}, "none",
			[]string{"host! host is tcp://manager.invalid:2375, reached over plain TCP without TLS … values of secrets … clear text … tcp://manager.invalid:2376 … ca_pem, cert_pem and key_pem (or cert_path)"}},
		{"plain TCP to an address over the network", Config{Host: "tcp://192.0.2.1:2375"}, "none", []string{"host! clear text"}},
		{"plain TCP from DOCKER_HOST", Config{Host: "tcp://manager.invalid:2375", FromEnv: env("host", "DOCKER_HOST")}, "none",
			[]string{"! host (from DOCKER_HOST) is tcp://manager.invalid:2375"}},
		{"full cert_path over the network", Config{Host: remote, CertPath: &full}, "verify", nil},
		{"PEM arguments", Config{Host: remote, CAPEM: &ca, CertPEM: &cert, KeyPEM: &key}, "verify", nil},
		{"client certificate, tls_verify = false", Config{Host: local, CertPEM: &cert, KeyPEM: &key, TLSVerify: &no}, "insecure", nil},
		{"client certificate, tls_verify = true", Config{Host: local, CertPEM: &cert, KeyPEM: &key, TLSVerify: &yes}, "verify", nil},
		{"tls_verify = true alone", Config{Host: remote, TLSVerify: &yes}, "verify", nil},
		{"tls_verify = false alone", Config{Host: local, TLSVerify: &no}, "none", nil},
		{"cert_path with ca.pem alone", Config{Host: local, CertPath: &caOnly}, "verify", nil},
		{"cert_path without ca.pem, tls_verify = false", Config{Host: local, CertPath: &pairOnly, TLSVerify: &no}, "insecure", nil},
		{"cert_path without ca.pem, ca_pem given", Config{Host: local, CertPath: &pairOnly, CAPEM: &ca}, "verify", nil},
		{"cert_path that is not there", Config{Host: local, CertPath: &missing}, "",
			[]string{`cert_path: cert_path "` + missing + `" does not exist`}},
		{"DOCKER_CERT_PATH that is not there", Config{Host: local, CertPath: &missing, FromEnv: env("cert_path", "DOCKER_CERT_PATH")}, "",
			[]string{`: DOCKER_CERT_PATH "` + missing + `" does not exist`}},
		{"cert_path that is a file", Config{Host: local, CertPath: &aFile}, "", []string{"cert_path: is not a directory"}},
		{"empty cert_path", Config{Host: local, CertPath: s("")}, "", []string{"cert_path: cert_path is empty"}},
		{"empty directory", Config{Host: local, CertPath: &empty}, "", []string{"cert_path: holds none of ca.pem, cert.pem and key.pem"}},
		{"empty directory with ca_pem given", Config{Host: local, CertPath: &empty, CAPEM: &ca}, "", []string{"cert_path: holds none of cert.pem and key.pem"}},
		{"no key.pem", Config{Host: local, CertPath: &noKey}, "", []string{"cert_path: holds cert.pem but no key.pem. key.pem is the private key"}},
		{"no cert.pem", Config{Host: local, CertPath: &noCert}, "", []string{"cert_path: holds key.pem but no cert.pem"}},
		{"no ca.pem", Config{Host: local, CertPath: &pairOnly}, "", []string{"cert_path: holds no ca.pem. ca.pem is the CA that signed the engine's certificate"}},
		{"no ca.pem, DOCKER_TLS_VERIFY", Config{Host: local, CertPath: &pairOnly, TLSVerify: &yes, FromEnv: env("tls_verify", "DOCKER_TLS_VERIFY")}, "", []string{"cert_path: holds no ca.pem"}},
		{"ca.pem that is no certificate", Config{Host: local, CertPath: &badCA}, "", []string{`cert_path: ca.pem in cert_path "` + badCA + `" holds no PEM certificate`}},
		{"every PEM argument and cert_path", Config{Host: local, CertPath: &full, CAPEM: &ca, CertPEM: &cert, KeyPEM: &key}, "", []string{"cert_path: cert_path is not read"}},
		{"every PEM argument and DOCKER_CERT_PATH", Config{Host: local, CertPath: &missing, CAPEM: &ca, CertPEM: &cert, KeyPEM: &key, FromEnv: env("cert_path", "DOCKER_CERT_PATH")}, "verify", nil},
		{"empty ca_pem", Config{Host: local, CAPEM: s("")}, "", []string{"ca_pem: ca_pem is empty"}},
		{"blank ca_pem", Config{Host: local, CAPEM: s(" \n")}, "", []string{"ca_pem: ca_pem is empty"}},
		{"empty cert_pem and key_pem", Config{Host: local, CAPEM: &ca, CertPEM: s(""), KeyPEM: s("")}, "", []string{"cert_pem: cert_pem is empty", "key_pem: key_pem is empty"}},
		{"ca_pem that is no certificate", Config{Host: local, CAPEM: s("-----BEGIN CERTIFICATE-----")}, "", []string{"ca_pem: ca_pem holds no PEM certificate"}},
		{"key of another certificate", Config{Host: local, CAPEM: &ca, CertPEM: &cert, KeyPEM: &otherKey}, "", []string{"cert_pem: cert_pem and key_pem are not a matching PEM certificate and private key"}},
		{"cert_pem without key_pem", Config{Host: local, CAPEM: &ca, CertPEM: &cert}, "", []string{"cert_pem: cert_pem is given without the private key"}},
		{"client certificate without a CA", Config{Host: local, CertPEM: &cert, KeyPEM: &key}, "", []string{"cert_pem: cert_pem is given, but no CA to verify the engine's certificate with"}},
		{"ca_pem with the local socket", Config{CAPEM: &ca}, "",
			[]string{"ca_pem: ca_pem is set, but host is not set (nor DOCKER_HOST), so the provider uses the local socket unix:///var/run/docker.sock: a local socket, which does not use TLS"}},
		{"TLS arguments with a unix host", Config{Host: "unix:///run/docker.sock", CertPath: &full, TLSVerify: &yes}, "",
			[]string{"cert_path: cert_path is set, but host is unix:///run/docker.sock", "tls_verify: tls_verify is set"}},
		{"tls_verify = false with a unix host", Config{Host: "unix:///run/docker.sock", TLSVerify: &no}, "none", nil},
		{"cert_path over ssh", Config{Host: "ssh://root@127.0.0.1:22", CertPath: &full}, "", []string{"cert_path: cert_path is set, but host is ssh://root@127.0.0.1:22: reached over ssh"}},
		{"DOCKER_CERT_PATH and DOCKER_TLS_VERIFY with the local socket", Config{CertPath: &missing, TLSVerify: &yes, FromEnv: env("cert_path", "DOCKER_CERT_PATH", "tls_verify", "DOCKER_TLS_VERIFY")}, "none",
			[]string{"! DOCKER_CERT_PATH is set, but host is not set", "! DOCKER_TLS_VERIFY is set"}},
		{"DOCKER_CERT_PATH over ssh from DOCKER_HOST", Config{Host: "ssh://root@127.0.0.1:22", CertPath: &full, FromEnv: env("host", "DOCKER_HOST", "cert_path", "DOCKER_CERT_PATH")}, "none",
			[]string{"! DOCKER_CERT_PATH is set, but host (from DOCKER_HOST) is ssh://root@127.0.0.1:22: reached over ssh"}},
		{"api_version 1.41", Config{APIVersion: "1.41"}, "none", nil},
		{"api_version 1.47", Config{APIVersion: "1.47"}, "none", nil},
		{"api_version 1.12", Config{APIVersion: "1.12"}, "", []string{"api_version: api_version is 1.12, older than 1.41"}},
		{"DOCKER_API_VERSION 1.40", Config{APIVersion: "1.40", FromEnv: env("api_version", "DOCKER_API_VERSION")}, "", []string{": DOCKER_API_VERSION is 1.40, older than 1.41"}},
		{"DOCKER_API_VERSION that is no version", Config{APIVersion: "latest", FromEnv: env("api_version", "DOCKER_API_VERSION")}, "", []string{`: DOCKER_API_VERSION is "latest", which is not an Engine API version`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			problems, warnings := tc.cfg.Check()
			var got []string
			for _, p := range problems {
				got = append(got, p.Path+": "+p.Summary+": "+p.Detail)
			}
			for _, w := range warnings {
				got = append(got, w.Path+"! "+w.Summary+": "+w.Detail)
			}
			ok := len(got) == len(tc.want)
			for i := 0; ok && i < len(got); i++ {
				path, words, _ := strings.Cut(tc.want[i], " ")
				ok = strings.HasPrefix(got[i], path+" ") && inOrder(got[i], strings.Split(words, " … "))
			}
			if !ok {
				t.Errorf("got\n  %s\nwant, in order,\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			if tc.tls == "" {
				if _, _, err := newDockerClient(tc.cfg); err == nil || len(problems) == 0 {
					t.Errorf("the engine builds a client for a configuration with problems (%v)", err)
				}
				return
			}
			cli, secured, err := newDockerClient(tc.cfg)
			if err != nil {
				t.Fatalf("no client: %v", err)
			}
			_ = cli.Close()
			cfg, _, _ := tc.cfg.transport()
			var got2 string
			switch {
			case cfg == nil:
				got2 = "none"
			case cfg.InsecureSkipVerify:
				got2 = "insecure"
			default:
				got2 = "verify"
			}
			if got2 != tc.tls || secured != (cfg != nil) {
				t.Errorf("TLS %s (secured %v), want %s", got2, secured, tc.tls)
			}
		})
	}
}

// inOrder says whether s holds each of the parts, one after the other.
func inOrder(s string, parts []string) bool {
	for _, p := range parts {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return true
}

// An engine that answers but is no active manager (yet) is told apart from every other
// failure to connect: a controller on a node being promoted, or whose swarm component
// restarts, waits for it; it does not wait for a wrong socket or an engine too old.
func TestNotAManagerYet(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"not in a swarm", checkSwarmRole(swarm.Info{LocalNodeState: swarm.LocalNodeStateInactive}, "h"), true},
		{"joining", checkSwarmRole(swarm.Info{LocalNodeState: swarm.LocalNodeStatePending}, "h"), true},
		{"locked", checkSwarmRole(swarm.Info{LocalNodeState: swarm.LocalNodeStateLocked}, "h"), true},
		{"a worker", checkSwarmRole(swarm.Info{LocalNodeState: swarm.LocalNodeStateActive}, "h"), true},
		{"wrapped", fmt.Errorf("connect: %w", checkSwarmRole(swarm.Info{}, "h")), true},
		{"an active manager", checkSwarmRole(swarm.Info{LocalNodeState: swarm.LocalNodeStateActive, ControlAvailable: true}, "h"), false},
		{"no engine at the socket", &ConnectError{Summary: "Cannot Reach Docker", Advice: "x"}, false},
		{"another error", errors.New("boom"), false},
	} {
		if c.name == "an active manager" {
			if c.err != nil {
				t.Errorf("%s: %v", c.name, c.err)
			}
			continue
		}
		if got := NotAManagerYet(c.err); got != c.want {
			t.Errorf("%s: NotAManagerYet(%v) = %v, want %v", c.name, c.err, got, c.want)
		}
	}
}
