package orchestrator

// Merging compose files the way `docker stack deploy -c a.yml -c b.yml` merges them. compose-go
// merges by the Compose Specification's rules, which differ from the CLI's in ways that change
// what runs (a port published twice, a secret mounted twice, a network's settings merged
// rather than replaced), so each file is loaded on its own (interpolated, in canonical form)
// and the engine merges the results with the CLI's rules:
//
//   - A service of a later file is merged into the same service of the earlier ones. Its
//     values win, except an empty or zero value (false, 0, "", 0s): the CLI keeps the earlier
//     value then. Only its counts (replicas, parallelism, max_attempts, retries) take a later 0.
//   - Maps (environment, labels, sysctls, deploy.labels, logging.options) merge by key; ports
//     merge by published port, secrets and configs by source, volumes by target, each list
//     then sorted by that key; command, entrypoint and ulimits are replaced; other lists
//     (cap_add, dns, extra_hosts, env_file, placement constraints, ...) are appended.
//   - A service network of a later file replaces the aliases only (its driver_opts are
//     dropped, as the CLI drops them); logging merges its options when the driver is the same
//     or missing, else it is replaced.
//   - A top-level network, volume, secret or config of a later file replaces the earlier one
//     whole.
//   - Each file's environment is resolved (its env files read, then its environment) before
//     the merge, as the CLI resolves it, so a later file's env_file beats an earlier file's
//     environment.
//
// One deliberate difference: the CLI appends a later healthcheck.test to the earlier one (a
// test of ["CMD", "a", "CMD", "b"] no runtime can run); here the later test replaces it.

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// mergePointerKeys are the service fields whose later zero value replaces an earlier one in
// the CLI's merge (the counts it holds as *uint64). Paths are relative to the service.
var mergePointerKeys = map[string]bool{
	"deploy.replicas": true, "deploy.update_config.parallelism": true, "deploy.rollback_config.parallelism": true,
	"deploy.restart_policy.max_attempts": true, "healthcheck.retries": true,
}

// mergeKeyedLists are the service lists merged by one key of their items.
var mergeKeyedLists = map[string]string{"ports": "published", "secrets": "source", "configs": "source", "volumes": "target"}

// mergeComposeFiles merges later files into the first, which it changes.
func mergeComposeFiles(files []*composeFile) *composeFile {
	base := files[0]
	for _, over := range files[1:] {
		for _, section := range []string{"networks", "volumes", "secrets", "configs"} {
			if o, ok := over.dict[section].(map[string]any); ok {
				b := mapAt(base.dict, section)
				for k, v := range o {
					b[k] = v
				}
			}
		}
		if services, ok := over.dict["services"].(map[string]any); ok {
			b := mapAt(base.dict, "services")
			for name, v := range services {
				svc, _ := v.(map[string]any)
				if prior, ok := b[name].(map[string]any); ok {
					b[name] = mergeService(prior, svc, base.env[name], over.env[name])
					continue
				}
				b[name] = svc
				base.env[name] = over.env[name]
			}
		}
		for k, v := range over.dict {
			if strings.HasPrefix(k, "x-") || k == "version" {
				base.dict[k] = v
			}
		}
	}
	return base
}

// mapAt returns the map under key, making it when missing.
func mapAt(m map[string]any, key string) map[string]any {
	if sub, ok := m[key].(map[string]any); ok {
		return sub
	}
	sub := map[string]any{}
	m[key] = sub
	return sub
}

// mergeService merges a later file's service into an earlier one's; env holds each file's
// resolved environment, whose origins move to the merged env_file list.
func mergeService(base, over map[string]any, baseEnv, overEnv map[string]envValue) map[string]any {
	baseEnvFiles := len(listAt(base, "env_file"))
	for k, ov := range over {
		bv, exists := base[k]
		switch {
		case !exists:
			base[k] = ov
		case mergeKeyedLists[k] != "":
			base[k] = mergeKeyed(listOf(bv), listOf(ov), mergeKeyedLists[k])
		case k == "command" || k == "entrypoint":
			if !isZero(ov) {
				base[k] = ov
			}
		case k == "networks":
			base[k] = mergeServiceNetworks(bv, ov)
		case k == "logging":
			base[k] = mergeLogging(bv, ov)
		case k == "ulimits":
			b, _ := bv.(map[string]any)
			o, _ := ov.(map[string]any)
			if b == nil {
				b = map[string]any{}
			}
			for name, v := range o {
				b[name] = v
			}
			base[k] = b
		default:
			base[k] = mergeValue(bv, ov, k)
		}
	}
	// The environment was resolved per file: the later file's values win, and those it read
	// from its env files now sit further down the merged env_file list.
	for name, v := range overEnv {
		if i, ok := v.envFile(); ok {
			v.origin = fmt.Sprintf("env_file[%d]", baseEnvFiles+i)
		}
		baseEnv[name] = v
	}
	return base
}

// mergeValue merges two values at path (relative to the service) as the CLI's merge does.
func mergeValue(b, o any, path string) any {
	switch bv := b.(type) {
	case map[string]any:
		ov, ok := o.(map[string]any)
		if !ok {
			break
		}
		for k, v := range ov {
			if prior, ok := bv[k]; ok && !(path == "healthcheck" && k == "test") {
				bv[k] = mergeValue(prior, v, path+"."+k)
			} else {
				bv[k] = v
			}
		}
		return bv
	case []any:
		if ov, ok := o.([]any); ok {
			return append(bv, ov...)
		}
	}
	if isZero(o) && !mergePointerKeys[path] && !inFreeMap(path) {
		return b
	}
	return o
}

// inFreeMap says whether path (relative to the service) is an entry of a map whose keys are the
// user's (labels, sysctls, ...): the CLI merges those by key, and a later empty value wins.
func inFreeMap(path string) bool {
	i := strings.LastIndexByte(path, '.')
	return i > 0 && composeKeys["services.*."+path[:i]].class == keyFree
}

// isZero says whether a value is what the CLI's merge counts as not set.
func isZero(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case bool:
		return !v
	case string:
		return v == ""
	case int:
		return v == 0
	case int64:
		return v == 0
	case uint64:
		return v == 0
	case float64:
		return v == 0
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}

// mergeKeyed merges two lists of maps by one key: a later item replaces an earlier one with the
// same key; the result is sorted by the key.
func mergeKeyed(base, over []any, key string) []any {
	byKey := map[string]any{}
	var order []string
	add := func(items []any) {
		for _, item := range items {
			m, _ := item.(map[string]any)
			k := fmt.Sprint(m[key])
			if _, seen := byKey[k]; !seen {
				order = append(order, k)
			}
			byKey[k] = item
		}
	}
	add(base)
	add(over)
	sort.SliceStable(order, func(i, j int) bool {
		if key == "published" { // numerically: the CLI holds published ports as numbers
			a, _ := strconv.Atoi(order[i])
			b, _ := strconv.Atoi(order[j])
			return a < b
		}
		return order[i] < order[j]
	})
	out := make([]any, 0, len(order))
	for _, k := range order {
		out = append(out, byKey[k])
	}
	return out
}

// mergeServiceNetworks merges a service's networks: a later network entry replaces the aliases
// (and a fixed address) of an earlier one, and nothing else.
func mergeServiceNetworks(b, o any) any {
	base, _ := b.(map[string]any)
	over, _ := o.(map[string]any)
	if base == nil {
		return o
	}
	for name, v := range over {
		ov, _ := v.(map[string]any)
		prior, exists := base[name]
		if !exists {
			base[name] = v
			continue
		}
		if len(ov) == 0 {
			continue
		}
		pm, _ := prior.(map[string]any)
		merged := map[string]any{}
		for k, v := range pm {
			merged[k] = v
		}
		delete(merged, "aliases")
		if a, ok := ov["aliases"]; ok {
			merged["aliases"] = a
		}
		for _, k := range []string{"ipv4_address", "ipv6_address"} {
			if s, _ := ov[k].(string); s != "" {
				merged[k] = s
			}
		}
		base[name] = merged
	}
	return base
}

// mergeLogging merges the logging options when both files name the same driver (or one names
// none); a different driver replaces the whole block.
func mergeLogging(b, o any) any {
	base, _ := b.(map[string]any)
	over, _ := o.(map[string]any)
	if base == nil || over == nil {
		return o
	}
	bd, _ := base["driver"].(string)
	od, _ := over["driver"].(string)
	if bd != "" && od != "" && bd != od {
		return over
	}
	if bd == "" {
		base["driver"] = od
	}
	opts, _ := base["options"].(map[string]any)
	if opts == nil {
		opts = map[string]any{}
	}
	if oo, ok := over["options"].(map[string]any); ok {
		for k, v := range oo {
			opts[k] = v
		}
	}
	if len(opts) > 0 {
		base["options"] = opts
	}
	return base
}

// listAt is the list under key, or nil.
func listAt(m map[string]any, key string) []any {
	return listOf(m[key])
}

func listOf(v any) []any {
	l, _ := v.([]any)
	return l
}
