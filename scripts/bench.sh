#!/usr/bin/env bash
# Every benchmark of BENCHMARKS.md in one run (what `make bench` runs): the machine, then
# plan cost at scale (bench-plan.sh), scaling policies (bench-scaling.sh), creating services
# (bench-create.sh), a rolling update (bench-rollout.sh), stacks (bench-stack.sh) and continuous autoscaling
# (bench-autoscaler.sh: POLICIES, INTERVAL); every figure is printed as
# median/min/max with the load average it ran under, recorded in OUT/results.tsv (and as a
# Markdown table in OUT/results.md), and the plan figures are plotted to OUT/plan-seconds.png.
#   OUT=benchmarks RUNS=3 bash scripts/bench.sh
#   PROVIDERS="this=/dir/new main=/dir/old" bash scripts/bench.sh   (side by side)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-benchmarks}
mkdir -p "$OUT"
export RESULTS=$PWD/$OUT/results.tsv
: >"$RESULTS"
start=$SECONDS

{
	echo "date:      $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "machine:   $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), $(uname -sr)"
	echo "docker:    engine $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"
	echo "terraform: $(terraform version | head -1)"
	echo "go:        $(go version | cut -d' ' -f3)"
	echo "commit:    $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!benchmarks' || echo ' (with local changes)')"
	echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
} | tee "$OUT/machine.txt"
echo
printf '%-8s %-10s %-28s %6s  %8s %8s %8s\n' section provider metric N median min max
bash scripts/bench-plan.sh
bash scripts/bench-scaling.sh
bash scripts/bench-create.sh
bash scripts/bench-rollout.sh
bash scripts/bench-stack.sh
bash scripts/bench-autoscaler.sh
bash scripts/bench-plot.sh "$RESULTS" "$OUT/plan-seconds.png"
# The table of BENCHMARKS.md.
awk -F'\t' 'BEGIN {print "| section | provider | figure | N | median | min | max | unit | load (1 min) |"; print "|---|---|---|---:|---:|---:|---:|---|---|"}
	{printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9}' "$RESULTS" >"$OUT/results.md"
echo "table: $OUT/results.md"
echo "all benchmarks: $(((SECONDS - start) / 60)) min $(((SECONDS - start) % 60)) s"
