package orchestrator

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

func TestSampleOf(t *testing.T) {
	at := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	reading := func(read time.Time, cpuNanos, mem uint64, stats map[string]uint64) container.StatsResponse {
		var st container.StatsResponse
		st.Read = read
		st.CPUStats.CPUUsage.TotalUsage = cpuNanos
		st.MemoryStats.Usage = mem
		st.MemoryStats.Stats = stats
		return st
	}
	tests := []struct {
		name          string
		before, after container.StatsResponse
		ok            bool
		cores, memory float64
	}{
		{"a twentieth of a CPU over half a second, cgroup v1 cache left out",
			reading(at, 1_000_000_000, 0, nil), reading(at.Add(500*time.Millisecond), 1_025_000_000, 10<<20, map[string]uint64{"total_inactive_file": 4 << 20}),
			true, 0.05, 6 << 20},
		{"two full CPUs, cgroup v2 cache left out",
			reading(at, 0, 0, nil), reading(at.Add(time.Second), 2_000_000_000, 8<<20, map[string]uint64{"inactive_file": 2 << 20}),
			true, 2, 6 << 20},
		{"cache larger than usage is ignored",
			reading(at, 0, 0, nil), reading(at.Add(time.Second), 0, 1<<20, map[string]uint64{"total_inactive_file": 2 << 20}),
			true, 0, 1 << 20},
		{"a counter that went backwards (restarted container) counts as idle",
			reading(at, 5_000_000_000, 0, nil), reading(at.Add(time.Second), 1_000_000_000, 0, nil),
			true, 0, 0},
		{"a stopped container has no read time", reading(at, 0, 0, nil), reading(time.Time{}, 0, 0, nil), false, 0, 0},
		{"the same reading twice gives no rate", reading(at, 0, 0, nil), reading(at, 0, 0, nil), false, 0, 0},
	}
	for _, tc := range tests {
		got := sampleOf(tc.before, tc.after)
		if got.ok != tc.ok || math.Abs(got.cores-tc.cores) > 1e-9 || got.memory != tc.memory {
			t.Errorf("%s: got %+v, want ok=%v cores=%v memory=%v", tc.name, got, tc.ok, tc.cores, tc.memory)
		}
	}
}

func TestUtilisationBases(t *testing.T) {
	spec := func(r *swarm.ResourceRequirements) swarm.ServiceSpec {
		return swarm.ServiceSpec{TaskTemplate: swarm.TaskSpec{Resources: r}}
	}
	tests := []struct {
		name    string
		spec    swarm.ServiceSpec
		cpu     float64
		cpuText string
		mem     float64
		memText string
	}{
		{"nothing set", spec(nil), 1, "one CPU (the service sets no CPU limit or reservation)", 0, ""},
		{"limits win over reservations",
			spec(&swarm.ResourceRequirements{Limits: &swarm.Limit{NanoCPUs: 500_000_000, MemoryBytes: 64 << 20}, Reservations: &swarm.Resources{NanoCPUs: 250_000_000, MemoryBytes: 32 << 20}}),
			0.5, "the CPU limit (0.5 CPUs)", 64 << 20, "the memory limit"},
		{"reservations when there is no limit",
			spec(&swarm.ResourceRequirements{Reservations: &swarm.Resources{NanoCPUs: 250_000_000, MemoryBytes: 32 << 20}}),
			0.25, "the CPU reservation (0.25 CPUs)", 32 << 20, "the memory reservation"},
	}
	for _, tc := range tests {
		c, ct := cpuBaseOf(tc.spec)
		m, mt := memoryBaseOf(tc.spec)
		if c != tc.cpu || ct != tc.cpuText || m != tc.mem || mt != tc.memText {
			t.Errorf("%s: cpu %v %q, memory %v %q", tc.name, c, ct, m, mt)
		}
	}
}

func TestLoadOf(t *testing.T) {
	one := uint64(1)
	spec := swarm.ServiceSpec{Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &one}},
		TaskTemplate: swarm.TaskSpec{Resources: &swarm.ResourceRequirements{Limits: &swarm.Limit{NanoCPUs: 500_000_000, MemoryBytes: 100 << 20}}}}
	nodes := []swarm.Node{
		{ID: "n1", Description: swarm.NodeDescription{Hostname: "mn-1"}},
		{ID: "n2", Description: swarm.NodeDescription{Hostname: "mn-2"}},
		{ID: "n3", Description: swarm.NodeDescription{Hostname: "mn-3"}},
	}
	ready := []swarm.Task{{ID: "a", NodeID: "n1"}, {ID: "b", NodeID: "n2"}, {ID: "c", NodeID: "n3"}, {ID: "d", NodeID: "n3"}}
	tests := []struct {
		name        string
		samples     map[string]taskSample
		measured    int
		cpu, memory float64
		unmeasured  []string
	}{
		{"every task", map[string]taskSample{"a": {true, 0.5, 50 << 20}, "b": {true, 0.25, 0}, "c": {true, 0, 0}, "d": {true, 0.25, 50 << 20}},
			4, 50, 25, nil},
		{"one node only (Docker stats of the manager)", map[string]taskSample{"a": {true, 0.05, 10 << 20}},
			1, 10, 10, []string{"mn-2", "mn-3"}},
		{"a container that stopped meanwhile is not measured", map[string]taskSample{"a": {true, 0.5, 0}, "b": {}, "c": {true, 0.5, 0}, "d": {true, 0.5, 0}},
			3, 100, 0, []string{"mn-2"}},
		{"no sample at all", nil, 0, 0, 0, []string{"mn-1", "mn-2", "mn-3"}},
	}
	for _, tc := range tests {
		l := loadOf(spec, ready, tc.samples, nodes)
		if l.Ready != 4 || l.Measured != tc.measured || math.Abs(l.CPU-tc.cpu) > 1e-9 || math.Abs(l.Memory-tc.memory) > 1e-9 || fmt.Sprint(l.Unmeasured) != fmt.Sprint(tc.unmeasured) {
			t.Errorf("%s: %+v; want measured %d of 4, cpu %v, memory %v, unmeasured on %v", tc.name, l, tc.measured, tc.cpu, tc.memory, tc.unmeasured)
		}
	}
}

func TestCAdvisorQueries(t *testing.T) {
	cpu, mem := CAdvisorQueries("svc1")
	if cpu != `sum by (container_label_com_docker_swarm_task_id) (irate(container_cpu_usage_seconds_total{container_label_com_docker_swarm_service_id="svc1"}[1m]))` ||
		mem != `sum by (container_label_com_docker_swarm_task_id) (container_memory_working_set_bytes{container_label_com_docker_swarm_service_id="svc1"})` {
		t.Errorf("queries:\n%s\n%s", cpu, mem)
	}
}

func TestTracksTaskLoad(t *testing.T) {
	labelled := func(p ScalingPolicy) swarm.ServiceSpec {
		return swarm.ServiceSpec{Annotations: swarm.Annotations{Labels: map[string]string{ScalingOwnerLabel: p.Label()}}}
	}
	tests := []struct {
		name string
		spec swarm.ServiceSpec
		want bool
	}{
		{"no policy", swarm.ServiceSpec{}, false},
		{"cpu", labelled(ScalingPolicy{MinReplicas: 1, MaxReplicas: 2, Metrics: []PolicyMetric{{Type: MetricCPU, TargetUtilization: "60"}}}), true},
		{"memory after prometheus", labelled(ScalingPolicy{MinReplicas: 1, MaxReplicas: 2, Metrics: []PolicyMetric{
			{Type: MetricPrometheus, Query: "up", Address: "http://p:9090", TargetValue: "1"}, {Type: MetricMemory, TargetUtilization: "80"}}}), true},
		{"prometheus only", labelled(ScalingPolicy{MinReplicas: 1, MaxReplicas: 2, Metrics: []PolicyMetric{
			{Type: MetricPrometheus, Query: "up", Address: "http://p:9090", TargetValue: "1"}}}), false},
		{"cpu from cAdvisor", labelled(ScalingPolicy{MinReplicas: 1, MaxReplicas: 2, Metrics: []PolicyMetric{{Type: MetricCPU, TargetUtilization: "60", Source: SourceCAdvisor}}}), false},
		{"schedules only", labelled(ScalingPolicy{MinReplicas: 1, MaxReplicas: 2}), false},
		{"unreadable label", swarm.ServiceSpec{Annotations: swarm.Annotations{Labels: map[string]string{ScalingOwnerLabel: "{"}}}, false},
	}
	for _, tc := range tests {
		if got := tracksTaskLoad(tc.spec); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

// The policies refreshed in one run share one measurement: however many policies ask, it costs
// one task list and the stats calls of each local container (one non-streaming call, or two
// one-shot rounds), and one service list, the snapshot's. Services of other tests with
// policies are measured too, so the stats calls are at least ours.
func TestLoadMeasuredOnceForAllPolicies(t *testing.T) {
	image := acctest.Env(t, "TEST_IMAGE")
	var mu sync.Mutex
	calls := map[string]int{}
	e := proxiedEngine(t, func(r *http.Request) {
		path := r.URL.Path[strings.Index(r.URL.Path[1:], "/")+1:] // without the API version
		if strings.HasPrefix(path, "/containers/") {
			path = "/containers/{id}/stats"
			if oneShot, _ := strconv.ParseBool(r.URL.Query().Get("one-shot")); oneShot {
				path += " one-shot"
			}
		}
		mu.Lock()
		calls[r.Method+" "+path]++
		mu.Unlock()
	}, nil)
	ctx := context.Background()
	cli := acctest.Docker(t)
	policy := ScalingPolicy{MinReplicas: 1, MaxReplicas: 1, Metrics: []PolicyMetric{{Type: MetricCPU, TargetUtilization: "60"}}}
	const services, replicas = 3, 2
	var names []string
	for range services {
		name := acctest.Name("load")
		names = append(names, name)
		n := uint64(replicas)
		acctest.RemoveServiceAtCleanup(t, cli, name)
		if _, err := cli.ServiceCreate(ctx, swarm.ServiceSpec{
			Annotations:  swarm.Annotations{Name: name, Labels: map[string]string{ScalingOwnerLabel: policy.Label()}},
			TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: image}},
			Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &n}},
		}, swarm.ServiceCreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range names {
		waitRunning(t, cli, name, replicas)
	}

	for _, tc := range []struct {
		mode           statsMode
		call           string
		callsPerTarget int
	}{
		{mode: statsCollector, call: "GET /containers/{id}/stats", callsPerTarget: 1},
		{mode: statsOneShot, call: "GET /containers/{id}/stats one-shot", callsPerTarget: 2},
	} {
		t.Run(tc.call, func(t *testing.T) {
			e.statsMode = tc.mode
			e.Invalidate()
			mu.Lock()
			clear(calls)
			mu.Unlock()
			var wg sync.WaitGroup
			for _, name := range names {
				wg.Add(1)
				go func() {
					defer wg.Done()
					target, err := e.ScalingTarget(ctx, name)
					if err != nil {
						t.Error(err)
						return
					}
					load, err := e.ServiceLoad(ctx, target.Service, "", "")
					if err != nil {
						t.Error(err)
						return
					}
					if load.Ready != replicas || load.Measured != replicas {
						t.Errorf("service %s: %d ready, %d measured; want %d of each", name, load.Ready, load.Measured, replicas)
					}
				}()
			}
			wg.Wait()
			mu.Lock()
			defer mu.Unlock()
			want := tc.callsPerTarget * services * replicas
			stats := calls["GET /containers/{id}/stats"] + calls["GET /containers/{id}/stats one-shot"]
			if calls["GET /services"] != 1 || calls["GET /tasks"] != 1 || calls[tc.call] < want || calls[tc.call] != stats {
				t.Errorf("%d policies measured with %v; want one service list, one task list and only %q calls, %d per container (at least %d)",
					services, calls, tc.call, tc.callsPerTarget, want)
			}
		})
	}
}

// Both ways of reading stats give the same rate of a busy task: about its whole CPU limit
// (a busy loop held to 0.5 CPUs), not a figure off by the window's length.
func TestServiceLoadOfBusyTask(t *testing.T) {
	image := acctest.Env(t, "TEST_IMAGE")
	ctx := context.Background()
	cli := acctest.Docker(t)
	name := acctest.Name("busy")
	acctest.RemoveServiceAtCleanup(t, cli, name)
	n := uint64(1)
	if _, err := cli.ServiceCreate(ctx, swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: name},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{Image: image, Env: []string{"BURN_CPU=1"}},
			Resources:     &swarm.ResourceRequirements{Limits: &swarm.Limit{NanoCPUs: 5e8}},
		},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &n}},
	}, swarm.ServiceCreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, cli, name, 1)
	e := proxiedEngine(t, func(*http.Request) {}, nil)
	for mode, how := range map[statsMode]string{statsCollector: "one non-streaming call", statsOneShot: "two one-shot rounds"} {
		e.statsMode = mode
		e.Invalidate()
		target, err := e.ScalingTarget(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		// The service carries no policy label, so the shared measurement does not cover it:
		// it is measured on its own.
		load, err := e.ServiceLoad(ctx, target.Service, "", "")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: cpu %.1f %% of %s", how, load.CPU, load.CPUBase)
		// Under a loaded CI machine the loop may get less than its limit; far less than 20 %
		// or above 150 % would be a wrong window or wrong counters.
		if load.Measured != 1 || load.CPU < 20 || load.CPU > 150 {
			t.Errorf("%s: %d of %d tasks measured at %.1f %% CPU; want 1 measured at about 100 %% of its limit", how, load.Measured, load.Ready, load.CPU)
		}
	}
}

// waitRunning waits up to a minute for the service to run n tasks.
func waitRunning(t *testing.T, cli *client.Client, name string, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for len(acctest.RunningTasks(t, cli, name)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("service %s did not start %d tasks", name, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// A refreshed service that carries a policy starts the shared measurement; its policy's
// ServiceLoad then takes that measurement (or joins it) instead of making another. A service
// without one starts nothing.
func TestPrefetchLoad(t *testing.T) {
	image := acctest.Env(t, "TEST_IMAGE")
	ctx := context.Background()
	cli := acctest.Docker(t)
	policy := ScalingPolicy{MinReplicas: 1, MaxReplicas: 1, Metrics: []PolicyMetric{{Type: MetricCPU, TargetUtilization: "60"}}}
	names := map[bool]string{}
	for _, tracked := range []bool{false, true} {
		name := acctest.Name("prefetch")
		names[tracked] = name
		labels := map[string]string{}
		if tracked {
			labels[ScalingOwnerLabel] = policy.Label()
		}
		n := uint64(1)
		acctest.RemoveServiceAtCleanup(t, cli, name)
		if _, err := cli.ServiceCreate(ctx, swarm.ServiceSpec{
			Annotations:  swarm.Annotations{Name: name, Labels: labels},
			TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: image}},
			Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &n}},
		}, swarm.ServiceCreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitRunning(t, cli, name, 1)
	}
	var mu sync.Mutex
	taskLists := 0
	e := proxiedEngine(t, func(r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/tasks") {
			mu.Lock()
			taskLists++
			mu.Unlock()
		}
	}, nil)
	lists := func() int { mu.Lock(); defer mu.Unlock(); return taskLists }
	untracked, err := e.ScalingTarget(ctx, names[false])
	if err != nil {
		t.Fatal(err)
	}
	e.PrefetchLoad(untracked.Service)
	time.Sleep(time.Second)
	if n := lists(); n != 0 {
		t.Fatalf("a service without a policy started a measurement (%d task lists)", n)
	}
	tracked, err := e.ScalingTarget(ctx, names[true])
	if err != nil {
		t.Fatal(err)
	}
	e.PrefetchLoad(tracked.Service)
	deadline := time.Now().Add(30 * time.Second)
	for lists() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a service with a policy started no measurement")
		}
		time.Sleep(20 * time.Millisecond)
	}
	load, err := e.ServiceLoad(ctx, tracked.Service, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if n := lists(); n != 1 || load.Measured != 1 {
		t.Errorf("after the prefetch, the policy's load made %d task lists in all and measured %d of %d tasks; want 1 list (the prefetch's) and 1 task", n, load.Measured, load.Ready)
	}
}
