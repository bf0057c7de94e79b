package provider

// swarm_service's model and its conversion to and from the engine's spec, one pair per block:
// block.toSwarm() writes it, blockFrom(...) reads it back. Swarm's defaults, which the schema
// declares so that a spec read back plans no change, are in serviceDefaults.

import (
	"fmt"
	"math"
	"math/big"
	"os"
	"reflect"
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
	ID   types.String `tfsdk:"id"`
	Name types.String `tfsdk:"name"`
	taskModel
	Mode            types.String       `tfsdk:"mode"`
	Replicas        wholeValue         `tfsdk:"replicas"`
	Ports           []portModel        `tfsdk:"ports"`
	EndpointMode    types.String       `tfsdk:"endpoint_mode"`
	RollingUpdate   *updateConfigModel `tfsdk:"rolling_update"`
	Rollback        *updateConfigModel `tfsdk:"rollback"`
	Wait            *waitModel         `tfsdk:"wait"`
	ForceUpdate     wholeValue         `tfsdk:"force_update"`
	UpdateState     types.String       `tfsdk:"update_state"`
	Timeouts        timeouts.Value     `tfsdk:"timeouts"`
	Version         wholeValue         `tfsdk:"version"`
	RunningReplicas wholeValue         `tfsdk:"running_replicas"`
}

// updateConfigModel mirrors Swarm's UpdateConfig (rolling_update) and RollbackConfig (rollback).
type updateConfigModel struct {
	Parallelism     wholeValue    `tfsdk:"parallelism"`
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

type portModel struct {
	Target    wholeValue   `tfsdk:"target"`
	Published wholeValue   `tfsdk:"published"`
	Protocol  types.String `tfsdk:"protocol"`
	Mode      types.String `tfsdk:"mode"`
}

type healthcheckModel struct {
	Test        []string   `tfsdk:"test"`
	Interval    kindValue  `tfsdk:"interval"`
	Timeout     kindValue  `tfsdk:"timeout"`
	Retries     wholeValue `tfsdk:"retries"`
	StartPeriod kindValue  `tfsdk:"start_period"`
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
	MaxAttempts wholeValue   `tfsdk:"max_attempts"`
	Window      kindValue    `tfsdk:"window"`
}

type placementModel struct {
	Constraints        []string   `tfsdk:"constraints"`
	Preferences        []string   `tfsdk:"preferences"`
	MaxReplicasPerNode wholeValue `tfsdk:"max_replicas_per_node"`
}

type mountModel struct {
	Type          types.String      `tfsdk:"type"`
	Source        types.String      `tfsdk:"source"`
	Target        types.String      `tfsdk:"target"`
	ReadOnly      types.Bool        `tfsdk:"read_only"`
	TmpfsSize     kindValue         `tfsdk:"tmpfs_size"`
	TmpfsMode     types.String      `tfsdk:"tmpfs_mode"`
	Driver        types.String      `tfsdk:"driver"`
	DriverOptions map[string]string `tfsdk:"driver_options"`
	VolumeLabels  map[string]string `tfsdk:"volume_labels"`
	NoCopy        types.Bool        `tfsdk:"no_copy"`
	Propagation   types.String      `tfsdk:"propagation"`
}

// networkModel is one network the service's tasks attach to.
type networkModel struct {
	ID            types.String      `tfsdk:"id"`
	Aliases       []string          `tfsdk:"aliases"`
	DriverOptions map[string]string `tfsdk:"driver_options"`
}

// fileRefModel is a secret or config made available to the tasks as a file.
type fileRefModel struct {
	ID       types.String `tfsdk:"id"`
	FileName types.String `tfsdk:"file_name"`
	UID      types.String `tfsdk:"uid"`
	GID      types.String `tfsdk:"gid"`
	Mode     types.String `tfsdk:"mode"`
}

type ulimitModel struct {
	Soft wholeValue `tfsdk:"soft"`
	Hard wholeValue `tfsdk:"hard"`
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

// serviceDefaults are Swarm's values for what a configuration leaves out. The schema declares
// them and the conversions send them explicitly, so that a spec read back equals the one
// written and the plan after an apply is empty.
var serviceDefaults = struct {
	Mode, EndpointMode, PortProtocol, PortMode string
	Replicas                                   int64
	FileUID, FileGID, FileMode                 string
	RestartPolicy                              restartPolicyModel
	UpdateConfig                               updateConfigModel
	Wait                                       waitModel
}{
	Mode: "replicated", EndpointMode: "vip", PortProtocol: "tcp", PortMode: "ingress",
	Replicas: 1, FileUID: "0", FileGID: "0", FileMode: "0444",
	RestartPolicy: restartPolicyModel{Condition: types.StringValue("any"), Delay: durationValue("5s"),
		MaxAttempts: intValue(0), Window: durationValue("0s")},
	UpdateConfig: updateConfigModel{Parallelism: intValue(1), Delay: durationValue("0s"), FailureAction: types.StringValue("pause"),
		Monitor: durationValue("5s"), MaxFailureRatio: types.Float64Value(0), Order: types.StringValue("stop-first")},
	Wait: waitModel{Converge: types.BoolValue(true), ProgressDeadline: nullKind(durationType)},
}

// toSpec turns the model into the engine's desired spec.
func (m serviceModel) toSpec() swarm.ServiceSpec {
	task, labels := m.toTaskSpec()
	task.ForceUpdate = uint64(m.ForceUpdate.ValueInt64())
	spec := swarm.ServiceSpec{
		Annotations:    swarm.Annotations{Name: m.Name.ValueString(), Labels: labels},
		TaskTemplate:   task,
		Mode:           modeToSwarm(m.Mode, m.Replicas),
		UpdateConfig:   m.RollingUpdate.toSwarm(),
		RollbackConfig: m.Rollback.toSwarm(),
		EndpointSpec:   &swarm.EndpointSpec{Mode: swarm.ResolutionMode(stringOr(m.EndpointMode, serviceDefaults.EndpointMode))},
	}
	for _, p := range m.Ports {
		spec.EndpointSpec.Ports = append(spec.EndpointSpec.Ports, p.toSwarm())
	}
	return spec
}

// serviceFrom is the one function that turns an observed service into the model. prior is the
// model before the read (state, plan or empty on import); it decides between null and empty
// collections (so that `env = {}` and a missing `env` both plan empty), keeps the spelling of
// values that compare by meaning, the declared replicas while a scaling policy owns the count,
// and the attributes that exist only in Terraform (wait, timeouts).
func serviceFrom(st *orchestrator.ServiceState, prior serviceModel) serviceModel {
	svc := st.Service
	spec := svc.Spec
	m := serviceModel{
		ID:              types.StringValue(svc.ID),
		Name:            types.StringValue(spec.Name),
		RollingUpdate:   updateConfigFrom(spec.UpdateConfig),
		Rollback:        updateConfigFrom(spec.RollbackConfig),
		ForceUpdate:     intValue(int64(spec.TaskTemplate.ForceUpdate)),
		UpdateState:     types.StringNull(),
		Timeouts:        prior.Timeouts,
		Wait:            prior.Wait,
		Version:         intValue(int64(svc.Version.Index)),
		RunningReplicas: intValue(int64(st.RunningReplicas)),
	}
	m.taskModel = taskFrom(st, prior.taskModel)
	m.Mode, m.Replicas = modeFrom(spec, prior.Replicas)
	m.EndpointMode, m.Ports = endpointFrom(spec.EndpointSpec, prior.Ports)
	if us := svc.UpdateStatus; us != nil && us.State != "" {
		m.UpdateState = types.StringValue(string(us.State))
	}
	if m.Wait == nil {
		w := serviceDefaults.Wait
		m.Wait = &w
	}
	keepSpellings(reflect.ValueOf(&m).Elem(), reflect.ValueOf(prior))
	// The embedded task part on its own: reflect cannot set fields reached through an
	// unexported embedded field.
	keepSpellings(reflect.ValueOf(&m.taskModel).Elem(), reflect.ValueOf(prior.taskModel))
	return m
}

// keepSpellings puts back prior's spelling of every value that compares by meaning and means
// the same as what was read ("60s" for the engine's "1m0s"), through nested blocks, lists and
// maps. Terraform keeps a configured spelling itself after a successful apply; this keeps it
// after a failed one and on refresh, so that a spelling never shows up as a change.
func keepSpellings(read, prior reflect.Value) {
	switch read.Kind() {
	case reflect.Pointer:
		if !read.IsNil() && prior.Kind() == reflect.Pointer && !prior.IsNil() {
			keepSpellings(read.Elem(), prior.Elem())
		}
	case reflect.Slice:
		for i := 0; i < read.Len() && i < prior.Len(); i++ {
			keepSpellings(read.Index(i), prior.Index(i))
		}
	case reflect.Map:
		for _, k := range read.MapKeys() {
			if pv := prior.MapIndex(k); pv.IsValid() {
				v := reflect.New(read.Type().Elem()).Elem()
				v.Set(read.MapIndex(k))
				keepSpellings(v, pv)
				read.SetMapIndex(k, v)
			}
		}
	case reflect.Struct:
		if kv, ok := read.Interface().(kindValue); ok {
			if pv, ok := prior.Interface().(kindValue); ok && !kv.IsNull() && !pv.IsNull() && !pv.IsUnknown() &&
				kv.ValueString() != pv.ValueString() && kv.kind.equal(kv.ValueString(), pv.ValueString()) {
				read.Set(prior)
			}
			return
		}
		for i := range read.NumField() {
			if read.Field(i).CanSet() {
				keepSpellings(read.Field(i), prior.Field(i))
			}
		}
	}
}

// Mode and replicas.

func modeToSwarm(mode types.String, replicas wholeValue) swarm.ServiceMode {
	if mode.ValueString() == "global" {
		return swarm.ServiceMode{Global: &swarm.GlobalService{}}
	}
	n := uint64(serviceDefaults.Replicas)
	if !replicas.IsNull() && !replicas.IsUnknown() {
		n = uint64(replicas.ValueInt64())
	}
	return swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &n}}
}

// modeFrom reads the mode and replica count. While a scaling policy owns the count, replicas
// stays the declared initial value, so the service never plans to undo the policy's
// decisions (and writes keep the live count). A job is read with its mode, and no replicas.
func modeFrom(spec swarm.ServiceSpec, priorReplicas wholeValue) (types.String, wholeValue) {
	switch {
	case spec.Mode.Global != nil || orchestrator.IsJob(spec):
		return types.StringValue(orchestrator.ModeOf(spec)), intNull()
	case orchestrator.ReplicasOwnedElsewhere(spec) && !priorReplicas.IsNull() && !priorReplicas.IsUnknown():
		return types.StringValue(serviceDefaults.Mode), priorReplicas
	case spec.Mode.Replicated != nil && spec.Mode.Replicated.Replicas != nil:
		return types.StringValue(serviceDefaults.Mode), intValue(int64(*spec.Mode.Replicated.Replicas))
	}
	return types.StringValue(serviceDefaults.Mode), intValue(serviceDefaults.Replicas)
}

// Endpoint: mode and ports.

func (p portModel) toSwarm() swarm.PortConfig {
	return swarm.PortConfig{
		TargetPort:    uint32(p.Target.ValueInt64()),
		PublishedPort: uint32(p.Published.ValueInt64()),
		Protocol:      swarm.PortConfigProtocol(stringOr(p.Protocol, serviceDefaults.PortProtocol)),
		PublishMode:   swarm.PortConfigPublishMode(stringOr(p.Mode, serviceDefaults.PortMode)),
	}
}

func portFrom(p swarm.PortConfig) portModel {
	pm := portModel{
		Target:    intValue(int64(p.TargetPort)),
		Published: intNull(),
		Protocol:  types.StringValue(orDefault(string(p.Protocol), serviceDefaults.PortProtocol)),
		Mode:      types.StringValue(orDefault(string(p.PublishMode), serviceDefaults.PortMode)),
	}
	if p.PublishedPort != 0 {
		pm.Published = intValue(int64(p.PublishedPort))
	}
	return pm
}

func endpointFrom(ep *swarm.EndpointSpec, priorPorts []portModel) (types.String, []portModel) {
	mode := types.StringValue(serviceDefaults.EndpointMode)
	var ports []portModel
	if ep != nil {
		if ep.Mode != "" {
			mode = types.StringValue(string(ep.Mode))
		}
		for _, p := range ep.Ports {
			ports = append(ports, portFrom(p))
		}
	}
	if ports == nil && priorPorts != nil {
		ports = []portModel{}
	}
	return mode, ports
}

// Healthcheck.

func (h *healthcheckModel) toSwarm() *container.HealthConfig {
	if h == nil {
		return nil
	}
	return &container.HealthConfig{
		Test:        h.Test,
		Interval:    parseDuration(h.Interval),
		Timeout:     parseDuration(h.Timeout),
		StartPeriod: parseDuration(h.StartPeriod),
		Retries:     int(h.Retries.ValueInt64()),
	}
}

func healthcheckFrom(h *container.HealthConfig) *healthcheckModel {
	if h == nil || len(h.Test) == 0 {
		return nil
	}
	m := &healthcheckModel{
		Test:        h.Test,
		Interval:    durationOrNull(h.Interval),
		Timeout:     durationOrNull(h.Timeout),
		StartPeriod: durationOrNull(h.StartPeriod),
		Retries:     intNull(),
	}
	if h.Retries != 0 {
		m.Retries = intValue(int64(h.Retries))
	}
	return m
}

// Resources.

// toSwarm writes limits and reservations, and the pids limit (an attribute of its own in the
// configuration, a limit in Swarm).
func (r *resourcesModel) toSwarm(pids wholeValue) *swarm.ResourceRequirements {
	if r == nil && !known(pids) {
		return nil
	}
	out := &swarm.ResourceRequirements{}
	if r == nil {
		r = &resourcesModel{}
	}
	if l := r.Limits; l != nil {
		out.Limits = &swarm.Limit{NanoCPUs: nanoCPUs(l.CPUs), MemoryBytes: parseSize(l.Memory)}
	}
	if known(pids) {
		if out.Limits == nil {
			out.Limits = &swarm.Limit{}
		}
		out.Limits.Pids = pids.ValueInt64()
	}
	if l := r.Reservations; l != nil {
		out.Reservations = &swarm.Resources{NanoCPUs: nanoCPUs(l.CPUs), MemoryBytes: parseSize(l.Memory)}
	}
	return out
}

// resourcesFrom reads limits and reservations. An empty block the configuration wrote
// (prior), which Swarm does not keep, is kept empty so that it plans no change.
func resourcesFrom(r *swarm.ResourceRequirements, prior *resourcesModel) *resourcesModel {
	m := &resourcesModel{}
	if r != nil {
		if l := r.Limits; l != nil && (l.NanoCPUs != 0 || l.MemoryBytes != 0) {
			m.Limits = amountFrom(l.NanoCPUs, l.MemoryBytes)
		}
		if l := r.Reservations; l != nil && (l.NanoCPUs != 0 || l.MemoryBytes != 0) {
			m.Reservations = amountFrom(l.NanoCPUs, l.MemoryBytes)
		}
	}
	if prior != nil {
		if m.Limits == nil && prior.Limits != nil {
			m.Limits = amountFrom(0, 0)
		}
		if m.Reservations == nil && prior.Reservations != nil {
			m.Reservations = amountFrom(0, 0)
		}
		return m
	}
	if m.Limits == nil && m.Reservations == nil {
		return nil
	}
	return m
}

func pidsLimitFrom(r *swarm.ResourceRequirements) wholeValue {
	if r == nil || r.Limits == nil || r.Limits.Pids == 0 {
		return intNull()
	}
	return intValue(r.Limits.Pids)
}

func amountFrom(nano, mem int64) *resourceAmountModel {
	a := &resourceAmountModel{CPUs: types.NumberNull(), Memory: nullKind(sizeType)}
	if nano != 0 {
		a.CPUs = types.NumberValue(cpusNumber(nano))
	}
	if mem != 0 {
		a.Memory = sizeValue(formatSize(mem))
	}
	return a
}

// Restart policy: sent in full (Swarm's defaults where the configuration leaves it out).

func (rp *restartPolicyModel) toSwarm() *swarm.RestartPolicy {
	if rp == nil {
		rp = &serviceDefaults.RestartPolicy
	}
	delay, window := parseDuration(rp.Delay), parseDuration(rp.Window)
	attempts := uint64(rp.MaxAttempts.ValueInt64())
	return &swarm.RestartPolicy{Condition: swarm.RestartPolicyCondition(rp.Condition.ValueString()), Delay: &delay, MaxAttempts: &attempts, Window: &window}
}

func restartPolicyFrom(rp *swarm.RestartPolicy) *restartPolicyModel {
	m := serviceDefaults.RestartPolicy
	if rp == nil {
		return &m
	}
	if rp.Condition != "" {
		m.Condition = types.StringValue(string(rp.Condition))
	}
	if rp.Delay != nil {
		m.Delay = durationValue(rp.Delay.String())
	}
	if rp.MaxAttempts != nil {
		m.MaxAttempts = intValue(int64(*rp.MaxAttempts))
	}
	if rp.Window != nil {
		m.Window = durationValue(rp.Window.String())
	}
	return &m
}

// Placement.

func (p *placementModel) toSwarm() *swarm.Placement {
	if p == nil {
		return nil
	}
	out := &swarm.Placement{Constraints: p.Constraints, MaxReplicas: uint64(p.MaxReplicasPerNode.ValueInt64())}
	for _, pref := range p.Preferences {
		out.Preferences = append(out.Preferences, swarm.PlacementPreference{Spread: &swarm.SpreadOver{SpreadDescriptor: strings.TrimPrefix(pref, "spread=")}})
	}
	return out
}

// placementFrom reads constraints, preferences and the per-node cap; an empty block the
// configuration wrote (prior) stays empty.
func placementFrom(p *swarm.Placement, prior *placementModel) *placementModel {
	if p == nil {
		p = &swarm.Placement{}
	}
	if len(p.Constraints) == 0 && len(p.Preferences) == 0 && p.MaxReplicas == 0 && prior == nil {
		return nil
	}
	m := &placementModel{Constraints: p.Constraints, MaxReplicasPerNode: intNull()}
	for _, pref := range p.Preferences {
		if pref.Spread != nil {
			m.Preferences = append(m.Preferences, "spread="+pref.Spread.SpreadDescriptor)
		}
	}
	if p.MaxReplicas > 0 {
		m.MaxReplicasPerNode = intValue(int64(p.MaxReplicas))
	}
	if prior != nil {
		m.Constraints = keepEmpty(prior.Constraints, m.Constraints)
		m.Preferences = keepEmpty(prior.Preferences, m.Preferences)
	}
	return m
}

// Mounts.

func (mt mountModel) toSwarm() mount.Mount {
	mo := mount.Mount{Type: mount.Type(mt.Type.ValueString()), Source: mt.Source.ValueString(), Target: mt.Target.ValueString(), ReadOnly: mt.ReadOnly.ValueBool()}
	switch mo.Type {
	case mount.TypeTmpfs:
		if !mt.TmpfsSize.IsNull() || known(mt.TmpfsMode) {
			mo.TmpfsOptions = &mount.TmpfsOptions{SizeBytes: parseSize(mt.TmpfsSize), Mode: fileMode(mt.TmpfsMode)}
		}
	case mount.TypeVolume:
		if known(mt.Driver) || mt.DriverOptions != nil || mt.VolumeLabels != nil || mt.NoCopy.ValueBool() {
			mo.VolumeOptions = &mount.VolumeOptions{NoCopy: mt.NoCopy.ValueBool(), Labels: mt.VolumeLabels}
			if known(mt.Driver) || mt.DriverOptions != nil {
				mo.VolumeOptions.DriverConfig = &mount.Driver{Name: mt.Driver.ValueString(), Options: mt.DriverOptions}
			}
		}
	case mount.TypeBind:
		if known(mt.Propagation) {
			mo.BindOptions = &mount.BindOptions{Propagation: mount.Propagation(mt.Propagation.ValueString())}
		}
	}
	return mo
}

// mountFrom reads a mount; prior (the configured mount at the same target, if any) decides
// between null and empty maps.
func mountFrom(mo mount.Mount, prior *mountModel) mountModel {
	mm := mountModel{Type: types.StringValue(string(mo.Type)), Source: stringOrNull(mo.Source), Target: types.StringValue(mo.Target),
		ReadOnly: types.BoolValue(mo.ReadOnly), TmpfsSize: nullKind(sizeType), TmpfsMode: types.StringNull(),
		Driver: types.StringNull(), NoCopy: types.BoolValue(false), Propagation: types.StringNull()}
	if o := mo.TmpfsOptions; o != nil {
		if o.SizeBytes > 0 {
			mm.TmpfsSize = sizeValue(formatSize(o.SizeBytes))
		}
		if o.Mode != 0 {
			mm.TmpfsMode = types.StringValue(modeString(o.Mode))
		}
	}
	var priorOpts, priorLabels map[string]string
	if prior != nil {
		priorOpts, priorLabels = prior.DriverOptions, prior.VolumeLabels
		if known(prior.TmpfsMode) && known(mm.TmpfsMode) && fileMode(prior.TmpfsMode) == fileMode(mm.TmpfsMode) {
			mm.TmpfsMode = prior.TmpfsMode
		}
	}
	if o := mo.VolumeOptions; o != nil {
		mm.NoCopy = types.BoolValue(o.NoCopy)
		mm.VolumeLabels = o.Labels
		if d := o.DriverConfig; d != nil {
			mm.Driver = stringOrNull(d.Name)
			mm.DriverOptions = d.Options
		}
	}
	mm.VolumeLabels = keepEmptyMap(priorLabels, mm.VolumeLabels)
	mm.DriverOptions = keepEmptyMap(priorOpts, mm.DriverOptions)
	if o := mo.BindOptions; o != nil && o.Propagation != "" {
		// The Docker CLI writes the default (rprivate) out; it is the same as none.
		if o.Propagation != mount.PropagationRPrivate || (prior != nil && known(prior.Propagation)) {
			mm.Propagation = types.StringValue(string(o.Propagation))
		}
	}
	return mm
}

// initFrom reads the init flag: false, which the Docker CLI writes out, is the default and
// reads as unset unless the configuration says false.
func initFrom(init *bool, prior types.Bool) types.Bool {
	if init == nil || (!*init && !known(prior)) {
		return types.BoolNull()
	}
	return types.BoolValue(*init)
}

func mountsFrom(mounts []mount.Mount, prior []mountModel) []mountModel {
	var out []mountModel
	for _, mo := range mounts {
		var p *mountModel
		for i := range prior {
			if prior[i].Target.ValueString() == mo.Target {
				p = &prior[i]
			}
		}
		out = append(out, mountFrom(mo, p))
	}
	if out == nil && prior != nil {
		out = []mountModel{}
	}
	return out
}

// DNS.

func (d *dnsConfigModel) toSwarm() *swarm.DNSConfig {
	if d == nil {
		return nil
	}
	return &swarm.DNSConfig{Nameservers: d.Nameservers, Search: d.Search, Options: d.Options}
}

// dnsConfigFrom reads the resolver settings; an empty block the configuration wrote (prior)
// stays empty.
func dnsConfigFrom(d *swarm.DNSConfig, prior *dnsConfigModel) *dnsConfigModel {
	if d == nil {
		d = &swarm.DNSConfig{}
	}
	if len(d.Nameservers)+len(d.Search)+len(d.Options) == 0 && prior == nil {
		return nil
	}
	m := &dnsConfigModel{Nameservers: d.Nameservers, Search: d.Search, Options: d.Options}
	if prior != nil {
		m.Nameservers = keepEmpty(prior.Nameservers, d.Nameservers)
		m.Search = keepEmpty(prior.Search, d.Search)
		m.Options = keepEmpty(prior.Options, d.Options)
	}
	return m
}

// Log driver.

func (l *logDriverModel) toSwarm() *swarm.Driver {
	if l == nil {
		return nil
	}
	return &swarm.Driver{Name: l.Name.ValueString(), Options: l.Options}
}

func logDriverFrom(l *swarm.Driver, prior *logDriverModel) *logDriverModel {
	if l == nil || l.Name == "" {
		return nil
	}
	m := &logDriverModel{Name: types.StringValue(l.Name), Options: l.Options}
	if prior != nil {
		m.Options = keepEmptyMap(prior.Options, l.Options)
	}
	return m
}

// Rolling update and rollback settings: sent in full (Swarm's defaults where left out).

func (u *updateConfigModel) toSwarm() *swarm.UpdateConfig {
	if u == nil {
		u = &serviceDefaults.UpdateConfig
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
	m := serviceDefaults.UpdateConfig
	if c == nil {
		return &m
	}
	m.Parallelism = intValue(int64(c.Parallelism))
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

// Environment, labels, hosts and ulimits: maps in the model, lists in Swarm.

func envToSwarm(env map[string]string) []string {
	if env == nil {
		return nil
	}
	out := make([]string, 0, len(env))
	for _, k := range sortedKeys(env) {
		out = append(out, k+"="+env[k])
	}
	return out
}

func envFrom(env []string) map[string]string {
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

// hostsToSwarm writes extra hosts as the API stores them: "IP host".
func hostsToSwarm(hosts map[string]string) []string {
	var out []string
	for _, host := range sortedKeys(hosts) {
		out = append(out, hosts[host]+" "+host)
	}
	return out
}

// hostsFrom reads "IP host [aliases...]" as the API stores them, and "host:IP" as older CLIs
// wrote them.
func hostsFrom(hosts []string) map[string]string {
	out := map[string]string{}
	for _, h := range hosts {
		if f := strings.Fields(h); len(f) >= 2 {
			for _, name := range f[1:] {
				out[name] = f[0]
			}
		} else if name, ip, ok := strings.Cut(h, ":"); ok {
			out[name] = ip
		}
	}
	return out
}

func ulimitsToSwarm(ulimits map[string]ulimitModel) []*container.Ulimit {
	var out []*container.Ulimit
	for _, name := range sortedKeys(ulimits) {
		u := ulimits[name]
		out = append(out, &container.Ulimit{Name: name, Soft: u.Soft.ValueInt64(), Hard: u.Hard.ValueInt64()})
	}
	return out
}

func ulimitsFrom(ulimits []*container.Ulimit, prior map[string]ulimitModel) map[string]ulimitModel {
	if len(ulimits) == 0 {
		if prior != nil {
			return map[string]ulimitModel{}
		}
		return nil
	}
	out := map[string]ulimitModel{}
	for _, u := range ulimits {
		out[u.Name] = ulimitModel{Soft: intValue(u.Soft), Hard: intValue(u.Hard)}
	}
	return out
}

// Scalars.

// nanoCPUs converts CPUs as configured to Swarm's nano-CPUs, exactly (at Terraform's
// precision, rounded to the nearest whole nano-CPU).
func nanoCPUs(v types.Number) int64 {
	if v.IsNull() || v.IsUnknown() {
		return 0
	}
	n := new(big.Float).SetPrec(512).Mul(v.ValueBigFloat(), big.NewFloat(1e9))
	n.Add(n, big.NewFloat(0.5*float64(n.Sign())))
	i, _ := n.Int64()
	return i
}

// cpusNumber spells nano-CPUs as the decimal a user writes ("0.1", not the nearest binary
// double), at the precision Terraform uses for numbers, so the value read back is exactly
// equal to the configured one.
func cpusNumber(nano int64) *big.Float {
	s := strconv.FormatInt(nano/1e9, 10)
	if frac := nano % 1e9; frac != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%09d", frac), "0")
	}
	return orchestrator.Decimal(s).BigFloat()
}

func durationPointer(v kindValue) *time.Duration {
	if v.IsNull() || v.IsUnknown() {
		return nil
	}
	d := parseDuration(v)
	return &d
}

func durationFromPointer(d *time.Duration) kindValue {
	if d == nil {
		return nullKind(durationType)
	}
	return durationValue(d.String())
}

func durationOrNull(d time.Duration) kindValue {
	if d == 0 {
		return nullKind(durationType)
	}
	return durationValue(d.String())
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

// sortedCopy sorts a set's elements (nil for none), as Swarm does not keep their order.
func sortedCopy(s []string) []string {
	if len(s) == 0 {
		return nil
	}
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

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func stringOrNull(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

// Networks, secrets and configs are referred to by ID or name. A configuration may spell a
// reference either way; Swarm keeps IDs. A read keeps the configured spelling when it refers
// to the same object (resolve says which), so the two never differ in a plan.

func networksToSwarm(nets []networkModel) []swarm.NetworkAttachmentConfig {
	var out []swarm.NetworkAttachmentConfig
	for _, n := range nets {
		out = append(out, swarm.NetworkAttachmentConfig{Target: n.ID.ValueString(), Aliases: n.Aliases, DriverOpts: n.DriverOptions})
	}
	return out
}

func networksFrom(nets []swarm.NetworkAttachmentConfig, prior []networkModel, resolve orchestrator.RefResolver) []networkModel {
	var out []networkModel
	for i, n := range nets {
		m := networkModel{ID: readRef(n.Target, priorRef(prior, i, func(p networkModel) types.String { return p.ID }), orchestrator.KindNetwork, resolve),
			Aliases: n.Aliases, DriverOptions: n.DriverOpts}
		if i < len(prior) {
			m.Aliases = keepEmpty(prior[i].Aliases, n.Aliases)
			m.DriverOptions = keepEmptyMap(prior[i].DriverOptions, n.DriverOpts)
		}
		out = append(out, m)
	}
	if out == nil && prior != nil {
		out = []networkModel{}
	}
	return out
}

// readRef is how state spells a reference to the object with this ID: as the configuration
// spelled it (ID or name) when that names the same object, else by name. An imported service
// (no prior) reads back names, which is how a configuration adopting it usually refers to
// objects made outside Terraform; a reference that moved to another object shows its name.
func readRef(id string, prior types.String, kind orchestrator.ObjectKind, resolve orchestrator.RefResolver) types.String {
	if prior.ValueString() == id || resolve == nil {
		return types.StringValue(id)
	}
	if known(prior) {
		if priorID, _, ok := resolve(kind, prior.ValueString()); ok && priorID == id {
			return prior
		}
	}
	if _, name, ok := resolve(kind, id); ok && name != "" {
		return types.StringValue(name)
	}
	return types.StringValue(id)
}

// priorRef is the i-th prior reference, or null.
func priorRef[T any](prior []T, i int, ref func(T) types.String) types.String {
	if i < len(prior) {
		return ref(prior[i])
	}
	return types.StringNull()
}

func (r fileRefModel) file() (name, uid, gid string, mode os.FileMode) {
	return r.FileName.ValueString(), stringOr(r.UID, serviceDefaults.FileUID), stringOr(r.GID, serviceDefaults.FileGID),
		fileMode(types.StringValue(stringOr(r.Mode, serviceDefaults.FileMode)))
}

// secretToSwarm refers to the secret as the configuration gives it (ID or name); the engine
// resolves it before writing.
func (r fileRefModel) secretToSwarm() *swarm.SecretReference {
	name, uid, gid, mode := r.file()
	return &swarm.SecretReference{SecretID: r.ID.ValueString(), File: &swarm.SecretReferenceFileTarget{Name: name, UID: uid, GID: gid, Mode: mode}}
}

func (r fileRefModel) configToSwarm() *swarm.ConfigReference {
	name, uid, gid, mode := r.file()
	return &swarm.ConfigReference{ConfigID: r.ID.ValueString(), File: &swarm.ConfigReferenceFileTarget{Name: name, UID: uid, GID: gid, Mode: mode}}
}

func fileRefFrom(id string, name, uid, gid string, mode os.FileMode, prior []fileRefModel, i int, kind orchestrator.ObjectKind, resolve orchestrator.RefResolver) fileRefModel {
	m := fileRefModel{ID: readRef(id, priorRef(prior, i, func(p fileRefModel) types.String { return p.ID }), kind, resolve), FileName: types.StringValue(name), UID: types.StringValue(orDefault(uid, serviceDefaults.FileUID)),
		GID: types.StringValue(orDefault(gid, serviceDefaults.FileGID)), Mode: types.StringValue(modeString(mode))}
	if i < len(prior) {
		if pm := prior[i].Mode; known(pm) && fileMode(pm) == mode {
			m.Mode = pm // "444" and "0444" are the same mode
		}
	}
	return m
}

func secretsFrom(refs []*swarm.SecretReference, prior []fileRefModel, resolve orchestrator.RefResolver) []fileRefModel {
	var out []fileRefModel
	for i, r := range refs {
		var f swarm.SecretReferenceFileTarget
		if r.File != nil {
			f = *r.File
		}
		out = append(out, fileRefFrom(r.SecretID, f.Name, f.UID, f.GID, f.Mode, prior, i, orchestrator.KindSecret, resolve))
	}
	if out == nil && prior != nil {
		out = []fileRefModel{}
	}
	return out
}

func configsFrom(refs []*swarm.ConfigReference, prior []fileRefModel, resolve orchestrator.RefResolver) []fileRefModel {
	var out []fileRefModel
	for i, r := range refs {
		var f swarm.ConfigReferenceFileTarget
		if r.File != nil {
			f = *r.File
		}
		out = append(out, fileRefFrom(r.ConfigID, f.Name, f.UID, f.GID, f.Mode, prior, i, orchestrator.KindConfig, resolve))
	}
	if out == nil && prior != nil {
		out = []fileRefModel{}
	}
	return out
}

// fileMode reads a mode written in octal ("0444", "1777"); 0 when it is not set.
func fileMode(v types.String) os.FileMode {
	if !known(v) {
		return 0
	}
	n, _ := strconv.ParseUint(v.ValueString(), 8, 32)
	return os.FileMode(n)
}

// modeString spells a mode in octal with four digits ("0444").
func modeString(m os.FileMode) string { return fmt.Sprintf("%04o", uint32(m)&0o7777) }
