package provider

import (
	"context"
	"errors"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// keepingServer keeps the context of every request, as the framework does until StopProvider.
type keepingServer struct {
	tfprotov6.ProviderServer
	kept []context.Context
	seen func(ctx context.Context)
}

func (s *keepingServer) PlanResourceChange(ctx context.Context, _ *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	s.kept = append(s.kept, ctx)
	s.seen(ctx)
	return &tfprotov6.PlanResourceChangeResponse{}, nil
}

type testKey struct{}

// A request's context is the request's until it returns; what is kept of it afterwards holds
// none of its values and reports it ended, as gRPC's own context does by then.
func TestReleasingServerContext(t *testing.T) {
	deadline := time.Now().Add(time.Hour)
	parent, cancel := context.WithDeadline(context.WithValue(context.Background(), testKey{}, "logger"), deadline)
	defer cancel()
	inner := &keepingServer{}
	inner.seen = func(ctx context.Context) {
		if ctx.Value(testKey{}) != "logger" {
			t.Error("during the request: the request's values are not on its context")
		}
		if d, ok := ctx.Deadline(); !ok || !d.Equal(deadline) {
			t.Errorf("during the request: deadline %v %v, want %v", d, ok, deadline)
		}
		if ctx.Err() != nil {
			t.Errorf("during the request: context ended: %v", ctx.Err())
		}
		// A context the callee derives (as the framework does) ends with the request's.
		child, stop := context.WithCancel(ctx)
		defer stop()
		inner.kept = append(inner.kept, child)
	}
	srv := releasingServer{inner}
	if _, err := srv.PlanResourceChange(parent, &tfprotov6.PlanResourceChangeRequest{}); err != nil {
		t.Fatal(err)
	}
	for i, ctx := range inner.kept {
		if ctx.Value(testKey{}) != nil {
			t.Errorf("kept context %d: still holds the request's values", i)
		}
		select {
		case <-ctx.Done():
		default:
			t.Errorf("kept context %d: not done", i)
		}
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Errorf("kept context %d: Err = %v, want context.Canceled", i, ctx.Err())
		}
	}

	// Cancelling the request (StopProvider, or Terraform going away) reaches the callee.
	parent2, cancel2 := context.WithCancel(context.Background())
	inner.seen = func(ctx context.Context) {
		cancel2()
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
			t.Error("a cancelled request's context did not end")
		}
	}
	if _, err := srv.PlanResourceChange(parent2, &tfprotov6.PlanResourceChangeRequest{}); err != nil {
		t.Fatal(err)
	}
}

// Through the real stack (gRPC, tf6server, the framework): the heap the provider keeps after
// many requests. The framework alone keeps every request's context and its loggers; served by
// ProtocolServer, what it keeps is a few hundred bytes a request.
func TestProtocolServerKeepsNoRequestContexts(t *testing.T) {
	if testing.Short() {
		t.Skip("sends thousands of requests")
	}
	const requests = 3000
	// Logging as main.go sets it up (the SDK's TRACE lines off), so the test prints nothing.
	for name, level := range LogLevelDefaults(os.Getenv) {
		t.Setenv(name, level)
	}
	kept := func(server func() tfprotov6.ProviderServer) uint64 {
		c := newProtoClientOf(t, server)
		config := dynamicValue(t, encode(t, dataSourceType(t, "swarm_cluster"), `{}`))
		validate := func() {
			c.call(t, "ValidateDataResourceConfig", map[string]any{"type_name": "swarm_cluster", "config": config})
		}
		validate()
		before := liveHeap()
		for range requests {
			validate()
		}
		after := liveHeap()
		runtime.KeepAlive(c)
		if after < before {
			return 0
		}
		return (after - before) / requests
	}
	framework := kept(providerserver.NewProtocol6(New("test")()))
	ours := kept(ProtocolServer("test"))
	t.Logf("live heap kept per request: framework server %d B, ProtocolServer %d B", framework, ours)
	if ours > 1024 {
		t.Errorf("ProtocolServer keeps %d B a request (the framework alone: %d B); want under 1 KiB", ours, framework)
	}
	if framework < 4*1024 {
		t.Logf("the framework no longer keeps request contexts (%d B a request): ProtocolServer's wrapper may be unnecessary", framework)
	}
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
