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

	mu        sync.Mutex
	lastRound time.Time // when the latest round ended
	acting    bool
	standby   string
}

// Run runs a round at once and then one every Interval (measured from the start of the one
// before; a round that takes longer is followed at once by the next). It returns when ctx ends.
func (c *Controller) Run(ctx context.Context) {
	for {
		start := c.Clock.Now()
		c.round(ctx)
		wait := c.Interval - c.Clock.Now().Sub(start)
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

// round runs one round and reports it.
func (c *Controller) round(ctx context.Context) {
	r := c.Rounds.Round(ctx)
	c.mu.Lock()
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
}

// Healthy says whether the controller has finished a round within the last three intervals:
// it is up, reaches the engine, and runs its rounds.
func (c *Controller) Healthy() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.lastRound.IsZero() && c.Clock.Now().Sub(c.lastRound) <= 3*c.Interval+time.Second
}
