package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/swarm"
	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

// A write that races another writer gets "update out of sequence" from the real engine; the
// engine re-reads and writes again, keeping the other writer's change to fields Terraform does
// not own (here: engine-owned labels) and applying its own.
func TestUpdateRetriesOnVersionConflict(t *testing.T) {
	ctx := context.Background()
	direct := acctest.Docker(t)

	// The proxy lets the first update through only after another writer bumped the version.
	var updates, conflicts atomic.Int64
	var serviceID atomic.Value
	e := proxiedEngine(t, func(r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/update") || updates.Add(1) != 1 {
			return
		}
		id, _ := serviceID.Load().(string)
		svc, _, err := direct.ServiceInspectWithRaw(ctx, id, swarm.ServiceInspectOptions{})
		if err == nil {
			svc.Spec.Labels[EngineLabelPrefix+"owner"] = "someone-else"
			_, err = direct.ServiceUpdate(ctx, id, svc.Version, svc.Spec, swarm.ServiceUpdateOptions{})
		}
		if err != nil {
			t.Errorf("racing writer: %v", err)
		}
	}, func(resp *http.Response) {
		if resp.StatusCode >= 400 && strings.HasSuffix(resp.Request.URL.Path, "/update") {
			conflicts.Add(1)
		}
	})
	zero := uint64(0)
	spec := swarm.ServiceSpec{
		Annotations:  swarm.Annotations{Name: fmt.Sprintf("tfacc-conflict-%d", time.Now().UnixNano()%1000000), Labels: map[string]string{"team": "a"}},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "swarmform-testapp:v1@sha256:0000000000000000000000000000000000000000000000000000000000000000"}},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &zero}},
	}
	res, err := e.CreateService(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = direct.ServiceRemove(ctx, res.ID) }()
	serviceID.Store(res.ID)

	spec.Labels = map[string]string{"team": "b"}
	out, err := e.UpdateService(ctx, res.ID, spec, WriteOptions{})
	if err != nil {
		t.Fatalf("update after a conflict: %v", err)
	}
	if out.Outcome != OutcomeUpdated || updates.Load() != 2 || conflicts.Load() != 1 {
		t.Fatalf("outcome %s after %d update calls and %d conflicts; want updated after 2 calls and 1 conflict", out.Outcome, updates.Load(), conflicts.Load())
	}
	svc, _, err := direct.ServiceInspectWithRaw(ctx, res.ID, swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Spec.Labels["team"] != "b" || svc.Spec.Labels[EngineLabelPrefix+"owner"] != "someone-else" {
		t.Errorf("labels after the retried write: %v (want team=b and the other writer's engine label kept)", svc.Spec.Labels)
	}
}

// An interrupted apply (cancelled context) stops waiting at once and says where the rollout
// stood; the service itself is left to Swarm, unchanged.
func TestWaitStopsWhenCancelled(t *testing.T) {
	acctest.SkipUnlessAcc(t)
	ctx := context.Background()
	e, err := New(ctx, Config{Host: acctest.DockerHost()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	one := uint64(1)
	res, err := e.CreateService(ctx, swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: fmt.Sprintf("tfacc-cancel-%d", time.Now().UnixNano()%1000000)},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{
			Image: "swarmform-testapp:v1", Env: []string{"START_DELAY=60s"},
			Healthcheck: &container.HealthConfig{Test: []string{"CMD", "/app", "health"}, Interval: time.Second, StartPeriod: 90 * time.Second},
		}},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &one}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.DeleteService(ctx, res.ID) }()

	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(time.Second, cancel)
	start := time.Now()
	_, err = e.WaitConverged(cctx, res, WaitOptions{})
	var te *TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, context.Canceled) {
		t.Fatalf("want a TimeoutError wrapping context.Canceled, got %T: %v", err, err)
	}
	t.Logf("wait returned %s after cancel: %v", time.Since(start)-time.Second, err)
	if _, err := e.ServiceFresh(ctx, res.ID); err != nil {
		t.Errorf("the service must be left in place: %v", err)
	}
}
