package provider

import (
	"context"
	"encoding/json"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

var (
	_ resource.Resource                     = &secretResource{}
	_ resource.ResourceWithConfigure        = &secretResource{}
	_ resource.ResourceWithImportState      = &secretResource{}
	_ resource.ResourceWithIdentity         = &secretResource{}
	_ resource.ResourceWithModifyPlan       = &secretResource{}
	_ resource.ResourceWithConfigValidators = &secretResource{}
	_ resource.ResourceWithUpgradeState     = &secretResource{}
)

// NewSecretResource is the swarm_secret resource.
func NewSecretResource() resource.Resource {
	r := &secretResource{}
	r.kind, r.keyed, r.content = orchestrator.KindSecret, true, secretContent
	r.model = func() objectResourceModel { return &secretModel{} }
	return r
}

type secretResource struct {
	objectResource
}

type secretModel struct {
	ID            types.String      `tfsdk:"id"`
	Name          types.String      `tfsdk:"name"`
	NamePrefix    types.String      `tfsdk:"name_prefix"`
	Labels        map[string]string `tfsdk:"labels"`
	Data          types.String      `tfsdk:"data"`
	DataWO        types.String      `tfsdk:"data_wo"`
	DataWOVersion wholeValue        `tfsdk:"data_wo_version"`
	DataHash      types.String      `tfsdk:"data_hash"`
}

func (m secretModel) object() objectModel {
	return objectModel{ID: m.ID, Name: m.Name, NamePrefix: m.NamePrefix, Labels: m.Labels, DataHash: m.DataHash, DataVersion: m.DataWOVersion}
}

// setObject sets the shared fields; data_wo is never stored.
func (m *secretModel) setObject(o objectModel) {
	m.ID, m.Name, m.NamePrefix, m.Labels, m.DataHash, m.DataWOVersion = o.ID, o.Name, o.NamePrefix, o.Labels, o.DataHash, o.DataVersion
	m.DataWO = types.StringNull()
}

// keepsHash: only a value state keeps anyway (data) has its hash in state.
func (m secretModel) keepsHash() bool { return !m.Data.IsNull() }

// secretContent reads a secret's value: data, or the write-only data_wo and its version.
func secretContent(ctx context.Context, cfg tfsdk.Config, diags *diag.Diagnostics) objectContent {
	var data, wo types.String
	var version wholeValue
	diags.Append(cfg.GetAttribute(ctx, path.Root("data"), &data)...)
	diags.Append(cfg.GetAttribute(ctx, path.Root("data_wo"), &wo)...)
	diags.Append(cfg.GetAttribute(ctx, path.Root("data_wo_version"), &version)...)
	c := objectContent{known: !data.IsUnknown() && !wo.IsUnknown() && !version.IsUnknown()}
	switch {
	case !data.IsNull():
		c.data, c.set = []byte(data.ValueString()), true
	case !wo.IsNull():
		// What the value is does not matter to the plan: its version says whether it is new.
		c.data, c.set, c.writeOnly, c.version = []byte(wo.ValueString()), true, true, versionString(version)
		c.known = !data.IsUnknown() && !version.IsUnknown()
	}
	return c
}

func (r *secretResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_secret"
	resp.ResourceBehavior.MutableIdentity = true // see objectResource.IdentitySchema
}

func (r *secretResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Version: secretSchemaVersion,
		MarkdownDescription: "A Swarm secret: a value services read as a file, which Swarm never gives back. " +
			"With `name_prefix`, a new value makes a new secret named after its content; the services that use it move to it in a rolling update, and the old one is removed once no service uses it. " +
			"Give the value as `data_wo` (write-only: never stored in state or plan; Terraform 1.11+) or `data` (stored in state, marked sensitive).",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "Secret ID. With `name_prefix`, it changes with each new value.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "Secret name. With `name_prefix` instead, the name is the prefix and 10 hex digits: of a keyed hash of `data`, or random for `data_wo`.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown(), stringplanmodifier.RequiresReplaceIfConfigured()},
				Validators:          []validator.String{check{summary: "Invalid Secret Name", text: orchestrator.CheckObjectName}}},
			"name_prefix": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Prefix of the name of each version, e.g. `db-password-`. Changing it replaces the secret.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:          []validator.String{check{summary: "Invalid Name Prefix", text: checkNamePrefix}}},
			"labels": schema.MapAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: "Labels of the secret; changed in place. Keys starting with `swarmform.` are reserved.",
				Validators: []validator.Map{userLabelKeys}},
			"data": schema.StringAttribute{Optional: true, Sensitive: true,
				MarkdownDescription: "The value, stored in state (marked sensitive), fewer than 500 KB. Prefer `data_wo` with Terraform 1.11 or newer.",
				Validators:          []validator.String{secretSize}},
			"data_wo": schema.StringAttribute{Optional: true, Sensitive: true, WriteOnly: true,
				MarkdownDescription: "The value, write-only (Terraform 1.11+), fewer than 500 KB. Neither the value nor anything derived from it is kept in state, plan files or private state, so Terraform cannot see it change: raise `data_wo_version` to write a new value.",
				Validators:          []validator.String{secretSize}},
			"data_wo_version": schema.Int64Attribute{CustomType: wholeType{}, Optional: true,
				MarkdownDescription: "A counter that says which value `data_wo` holds: raising it (or setting it) writes `data_wo` as a new version of the secret. It is recorded on the secret (label `swarmform.data-version`), so an import reads it back.",
				Validators:          []validator.Int64{int64validator.AlsoRequires(path.MatchRoot("data_wo")), int64validator.AtLeast(0)}},
			"data_hash": schema.StringAttribute{Computed: true,
				MarkdownDescription: "With `data`: a keyed hash of the value (the key is kept in the resource's private state), which tells whether the value changed. Null with `data_wo`: nothing derived from a write-only value is kept.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
		},
	}
}

func (r *secretResource) ConfigValidators(context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{
		resourcevalidator.ExactlyOneOf(path.MatchRoot("name"), path.MatchRoot("name_prefix")),
		resourcevalidator.ExactlyOneOf(path.MatchRoot("data"), path.MatchRoot("data_wo")),
	}
}

// secretSize checks a secret's value against Swarm's bounds (never quoting it).
var secretSize = check{summary: "Invalid Secret Size", text: func(s string) error { return orchestrator.CheckObjectData(orchestrator.KindSecret, len(s)) }}

// UpgradeState: version 0 kept a keyed hash of a write-only value in data_hash, with its key
// in private state, which let whoever reads the state file test guesses for the value. Version
// 1 keeps nothing of it: data_hash is null wherever data is (the key goes at the next refresh
// or write, which can change private state).
func (r *secretResource) UpgradeState(context.Context) map[int64]resource.StateUpgrader {
	return map[int64]resource.StateUpgrader{0: rawStateUpgrader(schemaOf(r), func(attrs map[string]json.RawMessage) error {
		if isJSONNull(attrs["data"]) {
			attrs["data_hash"] = json.RawMessage("null")
		}
		return nil
	})}
}

// checkNamePrefix checks a prefix: with the hash appended it must still be a valid name.
func checkNamePrefix(prefix string) error {
	return orchestrator.CheckObjectName(prefix + "0123456789")
}
