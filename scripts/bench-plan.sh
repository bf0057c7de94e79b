#!/usr/bin/env bash
# Benchmark: `terraform plan` of N services (which reads the cluster) against
# `terraform plan -refresh=false` on the same state. Prints the figures; asserts nothing.
#   N=100 RUNS=5 bash scripts/bench-plan.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-100}
RUNS=${RUNS:-5}
IMAGE=${TEST_IMAGE:-swarmform-testapp:v1}
root=$(pwd)
work=$(mktemp -d)
trap 'cd "$work" && TF_CLI_CONFIG_FILE=$work/tfrc terraform destroy -auto-approve -input=false >/dev/null 2>&1; rm -rf "$work"' EXIT

go build -o "$work/bin/terraform-provider-swarm" .
printf 'provider_installation {\n  dev_overrides {\n    "registry.terraform.io/swarmform/swarm" = "%s"\n  }\n  direct {}\n}\n' "$work/bin" > "$work/tfrc"
export TF_CLI_CONFIG_FILE=$work/tfrc
cat > "$work/main.tf" <<HCL
terraform {
  required_providers {
    swarm = { source = "swarmform/swarm" }
  }
}
provider "swarm" {}
resource "swarm_service" "bench" {
  count    = $N
  name     = "tfacc-bench-\${count.index}"
  image    = "$IMAGE"
  replicas = 0
  env      = { INDEX = tostring(count.index) }
  labels   = { bench = "plan" }
}
HCL
cd "$work"
t0=$(date +%s.%N)
terraform apply -auto-approve -input=false -parallelism=20 >/dev/null
echo "created $N services in $(echo "$(date +%s.%N) - $t0" | bc) s"

time_runs() {
  local out=()
  for _ in $(seq "$RUNS"); do
    local s e
    s=$(date +%s.%N)
    terraform plan -input=false -detailed-exitcode "$@" >/dev/null || { echo "plan was not empty" >&2; exit 1; }
    e=$(date +%s.%N)
    out+=("$(echo "$e - $s" | bc)")
  done
  printf '%s\n' "${out[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
refresh=$(time_runs)
norefresh=$(time_runs -refresh=false)
echo "services:                 $N"
echo "plan (reads the cluster): ${refresh} s (median of $RUNS)"
echo "plan -refresh=false:      ${norefresh} s (median of $RUNS)"
echo "refresh overhead:         $(echo "scale=1; ($refresh - $norefresh) * 100 / $norefresh" | bc) %"
