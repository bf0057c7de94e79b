package provider

import (
	"context"
	"errors"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

// addEngineError turns an engine error into a diagnostic: what was being done, what to try, and
// the original error.
func addEngineError(diags *diag.Diagnostics, summary, doing string, err error) {
	var ce *orchestrator.ConnectError
	var re *orchestrator.RolloutError
	var te *orchestrator.TimeoutError
	switch {
	case errors.As(err, &ce):
		detail := doing + ": " + ce.Summary + ". " + ce.Advice
		if ce.Err != nil {
			detail += "\n\nError: " + ce.Err.Error()
		}
		diags.AddError(summary, detail)
	case errors.As(err, &re):
		diags.AddError(summary, doing+"\n\n"+re.Error()+"\n\nFix the image or its configuration and apply again; `docker service ps --no-trunc "+re.Service+"` shows every attempt.")
	case errors.As(err, &te):
		advice := "Raise the timeout in the timeouts block if the rollout is only slow."
		if errors.Is(err, context.Canceled) {
			advice = "The apply was interrupted; the service keeps rolling out in Swarm and the next plan shows where it stands."
		}
		diags.AddError(summary, doing+"\n\n"+te.Error()+"\n\n"+advice)
	default:
		diags.AddError(summary, doing+": "+err.Error())
	}
}

func addWarnings(diags *diag.Diagnostics, warnings []string) {
	for _, w := range warnings {
		diags.AddWarning("Docker Engine Warning", w)
	}
}

// addPathError reports bad input at an attribute. Terraform can point only at top-level
// expressions, so the detail starts with the full path (e.g. "healthcheck.interval").
func addPathError(diags *diag.Diagnostics, p path.Path, summary, detail string) {
	diags.AddAttributeError(p, summary, "Attribute "+p.String()+": "+detail)
}
