package orchestrator

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
	"golang.org/x/sync/singleflight"
)

// ErrNotFound is returned when a service (or other object) does not exist.
var ErrNotFound = errors.New("not found")

// Engine reconciles desired service specs against one Swarm cluster.
type Engine struct {
	cli   *client.Client
	cfg   Config
	host  string
	clock managerClock

	// PollInterval is how often convergence is re-checked.
	PollInterval time.Duration
	// SnapshotTTL is how long one cluster observation is shared between readers.
	SnapshotTTL time.Duration

	mu   sync.Mutex
	snap *Snapshot
	gen  uint64
	sf   singleflight.Group

	nodeIDCache
}

// New connects to the engine described by cfg and checks that it is a Swarm manager.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	cli, err := newDockerClient(cfg)
	if err != nil {
		return nil, err
	}
	clock, err := checkManager(ctx, cli, cfg.host())
	if err != nil {
		_ = cli.Close()
		return nil, err
	}
	return &Engine{cli: cli, cfg: cfg, host: cfg.host(), clock: clock, PollInterval: 200 * time.Millisecond, SnapshotTTL: 5 * time.Second}, nil
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

// before is the latest manager time that is surely not after now: the moment a write is
// about to be made, so that everything the write causes is stamped later.
func (c managerClock) before(now time.Time) time.Time {
	return now.Add(c.offset - c.slack)
}

// Close releases the engine's connections.
func (e *Engine) Close() error { return e.cli.Close() }

// Client exposes the Docker client for tests and tooling in this module.
func (e *Engine) Client() *client.Client { return e.cli }

// Snapshot is one observation of the cluster's services, taken with one list call that
// includes each service's running and desired task counts. Tasks and nodes are read only by
// the operations that need them (convergence, scaling), so a refresh stays one call however
// large the task history is.
type Snapshot struct {
	TakenAt  time.Time
	Services map[string]swarm.Service
	byName   map[string]string
}

// Service finds a service by ID, name or unique ID prefix.
func (s *Snapshot) Service(idOrName string) (swarm.Service, bool) {
	if svc, ok := s.Services[idOrName]; ok {
		return svc, true
	}
	if id, ok := s.byName[idOrName]; ok {
		return s.Services[id], true
	}
	return swarm.Service{}, false
}

// Snapshot returns the shared observation, taking a new one when the last is older than the TTL
// or a write happened since. Concurrent callers share one set of list calls.
func (e *Engine) Snapshot(ctx context.Context) (*Snapshot, error) {
	e.mu.Lock()
	if s := e.snap; s != nil && time.Since(s.TakenAt) < e.SnapshotTTL {
		e.mu.Unlock()
		return s, nil
	}
	gen := e.gen
	e.mu.Unlock()

	v, err, _ := e.sf.Do(strconv.FormatUint(gen, 10), func() (any, error) {
		s, err := e.observe(ctx)
		if err != nil {
			return nil, err
		}
		e.mu.Lock()
		if e.gen == gen {
			e.snap = s
		}
		e.mu.Unlock()
		return s, nil
	})
	if err != nil {
		return nil, err
	}
	snap, _ := v.(*Snapshot)
	return snap, nil
}

// Invalidate drops the shared observation; every write calls it.
func (e *Engine) Invalidate() {
	e.mu.Lock()
	e.snap = nil
	e.gen++
	e.mu.Unlock()
}

func (e *Engine) observe(ctx context.Context) (*Snapshot, error) {
	s := &Snapshot{TakenAt: time.Now(), Services: map[string]swarm.Service{}, byName: map[string]string{}}
	services, err := e.cli.ServiceList(ctx, swarm.ServiceListOptions{Status: true})
	if err != nil {
		return nil, e.wrap("list services", err)
	}
	for _, svc := range services {
		s.Services[svc.ID] = svc
		s.byName[svc.Spec.Name] = svc.ID
	}
	return s, nil
}

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
