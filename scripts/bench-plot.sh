#!/usr/bin/env bash
# Plots plan seconds against N from the figures the benchmarks recorded (RESULTS of
# bench-plan.sh): for each provider, `plan` and `plan -refresh=false`, and Terraform's floor
# (N terraform_data), each as the median with a bar from min to max; wall time on the left,
# CPU time on the right. Needs gnuplot
# (Debian: apt-get install gnuplot-nox).
#   bash scripts/bench-plot.sh results.tsv docs/bench-plan.png
set -euo pipefail
in=$1
out=$2
command -v gnuplot >/dev/null || { echo "bench-plot: gnuplot is not installed (apt-get install gnuplot-nox)" >&2; exit 1; }
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT

# One data file per line of the plot: "N median min max", sorted by N.
series() { # PROVIDER METRIC FILE
	awk -F'\t' -v p="$1" -v m="$2" '$1 == "plan" && $2 == p && $3 == m {print $4, $5, $6, $7}' "$in" | sort -n >"$3"
}
# lines SUFFIX: the plot command of one panel, for the wall ("") or CPU (" CPU") figures.
lines() {
	local sfx=$1 key=${1// /} p plots=()
	if [ -z "$sfx" ]; then series terraform "floor: terraform_data -refresh=false" "$data/floor$key"; else series terraform "floor CPU" "$data/floor$key"; fi
	plots+=("'$data/floor$key' using 1:2:3:4 with yerrorlines lw 2 dt 3 title 'floor: N terraform_data, plan -refresh=false'")
	for p in $(awk -F'\t' '$1 == "plan" && $2 != "terraform" {print $2}' "$in" | awk '!seen[$0]++'); do
		series "$p" "plan$sfx" "$data/$p-plan$key"
		series "$p" "plan -refresh=false$sfx" "$data/$p-norefresh$key"
		plots+=("'$data/$p-plan$key' using 1:2:3:4 with yerrorlines lw 2 title '$p: plan'")
		plots+=("'$data/$p-norefresh$key' using 1:2:3:4 with yerrorlines lw 2 title '$p: plan -refresh=false'")
	done
	(IFS=,; echo "${plots[*]}")
}
machine="$(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(date -u +%Y-%m-%d)"
gnuplot <<GP
set terminal pngcairo size 1400,600 font ",10" noenhanced
set output '$out'
set multiplot layout 1,2 title "terraform plan of N swarm_service instances: median, bars min to max ($machine)"
set xlabel "N (resources)"
set key top left
set grid
set xrange [0:*]
set yrange [0:*]
set title "wall time"
set ylabel "seconds"
plot $(lines "")
set title "CPU time of Terraform and its provider processes"
set ylabel "CPU seconds"
plot $(lines " CPU")
unset multiplot
GP
echo "wrote $out"
