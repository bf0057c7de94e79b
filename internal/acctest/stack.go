package acctest

import (
	"context"
	"sort"
	"testing"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
)

// StackObjects lists, sorted, the services, networks, secrets and configs labelled as the
// stack's (com.docker.stack.namespace, as docker stack deploy and swarm_stack label them), each
// as "<kind> <name>".
func StackObjects(t *testing.T, cli *client.Client, stack string) []string {
	t.Helper()
	ctx := context.Background()
	f := filters.NewArgs(filters.Arg("label", "com.docker.stack.namespace="+stack))
	var out []string
	add := func(kind string, names []string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("list the %ss of stack %s: %v", kind, stack, err)
		}
		for _, n := range names {
			out = append(out, kind+" "+n)
		}
	}
	services, err := cli.ServiceList(ctx, swarm.ServiceListOptions{Filters: f})
	add("service", names(services, func(s swarm.Service) string { return s.Spec.Name }), err)
	nets, err := cli.NetworkList(ctx, network.ListOptions{Filters: f})
	add("network", names(nets, func(n network.Summary) string { return n.Name }), err)
	secrets, err := cli.SecretList(ctx, swarm.SecretListOptions{Filters: f})
	add("secret", names(secrets, func(s swarm.Secret) string { return s.Spec.Name }), err)
	configs, err := cli.ConfigList(ctx, swarm.ConfigListOptions{Filters: f})
	add("config", names(configs, func(c swarm.Config) string { return c.Spec.Name }), err)
	sort.Strings(out)
	return out
}

func names[T any](items []T, name func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = name(it)
	}
	return out
}
