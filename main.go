package main

import (
	"context"
	"flag"
	"log"
	"os"
	runtimedebug "runtime/debug"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/swarmform/terraform-provider-swarm/internal/provider"
)

// version is set by goreleaser through -ldflags.
var version = "dev"

// memoryLimit is the provider's soft memory limit (runtime/debug.SetMemoryLimit) unless
// GOMEMLIMIT is set.
const memoryLimit = 96 << 20

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()

	if !debug {
		// Terraform shows none of the SDK's TRACE and DEBUG lines unless asked to (TF_LOG,
		// TF_LOG_PROVIDER); by default they cost a third of the provider's CPU time in a plan.
		for name, level := range provider.LogLevelDefaults(os.Getenv) {
			_ = os.Setenv(name, level)
		}
	}
	// A plan of many resources allocates a few MB per resource and keeps little of it; with
	// Go's default (GOGC=100 and no limit) the heap of a plan of 1,000 services grows to about
	// 140 MiB RSS before the collector runs. A soft limit makes the collector run sooner as the
	// heap nears it: 111 MiB at the same CPU time (BENCHMARKS.md). A GOMEMLIMIT set by the user
	// wins.
	if os.Getenv("GOMEMLIMIT") == "" {
		runtimedebug.SetMemoryLimit(memoryLimit)
	}
	stopProfiling := startProfiling()
	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/swarmform/swarm",
		Debug:   debug,
	})
	stopProfiling()
	if err != nil {
		log.Fatal(err.Error())
	}
}
