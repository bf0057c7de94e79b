package orchestrator

// Which parts of a service spec the desired spec owns. A write takes the owned fields from the
// desired spec and keeps every other field as the service has it, so nothing the configuration
// does not model is ever stripped (networks, secrets, privileges, a pids limit set with the
// Docker CLI, ...). The same list tells whether a service changed since a plan was made, and
// which of its fields nobody here manages.

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/swarm"
)

// ownedField is one part of a service spec that the desired spec owns: its path in the spec's
// JSON form, and the name a person knows it by. For a list whose elements carry fields nobody
// here models, key names the field that identifies an element and fields the element's owned
// fields: the rest of each element is kept from the service's element with the same key.
type ownedField struct {
	path   string
	name   string
	key    string
	fields []string
}

// ownedMountFields are the parts of a mount the desired spec owns; the rest (volume driver
// and labels, bind propagation, tmpfs mode, consistency) is kept.
var ownedMountFields = []string{"Type", "Source", "Target", "ReadOnly", "TmpfsOptions.SizeBytes", "TmpfsOptions.Mode",
	"VolumeOptions.NoCopy", "VolumeOptions.Labels", "VolumeOptions.DriverConfig", "BindOptions.Propagation"}

// ownedFields are the parts of a spec the engine writes from a desired spec. Labels are owned
// except the engine's own (EngineLabelPrefix); the image is owned but keeps a digest the
// engine pinned; the replica count is owned unless a scaling policy owns it; a ForceUpdate of
// 0 keeps the service's counter. Placement.Platforms is not owned: the Docker CLI fills it in
// from the image.
var ownedFields = []ownedField{
	{path: "Name", name: "name"},
	{path: "Labels", name: "labels"},
	{path: "TaskTemplate.ContainerSpec.Image", name: "image"},
	{path: "TaskTemplate.ContainerSpec.Labels", name: "container labels"},
	{path: "TaskTemplate.ContainerSpec.Command", name: "command"},
	{path: "TaskTemplate.ContainerSpec.Args", name: "args"},
	{path: "TaskTemplate.ContainerSpec.Hostname", name: "hostname"},
	{path: "TaskTemplate.ContainerSpec.Env", name: "env"},
	{path: "TaskTemplate.ContainerSpec.Dir", name: "workdir"},
	{path: "TaskTemplate.ContainerSpec.User", name: "user"},
	{path: "TaskTemplate.ContainerSpec.Groups", name: "groups"},
	{path: "TaskTemplate.ContainerSpec.Init", name: "init"},
	{path: "TaskTemplate.ContainerSpec.StopSignal", name: "stop signal"},
	{path: "TaskTemplate.ContainerSpec.ReadOnly", name: "read-only root filesystem"},
	{path: "TaskTemplate.ContainerSpec.Mounts", name: "mounts", key: "Target", fields: ownedMountFields},
	{path: "TaskTemplate.ContainerSpec.StopGracePeriod", name: "stop grace period"},
	{path: "TaskTemplate.ContainerSpec.Healthcheck", name: "healthcheck"},
	{path: "TaskTemplate.ContainerSpec.Hosts", name: "extra hosts"},
	{path: "TaskTemplate.ContainerSpec.DNSConfig", name: "DNS config"},
	{path: "TaskTemplate.ContainerSpec.Sysctls", name: "sysctls"},
	{path: "TaskTemplate.ContainerSpec.CapabilityAdd", name: "added capabilities"},
	{path: "TaskTemplate.ContainerSpec.CapabilityDrop", name: "dropped capabilities"},
	{path: "TaskTemplate.ContainerSpec.Ulimits", name: "ulimits"},
	{path: "TaskTemplate.ContainerSpec.Secrets", name: "secrets"},
	{path: "TaskTemplate.ContainerSpec.Configs", name: "configs"},
	{path: "TaskTemplate.Networks", name: "networks"},
	{path: "TaskTemplate.Resources.Limits.Pids", name: "pids limit"},
	{path: "TaskTemplate.Resources.Limits.NanoCPUs", name: "CPU limit"},
	{path: "TaskTemplate.Resources.Limits.MemoryBytes", name: "memory limit"},
	{path: "TaskTemplate.Resources.Reservations.NanoCPUs", name: "CPU reservation"},
	{path: "TaskTemplate.Resources.Reservations.MemoryBytes", name: "memory reservation"},
	{path: "TaskTemplate.RestartPolicy", name: "restart policy"},
	{path: "TaskTemplate.Placement.Constraints", name: "placement constraints"},
	{path: "TaskTemplate.Placement.Preferences", name: "placement preferences"},
	{path: "TaskTemplate.Placement.MaxReplicas", name: "max replicas per node"},
	{path: "TaskTemplate.LogDriver", name: "log driver"},
	{path: "TaskTemplate.ForceUpdate", name: "force_update"},
	{path: "Mode", name: "replicas"},
	{path: "UpdateConfig", name: "rolling update settings"},
	{path: "RollbackConfig", name: "rollback settings"},
	{path: "EndpointSpec.Mode", name: "endpoint mode"},
	{path: "EndpointSpec.Ports", name: "ports"},
}

// jobNotOwned are the owned fields a job's desired spec leaves out: Swarm does not roll a job
// out, and a job publishes no ports of its own. A write keeps them as the job has them.
var jobNotOwned = map[string]bool{"UpdateConfig": true, "RollbackConfig": true, "EndpointSpec.Mode": true, "EndpointSpec.Ports": true}

// specMap is a spec in its JSON form, so that fields can be taken by path.
type specMap map[string]any

func toSpecMap(spec swarm.ServiceSpec) specMap {
	b, _ := json.Marshal(spec)
	var m specMap
	_ = json.Unmarshal(b, &m)
	return m
}

func (m specMap) spec() swarm.ServiceSpec {
	b, _ := json.Marshal(m)
	var spec swarm.ServiceSpec
	_ = json.Unmarshal(b, &spec)
	return spec
}

// get returns the value at a dotted path, or nil.
func (m specMap) get(path string) any {
	var cur any = map[string]any(m)
	for _, k := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = obj[k]
	}
	return cur
}

// set puts v at a dotted path, creating the objects on the way; nil removes the field.
func (m specMap) set(path string, v any) {
	keys := strings.Split(path, ".")
	obj := map[string]any(m)
	for _, k := range keys[:len(keys)-1] {
		next, ok := obj[k].(map[string]any)
		if !ok {
			if v == nil {
				return
			}
			next = map[string]any{}
			obj[k] = next
		}
		obj = next
	}
	if v == nil {
		delete(obj, keys[len(keys)-1])
		return
	}
	obj[keys[len(keys)-1]] = v
}

// stackOwnedFields are the fields a stack's compose files set that swarm_service does not
// model: a stack's write owns them too, so that a change of one in the files reaches the
// service (and the CLI's value of one is put back), as docker stack deploy writes them.
var stackOwnedFields = []ownedField{
	{path: "TaskTemplate.ContainerSpec.TTY", name: "tty"},
	{path: "TaskTemplate.ContainerSpec.OpenStdin", name: "stdin_open"},
	{path: "TaskTemplate.ContainerSpec.Isolation", name: "isolation"},
	{path: "TaskTemplate.ContainerSpec.OomScoreAdj", name: "oom_score_adj"},
	{path: "TaskTemplate.ContainerSpec.Privileges.CredentialSpec", name: "credential_spec"},
}

// mergeOwned takes the owned fields (and those in also) from desired and keeps every other
// field of observed.
func mergeOwned(desired, observed swarm.ServiceSpec, also ...ownedField) swarm.ServiceSpec {
	out, d := toSpecMap(observed), toSpecMap(desired)
	nd, no := toSpecMap(NormaliseSpec(desired)), toSpecMap(NormaliseSpec(observed))
	for _, f := range append(append([]ownedField(nil), ownedFields...), also...) {
		if reflect.DeepEqual(prune(ownedValue(f, nd)), prune(ownedValue(f, no))) {
			// The same value, spelled as the daemon keeps it (defaults left out or written
			// out, another order): written as it is, so that an equal spelling never restarts
			// tasks.
			continue
		}
		if f.key == "" {
			out.set(f.path, d.get(f.path))
			continue
		}
		out.set(f.path, mergeElements(f, d.get(f.path), out.get(f.path)))
	}
	return out.spec()
}

// mergeElements builds a list from the desired elements, each keeping the fields it does not
// own from the observed element with the same key.
func mergeElements(f ownedField, desired, observed any) any {
	want, _ := desired.([]any)
	if len(want) == 0 {
		return nil
	}
	have, _ := observed.([]any)
	byKey := map[any]map[string]any{}
	for _, el := range have {
		if m, ok := el.(map[string]any); ok {
			byKey[m[f.key]] = m
		}
	}
	out := make([]any, 0, len(want))
	for _, el := range want {
		dm, ok := el.(map[string]any)
		if !ok {
			out = append(out, el)
			continue
		}
		merged := specMap{}
		if om, found := byKey[dm[f.key]]; found {
			b, _ := json.Marshal(om)
			_ = json.Unmarshal(b, &merged)
		}
		for _, field := range f.fields {
			merged.set(field, specMap(dm).get(field))
		}
		out = append(out, map[string]any(merged))
	}
	return out
}

// ownedValue is the owned part of a field's value: for lists with element ownership, only
// the owned fields of each element.
func ownedValue(f ownedField, m specMap) any {
	v := m.get(f.path)
	if f.key == "" {
		return v
	}
	list, _ := v.([]any)
	var out []any
	for _, el := range list {
		em, ok := el.(map[string]any)
		if !ok {
			out = append(out, el)
			continue
		}
		owned := specMap{}
		for _, field := range f.fields {
			owned.set(field, specMap(em).get(field))
		}
		out = append(out, map[string]any(owned))
	}
	return out
}

// ownedChanges lists, by name, the owned fields whose values differ between two specs after
// normalisation. The engine's own labels never count, nor does the replica count while a
// scaling policy owns it in b.
// OwnedChanges names the owned fields in which two specs differ (defaults the daemon fills in
// and spellings of the same value aside): what a write of one over the other would change.
func OwnedChanges(a, b swarm.ServiceSpec) []string { return ownedChanges(a, b) }

func ownedChanges(a, b swarm.ServiceSpec) []string {
	ma, mb := toSpecMap(NormaliseSpec(withoutEngineLabels(a))), toSpecMap(NormaliseSpec(withoutEngineLabels(b)))
	var out []string
	for _, f := range ownedFields {
		if f.path == "Mode" && ReplicasOwnedElsewhere(b) && (a.Mode.Replicated != nil) == (b.Mode.Replicated != nil) {
			continue
		}
		if IsJob(a) && jobNotOwned[f.path] {
			continue
		}
		if f.path == "TaskTemplate.ForceUpdate" {
			continue // a write keeps a counter raised by someone else unless the configuration raises its own
		}
		if f.path == "TaskTemplate.ContainerSpec.Image" && (SameImage(imageOf(a), imageOf(b)) || SameImage(imageOf(b), imageOf(a))) {
			continue // the same reference, or the same one pinned to a digest (a write keeps the pin)
		}
		if !reflect.DeepEqual(prune(ownedValue(f, ma)), prune(ownedValue(f, mb))) {
			out = append(out, f.name)
		}
	}
	return out
}

func withoutEngineLabels(spec swarm.ServiceSpec) swarm.ServiceSpec {
	if len(spec.Labels) == 0 {
		return spec
	}
	labels := map[string]string{}
	for k, v := range spec.Labels {
		if !strings.HasPrefix(k, EngineLabelPrefix) {
			labels[k] = v
		}
	}
	spec.Labels = labels
	return spec
}

// UnownedFields lists the fields set in a service's spec that no desired spec owns: a write
// keeps them as they are. The defaults the daemon fills in are left out; within a list whose
// elements are partly owned, each element is named by its key ("Mounts[/data].VolumeOptions").
func UnownedFields(spec swarm.ServiceSpec) []string {
	m := toSpecMap(NormaliseSpec(spec))
	var out []string
	for _, f := range ownedFields {
		if f.key == "" {
			m.set(f.path, nil)
			continue
		}
		list, _ := m.get(f.path).([]any)
		for _, el := range list {
			em, ok := el.(map[string]any)
			if !ok {
				continue
			}
			key := em[f.key]
			for _, field := range f.fields {
				specMap(em).set(field, nil)
			}
			for k, v := range em {
				if prune(v) != nil {
					out = append(out, fmt.Sprintf("%s[%v].%s", f.path, key, k))
				}
			}
		}
		m.set(f.path, nil)
	}
	m.set("TaskTemplate.Placement.Platforms", nil) // filled in from the image by the Docker CLI
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		obj, ok := v.(map[string]any)
		if !ok {
			if prune(v) != nil {
				out = append(out, prefix)
			}
			return
		}
		for k, val := range obj {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			walk(p, val)
		}
	}
	walk("", map[string]any(m))
	sort.Strings(out)
	return out
}
