#!/usr/bin/env bash
# Benchmark: swarm_stack (#19). (1) Deploying a stack of SERVICES services (1 task each, with a
# healthcheck) from one compose file: `terraform apply` of a swarm_stack (which waits for every
# service to converge) against `docker stack deploy --detach=false` of the same file, alternating,
# RUNS times; both removed between runs (not timed). (2) `terraform plan` of an unchanged stack of
# PLAN_SERVICES services (0 replicas: the plan's cost, not the tasks'), RUNS times. Prints the
# figures as median/min/max; asserts nothing.
#   SERVICES=10 PLAN_SERVICES=50 RUNS=3 bash scripts/bench-stack.sh
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
SERVICES=${SERVICES:-10}
PLAN_SERVICES=${PLAN_SERVICES:-50}
work=$(mktemp -d)
tfstack=${PREFIX}tf
clistack=${PREFIX}cli
planstack=${PREFIX}plan
cleanup() {
	set +e
	for d in "$work/deploy" "$work/plan"; do
		(cd "$d" && terraform destroy -auto-approve -input=false >/dev/null 2>&1)
	done
	for s in "$tfstack" "$clistack" "$planstack"; do
		docker stack rm --detach=false "$s" >/dev/null 2>&1
	done
	rm -rf "$work"
}
trap cleanup EXIT

read -ra provs <<<"$(providers)"
tfrc "$work/tfrc" "${provs[0]#*=}"
export TF_CLI_CONFIG_FILE=$work/tfrc

# compose N REPLICAS: a compose file of N services on one network.
compose() {
	local i
	echo "services:"
	for i in $(seq 0 $(($1 - 1))); do
		cat <<YAML
  svc$i:
    image: $IMAGE
    environment: {VERSION: v$i}
    healthcheck: {test: ["CMD", "/app", "health"], interval: 1s}
    deploy: {replicas: $2, update_config: {monitor: 1s}}
YAML
	done
}
# stack DIR NAME: a configuration deploying DIR/docker-compose.yml as stack NAME.
stack() {
	mkdir -p "$1"
	cat >"$1/main.tf" <<HCL
terraform {
  required_providers {
    swarm = { source = "swarmform/swarm" }
  }
}
provider "swarm" {}
resource "swarm_stack" "bench" {
  name          = "$2"
  compose_files = ["\${path.module}/docker-compose.yml"]
}
HCL
}
# settle NAME: waits until the stack's tasks and networks are gone.
settle() {
	local deadline=$((SECONDS + 120))
	while { docker ps -q --filter "label=com.docker.stack.namespace=$1" | grep -q . ||
		docker network ls -q --filter "label=com.docker.stack.namespace=$1" | grep -q .; } && [ $SECONDS -lt $deadline ]; do
		sleep 1
	done
}

stack "$work/deploy" "$tfstack"
compose "$SERVICES" 1 >"$work/deploy/docker-compose.yml"
cd "$work/deploy"
: >"$work/loads"
for _ in $(seq "$RUNS"); do
	quiet
	load1 >>"$work/loads"
	seconds terraform apply -auto-approve -input=false >>"$work/t-tf"
	terraform destroy -auto-approve -input=false >/dev/null
	settle "$tfstack"
	seconds docker stack deploy --detach=false -c docker-compose.yml "$clistack" >>"$work/t-cli"
	docker stack rm --detach=false "$clistack" >/dev/null
	settle "$clistack"
	load1 >>"$work/loads"
done
l=$(loads "$work/loads")
name=${provs[0]%%=*}
report stack "$name" "deploy: terraform apply" "$SERVICES" s "$l" <"$work/t-tf"
report stack docker "deploy: docker stack deploy" "$SERVICES" s "$l" <"$work/t-cli"
paste "$work/t-tf" "$work/t-cli" | awk '{printf "%.2f\n", $1 / $2}' | report stack "$name" "apply / stack deploy" "$SERVICES" x "$l"

stack "$work/plan" "$planstack"
compose "$PLAN_SERVICES" 0 >"$work/plan/docker-compose.yml"
cd "$work/plan"
terraform apply -auto-approve -input=false >/dev/null
: >"$work/loads"
for _ in $(seq "$RUNS"); do
	quiet
	load1 >>"$work/loads"
	timed "$work/p-wall" "$work/p-cpu" terraform plan -input=false -detailed-exitcode
	load1 >>"$work/loads"
done
l=$(loads "$work/loads")
report stack "$name" "plan, unchanged stack" "$PLAN_SERVICES" s "$l" <"$work/p-wall"
report stack "$name" "plan, unchanged stack (CPU)" "$PLAN_SERVICES" s "$l" <"$work/p-cpu"
