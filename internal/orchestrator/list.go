package orchestrator

// Listing what a swarm runs, for `terraform query`: each kind the provider can manage, cut down
// to what one resource of that kind would adopt, and to what a filter selects. The Docker API
// filters where it can (labels, and names, which it matches by prefix or by substring); the
// filter's own Match then decides, so that every kind is selected by the same rule.

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
)

// ListFilter selects objects for a list; every condition given must hold.
type ListFilter struct {
	// NamePrefix is what the object's name starts with (a node's: its hostname; a stack's:
	// its namespace).
	NamePrefix string
	// Labels are labels the object carries, each with exactly this value.
	Labels map[string]string
	// Stack is the stack namespace (label com.docker.stack.namespace) the object belongs to.
	// Without it, objects of a stack are left out of every kind but stacks: swarm_stack
	// adopts them with their stack.
	Stack string
}

// Match says whether an object of this name and labels is selected.
func (f ListFilter) Match(name string, labels map[string]string) bool {
	if !strings.HasPrefix(name, f.NamePrefix) {
		return false
	}
	if f.Stack != "" && labels[StackNamespaceLabel] != f.Stack {
		return false
	}
	for k, v := range f.Labels {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// matchMember is Match for an object that a stack may own: without a Stack condition, a
// stack's object is not selected.
func (f ListFilter) matchMember(name string, labels map[string]string) bool {
	if f.Stack == "" && labels[StackNamespaceLabel] != "" {
		return false
	}
	return f.Match(name, labels)
}

// args are the Docker API filters that narrow a list to candidates: the labels, and the
// name (which the daemon matches by prefix for Swarm objects: a superset of Match's).
func (f ListFilter) args() filters.Args {
	args := filters.NewArgs()
	for _, k := range slices.Sorted(maps.Keys(f.Labels)) {
		args.Add("label", k+"="+f.Labels[k])
	}
	if f.Stack != "" {
		args.Add("label", StackNamespaceLabel+"="+f.Stack)
	}
	if f.NamePrefix != "" {
		args.Add("name", f.NamePrefix)
	}
	return args
}

// listServices lists the services and jobs the filter's Docker API filters select, with
// their task counts.
func (e *Engine) listServices(ctx context.Context, f ListFilter) ([]swarm.Service, error) {
	return read(ctx, e, "list services", func(ctx context.Context) ([]swarm.Service, error) {
		return e.cli.ServiceList(ctx, swarm.ServiceListOptions{Filters: f.args(), Status: true})
	})
}

// ListServices lists the services a swarm_service would adopt, by name: not jobs
// (swarm_job's), not autoscaler controllers (swarm_autoscaler's), and, without a Stack
// condition, not a stack's services (swarm_stack's).
func (e *Engine) ListServices(ctx context.Context, f ListFilter) ([]*ServiceState, error) {
	list, err := e.listServices(ctx, f)
	if err != nil {
		return nil, err
	}
	var out []*ServiceState
	resolve := e.Resolver(ctx)
	for _, svc := range sortedServices(list) {
		if IsJob(svc.Spec) || svc.Spec.Labels[AutoscalerLabel] != "" || !f.matchMember(svc.Spec.Name, svc.Spec.Labels) {
			continue
		}
		st := stateOf(svc)
		st.Resolve = resolve
		out = append(out, st)
	}
	return out, nil
}

// ListJobs lists the jobs a swarm_job would adopt, by name, each with its current run.
func (e *Engine) ListJobs(ctx context.Context, f ListFilter) ([]*JobState, error) {
	list, err := e.listServices(ctx, f)
	if err != nil {
		return nil, err
	}
	var out []*JobState
	for _, svc := range sortedServices(list) {
		if !IsJob(svc.Spec) || !f.matchMember(svc.Spec.Name, svc.Spec.Labels) {
			continue
		}
		// From the shared snapshot, as the job's read takes it (its tasks and nodes).
		st, err := e.Job(ctx, svc.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// StackSummary is one stack as the swarm runs it: its namespace and its services by name.
type StackSummary struct {
	Name     string
	Services map[string]swarm.Service
}

// ListStacks lists the stacks (the namespaces of services labelled com.docker.stack.namespace,
// as `docker stack ls` counts them), each once, by name. NamePrefix and Stack apply to the
// namespace; Labels select the stacks whose every service carries them.
func (e *Engine) ListStacks(ctx context.Context, f ListFilter) ([]StackSummary, error) {
	list, err := read(ctx, e, "list services", func(ctx context.Context) ([]swarm.Service, error) {
		args := filters.NewArgs()
		if f.Stack != "" {
			args.Add("label", StackNamespaceLabel+"="+f.Stack)
		} else {
			args.Add("label", StackNamespaceLabel)
		}
		return e.cli.ServiceList(ctx, swarm.ServiceListOptions{Filters: args, Status: true})
	})
	if err != nil {
		return nil, err
	}
	stacks := map[string]map[string]swarm.Service{}
	for _, svc := range list {
		ns := svc.Spec.Labels[StackNamespaceLabel]
		if ns == "" {
			continue
		}
		if stacks[ns] == nil {
			stacks[ns] = map[string]swarm.Service{}
		}
		stacks[ns][svc.Spec.Name] = svc
	}
	var out []StackSummary
	for _, ns := range slices.Sorted(maps.Keys(stacks)) {
		if stackSelected(f, ns, stacks[ns]) {
			out = append(out, StackSummary{Name: ns, Services: stacks[ns]})
		}
	}
	return out, nil
}

// stackSelected says whether the filter selects a stack: by its namespace, and by the labels
// that every one of its services carries.
func stackSelected(f ListFilter, ns string, services map[string]swarm.Service) bool {
	if !(ListFilter{NamePrefix: f.NamePrefix, Stack: f.Stack}).Match(ns, map[string]string{StackNamespaceLabel: ns}) {
		return false
	}
	for _, svc := range services {
		if !(ListFilter{Labels: f.Labels}).Match(svc.Spec.Name, svc.Spec.Labels) {
			return false
		}
	}
	return true
}

// predefinedNetworks are the networks every swarm node has, which nothing can manage.
var predefinedNetworks = []string{"ingress", "bridge", "host", "none", "docker_gwbridge"}

// ListNetworks lists the swarm-scoped networks a swarm_network would adopt, by name: never
// the predefined ones (ingress, bridge, host, none, docker_gwbridge).
func (e *Engine) ListNetworks(ctx context.Context, f ListFilter) ([]network.Summary, error) {
	args := f.args()
	// The daemon's name filter misses swarm networks that have no task on the node it runs
	// on (Engine 20.10): the name is matched here only.
	args.Del("name", f.NamePrefix)
	args.Add("scope", "swarm")
	list, err := read(ctx, e, "list networks", func(ctx context.Context) ([]network.Summary, error) {
		return e.cli.NetworkList(ctx, network.ListOptions{Filters: args})
	})
	if err != nil {
		return nil, err
	}
	var out []network.Summary
	for _, n := range list {
		if n.Ingress || Predefined(n) || slices.Contains(predefinedNetworks, n.Name) || !f.matchMember(n.Name, n.Labels) {
			continue
		}
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b network.Summary) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// ListObjects lists the secrets or configs a swarm_secret or swarm_config would adopt, by
// name, as metadata only: no data, of a config either. Of the versions of a rotating object
// (those sharing a rotation label), only the newest is listed: the one resource that
// manages them all adopts it. The engine's own objects (the autoscaler's heartbeat) are left
// out.
func (e *Engine) ListObjects(ctx context.Context, kind ObjectKind, f ListFilter) ([]Object, error) {
	var all []Object
	switch kind {
	case KindSecret:
		list, err := read(ctx, e, "list secrets", func(ctx context.Context) ([]swarm.Secret, error) {
			return e.cli.SecretList(ctx, swarm.SecretListOptions{Filters: f.args()})
		})
		if err != nil {
			return nil, err
		}
		for _, s := range list {
			all = append(all, Object{Kind: kind, ID: s.ID, Name: s.Spec.Name, Labels: s.Spec.Labels, CreatedAt: s.CreatedAt})
		}
	case KindConfig:
		list, err := read(ctx, e, "list configs", func(ctx context.Context) ([]swarm.Config, error) {
			return e.cli.ConfigList(ctx, swarm.ConfigListOptions{Filters: f.args()})
		})
		if err != nil {
			return nil, err
		}
		for _, c := range list {
			o := Object{Kind: kind, ID: c.ID, Name: c.Spec.Name, Labels: c.Spec.Labels, CreatedAt: c.CreatedAt}
			if c.Spec.Templating != nil {
				o.TemplateDriver = c.Spec.Templating.Name
			}
			all = append(all, o)
		}
	}
	return selectObjects(all, f), nil
}

// selectObjects is the objects the filter selects, the newest version of each rotating
// group, by name.
func selectObjects(all []Object, f ListFilter) []Object {
	var out []Object
	for _, o := range all {
		if o.Labels[HeartbeatLabel] != "" || !f.matchMember(o.Name, o.Labels) {
			continue
		}
		if p := o.Labels[RotationLabel]; p != "" {
			if newest, _ := newestInGroup(all, p); newest.ID != o.ID {
				continue
			}
		}
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b Object) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// ListNodeStates lists the nodes a swarm_node would adopt, by hostname. Labels are the node's own
// (docker node update --label-add), not the engine's; a Stack condition selects none.
func (e *Engine) ListNodeStates(ctx context.Context, f ListFilter) ([]*NodeState, error) {
	args := filters.NewArgs()
	for _, k := range slices.Sorted(maps.Keys(f.Labels)) {
		args.Add("node.label", k+"="+f.Labels[k])
	}
	list, err := read(ctx, e, "list nodes", func(ctx context.Context) ([]swarm.Node, error) {
		return e.cli.NodeList(ctx, swarm.NodeListOptions{Filters: args})
	})
	if err != nil {
		return nil, err
	}
	var out []*NodeState
	for _, n := range list {
		if !f.Match(n.Description.Hostname, n.Spec.Labels) {
			continue
		}
		st, err := e.nodeState(ctx, n)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b *NodeState) int {
		return strings.Compare(a.Node.Description.Hostname+a.Node.ID, b.Node.Description.Hostname+b.Node.ID)
	})
	return out, nil
}

// sortedServices orders services by name.
func sortedServices(list []swarm.Service) []swarm.Service {
	out := slices.Clone(list)
	slices.SortFunc(out, func(a, b swarm.Service) int { return strings.Compare(a.Spec.Name, b.Spec.Name) })
	return out
}
