#!/usr/bin/env bash
# swarm-down.sh — cleanup helper: remove swarm services, networks, secrets and
# configs whose name starts with one of the given prefixes (default: tfacc-
# and demo-), as left behind by acceptance tests or the demo.
#
# It does NOT leave the swarm, stop dockerd or touch the test registry.
# Idempotent: with nothing to remove (or no engine answering) it exits 0.
#
#   scripts/swarm-down.sh                 # tfacc-* and demo-*
#   scripts/swarm-down.sh mytest- other-  # other prefixes
set -euo pipefail

export DOCKER_HOST="${DOCKER_HOST:-unix:///var/run/docker.sock}"

PREFIXES=("$@")
[ "${#PREFIXES[@]}" -gt 0 ] || PREFIXES=(tfacc- demo-)

log() { printf '[swarm-down] %s\n' "$*" >&2; }

if ! timeout 10 docker info >/dev/null 2>&1; then
	log "no docker engine answering on $DOCKER_HOST; nothing to clean"
	exit 0
fi
if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
	log "node is not in an active swarm; nothing to clean"
	exit 0
fi

# matching KIND: names of objects of KIND (service|network|secret|config)
# starting with one of the prefixes.
matching() {
	local kind=$1 name p
	docker "$kind" ls --format '{{.Name}}' 2>/dev/null | while IFS= read -r name; do
		for p in "${PREFIXES[@]}"; do
			if [[ "$name" == "$p"* ]]; then
				printf '%s\n' "$name"
				break
			fi
		done
	done
}

# task_containers SERVICE...: ids of containers still running for the services.
task_containers() {
	local s
	for s in "$@"; do
		docker ps -aq --filter "label=com.docker.swarm.service.name=$s"
	done
}

mapfile -t services < <(matching service)
if [ "${#services[@]}" -gt 0 ]; then
	log "removing services: ${services[*]}"
	docker service rm "${services[@]}" >/dev/null 2>&1 || true
	# Networks, secrets and configs stay "in use" until the task containers
	# are gone; wait (up to 60s) for the tasks to be torn down.
	for ((i = 0; i < 300; i++)); do
		[ -z "$(task_containers "${services[@]}")" ] && break
		sleep 0.2
	done
	left="$(task_containers "${services[@]}")"
	if [ -n "$left" ]; then
		log "force-removing leftover task containers"
		# shellcheck disable=SC2086
		docker rm -f $left >/dev/null 2>&1 || true
	fi
fi

# remove_with_retry KIND NAME: the swarm releases references asynchronously,
# so "in use" errors right after a service removal are retried for a while.
failed=0
remove_with_retry() {
	local kind=$1 name=$2 i out
	for ((i = 0; i < 50; i++)); do
		if out="$(docker "$kind" rm "$name" 2>&1)"; then
			return 0
		fi
		# gone in the meantime: fine
		if ! docker "$kind" inspect "$name" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
	done
	log "could not remove $kind $name: $out"
	failed=1
}

for kind in network secret config; do
	mapfile -t names < <(matching "$kind")
	[ "${#names[@]}" -gt 0 ] || continue
	log "removing ${kind}s: ${names[*]}"
	for n in "${names[@]}"; do
		remove_with_retry "$kind" "$n"
	done
done

if [ "$failed" -ne 0 ]; then
	exit 1
fi
log "clean (prefixes: ${PREFIXES[*]})"
