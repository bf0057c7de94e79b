package provider

import (
	"context"
	"fmt"
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
	switch k {
	case kindDuration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Sprintf("%q is not a duration; use a Go duration such as \"30s\", \"1m30s\" or \"500ms\"", s)
		}
		if d < 0 {
			return fmt.Sprintf("%q is negative; durations must be zero or more", s)
		}
	case kindSize:
		if _, err := units.RAMInBytes(s); err != nil {
			return fmt.Sprintf("%q is not a size; use a number of bytes with an optional unit such as \"256MiB\", \"512M\" or \"1GiB\" (units are binary: 1M = 1MiB)", s)
		}
	case kindImage:
		if _, err := reference.ParseNormalizedNamed(s); err != nil {
			return fmt.Sprintf("%q is not an image reference (%v); use name[:tag][@digest], e.g. \"nginx:1.27\" or \"registry.example.com/team/app:v2\"", s, err)
		}
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
	n, _ := units.RAMInBytes(v.ValueString())
	return n
}

// formatSize spells a byte count with the largest binary unit that divides it.
func formatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d%s", n/u.size, u.suffix)
		}
	}
	return fmt.Sprintf("%dB", n)
}
