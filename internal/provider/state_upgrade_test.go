package provider

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// States written by the first release (schema version 0, testdata/state-v0-*.json, taken from
// a terraform.tfstate that release wrote) upgrade to the current schema through the
// provider's protocol server, as Terraform asks for them, with every value kept. A schema
// still at version 0 that gained attributes reads its old states with them null:
// state-v0-network.json is what the provider wrote before swarm_network had timeouts (taken
// from the terraform.tfstate of an apply with commit 4a4eeb3).
func TestStateUpgradeFromV0(t *testing.T) {
	server, err := providerserver.NewProtocol6WithError(New("test")())()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	schemas, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		typeName, file string
		version        int64 // the current schema version
		want           map[string]tftypes.Value
	}{
		{"swarm_service", "testdata/state-v0-service.json", 1, map[string]tftypes.Value{
			"name": tftypes.NewValue(tftypes.String, "tfacc-v0state"), "image": tftypes.NewValue(tftypes.String, "swarmform-testapp:v1"),
			"replicas": tftypes.NewValue(tftypes.Number, 1), "mode": tftypes.NewValue(tftypes.String, "replicated"),
		}},
		{"swarm_scaling_policy", "testdata/state-v0-scaling-policy.json", 2, map[string]tftypes.Value{
			"min_replicas": tftypes.NewValue(tftypes.Number, 1), "max_replicas": tftypes.NewValue(tftypes.Number, 3),
			"desired_replicas": tftypes.NewValue(tftypes.Number, 1), "dry_run": tftypes.NewValue(tftypes.Bool, false),
			"evaluation": tftypes.NewValue(tftypes.String, "plan"),
		}},
		{"swarm_network", "testdata/state-v0-network.json", 0, map[string]tftypes.Value{
			"name": tftypes.NewValue(tftypes.String, "tfacc-v0state-net"), "attachable": tftypes.NewValue(tftypes.Bool, true),
			"timeouts": tftypes.NewValue(tftypes.Object{AttributeTypes: map[string]tftypes.Type{"create": tftypes.String, "delete": tftypes.String}}, nil),
		}},
	} {
		t.Run(tc.typeName, func(t *testing.T) {
			raw, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			s := schemas.ResourceSchemas[tc.typeName]
			if s.Version != tc.version {
				t.Fatalf("schema version %d, want %d", s.Version, tc.version)
			}
			resp, err := server.UpgradeResourceState(ctx, &tfprotov6.UpgradeResourceStateRequest{TypeName: tc.typeName, Version: 0, RawState: &tfprotov6.RawState{JSON: raw}})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range resp.Diagnostics {
				t.Errorf("%s: %s: %s", d.Severity, d.Summary, d.Detail)
			}
			v, err := resp.UpgradedState.Unmarshal(s.ValueType())
			if err != nil {
				t.Fatal(err)
			}
			var attrs map[string]tftypes.Value
			if err := v.As(&attrs); err != nil {
				t.Fatal(err)
			}
			for name, want := range tc.want {
				if !attrs[name].Equal(want) {
					t.Errorf("%s = %s, want %s", name, attrs[name], want)
				}
			}
			// Nothing is lost: every attribute stored in version 0 is set in the upgraded state.
			var stored map[string]json.RawMessage
			if err := json.Unmarshal(raw, &stored); err != nil {
				t.Fatal(err)
			}
			for name, val := range stored {
				if string(val) != "null" && (attrs[name].IsNull() || !attrs[name].IsKnown()) {
					t.Errorf("%s was %s in version 0 and is lost after the upgrade", name, val)
				}
			}
			if len(attrs) != len(s.Block.Attributes) {
				t.Errorf("upgraded state has %d attributes, schema %d", len(attrs), len(s.Block.Attributes))
			}
		})
	}
}
