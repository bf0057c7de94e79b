package provider

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// Schema versions. Version 0 is the state the first release wrote; version 1 has the same
// attributes. A version's upgrader reads the stored JSON as it is, so it needs no copy of the
// old schema: attributes added since are null, attributes removed since are dropped, and edit
// rewrites what changed meaning.
const (
	serviceSchemaVersion       = 1
	scalingPolicySchemaVersion = 2
	nodeSchemaVersion          = 0
	secretSchemaVersion        = 1
)

// isJSONNull says whether a stored attribute is absent or null.
func isJSONNull(v json.RawMessage) bool {
	return len(v) == 0 || string(v) == "null"
}

// rawStateUpgrader upgrades a stored state by editing its JSON, then keeping only the top-level
// attributes the current schema has.
func rawStateUpgrader(current func(context.Context) schema.Schema, edit func(map[string]json.RawMessage) error) resource.StateUpgrader {
	return resource.StateUpgrader{
		StateUpgrader: func(ctx context.Context, req resource.UpgradeStateRequest, resp *resource.UpgradeStateResponse) {
			if req.RawState == nil || len(req.RawState.JSON) == 0 {
				resp.Diagnostics.AddError("Cannot Upgrade State", "The stored state has no JSON to upgrade; this is a bug in the provider.")
				return
			}
			var attrs map[string]json.RawMessage
			if err := json.Unmarshal(req.RawState.JSON, &attrs); err != nil {
				resp.Diagnostics.AddError("Cannot Upgrade State", fmt.Sprintf("The stored state cannot be read: %v", err))
				return
			}
			if edit != nil {
				if err := edit(attrs); err != nil {
					resp.Diagnostics.AddError("Cannot Upgrade State", fmt.Sprintf("The stored state cannot be upgraded: %v", err))
					return
				}
			}
			known := current(ctx).Attributes
			for name := range attrs {
				if _, ok := known[name]; !ok {
					delete(attrs, name)
				}
			}
			b, err := json.Marshal(attrs)
			if err != nil {
				resp.Diagnostics.AddError("Cannot Upgrade State", err.Error())
				return
			}
			resp.DynamicValue = &tfprotov6.DynamicValue{JSON: b}
		},
	}
}

// schemaOf returns a resource's current schema.
func schemaOf(r resource.Resource) func(context.Context) schema.Schema {
	return func(ctx context.Context) schema.Schema {
		var resp resource.SchemaResponse
		r.Schema(ctx, resource.SchemaRequest{}, &resp)
		return resp.Schema
	}
}

func (r *serviceResource) UpgradeState(context.Context) map[int64]resource.StateUpgrader {
	return map[int64]resource.StateUpgrader{0: rawStateUpgrader(schemaOf(r), nil)}
}

// UpgradeState: version 2 adds evaluation, which every earlier policy had as "plan".
func (r *scalingPolicyResource) UpgradeState(context.Context) map[int64]resource.StateUpgrader {
	planEvaluation := func(attrs map[string]json.RawMessage) error {
		attrs["evaluation"] = json.RawMessage(`"plan"`)
		return nil
	}
	return map[int64]resource.StateUpgrader{0: rawStateUpgrader(schemaOf(r), planEvaluation), 1: rawStateUpgrader(schemaOf(r), planEvaluation)}
}
