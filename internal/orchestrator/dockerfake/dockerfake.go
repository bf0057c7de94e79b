// Package dockerfake is an in-memory swarm behind orchestrator.DockerAPI, for unit tests of the
// engine's loops (the autoscaling controller's rounds) with a clock the test moves. It models
// what those loops read and write: managers and their Raft leader, replicated services with
// Swarm's version check, one running task per slot with a container whose CPU use the test
// sets, and configs. Any other call panics (the embedded nil interface): a test that reaches
// one learns at once that the fake needs it. Acceptance tests never use it; they run on a real
// engine.
package dockerfake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

// Swarm is the fake. Its zero value is not usable: use New.
type Swarm struct {
	orchestrator.DockerAPI // nil: calls the fake does not model panic

	mu       sync.Mutex
	now      func() time.Time
	index    uint64
	self     string
	nodes    []swarm.Node
	services map[string]*swarm.Service
	tasks    map[string][]swarm.Task // by service ID
	configs  map[string]*swarm.Config
	// load is the CPU (in cores) each container of a service uses, by service name.
	load map[string]float64
	// usage is each container's CPU time so far, in nanoseconds, and when it was last read.
	usage map[string]float64
	read  map[string]time.Time
	// writes counts ServiceUpdate calls that changed a service, by service name; stats the
	// stats calls.
	writes map[string]int
	stats  int
	seq    int
	// electing: the managers have no leader; swarm calls fail as a manager's do then.
	electing bool
	// leaderLost: this manager still reads itself as the leader, but its writes fail as a
	// manager's do when it loses the leadership between a read and a write.
	leaderLost bool

	// OnInspect, when set, may change a service as an inspect reads it: another writer that
	// got there first.
	OnInspect func(*swarm.Service)
}

// New makes a swarm of one manager, the Raft leader, which is the node the engine talks to.
// now is the clock of stats readings and timestamps.
func New(now func() time.Time) *Swarm {
	s := &Swarm{now: now, self: "node-1", services: map[string]*swarm.Service{}, tasks: map[string][]swarm.Task{},
		configs: map[string]*swarm.Config{}, load: map[string]float64{}, usage: map[string]float64{}, read: map[string]time.Time{}, writes: map[string]int{}}
	s.nodes = []swarm.Node{{ID: s.self, Description: swarm.NodeDescription{Hostname: "manager-1"},
		Spec:          swarm.NodeSpec{Role: swarm.NodeRoleManager, Availability: swarm.NodeAvailabilityActive},
		Status:        swarm.NodeStatus{State: swarm.NodeStateReady},
		ManagerStatus: &swarm.ManagerStatus{Leader: true, Reachability: swarm.ReachabilityReachable}}}
	return s
}

func (s *Swarm) next() swarm.Version {
	s.index++
	return swarm.Version{Index: s.index}
}

func (s *Swarm) id(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%04d", prefix, s.seq)
}

// AddManager adds a manager; leader makes it the Raft leader instead of the node the engine
// talks to.
func (s *Swarm) AddManager(name string, leader bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if leader {
		for i := range s.nodes {
			s.nodes[i].ManagerStatus.Leader = false
		}
	}
	s.nodes = append(s.nodes, swarm.Node{ID: "node-" + name, Description: swarm.NodeDescription{Hostname: name},
		Spec: swarm.NodeSpec{Role: swarm.NodeRoleManager}, Status: swarm.NodeStatus{State: swarm.NodeStateReady},
		ManagerStatus: &swarm.ManagerStatus{Leader: leader}})
}

// SetElecting makes the managers lose their leader (on) or elect this node's manager again
// (off). Meanwhile node lists fail as a manager answers while its swarm has no leader.
func (s *Swarm) SetElecting(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.electing = on
}

// SetLeaderLost has every write fail as one does on a manager that lost the leadership
// after the round read that it leads (Raft's "node lost leader status").
func (s *Swarm) SetLeaderLost(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leaderLost = on
}

// lostLeader is the error of a write on a manager that has just lost the leadership.
func (s *Swarm) lostLeader() error {
	if !s.leaderLost {
		return nil
	}
	return cerrdefs.ErrUnknown.WithMessage("rpc error: code = Unknown desc = raft: failed to process the request: node lost leader status")
}

// AddService adds a replicated service with labels, a CPU limit (in cores, 0 for none) and as
// many running tasks as replicas.
func (s *Swarm) AddService(name string, replicas uint64, cpuLimit float64, labels map[string]string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	spec := swarm.ServiceSpec{Annotations: swarm.Annotations{Name: name, Labels: labels},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "app:v1"}}}
	if cpuLimit > 0 {
		spec.TaskTemplate.Resources = &swarm.ResourceRequirements{Limits: &swarm.Limit{NanoCPUs: int64(cpuLimit * 1e9)}}
	}
	svc := &swarm.Service{ID: s.id("svc-"), Spec: spec, Meta: swarm.Meta{Version: s.next(), CreatedAt: s.now(), UpdatedAt: s.now()}}
	s.services[svc.ID] = svc
	s.reconcile(svc)
	return svc.ID
}

// SetLoad sets the CPU (in cores) every container of the service uses from now on.
func (s *Swarm) SetLoad(service string, cores float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load[service] = cores
}

// Service is a copy of the service as the fake holds it.
func (s *Swarm) Service(name string) swarm.Service {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, svc := range s.services {
		if svc.Spec.Name == name {
			return *svc
		}
	}
	return swarm.Service{}
}

// Replicas is the service's replica count.
func (s *Swarm) Replicas(name string) int {
	svc := s.Service(name)
	if svc.Spec.Mode.Replicated == nil || svc.Spec.Mode.Replicated.Replicas == nil {
		return -1
	}
	return int(*svc.Spec.Mode.Replicated.Replicas)
}

// SetUpdateStatus sets the state of the service's rolling update, as Swarm's updater does.
func (s *Swarm) SetUpdateStatus(name string, state swarm.UpdateState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if svc := s.find(name); svc != nil {
		svc.UpdateStatus = &swarm.UpdateStatus{State: state}
	}
}

// StatsCalls is how many container stats calls were made.
func (s *Swarm) StatsCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Writes is how many updates changed the service.
func (s *Swarm) Writes(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes[name]
}

// reconcile gives a service one running task per slot, as Swarm's orchestrator does at once.
func (s *Swarm) reconcile(svc *swarm.Service) {
	want := 0
	if r := svc.Spec.Mode.Replicated; r != nil && r.Replicas != nil {
		want = int(*r.Replicas)
	}
	tasks := s.tasks[svc.ID]
	for len(tasks) > want {
		tasks = tasks[:len(tasks)-1]
	}
	for slot := len(tasks) + 1; slot <= want; slot++ {
		c := s.id("ctr-")
		s.usage[c], s.read[c] = 0, s.now()
		tasks = append(tasks, swarm.Task{ID: s.id("task-"), ServiceID: svc.ID, Slot: slot, NodeID: s.self, DesiredState: swarm.TaskStateRunning,
			Spec: svc.Spec.TaskTemplate, Meta: swarm.Meta{CreatedAt: s.now()},
			Status: swarm.TaskStatus{State: swarm.TaskStateRunning, Timestamp: s.now(), ContainerStatus: &swarm.ContainerStatus{ContainerID: c}}})
	}
	s.tasks[svc.ID] = tasks
	running := uint64(len(tasks))
	svc.ServiceStatus = &swarm.ServiceStatus{RunningTasks: running, DesiredTasks: running}
}

func notFound(what string) error { return cerrdefs.ErrNotFound.WithMessage(what + " not found") }

func (s *Swarm) ClientVersion() string { return "1.41" }
func (s *Swarm) Close() error          { return nil }

func (s *Swarm) Ping(context.Context) (types.Ping, error) { return types.Ping{APIVersion: "1.41"}, nil }

func (s *Swarm) Info(context.Context) (system.Info, error) {
	return system.Info{SystemTime: s.now().Format(time.RFC3339Nano),
		Swarm: swarm.Info{NodeID: s.self, LocalNodeState: swarm.LocalNodeStateActive, ControlAvailable: true}}, nil
}

func (s *Swarm) NodeList(context.Context, swarm.NodeListOptions) ([]swarm.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.electing {
		// Docker's answer (503) while the managers have no leader.
		return nil, cerrdefs.ErrUnavailable.WithMessage("The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online.")
	}
	return append([]swarm.Node(nil), s.nodes...), nil
}

func (s *Swarm) ServiceList(_ context.Context, opts swarm.ServiceListOptions) ([]swarm.Service, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []swarm.Service
	for _, svc := range s.services {
		if ids := opts.Filters.Get("id"); len(ids) > 0 && !contains(ids, svc.ID) {
			continue
		}
		out = append(out, *svc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (s *Swarm) find(idOrName string) *swarm.Service {
	if svc, ok := s.services[idOrName]; ok {
		return svc
	}
	for _, svc := range s.services {
		if svc.Spec.Name == idOrName {
			return svc
		}
	}
	return nil
}

func (s *Swarm) ServiceInspectWithRaw(_ context.Context, id string, _ swarm.ServiceInspectOptions) (swarm.Service, []byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	svc := s.find(id)
	if svc == nil {
		return swarm.Service{}, nil, notFound("service " + id)
	}
	if s.OnInspect != nil {
		s.OnInspect(svc)
		svc.Version = s.next()
	}
	return *svc, nil, nil
}

// ServiceUpdate writes the spec with Swarm's version check.
func (s *Swarm) ServiceUpdate(_ context.Context, id string, version swarm.Version, spec swarm.ServiceSpec, _ swarm.ServiceUpdateOptions) (swarm.ServiceUpdateResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.lostLeader(); err != nil {
		return swarm.ServiceUpdateResponse{}, err
	}
	svc := s.find(id)
	if svc == nil {
		return swarm.ServiceUpdateResponse{}, notFound("service " + id)
	}
	if version.Index != svc.Version.Index {
		return swarm.ServiceUpdateResponse{}, cerrdefs.ErrUnknown.WithMessage("rpc error: code = Unknown desc = update out of sequence")
	}
	prev := svc.Spec
	svc.PreviousSpec, svc.Spec, svc.Version, svc.UpdatedAt = &prev, spec, s.next(), s.now()
	svc.UpdateStatus = nil // as Swarm clears it on every write
	s.writes[spec.Name]++
	s.reconcile(svc)
	return swarm.ServiceUpdateResponse{}, nil
}

func (s *Swarm) TaskList(_ context.Context, opts swarm.TaskListOptions) ([]swarm.Task, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []swarm.Task
	for id, tasks := range s.tasks {
		if want := opts.Filters.Get("service"); len(want) > 0 && !contains(want, id) && !contains(want, s.services[id].Spec.Name) {
			continue
		}
		out = append(out, tasks...)
	}
	return out, nil
}

// ContainerStats answers as a non-streaming call does: the reading now and one a second
// before, with the CPU time the container's load used in between.
func (s *Swarm) ContainerStats(_ context.Context, id string, _ bool) (container.StatsResponseReader, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats++
	cores := -1.0
	for svcID, tasks := range s.tasks {
		for _, t := range tasks {
			if t.Status.ContainerStatus.ContainerID == id {
				cores = s.load[s.services[svcID].Spec.Name]
			}
		}
	}
	if cores < 0 {
		return container.StatsResponseReader{}, notFound("container " + id)
	}
	now := s.now()
	before := s.usage[id]
	after := before + cores*float64(time.Second)
	s.usage[id] = after
	var r container.StatsResponse
	r.Read, r.PreRead = now, now.Add(-time.Second)
	r.CPUStats.CPUUsage.TotalUsage = uint64(after)
	r.PreCPUStats.CPUUsage.TotalUsage = uint64(before)
	r.MemoryStats.Usage = 32 << 20
	b, _ := json.Marshal(r)
	return container.StatsResponseReader{Body: io.NopCloser(bytes.NewReader(b))}, nil
}

func (s *Swarm) ConfigList(context.Context, swarm.ConfigListOptions) ([]swarm.Config, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []swarm.Config
	for _, c := range s.configs {
		out = append(out, *c)
	}
	return out, nil
}

func (s *Swarm) ConfigInspectWithRaw(_ context.Context, id string) (swarm.Config, []byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.configs {
		if c.ID == id || c.Spec.Name == id {
			return *c, nil, nil
		}
	}
	return swarm.Config{}, nil, notFound("config " + id)
}

func (s *Swarm) ConfigCreate(_ context.Context, spec swarm.ConfigSpec) (swarm.ConfigCreateResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.lostLeader(); err != nil {
		return swarm.ConfigCreateResponse{}, err
	}
	for _, c := range s.configs {
		if c.Spec.Name == spec.Name {
			return swarm.ConfigCreateResponse{}, cerrdefs.ErrAlreadyExists.WithMessage("config " + spec.Name + " already exists")
		}
	}
	c := &swarm.Config{ID: s.id("cfg-"), Spec: spec, Meta: swarm.Meta{Version: s.next(), CreatedAt: s.now()}}
	s.configs[c.ID] = c
	return swarm.ConfigCreateResponse{ID: c.ID}, nil
}

func (s *Swarm) ConfigUpdate(_ context.Context, id string, version swarm.Version, spec swarm.ConfigSpec) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.lostLeader(); err != nil {
		return err
	}
	c, ok := s.configs[id]
	if !ok {
		return notFound("config " + id)
	}
	if version.Index != c.Version.Index {
		return cerrdefs.ErrUnknown.WithMessage("rpc error: code = Unknown desc = update out of sequence")
	}
	c.Spec, c.Version = spec, s.next()
	return nil
}

func (s *Swarm) ConfigRemove(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.configs[id]; !ok {
		return notFound("config " + id)
	}
	delete(s.configs, id)
	return nil
}

// Heartbeat is the heartbeat label the controller wrote, or "".
func (s *Swarm) Heartbeat() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.configs {
		if c.Spec.Name == orchestrator.HeartbeatConfig {
			return c.Spec.Labels[orchestrator.HeartbeatLabel]
		}
	}
	return ""
}

func (s *Swarm) SecretList(context.Context, swarm.SecretListOptions) ([]swarm.Secret, error) {
	return nil, nil
}
func (s *Swarm) NetworkList(context.Context, network.ListOptions) ([]network.Summary, error) {
	return nil, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
