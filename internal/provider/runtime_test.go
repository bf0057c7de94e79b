package provider

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestSetRuntimeDefaults(t *testing.T) {
	gc, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	defer func() { debug.SetGCPercent(gc); debug.SetMemoryLimit(limit) }()
	for _, tc := range []struct {
		name      string
		env       map[string]string
		wantGC    int
		wantLimit int64
	}{
		{name: "nothing set: the provider's settings", wantGC: gcPercent, wantLimit: memoryLimit},
		{name: "GOGC set by the user wins", env: map[string]string{"GOGC": "50"}, wantGC: 100, wantLimit: memoryLimit},
		{name: "GOMEMLIMIT set by the user wins", env: map[string]string{"GOMEMLIMIT": "1GiB"}, wantGC: gcPercent, wantLimit: 1 << 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// What the runtime would have read from the environment at start (GOGC=50 is not
			// applied: only that it was set matters).
			debug.SetGCPercent(100)
			debug.SetMemoryLimit(math.MaxInt64)
			if tc.env["GOMEMLIMIT"] != "" {
				debug.SetMemoryLimit(1 << 30)
			}
			SetRuntimeDefaults(func(k string) string { return tc.env[k] })
			if got := debug.SetGCPercent(100); got != tc.wantGC {
				t.Errorf("GOGC = %d, want %d", got, tc.wantGC)
			}
			if got := debug.SetMemoryLimit(-1); got != tc.wantLimit {
				t.Errorf("memory limit = %d, want %d", got, tc.wantLimit)
			}
		})
	}
}
