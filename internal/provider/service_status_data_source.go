package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

var (
	_ datasource.DataSource                     = &serviceStatusDataSource{}
	_ datasource.DataSourceWithConfigure        = &serviceStatusDataSource{}
	_ datasource.DataSourceWithConfigValidators = &serviceStatusDataSource{}
)

// NewServiceStatusDataSource is the swarm_service_status data source: how a service is doing
// now, as the engine decides it (orchestrator.StatusOf), for outputs and check blocks.
func NewServiceStatusDataSource() datasource.DataSource { return &serviceStatusDataSource{} }

type serviceStatusDataSource struct {
	dataSourceBase
}

type serviceStatusModel struct {
	ID              types.String     `tfsdk:"id"`
	Name            types.String     `tfsdk:"name"`
	Mode            types.String     `tfsdk:"mode"`
	DesiredReplicas wholeValue       `tfsdk:"desired_replicas"`
	RunningReplicas wholeValue       `tfsdk:"running_replicas"`
	HealthyReplicas wholeValue       `tfsdk:"healthy_replicas"`
	UpdateState     types.String     `tfsdk:"update_state"`
	UpdateMessage   types.String     `tfsdk:"update_message"`
	RecentErrors    []taskErrorModel `tfsdk:"recent_errors"`
	Healthy         types.Bool       `tfsdk:"healthy"`
	Summary         types.String     `tfsdk:"summary"`
	CompletedTasks  wholeValue       `tfsdk:"completed_tasks"`
	FailedTasks     wholeValue       `tfsdk:"failed_tasks"`
}

type taskErrorModel struct {
	TaskID   types.String `tfsdk:"task_id"`
	Slot     wholeValue   `tfsdk:"slot"`
	Node     types.String `tfsdk:"node"`
	State    types.String `tfsdk:"state"`
	ExitCode wholeValue   `tfsdk:"exit_code"`
	Error    types.String `tfsdk:"error"`
	At       types.String `tfsdk:"at"`
}

func (d *serviceStatusDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_service_status"
}

func (d *serviceStatusDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	count := func(desc string) schema.Int64Attribute {
		return schema.Int64Attribute{CustomType: wholeType{}, Computed: true, MarkdownDescription: desc}
	}
	text := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	attrs := map[string]schema.Attribute{
		"mode": text("`replicated` or `global`; for a job, which `swarm_service` does not manage, `replicated-job` or `global-job`. A job's counts are Swarm's own for its current run, as `docker service ls` shows them: " +
			"the tasks it wants (`desired_replicas`), those running (`running_replicas`), and those running or completed (`healthy_replicas`)."),
		"desired_replicas": count("Tasks that should run: `replicas` of a replicated service; for a global service, the nodes that run or are meant to run its task (nodes that are down left out)."),
		"running_replicas": count("Slots (nodes, for a global service) whose task runs. A task on a node that is down does not count, nor does a task being replaced."),
		"healthy_replicas": count("Running tasks that are healthy. Where the service has a `healthcheck`, a running task is healthy: Swarm reports such a task as running only once its healthcheck passed, and stops it when the healthcheck fails. " +
			"Where it has none, there is no sign of health but staying up, so a task counts once it has run for `rolling_update.monitor` (5s by default), as Swarm's rolling update judges a new task."),
		"completed_tasks": count("A job's tasks that completed (exited 0) in its current run, as `docker service ls` counts them; 0 for a service."),
		"failed_tasks":    count("A job's tasks that failed in its current run (a run starts with every write of the job); 0 for a service, whose failed tasks are in `recent_errors`."),
		"update_state":    text("Swarm's state of the last rollout: `updating`, `paused`, `completed`, `rollback_started`, `rollback_paused` or `rollback_completed`; null if the service was never updated."),
		"update_message":  text("Swarm's message about the last rollout, e.g. why it paused; null if none."),
		"recent_errors": schema.ListNestedAttribute{
			Computed: true,
			MarkdownDescription: fmt.Sprintf("The service's tasks that failed in the last %d minutes, newest first, at most %d (Swarm keeps only the last few ended tasks of each slot). "+
				"A task of a service that exits, even with code 0, has failed; tasks stopped by Swarm (replaced, scaled down) have not. Empty, not null, when there are none.",
				int(orchestrator.RecentErrorsWindow/time.Minute), orchestrator.RecentErrorsMax),
			NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
				"task_id":   text("Task ID."),
				"slot":      count("Slot of a replicated service's task; null for a global service."),
				"node":      text("Host name of the node the task was on (its ID where the name is unknown), or `(not scheduled)`."),
				"state":     text("`failed`, `rejected` (it never started, e.g. the image could not be pulled) or `complete` (the process exited)."),
				"exit_code": count("Exit code of the task's container; null when no container ran."),
				"error":     text("Swarm's error for the task, e.g. `task: non-zero exit (3)` or `No such image: ...`."),
				"at":        text("When the task failed, RFC 3339, on the manager's clock."),
			}},
		},
		"healthy": schema.BoolAttribute{Computed: true,
			MarkdownDescription: "Whether the service is healthy: `healthy_replicas` reaches `desired_replicas`, and the last rollout is not `paused`, `rollback_started`, `rollback_paused` or `rollback_completed` " +
				"(a rolled-back service runs its previous spec, not the last one written; this clears with the next successful update). Earlier failures in `recent_errors` do not count once the tasks run again."},
		"summary": text("One line for a person: the counts, a stopped rollout and the latest failure, e.g. `service web: 1 of 3 replicas healthy (2 running); latest failure: task 1a2b3c4d5e6f (slot 2 on node node-1) failed, exit code 3: task: non-zero exit (3)`. Meant for a check block's `error_message`."),
	}
	for name, a := range refAttributes("service", "check") {
		attrs[name] = a
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "How a Docker Swarm service is doing now: desired, running and healthy tasks, the state of its last rollout, and its recent task failures, with a `healthy` verdict. " +
			"Use it in a `check` block so that every plan, and an HCP Terraform health assessment, warns about a degraded service. " +
			"Reading many services costs one list of services, tasks and nodes between them, not a call per service.",
		Attributes: attrs,
	}
}

func (d *serviceStatusDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return idOrNameValidators()
}

func (d *serviceStatusDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	ref, at := serviceRefFrom(ctx, req.Config, &resp.Diagnostics)
	if resp.Diagnostics.HasError() || !d.connected(&resp.Diagnostics) {
		return
	}
	st, err := d.engine.ServiceStatus(ctx, ref)
	if err != nil {
		addServiceLookupError(&resp.Diagnostics, at, ref, err)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, serviceStatusFrom(st))...)
}

// serviceStatusFrom turns the engine's status into the model.
func serviceStatusFrom(st orchestrator.ServiceStatus) serviceStatusModel {
	m := serviceStatusModel{
		ID:              types.StringValue(st.ID),
		Name:            types.StringValue(st.Name),
		Mode:            types.StringValue(st.Mode),
		DesiredReplicas: intValue(int64(st.Desired)),
		RunningReplicas: intValue(int64(st.Running)),
		HealthyReplicas: intValue(int64(st.Healthy)),
		UpdateState:     stringOrNull(string(st.UpdateState)),
		UpdateMessage:   stringOrNull(st.UpdateMessage),
		RecentErrors:    []taskErrorModel{},
		Healthy:         types.BoolValue(st.OK),
		Summary:         types.StringValue(st.Summary),
		CompletedTasks:  intValue(int64(st.Completed)),
		FailedTasks:     intValue(int64(st.Failed)),
	}
	for _, r := range st.RecentErrors {
		e := taskErrorModel{TaskID: types.StringValue(r.ID), Slot: intNull(), Node: types.StringValue(r.Node), State: types.StringValue(r.State),
			ExitCode: intNull(), Error: types.StringValue(r.Message), At: types.StringValue(r.At.UTC().Format(time.RFC3339))}
		if !st.Global && r.Slot != 0 {
			e.Slot = intValue(int64(r.Slot))
		}
		if r.Exited {
			e.ExitCode = intValue(int64(r.ExitCode))
		}
		m.RecentErrors = append(m.RecentErrors, e)
	}
	return m
}
