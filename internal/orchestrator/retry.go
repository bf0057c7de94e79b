package orchestrator

// Transient failures. While a manager's daemon restarts, or a swarm elects a leader, the
// engine API refuses connections, cuts answers short or says for a few seconds that it cannot
// serve swarm requests. Those calls are made again with capped exponential backoff, as
// controller-runtime requeues an error: reads as they are; a write whose answer was lost is
// looked for before it is made again, so a create is never made twice.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
)

// Backoff says how long to wait between attempts of one engine call.
type Backoff struct {
	// Initial is the wait before the second attempt; each later wait doubles, up to Max.
	Initial, Max time.Duration
	// Budget bounds the time one call spends failing transiently before the last error is
	// returned; the caller's context bounds it too.
	Budget time.Duration
}

// DefaultBackoff rides out a manager restart (its daemon back and its swarm serving within
// about a minute) without hiding an engine that is gone for good for long.
var DefaultBackoff = Backoff{Initial: 250 * time.Millisecond, Max: 4 * time.Second, Budget: 2 * time.Minute}

// Delay is the wait after failed attempt n (1-based): Initial, doubled each time, at most Max.
func (b Backoff) Delay(n int) time.Duration {
	d := b.Initial
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	if d > b.Max {
		d = b.Max
	}
	return d
}

// transientMessages are what a manager answers while it cannot serve swarm requests for a
// moment: its daemon is stopping or starting (it answers as a node outside the swarm's
// control plane), the managers have no leader, or they did not agree in time.
var transientMessages = []string{
	"the swarm does not have a leader",
	"this node is not a swarm manager",
	"rpc error: code = unavailable",
	// The daemon's own connection to its manager closing while the daemon stops: the call
	// was cancelled on the daemon's side, not by the caller (CI saw it on a task list during
	// a manager restart).
	"grpc: the client connection is closing",
	// The manager's own deadline for a raft proposal (not the caller's), when its managers
	// are slow to agree.
	"rpc error: code = deadlineexceeded",
	"connection refused",
	"connection reset by peer",
	"broken pipe",
}

// Transient says whether err may go away by itself within seconds, so that the same call is
// worth making again: a connection refused or cut (EOF), an engine answering 503, or one of
// transientMessages. The caller's own cancellation or deadline is never transient, nor is
// anything the engine refused on its merits (not found, conflict, invalid), nor a client and
// an engine that disagree about TLS or a certificate, nor ssh refusing a key or a host key:
// the docker client calls those connection failures too, but waiting cannot change them.
func Transient(err error) bool {
	var sshErr *sshError
	switch {
	case err == nil, errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	case tlsAtPlainPort(err), plainAtTLSPort(err), certificateRefused(err):
		return false
	case errors.As(err, &sshErr):
		return sshErr.transient()
	case client.IsErrConnectionFailed(err),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		cerrdefs.IsUnavailable(err):
		return true
	case cerrdefs.IsNotFound(err), cerrdefs.IsConflict(err), cerrdefs.IsInvalidArgument(err), cerrdefs.IsPermissionDenied(err):
		return false
	}
	msg := strings.ToLower(err.Error())
	for _, m := range transientMessages {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return strings.HasSuffix(msg, ": eof")
}

// RetriedError is a transient failure that lasted longer than the backoff budget.
type RetriedError struct {
	Attempts int
	For      time.Duration
	Err      error
}

func (e *RetriedError) Error() string {
	return fmt.Sprintf("%v (still failing after %d attempts over %s)", e.Err, e.Attempts, e.For.Round(time.Second))
}

func (e *RetriedError) Unwrap() error { return e.Err }

// RetryNotice is one transient failure about to be tried again, for progress logs.
type RetryNotice struct {
	Op      string
	Attempt int
	Wait    time.Duration
	Err     error
}

// retry runs op until it succeeds, fails for good, the budget is spent or ctx ends, waiting
// e.Retry.Delay between transient failures. It returns op's last error as it is (a spent
// budget wraps it in a RetriedError).
func (e *Engine) retry(ctx context.Context, what string, op func(context.Context) error) error {
	start := time.Now()
	for attempt := 1; ; attempt++ {
		err := op(ctx)
		if err == nil || !Transient(err) || ctx.Err() != nil {
			return err
		}
		wait := e.Retry.Delay(attempt)
		if time.Since(start)+wait > e.Retry.Budget {
			return &RetriedError{Attempts: attempt, For: time.Since(start), Err: err}
		}
		if e.OnRetry != nil {
			e.OnRetry(ctx, RetryNotice{Op: what, Attempt: attempt, Wait: wait, Err: err})
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return err
		case <-timer.C:
		}
	}
}

// read makes one read call with retries and returns its result, the error wrapped for the
// user as e.wrap does.
func read[T any](ctx context.Context, e *Engine, what string, call func(context.Context) (T, error)) (T, error) {
	var out T
	err := e.retry(ctx, what, func(ctx context.Context) error {
		var err error
		out, err = call(ctx)
		return err
	})
	return out, e.wrap(what, err)
}

// listTasks lists tasks with retries.
func (e *Engine) listTasks(ctx context.Context, args filters.Args) ([]swarm.Task, error) {
	return read(ctx, e, "list tasks", func(ctx context.Context) ([]swarm.Task, error) {
		return e.cli.TaskList(ctx, swarm.TaskListOptions{Filters: args})
	})
}

// listNodes lists nodes straight from the engine (not the snapshot), with retries.
func (e *Engine) listNodes(ctx context.Context) ([]swarm.Node, error) {
	return read(ctx, e, "list nodes", func(ctx context.Context) ([]swarm.Node, error) {
		return e.cli.NodeList(ctx, swarm.NodeListOptions{})
	})
}
