package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/client"
)

// ErrNotFound is returned when a service (or other object) does not exist.
var ErrNotFound = errors.New("not found")

// Engine reconciles desired service specs against one Swarm cluster.
type Engine struct {
	cli   DockerAPI
	cfg   Config
	host  string
	clock managerClock

	// PollInterval is how often convergence is re-checked.
	PollInterval time.Duration
	// SnapshotTTL is how long one list of each kind of object is shared after its last read
	// (for at most snapshotMaxAge).
	SnapshotTTL time.Duration
	// Retry paces the attempts of a call that failed transiently (see Transient).
	Retry Backoff
	// OnRetry, when set, hears of each transient failure before it is tried again.
	OnRetry func(context.Context, RetryNotice)

	snap snapshot
	// statsMode is how stats are read (statsAuto: by the engine's API version); tests set it.
	statsMode statsMode
	// unpinned remembers the images already reported as not pinned, to say it once.
	unpinned sync.Map
	// predefined remembers the swarm's predefined networks (bridge, host) by ID and by name.
	predefined sync.Map

	nodeIDCache
}

// New connects to the engine described by cfg and checks that it is a Swarm manager.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	cli, secured, err := newDockerClient(cfg)
	if err != nil {
		return nil, err
	}
	return connect(ctx, cli, cfg, secured)
}

// NewWithAPI makes an engine that calls api instead of a Docker client made from cfg (which
// still names the host in messages and paces the retries): for tests of the engine's loops on
// an in-memory swarm. It checks that api answers as a Swarm manager, as New does.
func NewWithAPI(ctx context.Context, api DockerAPI, cfg Config) (*Engine, error) {
	return connect(ctx, api, cfg, true)
}

// connect checks that cli reaches a Swarm manager and makes the engine over it. secured says
// whether the client uses TLS.
func connect(ctx context.Context, cli DockerAPI, cfg Config, secured bool) (*Engine, error) {
	e := &Engine{cli: cli, cfg: cfg, host: cfg.host(), PollInterval: 200 * time.Millisecond, SnapshotTTL: 5 * time.Second, Retry: cfg.ConnectRetry, OnRetry: cfg.OnRetry}
	if e.Retry == (Backoff{}) {
		e.Retry = ConnectBackoff
	}
	err := e.retry(ctx, "connect", func(ctx context.Context) error {
		var err error
		e.clock, err = checkManager(ctx, cli, cfg, secured)
		return err
	})
	if err != nil {
		_ = cli.Close()
		var re *RetriedError
		var ce *ConnectError
		if errors.As(err, &re) && errors.As(err, &ce) {
			ce.Advice += fmt.Sprintf(" (tried %d times over %s)", re.Attempts, re.For.Round(time.Second))
			return nil, ce
		}
		return nil, err
	}
	e.Retry = DefaultBackoff
	return e, nil
}

// managerClock estimates the manager's time from this machine's clock. Task and update
// timestamps come from the manager; a remote manager's clock may be off from the machine
// running Terraform by seconds or more, so the moment of a write is taken on the manager's
// clock before it is compared with them.
type managerClock struct {
	// offset is the manager's time minus ours; slack bounds the error of that estimate.
	offset, slack time.Duration
}

// clockFrom reads the manager's time from its info (systemTime, RFC 3339), asked between
// asked and answered on our clock.
func clockFrom(systemTime string, asked, answered time.Time) managerClock {
	t, err := time.Parse(time.RFC3339Nano, systemTime)
	if err != nil {
		return managerClock{slack: time.Second}
	}
	mid := asked.Add(answered.Sub(asked) / 2)
	return managerClock{offset: t.Sub(mid), slack: answered.Sub(asked)/2 + 10*time.Millisecond}
}

// now is the manager's time at our now, as well as it is known.
func (c managerClock) now(now time.Time) time.Time { return now.Add(c.offset) }

// before is the latest manager time that is surely not after now: the moment a write is
// about to be made, so that everything the write causes is stamped later.
func (c managerClock) before(now time.Time) time.Time {
	return now.Add(c.offset - c.slack)
}

// Close releases the engine's connections.
func (e *Engine) Close() error { return e.cli.Close() }

func (e *Engine) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if client.IsErrConnectionFailed(err) || isNetError(err) {
		return classifyConnectError(err, e.host)
	}
	return &APIError{Op: what, Err: err}
}

// APIError is an engine call that the engine refused.
type APIError struct {
	Op  string
	Err error
}

func (e *APIError) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *APIError) Unwrap() error { return e.Err }

// IsCallFailure says whether err is a call to the engine that failed (no answer, a refusal,
// a cancelled or timed-out context), as opposed to something the engine answered that cannot
// be used (a label that does not parse, a rule that is broken).
func IsCallFailure(err error) bool {
	var ce *ConnectError
	var ae *APIError
	return errors.As(err, &ce) || errors.As(err, &ae) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// ProblemsError is a write refused before it was made, for what its problems say.
type ProblemsError struct {
	Op       string
	Problems []FieldProblem
}

func (e *ProblemsError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Detail
		if p.Path != "" {
			msgs[i] = p.Path + ": " + p.Detail
		}
	}
	return e.Op + ": " + strings.Join(msgs, "; ")
}

// ExistsError is a create refused because an object of that kind and name exists already: made
// outside Terraform, or by an earlier apply that could not record it.
type ExistsError struct {
	Kind      ObjectKind
	Name      string
	ID        string
	CreatedAt time.Time
}

func (e *ExistsError) Error() string {
	return fmt.Sprintf("%s %s already exists (ID %s, created %s)", e.Kind, e.Name, e.ID, e.CreatedAt.UTC().Format(time.RFC3339))
}

// existsError says which object of that kind holds the name a create was refused for, read
// fresh; nil when none does (the refusal had another reason).
func (e *Engine) existsError(ctx context.Context, kind ObjectKind, name string) *ExistsError {
	e.Invalidate()
	exists := &ExistsError{Kind: kind, Name: name}
	switch kind {
	case KindService:
		if svc, err := e.Service(ctx, name); err == nil {
			exists.ID, exists.CreatedAt = svc.Service.ID, svc.Service.CreatedAt
		}
	case KindNetwork:
		if n, err := e.NetworkBy(ctx, ByName, name); err == nil {
			exists.ID, exists.CreatedAt = n.ID, n.Created
		}
	default:
		if o, err := e.ObjectBy(ctx, kind, ByName, name); err == nil {
			exists.ID, exists.CreatedAt = o.ID, o.CreatedAt
		}
	}
	if exists.ID == "" {
		return nil
	}
	return exists
}
