package provider

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

var testAccProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"swarm": providerserver.NewProtocol6WithError(New("test")()),
}

// testEnv returns an environment variable set by scripts/swarm-up.sh (via `make test`).
func testEnv(t *testing.T, name string) string {
	t.Helper()
	skipUnlessAcc(t)
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: run the tests with `make test`, which brings up the local swarm and exports it", name)
	}
	return v
}

// skipUnlessAcc skips acceptance tests outside `make test` / TF_ACC=1, as resource.Test does.
func skipUnlessAcc(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (make test) to run it against the local swarm")
	}
}

func testAccPreCheck(t *testing.T) {
	t.Helper()
	testEnv(t, "TEST_IMAGE")
	testEnv(t, "TEST_IMAGE_V2")
}

// testDocker is a Docker client for the test's own checks and for drift made outside Terraform.
func testDocker(t *testing.T) *client.Client {
	t.Helper()
	skipUnlessAcc(t)
	e, err := orchestrator.New(context.Background(), orchestrator.Config{Host: os.Getenv("DOCKER_HOST")})
	if err != nil {
		t.Fatalf("connect to the test swarm: %v", err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e.Client()
}

// testName is a unique name for test objects; scripts/swarm-down.sh removes leftovers.
func testName(prefix string) string {
	return fmt.Sprintf("tfacc-%s-%06d", prefix, rand.IntN(1_000_000))
}

// errRe matches a message the way Terraform prints it: words may be wrapped onto new lines.
func errRe(words string) *regexp.Regexp {
	parts := strings.Fields(words)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(`(?s)` + strings.Join(parts, `\s+`))
}

// inspectService reads a service straight from the engine.
func inspectService(t *testing.T, cli *client.Client, name string) swarm.Service {
	t.Helper()
	svc, _, err := cli.ServiceInspectWithRaw(context.Background(), name, swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatalf("inspect service %s: %v", name, err)
	}
	return svc
}

// removeService is a cleanup for tests whose service outlives a failed apply.
func removeService(t *testing.T, cli *client.Client, name string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = cli.ServiceRemove(ctx, name)
	})
}
