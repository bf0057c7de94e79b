package provider

import (
	"context"
	"strconv"

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
	_ resource.ResourceWithModifyPlan       = &secretResource{}
	_ resource.ResourceWithConfigValidators = &secretResource{}
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
	return objectModel{ID: m.ID, Name: m.Name, NamePrefix: m.NamePrefix, Labels: m.Labels, DataHash: m.DataHash}
}

// setObject sets the shared fields; data_wo is never stored.
func (m *secretModel) setObject(o objectModel) {
	m.ID, m.Name, m.NamePrefix, m.Labels, m.DataHash = o.ID, o.Name, o.NamePrefix, o.Labels, o.DataHash
	m.DataWO = types.StringNull()
}

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
		c.data, c.set = []byte(wo.ValueString()), true
		if !version.IsNull() {
			c.version = strconv.FormatInt(version.ValueInt64(), 10)
		}
	}
	return c
}

func (r *secretResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_secret"
}

func (r *secretResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A Swarm secret: a value services read as a file, which Swarm never gives back. " +
			"With `name_prefix`, a new value makes a new secret named after its content; the services that use it move to it in a rolling update, and the old one is removed once no service uses it. " +
			"Give the value as `data_wo` (write-only: never stored in state or plan; Terraform 1.11+) or `data` (stored in state, marked sensitive).",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "Secret ID. With `name_prefix`, it changes with each new value.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "Secret name. With `name_prefix` instead, the name is the prefix and 10 hex digits of a keyed hash of the value.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown(), stringplanmodifier.RequiresReplaceIfConfigured()},
				Validators:          []validator.String{check{summary: "Invalid Secret Name", text: orchestrator.CheckObjectName}}},
			"name_prefix": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Prefix of the name of each version, e.g. `db-password-`. Changing it replaces the secret.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:          []validator.String{check{summary: "Invalid Name Prefix", text: checkNamePrefix}}},
			"labels": schema.MapAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: "Labels of the secret; changed in place."},
			"data": schema.StringAttribute{Optional: true, Sensitive: true,
				MarkdownDescription: "The value, stored in state (marked sensitive). Prefer `data_wo` with Terraform 1.11 or newer."},
			"data_wo": schema.StringAttribute{Optional: true, Sensitive: true, WriteOnly: true,
				MarkdownDescription: "The value, write-only: Terraform never stores it in state or plan files (Terraform 1.11+). A changed value is seen through `data_hash`; raise `data_wo_version` to make a new version of the same value."},
			"data_wo_version": schema.Int64Attribute{CustomType: wholeType{}, Optional: true,
				MarkdownDescription: "A counter: raising it makes a new version of the secret even with the same `data_wo`.",
				Validators:          []validator.Int64{int64validator.AlsoRequires(path.MatchRoot("data_wo"))}},
			"data_hash": schema.StringAttribute{Computed: true,
				MarkdownDescription: "Keyed hash of the value (the key is kept in the resource's private state), which tells whether the value changed without storing it.",
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

// checkNamePrefix checks a prefix: with the hash appended it must still be a valid name.
func checkNamePrefix(prefix string) error {
	return orchestrator.CheckObjectName(prefix + "0123456789")
}
