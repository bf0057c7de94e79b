package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

var (
	_ resource.Resource                   = &jobResource{}
	_ resource.ResourceWithConfigure      = &jobResource{}
	_ resource.ResourceWithImportState    = &jobResource{}
	_ resource.ResourceWithIdentity       = &jobResource{}
	_ resource.ResourceWithValidateConfig = &jobResource{}
	_ resource.ResourceWithModifyPlan     = &jobResource{}
)

// NewJobResource is the swarm_job resource.
func NewJobResource() resource.Resource { return &jobResource{} }

type jobResource struct {
	resourceBase
}

func (r *jobResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_job"
}

// IdentitySchema: a job is a service, known by its ID and by its name, which cannot change
// (a new name replaces the job).
func (r *jobResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identityByIDAndName("The job's service ID. An import block may give the job's name here instead.", "The job's name, unique among the swarm's services.")
}

func (r *jobResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	count := func(desc string) schema.Int64Attribute {
		return schema.Int64Attribute{CustomType: wholeType{}, Optional: true, Computed: true, MarkdownDescription: desc,
			Validators:    []validator.Int64{int64validator.Between(1, orchestrator.MaxReplicas)},
			PlanModifiers: []planmodifier.Int64{replicasDefault{}}}
	}
	// The container and task attributes are swarm_service's (taskAttributes); these are the
	// job's own.
	attributes := map[string]schema.Attribute{
		"id": schema.StringAttribute{
			Computed: true, MarkdownDescription: "Swarm service ID of the job.",
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
		"name": schema.StringAttribute{
			Required: true, MarkdownDescription: "Job name (a Swarm service name), unique in the swarm. Changing it replaces the job.",
			PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			Validators:    []validator.String{check{summary: "Invalid Service Name", text: orchestrator.CheckName}},
		},
		"mode": schema.StringAttribute{
			Optional: true, Computed: true, Default: stringdefault.StaticString(jobDefaults.Mode),
			MarkdownDescription: "`replicated` (default: Swarm's replicated-job mode, `total_completions` tasks that exit 0, at most `max_concurrent` at a time) or `global` (global-job mode: one task on every eligible node). Swarm cannot change it in place, so changing it replaces the job.",
			Validators:          []validator.String{stringvalidator.OneOf("replicated", "global")},
			PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
		},
		"max_concurrent":    count("Tasks that run at once in `replicated` mode (default 1). Not allowed in `global` mode."),
		"total_completions": count("Tasks that must exit 0 for a run to complete, in `replicated` mode (default 1). Not allowed in `global` mode."),
		"triggers": schema.MapAttribute{ElementType: types.StringType, Optional: true,
			MarkdownDescription: "Any values; when one changes, the job runs again (as `terraform_data`'s `triggers_replace` does, but in place: the same job, a new run). A change of any other attribute runs it again too."},
		"progress_deadline": schema.StringAttribute{CustomType: durationType, Optional: true,
			MarkdownDescription: "Fail the run when tasks wait this long to start and none starts (Swarm has no such deadline), e.g. a task that no node may run as the swarm is now. A task that no node of the swarm can ever run (a log or volume driver no node has, a platform no node runs, a reservation larger than any node) fails the run at once, deadline or not. Left out, such a run waits until the apply's timeout."},
		"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		"version": schema.Int64Attribute{CustomType: wholeType{},
			Computed: true, MarkdownDescription: "Swarm's version of the job's service object; changes with every write.",
		},
		"status": schema.StringAttribute{Computed: true,
			MarkdownDescription: "Outcome of the job's last run: `completed` (every completion reached), `failed` (a task failed first; the next plan runs it again, unless Swarm's retries, where `restart_policy` allows them, completed the run meanwhile) or `running` (the apply stopped waiting before the run ended; the next apply waits for it)."},
		"completions": schema.Int64Attribute{CustomType: wholeType{}, Computed: true,
			MarkdownDescription: "Tasks of the last run that exited 0 (in `global` mode, nodes on which it did)."},
		"last_run_started": schema.StringAttribute{Computed: true, MarkdownDescription: "When Swarm started the last run (RFC 3339, UTC)."},
		"last_run_ended": schema.StringAttribute{Computed: true,
			MarkdownDescription: "When the last task of the last run ended, once the run completed or failed (RFC 3339, UTC); null while it runs."},
	}
	maps.Copy(attributes, taskAttributes(jobDefaults.RestartPolicy,
		"When Swarm restarts a task's container. Defaults to condition `none`: a task that fails is not run again behind Terraform's back (the apply fails at the first failed task in any case, and the next apply runs the job again). With `on-failure`, Swarm retries failed tasks after the apply has failed."))
	resp.Schema = schema.Schema{
		MarkdownDescription: "A Docker Swarm job: a service in replicated-job or global-job mode, whose tasks run to completion. Every create and update waits until the run completes: every completion reached, each task exited 0. A task that fails fails the apply at once, with its exit code, error and last log lines. The job runs again when its configuration or its `triggers` change; a plan with nothing changed is empty, although its tasks have exited.",
		Attributes:          attributes,
	}
}

func (r *jobResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	defer setIdentity(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var plan jobModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Create, defaultCreateTimeout, &resp.Diagnostics)
	defer cancel()

	name := plan.Name.ValueString()
	a, err := r.engine.ApplyJob(ctx, "", plan.toSpec(), plan.applyOptions(orchestrator.WriteOptions{}))
	addWarnings(&resp.Diagnostics, a.Write.Warnings)
	if !a.Wrote {
		addEngineError(&resp.Diagnostics, "Cannot Create Job", fmt.Sprintf("Creating job %q", name), err)
		return
	}
	tflog.Info(ctx, "job created", map[string]any{"job": name, "id": a.Write.ID, "status": a.Run.Status})
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), a.Write.ID)...)
	switch {
	case errors.Is(err, orchestrator.ErrNotFound):
		resp.State.RemoveResource(ctx)
		addRemovedDuringApply(&resp.Diagnostics, name)
		return
	case errors.Is(err, context.Canceled):
		// Interrupted while the run went on normally (a failed task would have ended the wait
		// first): kept, not tainted, with the run recorded as running; the next plan waits
		// for it (ModifyPlan).
		r.record(ctx, a, plan, &resp.State, &resp.Diagnostics)
		resp.Diagnostics.AddWarning("Apply Interrupted", fmt.Sprintf("The apply was interrupted while job %q ran. It is kept as it is (not tainted): Swarm goes on with its run, and state records the run as %s. "+
			"The next plan reads how the run ended; if it has not ended yet, the next apply waits for it (writing nothing) and fails if its tasks fail. `docker service ps %s` shows its tasks now.", name, a.Run.Status, name))
		return
	}
	// Recorded as it ran even when the run failed: Terraform then taints it, and the next apply
	// replaces it, which runs it again.
	r.record(ctx, a, plan, &resp.State, &resp.Diagnostics)
	if err != nil {
		addEngineError(&resp.Diagnostics, "Job Run Failed", fmt.Sprintf("Job %q was created, but its run did not complete. It is kept so that you can inspect it (docker service ps --no-trunc %s); Terraform marks it tainted and replaces it, which runs it again, on the next apply.", name, name), err)
	}
}

func (r *jobResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	defer setReadIdentity(ctx, req.State, &resp.State, resp.Identity, &resp.Diagnostics)
	var state jobModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	st, err := r.engine.Job(ctx, state.ID.ValueString())
	if errors.Is(err, orchestrator.ErrNotFound) {
		tflog.Info(ctx, "job is gone, removing it from state", map[string]any{"id": state.ID.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Read Job", fmt.Sprintf("Reading job %s", state.ID.ValueString()), err)
		return
	}
	if !orchestrator.IsJob(st.Service.Spec) {
		resp.Diagnostics.AddError("Not a Job", fmt.Sprintf("Reading job %s: service %q runs in mode %q: its tasks keep running, so it is a service, not a job. "+
			"Manage it with swarm_service (import it there), and remove it from this resource (the import block, or terraform state rm).", state.ID.ValueString(), st.Service.Spec.Name, orchestrator.ModeOf(st.Service.Spec)))
		return
	}
	// Swarm bumps the version on every write, and every write starts a new run: the same
	// version is the same spec and the same run. Its recorded outcome stands once the run
	// completed (completed tasks are no drift); a run still going, or one that failed (Swarm
	// may retry its tasks, restart_policy permitting), is read again.
	if !state.Version.IsNull() && uint64(state.Version.ValueInt64()) == st.Service.Version.Index && state.Status.ValueString() == orchestrator.JobCompleted {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, jobFrom(st, state))...)
}

func (r *jobResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	defer setIdentity(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var plan, state jobModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, plan.Timeouts.Update, defaultUpdateTimeout, &resp.Diagnostics)
	defer cancel()

	id, name := state.ID.ValueString(), plan.Name.ValueString()
	plannedFrom := state.toSpec()
	// New triggers, or a run that failed, run the job again even where its spec is the same. A
	// run that no apply saw end (it was interrupted, or ran out of time) is waited for, when
	// this write starts no run of its own.
	rerun := !maps.Equal(plan.Triggers, state.Triggers) || state.Status.ValueString() == orchestrator.JobFailed
	opts := plan.applyOptions(orchestrator.WriteOptions{PlannedFrom: &plannedFrom, Rerun: rerun})
	if state.Status.ValueString() == orchestrator.JobRunning {
		opts.Confirm = &orchestrator.WriteResult{ID: id, Outcome: orchestrator.OutcomeUpdated, Kind: orchestrator.ChangeTaskTemplate}
	}
	a, err := r.engine.ApplyJob(ctx, id, plan.toSpec(), opts)
	addWarnings(&resp.Diagnostics, a.Write.Warnings)
	if !a.Wrote {
		addEngineError(&resp.Diagnostics, "Cannot Update Job", fmt.Sprintf("Updating job %q", name), err)
		r.record(ctx, a, state, &resp.State, &resp.Diagnostics)
		return
	}
	tflog.Info(ctx, "job written", map[string]any{"job": name, "outcome": string(a.Write.Outcome), "rerun": rerun, "confirming": a.Confirming, "status": a.Run.Status})
	if errors.Is(err, orchestrator.ErrNotFound) {
		resp.State.RemoveResource(ctx)
		addRemovedDuringApply(&resp.Diagnostics, name)
		return
	}
	// The job has the new spec whether its run completed or not; the outcome says which.
	r.record(ctx, a, plan, &resp.State, &resp.Diagnostics)
	if err != nil {
		next := "the next plan runs the job again"
		if a.Run.Status == orchestrator.JobRunning {
			next = "the next plan reads how it ended, and if it has not ended yet, the next apply waits for it"
		}
		what := "was updated, but its run did not complete"
		if a.Confirming {
			what = "ran, and the run an earlier apply stopped waiting for did not complete"
		}
		addEngineError(&resp.Diagnostics, "Job Run Failed", fmt.Sprintf("Job %q %s. State records the run as %s; %s. Resources that depend on it were not changed.", name, what, a.Run.Status, next), err)
	}
}

func (r *jobResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state jobModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.connected(&resp.Diagnostics) {
		return
	}
	ctx, cancel := withTimeout(ctx, state.Timeouts.Delete, defaultDeleteTimeout, &resp.Diagnostics)
	defer cancel()
	if err := r.engine.DeleteService(ctx, state.ID.ValueString()); err != nil {
		addEngineError(&resp.Diagnostics, "Cannot Delete Job", fmt.Sprintf("Removing job %q", state.Name.ValueString()), err)
	}
}

// ImportState takes a job's service ID or name; Read resolves names.
func (r *jobResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughWithIdentity(ctx, path.Root("id"), path.Root("id"), req, resp)
}

// ModifyPlan checks the job's networks as swarm_service's are checked; plans a run again for a
// job whose last run failed, and a wait for a run that no apply saw end, and says so (either
// way the outcome is known after the apply); and says when a change runs the job again, so a
// reviewer sees it in the plan.
func (r *jobResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	planNetworks(ctx, r.engine, req, resp)
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() {
		return
	}
	var status, name types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("status"), &status)...)
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("name"), &name)...)
	switch status.ValueString() {
	case orchestrator.JobFailed:
		resp.Diagnostics.AddWarning("Job Runs Again",
			fmt.Sprintf("The last run of job %q failed, so this apply runs it again, with the configuration as planned (`docker service ps --no-trunc %s` shows why its tasks failed).", name.ValueString(), name.ValueString()))
	case orchestrator.JobRunning:
		resp.Diagnostics.AddWarning("Job Run Not Confirmed",
			fmt.Sprintf("The apply that started the current run of job %q stopped waiting for it (it was interrupted, or ran out of time), and the run has not ended yet. "+
				"This apply waits for it, writing nothing to the job that this plan does not show, and fails with the tasks' errors if they fail; resources that depend on the job wait for it too.", name.ValueString()))
	default:
		r.warnRunsAgain(ctx, req, resp)
		return
	}
	for _, attr := range []string{"status", "last_run_started", "last_run_ended"} {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(attr), types.StringUnknown())...)
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("completions"), intUnknown())...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("version"), intUnknown())...)
}

// warnRunsAgain says that a planned change of a job runs it again, and what the run is.
func (r *jobResource) warnRunsAgain(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.Equal(req.State.Raw) {
		return
	}
	var state, plan jobModel
	if req.State.Get(ctx, &state).HasError() || req.Plan.Get(ctx, &plan).HasError() {
		return // values not known yet: the apply decides
	}
	if maps.Equal(state.Triggers, plan.Triggers) && orchestrator.Classify(state.toSpec(), plan.toSpec()) == orchestrator.ChangeNone {
		return // only what Terraform alone keeps (timeouts, progress_deadline) changes
	}
	run := "its task runs once on every node the placement allows"
	if plan.Mode.ValueString() != "global" {
		spec := plan.toSpec().Mode.ReplicatedJob
		run = fmt.Sprintf("%d task(s) must exit 0, at most %d at a time", *spec.TotalCompletions, *spec.MaxConcurrent)
	}
	resp.Diagnostics.AddWarning("Job Runs Again",
		fmt.Sprintf("This change makes Swarm run job %q again: %s. The apply waits for the run and fails if a task fails; resources that depend on the job wait for it.", plan.Name.ValueString(), run))
}

// ValidateConfig checks the container and task attributes as swarm_service does, and that
// completions are not given to a global job.
func (r *jobResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var mode types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("mode"), &mode)...)
	for _, attr := range []string{"max_concurrent", "total_completions"} {
		var v wholeValue
		resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root(attr), &v)...)
		if mode.ValueString() == "global" && !v.IsNull() {
			addPathError(&resp.Diagnostics, path.Root(attr), "Completions Not Allowed In Global Mode",
				fmt.Sprintf("A global job runs one task on every eligible node; remove %s, or use mode = \"replicated\".", attr))
		}
	}
	validateTaskConfig(ctx, req.Config, &resp.Diagnostics)
}

// applyOptions are the engine's options for an apply step of the job: write as given, and wait
// for the run, with the progress deadline.
func (m jobModel) applyOptions(write orchestrator.WriteOptions) orchestrator.ApplyOptions {
	return orchestrator.ApplyOptions{Write: write, Converge: true, Wait: orchestrator.WaitOptions{ProgressDeadline: parseDuration(m.ProgressDeadline)}}
}

// record stores the job as the apply step read it back, with its run. A job that could not be
// read back keeps what state had (a create, its ID).
func (r *jobResource) record(ctx context.Context, a orchestrator.JobApplied, prior jobModel, st stateSetter, diags *diag.Diagnostics) {
	if a.Service == nil {
		if a.ReadErr != nil {
			addEngineError(diags, "Cannot Read Job", fmt.Sprintf("Reading job %s after writing it", a.Write.ID), a.ReadErr)
		}
		return
	}
	diags.Append(st.Set(ctx, jobFrom(&orchestrator.JobState{ServiceState: *a.Service, Run: a.Run}, prior))...)
}
