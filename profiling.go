//go:build !pprof

package main

// startProfiling is a no-op in a normal build; `go build -tags pprof` replaces it (see
// profiling_pprof.go) to profile the provider while Terraform runs it.
func startProfiling() (stop func()) { return func() {} }
