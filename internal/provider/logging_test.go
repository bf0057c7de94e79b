package provider

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

func TestLogLevelDefaults(t *testing.T) {
	all := func(level string) map[string]string {
		return map[string]string{envLogSDK: level, envLogSDKProto: level, envLogSDKFramework: level, envLogProviderOwn: level}
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want map[string]string
	}{
		{name: "nothing asked: Terraform shows nothing", want: all("OFF")},
		{name: "log file alone: Terraform writes nothing to it", env: map[string]string{"TF_LOG_PATH": "/tmp/tf.log"}, want: all("OFF")},
		{name: "TF_LOG=trace: everything, as before", env: map[string]string{"TF_LOG": "trace"}},
		{name: "TF_LOG=JSON is trace", env: map[string]string{"TF_LOG": "JSON"}},
		{name: "unknown level is trace for Terraform", env: map[string]string{"TF_LOG": "verbose"}},
		{name: "TF_LOG=info", env: map[string]string{"TF_LOG": "info"}, want: all("INFO")},
		{name: "TF_LOG_PROVIDER wins over TF_LOG", env: map[string]string{"TF_LOG": "trace", "TF_LOG_PROVIDER": "warn"}, want: all("WARN")},
		{name: "TF_LOG_PROVIDER=trace with TF_LOG off", env: map[string]string{"TF_LOG": "off", "TF_LOG_PROVIDER": "trace"}},
		{name: "TF_LOG=off", env: map[string]string{"TF_LOG": "off"}, want: all("OFF")},
		{name: "a level set by the user stays", env: map[string]string{"TF_LOG": "debug", envLogSDKFramework: "trace", envLogProviderOwn: "error"},
			want: map[string]string{envLogSDK: "DEBUG", envLogSDKProto: "DEBUG"}},
		{name: "the SDK's subsystems follow a quieter TF_LOG_SDK", env: map[string]string{"TF_LOG": "debug", envLogSDK: "error"},
			want: map[string]string{envLogSDKProto: "ERROR", envLogSDKFramework: "ERROR", envLogProviderOwn: "DEBUG"}},
		{name: "but never a more verbose one", env: map[string]string{"TF_LOG": "warn", envLogSDK: "trace"},
			want: map[string]string{envLogSDKProto: "WARN", envLogSDKFramework: "WARN", envLogProviderOwn: "WARN"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := LogLevelDefaults(func(k string) string { return tc.env[k] })
			if len(got) == 0 {
				got = nil
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("levels (-want +got):\n%s", diff)
			}
		})
	}
}

// The SDK's loggers, set up as main.go sets them, write nothing when Terraform would show
// nothing, and every line with TF_LOG=trace.
func TestSDKLogsFollowTerraform(t *testing.T) {
	typ := resourceType(t, "swarm_service")
	config := encode(t, typ, `{"name": "web", "image": "nginx"}`)
	for _, tc := range []struct {
		name                 string
		env                  map[string]string
		framework, anyOutput bool
	}{
		{name: "no TF_LOG"},
		{name: "TF_LOG=info", env: map[string]string{"TF_LOG": "info"}},
		{name: "TF_LOG=trace", env: map[string]string{"TF_LOG": "trace"}, framework: true, anyOutput: true},
		{name: "TF_LOG_PROVIDER=trace", env: map[string]string{"TF_LOG_PROVIDER": "trace"}, framework: true, anyOutput: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, name := range []string{"TF_LOG", "TF_LOG_PROVIDER", envLogSDK, envLogSDKProto, envLogSDKFramework, envLogProviderOwn} {
				t.Setenv(name, tc.env[name])
			}
			for k, v := range LogLevelDefaults(os.Getenv) {
				t.Setenv(k, v)
			}
			c := newProtoClient(t)
			out := captureStderr(t, func() {
				c.call(t, "ValidateResourceConfig", map[string]any{"type_name": "swarm_service", "config": dynamicValue(t, config)})
			})
			framework := strings.Contains(out, `"@module":"sdk.framework"`) && strings.Contains(out, `"@level":"trace"`)
			if framework != tc.framework || (out != "") != tc.anyOutput {
				t.Errorf("framework trace lines: %v (want %v); output:\n%.2000s", framework, tc.framework, out)
			}
		})
	}
}

// With TF_LOG=trace, Terraform still shows the framework's and the protocol's trace lines of
// the provider binary as main.go starts it.
func TestAccTraceLogsStillShown(t *testing.T) {
	acctest.Parallel(t)
	acctest.SkipUnlessAcc(t)
	terraform, err := exec.LookPath("terraform")
	if err != nil {
		t.Skip("terraform is not on PATH")
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "bin", "terraform-provider-swarm"), ".")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("tfrc", `provider_installation {
  dev_overrides { "registry.terraform.io/swarmform/swarm" = "`+filepath.Join(dir, "bin")+`" }
  direct {}
}
`)
	write("main.tf", `terraform {
  required_providers {
    swarm = { source = "swarmform/swarm" }
  }
}
resource "swarm_service" "web" {
  name  = "web"
  image = "nginx"
}
`)
	for _, level := range []string{"trace", ""} {
		cmd := exec.Command(terraform, "validate", "-no-color")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+filepath.Join(dir, "tfrc"), "TF_LOG="+level, "TF_LOG_PROVIDER=",
			"TF_LOG_PATH=", envLogSDK+"=", envLogSDKProto+"=", envLogSDKFramework+"=", envLogProviderOwn+"=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("terraform validate (TF_LOG=%q): %v\n%s", level, err, out)
		}
		text := string(out)
		for _, module := range []string{"@module=sdk.framework", "@module=sdk.proto"} {
			shown := strings.Contains(text, "[TRACE] provider.terraform-provider-swarm") && strings.Contains(text, module)
			if shown != (level == "trace") {
				t.Errorf("TF_LOG=%q: trace lines of %s shown: %v; output:\n%.3000s", level, module, shown, text)
			}
		}
	}
}
