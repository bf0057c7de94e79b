package provider

import (
	"context"
	"errors"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
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

// listTypes are the resource types that have a list resource.
var listTypes = []string{"swarm_service", "swarm_job", "swarm_stack", "swarm_network", "swarm_secret", "swarm_config", "swarm_node"}

// The list calls pass through ProtocolServer, served as main.go serves it: the metadata and
// the schema name every list resource, and a list block's config is validated by the
// framework (without the pass-through, tf6server answers that the provider lists nothing).
func TestProtocolServerListResources(t *testing.T) {
	// tf6server finds the list calls through this interface (deprecated: its methods are to
	// move into ProviderServer in a later terraform-plugin-go).
	if _, ok := ProtocolServer("test")().(tfprotov6.ProviderServerWithListResource); !ok { //nolint:staticcheck // what tf6server asserts today
		t.Fatal("ProtocolServer's server does not implement the list calls")
	}
	for name, level := range LogLevelDefaults(os.Getenv) { // quiet, as main.go sets it up
		t.Setenv(name, level)
	}
	c := newProtoClient(t)
	meta := c.call(t, "GetMetadata", nil)
	var listed []string
	lists := meta.Get(meta.Descriptor().Fields().ByName("list_resources")).List()
	for i := range lists.Len() {
		m := lists.Get(i).Message()
		listed = append(listed, m.Get(m.Descriptor().Fields().ByName("type_name")).String())
	}
	schemas := c.call(t, "GetProviderSchema", nil)
	inSchema := schemas.Get(schemas.Descriptor().Fields().ByName("list_resource_schemas")).Map()
	for _, typ := range listTypes {
		if !slices.Contains(listed, typ) {
			t.Errorf("GetMetadata lists no list resource %s (it lists %v)", typ, listed)
		}
		if !inSchema.Has(protoreflect.ValueOfString(typ).MapKey()) {
			t.Errorf("GetProviderSchema has no list resource schema for %s", typ)
		}
	}

	resp, err := providerserver.NewProtocol6(New("test")())().GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	configType := resp.ListResourceSchemas["swarm_service"].ValueType()
	validate := func(config string) []string {
		req := protoMessage(t, "tfplugin6.ValidateListResourceConfig.Request", map[string]any{
			"type_name": "swarm_service", "config": dynamicValue(t, encode(t, configType, config))})
		out := dynamicpb.NewMessage(protoDescriptor(t, "tfplugin6.ValidateListResourceConfig.Response"))
		if err := c.conn.Invoke(context.Background(), "/tfplugin6.Provider/ValidateListResourceConfig", req, out); err != nil {
			t.Fatalf("ValidateListResourceConfig: %v", err)
		}
		return diagnosticSummaries(out)
	}
	if got := validate(`{"name_prefix": "web-", "labels": {"team": "shop"}, "stack": "shop"}`); len(got) != 0 {
		t.Errorf("a valid list config: diagnostics %v", got)
	}
	if got := validate(`{"stack": "no spaces allowed"}`); !slices.Contains(got, "ERROR: Invalid Stack Name") {
		t.Errorf("a bad stack name: diagnostics %v, want Invalid Stack Name", got)
	}
}
