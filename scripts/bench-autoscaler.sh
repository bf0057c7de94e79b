#!/usr/bin/env bash
# Benchmark: continuous autoscaling (#18), the controller built from this tree.
#
# 1. Reaction and scale-down. One service of 1 task (cpu limit 0.05, the test image's
#    BURN_FILE load switch) with a continuous cpu policy (target 50 %, 1 to 2 replicas, the
#    default scale-up rules, a scale_down window of WINDOW). RUNS times: load on, until 2 tasks
#    run; load off, until 1 runs. Reaction: from the moment the load crossed the target in every
#    task (each task logs "load on" when it sees its load file) to the new task running, split
#    into the wait for the next round, reading the metric (the round's lists and stats calls),
#    the decision, the write and the convergence. Scale-down lateness: when Swarm took the
#    scale-down, less the end of the window that held it (the last round that recommended 2,
#    plus WINDOW); the target is at most one interval.
# 2. A steady cluster. POLICIES services of 1 task, idle (a load that does not change: the
#    decision stays, which is all the controller's cost depends on), with continuous policies
#    on POLICIES/10 of them, then on all; for each metric source in METRICS (cpu: Docker stats;
#    prometheus: a query to TEST_PROMETHEUS), RUNS windows of STEADY seconds each, after every
#    policy had its first decision: the services' update events (the controller's writes), the
#    controller process's CPU (% of one core) and RSS, read from the host (/proc of the PID
#    docker inspect gives), the Docker API requests of each round and how long the round took,
#    Prometheus queries per round, and the CPU of the engine (dockerd, its containerd and
#    shims), against the same windows with no controller.
#
# The controller is a service made by scripts/benchautoscaler from orchestrator.AutoscalerSpec
# (what swarm_autoscaler deploys) at INTERVAL (default: the controller's default), whose Docker
# socket is scripts/apicount's (a proxy that logs each request with its times), on the host's
# network (to reach the Prometheus on the host's loopback and to serve /metrics to this script
# on a loopback port). A controller acts on every continuous policy of the swarm, so the script
# waits while another controller or another continuous policy exists. Everything it makes is
# named with PREFIX and removed when it exits. Prints the figures as median/min/max; asserts
# nothing. The local swarm only (the proxy is a unix socket on this host).
#   RUNS=3 POLICIES=100 bash scripts/bench-autoscaler.sh
#   RUNS=2 POLICIES=10 INTERVAL=5s WINDOW=30s STEADY=60 METRICS=cpu bash scripts/bench-autoscaler.sh
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
POLICIES=${POLICIES:-100}
WINDOW=${WINDOW:-30s}
STEADY=${STEADY:-60}
METRICS=${METRICS:-cpu prometheus}
PHASES=${PHASES:-reaction steady}
PROMETHEUS=${TEST_PROMETHEUS:-http://127.0.0.1:19090}
small=$((POLICIES / 10 > 0 ? POLICIES / 10 : 1))
work=$(mktemp -d)
helper=$work/benchautoscaler
ctl=${PREFIX}ctl
react=${PREFIX}react
image=swarmform/swarm-autoscaler:${PREFIX%-}
cleanup() {
	set +e
	pkill -P $$ # a helper or Terraform still running when a signal ended the script, and the proxy
	[ -x "$helper" ] && "$helper" stop -name "$ctl" >/dev/null
	(cd "$work/tf" 2>/dev/null && terraform destroy -auto-approve -input=false >/dev/null 2>&1)
	remove_prefixed
	docker image rm "$image" >/dev/null 2>&1
	if [ -n "${KEEP:-}" ]; then echo "bench-autoscaler: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

read -ra provs <<<"$(providers)"
tfrc "$work/tfrc" "${provs[0]#*=}"
export TF_CLI_CONFIG_FILE=$work/tfrc
(cd "$repo" && go build -o "$helper" ./scripts/benchautoscaler && go build -o "$work/apicount" ./scripts/apicount)
INTERVAL=${INTERVAL:-$("$helper" default-interval)}

# The controller's image, as make autoscaler-image builds it, under a tag of this run.
mkdir -p "$work/image" "$work/load" "$work/tf"
(cd "$repo" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/image/swarm-autoscaler" ./cmd/swarm-autoscaler)
cp "$repo/cmd/swarm-autoscaler/Dockerfile" "$work/image/"
DOCKER_BUILDKIT=0 docker build -q -t "$image" "$work/image" >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }

upstream=${DOCKER_HOST:-unix:///var/run/docker.sock}
"$work/apicount" -times -listen "$work/docker.sock" -upstream "${upstream#unix://}" -log "$work/requests.log" 2>"$work/apicount.log" &
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
metrics_url=http://127.0.0.1:$port/metrics

# metric KIND: a policy's metric, read from Docker stats (cpu) or Prometheus.
metric() {
	if [ "$1" = cpu ]; then
		echo '{ type = "cpu", target_utilization = 50 }'
	else
		echo "{ type = \"prometheus\", address = \"$PROMETHEUS\", query = \"vector(50)\", target_average_value = 100 }"
	fi
}

# write_config REACT SERVICES POLICIES KIND: the reaction service and its policy (REACT=1),
# SERVICES idle services and continuous policies (KIND) on the first POLICIES of them.
write_config() {
	local react_count=$1 services=$2 policies=$3 kind=$4
	cat >"$work/tf/main.tf" <<HCL
terraform {
  required_providers {
    swarm = { source = "swarmform/swarm" }
  }
}
provider "swarm" {}
resource "swarm_service" "react" {
  count          = $react_count
  name           = "$react"
  image          = "$IMAGE"
  replicas       = 1
  env            = { BURN_FILE = "/load/on" }
  mounts         = [{ type = "bind", source = "$work/load", target = "/load" }]
  resources      = { limits = { cpus = 0.05 } }
  rolling_update = { monitor = "1s" }
}
resource "swarm_scaling_policy" "react" {
  count        = $react_count
  service_id   = swarm_service.react[0].id
  min_replicas = 1
  max_replicas = 2
  evaluation   = "continuous"
  metrics      = [$(metric cpu)]
  scale_down   = { stabilization_window = "$WINDOW" }
}
resource "swarm_service" "steady" {
  count          = $services
  name           = "${PREFIX}s\${count.index}"
  image          = "$IMAGE"
  replicas       = 1
  resources      = { limits = { cpus = 0.05, memory = "32MiB" } }
  rolling_update = { monitor = "1s" }
}
resource "swarm_scaling_policy" "steady" {
  count        = $policies
  service_id   = swarm_service.steady[count.index].id
  min_replicas = 1
  max_replicas = 2
  evaluation   = "continuous"
  metrics      = [$(metric "$kind")]
}
HCL
	(cd "$work/tf" && terraform apply -auto-approve -input=false >/dev/null)
}

# start_controller LEVEL: the controller, once its first round finished; sets cid and pid.
start_controller() {
	"$helper" start -name "$ctl" -image "$image" -socket "$work/docker.sock" -listen "127.0.0.1:$port" -prefix "$PREFIX" \
		-interval "$INTERVAL" -level "$1" >/dev/null
	find_controller
}

# find_controller: sets cid and pid to the controller's running container and its process.
find_controller() {
	cid=$(docker ps -q --no-trunc --filter "label=com.docker.swarm.service.name=$ctl" --filter status=running | head -1)
	pid=$(docker inspect -f '{{.State.Pid}}' "$cid")
}

# settle KIND N: until the N policies of the steady services had their first decision from the
# controller, and two more rounds; records how long the first decisions took and how many
# times the controller's container started meanwhile (Swarm restarts it when its healthcheck
# fails: no round finished within three intervals).
settle() {
	local from
	from=$(date +%s.%N)
	"$helper" settled -prefix "$PREFIX" -count "$2" -metrics "$metrics_url" >>"$work/settle-$1-$2"
	docker events --since "$from" --until "$(date +%s.%N)" --filter type=container --filter event=start \
		--filter "label=com.docker.swarm.service.name=$ctl" --format '{{.ID}}' | wc -l >>"$work/restarts-$1-$2"
	find_controller
}

# scrape NAME: a value of the controller's /metrics.
scrape() { curl -fsS "$metrics_url" 2>/dev/null | awk -v n="$1" '$1 == n {print $2}'; }

# acting: fails unless this controller acts (another one on the node may hold the lock).
acting() {
	[ "$(scrape swarm_autoscaler_acting)" = 1 ] || { echo "bench-autoscaler: the benchmark's controller stands by (another controller acts)" >&2; exit 1; }
}

# rounds_total: the rounds the controller ran, -1 while it does not answer.
rounds_total() {
	local r
	r=$(scrape swarm_autoscaler_rounds_total)
	echo "${r:--1}"
}

# wait_rounds N: until the controller ran N more rounds (3 minutes at most).
wait_rounds() {
	local until=$(($(rounds_total) + $1)) deadline=$((SECONDS + 180))
	while [ "$(rounds_total)" -lt "$until" ]; do
		[ $SECONDS -lt $deadline ] || { echo "bench-autoscaler: the controller ran no $1 rounds in 3 minutes" >&2; exit 1; }
		sleep 0.5
	done
}

# wait_running SERVICE N: until the service asks for N tasks and N run (3 minutes at most).
wait_running() {
	local deadline=$((SECONDS + 180)) got
	while :; do
		got=$(docker service ls --filter "name=$1" --format '{{.Name}} {{.Replicas}}' | awk -v n="$1" '$1 == n {print $2}')
		[ "$got" = "$2/$2" ] && return 0
		[ $SECONDS -lt $deadline ] || { echo "bench-autoscaler: $1 at $got after 3 minutes, want $2/$2" >&2; exit 1; }
		sleep 0.2
	done
}

# running_tasks SERVICE: the IDs of its tasks meant to run, comma-separated.
running_tasks() { docker service ps -q --no-trunc --filter desired-state=running "$1" | paste -sd,; }

# ticks PID...: the CPU time (clock ticks, user + system) of each process, "pid ticks" lines.
ticks() {
	local p
	for p in "$@"; do
		[ -r "/proc/$p/stat" ] && awk -v p="$p" '{sub(/^.*\) /, ""); print p, $12 + $13}' "/proc/$p/stat"
	done
}

# engine_pids: dockerd of the local engine, its containerd and the shims of its containers.
engine_pids() {
	local d
	d=$(cat /var/run/docker.pid)
	echo "$d"
	pgrep -P "$d" -x containerd || true
	pgrep -f 'containerd-shim.*-address /var/run/docker/containerd/containerd.sock' || true
}

# cpu_percent BEFORE AFTER SECONDS: the CPU the processes in both "pid ticks" files used, in %
# of one core.
cpu_percent() {
	awk -v s="$3" -v hz="$(getconf CLK_TCK)" 'NR == FNR {b[$1] = $2; next} ($1 in b) {t += $2 - b[$1]} END {printf "%.2f\n", t / hz / s * 100}' "$1" "$2"
}

# prom_queries: the instant queries the Prometheus answered so far.
prom_queries() { curl -fsS "$PROMETHEUS/metrics" | awk '/^prometheus_http_requests_total\{.*handler="\/api\/v1\/query"/ {n += $2} END {printf "%d\n", n}'; }

# window KIND N: one steady window of STEADY seconds (KIND empty: no controller); appends each
# figure to its file.
window() {
	local kind=$1 n=$2 f=$work/steady-$1-$2 from to took q0 i rss=0 r
	quiet
	load1 >>"$work/loads-steady"
	if [ -n "$kind" ]; then
		acting
		q0=$(prom_queries)
	fi
	from=$(date +%s.%N)
	if $engine; then ticks $(engine_pids) >"$work/e0"; fi
	if [ -n "$kind" ]; then ticks "$pid" >"$work/c0"; fi
	for ((i = 0; i < STEADY; i++)); do
		sleep 1
		if [ -n "$kind" ]; then
			r=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
			[ "$r" -gt "$rss" ] && rss=$r
		fi
	done
	if $engine; then ticks $(engine_pids) >"$work/e1"; fi
	if [ -n "$kind" ]; then ticks "$pid" >"$work/c1"; fi
	to=$(date +%s.%N)
	took=$(echo "$to - $from" | bc)
	if $engine; then cpu_percent "$work/e0" "$work/e1" "$took" >>"$f-engine"; fi
	load1 >>"$work/loads-steady"
	[ -n "$kind" ] || return 0
	acting
	cpu_percent "$work/c0" "$work/c1" "$took" >>"$f-cpu"
	echo "$rss" | awk '{printf "%.1f\n", $1 / 1024}' >>"$f-rss"
	awk '/^VmHWM:/ {printf "%.1f\n", $2 / 1024}' "/proc/$pid/status" >>"$f-peak"
	docker events --since "$from" --until "$to" --filter type=service --filter event=update --format '{{.Actor.Attributes.name}}' |
		grep -c "^${PREFIX}" >>"$f-writes" || true
	"$helper" rounds -requests "$work/requests.log" -from "${from/./}" -to "${to/./}" >"$f-rounds-now"
	cat "$f-rounds-now" >>"$f-rounds"
	# The queries over the rounds that started in the window (each starts with a node list).
	awk -v q="$(($(prom_queries) - q0))" -v from="${from/./}" -v to="${to/./}" \
		'$4 == "GET" && $5 == "/nodes" && $1 >= from && $1 <= to {n++} END {if (n) printf "%.1f\n", q / n}' "$work/requests.log" >>"$f-prom"
}

# The engine's CPU is read where it runs on this host, from its own socket.
engine=false
[ -r /var/run/docker.pid ] && [ "$upstream" = unix:///var/run/docker.sock ] && engine=true

# column FILE K: the Kth column of FILE.
column() { awk -v k="$2" '{print $k}' "$1"; }

s=autoscale
name=${provs[0]%%=*}

### 1. Reaction and scale-down.
if [[ " $PHASES " == *" reaction "* ]]; then
write_config 1 0 0 cpu
start_controller debug
"$helper" settled -prefix "$PREFIX" -count 1 -metrics "$metrics_url" >/dev/null
: >"$work/loads"
for _ in $(seq "$RUNS"); do
	quiet
	load1 >>"$work/loads"
	acting
	tasks=$(running_tasks "$react")
	on=$(date +%s%N)
	touch "$work/load/on"
	wait_running "$react" 2
	wait_rounds 1 # the round that scaled up has logged its line
	docker logs "$cid" >"$work/ctl.log" 2>&1
	"$helper" reaction -service "$react" -controller-log "$work/ctl.log" -requests "$work/requests.log" -tasks "$tasks" -on "$on" >>"$work/reaction"
	wait_rounds 2 # a steady count before the load goes
	off=$(date +%s%N)
	rm "$work/load/on"
	wait_running "$react" 1
	wait_rounds 1
	docker logs "$cid" >"$work/ctl.log" 2>&1
	"$helper" scaledown -service "$react" -controller-log "$work/ctl.log" -requests "$work/requests.log" -window "$WINDOW" -off "$off" >>"$work/scaledown"
	load1 >>"$work/loads"
done
"$helper" stop -name "$ctl"
l=$(loads "$work/loads")
column "$work/reaction" 6 | report $s "$name" "reaction, interval $INTERVAL" 1 s "$l"
column "$work/reaction" 7 | report $s "$name" "reaction: metric lag" 1 s "$l"
column "$work/reaction" 1 | report $s "$name" "reaction: wait for the round" 1 s "$l"
column "$work/reaction" 2 | report $s "$name" "reaction: read the metric" 1 s "$l"
column "$work/reaction" 3 | awk '{print $1 * 1000}' | report $s "$name" "reaction: decision" 1 ms "$l"
column "$work/reaction" 4 | awk '{print $1 * 1000}' | report $s "$name" "reaction: write" 1 ms "$l"
column "$work/reaction" 5 | report $s "$name" "reaction: convergence" 1 s "$l"
column "$work/scaledown" 1 | report $s "$name" "scale-down lateness, window $WINDOW" 1 s "$l"
column "$work/scaledown" 2 | report $s "$name" "scale-down: window end to round" 1 s "$l"
column "$work/scaledown" 3 | report $s "$name" "scale-down: round to write" 1 s "$l"
column "$work/scaledown" 4 | report $s "$name" "scale-down: load off to write" 1 s "$l"
fi
[[ " $PHASES " == *" steady "* ]] || exit 0

### 2. A steady cluster.
write_config 0 "$POLICIES" 0 cpu
: >"$work/loads-steady"
for _ in $(seq "$RUNS"); do window "" 0; done
if $engine; then
	report $s "$name" "steady: engine CPU, no controller" "$POLICIES" "% core" "$(loads "$work/loads-steady")" <"$work/steady--0-engine"
fi
start_controller info
for kind in $METRICS; do
	for n in $small $POLICIES; do
		write_config 0 "$POLICIES" 0 "$kind"
		write_config 0 "$POLICIES" "$n" "$kind"
		settle "$kind" "$n"
		: >"$work/loads-steady"
		for _ in $(seq "$RUNS"); do window "$kind" "$n"; done
		f=$work/steady-$kind-$n
		l=$(loads "$work/loads-steady")
		report $s "$name" "new $kind: first decisions" "$n" s "$l" <"$work/settle-$kind-$n"
		report $s "$name" "new $kind: controller restarts" "$n" starts "$l" <"$work/restarts-$kind-$n"
		report $s "$name" "steady $kind: service writes" "$n" "per ${STEADY}s" "$l" <"$f-writes"
		report $s "$name" "steady $kind: controller CPU" "$n" "% core" "$l" <"$f-cpu"
		report $s "$name" "steady $kind: controller RSS" "$n" MiB "$l" <"$f-rss"
		report $s "$name" "steady $kind: controller peak RSS" "$n" MiB "$l" <"$f-peak"
		column "$f-rounds" 1 | report $s "$name" "steady $kind: API requests/round" "$n" requests "$l"
		column "$f-rounds" 2 | report $s "$name" "steady $kind: lists/round" "$n" requests "$l"
		column "$f-rounds" 3 | report $s "$name" "steady $kind: stats/round" "$n" requests "$l"
		column "$f-rounds" 4 | report $s "$name" "steady $kind: heartbeat/round" "$n" requests "$l"
		column "$f-rounds" 5 | report $s "$name" "steady $kind: writes/round" "$n" requests "$l"
		column "$f-rounds" 6 | report $s "$name" "steady $kind: other/round" "$n" requests "$l"
		column "$f-rounds" 7 | report $s "$name" "steady $kind: round took" "$n" s "$l"
		if [ "$kind" != cpu ]; then
			report $s "$name" "steady $kind: queries/round" "$n" queries "$l" <"$f-prom"
		fi
		if $engine; then
			report $s "$name" "steady $kind: engine CPU" "$n" "% core" "$l" <"$f-engine"
		fi
	done
done
