package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// sign makes a throwaway OpenPGP key and signs the SHA256SUMS file with it as the release's
// signs step would (a binary detached signature), and keeps the key's public part in keys/
// for the registry to hand out.
func (r *release) sign(sums, keys string) error {
	if len(r.cfg.Signs) != 1 || r.cfg.Signs[0].Artifacts != "checksum" {
		return errors.New("release-check implements one signs entry over the checksum file")
	}
	sigName := r.cfg.Signs[0].Signature
	if sigName == "" {
		sigName = "${artifact}.sig"
	}
	sigPath := strings.ReplaceAll(sigName, "${artifact}", sums)

	entity, err := openpgp.NewEntity("release-check", "throwaway key of make release-check", "", &packet.Config{
		Algorithm: packet.PubKeyAlgoRSA, RSABits: 2048,
	})
	if err != nil {
		return err
	}
	doc, err := os.ReadFile(sums)
	if err != nil {
		return err
	}
	var sig bytes.Buffer
	if err := openpgp.DetachSign(&sig, entity, bytes.NewReader(doc), nil); err != nil {
		return err
	}
	if err := os.WriteFile(sigPath, sig.Bytes(), 0o644); err != nil {
		return err
	}
	var pub bytes.Buffer
	w, err := armor.Encode(&pub, openpgp.PublicKeyType, nil)
	if err != nil {
		return err
	}
	if err := entity.Serialize(w); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := os.MkdirAll(keys, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(keys, "signing-key.asc"), pub.Bytes(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(keys, "signing-key.id"), []byte(entity.PrimaryKey.KeyIdString()), 0o644)
}

// registry answers the provider registry protocol (versions and download, under
// /v1/providers/) and the provider network mirror protocol (under /mirror/) for the assets in
// one dist directory, and serves the assets themselves under /files/.
type registry struct {
	dist      string
	prefix    string // the assets' name prefix, terraform-provider-<type>_
	protocols []string
	keyID     string
	keyArmor  string
	versions  map[string][]platform
}

func runServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	dist := fs.String("dist", "", "directory of the release assets (required)")
	keys := fs.String("keys", "", "directory of the signing key; the CA certificate is written there too (required)")
	source := fs.String("source", "", "provider source address, host/namespace/type (required)")
	addrFile := fs.String("addr-file", "", "file to write the base URL to once listening (required)")
	_ = fs.Parse(args)
	if *dist == "" || *keys == "" || *source == "" || *addrFile == "" {
		fs.Usage()
		return errors.New("-dist, -keys, -source and -addr-file are required")
	}
	parts := strings.Split(*source, "/")
	if len(parts) != 3 {
		return fmt.Errorf("source %q: want host/namespace/type", *source)
	}
	reg, err := loadRegistry(*dist, *keys, parts[2])
	if err != nil {
		return err
	}
	cert, err := makeServingCert(filepath.Join(*keys, "ca.pem"))
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := "https://" + ln.Addr().String()
	mux := http.NewServeMux()
	service := "/v1/providers/"
	prefix := service + parts[1] + "/" + parts[2] + "/"
	mux.HandleFunc("GET "+prefix+"versions", reg.listVersions)
	mux.HandleFunc("GET "+prefix+"{version}/download/{os}/{arch}", func(w http.ResponseWriter, req *http.Request) {
		reg.download(w, req, base)
	})
	mirror := "/mirror/" + *source + "/"
	mux.HandleFunc("GET "+mirror+"index.json", reg.mirrorIndex)
	mux.HandleFunc("GET "+mirror+"{file}", func(w http.ResponseWriter, req *http.Request) {
		reg.mirrorVersion(w, req, base)
	})
	mux.Handle("GET /files/", http.StripPrefix("/files/", http.FileServer(http.Dir(*dist))))
	srv := &http.Server{
		Handler:           logRequests(mux),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	// Written once the socket listens: the script waits for this file, not for a duration.
	if err := os.WriteFile(*addrFile+".tmp", []byte(base), 0o644); err != nil {
		return err
	}
	if err := os.Rename(*addrFile+".tmp", *addrFile); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "serving %s: registry protocol at %s, network mirror at %s\n", *source, base+service, base+"/mirror/")
	if err := srv.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, req)
		fmt.Fprintf(os.Stderr, "%s %s %d\n", req.Method, req.URL.Path, rec.status)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func loadRegistry(dist, keys, typeName string) (*registry, error) {
	reg := &registry{dist: dist, prefix: "terraform-provider-" + typeName + "_", versions: map[string][]platform{}}
	entries, err := os.ReadDir(dist)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasPrefix(name, reg.prefix) {
			continue
		}
		if rest, ok := strings.CutSuffix(strings.TrimPrefix(name, reg.prefix), ".zip"); ok {
			// <version>_<os>_<arch>: semver has no underscore.
			f := strings.Split(rest, "_")
			if len(f) != 3 {
				return nil, fmt.Errorf("%s: not <version>_<os>_<arch>.zip", name)
			}
			reg.versions[f[0]] = append(reg.versions[f[0]], platform{f[1], f[2]})
		}
		if strings.HasSuffix(name, "_manifest.json") {
			var manifest struct {
				Version  int `json:"version"`
				Metadata struct {
					ProtocolVersions []string `json:"protocol_versions"`
				} `json:"metadata"`
			}
			raw, err := os.ReadFile(filepath.Join(dist, name))
			if err != nil {
				return nil, err
			}
			if err := json.Unmarshal(raw, &manifest); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			reg.protocols = manifest.Metadata.ProtocolVersions
		}
	}
	if len(reg.versions) == 0 || len(reg.protocols) == 0 {
		return nil, fmt.Errorf("%s: want %s<version>_<os>_<arch>.zip files and a manifest naming protocol_versions", dist, reg.prefix)
	}
	armored, err := os.ReadFile(filepath.Join(keys, "signing-key.asc"))
	if err != nil {
		return nil, err
	}
	id, err := os.ReadFile(filepath.Join(keys, "signing-key.id"))
	if err != nil {
		return nil, err
	}
	reg.keyArmor, reg.keyID = string(armored), string(id)
	return reg, nil
}

func (reg *registry) listVersions(w http.ResponseWriter, _ *http.Request) {
	type plat struct {
		OS   string `json:"os"`
		Arch string `json:"arch"`
	}
	type version struct {
		Version   string   `json:"version"`
		Protocols []string `json:"protocols"`
		Platforms []plat   `json:"platforms"`
	}
	var out struct {
		Versions []version `json:"versions"`
	}
	for v, platforms := range reg.versions {
		ver := version{Version: v, Protocols: reg.protocols}
		for _, p := range platforms {
			ver.Platforms = append(ver.Platforms, plat{p.os, p.arch})
		}
		out.Versions = append(out.Versions, ver)
	}
	writeJSON(w, out)
}

func (reg *registry) download(w http.ResponseWriter, req *http.Request, base string) {
	version, goos, goarch := req.PathValue("version"), req.PathValue("os"), req.PathValue("arch")
	filename := reg.prefix + version + "_" + goos + "_" + goarch + ".zip"
	sum, err := fileSHA256(filepath.Join(reg.dist, filename))
	if err != nil {
		http.NotFound(w, req)
		return
	}
	sums := reg.prefix + version + "_SHA256SUMS"
	type gpgKey struct {
		KeyID      string `json:"key_id"`
		ASCIIArmor string `json:"ascii_armor"`
	}
	out := map[string]any{
		"protocols":             reg.protocols,
		"os":                    goos,
		"arch":                  goarch,
		"filename":              filename,
		"download_url":          base + "/files/" + filename,
		"shasums_url":           base + "/files/" + sums,
		"shasums_signature_url": base + "/files/" + sums + ".sig",
		"shasum":                sum,
		"signing_keys": map[string]any{
			"gpg_public_keys": []gpgKey{{KeyID: reg.keyID, ASCIIArmor: reg.keyArmor}},
		},
	}
	writeJSON(w, out)
}

// mirrorIndex lists the versions, as a network mirror's index.json.
func (reg *registry) mirrorIndex(w http.ResponseWriter, _ *http.Request) {
	versions := map[string]struct{}{}
	for v := range reg.versions {
		versions[v] = struct{}{}
	}
	writeJSON(w, map[string]any{"versions": versions})
}

// mirrorVersion answers <version>.json: each platform's zip and its zh: hash, which Terraform
// checks the download against.
func (reg *registry) mirrorVersion(w http.ResponseWriter, req *http.Request, base string) {
	version, ok := strings.CutSuffix(req.PathValue("file"), ".json")
	platforms, known := reg.versions[version]
	if !ok || !known {
		http.NotFound(w, req)
		return
	}
	type archive struct {
		URL    string   `json:"url"`
		Hashes []string `json:"hashes"`
	}
	archives := map[string]archive{}
	for _, p := range platforms {
		filename := reg.prefix + version + "_" + p.String() + ".zip"
		sum, err := fileSHA256(filepath.Join(reg.dist, filename))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		archives[p.String()] = archive{URL: base + "/files/" + filename, Hashes: []string{"zh:" + sum}}
	}
	writeJSON(w, map[string]any{"archives": archives})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		fmt.Fprintf(os.Stderr, "writing a response: %v\n", err)
	}
}

// makeServingCert makes a CA and a certificate for 127.0.0.1 signed by it, both for this run
// only, and writes the CA's certificate to caPath for terraform to trust (SSL_CERT_FILE).
func makeServingCert(caPath string) (tls.Certificate, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "release-check test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return tls.Certificate{}, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := os.WriteFile(caPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}, nil
}
