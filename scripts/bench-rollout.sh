#!/usr/bin/env bash
# Benchmark: wall time of a rolling update applied by `terraform apply` against
# `docker service update` (which also waits for convergence) making the same kind of change
# (a new environment value: every task restarts) to the same service, alternating, in one run.
# Prints the figures; asserts nothing.   RUNS=3 bash scripts/bench-rollout.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
IMAGE=${TEST_IMAGE:-swarmform-testapp:v1}
NAME=tfacc-bench-rollout
work=$(mktemp -d)
trap 'cd "$work" && TF_CLI_CONFIG_FILE=$work/tfrc terraform destroy -auto-approve -input=false -var v=x >/dev/null 2>&1; rm -rf "$work"' EXIT

go build -o "$work/bin/terraform-provider-swarm" .
printf 'provider_installation {\n  dev_overrides {\n    "registry.terraform.io/swarmform/swarm" = "%s"\n  }\n  direct {}\n}\n' "$work/bin" > "$work/tfrc"
export TF_CLI_CONFIG_FILE=$work/tfrc
cat > "$work/main.tf" <<HCL
terraform {
  required_providers {
    swarm = { source = "swarmform/swarm" }
  }
}
variable "v" { type = string }
provider "swarm" {}
resource "swarm_service" "bench" {
  name     = "$NAME"
  image    = "$IMAGE"
  replicas = 4
  env      = { VERSION = var.v }
  healthcheck = { test = ["CMD", "/app", "health"], interval = "500ms", timeout = "1s", retries = 3 }
  rolling_update = { parallelism = 2, order = "start-first" }
}
HCL
cd "$work"
terraform apply -auto-approve -input=false -var v=start >/dev/null

elapsed() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
tf=(); cli=()
for i in $(seq "$RUNS"); do
  tf+=("$(elapsed terraform apply -auto-approve -input=false -var "v=tf-$i")")
  cli+=("$(elapsed docker service update --detach=false --env-add "VERSION=cli-$i" "$NAME")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mt=$(median "${tf[@]}"); mc=$(median "${cli[@]}")
echo "rolling update of 4 tasks, parallelism 2, start-first, healthcheck every 500ms"
echo "terraform apply:        ${tf[*]} s  (median $mt)"
echo "docker service update:  ${cli[*]} s  (median $mc)"
echo "ours / CLI:             $(echo "scale=3; $mt / $mc" | bc)"
