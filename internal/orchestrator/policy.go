package orchestrator

// The cluster side of scaling policies. A policy lives in two labels on its service: the policy
// as configured (ScalingPolicy.Label) and the policy's state (last decision, when it last
// scaled, the recommendation history for the stabilization windows). Nothing is kept anywhere
// else: each plan may run on a new machine.
//
// The life of a decision: ObservePolicy reads the service and the metrics (at refresh);
// ScalingPolicy.Decide turns that observation into a decision (at plan, and again when
// Terraform plans during apply, from the same observation); ApplyScaling writes the policy and
// scales to exactly the planned count.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// ScalingOwnerLabel, set on a service, holds the scaling policy that owns its replica count.
// While it is set, writes of the service re-send the observed count instead of the declared one.
const ScalingOwnerLabel = EngineLabelPrefix + "scaling-policy"

// ScalingStateLabel holds a policy's ScalingState as JSON.
const ScalingStateLabel = EngineLabelPrefix + "scaling-state"

// MaxScalingHistory bounds the recommendations kept in the state label; the oldest go first.
// At one decision a minute it covers more than three hours of stabilization window.
const MaxScalingHistory = 200

// ScaleProgressDeadline fails a scaling apply when no new task has started for this long (a
// task that no node has room for would otherwise hold the apply until its timeout).
const ScaleProgressDeadline = 3 * time.Minute

// ErrPolicyExists is returned when a second policy tries to attach to a service.
var ErrPolicyExists = errors.New("the service already has a scaling policy")

// ErrNotReplicated is returned for a service in global mode, whose size follows its nodes.
var ErrNotReplicated = errors.New("the service runs in global mode: one task per node, no replica count to scale")

// ScalingState is what a policy remembers between decisions.
type ScalingState struct {
	// Version is the label's format (ScalingStateFormat); 0 when read from format 1.
	Version int `json:"version,omitempty"`
	// Desired is the last replica count the policy decided on.
	Desired  int    `json:"desired"`
	Decision string `json:"decision,omitempty"`
	// ScaledAt is when the policy last changed the service's replica count.
	ScaledAt time.Time `json:"scaled_at,omitzero"`
	// DryRun policies decide but never scale, and leave the replica count to the service.
	DryRun  bool           `json:"dry_run,omitempty"`
	History scalingHistory `json:"history,omitempty"`
	// DecidedAt is when the decision was made; By says who made it: ByController, or empty
	// for terraform.
	DecidedAt time.Time `json:"decided_at,omitzero"`
	By        string    `json:"by,omitempty"`
	// Holds are the decision's holds (ScalingDecision.Holds): the controller writes the state
	// again when they change, so that the next plan shows why nothing scales.
	Holds []string `json:"holds,omitempty"`
}

// ByController marks a state the controller wrote.
const ByController = "controller"

// scalingHistory is stored compactly, "unix-seconds:replicas" separated by spaces, to keep the
// label small.
type scalingHistory []Recommendation

func (h scalingHistory) MarshalJSON() ([]byte, error) {
	parts := make([]string, len(h))
	for i, r := range h {
		parts[i] = strconv.FormatInt(r.At.Unix(), 10) + ":" + strconv.Itoa(r.Replicas)
	}
	return json.Marshal(strings.Join(parts, " "))
}

func (h *scalingHistory) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	out := scalingHistory{}
	for _, p := range strings.Fields(s) {
		at, n, ok := strings.Cut(p, ":")
		sec, err1 := strconv.ParseInt(at, 10, 64)
		reps, err2 := strconv.Atoi(n)
		if !ok || err1 != nil || err2 != nil {
			return fmt.Errorf("bad history entry %q", p)
		}
		out = append(out, Recommendation{At: time.Unix(sec, 0).UTC(), Replicas: reps})
	}
	*h = out
	return nil
}

// label encodes the state in the current format, the history sorted and capped.
func (st ScalingState) label() string {
	st.Version = ScalingStateFormat
	st.History = append(scalingHistory(nil), st.History...)
	sort.SliceStable(st.History, func(i, j int) bool { return st.History[i].At.Before(st.History[j].At) })
	if n := len(st.History); n > MaxScalingHistory {
		st.History = st.History[n-MaxScalingHistory:]
	}
	b, _ := json.Marshal(st)
	return string(b)
}

// ScalingStateOf decodes the state label of a service (format 1 or 2); ok is false when there
// is none.
func ScalingStateOf(spec swarm.ServiceSpec) (st ScalingState, ok bool, err error) {
	raw, ok := spec.Labels[ScalingStateLabel]
	if !ok {
		return st, false, nil
	}
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return st, true, fmt.Errorf("label %s: %w", ScalingStateLabel, err)
	}
	if st.Version > ScalingStateFormat {
		return st, true, fmt.Errorf("label %s: format %d %w", ScalingStateLabel, st.Version, ErrNewerFormat)
	}
	return st, true, nil
}

// ReplicasOwnedElsewhere reports whether a scaling policy owns the service's replica count: one
// is attached and it is not a dry run. A state label that cannot be read counts as owned, so
// the service never resets a count it may not own.
func ReplicasOwnedElsewhere(spec swarm.ServiceSpec) bool {
	if spec.Labels[ScalingOwnerLabel] == "" {
		return false
	}
	st, _, err := ScalingStateOf(spec)
	return err != nil || !st.DryRun
}

// ScalingTarget is a service as a scaling policy sees it.
type ScalingTarget struct {
	Service swarm.Service
	// Replicas is the replica count in the service's spec.
	Replicas int
	// Policy is the attached policy; nil when there is none.
	Policy *ScalingPolicy
	State  ScalingState
	// RolloutInProgress is true while Swarm updates or rolls back the service.
	RolloutInProgress bool
}

// RolloutInProgress says whether a rollout of the service has not ended: Swarm is rolling its
// tasks over to a new spec or back, or has paused doing so (its tasks then run a mix of
// specs, and any write would resume it), or the last write changed the task template and
// Swarm's updater has not started on it yet (Swarm clears the update status on every write,
// and the updater sets it when it starts).
func RolloutInProgress(svc swarm.Service) bool {
	if us := svc.UpdateStatus; us != nil {
		switch us.State {
		case swarm.UpdateStateUpdating, swarm.UpdateStateRollbackStarted, swarm.UpdateStatePaused, swarm.UpdateStateRollbackPaused:
			return true
		}
		return false
	}
	return svc.PreviousSpec != nil && Classify(*svc.PreviousSpec, svc.Spec) == ChangeTaskTemplate
}

// ScalingTarget reads a service for a scaling policy from the shared snapshot, by ID or name.
// It fails with ErrNotFound, ErrNotReplicated, or when the policy's labels cannot be read.
func (e *Engine) ScalingTarget(ctx context.Context, idOrName string) (*ScalingTarget, error) {
	st, err := e.Service(ctx, idOrName)
	if err != nil {
		return nil, err
	}
	svc := st.Service
	rep := svc.Spec.Mode.Replicated
	if rep == nil {
		return nil, fmt.Errorf("service %s: %w", svc.Spec.Name, ErrNotReplicated)
	}
	t := &ScalingTarget{Service: svc}
	if rep.Replicas != nil {
		t.Replicas = int(*rep.Replicas)
	}
	if label := svc.Spec.Labels[ScalingOwnerLabel]; label != "" {
		p, err := ParseScalingPolicy(label)
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", svc.Spec.Name, err)
		}
		if t.State, _, err = ScalingStateOf(svc.Spec); err != nil {
			return nil, fmt.Errorf("service %s: %w", svc.Spec.Name, err)
		}
		p.DryRun = t.State.DryRun
		t.Policy = &p
	}
	t.RolloutInProgress = RolloutInProgress(svc)
	return t, nil
}

// CheckScalingTarget says whether a new policy can attach to the service: it exists, is
// replicated and carries no policy yet.
func (e *Engine) CheckScalingTarget(ctx context.Context, idOrName string) error {
	t, err := e.ScalingTarget(ctx, idOrName)
	if err != nil {
		return err
	}
	if t.Policy != nil {
		return fmt.Errorf("service %s (label %s): %w", t.Service.Spec.Name, ScalingOwnerLabel, ErrPolicyExists)
	}
	return nil
}

// PolicyObservation is what one look at a policy's service and metrics saw. The adapter keeps
// it from the refresh to the plan, so that the plan, and the plan Terraform makes again during
// apply, decide from the same values.
type PolicyObservation struct {
	At       time.Time                `json:"at"`
	Replicas int                      `json:"replicas"`
	Rollout  bool                     `json:"rollout,omitempty"`
	Cap      int                      `json:"placement_cap,omitempty"`
	History  []Recommendation         `json:"history,omitempty"`
	Values   map[string]ObservedValue `json:"values,omitempty"`
	// Coverage is what an earlier version of the engine said about the tasks its cpu and
	// memory values covered; each ObservedValue carries its own now.
	Coverage string `json:"note,omitempty"`
}

// ObservedValue is one metric's value, by PolicyMetric.Key.
type ObservedValue struct {
	Value   float64 `json:"value"`
	Missing bool    `json:"missing,omitempty"`
	// Base is what 100% means for cpu and memory; empty for memory means no limit is set.
	Base string `json:"base,omitempty"`
	// Measured and Ready say how many of the ready tasks a cpu or memory value covers; Note
	// says where the others run and why they were not measured, when some were not.
	Measured int    `json:"measured,omitempty"`
	Ready    int    `json:"ready,omitempty"`
	Note     string `json:"coverage,omitempty"`
}

// ObservePolicy reads the service and every metric of p now. A metric that cannot be read is
// recorded as missing (no scale-down on it) and reported as a warning at its path.
func (e *Engine) ObservePolicy(ctx context.Context, t *ScalingTarget, p ScalingPolicy) (*PolicyObservation, []FieldProblem, error) {
	return e.observePolicy(ctx, t, p, nil)
}

// statsMeasurement is one Docker stats measurement of several services, by service ID, taken
// for a controller's round; err is why it failed.
type statsMeasurement struct {
	byService map[string]serviceSamples
	err       error
}

// load is the service's load from the measurement when it covers the service, else from the
// engine's shared one (ServiceLoad).
func (e *Engine) loadFrom(ctx context.Context, m *statsMeasurement, svc swarm.Service, metric PolicyMetric) (Load, error) {
	if m == nil || metric.Source == SourceCAdvisor {
		return e.ServiceLoad(ctx, svc, metric.Source, metric.Address)
	}
	if m.err != nil {
		return Load{}, m.err
	}
	samples, ok := m.byService[svc.ID]
	if !ok {
		return e.ServiceLoad(ctx, svc, metric.Source, metric.Address)
	}
	nodes, err := e.Nodes(ctx)
	if err != nil {
		return Load{}, err
	}
	return loadOf(svc.Spec, samples.ready, samples.samples, nodes), nil
}

// observePolicy is ObservePolicy, with the Docker stats of the service taken from stats when
// it is given.
func (e *Engine) observePolicy(ctx context.Context, t *ScalingTarget, p ScalingPolicy, stats *statsMeasurement) (*PolicyObservation, []FieldProblem, error) {
	var warnings []FieldProblem
	o := &PolicyObservation{At: time.Now().UTC(), Replicas: t.Replicas, Rollout: t.RolloutInProgress,
		History: t.State.History, Values: map[string]ObservedValue{}}
	if pl := t.Service.Spec.TaskTemplate.Placement; pl != nil && pl.MaxReplicas > 0 {
		nodes, err := e.Nodes(ctx)
		if err != nil {
			return nil, nil, err
		}
		o.Cap, _ = PlacementCapacity(nodes, pl)
	}
	for i, m := range p.Metrics {
		if _, done := o.Values[m.Key()]; done {
			continue
		}
		switch m.Type {
		case MetricCPU, MetricMemory:
			cpu, mem := m, m
			cpu.Type, mem.Type = MetricCPU, MetricMemory
			load, err := e.loadFrom(ctx, stats, t.Service, m)
			if err != nil {
				// No reading is no reason to scale: the value is missing, as a Prometheus
				// query that fails, and the decision holds.
				warnings = append(warnings, problem(fmt.Sprintf("metrics[%d]", i), "Metric Unavailable",
					fmt.Sprintf("The %s of service %s could not be read from %s, so the policy cannot scale the service down now: %v", m.Type, t.Service.Spec.Name, sourceName(m), err)))
				o.Values[cpu.Key()] = ObservedValue{Missing: true}
				o.Values[mem.Key()] = ObservedValue{Missing: true}
				continue
			}
			note := e.coverageNote(m, load)
			missing := load.Measured == 0
			o.Values[cpu.Key()] = ObservedValue{Value: load.CPU, Missing: missing, Base: load.CPUBase, Measured: load.Measured, Ready: load.Ready, Note: note}
			o.Values[mem.Key()] = ObservedValue{Value: load.Memory, Missing: missing, Base: load.MemoryBase, Measured: load.Measured, Ready: load.Ready, Note: note}
			if note != "" {
				warnings = append(warnings, problem(fmt.Sprintf("metrics[%d]", i), "Metric Covers Part of the Service",
					fmt.Sprintf("The %s of service %s was %s. The policy does not scale down on such a view, and scales up only as far as the measured tasks justify with the others counted as idle. %s",
						m.Type, t.Service.Spec.Name, note, coverageRemedy(m))))
			}
		case MetricPrometheus:
			v, err := QueryPrometheus(ctx, nil, m.Address, m.Query)
			if err != nil {
				warnings = append(warnings, problem(fmt.Sprintf("metrics[%d]", i), "Metric Unavailable",
					fmt.Sprintf("The Prometheus query gave no value, so the policy cannot scale the service down now: %v", err)))
			}
			o.Values[m.Key()] = ObservedValue{Value: v, Missing: err != nil}
		}
	}
	return o, warnings, nil
}

// sourceName says where a metric is read from, for errors.
func sourceName(m PolicyMetric) string {
	if m.Source == SourceCAdvisor {
		return "cAdvisor through the Prometheus at " + m.Address
	}
	return "the Docker stats API"
}

// coverageNote says, when a cpu or memory reading missed some ready tasks, how many it
// measured and why the others were not: "measured on 1 of 3 ready tasks: 2 run on nodes
// mn-2, mn-3, ...". Empty when every ready task was measured.
func (e *Engine) coverageNote(m PolicyMetric, load Load) string {
	if load.Measured >= load.Ready {
		return ""
	}
	n := load.Ready - load.Measured
	where := strings.Join(load.Unmeasured, ", ")
	if m.Source == SourceCAdvisor {
		return fmt.Sprintf("measured on %d of %d ready tasks: cAdvisor (through the Prometheus at %s) has no recent series for %d on %s",
			load.Measured, load.Ready, m.Address, n, where)
	}
	return fmt.Sprintf("measured on %d of %d ready tasks: %d run on %s, whose containers the Docker engine that reads the stats (%s) cannot read",
		load.Measured, load.Ready, n, where, e.host)
}

// coverageRemedy says how to measure every task.
func coverageRemedy(m PolicyMetric) string {
	if m.Source == SourceCAdvisor {
		return "Check that cAdvisor runs on every node (a global service) and that this Prometheus scrapes each of them; a task just started has no rate for its first scrapes."
	}
	return fmt.Sprintf("To measure every task, run cAdvisor on every node (a global service), have Prometheus scrape it, and set source = %q and address = \"<that Prometheus>\" on this metric; see the autoscaling guide.", SourceCAdvisor)
}

// PolicyDecision is a decision with what it was made from.
type PolicyDecision struct {
	ScalingDecision
	// At is the time the decision is made for (the observation's).
	At time.Time
	// From is the replica count observed; After the count after the apply (Desired, or From
	// for a dry run).
	From, After int
	// Record is the recommendation the stabilization history keeps for this decision.
	Record int
}

// Decide makes the policy's decision from an observation. ok is false when the observation
// lacks one of the policy's metrics (it was configured after the refresh): the decision is
// then made at apply. Problems are errors in the configuration the observation revealed (a
// memory target on a service without a memory limit).
func (p ScalingPolicy) Decide(o *PolicyObservation) (d PolicyDecision, ok bool, problems []FieldProblem) {
	in, err := p.ScalingInput()
	if err != nil {
		return d, false, []FieldProblem{problem("", "Invalid Scaling Policy", err.Error())}
	}
	for i, m := range p.Metrics {
		v, seen := o.Values[m.Key()]
		if !seen {
			return d, false, nil
		}
		rd := MetricReading{Name: m.name(), Kind: MetricUtilisation, Observed: v.Value, Missing: v.Missing, Target: m.TargetUtilization.Float(),
			Measured: v.Measured, Ready: v.Ready}
		switch {
		case m.Type == MetricMemory && v.Base == "":
			problems = append(problems, problem(fmt.Sprintf("metrics[%d].type", i), "Memory Metric Needs a Limit",
				"The service sets no memory limit or reservation, so memory utilisation has no 100%. Set resources.limits.memory (or reservations.memory) on the service, or track another metric."))
			continue
		case m.Type == MetricPrometheus && m.TargetAverageValue.Set():
			// HPA's AverageValue: the total shared among the replicas.
			rd.Kind, rd.Target = MetricAverageValue, m.TargetAverageValue.Float()
			if o.Replicas > 0 {
				rd.Observed = v.Value / float64(o.Replicas)
			}
		case m.Type == MetricPrometheus:
			rd.Kind, rd.Target = MetricValue, m.TargetValue.Float()
		}
		in.Metrics = append(in.Metrics, rd)
	}
	if len(problems) > 0 {
		return d, false, problems
	}
	in.Current, in.History, in.Now = o.Replicas, o.History, o.At
	in.MaxByPlacement, in.RolloutInProgress = o.Cap, o.Rollout
	dec, err := DecideScaling(in)
	if err != nil {
		return d, false, []FieldProblem{problem("", "Invalid Scaling Policy", err.Error())}
	}
	notes := map[string]bool{}
	for _, m := range p.Metrics {
		if v := o.Values[m.Key()]; v.Note != "" && !notes[v.Note] {
			notes[v.Note] = true
			dec.Reason += "; " + m.Type + " " + v.Note
		}
	}
	if o.Coverage != "" && len(in.Metrics) > 0 {
		dec.Reason += "; " + o.Coverage
	}
	d = PolicyDecision{ScalingDecision: dec, At: in.Now, From: o.Replicas, After: dec.Desired, Record: dec.Desired}
	if p.DryRun {
		d.After = o.Replicas
	}
	if n := len(dec.NewHistory); n > 0 {
		d.Record = dec.NewHistory[n-1].Replicas
	}
	return d, true, nil
}

// PlannedScaling is the decision a plan showed, for ApplyScaling to carry out exactly.
type PlannedScaling struct {
	Desired int
	Reason  string
	// Decided is set when the plan decided from an observation; At, Record and From then come
	// from that decision.
	Decided bool
	At      time.Time
	Record  int
	From    int
}

// ScalingResult is what ApplyScaling did.
type ScalingResult struct {
	ServiceID   string
	ServiceName string
	Desired     int
	Reason      string
	// Before and After are the replica counts before and after the write.
	Before, After int
	ScaledAt      time.Time
	// DecidedAt is when the decision carried out was made; zero for a continuous policy's
	// until the controller decides.
	DecidedAt time.Time
	// Written says the labels were written: from then on the policy is attached, whatever
	// the wait for new tasks says.
	Written bool
	// Warnings are worth telling the user; a Path says which attribute they concern.
	Warnings []FieldProblem
}

// ApplyScaling attaches or updates the policy on its service. With planned it writes exactly
// the planned count and records the plan's recommendation in the history; without (a new
// policy, or a plan that could not decide) it observes and decides now. claim fails with
// ErrPolicyExists when another policy is attached already. When the count changes it waits
// until the new tasks run, for at most ScaleProgressDeadline without progress. Problems are
// configuration errors found on the way (the service cannot be scaled, a metric cannot be
// computed), at their paths.
func (e *Engine) ApplyScaling(ctx context.Context, serviceID string, p ScalingPolicy, planned *PlannedScaling, claim bool) (ScalingResult, []FieldProblem, error) {
	var res ScalingResult
	t, err := e.ScalingTarget(ctx, serviceID)
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrNotReplicated) {
			return res, []FieldProblem{problem("service_id", "Cannot Scale Service", err.Error()+".")}, nil
		}
		return res, nil, err
	}
	res.ServiceID, res.ServiceName, res.Before, res.After = t.Service.ID, t.Service.Spec.Name, t.Replicas, t.Replicas
	now := time.Now().UTC()
	if p.Continuous() {
		return e.attachContinuous(ctx, t, p, claim, res)
	}
	rec := Recommendation{At: now}
	switch {
	case planned == nil:
		obs, warnings, err := e.ObservePolicy(ctx, t, p)
		if err != nil {
			return res, nil, err
		}
		res.Warnings = append(res.Warnings, warnings...)
		d, ok, problems := p.Decide(obs)
		if len(problems) > 0 || !ok {
			return res, problems, nil
		}
		res.Desired, res.Reason = d.Desired, d.Reason
		rec = Recommendation{At: d.At, Replicas: d.Record}
	case planned.Decided:
		res.Desired, res.Reason = planned.Desired, planned.Reason
		rec = Recommendation{At: planned.At, Replicas: planned.Record}
		if planned.From != t.Replicas && planned.Desired != t.Replicas && !p.DryRun {
			res.Warnings = append(res.Warnings, FieldProblem{Summary: "Service Scaled Since Plan",
				Detail: fmt.Sprintf("Service %s had %d replicas when planned and has %d now; it is set to the planned %d.", res.ServiceName, planned.From, t.Replicas, planned.Desired)})
		}
	default:
		res.Desired, res.Reason = planned.Desired, planned.Reason
		rec.Replicas = planned.Desired
	}

	st := ScalingState{Desired: res.Desired, Decision: res.Reason, ScaledAt: t.State.ScaledAt, DryRun: p.DryRun, DecidedAt: now,
		History: append(pruneHistory(t.State.History, now, p.historyWindow()), rec)}
	var replicas *int
	if !p.DryRun && res.Desired != t.Replicas {
		st.ScaledAt, replicas = now, &res.Desired
	}
	res.ScaledAt, res.DecidedAt = st.ScaledAt, st.DecidedAt
	w, err := e.writePolicy(ctx, t.Service.ID, policyWrite{policy: p.Label(), state: st.label(), replicas: replicas, claim: claim})
	if err != nil {
		if errors.Is(err, ErrPolicyExists) {
			return res, []FieldProblem{problem("service_id", "Service Already Has a Scaling Policy", err.Error()+". Import the existing policy or remove it first.")}, nil
		}
		return res, nil, err
	}
	res.Written = true
	for _, warning := range w.Warnings {
		res.Warnings = append(res.Warnings, FieldProblem{Summary: "Docker Engine Warning", Detail: warning})
	}
	if replicas != nil {
		res.After = *replicas
	}
	if !w.NeedsWait() || replicas == nil {
		return res, nil, nil
	}
	if _, err := e.WaitConverged(ctx, w, WaitOptions{ProgressDeadline: ScaleProgressDeadline}); err != nil {
		return res, nil, fmt.Errorf("service %s was scaled from %d to %d replicas, but the new tasks did not all start: %w", res.ServiceName, res.Before, res.After, err)
	}
	return res, nil, nil
}

// attachContinuous writes a continuous policy: its label, and a state that keeps what the
// service's state holds (the controller's decisions, the history), or on a new policy says
// that the controller decides from its next round. Nothing is decided or scaled here.
func (e *Engine) attachContinuous(ctx context.Context, t *ScalingTarget, p ScalingPolicy, claim bool, res ScalingResult) (ScalingResult, []FieldProblem, error) {
	st := t.State
	if t.Policy == nil || claim {
		st = ScalingState{Desired: t.Replicas, Decision: fmt.Sprintf("decided by the autoscaling controller from its next round; %d replicas until then", t.Replicas)}
	}
	st.DryRun = p.DryRun
	res.Desired, res.Reason, res.ScaledAt, res.DecidedAt = st.Desired, st.Decision, st.ScaledAt, st.DecidedAt
	w, err := e.writePolicy(ctx, t.Service.ID, policyWrite{policy: p.Label(), state: st.label(), claim: claim})
	if err != nil {
		if errors.Is(err, ErrPolicyExists) {
			return res, []FieldProblem{problem("service_id", "Service Already Has a Scaling Policy", err.Error()+". Import the existing policy or remove it first.")}, nil
		}
		return res, nil, err
	}
	res.Written = true
	for _, warning := range w.Warnings {
		res.Warnings = append(res.Warnings, FieldProblem{Summary: "Docker Engine Warning", Detail: warning})
	}
	return res, nil, nil
}

// DetachPolicy removes a policy's labels from its service; the replica count stays as it is.
// A missing service is not an error.
func (e *Engine) DetachPolicy(ctx context.Context, serviceID string) error {
	_, err := e.writePolicy(ctx, serviceID, policyWrite{})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// policyWrite is one change a policy makes to its service.
type policyWrite struct {
	// policy and state are the labels' values. An empty policy detaches: both labels go, and
	// the replica count stays as it is.
	policy, state string
	// replicas, when set, is the replica count to write.
	replicas *int
	// claim fails the write with ErrPolicyExists when a policy is already attached (create).
	claim bool
	// expect, when set, fails the write with ErrStaleDecision unless the service still has
	// these labels: the controller's decision was made from them.
	expect *policyLabels
}

// policyLabels are the values of a service's policy and state labels.
type policyLabels struct{ policy, state string }

// writePolicy changes only the policy's labels and, optionally, the replica count, with
// Swarm's version check; the task template is untouched, so no task restarts.
func (e *Engine) writePolicy(ctx context.Context, id string, w policyWrite) (WriteResult, error) {
	defer e.Invalidate()
	res := WriteResult{ID: id, Outcome: OutcomeUnchanged, Kind: ChangeNone}
	err := e.writeService(ctx, id, swarm.ServiceUpdateOptions{}, &res, sameSpec, func(observed swarm.Service) (swarm.ServiceSpec, bool, error) {
		if w.claim && observed.Spec.Labels[ScalingOwnerLabel] != "" {
			return swarm.ServiceSpec{}, false, fmt.Errorf("service %s: %w", observed.Spec.Name, ErrPolicyExists)
		}
		if x := w.expect; x != nil && (observed.Spec.Labels[ScalingOwnerLabel] != x.policy || observed.Spec.Labels[ScalingStateLabel] != x.state) {
			return swarm.ServiceSpec{}, false, fmt.Errorf("service %s: %w", observed.Spec.Name, ErrStaleDecision)
		}
		desired := observed.Spec
		desired.Labels = map[string]string{}
		for k, v := range observed.Spec.Labels {
			desired.Labels[k] = v
		}
		if w.policy == "" {
			delete(desired.Labels, ScalingOwnerLabel)
			delete(desired.Labels, ScalingStateLabel)
		} else {
			desired.Labels[ScalingOwnerLabel] = w.policy
			desired.Labels[ScalingStateLabel] = w.state
		}
		if w.replicas != nil {
			if desired.Mode.Replicated == nil {
				return desired, false, fmt.Errorf("service %s: %w", observed.Spec.Name, ErrNotReplicated)
			}
			n := uint64(*w.replicas)
			desired.Mode = swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &n}}
		}
		res.Kind = Classify(observed.Spec, desired)
		return desired, res.Kind != ChangeNone, nil
	})
	return res, err
}

// pruneHistory keeps the recommendations inside the longest stabilization window (keep) at now.
func pruneHistory(history []Recommendation, now time.Time, keep time.Duration) []Recommendation {
	out := make([]Recommendation, 0, len(history)+1)
	for _, h := range history {
		if insideWindow(h.At, now, keep) {
			out = append(out, h)
		}
	}
	return out
}
