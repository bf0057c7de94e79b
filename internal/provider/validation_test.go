package provider

import (
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

// Bad input fails at plan time with the attribute path, before anything reaches the engine.
// These run without a swarm (terraform validates before the provider connects).
func TestServiceValidation(t *testing.T) {
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
  replicas = -1`, regexp.MustCompile(`(?s)Attribute replicas value must be at least 0`)},
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
		{"bad name", `image = "app:v1"`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := "valid-name"
			want := tc.want
			if want == nil {
				name, want = "-bad name", regexp.MustCompile(`(?s)Attribute name must be 1-63 letters`)
			}
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
