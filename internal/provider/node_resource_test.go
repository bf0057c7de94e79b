package provider

// swarm_node's acceptance tests need nodes to drain and labels no other test reads, so they
// run on the multi-node swarm: internal/multinode/node_test.go. Here: its conversions and its
// input checks, without a swarm.

import (
	"regexp"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/swarm"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

func observedNode(labels map[string]string, adoption *orchestrator.NodeAdoption) *orchestrator.NodeState {
	return &orchestrator.NodeState{
		Node: swarm.Node{ID: "n1", Description: swarm.NodeDescription{Hostname: "mn-1"},
			Spec: swarm.NodeSpec{Annotations: swarm.Annotations{Labels: labels}, Role: swarm.NodeRoleWorker, Availability: swarm.NodeAvailabilityPause}},
		Adoption: adoption,
	}
}

func TestNodeResourceFrom(t *testing.T) {
	st := observedNode(map[string]string{"zone": "a", "team": "web", orchestrator.NodeAdoptionLabel: "{}"}, nil)
	// Owned labels only, as the node has them; one gone from the node is left out.
	m := nodeResourceFrom(st, nodeResourceModel{Labels: map[string]string{"team": "old", "gone": "x"}, ProgressDeadline: durationValue("5s")})
	if got := m.Labels; len(got) != 1 || got["team"] != "web" {
		t.Errorf("labels = %v, want team=web only", got)
	}
	if m.ID.ValueString() != "n1" || m.NodeID.ValueString() != "n1" || m.Hostname.ValueString() != "mn-1" ||
		m.Availability.ValueString() != "pause" || m.Role.ValueString() != "worker" || m.ProgressDeadline.ValueString() != "5s" {
		t.Errorf("model = %+v", m)
	}
	// Null stays null, empty stays empty: no diff between what was configured and read back.
	if m := nodeResourceFrom(st, nodeResourceModel{}); m.Labels != nil {
		t.Errorf("null labels read back as %v", m.Labels)
	}
	if m := nodeResourceFrom(st, nodeResourceModel{Labels: map[string]string{}}); m.Labels == nil || len(m.Labels) != 0 {
		t.Errorf("empty labels read back as %#v", m.Labels)
	}
}

func TestImportedNodeLabels(t *testing.T) {
	labels := map[string]string{"zone": "a", "team": "web", orchestrator.NodeAdoptionLabel: "{}"}
	if got := importedLabels(observedNode(labels, nil)); len(got) != 2 || got["zone"] != "a" || got["team"] != "web" {
		t.Errorf("a node never adopted imports every label but the engine's: %v", got)
	}
	rec := &orchestrator.NodeAdoption{Version: 1, Labels: map[string]*string{"team": nil}}
	if got := importedLabels(observedNode(labels, rec)); len(got) != 1 || got["team"] != "web" {
		t.Errorf("an adopted node imports the labels its record names: %v", got)
	}
	if got := importedLabels(observedNode(map[string]string{orchestrator.NodeAdoptionLabel: "{}"}, &orchestrator.NodeAdoption{Version: 1})); got != nil {
		t.Errorf("no owned label imports as null, not %#v", got)
	}
}

func TestNodeSettingsOwnOnlyWhatIsConfigured(t *testing.T) {
	plan := nodeResourceModel{Labels: map[string]string{"a": "b"}, Availability: types.StringValue("drain"), Role: types.StringValue("worker")}
	// The plan carries availability and role over from state; only the configuration says
	// whether they are owned.
	s := plan.settings(nodeResourceModel{Availability: types.StringNull(), Role: types.StringNull()})
	if s.Availability != "" || s.Role != "" || s.Labels["a"] != "b" {
		t.Errorf("settings = %+v, want labels only", s)
	}
	s = plan.settings(nodeResourceModel{Availability: types.StringValue("drain"), Role: types.StringValue("worker")})
	if s.Availability != swarm.NodeAvailabilityDrain || s.Role != swarm.NodeRoleWorker {
		t.Errorf("settings = %+v, want availability and role", s)
	}
}

// Bad input fails at plan time with the attribute path, without a swarm.
func TestNodeValidation(t *testing.T) {
	acctest.Parallel(t)
	for _, tc := range []struct{ name, body, want string }{
		{"neither node_id nor hostname", `labels = { a = "b" }`, `Node Not Named.*set node_id \(its swarm ID, from .docker node ls.\) or hostname, one of the two`},
		{"both node_id and hostname", `node_id = "abc"
  hostname = "mn-1"`, `Node Named Twice.*Attribute node_id: node_id and hostname both name the node.*Node Named Twice.*Attribute hostname: node_id and hostname`},
		{"reserved label", `hostname = "mn-1"
  labels = { "swarmform.adopted" = "x" }`, `Reserved Label.*swarmform\.adopted`},
		{"unknown availability", `hostname = "mn-1"
  availability = "off"`, `Attribute availability value must be one of`},
		{"unknown role", `hostname = "mn-1"
  role = "leader"`, `Attribute role value must be one of`},
		{"bad progress deadline", `hostname = "mn-1"
  progress_deadline = "soon"`, `Invalid Duration.*progress_deadline`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      "resource \"swarm_node\" \"test\" {\n  " + tc.body + "\n}\n",
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(`(?s)` + strings.ReplaceAll(tc.want, " ", `\s+`)),
				}},
			})
		})
	}
}
