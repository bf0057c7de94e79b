package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

var (
	_ action.Action              = &serviceRestartAction{}
	_ action.ActionWithConfigure = &serviceRestartAction{}
)

// NewServiceRestartAction is swarm_service_restart: a rolling restart of a service.
func NewServiceRestartAction() action.Action { return &serviceRestartAction{} }

type serviceRestartAction struct{ actionBase }

// serviceActionModel is the configuration of the actions on one service.
type serviceActionModel struct {
	ServiceID types.String `tfsdk:"service_id"`
	Timeout   kindValue    `tfsdk:"timeout"`
}

func (a *serviceRestartAction) Metadata(_ context.Context, req action.MetadataRequest, resp *action.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_service_restart"
}

func (a *serviceRestartAction) Schema(_ context.Context, _ action.SchemaRequest, resp *action.SchemaResponse) {
	resp.Schema = targetSchema("Restarts every task of a service with the same spec, as `docker service update --force` does: Swarm replaces the tasks in the order and batches of the service's `rolling_update` settings. "+
		"The action waits until the new tasks run (stable for the monitor window), and fails with the failing tasks' exit codes and last log lines when they do not; the service's failure action applies as in any rollout. "+
		"The service's spec changes only in its `force_update` counter, which no configuration manages, so the next plan of a `swarm_service` is empty.",
		"service_id", "The service to restart: its ID or its name (e.g. `swarm_service.api.id`).", "for the new tasks")
}

func (a *serviceRestartAction) Invoke(ctx context.Context, req action.InvokeRequest, resp *action.InvokeResponse) {
	name, ctx, cancel, ok := a.begin(ctx, req, resp, &serviceActionModel{})
	if !ok {
		return
	}
	defer cancel()
	progress(resp, "restarting service %s", name)
	applied, err := a.engine.RestartService(ctx, name, orchestrator.WaitOptions{Progress: rolloutProgress(resp, name)})
	if err != nil {
		doing := fmt.Sprintf("Restarting service %q", name)
		if applied.Wrote {
			doing += ": Swarm took the restart, but its new tasks did not all run. " + restartOutcome(name, err)
		}
		addEngineError(&resp.Diagnostics, "Service Restart Failed", doing, err)
		return
	}
	addWarnings(&resp.Diagnostics, applied.Write.Warnings)
	addWarnings(&resp.Diagnostics, applied.Verdict.Warnings)
	progress(resp, "service %s restarted: %d of %d tasks replaced and running", name, applied.Verdict.Running, applied.Verdict.Desired)
}

// restartOutcome says where a failed restart left the service, from how the engine says the
// rollout ended.
func restartOutcome(name string, err error) string {
	var re *orchestrator.RolloutError
	if !errors.As(err, &re) {
		return fmt.Sprintf("Swarm carries on with the restart of %q without Terraform; `docker service ps %s` shows where it stands.", name, name)
	}
	switch re.Ending {
	case orchestrator.EndingPaused:
		return "Swarm paused the restart (failure_action \"pause\"): slots already restarted keep their new tasks; `docker service update --force " + name + "` or this action resumes it once the cause is fixed."
	case orchestrator.EndingRolledBack:
		return "Swarm rolled the service back to its spec before the restart (failure_action \"rollback\")."
	case orchestrator.EndingRollbackPaused:
		return "The rollback failed too and Swarm paused it."
	}
	return ""
}
