#!/usr/bin/env bash
# multinode.sh — a separate multi-node Docker swarm on this one machine, for
# tests that need more than one node (placement, global services, a node going
# down during a rollout, a manager restart).
#
# Each node is its own dockerd (own --data-root, --exec-root, socket, pid file,
# cgroup parent and trust key) running in its own network namespace and UTS
# namespace (so every node has its own hostname). The namespaces hang off a
# host bridge through one veth pair each and have no default route: nothing a
# node does can leave the machine, and a registry pull fails at once.
#
#   host                              netns sfmn-N (hostname mn-N)
#   sfmn0 (bridge, $MN_SUBNET.1/24) ── veth sfmn-N ── eth0 $MN_SUBNET.(10+N)
#                                                     dockerd -H unix:///run/swarmform-mn/mn-N.sock
#
# Node 1 is the manager, the others are workers. MN_SPARE more nodes run a
# dockerd (with the test images) but stay out of the swarm: a test joins one
# (join-node) to see what happens when a node joins later, or talks to its
# engine to see a daemon that is not in swarm mode. The default Docker engine
# (unix:///var/run/docker.sock) and its single-node swarm are never touched,
# except that the test images are read from it (docker save).
#
# Metrics: every node (spares too) runs a cAdvisor in its namespace, on
# $MN_SUBNET.(10+N):9280, reading its own dockerd's containers, and one
# Prometheus on 127.0.0.1:19091 scrapes them every second, as a Swarm user
# would run cAdvisor as a global service scraped by Prometheus. The nodes
# reach the same Prometheus on the bridge's host address, $MN_SUBNET.1:19091
# (a socat forwards it to the loopback address: Prometheus listens on one
# address only), for an autoscaling controller in a node's namespace. The
# cAdvisor binary comes from scripts/cadvisor.sh (built once); MN_CADVISOR=0
# skips all three.
#
# The autoscaling controller's image (swarmform/swarm-autoscaler:dev, built by
# make autoscaler-image) is copied into every node with the test images. Every
# dockerd shares the host's file system, so /var/run/docker.sock in a node is
# the default engine's: a service that mounts its node's socket must mount
# /run/swarmform-mn/{{.Node.Hostname}}.sock (MN_SOCKET_TEMPLATE), which Swarm
# expands on each node to that node's own.
#
# What to know when writing tests against it:
#   * Create services without registry look-ups (the API's QueryRegistry false,
#     `docker service create --no-resolve-image`): the nodes reach no registry.
#     The daemons run with DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1, so a task
#     uses the node's local image without trying a pull first.
#   * Publish ports with mode=host; they answer on the node addresses
#     (MN_NODE_ADDRS) from the host. This kernel has no IPVS (no
#     /proc/net/ip_vs; the daemons log "Could not get ipvs family
#     information"), so the ingress routing mesh and service VIPs do not work
#     here; the default swarm runs on the same kernel.
#     Overlay networks between the nodes (VXLAN over the bridge) do work.
#   * The host's FORWARD policy is DROP (set by the default engine) and
#     br_netfilter is loaded, so `up` appends one rule accepting traffic that
#     stays on the bridge; `down` removes it.
#
# Usage: scripts/multinode.sh up|down|status|stop-node N|start-node N|join-node N|leave-node N
#
#   up            bring the swarm up (idempotent; a second run takes seconds).
#                 stdout: KEY=value lines, also written as `export` lines to
#                 /tmp/swarmform-multinode-env. Progress goes to stderr.
#   down          remove everything up made (idempotent).
#   stop-node N   stop node N's dockerd (SIGTERM, wait for it to exit); its
#                 data and swarm membership are kept.
#   start-node N  start node N's dockerd again and wait until it is back in
#                 the swarm.
#   join-node N   join spare node N to the swarm as a worker (with its labels)
#                 and wait until the manager sees it ready.
#   leave-node N  make spare node N leave the swarm and remove it from the
#                 manager's node list.
#   status        the nodes as the manager sees them, and each daemon's state.
#
# Settings (environment):
#   MN_COUNT=3             number of nodes (1 manager + MN_COUNT-1 workers)
#   MN_SPARE=1             nodes started outside the swarm, numbered after them
#   MN_CADVISOR=1          0: no cAdvisor and no Prometheus
#   MN_SUBNET=172.16.231   first three octets of the /24 for the bridge; docker
#                          picks its own networks from 172.17-31.x, 192.168.x
#                          and (swarm) 10.x, so 172.16.x stays clear of them
#   MN_HEARTBEAT=2s        swarm dispatcher heartbeat (set at swarm init); the
#                          manager marks a silent node down after about 3 of
#                          them, instead of ~15s with docker's default 5s
#   MN_IMAGES              images copied from the default engine into every node
#                          (default: swarmform-testapp:v1 :v2 :latest)
#   MN_AUTOSCALER_IMAGE    the controller's image, copied too when the default
#                          engine has it (default swarmform/swarm-autoscaler:dev;
#                          empty: none)
#   MN_TIMEOUT=90          overall deadline in seconds for each wait
set -euo pipefail

MN_COUNT="${MN_COUNT:-3}"
MN_SPARE="${MN_SPARE:-1}"
MN_CADVISOR="${MN_CADVISOR:-1}"
MN_SUBNET="${MN_SUBNET:-172.16.231}"
MN_HEARTBEAT="${MN_HEARTBEAT:-2s}"
MN_TIMEOUT="${MN_TIMEOUT:-90}"
read -r -a IMAGES <<<"${MN_IMAGES:-swarmform-testapp:v1 swarmform-testapp:v2 swarmform-testapp:latest}"
MN_AUTOSCALER_IMAGE="${MN_AUTOSCALER_IMAGE-swarmform/swarm-autoscaler:dev}"

SCRIPT_PATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"

BRIDGE=sfmn0
NS_PREFIX=sfmn-          # netns sfmn-N, host-side veth sfmn-N
NAME_PREFIX=mn-          # hostname mn-N; files mn-N.*
RUN_DIR=/run/swarmform-mn
DATA_DIR=/var/lib/swarmform-mn
LOG_DIR=/var/log/swarmform-mn
LOCK_FILE=/run/swarmform-mn.lock
ENV_FILE=/tmp/swarmform-multinode-env
FW_COMMENT=swarmform-multinode
SOURCE_HOST="unix:///var/run/docker.sock"
DAEMON_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CADVISOR_PORT=9280
PROMETHEUS_PORT=19091
PROMETHEUS_ADDR=127.0.0.1:$PROMETHEUS_PORT
PROMETHEUS_DIR=$RUN_DIR/prometheus

# The CLI must only ever talk to the socket given with -H.
unset DOCKER_HOST DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH
export DOCKER_CLI_HINTS=false

log() { printf '[multinode] %s\n' "$*" >&2; }
die() {
	printf '[multinode] ERROR: %s\n' "$*" >&2
	exit 1
}

# ---------------------------------------------------------------------------
# naming
# ---------------------------------------------------------------------------
node_name() { echo "$NAME_PREFIX$1"; }
node_netns() { echo "$NS_PREFIX$1"; }
node_veth() { echo "$NS_PREFIX$1"; }
node_addr() { echo "$MN_SUBNET.$((10 + $1))"; }
node_sock() { echo "$RUN_DIR/$NAME_PREFIX$1.sock"; }
node_host() { echo "unix://$(node_sock "$1")"; }
node_pidfile() { echo "$RUN_DIR/$NAME_PREFIX$1.pid"; }
node_execroot() { echo "$RUN_DIR/$NAME_PREFIX$1"; }
node_dataroot() { echo "$DATA_DIR/$NAME_PREFIX$1"; }
node_config() { echo "$DATA_DIR/$NAME_PREFIX$1.json"; }
node_log() { echo "$LOG_DIR/$NAME_PREFIX$1.log"; }
node_cgroup() { echo "swarmform-mn-$1"; }
node_zone() { # a, b, c, ... (wraps after z)
	local letters=abcdefghijklmnopqrstuvwxyz
	echo "${letters:$((($1 - 1) % 26)):1}"
}

# dk N ARGS...: the docker CLI against node N, bounded in time.
dk() {
	local n=$1
	shift
	timeout 30 docker -H "$(node_host "$n")" "$@"
}

# api SOCKET PATH: GET PATH from the Engine API on SOCKET (a unix socket
# path). curl starts in a few ms where the docker CLI takes ~0.1s, which adds
# up in the checks that a warm `up` makes.
api() {
	curl -sf --max-time 10 --unix-socket "$1" "http://localhost$2"
}

# json_str KEY JSON: set REPLY to the first "KEY":"value" string in JSON
# (a bash regex: no process started, which counts on a loaded machine).
json_str() {
	local re="\"$1\":\"([^\"]*)\""
	REPLY=""
	if [[ "$2" =~ $re ]]; then REPLY="${BASH_REMATCH[1]}"; fi
}

# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------
# alive PID [COMM]: PID runs (not a zombie) and, if given, its comm is COMM.
alive() {
	local pid=$1 comm=${2:-} stat c
	[ -n "$pid" ] || return 1
	{ read -r stat <"/proc/$pid/stat"; } 2>/dev/null || return 1
	if [ -n "$comm" ]; then
		{ read -r c <"/proc/$pid/comm"; } 2>/dev/null || return 1
		[ "$c" = "$comm" ] || return 1
	fi
	stat="${stat##*) }"
	[ "${stat%% *}" != Z ]
}

# wait_for DESC SECONDS CMD...: poll CMD every 0.2s until it succeeds; fail
# after SECONDS.
wait_for() {
	local desc=$1 secs=$2
	shift 2
	local deadline=$((SECONDS + secs))
	while ! "$@" 2>/dev/null; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			log "timed out after ${secs}s waiting for $desc"
			return 1
		fi
		sleep 0.2
	done
}

# pids_matching STRING: processes whose command line contains STRING (a
# fixed string; pgrep takes a regex, so its metacharacters are escaped).
pids_matching() {
	local re
	re="$(printf '%s' "$1" | sed 's/[][\\.*^$+?(){}|]/\\&/g')"
	pgrep -f -- "$re" 2>/dev/null | grep -vx "$$" || true
}

# pids_in_netns NETNS: processes whose network namespace is NETNS (no fork
# per process: test -ef compares the namespace inodes).
pids_in_netns() {
	local f=/run/netns/$1 d
	[ -e "$f" ] || return 0
	for d in /proc/[0-9]*; do
		if [ "$d/ns/net" -ef "$f" ]; then echo "${d#/proc/}"; fi
	done
	return 0
}

# kill_pids SECONDS PID...: SIGTERM, wait up to SECONDS, then SIGKILL.
kill_pids() {
	local secs=$1 p
	shift
	[ "$#" -gt 0 ] || return 0
	kill -TERM "$@" 2>/dev/null || true
	local deadline=$((SECONDS + secs)) left
	while :; do
		left=()
		for p in "$@"; do
			if alive "$p"; then left+=("$p"); fi
		done
		if [ "${#left[@]}" -eq 0 ]; then return 0; fi
		if [ "$SECONDS" -ge "$deadline" ]; then break; fi
		sleep 0.2
	done
	log "SIGKILL to ${left[*]}"
	kill -KILL "${left[@]}" 2>/dev/null || true
	local i
	for ((i = 0; i < 25; i++)); do
		left=()
		for p in "$@"; do
			if alive "$p"; then left+=("$p"); fi
		done
		if [ "${#left[@]}" -eq 0 ]; then return 0; fi
		sleep 0.2
	done
	return 0
}

# emit KEY VALUE: a KEY=value line; values with spaces or characters a shell
# would expand are single-quoted so the line can be sourced by a shell as it is.
emit() {
	if [[ "$2" == *[[:space:]{}\$*?\[]* || -z "$2" ]]; then
		printf "%s='%s'\n" "$1" "$2"
	else
		printf '%s=%s\n' "$1" "$2"
	fi
}

# ---------------------------------------------------------------------------
# preflight
# ---------------------------------------------------------------------------
preflight() {
	[ "$(id -u)" -eq 0 ] || die "must run as root"
	if ! [[ "$MN_COUNT" =~ ^[0-9]+$ ]] || [ "$MN_COUNT" -lt 1 ] || [ "$MN_COUNT" -gt 50 ]; then
		die "MN_COUNT must be a number from 1 to 50 (got '$MN_COUNT')"
	fi
	if ! [[ "$MN_SPARE" =~ ^[0-9]+$ ]] || [ "$((MN_COUNT + MN_SPARE))" -gt 50 ]; then
		die "MN_SPARE must be a number, with MN_COUNT + MN_SPARE at most 50 (got '$MN_SPARE')"
	fi
	[[ "$MN_SUBNET" =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] ||
		die "MN_SUBNET must be three octets such as 172.16.231 (got '$MN_SUBNET')"
	command -v dockerd >/dev/null 2>&1 ||
		die "dockerd is not installed: install Debian's docker.io first (bash scripts/swarm-up.sh does that)"
	command -v docker >/dev/null 2>&1 ||
		die "the docker CLI is not installed: install Debian's docker.io first (bash scripts/swarm-up.sh does that)"
	local -a missing=()
	command -v ip >/dev/null 2>&1 || missing+=(iproute2)
	{ command -v nsenter && command -v unshare && command -v flock; } >/dev/null 2>&1 || missing+=(util-linux)
	command -v iptables >/dev/null 2>&1 || missing+=(iptables)
	command -v curl >/dev/null 2>&1 || missing+=(curl)
	command -v pgrep >/dev/null 2>&1 || missing+=(procps)
	if [ "$MN_CADVISOR" != 0 ]; then command -v socat >/dev/null 2>&1 || missing+=(socat); fi
	if [ "${#missing[@]}" -gt 0 ]; then
		log "installing: ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		{ apt-get -o DPkg::Lock::Timeout=600 update -qq &&
			apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"; } >&2 ||
			die "apt-get install ${missing[*]} failed"
	fi
}

# Serialise every subcommand: two tests stopping nodes, or up racing down,
# would otherwise trip over each other.
take_lock() {
	exec 9>"$LOCK_FILE"
	flock -w 600 9 || die "another multinode.sh still runs (lock $LOCK_FILE)"
}

# ---------------------------------------------------------------------------
# network: bridge, netns, veth
# ---------------------------------------------------------------------------
ip2int() {
	local IFS=. a b c d
	read -r a b c d <<<"$1"
	echo $(((a << 24) | (b << 16) | (c << 8) | d))
}

# overlaps CIDR1 CIDR2: the two IPv4 networks share an address.
overlaps() {
	local n1=${1%/*} n2=${2%/*} l1=32 l2=32
	[[ "$1" == */* ]] && l1=${1#*/}
	[[ "$2" == */* ]] && l2=${2#*/}
	local m=$((l1 < l2 ? l1 : l2)) mask=0
	[ "$m" -gt 0 ] && mask=$(((0xFFFFFFFF << (32 - m)) & 0xFFFFFFFF))
	[ $(($(ip2int "$n1") & mask)) -eq $(($(ip2int "$n2") & mask)) ]
}

check_subnet_free() {
	local want="$MN_SUBNET.0/24" line dst dev
	while read -r line; do
		dst=${line%% *}
		[ "$dst" = default ] && continue
		dev="$(sed -n 's/.* dev \([^ ]*\).*/\1/p' <<<"$line")"
		[ "$dev" = "$BRIDGE" ] && continue
		if overlaps "$dst" "$want"; then
			die "$want collides with the host route '$line'; pick another MN_SUBNET"
		fi
	done < <(ip -4 route show)
	while read -r _ dev _ dst _; do
		[ "$dev" = "$BRIDGE" ] && continue
		if overlaps "${dst%/*}" "$want"; then
			die "$want holds the address $dst of $dev; pick another MN_SUBNET"
		fi
	done < <(ip -4 -o addr show)
}

ensure_bridge() {
	if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
		check_subnet_free
		log "creating bridge $BRIDGE ($MN_SUBNET.0/24)"
		ip link add "$BRIDGE" type bridge
	fi
	# The host only needs IPv4 here; no IPv6 chatter on the bridge.
	sysctl -qw "net.ipv6.conf.$BRIDGE.disable_ipv6=1" 2>/dev/null || true
	if ! ip -4 -o addr show dev "$BRIDGE" | grep -q " $MN_SUBNET.1/24 "; then
		ip addr flush dev "$BRIDGE"
		ip addr add "$MN_SUBNET.1/24" dev "$BRIDGE"
	fi
	ip link set "$BRIDGE" up
	ensure_forward_rule
}

# With br_netfilter loaded (the default engine loads it), frames bridged
# between two veths of $BRIDGE go through the host's FORWARD chain, whose
# policy the default engine sets to DROP. One ACCEPT rule for traffic that
# stays on our bridge; nothing else in the host's iptables is changed.
ensure_forward_rule() {
	local -a rule=(FORWARD -i "$BRIDGE" -o "$BRIDGE" -m comment --comment "$FW_COMMENT" -j ACCEPT)
	iptables -w -C "${rule[@]}" 2>/dev/null && return 0
	log "iptables: accept forwarding inside $BRIDGE"
	iptables -w -A "${rule[@]}"
}

remove_forward_rule() {
	command -v iptables >/dev/null 2>&1 || return 0
	local -a rule=(FORWARD -i "$BRIDGE" -o "$BRIDGE" -m comment --comment "$FW_COMMENT" -j ACCEPT)
	while iptables -w -C "${rule[@]}" 2>/dev/null; do
		iptables -w -D "${rule[@]}"
	done
}

netns_ok() { nsenter --net="/run/netns/$1" true 2>/dev/null; }

ensure_node_net() {
	local n=$1 ns veth addr
	ns="$(node_netns "$n")"
	veth="$(node_veth "$n")"
	addr="$(node_addr "$n")"
	if [ -e "/run/netns/$ns" ] && ! netns_ok "$ns"; then
		log "removing stale netns file /run/netns/$ns"
		umount "/run/netns/$ns" 2>/dev/null || true
		rm -f "/run/netns/$ns"
	fi
	if ! [ -e "/run/netns/$ns" ]; then
		ip netns add "$ns"
	fi
	if ! ip link show "$veth" >/dev/null 2>&1; then
		# A half-made pair may have left its inner end behind.
		ip -n "$ns" link del eth0 2>/dev/null || true
		ip link add "$veth" type veth peer name eth0 netns "$ns"
	fi
	sysctl -qw "net.ipv6.conf.$veth.disable_ipv6=1" 2>/dev/null || true
	ip link set "$veth" master "$BRIDGE" up
	if ! ip -n "$ns" -4 -o addr show dev eth0 2>/dev/null | grep -q " $addr/24 "; then
		ip -n "$ns" addr flush dev eth0
		ip -n "$ns" addr add "$addr/24" dev eth0
	fi
	ip -n "$ns" link set lo up
	ip -n "$ns" link set eth0 up
	# No default route on purpose: nothing leaves the machine.
	ip -n "$ns" -4 route del default 2>/dev/null || true
}

# ---------------------------------------------------------------------------
# dockerd per node
# ---------------------------------------------------------------------------
daemon_pid() { # prints node N's dockerd pid if it runs
	local f pid
	f="$(node_pidfile "$1")"
	[ -s "$f" ] || return 0
	pid="$(cat "$f" 2>/dev/null)"
	if alive "$pid" dockerd; then echo "$pid"; fi
	return 0
}

daemon_answers() {
	[ "$(curl -s --max-time 5 --unix-socket "$(node_sock "$1")" http://localhost/_ping 2>/dev/null)" = OK ]
}

# Leftovers of a node whose dockerd died without cleaning up: its containerd
# (found by the node's unique exec-root in its command line).
kill_stale_containerd() {
	local n=$1 execroot
	execroot="$(node_execroot "$n")"
	local -a pids=()
	mapfile -t pids < <(pids_matching "--config $execroot/containerd/")
	if [ "${#pids[@]}" -gt 0 ]; then
		log "node $n: stopping leftover containerd ${pids[*]}"
		kill_pids 15 "${pids[@]}"
	fi
}

write_daemon_config() {
	local n=$1 cfg want
	cfg="$(node_config "$n")"
	# An explicit config file keeps a future /etc/docker/daemon.json meant
	# for the default engine from leaking into these nodes. The trust key
	# (the engine ID in `docker info`) would otherwise be the shared
	# /etc/docker/key.json; "deprecated-key-path" exists only as a config key.
	want="$(printf '{\n  "deprecated-key-path": "%s/key.json"\n}' "$(node_dataroot "$n")")"
	if [ "$(cat "$cfg" 2>/dev/null)" != "$want" ]; then
		printf '%s\n' "$want" >"$cfg"
	fi
}

# launch_daemon N: start node N's dockerd in the background (does not wait).
launch_daemon() {
	local n=$1 name logf
	name="$(node_name "$n")"
	logf="$(node_log "$n")"
	if [ -n "$(daemon_pid "$n")" ]; then
		return 0
	fi
	kill_stale_containerd "$n"
	rm -f "$(node_pidfile "$n")"
	# A node made from scratch starts a new log; a restarted one appends.
	[ -d "$(node_dataroot "$n")" ] || : >"$logf"
	mkdir -p "$(node_dataroot "$n")" "$(node_execroot "$n")"
	write_daemon_config "$n"
	printf '\n==== %s multinode.sh: starting dockerd for %s\n' "$(date -Is)" "$name" >>"$logf"
	log "node $n: starting dockerd $name ($(node_addr "$n"), log $logf)"
	# nsenter --net (not `ip netns exec`, which remounts /sys and hides the
	# cgroup mounts), then a new UTS namespace for the hostname. A clean
	# environment: no proxy settings or DOCKER_* variables of the caller.
	# DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 makes swarm tasks use the local
	# image without trying a registry first.
	(
		cd /
		exec 9>&- # the lock must not live on in the daemon
		# shellcheck disable=SC2016 # $0 and $@ belong to the inner sh
		exec setsid nohup nsenter --net="/run/netns/$(node_netns "$n")" \
			unshare --uts \
			sh -c 'printf %s "$0" >/proc/sys/kernel/hostname && exec "$@"' "$name" \
			env -i PATH="$DAEMON_PATH" DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 \
			"$(command -v dockerd)" \
			--config-file "$(node_config "$n")" \
			--data-root "$(node_dataroot "$n")" \
			--exec-root "$(node_execroot "$n")" \
			--pidfile "$(node_pidfile "$n")" \
			--host "$(node_host "$n")" \
			--cgroup-parent "/$(node_cgroup "$n")" \
			>>"$logf" 2>&1 </dev/null
	) &
	# The subshell execs into dockerd: $! is the daemon's pid.
	echo "$!" >"$RUN_DIR/$(node_name "$n").launch"
	disown "$!" 2>/dev/null || true
}

# log_tail N: the last 40 lines that node N's dockerd logged since its latest
# start (the log keeps every start, each after a "==== " line).
log_tail() {
	tac "$(node_log "$1")" 2>/dev/null | sed '/^==== /q' | tac | tail -n 40 >&2 || true
}

# wait_daemon N: wait until node N's dockerd answers; on failure show its log.
wait_daemon() {
	local n=$1 pid logf deadline
	logf="$(node_log "$n")"
	pid="$(daemon_pid "$n")"
	[ -n "$pid" ] || pid="$(cat "$RUN_DIR/$(node_name "$n").launch" 2>/dev/null || true)"
	deadline=$((SECONDS + MN_TIMEOUT))
	while ! daemon_answers "$n"; do
		if [ -n "$pid" ] && ! alive "$pid"; then
			log "node $n: dockerd (pid $pid) exited; last lines of $logf:"
			log_tail "$n"
			die "dockerd of node $n failed to start"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			log "node $n: dockerd does not answer on $(node_host "$n"); last lines of $logf:"
			log_tail "$n"
			die "dockerd of node $n did not come up within ${MN_TIMEOUT}s"
		fi
		sleep 0.2
	done
	rm -f "$RUN_DIR/$(node_name "$n").launch"
}

# stop_daemons N...: SIGTERM the nodes' dockerds together and wait for them
# (dockerd stops its containers and its containerd on the way out).
stop_daemons() {
	local n pid
	local -a pids=()
	for n in "$@"; do
		pid="$(daemon_pid "$n")"
		if [ -n "$pid" ]; then
			pids+=("$pid")
			log "node $n: stopping dockerd (pid $pid)"
		fi
	done
	if [ "${#pids[@]}" -gt 0 ]; then kill_pids "$MN_TIMEOUT" "${pids[@]}"; fi
	for n in "$@"; do
		kill_stale_containerd "$n"
	done
}

# ---------------------------------------------------------------------------
# images
# ---------------------------------------------------------------------------
# image_ids SOCKET IMAGE...: the ID of each image on that engine, one a line
# ("missing" for a missing one).
image_ids() {
	local sock=$1 img j
	shift
	for img in "$@"; do
		j="$(api "$sock" "/images/$img/json" 2>/dev/null || true)"
		json_str Id "$j"
		echo "${REPLY:-missing}"
	done
}

AUTOSCALER_LOADED="" # the controller's image, once ensure_images copied it

# ensure_images N...: every node holds each of IMAGES (and the controller's
# image, when the default engine has it) as the same build as the default
# engine. Only the images some node lacks, or holds another build of, are
# saved, once, and loaded into those nodes.
ensure_images() {
	local n i
	local -a images=("${IMAGES[@]}") want=() have=() nodes=()
	local -A stale=()
	mapfile -t want < <(image_ids "${SOURCE_HOST#unix://}" "${images[@]}")
	if printf '%s\n' "${want[@]}" | grep -qx missing; then
		die "not every one of ${IMAGES[*]} is in the default engine ($SOURCE_HOST); run bash scripts/swarm-up.sh (make swarm) first"
	fi
	AUTOSCALER_LOADED=""
	if [ -n "$MN_AUTOSCALER_IMAGE" ]; then
		i="$(image_ids "${SOURCE_HOST#unix://}" "$MN_AUTOSCALER_IMAGE")"
		if [ "$i" = missing ]; then
			log "warning: $MN_AUTOSCALER_IMAGE is not in the default engine (make autoscaler-image builds it); the nodes go without it"
		else
			images+=("$MN_AUTOSCALER_IMAGE")
			want+=("$i")
			AUTOSCALER_LOADED="$MN_AUTOSCALER_IMAGE"
		fi
	fi
	for n in "$@"; do
		mapfile -t have < <(image_ids "$(node_sock "$n")" "${images[@]}")
		local differs=""
		for i in "${!images[@]}"; do
			if [ "${have[i]:-}" != "${want[i]}" ]; then
				stale["${images[i]}"]=1
				differs=1
			fi
		done
		if [ -n "$differs" ]; then nodes+=("$n"); fi
	done
	[ "${#nodes[@]}" -gt 0 ] || return 0
	local tarball="$RUN_DIR/images.tar"
	log "docker save ${!stale[*]}"
	timeout 120 docker -H "$SOURCE_HOST" save -o "$tarball" "${!stale[@]}" ||
		die "docker save ${!stale[*]} failed"
	for n in "${nodes[@]}"; do
		log "node $n: loading ${!stale[*]}"
		timeout 120 docker -H "$(node_host "$n")" load -q -i "$tarball" >/dev/null ||
			die "loading ${!stale[*]} into node $n failed"
	done
	rm -f "$tarball"
}

# ---------------------------------------------------------------------------
# swarm
# ---------------------------------------------------------------------------
# swarm_info N: "<state> <node ID> <control available> <node address>"
swarm_info() {
	local j state id addr ctl=false
	if ! j="$(api "$RUN_DIR/$NAME_PREFIX$1.sock" /info 2>/dev/null)"; then
		echo unknown
		return 0
	fi
	j="{${j#*\"Swarm\":\{}" # the Swarm object and what follows it
	json_str LocalNodeState "$j" && state=$REPLY
	json_str NodeID "$j" && id=$REPLY
	json_str NodeAddr "$j" && addr=$REPLY
	[[ "$j" == *'"ControlAvailable":true'* ]] && ctl=true
	echo "$state ${id:--} $ctl ${addr:--}"
}
swarm_state() { local i; i="$(swarm_info "$1")"; echo "${i%% *}"; }
manager_ready() { dk 1 node ls -q >/dev/null 2>&1; }
not_pending() { [ "$(swarm_state "$1")" != pending ]; }

# settled_info N: swarm_info once the node is no longer "pending" (a node
# reports that for a moment after its daemon restarts), or after 30s.
settled_info() {
	local info deadline=$((SECONDS + 30))
	while :; do
		info="$(swarm_info "$1")"
		[ "${info%% *}" != pending ] && break
		[ "$SECONDS" -ge "$deadline" ] && break
		sleep 0.2
	done
	echo "$info"
}

NODE_IDS=() # NODE_IDS[N]: swarm node ID of node N, filled by init_manager/join_worker
JOIN_TOKEN=""

init_manager() {
	local addr info state
	addr="$(node_addr 1)"
	info="$(settled_info 1)"
	state="${info%% *}"
	if [ "$state" = active ]; then
		if [ "${info#* * }" = "true $addr" ]; then
			if ! wait_for "the manager to have a leader" 20 manager_ready; then
				# Node 1 is meant to be the only manager. A test cut short while other
				# nodes were managers (or while one could not join Raft) can leave it
				# without a quorum: it stays a manager of a swarm with no leader. Make it
				# the single manager again, keeping the swarm's nodes and objects.
				log "node 1 is a manager of a swarm without a leader (its quorum is lost); docker swarm init --force-new-cluster"
				dk 1 swarm init --force-new-cluster --advertise-addr "$addr" --listen-addr "$addr:2377" >/dev/null
				wait_for "the manager to have a leader" "$MN_TIMEOUT" manager_ready ||
					die "the manager (node 1) is active but answers no node list"
			fi
			NODE_IDS[1]="$(cut -d' ' -f2 <<<"$info")"
			return 0
		fi
		log "node 1 is in a swarm but not as the manager at $addr ($info); leaving it"
	elif [ "$state" != inactive ]; then
		log "node 1 swarm state is '$state'; leaving and initialising anew"
	fi
	if [ "$state" != inactive ]; then
		dk 1 swarm leave --force >/dev/null 2>&1 || true
	fi
	log "node 1: docker swarm init --advertise-addr $addr"
	dk 1 swarm init --advertise-addr "$addr" --listen-addr "$addr:2377" \
		--dispatcher-heartbeat "$MN_HEARTBEAT" >/dev/null
	wait_for "the new manager to have a leader" "$MN_TIMEOUT" manager_ready ||
		die "swarm init on node 1 did not give a working manager"
	NODE_IDS[1]="$(cut -d' ' -f2 <<<"$(swarm_info 1)")"
}

# join_worker N: make node N a worker of node 1's swarm, unless it is one.
join_worker() {
	local n=$1 addr info state nid role
	addr="$(node_addr "$n")"
	info="$(settled_info "$n")"
	state="${info%% *}"
	if [ "$state" = active ]; then
		nid="$(cut -d' ' -f2 <<<"$info")"
		role="$(dk 1 node inspect --format '{{.Spec.Role}} {{.Status.Addr}}' "$nid" 2>/dev/null || true)"
		if [ "$role" = "worker $addr" ]; then
			NODE_IDS[n]="$nid"
			return 0
		fi
		log "node $n is in another swarm (manager says '${role:-unknown node}'); leaving it"
	fi
	if [ "$state" != inactive ]; then
		dk "$n" swarm leave --force >/dev/null 2>&1 || true
	fi
	[ -n "$JOIN_TOKEN" ] || JOIN_TOKEN="$(dk 1 swarm join-token -q worker)"
	log "node $n: docker swarm join $(node_addr 1):2377"
	dk "$n" swarm join --token "$JOIN_TOKEN" --advertise-addr "$addr" --listen-addr "$addr:2377" \
		"$(node_addr 1):2377" >/dev/null
	NODE_IDS[n]="$(cut -d' ' -f2 <<<"$(swarm_info "$n")")"
}

# Nodes the manager still lists that are none of ours (earlier incarnations
# of a node whose data was wiped): remove them so `node ls` shows our nodes.
remove_foreign_nodes() {
	local id keep=" $* "
	for id in $(dk 1 node ls -q); do
		[[ "$keep" == *" $id "* ]] && continue
		log "removing stale node $id from the swarm"
		dk 1 node rm --force "$id" >/dev/null 2>&1 || true
	done
}

# ensure_node_specs: labels zone=<letter> and swarmform.node=N and no other,
# availability active, on every node (a test may have drained a node, changed a
# label, or been killed before its cleanup put back what a swarm_node adopted).
ensure_node_specs() {
	local n have key
	local -a lines=() rm=()
	mapfile -t lines < <(dk 1 node inspect --format \
		'{{index .Spec.Labels "zone"}} {{index .Spec.Labels "swarmform.node"}} {{.Spec.Availability}} {{len .Spec.Labels}}' \
		"${NODE_IDS[@]:1}")
	for ((n = 1; n <= MN_COUNT; n++)); do
		have="${lines[$((n - 1))]:-}"
		[ "$have" = "$(node_zone "$n") $n active 2" ] && continue
		rm=()
		for key in $(dk 1 node inspect --format '{{range $k, $v := .Spec.Labels}}{{$k}} {{end}}' "${NODE_IDS[n]}"); do
			[ "$key" = zone ] || [ "$key" = swarmform.node ] || rm+=(--label-rm "$key")
		done
		[ "${#rm[@]}" -eq 0 ] || log "node $n: removing labels a test left: ${rm[*]}"
		dk 1 node update "${rm[@]}" --label-add "zone=$(node_zone "$n")" --label-add "swarmform.node=$n" \
			--availability active "${NODE_IDS[n]}" >/dev/null
	done
}

all_ready() {
	local out
	out="$(dk 1 node inspect --format '{{.Status.State}}' "$@")" || return 1
	[ "$(grep -c '^ready$' <<<"$out")" -eq "$#" ]
}

# ---------------------------------------------------------------------------
# spare nodes
# ---------------------------------------------------------------------------
total_nodes() { echo $((MN_COUNT + MN_SPARE)); }
is_spare() { [ "$1" -gt "$MN_COUNT" ] && [ "$1" -le "$(total_nodes)" ]; }

# ensure_spare_out N: spare node N is in no swarm (a test that joined it may
# have ended before making it leave). The manager forgets it in
# remove_foreign_nodes.
ensure_spare_out() {
	local state
	state="$(swarm_state "$1")"
	[ "$state" = inactive ] && return 0
	log "spare node $1 is in a swarm ($state); leaving it"
	dk "$1" swarm leave --force >/dev/null 2>&1 || true
}

# ---------------------------------------------------------------------------
# metrics: a cAdvisor per node, one Prometheus scraping them
# ---------------------------------------------------------------------------
CADVISOR_BIN=""

cadvisor_pidfile() { echo "$RUN_DIR/$NAME_PREFIX$1.cadvisor.pid"; }
cadvisor_log() { echo "$LOG_DIR/$NAME_PREFIX$1.cadvisor.log"; }
cadvisor_url() { echo "http://$(node_addr "$1"):$CADVISOR_PORT"; }

# pid_from FILE COMM: the pid in FILE if that process runs and is COMM.
pid_from() {
	local pid
	[ -s "$1" ] || return 0
	pid="$(cat "$1" 2>/dev/null)"
	if alive "$pid" "$2"; then echo "$pid"; fi
	return 0
}

cadvisor_answers() { curl -sf --max-time 2 -o /dev/null "$(cadvisor_url "$1")/healthz"; }

# find_cadvisor: set CADVISOR_BIN (building cAdvisor once, see
# scripts/cadvisor.sh), unless MN_CADVISOR=0.
find_cadvisor() {
	[ "$MN_CADVISOR" = 0 ] && return 0
	CADVISOR_BIN="$(bash "$(dirname "$SCRIPT_PATH")/cadvisor.sh")" ||
		die "no cAdvisor binary (scripts/cadvisor.sh failed); MN_CADVISOR=0 brings the swarm up without metrics"
}

# start_cadvisor N: node N's cAdvisor in the node's network namespace, reading
# only the containers of node N's dockerd (which must answer).
start_cadvisor() {
	local n=$1
	[ -n "$CADVISOR_BIN" ] || return 0
	[ -z "$(pid_from "$(cadvisor_pidfile "$n")" cadvisor)" ] || return 0
	(
		cd /
		exec 9>&-
		exec setsid nohup nsenter --net="/run/netns/$(node_netns "$n")" \
			"$CADVISOR_BIN" --docker="$(node_host "$n")" --docker_only=true \
			--listen_ip="$(node_addr "$n")" --port="$CADVISOR_PORT" \
			--housekeeping_interval=1s --max_housekeeping_interval=2s \
			--disable_metrics=disk,diskIO,network,tcp,udp,percpu,sched,process \
			--logtostderr -v=0 >>"$(cadvisor_log "$n")" 2>&1 </dev/null
	) &
	echo "$!" >"$(cadvisor_pidfile "$n")"
	disown "$!" 2>/dev/null || true
}

wait_cadvisor() {
	[ -n "$CADVISOR_BIN" ] || return 0
	wait_for "node $1's cAdvisor on $(cadvisor_url "$1")" "$MN_TIMEOUT" cadvisor_answers "$1" || {
		tail -n 20 "$(cadvisor_log "$1")" >&2 || true
		die "cAdvisor of node $1 did not start"
	}
}

stop_cadvisor() {
	local pid
	pid="$(pid_from "$(cadvisor_pidfile "$1")" cadvisor)"
	if [ -n "$pid" ]; then kill_pids 10 "$pid"; fi
	rm -f "$(cadvisor_pidfile "$1")"
}

prometheus_answers() { curl -sf --max-time 2 -o /dev/null "http://$PROMETHEUS_ADDR/-/ready"; }

# ensure_prometheus: a Prometheus scraping every node's cAdvisor each second.
ensure_prometheus() {
	[ -n "$CADVISOR_BIN" ] || return 0
	local n targets="" pid
	for ((n = 1; n <= $(total_nodes); n++)); do
		targets+="${targets:+, }'$(node_addr "$n"):$CADVISOR_PORT'"
	done
	mkdir -p "$PROMETHEUS_DIR/data"
	cat >"$PROMETHEUS_DIR/prometheus.yml.new" <<-YAML
		# Written by scripts/multinode.sh: cAdvisor on every node of the multi-node swarm.
		global:
		  scrape_interval: 1s
		  evaluation_interval: 1s
		scrape_configs:
		  - job_name: cadvisor
		    static_configs:
		      - targets: [$targets]
	YAML
	local changed=""
	if ! cmp -s "$PROMETHEUS_DIR/prometheus.yml.new" "$PROMETHEUS_DIR/prometheus.yml"; then
		mv "$PROMETHEUS_DIR/prometheus.yml.new" "$PROMETHEUS_DIR/prometheus.yml"
		changed=1
	else
		rm -f "$PROMETHEUS_DIR/prometheus.yml.new"
	fi
	pid="$(pid_from "$PROMETHEUS_DIR/pid" prometheus)"
	if [ -n "$pid" ]; then
		[ -z "$changed" ] || kill -HUP "$pid"
	else
		command -v prometheus >/dev/null 2>&1 ||
			die "prometheus is not installed: install Debian's prometheus (bash scripts/swarm-up.sh does that)"
		log "starting prometheus on $PROMETHEUS_ADDR"
		(
			cd /
			exec 9>&-
			exec setsid nohup prometheus --config.file="$PROMETHEUS_DIR/prometheus.yml" \
				--storage.tsdb.path="$PROMETHEUS_DIR/data" --storage.tsdb.retention.time=2h \
				--web.listen-address="$PROMETHEUS_ADDR" >>"$LOG_DIR/prometheus.log" 2>&1 </dev/null
		) &
		echo "$!" >"$PROMETHEUS_DIR/pid"
		disown "$!" 2>/dev/null || true
	fi
	wait_for "Prometheus on $PROMETHEUS_ADDR" "$MN_TIMEOUT" prometheus_answers || {
		tail -n 20 "$LOG_DIR/prometheus.log" >&2 || true
		die "Prometheus did not start"
	}
	ensure_prometheus_forward
}

# Where the nodes reach the Prometheus: the bridge's host address.
prometheus_bridge_addr() { echo "$MN_SUBNET.1:$PROMETHEUS_PORT"; }

# The nodes' way to the Prometheus, checked from node 1's namespace.
prometheus_answers_nodes() {
	nsenter --net="/run/netns/$(node_netns 1)" \
		curl -sf --max-time 2 -o /dev/null "http://$(prometheus_bridge_addr)/-/ready"
}

# ensure_prometheus_forward: the Prometheus also answers on the bridge's host
# address, where a process in a node's namespace (a controller with the node's
# own network) reaches it. Prometheus listens on one address only and the tests
# on the host use the loopback one, so a socat forwards the bridge's address to
# it; nothing listens on the host's other interfaces.
ensure_prometheus_forward() {
	local pid
	pid="$(pid_from "$PROMETHEUS_DIR/forward.pid" socat)"
	if [ -z "$pid" ]; then
		log "forwarding $(prometheus_bridge_addr) to the Prometheus on $PROMETHEUS_ADDR"
		(
			cd /
			exec 9>&-
			exec setsid nohup socat "TCP-LISTEN:$PROMETHEUS_PORT,bind=$MN_SUBNET.1,reuseaddr,fork" "TCP:$PROMETHEUS_ADDR" \
				>>"$LOG_DIR/prometheus-forward.log" 2>&1 </dev/null
		) &
		echo "$!" >"$PROMETHEUS_DIR/forward.pid"
		disown "$!" 2>/dev/null || true
	fi
	wait_for "the Prometheus on $(prometheus_bridge_addr) from the nodes" "$MN_TIMEOUT" prometheus_answers_nodes || {
		tail -n 20 "$LOG_DIR/prometheus-forward.log" >&2 || true
		die "the nodes do not reach the Prometheus on $(prometheus_bridge_addr)"
	}
}

stop_prometheus() {
	local pid
	pid="$(pid_from "$PROMETHEUS_DIR/forward.pid" socat)"
	if [ -n "$pid" ]; then kill_pids 5 "$pid"; fi
	rm -f "$PROMETHEUS_DIR/forward.pid"
	pid="$(pid_from "$PROMETHEUS_DIR/pid" prometheus)"
	if [ -n "$pid" ]; then kill_pids 15 "$pid"; fi
	rm -f "$PROMETHEUS_DIR/pid"
}

# ---------------------------------------------------------------------------
# teardown
# ---------------------------------------------------------------------------
# Node indexes that have anything on this machine (any count).
existing_nodes() {
	local f
	{
		for f in "$DATA_DIR/$NAME_PREFIX"* "$RUN_DIR/$NAME_PREFIX"* /run/netns/"$NS_PREFIX"*; do
			[ -e "$f" ] || continue
			f="${f##*/}"
			f="${f#"$NAME_PREFIX"}"
			f="${f#"$NS_PREFIX"}"
			f="${f%%.*}"
			if [[ "$f" =~ ^[0-9]+$ ]]; then echo "$f"; fi
		done
		ip -o link show 2>/dev/null | sed -n "s/^[0-9]*: $NS_PREFIX\([0-9][0-9]*\)[@:].*/\1/p"
	} | sort -nu
}

# cgroup_dirs N: node N's cgroup-parent directory in every hierarchy.
cgroup_dirs() {
	local d
	for d in /sys/fs/cgroup/*/"$(node_cgroup "$1")" /sys/fs/cgroup/"$(node_cgroup "$1")"; do
		[ -d "$d" ] && echo "$d"
	done
	return 0
}

# unmount_under DIR...: unmount DIR and everything mounted below it, deepest
# first. (dockerd bind-mounts its --data-root onto itself; after a crash that
# mount stays.)
unmount_under() {
	local mp dir
	local -a mps=()
	for dir in "$@"; do
		while read -r mp; do
			mps+=("$mp")
		done < <(awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo)
	done
	[ "${#mps[@]}" -gt 0 ] || return 0
	printf '%s\n' "${mps[@]}" | awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2- |
		while read -r mp; do
			umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true
		done
}

# teardown_nodes N...: stop and remove everything of the given nodes.
teardown_nodes() {
	local n pid d
	for n in "$@"; do stop_cadvisor "$n"; done
	stop_daemons "$@"
	for n in "$@"; do
		local -a pids=()
		# Whatever still runs: containerd shims of this node, processes
		# left in its network namespace, processes in its containers' cgroups.
		mapfile -t pids < <(
			pids_matching "$(node_execroot "$n")/"
			pids_in_netns "$(node_netns "$n")"
			for d in $(cgroup_dirs "$n"); do
				find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null
			done
		)
		mapfile -t pids < <(printf '%s\n' "${pids[@]}" | grep -v "^$$\$" | grep . | sort -nu)
		if [ "${#pids[@]}" -gt 0 ]; then
			log "node $n: ending leftover processes ${pids[*]}"
			kill_pids 10 "${pids[@]}"
		fi
		for d in $(cgroup_dirs "$n"); do
			find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
		done
		unmount_under "$(node_execroot "$n")" "$(node_dataroot "$n")"
		if [ -e "/run/netns/$(node_netns "$n")" ]; then
			ip netns del "$(node_netns "$n")" 2>/dev/null ||
				{ umount "/run/netns/$(node_netns "$n")" 2>/dev/null; rm -f "/run/netns/$(node_netns "$n")"; }
		fi
		ip link del "$(node_veth "$n")" 2>/dev/null || true
		# Keep going on errors: the other nodes still need tearing down.
		rm -rf --one-file-system "$(node_execroot "$n")" "$(node_dataroot "$n")" ||
			log "node $n: could not remove all of its files (see above)"
		rm -f "$(node_sock "$n")" "$(node_pidfile "$n")" "$(node_config "$n")" \
			"$RUN_DIR/$(node_name "$n").launch"
	done
}

# ---------------------------------------------------------------------------
# subcommands
# ---------------------------------------------------------------------------
cmd_up() {
	local t0=$SECONDS n
	preflight
	take_lock
	mkdir -p "$RUN_DIR" "$DATA_DIR" "$LOG_DIR"
	chmod 0711 "$RUN_DIR"

	local total
	total="$(total_nodes)"
	# Nodes beyond MN_COUNT + MN_SPARE (from an earlier, larger run) go away first.
	local -a extra=()
	for n in $(existing_nodes); do
		if [ "$n" -gt "$total" ]; then extra+=("$n"); fi
	done
	if [ "${#extra[@]}" -gt 0 ]; then
		log "removing nodes beyond MN_COUNT=$MN_COUNT and MN_SPARE=$MN_SPARE: ${extra[*]}"
		teardown_nodes "${extra[@]}"
	fi
	find_cadvisor

	ensure_bridge
	for ((n = 1; n <= total; n++)); do ensure_node_net "$n"; done
	for ((n = 1; n <= total; n++)); do launch_daemon "$n"; done
	for ((n = 1; n <= total; n++)); do wait_daemon "$n"; done

	local -a all=()
	for ((n = 1; n <= total; n++)); do all+=("$n"); done
	ensure_images "${all[@]}"

	init_manager
	for ((n = 2; n <= MN_COUNT; n++)); do join_worker "$n"; done
	for ((n = MN_COUNT + 1; n <= total; n++)); do ensure_spare_out "$n"; done
	for ((n = 1; n <= MN_COUNT; n++)); do
		[ -n "${NODE_IDS[n]:-}" ] || die "node $n has no swarm node ID"
	done
	local -a ids=("${NODE_IDS[@]:1}")
	remove_foreign_nodes "${ids[@]}"
	ensure_node_specs
	for ((n = 1; n <= total; n++)); do start_cadvisor "$n"; done
	wait_for "all $MN_COUNT nodes to be ready" "$MN_TIMEOUT" all_ready "${ids[@]}" || {
		dk 1 node ls >&2 || true
		die "not every node became ready"
	}
	for ((n = 1; n <= total; n++)); do wait_cadvisor "$n"; done
	ensure_prometheus

	local names="" addrs="" hosts="" workers="" zones="" spares="" spare_hosts="" spare_addrs=""
	for ((n = 1; n <= MN_COUNT; n++)); do
		names+="${names:+ }$(node_name "$n")"
		addrs+="${addrs:+ }$(node_addr "$n")"
		hosts+="${hosts:+ }$(node_host "$n")"
		zones+="${zones:+ }$(node_zone "$n")"
		if [ "$n" -gt 1 ]; then workers+="${workers:+ }$(node_host "$n")"; fi
	done
	for ((n = MN_COUNT + 1; n <= total; n++)); do
		spares+="${spares:+ }$n"
		spare_hosts+="${spare_hosts:+ }$(node_host "$n")"
		spare_addrs+="${spare_addrs:+ }$(node_addr "$n")"
	done
	local prom="" prom_nodes=""
	if [ -n "$CADVISOR_BIN" ]; then
		prom="http://$PROMETHEUS_ADDR"
		prom_nodes="http://$(prometheus_bridge_addr)"
	fi
	local env_lines
	env_lines="$(
		emit MN_MANAGER_HOST "$(node_host 1)"
		emit MN_WORKER_HOSTS "$workers"
		emit MN_NODE_HOSTS "$hosts"
		emit MN_NODES "$names"
		emit MN_NODE_ADDRS "$addrs"
		emit MN_NODE_IDS "${ids[*]}"
		emit MN_NODE_ZONES "$zones"
		emit MN_COUNT "$MN_COUNT"
		emit MN_SPARE_NODES "$spares"
		emit MN_SPARE_HOSTS "$spare_hosts"
		emit MN_SPARE_ADDRS "$spare_addrs"
		emit MN_PROMETHEUS "$prom"
		emit MN_PROMETHEUS_FROM_NODES "$prom_nodes"
		emit MN_SOCKET_TEMPLATE "$RUN_DIR/{{.Node.Hostname}}.sock"
		emit MN_AUTOSCALER_IMAGE "$AUTOSCALER_LOADED"
		emit MN_SCRIPT "$SCRIPT_PATH"
		emit MN_TEST_IMAGE "${IMAGES[0]}"
		emit MN_TEST_IMAGE_V2 "${IMAGES[1]:-}"
		emit MN_TEST_IMAGE_LATEST "${IMAGES[2]:-}"
	)"
	{
		echo "# Written by scripts/multinode.sh up; source it: . $ENV_FILE"
		while IFS= read -r line; do printf 'export %s\n' "$line"; done <<<"$env_lines"
	} >"$ENV_FILE.tmp"
	mv "$ENV_FILE.tmp" "$ENV_FILE"
	log "ready in $((SECONDS - t0))s: $MN_COUNT nodes and $MN_SPARE spare; environment written to $ENV_FILE"
	printf '%s\n' "$env_lines"
}

cmd_down() {
	local t0=$SECONDS n
	[ "$(id -u)" -eq 0 ] || die "must run as root"
	take_lock
	local -a nodes=()
	mapfile -t nodes < <(existing_nodes)
	rm -f "$ENV_FILE"
	stop_prometheus
	if [ "${#nodes[@]}" -gt 0 ]; then
		# Remove the services first, so the daemons have no tasks to stop
		# on the way out; give the workers a few seconds to act on it.
		if [ -n "$(daemon_pid 1)" ] && daemon_answers 1 && manager_ready; then
			local -a svcs=()
			mapfile -t svcs < <(dk 1 service ls -q 2>/dev/null || true)
			if [ "${#svcs[@]}" -gt 0 ]; then
				log "removing ${#svcs[@]} service(s) from the multi-node swarm"
				dk 1 service rm "${svcs[@]}" >/dev/null 2>&1 || true
				local deadline=$((SECONDS + 15)) busy
				while [ "$SECONDS" -lt "$deadline" ]; do
					busy=0
					for n in "${nodes[@]}"; do
						[ -n "$(daemon_pid "$n")" ] || continue
						[ -z "$(dk "$n" ps -q 2>/dev/null)" ] || busy=1
					done
					[ "$busy" -eq 0 ] && break
					sleep 0.3
				done
			fi
		fi
		teardown_nodes "${nodes[@]}"
	fi
	if ip link show "$BRIDGE" >/dev/null 2>&1; then
		log "removing bridge $BRIDGE"
		ip link del "$BRIDGE"
	fi
	remove_forward_rule
	unmount_under "$RUN_DIR" "$DATA_DIR"
	rm -rf --one-file-system "$RUN_DIR" "$DATA_DIR" || die "could not remove $RUN_DIR and $DATA_DIR"
	log "down in $((SECONDS - t0))s"
}

node_arg() {
	if ! [[ "${1:-}" =~ ^[0-9]+$ ]] || [ "$1" -lt 1 ]; then
		die "usage: $0 ${2} N (N = node number, 1 is the manager)"
	fi
	[ -d "$(node_dataroot "$1")" ] || die "node $1 does not exist (run: $0 up)"
}

cmd_stop_node() {
	node_arg "${1:-}" stop-node
	local n=$1 t0=$SECONDS
	[ "$(id -u)" -eq 0 ] || die "must run as root"
	take_lock
	if [ -z "$(daemon_pid "$n")" ]; then
		log "node $n: dockerd is not running"
		return 0
	fi
	stop_cadvisor "$n"
	stop_daemons "$n"
	log "node $n: dockerd stopped in $((SECONDS - t0))s"
}

node_is_ready() { [ "$(dk 1 node inspect --format '{{.Status.State}}' "$2" 2>/dev/null)" = ready ]; }
local_active() { [ "$(swarm_state "$1")" = active ]; }

cmd_start_node() {
	node_arg "${1:-}" start-node
	local n=$1 t0=$SECONDS id
	preflight
	take_lock
	mkdir -p "$RUN_DIR" "$LOG_DIR"
	ensure_bridge
	ensure_node_net "$n"
	launch_daemon "$n"
	wait_daemon "$n"
	# cAdvisor finds a dockerd only when it starts, so it restarts with it.
	if [ "$MN_CADVISOR" != 0 ] && [ -e "$PROMETHEUS_DIR/prometheus.yml" ]; then
		find_cadvisor
		stop_cadvisor "$n"
		start_cadvisor "$n"
		wait_cadvisor "$n"
	fi
	if is_spare "$n"; then
		log "spare node $n: dockerd back in $((SECONDS - t0))s"
		return 0
	fi
	wait_for "node $n to rejoin its swarm" "$MN_TIMEOUT" local_active "$n" ||
		die "node $n is up but its swarm state is '$(swarm_state "$n")'"
	if [ "$n" -eq 1 ]; then
		wait_for "the manager to have a leader" "$MN_TIMEOUT" manager_ready ||
			die "the manager (node 1) answers no node list after its restart"
		# A restarted manager reports the workers "unknown" until they
		# check in again: wait for every node whose daemon runs.
		local m info
		local -a ids=()
		for m in $(existing_nodes); do
			[ -n "$(daemon_pid "$m")" ] || continue
			info="$(swarm_info "$m")"
			[ "${info%% *}" = active ] && ids+=("$(cut -d' ' -f2 <<<"$info")")
		done
		wait_for "the restarted manager to see the running nodes ready" "$MN_TIMEOUT" all_ready "${ids[@]}" ||
			die "the restarted manager does not see every running node ready"
	elif [ -n "$(daemon_pid 1)" ] && manager_ready; then
		id="$(cut -d' ' -f2 <<<"$(swarm_info "$n")")"
		wait_for "the manager to see node $n ready" "$MN_TIMEOUT" node_is_ready "$n" "$id" ||
			die "the manager does not see node $n ready"
	fi
	log "node $n: dockerd back in $((SECONDS - t0))s"
}

spare_arg() {
	node_arg "${1:-}" "$2"
	is_spare "$1" || die "node $1 is not a spare node (spares: $((MN_COUNT + 1))..$(total_nodes))"
}

cmd_join_node() {
	spare_arg "${1:-}" join-node
	local n=$1 t0=$SECONDS info id
	[ "$(id -u)" -eq 0 ] || die "must run as root"
	take_lock
	[ -n "$(daemon_pid "$n")" ] || die "spare node $n's dockerd is not running (start-node $n)"
	info="$(settled_info "$n")"
	if [ "${info%% *}" != active ]; then
		[ -n "$JOIN_TOKEN" ] || JOIN_TOKEN="$(dk 1 swarm join-token -q worker)"
		log "node $n: docker swarm join $(node_addr 1):2377"
		dk "$n" swarm join --token "$JOIN_TOKEN" --advertise-addr "$(node_addr "$n")" \
			--listen-addr "$(node_addr "$n"):2377" "$(node_addr 1):2377" >/dev/null
	fi
	id="$(cut -d' ' -f2 <<<"$(swarm_info "$n")")"
	if [ -z "$id" ] || [ "$id" = - ]; then die "node $n joined but reports no node ID"; fi
	dk 1 node update --label-add "zone=$(node_zone "$n")" --label-add "swarmform.node=$n" "$id" >/dev/null
	wait_for "the manager to see node $n ready" "$MN_TIMEOUT" node_is_ready "$n" "$id" ||
		die "the manager does not see node $n ready"
	log "node $n: joined as $id in $((SECONDS - t0))s"
	echo "$id"
}

node_gone() { ! dk 1 node inspect "$1" >/dev/null 2>&1; }

cmd_leave_node() {
	spare_arg "${1:-}" leave-node
	local n=$1 t0=$SECONDS info id
	[ "$(id -u)" -eq 0 ] || die "must run as root"
	take_lock
	info="$(swarm_info "$n")"
	id="$(cut -d' ' -f2 <<<"$info")"
	if [ "${info%% *}" != inactive ] && [ "${info%% *}" != unknown ]; then
		dk "$n" swarm leave --force >/dev/null 2>&1 || true
	fi
	if [ -n "$id" ] && [ "$id" != - ]; then
		dk 1 node rm --force "$id" >/dev/null 2>&1 || true
		wait_for "the manager to forget node $n" "$MN_TIMEOUT" node_gone "$id" ||
			die "the manager still lists node $n ($id)"
	fi
	log "node $n: out of the swarm in $((SECONDS - t0))s"
}

cmd_status() {
	local n pid
	local -a nodes=()
	mapfile -t nodes < <(existing_nodes)
	if [ "${#nodes[@]}" -eq 0 ]; then
		echo "multi-node swarm is down"
		return 0
	fi
	printf '%-6s %-15s %-8s %-9s %s\n' NODE ADDRESS PID DAEMON SOCKET
	for n in "${nodes[@]}"; do
		pid="$(daemon_pid "$n")"
		local st=stopped
		if [ -n "$pid" ]; then
			st=running
			daemon_answers "$n" || st=starting
		fi
		printf '%-6s %-15s %-8s %-9s %s\n' "$(node_name "$n")" "$(node_addr "$n")" "${pid:--}" "$st" "$(node_host "$n")"
	done
	echo
	if [ -n "$(daemon_pid 1)" ] && daemon_answers 1 && manager_ready; then
		dk 1 node ls
		echo
		local id
		for id in $(dk 1 node ls -q); do
			# shellcheck disable=SC2016 # a Go template, not shell
			dk 1 node inspect --format '{{.Description.Hostname}}  state={{.Status.State}} availability={{.Spec.Availability}} labels={{range $k, $v := .Spec.Labels}}{{$k}}={{$v}} {{end}}' "$id"
		done
	else
		echo "the manager (node 1) does not answer"
	fi
}

usage() {
	sed -n '/^# Usage:/,/^#   status/p' "$SCRIPT_PATH" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

main() {
	local cmd=${1:-}
	[ "$#" -gt 0 ] && shift
	case "$cmd" in
	up) cmd_up "$@" ;;
	down) cmd_down "$@" ;;
	stop-node) cmd_stop_node "$@" ;;
	start-node) cmd_start_node "$@" ;;
	join-node) cmd_join_node "$@" ;;
	leave-node) cmd_leave_node "$@" ;;
	status) cmd_status "$@" ;;
	*) usage ;;
	esac
}

main "$@"
