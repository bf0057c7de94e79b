// Command releasecheck is the helper of scripts/release-check.sh (make release-check), which
// proves the install path of a released provider without goreleaser and without the network:
//
//	releasecheck build        cross-builds the platforms .goreleaser.yml names and lays out
//	                          its release assets (zips, SHA256SUMS, its signature, manifest)
//	releasecheck serve        serves them over the provider registry protocol and the network
//	                          mirror protocol, HTTPS on 127.0.0.1 with a CA of its own
//	releasecheck verify-lock  checks the hashes terraform recorded in .terraform.lock.hcl
//	                          against the assets
//	releasecheck zip          packs files into a zip as build does (for a package that is
//	                          not the release's)
//
// Everything it serves or contacts is on the loopback interface.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "build":
		err = runBuild(os.Args[2:])
	case "serve":
		err = runServe(os.Args[2:])
	case "verify-lock":
		err = runVerifyLock(os.Args[2:])
	case "zip":
		if len(os.Args) < 4 {
			usage()
		}
		err = writeZip(os.Args[2], os.Args[3:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "releasecheck %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: releasecheck build|serve|verify-lock [flags] (-h for each), or zip OUT FILE...")
	os.Exit(2)
}
