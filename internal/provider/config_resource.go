package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
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
	_ resource.Resource                     = &configResource{}
	_ resource.ResourceWithConfigure        = &configResource{}
	_ resource.ResourceWithImportState      = &configResource{}
	_ resource.ResourceWithIdentity         = &configResource{}
	_ resource.ResourceWithModifyPlan       = &configResource{}
	_ resource.ResourceWithConfigValidators = &configResource{}
	_ resource.ResourceWithValidateConfig   = &configResource{}
)

// NewConfigResource is the swarm_config resource.
func NewConfigResource() resource.Resource {
	r := &configResource{}
	r.kind, r.content = orchestrator.KindConfig, configContent
	r.model = func() objectResourceModel { return &configModel{} }
	return r
}

type configResource struct {
	objectResource
}

type configModel struct {
	ID             types.String      `tfsdk:"id"`
	Name           types.String      `tfsdk:"name"`
	NamePrefix     types.String      `tfsdk:"name_prefix"`
	Labels         map[string]string `tfsdk:"labels"`
	Data           types.String      `tfsdk:"data"`
	TemplateDriver types.String      `tfsdk:"template_driver"`
	DataHash       types.String      `tfsdk:"data_hash"`
}

func (m configModel) object() objectModel {
	return objectModel{ID: m.ID, Name: m.Name, NamePrefix: m.NamePrefix, Labels: m.Labels, DataHash: m.DataHash}
}

func (m *configModel) setObject(o objectModel) {
	m.ID, m.Name, m.NamePrefix, m.Labels, m.DataHash = o.ID, o.Name, o.NamePrefix, o.Labels, o.DataHash
}

// keepsHash: a config's content is kept in state (and can be read back from Swarm).
func (m configModel) keepsHash() bool { return true }

// configContent reads a config's content and its templating driver, which both make a version.
func configContent(ctx context.Context, cfg tfsdk.Config, diags *diag.Diagnostics) objectContent {
	var data, driver types.String
	diags.Append(cfg.GetAttribute(ctx, path.Root("data"), &data)...)
	diags.Append(cfg.GetAttribute(ctx, path.Root("template_driver"), &driver)...)
	return objectContent{data: []byte(data.ValueString()), driver: driver.ValueString(), set: !data.IsNull(),
		known: !data.IsUnknown() && !driver.IsUnknown()}
}

func (r *configResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_config"
	resp.ResourceBehavior.MutableIdentity = true // see objectResource.IdentitySchema
}

func (r *configResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A Swarm config: a file services read, such as a proxy's configuration. " +
			"With `name_prefix`, new content makes a new config named after it; the services that use it move to it in a rolling update, and the old one is removed once no service uses it.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "Config ID. With `name_prefix`, it changes with each new content.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "Config name. With `name_prefix` instead, the name is the prefix and 10 hex digits of the content's hash.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown(), stringplanmodifier.RequiresReplaceIfConfigured()},
				Validators:          []validator.String{check{summary: "Invalid Config Name", text: orchestrator.CheckObjectName}}},
			"name_prefix": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Prefix of the name of each version, e.g. `nginx-conf-`. Changing it replaces the config.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:          []validator.String{check{summary: "Invalid Name Prefix", text: checkNamePrefix}}},
			"labels": schema.MapAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: "Labels of the config; changed in place. Keys starting with `swarmform.` are reserved.",
				Validators: []validator.Map{userLabelKeys}},
			"data": schema.StringAttribute{Required: true, MarkdownDescription: "The content, e.g. `file(\"nginx.conf\")`: at least one byte and fewer than 1000 KB (Swarm's bounds). With `template_driver`, it must parse as a template.",
				Validators: []validator.String{check{summary: "Invalid Config Size", text: func(s string) error { return orchestrator.CheckObjectData(orchestrator.KindConfig, len(s)) }}}},
			"template_driver": schema.StringAttribute{Optional: true,
				MarkdownDescription: "`golang` to expand Go templates such as `{{.Service.Name}}` in the content when each task starts.",
				Validators:          []validator.String{stringvalidator.OneOf("golang")}},
			"data_hash": schema.StringAttribute{Computed: true, MarkdownDescription: "Hash of the content and template driver.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
		},
	}
}

func (r *configResource) ConfigValidators(context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{resourcevalidator.ExactlyOneOf(path.MatchRoot("name"), path.MatchRoot("name_prefix"))}
}

// ValidateConfig parses a templated config's content as Swarm's template driver will: Swarm
// takes one that does not parse, and then every task that uses it fails to start.
func (r *configResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var data, driver types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("data"), &data)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("template_driver"), &driver)...)
	if known(data) && known(driver) {
		if err := orchestrator.CheckConfigTemplate(driver.ValueString(), data.ValueString()); err != nil {
			addPathError(&resp.Diagnostics, path.Root("data"), "Invalid Config Template", err.Error()+".")
		}
	}
}

// Read refreshes the shared fields and reads the content back: a config's content can be
// read, so an import, or a change made outside Terraform under the same name, shows in the
// plan.
func (r *configResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	r.objectResource.Read(ctx, req, resp)
	if resp.Diagnostics.HasError() || resp.State.Raw.IsNull() {
		return
	}
	var state configModel
	resp.Diagnostics.Append(resp.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if obj, err := r.engine.Object(ctx, orchestrator.KindConfig, state.ID.ValueString()); err == nil {
		state.Data = types.StringValue(string(obj.Data))
		state.TemplateDriver = stringOrNull(obj.TemplateDriver)
		state.DataHash = types.StringValue(orchestrator.DataHash(nil, obj.Data, "", obj.TemplateDriver))
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}
