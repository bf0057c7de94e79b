package provider

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/swarm"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	dschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

func dataSourceSchema(t *testing.T, ds datasource.DataSource) dschema.Schema {
	t.Helper()
	var resp datasource.SchemaResponse
	ds.Schema(context.Background(), datasource.SchemaRequest{}, &resp)
	if resp.Diagnostics.HasError() {
		t.Fatalf("schema: %v", resp.Diagnostics)
	}
	if d := resp.Schema.ValidateImplementation(context.Background()); d.HasError() {
		t.Fatalf("the schema is not valid: %v", d)
	}
	return resp.Schema
}

// The swarm_service data source has every attribute of the resource but the Terraform-only
// ones, each of the same type (custom types and nesting included) and description, all
// computed, with no validators; only id and name can be set.
func TestServiceDataSourceSchemaFollowsResource(t *testing.T) {
	rs := serviceResourceSchema(context.Background())
	ds := dataSourceSchema(t, &serviceDataSource{})
	for name, ra := range rs.Attributes {
		da, ok := ds.Attributes[name]
		if slices.Contains(serviceTerraformOnly, name) {
			if ok {
				t.Errorf("%s exists only in Terraform, but the data source has it", name)
			}
			continue
		}
		if !ok {
			t.Errorf("the data source lacks %s", name)
			continue
		}
		if !da.GetType().Equal(ra.GetType()) {
			t.Errorf("%s is a %s in the data source, a %s in the resource", name, da.GetType(), ra.GetType())
		}
		if name != "id" && name != "name" && da.GetMarkdownDescription() != ra.GetMarkdownDescription() {
			t.Errorf("%s is described differently", name)
		}
	}
	if len(ds.Attributes) != len(rs.Attributes)-len(serviceTerraformOnly) {
		t.Errorf("the data source has %d attributes, want %d", len(ds.Attributes), len(rs.Attributes)-len(serviceTerraformOnly))
	}
	for name, a := range ds.Attributes {
		settable := name == "id" || name == "name"
		walkComputed(t, name, a, settable)
	}
}

// walkComputed checks that an attribute and those nested in it are computed, optional only
// where settable, and have no validators.
func walkComputed(t *testing.T, p string, a dschema.Attribute, settable bool) {
	t.Helper()
	if !a.IsComputed() || a.IsRequired() || a.IsOptional() != settable {
		t.Errorf("%s: computed %v, optional %v, required %v", p, a.IsComputed(), a.IsOptional(), a.IsRequired())
	}
	if v := reflect.ValueOf(a).FieldByName("Validators"); v.IsValid() && v.Len() > 0 {
		t.Errorf("%s has validators", p)
	}
	var nested map[string]dschema.Attribute
	switch a := a.(type) {
	case dschema.SingleNestedAttribute:
		nested = a.Attributes
	case dschema.ListNestedAttribute:
		nested = a.NestedObject.Attributes
	case dschema.SetNestedAttribute:
		nested = a.NestedObject.Attributes
	case dschema.MapNestedAttribute:
		nested = a.NestedObject.Attributes
	}
	for name, n := range nested {
		walkComputed(t, p+"."+name, n, false)
	}
}

func TestComputedSchemaRefusesWhatItCannotConvert(t *testing.T) {
	_, err := computedSchema(rschema.Schema{Attributes: map[string]rschema.Attribute{
		"outer": rschema.SingleNestedAttribute{Optional: true, Attributes: map[string]rschema.Attribute{"any": rschema.DynamicAttribute{Optional: true}}},
	}})
	if err == nil || !strings.Contains(err.Error(), "outer: any: no data source conversion for schema.DynamicAttribute") {
		t.Errorf("a dynamic attribute gave %v", err)
	}
	if _, err := computedSchema(rschema.Schema{Attributes: map[string]rschema.Attribute{}}, "timeouts"); err == nil {
		t.Error("omitting an attribute the resource does not have is not an error")
	}
	if _, err := computedSchema(rschema.Schema{Blocks: map[string]rschema.Block{"b": rschema.SingleNestedBlock{}}}); err == nil {
		t.Error("a block is not an error")
	}
}

// The data source holds exactly what the resource holds for the same service: every shared
// attribute of the full fixture, set through each schema, is equal.
func TestServiceDataMatchesResource(t *testing.T) {
	ctx := context.Background()
	m := fullServiceModel()
	svc := swarm.Service{ID: "svc1", Meta: swarm.Meta{Version: swarm.Version{Index: 42}}, Spec: m.toSpec(),
		UpdateStatus: &swarm.UpdateStatus{State: swarm.UpdateStateCompleted}}

	ds := dataSourceSchema(t, &serviceDataSource{})
	got := tfsdk.State{Schema: ds, Raw: tftypes.NewValue(ds.Type().TerraformType(ctx), nil)}
	if d := setServiceData(ctx, &orchestrator.ServiceState{Service: svc, RunningReplicas: 3}, &got); d.HasError() {
		t.Fatalf("setServiceData: %v", d)
	}

	rs := serviceResourceSchema(ctx)
	want := tfsdk.State{Schema: rs, Raw: tftypes.NewValue(rs.Type().TerraformType(ctx), nil)}
	m.Timeouts = nullTimeouts(rs)
	if d := want.Set(ctx, m); d.HasError() {
		t.Fatalf("set the resource's state: %v", d)
	}
	for name := range ds.Attributes {
		var g, w attr.Value
		got.GetAttribute(ctx, path.Root(name), &g)
		want.GetAttribute(ctx, path.Root(name), &w)
		if g == nil || !g.Equal(w) {
			t.Errorf("%s: data source %v, resource %v", name, g, w)
		}
	}
}
