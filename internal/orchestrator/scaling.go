package orchestrator

// The pure half of swarm_scaling_policy. Given what was observed (the current replica count,
// metric readings over ready tasks, past recommendations, the clock) and the policy, it decides
// how many replicas a service should run and says why in one sentence that a reviewer can read
// in a plan. The algorithm is Kubernetes' Horizontal Pod Autoscaler (desired =
// ceil(current × observed/target) with a tolerance, per-direction stabilization windows and rate
// limits), plus what a Swarm service needs on top: schedules that move the bounds, a cap from
// placement, and holds while data is missing or a rollout is running. Nothing here talks to
// Docker: the caller gathers the inputs and persists NewHistory in the cluster.

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// DefaultTolerance is HPA's default: no change while a metric is within 10% of its target.
// ScalingInput.Tolerance is used as given (0 means no tolerance at all), so the provider's
// schema carries this value as the attribute's default.
const DefaultTolerance = 0.1

// MaxScheduleDuration is the longest a schedule may stay active after each firing. It bounds
// the backwards search in CronSchedule.ActiveAt.
const MaxScheduleDuration = 7 * 24 * time.Hour

// scalingEpsilon absorbs floating-point rounding, so that a ratio of exactly 1.1 counts as
// inside a 0.1 tolerance and 4 × 150/100 is 6, not 6.000000000000001 rounded up to 7.
const scalingEpsilon = 1e-9

// MetricKind says what a reading's Observed and Target mean. Both kinds use the same formula,
// ceil(current × observed/target), as HPA does for Utilization and Value targets; the kind only
// changes how the reason prints the numbers.
type MetricKind int

const (
	// MetricUtilisation is an average utilisation per ready task, in percent (cpu, memory).
	MetricUtilisation MetricKind = iota
	// MetricValue is one value for the whole service that more replicas bring down, such as
	// a queue's age or a latency (a Prometheus query against its target_value).
	MetricValue
	// MetricAverageValue is a total divided by the current replica count, such as requests
	// per second per replica (a Prometheus query against its target_average_value); the
	// formula then gives ceil(total/target).
	MetricAverageValue
)

// MetricReading is one metric as observed now. Observed is already computed over ready tasks
// only; leaving out starting or failing tasks is the caller's concern, as in HPA.
type MetricReading struct {
	Name     string
	Kind     MetricKind
	Observed float64
	Target   float64
	// Missing means there was no data this time. A NaN or infinite Observed counts as missing.
	Missing bool
	// Measured and Ready say how many of the service's ready tasks a utilisation was measured
	// on, when that is known; Measured below Ready is a partial view (the other tasks run
	// where the metric source cannot see them). Observed is then the average over the
	// measured tasks.
	Measured, Ready int
}

// ScalingRules are the brakes for one direction, after HPA's behavior.scaleUp and scaleDown.
type ScalingRules struct {
	// StabilizationWindow is how far back past recommendations count: scaling up goes no higher
	// than the lowest recommendation inside the window, scaling down no lower than the highest.
	// Zero means only the current recommendation counts.
	StabilizationWindow time.Duration
	// MaxStep is the most replicas added (or removed) by one decision; 0 means unlimited.
	MaxStep int
	// MaxPercent is the most replicas added (or removed) by one decision as a percentage of the
	// current count, rounded up so that a change of one is always allowed; 0 means unlimited.
	// When both limits are set the more permissive one applies, like HPA's default
	// selectPolicy: Max.
	MaxPercent int
}

// ScalingSchedule replaces the policy's bounds while it is active: from each time its cron
// expression fires (in Location, UTC when nil) for Duration of elapsed time. Both bounds are
// taken as given; the provider fills one left out of the configuration from the policy.
type ScalingSchedule struct {
	Cron        string
	Duration    time.Duration
	Location    *time.Location
	MinReplicas int
	MaxReplicas int
}

// Recommendation is one past decision's recommendation, kept for the stabilization windows.
type Recommendation struct {
	At       time.Time
	Replicas int
}

// ScalingInput is everything one decision looks at.
type ScalingInput struct {
	Current     int
	MinReplicas int
	MaxReplicas int
	Metrics     []MetricReading
	// Tolerance: no change for a metric when |observed/target - 1| <= Tolerance.
	Tolerance float64
	ScaleUp   ScalingRules
	ScaleDown ScalingRules
	// Schedules active at Now replace MinReplicas and MaxReplicas; when several are active the
	// largest minimum and the largest maximum apply.
	Schedules []ScalingSchedule
	// History is the recommendations of earlier decisions, as persisted from NewHistory.
	History []Recommendation
	Now     time.Time
	// MaxByPlacement is how many tasks placement can hold (max replicas per node × eligible
	// nodes); 0 means no cap. It wins over everything, min_replicas included.
	MaxByPlacement int
	// RolloutInProgress holds metric-driven scale-down: metrics are skewed while tasks are
	// being replaced. The bounds and the placement cap still apply.
	RolloutInProgress bool
}

// ScalingDecision is the outcome of DecideScaling.
type ScalingDecision struct {
	// Desired is the replica count to apply.
	Desired int
	Current int
	// Reason is one sentence for the plan: what the metrics say, what limited it, and the change.
	Reason string
	// Recommendation is the metrics' raw recommendation, before any hold, limit or bound.
	Recommendation int
	// Limited says what changed the recommendation on its way to Desired; empty when nothing did.
	Limited string
	// Holds name, in a few stable words, what holds the count where the metrics alone would
	// not: "no data: <metric>", "partial view: <metric>", "rollout". A controller records a
	// change of them, so that a plan shows why nothing scales.
	Holds []string
	// NewHistory is History without the entries older than the longer stabilization window,
	// plus this decision's recommendation (after the holds for missing data and rollouts,
	// before stabilization). The caller persists it for the next decision.
	NewHistory []Recommendation
	// ReleaseAt is when the stabilization window that holds this decision back next lets go
	// (the recommendations it is held by age out of it): from then on a decision on the same
	// metrics may differ. Zero when no window holds it. A controller decides again then,
	// rather than at its next interval, so a scale-down comes when the window ends.
	ReleaseAt time.Time
}

// DecideScaling computes the replica count for a service, in this order: the recommendation of
// each metric (the current count inside the tolerance) and the largest of them; no scale-down
// while any metric is missing, seen on only part of the ready tasks, or a rollout is in
// progress; the stabilization windows; the rate limits, relative to the current count; the
// bounds (moved by active schedules); the placement cap. A service at 0 replicas is left at 0 (the formula can only give 0, and HPA treats it as
// scaling disabled) unless min_replicas is above 0, in which case it is scaled to the minimum.
// The error reports invalid input; the provider validates the same rules earlier.
func DecideScaling(in ScalingInput) (ScalingDecision, error) {
	crons, err := in.validate()
	if err != nil {
		return ScalingDecision{}, err
	}
	b := in.bounds(crons)
	cur := in.Current
	dec := ScalingDecision{Current: cur}
	var why string
	var limits []string
	n := cur
	if cur == 0 {
		why = "the service has 0 replicas, where the formula always gives 0"
		if b.min == 0 {
			why = "the service has 0 replicas, so scaling is disabled until min_replicas is above 0"
		}
	} else {
		var missing []string
		dec.Recommendation, why, missing = recommendReplicas(in.Metrics, cur, in.Tolerance)
		n = dec.Recommendation
		for _, m := range missing {
			dec.Holds = append(dec.Holds, "no data: "+m)
		}
		if len(missing) > 0 && len(missing) < len(in.Metrics) {
			if n < cur {
				n = cur
				limits = append(limits, fmt.Sprintf("no data for %s, so no scale-down", strings.Join(missing, ", ")))
			} else {
				why += fmt.Sprintf(", with no data for %s", strings.Join(missing, ", "))
			}
		}
		if partial := partialViews(in.Metrics); len(partial) > 0 && n < cur {
			n = cur
			limits = append(limits, fmt.Sprintf("%s measured only, so no scale-down", strings.Join(partial, ", ")))
			for _, m := range in.Metrics {
				if m.partial() {
					dec.Holds = append(dec.Holds, "partial view: "+m.Name)
				}
			}
		}
		if in.RolloutInProgress && n < cur {
			n = cur
			limits = append(limits, "a rollout is in progress, so no scale-down")
			dec.Holds = append(dec.Holds, "rollout")
		}
	}
	record := n
	if cur > 0 {
		if s, note, release := in.stabilise(n); note != "" {
			n = s
			limits = append(limits, note)
			dec.ReleaseAt = release
		}
		if n > cur {
			if allowed, ok := in.ScaleUp.allowance(cur); ok && n-cur > allowed {
				n = cur + allowed
				limits = append(limits, fmt.Sprintf("scale-up limited to +%d per decision", allowed))
			}
		} else if n < cur {
			if allowed, ok := in.ScaleDown.allowance(cur); ok && cur-n > allowed {
				n = cur - allowed
				limits = append(limits, fmt.Sprintf("scale-down limited to -%d per decision", allowed))
			}
		}
	}
	if n < b.min {
		n = b.min
		limits = append(limits, "raised to "+b.minText())
	}
	if n > b.max {
		n = b.max
		limits = append(limits, "lowered to "+b.maxText())
	}
	if placed := in.MaxByPlacement; placed > 0 && n > placed {
		n = placed
		note := fmt.Sprintf("capped at %d by placement (max replicas per node × eligible nodes)", placed)
		if b.min > placed {
			note += fmt.Sprintf(", below %s, because placement can hold no more tasks", b.minText())
		}
		limits = append(limits, note)
	}
	if cur == 0 {
		record = n
	}

	dec.Desired = n
	dec.Limited = strings.Join(limits, "; ")
	change := fmt.Sprintf("%d -> %d", cur, n)
	if n == cur {
		change = fmt.Sprintf("stays at %d", n)
	}
	dec.Reason = strings.Join(append(append([]string{why}, limits...), change), "; ")

	keep := max(in.ScaleUp.StabilizationWindow, in.ScaleDown.StabilizationWindow)
	dec.NewHistory = append(pruneHistory(in.History, in.Now, keep), Recommendation{At: in.Now, Replicas: record})
	return dec, nil
}

// recommendReplicas returns the largest recommendation across the metrics that have data, the
// clause that explains it, and the names of the metrics without data. With no metric to go by
// it recommends the current count.
func recommendReplicas(metrics []MetricReading, cur int, tolerance float64) (int, string, []string) {
	if len(metrics) == 0 {
		return cur, "no metrics are configured, so only the bounds move the replica count", nil
	}
	best, why, seen := 0, "", 0
	var missing []string
	for _, m := range metrics {
		if m.missing() {
			missing = append(missing, m.Name)
			continue
		}
		r, w := m.recommend(cur, tolerance)
		if seen == 0 || r > best {
			best, why = r, w
		}
		seen++
	}
	if seen == 0 {
		return cur, fmt.Sprintf("no data for %s, so the replica count is kept", strings.Join(missing, ", ")), missing
	}
	if seen > 1 {
		why += fmt.Sprintf(", the highest of %d recommendations", seen)
	}
	return best, why, missing
}

func (m MetricReading) missing() bool {
	return m.Missing || math.IsNaN(m.Observed) || math.IsInf(m.Observed, 0)
}

// partial says the utilisation was measured on only some of the ready tasks.
func (m MetricReading) partial() bool {
	return m.Kind == MetricUtilisation && !m.missing() && m.Measured > 0 && m.Measured < m.Ready
}

// partialViews names the metrics measured on only some of the ready tasks: "cpu on 1 of 3
// ready tasks".
func partialViews(metrics []MetricReading) []string {
	var out []string
	for _, m := range metrics {
		if m.partial() {
			out = append(out, fmt.Sprintf("%s on %d of %d ready tasks", m.Name, m.Measured, m.Ready))
		}
	}
	return out
}

// recommend applies HPA's formula to one metric. A utilisation seen on only part of the ready
// tasks counts the others as idle, as HPA counts pods without metrics when it scales up: a
// scale-up is then no larger than the measured tasks alone justify (DecideScaling holds any
// scale-down on such a view).
func (m MetricReading) recommend(cur int, tolerance float64) (int, string) {
	observed := m.Observed
	at := fmt.Sprintf("%s at %s%% against a %s%% target", m.Name, scalingNumber(m.Observed), scalingNumber(m.Target))
	switch {
	case m.Kind == MetricValue:
		at = fmt.Sprintf("%s at %s against a target of %s", m.Name, scalingNumber(m.Observed), scalingNumber(m.Target))
	case m.Kind == MetricAverageValue:
		at = fmt.Sprintf("%s at %s per replica against a target of %s", m.Name, scalingNumber(m.Observed), scalingNumber(m.Target))
	case m.partial():
		observed = m.Observed * float64(m.Measured) / float64(m.Ready)
		at = fmt.Sprintf("%s at %s%% on %d of %d ready tasks, %s%% with the other %d counted as idle, against a %s%% target",
			m.Name, scalingNumber(m.Observed), m.Measured, m.Ready, scalingNumber(observed), m.Ready-m.Measured, scalingNumber(m.Target))
	}
	if math.Abs(observed/m.Target-1) <= tolerance+scalingEpsilon {
		return cur, fmt.Sprintf("%s is within the %s%% tolerance", at, scalingNumber(tolerance*100))
	}
	x := float64(cur) * observed / m.Target
	x = math.Min(x-scalingEpsilon*math.Max(1, math.Abs(x)), math.MaxInt32)
	r := max(0, int(math.Ceil(x)))
	return r, fmt.Sprintf("%s (ceil(%d × %s/%s) = %d)", at, cur, scalingNumber(observed), scalingNumber(m.Target), r)
}

// stabilise applies the stabilization windows the HPA way: the recommendations inside the
// scale-up window (the new one included) cap a scale-up at their minimum, those inside the
// scale-down window floor a scale-down at their maximum. It returns n unchanged and an empty
// note when the windows do not hold it back. When they do, release is when the held count next
// moves towards n: when the last recommendation at or beyond it (at or below a held scale-up,
// at or above a held scale-down) leaves the window.
func (in ScalingInput) stabilise(n int) (held int, note string, release time.Time) {
	cur, lowest, highest := in.Current, n, n
	for _, h := range in.History {
		if insideWindow(h.At, in.Now, in.ScaleUp.StabilizationWindow) {
			lowest = min(lowest, h.Replicas)
		}
		if insideWindow(h.At, in.Now, in.ScaleDown.StabilizationWindow) {
			highest = max(highest, h.Replicas)
		}
	}
	// lastOut is when the last recommendation inside the window that holds leaves it.
	lastOut := func(holds func(int) bool, window time.Duration) time.Time {
		var out time.Time
		for _, h := range in.History {
			if holds(h.Replicas) && insideWindow(h.At, in.Now, window) && h.At.Add(window).After(out) {
				out = h.At.Add(window)
			}
		}
		return out
	}
	switch {
	case n > cur && lowest < n:
		held = max(cur, lowest)
		return held, fmt.Sprintf("scale-up held at %d by the %s stabilization window (lowest recommendation %d)",
				held, scalingDuration(in.ScaleUp.StabilizationWindow), lowest),
			lastOut(func(r int) bool { return r <= held }, in.ScaleUp.StabilizationWindow)
	case n < cur && highest > n:
		held = min(cur, highest)
		return held, fmt.Sprintf("scale-down held at %d by the %s stabilization window (highest recommendation %d)",
				held, scalingDuration(in.ScaleDown.StabilizationWindow), highest),
			lastOut(func(r int) bool { return r >= held }, in.ScaleDown.StabilizationWindow)
	}
	return n, "", time.Time{}
}

// insideWindow says whether a recommendation made at `at` is inside the window ending at now.
// As in HPA, one made exactly `window` ago is already outside.
func insideWindow(at, now time.Time, window time.Duration) bool {
	return window > 0 && at.After(now.Add(-window))
}

// allowance is how many replicas one decision may add or remove from cur; ok is false when
// the direction is unlimited.
func (r ScalingRules) allowance(cur int) (allowed int, ok bool) {
	if r.MaxStep == 0 && r.MaxPercent == 0 {
		return 0, false
	}
	byPercent := 0
	if r.MaxPercent > 0 {
		byPercent = (cur*r.MaxPercent + 99) / 100
	}
	return max(r.MaxStep, byPercent), true
}

// replicaBounds are the bounds in force, and the cron expression of the schedule each comes
// from (empty for the policy's own).
type replicaBounds struct {
	min, max         int
	minFrom, maxFrom string
}

func (in ScalingInput) bounds(crons []*CronSchedule) replicaBounds {
	b := replicaBounds{min: in.MinReplicas, max: in.MaxReplicas}
	active := false
	for i, s := range in.Schedules {
		if !crons[i].ActiveAt(in.Now, s.Duration, s.Location) {
			continue
		}
		if !active || s.MinReplicas > b.min {
			b.min, b.minFrom = s.MinReplicas, s.Cron
		}
		if !active || s.MaxReplicas > b.max {
			b.max, b.maxFrom = s.MaxReplicas, s.Cron
		}
		active = true
	}
	return b
}

func (b replicaBounds) minText() string { return boundText("min_replicas", b.min, b.minFrom) }
func (b replicaBounds) maxText() string { return boundText("max_replicas", b.max, b.maxFrom) }

func boundText(name string, v int, from string) string {
	if from == "" {
		return fmt.Sprintf("%s %d", name, v)
	}
	return fmt.Sprintf("%s %d of schedule %q", name, v, from)
}

// validate checks the input and parses the schedules' cron expressions.
func (in ScalingInput) validate() ([]*CronSchedule, error) {
	switch {
	case in.Current < 0:
		return nil, fmt.Errorf("current replicas (%d) cannot be negative", in.Current)
	case in.MinReplicas < 0:
		return nil, fmt.Errorf("min_replicas (%d) cannot be negative", in.MinReplicas)
	case in.MaxReplicas < in.MinReplicas:
		return nil, fmt.Errorf("max_replicas (%d) is below min_replicas (%d)", in.MaxReplicas, in.MinReplicas)
	case in.MaxByPlacement < 0:
		return nil, fmt.Errorf("the placement cap (%d) cannot be negative", in.MaxByPlacement)
	case !(in.Tolerance >= 0):
		return nil, fmt.Errorf("tolerance (%v) must be 0 or more", in.Tolerance)
	}
	for _, r := range []struct {
		name  string
		rules ScalingRules
	}{{"scale_up", in.ScaleUp}, {"scale_down", in.ScaleDown}} {
		if r.rules.StabilizationWindow < 0 || r.rules.MaxStep < 0 || r.rules.MaxPercent < 0 {
			return nil, fmt.Errorf("%s: stabilization_window, max_step and max_percent cannot be negative", r.name)
		}
	}
	for i, m := range in.Metrics {
		if m.Name == "" {
			return nil, fmt.Errorf("metric[%d] has no name", i)
		}
		if !(m.Target > 0) || math.IsInf(m.Target, 0) {
			return nil, fmt.Errorf("metric[%d] (%s): the target (%v) must be a number above 0", i, m.Name, m.Target)
		}
	}
	crons := make([]*CronSchedule, len(in.Schedules))
	for i, s := range in.Schedules {
		c, err := ParseCron(s.Cron)
		switch {
		case err != nil:
			return nil, fmt.Errorf("schedule[%d]: %w", i, err)
		case s.Duration <= 0 || s.Duration > MaxScheduleDuration:
			return nil, fmt.Errorf("schedule[%d] (%q): the duration (%s) must be above 0 and at most %s",
				i, s.Cron, s.Duration, scalingDuration(MaxScheduleDuration))
		case s.MinReplicas < 0 || s.MaxReplicas < s.MinReplicas:
			return nil, fmt.Errorf("schedule[%d] (%q): min_replicas (%d) must be 0 or more and at most max_replicas (%d)",
				i, s.Cron, s.MinReplicas, s.MaxReplicas)
		}
		crons[i] = c
	}
	return crons, nil
}

// scalingNumber prints a reading with at most two decimals and no trailing zeros.
func scalingNumber(v float64) string {
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

// scalingDuration prints 5m rather than 5m0s, and 1h rather than 1h0m0s.
func scalingDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// CronSchedule is a parsed standard five-field cron expression: minute, hour, day of month,
// month and day of week, each `*`, a number, a range `a-b`, a step `*/n`, `a-b/n` or `a/n`
// (from a to the field's end), or a comma-separated list of these. Names (JAN, MON) are not
// accepted. Day of week runs 0-7, where both 0 and 7 are Sunday. As in Vixie cron, when both
// day fields are restricted (neither starts with `*`), a day matches if either field does.
type CronSchedule struct {
	minute, hour, dom, month, dow uint64
	domAny, dowAny                bool
}

var cronFields = [5]struct {
	name   string
	lo, hi int
}{{"minute", 0, 59}, {"hour", 0, 23}, {"day-of-month", 1, 31}, {"month", 1, 12}, {"day-of-week", 0, 7}}

// ParseCron parses a five-field cron expression. Errors name the field at fault.
func ParseCron(expr string) (*CronSchedule, error) {
	fields := strings.Fields(expr)
	if len(fields) != len(cronFields) {
		return nil, fmt.Errorf("cron expression %q has %d fields, want 5: minute hour day-of-month month day-of-week", expr, len(fields))
	}
	var sets [5]uint64
	for i, f := range fields {
		set, err := parseCronField(f, cronFields[i].lo, cronFields[i].hi)
		if err != nil {
			return nil, fmt.Errorf("cron expression %q: %s field %q: %w", expr, cronFields[i].name, f, err)
		}
		sets[i] = set
	}
	c := &CronSchedule{minute: sets[0], hour: sets[1], dom: sets[2], month: sets[3], dow: sets[4],
		domAny: strings.HasPrefix(fields[2], "*"), dowAny: strings.HasPrefix(fields[4], "*")}
	if c.dow&(1<<7) != 0 {
		c.dow = c.dow&^(1<<7) | 1
	}
	if !c.canFire() {
		return nil, fmt.Errorf("cron expression %q never fires: no month it allows has the days of the month it names", expr)
	}
	return c, nil
}

// canFire says whether some day matches: a day-of-month field on its own (day of week "*") may
// name only days that no allowed month has, such as the 30th of February.
func (c *CronSchedule) canFire() bool {
	if c.domAny || !c.dowAny {
		return true // every day, or either day field (the day of week always matches some day)
	}
	daysIn := [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31} // February 29 in leap years
	for m := 1; m <= 12; m++ {
		if c.month&(1<<m) == 0 {
			continue
		}
		for d := 1; d <= daysIn[m]; d++ {
			if c.dom&(1<<d) != 0 {
				return true
			}
		}
	}
	return false
}

func parseCronField(field string, lo, hi int) (uint64, error) {
	var set uint64
	for _, part := range strings.Split(field, ",") {
		span, stepText, stepped := strings.Cut(part, "/")
		step := 1
		if stepped {
			s, err := cronNumber(stepText)
			if err != nil || s < 1 {
				return 0, fmt.Errorf("step %q must be a whole number above 0", stepText)
			}
			step = s
		}
		from, to := lo, hi
		if span != "*" {
			first, last, ranged := strings.Cut(span, "-")
			var err error
			if from, err = cronValue(first, lo, hi); err != nil {
				return 0, err
			}
			switch {
			case ranged:
				if to, err = cronValue(last, lo, hi); err != nil {
					return 0, err
				}
				if from > to {
					return 0, fmt.Errorf("range %s starts after it ends", span)
				}
			case !stepped:
				to = from
			}
		}
		for v := from; v <= to; v += step {
			set |= 1 << v
		}
	}
	return set, nil
}

func cronValue(s string, lo, hi int) (int, error) {
	v, err := cronNumber(s)
	if err != nil {
		return 0, err
	}
	if v < lo || v > hi {
		return 0, fmt.Errorf("%d is outside %d-%d", v, lo, hi)
	}
	return v, nil
}

// cronNumber accepts plain digits only: no sign, no spaces.
func cronNumber(s string) (int, error) {
	if s == "" || strings.Trim(s, "0123456789") != "" || len(s) > 4 {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return strconv.Atoi(s)
}

// ActiveAt says whether the schedule is active at t: whether it fired at some f with
// f <= t < f+d. Firing times are the instants whose wall clock in loc (UTC when nil) matches the
// expression, and d is elapsed time, so across a DST change a window lasts exactly d. Wall times
// that a change to summer time skips fire at the instant the clock jumps over them; wall times
// that the change back to winter time repeats fire on both passes. d is capped at
// MaxScheduleDuration.
//
// The search walks back from t, skipping whole days and hours that cannot match and stepping
// minute by minute only inside matching hours, so it costs at most a few hundred steps.
func (c *CronSchedule) ActiveAt(t time.Time, d time.Duration, loc *time.Location) bool {
	if d <= 0 {
		return false
	}
	if loc == nil {
		loc = time.UTC
	}
	earliest := t.Add(-min(d, MaxScheduleDuration))
	lt := t.In(loc)
	x := t.Add(-time.Duration(lt.Second())*time.Second - time.Duration(lt.Nanosecond()))
	for x.After(earliest) {
		lx := x.In(loc)
		dayOK := c.dayMatches(lx)
		hourOK := dayOK && c.hour&(1<<lx.Hour()) != 0
		if hourOK && c.minute&(1<<lx.Minute()) != 0 {
			return true
		}
		// Every instant from z to x shows the same day (or hour) on the clock, so none fires.
		z := x
		if !dayOK {
			z = runStart(x, loc, true)
		}
		if !hourOK && z.Equal(x) {
			z = runStart(x, loc, false)
		}
		if z.After(earliest) && c.firesInGapBefore(z, loc) {
			return true
		}
		x = z.Add(-time.Minute)
	}
	return false
}

func (c *CronSchedule) dayMatches(wall time.Time) bool {
	if c.month&(1<<int(wall.Month())) == 0 {
		return false
	}
	dom, dow := c.dom&(1<<wall.Day()) != 0, c.dow&(1<<int(wall.Weekday())) != 0
	if c.domAny || c.dowAny {
		return dom && dow
	}
	return dom || dow
}

// runStart goes back from x to the first instant of x's local day (wholeDay) or hour, but only
// when plain subtraction lands exactly there, which proves that no clock change lies between;
// otherwise it returns x and the caller steps a minute at a time.
func runStart(x time.Time, loc *time.Location, wholeDay bool) time.Time {
	lx := x.In(loc)
	back, hour := lx.Minute(), lx.Hour()
	if wholeDay {
		back, hour = back+60*lx.Hour(), 0
	}
	y := x.Add(-time.Duration(back) * time.Minute).In(loc)
	if y.Minute() != 0 || y.Hour() != hour || y.YearDay() != lx.YearDay() || y.Year() != lx.Year() {
		return x
	}
	return y
}

// firesInGapBefore reports whether the clock jumped forward just before z over a wall time the
// schedule would have fired at.
func (c *CronSchedule) firesInGapBefore(z time.Time, loc *time.Location) bool {
	_, before := z.Add(-time.Minute).In(loc).Zone()
	lz := z.In(loc)
	_, after := lz.Zone()
	wall := time.Date(lz.Year(), lz.Month(), lz.Day(), lz.Hour(), lz.Minute(), 0, 0, time.UTC)
	for k := 1; k <= (after-before)/60; k++ {
		w := wall.Add(-time.Duration(k) * time.Minute)
		if c.dayMatches(w) && c.hour&(1<<w.Hour()) != 0 && c.minute&(1<<w.Minute()) != 0 {
			return true
		}
	}
	return false
}
