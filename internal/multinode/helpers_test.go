package multinode_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
	"github.com/swarmform/terraform-provider-swarm/internal/provider"
)

// defaultWait bounds the tests' own waits for what Swarm does by itself.
const defaultWait = 90 * time.Second

var factories = map[string]func() (tfprotov6.ProviderServer, error){
	"swarm": func() (tfprotov6.ProviderServer, error) { return provider.ProtocolServer("test")(), nil },
}

// providerBlock points the provider at the multi-node swarm's manager (or another engine).
func providerBlock(host string) string {
	return fmt.Sprintf("provider \"swarm\" {\n  host = %q\n}\n", host)
}

// service is a swarm_service resource block named like the service.
func service(addr, name, body string) string {
	return fmt.Sprintf("resource \"swarm_service\" %q {\n  name = %q\n%s\n}\n", addr, name, body)
}

// tasksByNode counts a service's running tasks (meant to run) per node hostname.
func tasksByNode(ctx context.Context, cli *client.Client, svc string) (map[string]int, error) {
	tasks, err := acctest.ListDesiredRunning(ctx, cli, svc)
	if err != nil {
		return nil, err
	}
	names, err := hostnames(ctx, cli)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, t := range tasks {
		if t.Status.State == swarm.TaskStateRunning {
			out[names[t.NodeID]]++
		}
	}
	return out, nil
}

// hostnames maps node IDs to hostnames.
func hostnames(ctx context.Context, cli *client.Client) (map[string]string, error) {
	nodes, err := cli.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, n := range nodes {
		out[n.ID] = n.Description.Hostname
	}
	return out, nil
}

// spread prints a per-node count as "mn-1:1 mn-2:2".
func spread(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s:%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// inspectNode reads a node by ID or hostname from the manager.
func inspectNode(t testing.TB, cli *client.Client, key string) swarm.Node {
	t.Helper()
	n, _, err := cli.NodeInspectWithRaw(context.Background(), key)
	if err != nil {
		t.Fatalf("inspect node %s: %v", key, err)
	}
	return n
}

// updateNode changes a node by hand, as someone outside Terraform would.
func updateNode(t testing.TB, cli *client.Client, key string, change func(*swarm.NodeSpec)) {
	t.Helper()
	n := inspectNode(t, cli, key)
	spec := n.Spec
	labels := map[string]string{}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	spec.Labels = labels
	change(&spec)
	if err := cli.NodeUpdate(context.Background(), n.ID, n.Version, spec); err != nil {
		t.Fatalf("update node %s: %v", key, err)
	}
}

// restoreNodesAtCleanup puts every node's availability, role and labels back as they are now
// when the test ends, whatever the test left.
func restoreNodesAtCleanup(t *testing.T, cli *client.Client) {
	t.Helper()
	nodes, err := cli.NodeList(context.Background(), swarm.NodeListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		for _, before := range nodes {
			now, _, err := cli.NodeInspectWithRaw(ctx, before.ID)
			if err != nil {
				continue
			}
			if fmt.Sprint(now.Spec) == fmt.Sprint(before.Spec) {
				continue
			}
			t.Logf("putting node %s back as it was before the test", before.Description.Hostname)
			if err := cli.NodeUpdate(ctx, now.ID, now.Version, before.Spec); err != nil {
				t.Errorf("restore node %s: %v", before.Description.Hostname, err)
			}
		}
	})
}

// waitFor polls cond every 250ms until it holds; fails the test after timeout with cond's
// last note.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var note string
	for {
		ok, n, err := cond()
		if err != nil {
			n = err.Error()
		}
		if ok {
			return
		}
		note = n
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %s", timeout, what, note)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// removeServicesAtCleanup removes services by name when the test ends (for services a failed
// apply may leave behind).
func removeServicesAtCleanup(t *testing.T, cli *client.Client, names ...string) {
	t.Helper()
	t.Cleanup(func() {
		for _, n := range names {
			_ = cli.ServiceRemove(context.Background(), n)
		}
	})
}
