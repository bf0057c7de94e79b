package orchestrator

// Which compose keys a stack may use. docker stack deploy validates each file against its own
// schema (Compose file format 3.x, the last being 3.13) before it converts anything: a key
// outside that schema stops the deploy, a few keys it names as forbidden stop it with a
// reason, and the keys Swarm has no use for are ignored with a warning. compose-go reads the
// newer Compose Specification, which knows many more keys (pull_policy, profiles, develop, a
// service's name, ...), so the engine checks each file's keys itself, before compose-go reads
// it, against the format the CLI accepts: the same file then deploys, or fails, the same way
// through either.

import (
	"fmt"
	"sort"
	"strings"
)

// keyClass says what becomes of a compose key.
type keyClass int

const (
	// keyUsed is converted into the stack's objects.
	keyUsed keyClass = iota
	// keyFree holds a map or list whose keys are the user's (labels, environment, options).
	keyFree
	// keyIgnored is accepted and has no effect on Swarm: a warning says so.
	keyIgnored
	// keyForbidden is refused by docker stack deploy, with a reason.
	keyForbidden
	// keyUnsupported is accepted by docker stack deploy but not by the engine yet.
	keyUnsupported
)

// keyRule is what the engine does with one key, and why (for a warning or an error).
type keyRule struct {
	class keyClass
	why   string
}

// Reasons shared by several keys.
const (
	whyCLIIgnores    = "docker stack deploy ignores it (\"Ignoring unsupported options\"), and so does this stack: Swarm has no such setting for a service."
	whyDeprecated    = "docker stack deploy ignores it as deprecated, and so does this stack."
	whyResources     = "Set resource limits with deploy.resources (limits and reservations), as docker stack deploy asks."
	whyNotInSwarm    = "docker stack deploy accepts it and ignores it without a word; this stack says so: Swarm has no such setting for a service."
	whyStaticAddress = "Swarm gives each task its address on an overlay network; a fixed address is ignored (docker stack deploy ignores it too)."
)

// composeKeys are the keys of Compose file format 3.13 as docker stack deploy reads it, by path
// pattern: "*" stands for a name the file chooses (a service, a network, ...), "[]" for the
// items of a list. A key not listed, and not under a keyFree key, is refused.
var composeKeys = map[string]keyRule{
	"version": {}, "services": {}, "networks": {}, "volumes": {}, "secrets": {}, "configs": {},
	"services.*": {},

	"services.*.image": {}, "services.*.command": {}, "services.*.entrypoint": {},
	"services.*.environment": {class: keyFree}, "services.*.env_file": {}, "services.*.labels": {class: keyFree},
	"services.*.hostname": {}, "services.*.user": {}, "services.*.working_dir": {}, "services.*.read_only": {},
	"services.*.init": {}, "services.*.stop_signal": {}, "services.*.stop_grace_period": {},
	"services.*.cap_add": {}, "services.*.cap_drop": {}, "services.*.sysctls": {class: keyFree},
	"services.*.extra_hosts": {class: keyFree}, "services.*.dns": {}, "services.*.dns_search": {},
	"services.*.tty": {}, "services.*.stdin_open": {}, "services.*.isolation": {}, "services.*.oom_score_adj": {},
	"services.*.ulimits": {}, "services.*.ulimits.*": {}, "services.*.ulimits.*.soft": {}, "services.*.ulimits.*.hard": {},
	"services.*.logging": {}, "services.*.logging.driver": {}, "services.*.logging.options": {class: keyFree},
	"services.*.restart":         {},
	"services.*.credential_spec": {}, "services.*.credential_spec.file": {}, "services.*.credential_spec.registry": {},
	"services.*.credential_spec.config": {class: keyUnsupported, why: "A credential spec kept in a config is not supported by swarm_stack yet; use credential_spec.file or credential_spec.registry."},

	"services.*.healthcheck": {}, "services.*.healthcheck.test": {}, "services.*.healthcheck.interval": {},
	"services.*.healthcheck.timeout": {}, "services.*.healthcheck.retries": {}, "services.*.healthcheck.start_period": {},
	"services.*.healthcheck.start_interval": {}, "services.*.healthcheck.disable": {},

	"services.*.ports": {}, "services.*.ports[]": {}, "services.*.ports[].mode": {}, "services.*.ports[].target": {},
	"services.*.ports[].published": {}, "services.*.ports[].protocol": {},

	"services.*.networks": {}, "services.*.networks.*": {}, "services.*.networks.*.aliases": {},
	"services.*.networks.*.driver_opts":  {class: keyFree},
	"services.*.networks.*.ipv4_address": {class: keyIgnored, why: whyStaticAddress},
	"services.*.networks.*.ipv6_address": {class: keyIgnored, why: whyStaticAddress},

	"services.*.volumes": {}, "services.*.volumes[]": {}, "services.*.volumes[].type": {}, "services.*.volumes[].source": {},
	"services.*.volumes[].target": {}, "services.*.volumes[].read_only": {}, "services.*.volumes[].consistency": {},
	"services.*.volumes[].bind": {}, "services.*.volumes[].bind.propagation": {},
	"services.*.volumes[].volume": {}, "services.*.volumes[].volume.nocopy": {},
	"services.*.volumes[].tmpfs": {}, "services.*.volumes[].tmpfs.size": {},

	"services.*.secrets": {}, "services.*.secrets[]": {}, "services.*.secrets[].source": {}, "services.*.secrets[].target": {},
	"services.*.secrets[].uid": {}, "services.*.secrets[].gid": {}, "services.*.secrets[].mode": {},
	"services.*.configs": {}, "services.*.configs[]": {}, "services.*.configs[].source": {}, "services.*.configs[].target": {},
	"services.*.configs[].uid": {}, "services.*.configs[].gid": {}, "services.*.configs[].mode": {},

	"services.*.deploy": {}, "services.*.deploy.mode": {}, "services.*.deploy.replicas": {},
	"services.*.deploy.endpoint_mode": {}, "services.*.deploy.labels": {class: keyFree},
	"services.*.deploy.resources": {}, "services.*.deploy.resources.limits": {}, "services.*.deploy.resources.reservations": {},
	"services.*.deploy.resources.limits.cpus": {}, "services.*.deploy.resources.limits.memory": {}, "services.*.deploy.resources.limits.pids": {},
	"services.*.deploy.resources.reservations.cpus": {}, "services.*.deploy.resources.reservations.memory": {},
	"services.*.deploy.resources.reservations.generic_resources":                                {},
	"services.*.deploy.resources.reservations.generic_resources[]":                              {},
	"services.*.deploy.resources.reservations.generic_resources[].discrete_resource_spec":       {},
	"services.*.deploy.resources.reservations.generic_resources[].discrete_resource_spec.kind":  {},
	"services.*.deploy.resources.reservations.generic_resources[].discrete_resource_spec.value": {},
	"services.*.deploy.restart_policy":                                                          {}, "services.*.deploy.restart_policy.condition": {}, "services.*.deploy.restart_policy.delay": {},
	"services.*.deploy.restart_policy.max_attempts": {}, "services.*.deploy.restart_policy.window": {},
	"services.*.deploy.placement": {}, "services.*.deploy.placement.constraints": {}, "services.*.deploy.placement.preferences": {},
	"services.*.deploy.placement.preferences[]": {}, "services.*.deploy.placement.preferences[].spread": {},
	"services.*.deploy.placement.max_replicas_per_node": {},
	"services.*.deploy.update_config":                   {}, "services.*.deploy.rollback_config": {},

	// Keys docker stack deploy ignores with a warning.
	"services.*.build":         {class: keyIgnored, why: "Swarm runs images and builds none: docker stack deploy ignores build, and so does this stack. Build and push the image first, and give it in image."},
	"services.*.cgroupns_mode": {class: keyIgnored, why: whyCLIIgnores}, "services.*.cgroup_parent": {class: keyIgnored, why: whyCLIIgnores},
	"services.*.devices": {class: keyIgnored, why: whyCLIIgnores}, "services.*.domainname": {class: keyIgnored, why: whyCLIIgnores},
	"services.*.external_links": {class: keyIgnored, why: whyCLIIgnores}, "services.*.ipc": {class: keyIgnored, why: whyCLIIgnores},
	"services.*.links":        {class: keyIgnored, why: "Services of a stack reach each other by name on their networks: docker stack deploy ignores links, and so does this stack."},
	"services.*.mac_address":  {class: keyIgnored, why: whyCLIIgnores},
	"services.*.network_mode": {class: keyIgnored, why: "A Swarm service attaches to networks (the networks key; the network named host for the host's stack): docker stack deploy ignores network_mode, and so does this stack."},
	"services.*.pid":          {class: keyIgnored, why: whyCLIIgnores},
	"services.*.privileged":   {class: keyIgnored, why: "Swarm cannot run a privileged task: docker stack deploy ignores privileged, and so does this stack. cap_add gives single capabilities."},
	"services.*.security_opt": {class: keyIgnored, why: whyCLIIgnores}, "services.*.shm_size": {class: keyIgnored, why: whyCLIIgnores},
	"services.*.userns_mode":    {class: keyIgnored, why: whyCLIIgnores},
	"services.*.container_name": {class: keyIgnored, why: "Swarm names each task's container itself (<service>.<slot>.<task id>): " + whyDeprecated},
	"services.*.expose":         {class: keyIgnored, why: "Services on the same network reach each other's containers on any port: " + whyDeprecated},
	// Keys docker stack deploy accepts and ignores without a word.
	"services.*.depends_on": {class: keyIgnored, why: "Swarm starts a stack's services together, in no order: " + whyNotInSwarm + " Make a service wait for what it needs (a retry, or a healthcheck), since any of its dependencies may restart."},
	"services.*.tmpfs":      {class: keyIgnored, why: whyNotInSwarm + " Use a volume of type tmpfs in volumes instead."},

	// Keys docker stack deploy refuses, with its reason.
	"services.*.extends":       {class: keyForbidden, why: "docker stack deploy does not implement extends. Write the service out in full, or give the common part in a second compose file, which is merged in."},
	"services.*.volume_driver": {class: keyForbidden, why: "Define a volume under the top-level volumes key, with its driver, and refer to it from the service's volumes."},
	"services.*.volumes_from":  {class: keyForbidden, why: "To share a volume between services, define it under the top-level volumes key and refer to it from each service's volumes."},
	"services.*.cpu_quota":     {class: keyForbidden, why: whyResources}, "services.*.cpu_shares": {class: keyForbidden, why: whyResources},
	"services.*.cpuset": {class: keyForbidden, why: whyResources}, "services.*.mem_limit": {class: keyForbidden, why: whyResources},
	"services.*.memswap_limit": {class: keyForbidden, why: whyResources},

	"networks.*": {}, "networks.*.name": {}, "networks.*.driver": {}, "networks.*.driver_opts": {class: keyFree},
	"networks.*.internal": {}, "networks.*.attachable": {}, "networks.*.labels": {class: keyFree},
	"networks.*.external": {}, "networks.*.external.name": {},
	"networks.*.ipam": {}, "networks.*.ipam.driver": {}, "networks.*.ipam.config": {},
	"networks.*.ipam.config[]": {}, "networks.*.ipam.config[].subnet": {},

	"volumes.*": {}, "volumes.*.name": {}, "volumes.*.driver": {}, "volumes.*.driver_opts": {class: keyFree},
	"volumes.*.labels": {class: keyFree}, "volumes.*.external": {}, "volumes.*.external.name": {},

	"secrets.*": {}, "secrets.*.name": {}, "secrets.*.file": {}, "secrets.*.labels": {class: keyFree},
	"secrets.*.external": {}, "secrets.*.external.name": {},
	"secrets.*.driver":          {class: keyUnsupported, why: "Secrets from a secret driver plugin are not supported by swarm_stack yet; give the secret's content in file."},
	"secrets.*.driver_opts":     {class: keyUnsupported, why: "Secrets from a secret driver plugin are not supported by swarm_stack yet; give the secret's content in file."},
	"secrets.*.template_driver": {class: keyUnsupported, why: "Templated secrets are not supported by swarm_stack yet (configs are: template_driver on a config works)."},

	"configs.*": {}, "configs.*.name": {}, "configs.*.file": {}, "configs.*.labels": {class: keyFree},
	"configs.*.external": {}, "configs.*.external.name": {}, "configs.*.template_driver": {},
}

// updateConfigKeys are the keys of deploy.update_config and deploy.rollback_config.
var updateConfigKeys = []string{"parallelism", "delay", "failure_action", "monitor", "max_failure_ratio", "order"}

func init() {
	for _, block := range []string{"update_config", "rollback_config"} {
		for _, k := range updateConfigKeys {
			composeKeys["services.*.deploy."+block+"."+k] = keyRule{}
		}
	}
}

// keySince is the format version (3.N: N) that brought each key later than 3.0: the CLI
// checks a file against the schema of the version it declares.
var keySince = map[string]int{
	"secrets": 1, "services.*.secrets": 1,
	"networks.*.attachable": 2, "services.*.deploy.endpoint_mode": 2, "services.*.ports[].mode": 2, "services.*.ports[].protocol": 2,
	"services.*.ports[].published": 2, "services.*.ports[].target": 2, "services.*.volumes[].type": 2, "services.*.volumes[].source": 2,
	"services.*.volumes[].target": 2, "services.*.volumes[].read_only": 2, "services.*.volumes[].consistency": 2,
	"services.*.volumes[].bind": 2, "services.*.volumes[].volume": 2,
	"configs": 3, "services.*.configs": 3, "services.*.credential_spec": 3, "services.*.deploy.placement.preferences": 3,
	"services.*.deploy.update_config.order": 4, "services.*.healthcheck.start_period": 4, "volumes.*.name": 4,
	"configs.*.name": 5, "networks.*.name": 5, "secrets.*.name": 5, "services.*.deploy.resources.reservations.generic_resources": 5,
	"services.*.isolation":              5,
	"services.*.volumes[].tmpfs":        6,
	"services.*.deploy.rollback_config": 7, "services.*.init": 7,
	"configs.*.template_driver": 8, "secrets.*.driver": 8, "secrets.*.driver_opts": 8, "secrets.*.template_driver": 8,
	"services.*.credential_spec.config": 8, "services.*.deploy.placement.max_replicas_per_node": 8,
	"services.*.cgroupns_mode": 9, "services.*.deploy.resources.limits.pids": 9,
	"services.*.healthcheck.start_interval": 12,
	"services.*.networks.*.driver_opts":     13, "services.*.oom_score_adj": 13,
}

// extensionSince is the format version from which docker stack deploy accepts x- keys, by the
// pattern they sit under.
var extensionSince = map[string]int{"": 4, "services.*": 7, "networks.*": 7, "volumes.*": 7, "secrets.*": 7, "configs.*": 7}

// loosePatterns are lists whose items the CLI's schema leaves open: it accepts any other key
// there, and so does the engine (it converts the keys it knows).
var loosePatterns = map[string]bool{"services.*.secrets[]": true, "services.*.configs[]": true, "secrets.*.external": true, "configs.*.external": true,
	"services.*.volumes[].bind": true, "services.*.volumes[].volume": true, "services.*.volumes[].tmpfs": true}

// checkComposeKeys walks one compose file (as parsed, before interpolation and merging) of
// format 3.minor and reports each key docker stack deploy would refuse (errors) or ignore
// (warnings), at its compose path; it removes the ignored keys from doc, so that nothing reads
// them further. file names the file in the details.
func checkComposeKeys(doc any, file string, minor int) (errs, warnings []FieldProblem) {
	var walk func(v any, path, pattern string)
	walk = func(v any, path, pattern string) {
		switch v := v.(type) {
		case map[string]any:
			for _, k := range sortedKeys(v) {
				childPath := joinPath(path, k)
				if since, ok := extensionSince[pattern]; ok && strings.HasPrefix(k, "x-") {
					if since > minor {
						errs = append(errs, tooNew(childPath, file, minor, since))
					}
					continue
				}
				childPattern, rule, known := lookupKey(pattern, k)
				switch {
				case known && keySince[childPattern] > minor:
					errs = append(errs, tooNew(childPath, file, minor, keySince[childPattern]))
					continue
				case !known && loosePatterns[pattern]:
					continue
				case !known:
					errs = append(errs, problem(childPath, "Key Not Supported by docker stack deploy",
						fmt.Sprintf("%s in %s: docker stack deploy refuses this key (it reads Compose file format 3, whose schema has no %q here), and so does swarm_stack. Remove it.", childPath, file, k)))
					continue
				}
				switch rule.class {
				case keyUsed:
					walk(v[k], childPath, childPattern)
				case keyFree:
				case keyIgnored:
					warnings = append(warnings, problem(childPath, "Compose Key Ignored", fmt.Sprintf("%s in %s: %s", childPath, file, rule.why)))
					delete(v, k)
				case keyForbidden:
					errs = append(errs, problem(childPath, "Key Refused by docker stack deploy", fmt.Sprintf("%s in %s: docker stack deploy refuses this key, and so does swarm_stack. %s", childPath, file, rule.why)))
				case keyUnsupported:
					errs = append(errs, problem(childPath, "Compose Key Not Supported Yet", fmt.Sprintf("%s in %s: %s", childPath, file, rule.why)))
				}
			}
		case []any:
			for i, item := range v {
				walk(item, fmt.Sprintf("%s[%d]", path, i), pattern+"[]")
			}
		}
	}
	walk(doc, "", "")
	return errs, warnings
}

// tooNew is a key that came with a later format version than the file declares.
func tooNew(path, file string, minor, since int) FieldProblem {
	return problem(path, "Key Not In This Compose File Version",
		fmt.Sprintf("%s in %s: the file declares version 3.%d, and this key came with version 3.%d; docker stack deploy refuses it. Declare version \"3.%d\" or later (or none: the latest), or remove the key.", path, file, minor, since, since))
}

// lookupKey finds the rule of key k under pattern: by its own name first, else as a name the
// file chooses ("*").
func lookupKey(pattern, k string) (string, keyRule, bool) {
	for _, p := range []string{joinPath(pattern, k), joinPath(pattern, "*")} {
		if r, ok := composeKeys[p]; ok {
			return p, r, true
		}
	}
	return "", keyRule{}, false
}

// joinPath adds a key to a compose path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// sortedKeys lists a map's keys in order, so that problems come out in a stable order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
