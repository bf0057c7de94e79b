#!/usr/bin/env bash
# cadvisor.sh — print the path of a cAdvisor binary, building it first when it is missing.
#
# The multi-node harness (scripts/multinode.sh) runs one cAdvisor per node, scraped by a
# Prometheus, as Swarm users commonly do (cAdvisor as a global service), so that scaling
# policies can be tested with a cluster-wide metric source. Debian does not package cAdvisor
# and no image registry is reachable here, so it is built from source through the Go module
# proxy:
#   * v0.36.0 is the newest release whose main package is in the module the proxy serves
#     (later releases moved it to github.com/google/cadvisor/cmd, which has no tags);
#   * it sets the flag "v" before klog defines it, which Go 1.21 and later refuse at start,
#     so it is built with the go1.20.14 toolchain (GOTOOLCHAIN, also from the module proxy).
# The build takes a few minutes once; the binary is kept in CADVISOR_DIR.
#
# Usage: scripts/cadvisor.sh        (progress on stderr, the binary's path on stdout)
set -euo pipefail

CADVISOR_VERSION=v0.36.0
GO_TOOLCHAIN=go1.20.14
DIR="${CADVISOR_DIR:-/var/cache/swarmform/cadvisor-$CADVISOR_VERSION}"
BIN="$DIR/cadvisor"

log() { printf '[cadvisor] %s\n' "$*" >&2; }

works() { [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; }

if works; then
	echo "$BIN"
	exit 0
fi
command -v go >/dev/null 2>&1 || { log "ERROR: go is not installed"; exit 1; }
mkdir -p "$(dirname "$DIR")"
# One build at a time (CI starts one in the background; make multinode may ask meanwhile).
exec 9>"$DIR.lock"
flock -w 1200 9 || { log "ERROR: another build of cAdvisor holds $DIR.lock"; exit 1; }
if works; then
	echo "$BIN"
	exit 0
fi
t0=$SECONDS
log "building cAdvisor $CADVISOR_VERSION with $GO_TOOLCHAIN into $DIR (once; a few minutes)"
rm -rf "$DIR.tmp"
mkdir -p "$DIR.tmp"
if ! GOTOOLCHAIN="$GO_TOOLCHAIN" GOFLAGS=-mod=mod GOBIN="$DIR.tmp" \
	go install "github.com/google/cadvisor@$CADVISOR_VERSION" 2> >(grep -v '^go: downloading' >&2); then
	log "ERROR: building cAdvisor failed"
	exit 1
fi
mkdir -p "$DIR"
mv "$DIR.tmp/cadvisor" "$BIN"
rm -rf "$DIR.tmp"
works || { log "ERROR: the cAdvisor built does not start"; exit 1; }
log "built in $((SECONDS - t0))s"
echo "$BIN"
