# Shared by the bench-*.sh scripts (sourced, not run). Each script prints its figures as
# median/min/max of RUNS runs, and appends them to $RESULTS (tab-separated: section, provider,
# metric, n, median, min, max, unit, load) when RESULTS is set.

IMAGE=${TEST_IMAGE:-swarmform-testapp:v1}
RUNS=${RUNS:-5}
# Names of every object a benchmark creates start with PREFIX, so that several benchmarks (and
# the acceptance tests) can share a swarm; cleanup removes only these.
PREFIX=${PREFIX:-bench-$$-}
# Timed runs wait (up to QUIET_WAIT seconds) for the 1-minute load average to fall below
# QUIET_LOAD, then run anyway; the load is reported with every figure.
QUIET_LOAD=${QUIET_LOAD:-1}
QUIET_WAIT=${QUIET_WAIT:-300}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# provider_dir DIR: builds this tree's provider into DIR (once per script run).
provider_dir() {
	if [ ! -x "$1/terraform-provider-swarm" ]; then
		(cd "$repo" && go build -o "$1/terraform-provider-swarm" .)
	fi
}

# tfrc FILE DIR: a CLI configuration that takes the swarm provider from DIR.
tfrc() {
	printf 'provider_installation {\n  dev_overrides {\n    "registry.terraform.io/swarmform/swarm" = "%s"\n  }\n  direct {}\n}\n' "$2" >"$1"
}

# providers: the PROVIDERS list ("name=dir name=dir ..."; default: this tree as "this").
providers() {
	if [ -n "${PROVIDERS:-}" ]; then
		echo "$PROVIDERS"
	else
		provider_dir "$work/bin"
		echo "this=$work/bin"
	fi
}

load1() { cut -d' ' -f1 /proc/loadavg; }

# quiet: waits until the machine is quiet enough to time (or QUIET_WAIT has passed).
quiet() {
	local waited=0
	while awk -v l="$(load1)" -v max="$QUIET_LOAD" 'BEGIN {exit !(l >= max)}' && [ "$waited" -lt "$QUIET_WAIT" ]; do
		sleep 10
		waited=$((waited + 10))
	done
}

# seconds CMD...: runs CMD with its output discarded and prints how long it took; fails with
# CMD.
seconds() {
	local s e
	s=$(date +%s.%N)
	"$@" >/dev/null 2>&1 || return 1
	e=$(date +%s.%N)
	echo "$e - $s" | bc
}

# timed WALL CPU CMD...: runs CMD with its output discarded and appends how long it took to
# the file WALL and the CPU time it and its children used (user + system: Terraform and the
# provider processes it starts) to the file CPU; fails with CMD. On a machine that runs other
# work, CPU time says more than wall time.
timed() {
	local wall=$1 cpu=$2
	shift 2
	(
		s=$(date +%s.%N)
		"$@" >/dev/null 2>&1 || exit 1
		e=$(date +%s.%N)
		echo "$e - $s" | bc >>"$wall"
		# times: the shell's user and system time, then its children's ("1m2.500s 0m0.250s");
		# in this shell, not in a pipe's subshell, which has no children yet.
		times >"$cpu.times"
		awk 'function sec(t) { split(t, a, "m"); return a[1] * 60 + a[2] }
			NR == 2 { printf "%.2f\n", sec($1) + sec($2) }' "$cpu.times" >>"$cpu"
		rm -f "$cpu.times"
	)
}

# stats: numbers on stdin -> "median min max".
stats() {
	sort -n | awk '{a[NR] = $1} END {
		if (NR == 0) { print "- - -"; exit }
		m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		printf "%.2f %.2f %.2f\n", m, a[1], a[NR]
	}'
}

# report SECTION PROVIDER METRIC N UNIT LOADS < values: prints a line and records it.
report() {
	local section=$1 provider=$2 metric=$3 n=$4 unit=$5 loads=$6 med min max
	read -r med min max < <(stats)
	printf '%-8s %-10s %-28s %6s  %8s %8s %8s %s  (load %s)\n' "$section" "$provider" "$metric" "$n" "$med" "$min" "$max" "$unit" "$loads"
	if [ -n "${RESULTS:-}" ]; then
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$section" "$provider" "$metric" "$n" "$med" "$min" "$max" "$unit" "$loads" >>"$RESULTS"
	fi
}

# loads FILE: the range of load averages recorded in FILE, "min-max".
loads() { sort -n "$1" | awk 'NR == 1 {lo = $1} {hi = $1} END {print lo "-" hi}'; }

# remove_prefixed: removes the services whose names start with PREFIX (what a failed run may
# leave behind), and nothing else.
remove_prefixed() {
	docker service ls --format '{{.Name}}' | grep "^${PREFIX}" | xargs -r docker service rm >/dev/null 2>&1 || true
}
