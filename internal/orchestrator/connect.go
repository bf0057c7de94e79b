// Package orchestrator is the engine behind terraform-provider-swarm: it owns every Docker
// Engine API call and every decision (observe, diff, apply, converge). It imports nothing from
// Terraform, so the same engine can later run as a long-lived controller.
package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
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
	// Nil means not given; given, they must not be empty.
	CAPEM, CertPEM, KeyPEM *string
	// CertPath is a directory holding ca.pem, cert.pem and key.pem, as DOCKER_CERT_PATH. Nil
	// means not given.
	CertPath *string
	// TLSVerify checks the engine's certificate. Nil means: verify whenever TLS is on.
	TLSVerify *bool
	// FromEnv names the environment variable a setting was read from, by the provider
	// argument it stands in for ("cert_path": "DOCKER_CERT_PATH"). Problems with such a
	// setting name the variable; a setting not in FromEnv was written in the configuration.
	FromEnv map[string]string
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
	// role says the engine answered, but is not (or not yet) an active swarm manager.
	role bool
}

// NotAManagerYet says whether err is the engine answering that it is not an active swarm
// manager: not in a swarm, joining, locked, or a worker. On a node being promoted, or whose
// swarm component restarts (as a manager's does when it cannot join Raft in time), that
// passes; a caller that runs on a manager may wait for it.
func NotAManagerYet(err error) bool {
	var ce *ConnectError
	return errors.As(err, &ce) && ce.role
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

// ConfigError is a configuration the engine refuses before it connects: each problem names
// the setting (the provider argument or its environment variable) and why.
type ConfigError struct {
	Problems []FieldProblem
}

func (e *ConfigError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Summary + ": " + p.Detail
	}
	return strings.Join(msgs, "; ")
}

// Check reports, without connecting, the settings that cannot be used as given (problems: New
// refuses them) and those that work but deserve a word (warnings).
func (c Config) Check() (problems, warnings []FieldProblem) {
	_, problems, warnings = c.transport()
	return append(problems, c.apiVersionProblems()...), warnings
}

// newDockerClient builds a Docker client for the configuration, without touching the network.
// secured says whether the engine is reached with TLS.
func newDockerClient(cfg Config) (cli *client.Client, secured bool, err error) {
	host := cfg.host()
	u, err := url.Parse(host)
	if err != nil || u.Scheme == "" {
		return nil, false, &ConnectError{Summary: "Invalid Docker host", Advice: fmt.Sprintf("%q is not a unix://, tcp:// or ssh:// address", host), Err: err}
	}
	tlsCfg, problems, _ := cfg.transport()
	if problems = append(problems, cfg.apiVersionProblems()...); len(problems) > 0 {
		return nil, false, &ConfigError{Problems: problems}
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
		tr := &http.Transport{TLSClientConfig: tlsCfg, TLSHandshakeTimeout: 10 * time.Second}
		opts = append(opts, client.WithHTTPClient(&http.Client{Transport: tr}), client.WithHost(host))
		if tlsCfg != nil {
			opts = append(opts, client.WithScheme("https"))
		}
	case "ssh":
		dial, err := sshDialer(u, cfg.SSHOpts)
		if err != nil {
			return nil, false, err
		}
		tr := &http.Transport{DialContext: dial}
		opts = append(opts, client.WithHTTPClient(&http.Client{Transport: tr}), client.WithHost("http://docker.example.com"), client.WithDialContext(dial))
	default:
		return nil, false, &ConnectError{Summary: "Invalid Docker host", Advice: fmt.Sprintf("scheme %q is not supported; use unix://, tcp:// or ssh://", u.Scheme)}
	}
	cli, err = client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, false, &ConnectError{Summary: "Invalid Docker client configuration", Advice: "check host and api_version", Err: err}
	}
	return cli, tlsCfg != nil, nil
}

var apiVersionPattern = regexp.MustCompile(`^1\.\d+$`)

// apiVersionProblems refuses a pinned Engine API version that this provider cannot speak.
func (c Config) apiVersionProblems() []FieldProblem {
	v := c.APIVersion
	switch {
	case v == "":
		return nil
	case !apiVersionPattern.MatchString(v):
		return []FieldProblem{problem(c.at("api_version"), "Invalid Engine API Version",
			fmt.Sprintf("%s is %q, which is not an Engine API version such as %s.", c.name("api_version"), v, MinAPIVersion))}
	case olderAPI(v):
		return []FieldProblem{problem(c.at("api_version"), "Unsupported Engine API Version",
			fmt.Sprintf("%s is %s, older than %s, the oldest Engine API this provider speaks (Docker 20.10). Remove it to let the provider and the engine agree on a version, or pin %s or newer.",
				c.name("api_version"), v, MinAPIVersion, MinAPIVersion))}
	}
	return nil
}

// name is how messages call a setting: its provider argument, or the environment variable it
// was read from.
func (c Config) name(arg string) string {
	if env := c.FromEnv[arg]; env != "" {
		return env
	}
	return arg
}

// at is where a problem with a setting is reported: at its argument, or at the provider block
// as a whole when it came from the environment.
func (c Config) at(arg string) string {
	if c.FromEnv[arg] != "" {
		return ""
	}
	return arg
}

// checkManager pings the engine, makes sure it speaks a version of the API that the provider
// (and a pinned api_version) can use, that it is an active Swarm manager, and reads its clock.
// secured says whether the client uses TLS.
func checkManager(ctx context.Context, cli DockerAPI, cfg Config, secured bool) (managerClock, error) {
	host := cfg.host()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ping, err := cli.Ping(ctx)
	if err != nil {
		// A TLS port other than dockerd's cuts a plain-HTTP request off, as a daemon that
		// stops does; a TLS handshake tells the two apart.
		if addr := plainTCPAddr(host); !secured && addr != "" && cutShort(err) && speaksTLS(ctx, addr) {
			err = fmt.Errorf("%w: %w", errSpeaksTLS, err)
		}
		return managerClock{}, classifyConnectError(err, host)
	}
	if err := checkAPIVersion(ping.APIVersion, cfg); err != nil {
		return managerClock{}, err
	}
	asked := time.Now()
	info, err := cli.Info(ctx)
	if err != nil {
		return managerClock{}, classifyConnectError(err, host)
	}
	clock := clockFrom(info.SystemTime, asked, time.Now())
	return clock, checkSwarmRole(info.Swarm, host)
}

// checkAPIVersion compares the newest Engine API version the engine speaks (from its ping)
// with the oldest this provider needs and with a pinned api_version. An engine that does not
// say is let through: its first answer will tell.
func checkAPIVersion(engine string, cfg Config) error {
	host := cfg.host()
	switch {
	case engine == "":
	case olderAPI(engine):
		return &ConnectError{Summary: "Docker engine too old", Advice: fmt.Sprintf("the engine at %s speaks Engine API %s; this provider needs %s or newer (Docker 20.10+)", host, engine, MinAPIVersion)}
	case cfg.APIVersion != "" && apiBefore(engine, cfg.APIVersion):
		name := cfg.name("api_version")
		return &ConfigError{Problems: []FieldProblem{problem(cfg.at("api_version"), "Pinned API Version Too New", fmt.Sprintf(
			"%s is %s, but the engine at %s speaks Engine API %s at most. Remove %s to let the provider and the engine agree on a version, or pin %s.",
			name, cfg.APIVersion, host, engine, name, engine))}}
	}
	return nil
}

func checkSwarmRole(info swarm.Info, host string) error {
	switch info.LocalNodeState {
	case swarm.LocalNodeStateActive:
	case swarm.LocalNodeStatePending, swarm.LocalNodeStateLocked:
		return &ConnectError{role: true, Summary: "Swarm not ready", Advice: fmt.Sprintf("the engine at %s is in swarm state %q; unlock it (docker swarm unlock) or wait for it to join", host, info.LocalNodeState)}
	default:
		return &ConnectError{role: true, Summary: "Docker engine not in swarm mode", Advice: fmt.Sprintf("the engine at %s is not part of a swarm; run `docker swarm init` there, or point host at a manager of an existing swarm", host)}
	}
	if !info.ControlAvailable {
		return &ConnectError{role: true, Summary: "Docker node is not a swarm manager", Advice: fmt.Sprintf("the engine at %s is a worker; point host at a manager node (docker node ls on a manager lists them) or promote this one with `docker node promote`", host)}
	}
	return nil
}

// classifyConnectError names a failure to reach or use the engine at host, with advice.
func classifyConnectError(err error, host string) error {
	msg := err.Error()
	var sshErr *sshError
	switch {
	case tlsAtPlainPort(err):
		return &ConnectError{Summary: "TLS mismatch with the Docker engine", Advice: fmt.Sprintf("the engine at %s does not speak TLS as configured; drop the TLS settings or use the TLS port", host), Err: err}
	case plainAtTLSPort(err):
		return &ConnectError{Summary: "TLS mismatch with the Docker engine", Advice: fmt.Sprintf("the engine at %s expects TLS, and no TLS settings are given; give ca_pem, cert_pem and key_pem (or cert_path) for it, or use its plain-HTTP port", host), Err: err}
	case certificateRefused(err), strings.Contains(msg, "certificate"), strings.Contains(msg, "tls:"):
		return &ConnectError{Summary: "TLS handshake with the Docker engine failed", Advice: fmt.Sprintf("the engine at %s did not accept our TLS or we did not trust its certificate; check ca_pem, cert_pem and key_pem (or cert_path) and tls_verify", host), Err: err}
	case errors.As(err, &sshErr):
		return &ConnectError{Summary: "SSH Connection to the Docker Engine Failed", Advice: fmt.Sprintf("ssh to %s ended before the engine answered; what ssh said is below. "+
			"Check the user and the key (ssh_opts, such as [\"-i\", \"/path/to/key\"]), that the host key is known (known_hosts), that the host is up, and that the remote user can run docker", host), Err: err}
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
func olderAPI(v string) bool { return apiBefore(v, MinAPIVersion) }

// apiBefore says whether dotted API version a is older than b.
func apiBefore(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
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
