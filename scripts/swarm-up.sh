#!/usr/bin/env bash
# swarm-up.sh — bring up everything the acceptance tests and the demo need:
#
#   * Docker engine (dockerd) on unix:///var/run/docker.sock, started by hand
#     with nohup when it is not answering (no systemd needed);
#   * a single-node swarm (advertise address 127.0.0.1);
#   * the test images swarmform-testapp:{latest,v1,v2}, built FROM scratch from
#     testdata/testapp without pulling anything;
#   * a private registry on 127.0.0.1:5000 with htpasswd auth, holding
#     127.0.0.1:5000/swarmform/testapp:{v1,v2};
#   * a Prometheus server on 127.0.0.1:19090 (Debian's package, started by hand
#     like dockerd) for the Prometheus metric source tests.
#
# Idempotent: every step checks first and is skipped when already done, so a
# second run takes a few seconds. Must run as root on Debian.
#
# stdout carries only KEY=value lines describing the environment (also written
# as `export KEY=value` lines to /tmp/swarmform-env); progress goes to stderr.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
TESTAPP_DIR="$REPO_ROOT/testdata/testapp"

DOCKER_SOCK=/var/run/docker.sock
export DOCKER_HOST="unix://$DOCKER_SOCK"
DOCKERD_LOG=/var/log/swarmform-dockerd.log

IMAGE_REPO=swarmform-testapp
TEST_IMAGE="$IMAGE_REPO:v1"
TEST_IMAGE_V2="$IMAGE_REPO:v2"

REGISTRY=127.0.0.1:5000
REGISTRY_USER=swarmform
REGISTRY_PASSWORD=swarmform-test-pw
REGISTRY_REPO="$REGISTRY/swarmform/testapp"
REGISTRY_CONF_DIR=/etc/swarmform
REGISTRY_CONF="$REGISTRY_CONF_DIR/registry.yml"
REGISTRY_HTPASSWD="$REGISTRY_CONF_DIR/registry.htpasswd"
REGISTRY_DATA=/var/lib/swarmform-registry
REGISTRY_LOG=/var/log/swarmform-registry.log
REGISTRY_PIDFILE=/var/run/swarmform-registry.pid

PROMETHEUS_ADDR=127.0.0.1:19090
PROMETHEUS_URL="http://$PROMETHEUS_ADDR"
PROMETHEUS_DIR=/tmp/swarmform-prometheus
PROMETHEUS_CONF="$PROMETHEUS_DIR/prometheus.yml"
PROMETHEUS_LOG="$PROMETHEUS_DIR/prometheus.log"
PROMETHEUS_PIDFILE="$PROMETHEUS_DIR/prometheus.pid"

ENV_FILE=/tmp/swarmform-env

# The legacy builder needs no buildx plugin (none is installed on these
# machines) and builds FROM scratch without touching any registry.
export DOCKER_BUILDKIT=0
export DOCKER_CLI_HINTS=false

log() { printf '[swarm-up] %s\n' "$*" >&2; }
die() { printf '[swarm-up] ERROR: %s\n' "$*" >&2; exit 1; }
# quiet CMD...: run CMD, showing its output only when it fails.
quiet() {
	local out
	if ! out="$("$@" 2>&1)"; then
		printf '%s\n' "$out" >&2
		die "failed: $*"
	fi
}

[ "$(id -u)" -eq 0 ] || die "must run as root"

TMPDIR_SWARMUP="$(mktemp -d /tmp/swarm-up.XXXXXX)"
cleanup() { rm -rf "$TMPDIR_SWARMUP"; }
trap cleanup EXIT

# ---------------------------------------------------------------------------
# 1. packages
# ---------------------------------------------------------------------------
install_packages() {
	local -a missing=()
	command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
	command -v docker >/dev/null 2>&1 || missing+=(docker.io)
	command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
	command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)
	command -v socat >/dev/null 2>&1 || missing+=(socat)
	command -v openssl >/dev/null 2>&1 || missing+=(openssl)
	command -v curl >/dev/null 2>&1 || missing+=(curl)
	command -v iptables >/dev/null 2>&1 || missing+=(iptables)
	[ -x /usr/sbin/sshd ] || missing+=(openssh-server) # the ssh:// connection test runs its own sshd
	command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
	command -v bc >/dev/null 2>&1 || missing+=(bc) # benchmark scripts
	command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
	[ "${#missing[@]}" -eq 0 ] && return 0
	# de-duplicate
	mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
	log "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	export NEEDRESTART_SUSPEND=1 # needrestart's apt hook only adds noise here
	# Without systemd, maintainer scripts (prometheus, docker.io) fall back to
	# their init scripts; a policy-rc.d answering 101 ("action forbidden")
	# keeps them from starting or waiting for daemons. We start what we need
	# ourselves below. An existing policy-rc.d is left as it is.
	local policy=/usr/sbin/policy-rc.d ours=0
	if ! [ -e "$policy" ]; then
		printf '#!/bin/sh\n# Temporary, from swarm-up.sh: start no services during apt-get install.\nexit 101\n' >"$policy"
		chmod 0755 "$policy"
		ours=1
	fi
	local rc=0
	{
		apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 &&
			apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >&2
	} || rc=$?
	[ "$ours" -eq 0 ] || rm -f "$policy"
	[ "$rc" -eq 0 ] || die "apt-get install ${missing[*]} failed (exit $rc)"
}

# ---------------------------------------------------------------------------
# 2. dockerd
# ---------------------------------------------------------------------------
docker_ok() { timeout 10 docker info >/dev/null 2>&1; }

# wait_dockerd PID: poll every 0.2s for up to 60s; fails early if PID dies.
wait_dockerd() {
	local pid=$1 i
	for ((i = 0; i < 300; i++)); do
		docker_ok && return 0
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		sleep 0.2
	done
	return 1
}

start_dockerd() {
	docker_ok && return 0

	# A dockerd that is still starting up (or hung) owns the pid file.
	local pid=""
	if [ -s /var/run/docker.pid ]; then
		pid="$(cat /var/run/docker.pid)"
		if kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
			log "dockerd (pid $pid) is running but not answering yet; waiting"
			wait_dockerd "$pid" && return 0
			tail -n 40 "$DOCKERD_LOG" >&2 2>/dev/null || true
			die "dockerd pid $pid does not answer on $DOCKER_SOCK"
		fi
	fi

	local -a extra=()
	local attempt
	for attempt in 1 2; do
		log "starting dockerd${extra[*]:+ ${extra[*]}} (log: $DOCKERD_LOG)"
		local t0=$SECONDS
		printf '\n==== %s swarm-up: dockerd %s\n' "$(date -Is)" "${extra[*]:-}" >>"$DOCKERD_LOG"
		setsid nohup dockerd "${extra[@]}" >>"$DOCKERD_LOG" 2>&1 </dev/null &
		pid=$!
		disown "$pid" 2>/dev/null || true
		if wait_dockerd "$pid"; then
			log "dockerd up after $((SECONDS - t0))s (pid $pid)"
			return 0
		fi
		kill "$pid" 2>/dev/null || true
		sleep 1
		# Kernels without working netfilter: fall back to running without
		# iptables management (published ports / routing mesh then degrade).
		if [ "$attempt" -eq 1 ] && tail -n 60 "$DOCKERD_LOG" | grep -qiE 'iptables|nf_tables|nftables|netfilter'; then
			log "dockerd failed with an iptables error; retrying with --iptables=false"
			extra=(--iptables=false --ip6tables=false)
			continue
		fi
		break
	done
	log "dockerd failed to start; last lines of $DOCKERD_LOG:"
	tail -n 40 "$DOCKERD_LOG" >&2 || true
	exit 1
}

# ---------------------------------------------------------------------------
# 3. swarm
# ---------------------------------------------------------------------------
ensure_swarm() {
	local state
	state="$(docker info --format '{{.Swarm.LocalNodeState}}')"
	case "$state" in
	active) return 0 ;;
	inactive) ;;
	*)
		log "swarm state is '$state'; leaving and re-initialising"
		docker swarm leave --force >/dev/null 2>&1 || true
		;;
	esac
	log "docker swarm init --advertise-addr 127.0.0.1"
	docker swarm init --advertise-addr 127.0.0.1 >/dev/null
	state="$(docker info --format '{{.Swarm.LocalNodeState}}')"
	[ "$state" = active ] || die "swarm init left the node in state '$state'"
}

# ---------------------------------------------------------------------------
# 4. test images
# ---------------------------------------------------------------------------
src_hash() {
	# sha256 over name + content of every testapp input, in a stable order.
	(
		cd "$TESTAPP_DIR"
		export LC_ALL=C # stable glob order
		for f in ./*.go go.mod Dockerfile; do
			printf '%s\n' "$f"
			sha256sum <"$f"
		done
	) | sha256sum | cut -d' ' -f1
}

image_label() { # image label
	docker image inspect --format "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true
}

build_images() {
	local hash tag uptodate=1
	hash="$(src_hash)"
	for tag in latest v1 v2; do
		[ "$(image_label "$IMAGE_REPO:$tag" swarmform.src-hash)" = "$hash" ] || uptodate=0
	done
	if [ "$uptodate" -eq 1 ]; then
		log "images $IMAGE_REPO:{latest,v1,v2} up to date (src-hash ${hash:0:12})"
		return 0
	fi

	command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"
	command -v go >/dev/null 2>&1 || die "go toolchain not found (needed to build testdata/testapp)"

	local ctx="$TMPDIR_SWARMUP/build"
	mkdir -p "$ctx"
	log "building testapp binary"
	(cd "$TESTAPP_DIR" && CGO_ENABLED=0 GOWORK=off GOFLAGS='' go build -trimpath -ldflags='-s -w' -o "$ctx/app" ./)
	cp "$TESTAPP_DIR/Dockerfile" "$ctx/Dockerfile"

	log "docker build $IMAGE_REPO:{latest,v1}"
	quiet docker build -q --label "swarmform.src-hash=$hash" --build-arg VERSION=v1 \
		-t "$IMAGE_REPO:latest" -t "$IMAGE_REPO:v1" "$ctx"
	log "docker build $IMAGE_REPO:v2"
	quiet docker build -q --label "swarmform.src-hash=$hash" --build-arg VERSION=v2 \
		-t "$IMAGE_REPO:v2" "$ctx"

	[ "$(docker image inspect --format '{{.Id}}' "$IMAGE_REPO:v1")" != \
		"$(docker image inspect --format '{{.Id}}' "$IMAGE_REPO:v2")" ] ||
		die "v1 and v2 images unexpectedly share an image ID"
}

# remove_stale_images: drop earlier testapp builds (untagged, but still listed
# under the registry repo because of their repo digests). Images still used by
# containers are kept (no -f).
remove_stale_images() {
	local keep id
	keep="$(docker image inspect --format '{{.Id}}' "$IMAGE_REPO:v1" "$IMAGE_REPO:v2" | sort -u)"
	for id in $(docker images -q --no-trunc --filter "label=swarmform.src-hash" | sort -u); do
		grep -qxF "$id" <<<"$keep" && continue
		docker rmi "$id" >/dev/null 2>&1 || true
	done
}

# ---------------------------------------------------------------------------
# 5. private registry
# ---------------------------------------------------------------------------
registry_code() {
	curl -s -o /dev/null -m 3 -w '%{http_code}' "http://$REGISTRY/v2/" 2>/dev/null || true
}

write_registry_config() { # prints "changed" when a file was (re)written
	mkdir -p "$REGISTRY_CONF_DIR" "$REGISTRY_DATA"
	local changed=0
	if ! [ -s "$REGISTRY_HTPASSWD" ] ||
		! htpasswd -vb "$REGISTRY_HTPASSWD" "$REGISTRY_USER" "$REGISTRY_PASSWORD" >/dev/null 2>&1; then
		htpasswd -Bbn "$REGISTRY_USER" "$REGISTRY_PASSWORD" >"$REGISTRY_HTPASSWD.tmp"
		chmod 0644 "$REGISTRY_HTPASSWD.tmp"
		mv "$REGISTRY_HTPASSWD.tmp" "$REGISTRY_HTPASSWD"
		changed=1
	fi
	local want="$TMPDIR_SWARMUP/registry.yml"
	cat >"$want" <<EOF
# Written by scripts/swarm-up.sh (terraform-provider-swarm test registry).
version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $REGISTRY_DATA
  delete:
    enabled: true
http:
  addr: $REGISTRY
  secret: swarmform-test-registry-secret
  headers:
    X-Content-Type-Options: [nosniff]
auth:
  htpasswd:
    realm: swarmform-registry
    path: $REGISTRY_HTPASSWD
EOF
	if ! cmp -s "$want" "$REGISTRY_CONF"; then
		cp "$want" "$REGISTRY_CONF"
		changed=1
	fi
	[ "$changed" -eq 0 ] || echo changed
}

stop_our_registry() {
	[ -s "$REGISTRY_PIDFILE" ] || return 0
	local pid
	pid="$(cat "$REGISTRY_PIDFILE")"
	if kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = docker-registry ]; then
		log "stopping registry pid $pid (config changed)"
		kill "$pid" 2>/dev/null || true
		local i
		for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	fi
	rm -f "$REGISTRY_PIDFILE"
}

ensure_registry() {
	local changed code
	changed="$(write_registry_config)"
	code="$(registry_code)"
	if [ -n "$changed" ] && [ "$code" != 000 ]; then
		stop_our_registry
		code="$(registry_code)"
	fi
	if [ "$code" = 401 ]; then
		return 0
	fi
	if [ "$code" != 000 ]; then
		die "something else answers on http://$REGISTRY/v2/ (HTTP $code); free port 5000"
	fi
	log "starting docker-registry on $REGISTRY (log: $REGISTRY_LOG)"
	printf '\n==== %s swarm-up: docker-registry serve %s\n' "$(date -Is)" "$REGISTRY_CONF" >>"$REGISTRY_LOG"
	setsid nohup docker-registry serve "$REGISTRY_CONF" >>"$REGISTRY_LOG" 2>&1 </dev/null &
	local pid=$! i
	disown "$pid" 2>/dev/null || true
	echo "$pid" >"$REGISTRY_PIDFILE"
	for ((i = 0; i < 150; i++)); do
		[ "$(registry_code)" = 401 ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	tail -n 30 "$REGISTRY_LOG" >&2 || true
	die "registry did not come up on $REGISTRY"
}

# remote_digest TAG: manifest digest the registry holds for TAG, or empty.
remote_digest() {
	curl -s -m 5 -I -u "$REGISTRY_USER:$REGISTRY_PASSWORD" \
		-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		-H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		"http://$REGISTRY/v2/swarmform/testapp/manifests/$1" 2>/dev/null |
		tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}'
}

push_images() {
	local tag digest cfg="" pushed=0
	for tag in v1 v2; do
		docker tag "$IMAGE_REPO:$tag" "$REGISTRY_REPO:$tag"
		digest="$(remote_digest "$tag")"
		if [ -n "$digest" ] &&
			docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$REGISTRY_REPO:$tag" |
			grep -qxF "$REGISTRY_REPO@$digest"; then
			continue
		fi
		if [ -z "$cfg" ]; then
			# Log in with a throw-away client config, so the user's
			# ~/.docker/config.json never holds these credentials.
			cfg="$TMPDIR_SWARMUP/docker-config"
			mkdir -p "$cfg"
			log "docker login $REGISTRY (temporary client config)"
			printf '%s' "$REGISTRY_PASSWORD" |
				DOCKER_CONFIG="$cfg" docker login "$REGISTRY" -u "$REGISTRY_USER" --password-stdin >/dev/null 2>&1 ||
				die "docker login $REGISTRY failed"
		fi
		log "docker push $REGISTRY_REPO:$tag"
		DOCKER_CONFIG="$cfg" quiet docker push -q "$REGISTRY_REPO:$tag"
		pushed=1
	done
	if [ -n "$cfg" ]; then
		DOCKER_CONFIG="$cfg" docker logout "$REGISTRY" >/dev/null 2>&1 || true
	fi
	# Make sure no stored credentials remain anywhere the CLI would look: the
	# tests must prove that the provider sends registry auth itself.
	docker logout "$REGISTRY" >/dev/null 2>&1 || true
	[ "$pushed" -eq 1 ] || log "registry already holds $REGISTRY_REPO:{v1,v2}"
}

# ---------------------------------------------------------------------------
# 6. Prometheus
# ---------------------------------------------------------------------------
prometheus_ready() { curl -fsS -o /dev/null -m 2 "$PROMETHEUS_URL/-/ready" 2>/dev/null; }

# write_prometheus_config: (re)write the config; prints "changed" when it did.
write_prometheus_config() {
	mkdir -p "$PROMETHEUS_DIR/data"
	local want="$TMPDIR_SWARMUP/prometheus.yml"
	# Prometheus scrapes itself, so there is always a real series (up,
	# prometheus_build_info, ...) for the tests; the short interval makes new
	# samples show up quickly.
	cat >"$want" <<EOF
# Written by scripts/swarm-up.sh (terraform-provider-swarm test Prometheus).
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['$PROMETHEUS_ADDR']
EOF
	if ! cmp -s "$want" "$PROMETHEUS_CONF"; then
		cp "$want" "$PROMETHEUS_CONF"
		echo changed
	fi
}

# prometheus_alive PID: PID is a running prometheus. A zombie does not count:
# PID 1 here may not reap orphans, and kill -0 succeeds on a zombie.
prometheus_alive() {
	local stat
	[ "$(cat "/proc/$1/comm" 2>/dev/null)" = prometheus ] || return 1
	stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
	stat="${stat##*) }" # the state follows "(comm) "
	[ "${stat%% *}" != Z ]
}

# our_prometheus_pid: the pid from our pid file, if that process still runs.
our_prometheus_pid() {
	[ -s "$PROMETHEUS_PIDFILE" ] || return 0
	local pid
	pid="$(cat "$PROMETHEUS_PIDFILE")"
	if prometheus_alive "$pid"; then
		echo "$pid"
	fi
}

ensure_prometheus() {
	local changed pid i
	changed="$(write_prometheus_config)"
	pid="$(our_prometheus_pid)"
	if prometheus_ready; then
		if [ -n "$changed" ] && [ -n "$pid" ]; then
			# Prometheus re-reads its config on SIGHUP; no restart needed.
			log "reloading Prometheus config (pid $pid)"
			kill -HUP "$pid"
		fi
		return 0
	fi

	if [ -z "$pid" ]; then
		if (exec 3<>"/dev/tcp/${PROMETHEUS_ADDR%:*}/${PROMETHEUS_ADDR##*:}") 2>/dev/null; then
			die "something else listens on $PROMETHEUS_ADDR and is not a ready Prometheus; free port ${PROMETHEUS_ADDR##*:}"
		fi
		log "starting prometheus on $PROMETHEUS_ADDR (log: $PROMETHEUS_LOG)"
		printf '\n==== %s swarm-up: prometheus --config.file=%s\n' "$(date -Is)" "$PROMETHEUS_CONF" >>"$PROMETHEUS_LOG"
		setsid nohup prometheus \
			--config.file="$PROMETHEUS_CONF" \
			--storage.tsdb.path="$PROMETHEUS_DIR/data" \
			--web.listen-address="$PROMETHEUS_ADDR" >>"$PROMETHEUS_LOG" 2>&1 </dev/null &
		pid=$!
		disown "$pid" 2>/dev/null || true
		echo "$pid" >"$PROMETHEUS_PIDFILE"
	else
		log "prometheus (pid $pid) is running but not ready yet; waiting"
	fi
	# TSDB replay after a restart can take a few seconds; allow up to 60s.
	for ((i = 0; i < 300; i++)); do
		prometheus_ready && return 0
		prometheus_alive "$pid" || break
		sleep 0.2
	done
	tail -n 30 "$PROMETHEUS_LOG" >&2 || true
	die "prometheus did not become ready on $PROMETHEUS_URL"
}

# ---------------------------------------------------------------------------
main() {
	local t0=$SECONDS
	install_packages
	start_dockerd
	ensure_swarm
	build_images
	ensure_registry
	push_images
	remove_stale_images
	ensure_prometheus

	local env_lines
	env_lines="$(
		cat <<EOF
DOCKER_HOST=$DOCKER_HOST
TEST_IMAGE=$TEST_IMAGE
TEST_IMAGE_V2=$TEST_IMAGE_V2
TEST_REGISTRY=$REGISTRY
TEST_REGISTRY_IMAGE=$REGISTRY_REPO:v1
TEST_REGISTRY_IMAGE_V2=$REGISTRY_REPO:v2
TEST_REGISTRY_USER=$REGISTRY_USER
TEST_REGISTRY_PASSWORD=$REGISTRY_PASSWORD
TEST_PROMETHEUS=$PROMETHEUS_URL
EOF
	)"
	{
		echo "# Written by scripts/swarm-up.sh; source it: . $ENV_FILE"
		while IFS= read -r line; do printf 'export %s\n' "$line"; done <<<"$env_lines"
	} >"$ENV_FILE.tmp"
	mv "$ENV_FILE.tmp" "$ENV_FILE"
	log "ready in $((SECONDS - t0))s; environment written to $ENV_FILE"
	printf '%s\n' "$env_lines"
}

main "$@"
