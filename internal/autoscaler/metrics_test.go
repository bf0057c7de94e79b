package autoscaler

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

// The metrics a round leaves, in Prometheus' text format: rounds, errors, whether this
// controller acts, the round's duration, written decisions by service and direction, and each
// service's desired and current count; a service whose policy went is dropped from the gauges.
func TestMetrics(t *testing.T) {
	m := NewMetrics()
	m.observeRound(orchestrator.RoundReport{Acting: true, Took: 250 * time.Millisecond, Outcomes: []orchestrator.ScaleOutcome{
		{Service: "web", Before: 1, Desired: 2, After: 2, Written: true, Scaled: true},
		{Service: `api "v2"`, Before: 3, Desired: 3, After: 3},
		{Service: "db", Err: errors.New("boom")},
	}})
	m.observeRound(orchestrator.RoundReport{Acting: true, Took: 100 * time.Millisecond, Outcomes: []orchestrator.ScaleOutcome{
		{Service: "web", Before: 2, Desired: 4, After: 4, Written: true, Scaled: true},
	}})
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	got := rec.Body.String()
	for _, want := range []string{
		"# TYPE swarm_autoscaler_rounds_total counter\nswarm_autoscaler_rounds_total 2\n",
		"swarm_autoscaler_errors_total 1\n",
		"swarm_autoscaler_acting 1\n",
		"swarm_autoscaler_round_duration_seconds 0.1\n",
		`swarm_autoscaler_decisions_total{service="web",direction="up"} 2` + "\n",
		`swarm_autoscaler_desired_replicas{service="web"} 4` + "\n",
		`swarm_autoscaler_current_replicas{service="web"} 4` + "\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the metrics lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, `service="api`) {
		t.Errorf("a service no longer evaluated is still in the gauges:\n%s", got)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("content type %q", ct)
	}
	// A label value is escaped as the exposition format wants.
	if q := quote(`api "v2"` + "\n"); q != `"api \"v2\"\n"` {
		t.Errorf("quote = %s", q)
	}
}
