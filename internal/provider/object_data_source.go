package provider

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

var (
	_ datasource.DataSource                     = &objectDataSource{}
	_ datasource.DataSourceWithConfigure        = &objectDataSource{}
	_ datasource.DataSourceWithConfigValidators = &objectDataSource{}
)

// NewSecretDataSource is the swarm_secret data source: a secret's metadata, never its value
// (Swarm does not give it back).
func NewSecretDataSource() datasource.DataSource {
	return &objectDataSource{kind: orchestrator.KindSecret}
}

// NewConfigDataSource is the swarm_config data source: a config's metadata. Its content is
// left out on purpose: a config is read to refer to it from a service, and its content would
// land in the state of every configuration that reads it.
func NewConfigDataSource() datasource.DataSource {
	return &objectDataSource{kind: orchestrator.KindConfig}
}

type objectDataSource struct {
	dataSourceBase
	kind orchestrator.ObjectKind
}

type objectDataModel struct {
	ID         types.String      `tfsdk:"id"`
	Name       types.String      `tfsdk:"name"`
	NamePrefix types.String      `tfsdk:"name_prefix"`
	Labels     map[string]string `tfsdk:"labels"`
	DataHash   types.String      `tfsdk:"data_hash"`
	CreatedAt  types.String      `tfsdk:"created_at"`
}

type configDataModel struct {
	objectDataModel
	TemplateDriver types.String `tfsdk:"template_driver"`
}

func (d *objectDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + string(d.kind)
}

func (d *objectDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	k := string(d.kind)
	one := "Exactly one of `id`, `name` and `name_prefix` is required; the others are read."
	attrs := map[string]schema.Attribute{
		"id":   schema.StringAttribute{Optional: true, Computed: true, MarkdownDescription: fmt.Sprintf("ID of the %s. %s", k, one)},
		"name": schema.StringAttribute{Optional: true, Computed: true, MarkdownDescription: fmt.Sprintf("Name of the %s. %s", k, one)},
		"name_prefix": schema.StringAttribute{Optional: true, Computed: true, MarkdownDescription: fmt.Sprintf(
			"The `name_prefix` of a rotating `swarm_%s`: reads its current version (the one created last), so that a configuration that does not manage it follows each rotation. "+
				"Read back as the prefix of the %s found, null for a %s with a fixed name. %s", k, k, k, one)},
		"labels": schema.MapAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: fmt.Sprintf("Labels of the %s (the provider's own `%s*` labels left out); null when it has none.", k, orchestrator.EngineLabelPrefix)},
		"data_hash": schema.StringAttribute{Computed: true, MarkdownDescription: fmt.Sprintf(
			"For a version of a rotating `swarm_%s` (one with `name_prefix`), the keyed hash of its content that the resource holds; it changes when the content does. Null otherwise, and for a secret whose value is write-only (`data_wo`), of which nothing is kept.", k)},
		"created_at": schema.StringAttribute{Computed: true, MarkdownDescription: "When Swarm created it (RFC 3339)."},
	}
	what := "never its value, which Swarm does not give back"
	if d.kind == orchestrator.KindConfig {
		what = "not its content, which would otherwise be copied into the state of every configuration that reads it"
		attrs["template_driver"] = schema.StringAttribute{Computed: true, MarkdownDescription: "Templating driver (`golang`), or null."}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: fmt.Sprintf("Reads a Swarm %s by `id`, `name` or the `name_prefix` of a rotating `swarm_%s`, to refer to it from a `swarm_service`. "+
			"It reads metadata only: %s.", k, k, what),
		Attributes: attrs,
	}
}

func (d *objectDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{datasourcevalidator.ExactlyOneOf(path.MatchRoot("id"), path.MatchRoot("name"), path.MatchRoot("name_prefix"))}
}

func (d *objectDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg objectDataModel
	for _, a := range []struct {
		name string
		v    *types.String
	}{{"id", &cfg.ID}, {"name", &cfg.Name}, {"name_prefix", &cfg.NamePrefix}} {
		resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root(a.name), a.v)...)
	}
	if resp.Diagnostics.HasError() || !d.connected(&resp.Diagnostics) {
		return
	}
	o, at, key, err := d.find(ctx, cfg)
	if errors.Is(err, orchestrator.ErrNotFound) {
		detail := fmt.Sprintf("The swarm has no %s %s %q. `docker %s ls` lists those there are.", d.kind, at.String(), key, d.kind)
		if at.Equal(path.Root("name_prefix")) {
			detail = fmt.Sprintf("The swarm has no version of a rotating %s with name_prefix %q (a %s made by swarm_%s with that name_prefix). `docker %s ls --filter label=%s=%s` lists them.",
				d.kind, key, d.kind, d.kind, d.kind, orchestrator.RotationLabel, key)
		}
		addPathError(&resp.Diagnostics, at, fmt.Sprintf("%s Not Found", title(d.kind)), detail)
		return
	}
	if err != nil {
		addEngineError(&resp.Diagnostics, fmt.Sprintf("Cannot Read %s", title(d.kind)), fmt.Sprintf("Reading %s %s", d.kind, key), err)
		return
	}
	m := objectDataFrom(o)
	if d.kind == orchestrator.KindConfig {
		resp.Diagnostics.Append(resp.State.Set(ctx, configDataModel{objectDataModel: m, TemplateDriver: stringOrNull(o.TemplateDriver)})...)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

// find looks the object up by the one attribute the configuration gives; it returns that
// attribute's path and value for diagnostics.
func (d *objectDataSource) find(ctx context.Context, cfg objectDataModel) (orchestrator.Object, path.Path, string, error) {
	switch {
	case !cfg.NamePrefix.IsNull():
		key := cfg.NamePrefix.ValueString()
		o, err := d.engine.LatestVersion(ctx, d.kind, key)
		return o, path.Root("name_prefix"), key, err
	case !cfg.ID.IsNull():
		key := cfg.ID.ValueString()
		o, err := d.engine.ObjectBy(ctx, d.kind, orchestrator.ByID, key)
		return o, path.Root("id"), key, err
	default:
		key := cfg.Name.ValueString()
		o, err := d.engine.ObjectBy(ctx, d.kind, orchestrator.ByName, key)
		return o, path.Root("name"), key, err
	}
}

// objectDataFrom is what the data source shows of a secret or config: never its data.
func objectDataFrom(o orchestrator.Object) objectDataModel {
	m := objectDataModel{
		ID: types.StringValue(o.ID), Name: types.StringValue(o.Name), Labels: userLabels(o.Labels),
		NamePrefix: stringOrNull(o.Labels[orchestrator.RotationLabel]),
		DataHash:   stringOrNull(o.Labels[orchestrator.DataHashLabel]),
		CreatedAt:  types.StringNull(),
	}
	if !o.CreatedAt.IsZero() {
		m.CreatedAt = types.StringValue(o.CreatedAt.UTC().Format(time.RFC3339))
	}
	return m
}
