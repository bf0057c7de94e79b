package orchestrator

// Reading the cluster. Every kind of object (services, nodes, networks, secrets, configs, tasks)
// is read with one list call, and the list is shared by every read in one provider process for a
// short time: Terraform refreshes resources concurrently, and N of them then cost one call per
// kind, not N inspects. Concurrent readers share one call (singleflight); any write drops every
// list, so the next read sees the cluster as it is now.
//
// "A short time" is while readers keep coming: a list is shared until the TTL passes without a
// read, for at most snapshotMaxAge. A refresh of 1,000 resources on a busy machine reads for
// longer than the TTL, and it still costs one list per kind, not one per TTL.

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"golang.org/x/sync/singleflight"
)

// snapshotMaxAge bounds how long one list is shared while readers keep asking for it: longer
// than a refresh of 1,000 resources takes on a loaded 2-core machine, short enough that a
// long-running process that reads all the time still sees the cluster change.
const snapshotMaxAge = 5 * time.Minute

// listCache is one kind's shared list.
type listCache[T any] struct {
	mu      sync.Mutex
	items   []T
	takenAt time.Time // when the list was taken; zero: no list
	readAt  time.Time // when it was last read
	gen     uint64
	sf      singleflight.Group
}

// shared says whether a list taken at takenAt and last read at readAt is still shared at now:
// while each read comes within ttl of the one before, and for at most maxAge.
func shared(now, takenAt, readAt time.Time, ttl, maxAge time.Duration) bool {
	return !takenAt.IsZero() && now.Sub(readAt) < ttl && now.Sub(takenAt) < maxAge
}

// get returns the cached list while it is shared (see shared) and no write happened since it
// was taken; otherwise it lists again, once for all concurrent callers.
func (c *listCache[T]) get(ctx context.Context, ttl time.Duration, list func(context.Context) ([]T, error)) ([]T, error) {
	c.mu.Lock()
	if now := time.Now(); shared(now, c.takenAt, c.readAt, ttl, snapshotMaxAge) {
		c.readAt = now
		items := c.items
		c.mu.Unlock()
		return items, nil
	}
	gen := c.gen
	c.mu.Unlock()
	v, err, _ := c.sf.Do(strconv.FormatUint(gen, 10), func() (any, error) {
		items, err := list(ctx)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		if c.gen == gen {
			c.items, c.takenAt = items, time.Now()
			c.readAt = c.takenAt
		}
		c.mu.Unlock()
		return items, nil
	})
	if err != nil {
		return nil, err
	}
	items, _ := v.([]T)
	return items, nil
}

func (c *listCache[T]) invalidate() {
	c.mu.Lock()
	c.items, c.takenAt, c.readAt = nil, time.Time{}, time.Time{}
	c.gen++
	c.mu.Unlock()
}

// snapshot holds the engine's shared lists.
type snapshot struct {
	services listCache[swarm.Service]
	nodes    listCache[swarm.Node]
	networks listCache[network.Summary]
	secrets  listCache[swarm.Secret]
	configs  listCache[swarm.Config]
	tasks    listCache[swarm.Task]
	// loads is the last measurement of the tasks' CPU and memory (ServiceLoad).
	loads listCache[serviceSamples]
}

// Invalidate drops every shared list; every write calls it.
func (e *Engine) Invalidate() {
	e.snap.services.invalidate()
	e.snap.nodes.invalidate()
	e.snap.networks.invalidate()
	e.snap.secrets.invalidate()
	e.snap.configs.invalidate()
	e.snap.tasks.invalidate()
	e.snap.loads.invalidate()
}

// Services lists every service, with its running and desired task counts, from the shared
// snapshot.
func (e *Engine) Services(ctx context.Context) ([]swarm.Service, error) {
	return e.snap.services.get(ctx, e.SnapshotTTL, func(ctx context.Context) ([]swarm.Service, error) {
		return read(ctx, e, "list services", func(ctx context.Context) ([]swarm.Service, error) {
			return e.cli.ServiceList(ctx, swarm.ServiceListOptions{Status: true})
		})
	})
}

// Nodes lists the swarm's nodes from the shared snapshot.
func (e *Engine) Nodes(ctx context.Context) ([]swarm.Node, error) {
	return e.snap.nodes.get(ctx, e.SnapshotTTL, func(ctx context.Context) ([]swarm.Node, error) {
		return read(ctx, e, "list nodes", func(ctx context.Context) ([]swarm.Node, error) { return e.cli.NodeList(ctx, swarm.NodeListOptions{}) })
	})
}

// Networks lists the swarm-scoped networks (overlay networks and the ingress network) from
// the shared snapshot.
func (e *Engine) Networks(ctx context.Context) ([]network.Summary, error) {
	return e.snap.networks.get(ctx, e.SnapshotTTL, func(ctx context.Context) ([]network.Summary, error) {
		return read(ctx, e, "list networks", func(ctx context.Context) ([]network.Summary, error) {
			return e.cli.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("scope", "swarm"))})
		})
	})
}

// Secrets lists the secrets (metadata only; the engine never returns secret data).
func (e *Engine) Secrets(ctx context.Context) ([]swarm.Secret, error) {
	return e.snap.secrets.get(ctx, e.SnapshotTTL, func(ctx context.Context) ([]swarm.Secret, error) {
		return read(ctx, e, "list secrets", func(ctx context.Context) ([]swarm.Secret, error) {
			return e.cli.SecretList(ctx, swarm.SecretListOptions{})
		})
	})
}

// Configs lists the configs from the shared snapshot.
func (e *Engine) Configs(ctx context.Context) ([]swarm.Config, error) {
	return e.snap.configs.get(ctx, e.SnapshotTTL, func(ctx context.Context) ([]swarm.Config, error) {
		return read(ctx, e, "list configs", func(ctx context.Context) ([]swarm.Config, error) {
			return e.cli.ConfigList(ctx, swarm.ConfigListOptions{})
		})
	})
}

// Tasks lists every task of every service (those meant to run and the history Swarm keeps of
// ended ones) from the shared snapshot: the status of N services costs one task list, not N.
func (e *Engine) Tasks(ctx context.Context) ([]swarm.Task, error) {
	return e.snap.tasks.get(ctx, e.SnapshotTTL, func(ctx context.Context) ([]swarm.Task, error) {
		list, err := e.cli.TaskList(ctx, swarm.TaskListOptions{})
		return list, e.wrap("list tasks", err)
	})
}

// By says what a key names: an ID or a name (as the Docker CLI takes either), or only one of
// them, as a data source's id or name attribute does.
type By int

const (
	ByIDOrName By = iota
	ByID
	ByName
)

// findBy looks key up among items: an exact ID first, then an exact name, as by allows.
func findBy[T any](items []T, by By, key string, id, name func(T) string) (T, bool) {
	if by != ByName {
		for _, it := range items {
			if id(it) == key {
				return it, true
			}
		}
	}
	if by != ByID {
		for _, it := range items {
			if name(it) == key {
				return it, true
			}
		}
	}
	var zero T
	return zero, false
}
