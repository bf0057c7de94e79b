package provider

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"time"

	"github.com/distribution/reference"
	units "github.com/docker/go-units"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/attr/xattr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

// stringKind is a family of strings with their own validation and semantic equality:
// "1m" and "60s" are the same duration, "256M" and "256MiB" the same size, and an image
// reference equals the same reference pinned to a digest.
type stringKind int

const (
	kindDuration stringKind = iota + 1
	kindSize
	kindImage
)

func (k stringKind) name() string {
	switch k {
	case kindDuration:
		return "DurationType"
	case kindSize:
		return "SizeType"
	case kindImage:
		return "ImageType"
	}
	return "UnknownStringKind"
}

// check returns a human error for an invalid value of the kind, or "".
func (k stringKind) check(s string) string {
	var err error
	switch k {
	case kindDuration:
		err = orchestrator.CheckDuration(s)
	case kindSize:
		_, err = orchestrator.ParseSize(s)
	case kindImage:
		if _, perr := reference.ParseNormalizedNamed(s); perr != nil {
			return fmt.Sprintf("%q is not an image reference (%v); use name[:tag][@digest], e.g. \"nginx:1.27\" or \"registry.example.com/team/app:v2\"", s, perr)
		}
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func (k stringKind) equal(a, b string) bool {
	if a == b {
		return true
	}
	switch k {
	case kindDuration:
		x, err1 := time.ParseDuration(a)
		y, err2 := time.ParseDuration(b)
		return err1 == nil && err2 == nil && x == y
	case kindSize:
		x, err1 := units.RAMInBytes(a)
		y, err2 := units.RAMInBytes(b)
		return err1 == nil && err2 == nil && x == y
	case kindImage:
		return orchestrator.SameImage(a, b) || orchestrator.SameImage(b, a)
	}
	return false
}

var (
	_ basetypes.StringTypable                    = kindType{}
	_ basetypes.StringValuableWithSemanticEquals = kindValue{}
	_ xattr.ValidateableAttribute                = kindValue{}
)

type kindType struct {
	basetypes.StringType
	kind stringKind
}

var (
	durationType = kindType{kind: kindDuration}
	sizeType     = kindType{kind: kindSize}
	imageType    = kindType{kind: kindImage}
)

func (t kindType) Equal(o attr.Type) bool {
	other, ok := o.(kindType)
	return ok && other.kind == t.kind
}

func (t kindType) String() string { return t.kind.name() }

func (t kindType) ValueFromString(_ context.Context, in basetypes.StringValue) (basetypes.StringValuable, diag.Diagnostics) {
	return kindValue{StringValue: in, kind: t.kind}, nil
}

func (t kindType) ValueFromTerraform(ctx context.Context, in tftypes.Value) (attr.Value, error) {
	v, err := t.StringType.ValueFromTerraform(ctx, in)
	if err != nil {
		return nil, err
	}
	sv, ok := v.(basetypes.StringValue)
	if !ok {
		return nil, fmt.Errorf("unexpected value type %T", v)
	}
	return kindValue{StringValue: sv, kind: t.kind}, nil
}

func (t kindType) ValueType(context.Context) attr.Value { return kindValue{kind: t.kind} }

type kindValue struct {
	basetypes.StringValue
	kind stringKind
}

func (v kindValue) Type(context.Context) attr.Type { return kindType{kind: v.kind} }

func (v kindValue) Equal(o attr.Value) bool {
	other, ok := o.(kindValue)
	return ok && other.kind == v.kind && v.StringValue.Equal(other.StringValue)
}

func (v kindValue) StringSemanticEquals(_ context.Context, nv basetypes.StringValuable) (bool, diag.Diagnostics) {
	other, ok := nv.(kindValue)
	if !ok || v.IsNull() || v.IsUnknown() || other.IsNull() || other.IsUnknown() {
		return false, nil
	}
	return v.kind.equal(v.ValueString(), other.ValueString()), nil
}

func (v kindValue) ValidateAttribute(_ context.Context, req xattr.ValidateAttributeRequest, resp *xattr.ValidateAttributeResponse) {
	if v.IsNull() || v.IsUnknown() {
		return
	}
	if msg := v.kind.check(v.ValueString()); msg != "" {
		addPathError(&resp.Diagnostics, req.Path, "Invalid "+map[stringKind]string{kindDuration: "Duration", kindSize: "Size", kindImage: "Image Reference"}[v.kind], msg)
	}
}

func durationValue(s string) kindValue {
	return kindValue{StringValue: basetypes.NewStringValue(s), kind: kindDuration}
}
func sizeValue(s string) kindValue {
	return kindValue{StringValue: basetypes.NewStringValue(s), kind: kindSize}
}
func imageValue(s string) kindValue {
	return kindValue{StringValue: basetypes.NewStringValue(s), kind: kindImage}
}
func nullKind(t kindType) kindValue {
	return kindValue{StringValue: basetypes.NewStringNull(), kind: t.kind}
}

// parseDuration reads a validated duration value; null is zero.
func parseDuration(v kindValue) time.Duration {
	if v.IsNull() || v.IsUnknown() {
		return 0
	}
	d, _ := time.ParseDuration(v.ValueString())
	return d
}

func parseSize(v kindValue) int64 {
	if v.IsNull() || v.IsUnknown() {
		return 0
	}
	n, _ := orchestrator.ParseSize(v.ValueString())
	return n
}

// formatSize spells a byte count with the largest binary unit that divides it.
func formatSize(n int64) string { return orchestrator.FormatSize(n) }

// wholeType is the schema type of every integer attribute. Terraform numbers may have a
// fraction; the framework's own Int64 type fails on one with a message that blames the
// provider. This type takes any number and reports a fraction (or a number beyond int64) as
// plain invalid input, at the attribute's path.
type wholeType struct {
	basetypes.Int64Type
}

var (
	_ basetypes.Int64Typable      = wholeType{}
	_ basetypes.Int64Valuable     = wholeValue{}
	_ xattr.ValidateableAttribute = wholeValue{}
)

func (t wholeType) Equal(o attr.Type) bool {
	_, ok := o.(wholeType)
	return ok
}

func (t wholeType) String() string { return "WholeNumberType" }

func (t wholeType) ValueType(context.Context) attr.Value { return wholeValue{} }

func (t wholeType) ValueFromInt64(_ context.Context, v basetypes.Int64Value) (basetypes.Int64Valuable, diag.Diagnostics) {
	return wholeValue{Int64Value: v}, nil
}

func (t wholeType) ValueFromTerraform(ctx context.Context, in tftypes.Value) (attr.Value, error) {
	if in.IsKnown() && !in.IsNull() && in.Type().Is(tftypes.Number) {
		var f big.Float
		if err := in.As(&f); err == nil && (!f.IsInt() || f.Cmp(big.NewFloat(math.MaxInt64)) > 0 || f.Cmp(big.NewFloat(math.MinInt64)) < 0) {
			return wholeValue{Int64Value: basetypes.NewInt64Unknown(), invalid: f.Text('g', 20)}, nil
		}
	}
	v, err := t.Int64Type.ValueFromTerraform(ctx, in)
	if err != nil {
		return nil, err
	}
	iv, ok := v.(basetypes.Int64Value)
	if !ok {
		return nil, fmt.Errorf("unexpected value type %T", v)
	}
	return wholeValue{Int64Value: iv}, nil
}

// wholeValue is an integer attribute's value; invalid holds a number that is not one.
type wholeValue struct {
	basetypes.Int64Value
	invalid string
}

func (v wholeValue) Type(context.Context) attr.Type { return wholeType{} }

func (v wholeValue) Equal(o attr.Value) bool {
	other, ok := o.(wholeValue)
	return ok && other.invalid == v.invalid && v.Int64Value.Equal(other.Int64Value)
}

func (v wholeValue) ToInt64Value(context.Context) (basetypes.Int64Value, diag.Diagnostics) {
	return v.Int64Value, nil
}

func (v wholeValue) ValidateAttribute(_ context.Context, req xattr.ValidateAttributeRequest, resp *xattr.ValidateAttributeResponse) {
	if v.invalid != "" {
		addPathError(&resp.Diagnostics, req.Path, "Not a Whole Number", fmt.Sprintf("%s is not a whole number between %d and %d.", v.invalid, int64(math.MinInt64), int64(math.MaxInt64)))
	}
}

func intValue(n int64) wholeValue { return wholeValue{Int64Value: basetypes.NewInt64Value(n)} }
func intNull() wholeValue         { return wholeValue{Int64Value: basetypes.NewInt64Null()} }
func intUnknown() wholeValue      { return wholeValue{Int64Value: basetypes.NewInt64Unknown()} }
func intPointer(p *int64) wholeValue {
	return wholeValue{Int64Value: basetypes.NewInt64PointerValue(p)}
}
