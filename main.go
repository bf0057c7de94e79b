package main

import (
	"flag"
	"log"
	"os"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

	"github.com/swarmform/terraform-provider-swarm/internal/provider"
)

// version is set by goreleaser through -ldflags.
var version = "dev"

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
	provider.SetRuntimeDefaults(os.Getenv)
	stopProfiling := startProfiling()
	var opts []tf6server.ServeOpt
	if debug {
		opts = append(opts, tf6server.WithManagedDebug())
	}
	err := tf6server.Serve("registry.terraform.io/swarmform/swarm", provider.ProtocolServer(version), opts...)
	stopProfiling()
	if err != nil {
		log.Fatal(err.Error())
	}
}
