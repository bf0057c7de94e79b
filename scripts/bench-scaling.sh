#!/usr/bin/env bash
# Benchmark: what scaling policies add to `terraform plan` (each refresh samples Docker stats of
# the running tasks), and a policy's scale-up apply against `docker service scale`. Prints the
# figures; asserts nothing.
#   N=10 REPLICAS=2 RUNS=5 bash scripts/bench-scaling.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-10}
REPLICAS=${REPLICAS:-2}
RUNS=${RUNS:-5}
IMAGE=${TEST_IMAGE:-swarmform-testapp:v1}
work=$(mktemp -d)
trap 'cd "$work" && TF_CLI_CONFIG_FILE=$work/tfrc terraform destroy -auto-approve -input=false >/dev/null 2>&1; docker service rm tfacc-bench-cli >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

go build -o "$work/bin/terraform-provider-swarm" .
printf 'provider_installation {\n  dev_overrides {\n    "registry.terraform.io/swarmform/swarm" = "%s"\n  }\n  direct {}\n}\n' "$work/bin" > "$work/tfrc"
export TF_CLI_CONFIG_FILE=$work/tfrc

write_config() { # $1: policies on (1) or off (0); $2: min_replicas of policy 0
	cat > "$work/main.tf" <<HCL
terraform {
  required_providers {
    swarm = { source = "swarmform/swarm" }
  }
}
provider "swarm" {}
resource "swarm_service" "bench" {
  count     = $N
  name      = "tfacc-bench-scale-\${count.index}"
  image     = "$IMAGE"
  replicas  = $REPLICAS
  resources = { limits = { cpus = 0.1, memory = "32MiB" } }
  rolling_update = { monitor = "1s" }
}
HCL
	[ "$1" = 1 ] || return 0
	cat >> "$work/main.tf" <<HCL
resource "swarm_scaling_policy" "bench" {
  count        = $N
  service_id   = swarm_service.bench[count.index].id
  min_replicas = count.index == 0 ? $2 : $REPLICAS
  max_replicas = count.index == 0 ? $2 : $REPLICAS
  metrics      = [{ type = "cpu", target_utilization = 60 }, { type = "memory", target_utilization = 80 }]
}
HCL
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_plans() {
	for _ in $(seq "$RUNS"); do
		local s e
		s=$(date +%s.%N)
		terraform plan -input=false -detailed-exitcode "$@" >/dev/null || { echo "plan was not empty" >&2; exit 1; }
		e=$(date +%s.%N)
		echo "$e - $s" | bc
	done | median
}

cd "$work"
write_config 0 "$REPLICAS"
terraform apply -auto-approve -input=false >/dev/null
without=$(time_plans)
write_config 1 "$REPLICAS"
terraform apply -auto-approve -input=false >/dev/null
with=$(time_plans)
norefresh=$(time_plans -refresh=false)
echo "services: $N × $REPLICAS running tasks"
echo "plan, services only:             ${without} s (median of $RUNS)"
echo "plan, services + $N policies:     ${with} s (median of $RUNS)"
echo "plan -refresh=false (policies):  ${norefresh} s"

# Scale-up of one service by 2 tasks: the policy's apply against the CLI, alternating.
docker service create -q --detach=true --name tfacc-bench-cli --replicas "$REPLICAS" --limit-cpu 0.1 --update-monitor 1s "$IMAGE" >/dev/null
ours=() cli=()
for i in $(seq "$RUNS"); do
	up=$((REPLICAS + 2))
	write_config 1 "$up"
	s=$(date +%s.%N); terraform apply -auto-approve -input=false >/dev/null; e=$(date +%s.%N)
	ours+=("$(echo "$e - $s" | bc)")
	write_config 1 "$REPLICAS"
	terraform apply -auto-approve -input=false >/dev/null
	s=$(date +%s.%N); docker service scale tfacc-bench-cli="$up" >/dev/null 2>&1; e=$(date +%s.%N)
	cli+=("$(echo "$e - $s" | bc)")
	docker service scale tfacc-bench-cli="$REPLICAS" >/dev/null 2>&1
done
o=$(printf '%s\n' "${ours[@]}" | median)
c=$(printf '%s\n' "${cli[@]}" | median)
echo "scale +2 tasks, terraform apply (plan + refresh + scale + wait): ${o} s (median of $RUNS)"
echo "scale +2 tasks, docker service scale (waits for convergence):   ${c} s (median of $RUNS)"
