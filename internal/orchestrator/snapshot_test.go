package orchestrator

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
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
	sock := filepath.Join(t.TempDir(), "proxy.sock")
	serveProxy(t, sock, before, after)
	e, err := New(context.Background(), Config{Host: "unix://" + sock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// serveProxy serves on the unix socket sock a proxy to the test swarm's engine, which shows
// before each request and may rewrite each answer (to inject the faults of a manager that
// restarts).
func serveProxy(t *testing.T, sock string, before func(*http.Request), after func(*http.Response)) {
	t.Helper()
	acctest.SkipUnlessAcc(t)
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	serveProxyOn(t, l, before, after)
}

// serveProxyOn is serveProxy on a listener of any kind.
func serveProxyOn(t *testing.T, l net.Listener, before func(*http.Request), after func(*http.Response)) {
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
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if before != nil {
			before(r)
		}
		proxy.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
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

// The status of every service, the node list and the cluster, read concurrently as Terraform
// reads data sources, cost one list call per kind and one inspect of the swarm, whatever the
// number of services.
func TestStatusCostsConstantCalls(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	e := proxiedEngine(t, func(r *http.Request) {
		mu.Lock()
		calls[r.Method+" "+apiPath(r.URL.Path)]++
		mu.Unlock()
	}, nil)
	ctx := context.Background()
	const n = 10
	prefix := acctest.Name("ds-calls")
	var refs []ServiceRef
	for i := range n {
		zero := uint64(0)
		name := fmt.Sprintf("%s-%d", prefix, i)
		res, err := e.CreateService(ctx, swarm.ServiceSpec{
			Annotations:  swarm.Annotations{Name: name},
			TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "swarmform-testapp:v1@sha256:0000000000000000000000000000000000000000000000000000000000000000"}},
			Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &zero}},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = e.cli.ServiceRemove(context.Background(), res.ID) })
		if i%2 == 0 {
			refs = append(refs, ServiceRef{ID: res.ID})
		} else {
			refs = append(refs, ServiceRef{Name: name})
		}
	}

	read := func() map[string]int {
		mu.Lock()
		clear(calls)
		mu.Unlock()
		var wg sync.WaitGroup
		for _, ref := range refs {
			wg.Add(2)
			go func() {
				defer wg.Done()
				if st, err := e.ServiceStatus(ctx, ref); err != nil || st.Desired != 0 || !st.OK {
					t.Errorf("status of the service %s: %+v, %v", ref, st, err)
				}
			}()
			go func() {
				defer wg.Done()
				if _, err := e.FindService(ctx, ref); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			if nodes, err := e.ListNodes(ctx, NodeFilter{Role: swarm.NodeRoleManager}); err != nil || len(nodes) == 0 {
				t.Errorf("managers: %d, %v", len(nodes), err)
			}
		}()
		go func() {
			defer wg.Done()
			if c, err := e.Cluster(ctx); err != nil || c.Counts.Managers == 0 || c.JoinTokens.Worker == "" {
				t.Errorf("cluster: %+v, %v", c.Counts, err)
			}
		}()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(calls)
	}
	e.Invalidate()
	want := map[string]int{"GET /services": 1, "GET /tasks": 1, "GET /nodes": 1, "GET /swarm": 1}
	if got := read(); !maps.Equal(got, want) {
		t.Errorf("reading the status of %d services (and finding each), the managers and the cluster cost %v, want %v", n, got, want)
	}
	// Within the TTL only the swarm is inspected again (one swarm_cluster data source).
	if got := read(); !maps.Equal(got, map[string]int{"GET /swarm": 1}) {
		t.Errorf("a second read within the TTL cost %v, want only the swarm inspect", got)
	}
}

// apiPath drops the API version from a request path: /v1.41/tasks is /tasks.
func apiPath(p string) string {
	if rest, ok := strings.CutPrefix(p, "/v"); ok {
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			return rest[i:]
		}
	}
	return p
}

func TestShared(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const ttl, maxAge = 5 * time.Second, snapshotMaxAge
	tests := []struct {
		name             string
		now, taken, read time.Time
		want             bool
	}{
		{"no list yet", t0, time.Time{}, time.Time{}, false},
		{"just taken", t0.Add(time.Second), t0, t0, true},
		{"unread for the TTL", t0.Add(ttl), t0, t0, false},
		{"older than the TTL but read 2 s ago: a long refresh", t0.Add(30 * time.Second), t0, t0.Add(28 * time.Second), true},
		{"read a moment ago but older than the max age", t0.Add(maxAge), t0, t0.Add(maxAge - time.Second), false},
		{"the max age is longer than a slow refresh of 1,000 resources", t0.Add(3 * time.Minute), t0, t0.Add(3*time.Minute - time.Second), true},
	}
	for _, tc := range tests {
		if got := shared(tc.now, tc.taken, tc.read, ttl, maxAge); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}
