package orchestrator

// Deploying a converted stack (Compose.Stack) as `docker stack deploy` does, with this
// engine's write, ownership and verdict path for every service: networks, secrets and configs
// first, then each service through ApplyService (write with the ownership merge, digest
// pinning, wait with the rollout verdict, read back), then the removals (prune). PlanStack says
// beforehand, from the shared snapshot, what a deploy does to each service, so that a plan shows
// it and the apply does what the plan showed.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/docker/docker/api/types/swarm"
)

// StackPlan is what deploying a stack does, service by service.
type StackPlan struct {
	// Services are the stack's services in key order.
	Services []StackServicePlan
	// Prune are the services labelled as the stack's that the files no longer have, by name.
	Prune []swarm.Service
	// Adopted are the secrets and configs the services go on referring to by a name the
	// engine did not give them (the CLI's fixed <stack>_<key>): "secrets.key" → name.
	Adopted map[string]string
	// Warnings are the engine's about images it could not resolve.
	Warnings []string
}

// StackServicePlan is what a deploy does to one service.
type StackServicePlan struct {
	Key string
	// Live is the service as it runs; nil when the deploy creates it.
	Live *swarm.Service
	// Change is what the write changes (ChangeTaskTemplate for a new service).
	Change ChangeKind
}

// StackServices lists the services labelled as stack's, from the shared snapshot, by name.
func (e *Engine) StackServices(ctx context.Context, stack string) (map[string]swarm.Service, error) {
	list, err := e.Services(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]swarm.Service{}
	for _, s := range list {
		if s.Spec.Labels[StackNamespaceLabel] == stack {
			out[s.Spec.Name] = s
		}
	}
	return out, nil
}

// StackPlanOptions say how PlanStack reads the stack.
type StackPlanOptions struct {
	// KeepAdopted says, for a secret or config whose version this content makes does not
	// exist, whether the services may go on with the object of the CLI's fixed name
	// (StackObject.Name) they run with now: true when its file has not changed since the stack
	// was adopted (the caller knows). Nil: never.
	KeepAdopted func(StackObject) bool
	// ResolveAlways asks the registry for the digest of every tag, as `docker stack deploy
	// --resolve-image always` does, so that a tag that moved rolls its services onto the new
	// image. Otherwise a tag is pinned when the image changes (the engine's rule).
	ResolveAlways bool
}

// PlanStack works out what deploying st does, from the shared snapshot. Where
// opts.KeepAdopted says so, st refers to an adopted secret or config (Stack.ReferTo) and
// nothing is made for it; with opts.ResolveAlways, st's images are pinned to their digests.
func (e *Engine) PlanStack(ctx context.Context, st *Stack, opts StackPlanOptions) (*StackPlan, error) {
	live, err := e.StackServices(ctx, st.Name)
	if err != nil {
		return nil, err
	}
	plan := &StackPlan{Adopted: map[string]string{}}
	for _, o := range append(append([]StackObject(nil), st.Secrets...), st.Configs...) {
		if o.External {
			continue
		}
		if _, err := e.ObjectBy(ctx, o.Kind, ByName, o.VersionName()); err == nil {
			continue
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if opts.KeepAdopted != nil && opts.KeepAdopted(o) && referredByName(live, o.Kind, o.Name) {
			st.ReferTo(o.Kind, o.Key, o.Name)
			plan.Adopted[o.Path] = o.Name
		}
	}
	wanted := map[string]bool{}
	for i := range st.Services {
		s := &st.Services[i]
		wanted[s.Spec.Name] = true
		sp := StackServicePlan{Key: s.Key, Change: ChangeTaskTemplate}
		svc, ok := live[s.Spec.Name]
		if ok && opts.ResolveAlways && !HasDigest(imageOf(s.Spec)) {
			if plan.Warnings, err = e.resolveImage(ctx, &s.Spec, plan.Warnings); err != nil {
				return nil, err
			}
		}
		if ok {
			sp.Live = &svc
			sp.Change = e.planWrite(ctx, svc, s.Spec)
		}
		plan.Services = append(plan.Services, sp)
	}
	for name, svc := range live {
		if !wanted[name] {
			plan.Prune = append(plan.Prune, svc)
		}
	}
	sort.Slice(plan.Prune, func(i, j int) bool { return plan.Prune[i].Spec.Name < plan.Prune[j].Spec.Name })
	return plan, nil
}

// resolveImage pins the spec's image to the digest its tag names now; a registry that cannot
// be asked leaves the tag, with a warning.
func (e *Engine) resolveImage(ctx context.Context, spec *swarm.ServiceSpec, warnings []string) ([]string, error) {
	auth, err := encodedAuthFor(e.cfg.RegistryAuth, imageOf(*spec))
	if err != nil {
		return warnings, err
	}
	return append(warnings, e.pinImage(ctx, spec, auth)...), nil
}

// referredByName says whether a service refers to the secret or config of that name.
func referredByName(services map[string]swarm.Service, kind ObjectKind, name string) bool {
	for _, s := range services {
		cs := s.Spec.TaskTemplate.ContainerSpec
		if cs == nil {
			continue
		}
		for _, r := range cs.Secrets {
			if kind == KindSecret && r.SecretName == name {
				return true
			}
		}
		for _, r := range cs.Configs {
			if kind == KindConfig && r.ConfigName == name {
				return true
			}
		}
	}
	return false
}

// planWrite is what UpdateService would change in observed to make it spec, without writing:
// the same merge of the owned fields (with the stack's: stackOwnedFields) and the same
// comparison. A spec that refers to a network,
// secret or config not made yet changes the tasks; a paused rollout is resumed (a write).
func (e *Engine) planWrite(ctx context.Context, observed swarm.Service, spec swarm.ServiceSpec) ChangeKind {
	if err := e.resolveRefs(ctx, &spec); err != nil {
		return ChangeTaskTemplate
	}
	kind := Classify(observed.Spec, mergeDesired(spec, observed.Spec, stackOwnedFields...))
	if kind == ChangeNone && IsPaused(observed) {
		kind = ChangeTaskTemplate
	}
	return kind
}

// StackDeployOptions say how DeployStack writes and waits.
type StackDeployOptions struct {
	// Apply is each service's apply step (its Write.PlannedFrom is set per service).
	Apply ApplyOptions
	// Prune removes the services the files no longer have, then the stack's networks,
	// secrets and configs that nothing uses any more.
	Prune bool
	// Confirm are writes an earlier deploy stopped waiting for, by service key: a service the
	// plan does not change is waited for again (ApplyOptions.Confirm).
	Confirm map[string]WriteResult
}

// StackDeployed is what a deploy did, service by service.
type StackDeployed struct {
	// Services are the apply steps made, by key.
	Services map[string]Applied
	// Failed are the errors of the services whose apply step failed, by key.
	Failed map[string]error
	// Pruned are the services removed, by name.
	Pruned []string
}

// stackParallelism is how many services a deploy writes and waits for at once: Terraform's own
// default parallelism. docker stack deploy writes them all at once.
const stackParallelism = 10

// DeployStack deploys st as plan (PlanStack) says, in the CLI's order: the networks and the
// secret and config versions that do not exist yet; then every service whose plan changes it
// (or whose earlier write opts.Confirm waits for), each through ApplyService (write, wait with the rollout verdict, read back), stackParallelism
// at a time, as the CLI writes them all before it waits; then, when every service converged and
// opts.Prune says so, the removals. A service's failure does not stop the others' steps (each
// rolls back or pauses as its own settings say); the error is then a *StackServiceError for
// each failed service, joined, in key order.
func (e *Engine) DeployStack(ctx context.Context, st *Stack, plan *StackPlan, opts StackDeployOptions) (StackDeployed, error) {
	out := StackDeployed{Services: map[string]Applied{}, Failed: map[string]error{}}
	for _, n := range st.Networks {
		if n.External {
			continue
		}
		if _, err := e.NetworkBy(ctx, ByName, n.Spec.Name); err == nil {
			continue
		} else if !errors.Is(err, ErrNotFound) {
			return out, err
		}
		if _, err := e.CreateNetwork(ctx, n.Spec); err != nil {
			return out, fmt.Errorf("create network %s (%s): %w", n.Spec.Name, n.Path, err)
		}
	}
	for _, o := range append(append([]StackObject(nil), st.Secrets...), st.Configs...) {
		if o.External || plan.Adopted[o.Path] != "" {
			continue
		}
		if _, err := e.ObjectBy(ctx, o.Kind, ByName, o.VersionName()); err == nil {
			continue
		} else if !errors.Is(err, ErrNotFound) {
			return out, err
		}
		if _, err := e.CreateObject(ctx, o.Kind, o.ObjectSpec()); err != nil {
			return out, fmt.Errorf("create %s %s (%s): %w", o.Kind, o.VersionName(), o.Path, err)
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, stackParallelism)
	for i, s := range st.Services {
		sp := plan.Services[i]
		id := ""
		aopts := opts.Apply
		if sp.Live != nil {
			confirm, pending := opts.Confirm[s.Key]
			if sp.Change == ChangeNone && !pending {
				continue
			}
			if pending {
				confirm.ID = sp.Live.ID
				aopts.Confirm = &confirm
			}
			id = sp.Live.ID
			planned := sp.Live.Spec
			aopts.Write.PlannedFrom = &planned
			aopts.Write.Resume = IsPaused(*sp.Live)
			aopts.Write.also = stackOwnedFields
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			a, err := e.ApplyService(ctx, id, s.Spec, aopts)
			mu.Lock()
			defer mu.Unlock()
			out.Services[s.Key] = a
			if err != nil {
				out.Failed[s.Key] = &StackServiceError{Key: s.Key, Name: s.Spec.Name, Err: err}
			}
		}()
	}
	wg.Wait()
	if len(out.Failed) > 0 {
		errs := make([]error, 0, len(out.Failed))
		for _, key := range sortedKeys(out.Failed) {
			errs = append(errs, out.Failed[key])
		}
		return out, errors.Join(errs...)
	}
	if !opts.Prune {
		return out, nil
	}
	for _, svc := range plan.Prune {
		if err := e.DeleteService(ctx, svc.ID); err != nil {
			return out, fmt.Errorf("remove service %s, which the files no longer have: %w", svc.Spec.Name, err)
		}
		out.Pruned = append(out.Pruned, svc.Spec.Name)
	}
	return out, e.removeUnused(ctx, st)
}

// removeUnused removes the stack's networks, secrets and configs (by its label) that the stack
// no longer declares, or that are versions no service uses any more.
func (e *Engine) removeUnused(ctx context.Context, st *Stack) error {
	e.Invalidate()
	keep := map[string]bool{}
	for _, n := range st.Networks {
		keep["network "+n.Spec.Name] = true
	}
	for _, s := range st.Services {
		if cs := s.Spec.TaskTemplate.ContainerSpec; cs != nil {
			for _, r := range cs.Secrets {
				keep["secret "+r.SecretName] = true
			}
			for _, r := range cs.Configs {
				keep["config "+r.ConfigName] = true
			}
		}
	}
	nets, err := e.Networks(ctx)
	if err != nil {
		return err
	}
	for _, n := range nets {
		if n.Labels[StackNamespaceLabel] == st.Name && !keep["network "+n.Name] {
			if err := e.DeleteNetwork(ctx, n.ID); err != nil {
				return fmt.Errorf("remove network %s, which the stack no longer uses: %w", n.Name, err)
			}
		}
	}
	for _, kind := range []ObjectKind{KindSecret, KindConfig} {
		objects, err := e.Objects(ctx, kind)
		if err != nil {
			return err
		}
		users, err := e.objectUsers(ctx, kind)
		if err != nil {
			return err
		}
		for _, o := range objects {
			if o.Labels[StackNamespaceLabel] != st.Name || keep[string(kind)+" "+o.Name] || len(users[o.ID]) > 0 {
				continue
			}
			if err := e.removeObject(ctx, kind, o.ID); err != nil {
				return fmt.Errorf("remove %s %s, which the stack no longer uses: %w", kind, o.Name, err)
			}
		}
	}
	e.Invalidate()
	return nil
}

// RemoveStack removes every service, network, secret and config labelled as stack's (what
// `docker stack rm` removes), services first; external objects carry no such label and stay.
func (e *Engine) RemoveStack(ctx context.Context, stack string) error {
	e.Invalidate()
	live, err := e.StackServices(ctx, stack)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(live))
	for name := range live {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := e.DeleteService(ctx, live[name].ID); err != nil {
			return fmt.Errorf("remove service %s: %w", name, err)
		}
	}
	return e.removeUnused(ctx, &Stack{Name: stack})
}

// StackServiceError is a deploy stopped by the apply step of one service.
type StackServiceError struct {
	Key, Name string
	Err       error
}

func (e *StackServiceError) Error() string {
	return fmt.Sprintf("service %s (services.%s): %v", e.Name, e.Key, e.Err)
}

func (e *StackServiceError) Unwrap() error { return e.Err }
