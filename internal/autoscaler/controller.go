// Package autoscaler is the autoscaling controller's adapter over the engine, as
// internal/provider is Terraform's: it runs the engine's scaling rounds every interval, and
// reports what they did as JSON log lines, Prometheus metrics and a health endpoint. Every
// rule (who acts, what is observed, what is decided, when a service is written) is the
// engine's (orchestrator.Scaler).
package autoscaler

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

// Rounds is the engine side of the controller: one round at a time.
type Rounds interface {
	Round(ctx context.Context) orchestrator.RoundReport
}

// Clock is the controller's time; tests give it a fake one.
type Clock interface {
	Now() time.Time
	// After delivers once, d from now.
	After(d time.Duration) <-chan time.Time
}

// RealClock is the system's clock.
type RealClock struct{}

func (RealClock) Now() time.Time                         { return time.Now() }
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Controller runs rounds every Interval until its context ends.
type Controller struct {
	Rounds   Rounds
	Interval time.Duration
	Clock    Clock
	Log      *slog.Logger
	Metrics  *Metrics

	mu         sync.Mutex
	lastRound  time.Time // when the latest round ended without error
	roundStart time.Time // when the round under way started; zero between rounds
	acting     bool
	standby    string
}

// roundTimeout bounds one round: a round that has not ended by then (an engine that stopped
// answering) is cut short, and the next one starts.
func (c *Controller) roundTimeout() time.Duration { return max(time.Minute, 10*c.Interval) }

// Run runs a round at once and then one every Interval (measured from the start of the one
// before; a round that takes longer is followed at once by the next), and one sooner when a
// stabilization window that held a decision lets go before the next interval. It returns when
// ctx ends.
func (c *Controller) Run(ctx context.Context) {
	for {
		start := c.Clock.Now()
		r := c.round(ctx)
		now := c.Clock.Now()
		wait := c.Interval - now.Sub(start)
		if next := r.NextDecision(); !next.IsZero() && next.Sub(now) < wait {
			wait = next.Sub(now)
		}
		if wait < 0 {
			wait = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-c.Clock.After(wait):
		}
	}
}

// round runs one round, reports it, and returns it.
func (c *Controller) round(ctx context.Context) orchestrator.RoundReport {
	c.mu.Lock()
	c.roundStart = c.Clock.Now()
	c.mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, c.roundTimeout())
	r := c.Rounds.Round(rctx)
	cancel()
	c.mu.Lock()
	c.roundStart = time.Time{}
	if r.Err == nil {
		c.lastRound = c.Clock.Now()
	}
	changed := r.Err == nil && (r.Acting != c.acting || r.Standby != c.standby)
	c.acting, c.standby = r.Acting, r.Standby
	c.mu.Unlock()

	c.Metrics.observeRound(r)
	switch {
	case r.Err != nil:
		c.Log.Error("round failed", "error", r.Err.Error(), "acting", r.Acting, "took_ms", r.Took.Milliseconds())
	case changed && r.Acting:
		c.Log.Info("acting: this controller decides the continuous policies", "policies", len(r.Outcomes))
	case changed:
		c.Log.Info("standing by", "why", r.Standby)
	}
	for _, o := range r.Outcomes {
		attrs := []any{"service", o.Service, "service_id", o.ServiceID, "from", o.Before, "desired", o.Desired, "to", o.After,
			"direction", o.Direction(), "reason", o.Reason, "dry_run", o.DryRun, "scaled", o.Scaled}
		if len(o.Holds) > 0 {
			attrs = append(attrs, "holds", o.Holds)
		}
		for _, w := range o.Warnings {
			c.Log.Warn(w.Summary, "service", o.Service, "detail", w.Detail)
		}
		switch {
		case o.Err != nil:
			c.Log.Error("decision failed", append(attrs, "error", o.Err.Error())...)
		case o.Written:
			c.Log.Info("decision", attrs...)
		default:
			c.Log.Debug("decision unchanged", attrs...)
		}
	}
	c.Log.Debug("round", "acting", r.Acting, "policies", len(r.Outcomes), "took_ms", r.Took.Milliseconds())
	return r
}

// Healthy says whether the controller runs its rounds: it has finished one, and the last
// ended within three intervals, or the one under way started within the round timeout (a
// round that scales many services takes longer than an interval, and is not a fault).
func (c *Controller) Healthy() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.Clock.Now()
	switch {
	case c.lastRound.IsZero():
		return false
	case now.Sub(c.lastRound) <= 3*c.Interval+time.Second:
		return true
	}
	return !c.roundStart.IsZero() && now.Sub(c.roundStart) <= c.roundTimeout()
}

// roundUnderway is when the round under way started; zero between rounds.
func (c *Controller) roundUnderway() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.roundStart
}
