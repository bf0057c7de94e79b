#!/usr/bin/env bash
# Benchmark: what scaling policies add to `terraform plan`. SERVICES services of REPLICAS running
# tasks each, planned with one policy (on the first service), then with one policy per service,
# each time alternating with a plan of the same services without the policies, RUNS times. Each
# policy tracks cpu and memory, so its refresh reads Docker stats of the service's tasks (or,
# with SOURCE=cadvisor, cAdvisor's metrics through the Prometheus at ADDRESS). Then a policy's
# scale-up apply against `docker service scale` (not with SOURCE=cadvisor).
# Prints the figures as median/min/max; asserts nothing.
#   SERVICES=50 REPLICAS=1 RUNS=5 bash scripts/bench-scaling.sh
#   SOURCE=cadvisor ADDRESS=$MN_PROMETHEUS DOCKER_HOST=$MN_MANAGER_HOST bash scripts/bench-scaling.sh
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
SERVICES=${SERVICES:-50}
REPLICAS=${REPLICAS:-1}
SOURCE=${SOURCE:-docker}
metric() { # TYPE TARGET: one metric of the policies, read from SOURCE
	if [ "$SOURCE" = cadvisor ]; then
		echo "{ type = \"$1\", target_utilization = $2, source = \"cadvisor\", address = \"${ADDRESS:?SOURCE=cadvisor needs ADDRESS, the Prometheus}\" }"
	else
		echo "{ type = \"$1\", target_utilization = $2 }"
	fi
}
work=$(mktemp -d)
cli=${PREFIX}cli
cleanup() {
	set +e
	(cd "$work/all" 2>/dev/null && TF_CLI_CONFIG_FILE=$work/tfrc terraform destroy -auto-approve -input=false >/dev/null 2>&1)
	docker service rm "$cli" >/dev/null 2>&1
	remove_prefixed
	rm -rf "$work"
}
trap cleanup EXIT

read -ra provs <<<"$(providers)"
tfrc "$work/tfrc" "${provs[0]#*=}"
export TF_CLI_CONFIG_FILE=$work/tfrc

# write_config DIR POLICIES [MIN0]: the services, and policies on the first POLICIES of them
# (MIN0: the bounds of policy 0, to make it scale).
write_config() {
	local dir=$1 policies=$2 min0=${3:-$REPLICAS}
	mkdir -p "$dir"
	cat >"$dir/main.tf" <<HCL
terraform {
  required_providers {
    swarm = { source = "swarmform/swarm" }
  }
}
provider "swarm" {}
resource "swarm_service" "bench" {
  count          = $SERVICES
  name           = "${PREFIX}\${count.index}"
  image          = "$IMAGE"
  replicas       = $REPLICAS
  resources      = { limits = { cpus = 0.1, memory = "32MiB" } }
  rolling_update = { monitor = "1s" }
}
resource "swarm_scaling_policy" "bench" {
  count        = $policies
  service_id   = swarm_service.bench[count.index].id
  min_replicas = count.index == 0 ? $min0 : $REPLICAS
  max_replicas = count.index == 0 ? $min0 : $REPLICAS
  metrics      = [$(metric cpu 60), $(metric memory 80)]
}
HCL
}

# trim_state FROM TO KEEP: a copy of a state with only the first KEEP policies.
trim_state() {
	python3 - "$1" "$2" "$3" <<'PY'
import json, sys
state = json.load(open(sys.argv[1]))
for r in state["resources"]:
    if r["type"] == "swarm_scaling_policy":
        r["instances"] = [i for i in r["instances"] if i.get("index_key", 0) < int(sys.argv[3])]
state["resources"] = [r for r in state["resources"] if r["instances"]]
json.dump(state, open(sys.argv[2], "w"))
PY
}

# compare DIR: plans the services with DIR's policies and without ("none": the same services,
# a state without the policies), alternating, RUNS times each.
compare() {
	local dir=$1
	write_config "$work/none" 0
	trim_state "$work/$dir/terraform.tfstate" "$work/none/terraform.tfstate" 0
	: >"$work/t-none-$dir"
	for _ in $(seq "$RUNS"); do
		quiet
		load1 >>"$work/loads"
		(cd "$work/none" && seconds terraform plan -input=false -detailed-exitcode) >>"$work/t-none-$dir" || { echo "plan (no policy) was not empty" >&2; exit 1; }
		(cd "$work/$dir" && seconds terraform plan -input=false -detailed-exitcode) >>"$work/t-$dir" || { echo "plan ($dir) was not empty" >&2; exit 1; }
		load1 >>"$work/loads"
	done
	paste "$work/t-none-$dir" "$work/t-$dir" | awk '{printf "%.2f\n", $2 - $1}' >"$work/d-$dir"
}

# The services with one policy (on the first), then with one policy each: the other services
# carry no policy while one is measured, as in a workspace with one policy.
: >"$work/loads"
write_config "$work/one" 1
(cd "$work/one" && terraform apply -auto-approve -input=false >/dev/null)
compare one
mkdir -p "$work/all"
cp "$work/one/terraform.tfstate" "$work/all/"
write_config "$work/all" "$SERVICES"
(cd "$work/all" && terraform apply -auto-approve -input=false >/dev/null)
rm -rf "$work/one"
compare all
l=$(loads "$work/loads")
name=${provs[0]%%=*}
sfx=
[ "$SOURCE" = docker ] || sfx=" ($SOURCE)"
cat "$work/t-none-one" "$work/t-none-all" | report scaling "$name" "plan, no policy$sfx" "$SERVICES" s "$l"
report scaling "$name" "plan, 1 policy$sfx" "$SERVICES" s "$l" <"$work/t-one"
report scaling "$name" "plan, $SERVICES policies$sfx" "$SERVICES" s "$l" <"$work/t-all"
report scaling "$name" "1 policy adds$sfx" "$SERVICES" s "$l" <"$work/d-one"
report scaling "$name" "$SERVICES policies add$sfx" "$SERVICES" s "$l" <"$work/d-all"
[ "$SOURCE" = docker ] || exit 0

# Scale-up of one service by 2 tasks: the policy's apply against the CLI, alternating.
docker service create -q --detach=true --name "$cli" --replicas "$REPLICAS" --limit-cpu 0.1 --update-monitor 1s "$IMAGE" >/dev/null 2>&1
up=$((REPLICAS + 2))
: >"$work/loads"
for _ in $(seq "$RUNS"); do
	quiet
	load1 >>"$work/loads"
	write_config "$work/all" "$SERVICES" "$up"
	(cd "$work/all" && seconds terraform apply -auto-approve -input=false) >>"$work/t-scale"
	write_config "$work/all" "$SERVICES"
	(cd "$work/all" && terraform apply -auto-approve -input=false >/dev/null)
	seconds docker service scale "$cli=$up" >>"$work/t-cli"
	docker service scale "$cli=$REPLICAS" >/dev/null 2>&1
	load1 >>"$work/loads"
done
l=$(loads "$work/loads")
report scaling "$name" "scale +2: terraform apply" "$SERVICES" s "$l" <"$work/t-scale"
report scaling docker "scale +2: docker service scale" 1 s "$l" <"$work/t-cli"
