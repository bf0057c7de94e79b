package orchestrator

// A Prometheus instant query as a scaling metric: one number for the whole service, compared
// with a target value, like an HPA external metric with a Value target. Only the HTTP API's
// JSON is used, so no Prometheus client library is needed.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrNoMetricData means the query ran but gave no usable number: no series at all, or NaN or
// an infinity. The scaling decision treats it as missing data (hold) rather than as a failure.
var ErrNoMetricData = errors.New("no metric data")

// prometheusTimeout bounds a query whose context has no deadline, and every query made with
// the default client: a hung Prometheus must not hang a plan.
const prometheusTimeout = 10 * time.Second

// prometheusMaxBody caps how much of a response is read. A vector that large is a query
// mistake (a missing sum or filter), not something to add up.
const prometheusMaxBody = 16 << 20

// prometheusSnippet is how much of an unexpected response body goes into an error.
const prometheusSnippet = 200

var defaultPrometheusClient = &http.Client{Timeout: prometheusTimeout}

// QueryPrometheus runs query as an instant query against the Prometheus server at address
// (http or https, optionally with a path prefix) and returns one number: a scalar's value, or
// the sum over all series of an instant vector, as HPA sums external metric series. A nil
// httpClient means a default client with a 10 s timeout. Credentials in address are sent as
// basic auth but never appear in an error.
func QueryPrometheus(ctx context.Context, httpClient *http.Client, address, query string) (float64, error) {
	series, fail, err := queryPrometheus(ctx, httpClient, address, query)
	if err != nil {
		return 0, err
	}
	if len(series) == 0 {
		return 0, fail("the query returned no series: %w", ErrNoMetricData)
	}
	var value float64
	for _, s := range series {
		value += s.Value
	}
	if math.IsNaN(value) || math.IsInf(value, 0) {
		return 0, fail("the result is %v, not a finite number: %w", value, ErrNoMetricData)
	}
	return value, nil
}

// PrometheusSample is one series of an instant vector (a scalar has no labels).
type PrometheusSample struct {
	Labels map[string]string
	Value  float64
}

// QueryPrometheusSeries runs query as QueryPrometheus does and returns every series with its
// labels; no series is not an error.
func QueryPrometheusSeries(ctx context.Context, httpClient *http.Client, address, query string) ([]PrometheusSample, error) {
	series, _, err := queryPrometheus(ctx, httpClient, address, query)
	return series, err
}

// queryPrometheus runs an instant query and returns its series, and how to make an error
// that names the query and the server.
func queryPrometheus(ctx context.Context, httpClient *http.Client, address, query string) ([]PrometheusSample, func(string, ...any) error, error) {
	endpoint, shown, err := prometheusQueryURL(address, query)
	if err != nil {
		return nil, nil, err
	}
	if httpClient == nil {
		httpClient = defaultPrometheusClient
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, prometheusTimeout)
		defer cancel()
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("prometheus query %q at %s: "+format, append([]any{query, shown}, args...)...)
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint.String(), nil)
	if err != nil {
		return nil, fail, fail("%w", unwrapURLError(err))
	}
	req.Header.Set("Accept", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		// The client's *url.Error repeats the request URL, user name included; keep only
		// the cause.
		return nil, fail, fail("%w", unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, prometheusMaxBody+1))
	if err != nil {
		return nil, fail, fail("reading the response: %w", unwrapURLError(err))
	}
	if len(body) > prometheusMaxBody {
		return nil, fail, fail("the response is larger than %d MiB; aggregate the query (sum, avg, ...)", prometheusMaxBody>>20)
	}

	var r struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	ok2xx := resp.StatusCode >= 200 && resp.StatusCode < 300
	if json.Unmarshal(body, &r) != nil || r.Status == "" {
		// Not the Prometheus API: a proxy's error page, a wrong path prefix, another server.
		if !ok2xx {
			return nil, fail, fail("HTTP %d: %q", resp.StatusCode, snippet(body))
		}
		return nil, fail, fail("not a Prometheus API response (HTTP %d): %q", resp.StatusCode, snippet(body))
	}
	if r.Status != "success" {
		return nil, fail, fail("%s: %s (HTTP %d)", r.ErrorType, r.Error, resp.StatusCode)
	}
	if !ok2xx {
		return nil, fail, fail("HTTP %d with status %q", resp.StatusCode, r.Status)
	}

	switch r.Data.ResultType {
	case "scalar":
		v, err := parseSampleValue(r.Data.Result)
		if err != nil {
			return nil, fail, fail("scalar result: %v", err)
		}
		return []PrometheusSample{{Value: v}}, fail, nil
	case "vector":
		var series []struct {
			Metric map[string]string `json:"metric"`
			Value  json.RawMessage   `json:"value"`
		}
		if err := json.Unmarshal(r.Data.Result, &series); err != nil {
			return nil, fail, fail("vector result: %v", err)
		}
		out := make([]PrometheusSample, 0, len(series))
		for _, s := range series {
			if len(s.Value) == 0 {
				// Native histogram samples come as "histogram" instead of "value".
				return nil, fail, fail("series %s has no float value (a native histogram?)", seriesName(s.Metric))
			}
			v, err := parseSampleValue(s.Value)
			if err != nil {
				return nil, fail, fail("series %s: %v", seriesName(s.Metric), err)
			}
			out = append(out, PrometheusSample{Labels: s.Metric, Value: v})
		}
		return out, fail, nil
	}
	return nil, fail, fail("the query must return an instant vector or a scalar, not a %s", r.Data.ResultType)
}

// prometheusQueryURL builds the instant-query URL for address and query, and the address as
// errors may show it: scheme://host/path, without user info, query or fragment.
func prometheusQueryURL(address, query string) (*url.URL, string, error) {
	u, err := url.Parse(strings.TrimSpace(address))
	if err != nil {
		// url.Parse's error quotes the whole address, password included.
		return nil, "", fmt.Errorf("invalid Prometheus address: %w", unwrapURLError(err))
	}
	shown := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: strings.TrimRight(u.Path, "/")}).String()
	if u.User == nil {
		shown = strings.TrimSpace(address)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, "", fmt.Errorf("invalid Prometheus address %q: it must be an http:// or https:// URL with a host, such as http://prometheus:9090", shown)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		// Silently dropping them could query the wrong tenant or proxy route.
		return nil, "", fmt.Errorf("invalid Prometheus address %s: it must not have a query or fragment", shown)
	}
	// JoinPath keeps a path prefix (Prometheus behind a proxy, --web.route-prefix) and copes
	// with a trailing slash; User stays in the URL so the client sends it as basic auth.
	endpoint := u.JoinPath("api", "v1", "query")
	endpoint.RawQuery = url.Values{"query": {query}}.Encode()
	return endpoint, shown, nil
}

// unwrapURLError drops a *url.Error's operation and URL, keeping only its cause.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// parseSampleValue reads a [<unix time>, "<value>"] pair. Prometheus sends values as strings
// so that NaN and ±Inf survive JSON.
func parseSampleValue(raw json.RawMessage) (float64, error) {
	var pair []json.RawMessage
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
		return 0, fmt.Errorf("malformed sample %s", snippet(raw))
	}
	var s string
	if err := json.Unmarshal(pair[1], &s); err != nil {
		return 0, fmt.Errorf("malformed sample value %s", snippet(pair[1]))
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("sample value %q is not a number", s)
	}
	return v, nil
}

// seriesName prints a series' labels the way PromQL writes them, for errors.
func seriesName(labels map[string]string) string {
	name := labels["__name__"]
	var pairs []string
	for k, v := range labels {
		if k != "__name__" {
			pairs = append(pairs, k+"="+strconv.Quote(v))
		}
	}
	slices.Sort(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

// snippet is the start of body, trimmed and valid UTF-8, for an error message.
func snippet(body []byte) string {
	if len(body) > prometheusSnippet {
		body = body[:prometheusSnippet]
	}
	return strings.TrimSpace(strings.ToValidUTF8(string(body), ""))
}
