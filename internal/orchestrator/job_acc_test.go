package orchestrator

import (
	"context"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

// The engine's apply step for jobs on the real swarm: ApplyJob creates a job and returns once
// its run completed; RunJob (what an action calls) runs it again as it is, in a new run, and
// returns once that completed; a service is no job to run.
func TestRunJobRunsAgain(t *testing.T) {
	acctest.SkipUnlessAcc(t)
	ctx := context.Background()
	img := acctest.Env(t, "TEST_IMAGE")
	e, err := New(ctx, Config{Host: acctest.DockerHost()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	two, none := uint64(2), swarm.RestartPolicyConditionNone
	name := acctest.Name("runjob")
	acctest.RemoveServiceAtCleanup(t, acctest.Docker(t), name)
	spec := swarm.ServiceSpec{Annotations: swarm.Annotations{Name: name},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: img, Command: []string{"/app", "cat", "/proc/version"}},
			RestartPolicy: &swarm.RestartPolicy{Condition: none}},
		Mode: swarm.ServiceMode{ReplicatedJob: &swarm.ReplicatedJob{MaxConcurrent: &two, TotalCompletions: &two}}}
	created, err := e.ApplyJob(ctx, "", spec, ApplyOptions{Converge: true})
	if err != nil {
		t.Fatalf("create the job: %v", err)
	}
	if r := created.Run; r.Status != JobCompleted || r.Completed != 2 || r.Iteration != 0 {
		t.Fatalf("the created job's run is %+v; want run 0 completed twice", r)
	}
	again, err := e.RunJob(ctx, created.Write.ID, WaitOptions{})
	if err != nil {
		t.Fatalf("run the job again: %v", err)
	}
	if r := again.Run; r.Status != JobCompleted || r.Completed != 2 || r.Iteration != 1 || again.Write.Outcome != OutcomeUpdated {
		t.Errorf("the job run again: outcome %s, run %+v; want run 1 completed twice", again.Write.Outcome, r)
	}
	if ft := again.Service.Service.Spec.TaskTemplate.ForceUpdate; ft != 1 {
		t.Errorf("the job's force_update is %d after one run again; want 1", ft)
	}

	zero := uint64(0)
	svc := swarm.ServiceSpec{Annotations: swarm.Annotations{Name: name + "-svc"}, TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: img}},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &zero}}}
	acctest.RemoveServiceAtCleanup(t, acctest.Docker(t), svc.Name)
	res, err := e.CreateService(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.RunJob(ctx, res.ID, WaitOptions{}); err == nil || !strings.Contains(err.Error(), "is no job to run") {
		t.Errorf("running a service as a job: %v; want it refused", err)
	}
}
