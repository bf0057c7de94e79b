// Package orchestrator is the engine behind terraform-provider-swarm: it owns every Docker
// Engine API call and every decision (observe, diff, apply, converge). It imports nothing from
// Terraform, so the same engine can later run as a long-lived controller.
package orchestrator

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
)

// MinAPIVersion is the oldest Engine API the engine speaks.
const MinAPIVersion = "1.41"

// Config says how to reach a Docker engine that is a Swarm manager.
type Config struct {
	// Host is a unix://, tcp:// or ssh:// address. Empty means the local socket.
	Host string
	// CAPEM, CertPEM and KeyPEM are PEM-encoded TLS material (Terraform Cloud has no files).
	CAPEM, CertPEM, KeyPEM string
	// CertPath is a directory holding ca.pem, cert.pem and key.pem, as DOCKER_CERT_PATH.
	CertPath string
	// TLSVerify checks the server certificate. Nil means: verify when TLS material is given.
	TLSVerify *bool
	// SSHOpts are extra arguments for the ssh command used for ssh:// hosts.
	SSHOpts []string
	// APIVersion pins the Engine API version; empty negotiates.
	APIVersion string
	// RegistryAuth holds credentials the engine sends when a service uses a private image.
	RegistryAuth []RegistryAuth
	// ConnectRetry paces the first contact when it fails transiently; zero means
	// ConnectBackoff.
	ConnectRetry Backoff
	// OnRetry, when set, hears of each transient failure, the first contact's included,
	// before the call is made again.
	OnRetry func(context.Context, RetryNotice)
}

// ConnectBackoff paces the first contact with the manager. A manager whose daemon restarts as
// Terraform starts refuses connections, or says it is not a manager yet, for a few seconds; an
// engine that is not there at all is reported once the budget is spent.
var ConnectBackoff = Backoff{Initial: 250 * time.Millisecond, Max: 2 * time.Second, Budget: 15 * time.Second}

// ConnectError is a failure to reach or use the engine, with advice for the user.
type ConnectError struct {
	Summary string
	Advice  string
	Err     error
}

func (e *ConnectError) Error() string {
	if e.Err == nil {
		return e.Summary + ": " + e.Advice
	}
	return fmt.Sprintf("%s: %s (%v)", e.Summary, e.Advice, e.Err)
}

func (e *ConnectError) Unwrap() error { return e.Err }

const defaultHost = "unix:///var/run/docker.sock"

func (c Config) host() string {
	if c.Host != "" {
		return c.Host
	}
	return defaultHost
}

// newDockerClient builds a Docker client for the configuration, without touching the network.
func newDockerClient(cfg Config) (*client.Client, error) {
	host := cfg.host()
	u, err := url.Parse(host)
	if err != nil || u.Scheme == "" {
		return nil, &ConnectError{Summary: "Invalid Docker host", Advice: fmt.Sprintf("%q is not a unix://, tcp:// or ssh:// address", host), Err: err}
	}

	opts := []client.Opt{}
	if cfg.APIVersion != "" {
		opts = append(opts, client.WithVersion(cfg.APIVersion))
	} else {
		opts = append(opts, client.WithAPIVersionNegotiation())
	}

	switch u.Scheme {
	case "unix", "npipe":
		opts = append(opts, client.WithHost(host))
	case "tcp", "http", "https":
		tlsCfg, err := cfg.tlsConfig()
		if err != nil {
			return nil, err
		}
		tr := &http.Transport{TLSClientConfig: tlsCfg, TLSHandshakeTimeout: 10 * time.Second}
		opts = append(opts, client.WithHTTPClient(&http.Client{Transport: tr}), client.WithHost(host))
		if tlsCfg != nil {
			opts = append(opts, client.WithScheme("https"))
		}
	case "ssh":
		dial, err := sshDialer(u, cfg.SSHOpts)
		if err != nil {
			return nil, err
		}
		tr := &http.Transport{DialContext: dial}
		opts = append(opts, client.WithHTTPClient(&http.Client{Transport: tr}), client.WithHost("http://docker.example.com"), client.WithDialContext(dial))
	default:
		return nil, &ConnectError{Summary: "Invalid Docker host", Advice: fmt.Sprintf("scheme %q is not supported; use unix://, tcp:// or ssh://", u.Scheme)}
	}
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, &ConnectError{Summary: "Invalid Docker client configuration", Advice: "check host and api_version", Err: err}
	}
	return cli, nil
}

// tlsConfig returns nil when no TLS material is configured and verification is not requested.
func (c Config) tlsConfig() (*tls.Config, error) {
	ca, cert, key := []byte(c.CAPEM), []byte(c.CertPEM), []byte(c.KeyPEM)
	if c.CertPath != "" {
		read := func(name string, into *[]byte) error {
			if len(*into) > 0 {
				return nil
			}
			b, err := os.ReadFile(filepath.Join(c.CertPath, name))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return &ConnectError{Summary: "Cannot read TLS material", Advice: "check cert_path", Err: err}
			}
			*into = b
			return nil
		}
		for name, into := range map[string]*[]byte{"ca.pem": &ca, "cert.pem": &cert, "key.pem": &key} {
			if err := read(name, into); err != nil {
				return nil, err
			}
		}
	}
	verify := len(ca) > 0
	if c.TLSVerify != nil {
		verify = *c.TLSVerify
	}
	if len(ca) == 0 && len(cert) == 0 && !verify {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: !verify} // the user asked for tls_verify = false
	if len(ca) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, &ConnectError{Summary: "Invalid CA certificate", Advice: "ca_pem (or ca.pem in cert_path) holds no PEM certificate"}
		}
		cfg.RootCAs = pool
	}
	if len(cert) > 0 || len(key) > 0 {
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return nil, &ConnectError{Summary: "Invalid client certificate", Advice: "cert_pem and key_pem must be a matching PEM certificate and private key", Err: err}
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// checkManager pings the engine, makes sure it is an active Swarm manager and reads its clock.
func checkManager(ctx context.Context, cli *client.Client, host string) (managerClock, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		return managerClock{}, classifyConnectError(err, host)
	}
	if v := cli.ClientVersion(); v != "" && olderAPI(v) {
		return managerClock{}, &ConnectError{Summary: "Docker engine too old", Advice: fmt.Sprintf("the engine at %s speaks Engine API %s; this provider needs %s or newer (Docker 20.10+)", host, v, MinAPIVersion)}
	}
	asked := time.Now()
	info, err := cli.Info(ctx)
	if err != nil {
		return managerClock{}, classifyConnectError(err, host)
	}
	clock := clockFrom(info.SystemTime, asked, time.Now())
	return clock, checkSwarmRole(info.Swarm, host)
}

func checkSwarmRole(info swarm.Info, host string) error {
	switch info.LocalNodeState {
	case swarm.LocalNodeStateActive:
	case swarm.LocalNodeStatePending, swarm.LocalNodeStateLocked:
		return &ConnectError{Summary: "Swarm not ready", Advice: fmt.Sprintf("the engine at %s is in swarm state %q; unlock it (docker swarm unlock) or wait for it to join", host, info.LocalNodeState)}
	default:
		return &ConnectError{Summary: "Docker engine not in swarm mode", Advice: fmt.Sprintf("the engine at %s is not part of a swarm; run `docker swarm init` there, or point host at a manager of an existing swarm", host)}
	}
	if !info.ControlAvailable {
		return &ConnectError{Summary: "Docker node is not a swarm manager", Advice: fmt.Sprintf("the engine at %s is a worker; point host at a manager node (docker node ls on a manager lists them) or promote this one with `docker node promote`", host)}
	}
	return nil
}

func classifyConnectError(err error, host string) error {
	var uaErr x509.UnknownAuthorityError
	var hnErr x509.HostnameError
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	msg := err.Error()
	switch {
	case errors.As(err, &uaErr), errors.As(err, &hnErr), errors.As(err, &certErr),
		strings.Contains(msg, "certificate"), strings.Contains(msg, "tls:"):
		return &ConnectError{Summary: "TLS handshake with the Docker engine failed", Advice: fmt.Sprintf("the engine at %s did not accept our TLS or we did not trust its certificate; check ca_pem, cert_pem and key_pem (or cert_path) and tls_verify", host), Err: err}
	case errors.As(err, &recErr), strings.Contains(msg, "server gave HTTP response to HTTPS client"):
		return &ConnectError{Summary: "TLS mismatch with the Docker engine", Advice: fmt.Sprintf("the engine at %s does not speak TLS as configured; drop the TLS settings or use the TLS port", host), Err: err}
	case client.IsErrConnectionFailed(err), isNetError(err):
		return &ConnectError{Summary: "Cannot reach the Docker engine", Advice: fmt.Sprintf("nothing answered at %s; is dockerd running, and is host (or DOCKER_HOST) right?", host), Err: err}
	}
	return &ConnectError{Summary: "Docker engine error", Advice: fmt.Sprintf("the engine at %s answered with an error", host), Err: err}
}

func isNetError(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &ne) || errors.As(err, &oe) || errors.Is(err, os.ErrNotExist)
}

// olderAPI says whether a dotted API version such as "1.40" is older than MinAPIVersion.
func olderAPI(v string) bool {
	pa, pb := strings.Split(v, "."), strings.Split(MinAPIVersion, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}
