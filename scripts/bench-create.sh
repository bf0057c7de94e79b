#!/usr/bin/env bash
# Benchmark: creating SERVICES services of REPLICAS tasks each. `terraform apply` of SERVICES new
# swarm_service instances (each waits until its service has converged, Terraform's default
# parallelism) against a shell loop of `docker service create --detach=false` making the same
# services one after the other, alternating, RUNS times; both are removed between runs (not
# timed). Prints the figures as median/min/max; asserts nothing.
#   SERVICES=50 REPLICAS=1 RUNS=3 bash scripts/bench-create.sh
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
SERVICES=${SERVICES:-50}
REPLICAS=${REPLICAS:-1}
work=$(mktemp -d)
cleanup() {
	set +e
	(cd "$work" && terraform destroy -auto-approve -input=false -var n="$SERVICES" >/dev/null 2>&1)
	remove_prefixed
	rm -rf "$work"
}
trap cleanup EXIT

read -ra provs <<<"$(providers)"
tfrc "$work/tfrc" "${provs[0]#*=}"
export TF_CLI_CONFIG_FILE=$work/tfrc
cat >"$work/main.tf" <<HCL
terraform {
  required_providers {
    swarm = { source = "swarmform/swarm" }
  }
}
variable "n" { type = number }
provider "swarm" {}
resource "swarm_service" "bench" {
  count    = var.n
  name     = "${PREFIX}tf-\${count.index}"
  image    = "$IMAGE"
  replicas = $REPLICAS
}
HCL

create_cli() {
	local i
	for i in $(seq 0 $((SERVICES - 1))); do
		docker service create -q --detach=false --name "${PREFIX}cli-$i" --replicas "$REPLICAS" "$IMAGE" || return 1
	done
}
remove_cli() {
	docker service ls --format '{{.Name}}' | grep "^${PREFIX}cli-" | xargs -r docker service rm >/dev/null
}
# Removal is asynchronous: wait until the tasks are gone, so the next run starts from the same
# empty node.
settle() {
	local deadline=$((SECONDS + 120))
	while docker ps -q --filter "label=com.docker.swarm.service.name" --filter "name=${PREFIX}" | grep -q . && [ $SECONDS -lt $deadline ]; do
		sleep 1
	done
}

cd "$work"
: >"$work/loads"
for _ in $(seq "$RUNS"); do
	quiet
	load1 >>"$work/loads"
	seconds terraform apply -auto-approve -input=false -var "n=$SERVICES" >>"$work/t-tf"
	terraform destroy -auto-approve -input=false -var "n=$SERVICES" >/dev/null
	settle
	seconds create_cli >>"$work/t-cli"
	remove_cli
	settle
	load1 >>"$work/loads"
done
l=$(loads "$work/loads")
name=${provs[0]%%=*}
report create "$name" "create: terraform apply" "$SERVICES" s "$l" <"$work/t-tf"
report create docker "create: docker service create loop" "$SERVICES" s "$l" <"$work/t-cli"
paste "$work/t-tf" "$work/t-cli" | awk '{printf "%.2f\n", $1 / $2}' | report create "$name" "apply / shell loop" "$SERVICES" x "$l"
