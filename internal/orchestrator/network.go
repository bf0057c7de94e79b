package orchestrator

// Swarm-scoped networks. Docker has no update for a network, so a network is only ever made or
// removed. Making one is two steps on the manager: the create call stores the network, then
// Swarm's allocator gives it its address pools and driver state. When the allocator cannot (a
// subnet that overlaps another network's, address pools used up), it only writes the reason
// to the manager's log: the API shows the network with no driver and no pools, forever. So
// whatever can be known before the write is checked before it (CheckNetwork, PlanNetwork), the
// wait for the allocator is bounded, and a network that was not allocated is removed again.

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"
)

// Network driver options the daemon adds by itself; they are never part of a configuration.
var daemonNetworkOptions = map[string]bool{"com.docker.network.driver.overlay.vxlanid_list": true}

// encryptedOption is the overlay driver option that encrypts traffic between nodes.
const encryptedOption = "encrypted"

// predefinedLabel marks the networks every swarm has from the start, bridge and host: the
// network list leaves them out, but services may attach to them (`docker service create
// --network host`).
const predefinedLabel = "com.docker.swarm.predefined"

// nodeLocalDrivers are the drivers a Swarm manager knows (swarmkit's network allocator) whose
// networks each node makes for itself when a task arrives: the manager allocates no address
// pools for them and keeps no driver state, so their subnets and options never read back.
var nodeLocalDrivers = map[string]bool{"bridge": true, "macvlan": true, "ipvlan": true}

// allocationWait bounds the wait for Swarm's allocator after a create. It allocates a network
// within milliseconds of the create (the first read usually sees it done); one it has not
// allocated after this long, it could not allocate.
const allocationWait = 15 * time.Second

// cleanupTimeout bounds the removal of what a create that failed, timed out or was interrupted
// left behind; the removal runs on a context of its own, since the create's may have ended.
const cleanupTimeout = 30 * time.Second

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

// IPAMConfig is one address pool of a network. An empty Subnet is one not known yet (it
// depends on another resource): the checks skip it.
type IPAMConfig struct {
	Subnet, Gateway, IPRange string
}

func (s NetworkSpec) driver() string {
	if s.Driver == "" {
		return "overlay"
	}
	return s.Driver
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

// CheckNetwork checks the rules a network spec must satisfy whatever the swarm holds: a driver
// that can make a swarm-scoped network services can use, settings the driver keeps, and address
// pools that are well formed and apart from each other. Paths are the swarm_network
// attributes'.
func CheckNetwork(s NetworkSpec) []FieldProblem {
	var out []FieldProblem
	switch d := s.driver(); {
	case d == "host":
		out = append(out, problem("driver", "Driver Cannot Make a Swarm Network",
			`Swarm accepts a network with the host driver, but no task can ever attach to it: a node has one host network, and Swarm rejects each task with "only one instance of \"host\" network is allowed". `+
				`To run a service's tasks in the nodes' own network stack, attach the service to the network named host, which every swarm has (networks = [{ id = "host" }] on swarm_service).`))
	case d == "null":
		out = append(out, problem("driver", "Driver Cannot Make a Swarm Network",
			`The null driver makes a node's "none" network; a Swarm manager has no such driver, and refuses the network after looking for a plugin named null for about 15 seconds. Use "overlay" (the default).`))
	case nodeLocalDrivers[d]:
		lost := func(attr, what string) {
			out = append(out, problem(attr, "Setting Not Kept for This Driver",
				fmt.Sprintf("With driver %q each node makes the network itself when a task arrives, and Swarm keeps no %s for it: the network reads back without them, so every plan would replace it. Leave %s out, or use driver \"overlay\".", d, what, attr), "driver"))
		}
		if len(s.IPAM) > 0 {
			lost("ipam", "address pools")
		}
		if len(s.DriverOptions) > 0 {
			lost("driver_options", "driver options")
		}
		if s.Encrypted {
			lost("encrypted", "encryption (an overlay option)")
		}
	}
	return append(out, checkIPAM(s.IPAM)...)
}

// checkIPAM checks each address pool on its own (a subnet, a gateway and a range inside it) and
// against the others: two pools of one network that overlap are accepted by Swarm, which then
// never allocates the network.
func checkIPAM(pools []IPAMConfig) []FieldProblem {
	var out []FieldProblem
	subnets := make([]netip.Prefix, len(pools))
	for i, p := range pools {
		at := fmt.Sprintf("ipam[%d]", i)
		if p.Subnet == "" {
			continue
		}
		subnet, err := netip.ParsePrefix(p.Subnet)
		if err != nil {
			out = append(out, problem(at+".subnet", "Invalid Subnet", fmt.Sprintf("%q is not a subnet in CIDR form, such as 10.20.0.0/24.", p.Subnet)))
			continue
		}
		subnets[i] = subnet.Masked()
		if most := maxPrefixBits(subnet); subnet.Bits() > most {
			out = append(out, problem(at+".subnet", "Subnet Too Small",
				fmt.Sprintf("Subnet %s has no room for a gateway and a task. Swarm accepts it but never allocates the network; give a subnet of /%d or wider.", p.Subnet, most)))
		}
		if p.Gateway != "" {
			if gw, err := netip.ParseAddr(p.Gateway); err != nil {
				out = append(out, problem(at+".gateway", "Invalid Gateway", fmt.Sprintf("%q is not an IP address.", p.Gateway)))
			} else if !subnets[i].Contains(gw) {
				out = append(out, problem(at+".gateway", "Gateway Outside Subnet", fmt.Sprintf("Gateway %s is not in subnet %s; Swarm refuses it. Give an address of the subnet, or leave gateway out and Swarm picks one.", p.Gateway, p.Subnet), at+".subnet"))
			} else if gw.Is4() && (gw == subnets[i].Addr() || gw == lastAddr(subnets[i])) {
				out = append(out, problem(at+".gateway", "Gateway Not a Host Address",
					fmt.Sprintf("Gateway %s is the network or broadcast address of subnet %s. Swarm accepts it but never allocates the network; give an address between them, or leave gateway out and Swarm picks one.", p.Gateway, p.Subnet), at+".subnet"))
			}
		}
		if p.IPRange != "" {
			if r, err := netip.ParsePrefix(p.IPRange); err != nil {
				out = append(out, problem(at+".ip_range", "Invalid IP Range", fmt.Sprintf("%q is not a range in CIDR form, such as 10.20.0.0/25.", p.IPRange)))
			} else if !subnets[i].Contains(r.Masked().Addr()) || r.Bits() < subnets[i].Bits() {
				out = append(out, problem(at+".ip_range", "IP Range Outside Subnet", fmt.Sprintf("Range %s is not inside subnet %s; Swarm refuses it.", p.IPRange, p.Subnet), at+".subnet"))
			}
		}
		for j := range i {
			if subnets[j].IsValid() && subnets[j].Overlaps(subnets[i]) {
				out = append(out, problem(at+".subnet", "Overlapping Subnets",
					fmt.Sprintf("Subnet %s overlaps ipam[%d].subnet (%s). Swarm accepts such a network but never allocates it, since its pools would collide. Give each pool a subnet of its own.", p.Subnet, j, pools[j].Subnet),
					fmt.Sprintf("ipam[%d].subnet", j)))
				break
			}
		}
	}
	return out
}

// maxPrefixBits is the longest prefix Swarm allocates a subnet of: an IPv4 subnet needs a
// network, a gateway, a task and a broadcast address (/30); an IPv6 one, a gateway and a task
// (/127). Longer ones it accepts and never allocates (tried on Docker 20.10).
func maxPrefixBits(p netip.Prefix) int {
	if p.Addr().Is4() {
		return 30
	}
	return 127
}

// lastAddr is the last address of an IPv4 subnet: its broadcast address.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := (uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// subnetOverlap is a configured subnet that overlaps a subnet of another swarm network.
type subnetOverlap struct {
	index         int // of the configured pool
	subnet, other string
	with          network.Summary
}

func (o subnetOverlap) String() string {
	return fmt.Sprintf("subnet %s overlaps subnet %s of network %s (ID %s)", o.subnet, o.other, o.with.Name, o.with.ID)
}

// overlaps finds the configured subnets that overlap a subnet of another swarm network (the
// ingress network's included), at most one each. skipID is a network the new one replaces
// (gone by the time it is made), or "".
func overlaps(s NetworkSpec, existing []network.Summary, skipID string) []subnetOverlap {
	var out []subnetOverlap
	for i, p := range s.IPAM {
		subnet, err := netip.ParsePrefix(p.Subnet)
		if err != nil {
			continue // unknown yet, or reported by CheckNetwork
		}
	networks:
		for _, n := range existing {
			if n.ID == skipID || (n.IPAM.Driver != "" && n.IPAM.Driver != "default") {
				continue // another address space: no collision
			}
			for _, c := range n.IPAM.Config {
				if other, err := netip.ParsePrefix(c.Subnet); err == nil && other.Overlaps(subnet) {
					out = append(out, subnetOverlap{index: i, subnet: p.Subnet, other: c.Subnet, with: n})
					break networks
				}
			}
		}
	}
	return out
}

// PlanNetwork checks a network about to be made against CheckNetwork and the swarm as it is:
// its name free, its subnets unused. replacing is the ID of the network it replaces, or "".
// It returns the problems it found, and an error only when the swarm could not be read.
func (e *Engine) PlanNetwork(ctx context.Context, s NetworkSpec, replacing string) ([]FieldProblem, error) {
	out := CheckNetwork(s)
	list, err := e.Networks(ctx)
	if err != nil {
		return out, err
	}
	for _, o := range overlaps(s, list, replacing) {
		out = append(out, problem(fmt.Sprintf("ipam[%d].subnet", o.index), "Subnet In Use",
			fmt.Sprintf("Subnet %s overlaps subnet %s of network %s (ID %s). Swarm accepts such a network but never allocates it, since the two networks' pools would collide, so its create would wait for nothing. "+
				"Choose a subnet no swarm network uses (`docker network inspect $(docker network ls -q --filter scope=swarm)` shows theirs). If this network replaces that one with create_before_destroy, both exist at once: give the new one another subnet.",
				o.subnet, o.other, o.with.Name, o.with.ID)))
	}
	return out, nil
}

// Network finds a swarm-scoped network by ID or name in the shared snapshot.
func (e *Engine) Network(ctx context.Context, idOrName string) (network.Summary, error) {
	return e.NetworkBy(ctx, ByIDOrName, idOrName)
}

// NetworkBy finds a swarm-scoped network by what by says key is: in the shared snapshot, else
// as networkOutsideList says.
func (e *Engine) NetworkBy(ctx context.Context, by By, key string) (network.Summary, error) {
	list, err := e.Networks(ctx)
	if err != nil {
		return network.Summary{}, err
	}
	if n, ok := findBy(list, by, key, networkID, networkName); ok {
		return n, nil
	}
	return e.networkOutsideList(ctx, by, key)
}

func networkID(n network.Summary) string   { return n.ID }
func networkName(n network.Summary) string { return n.Name }

// networkOutsideList looks up a network the snapshot does not hold: one of the swarm's
// predefined networks (remembered, as they never change), one made since the snapshot was
// taken, or one local to the node the engine talks to, which no service can use (a
// LocalNetworkError says so). Inspect also matches an ID's prefix: only an exact ID or name
// counts.
func (e *Engine) networkOutsideList(ctx context.Context, by By, key string) (network.Summary, error) {
	if v, ok := e.predefined.Load(key); ok {
		if n, ok := v.(network.Summary); ok && matchesBy(n, by, key) {
			return n, nil
		}
	}
	for _, scope := range []string{"swarm", "local"} {
		n, err := read(ctx, e, "inspect network "+key, func(ctx context.Context) (network.Inspect, error) {
			return e.cli.NetworkInspect(ctx, key, network.InspectOptions{Scope: scope})
		})
		if cerrdefs.IsNotFound(err) || (err == nil && !matchesBy(n, by, key)) {
			continue
		}
		if err != nil {
			return network.Summary{}, err
		}
		if n.Scope != "swarm" {
			return network.Summary{}, &LocalNetworkError{Name: n.Name, ID: n.ID, Driver: n.Driver}
		}
		if Predefined(n) {
			e.predefined.Store(n.ID, n)
			e.predefined.Store(n.Name, n)
		}
		return n, nil
	}
	return network.Summary{}, fmt.Errorf("network %q: %w", key, ErrNotFound)
}

// Predefined says whether n is one of the networks every swarm has (bridge, host): services
// attach to them, but Swarm never removes them, so nothing can manage them.
func Predefined(n network.Summary) bool { return n.Labels[predefinedLabel] == "true" }

func matchesBy(n network.Summary, by By, key string) bool {
	return (by != ByName && n.ID == key) || (by != ByID && n.Name == key)
}

// LocalNetworkError is a network that exists only on the node the engine talks to (scope
// local: the node's bridge, none and docker_gwbridge networks, and those made with `docker
// network create` outside swarm mode). Swarm cannot attach a service to it. It counts as not
// found: the swarm has no such network.
type LocalNetworkError struct {
	Name, ID, Driver string
}

func (e *LocalNetworkError) Error() string {
	return fmt.Sprintf("network %q exists, but only on the node the provider talks to (scope local, driver %s): it is not a swarm network, and Swarm attaches services only to swarm-scoped networks. "+
		"Attach the service to an overlay network instead (a swarm_network resource makes one; `docker network ls --filter scope=swarm` lists those there are)", e.Name, e.Driver)
}

func (e *LocalNetworkError) Unwrap() error { return ErrNotFound }

// CreateNetwork makes a swarm-scoped network and returns its ID once Swarm has allocated it.
// What PlanNetwork finds refuses the write before it is made (a ProblemsError); a network Swarm
// does not allocate within allocationWait is removed again (an AllocationError), and so is one
// whose create ctx cut short (timed out or interrupted), so that a failed create leaves nothing
// behind. A name taken already gives an ExistsError.
func (e *Engine) CreateNetwork(ctx context.Context, s NetworkSpec) (string, error) {
	defer e.Invalidate()
	e.Invalidate() // the check below must see the swarm as it is now, not as the plan saw it
	problems, err := e.PlanNetwork(ctx, s, "")
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return "", fmt.Errorf("network %s was not created: %w", s.Name, err)
	}
	if len(problems) > 0 {
		return "", &ProblemsError{Op: "create network " + s.Name, Problems: problems}
	}
	opts := network.CreateOptions{Driver: s.driver(), Scope: "swarm", Attachable: s.Attachable, Internal: s.Internal, Labels: s.Labels, Options: map[string]string{}}
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
	var id string
	lost := false // an earlier attempt's answer was lost: it may have made the network
	since := e.clock.before(time.Now())
	err = e.retry(ctx, "create network "+s.Name, func(ctx context.Context) error {
		if lost {
			var err error
			if id, err = e.networkMadeSince(ctx, s, since); err != nil || id != "" {
				return err
			}
		}
		// The call runs to its end even when ctx ends meanwhile (bounded by cleanupTimeout):
		// cut short, the manager may still make the network after anyone could look for it.
		// With its answer, what it made is known, and awaitAllocation removes it.
		call, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		resp, err := e.cli.NetworkCreate(call, s.Name, opts)
		id = resp.ID
		lost = lost || Transient(err)
		return err
	})
	switch {
	case err == nil:
	case lost && ctx.Err() != nil:
		// An answer was lost, and there is no time left to ask again: the network may exist.
		return "", e.abandonNetwork(ctx, "", s, since, fmt.Errorf("network %s was being created: %w", s.Name, ctx.Err()))
	case cerrdefs.IsConflict(err) || cerrdefs.IsAlreadyExists(err):
		if exists := e.existsError(ctx, KindNetwork, s.Name); exists != nil {
			return "", exists
		}
		return "", e.wrap("create network "+s.Name, err)
	default:
		return "", e.wrap("create network "+s.Name, err)
	}
	if err := e.awaitAllocation(ctx, id, s, since); err != nil {
		return "", err
	}
	return id, nil
}

// awaitAllocation waits for Swarm to allocate network id, made from s at since; when it does
// not (an AllocationError, with what the engine finds since), or ctx ends first, it removes the
// network again.
func (e *Engine) awaitAllocation(ctx context.Context, id string, s NetworkSpec, since time.Time) error {
	err := e.waitAllocated(ctx, id)
	if err == nil {
		return nil
	}
	var ae *AllocationError
	if errors.As(err, &ae) {
		ae.Network, ae.Causes = s.Name, e.allocationCauses(ctx, s, id)
	}
	return e.abandonNetwork(ctx, id, s, since, err)
}

// networkMadeSince finds the network a create whose answer was lost may have made: of that
// name, made since the create began, with the labels sent. "" when there is none.
func (e *Engine) networkMadeSince(ctx context.Context, s NetworkSpec, since time.Time) (string, error) {
	e.Invalidate()
	list, err := e.Networks(ctx)
	if err != nil {
		return "", err
	}
	for _, n := range list {
		if n.Name == s.Name && !n.Created.Before(since) && jsonEqual(n.Labels, s.Labels) {
			return n.ID, nil
		}
	}
	return "", nil
}

// AllocationError is a network Swarm accepted but did not allocate in time.
type AllocationError struct {
	Network, ID string
	Waited      time.Duration
	// Causes are what the engine found, after the wait, that explains it (e.g. a network made
	// meanwhile whose subnet overlaps); empty when it found nothing.
	Causes []string
}

func (e *AllocationError) Error() string {
	msg := fmt.Sprintf("Swarm accepted network %s (ID %s) but did not allocate it within %s. Its allocator reports why only in the manager's log (\"Failed allocation for network %s\"), not through the API. "+
		"Before the write the engine checked the driver, the address pools, and that no swarm network used the subnets.", e.Network, e.ID, e.Waited.Round(time.Second), e.ID)
	if len(e.Causes) > 0 {
		return msg + " Found since: " + strings.Join(e.Causes, "; ")
	}
	return msg + " Likely causes: a subnet that overlaps a network made at the same moment (another resource of the same apply, or someone else), " +
		"the swarm's address pools used up (without ipam, Swarm takes each subnet from the pools given to `docker swarm init --default-addr-pool`), or a network plugin that failed"
}

// waitAllocated waits until Swarm's allocator has given network id its driver state (the
// driver shows): with address pools for a driver that spans the nodes, without for a
// node-local one. It reads at once and then at growing intervals, up to PollInterval, since
// the allocation is usually done by the first read.
func (e *Engine) waitAllocated(ctx context.Context, id string) error {
	start := time.Now()
	deadline := time.NewTimer(allocationWait)
	defer deadline.Stop()
	wait := 10 * time.Millisecond
	for {
		n, err := e.cli.NetworkInspect(ctx, id, network.InspectOptions{Scope: "swarm"})
		switch {
		case err == nil && n.Driver != "":
			return nil
		case err != nil && !Transient(err) && ctx.Err() == nil:
			return e.wrap("inspect network "+id, err)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("network %s was created, and Swarm had not allocated it yet: %w", id, ctx.Err())
		case <-deadline.C:
			timer.Stop()
			return &AllocationError{ID: id, Waited: time.Since(start)}
		case <-timer.C:
		}
		wait = min(2*wait, e.PollInterval)
	}
}

// allocationCauses looks, after a failed wait, for what the checks before the write could not
// see: networks made meanwhile whose subnets overlap the new one's.
func (e *Engine) allocationCauses(ctx context.Context, s NetworkSpec, id string) []string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	e.Invalidate()
	list, err := e.Networks(ctx)
	if err != nil {
		return nil
	}
	var causes []string
	for _, o := range overlaps(s, list, id) {
		causes = append(causes, o.String()+", made after the check")
	}
	return causes
}

// abandonNetwork removes what a create that did not complete made (network id, or when the
// create's answer never came, the network networkMadeSince finds), on a context of its own
// bounded by cleanupTimeout, and returns cause with what became of the network.
func (e *Engine) abandonNetwork(ctx context.Context, id string, s NetworkSpec, since time.Time, cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if id == "" {
		found, err := e.networkMadeSince(ctx, s, since)
		if err != nil {
			return fmt.Errorf("%w; whether it was made could not be checked (%v): `docker network ls --filter name=%s` shows it if so", cause, err, s.Name)
		}
		if found == "" {
			return fmt.Errorf("%w; no network was made", cause)
		}
		id = found
	}
	err := e.retry(ctx, "remove network "+id, func(ctx context.Context) error { return e.cli.NetworkRemove(ctx, id) })
	if err == nil || cerrdefs.IsNotFound(err) {
		err = e.waitNetworkGone(ctx, id)
	}
	if err != nil {
		return fmt.Errorf("%w; removing the network it made (ID %s) failed too (%v): remove it with `docker network rm %s`", cause, id, err, id)
	}
	return fmt.Errorf("%w. The network it made (ID %s) was removed again, so nothing is left behind", cause, id)
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

// CheckServiceNetworks checks the networks a service attaches to as configured: each entry's
// reference (ID or name; "" while not known yet), compared as written. Paths are swarm_service's.
func CheckServiceNetworks(targets []string) []FieldProblem {
	return duplicateNetworks(targets, targets)
}

// PlanServiceNetworks checks the networks a service attaches to against the swarm as it is: a
// reference to a network local to one node is refused, and a network given once by ID and once
// by name counts twice. A reference to a network that does not exist yet passes: it may be made
// in the same apply, and the apply says when it is not.
func (e *Engine) PlanServiceNetworks(ctx context.Context, targets []string) ([]FieldProblem, error) {
	var out []FieldProblem
	ids := make([]string, len(targets))
	for i, t := range targets {
		ids[i] = t
		if t == "" {
			continue
		}
		n, err := e.Network(ctx, t)
		var local *LocalNetworkError
		switch {
		case err == nil:
			ids[i] = n.ID
		case errors.As(err, &local):
			out = append(out, problem(fmt.Sprintf("networks[%d].id", i), "Not a Swarm Network", local.Error()+"."))
		case errors.Is(err, ErrNotFound):
		default:
			return out, err
		}
	}
	return append(out, duplicateNetworks(targets, ids)...), nil
}

// duplicateNetworks finds the entries that attach a network an earlier entry attaches already:
// ids[i] is the network targets[i] names, "" when not known. Swarm accepts a network twice,
// then gives the service two virtual IPs and each task two addresses on it, while the container
// joins it once: one entry's aliases are lost.
func duplicateNetworks(targets, ids []string) []FieldProblem {
	var out []FieldProblem
	first := map[string]int{}
	for i, id := range ids {
		if id == "" {
			continue
		}
		j, dup := first[id]
		if !dup {
			first[id] = i
			continue
		}
		already := fmt.Sprintf("networks[%d] attaches network %q already.", j, targets[j])
		if targets[i] != targets[j] {
			already = fmt.Sprintf("networks[%d] attaches this network already, as %q (here %q: the same network by ID and by name).", j, targets[j], targets[i])
		}
		out = append(out, problem(fmt.Sprintf("networks[%d].id", i), "Network Attached Twice",
			already+" A service attaches to a network once: Swarm would give it two virtual IPs and each task two addresses there, "+
				"while each container joins the network once, with one entry's aliases. Keep one entry for the network and give it all the aliases.",
			fmt.Sprintf("networks[%d].id", j)))
	}
	return out
}
