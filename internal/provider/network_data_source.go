package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

var (
	_ datasource.DataSource                     = &networkDataSource{}
	_ datasource.DataSourceWithConfigure        = &networkDataSource{}
	_ datasource.DataSourceWithConfigValidators = &networkDataSource{}
)

// NewNetworkDataSource is the swarm_network data source: a swarm-scoped network by ID or name,
// with the attributes the swarm_network resource would hold for it.
func NewNetworkDataSource() datasource.DataSource { return &networkDataSource{} }

type networkDataSource struct {
	dataSourceBase
}

func (d *networkDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_network"
}

func (d *networkDataSource) Schema(ctx context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	attrs, err := computedSchema(schemaOf(&networkResource{})(ctx), "timeouts")
	if err != nil {
		resp.Diagnostics.AddError("Invalid Data Source Schema", "Deriving the swarm_network data source's schema from the resource's failed; this is a bug in the provider: "+err.Error())
		return
	}
	for name, a := range refAttributes("network", "read") {
		attrs[name] = a
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads a swarm-scoped network by `id` or `name`, whether or not Terraform manages it: " +
			"its driver, flags, labels and address pools, as the `swarm_network` resource would hold them. " +
			"The swarm's own `bridge` and `host` networks are found too; a network local to one node (`docker_gwbridge`, `none`, a bridge made outside swarm mode) is not a swarm network, and reading one fails saying so. " +
			"Use it to attach services to a network another configuration (or `docker stack deploy`) owns.",
		Attributes: attrs,
	}
}

// refAttributes are the id and name attributes of a data source that finds one object by
// exactly one of them.
func refAttributes(what, verb string) map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"id": schema.StringAttribute{Optional: true, Computed: true,
			MarkdownDescription: fmt.Sprintf("ID of the %s to %s. Exactly one of `id` and `name` is required; the other is read.", what, verb)},
		"name": schema.StringAttribute{Optional: true, Computed: true,
			MarkdownDescription: fmt.Sprintf("Name of the %s to %s. Exactly one of `id` and `name` is required; the other is read.", what, verb)},
	}
}

func idOrNameValidators() []datasource.ConfigValidator {
	return []datasource.ConfigValidator{datasourcevalidator.ExactlyOneOf(path.MatchRoot("id"), path.MatchRoot("name"))}
}

func (d *networkDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return idOrNameValidators()
}

func (d *networkDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var id, name types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("id"), &id)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("name"), &name)...)
	if resp.Diagnostics.HasError() || !d.connected(&resp.Diagnostics) {
		return
	}
	key, at, by := id.ValueString(), path.Root("id"), orchestrator.ByID
	if id.IsNull() {
		key, at, by = name.ValueString(), path.Root("name"), orchestrator.ByName
	}
	n, err := d.engine.NetworkBy(ctx, by, key)
	var local *orchestrator.LocalNetworkError
	if errors.As(err, &local) {
		addPathError(&resp.Diagnostics, at, "Not a Swarm Network", local.Error()+".")
		return
	}
	if errors.Is(err, orchestrator.ErrNotFound) {
		addPathError(&resp.Diagnostics, at, "Network Not Found", fmt.Sprintf("The swarm has no swarm-scoped network %q. `docker network ls --filter scope=swarm` lists those there are.", key))
		return
	}
	if err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Read Network", "Reading network "+key, err)
		return
	}
	// What the resource would hold after an import (no labels or options read as null).
	rs := schemaOf(&networkResource{})(ctx)
	resp.Diagnostics.Append(setFromResourceModel(ctx, rs, networkFrom(n, networkResourceModel{Timeouts: nullTimeouts(rs)}), &resp.State)...)
}
