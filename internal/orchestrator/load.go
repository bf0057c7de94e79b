package orchestrator

// Load measurement for scaling policies: CPU and memory utilisation of a service's ready tasks,
// read from the Docker stats API. One engine API only reaches the containers of its own node,
// so on a multi-node swarm the utilisation is the average over the tasks that node runs, and
// Load says how many of the ready tasks that covers.

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"golang.org/x/sync/errgroup"
)

// statsConcurrency bounds the stats calls in flight.
const statsConcurrency = 16

// Load is the utilisation of a service's ready tasks.
type Load struct {
	// Ready is how many tasks run and are meant to (healthy where a healthcheck exists: Swarm
	// reports running only after it passes). Starting, failed and stopping tasks are left out.
	Ready int
	// Measured is how many of them had stats: those on the node the provider talks to.
	Measured int
	// CPU and Memory are average utilisation in percent of CPUBase and MemoryBase per task;
	// they are meaningful only when Measured > 0.
	CPU, Memory float64
	// CPUBase says what CPU 100% is: "the CPU limit (0.5 CPUs)", a reservation, or one CPU.
	CPUBase string
	// MemoryBase is the same for memory; empty when the service sets neither a memory limit
	// nor a reservation, in which case Memory cannot be computed.
	MemoryBase string
}

// ServiceLoad measures the ready tasks of a service. Containers on other nodes cannot be
// reached through this engine and are counted in Ready but not in Measured.
func (e *Engine) ServiceLoad(ctx context.Context, svc swarm.Service) (Load, error) {
	var load Load
	cpuBase, cpuText := cpuBaseOf(svc.Spec)
	memBase, memText := memoryBaseOf(svc.Spec)
	load.CPUBase, load.MemoryBase = cpuText, memText

	tasks, err := e.cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(
		filters.Arg("service", svc.ID), filters.Arg("desired-state", "running"))})
	if err != nil {
		return load, e.wrap("list tasks", err)
	}
	local, err := e.localNodeID(ctx)
	if err != nil {
		return load, err
	}
	var containers []string
	for _, t := range tasks {
		if t.DesiredState != swarm.TaskStateRunning || t.Status.State != swarm.TaskStateRunning {
			continue
		}
		load.Ready++
		if cs := t.Status.ContainerStatus; t.NodeID == local && cs != nil && cs.ContainerID != "" {
			containers = append(containers, cs.ContainerID)
		}
	}

	samples, err := e.sampleContainers(ctx, containers)
	if err != nil {
		return load, err
	}
	var cpuSum, memSum float64
	for _, s := range samples {
		if !s.ok {
			continue // stopped between the task list and the stats call
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
	return load, nil
}

type taskSample struct {
	ok     bool
	cores  float64 // CPUs in use over the sampling interval
	memory float64 // bytes in use, without the reclaimable page cache
}

// sampleContainers reads every container's stats concurrently. A non-streaming stats call
// returns the daemon's next sample together with the one before it, a second apart, which
// gives the CPU rate; it takes one to two seconds, whatever the number of containers. (A
// one-shot call waits for the next sample too, so two of them are no faster.)
func (e *Engine) sampleContainers(ctx context.Context, ids []string) ([]taskSample, error) {
	out := make([]taskSample, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(statsConcurrency)
	for i, id := range ids {
		g.Go(func() error {
			resp, err := e.cli.ContainerStats(gctx, id, false)
			if err != nil {
				if cerrdefs.IsNotFound(err) {
					return nil // stopped between the task list and the stats call
				}
				return e.wrap("read stats of container "+shortID(id), err)
			}
			defer func() { _ = resp.Body.Close() }()
			var st container.StatsResponse
			if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
				return fmt.Errorf("decode stats of container %s: %w", shortID(id), err)
			}
			var before container.StatsResponse
			before.Read, before.CPUStats = st.PreRead, st.PreCPUStats
			out[i] = sampleOf(before, st)
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
	info, err := e.cli.Info(ctx)
	if err != nil {
		return "", e.wrap("read engine info", err)
	}
	e.nodeID = info.Swarm.NodeID
	return e.nodeID, nil
}

// nodeIDCache is embedded in Engine.
type nodeIDCache struct {
	nodeMu sync.Mutex
	nodeID string
}
