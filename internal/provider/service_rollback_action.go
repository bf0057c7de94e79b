package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/action"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

var (
	_ action.Action              = &serviceRollbackAction{}
	_ action.ActionWithConfigure = &serviceRollbackAction{}
)

// NewServiceRollbackAction is swarm_service_rollback: Swarm's rollback to the previous spec.
func NewServiceRollbackAction() action.Action { return &serviceRollbackAction{} }

type serviceRollbackAction struct{ actionBase }

func (a *serviceRollbackAction) Metadata(_ context.Context, req action.MetadataRequest, resp *action.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_service_rollback"
}

func (a *serviceRollbackAction) Schema(_ context.Context, _ action.SchemaRequest, resp *action.SchemaResponse) {
	resp.Schema = targetSchema("Asks Swarm to roll a service back to its previous spec, as `docker service rollback` does (with the service's `rollback` settings), waits until the previous spec's tasks run, and says which image now runs. "+
		"A service never updated has no previous spec, and the action fails without changing it. "+
		"**The configuration still declares the newer spec:** the next plan of the service's `swarm_service` proposes it again, and an apply rolls the service forward. Change the configuration to keep the rollback.",
		"service_id", "The service to roll back: its ID or its name (e.g. `swarm_service.api.id`).", "for the previous spec's tasks")
}

func (a *serviceRollbackAction) Invoke(ctx context.Context, req action.InvokeRequest, resp *action.InvokeResponse) {
	name, ctx, cancel, ok := a.begin(ctx, req, resp, &serviceActionModel{})
	if !ok {
		return
	}
	defer cancel()
	progress(resp, "rolling service %s back to its previous spec", name)
	applied, err := a.engine.RollbackService(ctx, name, orchestrator.WaitOptions{Progress: rolloutProgress(resp, name)})
	if err != nil {
		doing := fmt.Sprintf("Rolling service %q back", name)
		if applied.Wrote {
			doing += ": Swarm took the rollback, but the previous spec's tasks did not all run."
		}
		addEngineError(&resp.Diagnostics, "Service Rollback Failed", doing, err)
		return
	}
	addWarnings(&resp.Diagnostics, applied.Verdict.Warnings)
	image := "(the service could not be read back: " + fmt.Sprint(applied.ReadErr) + ")"
	if applied.Service != nil && applied.Service.Service.Spec.TaskTemplate.ContainerSpec != nil {
		image = applied.Service.Service.Spec.TaskTemplate.ContainerSpec.Image
	}
	progress(resp, "service %s rolled back: %d of %d tasks run image %s; the next plan proposes the configuration's spec again", name, applied.Verdict.Running, applied.Verdict.Desired, image)
}
