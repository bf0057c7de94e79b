package orchestrator

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

// proxiedEngine connects an Engine to the real local engine through a pass-through HTTP proxy.
// before sees each request before it is forwarded, after each response. Nothing is faked: every
// request reaches dockerd.
func proxiedEngine(t *testing.T, before func(*http.Request), after func(*http.Response)) *Engine {
	t.Helper()
	dial := acctest.Docker(t).Dialer()
	upstream := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) }}
	proxy := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(&url.URL{Scheme: "http", Host: "docker"}) },
		Transport: upstream,
		ModifyResponse: func(resp *http.Response) error {
			if after != nil {
				after(resp)
			}
			return nil
		},
	}
	sock := filepath.Join(t.TempDir(), "proxy.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if before != nil {
			before(r)
		}
		proxy.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })

	e, err := New(context.Background(), Config{Host: "unix://" + sock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func TestSnapshotCostsConstantCalls(t *testing.T) {
	var calls atomic.Int64
	e := proxiedEngine(t, func(*http.Request) { calls.Add(1) }, nil)
	ctx := context.Background()
	const n = 12
	var ids []string
	for i := range n {
		zero := uint64(0)
		res, err := e.CreateService(ctx, swarm.ServiceSpec{
			Annotations:  swarm.Annotations{Name: fmt.Sprintf("tfacc-snap-%d-%d", time.Now().UnixNano()%100000, i)},
			TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "swarmform-testapp:v1@sha256:0000000000000000000000000000000000000000000000000000000000000000"}},
			Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &zero}},
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.ID)
	}
	t.Cleanup(func() {
		for _, id := range ids {
			_ = e.cli.ServiceRemove(context.Background(), id)
		}
	})

	// A refresh of n services, read concurrently as Terraform does.
	read := func() {
		var wg sync.WaitGroup
		for _, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := e.Service(ctx, id); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	e.Invalidate()
	before := calls.Load()
	read()
	if got := calls.Load() - before; got != 1 {
		t.Errorf("reading %d services cost %d API calls, want 1 (one service list with task counts)", n, got)
	}
	before = calls.Load()
	read()
	if got := calls.Load() - before; got != 0 {
		t.Errorf("a second read within the TTL cost %d API calls, want 0", got)
	}
	// A write drops the snapshot: the next read sees the cluster as it is now.
	if err := e.DeleteService(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Service(ctx, ids[0]); err == nil {
		t.Error("a deleted service is still served from a stale snapshot")
	}
}
