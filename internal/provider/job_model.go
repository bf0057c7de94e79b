package provider

// swarm_job's model: the container and task attributes it shares with swarm_service
// (taskModel, one conversion), the job's mode and completions, the attributes only Terraform
// has (triggers, progress_deadline, timeouts), and the outcome of its last run.

import (
	"reflect"

	"github.com/docker/docker/api/types/swarm"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

type jobModel struct {
	ID   types.String `tfsdk:"id"`
	Name types.String `tfsdk:"name"`
	taskModel
	Mode             types.String      `tfsdk:"mode"`
	MaxConcurrent    wholeValue        `tfsdk:"max_concurrent"`
	TotalCompletions wholeValue        `tfsdk:"total_completions"`
	Triggers         map[string]string `tfsdk:"triggers"`
	ProgressDeadline kindValue         `tfsdk:"progress_deadline"`
	Timeouts         timeouts.Value    `tfsdk:"timeouts"`
	Version          wholeValue        `tfsdk:"version"`
	Status           types.String      `tfsdk:"status"`
	Completions      wholeValue        `tfsdk:"completions"`
	LastRunStarted   types.String      `tfsdk:"last_run_started"`
	LastRunEnded     types.String      `tfsdk:"last_run_ended"`
}

// jobDefaults are the job's values for what a configuration leaves out. A job's failed task is
// not restarted unless the configuration asks for it: a failed migration then does not run
// again behind Terraform's back.
var jobDefaults = struct {
	Mode          string
	Completions   int64
	RestartPolicy restartPolicyModel
}{
	Mode: "replicated", Completions: 1,
	RestartPolicy: restartPolicyModel{Condition: types.StringValue("none"), Delay: durationValue("5s"), MaxAttempts: intValue(0), Window: durationValue("0s")},
}

// toSpec turns the model into the engine's desired spec.
func (m jobModel) toSpec() swarm.ServiceSpec {
	task, labels := m.toTaskSpec()
	return swarm.ServiceSpec{
		Annotations:  swarm.Annotations{Name: m.Name.ValueString(), Labels: labels},
		TaskTemplate: task,
		Mode:         jobModeToSwarm(m.Mode, m.MaxConcurrent, m.TotalCompletions),
	}
}

func jobModeToSwarm(mode types.String, concurrent, total wholeValue) swarm.ServiceMode {
	if mode.ValueString() == "global" {
		return swarm.ServiceMode{GlobalJob: &swarm.GlobalJob{}}
	}
	count := func(v wholeValue) *uint64 {
		n := uint64(jobDefaults.Completions)
		if known(v) {
			n = uint64(v.ValueInt64())
		}
		return &n
	}
	return swarm.ServiceMode{ReplicatedJob: &swarm.ReplicatedJob{MaxConcurrent: count(concurrent), TotalCompletions: count(total)}}
}

// jobFrom is the one function that turns an observed job into the model. prior is the model
// before the read (state, plan or empty on import), as for serviceFrom; the attributes only
// Terraform has come from it.
func jobFrom(st *orchestrator.JobState, prior jobModel) jobModel {
	svc := st.Service
	m := jobModel{
		ID:               types.StringValue(svc.ID),
		Name:             types.StringValue(svc.Spec.Name),
		taskModel:        taskFrom(&st.ServiceState, prior.taskModel),
		Mode:             types.StringValue(jobDefaults.Mode),
		MaxConcurrent:    intNull(),
		TotalCompletions: intNull(),
		Triggers:         prior.Triggers,
		ProgressDeadline: prior.ProgressDeadline,
		Timeouts:         prior.Timeouts,
		Version:          intValue(int64(svc.Version.Index)),
	}
	switch mode := svc.Spec.Mode; {
	case mode.GlobalJob != nil:
		m.Mode = types.StringValue("global")
	case mode.ReplicatedJob != nil:
		if n := mode.ReplicatedJob.MaxConcurrent; n != nil {
			m.MaxConcurrent = intValue(int64(*n))
		}
		if n := mode.ReplicatedJob.TotalCompletions; n != nil {
			m.TotalCompletions = intValue(int64(*n))
		}
	}
	m.setRun(st.Run)
	keepSpellings(reflect.ValueOf(&m).Elem(), reflect.ValueOf(prior))
	// The embedded task part on its own: reflect cannot set fields reached through an
	// unexported embedded field.
	keepSpellings(reflect.ValueOf(&m.taskModel).Elem(), reflect.ValueOf(prior.taskModel))
	return m
}

// setRun records the outcome of the job's current run.
func (m *jobModel) setRun(run orchestrator.JobRun) {
	m.Status = types.StringValue(run.Status)
	m.Completions = intValue(int64(run.Completed))
	m.LastRunStarted, m.LastRunEnded = timeOrNull(run.Started), timeOrNull(run.Ended)
}
