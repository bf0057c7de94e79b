package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// testPrometheus is the real Prometheus started by scripts/swarm-up.sh.
func testPrometheus(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("TEST_PROMETHEUS")
	if addr == "" {
		t.Skip("needs a Prometheus server: run scripts/swarm-up.sh and source /tmp/swarmform-env (TEST_PROMETHEUS)")
	}
	return addr
}

// withUserinfo puts user:password into addr.
func withUserinfo(t *testing.T, addr, user, password string) string {
	t.Helper()
	u, err := url.Parse(addr)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(user, password)
	return u.String()
}

func TestQueryPrometheus(t *testing.T) {
	prom := testPrometheus(t)
	cases := []struct {
		name    string
		address string // default: prom
		query   string
		want    float64
		wantIs  error    // errors.Is target, when an error is expected
		wantErr []string // substrings of the error, when an error is expected
	}{
		{name: "vector", query: `vector(250)`, want: 250},
		{name: "scalar", query: `scalar(vector(4.5))`, want: 4.5},
		{name: "scalar literal", query: `-0.25`, want: -0.25},
		{name: "binary op", query: `vector(1) + vector(2)`, want: 3},
		{name: "two series summed", query: `label_replace(vector(1),"a","x","","") or label_replace(vector(2),"a","y","","")`, want: 3},
		{name: "three series summed", query: `label_replace(vector(1.5),"a","x","","") or label_replace(vector(2),"a","y","","") or label_replace(vector(-0.5),"a","z","","")`, want: 3},
		{name: "no such metric", query: `swarmform_metric_that_does_not_exist`, wantIs: ErrNoMetricData, wantErr: []string{"no series"}},
		{name: "NaN", query: `vector(0)/0`, wantIs: ErrNoMetricData, wantErr: []string{"NaN"}},
		{name: "+Inf", query: `vector(1)/0`, wantIs: ErrNoMetricData, wantErr: []string{"+Inf"}},
		{name: "NaN scalar", query: `scalar(vector(0)/0)`, wantIs: ErrNoMetricData, wantErr: []string{"NaN"}},
		{name: "one NaN series among others", query: `label_replace(vector(1),"a","x","","") or label_replace(vector(0)/0,"a","y","","")`, wantIs: ErrNoMetricData},
		{name: "syntax error", query: `sum(`, wantErr: []string{"bad_data", "HTTP 400", `"sum("`}},
		{name: "range vector", query: `up[1m]`, wantErr: []string{"instant vector or a scalar", "matrix"}},
		{name: "string", query: `"hello"`, wantErr: []string{"instant vector or a scalar", "string"}},
		{name: "unreachable", address: "http://127.0.0.1:1", query: `vector(1)`, wantErr: []string{"http://127.0.0.1:1", "connection refused"}},
		{name: "wrong path prefix", address: prom + "/no-such-prefix", query: `vector(1)`, wantErr: []string{"HTTP 404", "404 page not found"}},
		{name: "not http", address: "ftp://127.0.0.1:1", query: `vector(1)`, wantErr: []string{"http:// or https://"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := tc.address
			if addr == "" {
				addr = prom
			}
			got, err := QueryPrometheus(context.Background(), nil, addr, tc.query)
			if tc.wantIs == nil && tc.wantErr == nil {
				if err != nil {
					t.Fatalf("QueryPrometheus(%q): %v", tc.query, err)
				}
				if math.Abs(got-tc.want) > 1e-9 {
					t.Fatalf("QueryPrometheus(%q) = %v, want %v", tc.query, got, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("QueryPrometheus(%q) = %v, want an error", tc.query, got)
			}
			t.Logf("error: %v", err)
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("errors.Is(err, %v) = false for %v", tc.wantIs, err)
			}
			if tc.wantIs == nil && errors.Is(err, ErrNoMetricData) {
				t.Errorf("error must not be ErrNoMetricData (that means hold, not fail): %v", err)
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

// A series that Prometheus really scraped, not only PromQL arithmetic. Right after
// swarm-up.sh started Prometheus the first scrape may not have happened yet.
func TestQueryPrometheusScrapedSeries(t *testing.T) {
	prom := testPrometheus(t)
	const query = `up{job="prometheus"}`
	deadline := time.Now().Add(15 * time.Second)
	for {
		got, err := QueryPrometheus(context.Background(), &http.Client{}, prom, query)
		if err == nil {
			if got != 1 {
				t.Fatalf("QueryPrometheus(%q) = %v, want 1", query, got)
			}
			return
		}
		if !errors.Is(err, ErrNoMetricData) || time.Now().After(deadline) {
			t.Fatalf("QueryPrometheus(%q): %v", query, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// Credentials in the address must never reach an error message: not from the request URL
// the HTTP client quotes, nor from url.Parse quoting a malformed address.
func TestQueryPrometheusHidesCredentials(t *testing.T) {
	prom := testPrometheus(t)
	const user, password = "swarmform-user", "secret"
	for _, tc := range []struct{ name, address, query string }{
		{"query error", withUserinfo(t, prom, user, password), `sum(`},
		{"no data", withUserinfo(t, prom, user, password), `swarmform_metric_that_does_not_exist`},
		{"unreachable", "http://" + user + ":" + password + "@127.0.0.1:1", `vector(1)`},
		{"wrong prefix", withUserinfo(t, prom, user, password) + "/no-such-prefix", `vector(1)`},
		{"bad port", "http://" + user + ":" + password + "@127.0.0.1:notaport", `vector(1)`},
		{"bad scheme", "ftp://" + user + ":" + password + "@127.0.0.1:1", `vector(1)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := QueryPrometheus(context.Background(), nil, tc.address, tc.query)
			if err == nil {
				t.Fatalf("QueryPrometheus(%q) succeeded, want an error", tc.query)
			}
			t.Logf("error: %v", err)
			for _, s := range []string{password, user, "@"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q contains %q", err, s)
				}
			}
		})
	}

	// Prometheus itself ignores basic auth, so a query with credentials still works.
	got, err := QueryPrometheus(context.Background(), nil, withUserinfo(t, prom, user, password), `vector(7)`)
	if err != nil || got != 7 {
		t.Fatalf("QueryPrometheus with credentials = %v, %v; want 7", got, err)
	}
}

// The caller's deadline wins over the default timeout, and its error stays recognisable.
func TestQueryPrometheusContextDeadline(t *testing.T) {
	prom := testPrometheus(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	_, err := QueryPrometheus(ctx, nil, prom, `vector(1)`)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

// A path prefix (Prometheus behind a proxy or with --web.route-prefix) is kept, with or
// without a trailing slash, and the query is escaped. httptest only records the request.
func TestQueryPrometheusURLJoin(t *testing.T) {
	const query = `sum(rate(http_requests_total{job="a b",path=~"/x&y=1"}[1m])) / 2 + 1`
	var gotPath, gotQuery, gotUser, gotPassword string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath = r.URL.Path
		gotQuery = r.URL.Query().Get("query")
		gotUser, gotPassword, _ = r.BasicAuth()
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"scalar","result":[1700000000.123,"42"]}}`)
	}))
	defer srv.Close()

	for _, tc := range []struct{ address, wantPath string }{
		{srv.URL, "/api/v1/query"},
		{srv.URL + "/", "/api/v1/query"},
		{srv.URL + "/prom", "/prom/api/v1/query"},
		{srv.URL + "/prom/", "/prom/api/v1/query"},
		{srv.URL + "/a/b//", "/a/b/api/v1/query"},
		{withUserinfo(t, srv.URL+"/prom", "u", "p w"), "/prom/api/v1/query"},
	} {
		gotPath, gotQuery, gotUser, gotPassword = "", "", "", ""
		got, err := QueryPrometheus(context.Background(), srv.Client(), tc.address, query)
		if err != nil {
			t.Fatalf("%s: %v", tc.address, err)
		}
		if got != 42 {
			t.Errorf("%s: got %v, want 42", tc.address, got)
		}
		if gotPath != tc.wantPath {
			t.Errorf("%s: request path %q, want %q", tc.address, gotPath, tc.wantPath)
		}
		if gotQuery != query {
			t.Errorf("%s: query parameter %q, want %q", tc.address, gotQuery, query)
		}
		if strings.Contains(tc.address, "@") && (gotUser != "u" || gotPassword != "p w") {
			t.Errorf("%s: basic auth %q:%q, want u:p w", tc.address, gotUser, gotPassword)
		}
	}
}
