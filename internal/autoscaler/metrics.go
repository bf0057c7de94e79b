package autoscaler

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

// Metrics are the controller's figures, served in Prometheus' text format.
type Metrics struct {
	mu        sync.Mutex
	rounds    float64
	errors    float64
	acting    float64
	duration  float64               // seconds, of the latest round
	decisions map[[2]string]float64 // by service and direction, written decisions
	desired   map[string]float64
	current   map[string]float64
}

// NewMetrics makes empty metrics.
func NewMetrics() *Metrics {
	return &Metrics{decisions: map[[2]string]float64{}, desired: map[string]float64{}, current: map[string]float64{}}
}

func (m *Metrics) observeRound(r orchestrator.RoundReport) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rounds++
	m.duration = r.Took.Seconds()
	m.acting = 0
	if r.Acting {
		m.acting = 1
	}
	if r.Err != nil {
		m.errors++
	}
	if !r.Acting {
		clear(m.desired) // another controller acts: its figures are the ones to read
		clear(m.current)
	}
	seen := map[string]bool{}
	for _, o := range r.Outcomes {
		if o.Err != nil {
			m.errors++
			continue
		}
		seen[o.Service] = true
		m.desired[o.Service], m.current[o.Service] = float64(o.Desired), float64(o.After)
		if o.Written {
			m.decisions[[2]string{o.Service, o.Direction()}]++
		}
	}
	for s := range m.desired {
		if !seen[s] {
			delete(m.desired, s)
			delete(m.current, s)
		}
	}
}

// ServeHTTP writes the metrics in Prometheus' text exposition format.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	m.write(w)
}

func (m *Metrics) write(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	metric := func(name, kind, help string) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, kind)
	}
	metric("swarm_autoscaler_rounds_total", "counter", "Rounds run.")
	fmt.Fprintf(w, "swarm_autoscaler_rounds_total %g\n", m.rounds)
	metric("swarm_autoscaler_errors_total", "counter", "Rounds and policy decisions that failed.")
	fmt.Fprintf(w, "swarm_autoscaler_errors_total %g\n", m.errors)
	metric("swarm_autoscaler_acting", "gauge", "1 while this controller decides the continuous policies, 0 while it stands by.")
	fmt.Fprintf(w, "swarm_autoscaler_acting %g\n", m.acting)
	metric("swarm_autoscaler_round_duration_seconds", "gauge", "How long the latest round took.")
	fmt.Fprintf(w, "swarm_autoscaler_round_duration_seconds %g\n", m.duration)
	metric("swarm_autoscaler_decisions_total", "counter", "Decisions written to a service, by direction (up, down, none: a hold or a dry run recorded).")
	keys := make([][2]string, 0, len(m.decisions))
	for k := range m.decisions {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+"\x00"+keys[i][1] < keys[j][0]+"\x00"+keys[j][1] })
	for _, k := range keys {
		fmt.Fprintf(w, "swarm_autoscaler_decisions_total{service=%s,direction=%s} %g\n", quote(k[0]), quote(k[1]), m.decisions[k])
	}
	for _, g := range []struct {
		name, help string
		values     map[string]float64
	}{
		{"swarm_autoscaler_desired_replicas", "The replica count the latest round decided, by service.", m.desired},
		{"swarm_autoscaler_current_replicas", "The service's replica count after the latest round, by service.", m.current},
	} {
		metric(g.name, "gauge", g.help)
		names := make([]string, 0, len(g.values))
		for s := range g.values {
			names = append(names, s)
		}
		sort.Strings(names)
		for _, s := range names {
			fmt.Fprintf(w, "%s{service=%s} %g\n", g.name, quote(s), g.values[s])
		}
	}
}

// quote is a label value in the exposition format.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`).Replace(s) + `"`
}
