package provider

import (
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// BenchmarkPlan measures the provider's own work in `terraform plan -refresh=false` of a large
// unchanged configuration: 1,000 swarm_service instances, each with ports, a healthcheck,
// resources, placement, mounts and rollout settings (testdata/bench-service-*.json). One op
// is what Terraform asks of the provider for one instance: UpgradeResourceState of its stored
// state, ValidateResourceConfig and PlanResourceChange. It needs no Docker, so a regression
// shows in a profile without a swarm:
//
//	go test ./internal/provider -run '^$' -bench Plan -benchmem -cpuprofile cpu.out
//	go tool pprof -top -cum provider.test cpu.out
//
// "logs=default" is what every user gets (the environment has no TF_LOG*, and the loggers' levels
// are set as main.go sets them); "logs=TF_LOG=trace" is a run with full logs. Logs are written
// to /dev/null. The garbage collector is set as main.go sets it (SetRuntimeDefaults), unless
// GOGC or GOMEMLIMIT is set.
func BenchmarkPlan(b *testing.B) {
	for _, tc := range []struct {
		name string
		env  map[string]string
	}{
		{name: "logs=default"},
		{name: "logs=TF_LOG=trace", env: map[string]string{"TF_LOG": "trace"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for _, name := range []string{"TF_LOG", "TF_LOG_PROVIDER", envLogSDK, envLogSDKProto, envLogSDKFramework, envLogProviderOwn} {
				b.Setenv(name, "")
			}
			for k, v := range tc.env {
				b.Setenv(k, v)
			}
			for k, v := range LogLevelDefaults(os.Getenv) {
				b.Setenv(k, v)
			}
			devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			if err != nil {
				b.Fatal(err)
			}
			saved := os.Stderr
			os.Stderr = devNull
			defer func() { os.Stderr = saved; _ = devNull.Close() }()

			gc, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
			defer func() { debug.SetGCPercent(gc); debug.SetMemoryLimit(limit) }()
			SetRuntimeDefaults(os.Getenv)
			c := newProtoClient(b)
			instances := planInstances(b, c, 1000)
			b.ReportAllocs()
			cpu := cpuTime()
			for i := 0; b.Loop(); i++ {
				in := instances[i%len(instances)]
				in.plan(b, c)
			}
			// CPU time says more than wall time on a machine that runs other work too.
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the CPU time this process has used, in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// planInstance is one swarm_service as Terraform holds it during a plan.
type planInstance struct {
	stored []byte // the attributes in the state file (JSON)
	prior  []byte // the state after UpgradeResourceState (msgpack)
	config []byte // the configuration (msgpack)
}

// planInstances makes n distinct instances of the benchmark's service: names, IDs and one
// environment value differ.
func planInstances(tb testing.TB, c *protoClient, n int) []planInstance {
	tb.Helper()
	state, err := os.ReadFile("testdata/bench-service-state.json")
	if err != nil {
		tb.Fatal(err)
	}
	config, err := os.ReadFile("testdata/bench-service-config.json")
	if err != nil {
		tb.Fatal(err)
	}
	typ := resourceType(tb, "swarm_service")
	out := make([]planInstance, n)
	for i := range out {
		r := strings.NewReplacer(`"bench-rich-0"`, fmt.Sprintf(`"bench-rich-%d"`, i), `"INDEX": "0"`, fmt.Sprintf(`"INDEX": "%d"`, i),
			`"benchrich00000000000000000"`, fmt.Sprintf(`"benchrich%017d"`, i))
		in := planInstance{stored: []byte(r.Replace(string(state))), config: encode(tb, typ, r.Replace(string(config)))}
		resp := c.call(tb, "UpgradeResourceState", map[string]any{
			"type_name": "swarm_service", "version": int64(serviceSchemaVersion),
			"raw_state": protoMessage(tb, "tfplugin6.RawState", map[string]any{"json": in.stored}),
		})
		in.prior = msgpackOf(resp, "upgraded_state")
		out[i] = in
	}
	// The benchmark is of a plan with no change: check that it is one.
	resp := out[0].plan(tb, c)
	planned, err := (&tfprotov6.DynamicValue{MsgPack: msgpackOf(resp, "planned_state")}).Unmarshal(typ)
	if err != nil {
		tb.Fatal(err)
	}
	prior, err := (&tfprotov6.DynamicValue{MsgPack: out[0].prior}).Unmarshal(typ)
	if err != nil {
		tb.Fatal(err)
	}
	if diffs, _ := prior.Diff(planned); len(diffs) > 0 {
		tb.Fatalf("the benchmark's plan is not empty: %v", diffs)
	}
	if rr := resp.Get(resp.Descriptor().Fields().ByName(protoreflect.Name("requires_replace"))).List(); rr.Len() > 0 {
		tb.Fatalf("the benchmark's plan replaces the service")
	}
	return out
}

// plan makes the calls Terraform makes for the instance in `terraform plan -refresh=false`,
// and returns the PlanResourceChange response.
func (in planInstance) plan(tb testing.TB, c *protoClient) protoreflect.Message {
	c.call(tb, "UpgradeResourceState", map[string]any{
		"type_name": "swarm_service", "version": int64(serviceSchemaVersion),
		"raw_state": protoMessage(tb, "tfplugin6.RawState", map[string]any{"json": in.stored}),
	})
	c.call(tb, "ValidateResourceConfig", map[string]any{"type_name": "swarm_service", "config": dynamicValue(tb, in.config)})
	// Terraform proposes the prior state when the configuration has not changed.
	return c.call(tb, "PlanResourceChange", map[string]any{
		"type_name": "swarm_service", "prior_state": dynamicValue(tb, in.prior),
		"proposed_new_state": dynamicValue(tb, in.prior), "config": dynamicValue(tb, in.config),
	})
}
