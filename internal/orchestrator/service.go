package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
)

// EngineLabelPrefix marks service labels the engine owns (scaling ownership, history).
// Terraform never shows or removes them.
const EngineLabelPrefix = "swarmform."

// ServiceState is what the engine observed of one service.
type ServiceState struct {
	Service         swarm.Service
	RunningReplicas int
	// Resolve says which network, secret or config an ID or name refers to, so that a reader
	// can keep a configuration's spelling of a reference (nil: no resolving).
	Resolve RefResolver
}

// Service returns the observed state of a service by ID or name from the shared snapshot.
func (e *Engine) Service(ctx context.Context, idOrName string) (*ServiceState, error) {
	list, err := e.Services(ctx)
	if err != nil {
		return nil, err
	}
	svc, ok := findBy(list, ByIDOrName, idOrName, func(s swarm.Service) string { return s.ID }, func(s swarm.Service) string { return s.Spec.Name })
	if !ok {
		return nil, fmt.Errorf("service %q: %w", idOrName, ErrNotFound)
	}
	st := stateOf(svc)
	st.Resolve = e.Resolver(ctx)
	return st, nil
}

// ServiceFresh reads one service straight from the engine (two calls), for use right after a
// write, when the shared snapshot is stale anyway.
func (e *Engine) ServiceFresh(ctx context.Context, id string) (*ServiceState, error) {
	list, err := read(ctx, e, "list services", func(ctx context.Context) ([]swarm.Service, error) {
		return e.cli.ServiceList(ctx, swarm.ServiceListOptions{Status: true, Filters: filters.NewArgs(filters.Arg("id", id))})
	})
	if err != nil {
		return nil, err
	}
	for _, svc := range list {
		if svc.ID != id {
			continue
		}
		st := stateOf(svc)
		st.Resolve = e.Resolver(ctx)
		// Right after a rollout the daemon's count still includes old tasks that are stopping
		// (start-first); count only tasks that run and are meant to.
		tasks, err := read(ctx, e, "list tasks", func(ctx context.Context) ([]swarm.Task, error) {
			return e.cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", id), filters.Arg("desired-state", "running"))})
		})
		if err != nil {
			return nil, err
		}
		st.RunningReplicas = 0
		for _, t := range tasks {
			if t.Status.State == swarm.TaskStateRunning {
				st.RunningReplicas++
			}
		}
		return st, nil
	}
	return nil, fmt.Errorf("service %q: %w", id, ErrNotFound)
}

func stateOf(svc swarm.Service) *ServiceState {
	st := &ServiceState{Service: svc}
	if svc.ServiceStatus != nil {
		st.RunningReplicas = int(svc.ServiceStatus.RunningTasks)
	}
	return st
}

// WriteOptions tune how a desired spec is merged with what is observed.
type WriteOptions struct {
	// Resume says the last rollout of the service stopped on a failure (it ended paused, as
	// the caller recorded it): an unchanged spec is written again, which makes Swarm resume the
	// rollout, or, where every slot already had the new spec, lets the tasks be judged again.
	// An unchanged spec is also written when Swarm itself reports the rollout paused.
	Resume bool
	// PlannedFrom is the spec the change was planned against. When the service's owned fields
	// differ from it now, someone changed them after the plan was made, and the write stops
	// with a ChangedError rather than overwrite a change no one reviewed. Nil skips the check.
	PlannedFrom *swarm.ServiceSpec
	// Rerun writes a job even when its spec is unchanged, with its force_update counter raised
	// by one, so that Swarm runs it again (every write of a job starts a new run).
	Rerun bool
	// KeepTag writes the image as given: a tag is not pinned to its digest (a stack's
	// resolve_image "never", as `docker stack deploy --resolve-image never`).
	KeepTag bool
	// also are fields the write owns besides ownedFields (a stack's: stackOwnedFields).
	also []ownedField
}

// ChangedError is a service whose owned fields changed after the plan was made.
type ChangedError struct {
	Service string
	// Fields names what changed, as a person knows it ("env", "labels", "replicas").
	Fields []string
}

func (e *ChangedError) Error() string {
	return fmt.Sprintf("service %s changed after the plan was made: %s", e.Service, strings.Join(e.Fields, ", "))
}

// Service modes, named as the Docker CLI names them (docker service create --mode).
const (
	ModeReplicated    = "replicated"
	ModeGlobal        = "global"
	ModeReplicatedJob = "replicated-job"
	ModeGlobalJob     = "global-job"
)

// ModeOf names a service's mode. A spec with no mode is replicated, as Swarm reads it.
func ModeOf(spec swarm.ServiceSpec) string {
	switch m := spec.Mode; {
	case m.Global != nil:
		return ModeGlobal
	case m.ReplicatedJob != nil:
		return ModeReplicatedJob
	case m.GlobalJob != nil:
		return ModeGlobalJob
	}
	return ModeReplicated
}

// IsJob reports whether a service is a job: its tasks run to completion rather than until
// stopped. A job is no service that swarm_service manages: it has neither replicas nor a
// rollout, and its completed tasks are no failure.
func IsJob(spec swarm.ServiceSpec) bool {
	return spec.Mode.ReplicatedJob != nil || spec.Mode.GlobalJob != nil
}

// IsPaused reports whether a service's rollout (or rollback) is paused.
func IsPaused(svc swarm.Service) bool {
	us := svc.UpdateStatus
	return us != nil && (us.State == swarm.UpdateStatePaused || us.State == swarm.UpdateStateRollbackPaused)
}

// Outcome says what a write did, in the manner of controllerutil.CreateOrUpdate.
type Outcome string

const (
	OutcomeUnchanged Outcome = "unchanged"
	OutcomeCreated   Outcome = "created"
	OutcomeUpdated   Outcome = "updated"
)

// WriteResult reports a create or update.
type WriteResult struct {
	ID       string
	Outcome  Outcome
	Kind     ChangeKind
	Warnings []string
	// Since is when the write was made; convergence only counts tasks from then on.
	Since time.Time
	// MovedOff are the secrets and configs (by ID) the service's spec referred to before the
	// write and no longer does: once it converged, CollectSuperseded removes those that are
	// superseded versions no service uses. Taken at the write, not from the service's
	// PreviousSpec, which any later write (an autoscaler's scale) replaces.
	MovedOff map[ObjectKind][]string
}

// CreateService creates a service from spec and returns its ID. It does not wait.
func (e *Engine) CreateService(ctx context.Context, spec swarm.ServiceSpec) (WriteResult, error) {
	return e.createService(ctx, spec, WriteOptions{})
}

// createService is CreateService with the options of the write that apply to a create.
func (e *Engine) createService(ctx context.Context, spec swarm.ServiceSpec, opts WriteOptions) (WriteResult, error) {
	defer e.Invalidate()
	res := WriteResult{Outcome: OutcomeCreated, Kind: ChangeTaskTemplate}
	auth, err := encodedAuthFor(e.cfg.RegistryAuth, imageOf(spec))
	if err != nil {
		return res, err
	}
	if err := e.resolveRefs(ctx, &spec); err != nil {
		return res, err
	}
	if !opts.KeepTag {
		res.Warnings = append(res.Warnings, e.pinImage(ctx, &spec, auth)...)
	}
	res.Since = e.clock.before(time.Now())
	lost := false // an earlier attempt's answer was lost: it may have created the service
	err = e.retry(ctx, "create service "+spec.Name, func(ctx context.Context) error {
		if lost {
			id, found, err := e.createdBefore(ctx, spec, res.Since)
			if err != nil || found {
				res.ID = id
				return err
			}
		}
		resp, err := e.cli.ServiceCreate(ctx, spec, swarm.ServiceCreateOptions{EncodedRegistryAuth: auth})
		if err != nil {
			lost = lost || Transient(err)
			return err
		}
		res.ID = resp.ID
		res.Warnings = append(res.Warnings, resp.Warnings...)
		return nil
	})
	if cerrdefs.IsConflict(err) || cerrdefs.IsAlreadyExists(err) {
		if exists := e.existsError(ctx, KindService, spec.Name); exists != nil {
			return res, exists
		}
	}
	return res, e.wrap("create service "+spec.Name, err)
}

// createdBefore looks for the service a create whose answer was lost may have made: one of
// the same name, created since then, with the spec that was sent. A service of that name
// that is not it makes the next create fail with Swarm's name conflict, as it should.
func (e *Engine) createdBefore(ctx context.Context, spec swarm.ServiceSpec, since time.Time) (string, bool, error) {
	list, err := e.cli.ServiceList(ctx, swarm.ServiceListOptions{Filters: filters.NewArgs(filters.Arg("name", spec.Name))})
	if err != nil {
		return "", false, err
	}
	for _, svc := range list {
		if svc.Spec.Name == spec.Name && !svc.CreatedAt.Before(since) && Classify(svc.Spec, spec) == ChangeNone {
			return svc.ID, true, nil
		}
	}
	return "", false, nil
}

// UpdateService makes the service match spec: get, merge the fields Terraform does not own,
// compare, and write with the observed Version; a version conflict re-reads and retries.
func (e *Engine) UpdateService(ctx context.Context, id string, spec swarm.ServiceSpec, opts WriteOptions) (WriteResult, error) {
	defer e.Invalidate()
	res := WriteResult{ID: id, Outcome: OutcomeUnchanged, Kind: ChangeNone}
	auth, err := encodedAuthFor(e.cfg.RegistryAuth, imageOf(spec))
	if err != nil {
		return res, err
	}
	if err := e.resolveRefs(ctx, &spec); err != nil {
		return res, err
	}
	if opts.PlannedFrom != nil {
		planned := *opts.PlannedFrom
		if err := e.resolveRefs(ctx, &planned); err == nil {
			opts.PlannedFrom = &planned
		}
	}
	err = e.writeService(ctx, id, swarm.ServiceUpdateOptions{EncodedRegistryAuth: auth}, &res, sameSpec, func(observed swarm.Service) (swarm.ServiceSpec, bool, error) {
		if opts.PlannedFrom != nil {
			if changed := ownedChanges(*opts.PlannedFrom, observed.Spec); len(changed) > 0 {
				return swarm.ServiceSpec{}, false, &ChangedError{Service: observed.Spec.Name, Fields: changed}
			}
		}
		desired := mergeDesired(spec, observed.Spec, opts.also...)
		if imageOf(desired) != imageOf(observed.Spec) && !opts.KeepTag {
			res.Warnings = append(res.Warnings, e.pinImage(ctx, &desired, auth)...)
		}
		if opts.Rerun {
			desired.TaskTemplate.ForceUpdate = observed.Spec.TaskTemplate.ForceUpdate + 1
		}
		res.Kind = Classify(observed.Spec, desired)
		if res.Kind == ChangeNone {
			if !opts.Resume && !IsPaused(observed) {
				return desired, false, nil
			}
			res.Kind = ChangeTaskTemplate // resuming rolls the tasks still on the old spec
		}
		return desired, true, nil
	})
	return res, err
}

// writeService is the get-mutate-compare-write loop of every service write. It reads the
// service, lets mutate derive the spec to write from what it saw (write=false: nothing to do),
// and writes with the observed Version; when another writer got there first ("update out of
// sequence") it reads again and re-applies mutate. A write sets res.Outcome and res.Since.
//
// Transient failures are tried again (see retry). When a write's answer was lost, the write
// may have been made: the next attempt reads the service and asks landed whether it shows
// the write (its version moved past the one written to, and it looks as written); if so, the
// write counts as made, else mutate runs again on what is there now.
func (e *Engine) writeService(ctx context.Context, id string, opts swarm.ServiceUpdateOptions, res *WriteResult,
	landed func(observed swarm.Service, sent swarm.ServiceSpec) bool,
	mutate func(observed swarm.Service) (desired swarm.ServiceSpec, write bool, err error)) error {
	const attempts = 5
	var lost *lostWrite
	conflicts := 0
	return e.retry(ctx, "update service "+id, func(ctx context.Context) error {
		for {
			observed, _, err := e.cli.ServiceInspectWithRaw(ctx, id, swarm.ServiceInspectOptions{})
			if err != nil {
				if cerrdefs.IsNotFound(err) {
					return fmt.Errorf("service %s: %w", id, ErrNotFound)
				}
				return e.wrap("inspect service "+id, err)
			}
			if lost != nil && observed.Version.Index > lost.version.Index && landed(observed, lost.spec) {
				res.Outcome, res.Kind, res.Since, res.MovedOff = OutcomeUpdated, lost.kind, lost.since, lost.movedOff
				return nil
			}
			desired, write, err := mutate(observed)
			if err != nil || !write {
				return err
			}
			res.Since = e.clock.before(time.Now())
			resp, err := e.cli.ServiceUpdate(ctx, id, observed.Version, desired, opts)
			if err != nil {
				if isOutOfSequence(err) && conflicts < attempts-1 {
					conflicts++
					continue
				}
				if Transient(err) {
					lost = &lostWrite{spec: desired, version: observed.Version, kind: res.Kind, since: res.Since, movedOff: movedOff(observed.Spec, desired)}
				}
				return e.wrap("update service "+observed.Spec.Name, err)
			}
			res.Outcome, res.MovedOff = OutcomeUpdated, movedOff(observed.Spec, desired)
			res.Warnings = append(res.Warnings, resp.Warnings...)
			return nil
		}
	})
}

// lostWrite is a service write whose answer did not come.
type lostWrite struct {
	spec     swarm.ServiceSpec
	version  swarm.Version
	kind     ChangeKind
	since    time.Time
	movedOff map[ObjectKind][]string
}

// sameSpec says a lost write landed when the service now has the spec that was sent.
func sameSpec(observed swarm.Service, sent swarm.ServiceSpec) bool {
	return Classify(observed.Spec, sent) == ChangeNone
}

// DeleteService removes a service and waits until its tasks have stopped, so that networks,
// secrets and configs it used can be removed next, and nothing the tasks do outlives the
// removal (an autoscaling controller still running would record its heartbeat again). A
// missing service is not an error.
//
// Swarm keeps the tasks of a removed service until their containers have stopped, their
// desired state "running" until its orchestrator sees the removal, then "remove". A task list
// filtered by the service fails at once, as the service is gone, so the tasks are found by
// those desired states. Tasks on nodes that are down are not waited for: they stop when their
// node comes back.
func (e *Engine) DeleteService(ctx context.Context, id string) error {
	defer e.Invalidate()
	// A removal whose answer was lost is made again; not found then means it was made.
	err := e.retry(ctx, "remove service "+id, func(ctx context.Context) error { return e.cli.ServiceRemove(ctx, id) })
	if err != nil && !cerrdefs.IsNotFound(err) {
		return e.wrap("remove service "+id, err)
	}
	tick := time.NewTicker(e.PollInterval)
	defer tick.Stop()
	for {
		stopping, err := e.removedTasksRunning(ctx, id)
		if err != nil {
			return err
		}
		if stopping == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("service %s was removed but %d of its tasks were still shutting down: %w", id, stopping, ctx.Err())
		case <-tick.C:
		}
	}
}

// removedTasksRunning counts the tasks of removed service id that may still run a container:
// meant to run or being removed, not stopped yet, on a node that is not down.
func (e *Engine) removedTasksRunning(ctx context.Context, id string) (int, error) {
	tasks, err := read(ctx, e, "list tasks", func(ctx context.Context) ([]swarm.Task, error) {
		return e.cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(
			filters.Arg("desired-state", string(swarm.TaskStateRunning)), filters.Arg("desired-state", string(swarm.TaskStateRemove)))})
	})
	if err != nil {
		return 0, err
	}
	var nodes map[string]swarm.Node
	n := 0
	for _, t := range tasks {
		if t.ServiceID != id || (t.Status.State != swarm.TaskStateRunning && !taskStateBefore(t.Status.State, swarm.TaskStateRunning)) {
			continue
		}
		if nodes == nil {
			list, err := e.listNodes(ctx)
			if err != nil {
				return 0, err
			}
			nodes = map[string]swarm.Node{}
			for _, nd := range list {
				nodes[nd.ID] = nd
			}
		}
		if !nodeDown(nodes, t.NodeID) {
			n++
		}
	}
	return n, nil
}

func isOutOfSequence(err error) bool {
	return err != nil && strings.Contains(err.Error(), "update out of sequence")
}

func imageOf(spec swarm.ServiceSpec) string {
	if spec.TaskTemplate.ContainerSpec == nil {
		return ""
	}
	return spec.TaskTemplate.ContainerSpec.Image
}

// mergeDesired is the "mutate" step: the fields the desired spec owns (ownedFields, and also),
// every other field as the service has it. Within the owned fields: labels the engine owns
// stay as they are, a digest the engine pinned stays while the image is the same, a
// force_update of 0 keeps the service's counter, and a replica count a scaling policy owns
// stays as it is. A job owns no rollout or endpoint settings (jobNotOwned): those stay as the
// service has them.
func mergeDesired(desired, observed swarm.ServiceSpec, also ...ownedField) swarm.ServiceSpec {
	out := mergeOwned(desired, observed, also...)
	if cs, ocs := out.TaskTemplate.ContainerSpec, observed.TaskTemplate.ContainerSpec; cs != nil && ocs != nil {
		// The same image without a digest: keep the digest the engine pinned, so other changes
		// never roll tasks onto whatever the tag points at today. A raised force_update is the
		// way to ask for the tag to be resolved again.
		forced := desired.TaskTemplate.ForceUpdate != 0 && desired.TaskTemplate.ForceUpdate != observed.TaskTemplate.ForceUpdate
		if !forced && !HasDigest(cs.Image) && StripDigest(ocs.Image) == cs.Image {
			cs.Image = ocs.Image
		}
	}
	if desired.TaskTemplate.ForceUpdate == 0 {
		out.TaskTemplate.ForceUpdate = observed.TaskTemplate.ForceUpdate
	}
	labels := map[string]string{}
	for k, v := range desired.Labels {
		if !strings.HasPrefix(k, EngineLabelPrefix) {
			labels[k] = v
		}
	}
	for k, v := range observed.Labels {
		if strings.HasPrefix(k, EngineLabelPrefix) {
			labels[k] = v
		}
	}
	out.Labels = labels
	if IsJob(desired) {
		out.UpdateConfig, out.RollbackConfig, out.EndpointSpec = observed.UpdateConfig, observed.RollbackConfig, observed.EndpointSpec
	}
	if ReplicasOwnedElsewhere(observed) && out.Mode.Replicated != nil && observed.Mode.Replicated != nil && observed.Mode.Replicated.Replicas != nil {
		n := *observed.Mode.Replicated.Replicas
		out.Mode = swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &n}}
	}
	return out
}

// pinImage resolves a tag to a digest through the registry, as `docker service create` does, so
// every node runs the same image. When the registry cannot be asked (an image built on the
// node, no registry reachable), the tag is kept, and a warning says so once per image in this
// run of the provider.
func (e *Engine) pinImage(ctx context.Context, spec *swarm.ServiceSpec, auth string) []string {
	cs := spec.TaskTemplate.ContainerSpec
	if cs == nil || cs.Image == "" || HasDigest(cs.Image) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	inspect, err := e.cli.DistributionInspect(ctx, cs.Image, auth)
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return nil
		}
		if _, warned := e.unpinned.LoadOrStore(cs.Image, true); warned {
			return nil
		}
		return []string{fmt.Sprintf("Image %s is not pinned to a digest: its registry (%s) could not be asked for one (%s). "+
			"Each node then runs whatever image it has under that name: fine on one node, but on a multi-node swarm nodes may run different builds, "+
			"and a node without the image cannot start the task. Push the image to a registry the manager can reach to pin it.",
			cs.Image, orDefault(ImageRegistry(cs.Image), "docker.io"), pinFailure(err))}
	}
	pinned := *cs
	pinned.Image = WithDigest(cs.Image, inspect.Descriptor.Digest.String())
	spec.TaskTemplate.ContainerSpec = &pinned
	return nil
}

// pinFailure says in a few words why the registry could not be asked.
func pinFailure(err error) string {
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "no such host"), strings.Contains(msg, "server misbehaving"), strings.Contains(msg, "temporary failure in name resolution"):
		return "its host name does not resolve from the manager"
	case strings.Contains(msg, "connection refused"), strings.Contains(msg, "i/o timeout"), strings.Contains(msg, "network is unreachable"), strings.Contains(msg, "deadline exceeded"):
		return "it cannot be reached from the manager"
	case strings.Contains(msg, "unauthorized"), strings.Contains(msg, "denied"), strings.Contains(msg, "authentication required"):
		return "it refused the credentials; check registry_auth"
	case strings.Contains(msg, "not found"), strings.Contains(msg, "manifest unknown"):
		return "it does not have this image"
	}
	return firstLine(err.Error())
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
