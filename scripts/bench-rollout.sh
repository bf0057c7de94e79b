#!/usr/bin/env bash
# Benchmark: wall time of a rolling update applied by `terraform apply` against
# `docker service update --detach=false` (which also waits for convergence) making the same kind
# of change (a new environment value: every task restarts) to a service of its own, alternating,
# RUNS times. Prints the figures as median/min/max; asserts nothing. No healthcheck: the CLI's
# --health-cmd is always the shell form, and the test image (FROM scratch) has no shell, so the
# CLI's service never became healthy and the script waited for it for good.
#   RUNS=3 bash scripts/bench-rollout.sh
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
work=$(mktemp -d)
cli=${PREFIX}rollout-cli
cleanup() {
	set +e
	(cd "$work" && terraform destroy -auto-approve -input=false -var v=x >/dev/null 2>&1)
	docker service rm "$cli" >/dev/null 2>&1
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
variable "v" { type = string }
provider "swarm" {}
resource "swarm_service" "bench" {
  name           = "${PREFIX}rollout"
  image          = "$IMAGE"
  replicas       = 4
  env            = { VERSION = var.v }
  rolling_update = { parallelism = 2, order = "start-first" }
}
HCL
cd "$work"
terraform apply -auto-approve -input=false -var v=start >/dev/null
docker service create -q --detach=false --name "$cli" --replicas 4 --update-parallelism 2 --update-order start-first \
	--env VERSION=start "$IMAGE" >/dev/null 2>&1

: >"$work/loads"
for i in $(seq "$RUNS"); do
	quiet
	load1 >>"$work/loads"
	seconds terraform apply -auto-approve -input=false -var "v=tf-$i" >>"$work/t-tf"
	seconds docker service update --detach=false --env-add "VERSION=cli-$i" "$cli" >>"$work/t-cli"
	load1 >>"$work/loads"
done
l=$(loads "$work/loads")
name=${provs[0]%%=*}
report rollout "$name" "update 4 tasks: terraform apply" 4 s "$l" <"$work/t-tf"
report rollout docker "update 4 tasks: docker service update" 4 s "$l" <"$work/t-cli"
paste "$work/t-tf" "$work/t-cli" | awk '{printf "%.2f\n", $1 / $2}' | report rollout "$name" "apply / docker" 4 x "$l"
