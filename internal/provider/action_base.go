package provider

// What every action shares: the engine the provider connected, the optional timeout, and the
// progress messages sent while the engine waits.

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/action/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

// defaultActionTimeout bounds an action whose configuration sets no timeout (the timeout
// attribute's description says 10m).
const defaultActionTimeout = 10 * time.Minute

// actionsNote ends every action's description.
const actionsNote = " Needs Terraform 1.14 or newer; OpenTofu has no actions."

// actionBase is embedded in every action, as resourceBase is in every resource.
type actionBase struct {
	engine *orchestrator.Engine
}

func (b *actionBase) Configure(_ context.Context, req action.ConfigureRequest, resp *action.ConfigureResponse) {
	b.engine = engineFrom(req.ProviderData, &resp.Diagnostics)
}

// connected reports whether the provider reached a Docker engine, with an error if not.
func (b *actionBase) connected(diags *diag.Diagnostics) bool {
	return connected(b.engine, diags)
}

// targetSchema is the schema of an action on one object: attr names the object (an ID or a
// name, what it says), and the optional timeout bounds the wait for what waitsFor says.
func targetSchema(description, attr, what, waitsFor string) schema.Schema {
	return schema.Schema{
		MarkdownDescription: description + actionsNote,
		Attributes: map[string]schema.Attribute{
			attr: schema.StringAttribute{Required: true, Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
				MarkdownDescription: what},
			"timeout": timeoutAttribute(waitsFor),
		},
	}
}

// targetConfig is the configuration of an action on one object (targetSchema's).
type targetConfig interface {
	target() (idOrName string, timeout kindValue)
}

func (m *serviceActionModel) target() (string, kindValue) {
	return m.ServiceID.ValueString(), m.Timeout
}
func (m *jobRunActionModel) target() (string, kindValue) { return m.JobID.ValueString(), m.Timeout }
func (m *nodeActionModel) target() (string, kindValue)   { return m.NodeID.ValueString(), m.Timeout }

// begin reads an action's configuration into m and bounds ctx by its timeout, giving the
// object the action is on. ok is false, with the diagnostics said, when the configuration
// does not read or the provider reached no engine; cancel is then nil.
func (b *actionBase) begin(ctx context.Context, req action.InvokeRequest, resp *action.InvokeResponse, m targetConfig) (
	target string, actx context.Context, cancel context.CancelFunc, ok bool) {
	resp.Diagnostics.Append(req.Config.Get(ctx, m)...)
	if resp.Diagnostics.HasError() || !b.connected(&resp.Diagnostics) {
		return "", nil, nil, false
	}
	target, timeout := m.target()
	actx, cancel = actionContext(ctx, timeout)
	return target, actx, cancel, true
}

// timeoutAttribute is the optional timeout of every action.
func timeoutAttribute(what string) schema.StringAttribute {
	return schema.StringAttribute{CustomType: durationType, Optional: true,
		MarkdownDescription: fmt.Sprintf("How long to wait %s before the action fails, as a Go duration (`90s`, `10m`). Default `10m`. Swarm carries on without Terraform after that.", what)}
}

// actionContext bounds ctx by the action's timeout (default defaultActionTimeout).
func actionContext(ctx context.Context, timeout kindValue) (context.Context, context.CancelFunc) {
	d := parseDuration(timeout)
	if d <= 0 {
		d = defaultActionTimeout
	}
	return context.WithTimeout(ctx, d)
}

// progress sends a message to Terraform while the action runs (shown by the CLI and by
// HCP Terraform) and logs it.
func progress(resp *action.InvokeResponse, format string, args ...any) {
	if resp.SendProgress != nil {
		resp.SendProgress(action.InvokeProgressEvent{Message: fmt.Sprintf(format, args...)})
	}
}

// rolloutProgress sends the engine's verdicts while it waits for a service's tasks.
func rolloutProgress(resp *action.InvokeResponse, name string) func(orchestrator.Verdict) {
	return func(v orchestrator.Verdict) {
		progress(resp, "%s: %d of %d running: %s", name, v.Running, v.Desired, v.Reason)
	}
}
