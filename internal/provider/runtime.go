package provider

import "runtime/debug"

// The provider's garbage collector settings (runtime/debug), unless the user sets GOGC or
// GOMEMLIMIT.
const (
	gcPercent   = 800
	memoryLimit = 96 << 20
)

// SetRuntimeDefaults sets the garbage collector for the provider's work, as main.go runs it.
//
// A plan allocates a few MB per resource instance and keeps almost none of it: the live heap
// stays at 2 to 4 MB (once ProtocolServer releases each request's context). With Go's default
// GOGC=100 the collector then runs every few MB allocated, over a thousand times in a plan of
// 1,000 services, and took a fifth of the provider's CPU. GOGC=800 lets the heap grow to nine
// times what is live before it runs: a plan of 1,000 services without refresh took 30 % less
// time (BENCHMARKS.md). The soft memory limit bounds the heap whatever GOGC allows: the
// collector runs sooner as the heap nears it, so a large workspace stays near 110 MiB RSS.
func SetRuntimeDefaults(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
}
