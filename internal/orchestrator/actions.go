package orchestrator

// Day-2 operations (the provider's actions): each is one engine call made of the same steps as
// an apply (write, wait with the rollout verdict, read back), on an object no configuration
// needs to manage.

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// RestartService replaces every task of a service (by ID or name) with a new one of the same
// spec, as `docker service update --force` does: its force_update counter is raised by one.
// It waits until the new tasks converge; a failing restart is a *RolloutError that names the
// tasks, their exit codes and log tails. A job is run again instead (RunJob).
func (e *Engine) RestartService(ctx context.Context, idOrName string, wait WaitOptions) (Applied, error) {
	st, err := e.Service(ctx, idOrName)
	if err != nil {
		return Applied{}, err
	}
	// The spec written back is read fresh, as RunJob's is: the shared snapshot may predate a
	// change made since, which the write would undo.
	if st, err = e.ServiceFresh(ctx, st.Service.ID); err != nil {
		return Applied{}, err
	}
	if IsJob(st.Service.Spec) {
		return Applied{}, fmt.Errorf("service %s is a job (mode %q): run it again with swarm_job_run", st.Service.Spec.Name, ModeOf(st.Service.Spec))
	}
	return e.ApplyService(ctx, st.Service.ID, st.Service.Spec, ApplyOptions{Write: WriteOptions{Rerun: true}, Converge: true, Wait: wait})
}

// RollbackService asks Swarm to roll a service (by ID or name) back to its previous spec, as
// `docker service rollback` does, waits until the previous spec's tasks run (Swarm's
// rollback_completed, then the monitor window), and reads the service back. Swarm refuses a
// service with no previous spec.
func (e *Engine) RollbackService(ctx context.Context, idOrName string, wait WaitOptions) (Applied, error) {
	st, err := e.Service(ctx, idOrName)
	if err != nil {
		return Applied{}, err
	}
	if IsJob(st.Service.Spec) {
		return Applied{}, fmt.Errorf("service %s is a job (mode %q): Swarm rolls back no job", st.Service.Spec.Name, ModeOf(st.Service.Spec))
	}
	if st.Service.PreviousSpec == nil {
		return Applied{}, fmt.Errorf("service %s has no previous spec to roll back to: it was never updated", st.Service.Spec.Name)
	}
	var a Applied
	a.Write, err = e.rollBack(ctx, st.Service.ID)
	e.Invalidate()
	if err != nil {
		return a, err
	}
	a.Wrote, a.Awaited = true, a.Write
	wait.Rollback = true
	a.Verdict, err = e.WaitConverged(ctx, a.Write, wait)
	a.Waited = err == nil || isRolloutError(err)
	a.readBack(ctx, e)
	return a, err
}

// SetNodeAvailability makes a node (by ID or host name) active, paused or drained, and nothing
// else: the node is not adopted, and a swarm_node resource that owns its availability sees the
// change as drift. A drain waits until the node's tasks run elsewhere (WaitDrained, with
// drainDeadline); the node is read back with a context that outlives ctx.
func (e *Engine) SetNodeAvailability(ctx context.Context, idOrHostname string, availability swarm.NodeAvailability, drainDeadline time.Duration) (NodeApplied, error) {
	var a NodeApplied
	st, err := e.Node(ctx, idOrHostname)
	if err != nil {
		return a, err
	}
	id := st.Node.ID
	a.Write = NodeWriteResult{ID: id, Outcome: OutcomeUnchanged}
	err = e.writeNode(ctx, id, &a.Write, func(observed swarm.Node) (swarm.NodeSpec, bool, error) {
		desired := observed.Spec
		desired.Availability = availability
		a.Write.Draining = availability == swarm.NodeAvailabilityDrain && observed.Spec.Availability != swarm.NodeAvailabilityDrain
		if a.Write.Draining {
			moving, err := e.servicesOnNode(ctx, observed.ID)
			if err != nil {
				return swarm.NodeSpec{}, false, err
			}
			a.Write.Moving = moving
		}
		return desired, !reflect.DeepEqual(desired, observed.Spec), nil
	})
	e.Invalidate()
	if err != nil {
		return a, err
	}
	a.Wrote = true
	if a.Write.Draining {
		_, err = e.WaitDrained(ctx, a.Write, drainDeadline)
	}
	if a.Node, a.ReadErr = e.NodeFresh(context.WithoutCancel(ctx), id); a.ReadErr != nil {
		a.Node = nil
		a.ReadErr = fmt.Errorf("read node %s back: %w", id, a.ReadErr)
	}
	return a, err
}
