package multinode_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

// TestMultiNodeHarness proves the multi-node harness: a global service runs
// one task on each node, a stopped worker is marked down by the manager and
// comes back ready (and runs its task again) once started.
func TestMultiNodeHarness(t *testing.T) {
	c := acctest.MultiNode(t)
	cli := c.Client(t)
	ctx := t.Context()

	if len(c.Nodes) < 2 {
		t.Fatalf("the harness has %d node(s); this test needs a worker", len(c.Nodes))
	}
	hostnames := map[string]bool{}
	for _, n := range c.Nodes {
		hostnames[n.Hostname] = true
	}
	if len(hostnames) != len(c.Nodes) {
		t.Fatalf("the nodes' hostnames are not distinct: %v", c.Nodes)
	}

	name := fmt.Sprintf("tfacc-mn-harness-%d", time.Now().UnixNano())
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: name, Labels: map[string]string{"swarmform.test": "multinode-harness"}},
		Mode:        swarm.ServiceMode{Global: &swarm.GlobalService{}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{Image: c.Image},
		},
	}
	// QueryRegistry false: no digest look-up, the nodes use their local image.
	resp, err := cli.ServiceCreate(ctx, spec, swarm.ServiceCreateOptions{QueryRegistry: false})
	if err != nil {
		t.Fatalf("creating the global service: %v", err)
	}
	id := resp.ID
	t.Cleanup(func() { removeService(t, cli, id) })

	// One running task on every node, on as many distinct hostnames.
	start := time.Now()
	waitFor(t, 90*time.Second, "a running task of the global service on each node", func() (bool, string, error) {
		got, err := runningTaskHosts(ctx, cli, id)
		if err != nil {
			return false, "", err
		}
		return sameSet(got, hostnames), fmt.Sprintf("running on %v", keys(got)), nil
	})
	t.Logf("global service runs on %v after %s", keys(hostnames), time.Since(start).Round(100*time.Millisecond))

	// Each node's own engine runs the service's container (the per-node
	// sockets reach the right daemons).
	for _, n := range c.Nodes {
		nc := c.NodeClient(t, n.Index)
		info, err := nc.Info(ctx)
		if err != nil {
			t.Fatalf("%s (%s): %v", n.Hostname, n.Host, err)
		}
		if info.Name != n.Hostname || info.Swarm.NodeID != n.ID {
			t.Errorf("%s answers as %q (swarm node %s), want %q (%s)", n.Host, info.Name, info.Swarm.NodeID, n.Hostname, n.ID)
		}
		ctrs, err := nc.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", "com.docker.swarm.service.id="+id))})
		if err != nil {
			t.Fatalf("listing containers on %s: %v", n.Hostname, err)
		}
		if len(ctrs) != 1 {
			t.Errorf("%s runs %d containers of the service, want 1", n.Hostname, len(ctrs))
		}
	}
	if t.Failed() {
		return
	}

	// A worker's daemon stops: the manager marks the node down.
	w := c.Workers[len(c.Workers)-1]
	c.StopNode(t, w.Index)
	start = time.Now()
	waitFor(t, 90*time.Second, "the manager to mark "+w.Hostname+" down", func() (bool, string, error) {
		st, err := nodeState(ctx, cli, w.ID)
		return st == swarm.NodeStateDown, string(st), err
	})
	t.Logf("%s down %s after its daemon stopped", w.Hostname, time.Since(start).Round(100*time.Millisecond))

	// It starts again: ready, and the global service runs on it again.
	c.StartNode(t, w.Index)
	waitFor(t, 90*time.Second, w.Hostname+" to be ready again", func() (bool, string, error) {
		st, err := nodeState(ctx, cli, w.ID)
		return st == swarm.NodeStateReady, string(st), err
	})
	start = time.Now()
	waitFor(t, 90*time.Second, "the global service to run on every node again", func() (bool, string, error) {
		got, err := runningTaskHosts(ctx, cli, id)
		if err != nil {
			return false, "", err
		}
		return sameSet(got, hostnames), fmt.Sprintf("running on %v", keys(got)), nil
	})
	t.Logf("task back on %s %s after the node was ready", w.Hostname, time.Since(start).Round(100*time.Millisecond))

	removeService(t, cli, id)
}

// runningTaskHosts: hostname of the node of each running task of the service.
func runningTaskHosts(ctx context.Context, cli *client.Client, id string) (map[string]bool, error) {
	tasks, err := cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(
		filters.Arg("service", id), filters.Arg("desired-state", "running"))})
	if err != nil {
		return nil, err
	}
	nodes, err := cli.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, n := range nodes {
		names[n.ID] = n.Description.Hostname
	}
	got := map[string]bool{}
	for _, tk := range tasks {
		if tk.Status.State == swarm.TaskStateRunning {
			got[names[tk.NodeID]] = true
		}
	}
	return got, nil
}

func nodeState(ctx context.Context, cli *client.Client, id string) (swarm.NodeState, error) {
	n, _, err := cli.NodeInspectWithRaw(ctx, id)
	return n.Status.State, err
}

// removeService removes the service (if still there) and waits until its
// tasks are gone, so the harness is left with nothing running.
func removeService(t *testing.T, cli *client.Client, id string) {
	t.Helper()
	ctx := context.WithoutCancel(t.Context())
	if err := cli.ServiceRemove(ctx, id); err != nil {
		if cerrdefs.IsNotFound(err) {
			return
		}
		t.Errorf("removing service %s: %v", id, err)
		return
	}
	waitFor(t, 60*time.Second, "the service's tasks to be gone", func() (bool, string, error) {
		tasks, err := cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", id))})
		if cerrdefs.IsNotFound(err) {
			return true, "", nil // the service filter no longer resolves
		}
		return err == nil && len(tasks) == 0, fmt.Sprintf("%d task(s) left", len(tasks)), err
	})
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func keys(m map[string]bool) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, " ")
}
