package orchestrator

// How the connection to the engine is secured, and how a failure of that security is told
// apart from an engine that is not there yet.
//
// Every TLS setting that is given is used, or the configuration is refused: a mistyped
// cert_path, an empty directory or an empty ca_pem must never turn TLS off without a word.
// The docker CLI fails open in places (it reads DOCKER_CERT_PATH only when TLS is asked for
// by --tls or DOCKER_TLS_VERIFY, and it skips a cert.pem or key.pem that is not there); this
// provider refuses instead, and says which setting and why.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// tlsSummary heads every problem with TLS material.
const tlsSummary = "Invalid TLS Settings"

// tlsPiece is one piece of TLS material (the CA, the client certificate or its key) and where
// it came from.
type tlsPiece struct {
	set  bool
	data []byte
	// from is how messages call it: "ca_pem", or `ca.pem in cert_path "/etc/docker"`.
	from string
	// at is where a problem with it is reported (empty: the provider block).
	at string
}

func (p tlsPiece) given() bool { return p.set }

// transport decides how the engine is reached: with the TLS configuration it returns, or
// without TLS when it returns nil. problems are settings that cannot be used as given; with
// any of them there is no configuration. warnings are for settings that work but should not.
func (c Config) transport() (cfg *tls.Config, problems, warnings []FieldProblem) {
	u, err := url.Parse(c.host())
	if err != nil {
		return nil, nil, nil // newDockerClient says what is wrong with the host
	}
	switch u.Scheme {
	case "tcp", "http", "https":
	default:
		problems, warnings = c.tlsWithoutTCP(u.Scheme)
		return nil, problems, warnings
	}
	ca, cert, key, problems := c.tlsMaterial()
	if len(problems) > 0 {
		return nil, problems, nil
	}
	if cfg, problems = c.tlsConfig(ca, cert, key); len(problems) > 0 {
		return nil, problems, nil
	}
	if cfg == nil && !isLoopback(u.Hostname()) {
		warnings = append(warnings, problem(c.at("host"), "Unencrypted Connection to the Docker Engine", fmt.Sprintf(
			"%s, reached over plain TCP without TLS: everything the provider sends and receives, the values of secrets and registry passwords included, "+
				"crosses the network in clear text, and anyone on the path can read it or take control of the swarm. "+
				"Turn TLS on: point host at the engine's TLS port (dockerd --tlsverify, usually tcp://%s:2376) and give ca_pem, cert_pem and key_pem (or cert_path), "+
				"or reach the manager with an ssh:// host.", c.hostWords(), u.Hostname())))
	}
	return cfg, nil, warnings
}

// tlsWithoutTCP reports the TLS settings given with a host that does not use TLS: a local
// socket, or ssh, which encrypts and authenticates the connection itself.
//
// A setting written in the configuration is an error: whoever wrote it expects TLS and would
// get something else. One that came from the environment is only a warning: a
// DOCKER_CERT_PATH or DOCKER_TLS_VERIFY left in a shell (by docker-machine, or from work on a
// remote engine) beside the local socket is common, the docker CLI ignores it there too, and
// ignoring it weakens nothing, since that connection never used TLS.
func (c Config) tlsWithoutTCP(scheme string) (problems, warnings []FieldProblem) {
	why := "a local socket, which does not use TLS"
	if scheme == "ssh" {
		why = "reached over ssh, which encrypts and authenticates the connection itself, so TLS settings do not apply"
	}
	given := map[string]bool{
		"ca_pem": c.CAPEM != nil, "cert_pem": c.CertPEM != nil, "key_pem": c.KeyPEM != nil, "cert_path": c.CertPath != nil,
		"tls_verify": c.TLSVerify != nil && *c.TLSVerify, // tls_verify = false asks for nothing
	}
	for _, arg := range []string{"ca_pem", "cert_pem", "key_pem", "cert_path", "tls_verify"} {
		switch {
		case !given[arg]:
		case c.FromEnv[arg] != "":
			warnings = append(warnings, FieldProblem{Summary: "TLS Variable Ignored", Detail: fmt.Sprintf(
				"%s is set, but %s: %s. The variable is ignored; unset it to silence this warning.", c.FromEnv[arg], c.hostWords(), why)})
		default:
			problems = append(problems, problem(arg, "TLS Settings Need a tcp:// Host", fmt.Sprintf(
				"%s is set, but %s: %s. Remove %s, or set host to the engine's TLS address (tcp://HOST:2376).", arg, c.hostWords(), why, arg)))
		}
	}
	return problems, warnings
}

// tlsMaterial gathers the CA, the client certificate and its key: from the PEM arguments,
// else from the files in cert_path, piece by piece. Each piece that is given must be there.
func (c Config) tlsMaterial() (ca, cert, key tlsPiece, problems []FieldProblem) {
	fromArg := func(arg, what string, v *string) tlsPiece {
		if v == nil {
			return tlsPiece{}
		}
		if strings.TrimSpace(*v) == "" {
			problems = append(problems, problem(arg, tlsSummary, fmt.Sprintf(
				"%s is empty. Give the PEM-encoded %s, or remove %s: an empty value must not turn this part of TLS off.", arg, what, arg)))
		}
		return tlsPiece{set: true, data: []byte(*v), from: arg, at: arg}
	}
	ca = fromArg("ca_pem", "CA certificate that signed the engine's certificate", c.CAPEM)
	cert = fromArg("cert_pem", "client certificate", c.CertPEM)
	key = fromArg("key_pem", "private key of cert_pem", c.KeyPEM)
	if c.CertPath == nil {
		return ca, cert, key, problems
	}
	if ca.given() && cert.given() && key.given() {
		// Nothing would be read from cert_path. DOCKER_CERT_PATH gives way to the arguments
		// as every variable does; an argument is a mistake worth saying.
		if c.FromEnv["cert_path"] == "" {
			problems = append(problems, problem("cert_path", tlsSummary,
				"cert_path is not read: ca_pem, cert_pem and key_pem are all given, and they take precedence over its files. Remove cert_path or the PEM arguments."))
		}
		return ca, cert, key, problems
	}
	problems = append(problems, c.readCertPath(&ca, &cert, &key)...)
	return ca, cert, key, problems
}

// readCertPath reads from cert_path the pieces not given as PEM arguments. The directory must
// exist and hold what the connection needs: ca.pem to verify the engine (unless tls_verify is
// false), and cert.pem with key.pem, or neither. A directory with ca.pem alone is TLS without
// a client certificate, as the docker CLI allows; an engine that demands one refuses the
// handshake, and that is reported as such.
func (c Config) readCertPath(ca, cert, key *tlsPiece) (problems []FieldProblem) {
	dir, name, at := *c.CertPath, c.name("cert_path"), c.at("cert_path")
	bad := func(format string, args ...any) []FieldProblem {
		return append(problems, problem(at, tlsSummary, fmt.Sprintf(format, args...)))
	}
	if strings.TrimSpace(dir) == "" {
		return bad("%s is empty. Give the directory that holds ca.pem, cert.pem and key.pem, or remove %s.", name, name)
	}
	where := fmt.Sprintf("%s %q", name, dir)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return bad("%s does not exist. The engine's CA and the client certificate (ca.pem, cert.pem and key.pem) are read from it, and without them "+
			"the connection would not be secured, so none is made. Correct the path, or give ca_pem, cert_pem and key_pem.", where)
	case err != nil:
		return bad("cannot read %s: %v.", where, err)
	case !st.IsDir():
		return bad("%s is not a directory: give the directory that holds ca.pem, cert.pem and key.pem.", where)
	}
	var wanted, found []string
	read := func(file string, into *tlsPiece) {
		if into.given() {
			return // the PEM argument wins
		}
		wanted = append(wanted, file)
		b, err := os.ReadFile(filepath.Join(dir, file))
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			problems = bad("cannot read %s in %s: %v.", file, where, err)
		default:
			*into = tlsPiece{set: true, data: b, from: fmt.Sprintf("%s in %s", file, where), at: at}
			found = append(found, file)
		}
	}
	read("ca.pem", ca)
	read("cert.pem", cert)
	read("key.pem", key)
	switch {
	case len(problems) > 0:
		return problems
	case len(found) == 0:
		return bad("%s holds none of %s. It must hold the engine's CA (ca.pem) and the client certificate with its key (cert.pem, key.pem), "+
			"as made for dockerd --tlsverify; without them the connection would not be secured, so none is made.", where, andList(wanted))
	case cert.given() && !key.given():
		return bad("%s holds cert.pem but no key.pem. key.pem is the private key of the client certificate cert.pem: without it the certificate cannot be presented. "+
			"Add key.pem, or give cert_pem and key_pem.", where)
	case key.given() && !cert.given():
		return bad("%s holds key.pem but no cert.pem. cert.pem is the client certificate that key.pem belongs to, which the engine checks against its CA. "+
			"Add cert.pem, or give cert_pem and key_pem.", where)
	case !ca.given() && (c.TLSVerify == nil || *c.TLSVerify):
		return bad("%s holds no ca.pem. ca.pem is the CA that signed the engine's certificate, needed to verify that the engine is the one meant. "+
			"Add it, give ca_pem, or set tls_verify = false to connect without verifying the engine (anyone on the path could then pose as it).", where)
	}
	return nil
}

// tlsConfig builds the TLS configuration from the material: nil (no TLS) when there is none
// and tls_verify is not true. The engine's certificate is verified unless tls_verify is false:
// against the CA given, or against this machine's trusted roots when tls_verify = true is set
// without one.
func (c Config) tlsConfig(ca, cert, key tlsPiece) (*tls.Config, []FieldProblem) {
	explicit := c.TLSVerify != nil
	if !ca.given() && !cert.given() && !key.given() {
		if explicit && *c.TLSVerify {
			return &tls.Config{MinVersion: tls.VersionTLS12}, nil
		}
		return nil, nil
	}
	var problems []FieldProblem
	bad := func(at, format string, args ...any) {
		problems = append(problems, problem(at, tlsSummary, fmt.Sprintf(format, args...)))
	}
	// The engine's certificate goes unchecked only when tls_verify = false is set.
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: explicit && !*c.TLSVerify}
	switch {
	case ca.given():
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca.data) {
			bad(ca.at, "%s holds no PEM certificate. It must be the certificate of the CA that signed the engine's, starting with -----BEGIN CERTIFICATE-----.", ca.from)
		}
		cfg.RootCAs = pool
	case !explicit:
		// Without a CA, a client certificate alone would once connect without checking the
		// engine at all: say which one is meant.
		bad(cert.at, "%s is given, but no CA to verify the engine's certificate with. Give ca_pem (or ca.pem in cert_path); "+
			"or set tls_verify = true to verify it against this machine's trusted roots, or tls_verify = false to connect without verifying the engine "+
			"(anyone on the path could then pose as it).", cert.from)
	}
	switch {
	case cert.given() && !key.given():
		bad(cert.at, "%s is given without the private key that goes with it: give key_pem too.", cert.from)
	case key.given() && !cert.given():
		bad(key.at, "%s is given without the client certificate it belongs to: give cert_pem too.", key.from)
	case cert.given():
		pair, err := tls.X509KeyPair(cert.data, key.data)
		if err != nil {
			bad(cert.at, "%s and %s are not a matching PEM certificate and private key: %v.", cert.from, key.from, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return cfg, nil
}

// hostWords says which engine is reached and how it was chosen, for messages.
func (c Config) hostWords() string {
	switch {
	case c.Host == "":
		return "host is not set (nor DOCKER_HOST), so the provider uses the local socket " + defaultHost
	case c.FromEnv["host"] != "":
		return fmt.Sprintf("host (from %s) is %s", c.FromEnv["host"], c.Host)
	}
	return "host is " + c.Host
}

// isLoopback says whether a host name stays on this machine: localhost, 127.0.0.0/8 or ::1.
// Names are not resolved.
func isLoopback(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func andList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// errSpeaksTLS is what the probe found: a port that cut a plain-HTTP request off completes a
// TLS handshake.
var errSpeaksTLS = errors.New("the engine's port speaks TLS")

// speaksTLS says whether a TCP address takes a TLS handshake: asked when an engine reached
// without TLS cut the connection before answering, as a TLS port other than dockerd's does
// (OpenSSL resets it). A TLS alert counts: the port speaks TLS, and refused something of ours.
func speaksTLS(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	// The probe only looks at the handshake: it trusts nothing it receives and sends nothing.
	d := tls.Dialer{Config: &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		_ = conn.Close()
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "remote error"
}

// cutShort says whether a connection was taken and then cut before an answer came.
func cutShort(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "connection reset by peer") || strings.HasSuffix(err.Error(), ": EOF")
}

// plainTCPAddr is the host:port of a tcp:// host, for the TLS probe; empty for other hosts.
func plainTCPAddr(host string) string {
	u, err := url.Parse(host)
	if err != nil || (u.Scheme != "tcp" && u.Scheme != "http") || u.Port() == "" {
		return ""
	}
	return u.Host
}

// tlsAtPlainPort says whether err is our TLS answered in plain HTTP.
func tlsAtPlainPort(err error) bool {
	var rec tls.RecordHeaderError
	return errors.As(err, &rec) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}

// plainAtTLSPort says whether err is plain HTTP refused by a TLS port: Go's TLS server (as in
// dockerd) answers 400 saying so; a TLS record read as an answer is no HTTP (the docker client
// calls it malformed); and a port the probe found speaking TLS.
func plainAtTLSPort(err error) bool {
	msg := err.Error()
	return errors.Is(err, errSpeaksTLS) || strings.Contains(msg, "Client sent an HTTP request to an HTTPS server") ||
		strings.Contains(msg, "malformed HTTP response")
}

// certificateRefused says whether a TLS handshake failed on a certificate: the engine's not
// trusted by us, or ours refused by the engine (a TLS alert).
func certificateRefused(err error) bool {
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var inv x509.CertificateInvalidError
	var cv *tls.CertificateVerificationError
	var oe *net.OpError
	if errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &inv) || errors.As(err, &cv) ||
		(errors.As(err, &oe) && oe.Op == "remote error") {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "x509: ") || strings.Contains(msg, "remote error: tls: ") || strings.Contains(msg, "bad certificate")
}
