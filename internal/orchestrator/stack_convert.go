package orchestrator

// Converting loaded compose files into the Swarm objects `docker stack deploy` makes for a
// stack, with the same names, labels and specs (learnt from docker/cli's cli/compose/convert
// and checked against the CLI itself; see TestStackParity), so that a stack deployed either way
// is the same stack and `docker stack ls|ps|services|rm` work on both.
//
// One departure, on purpose: the CLI gives a secret or config the fixed name <stack>_<key> and,
// on a later deploy with changed content, tries to update it, which Swarm refuses ("only
// updates to Labels are allowed"): the file cannot change while the stack runs. Here each
// version of a secret or config is an object of its own, named <stack>_<key>_ and 10 hex digits
// of its content hash (the rotation of swarm_secret's name_prefix: ObjectSpec.Prefix), so that a
// changed file is a new object and the services move to it in one rolling update; the file
// name in the containers (target, by default the key) stays the same. Stack.ReferTo points the
// services at another name, e.g. the CLI's fixed name of an adopted stack.

import (
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
)

// Labels docker stack deploy puts on what it makes: the stack's name on every object and on
// the services' containers, and the image as the file gives it on each service.
const (
	StackNamespaceLabel = "com.docker.stack.namespace"
	StackImageLabel     = "com.docker.stack.image"
)

// defaultNetwork is the network of the services that name none.
const defaultNetwork = "default"

// Stack is a stack converted into the Swarm objects docker stack deploy makes for it: networks,
// secrets and configs first, then services that refer to them by name.
type Stack struct {
	Name string
	// Networks are those the services attach to (unused ones are not made, as with the CLI),
	// in name order.
	Networks []StackNetwork
	// Secrets and Configs are all those the files declare (used or not, as with the CLI), in
	// key order.
	Secrets, Configs []StackObject
	// Services are in key order.
	Services []StackService
	// Warnings are what has no effect on Swarm, at compose paths.
	Warnings []FieldProblem
	// Files are the files read for the stack, with their hashes.
	Files []StackFile
}

// StackNetwork is a network of the stack.
type StackNetwork struct {
	// Key is the network's key in the files ("default" for the implicit one).
	Key string
	// Path is its compose path ("networks.front").
	Path string
	// External networks exist already; Spec holds only their name.
	External bool
	Spec     NetworkSpec
}

// ComposePath turns a swarm_network attribute path (CheckNetwork's spelling) into the compose
// path it came from.
func (n StackNetwork) ComposePath(attr string) string {
	return networkPaths(n.Path).translate(attr, n.Path)
}

// StackObject is a secret or config of the stack.
type StackObject struct {
	Kind ObjectKind
	Key  string
	// Path is its compose path ("secrets.db_password").
	Path string
	// External objects exist already and are referred to by Name, never made.
	External bool
	// Name is the name docker stack deploy gives it: <stack>_<key>, or the file's name.
	Name string
	// File is the absolute path of the file it is made from.
	File string
	// Prefix, Hash, Labels and TemplateDriver make its versions (ObjectSpec gives them with
	// the content); Hash is keyed for secrets (ComposeSource.HashKey), as swarm_secret's.
	Prefix, Hash   string
	Labels         map[string]string
	TemplateDriver string
	data           *hiddenBytes
}

// VersionName is the name of the version of the object this content makes (Prefix and the
// hash); an external object's name.
func (o StackObject) VersionName() string {
	if o.External {
		return o.Name
	}
	return VersionName(o.Prefix, o.Hash)
}

// ObjectSpec is what CreateObject makes the object's version from.
func (o StackObject) ObjectSpec() ObjectSpec {
	return ObjectSpec{Prefix: o.Prefix, Hash: o.Hash, Labels: o.Labels, TemplateDriver: o.TemplateDriver, Data: o.data.bytes()}
}

// StackService is a service of the stack.
type StackService struct {
	// Key is the service's key in the files.
	Key string
	// Spec refers to networks, secrets and configs by name (CreateService resolves them).
	Spec  swarm.ServiceSpec
	paths pathMap
	// secretKeys and configKeys name the object of each reference in Spec, in order.
	secretKeys, configKeys []string
}

// ComposePath turns a swarm_service attribute path (the spelling of FieldProblem paths from
// the service rules: "resources.limits.memory", "mounts[2].target", "env[\"NAME\"]") into the
// compose path the value came from ("services.api.deploy.resources.limits.memory",
// "services.api.volumes[1].target", "services.api.env_file[0]"). A path with no counterpart in
// the files gives the service's own path.
func (s StackService) ComposePath(attr string) string {
	return s.paths.translate(attr, "services."+s.Key)
}

// ComposeProblems reports problems found by the service rules at compose paths.
func (s StackService) ComposeProblems(problems []FieldProblem) []FieldProblem {
	out := make([]FieldProblem, len(problems))
	for i, p := range problems {
		out[i] = p
		out[i].Path = s.ComposePath(p.Path)
		out[i].Reads = make([]string, len(p.Reads))
		for j, r := range p.Reads {
			out[i].Reads[j] = s.ComposePath(r)
		}
	}
	return out
}

// ReferTo makes every service refer to the secret or config key by name instead of the
// version this content makes: the object an adopted stack already runs with (the CLI's fixed
// name), or a version made before.
func (st *Stack) ReferTo(kind ObjectKind, key, name string) {
	for i := range st.Services {
		s := &st.Services[i]
		cs := s.Spec.TaskTemplate.ContainerSpec
		switch kind {
		case KindSecret:
			for j, k := range s.secretKeys {
				if k == key {
					ref := *cs.Secrets[j]
					ref.SecretID, ref.SecretName = name, name
					cs.Secrets[j] = &ref
				}
			}
		case KindConfig:
			for j, k := range s.configKeys {
				if k == key {
					ref := *cs.Configs[j]
					ref.ConfigID, ref.ConfigName = name, name
					cs.Configs[j] = &ref
				}
			}
		}
	}
}

// Stack converts the loaded files into the objects of stack name. A *ComposeError lists
// every problem, at its compose path.
func (c *Compose) Stack(name string) (*Stack, error) {
	cv := &converter{c: c, st: &Stack{Name: name, Files: c.Files, Warnings: append([]FieldProblem(nil), c.Warnings...)},
		networkNames: map[string]string{}, objects: map[string]StackObject{}}
	if err := CheckName(name); err != nil {
		return nil, &ComposeError{Problems: []FieldProblem{problem("", "Invalid Stack Name", fmt.Sprintf("The stack name names every object of the stack (<stack>_<service>): %v.", err))}}
	}
	services := make([]types.ServiceConfig, 0, len(c.project.Services))
	for _, svc := range c.project.Services {
		services = append(services, svc)
	}
	sort.Slice(services, func(i, j int) bool { return services[i].Name < services[j].Name })
	if len(services) == 0 {
		cv.fail("services", "No Service", "The compose files define no service: a stack needs at least one.")
	}
	cv.networks(services)
	cv.fileObjects(KindSecret)
	cv.fileObjects(KindConfig)
	for _, svc := range services {
		cv.service(svc)
	}
	if len(cv.errs) > 0 {
		return nil, &ComposeError{Problems: cv.errs}
	}
	return cv.st, nil
}

// converter holds what the conversion of one stack has worked out so far.
type converter struct {
	c            *Compose
	st           *Stack
	errs         []FieldProblem
	networkNames map[string]string      // network key → name
	objects      map[string]StackObject // "secrets.key" → object
}

func (cv *converter) fail(path, summary, detail string) {
	cv.errs = append(cv.errs, problem(path, summary, path+": "+detail))
}

func (cv *converter) warn(path, summary, detail string) {
	cv.st.Warnings = appendNew(cv.st.Warnings, problem(path, summary, path+": "+detail))
}

// scoped is a name in the stack's namespace, as the CLI makes them.
func (cv *converter) scoped(key string) string { return cv.st.Name + "_" + key }

// labels are a file's labels with the stack's label added.
func (cv *converter) labels(from map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range from {
		out[k] = v
	}
	out[StackNamespaceLabel] = cv.st.Name
	return out
}

// raw reads a value of the merged model by its compose path elements.
func (cv *converter) raw(path ...string) (any, bool) {
	var v any = cv.c.dict
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[p]; !ok {
			return nil, false
		}
	}
	return v, true
}

// networks works out the networks the services attach to: made (<stack>_<key>, or the file's
// name, overlay unless the file says otherwise) or, when external, referred to by name.
func (cv *converter) networks(services []types.ServiceConfig) {
	used := map[string]bool{}
	for _, svc := range services {
		if len(svc.Networks) == 0 {
			used[defaultNetwork] = true
		}
		for key := range svc.Networks {
			if _, declared := cv.c.project.Networks[key]; declared || key == defaultNetwork {
				used[key] = true
			}
		}
	}
	for _, key := range sortedKeys(used) {
		cfg := cv.c.project.Networks[key]
		n := StackNetwork{Key: key, Path: "networks." + key, External: bool(cfg.External)}
		n.Spec.Name = cfg.Name
		if n.Spec.Name == "" {
			n.Spec.Name = cv.scoped(key)
			if n.External {
				n.Spec.Name = key
			}
		}
		cv.networkNames[key] = n.Spec.Name
		if !n.External {
			n.Spec.Driver = cfg.Driver
			if n.Spec.Driver == "" {
				n.Spec.Driver = "overlay"
			}
			n.Spec.Internal, n.Spec.Attachable = cfg.Internal, cfg.Attachable
			n.Spec.Labels = cv.labels(cfg.Labels)
			if len(cfg.DriverOpts) > 0 {
				n.Spec.DriverOptions = map[string]string(cfg.DriverOpts)
			}
			if d := cfg.Ipam.Driver; d != "" && d != "default" {
				cv.fail(n.Path+".ipam.driver", "IPAM Driver Not Supported Yet", fmt.Sprintf("swarm_stack makes networks with the default IPAM driver only, not %q.", d))
			}
			for _, pool := range cfg.Ipam.Config {
				// The CLI's format has only the subnet of a pool.
				n.Spec.IPAM = append(n.Spec.IPAM, IPAMConfig{Subnet: pool.Subnet})
			}
			if err := CheckName(n.Spec.Name); err != nil {
				cv.fail(n.Path, "Invalid Network Name", err.Error()+".")
			}
		}
		cv.st.Networks = append(cv.st.Networks, n)
	}
	sort.SliceStable(cv.st.Networks, func(i, j int) bool { return cv.st.Networks[i].Spec.Name < cv.st.Networks[j].Spec.Name })
}

// fileObjects works out the stack's secrets or configs.
func (cv *converter) fileObjects(kind ObjectKind) {
	section := string(kind) + "s"
	decl := map[string]types.FileObjectConfig{}
	for k, v := range cv.c.project.Secrets {
		if kind == KindSecret {
			decl[k] = types.FileObjectConfig(v)
		}
	}
	for k, v := range cv.c.project.Configs {
		if kind == KindConfig {
			decl[k] = types.FileObjectConfig(v)
		}
	}
	for _, key := range sortedKeys(decl) {
		cfg := decl[key]
		o := StackObject{Kind: kind, Key: key, Path: section + "." + key, External: bool(cfg.External), Name: cfg.Name}
		if o.Name == "" {
			o.Name = cv.scoped(key)
			if o.External {
				o.Name = key
			}
		}
		if !o.External {
			o.File = cv.c.absPath(cfg.File)
			o.data = cv.c.data[o.Path]
			o.Labels = cv.labels(cfg.Labels)
			o.TemplateDriver = cfg.TemplateDriver
			o.Prefix = o.Name + "_"
			var hashKey []byte
			if kind == KindSecret {
				hashKey = cv.c.hashKey
			}
			// The same hash as swarm_secret's and swarm_config's for the same content.
			o.Hash = DataHash(hashKey, o.data.bytes(), "", o.TemplateDriver)
			if err := CheckObjectName(o.VersionName()); err != nil {
				at := o.Path
				if cfg.Name != "" {
					at += ".name"
				}
				cv.fail(at, "Invalid "+titleCase(string(kind))+" Name", fmt.Sprintf("each version of it is named %s and 10 hex digits of its content hash (%s): %v.", o.Prefix, o.VersionName(), err))
			}
			if kind == KindConfig {
				if err := CheckConfigTemplate(o.TemplateDriver, string(o.data.bytes())); err != nil {
					cv.fail(o.Path+".file", "Invalid Config Template", err.Error()+".")
				}
			}
		}
		cv.objects[o.Path] = o
		if kind == KindSecret {
			cv.st.Secrets = append(cv.st.Secrets, o)
		} else {
			cv.st.Configs = append(cv.st.Configs, o)
		}
	}
}

// service converts one service, recording where each part of its spec came from.
func (cv *converter) service(svc types.ServiceConfig) {
	at := "services." + svc.Name
	s := StackService{Key: svc.Name, paths: pathMap{}}
	p := s.paths
	name := cv.scoped(svc.Name)
	if err := CheckName(name); err != nil {
		cv.fail(at, "Invalid Service Name", fmt.Sprintf("the service is named <stack>_<key>: %v.", err))
	}
	if svc.Image == "" {
		cv.fail(at+".image", "Missing Image", "a service of a stack needs an image (docker stack deploy builds none).")
	} else if _, err := reference.ParseAnyReference(svc.Image); err != nil {
		cv.fail(at+".image", "Invalid Image", fmt.Sprintf("%q is not an image reference: %v.", svc.Image, err))
	}
	deploy := svc.Deploy
	if deploy == nil {
		deploy = &types.DeployConfig{}
	}
	cs := &swarm.ContainerSpec{
		Image:           svc.Image,
		Command:         svc.Entrypoint,
		Args:            svc.Command,
		Hostname:        svc.Hostname,
		Env:             cv.env(svc.Name, p),
		Labels:          cv.labels(svc.Labels),
		Dir:             svc.WorkingDir,
		User:            svc.User,
		StopGracePeriod: composeDuration(svc.StopGracePeriod),
		StopSignal:      svc.StopSignal,
		TTY:             svc.Tty,
		OpenStdin:       svc.StdinOpen,
		ReadOnly:        svc.ReadOnly,
		Isolation:       container.Isolation(svc.Isolation),
		Init:            svc.Init,
		Sysctls:         nilIfEmpty(map[string]string(svc.Sysctls)),
		Ulimits:         ulimits(svc.Ulimits),
		OomScoreAdj:     svc.OomScoreAdj,
		Privileges:      &swarm.Privileges{CredentialSpec: cv.credentialSpec(at, svc.CredentialSpec)},
	}
	cs.CapabilityAdd, cs.CapabilityDrop = effectiveCaps(svc.CapAdd, svc.CapDrop)
	if hosts, ok := cv.raw("services", svc.Name, "extra_hosts"); ok {
		for _, h := range listOf(hosts) {
			host, ip, _ := strings.Cut(fmt.Sprint(h), ":")
			cs.Hosts = append(cs.Hosts, ip+" "+host)
		}
	}
	if svc.DNS != nil || svc.DNSSearch != nil {
		cs.DNSConfig = &swarm.DNSConfig{Nameservers: svc.DNS, Search: svc.DNSSearch}
	}
	cs.Healthcheck = cv.healthcheck(at, svc.HealthCheck)
	cs.Mounts = cv.mounts(at, svc, p)
	s.secretKeys = cv.fileRefs(at, KindSecret, refsOf(svc.Secrets), cs, p)
	s.configKeys = cv.fileRefs(at, KindConfig, refsOf(svc.Configs), cs, p)

	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: name, Labels: cv.labels(deploy.Labels)},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: cs,
			Resources:     cv.resources(at, svc.Name, deploy.Resources),
			RestartPolicy: cv.restartPolicy(at, svc.Restart, deploy.RestartPolicy, p),
			Placement: &swarm.Placement{
				Constraints: deploy.Placement.Constraints,
				MaxReplicas: deploy.Placement.MaxReplicas,
			},
			Networks: cv.serviceNetworks(at, svc, p),
		},
		Mode:           cv.mode(at, deploy),
		UpdateConfig:   updateConfig(deploy.UpdateConfig),
		RollbackConfig: updateConfig(deploy.RollbackConfig),
		EndpointSpec:   &swarm.EndpointSpec{Mode: swarm.ResolutionMode(strings.ToLower(deploy.EndpointMode)), Ports: cv.ports(at, svc.Ports, p)},
	}
	spec.Labels[StackImageLabel] = svc.Image
	for _, pref := range deploy.Placement.Preferences {
		spec.TaskTemplate.Placement.Preferences = append(spec.TaskTemplate.Placement.Preferences, swarm.PlacementPreference{Spread: &swarm.SpreadOver{SpreadDescriptor: pref.Spread}})
	}
	if svc.Logging != nil {
		spec.TaskTemplate.LogDriver = &swarm.Driver{Name: svc.Logging.Driver, Options: nilIfEmpty(map[string]string(svc.Logging.Options))}
	}
	s.Spec = spec
	cv.recordPaths(at, p)
	cv.st.Services = append(cv.st.Services, s)
}

// recordPaths records where the attributes of a service that sit at one place in the files
// came from (lists and maps record their own entries as they are converted).
func (cv *converter) recordPaths(at string, p pathMap) {
	for attr, compose := range map[string]string{
		"name": "", "image": "image", "command": "entrypoint", "args": "command", "env": "environment",
		"labels": "deploy.labels", "container_labels": "labels", "mode": "deploy.mode", "replicas": "deploy.replicas",
		"ports": "ports", "endpoint_mode": "deploy.endpoint_mode", "healthcheck": "healthcheck",
		"resources": "deploy.resources", "pids_limit": "deploy.resources.limits.pids",
		"placement": "deploy.placement", "restart_policy": "deploy.restart_policy",
		"mounts": "volumes", "networks": "networks", "secrets": "secrets", "configs": "configs",
		"hostname": "hostname", "user": "user", "workdir": "working_dir", "read_only": "read_only", "init": "init",
		"stop_signal": "stop_signal", "stop_grace_period": "stop_grace_period", "cap_add": "cap_add", "cap_drop": "cap_drop",
		"sysctls": "sysctls", "ulimits": "ulimits", "extra_hosts": "extra_hosts",
		"dns_config": "dns", "dns_config.nameservers": "dns", "dns_config.search": "dns_search",
		"log_driver": "logging", "log_driver.name": "logging.driver", "log_driver.options": "logging.options",
		"rolling_update": "deploy.update_config", "rollback": "deploy.rollback_config",
	} {
		if _, set := p[attr]; !set && compose == "" {
			p[attr] = at
		} else if !set {
			p[attr] = at + "." + compose
		}
	}
}

// env is a service's environment as Swarm takes it (NAME=value, or NAME alone for a variable
// without a value), sorted.
func (cv *converter) env(key string, p pathMap) []string {
	vars := cv.c.env[key]
	out := make([]string, 0, len(vars))
	for _, name := range sortedKeys(vars) {
		v := vars[name]
		if v.value == nil {
			out = append(out, name)
		} else {
			out = append(out, name+"="+*v.value)
		}
		p[fmt.Sprintf("env[%q]", name)] = "services." + key + "." + v.origin
	}
	return out
}

// healthcheck converts a healthcheck; disable: true turns the image's off.
func (cv *converter) healthcheck(at string, h *types.HealthCheckConfig) *container.HealthConfig {
	if h == nil {
		return nil
	}
	if h.Disable {
		if len(h.Test) > 0 && !(len(h.Test) == 1 && h.Test[0] == "NONE") {
			cv.fail(at+".healthcheck.disable", "Healthcheck Test and Disable", "test and disable: true cannot be set together; docker stack deploy refuses them. Remove one.")
		}
		return &container.HealthConfig{Test: []string{"NONE"}}
	}
	out := &container.HealthConfig{Test: h.Test}
	if h.Timeout != nil {
		out.Timeout = time.Duration(*h.Timeout)
	}
	if h.Interval != nil {
		out.Interval = time.Duration(*h.Interval)
	}
	if h.StartPeriod != nil {
		out.StartPeriod = time.Duration(*h.StartPeriod)
	}
	if h.StartInterval != nil {
		out.StartInterval = time.Duration(*h.StartInterval)
	}
	if h.Retries != nil {
		out.Retries = int(*h.Retries)
	}
	return out
}

// resources converts deploy.resources. The CPU amounts are read as the file spells them, so
// that "0.3" is 300000000 nano-CPUs exactly, as the CLI reads it.
func (cv *converter) resources(at, key string, r types.Resources) *swarm.ResourceRequirements {
	out := &swarm.ResourceRequirements{}
	cpus := func(which string) int64 {
		v, ok := cv.raw("services", key, "deploy", "resources", which, "cpus")
		if !ok {
			return 0
		}
		n, err := parseCPUs(fmt.Sprint(v))
		if err != nil {
			cv.fail(at+".deploy.resources."+which+".cpus", "Invalid CPUs", err.Error())
		}
		return n
	}
	if l := r.Limits; l != nil {
		out.Limits = &swarm.Limit{NanoCPUs: cpus("limits"), MemoryBytes: int64(l.MemoryBytes), Pids: l.Pids}
	}
	if l := r.Reservations; l != nil {
		out.Reservations = &swarm.Resources{NanoCPUs: cpus("reservations"), MemoryBytes: int64(l.MemoryBytes)}
		for _, g := range l.GenericResources {
			var res swarm.GenericResource
			if d := g.DiscreteResourceSpec; d != nil {
				res.DiscreteResourceSpec = &swarm.DiscreteGenericResource{Kind: d.Kind, Value: d.Value}
			}
			out.Reservations.GenericResources = append(out.Reservations.GenericResources, res)
		}
	}
	return out
}

// parseCPUs reads a CPU amount ("0.5") exactly, as nano-CPUs.
func parseCPUs(s string) (int64, error) {
	r, ok := new(big.Rat).SetString(s)
	if !ok || r.Sign() < 0 {
		return 0, fmt.Errorf("%q is not a number of CPUs, such as \"0.5\"", s)
	}
	r.Mul(r, big.NewRat(1e9, 1))
	if !r.IsInt() {
		return 0, fmt.Errorf("%q has more than 9 decimals; Swarm counts CPUs in billionths", s)
	}
	if !r.Num().IsInt64() {
		return 0, fmt.Errorf("%q CPUs is too large", s)
	}
	return r.Num().Int64(), nil
}

// restartPolicy converts deploy.restart_policy or, without one, restart (as the CLI does,
// though it lists restart among the keys it ignores).
func (cv *converter) restartPolicy(at, restart string, rp *types.RestartPolicy, p pathMap) *swarm.RestartPolicy {
	if rp != nil {
		if restart != "" {
			cv.warn(at+".restart", "Compose Key Ignored", "deploy.restart_policy is given, and wins: restart is ignored (docker stack deploy ignores it too).")
		}
		p["restart_policy"] = at + ".deploy.restart_policy"
		return &swarm.RestartPolicy{Condition: swarm.RestartPolicyCondition(rp.Condition), Delay: composeDuration(rp.Delay), MaxAttempts: rp.MaxAttempts, Window: composeDuration(rp.Window)}
	}
	if restart == "" {
		return nil
	}
	p["restart_policy"] = at + ".restart"
	for _, attr := range []string{"condition", "max_attempts", "delay", "window"} {
		p["restart_policy."+attr] = at + ".restart"
	}
	policy, count, hasCount := strings.Cut(restart, ":")
	attempts := uint64(0)
	if hasCount {
		n, err := strconv.Atoi(count)
		if err != nil || n < 0 || policy != "on-failure" {
			cv.fail(at+".restart", "Invalid Restart Policy", fmt.Sprintf("%q: only on-failure takes a count (on-failure:3), of 0 or more.", restart))
			return nil
		}
		attempts = uint64(n)
	}
	var out *swarm.RestartPolicy
	switch policy {
	case "no":
		return nil
	case "always", "unless-stopped":
		out = &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny}
	case "on-failure":
		out = &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionOnFailure}
	default:
		cv.fail(at+".restart", "Invalid Restart Policy", fmt.Sprintf("%q is not a restart policy: use no, always, unless-stopped or on-failure[:count], or deploy.restart_policy.", restart))
		return nil
	}
	if attempts > 0 {
		out.MaxAttempts = &attempts
	}
	return out
}

// mode converts deploy.mode and deploy.replicas; jobs take replicas as their completions.
func (cv *converter) mode(at string, d *types.DeployConfig) swarm.ServiceMode {
	var replicas *uint64
	if d.Replicas != nil {
		if *d.Replicas < 0 {
			cv.fail(at+".deploy.replicas", "Invalid Replicas", fmt.Sprintf("%d: the count is 0 or more.", *d.Replicas))
		} else {
			n := uint64(*d.Replicas)
			replicas = &n
		}
	}
	switch d.Mode {
	case "", ModeReplicated:
		return swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: replicas}}
	case ModeReplicatedJob:
		return swarm.ServiceMode{ReplicatedJob: &swarm.ReplicatedJob{MaxConcurrent: replicas, TotalCompletions: replicas}}
	case ModeGlobal, ModeGlobalJob:
		if d.Replicas != nil {
			cv.fail(at+".deploy.replicas", "Replicas Not Allowed", fmt.Sprintf("a %s service runs one task on each eligible node: replicas goes only with mode replicated or replicated-job.", d.Mode))
		}
		if d.Mode == ModeGlobal {
			return swarm.ServiceMode{Global: &swarm.GlobalService{}}
		}
		return swarm.ServiceMode{GlobalJob: &swarm.GlobalJob{}}
	}
	cv.fail(at+".deploy.mode", "Invalid Mode", fmt.Sprintf("%q: use replicated, global, replicated-job or global-job.", d.Mode))
	return swarm.ServiceMode{}
}

// updateConfig converts update_config or rollback_config; parallelism is 1 unless given.
func updateConfig(u *types.UpdateConfig) *swarm.UpdateConfig {
	if u == nil {
		return nil
	}
	parallelism := uint64(1)
	if u.Parallelism != nil {
		parallelism = *u.Parallelism
	}
	return &swarm.UpdateConfig{Parallelism: parallelism, Delay: time.Duration(u.Delay), FailureAction: u.FailureAction,
		Monitor: time.Duration(u.Monitor), MaxFailureRatio: u.MaxFailureRatio, Order: u.Order}
}

// ports converts the published ports, sorted by published port as the CLI sorts them. An
// address a short syntax binds to is ignored, with a warning, as the CLI ignores it.
func (cv *converter) ports(at string, ports []types.ServicePortConfig, p pathMap) []swarm.PortConfig {
	type indexed struct {
		port swarm.PortConfig
		from int
	}
	var list []indexed
	for i, port := range ports {
		here := fmt.Sprintf("%s.ports[%d]", at, i)
		if ip := net.ParseIP(port.HostIP); port.HostIP != "" && (ip == nil || !ip.IsUnspecified()) {
			cv.warn(here, "Port Address Ignored", fmt.Sprintf("Swarm publishes a port on every address of the nodes: the address %s is ignored, as docker stack deploy ignores it.", port.HostIP))
		}
		first, last, err := publishedRange(port.Published)
		if err != nil {
			cv.fail(here+".published", "Invalid Published Port", fmt.Sprintf("%q: a published port is a number from 1 to 65535, or a range of them in the short syntax (\"8000-8001:80\").", port.Published))
		}
		// A range publishes each of its ports on the target, as the CLI makes it.
		for published := first; published <= last; published++ {
			list = append(list, indexed{from: i, port: swarm.PortConfig{Protocol: swarm.PortConfigProtocol(port.Protocol), TargetPort: port.Target,
				PublishedPort: published, PublishMode: swarm.PortConfigPublishMode(port.Mode)}})
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].port.PublishedPort < list[j].port.PublishedPort })
	out := make([]swarm.PortConfig, 0, len(list))
	for i, l := range list {
		out = append(out, l.port)
		p[fmt.Sprintf("ports[%d]", i)] = fmt.Sprintf("%s.ports[%d]", at, l.from)
	}
	return out
}

// publishedRange reads a published port ("8080"), a range of them ("8000-8001"), or none ("").
func publishedRange(s string) (first, last uint32, err error) {
	if s == "" {
		return 0, 0, nil
	}
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := strconv.ParseUint(lo, 10, 16)
	if err != nil || !isRange {
		return uint32(a), uint32(a), err
	}
	b, err := strconv.ParseUint(hi, 10, 16)
	if err != nil || b < a {
		return 0, 0, fmt.Errorf("invalid range %q", s)
	}
	return uint32(a), uint32(b), nil
}

// mounts converts a service's volumes, in the files' order.
func (cv *converter) mounts(at string, svc types.ServiceConfig, p pathMap) []mount.Mount {
	var out []mount.Mount
	for i, v := range svc.Volumes {
		here := fmt.Sprintf("%s.volumes[%d]", at, i)
		m := mount.Mount{Type: mount.Type(v.Type), Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly, Consistency: mount.Consistency(v.Consistency)}
		mp := fmt.Sprintf("mounts[%d]", len(out))
		p[mp] = here
		for attr, compose := range map[string]string{"type": "type", "source": "source", "target": "target", "read_only": "read_only",
			"tmpfs_size": "tmpfs.size", "tmpfs_mode": "tmpfs.mode", "no_copy": "volume.nocopy", "propagation": "bind.propagation"} {
			p[mp+"."+attr] = here + "." + compose
		}
		incompatible := func(kind string, set bool) {
			if set {
				cv.fail(here+"."+kind, "Mount Option Of Another Type", fmt.Sprintf("%s options do not go with a mount of type %s.", kind, v.Type))
			}
		}
		switch v.Type {
		case "", types.VolumeTypeVolume:
			m.Type = mount.TypeVolume
			incompatible("bind", v.Bind != nil)
			incompatible("tmpfs", v.Tmpfs != nil)
			if v.Source == "" {
				break // an anonymous volume
			}
			vol, ok := cv.c.project.Volumes[v.Source]
			if !ok {
				cv.fail(here+".source", "Undefined Volume", fmt.Sprintf("volume %q is not defined under the top-level volumes key.", v.Source))
				break
			}
			volAt := "volumes." + v.Source
			m.Source = cv.scoped(v.Source)
			if vol.Name != "" {
				m.Source = vol.Name
			}
			m.VolumeOptions = &mount.VolumeOptions{}
			if v.Volume != nil {
				m.VolumeOptions.NoCopy = v.Volume.NoCopy
			}
			p[mp+".driver"], p[mp+".driver_options"], p[mp+".volume_labels"] = volAt+".driver", volAt+".driver_opts", volAt+".labels"
			if vol.External {
				break
			}
			m.VolumeOptions.Labels = cv.labels(vol.Labels)
			if vol.Driver != "" || vol.DriverOpts != nil {
				m.VolumeOptions.DriverConfig = &mount.Driver{Name: vol.Driver, Options: map[string]string(vol.DriverOpts)}
			}
		case types.VolumeTypeBind:
			incompatible("volume", v.Volume != nil)
			incompatible("tmpfs", v.Tmpfs != nil)
			if v.Source == "" {
				cv.fail(here+".source", "Missing Bind Source", "a bind mount needs source, the path on the node.")
			}
			m.Source = cv.hostPath(here, v.Source)
			// compose-go gives every short-syntax bind options; the CLI only those that name a
			// propagation.
			if v.Bind != nil && v.Bind.Propagation != "" {
				m.BindOptions = &mount.BindOptions{Propagation: mount.Propagation(v.Bind.Propagation)}
			}
		case types.VolumeTypeTmpfs:
			incompatible("bind", v.Bind != nil)
			incompatible("volume", v.Volume != nil)
			if v.Source != "" {
				cv.fail(here+".source", "Source On Tmpfs Mount", "a tmpfs mount has no source; remove it.")
			}
			if v.Tmpfs != nil {
				m.TmpfsOptions = &mount.TmpfsOptions{SizeBytes: int64(v.Tmpfs.Size)}
			}
		default:
			cv.fail(here+".type", "Mount Type Not Supported", fmt.Sprintf("%q: a stack mounts volumes, binds and tmpfs (swarm_stack does not support npipe or cluster volumes).", v.Type))
		}
		out = append(out, m)
	}
	return out
}

// hostPath makes a bind mount's source absolute as the CLI does: a relative path from the
// first file's directory, and ~ the HOME variable the caller gives.
func (cv *converter) hostPath(at, src string) string {
	if strings.HasPrefix(src, "~") {
		home, ok := cv.c.variables["HOME"]
		if !ok {
			cv.warn(at+".source", "Home Directory Unknown", fmt.Sprintf("%s starts with ~, and no HOME variable is given to expand it: the path is used as it is.", src))
			return src
		}
		src = home + src[1:]
	}
	if filepath.IsAbs(src) || !strings.HasPrefix(src, ".") && !strings.ContainsAny(src, "/\\") {
		return src
	}
	return cv.c.absPath(src)
}

// fileRef is a service's reference to a secret or config.
type fileRef struct {
	source, target, uid, gid string
	mode                     *types.FileMode
}

func refsOf[T types.ServiceSecretConfig | types.ServiceConfigObjConfig](refs []T) []fileRef {
	out := make([]fileRef, len(refs))
	for i, r := range refs {
		f := types.FileReferenceConfig(r)
		out[i] = fileRef{source: f.Source, target: f.Target, uid: f.UID, gid: f.GID, mode: f.Mode}
	}
	return out
}

// fileRefs converts a service's secrets or configs into references by name (the name of the
// version this content makes), sorted by the names the CLI gives the objects, and returns the
// key of each reference's object.
func (cv *converter) fileRefs(at string, kind ObjectKind, refs []fileRef, cs *swarm.ContainerSpec, p pathMap) []string {
	section := string(kind) + "s"
	type resolved struct {
		obj  StackObject
		ref  fileRef
		from int
	}
	var list []resolved
	for i, r := range refs {
		o, ok := cv.objects[section+"."+r.source]
		if !ok {
			cv.fail(fmt.Sprintf("%s.%s[%d].source", at, section, i), "Undefined "+titleCase(string(kind)), fmt.Sprintf("%s %q is not defined under the top-level %s key.", kind, r.source, section))
			continue
		}
		list = append(list, resolved{obj: o, ref: r, from: i})
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].obj.Name < list[j].obj.Name })
	keys := make([]string, len(list))
	for i, r := range list {
		target, uid, gid, mode := r.ref.target, r.ref.uid, r.ref.gid, os.FileMode(0o444)
		if target == "" {
			target = r.ref.source
		}
		if uid == "" {
			uid = "0"
		}
		if gid == "" {
			gid = "0"
		}
		if r.ref.mode != nil {
			mode = os.FileMode(*r.ref.mode)
		}
		name := r.obj.VersionName()
		if kind == KindSecret {
			cs.Secrets = append(cs.Secrets, &swarm.SecretReference{SecretID: name, SecretName: name,
				File: &swarm.SecretReferenceFileTarget{Name: target, UID: uid, GID: gid, Mode: mode}})
		} else {
			cs.Configs = append(cs.Configs, &swarm.ConfigReference{ConfigID: name, ConfigName: name,
				File: &swarm.ConfigReferenceFileTarget{Name: target, UID: uid, GID: gid, Mode: mode}})
		}
		keys[i] = r.obj.Key
		here, attr := fmt.Sprintf("%s.%s[%d]", at, section, r.from), fmt.Sprintf("%s[%d]", section, i)
		p[attr] = here
		for a, compose := range map[string]string{"id": "source", "file_name": "target", "uid": "uid", "gid": "gid", "mode": "mode"} {
			p[attr+"."+a] = here + "." + compose
		}
	}
	return keys
}

// serviceNetworks converts the networks a service attaches to (the stack's default network
// when it names none), sorted by name; on a network of the stack's own making the service's
// key is an alias too, as with the CLI.
func (cv *converter) serviceNetworks(at string, svc types.ServiceConfig, p pathMap) []swarm.NetworkAttachmentConfig {
	type attached struct {
		net  swarm.NetworkAttachmentConfig
		from string
	}
	var list []attached
	nets := svc.Networks
	if len(nets) == 0 {
		nets = map[string]*types.ServiceNetworkConfig{defaultNetwork: nil}
	}
	for _, key := range sortedKeys(nets) {
		cfg := nets[key]
		target, ok := cv.networkNames[key]
		if !ok {
			cv.fail(at+".networks."+key, "Undefined Network", fmt.Sprintf("network %q is not defined under the top-level networks key.", key))
			continue
		}
		n := swarm.NetworkAttachmentConfig{Target: target}
		if cfg != nil {
			n.Aliases = append([]string(nil), cfg.Aliases...)
			n.DriverOpts = nilIfEmpty(map[string]string(cfg.DriverOpts))
		}
		if userDefinedNetwork(target) {
			n.Aliases = append(n.Aliases, svc.Name)
		}
		from := at + ".networks." + key
		if len(svc.Networks) == 0 {
			from = at
		}
		list = append(list, attached{net: n, from: from})
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].net.Target < list[j].net.Target })
	out := make([]swarm.NetworkAttachmentConfig, len(list))
	for i, a := range list {
		out[i] = a.net
		attr := fmt.Sprintf("networks[%d]", i)
		p[attr], p[attr+".id"], p[attr+".aliases"], p[attr+".driver_options"] = a.from, a.from, a.from+".aliases", a.from+".driver_opts"
		if a.from == at { // the implicit default network: nothing in the files but the service
			p[attr+".aliases"], p[attr+".driver_options"] = at, at
		}
	}
	return out
}

// userDefinedNetwork says whether a network takes aliases: not the nodes' own networks.
func userDefinedNetwork(name string) bool {
	switch name {
	case "default", "bridge", "host", "none":
		return false
	}
	return !strings.HasPrefix(name, "container:")
}

// credentialSpec converts a Windows credential spec: a file or a registry value, not both.
func (cv *converter) credentialSpec(at string, c *types.CredentialSpecConfig) *swarm.CredentialSpec {
	if c == nil || c.File == "" && c.Registry == "" {
		return nil
	}
	if c.File != "" && c.Registry != "" {
		cv.fail(at+".credential_spec", "Invalid Credential Spec", "give file or registry, not both.")
	}
	return &swarm.CredentialSpec{File: c.File, Registry: c.Registry}
}

// effectiveCaps normalises cap_add and cap_drop as the CLI does: upper case with the CAP_
// prefix, ALL standing for every capability, an added capability never dropped, sorted.
func effectiveCaps(add, drop []string) (capAdd, capDrop []string) {
	norm := func(list []string) map[string]bool {
		out := map[string]bool{}
		for _, c := range list {
			c = strings.ToUpper(strings.TrimSpace(c))
			if c != "ALL" && c != "RESET" && !strings.HasPrefix(c, "CAP_") {
				c = "CAP_" + c
			}
			out[c] = true
		}
		if out["ALL"] {
			return map[string]bool{"ALL": true}
		}
		return out
	}
	adds, drops := norm(add), norm(drop)
	for c := range drops {
		if !adds[c] && c != "RESET" {
			capDrop = append(capDrop, c)
		}
	}
	for c := range adds {
		if c != "RESET" {
			capAdd = append(capAdd, c)
		}
	}
	sort.Strings(capAdd)
	sort.Strings(capDrop)
	return capAdd, capDrop
}

// ulimits converts ulimits, sorted by name; a single number sets both limits.
func ulimits(in map[string]*types.UlimitsConfig) []*container.Ulimit {
	var out []*container.Ulimit
	for _, name := range sortedKeys(in) {
		u := in[name]
		soft, hard := int64(u.Soft), int64(u.Hard)
		if u.Single != 0 {
			soft, hard = int64(u.Single), int64(u.Single)
		}
		out = append(out, &container.Ulimit{Name: name, Soft: soft, Hard: hard})
	}
	return out
}

// composeDuration is a duration of the files, or nil.
func composeDuration(d *types.Duration) *time.Duration {
	if d == nil {
		return nil
	}
	t := time.Duration(*d)
	return &t
}

func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}
