package provider

// A client of the provider's protocol server, in this process and without Docker, for the
// plan benchmark and the logging tests. Requests go over gRPC to the same server main.go
// serves: terraform-plugin-go's tf6server (a logger per request, the protocol's own log lines),
// then the framework, then this provider. The protocol's message types are internal to
// terraform-plugin-go, so requests and responses are built from its registered descriptors.

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

const providerAddress = "registry.terraform.io/swarmform/swarm"

type protoClient struct {
	conn *grpc.ClientConn
}

// newProtoClient serves an unconfigured provider (it makes no Docker call) and connects to it.
// The SDK loggers write to whatever os.Stderr is when a request arrives.
func newProtoClient(tb testing.TB) *protoClient {
	tb.Helper()
	return newProtoClientOf(tb, ProtocolServer("test"))
}

// newProtoClientOf is newProtoClient for another protocol server.
func newProtoClientOf(tb testing.TB, server func() tfprotov6.ProviderServer) *protoClient {
	tb.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	plugin := &tf6server.GRPCProviderPlugin{
		GRPCProvider: server,
		Name:         providerAddress,
		Opts:         []tf6server.ServeOpt{tf6server.WithoutLogStderrOverride()},
	}
	if err := plugin.GRPCServer(nil, srv); err != nil {
		tb.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///provider",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
	})
	return &protoClient{conn: conn}
}

// call sends a request of the protocol's rpc (such as "PlanResourceChange") and returns the
// response; a response with an error diagnostic fails the test.
func (c *protoClient) call(tb testing.TB, rpc string, fields map[string]any) *dynamicpb.Message {
	tb.Helper()
	req := protoMessage(tb, "tfplugin6."+rpc+".Request", fields)
	resp := dynamicpb.NewMessage(protoDescriptor(tb, "tfplugin6."+rpc+".Response"))
	if err := c.conn.Invoke(context.Background(), "/tfplugin6.Provider/"+rpc, req, resp); err != nil {
		tb.Fatalf("%s: %v", rpc, err)
	}
	if d := resp.Descriptor().Fields().ByName("diagnostics"); d != nil {
		list := resp.Get(d).List()
		for i := range list.Len() {
			diag := list.Get(i).Message()
			if diag.Get(diag.Descriptor().Fields().ByName("severity")).Enum() == 1 { // ERROR
				tb.Fatalf("%s: %s: %s", rpc, diag.Get(diag.Descriptor().Fields().ByName("summary")).String(),
					diag.Get(diag.Descriptor().Fields().ByName("detail")).String())
			}
		}
	}
	return resp
}

func protoDescriptor(tb testing.TB, name string) protoreflect.MessageDescriptor {
	tb.Helper()
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
	if err != nil {
		tb.Fatalf("protocol message %s: %v", name, err)
	}
	md, ok := d.(protoreflect.MessageDescriptor)
	if !ok {
		tb.Fatalf("%s is not a message", name)
	}
	return md
}

// protoMessage builds a message; field values are strings, int64s, bytes or messages.
func protoMessage(tb testing.TB, name string, fields map[string]any) *dynamicpb.Message {
	tb.Helper()
	md := protoDescriptor(tb, name)
	m := dynamicpb.NewMessage(md)
	for k, v := range fields {
		fd := md.Fields().ByName(protoreflect.Name(k))
		if fd == nil {
			tb.Fatalf("%s has no field %s", name, k)
		}
		switch v := v.(type) {
		case string:
			m.Set(fd, protoreflect.ValueOfString(v))
		case int64:
			m.Set(fd, protoreflect.ValueOfInt64(v))
		case []byte:
			m.Set(fd, protoreflect.ValueOfBytes(v))
		case *dynamicpb.Message:
			m.Set(fd, protoreflect.ValueOfMessage(v))
		default:
			tb.Fatalf("%s.%s: unsupported value %T", name, k, v)
		}
	}
	return m
}

// dynamicValue is a protocol DynamicValue holding msgpack.
func dynamicValue(tb testing.TB, msgpack []byte) *dynamicpb.Message {
	return protoMessage(tb, "tfplugin6.DynamicValue", map[string]any{"msgpack": msgpack})
}

// msgpackOf reads a DynamicValue field of a response.
func msgpackOf(resp protoreflect.Message, field string) []byte {
	dv := resp.Get(resp.Descriptor().Fields().ByName(protoreflect.Name(field))).Message()
	return dv.Get(dv.Descriptor().Fields().ByName("msgpack")).Bytes()
}

// resourceType is the value type of a resource's schema, as Terraform sees it.
func resourceType(tb testing.TB, typeName string) tftypes.Type {
	tb.Helper()
	return schemaType(tb, typeName, func(r *tfprotov6.GetProviderSchemaResponse) map[string]*tfprotov6.Schema { return r.ResourceSchemas })
}

// dataSourceType is the value type of a data source's schema.
func dataSourceType(tb testing.TB, typeName string) tftypes.Type {
	tb.Helper()
	return schemaType(tb, typeName, func(r *tfprotov6.GetProviderSchemaResponse) map[string]*tfprotov6.Schema { return r.DataSourceSchemas })
}

// schemaType is the value type of the schema named typeName among those kind picks.
func schemaType(tb testing.TB, typeName string, kind func(*tfprotov6.GetProviderSchemaResponse) map[string]*tfprotov6.Schema) tftypes.Type {
	tb.Helper()
	resp, err := providerserver.NewProtocol6(New("test")())().GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil || kind(resp)[typeName] == nil {
		tb.Fatalf("schema of %s: %v", typeName, err)
	}
	return kind(resp)[typeName].ValueType()
}

// encode turns JSON in the shape of typ (attributes left out are null) into msgpack.
func encode(tb testing.TB, typ tftypes.Type, jsonText string) []byte {
	tb.Helper()
	v, err := (&tfprotov6.DynamicValue{JSON: []byte(jsonText)}).Unmarshal(typ)
	if err != nil {
		tb.Fatal(err)
	}
	dv, err := tfprotov6.NewDynamicValue(typ, v)
	if err != nil {
		tb.Fatal(err)
	}
	return dv.MsgPack
}

// captureStderr runs f with os.Stderr going to a file, and returns what was written.
func captureStderr(tb testing.TB, f func()) string {
	tb.Helper()
	file, err := os.CreateTemp(tb.TempDir(), "stderr")
	if err != nil {
		tb.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = file
	f()
	os.Stderr = saved
	out, err := os.ReadFile(file.Name())
	if err != nil {
		tb.Fatal(err)
	}
	_ = file.Close()
	return strings.TrimSpace(string(out))
}

// diagnosticSummaries lists a response's diagnostics as "SEVERITY: summary".
func diagnosticSummaries(resp protoreflect.Message) []string {
	var out []string
	list := resp.Get(resp.Descriptor().Fields().ByName("diagnostics")).List()
	for i := range list.Len() {
		d := list.Get(i).Message()
		sev := d.Get(d.Descriptor().Fields().ByName("severity")).Enum()
		name := string(d.Descriptor().Fields().ByName("severity").Enum().Values().ByNumber(sev).Name())
		out = append(out, name+": "+d.Get(d.Descriptor().Fields().ByName("summary")).String())
	}
	return out
}
