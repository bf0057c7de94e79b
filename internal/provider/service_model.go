package provider

import (
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

type serviceModel struct {
	ID              types.String           `tfsdk:"id"`
	Name            types.String           `tfsdk:"name"`
	Image           kindValue              `tfsdk:"image"`
	Command         []string               `tfsdk:"command"`
	Args            []string               `tfsdk:"args"`
	Env             map[string]string      `tfsdk:"env"`
	Labels          map[string]string      `tfsdk:"labels"`
	ContainerLabels map[string]string      `tfsdk:"container_labels"`
	Mode            types.String           `tfsdk:"mode"`
	Replicas        types.Int64            `tfsdk:"replicas"`
	Ports           []portModel            `tfsdk:"ports"`
	EndpointMode    types.String           `tfsdk:"endpoint_mode"`
	Healthcheck     *healthcheckModel      `tfsdk:"healthcheck"`
	Resources       *resourcesModel        `tfsdk:"resources"`
	RestartPolicy   *restartPolicyModel    `tfsdk:"restart_policy"`
	Placement       *placementModel        `tfsdk:"placement"`
	Mounts          []mountModel           `tfsdk:"mounts"`
	Hostname        types.String           `tfsdk:"hostname"`
	User            types.String           `tfsdk:"user"`
	Groups          []string               `tfsdk:"groups"`
	Workdir         types.String           `tfsdk:"workdir"`
	ReadOnly        types.Bool             `tfsdk:"read_only"`
	Init            types.Bool             `tfsdk:"init"`
	StopSignal      types.String           `tfsdk:"stop_signal"`
	StopGracePeriod kindValue              `tfsdk:"stop_grace_period"`
	CapAdd          []string               `tfsdk:"cap_add"`
	CapDrop         []string               `tfsdk:"cap_drop"`
	Sysctls         map[string]string      `tfsdk:"sysctls"`
	Ulimits         map[string]ulimitModel `tfsdk:"ulimits"`
	ExtraHosts      map[string]string      `tfsdk:"extra_hosts"`
	DNSConfig       *dnsConfigModel        `tfsdk:"dns_config"`
	LogDriver       *logDriverModel        `tfsdk:"log_driver"`
	RollingUpdate   *updateConfigModel     `tfsdk:"rolling_update"`
	Rollback        *updateConfigModel     `tfsdk:"rollback"`
	Wait            *waitModel             `tfsdk:"wait"`
	ForceUpdate     types.Int64            `tfsdk:"force_update"`
	UpdateState     types.String           `tfsdk:"update_state"`
	Timeouts        timeouts.Value         `tfsdk:"timeouts"`
	Version         types.Int64            `tfsdk:"version"`
	RunningReplicas types.Int64            `tfsdk:"running_replicas"`
}

// updateConfigModel mirrors Swarm's UpdateConfig (rolling_update) and RollbackConfig (rollback).
type updateConfigModel struct {
	Parallelism     types.Int64   `tfsdk:"parallelism"`
	Delay           kindValue     `tfsdk:"delay"`
	FailureAction   types.String  `tfsdk:"failure_action"`
	Monitor         kindValue     `tfsdk:"monitor"`
	MaxFailureRatio types.Float64 `tfsdk:"max_failure_ratio"`
	Order           types.String  `tfsdk:"order"`
}

type waitModel struct {
	Converge         types.Bool `tfsdk:"converge"`
	ProgressDeadline kindValue  `tfsdk:"progress_deadline"`
}

// Swarm's UpdateConfig/RollbackConfig defaults, sent explicitly.
var defaultUpdateConfig = updateConfigModel{
	Parallelism: types.Int64Value(1), Delay: durationValue("0s"), FailureAction: types.StringValue("pause"),
	Monitor: durationValue("5s"), MaxFailureRatio: types.Float64Value(0), Order: types.StringValue("stop-first"),
}

func (u *updateConfigModel) toSwarm() *swarm.UpdateConfig {
	if u == nil {
		u = &defaultUpdateConfig
	}
	return &swarm.UpdateConfig{
		Parallelism:     uint64(u.Parallelism.ValueInt64()),
		Delay:           parseDuration(u.Delay),
		FailureAction:   u.FailureAction.ValueString(),
		Monitor:         parseDuration(u.Monitor),
		MaxFailureRatio: float32(u.MaxFailureRatio.ValueFloat64()),
		Order:           u.Order.ValueString(),
	}
}

func updateConfigFrom(c *swarm.UpdateConfig) *updateConfigModel {
	m := defaultUpdateConfig
	if c == nil {
		return &m
	}
	m.Parallelism = types.Int64Value(int64(c.Parallelism))
	m.Delay = durationValue(c.Delay.String())
	if c.FailureAction != "" {
		m.FailureAction = types.StringValue(c.FailureAction)
	}
	if c.Monitor != 0 {
		m.Monitor = durationValue(c.Monitor.String())
	}
	// float32 on the wire: round to what a person writes (0.2, not 0.20000000298).
	m.MaxFailureRatio = types.Float64Value(math.Round(float64(c.MaxFailureRatio)*1e6) / 1e6)
	if c.Order != "" {
		m.Order = types.StringValue(c.Order)
	}
	return &m
}

type portModel struct {
	Target    types.Int64  `tfsdk:"target"`
	Published types.Int64  `tfsdk:"published"`
	Protocol  types.String `tfsdk:"protocol"`
	Mode      types.String `tfsdk:"mode"`
}

type healthcheckModel struct {
	Test        []string    `tfsdk:"test"`
	Interval    kindValue   `tfsdk:"interval"`
	Timeout     kindValue   `tfsdk:"timeout"`
	Retries     types.Int64 `tfsdk:"retries"`
	StartPeriod kindValue   `tfsdk:"start_period"`
}

type resourcesModel struct {
	Limits       *resourceAmountModel `tfsdk:"limits"`
	Reservations *resourceAmountModel `tfsdk:"reservations"`
}

type resourceAmountModel struct {
	CPUs   types.Number `tfsdk:"cpus"`
	Memory kindValue    `tfsdk:"memory"`
}

type restartPolicyModel struct {
	Condition   types.String `tfsdk:"condition"`
	Delay       kindValue    `tfsdk:"delay"`
	MaxAttempts types.Int64  `tfsdk:"max_attempts"`
	Window      kindValue    `tfsdk:"window"`
}

type placementModel struct {
	Constraints        []string    `tfsdk:"constraints"`
	Preferences        []string    `tfsdk:"preferences"`
	MaxReplicasPerNode types.Int64 `tfsdk:"max_replicas_per_node"`
}

type mountModel struct {
	Type      types.String `tfsdk:"type"`
	Source    types.String `tfsdk:"source"`
	Target    types.String `tfsdk:"target"`
	ReadOnly  types.Bool   `tfsdk:"read_only"`
	TmpfsSize kindValue    `tfsdk:"tmpfs_size"`
}

type ulimitModel struct {
	Soft types.Int64 `tfsdk:"soft"`
	Hard types.Int64 `tfsdk:"hard"`
}

type dnsConfigModel struct {
	Nameservers []string `tfsdk:"nameservers"`
	Search      []string `tfsdk:"search"`
	Options     []string `tfsdk:"options"`
}

type logDriverModel struct {
	Name    types.String      `tfsdk:"name"`
	Options map[string]string `tfsdk:"options"`
}

// Swarm's restart policy defaults, sent explicitly so that what is read back equals what was
// written.
const (
	defaultRestartCondition = "any"
	defaultRestartDelay     = "5s"
	defaultRestartWindow    = "0s"
)

// toSpec turns the model into the engine's desired spec.
func (m serviceModel) toSpec() swarm.ServiceSpec {
	cs := &swarm.ContainerSpec{
		Image:      m.Image.ValueString(),
		Labels:     m.ContainerLabels,
		Command:    m.Command,
		Args:       m.Args,
		Env:        envList(m.Env),
		Hostname:   m.Hostname.ValueString(),
		User:       m.User.ValueString(),
		Groups:     m.Groups,
		Dir:        m.Workdir.ValueString(),
		ReadOnly:   m.ReadOnly.ValueBool(),
		StopSignal: m.StopSignal.ValueString(),
		Sysctls:    m.Sysctls,
	}
	if !m.Init.IsNull() && !m.Init.IsUnknown() {
		v := m.Init.ValueBool()
		cs.Init = &v
	}
	if !m.StopGracePeriod.IsNull() {
		d := parseDuration(m.StopGracePeriod)
		cs.StopGracePeriod = &d
	}
	if len(m.CapAdd) > 0 {
		cs.CapabilityAdd = sortedCopy(m.CapAdd)
	}
	if len(m.CapDrop) > 0 {
		cs.CapabilityDrop = sortedCopy(m.CapDrop)
	}
	for _, name := range sortedKeys(m.Ulimits) {
		u := m.Ulimits[name]
		cs.Ulimits = append(cs.Ulimits, &container.Ulimit{Name: name, Soft: u.Soft.ValueInt64(), Hard: u.Hard.ValueInt64()})
	}
	for _, host := range sortedKeys(m.ExtraHosts) {
		cs.Hosts = append(cs.Hosts, m.ExtraHosts[host]+" "+host)
	}
	if d := m.DNSConfig; d != nil {
		cs.DNSConfig = &swarm.DNSConfig{Nameservers: d.Nameservers, Search: d.Search, Options: d.Options}
	}
	if h := m.Healthcheck; h != nil {
		cs.Healthcheck = &container.HealthConfig{
			Test:        h.Test,
			Interval:    parseDuration(h.Interval),
			Timeout:     parseDuration(h.Timeout),
			StartPeriod: parseDuration(h.StartPeriod),
			Retries:     int(h.Retries.ValueInt64()),
		}
	}
	for _, mt := range m.Mounts {
		mo := mount.Mount{Type: mount.Type(mt.Type.ValueString()), Source: mt.Source.ValueString(), Target: mt.Target.ValueString(), ReadOnly: mt.ReadOnly.ValueBool()}
		if mo.Type == mount.TypeTmpfs && !mt.TmpfsSize.IsNull() {
			mo.TmpfsOptions = &mount.TmpfsOptions{SizeBytes: parseSize(mt.TmpfsSize)}
		}
		cs.Mounts = append(cs.Mounts, mo)
	}

	spec := swarm.ServiceSpec{
		Annotations:    swarm.Annotations{Name: m.Name.ValueString(), Labels: m.Labels},
		TaskTemplate:   swarm.TaskSpec{ContainerSpec: cs, ForceUpdate: uint64(m.ForceUpdate.ValueInt64())},
		UpdateConfig:   m.RollingUpdate.toSwarm(),
		RollbackConfig: m.Rollback.toSwarm(),
	}
	tt := &spec.TaskTemplate
	if r := m.Resources; r != nil {
		tt.Resources = &swarm.ResourceRequirements{}
		if l := r.Limits; l != nil {
			tt.Resources.Limits = &swarm.Limit{NanoCPUs: nanoCPUs(l.CPUs), MemoryBytes: parseSize(l.Memory)}
		}
		if l := r.Reservations; l != nil {
			tt.Resources.Reservations = &swarm.Resources{NanoCPUs: nanoCPUs(l.CPUs), MemoryBytes: parseSize(l.Memory)}
		}
	}
	rp := m.RestartPolicy
	if rp == nil {
		rp = &restartPolicyModel{Condition: types.StringValue(defaultRestartCondition), Delay: durationValue(defaultRestartDelay), MaxAttempts: types.Int64Value(0), Window: durationValue(defaultRestartWindow)}
	}
	delay, window := parseDuration(rp.Delay), parseDuration(rp.Window)
	attempts := uint64(rp.MaxAttempts.ValueInt64())
	tt.RestartPolicy = &swarm.RestartPolicy{Condition: swarm.RestartPolicyCondition(rp.Condition.ValueString()), Delay: &delay, MaxAttempts: &attempts, Window: &window}
	if p := m.Placement; p != nil {
		tt.Placement = &swarm.Placement{Constraints: p.Constraints, MaxReplicas: uint64(p.MaxReplicasPerNode.ValueInt64())}
		for _, pref := range p.Preferences {
			tt.Placement.Preferences = append(tt.Placement.Preferences, swarm.PlacementPreference{Spread: &swarm.SpreadOver{SpreadDescriptor: strings.TrimPrefix(pref, "spread=")}})
		}
	}
	if l := m.LogDriver; l != nil {
		tt.LogDriver = &swarm.Driver{Name: l.Name.ValueString(), Options: l.Options}
	}

	if m.Mode.ValueString() == "global" {
		spec.Mode = swarm.ServiceMode{Global: &swarm.GlobalService{}}
	} else {
		n := uint64(1)
		if !m.Replicas.IsNull() && !m.Replicas.IsUnknown() {
			n = uint64(m.Replicas.ValueInt64())
		}
		spec.Mode = swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &n}}
	}
	spec.EndpointSpec = &swarm.EndpointSpec{Mode: swarm.ResolutionMode(stringOr(m.EndpointMode, "vip"))}
	for _, p := range m.Ports {
		spec.EndpointSpec.Ports = append(spec.EndpointSpec.Ports, swarm.PortConfig{
			TargetPort:    uint32(p.Target.ValueInt64()),
			PublishedPort: uint32(p.Published.ValueInt64()),
			Protocol:      swarm.PortConfigProtocol(stringOr(p.Protocol, "tcp")),
			PublishMode:   swarm.PortConfigPublishMode(stringOr(p.Mode, "ingress")),
		})
	}
	return spec
}

// fromState is the one function that turns an observed service into the model. prior is the
// model before the read (state, plan or empty on import); it only decides between null and
// empty collections, so that `env = {}` and a missing `env` both plan empty.
func fromState(st *orchestrator.ServiceState, prior serviceModel) serviceModel {
	svc := st.Service
	spec := svc.Spec
	cs := spec.TaskTemplate.ContainerSpec
	if cs == nil {
		cs = &swarm.ContainerSpec{}
	}
	m := serviceModel{
		ID:              types.StringValue(svc.ID),
		Name:            types.StringValue(spec.Name),
		Image:           imageValue(cs.Image),
		Command:         keepEmpty(prior.Command, cs.Command),
		Args:            keepEmpty(prior.Args, cs.Args),
		Env:             keepEmptyMap(prior.Env, envMap(cs.Env)),
		Labels:          keepEmptyMap(prior.Labels, userLabels(spec.Labels)),
		ContainerLabels: keepEmptyMap(prior.ContainerLabels, cs.Labels),
		Hostname:        stringOrNull(cs.Hostname),
		User:            stringOrNull(cs.User),
		Groups:          keepEmpty(prior.Groups, cs.Groups),
		Workdir:         stringOrNull(cs.Dir),
		ReadOnly:        types.BoolValue(cs.ReadOnly),
		Init:            types.BoolPointerValue(cs.Init),
		StopSignal:      stringOrNull(cs.StopSignal),
		StopGracePeriod: nullKind(durationType),
		CapAdd:          keepEmpty(prior.CapAdd, cs.CapabilityAdd),
		CapDrop:         keepEmpty(prior.CapDrop, cs.CapabilityDrop),
		Sysctls:         keepEmptyMap(prior.Sysctls, cs.Sysctls),
		Timeouts:        prior.Timeouts,
		Wait:            prior.Wait,
		RollingUpdate:   updateConfigFrom(spec.UpdateConfig),
		Rollback:        updateConfigFrom(spec.RollbackConfig),
		ForceUpdate:     types.Int64Value(int64(spec.TaskTemplate.ForceUpdate)),
		UpdateState:     types.StringNull(),
		Version:         types.Int64Value(int64(svc.Version.Index)),
		RunningReplicas: types.Int64Value(int64(st.RunningReplicas)),
		Mode:            types.StringValue("replicated"),
		Replicas:        types.Int64Null(),
	}
	if us := svc.UpdateStatus; us != nil && us.State != "" {
		m.UpdateState = types.StringValue(string(us.State))
	}
	if m.Wait == nil {
		m.Wait = &waitModel{Converge: types.BoolValue(true), ProgressDeadline: nullKind(durationType)}
	}
	if cs.StopGracePeriod != nil {
		m.StopGracePeriod = durationValue(cs.StopGracePeriod.String())
	}
	if len(cs.Ulimits) > 0 {
		m.Ulimits = map[string]ulimitModel{}
		for _, u := range cs.Ulimits {
			m.Ulimits[u.Name] = ulimitModel{Soft: types.Int64Value(u.Soft), Hard: types.Int64Value(u.Hard)}
		}
	} else if prior.Ulimits != nil {
		m.Ulimits = map[string]ulimitModel{}
	}
	hosts := map[string]string{}
	for _, h := range cs.Hosts {
		// "IP host [aliases...]" as the API stores it; "host:IP" as older CLIs wrote it.
		if f := strings.Fields(h); len(f) >= 2 {
			for _, name := range f[1:] {
				hosts[name] = f[0]
			}
		} else if name, ip, ok := strings.Cut(h, ":"); ok {
			hosts[name] = ip
		}
	}
	m.ExtraHosts = keepEmptyMap(prior.ExtraHosts, hosts)
	if d := cs.DNSConfig; d != nil && (len(d.Nameservers)+len(d.Search)+len(d.Options)) > 0 {
		m.DNSConfig = &dnsConfigModel{Nameservers: d.Nameservers, Search: d.Search, Options: d.Options}
		if prior.DNSConfig != nil {
			m.DNSConfig.Nameservers = keepEmpty(prior.DNSConfig.Nameservers, d.Nameservers)
			m.DNSConfig.Search = keepEmpty(prior.DNSConfig.Search, d.Search)
			m.DNSConfig.Options = keepEmpty(prior.DNSConfig.Options, d.Options)
		}
	}
	if h := cs.Healthcheck; h != nil && len(h.Test) > 0 {
		m.Healthcheck = &healthcheckModel{
			Test:        h.Test,
			Interval:    durationOrNull(h.Interval),
			Timeout:     durationOrNull(h.Timeout),
			StartPeriod: durationOrNull(h.StartPeriod),
			Retries:     types.Int64Null(),
		}
		if h.Retries != 0 {
			m.Healthcheck.Retries = types.Int64Value(int64(h.Retries))
		}
	}
	for _, mo := range cs.Mounts {
		mm := mountModel{Type: types.StringValue(string(mo.Type)), Source: stringOrNull(mo.Source), Target: types.StringValue(mo.Target), ReadOnly: types.BoolValue(mo.ReadOnly), TmpfsSize: nullKind(sizeType)}
		if mo.TmpfsOptions != nil && mo.TmpfsOptions.SizeBytes > 0 {
			mm.TmpfsSize = sizeValue(formatSize(mo.TmpfsOptions.SizeBytes))
		}
		m.Mounts = append(m.Mounts, mm)
	}
	if m.Mounts == nil && prior.Mounts != nil {
		m.Mounts = []mountModel{}
	}

	tt := spec.TaskTemplate
	if r := tt.Resources; r != nil {
		res := &resourcesModel{}
		if l := r.Limits; l != nil && (l.NanoCPUs != 0 || l.MemoryBytes != 0) {
			res.Limits = amountModel(l.NanoCPUs, l.MemoryBytes)
		}
		if l := r.Reservations; l != nil && (l.NanoCPUs != 0 || l.MemoryBytes != 0) {
			res.Reservations = amountModel(l.NanoCPUs, l.MemoryBytes)
		}
		if res.Limits != nil || res.Reservations != nil {
			m.Resources = res
		}
	}
	m.RestartPolicy = &restartPolicyModel{Condition: types.StringValue(defaultRestartCondition), Delay: durationValue(defaultRestartDelay), MaxAttempts: types.Int64Value(0), Window: durationValue(defaultRestartWindow)}
	if rp := tt.RestartPolicy; rp != nil {
		if rp.Condition != "" {
			m.RestartPolicy.Condition = types.StringValue(string(rp.Condition))
		}
		if rp.Delay != nil {
			m.RestartPolicy.Delay = durationValue(rp.Delay.String())
		}
		if rp.MaxAttempts != nil {
			m.RestartPolicy.MaxAttempts = types.Int64Value(int64(*rp.MaxAttempts))
		}
		if rp.Window != nil {
			m.RestartPolicy.Window = durationValue(rp.Window.String())
		}
	}
	if p := tt.Placement; p != nil && (len(p.Constraints) > 0 || len(p.Preferences) > 0 || p.MaxReplicas > 0) {
		m.Placement = &placementModel{Constraints: p.Constraints, MaxReplicasPerNode: types.Int64Null()}
		for _, pref := range p.Preferences {
			if pref.Spread != nil {
				m.Placement.Preferences = append(m.Placement.Preferences, "spread="+pref.Spread.SpreadDescriptor)
			}
		}
		if p.MaxReplicas > 0 {
			m.Placement.MaxReplicasPerNode = types.Int64Value(int64(p.MaxReplicas))
		}
		if prior.Placement != nil {
			m.Placement.Constraints = keepEmpty(prior.Placement.Constraints, m.Placement.Constraints)
			m.Placement.Preferences = keepEmpty(prior.Placement.Preferences, m.Placement.Preferences)
		}
	}
	if l := tt.LogDriver; l != nil && l.Name != "" {
		m.LogDriver = &logDriverModel{Name: types.StringValue(l.Name), Options: l.Options}
		if prior.LogDriver != nil {
			m.LogDriver.Options = keepEmptyMap(prior.LogDriver.Options, l.Options)
		}
	}

	switch {
	case spec.Mode.Global != nil:
		m.Mode = types.StringValue("global")
	case orchestrator.ReplicasOwnedElsewhere(spec) && !prior.Replicas.IsNull() && !prior.Replicas.IsUnknown():
		// A scaling policy owns the count: replicas stays the declared initial value, so the
		// service never plans to undo the policy's decisions (and writes keep the live count).
		m.Replicas = prior.Replicas
	case spec.Mode.Replicated != nil && spec.Mode.Replicated.Replicas != nil:
		m.Replicas = types.Int64Value(int64(*spec.Mode.Replicated.Replicas))
	default:
		m.Replicas = types.Int64Value(1)
	}
	m.EndpointMode = types.StringValue("vip")
	if ep := spec.EndpointSpec; ep != nil {
		if ep.Mode != "" {
			m.EndpointMode = types.StringValue(string(ep.Mode))
		}
		for _, p := range ep.Ports {
			pm := portModel{Target: types.Int64Value(int64(p.TargetPort)), Published: types.Int64Null(), Protocol: types.StringValue(string(p.Protocol)), Mode: types.StringValue(string(p.PublishMode))}
			if p.PublishedPort != 0 {
				pm.Published = types.Int64Value(int64(p.PublishedPort))
			}
			if p.Protocol == "" {
				pm.Protocol = types.StringValue("tcp")
			}
			if p.PublishMode == "" {
				pm.Mode = types.StringValue("ingress")
			}
			m.Ports = append(m.Ports, pm)
		}
	}
	if m.Ports == nil && prior.Ports != nil {
		m.Ports = []portModel{}
	}
	return m
}

func amountModel(nano, mem int64) *resourceAmountModel {
	a := &resourceAmountModel{CPUs: types.NumberNull(), Memory: nullKind(sizeType)}
	if nano != 0 {
		a.CPUs = types.NumberValue(cpusNumber(nano))
	}
	if mem != 0 {
		a.Memory = sizeValue(formatSize(mem))
	}
	return a
}

func nanoCPUs(v types.Number) int64 {
	if v.IsNull() || v.IsUnknown() {
		return 0
	}
	n, _ := new(big.Float).Mul(v.ValueBigFloat(), big.NewFloat(1e9)).Float64()
	return int64(math.Round(n))
}

// cpusNumber spells nano-CPUs as the decimal a user writes ("0.1", not the nearest binary
// double), parsed at the precision Terraform uses for numbers, so the value read back is
// exactly equal to the configured one.
func cpusNumber(nano int64) *big.Float {
	s := strconv.FormatFloat(float64(nano)/1e9, 'f', -1, 64)
	f, _, _ := big.ParseFloat(s, 10, 512, big.ToNearestEven)
	return f
}

func envList(env map[string]string) []string {
	if env == nil {
		return nil
	}
	out := make([]string, 0, len(env))
	for _, k := range sortedKeys(env) {
		out = append(out, k+"="+env[k])
	}
	return out
}

func envMap(env []string) map[string]string {
	if len(env) == 0 {
		return nil
	}
	out := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

// userLabels hides the labels the engine owns.
func userLabels(labels map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range labels {
		if !strings.HasPrefix(k, orchestrator.EngineLabelPrefix) {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func keepEmpty(prior, observed []string) []string {
	if len(observed) == 0 {
		if prior != nil {
			return []string{}
		}
		return nil
	}
	return observed
}

func keepEmptyMap(prior, observed map[string]string) map[string]string {
	if len(observed) == 0 {
		if prior != nil {
			return map[string]string{}
		}
		return nil
	}
	return observed
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func stringOr(v types.String, def string) string {
	if v.IsNull() || v.IsUnknown() || v.ValueString() == "" {
		return def
	}
	return v.ValueString()
}

func stringOrNull(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

func durationOrNull(d time.Duration) kindValue {
	if d == 0 {
		return nullKind(durationType)
	}
	return durationValue(d.String())
}
