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

func (m *secretModel) setObject(o objectModel) {
	m.ID, m.Name, m.NamePrefix, m.Labels, m.DataHash = o.ID, o.Name, o.NamePrefix, o.Labels, o.DataHash
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

func (r *secretResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan secretModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	r.write(ctx, req.Config, plan.object(), nil, resp.Private, secretState{plan, &resp.State}, &resp.Diagnostics)
}

func (r *secretResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state secretModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	o := state.object()
	if !r.read(ctx, &o, &resp.Diagnostics) {
		resp.State.RemoveResource(ctx)
		return
	}
	state.setObject(o)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *secretResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state secretModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	prior := state.object()
	r.write(ctx, req.Config, plan.object(), &prior, resp.Private, secretState{plan, &resp.State}, &resp.Diagnostics)
}

func (r *secretResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state secretModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	r.remove(ctx, state.object(), &resp.Diagnostics)
}

// ImportState takes a secret ID or name. Swarm never gives a secret's value back: after an
// import the configured value makes a new version (name_prefix) or replaces the secret.
func (r *secretResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	r.importState(ctx, req, resp)
}

func (r *secretResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if r.engine == nil {
		return
	}
	r.plan(ctx, req, resp)
}

// secretState writes the shared object fields into a secret's state, keeping the rest of the
// planned model (data stays as configured; data_wo is never stored).
type secretState struct {
	plan  secretModel
	state *tfsdk.State
}

func (s secretState) Set(ctx context.Context, val any) diag.Diagnostics {
	o, _ := val.(objectModel)
	m := s.plan
	m.setObject(o)
	m.DataWO = types.StringNull()
	return s.state.Set(ctx, m)
}

// checkNamePrefix checks a prefix: with the hash appended it must still be a valid name.
func checkNamePrefix(prefix string) error {
	return orchestrator.CheckObjectName(prefix + "0123456789")
}
