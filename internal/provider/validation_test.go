package provider

import (
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

// Bad input fails at plan time with the attribute path, before anything reaches the engine.
// These run without a swarm (terraform validates before the provider connects).
func TestServiceValidation(t *testing.T) {
	acctest.Parallel(t)
	tests := []struct {
		name string
		body string
		want *regexp.Regexp
	}{
		{"bad duration", `image = "app:v1"
  healthcheck = { test = ["CMD", "/app", "health"], interval = "5 seconds" }`, regexp.MustCompile(`(?s)Invalid Duration.*Attribute\s+healthcheck\.interval:\s+"5\s+seconds"\s+is\s+not\s+a\s+duration`)},
		{"negative duration", `image = "app:v1"
  stop_grace_period = "-1s"`, regexp.MustCompile(`(?s)Invalid Duration.*stop_grace_period.*negative`)},
		{"bad memory size", `image = "app:v1"
  resources = { limits = { memory = "lots" } }`, regexp.MustCompile(`(?s)Invalid Size.*Attribute\s+resources\.limits\.memory:\s+"lots"\s+is\s+not\s+a\s+size`)},
		{"replicas with global mode", `image = "app:v1"
  mode = "global"
  replicas = 2`, regexp.MustCompile(`(?s)Replicas Not Allowed In Global Mode.*with swarm_service\.test.*replicas`)},
		{"unknown restart condition", `image = "app:v1"
  restart_policy = { condition = "sometimes" }`, regexp.MustCompile(`(?s)restart_policy\.condition.*value must be one of`)},
		{"unknown mode", `image = "app:v1"
  mode = "daemonset"`, regexp.MustCompile(`(?s)Attribute mode value must be one of`)},
		{"negative replicas", `image = "app:v1"
  replicas = -1`, regexp.MustCompile(`(?s)Attribute replicas value must be between 0 and 2147483647, got: -1`)},
		{"bad image reference", `image = "UPPER/Case:bad tag"`, regexp.MustCompile(`(?s)Invalid Image Reference.*is not an image reference`)},
		{"ingress port with dnsrr", `image = "app:v1"
  endpoint_mode = "dnsrr"
  ports = [{ target = 80, published = 8080 }]`, regexp.MustCompile(`(?s)Ingress Port With DNS Round Robin.*ports\[0\]\.mode`)},
		{"port out of range", `image = "app:v1"
  ports = [{ target = 70000 }]`, regexp.MustCompile(`(?s)ports\[0\]\.target value must be between 1 and 65535`)},
		{"reserved label", `image = "app:v1"
  labels = { "swarmform.owner" = "me" }`, regexp.MustCompile(`(?s)Reserved Label.*swarmform\.owner`)},
		{"bind mount without source", `image = "app:v1"
  mounts = [{ type = "bind", target = "/data" }]`, regexp.MustCompile(`(?s)Missing Bind Source.*mounts\[0\]\.source`)},
		{"empty user", `image = "app:v1"
  user = ""`, regexp.MustCompile(`(?s)Empty Value.*Attribute user: user cannot be empty`)},
		{"empty hostname", `image = "app:v1"
  hostname = ""`, regexp.MustCompile(`(?s)Empty Value.*Attribute hostname`)},
		{"empty workdir", `image = "app:v1"
  workdir = ""`, regexp.MustCompile(`(?s)Invalid Working Directory.*Attribute workdir: "" is not an absolute path`)},
		{"relative workdir", `image = "app:v1"
  workdir = "srv"`, regexp.MustCompile(`(?s)Invalid Working Directory.*"srv" is not an absolute path`)},
		{"empty stop signal", `image = "app:v1"
  stop_signal = ""`, regexp.MustCompile(`(?s)Invalid Stop Signal.*Attribute stop_signal: "" is not a signal`)},
		{"unknown stop signal", `image = "app:v1"
  stop_signal = "SIGNOPE"`, regexp.MustCompile(`(?s)Invalid Stop Signal.*"SIGNOPE" is not a signal`)},
		{"empty log driver", `image = "app:v1"
  log_driver = { name = "" }`, regexp.MustCompile(`(?s)log_driver\.name string length must be at least 1`)},
		{"env name with =", `image = "app:v1"
  env = { "A=B" = "x" }`, regexp.MustCompile(`(?s)Invalid Environment Variable Name.*env\["A=B"\]: "A=B" contains '='`)},
		{"empty env name", `image = "app:v1"
  env = { "" = "x" }`, regexp.MustCompile(`(?s)Invalid Environment Variable Name.*name cannot be empty`)},
		{"memory overflow", `image = "app:v1"
  resources = { limits = { memory = "1e30GiB" } }`, regexp.MustCompile(`(?s)Invalid Size.*resources\.limits\.memory: "1e30GiB" is too large`)},
		{"tmpfs overflow", `image = "app:v1"
  mounts = [{ type = "tmpfs", target = "/tmp", tmpfs_size = "1e30GiB" }]`, regexp.MustCompile(`(?s)Invalid Size.*mounts\[0\]\.tmpfs_size: "1e30GiB" is too large`)},
		{"memory below the minimum", `image = "app:v1"
  resources = { reservations = { memory = "1" } }`, regexp.MustCompile(`(?s)Invalid Memory.*resources\.reservations\.memory: 1B is below Swarm's minimum of 4MiB`)},
		{"memory reservation above the limit", `image = "app:v1"
  resources = { limits = { memory = "64MiB" }, reservations = { memory = "128MiB" } }`, regexp.MustCompile(`(?s)Reservation Above Limit.*Attribute resources\.reservations\.memory: the memory reservation \(128MiB\) is above the memory limit \(64MiB\)`)},
		{"cpu reservation above the limit", `image = "app:v1"
  resources = { limits = { cpus = 0.5 }, reservations = { cpus = 1 } }`, regexp.MustCompile(`(?s)Reservation Above Limit.*Attribute resources\.reservations\.cpus: the CPU reservation \(1\) is above the CPU limit \(0\.5\)`)},
		{"huge cpus", `image = "app:v1"
  resources = { limits = { cpus = 1e30 } }`, regexp.MustCompile(`(?s)Invalid CPUs.*resources\.limits\.cpus: 1e\+30 CPUs is too large`)},
		{"negative cpus", `image = "app:v1"
  resources = { limits = { cpus = -1 } }`, regexp.MustCompile(`(?s)Invalid CPUs.*the amount must be above 0`)},
		{"replicas beyond 32 bits", `image = "app:v1"
  replicas = 99999999999999`, regexp.MustCompile(`(?s)Attribute replicas value must be between 0 and 2147483647`)},
		{"duplicate published port", `image = "app:v1"
  ports = [{ target = 80, published = 8080 }, { target = 81, published = 8080 }]`, regexp.MustCompile(`(?s)Duplicate Published Port.*ports\[1\]\.published: ports\[0\] already publishes 8080/tcp`)},
		{"same port, other protocol", `image = "app:v1"
  ports = [{ target = 53, published = 5353 }, { target = 53, published = 5353, protocol = "udp" }]
  user = ""`, regexp.MustCompile(`(?s)Empty Value.*Attribute user`)},
		{"duplicate mount target", `image = "app:v1"
  mounts = [{ type = "tmpfs", target = "/tmp" }, { type = "volume", source = "v", target = "/tmp" }]`, regexp.MustCompile(`(?s)Duplicate Mount Target.*mounts\[1\]\.target: mounts\[0\] already mounts /tmp`)},
		{"relative mount target", `image = "app:v1"
  mounts = [{ type = "tmpfs", target = "tmp" }]`, regexp.MustCompile(`(?s)Invalid Mount Target.*mounts\[0\]\.target: "tmp" is not an absolute path`)},
		{"ulimit soft above hard", `image = "app:v1"
  ulimits = { nofile = { soft = 4096, hard = 1024 } }`, regexp.MustCompile(`(?s)Invalid Ulimit.*ulimits\["nofile"\]\.soft: the soft limit \(4096\) is above the hard limit \(1024\)`)},
		{"unknown capability", `image = "app:v1"
  cap_add = ["NET_ADMN"]`, regexp.MustCompile(`(?s)Unknown Capability.*cap_add\[Value\("NET_ADMN"\)\]: "NET_ADMN" is not a Linux capability`)},
		{"constraint with one =", `image = "app:v1"
  placement = { constraints = ["node.labels.zone=a"] }`, regexp.MustCompile(`(?s)Invalid Constraint.*"node.labels.zone=a" is not a constraint; write key==value`)},
		{"constraint with an unknown key", `image = "app:v1"
  placement = { constraints = ["node.zone==a"] }`, regexp.MustCompile(`(?s)Invalid Constraint.*Swarm knows no key "node.zone"`)},
		{"bad preference", `image = "app:v1"
  placement = { preferences = ["spread node.labels.zone"] }`, regexp.MustCompile(`(?s)Invalid Placement Preference.*placement\.preferences\[0\]`)},
		{"healthcheck without CMD", `image = "app:v1"
  healthcheck = { test = ["/app", "health"] }`, regexp.MustCompile(`(?s)Invalid Healthcheck Test.*healthcheck\.test: the test starts with "/app"; it must start with "CMD"`)},
		{"fractional replicas", `image = "app:v1"
  replicas = 1.5`, regexp.MustCompile(`(?s)Not a Whole Number.*Attribute replicas: 1.5 is not a whole number`)},
		{"fractional port", `image = "app:v1"
  ports = [{ target = 80.5 }]`, regexp.MustCompile(`(?s)Not a Whole Number.*Attribute ports\[0\]\.target: 80.5 is not a whole number`)},
		{"the same network twice", `image = "app:v1"
  networks = [{ id = "backend" }, { id = "frontend" }, { id = "backend", aliases = ["api"] }]`, regexp.MustCompile(`(?s)Network Attached Twice.*Attribute networks\[2\]\.id: networks\[0\] attaches network "backend" already\. A service attaches to a network once`)},
		{"bad name", `image = "app:v1"`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := "valid-name"
			want := tc.want
			if want == nil {
				name, want = "-bad name", regexp.MustCompile(`(?s)Invalid Service Name.*Attribute name: "-bad name" is not a valid name`)
			}
			// Terraform wraps long messages: any space may be a line break.
			want = regexp.MustCompile(strings.ReplaceAll(want.String(), " ", `\s+`))
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      serviceConfig(name, "  "+tc.body),
					PlanOnly:    true,
					ExpectError: want,
				}},
			})
		})
	}
}

// Policy input errors, at plan time with the attribute path, without a swarm.
func TestScalingPolicyValidation(t *testing.T) {
	acctest.Parallel(t)
	tests := []struct {
		name string
		body string
		want string
	}{
		{"max below min", `min_replicas = 3
  max_replicas = 2`, `Invalid Replica Bounds.*Attribute max_replicas: max_replicas \(2\) must be at least min_replicas \(3\)`},
		{"unknown metric type", `metrics = [{ type = "disk", target_utilization = 50 }]`, `Unknown Metric Type.*metrics\[0\]\.type: "disk" is not a metric type; use "cpu", "memory" or "prometheus"`},
		{"cpu without a target", `metrics = [{ type = "cpu" }]`, `Missing Attribute.*metrics\[0\]\.target_utilization: A cpu metric needs target_utilization`},
		{"cpu with a query", `metrics = [{ type = "cpu", target_utilization = 50, query = "up" }]`, `Attribute Not Allowed.*metrics\[0\]\.query: query does not apply to a cpu metric`},
		{"zero target", `metrics = [{ type = "memory", target_utilization = 0 }]`, `Invalid Target.*metrics\[0\]\.target_utilization: target_utilization must be a number above 0, got 0`},
		{"two cpu metrics", `metrics = [{ type = "cpu", target_utilization = 50 }, { type = "cpu", target_utilization = 70 }]`, `Duplicate Metric.*metrics\[1\]\.type`},
		{"prometheus without an address", `metrics = [{ type = "prometheus", query = "up", target_value = 1 }]`, `Missing Attribute.*metrics\[0\]\.address`},
		{"prometheus with both targets", `metrics = [{ type = "prometheus", query = "up", address = "http://p:9090", target_value = 1, target_average_value = 2 }]`, `Exactly One Target.*metrics\[0\]\.target_value`},
		{"prometheus credentials in the address", `metrics = [{ type = "prometheus", query = "up", address = "http://u:secret@p:9090", target_value = 1 }]`, `Invalid Prometheus Address.*must not carry credentials`},
		{"prometheus address without scheme", `metrics = [{ type = "prometheus", query = "up", address = "prometheus:9090", target_value = 1 }]`, `Invalid Prometheus Address.*metrics\[0\]\.address: invalid Prometheus address "prometheus:9090": it must be an http:// or https:// URL`},
		{"tolerance of 1", `tolerance = 1`, `Invalid Tolerance.*Attribute tolerance`},
		{"negative window", `scale_down = { stabilization_window = "-5m" }`, `scale_down\.stabilization_window`},
		{"negative step", `scale_up = { max_step = -1 }`, `Invalid Rate Limit.*scale_up\.max_step: max_step must be 0 \(no limit\) or more, got -1`},
		{"bad cron", `schedules = [{ cron = "0 25 * * *", duration = "1h" }]`, `Invalid Cron Expression.*schedules\[0\]\.cron:.*hour field "25": 25 is outside 0-23`},
		{"cron with six fields", `schedules = [{ cron = "0 0 8 * * 1", duration = "1h" }]`, `Invalid Cron Expression.*has 6 fields, want 5`},
		{"schedule too long", `schedules = [{ cron = "0 8 * * *", duration = "200h" }]`, `Invalid Schedule Duration.*schedules\[0\]\.duration`},
		{"unknown time zone", `schedules = [{ cron = "0 8 * * *", duration = "1h", timezone = "Mars/Olympus" }]`, `Unknown Time Zone.*schedules\[0\]\.timezone`},
		{"cron that never fires", `schedules = [{ cron = "0 0 30 2 *", duration = "1h" }]`, `Invalid Cron Expression.*schedules\[0\]\.cron: cron expression "0 0 30 2 \*" never fires`},
		{"the machine's time zone", `schedules = [{ cron = "0 8 * * *", duration = "1h", timezone = "Local" }]`, `Unknown Time Zone.*schedules\[0\]\.timezone: "Local" is not an IANA time zone`},
		{"prometheus without a target", `metrics = [{ type = "prometheus", query = "up", address = "http://p:9090" }]`, `Exactly One Target.*metrics\[0\]\.target_value:.*neither is set`},
		{"absurd max_replicas", `min_replicas = 3
  max_replicas = 99999999999`, `Invalid Replica Bounds.*Attribute max_replicas: max_replicas is 99999999999; a service can have at most 2147483647 replicas`},
		{"absurd schedule minimum", `schedules = [{ cron = "0 8 * * *", duration = "1h", min_replicas = 5000000000, max_replicas = 6000000000 }]`, `Invalid Replica Bounds.*schedules\[0\]\.min_replicas: min_replicas is 5000000000`},
		{"schedule bounds against the policy's", `schedules = [{ cron = "0 8 * * *", duration = "1h", min_replicas = 20 }]`, `Invalid Replica Bounds.*schedules\[0\]\.max_replicas.*max_replicas \(10\) must be at least min_replicas \(20\)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			if !strings.Contains(body, "min_replicas = 3") {
				body = "min_replicas = 1\n  max_replicas = 10\n  " + body
			}
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config: `
provider "swarm" {}

resource "swarm_scaling_policy" "test" {
  service_id = "web"
  ` + body + `
}
`,
					PlanOnly:    true,
					ExpectError: acctest.ErrorPattern(tc.want),
				}},
			})
		})
	}
}

// Provider arguments that cannot work fail at plan time, with the path, without a swarm.
// Credentials never appear in the messages.
func TestProviderValidation(t *testing.T) {
	acctest.Parallel(t)
	tests := []struct{ name, provider, want string }{
		{"http host", `host = "http://127.0.0.1:2375"`, `Attribute host must start with unix://, tcp://, ssh:// or npipe://`},
		{"empty registry address", `registry_auth = [{ address = "", username = "u", password = "p" }]`, `registry_auth\[0\]\.address string length must be at least 1`},
		{"password without a user", `registry_auth = [{ address = "r.example.com", password = "p", config_file_content = "{}" }]`, `Attribute "registry_auth\[0\]\.username" must be specified when "registry_auth\[0\]\.password" is specified`},
		{"config file that is not JSON", `registry_auth = [{ address = "r.example.com", config_file_content = "{\"auths\": s3cr3t-token" }]`, `Invalid Registry Credentials.*registry_auth\[0\]\.config_file_content: config_file_content is not JSON \(syntax error at byte \d+\)`},
		{"config file without the registry", `registry_auth = [{ address = "r.example.com", config_file_content = jsonencode({ auths = { "other.example.com" = { auth = "dTpw" } } }) }]`, `Invalid Registry Credentials.*has no auths entry for r.example.com`},
		{"api version below 1.41", `api_version = "1.12"`, `Unsupported Engine API Version.*Attribute api_version: api_version is 1\.12, older than 1\.41`},
		{"empty ca_pem", `host = "tcp://127.0.0.1:2376"
  ca_pem = ""`, `Invalid TLS Settings.*Attribute ca_pem: ca_pem is empty`},
		{"missing cert_path", `host = "tcp://127.0.0.1:2376"
  cert_path = "/nonexistent/certs"`, `Invalid TLS Settings.*Attribute cert_path: cert_path "/nonexistent/certs" does not exist`},
		{"TLS with the local socket", `host = "unix:///var/run/docker.sock"
  ca_pem = "-----BEGIN CERTIFICATE-----"`, `TLS Settings Need a tcp:// Host.*Attribute ca_pem:.*unix:///var/run/docker\.sock.*does not use TLS`},
		{"tls_verify over ssh", `host = "ssh://root@127.0.0.1:22"
  tls_verify = true`, `TLS Settings Need a tcp:// Host.*Attribute tls_verify:.*ssh`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      "provider \"swarm\" {\n  " + tc.provider + "\n}\n" + serviceConfig("web", `  image = "app:v1"`)[len("\nprovider \"swarm\" {}\n"):],
					PlanOnly:    true,
					ExpectError: acctest.ErrorPattern(tc.want),
				}},
			})
		})
	}
}

// The engine's spec rules read only what is known: a rule that reads an attribute not known
// yet, or one inside a collection not known yet, is left for later; the paths are spelled the
// engine's way.
func TestUnknownPaths(t *testing.T) {
	str := tftypes.String
	port := tftypes.Object{AttributeTypes: map[string]tftypes.Type{"published": tftypes.Number, "mode": str}}
	typ := tftypes.Object{AttributeTypes: map[string]tftypes.Type{
		"endpoint_mode": str,
		"ports":         tftypes.List{ElementType: port},
		"mounts":        tftypes.List{ElementType: tftypes.Object{AttributeTypes: map[string]tftypes.Type{"source": str}}},
		"ulimits":       tftypes.Map{ElementType: tftypes.Object{AttributeTypes: map[string]tftypes.Type{"soft": tftypes.Number}}},
	}}
	v := tftypes.NewValue(typ, map[string]tftypes.Value{
		"endpoint_mode": tftypes.NewValue(str, "dnsrr"),
		"ports": tftypes.NewValue(tftypes.List{ElementType: port}, []tftypes.Value{
			tftypes.NewValue(port, map[string]tftypes.Value{"published": tftypes.NewValue(tftypes.Number, 80), "mode": tftypes.NewValue(str, tftypes.UnknownValue)}),
		}),
		"mounts":  tftypes.NewValue(tftypes.List{ElementType: tftypes.Object{AttributeTypes: map[string]tftypes.Type{"source": str}}}, tftypes.UnknownValue),
		"ulimits": tftypes.NewValue(tftypes.Map{ElementType: tftypes.Object{AttributeTypes: map[string]tftypes.Type{"soft": tftypes.Number}}}, map[string]tftypes.Value{"nofile": tftypes.NewValue(tftypes.Object{AttributeTypes: map[string]tftypes.Type{"soft": tftypes.Number}}, map[string]tftypes.Value{"soft": tftypes.NewValue(tftypes.Number, tftypes.UnknownValue)})}),
	})
	unknown := unknownPaths(v)
	for _, want := range []string{"ports[0].mode", "mounts", `ulimits["nofile"].soft`} {
		if !unknown[want] {
			t.Errorf("%s is not listed as unknown: %v", want, unknown)
		}
	}
	for _, tc := range []struct {
		reads []string
		want  bool
	}{
		{[]string{"ports[0].mode", "endpoint_mode"}, true},
		{[]string{"ports[0].published"}, false},
		{[]string{"mounts[2].source", "mounts[2].type"}, true},
		{[]string{"mountsx"}, false},
		{[]string{`ulimits["nofile"].soft`}, true},
		{[]string{"endpoint_mode"}, false},
	} {
		p := orchestrator.FieldProblem{Path: tc.reads[0], Reads: tc.reads}
		if got := readsUnknown(p, unknown); got != tc.want {
			t.Errorf("readsUnknown(%v) = %v, want %v", tc.reads, got, tc.want)
		}
	}
}

// The engine's path spelling reads back as the attribute path it names.
func TestAttributePath(t *testing.T) {
	for in, want := range map[string]string{
		"metrics[0].target_value": "metrics[0].target_value",
		`ulimits["nofile"].soft`:  `ulimits["nofile"].soft`,
		`env["A \"B\""]`:          `env["A \"B\""]`,
		"resources.limits.memory": "resources.limits.memory",
		"networks[12].id":         "networks[12].id",
	} {
		if got := attributePath(in).String(); got != want {
			t.Errorf("attributePath(%s) = %s, want %s", in, got, want)
		}
	}
}
