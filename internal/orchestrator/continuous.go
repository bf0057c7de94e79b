package orchestrator

// Continuous evaluation. A policy whose evaluation is "continuous" is decided by a controller
// in the cluster (cmd/swarm-autoscaler) every interval, not at terraform plan. The controller
// is an adapter over this engine, as the provider is: what one round observes, how it decides,
// when it writes and which controller may act are all here, and the decision is the same
// ScalingPolicy.Decide the provider's plan makes, from the same kind of observation.
//
// One controller acts at a time: the one on the swarm's Raft leader that holds that node's
// lock (see acting). Its writes are still checked against the state it decided from, so that
// a decision is never applied twice, whatever runs.
//
// A steady cluster costs no write: a service's state label is written only when the count,
// the desired count or a hold (missing data) changes, and never while Swarm rolls the service
// out or back (a write would replace what a rollback returns to). The recommendations between
// writes are kept in memory, for the stabilization windows; a controller that starts, or takes
// over, reads them back from the label and counts the last one as held until then, so that no
// scale-down comes early after a restart. The acting controller records that it runs in a
// heartbeat config every Heartbeat.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/swarm"
)

// Evaluation modes of a scaling policy.
const (
	// EvaluationPlan (the default): the policy is decided by terraform plan and carried out by
	// terraform apply.
	EvaluationPlan = "plan"
	// EvaluationContinuous: the controller decides and scales every interval; terraform
	// writes the policy and shows the controller's decisions.
	EvaluationContinuous = "continuous"
)

// AutoscalerLabel marks the controller's own service; its value is the label format ("1").
const AutoscalerLabel = EngineLabelPrefix + "autoscaler"

// HeartbeatConfig is the Swarm config whose labels the acting controller keeps its heartbeat
// in; HeartbeatLabel holds it as JSON.
const (
	HeartbeatConfig = "swarmform-autoscaler-heartbeat"
	HeartbeatLabel  = EngineLabelPrefix + "heartbeat"
)

// DefaultHeartbeat is how often the acting controller records that it runs. The plan reads it
// to say when the controller last evaluated the policies, and warns when none is recent.
const DefaultHeartbeat = 30 * time.Second

// ErrStaleDecision is a controller's write refused because the service's policy or state
// changed after the controller read them (terraform applied a new policy, or another
// controller decided): the next round decides again from what is there.
var ErrStaleDecision = errors.New("the service's scaling policy or state changed since it was read")

// Heartbeat is what the acting controller records of itself.
type Heartbeat struct {
	Version int `json:"version"`
	// Holder names the controller (its task), Node the node it runs on.
	Holder string `json:"holder"`
	Node   string `json:"node"`
	// RoundAt is when its latest recorded round ended; Interval how often it runs one.
	RoundAt  time.Time     `json:"round_at"`
	Interval time.Duration `json:"interval"`
	// Policies is how many continuous policies that round evaluated.
	Policies int `json:"policies"`
}

// Fresh says whether the heartbeat says a controller runs at now: its last round is no older
// than two heartbeats and two intervals.
func (h Heartbeat) Fresh(now time.Time) bool {
	return !h.RoundAt.IsZero() && now.Sub(h.RoundAt) <= 2*DefaultHeartbeat+2*h.Interval
}

// ScalerOptions configure a controller's Scaler.
type ScalerOptions struct {
	// Holder names this controller in the heartbeat and its logs (its task or host name).
	Holder string
	// Interval is how often the controller runs a round, recorded in the heartbeat.
	Interval time.Duration
	// Heartbeat is how often the acting controller records a round; 0 means DefaultHeartbeat.
	Heartbeat time.Duration
	// LeaderWait bounds how long a round waits for the managers to say which of them leads;
	// 0 means the interval, and at least minLeaderWait. While they elect a leader (the
	// old one lost) the engine's calls wait for one or say there is none: the round then
	// stands by rather than wait for the election, so that it ends, the controller stays
	// healthy (no restart by its healthcheck), and the next round asks again.
	LeaderWait time.Duration
	// LockPath is a file on the node (a volume every controller on the node shares) that only
	// one controller of the node may hold.
	LockPath string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Scaler runs the rounds of one controller. It keeps, between rounds, the recommendations of
// each continuous policy (for the stabilization windows) and the node lock.
type Scaler struct {
	e    *Engine
	opts ScalerOptions

	mu       sync.Mutex
	lock     nodeLock
	selfNode string
	memory   map[string]*scalerMemory
	lastBeat time.Time
}

// scalerMemory is what the scaler remembers of one service: the policy and state labels it
// last saw (a change of either by someone else starts the memory again from the labels) and
// the recommendations since.
type scalerMemory struct {
	policy, state string
	history       []Recommendation
}

// minLeaderWait is the shortest wait for the managers to say who leads: a node list takes
// milliseconds, and far longer only on a machine under heavy load.
const minLeaderWait = 2 * time.Second

// noLeader is why a controller stands by while the swarm has no leader.
const noLeader = "the swarm has no leader now (its managers are electing one, or too few of them are online for a quorum)"

// NewScaler makes the scaler of a controller.
func (e *Engine) NewScaler(opts ScalerOptions) *Scaler {
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	if opts.LeaderWait <= 0 {
		opts.LeaderWait = max(opts.Interval, minLeaderWait)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Scaler{e: e, opts: opts, memory: map[string]*scalerMemory{}}
}

// RoundReport is what one round did.
type RoundReport struct {
	Started time.Time
	Took    time.Duration
	// Acting says this controller acted; Standby says why not.
	Acting  bool
	Standby string
	// Outcomes are the continuous policies evaluated, one each.
	Outcomes []ScaleOutcome
	// Err is a failure that stopped the round (the services could not be listed); failures of
	// one policy are in its outcome.
	Err error
}

// NextDecision is the earliest time a stabilization window holding one of the round's
// decisions lets go, when a decision on the same metrics may differ; zero if none is held.
// Deciding then, not at the next interval, brings a scale-down within a round's read of the
// window's end whatever the window and the interval.
func (r RoundReport) NextDecision() time.Time {
	var next time.Time
	for _, o := range r.Outcomes {
		if !o.ReleaseAt.IsZero() && (next.IsZero() || o.ReleaseAt.Before(next)) {
			next = o.ReleaseAt
		}
	}
	return next
}

// ScaleOutcome is what a round did with one continuous policy.
type ScaleOutcome struct {
	ServiceID, Service string
	// Before is the replica count observed, Desired the decision, After the count now.
	Before, Desired, After int
	Reason                 string
	Holds                  []string
	DryRun                 bool
	// Written says the state label (and, when Scaled, the replica count) was written.
	Written, Scaled bool
	Warnings        []FieldProblem
	Err             error
	// ReleaseAt is when a stabilization window holding the decision lets go (zero if none).
	ReleaseAt time.Time
}

// Direction is "up", "down" or "none", for metrics and logs.
func (o ScaleOutcome) Direction() string {
	switch {
	case o.Desired > o.Before:
		return "up"
	case o.Desired < o.Before:
		return "down"
	}
	return "none"
}

// Round runs one round: it finds whether this controller acts, and if it does, observes,
// decides and, where something changed, writes each continuous policy's service.
func (s *Scaler) Round(ctx context.Context) (r RoundReport) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.Started = s.opts.Now()
	defer func() { r.Took = s.opts.Now().Sub(r.Started) }()
	s.e.Invalidate() // a round sees the cluster as it is now
	r.Acting, r.Standby, r.Err = s.acting(ctx)
	if r.Err != nil || !r.Acting {
		// Whoever acts meanwhile decides without this memory; take it from the labels again.
		clear(s.memory)
		return r
	}
	services, err := s.e.Services(ctx)
	if err != nil {
		r.Err = err
		return r
	}
	var continuous []swarm.Service
	for _, svc := range services {
		if _, ok := continuousPolicy(svc.Spec); ok {
			continuous = append(continuous, svc)
		}
	}
	// Every policy is observed before any is written: a write drops the engine's snapshot,
	// and the policies' stats are read once for all of them, not once per write.
	observed := s.observe(ctx, continuous, r.Started)
	seen := map[string]bool{}
	for _, o := range observed {
		seen[o.target.Service.ID] = true
		out := s.decide(ctx, o, r.Started)
		r.Outcomes = append(r.Outcomes, out)
		if out.Err != nil && leadershipLost(out.Err) {
			// Lost the leadership mid-round: the rest is the new leader's controller's.
			r.Acting, r.Standby = false, noLeader
			clear(s.memory)
			return r
		}
	}
	for id := range s.memory {
		if !seen[id] {
			delete(s.memory, id) // its policy went, or is decided at plan again
		}
	}
	if r.Started.Sub(s.lastBeat) >= s.opts.Heartbeat {
		beat := Heartbeat{Version: 1, Holder: s.opts.Holder, Node: s.selfNode, RoundAt: s.opts.Now(), Interval: s.opts.Interval, Policies: len(r.Outcomes)}
		switch err := s.e.recordHeartbeat(ctx, beat); {
		case err != nil && leadershipLost(err):
			// The node led when the round began and lost it since (an election under way):
			// the new leader's controller decides from here, from the labels.
			r.Acting, r.Standby = false, noLeader
			clear(s.memory)
		case err != nil:
			r.Err = fmt.Errorf("record the heartbeat: %w", err)
		default:
			s.lastBeat = r.Started
		}
	}
	return r
}

// observation is one continuous policy as a round observed it.
type observation struct {
	target   *ScalingTarget
	obs      *PolicyObservation
	warnings []FieldProblem
	err      error
}

// observe reads the continuous policies' services and metrics: one measurement of Docker
// stats for all of those that read cpu or memory from it (the policies decided at plan are
// left to the provider), then each policy's observation from it.
func (s *Scaler) observe(ctx context.Context, services []swarm.Service, now time.Time) []observation {
	var stats []swarm.Service
	for _, svc := range services {
		if tracksTaskLoad(svc.Spec) {
			stats = append(stats, svc)
		}
	}
	var m *statsMeasurement
	if len(stats) > 0 {
		m = &statsMeasurement{byService: map[string]serviceSamples{}}
		var all []serviceSamples
		all, m.err = s.e.measure(ctx, stats, 0, true)
		for _, one := range all {
			m.byService[one.serviceID] = one
		}
	}
	out := make([]observation, 0, len(services))
	for _, svc := range services {
		o := observation{}
		o.target, o.err = s.e.ScalingTarget(ctx, svc.ID)
		if o.err == nil {
			o.obs, o.warnings, o.err = s.e.observePolicy(ctx, o.target, *o.target.Policy, m)
		}
		if o.target == nil {
			o.target = &ScalingTarget{Service: svc}
		}
		if o.obs != nil {
			o.obs.At = now
		}
		out = append(out, o)
	}
	return out
}

// continuousPolicy is the service's policy when it asks for continuous evaluation.
func continuousPolicy(spec swarm.ServiceSpec) (ScalingPolicy, bool) {
	label := spec.Labels[ScalingOwnerLabel]
	if label == "" || spec.Mode.Replicated == nil {
		return ScalingPolicy{}, false
	}
	p, err := ParseScalingPolicy(label)
	return p, err == nil && p.Evaluation == EvaluationContinuous
}

// acting says whether this controller acts now: it holds its node's lock (one controller per
// node) and its node is the Raft leader (one node). Standby says why not. While the managers
// cannot say who leads (within LeaderWait, or they answer that there is no leader), the
// controller stands by.
func (s *Scaler) acting(ctx context.Context) (acting bool, standby string, err error) {
	held, err := s.lock.tryLock(s.opts.LockPath)
	if err != nil {
		return false, "", err
	}
	if !held {
		return false, "another controller on this node holds its lock", nil
	}
	leaderCtx, cancel := context.WithTimeout(ctx, s.opts.LeaderWait)
	defer cancel()
	electing := func(err error) bool { return ctx.Err() == nil && managersElecting(err, leaderCtx.Err() != nil) }
	if s.selfNode == "" {
		if s.selfNode, err = s.e.localNodeID(leaderCtx); err != nil {
			if electing(err) {
				return false, noLeader, nil
			}
			return false, "", err
		}
	}
	nodes, err := s.e.Nodes(leaderCtx)
	if err != nil {
		if electing(err) {
			return false, noLeader, nil
		}
		return false, "", err
	}
	for _, n := range nodes {
		if n.ManagerStatus != nil && n.ManagerStatus.Leader {
			if n.ID == s.selfNode {
				return true, "", nil
			}
			return false, fmt.Sprintf("the swarm's leader is node %s, where another controller acts", nodeName(n)), nil
		}
	}
	return false, noLeader, nil
}

// managersElecting says whether a failed call to learn who leads means that the swarm has no
// leader for now: the manager said so (503: no leader, or it is no manager any more), or the
// call had no answer when the round stopped waiting (waited: a manager holds calls while the
// managers elect a leader). A daemon that cannot be reached at all is not that: it stays an
// error.
func managersElecting(err error, waited bool) bool {
	var ce *ConnectError
	if errors.As(err, &ce) {
		return false
	}
	return waited || cerrdefs.IsUnavailable(err) || strings.Contains(strings.ToLower(err.Error()), "does not have a leader")
}

// leadershipLost says whether a write failed because this manager stopped leading after the
// round found that it led: Raft refuses the write ("node lost leader status"), or the managers
// answer that there is no leader. Such a round ends standing by, not failed.
func leadershipLost(err error) bool {
	msg := strings.ToLower(err.Error())
	return managersElecting(err, false) || strings.Contains(msg, "lost leader status") || strings.Contains(msg, "no elected cluster leader")
}

// decide observes, decides and writes one policy. It writes only when the count, the desired
// count or the holds change (or the state was last written by terraform), only when no rollout
// of the service is in progress, and only if the policy and state are still what it read.
func (s *Scaler) decide(ctx context.Context, o observation, now time.Time) ScaleOutcome {
	t := o.target
	out := ScaleOutcome{ServiceID: t.Service.ID, Service: t.Service.Spec.Name, Warnings: o.warnings}
	if o.err != nil {
		out.Err = o.err
		return out
	}
	p := *t.Policy
	out.Before, out.After, out.DryRun = t.Replicas, t.Replicas, p.DryRun
	mem := s.memoryOf(t, now)
	obs := o.obs
	obs.History = mem.history
	d, ok, problems := p.Decide(obs)
	if !ok {
		out.Err = fmt.Errorf("the policy cannot be decided: %s", problemsText(problems))
		return out
	}
	mem.history = d.NewHistory
	out.Desired, out.Reason, out.Holds, out.ReleaseAt = d.Desired, d.Reason, d.Holds, d.ReleaseAt
	if t.RolloutInProgress {
		// On each write of a service, Swarm makes the spec before the write its PreviousSpec
		// and clears its UpdateStatus. A write during a rollout would make a rollback (Swarm's,
		// or the one the engine asks for) return to the spec being rolled out, and would hide
		// what the rollout moved off from CollectSuperseded. The decision waits for the end of
		// the rollout.
		return out
	}
	if d.After == t.Replicas && d.Desired == t.State.Desired && slices.Equal(d.Holds, t.State.Holds) && t.State.By == ByController {
		return out
	}
	st := ScalingState{Desired: d.Desired, Decision: d.Reason, ScaledAt: t.State.ScaledAt, DecidedAt: now, DryRun: p.DryRun,
		Holds: d.Holds, By: ByController, History: pruneHistory(mem.history, now, p.historyWindow())}
	var replicas *int
	if d.After != t.Replicas {
		st.ScaledAt, replicas = now, &d.After
	}
	w := policyWrite{policy: t.Service.Spec.Labels[ScalingOwnerLabel], state: st.label(), replicas: replicas,
		expect: &policyLabels{policy: mem.policy, state: mem.state}}
	if _, err := s.e.writePolicy(ctx, t.Service.ID, w); err != nil {
		out.Err = err
		if errors.Is(err, ErrStaleDecision) {
			delete(s.memory, t.Service.ID)
		}
		return out
	}
	mem.state = w.state
	out.Written, out.Scaled, out.After = true, replicas != nil, d.After
	return out
}

// memoryOf is the scaler's memory of the target's service, started from its labels when the
// scaler has none or the labels changed under it: the history the label keeps, and its last
// recommendation counted as held until now.
func (s *Scaler) memoryOf(t *ScalingTarget, now time.Time) *scalerMemory {
	policy, state := t.Service.Spec.Labels[ScalingOwnerLabel], t.Service.Spec.Labels[ScalingStateLabel]
	if m := s.memory[t.Service.ID]; m != nil && m.policy == policy && m.state == state {
		return m
	}
	m := &scalerMemory{policy: policy, state: state, history: slices.Clone([]Recommendation(t.State.History))}
	if n := len(m.history); n > 0 && m.history[n-1].At.Before(now) {
		m.history = append(m.history, Recommendation{At: now, Replicas: m.history[n-1].Replicas})
	}
	s.memory[t.Service.ID] = m
	return m
}

func problemsText(problems []FieldProblem) string {
	if len(problems) == 0 {
		return "a metric of the policy was not observed"
	}
	text := ""
	for i, p := range problems {
		if i > 0 {
			text += "; "
		}
		if p.Path != "" {
			text += p.Path + ": "
		}
		text += p.Detail
	}
	return text
}

// recordHeartbeat writes the heartbeat into the labels of HeartbeatConfig, making it first if
// there is none. The write is checked against the config's version; another controller's write
// in between wins (the heartbeat says who ran a round last), and this one is dropped.
func (e *Engine) recordHeartbeat(ctx context.Context, h Heartbeat) error {
	b, _ := json.Marshal(h)
	label := string(b)
	cfg, _, err := e.cli.ConfigInspectWithRaw(ctx, HeartbeatConfig)
	if cerrdefs.IsNotFound(err) {
		_, err = e.CreateObject(ctx, KindConfig, ObjectSpec{Name: HeartbeatConfig, Labels: map[string]string{HeartbeatLabel: label},
			Data: []byte("The swarm-autoscaler controller's heartbeat is in this config's labels.\n")})
		var exists *ExistsError
		if errors.As(err, &exists) || cerrdefs.IsConflict(err) || cerrdefs.IsAlreadyExists(err) {
			return nil // another controller made it first
		}
		return err
	}
	if err != nil {
		return e.wrap("inspect config "+HeartbeatConfig, err)
	}
	spec := cfg.Spec
	spec.Labels = maps.Clone(spec.Labels)
	if spec.Labels == nil {
		spec.Labels = map[string]string{}
	}
	spec.Labels[HeartbeatLabel] = label
	if err := e.cli.ConfigUpdate(ctx, cfg.ID, cfg.Version, spec); err != nil && !isOutOfSequence(err) {
		return e.wrap("update config "+HeartbeatConfig, err)
	}
	return nil
}

// LatestHeartbeat reads the acting controller's heartbeat from the shared snapshot; ok is
// false when no controller ever recorded one.
func (e *Engine) LatestHeartbeat(ctx context.Context) (h Heartbeat, ok bool, err error) {
	o, err := e.ObjectBy(ctx, KindConfig, ByName, HeartbeatConfig)
	if errors.Is(err, ErrNotFound) {
		return h, false, nil
	}
	if err != nil {
		return h, false, err
	}
	if err := json.Unmarshal([]byte(o.Labels[HeartbeatLabel]), &h); err != nil {
		return h, false, fmt.Errorf("label %s of config %s: %w", HeartbeatLabel, HeartbeatConfig, err)
	}
	return h, true, nil
}

// Autoscalers lists the services that run the controller (AutoscalerLabel), from the shared
// snapshot.
func (e *Engine) Autoscalers(ctx context.Context) ([]swarm.Service, error) {
	list, err := e.Services(ctx)
	if err != nil {
		return nil, err
	}
	var out []swarm.Service
	for _, svc := range list {
		if svc.Spec.Labels[AutoscalerLabel] != "" {
			out = append(out, svc)
		}
	}
	return out, nil
}

// ControllerStatus is what the cluster says of its autoscaling controllers, for a plan.
type ControllerStatus struct {
	// Services are the controller services (AutoscalerLabel) and Running how many tasks they
	// run in all.
	Services []string
	Running  int
	// Heartbeat is the acting controller's latest; Fresh says it is recent on the manager's
	// clock (a controller acted within two heartbeats and intervals).
	Heartbeat *Heartbeat
	Fresh     bool
}

// Active says whether a controller decides the continuous policies now.
func (c ControllerStatus) Active() bool { return c.Running > 0 && c.Fresh }

// Controllers reads the controllers' status from the shared snapshot.
func (e *Engine) Controllers(ctx context.Context) (ControllerStatus, error) {
	var c ControllerStatus
	services, err := e.Autoscalers(ctx)
	if err != nil {
		return c, err
	}
	for _, svc := range services {
		c.Services = append(c.Services, svc.Spec.Name)
		if svc.ServiceStatus != nil {
			c.Running += int(svc.ServiceStatus.RunningTasks)
		}
	}
	h, ok, err := e.LatestHeartbeat(ctx)
	if err != nil {
		return c, err
	}
	if ok {
		c.Heartbeat = &h
		c.Fresh = h.Fresh(e.clock.now(time.Now()))
	}
	return c, nil
}

// DeleteAutoscaler removes a controller's service and, when no other controller service is
// left, its heartbeat, so that plans say at once that no controller runs.
func (e *Engine) DeleteAutoscaler(ctx context.Context, id string) error {
	if err := e.DeleteService(ctx, id); err != nil {
		return err
	}
	e.Invalidate()
	left, err := e.Autoscalers(ctx)
	if err != nil || len(left) > 0 {
		return err
	}
	o, err := e.ObjectBy(ctx, KindConfig, ByName, HeartbeatConfig)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return e.removeObject(ctx, KindConfig, o.ID)
}
