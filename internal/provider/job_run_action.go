package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

var (
	_ action.Action              = &jobRunAction{}
	_ action.ActionWithConfigure = &jobRunAction{}
)

// NewJobRunAction is swarm_job_run: runs a job again.
func NewJobRunAction() action.Action { return &jobRunAction{} }

type jobRunAction struct{ actionBase }

type jobRunActionModel struct {
	JobID   types.String `tfsdk:"job_id"`
	Timeout kindValue    `tfsdk:"timeout"`
}

func (a *jobRunAction) Metadata(_ context.Context, req action.MetadataRequest, resp *action.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_job_run"
}

func (a *jobRunAction) Schema(_ context.Context, _ action.SchemaRequest, resp *action.SchemaResponse) {
	resp.Schema = targetSchema("Runs a job (a `swarm_job`, or any service in `replicated-job` or `global-job` mode) again, as it is, and waits until the run completes. "+
		"A failed run fails the action with the failed tasks' exit codes and last log lines. "+
		"Triggered `before_update` of a service, it runs a migration before the service's new tasks start; a failed run stops the apply before the service changes. "+
		"The job's spec changes only in its `force_update` counter, so the next plan of its `swarm_job` shows no change; the job's `last_run` attributes are read at the next refresh.",
		"job_id", "The job to run: its ID or its name (e.g. `swarm_job.migrate.id`).", "for the run to complete")
}

func (a *jobRunAction) Invoke(ctx context.Context, req action.InvokeRequest, resp *action.InvokeResponse) {
	name, ctx, cancel, ok := a.begin(ctx, req, resp, &jobRunActionModel{})
	if !ok {
		return
	}
	defer cancel()
	job, err := a.engine.Job(ctx, name)
	if err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Run Job", fmt.Sprintf("Looking up job %q", name), err)
		return
	}
	progress(resp, "running job %s again (run %d ended %s)", name, job.Run.Iteration, job.Run.Status)
	applied, err := a.engine.RunJob(ctx, job.Service.ID, orchestrator.WaitOptions{Progress: func(v orchestrator.Verdict) {
		progress(resp, "job %s: %d of %d completed: %s", name, v.Completed, v.Desired, v.Reason)
	}})
	if err != nil {
		doing := fmt.Sprintf("Running job %q again", name)
		if applied.Wrote {
			doing += fmt.Sprintf(": Swarm started run %d, and it did not complete (%s). The job is kept as it is; `docker service ps --no-trunc %s` shows every task.", applied.Run.Iteration, applied.Run.Status, name)
		}
		addEngineError(&resp.Diagnostics, "Job Run Failed", doing, err)
		return
	}
	addWarnings(&resp.Diagnostics, applied.Write.Warnings)
	progress(resp, "job %s completed run %d: %d of %d completions", name, applied.Run.Iteration, applied.Run.Completed, applied.Run.Desired)
}
