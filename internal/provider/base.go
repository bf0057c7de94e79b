package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

// resourceBase is embedded in every resource: it takes the engine the provider connected, and
// says when there is none.
type resourceBase struct {
	engine *orchestrator.Engine
}

func (b *resourceBase) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	b.engine = engineFrom(req.ProviderData, &resp.Diagnostics)
}

// connected reports whether the provider reached a Docker engine, with an error if not.
func (b *resourceBase) connected(diags *diag.Diagnostics) bool {
	return connected(b.engine, diags)
}

// dataSourceBase is embedded in every data source, as resourceBase is in every resource.
type dataSourceBase struct {
	engine *orchestrator.Engine
}

func (b *dataSourceBase) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	b.engine = engineFrom(req.ProviderData, &resp.Diagnostics)
}

// connected reports whether the provider reached a Docker engine, with an error if not.
func (b *dataSourceBase) connected(diags *diag.Diagnostics) bool {
	return connected(b.engine, diags)
}

// engineFrom is the engine in the provider's data; nil (no error) before the provider is
// configured, as during validation.
func engineFrom(data any, diags *diag.Diagnostics) *orchestrator.Engine {
	if data == nil {
		return nil
	}
	engine, ok := data.(*orchestrator.Engine)
	if !ok {
		diags.AddError("Unexpected Provider Data", fmt.Sprintf("expected *orchestrator.Engine, got %T; this is a bug in the provider", data))
		return nil
	}
	return engine
}

func connected(e *orchestrator.Engine, diags *diag.Diagnostics) bool {
	if e == nil {
		diags.AddError("Provider Not Connected", "The swarm provider could not connect to a Docker engine during this run (its configuration was not known yet). Run apply again once the values it depends on exist.")
		return false
	}
	return true
}

// withTimeout bounds ctx by an operation's timeout: the timeouts block's value, else def.
func withTimeout(ctx context.Context, timeout func(context.Context, time.Duration) (time.Duration, diag.Diagnostics), def time.Duration, diags *diag.Diagnostics) (context.Context, context.CancelFunc) {
	d, dd := timeout(ctx, def)
	diags.Append(dd...)
	return context.WithTimeout(ctx, d)
}
