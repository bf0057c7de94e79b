package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestKindSemanticEquality(t *testing.T) {
	tests := []struct {
		kind  stringKind
		a, b  string
		equal bool
	}{
		{kindDuration, "1m", "60s", true},
		{kindDuration, "1m0s", "1m", true},
		{kindDuration, "500ms", "0.5s", true},
		{kindDuration, "1s", "2s", false},
		{kindSize, "256M", "256MiB", true},
		{kindSize, "1GiB", "1024MiB", true},
		{kindSize, "256MB", "268435456", true},
		{kindSize, "1G", "1000M", false},
		{kindImage, "app:v1", "app:v1@sha256:abc", true},
		{kindImage, "app:v1@sha256:abc", "app:v1", true},
		{kindImage, "nginx", "docker.io/library/nginx:latest", true},
		{kindImage, "app:v1", "app:v2@sha256:abc", false},
		{kindImage, "app@sha256:abc", "app@sha256:def", false},
	}
	for _, tc := range tests {
		a := kindValue{StringValue: types.StringValue(tc.a), kind: tc.kind}
		b := kindValue{StringValue: types.StringValue(tc.b), kind: tc.kind}
		got, diags := a.StringSemanticEquals(context.Background(), b)
		if diags.HasError() || got != tc.equal {
			t.Errorf("%s %q ~ %q = %v, want %v", tc.kind.name(), tc.a, tc.b, got, tc.equal)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{64 << 20: "64MiB", 1 << 30: "1GiB", 1536 << 20: "1536MiB", 1000: "1000B", 4096: "4KiB"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %s, want %s", n, got, want)
		}
		if parseSize(sizeValue(formatSize(n))) != n {
			t.Errorf("formatSize(%d) does not parse back", n)
		}
	}
}

func TestCPUsRoundTrip(t *testing.T) {
	for _, nano := range []int64{100_000_000, 500_000_000, 1_000_000_000, 1_250_000_000, 1} {
		v := types.NumberValue(cpusNumber(nano))
		if got := nanoCPUs(v); got != nano {
			t.Errorf("nano %d -> %s -> %d", nano, v.String(), got)
		}
	}
}
