package orchestrator

// Swarm-scoped networks: made and removed (Docker has no update for a network), and found in
// the shared snapshot.

import (
	"context"
	"fmt"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"
)

// Network driver options the daemon adds by itself; they are never part of a configuration.
var daemonNetworkOptions = map[string]bool{"com.docker.network.driver.overlay.vxlanid_list": true}

// encryptedOption is the overlay driver option that encrypts traffic between nodes.
const encryptedOption = "encrypted"

// NetworkSpec is a swarm-scoped network as configured.
type NetworkSpec struct {
	Name          string
	Driver        string // "overlay" when empty
	Attachable    bool
	Internal      bool
	Encrypted     bool
	Labels        map[string]string
	DriverOptions map[string]string
	IPAM          []IPAMConfig
}

// IPAMConfig is one address pool of a network.
type IPAMConfig struct {
	Subnet, Gateway, IPRange string
}

// NetworkSpecOf reads a network back as a NetworkSpec: the daemon's own options and the
// encryption flag are taken out of the driver options.
func NetworkSpecOf(n network.Summary) NetworkSpec {
	s := NetworkSpec{Name: n.Name, Driver: n.Driver, Attachable: n.Attachable, Internal: n.Internal, Labels: n.Labels}
	for k, v := range n.Options {
		switch {
		case daemonNetworkOptions[k]:
		case k == encryptedOption:
			s.Encrypted = true
		default:
			if s.DriverOptions == nil {
				s.DriverOptions = map[string]string{}
			}
			s.DriverOptions[k] = v
		}
	}
	for _, c := range n.IPAM.Config {
		s.IPAM = append(s.IPAM, IPAMConfig{Subnet: c.Subnet, Gateway: c.Gateway, IPRange: c.IPRange})
	}
	return s
}

// Network finds a swarm-scoped network by ID or name in the shared snapshot.
func (e *Engine) Network(ctx context.Context, idOrName string) (network.Summary, error) {
	return e.NetworkBy(ctx, ByIDOrName, idOrName)
}

// NetworkBy finds a swarm-scoped network by what by says key is.
func (e *Engine) NetworkBy(ctx context.Context, by By, idOrName string) (network.Summary, error) {
	list, err := e.Networks(ctx)
	if err != nil {
		return network.Summary{}, err
	}
	n, ok := findBy(list, by, idOrName, func(n network.Summary) string { return n.ID }, func(n network.Summary) string { return n.Name })
	if !ok {
		return n, fmt.Errorf("network %q: %w", idOrName, ErrNotFound)
	}
	return n, nil
}

// CreateNetwork makes a swarm-scoped network and returns its ID.
func (e *Engine) CreateNetwork(ctx context.Context, s NetworkSpec) (string, error) {
	defer e.Invalidate()
	opts := network.CreateOptions{Driver: s.Driver, Scope: "swarm", Attachable: s.Attachable, Internal: s.Internal, Labels: s.Labels, Options: map[string]string{}}
	if opts.Driver == "" {
		opts.Driver = "overlay"
	}
	for k, v := range s.DriverOptions {
		opts.Options[k] = v
	}
	if s.Encrypted {
		opts.Options[encryptedOption] = ""
	}
	if len(s.IPAM) > 0 {
		opts.IPAM = &network.IPAM{Driver: "default"}
		for _, c := range s.IPAM {
			opts.IPAM.Config = append(opts.IPAM.Config, network.IPAMConfig{Subnet: c.Subnet, Gateway: c.Gateway, IPRange: c.IPRange})
		}
	}
	var resp network.CreateResponse
	lost := false // an earlier attempt's answer was lost: it may have made the network
	since := e.clock.before(time.Now())
	err := e.retry(ctx, "create network "+s.Name, func(ctx context.Context) error {
		if lost {
			e.Invalidate()
			list, err := e.Networks(ctx)
			if err != nil {
				return err
			}
			for _, n := range list {
				if n.Name == s.Name && !n.Created.Before(since) && jsonEqual(n.Labels, s.Labels) {
					resp.ID = n.ID
					return nil
				}
			}
		}
		var err error
		resp, err = e.cli.NetworkCreate(ctx, s.Name, opts)
		lost = lost || Transient(err)
		return err
	})
	if err != nil {
		return "", e.wrap("create network "+s.Name, err)
	}
	// Swarm's allocator gives the network its driver state and subnet a moment later; until
	// then the network reads back without them. Wait for it, so a read after the create sees
	// the network as it stays.
	tick := time.NewTicker(e.PollInterval)
	defer tick.Stop()
	for {
		n, err := e.cli.NetworkInspect(ctx, resp.ID, network.InspectOptions{Scope: "swarm"})
		if err == nil && n.Driver != "" && len(n.IPAM.Config) > 0 {
			return resp.ID, nil
		}
		select {
		case <-ctx.Done():
			return resp.ID, fmt.Errorf("network %s was created but Swarm did not allocate it: %w", s.Name, ctx.Err())
		case <-tick.C:
		}
	}
}

// DeleteNetwork removes a network. Tasks of a service removed just before may still be
// leaving it; while Docker says it is in use, the removal is tried again until ctx ends. A
// missing network is not an error.
func (e *Engine) DeleteNetwork(ctx context.Context, id string) error {
	defer e.Invalidate()
	// A service whose spec still names the network keeps it in use for good: say which at once.
	// Tasks of services removed a moment ago only hold it until they are gone: wait for them.
	users, err := e.objectUsers(ctx, KindNetwork)
	if err != nil {
		return err
	}
	if names := users[id]; len(names) > 0 {
		return fmt.Errorf("network %s is used by service %s: %w", id, strings.Join(names, ", "), ErrInUse)
	}
	if err := e.removeWhenUnused(ctx, "network "+id, func() error { return e.cli.NetworkRemove(ctx, id) }); err != nil {
		return err
	}
	return e.waitNetworkGone(ctx, id)
}

// waitNetworkGone waits until the engine no longer lists a removed network: the node keeps its
// own copy for a few seconds after the swarm dropped it, until its last task has left, and a
// destroy should end with the network gone from `docker network ls`.
func (e *Engine) waitNetworkGone(ctx context.Context, id string) error {
	tick := time.NewTicker(e.PollInterval)
	defer tick.Stop()
	for {
		_, err := e.cli.NetworkInspect(ctx, id, network.InspectOptions{})
		if cerrdefs.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("network %s was removed but the engine still lists it: %w", id, ctx.Err())
		case <-tick.C:
		}
	}
}
