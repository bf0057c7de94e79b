package orchestrator

import (
	"encoding/json"
	"reflect"
	"sort"
	"time"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
)

// ChangeKind says what a spec change does to running tasks.
type ChangeKind int

const (
	// ChangeNone: the specs are the same after normalisation.
	ChangeNone ChangeKind = iota
	// ChangeMetadata: labels, update/rollback settings; no task is touched.
	ChangeMetadata
	// ChangeScale: only the replica count; tasks are added or removed, none restarted.
	ChangeScale
	// ChangeTaskTemplate: the task template or endpoint changed; Swarm rolls every task.
	ChangeTaskTemplate
)

func (k ChangeKind) String() string {
	switch k {
	case ChangeNone:
		return "none"
	case ChangeMetadata:
		return "metadata"
	case ChangeScale:
		return "scale"
	case ChangeTaskTemplate:
		return "rolling-update"
	}
	return "unknown"
}

// Classify compares an observed spec with a desired one and says what kind of change it is.
// The strongest kind wins: a task-template change that also scales is a rolling update.
func Classify(observed, desired swarm.ServiceSpec) ChangeKind {
	o, d := NormaliseSpec(observed), NormaliseSpec(desired)
	if !jsonEqual(o.TaskTemplate, d.TaskTemplate) || !jsonEqual(o.EndpointSpec, d.EndpointSpec) {
		return ChangeTaskTemplate
	}
	kind := ChangeNone
	if !jsonEqual(o.Mode, d.Mode) {
		kind = ChangeScale
	}
	o.Mode, d.Mode = swarm.ServiceMode{}, swarm.ServiceMode{}
	if kind == ChangeNone && !jsonEqual(o, d) {
		kind = ChangeMetadata
	}
	return kind
}

// DefaultRestartDelay is how long Swarm waits before restarting a task when no delay is given.
const DefaultRestartDelay = 5 * time.Second

// DefaultUpdateConfig is the rolling update (and rollback) Swarm performs when a service has no
// settings for it: one task at a time, stop-first, each watched for 5s, pause on failure.
func DefaultUpdateConfig() *swarm.UpdateConfig {
	return &swarm.UpdateConfig{Parallelism: 1, FailureAction: swarm.UpdateFailureActionPause, Monitor: 5 * time.Second, Order: swarm.UpdateOrderStopFirst}
}

// NormaliseSpec returns a copy of spec with the values the daemon fills in when they are left
// out replaced by their zero value, and lists whose order the daemon does not keep sorted, so
// that a spec as written and the same spec as read back compare equal.
func NormaliseSpec(spec swarm.ServiceSpec) swarm.ServiceSpec {
	var out swarm.ServiceSpec
	b, _ := json.Marshal(spec)
	_ = json.Unmarshal(b, &out) // deep copy
	tt := &out.TaskTemplate
	if cs := tt.ContainerSpec; cs != nil {
		if cs.Isolation == "default" {
			cs.Isolation = ""
		}
		if cs.DNSConfig != nil && len(cs.DNSConfig.Nameservers) == 0 && len(cs.DNSConfig.Search) == 0 && len(cs.DNSConfig.Options) == 0 {
			cs.DNSConfig = nil
		}
		sort.Strings(cs.Env)
		sort.Strings(cs.CapabilityAdd)
		sort.Strings(cs.CapabilityDrop)
		sort.Strings(cs.Hosts)
		sort.Slice(cs.Ulimits, func(i, j int) bool { return cs.Ulimits[i].Name < cs.Ulimits[j].Name })
		for i := range cs.Mounts {
			if o := cs.Mounts[i].BindOptions; o != nil && o.Propagation == mount.PropagationRPrivate {
				cs.Mounts[i].BindOptions.Propagation = "" // the default, which the Docker CLI writes out
			}
		}
	}
	if tt.Runtime == "container" {
		tt.Runtime = ""
	}
	// Swarm stores no restart, update or rollback settings that were not given and applies its
	// defaults (docker service inspect shows them filled in): the same service either way.
	if tt.RestartPolicy == nil {
		tt.RestartPolicy = &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny}
	}
	if tt.RestartPolicy.Delay == nil {
		delay := DefaultRestartDelay
		tt.RestartPolicy.Delay = &delay
	}
	if out.UpdateConfig == nil {
		out.UpdateConfig = DefaultUpdateConfig()
	}
	if out.RollbackConfig == nil {
		out.RollbackConfig = DefaultUpdateConfig()
	}
	for _, u := range []*swarm.UpdateConfig{out.UpdateConfig, out.RollbackConfig} {
		// Settings given in part: the daemon fills in the rest.
		if u.FailureAction == "" {
			u.FailureAction = swarm.UpdateFailureActionPause
		}
		if u.Order == "" {
			u.Order = swarm.UpdateOrderStopFirst
		}
	}
	if tt.Placement != nil {
		sort.Strings(tt.Placement.Constraints)
	}
	if r := out.Mode.Replicated; r != nil && r.Replicas == nil {
		one := uint64(1) // the daemon's count for a replicated service that gives none
		r.Replicas = &one
	}
	if out.EndpointSpec != nil && out.EndpointSpec.Mode == "" {
		out.EndpointSpec.Mode = swarm.ResolutionModeVIP // the daemon's default
	}
	if out.EndpointSpec != nil && out.EndpointSpec.Mode == swarm.ResolutionModeVIP && len(out.EndpointSpec.Ports) == 0 {
		out.EndpointSpec = nil
	}
	if out.EndpointSpec != nil {
		for i := range out.EndpointSpec.Ports {
			p := &out.EndpointSpec.Ports[i]
			if p.Protocol == "" {
				p.Protocol = swarm.PortConfigProtocolTCP
			}
			if p.PublishMode == "" {
				p.PublishMode = swarm.PortConfigPublishModeIngress
			}
		}
	}
	return out
}

// jsonEqual compares two values by their JSON form with empty values pruned, so that nil and
// empty maps, slices and structs are the same.
func jsonEqual(a, b any) bool {
	return reflect.DeepEqual(pruned(a), pruned(b))
}

func pruned(v any) any {
	b, _ := json.Marshal(v)
	var generic any
	_ = json.Unmarshal(b, &generic)
	return prune(generic)
}

func prune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			if p := prune(val); p != nil {
				out[k] = p
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		if len(x) == 0 {
			return nil
		}
		out := make([]any, len(x))
		for i := range x {
			out[i] = prune(x[i])
		}
		return out
	case string:
		if x == "" {
			return nil
		}
	case float64:
		if x == 0 {
			return nil
		}
	case bool:
		if !x {
			return nil
		}
	}
	return v
}
