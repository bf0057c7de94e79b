//go:build pprof

package main

// A build for profiling the provider as Terraform runs it:
//
//	go build -tags pprof -o .dev/bin/terraform-provider-swarm .
//	SWARM_PPROF_DIR=/tmp/prof terraform plan -refresh=false
//	go tool pprof -top .dev/bin/terraform-provider-swarm /tmp/prof/cpu-*.pprof
//
// Terraform starts the provider more than once per command; each process writes its own
// cpu-<pid>.pprof and heap-<pid>.pprof, and rusage-<pid>.txt with its CPU time and peak RSS,
// when Terraform stops it.

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"
)

func startProfiling() (stop func()) {
	dir := os.Getenv("SWARM_PPROF_DIR")
	if dir == "" {
		return func() {}
	}
	pid := os.Getpid()
	cpu, err := os.Create(filepath.Join(dir, fmt.Sprintf("cpu-%d.pprof", pid)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "profiling:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		fmt.Fprintln(os.Stderr, "profiling:", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = cpu.Close()
		if heap, err := os.Create(filepath.Join(dir, fmt.Sprintf("heap-%d.pprof", pid))); err == nil {
			runtime.GC()
			_ = pprof.WriteHeapProfile(heap)
			_ = heap.Close()
		}
		var ru syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
			cpuTime := float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
			_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("rusage-%d.txt", pid)),
				fmt.Appendf(nil, "cpu_seconds %.3f\nmax_rss_kib %d\n", cpuTime, ru.Maxrss), 0o644)
		}
	}
}
