package orchestrator

// Paths between a converted stack and its compose files. The engine's rules report problems at
// swarm_service's (or swarm_network's) attribute paths, in the order of the spec: the spec's
// lists are sorted (ports by published port, secrets by name, networks by name) and renamed
// (mounts are volumes, args is command, rolling_update is deploy.update_config). Each
// converted object records where its parts came from, so that the same rules report in the
// terms of the files.

import (
	"regexp"
	"strings"
)

// pathMap maps attribute paths (or their prefixes) to compose paths.
type pathMap map[string]string

// mapKey is a map key step in an attribute path: ["key"].
var mapKey = regexp.MustCompile(`\["([^"]*)"\]`)

// translate finds the compose path of an attribute path: recorded as it is, else the compose
// path of its longest recorded prefix with the rest of the path after it (map keys spelled as
// compose paths spell them, .key), else fallback.
func (p pathMap) translate(attr, fallback string) string {
	if c, ok := p[attr]; ok {
		return c
	}
	for prefix := attr; prefix != ""; {
		i := strings.LastIndexAny(prefix, ".[")
		if i <= 0 {
			break
		}
		prefix = prefix[:i]
		if c, ok := p[prefix]; ok {
			return c + mapKey.ReplaceAllString(attr[len(prefix):], ".$1")
		}
	}
	return fallback
}

// networkPaths are where a network's attributes (swarm_network's, as CheckNetwork reports
// them) sit in the files; ipam[i] is ipam.config[i].
func networkPaths(at string) pathMap {
	return pathMap{"name": at, "driver": at + ".driver", "internal": at + ".internal", "attachable": at + ".attachable",
		"labels": at + ".labels", "driver_options": at + ".driver_opts", "encrypted": at + ".driver_opts.encrypted", "ipam": at + ".ipam.config"}
}
