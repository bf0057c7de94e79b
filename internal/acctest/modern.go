package acctest

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// ModernTerraformEnv names a Terraform binary of version 1.14 or newer, for the tests of what
// older Terraform lacks (actions).
const ModernTerraformEnv = "TF_ACC_TERRAFORM_MODERN"

// modernTerraformGz is the Terraform build the project keeps beside its checkout (see
// ../shared/tools/README.md), with its checksum in the same name plus .sha256.
const modernTerraformGz = "terraform-1.15.9.gz"

// ModernTerraform returns the path of a Terraform binary of version 1.14 or newer (actions,
// list resources; identities need 1.12):
// TF_ACC_TERRAFORM_MODERN, else terraform-1.15.9.gz from /work/shared/tools or from
// ../shared/tools beside the repository, checked against its .sha256 and unpacked once per
// test process. The test skips, saying why, when there is none.
func ModernTerraform(t testing.TB) string {
	t.Helper()
	return modernTerraformFor(t, "Terraform >= 1.14 (actions, list resources)")
}

// modernTerraformFor is ModernTerraform with the skip naming what the test needs.
func modernTerraformFor(t testing.TB, needs string) string {
	t.Helper()
	if bin := os.Getenv(ModernTerraformEnv); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("%s=%s: %v", ModernTerraformEnv, bin, err)
		}
		return bin
	}
	bin, err := modernTerraform()
	if err != nil {
		t.Skipf("needs %s: %v", needs, err)
	}
	return bin
}

var modernTerraform = sync.OnceValues(func() (string, error) {
	candidates := []string{filepath.Join("/work/shared/tools", modernTerraformGz)}
	if root, err := repoRoot(); err == nil {
		candidates = append(candidates, filepath.Join(root, "..", "shared", "tools", modernTerraformGz))
	}
	for _, gz := range candidates {
		if _, err := os.Stat(gz); err == nil {
			return unpackTerraform(gz)
		}
	}
	return "", fmt.Errorf("set %s, or put %s in %s", ModernTerraformEnv, modernTerraformGz, strings.Join(candidates, " or "))
})

// unpackTerraform checks gz against gz.sha256 and gunzips it into a new temporary directory.
func unpackTerraform(gz string) (string, error) {
	sum, err := os.ReadFile(gz + ".sha256")
	if err != nil {
		return "", fmt.Errorf("read the checksum of %s: %w", gz, err)
	}
	fields := strings.Fields(string(sum))
	if len(fields) == 0 {
		return "", fmt.Errorf("%s.sha256 is empty", gz)
	}
	f, err := os.Open(gz)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", gz, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != fields[0] {
		return "", fmt.Errorf("%s has checksum %s, but %s.sha256 says %s", gz, got, gz, fields[0])
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		return "", fmt.Errorf("unpack %s: %w", gz, err)
	}
	dir, err := os.MkdirTemp("", "swarmform-terraform-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "terraform")
	out, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, zr); err != nil { //nolint:gosec // a checked, known archive
		out.Close()
		return "", fmt.Errorf("unpack %s: %w", gz, err)
	}
	if err := out.Close(); err != nil {
		return "", err
	}
	return bin, nil
}
