package autoscaler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator/dockerfake"
)

// fakeClock is a clock the test moves; After channels fire when it passes their time.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	// waiting hears of each After: the loop is idle until the clock moves.
	waiting chan struct{}
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(t0 time.Time) *fakeClock {
	return &fakeClock{now: t0, waiting: make(chan struct{}, 16)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, waiter{c.now.Add(d), ch})
	c.waiting <- struct{}{}
	return ch
}

// Advance moves the clock and fires what is due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
	}
	c.waiters = kept
}

// Next moves the clock to the earliest pending After, and fires it; it returns how far it moved.
func (c *fakeClock) Next() time.Duration {
	c.mu.Lock()
	var at time.Time
	for _, w := range c.waiters {
		if at.IsZero() || w.at.Before(at) {
			at = w.at
		}
	}
	d := at.Sub(c.now)
	c.mu.Unlock()
	c.Advance(d)
	return d
}

// harness is a controller over an in-memory swarm with one continuous cpu policy (1 to 4
// replicas, a 50% target, a 20 s scale-down window) on service "web" (a 0.05 CPU limit).
type harness struct {
	t      *testing.T
	clock  *fakeClock
	swarm  *dockerfake.Swarm
	engine *orchestrator.Engine
	policy orchestrator.ScalingPolicy
	logs   *bytes.Buffer
	ctl    *Controller
}

const interval = 5 * time.Second

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, clock: newFakeClock(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)), logs: &bytes.Buffer{}}
	h.swarm = dockerfake.New(h.clock.Now)
	h.policy = orchestrator.ScalingPolicy{MinReplicas: 1, MaxReplicas: 4, Tolerance: orchestrator.DefaultPolicyTolerance,
		Metrics: []orchestrator.PolicyMetric{{Type: orchestrator.MetricCPU, TargetUtilization: "50"}}, ScaleUp: orchestrator.DefaultScaleUp,
		ScaleDown: orchestrator.PolicyRules{StabilizationWindow: "20s"}, Evaluation: orchestrator.EvaluationContinuous}
	h.swarm.AddService("web", 1, 0.05, map[string]string{orchestrator.ScalingOwnerLabel: h.policy.Label()})
	var err error
	h.engine, err = orchestrator.NewWithAPI(context.Background(), h.swarm, orchestrator.Config{Host: "unix:///fake.sock"})
	if err != nil {
		t.Fatal(err)
	}
	scaler := h.engine.NewScaler(orchestrator.ScalerOptions{Holder: "test", Interval: interval, Now: h.clock.Now})
	h.ctl = &Controller{Rounds: scaler, Interval: interval, Clock: h.clock, Metrics: NewMetrics(),
		Log: slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	return h
}

// run starts the loop and waits for its first round to end.
func (h *harness) run(ctx context.Context) {
	go h.ctl.Run(ctx)
	<-h.clock.waiting
}

// round moves the clock one interval and waits for the round it starts to end.
func (h *harness) round() {
	h.clock.Advance(interval)
	<-h.clock.waiting
}

// The loop, on the engine over an in-memory swarm, with a clock the test moves: load scales
// the service up in two rounds (1 -> 2 -> 4, the maximum), a steady load writes nothing, and
// without load the count falls only once the 20 s window has passed since the last high
// recommendation, then stays, with nothing written. One JSON line per decision written.
func TestControllerLoop(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.swarm.SetLoad("web", 0.05) // 100% of the limit

	h.run(ctx)
	if got := h.swarm.Replicas("web"); got != 2 {
		t.Fatalf("after the first round: %d replicas, want 2 (ceil(1 × 100/50))", got)
	}
	h.round()
	if got := h.swarm.Replicas("web"); got != 4 {
		t.Fatalf("after the second round: %d replicas, want 4", got)
	}
	writes := h.swarm.Writes("web")
	for range 4 {
		h.round()
	}
	if got := h.swarm.Writes("web"); got != writes || h.swarm.Replicas("web") != 4 {
		t.Fatalf("steady load at the maximum: %d writes (was %d), %d replicas", got, writes, h.swarm.Replicas("web"))
	}

	lastHigh := h.clock.Now()
	h.swarm.SetLoad("web", 0.001) // 2%
	var droppedAt time.Time
	for range 10 {
		h.round()
		if droppedAt.IsZero() && h.swarm.Replicas("web") < 4 {
			droppedAt = h.clock.Now()
		}
	}
	if droppedAt.IsZero() || droppedAt.Sub(lastHigh) < 20*time.Second {
		t.Fatalf("the scale-down came %s after the last high recommendation, want after the 20s window", droppedAt.Sub(lastHigh))
	}
	if got := h.swarm.Replicas("web"); got != 1 {
		t.Fatalf("without load: %d replicas, want 1", got)
	}
	writes = h.swarm.Writes("web")
	for range 3 {
		h.round()
	}
	if got := h.swarm.Writes("web"); got != writes {
		t.Fatalf("steady without load: %d writes, want %d", got, writes)
	}

	var scaled []string
	for _, line := range strings.Split(strings.TrimSpace(h.logs.String()), "\n") {
		var l struct {
			Msg      string
			From, To int
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("a log line is not JSON: %q", line)
		}
		if l.Msg == "decision" && l.From != l.To {
			scaled = append(scaled, strconv.Itoa(l.From)+"->"+strconv.Itoa(l.To))
		}
	}
	if want := []string{"1->2", "2->4", "4->1"}; strings.Join(scaled, " ") != strings.Join(want, " ") {
		t.Errorf("decisions logged %v, want %v", scaled, want)
	}
	if !h.ctl.Healthy() {
		t.Error("the controller says it is not healthy after its rounds")
	}
	if h.swarm.Heartbeat() == "" {
		t.Error("no heartbeat was recorded")
	}
}

// The same observation gives the same decision whichever adapter asks: the provider's plan
// (an observation kept in private state as JSON, then ScalingPolicy.Decide) and the
// controller's round.
func TestControllerDecidesAsThePlan(t *testing.T) {
	h := newHarness(t)
	h.swarm.SetLoad("web", 0.04) // 80% of the limit
	ctx := context.Background()

	target, err := h.engine.ScalingTarget(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	obs, _, err := h.engine.ObservePolicy(ctx, target, *target.Policy)
	if err != nil {
		t.Fatal(err)
	}
	obs.At = h.clock.Now()
	kept, err := json.Marshal(obs) // as the refresh keeps it for the plan
	if err != nil {
		t.Fatal(err)
	}
	var planned orchestrator.PolicyObservation
	if err := json.Unmarshal(kept, &planned); err != nil {
		t.Fatal(err)
	}
	plan, ok, problems := target.Policy.Decide(&planned)
	if !ok || len(problems) > 0 {
		t.Fatalf("the plan could not decide: %v", problems)
	}

	h.engine.Invalidate()
	r := h.ctl.Rounds.Round(ctx)
	if r.Err != nil || !r.Acting || len(r.Outcomes) != 1 {
		t.Fatalf("round: %+v", r)
	}
	got := r.Outcomes[0]
	if got.Desired != plan.Desired || got.Reason != plan.Reason {
		t.Fatalf("the controller decided %d (%q), the plan %d (%q)", got.Desired, got.Reason, plan.Desired, plan.Reason)
	}
	if plan.Desired != 2 {
		t.Fatalf("80%% against a 50%% target on 1 replica: decided %d, want 2", plan.Desired)
	}
}

// A policy that terraform rewrites between the controller's read and its write is not
// overwritten: the write is refused as stale, and the next round decides from the new policy.
func TestControllerNeverWritesOverANewPolicy(t *testing.T) {
	h := newHarness(t)
	h.swarm.SetLoad("web", 0.05)
	lower := h.policy
	lower.MaxReplicas = 1
	h.swarm.OnInspect = func(svc *swarm.Service) {
		svc.Spec.Labels[orchestrator.ScalingOwnerLabel] = lower.Label() // terraform applied a new policy meanwhile
		h.swarm.OnInspect = nil
	}
	r := h.ctl.Rounds.Round(context.Background())
	if len(r.Outcomes) != 1 || !errors.Is(r.Outcomes[0].Err, orchestrator.ErrStaleDecision) {
		t.Fatalf("the write over a changed policy: %+v", r.Outcomes)
	}
	if got := h.swarm.Replicas("web"); got != 1 {
		t.Fatalf("the stale decision scaled the service to %d", got)
	}
	r = h.ctl.Rounds.Round(context.Background())
	if len(r.Outcomes) != 1 || r.Outcomes[0].Err != nil || r.Outcomes[0].Desired != 1 || !strings.Contains(r.Outcomes[0].Reason, "lowered to max_replicas 1") {
		t.Fatalf("the next round, under the new policy: %+v", r.Outcomes)
	}
}

// A controller whose node is not the Raft leader stands by and writes nothing.
func TestControllerStandsByOffTheLeader(t *testing.T) {
	h := newHarness(t)
	h.swarm.SetLoad("web", 0.05)
	h.swarm.AddManager("manager-2", true)
	r := h.ctl.Rounds.Round(context.Background())
	if r.Err != nil || r.Acting || !strings.Contains(r.Standby, "manager-2") {
		t.Fatalf("off the leader: %+v", r)
	}
	if got := h.swarm.Writes("web"); got != 0 {
		t.Fatalf("a standby controller wrote %d times", got)
	}
}

// While the managers elect a new leader, a round cannot learn who leads: it ends standing by,
// without an error, so the controller stays healthy (its healthcheck would otherwise have
// Swarm restart it in the middle of the election) and asks again the next round. Once the
// managers have elected its node, the next round acts.
func TestControllerStandsByWhileTheManagersElect(t *testing.T) {
	h := newHarness(t)
	h.swarm.SetLoad("web", 0.05)
	// A short wait for the leader: the rounds take real time for it, the clock is the test's.
	h.ctl.Rounds = h.engine.NewScaler(orchestrator.ScalerOptions{Holder: "test", Interval: interval, Now: h.clock.Now, LeaderWait: 100 * time.Millisecond})
	h.swarm.SetElecting(true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.run(ctx)
	for range 5 { // longer than the healthcheck's three intervals
		h.round()
	}
	if !h.ctl.Healthy() {
		t.Fatalf("the controller is unhealthy after rounds during an election:\n%s", h.logs)
	}
	if got := h.swarm.Writes("web"); got != 0 {
		t.Fatalf("a controller with no leader to be sure of wrote %d times", got)
	}
	if !strings.Contains(h.logs.String(), `"msg":"standing by","why":"the swarm has no leader now`) {
		t.Fatalf("no line says the controller stands by for want of a leader:\n%s", h.logs)
	}
	h.swarm.SetElecting(false)
	h.round()
	if got := h.swarm.Replicas("web"); got != 2 {
		t.Fatalf("the first round after the election: %d replicas, want 2:\n%s", got, h.logs)
	}
}

// A scale-down window that is not a multiple of the interval (22 s against 5 s): the count
// falls when the window ends, in a round the controller runs then, not at the next interval
// after it (3 s later); the other rounds keep to the interval.
func TestControllerScalesDownWhenTheWindowEnds(t *testing.T) {
	h := newHarness(t)
	p := h.policy
	p.ScaleDown.StabilizationWindow = "22s"
	h.swarm.AddService("api", 1, 0.05, map[string]string{orchestrator.ScalingOwnerLabel: p.Label()})
	h.swarm.SetLoad("web", 0.001)
	h.swarm.SetLoad("api", 0.05) // 100% of the limit
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.run(ctx)
	h.round()
	if got := h.swarm.Replicas("api"); got != 4 {
		t.Fatalf("under load: %d replicas, want 4", got)
	}
	lastHigh := h.clock.Now() // the last round that saw the load
	h.swarm.SetLoad("api", 0.001)
	var steps []time.Duration
	for range 8 {
		steps = append(steps, h.clock.Next())
		<-h.clock.waiting
		if h.swarm.Replicas("api") < 4 {
			if at := h.clock.Now().Sub(lastHigh); at != 22*time.Second {
				t.Fatalf("the scale-down came %s after the last high recommendation, want when the 22s window ends (rounds %v)", at, steps)
			}
			if got := h.swarm.Replicas("api"); got != 1 {
				t.Fatalf("after the window: %d replicas, want 1", got)
			}
			return
		}
	}
	t.Fatalf("no scale-down within 8 rounds (rounds %v):\n%s", steps, h.logs)
}

// A manager that led when the round began and lost the leadership before its writes (Raft
// refuses them: "node lost leader status") ends the round standing by, as during an election,
// not failed; it writes nothing, stays healthy, and acts again once it leads.
func TestControllerStandsByWhenItLosesTheLeadership(t *testing.T) {
	h := newHarness(t)
	h.swarm.SetLoad("web", 0.05)
	h.swarm.SetLeaderLost(true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.run(ctx)
	for range 5 {
		h.round()
	}
	if strings.Contains(h.logs.String(), `"msg":"round failed"`) || !h.ctl.Healthy() {
		t.Fatalf("rounds on a manager that lost the leadership failed (healthy %v):\n%s", h.ctl.Healthy(), h.logs)
	}
	if !strings.Contains(h.logs.String(), `"msg":"standing by","why":"the swarm has no leader now`) {
		t.Fatalf("no line says the controller stands by for want of a leader:\n%s", h.logs)
	}
	if got := h.swarm.Writes("web"); got != 0 {
		t.Fatalf("%d writes went through on a manager that lost the leadership", got)
	}
	h.swarm.SetLeaderLost(false)
	h.round()
	if got := h.swarm.Replicas("web"); got != 2 {
		t.Fatalf("the first round as leader again: %d replicas, want 2:\n%s", got, h.logs)
	}
}

// A round observes every policy before it writes any: two services that both scale in one
// round cost one stats call per container, not a new measurement after each write.
func TestRoundMeasuresOnce(t *testing.T) {
	h := newHarness(t)
	h.swarm.AddService("api", 1, 0.05, map[string]string{orchestrator.ScalingOwnerLabel: h.policy.Label()})
	h.swarm.SetLoad("web", 0.05)
	h.swarm.SetLoad("api", 0.05)
	r := h.ctl.Rounds.Round(context.Background())
	if r.Err != nil || len(r.Outcomes) != 2 {
		t.Fatalf("round: %+v", r)
	}
	if h.swarm.Replicas("web") != 2 || h.swarm.Replicas("api") != 2 {
		t.Fatalf("both services should scale to 2: web %d, api %d", h.swarm.Replicas("web"), h.swarm.Replicas("api"))
	}
	if got := h.swarm.StatsCalls(); got != 2 {
		t.Fatalf("%d stats calls for 2 containers in one round", got)
	}
}

// blockingRounds ends its first round at once and holds every later one until released.
type blockingRounds struct {
	n       int
	release chan struct{}
}

func (b *blockingRounds) Round(ctx context.Context) orchestrator.RoundReport {
	b.n++
	if b.n > 1 {
		select {
		case <-b.release:
		case <-ctx.Done():
		}
	}
	return orchestrator.RoundReport{Acting: true}
}

// The controller stays healthy through a round longer than three intervals (a round that
// scales many services), up to the round timeout; it is not healthy before its first round.
func TestHealthyThroughALongRound(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
	rounds := &blockingRounds{release: make(chan struct{})}
	c := &Controller{Rounds: rounds, Interval: interval, Clock: clock, Metrics: NewMetrics(), Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	if c.Healthy() {
		t.Fatal("healthy before any round")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx)
	<-clock.waiting // the first round ended
	if !c.Healthy() {
		t.Fatal("not healthy after the first round")
	}
	clock.Advance(interval) // the second round starts and holds
	for c.roundUnderway().IsZero() {
		time.Sleep(time.Millisecond)
	}
	clock.Advance(4 * interval)
	if !c.Healthy() {
		t.Fatal("not healthy while a round is under way, within the round timeout")
	}
	clock.Advance(c.roundTimeout())
	if c.Healthy() {
		t.Fatal("healthy with a round under way for longer than the round timeout")
	}
	close(rounds.release)
	<-clock.waiting
	if !c.Healthy() {
		t.Fatal("not healthy once the long round ended")
	}
}

// While a rollout of the service has not ended (running, or paused), the controller writes
// nothing to it: Swarm would make the spec being rolled out the one a rollback returns to, and
// a write would resume a paused rollout. The decision is written once the rollout ends.
func TestControllerWaitsForTheRollout(t *testing.T) {
	for _, state := range []swarm.UpdateState{swarm.UpdateStateUpdating, swarm.UpdateStatePaused, swarm.UpdateStateRollbackStarted} {
		t.Run(string(state), func(t *testing.T) {
			h := newHarness(t)
			h.swarm.SetLoad("web", 0.05)
			h.swarm.SetUpdateStatus("web", state)
			r := h.ctl.Rounds.Round(context.Background())
			if len(r.Outcomes) != 1 || r.Outcomes[0].Written || h.swarm.Writes("web") != 0 {
				t.Fatalf("during the rollout: %+v, %d writes", r.Outcomes, h.swarm.Writes("web"))
			}
			h.swarm.SetUpdateStatus("web", swarm.UpdateStateCompleted)
			h.ctl.Rounds.Round(context.Background())
			if got := h.swarm.Replicas("web"); got != 2 {
				t.Fatalf("after the rollout: %d replicas, want 2", got)
			}
		})
	}
}
