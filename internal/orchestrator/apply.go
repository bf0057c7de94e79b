package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// One apply step of a service, the same for every adapter (a resource's create or update, a
// stack's services, the autoscaler's own service): write, follow what the write set in motion,
// read the service back, and say how it ended.

// ApplyOptions say how ApplyService writes and waits.
type ApplyOptions struct {
	Write WriteOptions
	// Converge waits until the service converged (WaitConverged) after a write that needs it;
	// false returns as soon as Swarm took the write.
	Converge bool
	Wait     WaitOptions
	// Confirm is a write an earlier step stopped waiting for (interrupted, or out of time):
	// when this step writes nothing that needs a wait, it waits for that one instead, with the
	// same verdict and errors.
	Confirm *WriteResult
}

// Applied is what an apply step did and where it left the service.
type Applied struct {
	Write WriteResult
	// Wrote says the write step succeeded (Swarm took the write, or nothing needed writing);
	// when it is false the step's error is the write's.
	Wrote bool
	// Awaited is the write the step waited for: Write, or the one it confirmed (Confirming).
	Awaited    WriteResult
	Confirming bool
	// Verdict is the convergence verdict; its Ending says how a failed rollout left the
	// service.
	Verdict Verdict
	// Service is the service read back after the step; nil when it is gone, or could not be
	// read (ReadErr).
	Service *ServiceState
	ReadErr error
	// Waited says the step waited for convergence and the wait ended (converged or failed);
	// false when there was nothing to wait for, or the wait was cut short (ctx ended).
	Waited bool
}

// ApplyService writes spec to the service id (creates it when id is empty), waits as opts
// say, and reads the service back, with a context that outlives ctx, so that an interrupted
// or failed step still says what runs. The error is the write's or the wait's: ErrNotFound
// when the service was removed meanwhile, a *RolloutError or *TimeoutError from the wait, a
// *ChangedError or *ExistsError from the write.
func (e *Engine) ApplyService(ctx context.Context, id string, spec swarm.ServiceSpec, opts ApplyOptions) (Applied, error) {
	var a Applied
	var err error
	if id == "" {
		a.Write, err = e.createService(ctx, spec, opts.Write)
	} else {
		a.Write, err = e.UpdateService(ctx, id, spec, opts.Write)
	}
	if err != nil {
		if a.Write.ID != "" && !errors.Is(err, ErrNotFound) {
			a.readBack(ctx, e)
		}
		return a, err
	}
	a.Wrote, a.Awaited = true, a.Write
	// Every write of a job makes Swarm run it again (a new iteration), whatever it changed.
	needsWait := a.Write.NeedsWait() || IsJob(spec) && a.Write.Outcome != OutcomeUnchanged
	if !needsWait && opts.Confirm != nil {
		a.Awaited, a.Confirming = *opts.Confirm, true
		needsWait = a.Awaited.NeedsWait()
	}
	if opts.Converge && needsWait {
		a.Verdict, err = e.WaitConverged(ctx, a.Awaited, opts.Wait)
		a.Waited = err == nil || isRolloutError(err)
		if errors.Is(err, ErrNotFound) {
			return a, err
		}
	}
	a.readBack(ctx, e)
	return a, err
}

// readBack reads the written service straight from the engine.
func (a *Applied) readBack(ctx context.Context, e *Engine) {
	a.Service, a.ReadErr = e.ServiceFresh(context.WithoutCancel(ctx), a.Write.ID)
	if a.ReadErr != nil {
		a.Service = nil
		a.ReadErr = fmt.Errorf("read service %s back: %w", a.Write.ID, a.ReadErr)
	}
}

func isRolloutError(err error) bool {
	var re *RolloutError
	return errors.As(err, &re)
}

// NodeApplied is what an apply step of a node did and where it left the node.
type NodeApplied struct {
	Write NodeWriteResult
	// Wrote says the settings were written (or needed no write); when it is false the step's
	// error is the write's.
	Wrote bool
	// Node is the node read back after the step; nil when it could not be read (ReadErr).
	Node    *NodeState
	ReadErr error
}

// ApplyNode writes the settings to node id (claim: adopt a node no resource manages yet),
// follows a drain until the node's tasks run elsewhere (or no task of them has started for
// drainDeadline), follows a role change until Raft has made it (WaitRole), and reads the node
// back with a context that outlives ctx. The error is the write's (a *NodeRoleError,
// ErrNodeAdopted), the drain's or the role change's (a *RoleWaitError).
func (e *Engine) ApplyNode(ctx context.Context, id string, want NodeSettings, claim bool, drainDeadline time.Duration) (NodeApplied, error) {
	var a NodeApplied
	var err error
	if a.Write, err = e.WriteNode(ctx, id, want, claim); err != nil {
		return a, err
	}
	a.Wrote = true
	if a.Write.Draining {
		_, err = e.WaitDrained(ctx, a.Write, drainDeadline)
	}
	if a.Write.Role != "" && err == nil {
		if werr := e.WaitRole(ctx, id, a.Write.Role, 0); werr != nil {
			err = &RoleWaitError{Err: werr}
		}
	}
	if a.Node, a.ReadErr = e.NodeFresh(context.WithoutCancel(ctx), id); a.ReadErr != nil {
		a.Node = nil
		a.ReadErr = fmt.Errorf("read node %s back: %w", id, a.ReadErr)
	}
	return a, err
}

// RoleWaitError is a role change that Swarm took but had not carried out when the wait ended.
type RoleWaitError struct{ Err error }

func (e *RoleWaitError) Error() string { return e.Err.Error() }
func (e *RoleWaitError) Unwrap() error { return e.Err }
