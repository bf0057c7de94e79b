package provider

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// ProtocolServer is the protocol server main.go serves and the acceptance tests run: the
// framework's server for the provider, with the contexts of per-instance requests released
// when each request ends.
//
// Why: the framework keeps the cancel function of every request's context until Terraform
// calls StopProvider (internal/proto6server, registerContext), so that it can cancel requests
// still running then. A cancel function holds its context, and the context holds its parents:
// the request's loggers, its gRPC stream and the values tf6server puts on it, about 15 KB a
// request that Terraform never stops. A plan makes three requests per resource instance, so
// by the end of a plan of 1,000 services the provider held 45 MB it would never use again
// (heap profile in BENCHMARKS.md), and the garbage collector marked all of it on every cycle.
//
// The server below hands the framework a context that forgets its parent when the request
// returns: what the framework keeps is then a few hundred bytes. Until then it is the request's
// context in every respect (deadline, cancellation, values, so logging and StopProvider work
// as before). After the request, gRPC has cancelled the request's context anyway; the released
// context reports the same (Done closed, Err context.Canceled) and carries no values.
func ProtocolServer(version string) func() tfprotov6.ProviderServer {
	return func() tfprotov6.ProviderServer {
		return releasingServer{providerserver.NewProtocol6(New(version)())()}
	}
}

// releasingServer wraps the framework's server: the calls Terraform makes once per resource
// or data source instance (many in a run) release their context when they return. The other
// calls, made a few times per run, pass through unchanged, and so do streaming calls, whose
// response is read after the call returns.
type releasingServer struct {
	tfprotov6.ProviderServer
}

// released runs one request with a context that is released when it returns.
func released[Req, Resp any](ctx context.Context, req Req, call func(context.Context, Req) (Resp, error)) (Resp, error) {
	rc := &releasableContext{}
	rc.parent.Store(&ctx)
	defer rc.parent.Store(nil)
	return call(rc, req)
}

func (s releasingServer) ValidateResourceConfig(ctx context.Context, req *tfprotov6.ValidateResourceConfigRequest) (*tfprotov6.ValidateResourceConfigResponse, error) {
	return released(ctx, req, s.ProviderServer.ValidateResourceConfig)
}

func (s releasingServer) UpgradeResourceState(ctx context.Context, req *tfprotov6.UpgradeResourceStateRequest) (*tfprotov6.UpgradeResourceStateResponse, error) {
	return released(ctx, req, s.ProviderServer.UpgradeResourceState)
}

func (s releasingServer) UpgradeResourceIdentity(ctx context.Context, req *tfprotov6.UpgradeResourceIdentityRequest) (*tfprotov6.UpgradeResourceIdentityResponse, error) {
	return released(ctx, req, s.ProviderServer.UpgradeResourceIdentity)
}

func (s releasingServer) ReadResource(ctx context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	return released(ctx, req, s.ProviderServer.ReadResource)
}

func (s releasingServer) PlanResourceChange(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	return released(ctx, req, s.ProviderServer.PlanResourceChange)
}

func (s releasingServer) ApplyResourceChange(ctx context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	return released(ctx, req, s.ProviderServer.ApplyResourceChange)
}

func (s releasingServer) ImportResourceState(ctx context.Context, req *tfprotov6.ImportResourceStateRequest) (*tfprotov6.ImportResourceStateResponse, error) {
	return released(ctx, req, s.ProviderServer.ImportResourceState)
}

func (s releasingServer) MoveResourceState(ctx context.Context, req *tfprotov6.MoveResourceStateRequest) (*tfprotov6.MoveResourceStateResponse, error) {
	return released(ctx, req, s.ProviderServer.MoveResourceState)
}

// The action calls (Terraform 1.14 and newer) are made a few times per run: they pass
// through unchanged, invocations being streams whose events are read after the call returns.
// The framework's server implements them; without these, the wrapper would hide them and
// Terraform would find no action support.
var _ tfprotov6.ActionServer = releasingServer{}

func (s releasingServer) actions() tfprotov6.ActionServer {
	return s.ProviderServer.(tfprotov6.ActionServer) //nolint:forcetypeassert // the framework's server always is one
}

func (s releasingServer) ValidateActionConfig(ctx context.Context, req *tfprotov6.ValidateActionConfigRequest) (*tfprotov6.ValidateActionConfigResponse, error) {
	return s.actions().ValidateActionConfig(ctx, req)
}

func (s releasingServer) PlanAction(ctx context.Context, req *tfprotov6.PlanActionRequest) (*tfprotov6.PlanActionResponse, error) {
	return s.actions().PlanAction(ctx, req)
}

func (s releasingServer) InvokeAction(ctx context.Context, req *tfprotov6.InvokeActionRequest) (*tfprotov6.InvokeActionServerStream, error) {
	return s.actions().InvokeAction(ctx, req)
}

// The list calls (Terraform 1.14 and newer; `terraform query`) are made once per list block:
// they pass through unchanged as the action calls do, a listing being a stream whose results
// are read after the call returns. Without these, Terraform would find no list resource.
var _ tfprotov6.ListResourceServer = releasingServer{}

func (s releasingServer) lists() tfprotov6.ListResourceServer {
	return s.ProviderServer.(tfprotov6.ListResourceServer) //nolint:forcetypeassert // the framework's server always is one
}

func (s releasingServer) ValidateListResourceConfig(ctx context.Context, req *tfprotov6.ValidateListResourceConfigRequest) (*tfprotov6.ValidateListResourceConfigResponse, error) {
	return s.lists().ValidateListResourceConfig(ctx, req)
}

func (s releasingServer) ListResource(ctx context.Context, req *tfprotov6.ListResourceRequest) (*tfprotov6.ListResourceServerStream, error) {
	return s.lists().ListResource(ctx, req)
}

func (s releasingServer) ValidateDataResourceConfig(ctx context.Context, req *tfprotov6.ValidateDataResourceConfigRequest) (*tfprotov6.ValidateDataResourceConfigResponse, error) {
	return released(ctx, req, s.ProviderServer.ValidateDataResourceConfig)
}

func (s releasingServer) ReadDataSource(ctx context.Context, req *tfprotov6.ReadDataSourceRequest) (*tfprotov6.ReadDataSourceResponse, error) {
	return released(ctx, req, s.ProviderServer.ReadDataSource)
}

// releasableContext is a request's context until release (its parent set to nil), then a
// cancelled context without values.
type releasableContext struct {
	parent atomic.Pointer[context.Context]
}

// endedContext is what a released context answers with.
var endedContext = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

func (c *releasableContext) current() context.Context {
	if p := c.parent.Load(); p != nil {
		return *p
	}
	return endedContext
}

func (c *releasableContext) Deadline() (time.Time, bool) { return c.current().Deadline() }
func (c *releasableContext) Done() <-chan struct{}       { return c.current().Done() }
func (c *releasableContext) Err() error                  { return c.current().Err() }
func (c *releasableContext) Value(key any) any           { return c.current().Value(key) }
