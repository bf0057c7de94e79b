package orchestrator

// A scaling policy as the engine keeps it: the configured policy (stored in a label on its
// service, so that import and a plan on a fresh machine see exactly what was configured), the
// rules it must satisfy, and its translation into the decision function's input.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // schedules' time zones work where the system has no zoneinfo (Terraform Cloud runners)
)

// Metric types a policy can track.
const (
	MetricCPU        = "cpu"
	MetricMemory     = "memory"
	MetricPrometheus = "prometheus"
)

// Where cpu and memory utilisation come from.
const (
	// SourceDocker (the default) is the Docker stats API of the engine the provider talks to:
	// it reads the containers of that engine's own node only.
	SourceDocker = "docker"
	// SourceCAdvisor is cAdvisor's per-container metrics, read through a Prometheus that
	// scrapes cAdvisor on every node: every task of the service, wherever it runs.
	SourceCAdvisor = "cadvisor"
)

// ScalingPolicyFormat is the newest format of the policy label this engine reads and writes.
// Format 1 (the first release) had no version field; format 3 adds a metric's source, format 4
// the evaluation. A policy label is written in the oldest format that holds it (2 without a
// source or evaluation), so that
// providers that know no sources still read the policies they can carry out, and refuse the
// others rather than misread them.
const ScalingPolicyFormat = 4

// ScalingStateFormat is the format of the state label; it reads format 1 (no version) too.
const ScalingStateFormat = 2

// Decimal is a number as the user wrote it ("0.1"), kept as text so that it reads back exactly
// as configured; the decision uses its float value. Empty means not set.
type Decimal string

// Float is the decimal's value; 0 when it is empty or not a number.
func (d Decimal) Float() float64 {
	f, _ := strconv.ParseFloat(string(d), 64)
	return f
}

// Set says whether the decimal holds a value.
func (d Decimal) Set() bool { return d != "" }

// BigFloat is the decimal at the precision Terraform uses for numbers (512 bits), so that a
// value read back compares equal to the configured one; nil when it is empty or not a number.
func (d Decimal) BigFloat() *big.Float {
	if d == "" {
		return nil
	}
	f, _, err := big.ParseFloat(string(d), 10, 512, big.ToNearestEven)
	if err != nil {
		return nil
	}
	return f
}

// DecimalOf spells a number as the shortest decimal that reads back to the same value at
// Terraform's precision ("0.1", not the nearest binary double).
func DecimalOf(f *big.Float) Decimal {
	if f == nil {
		return ""
	}
	return Decimal(f.Text('g', -1))
}

// ScalingPolicy is a policy as configured. Durations are kept as written ("5m").
type ScalingPolicy struct {
	MinReplicas int64            `json:"min"`
	MaxReplicas int64            `json:"max"`
	Metrics     []PolicyMetric   `json:"metrics,omitempty"`
	Tolerance   Decimal          `json:"tolerance"`
	ScaleUp     PolicyRules      `json:"scale_up"`
	ScaleDown   PolicyRules      `json:"scale_down"`
	Schedules   []PolicySchedule `json:"schedules,omitempty"`
	// DryRun policies decide and record their decision but never scale, and leave the replica
	// count to the service. It is kept in the state label, where format 1 kept it.
	DryRun bool `json:"-"`
	// Evaluation is who decides: EvaluationPlan (terraform plan; also when empty) or
	// EvaluationContinuous (the controller, every interval).
	Evaluation string `json:"evaluation,omitempty"`
}

// Continuous says whether the controller decides the policy.
func (p ScalingPolicy) Continuous() bool { return p.Evaluation == EvaluationContinuous }

// PolicyMetric is one target to track.
type PolicyMetric struct {
	Type string `json:"type"`
	// TargetUtilization is for cpu and memory: percent of each task's limit (else reservation).
	TargetUtilization Decimal `json:"target_utilization,omitempty"`
	// Source is for cpu and memory: SourceDocker when empty, or SourceCAdvisor.
	Source string `json:"source,omitempty"`
	// Query is for prometheus: an instant query. Address is the Prometheus server's base URL,
	// for prometheus and for cpu and memory from cAdvisor.
	Query   string `json:"query,omitempty"`
	Address string `json:"address,omitempty"`
	// TargetValue is the value to keep the query at (more replicas bring it down);
	// TargetAverageValue the value per replica of a total the replicas share.
	TargetValue        Decimal `json:"target_value,omitempty"`
	TargetAverageValue Decimal `json:"target_average_value,omitempty"`
}

// PolicyRules are the brakes of one direction.
type PolicyRules struct {
	StabilizationWindow string `json:"stabilization_window"`
	MaxStep             int64  `json:"max_step"`
	MaxPercent          int64  `json:"max_percent"`
}

// PolicySchedule moves the bounds while it is active. A bound left out (nil) is the policy's.
type PolicySchedule struct {
	Cron        string `json:"cron"`
	Duration    string `json:"duration"`
	Timezone    string `json:"timezone"`
	MinReplicas *int64 `json:"min_replicas,omitempty"`
	MaxReplicas *int64 `json:"max_replicas,omitempty"`
}

// Policy defaults. They follow HPA: no change within 10% of the target; scale up at once by
// up to 4 replicas or 100% (whichever is more); scale down only after 5 minutes of lower
// recommendations, without a rate limit. A schedule's time zone defaults to UTC.
var (
	DefaultPolicyTolerance = Decimal("0.1")
	DefaultScaleUp         = PolicyRules{StabilizationWindow: "0s", MaxStep: 4, MaxPercent: 100}
	DefaultScaleDown       = PolicyRules{StabilizationWindow: "5m", MaxStep: 0, MaxPercent: 0}
	DefaultTimezone        = "UTC"
)

// Key identifies where a metric's value comes from, so that an observation of one query is
// never used for another.
func (m PolicyMetric) Key() string {
	switch {
	case m.Type == MetricPrometheus:
		return MetricPrometheus + " " + m.Address + " " + m.Query
	case m.Source == SourceCAdvisor:
		return m.Type + " " + SourceCAdvisor + " " + m.Address
	}
	return m.Type
}

// name is how a decision's reason names the metric.
func (m PolicyMetric) name() string {
	if m.Type != MetricPrometheus {
		return m.Type
	}
	q := strings.Join(strings.Fields(m.Query), " ")
	if len(q) > 60 {
		q = q[:57] + "..."
	}
	return fmt.Sprintf("query %q", q)
}

// policyLabel is the policy label's JSON: the policy and the format version.
type policyLabel struct {
	Version int `json:"version,omitempty"`
	ScalingPolicy
}

// Label encodes the policy for its label on the service, in the oldest format that holds it.
func (p ScalingPolicy) Label() string {
	version := 2
	for _, m := range p.Metrics {
		if m.Source != "" {
			version = 3
		}
	}
	if p.Evaluation == EvaluationPlan {
		p.Evaluation = "" // the default, which every format means
	}
	if p.Evaluation != "" {
		// A provider that knows no evaluation would decide the policy at plan as well as the
		// controller: it must refuse the label instead.
		version = 4
	}
	b, _ := json.Marshal(policyLabel{Version: version, ScalingPolicy: p})
	return string(b)
}

// ErrNewerFormat is a label written by a newer version of the provider.
var ErrNewerFormat = errors.New("written in a newer format by a newer version of the provider; upgrade the provider")

// ParseScalingPolicy decodes a policy label in format 1 (no version) or 2. DryRun comes from
// the state label and is left false.
func ParseScalingPolicy(label string) (ScalingPolicy, error) {
	var l policyLabel
	if err := json.Unmarshal([]byte(label), &l); err != nil {
		return ScalingPolicy{}, fmt.Errorf("label %s: %w", ScalingOwnerLabel, err)
	}
	if l.Version > ScalingPolicyFormat {
		return ScalingPolicy{}, fmt.Errorf("label %s: format %d %w", ScalingOwnerLabel, l.Version, ErrNewerFormat)
	}
	// Formats 1 and 2 hold the same fields; 3 adds sources, 4 the evaluation.
	if l.Evaluation == "" {
		l.Evaluation = EvaluationPlan
	}
	return l.ScalingPolicy, nil
}

// FieldProblem is something wrong with one attribute of a configuration, in the
// configuration's own terms.
type FieldProblem struct {
	// Path is where to report it, e.g. "metrics[0].target_value".
	Path string
	// Reads are all the attributes the rule looked at, Path included. When one of them is not
	// known yet (it depends on another resource), the rule cannot be checked yet.
	Reads   []string
	Summary string
	Detail  string
}

func problem(path, summary, detail string, reads ...string) FieldProblem {
	return FieldProblem{Path: path, Reads: append([]string{path}, reads...), Summary: summary, Detail: detail}
}

// Validate checks every rule a policy must satisfy. Values of zero or empty count as not set.
func (p ScalingPolicy) Validate() []FieldProblem {
	var out []FieldProblem
	if p.MinReplicas < 0 {
		out = append(out, problem("min_replicas", "Invalid Replica Bounds", fmt.Sprintf("min_replicas must be 0 or more, got %d.", p.MinReplicas)))
	}
	out = append(out, tooMany("min_replicas", p.MinReplicas)...)
	if e := p.Evaluation; e != "" && e != EvaluationPlan && e != EvaluationContinuous {
		out = append(out, problem("evaluation", "Invalid Evaluation", fmt.Sprintf("evaluation must be %q or %q, got %q.", EvaluationPlan, EvaluationContinuous, e)))
	}
	if p.MaxReplicas < 1 {
		out = append(out, problem("max_replicas", "Invalid Replica Bounds", fmt.Sprintf("max_replicas must be at least 1, got %d.", p.MaxReplicas)))
	} else if p.MaxReplicas > MaxReplicas {
		out = append(out, tooMany("max_replicas", p.MaxReplicas)...)
	} else if p.MaxReplicas < p.MinReplicas {
		out = append(out, problem("max_replicas", "Invalid Replica Bounds",
			fmt.Sprintf("max_replicas (%d) must be at least min_replicas (%d).", p.MaxReplicas, p.MinReplicas), "min_replicas"))
	}
	if p.Tolerance.Set() {
		if t := p.Tolerance.Float(); !(t >= 0 && t < 1) {
			out = append(out, problem("tolerance", "Invalid Tolerance", fmt.Sprintf("tolerance must be at least 0 and below 1 (a fraction of the target, 0.1 = 10%%), got %s.", p.Tolerance)))
		}
	}
	for name, r := range map[string]PolicyRules{"scale_up": p.ScaleUp, "scale_down": p.ScaleDown} {
		if d, err := time.ParseDuration(r.StabilizationWindow); r.StabilizationWindow != "" && (err != nil || d < 0) {
			out = append(out, problem(name+".stabilization_window", "Invalid Stabilization Window", fmt.Sprintf("%q must be a duration of 0 or more, such as \"5m\".", r.StabilizationWindow)))
		}
		if r.MaxStep < 0 {
			out = append(out, problem(name+".max_step", "Invalid Rate Limit", fmt.Sprintf("max_step must be 0 (no limit) or more, got %d.", r.MaxStep)))
		}
		if r.MaxPercent < 0 {
			out = append(out, problem(name+".max_percent", "Invalid Rate Limit", fmt.Sprintf("max_percent must be 0 (no limit) or more, got %d.", r.MaxPercent)))
		}
	}
	seen := map[string]int{}
	for i, m := range p.Metrics {
		out = append(out, m.validate(fmt.Sprintf("metrics[%d]", i), seen, i)...)
	}
	for i, s := range p.Schedules {
		out = append(out, s.validate(fmt.Sprintf("schedules[%d]", i), p)...)
	}
	return out
}

// tooMany refuses a replica bound above what a service may have (MaxReplicas, as a
// service's replicas): a typo of a few digits would otherwise let a policy ask Swarm for
// billions of tasks.
func tooMany(at string, n int64) []FieldProblem {
	if n <= MaxReplicas {
		return nil
	}
	return []FieldProblem{problem(at, "Invalid Replica Bounds", fmt.Sprintf("%s is %d; a service can have at most %d replicas.", at[strings.LastIndex(at, ".")+1:], n, MaxReplicas))}
}

func (m PolicyMetric) validate(at string, seen map[string]int, i int) []FieldProblem {
	var out []FieldProblem
	attr := func(name string) string { return at + "." + name }
	set := map[string]bool{
		"target_utilization": m.TargetUtilization.Set(), "query": m.Query != "", "address": m.Address != "",
		"target_value": m.TargetValue.Set(), "target_average_value": m.TargetAverageValue.Set(), "source": m.Source != "",
	}
	forbid := func(names ...string) {
		for _, n := range names {
			if set[n] {
				out = append(out, problem(attr(n), "Attribute Not Allowed", fmt.Sprintf("%s does not apply to a %s metric.", n, m.Type), attr("type")))
			}
		}
	}
	need := func(name string) {
		if !set[name] {
			out = append(out, problem(attr(name), "Missing Attribute", fmt.Sprintf("A %s metric needs %s.", m.Type, name), attr("type")))
		}
	}
	positive := func(name string, d Decimal) {
		if f := d.BigFloat(); d.Set() && (f == nil || f.Sign() <= 0) {
			out = append(out, problem(attr(name), "Invalid Target", fmt.Sprintf("%s must be a number above 0, got %s.", name, d)))
		}
	}
	switch m.Type {
	case MetricCPU, MetricMemory:
		need("target_utilization")
		positive("target_utilization", m.TargetUtilization)
		forbid("query", "target_value", "target_average_value")
		switch m.Source {
		case "", SourceDocker:
			if set["address"] {
				out = append(out, problem(attr("address"), "Attribute Not Allowed",
					fmt.Sprintf("address does not apply to a %s metric read from Docker stats; with source = %q it is the Prometheus that scrapes cAdvisor.", m.Type, SourceCAdvisor), attr("source"), attr("type")))
			}
		case SourceCAdvisor:
			if !set["address"] {
				out = append(out, problem(attr("address"), "Missing Attribute",
					fmt.Sprintf("A %s metric from cAdvisor needs address: the base URL of the Prometheus that scrapes cAdvisor on every node, such as http://prometheus:9090.", m.Type), attr("source"), attr("type")))
			} else if err := CheckPrometheusAddress(m.Address); err != nil {
				out = append(out, problem(attr("address"), "Invalid Prometheus Address", err.Error()))
			}
		default:
			out = append(out, problem(attr("source"), "Unknown Metric Source",
				fmt.Sprintf("%q is not a metric source; use %q (the Docker stats API of the engine the provider talks to, the default) or %q (cAdvisor through Prometheus, every node).", m.Source, SourceDocker, SourceCAdvisor)))
		}
		if j, dup := seen[m.Type]; dup {
			out = append(out, problem(attr("type"), "Duplicate Metric", fmt.Sprintf("metrics[%d] already tracks %s; one target per resource metric.", j, m.Type)))
		}
		seen[m.Type] = i
	case MetricPrometheus:
		need("query")
		need("address")
		if m.TargetValue.Set() == m.TargetAverageValue.Set() {
			what := "neither is set"
			if m.TargetValue.Set() {
				what = "both are set"
			}
			out = append(out, problem(attr("target_value"), "Exactly One Target",
				"A prometheus metric needs exactly one of target_value (a value that more replicas bring down, such as latency) and target_average_value (a total that replicas share, such as requests per second); "+what+".",
				attr("target_average_value"), attr("type")))
		}
		positive("target_value", m.TargetValue)
		positive("target_average_value", m.TargetAverageValue)
		forbid("target_utilization", "source")
		if m.Address != "" {
			if err := CheckPrometheusAddress(m.Address); err != nil {
				out = append(out, problem(attr("address"), "Invalid Prometheus Address", err.Error()))
			}
		}
	default:
		out = append(out, problem(attr("type"), "Unknown Metric Type", fmt.Sprintf("%q is not a metric type; use %q, %q or %q.", m.Type, MetricCPU, MetricMemory, MetricPrometheus)))
	}
	return out
}

func (s PolicySchedule) validate(at string, p ScalingPolicy) []FieldProblem {
	var out []FieldProblem
	attr := func(name string) string { return at + "." + name }
	if _, err := ParseCron(s.Cron); err != nil {
		out = append(out, problem(attr("cron"), "Invalid Cron Expression", err.Error()+"."))
	}
	if d, err := time.ParseDuration(s.Duration); err != nil || d <= 0 || d > MaxScheduleDuration {
		out = append(out, problem(attr("duration"), "Invalid Schedule Duration", fmt.Sprintf("duration must be a duration above 0 and at most 168h, got %q.", s.Duration)))
	}
	if _, err := time.LoadLocation(s.timezone()); err != nil || s.Timezone == "Local" {
		out = append(out, problem(attr("timezone"), "Unknown Time Zone", fmt.Sprintf("%q is not an IANA time zone such as Europe/Berlin or UTC.", s.Timezone)))
	}
	lo, hi := p.MinReplicas, p.MaxReplicas
	reads := []string{}
	if s.MinReplicas != nil {
		lo = *s.MinReplicas
		reads = append(reads, attr("min_replicas"))
	} else {
		reads = append(reads, "min_replicas")
	}
	if s.MaxReplicas != nil {
		hi = *s.MaxReplicas
	} else {
		reads = append(reads, "max_replicas")
	}
	switch {
	case s.MinReplicas != nil && *s.MinReplicas < 0:
		out = append(out, problem(attr("min_replicas"), "Invalid Replica Bounds", fmt.Sprintf("min_replicas must be 0 or more, got %d.", *s.MinReplicas)))
	case s.MinReplicas != nil && *s.MinReplicas > MaxReplicas:
		out = append(out, tooMany(attr("min_replicas"), *s.MinReplicas)...)
	case s.MaxReplicas != nil && *s.MaxReplicas > MaxReplicas:
		out = append(out, tooMany(attr("max_replicas"), *s.MaxReplicas)...)
	case s.MaxReplicas != nil && *s.MaxReplicas < 1:
		out = append(out, problem(attr("max_replicas"), "Invalid Replica Bounds", fmt.Sprintf("max_replicas must be at least 1, got %d.", *s.MaxReplicas)))
	case hi < lo:
		out = append(out, problem(attr("max_replicas"), "Invalid Replica Bounds",
			fmt.Sprintf("While this schedule is active, max_replicas (%d) must be at least min_replicas (%d); a bound left out comes from the policy.", hi, lo), reads...))
	}
	return out
}

func (s PolicySchedule) timezone() string {
	if s.Timezone == "" {
		return DefaultTimezone
	}
	return s.Timezone
}

// CheckPrometheusAddress checks a Prometheus server's base URL for a policy. The policy is
// stored in a label that anyone who can inspect the service reads, so it must not carry
// credentials.
func CheckPrometheusAddress(address string) error {
	u, err := url.Parse(address)
	switch {
	case err != nil:
		return errors.New("the address is not a URL; use the server's base URL, such as http://prometheus:9090")
	case u.User != nil:
		return errors.New("the address must not carry credentials: it is stored in a label on the service, readable by anyone who can inspect it")
	}
	if _, _, err := prometheusQueryURL(address, ""); err != nil {
		return err
	}
	return nil
}

// ScalingInput turns the policy into the decision function's input, without observations.
func (p ScalingPolicy) ScalingInput() (ScalingInput, error) {
	if probs := p.Validate(); len(probs) > 0 {
		return ScalingInput{}, fmt.Errorf("%s: %s", probs[0].Path, probs[0].Detail)
	}
	in := ScalingInput{
		MinReplicas: int(p.MinReplicas),
		MaxReplicas: int(p.MaxReplicas),
		Tolerance:   p.tolerance(),
		ScaleUp:     p.ScaleUp.rules(),
		ScaleDown:   p.ScaleDown.rules(),
	}
	for _, s := range p.Schedules {
		loc, _ := time.LoadLocation(s.timezone())
		d, _ := time.ParseDuration(s.Duration)
		sched := ScalingSchedule{Cron: s.Cron, Duration: d, Location: loc, MinReplicas: in.MinReplicas, MaxReplicas: in.MaxReplicas}
		if s.MinReplicas != nil {
			sched.MinReplicas = int(*s.MinReplicas)
		}
		if s.MaxReplicas != nil {
			sched.MaxReplicas = int(*s.MaxReplicas)
		}
		in.Schedules = append(in.Schedules, sched)
	}
	return in, nil
}

func (p ScalingPolicy) tolerance() float64 {
	if !p.Tolerance.Set() {
		return DefaultPolicyTolerance.Float()
	}
	return p.Tolerance.Float()
}

// historyWindow is how far back the policy's recommendations matter.
func (p ScalingPolicy) historyWindow() time.Duration {
	return max(p.ScaleUp.rules().StabilizationWindow, p.ScaleDown.rules().StabilizationWindow)
}

func (r PolicyRules) rules() ScalingRules {
	d, _ := time.ParseDuration(r.StabilizationWindow)
	return ScalingRules{StabilizationWindow: d, MaxStep: int(r.MaxStep), MaxPercent: int(r.MaxPercent)}
}
