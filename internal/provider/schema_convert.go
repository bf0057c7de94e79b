package provider

// A data source that reads what a resource manages shows the same attributes, all computed.
// computedSchema derives its schema from the resource's, so the two never drift apart: same
// names, types (custom types included), nesting, descriptions and sensitivity; no defaults,
// plan modifiers or validators (a data source schema has no place for the first two, and
// validators of values Terraform never sets would check nothing).

import (
	"context"
	"fmt"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	dschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// setFromResourceModel writes a resource's model into a data source's state: the model set
// through the resource's schema rs, then every attribute the data source shares with it
// copied over (those computedSchema left out stay behind).
func setFromResourceModel(ctx context.Context, rs rschema.Schema, model any, out *tfsdk.State) diag.Diagnostics {
	full := tfsdk.State{Schema: rs, Raw: tftypes.NewValue(rs.Type().TerraformType(ctx), nil)}
	diags := full.Set(ctx, model)
	if diags.HasError() {
		return diags
	}
	for name := range out.Schema.GetAttributes() {
		var v attr.Value
		diags.Append(full.GetAttribute(ctx, path.Root(name), &v)...)
		diags.Append(out.SetAttribute(ctx, path.Root(name), v)...)
	}
	return diags
}

// nullTimeouts is a null timeouts value, of the type the resource's schema gives it.
func nullTimeouts(rs rschema.Schema) timeouts.Value {
	var attrTypes map[string]attr.Type
	if t, ok := rs.Attributes["timeouts"].GetType().(attr.TypeWithAttributeTypes); ok {
		attrTypes = t.AttributeTypes()
	}
	return timeouts.Value{Object: types.ObjectNull(attrTypes)}
}

// computedSchema is the resource schema's attributes, computed, less those named in omit
// (attributes that exist only in Terraform, such as timeouts). An attribute kind it cannot
// convert, or a block, is an error: a bug to fix here, not a schema to ship half.
func computedSchema(rs rschema.Schema, omit ...string) (map[string]dschema.Attribute, error) {
	if len(rs.Blocks) > 0 {
		return nil, fmt.Errorf("the resource schema has blocks (%s); only nested attributes are converted", blockNames(rs.Blocks))
	}
	skip := map[string]bool{}
	for _, name := range omit {
		if _, ok := rs.Attributes[name]; !ok {
			return nil, fmt.Errorf("omitted attribute %q is not in the resource schema", name)
		}
		skip[name] = true
	}
	out := make(map[string]dschema.Attribute, len(rs.Attributes))
	for name, a := range rs.Attributes {
		if skip[name] {
			continue
		}
		c, err := computedAttribute(a)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[name] = c
	}
	return out, nil
}

func computedAttributes(attrs map[string]rschema.Attribute) (map[string]dschema.Attribute, error) {
	out := make(map[string]dschema.Attribute, len(attrs))
	for name, a := range attrs {
		c, err := computedAttribute(a)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[name] = c
	}
	return out, nil
}

// computedAttribute converts one attribute, and those nested in it.
func computedAttribute(a rschema.Attribute) (dschema.Attribute, error) {
	switch a := a.(type) {
	case rschema.StringAttribute:
		return dschema.StringAttribute{Computed: true, CustomType: a.CustomType, Sensitive: a.Sensitive,
			Description: a.Description, MarkdownDescription: a.MarkdownDescription, DeprecationMessage: a.DeprecationMessage}, nil
	case rschema.BoolAttribute:
		return dschema.BoolAttribute{Computed: true, CustomType: a.CustomType, Sensitive: a.Sensitive,
			Description: a.Description, MarkdownDescription: a.MarkdownDescription, DeprecationMessage: a.DeprecationMessage}, nil
	case rschema.Int64Attribute:
		return dschema.Int64Attribute{Computed: true, CustomType: a.CustomType, Sensitive: a.Sensitive,
			Description: a.Description, MarkdownDescription: a.MarkdownDescription, DeprecationMessage: a.DeprecationMessage}, nil
	case rschema.Int32Attribute:
		return dschema.Int32Attribute{Computed: true, CustomType: a.CustomType, Sensitive: a.Sensitive,
			Description: a.Description, MarkdownDescription: a.MarkdownDescription, DeprecationMessage: a.DeprecationMessage}, nil
	case rschema.Float64Attribute:
		return dschema.Float64Attribute{Computed: true, CustomType: a.CustomType, Sensitive: a.Sensitive,
			Description: a.Description, MarkdownDescription: a.MarkdownDescription, DeprecationMessage: a.DeprecationMessage}, nil
	case rschema.Float32Attribute:
		return dschema.Float32Attribute{Computed: true, CustomType: a.CustomType, Sensitive: a.Sensitive,
			Description: a.Description, MarkdownDescription: a.MarkdownDescription, DeprecationMessage: a.DeprecationMessage}, nil
	case rschema.NumberAttribute:
		return dschema.NumberAttribute{Computed: true, CustomType: a.CustomType, Sensitive: a.Sensitive,
			Description: a.Description, MarkdownDescription: a.MarkdownDescription, DeprecationMessage: a.DeprecationMessage}, nil
	case rschema.ListAttribute:
		return dschema.ListAttribute{Computed: true, CustomType: a.CustomType, ElementType: a.ElementType, Sensitive: a.Sensitive,
			Description: a.Description, MarkdownDescription: a.MarkdownDescription, DeprecationMessage: a.DeprecationMessage}, nil
	case rschema.SetAttribute:
		return dschema.SetAttribute{Computed: true, CustomType: a.CustomType, ElementType: a.ElementType, Sensitive: a.Sensitive,
			Description: a.Description, MarkdownDescription: a.MarkdownDescription, DeprecationMessage: a.DeprecationMessage}, nil
	case rschema.MapAttribute:
		return dschema.MapAttribute{Computed: true, CustomType: a.CustomType, ElementType: a.ElementType, Sensitive: a.Sensitive,
			Description: a.Description, MarkdownDescription: a.MarkdownDescription, DeprecationMessage: a.DeprecationMessage}, nil
	case rschema.ObjectAttribute:
		return dschema.ObjectAttribute{Computed: true, CustomType: a.CustomType, AttributeTypes: a.AttributeTypes, Sensitive: a.Sensitive,
			Description: a.Description, MarkdownDescription: a.MarkdownDescription, DeprecationMessage: a.DeprecationMessage}, nil
	case rschema.SingleNestedAttribute:
		attrs, err := computedAttributes(a.Attributes)
		return dschema.SingleNestedAttribute{Computed: true, CustomType: a.CustomType, Attributes: attrs, Sensitive: a.Sensitive,
			Description: a.Description, MarkdownDescription: a.MarkdownDescription, DeprecationMessage: a.DeprecationMessage}, err
	case rschema.ListNestedAttribute:
		obj, err := computedObject(a.NestedObject)
		return dschema.ListNestedAttribute{Computed: true, CustomType: a.CustomType, NestedObject: obj, Sensitive: a.Sensitive,
			Description: a.Description, MarkdownDescription: a.MarkdownDescription, DeprecationMessage: a.DeprecationMessage}, err
	case rschema.SetNestedAttribute:
		obj, err := computedObject(a.NestedObject)
		return dschema.SetNestedAttribute{Computed: true, CustomType: a.CustomType, NestedObject: obj, Sensitive: a.Sensitive,
			Description: a.Description, MarkdownDescription: a.MarkdownDescription, DeprecationMessage: a.DeprecationMessage}, err
	case rschema.MapNestedAttribute:
		obj, err := computedObject(a.NestedObject)
		return dschema.MapNestedAttribute{Computed: true, CustomType: a.CustomType, NestedObject: obj, Sensitive: a.Sensitive,
			Description: a.Description, MarkdownDescription: a.MarkdownDescription, DeprecationMessage: a.DeprecationMessage}, err
	}
	return nil, fmt.Errorf("no data source conversion for %T", a)
}

func computedObject(o rschema.NestedAttributeObject) (dschema.NestedAttributeObject, error) {
	attrs, err := computedAttributes(o.Attributes)
	return dschema.NestedAttributeObject{Attributes: attrs, CustomType: o.CustomType}, err
}

func blockNames(blocks map[string]rschema.Block) string {
	names := make([]string, 0, len(blocks))
	for name := range blocks {
		names = append(names, name)
	}
	sort.Strings(names)
	return fmt.Sprint(names)
}
