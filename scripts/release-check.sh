#!/usr/bin/env bash
# release-check.sh — make release-check: the install path of a released provider, proven the
# way a Terraform Cloud user takes it (from a registry, never dev_overrides), on loopback only.
#
#  1. build     the release assets as .goreleaser.yml lays them out, without goreleaser
#               (scripts/releasecheck reads the platforms, flags, ldflags and names from it):
#               one zip per platform, SHA256SUMS with the registry manifest, a detached
#               signature of SHA256SUMS by a throwaway OpenPGP key
#  2. registry  those assets served over the provider registry protocol, HTTPS on 127.0.0.1
#               with a CA made for this run (trusted through SSL_CERT_FILE only); the CLI
#               configuration points registry.terraform.io's providers.v1 service at it
#               (a `host` block) and installs with `direct`, so the source address is the one
#               users write and Terraform checks the signature as it does for the real registry
#  3. lock      `terraform providers lock` for linux_amd64, darwin_arm64 and windows_amd64:
#               the zh: hashes must be SHA256SUMS's entries and the h1: hashes those of the zips
#  4. apply     init, plan, apply, an empty plan again, destroy: a network and a one-replica
#               service on the test image, against the local swarm (DOCKER_HOST)
#  5. mirror    the zips as a filesystem mirror (packed layout), the air-gapped install, and
#               as a network mirror (the same server, under /mirror/): init with the lock of
#               step 3 verifies them against it, `providers lock -fs-mirror`/`-net-mirror`
#               keeps it, and a mirror holding a wrong zip is refused
#
# Terraform records zh: hashes only from a signed SHA256SUMS (a registry), never from a
# filesystem or network mirror, whose locks hold h1: hashes only: step 3 needs the registry.
#
# Needs the local swarm (make swarm, then: set -a && . /tmp/swarmform-env && set +a), go,
# terraform and docker. RELEASE_CHECK_VERSION (default 0.0.0-check, a pre-release: only an exact
# constraint selects it) and RELEASE_CHECK_JOBS (platforms built at a time, default 2) change
# the run. Prints the time of each phase at the end. On failure the work directory is kept.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=${RELEASE_CHECK_VERSION:-0.0.0-check}
JOBS=${RELEASE_CHECK_JOBS:-2}
SOURCE=registry.terraform.io/swarmform/swarm
LOCK_PLATFORMS=(linux_amd64 darwin_arm64 windows_amd64)
: "${DOCKER_HOST:?set DOCKER_HOST: make swarm, then set -a && . /tmp/swarmform-env && set +a}"
: "${TEST_IMAGE:?set TEST_IMAGE: make swarm, then set -a && . /tmp/swarmform-env && set +a}"

fail() { echo "release-check: FAILED: $*" >&2; exit 1; }
grep -q "\"$SOURCE\"" main.go || fail "main.go does not serve $SOURCE: update SOURCE here"

# Terraform reaches nothing but the loopback registry: no version check, no plugin cache, no
# other provider source.
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0
unset TF_PLUGIN_CACHE_DIR TF_CLI_ARGS TF_CLI_ARGS_init TF_CLI_ARGS_plan TF_CLI_ARGS_apply

work=$(mktemp -d /tmp/release-check.XXXXXX)
suffix=$(basename "$work" | cut -d. -f2 | tr 'A-Z' 'a-z')
name="release-check-$suffix"
dist=$work/dist
keys=$work/keys
server_pid=
applied=
ok=

phases=()
t_start=$(date +%s%N)
t_phase=$t_start
phase_done() { # phase_done NAME: records the time since the previous phase ended
  local now; now=$(date +%s%N)
  phases+=("$(printf '%-9s %5d.%ds' "$1" $(((now - t_phase) / 1000000000)) $(((now - t_phase) / 100000000 % 10)))")
  t_phase=$now
}

tf() { # tf DIR ARGS...: terraform in DIR with DIR's CLI configuration, output in the log
  local dir=$1; shift
  echo "+ terraform $*" >>"$dir/terraform.log"
  (cd "$dir" && TF_CLI_CONFIG_FILE="$dir/cli.tfrc" terraform "$@") >>"$dir/terraform.log" 2>&1
}
tf_or_fail() {
  local dir=$1
  tf "$@" || { tail -n 40 "$dir/terraform.log" >&2; fail "terraform ${*:2} in $dir (log: $dir/terraform.log)"; }
}

cleanup() {
  if [ -n "$applied" ]; then
    echo "destroying what the check created ($name)" >&2
    tf "$work/registry" destroy -auto-approve || echo "release-check: destroy failed: remove service and network $name by hand" >&2
  fi
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ -n "$ok" ]; then rm -rf "$work"; else echo "release-check: work directory kept: $work" >&2; fi
}
trap cleanup EXIT

write_config() { # write_config DIR: the configuration, as a user writes it
  mkdir -p "$1"
  cat >"$1/main.tf" <<EOF
terraform {
  required_providers {
    swarm = {
      source  = "swarmform/swarm"
      version = "$VERSION"
    }
  }
}

provider "swarm" {}

resource "swarm_network" "check" {
  name = "$name"
}

resource "swarm_service" "check" {
  name     = "$name"
  image    = "$TEST_IMAGE"
  replicas = 1
  networks = [{ id = swarm_network.check.id }]
}
EOF
}

echo "== build ($VERSION, $JOBS at a time)"
go build -o "$work/releasecheck" ./scripts/releasecheck
"$work/releasecheck" build -version "$VERSION" -dist "$dist" -keys "$keys" -jobs "$JOBS"
phase_done build

echo "== registry on 127.0.0.1 over HTTPS"
"$work/releasecheck" serve -dist "$dist" -keys "$keys" -source "$SOURCE" -addr-file "$work/server-url" 2>"$work/server.log" &
server_pid=$!
until [ -s "$work/server-url" ]; do
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; fail "the registry did not start"; }
  sleep 0.1
done
server=$(cat "$work/server-url")
export SSL_CERT_FILE=$keys/ca.pem
reg=$work/registry
write_config "$reg"
cat >"$reg/cli.tfrc" <<EOF
host "registry.terraform.io" {
  services = {
    "providers.v1" = "$server/v1/providers/"
  }
}

provider_installation {
  direct {
    include = ["$SOURCE"]
  }
}
EOF
echo "serving $SOURCE at $server (registry protocol under /v1/providers/, network mirror under /mirror/)"

echo "== lock (${LOCK_PLATFORMS[*]})"
tf_or_fail "$reg" providers lock "${LOCK_PLATFORMS[@]/#/-platform=}"
grep -q "Retrieved swarmform/swarm $VERSION for linux_amd64 (self-signed" "$reg/terraform.log" ||
  fail "terraform did not report the package as signed (log: $reg/terraform.log)"
verify_lock() { # verify_lock DIR [-zh]
  "$work/releasecheck" verify-lock -lock "$1/.terraform.lock.hcl" -dist "$dist" -source "$SOURCE" \
    -version "$VERSION" -platforms "$(IFS=,; echo "${LOCK_PLATFORMS[*]}")" "${@:2}"
}
verify_lock "$reg" -zh
cp "$reg/.terraform.lock.hcl" "$work/locked.hcl"
phase_done lock

echo "== init, plan, apply, plan, destroy ($name)"
tf_or_fail "$reg" init
cmp -s "$reg/.terraform.lock.hcl" "$work/locked.hcl" || fail "terraform init changed the lock file"
installed=$reg/.terraform/providers/$SOURCE/$VERSION/linux_amd64/terraform-provider-swarm_v$VERSION
cmp -s "$installed" "$dist/bin/linux_amd64/terraform-provider-swarm_v$VERSION" ||
  fail "the installed plugin is not the linux_amd64 build ($installed)"
tf_or_fail "$reg" version
grep -q "provider $SOURCE v$VERSION" "$reg/terraform.log" || fail "terraform version does not list $SOURCE v$VERSION"
tf_or_fail "$reg" plan -out=tfplan
applied=1
tf_or_fail "$reg" apply tfplan
[ "$(docker service inspect --format '{{.Spec.Name}}' "$name")" = "$name" ] || fail "service $name is not in the swarm after apply"
rc=0; tf "$reg" plan -detailed-exitcode || rc=$?
[ "$rc" = 0 ] || { tail -n 40 "$reg/terraform.log" >&2; fail "the plan after apply is not empty (exit $rc)"; }
tf_or_fail "$reg" destroy -auto-approve
applied=
if docker service inspect "$name" >/dev/null 2>&1 || docker network inspect "$name" >/dev/null 2>&1; then
  fail "service or network $name is still in the swarm after destroy"
fi
phase_done apply

echo "== mirrors: filesystem (packed layout) and network (HTTPS on 127.0.0.1)"
# mirror_workspace DIR INSTALLATION: a configuration that installs with INSTALLATION (the body
# of provider_installation), with the lock of the lock phase, as a team commits it.
mirror_workspace() {
  write_config "$1"
  printf 'provider_installation {\n%s\n}\n' "$2" >"$1/cli.tfrc"
  cp "$work/locked.hcl" "$1/.terraform.lock.hcl"
}
mirror=$work/mirror
mkdir -p "$mirror/$SOURCE"
ln "$dist"/*.zip "$mirror/$SOURCE/"
air=$work/airgapped
mirror_workspace "$air" "  filesystem_mirror {
    path    = \"$mirror\"
    include = [\"$SOURCE\"]
  }"
net=$work/network-mirror
mirror_workspace "$net" "  network_mirror {
    url     = \"$server/mirror/\"
    include = [\"$SOURCE\"]
  }"
# init verifies the mirror's zip against the lock, and providers lock those of the other
# platforms: the lock stays as the registry made it.
tf_or_fail "$air" init
tf_or_fail "$air" providers lock -fs-mirror="$mirror" "${LOCK_PLATFORMS[@]/#/-platform=}"
tf_or_fail "$net" init
tf_or_fail "$net" providers lock -net-mirror="$server/mirror/" "${LOCK_PLATFORMS[@]/#/-platform=}"
for dir in "$air" "$net"; do
  cmp -s "$dir/.terraform.lock.hcl" "$work/locked.hcl" || fail "installing from $(basename "$dir") changed the lock file"
  tf_or_fail "$dir" validate # starts the installed plugin
done
grep -q "^GET /mirror/$SOURCE/$VERSION.json 200" "$work/server.log" ||
  fail "terraform did not ask the network mirror for $VERSION (log: $work/server.log)"
# The lock has teeth: a mirror whose linux_amd64 zip holds the same plugin but not the README
# is refused. (Another platform's zip would pass: a lock's hashes are one set per version.)
bad=$work/bad-mirror
mkdir -p "$bad/$SOURCE"
ln "$dist"/*.zip "$bad/$SOURCE/"
rm "$bad/$SOURCE/terraform-provider-swarm_${VERSION}_linux_amd64.zip"
"$work/releasecheck" zip "$bad/$SOURCE/terraform-provider-swarm_${VERSION}_linux_amd64.zip" \
  "$dist/bin/linux_amd64/terraform-provider-swarm_v$VERSION"
tampered=$work/tampered
mirror_workspace "$tampered" "  filesystem_mirror {
    path    = \"$bad\"
    include = [\"$SOURCE\"]
  }"
if tf "$tampered" init; then fail "terraform init accepted a mirror zip that does not match the lock"; fi
grep -q "doesn't match any of" "$tampered/terraform.log" ||
  { tail -n 20 "$tampered/terraform.log" >&2; fail "terraform init failed on the wrong zip, but not on its checksum"; }
phase_done mirror

ok=1
echo
echo "release-check passed: $SOURCE $VERSION installed from a signed registry, a filesystem mirror and a network mirror; planned, applied and destroyed"
t_phase=$t_start
phase_done total
printf '  %s\n' "${phases[@]}"
