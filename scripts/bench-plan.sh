#!/usr/bin/env bash
# Benchmark: what `terraform plan` costs at scale. For each N of NS (ascending), N swarm_service
# instances against N terraform_data, Terraform's own floor, each timed RUNS times, interleaved:
#   plan                  reads the cluster (refresh)
#   plan -refresh=false   the provider's own work only
#   floor                 N terraform_data, plan -refresh=false
# then, once per provider and N: the peak RSS of the provider process during a plan, and the
# Docker API requests one plan makes, with and without refresh (through scripts/apicount).
# Wall and CPU time (Terraform and the provider processes) of each. Prints every figure as
# median/min/max; asserts nothing.
#   NS="100 500 1000" RUNS=5 bash scripts/bench-plan.sh
#   PROVIDERS="before=/dir/with/old/binary after=/dir/with/new/binary" bash scripts/bench-plan.sh
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
NS=${NS:-100 500 1000}
work=$(mktemp -d)

read -ra provs <<<"$(providers)"
first=${provs[0]#*=}
cleanup() {
	set +e
	[ -n "${proxy_pid:-}" ] && kill "$proxy_pid" 2>/dev/null
	(cd "$work/swarm" 2>/dev/null && TF_CLI_CONFIG_FILE=$work/tfrc-first terraform destroy -auto-approve -input=false -var n=0 >/dev/null 2>&1)
	remove_prefixed
	rm -rf "$work"
}
trap cleanup EXIT

tfrc "$work/tfrc-first" "$first"
for p in "${provs[@]}"; do
	name=${p%%=*} dir=${p#*=}
	tfrc "$work/tfrc-$name" "$dir"
	# The same provider under GNU time, which records its peak RSS.
	mkdir -p "$work/rss-$name"
	printf '#!/bin/sh\nexec /usr/bin/time -a -o %s -f %%M %s "$@"\n' "$work/rss-$name.txt" "$dir/terraform-provider-swarm" >"$work/rss-$name/terraform-provider-swarm"
	chmod +x "$work/rss-$name/terraform-provider-swarm"
	tfrc "$work/tfrc-rss-$name" "$work/rss-$name"
done

# Every Docker API request of a plan, counted by a proxy in front of the engine's socket.
(cd "$repo" && go build -o "$work/apicount" ./scripts/apicount)
upstream=${DOCKER_HOST:-unix:///var/run/docker.sock}
"$work/apicount" -listen "$work/docker.sock" -upstream "${upstream#unix://}" -log "$work/requests.log" &
proxy_pid=$!

mkdir -p "$work/swarm" "$work/floor"
cat >"$work/swarm/main.tf" <<HCL
terraform {
  required_providers {
    swarm = { source = "swarmform/swarm" }
  }
}
variable "n" { type = number }
provider "swarm" {}
resource "swarm_service" "bench" {
  count    = var.n
  name     = "${PREFIX}\${count.index}"
  image    = "$IMAGE"
  replicas = 0
  env      = { INDEX = tostring(count.index) }
  labels   = { bench = "plan" }
}
HCL
cat >"$work/floor/main.tf" <<HCL
variable "n" { type = number }
resource "terraform_data" "bench" {
  count = var.n
  input = {
    name     = "${PREFIX}\${count.index}"
    image    = "$IMAGE"
    replicas = 0
    env      = { INDEX = tostring(count.index) }
    labels   = { bench = "plan" }
  }
}
HCL
(cd "$work/floor" && terraform init -input=false >/dev/null)

plan() { # DIR TFRC N [ARGS...]
	local dir=$1 rc=$2 n=$3
	shift 3
	(cd "$dir" && TF_CLI_CONFIG_FILE=$rc terraform plan -input=false -detailed-exitcode -var "n=$n" "$@")
}

for n in $NS; do
	s=$(date +%s)
	(cd "$work/swarm" && TF_CLI_CONFIG_FILE=$work/tfrc-first terraform apply -auto-approve -input=false -parallelism=20 -var "n=$n" >/dev/null)
	(cd "$work/floor" && terraform apply -auto-approve -input=false -var "n=$n" >/dev/null)
	echo "N=$n: $n services in the swarm (the apply took $(($(date +%s) - s)) s)"

	: >"$work/loads"
	for p in "${provs[@]}"; do
		for f in plan norefresh plan-cpu norefresh-cpu; do : >"$work/$f-${p%%=*}"; done
	done
	: >"$work/floor-times" && : >"$work/floor-cpu"
	for _ in $(seq "$RUNS"); do
		quiet
		load1 >>"$work/loads"
		for p in "${provs[@]}"; do
			name=${p%%=*}
			timed "$work/plan-$name" "$work/plan-cpu-$name" plan "$work/swarm" "$work/tfrc-$name" "$n"
			timed "$work/norefresh-$name" "$work/norefresh-cpu-$name" plan "$work/swarm" "$work/tfrc-$name" "$n" -refresh=false
		done
		timed "$work/floor-times" "$work/floor-cpu" plan "$work/floor" "$work/tfrc-first" "$n" -refresh=false
		load1 >>"$work/loads"
	done
	l=$(loads "$work/loads")
	report plan terraform "floor: terraform_data -refresh=false" "$n" s "$l" <"$work/floor-times"
	report plan terraform "floor CPU" "$n" s "$l" <"$work/floor-cpu"
	for p in "${provs[@]}"; do
		name=${p%%=*}
		report plan "$name" "plan" "$n" s "$l" <"$work/plan-$name"
		report plan "$name" "plan -refresh=false" "$n" s "$l" <"$work/norefresh-$name"
		# Run by run: what refresh adds, and -refresh=false against the floor.
		paste "$work/plan-$name" "$work/norefresh-$name" | awk '{printf "%.1f\n", ($1 - $2) * 100 / $2}' |
			report plan "$name" "refresh adds" "$n" % "$l"
		paste "$work/norefresh-$name" "$work/floor-times" | awk '{printf "%.2f\n", $1 / $2}' |
			report plan "$name" "-refresh=false / floor" "$n" x "$l"
		# The same in CPU time (Terraform and the provider), which load distorts less.
		report plan "$name" "plan CPU" "$n" s "$l" <"$work/plan-cpu-$name"
		report plan "$name" "plan -refresh=false CPU" "$n" s "$l" <"$work/norefresh-cpu-$name"
		paste "$work/plan-cpu-$name" "$work/norefresh-cpu-$name" | awk '{printf "%.1f\n", ($1 - $2) * 100 / $2}' |
			report plan "$name" "refresh adds, CPU" "$n" % "$l"
		paste "$work/norefresh-cpu-$name" "$work/floor-cpu" | awk '{printf "%.2f\n", $1 / $2}' |
			report plan "$name" "-refresh=false / floor, CPU" "$n" x "$l"

		: >"$work/rss-$name.txt"
		plan "$work/swarm" "$work/tfrc-rss-$name" "$n" >/dev/null 2>&1
		sort -n "$work/rss-$name.txt" | tail -1 | awk '{printf "%.1f\n", $1 / 1024}' | report plan "$name" "provider peak RSS, plan" "$n" MiB "$(load1)"

		for args in "" "-refresh=false"; do
			: >"$work/requests.log"
			DOCKER_HOST=unix://$work/docker.sock plan "$work/swarm" "$work/tfrc-$name" "$n" $args >/dev/null 2>&1
			wc -l <"$work/requests.log" | report plan "$name" "Docker API requests, plan${args:+ $args}" "$n" "" "$(load1)"
			sort "$work/requests.log" | uniq -c | sed 's/^/           /'
		done
	done
done
