package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

var (
	_ datasource.DataSource                     = &serviceDataSource{}
	_ datasource.DataSourceWithConfigure        = &serviceDataSource{}
	_ datasource.DataSourceWithConfigValidators = &serviceDataSource{}
)

// NewServiceDataSource is the swarm_service data source: a service, by ID or name, with every
// attribute the swarm_service resource would hold for it after an import.
func NewServiceDataSource() datasource.DataSource { return &serviceDataSource{} }

type serviceDataSource struct {
	dataSourceBase
}

// serviceTerraformOnly are swarm_service attributes that say how Terraform handles the
// service, not what the service is: the data source leaves them out.
var serviceTerraformOnly = []string{"timeouts", "wait"}

func (d *serviceDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_service"
}

func (d *serviceDataSource) Schema(ctx context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	attrs, err := computedSchema(serviceResourceSchema(ctx), serviceTerraformOnly...)
	if err != nil {
		resp.Diagnostics.AddError("Invalid Data Source Schema", "Deriving the swarm_service data source's schema from the resource's failed; this is a bug in the provider: "+err.Error())
		return
	}
	for name, a := range refAttributes("service", "read") {
		attrs[name] = a
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads a Docker Swarm service by `id` or `name`: every attribute the `swarm_service` resource would hold for it after an import " +
			"(image, environment, ports, resources, rolling update settings, ...), whether or not Terraform manages it. " +
			"The attributes are described as on the resource, read from the service as it is: `image` includes the digest the image was pinned to, " +
			"`replicas` is the live count (also while a `swarm_scaling_policy` owns it), `update_state` is Swarm's, and durations and sizes are spelled as the engine reports them (`1m30s`, `256MiB`). " +
			"For how the service is doing, see `swarm_service_status`.",
		Attributes: attrs,
	}
}

// serviceResourceSchema is the swarm_service resource's schema.
func serviceResourceSchema(ctx context.Context) rschema.Schema {
	var resp resource.SchemaResponse
	(&serviceResource{}).Schema(ctx, resource.SchemaRequest{}, &resp)
	return resp.Schema
}

func (d *serviceDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return idOrNameValidators()
}

func (d *serviceDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	ref, at := serviceRefFrom(ctx, req.Config, &resp.Diagnostics)
	if resp.Diagnostics.HasError() || !d.connected(&resp.Diagnostics) {
		return
	}
	st, err := d.engine.FindService(ctx, ref)
	if err != nil {
		addServiceLookupError(&resp.Diagnostics, at, ref, err)
		return
	}
	resp.Diagnostics.Append(setServiceData(ctx, st, &resp.State)...)
}

// serviceRefFrom reads the id or name a data source was given, and the path of the one given.
func serviceRefFrom(ctx context.Context, config tfsdk.Config, diags *diag.Diagnostics) (orchestrator.ServiceRef, path.Path) {
	var id, name types.String
	diags.Append(config.GetAttribute(ctx, path.Root("id"), &id)...)
	diags.Append(config.GetAttribute(ctx, path.Root("name"), &name)...)
	if !id.IsNull() {
		return orchestrator.ServiceRef{ID: id.ValueString()}, path.Root("id")
	}
	return orchestrator.ServiceRef{Name: name.ValueString()}, path.Root("name")
}

// addServiceLookupError reports a service that could not be found or read, at the attribute
// that named it.
func addServiceLookupError(diags *diag.Diagnostics, at path.Path, ref orchestrator.ServiceRef, err error) {
	if errors.Is(err, orchestrator.ErrNotFound) {
		addPathError(diags, at, "Service Not Found", fmt.Sprintf("The swarm has no service %s. `docker service ls` lists the services there are.", ref))
		return
	}
	addEngineError(diags, "Cannot Read Service", fmt.Sprintf("Reading the service %s", ref), err)
}

// setServiceData writes into a data source's state what the swarm_service resource would hold
// for the service after an import: the model serviceFrom makes with no prior state.
func setServiceData(ctx context.Context, st *orchestrator.ServiceState, out *tfsdk.State) diag.Diagnostics {
	rs := serviceResourceSchema(ctx)
	// No prior state, as on import; its timeouts only need the type the schema gives them.
	return setFromResourceModel(ctx, rs, serviceFrom(st, serviceModel{Timeouts: nullTimeouts(rs)}), out)
}
