package provider

// Resource identity (Terraform 1.12 and newer): the attributes that name a resource's object
// in the swarm, kept by Terraform beside the state and usable in an import block
// (`import { to = ..., identity = { id = "..." } }`). Every identity attribute is the state
// attribute of the same name, so one function sets the identity from the state a method
// wrote. Terraform before 1.12 ignores identity; import by ID or name works as before.

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/identityschema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// identityByID is the identity of an object known by its swarm ID alone: a node (its
// hostname is the machine's, and can change under the swarm), a scaling policy (the ID of
// the service it is attached to) and the objects whose name does not identify them.
func identityByID(what string) identityschema.Schema {
	return identityschema.Schema{
		Attributes: map[string]identityschema.Attribute{
			"id": identityschema.StringAttribute{RequiredForImport: true, Description: what},
		},
	}
}

// identityByIDAndName is the identity of an object whose name is unique among its kind in
// the swarm (a service, a network, a secret, a config): its ID, and its name, which an import
// block may give instead of the ID.
func identityByIDAndName(what, name string) identityschema.Schema {
	return identityschema.Schema{
		Attributes: map[string]identityschema.Attribute{
			"id":   identityschema.StringAttribute{RequiredForImport: true, Description: what},
			"name": identityschema.StringAttribute{OptionalForImport: true, Description: name},
		},
	}
}

// setIdentity sets the identity from the state a method wrote: each identity attribute from
// the state attribute of the same name. Values the state does not know (a create that failed
// before the object existed) are left as they are.
func setIdentity(ctx context.Context, state *tfsdk.State, identity *tfsdk.ResourceIdentity, diags *diag.Diagnostics) {
	if identity == nil || state.Raw.IsNull() {
		return
	}
	for name := range identity.Schema.GetAttributes() {
		var v types.String
		if d := state.GetAttribute(ctx, path.Root(name), &v); d.HasError() {
			diags.Append(d...)
			return
		}
		if v.IsNull() || v.IsUnknown() {
			continue
		}
		diags.Append(identity.SetAttribute(ctx, path.Root(name), v)...)
	}
}

// setReadIdentity is setIdentity for a Read. A Read that finds the object gone removes it
// from state; the identity then stays the one of the state it read (the framework requires
// one after every Read, also of a state written before the provider had identities).
func setReadIdentity(ctx context.Context, prior tfsdk.State, state *tfsdk.State, identity *tfsdk.ResourceIdentity, diags *diag.Diagnostics) {
	if state.Raw.IsNull() {
		state = &prior
	}
	setIdentity(ctx, state, identity, diags)
}

// importKey is what an import names: the ID of `terraform import` or of an import block's
// id, or else the attribute attr of an import block's identity.
func importKey(ctx context.Context, req resource.ImportStateRequest, attr string, diags *diag.Diagnostics) string {
	if req.ID != "" || req.Identity == nil {
		return req.ID
	}
	var v types.String
	diags.Append(req.Identity.GetAttribute(ctx, path.Root(attr), &v)...)
	return v.ValueString()
}
