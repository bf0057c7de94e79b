package orchestrator

// Load measurement for scaling policies: CPU and memory utilisation of a service's ready tasks.
// Two sources: the Docker stats API of the engine the provider talks to, which reaches only
// the containers of that engine's own node (on a multi-node swarm the utilisation is then the
// average over the tasks that node runs); and cAdvisor's per-container metrics, read through a
// Prometheus that scrapes cAdvisor on every node, which reaches every task. Either way Load
// says how many of the ready tasks were measured, and where the others run.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/versions"
	"golang.org/x/sync/errgroup"
)

// maxStatsCalls bounds the stats calls in flight: enough that the containers of every measured
// service are read in one stats cycle of the daemon. Over ssh each connection is an ssh
// process, so fewer.
const (
	maxStatsCalls    = 128
	maxStatsCallsSSH = 16
)

// Load is the utilisation of a service's ready tasks.
type Load struct {
	// Ready is how many tasks run and are meant to (healthy where a healthcheck exists: Swarm
	// reports running only after it passes). Starting, failed and stopping tasks are left out.
	Ready int
	// Measured is how many of them had stats.
	Measured int
	// Unmeasured names the nodes (hostnames, sorted) of the ready tasks without stats.
	Unmeasured []string
	// CPU and Memory are average utilisation in percent of CPUBase and MemoryBase per task;
	// they are meaningful only when Measured > 0.
	CPU, Memory float64
	// CPUBase says what CPU 100% is: "the CPU limit (0.5 CPUs)", a reservation, or one CPU.
	CPUBase string
	// MemoryBase is the same for memory; empty when the service sets neither a memory limit
	// nor a reservation, in which case Memory cannot be computed.
	MemoryBase string
}

// ServiceLoad measures the ready tasks of a service from source (SourceDocker when empty, or
// SourceCAdvisor through the Prometheus at address). Through Docker stats, containers on other
// nodes than the engine's own cannot be reached: they count in Ready, not in Measured.
//
// Through Docker stats, one measurement covers every service in the swarm whose scaling policy
// reads cpu or memory from Docker: the first call takes it for all of them at once (one task
// list, then the stats of every local container concurrently), and the other policies refreshed
// in the same run share it, as they share the snapshot. A CPU rate needs two readings of each
// container a second apart (see statsMode), so a refresh of 50 policies waits for them once
// rather than once per Terraform-parallelism batch of policies. The engine
// cannot tell which policies belong to this Terraform configuration, so policies of other
// configurations on the same swarm are measured too. When they run more containers on this
// node than one round of stats calls takes (maxStatsCalls), nothing is shared and each policy
// measures its own service, as does a policy the shared measurement did not cover (newer than
// the service list). Writes drop the measurement with the snapshot.
func (e *Engine) ServiceLoad(ctx context.Context, svc swarm.Service, source, address string) (Load, error) {
	var m serviceSamples
	if source == SourceCAdvisor {
		measured, err := e.measure(ctx, []swarm.Service{svc}, 0, false)
		if err != nil {
			return Load{}, err
		}
		m = measured[0]
		if m.samples, err = cadvisorSamples(ctx, address, svc.ID); err != nil {
			return Load{}, err
		}
	} else {
		shared, err := e.snap.loads.get(ctx, e.SnapshotTTL, e.measureTracked)
		if err != nil {
			return Load{}, err
		}
		found := false
		for _, s := range shared {
			if s.serviceID == svc.ID {
				m, found = s, true
			}
		}
		if !found {
			measured, err := e.measure(ctx, []swarm.Service{svc}, 0, true)
			if err != nil {
				return Load{}, err
			}
			m = measured[0]
		}
	}
	nodes, err := e.Nodes(ctx)
	if err != nil {
		return Load{}, err
	}
	return loadOf(svc.Spec, m.ready, m.samples, nodes), nil
}

// PrefetchLoad starts, in the background, the shared measurement that ServiceLoad gives the
// scaling policies of this run, when svc carries a policy that reads cpu or memory from Docker
// stats. A refresh reads each service before its policy (the policy refers to it), so the
// measurement (two stats readings of every tracked container, a second or more apart) runs
// while the other services are still being refreshed, not after them. It measures what the
// policies would measure, once: a measurement already shared or in flight is not repeated.
func (e *Engine) PrefetchLoad(svc swarm.Service) {
	if !tracksTaskLoad(svc.Spec) {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = e.snap.loads.get(ctx, e.SnapshotTTL, e.measureTracked) // ServiceLoad reports errors
	}()
}

// serviceSamples is what one measurement saw of a service's tasks: those that run and are
// meant to, on every node, and the samples of those it could measure, by task ID.
type serviceSamples struct {
	serviceID string
	ready     []swarm.Task
	samples   map[string]taskSample
}

// tracksTaskLoad says whether the service carries a scaling policy with a cpu or memory metric
// read from Docker stats.
func tracksTaskLoad(spec swarm.ServiceSpec) bool {
	label := spec.Labels[ScalingOwnerLabel]
	if label == "" {
		return false
	}
	p, err := ParseScalingPolicy(label)
	if err != nil {
		return false
	}
	for _, m := range p.Metrics {
		if (m.Type == MetricCPU || m.Type == MetricMemory) && m.Source != SourceCAdvisor {
			return true
		}
	}
	return false
}

// measureTracked measures every service in the snapshot whose policy tracks cpu or memory.
func (e *Engine) measureTracked(ctx context.Context) ([]serviceSamples, error) {
	services, err := e.Services(ctx)
	if err != nil {
		return nil, err
	}
	var tracked []swarm.Service
	for _, s := range services {
		if tracksTaskLoad(s.Spec) {
			tracked = append(tracked, s)
		}
	}
	return e.measure(ctx, tracked, e.statsCalls(), true)
}

// measure lists the ready tasks of services with one task list and, with stats, reads the
// stats of those on this engine's node all at once. The result has one entry per service, in
// order. With a limit above 0, services that run more containers on this node than limit are
// not measured: the result is nil.
func (e *Engine) measure(ctx context.Context, services []swarm.Service, limit int, stats bool) ([]serviceSamples, error) {
	if len(services) == 0 {
		return nil, nil
	}
	out := make([]serviceSamples, len(services))
	index := make(map[string]int, len(services))
	args := filters.NewArgs(filters.Arg("desired-state", "running"))
	for i, s := range services {
		out[i] = serviceSamples{serviceID: s.ID, samples: map[string]taskSample{}}
		index[s.ID] = i
		args.Add("service", s.ID)
	}
	tasks, err := e.listTasks(ctx, args)
	if cerrdefs.IsNotFound(err) {
		// A service went away since it was listed: list every running task instead.
		tasks, err = e.listTasks(ctx, filters.NewArgs(filters.Arg("desired-state", "running")))
	}
	if err != nil {
		return nil, err
	}
	local := ""
	if stats {
		if local, err = e.localNodeID(ctx); err != nil {
			return nil, err
		}
	}
	type owner struct {
		service int
		task    string
	}
	var containers []string
	var owners []owner
	for _, t := range tasks {
		i, ok := index[t.ServiceID]
		if !ok || t.DesiredState != swarm.TaskStateRunning || t.Status.State != swarm.TaskStateRunning {
			continue
		}
		out[i].ready = append(out[i].ready, t)
		if cs := t.Status.ContainerStatus; stats && t.NodeID == local && cs != nil && cs.ContainerID != "" {
			containers = append(containers, cs.ContainerID)
			owners = append(owners, owner{i, t.ID})
		}
	}
	if !stats {
		return out, nil
	}
	if limit > 0 && len(containers) > limit {
		return nil, nil
	}
	samples, err := e.sampleContainers(ctx, containers)
	if err != nil {
		return nil, err
	}
	for k, s := range samples {
		out[owners[k].service].samples[owners[k].task] = s // a container that stopped meanwhile has ok false
	}
	return out, nil
}

// loadOf averages the samples of the ready tasks (by task ID) into utilisation against the
// service's bases, and names the nodes of the tasks without a sample.
func loadOf(spec swarm.ServiceSpec, ready []swarm.Task, samples map[string]taskSample, nodes []swarm.Node) Load {
	load := Load{Ready: len(ready)}
	cpuBase, cpuText := cpuBaseOf(spec)
	memBase, memText := memoryBaseOf(spec)
	load.CPUBase, load.MemoryBase = cpuText, memText
	names := map[string]string{}
	for _, n := range nodes {
		names[n.ID] = nodeName(n)
	}
	var cpuSum, memSum float64
	unmeasured := map[string]bool{}
	for _, t := range ready {
		s, ok := samples[t.ID]
		if !ok || !s.ok {
			name := names[t.NodeID]
			if name == "" {
				name = t.NodeID
			}
			unmeasured[name] = true
			continue
		}
		load.Measured++
		cpuSum += s.cores / cpuBase * 100
		if memBase > 0 {
			memSum += s.memory / memBase * 100
		}
	}
	if load.Measured > 0 {
		load.CPU = cpuSum / float64(load.Measured)
		load.Memory = memSum / float64(load.Measured)
	}
	load.Unmeasured = slices.Sorted(maps.Keys(unmeasured))
	return load
}

// cAdvisor's names: it exports each container label as a Prometheus label, prefixed and with
// dots turned into underscores.
const (
	cadvisorTaskLabel    = "container_label_com_docker_swarm_task_id"
	cadvisorServiceLabel = "container_label_com_docker_swarm_service_id"
	// cadvisorRateWindow is how far back the CPU rate looks for its two samples: it suits
	// scrape intervals up to 30s.
	cadvisorRateWindow = "1m"
)

// CAdvisorQueries are the instant queries that read a service's per-task CPU use (CPUs) and
// memory working set (bytes, without reclaimable page cache, as docker stats counts it) from
// cAdvisor's metrics. Series of each task are summed (older cAdvisors export CPU per core).
// The CPU rate is taken between the last two samples (irate), as metrics-server takes it for
// Kubernetes' HPA: rate over a window would understate a task younger than the window, since
// Prometheus does not extrapolate a series far beyond its first sample.
func CAdvisorQueries(serviceID string) (cpu, memory string) {
	sel := fmt.Sprintf(`{%s=%q}`, cadvisorServiceLabel, serviceID)
	cpu = fmt.Sprintf(`sum by (%s) (irate(container_cpu_usage_seconds_total%s[%s]))`, cadvisorTaskLabel, sel, cadvisorRateWindow)
	memory = fmt.Sprintf(`sum by (%s) (container_memory_working_set_bytes%s)`, cadvisorTaskLabel, sel)
	return cpu, memory
}

// cadvisorSamples reads every task's CPU and memory of the service from cAdvisor's metrics in
// the Prometheus at address, by task ID. A task needs both to count as measured.
func cadvisorSamples(ctx context.Context, address, serviceID string) (map[string]taskSample, error) {
	cpuQuery, memQuery := CAdvisorQueries(serviceID)
	cpu, err := QueryPrometheusSeries(ctx, nil, address, cpuQuery)
	if err != nil {
		return nil, err
	}
	mem, err := QueryPrometheusSeries(ctx, nil, address, memQuery)
	if err != nil {
		return nil, err
	}
	memByTask := map[string]float64{}
	for _, s := range mem {
		memByTask[s.Labels[cadvisorTaskLabel]] = s.Value
	}
	out := map[string]taskSample{}
	for _, s := range cpu {
		task := s.Labels[cadvisorTaskLabel]
		m, ok := memByTask[task]
		if task == "" || !ok || math.IsNaN(s.Value) || math.IsNaN(m) {
			continue
		}
		out[task] = taskSample{ok: true, cores: max(0, s.Value), memory: m}
	}
	return out, nil
}

type taskSample struct {
	ok     bool
	cores  float64 // CPUs in use over the sampling interval
	memory float64 // bytes in use, without the reclaimable page cache
}

// statsCalls is how many stats calls may be in flight.
func (e *Engine) statsCalls() int {
	if strings.HasPrefix(e.host, "ssh://") {
		return maxStatsCallsSSH
	}
	return maxStatsCalls
}

// How the engine takes two stats readings of each container for a CPU rate.
type statsMode int

const (
	// statsAuto chooses by the engine's API version.
	statsAuto statsMode = iota
	// statsCollector: one non-streaming call per container, which returns the daemon's next
	// reading together with the one before it. The daemon's collector takes them: it reads
	// every subscribed container in turn, then sleeps a second, so the call takes one to two
	// cycles, and a cycle grows with the containers read (50 containers: 2.4 s on a 2-core
	// host, against 1.1 s for one; BENCHMARKS.md).
	statsCollector
	// statsOneShot: two rounds of one-shot calls, statsInterval apart. From Engine API 1.44
	// (Docker 25, moby/moby#46448) a one-shot call reads the container when asked, so both
	// rounds take little more than statsInterval (50 containers: 1.2 s on Docker 28, against
	// 2.4 s for statsCollector). Older engines answer a one-shot call from the collector's
	// next cycle, which makes two rounds slower than statsCollector (3.5 s on Docker 20.10).
	statsOneShot
)

const (
	// statsInterval is the window of a CPU rate from two one-shot rounds: a second, as the
	// daemon's collector takes its two readings.
	statsInterval = time.Second
	// oneShotAPI is the first Engine API version whose one-shot stats read the container at
	// once.
	oneShotAPI = "1.44"
)

// statsReadings is how the engine reads stats: statsMode unless set, else by API version.
func (e *Engine) statsReadings() statsMode {
	if e.statsMode != statsAuto {
		return e.statsMode
	}
	if versions.GreaterThanOrEqualTo(e.cli.ClientVersion(), oneShotAPI) {
		return statsOneShot
	}
	return statsCollector
}

// sampleContainers reads every container's CPU rate and memory, concurrently (see statsMode).
func (e *Engine) sampleContainers(ctx context.Context, ids []string) ([]taskSample, error) {
	out := make([]taskSample, len(ids))
	if e.statsReadings() == statsCollector {
		readings, err := e.readStats(ctx, ids, false)
		if err != nil {
			return nil, err
		}
		for i, r := range readings {
			var before container.StatsResponse
			before.Read, before.CPUStats = r.PreRead, r.PreCPUStats
			out[i] = sampleOf(before, r)
		}
		return out, nil
	}
	first, err := e.readStats(ctx, ids, true)
	if err != nil {
		return nil, err
	}
	wait := time.NewTimer(statsInterval)
	defer wait.Stop()
	select {
	case <-wait.C:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	second, err := e.readStats(ctx, ids, true)
	if err != nil {
		return nil, err
	}
	for i := range ids {
		out[i] = sampleOf(first[i], second[i]) // a container gone in either round has a zero reading: not ok
	}
	return out, nil
}

// readStats makes one stats call per container, concurrently: one-shot, or non-streaming (the
// daemon's next reading with the one before it). A container that no longer exists has a zero
// reading.
func (e *Engine) readStats(ctx context.Context, ids []string, oneShot bool) ([]container.StatsResponse, error) {
	out := make([]container.StatsResponse, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.statsCalls())
	for i, id := range ids {
		g.Go(func() error {
			var resp container.StatsResponseReader
			var err error
			if oneShot {
				resp, err = e.cli.ContainerStatsOneShot(gctx, id)
			} else {
				resp, err = e.cli.ContainerStats(gctx, id, false)
			}
			if err != nil {
				if cerrdefs.IsNotFound(err) {
					return nil // stopped between the task list and the stats call
				}
				return e.wrap("read stats of container "+shortID(id), err)
			}
			defer func() { _ = resp.Body.Close() }()
			if err := json.NewDecoder(resp.Body).Decode(&out[i]); err != nil {
				return fmt.Errorf("decode stats of container %s: %w", shortID(id), err)
			}
			return nil
		})
	}
	return out, g.Wait()
}

// sampleOf turns two stats readings of a container into CPU and memory use. A container that
// has stopped reports a zero read time.
func sampleOf(before, after container.StatsResponse) taskSample {
	wall := after.Read.Sub(before.Read)
	if before.Read.IsZero() || after.Read.IsZero() || wall <= 0 {
		return taskSample{}
	}
	used := float64(after.CPUStats.CPUUsage.TotalUsage) - float64(before.CPUStats.CPUUsage.TotalUsage)
	s := taskSample{ok: true, cores: max(0, used) / float64(wall.Nanoseconds())}
	mem := float64(after.MemoryStats.Usage)
	// As docker stats does: page cache that can be dropped is not in use (cgroup v1 names it
	// total_inactive_file, v2 inactive_file).
	for _, key := range []string{"total_inactive_file", "inactive_file"} {
		if v, ok := after.MemoryStats.Stats[key]; ok && float64(v) < mem {
			mem -= float64(v)
			break
		}
	}
	s.memory = mem
	return s
}

// cpuBaseOf is what 100% CPU means for one task: its limit, else its reservation, else one CPU.
func cpuBaseOf(spec swarm.ServiceSpec) (float64, string) {
	if r := spec.TaskTemplate.Resources; r != nil {
		if r.Limits != nil && r.Limits.NanoCPUs > 0 {
			c := float64(r.Limits.NanoCPUs) / 1e9
			return c, fmt.Sprintf("the CPU limit (%s CPUs)", scalingNumber(c))
		}
		if r.Reservations != nil && r.Reservations.NanoCPUs > 0 {
			c := float64(r.Reservations.NanoCPUs) / 1e9
			return c, fmt.Sprintf("the CPU reservation (%s CPUs)", scalingNumber(c))
		}
	}
	return 1, "one CPU (the service sets no CPU limit or reservation)"
}

// memoryBaseOf is what 100% memory means for one task: its limit, else its reservation.
func memoryBaseOf(spec swarm.ServiceSpec) (float64, string) {
	if r := spec.TaskTemplate.Resources; r != nil {
		if r.Limits != nil && r.Limits.MemoryBytes > 0 {
			return float64(r.Limits.MemoryBytes), "the memory limit"
		}
		if r.Reservations != nil && r.Reservations.MemoryBytes > 0 {
			return float64(r.Reservations.MemoryBytes), "the memory reservation"
		}
	}
	return 0, ""
}

// localNodeID is the swarm node ID of the engine the provider talks to, read once.
func (e *Engine) localNodeID(ctx context.Context) (string, error) {
	e.nodeMu.Lock()
	defer e.nodeMu.Unlock()
	if e.nodeID != "" {
		return e.nodeID, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	info, err := read(ctx, e, "read engine info", e.cli.Info)
	if err != nil {
		return "", err
	}
	e.nodeID = info.Swarm.NodeID
	return e.nodeID, nil
}

// nodeIDCache is embedded in Engine.
type nodeIDCache struct {
	nodeMu sync.Mutex
	nodeID string
}
