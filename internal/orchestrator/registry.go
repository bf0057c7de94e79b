package orchestrator

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/registry"
)

// RegistryAuth is one set of registry credentials. Either Username/Password or
// ConfigFileContent (a docker config.json) is set.
type RegistryAuth struct {
	Address           string
	Username          string
	Password          string
	ConfigFileContent string
}

type dockerConfigFile struct {
	Auths map[string]struct {
		Auth     string `json:"auth"`
		Username string `json:"username"`
		Password string `json:"password"`
	} `json:"auths"`
}

// normaliseRegistryHost turns "https://index.docker.io/v1/", "docker.io" and friends into the
// host that image references use.
func normaliseRegistryHost(addr string) string {
	a := strings.TrimPrefix(strings.TrimPrefix(addr, "https://"), "http://")
	a = strings.TrimSuffix(a, "/")
	if i := strings.Index(a, "/"); i >= 0 {
		a = a[:i]
	}
	switch a {
	case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return "docker.io"
	}
	return a
}

// ImageRegistry returns the registry host of an image reference ("docker.io" for Hub images).
func ImageRegistry(image string) string {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return ""
	}
	return reference.Domain(named)
}

// credentials finds the username/password for a registry host, or ok=false.
func credentials(auths []RegistryAuth, host string) (user, pass string, ok bool, err error) {
	for _, a := range auths {
		if a.ConfigFileContent != "" {
			var f dockerConfigFile
			if err := json.Unmarshal([]byte(a.ConfigFileContent), &f); err != nil {
				return "", "", false, fmt.Errorf("registry_auth %q: config_file_content is not a docker config.json: %w", a.Address, err)
			}
			for addr, e := range f.Auths {
				if normaliseRegistryHost(addr) != host {
					continue
				}
				if e.Auth != "" {
					raw, err := base64.StdEncoding.DecodeString(e.Auth)
					if err != nil {
						return "", "", false, fmt.Errorf("registry_auth %q: the auth entry for %s is not base64", a.Address, addr)
					}
					u, p, found := strings.Cut(string(raw), ":")
					if !found {
						return "", "", false, fmt.Errorf("registry_auth %q: the auth entry for %s is not user:password", a.Address, addr)
					}
					return u, p, true, nil
				}
				return e.Username, e.Password, true, nil
			}
			continue
		}
		if normaliseRegistryHost(a.Address) == host {
			return a.Username, a.Password, true, nil
		}
	}
	return "", "", false, nil
}

// encodedAuthFor returns the X-Registry-Auth header value for an image, or "" when no
// credentials are configured for its registry.
func encodedAuthFor(auths []RegistryAuth, image string) (string, error) {
	host := ImageRegistry(image)
	if host == "" {
		return "", nil
	}
	user, pass, ok, err := credentials(auths, host)
	if err != nil || !ok {
		return "", err
	}
	return registry.EncodeAuthConfig(registry.AuthConfig{Username: user, Password: pass, ServerAddress: host})
}

// CheckRegistryConfig checks the contents of a docker config.json given for a registry: it
// must parse and hold credentials for address. The contents are secret: the error never
// quotes them.
func CheckRegistryConfig(content, address string) error {
	var f dockerConfigFile
	if err := json.Unmarshal([]byte(content), &f); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("config_file_content is not JSON (syntax error at byte %d); give the contents of a docker config.json", se.Offset)
		}
		return errors.New("config_file_content is not a docker config.json: it needs an \"auths\" object of registry entries")
	}
	host := normaliseRegistryHost(address)
	for addr := range f.Auths {
		if normaliseRegistryHost(addr) == host {
			user, _, ok, err := credentials([]RegistryAuth{{Address: address, ConfigFileContent: content}}, host)
			if err != nil {
				return err
			}
			if !ok || user == "" {
				return fmt.Errorf("the auths entry for %s holds no credentials", addr)
			}
			return nil
		}
	}
	return fmt.Errorf("config_file_content has no auths entry for %s", address)
}
