package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
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
