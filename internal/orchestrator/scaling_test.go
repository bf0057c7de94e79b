package orchestrator

import (
	"math"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin and friends on machines without a zoneinfo database
)

func loadLocation(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func TestDecideScaling(t *testing.T) {
	berlin := loadLocation(t, "Europe/Berlin")
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC) // a Wednesday
	cpu := func(observed, target float64) MetricReading {
		return MetricReading{Name: "cpu", Kind: MetricUtilisation, Observed: observed, Target: target}
	}
	memory := func(observed, target float64) MetricReading {
		return MetricReading{Name: "memory", Kind: MetricUtilisation, Observed: observed, Target: target}
	}
	value := func(name string, observed, target float64) MetricReading {
		return MetricReading{Name: name, Kind: MetricValue, Observed: observed, Target: target}
	}
	missing := func(name string) MetricReading { return MetricReading{Name: name, Target: 60, Missing: true} }
	input := func(current int, metrics ...MetricReading) ScalingInput {
		return ScalingInput{Current: current, MinReplicas: 1, MaxReplicas: 100, Metrics: metrics,
			Tolerance: DefaultTolerance, Now: now}
	}
	with := func(in ScalingInput, change func(*ScalingInput)) ScalingInput {
		change(&in)
		return in
	}
	ago := func(d time.Duration, replicas int) Recommendation {
		return Recommendation{At: now.Add(-d), Replicas: replicas}
	}
	nightly := func(at time.Time, cron string, d time.Duration, lo, hi int) func(*ScalingInput) {
		return func(in *ScalingInput) {
			in.Now = at
			in.Schedules = []ScalingSchedule{{Cron: cron, Duration: d, Location: berlin, MinReplicas: lo, MaxReplicas: hi}}
		}
	}

	tests := []struct {
		name    string
		in      ScalingInput
		want    int
		wantRec int
		reason  []string // fragments the reason must contain
		limited string   // a fragment of Limited; empty means nothing may be limited
	}{
		// The formula, with the worked examples of the HPA documentation.
		{name: "HPA docs: 200m observed against a 100m target doubles 1 replica",
			in: input(1, value("cpu", 200, 100)), want: 2, wantRec: 2,
			reason: []string{"cpu at 200 against a target of 100 (ceil(1 × 200/100) = 2)", "1 -> 2"}},
		{name: "HPA docs: 50m observed against a 100m target halves 4 replicas",
			in: input(4, value("cpu", 50, 100)), want: 2, wantRec: 2},
		{name: "HPA walkthrough: 305% against a 50% target on 1 replica gives 7",
			in: with(input(1, cpu(305, 50)), func(in *ScalingInput) { in.MaxReplicas = 10 }), want: 7, wantRec: 7,
			reason: []string{"ceil(1 × 305/50) = 7"}},
		{name: "4 replicas at 50% against a 100% target give 2",
			in: input(4, cpu(50, 100)), want: 2, wantRec: 2},
		{name: "the issue's example: 3 replicas at 92% against 60% give 5",
			in: input(3, cpu(92, 60)), want: 5, wantRec: 5,
			reason: []string{"cpu at 92% against a 60% target (ceil(3 × 92/60) = 5); 3 -> 5"}},
		{name: "rounding noise does not add a replica (100 × 1.1/1 is 110)",
			in:   with(input(100, value("prometheus", 1.1, 1)), func(in *ScalingInput) { in.Tolerance = 0; in.MaxReplicas = 200 }),
			want: 110, wantRec: 110},

		// Tolerance.
		{name: "ratio exactly 1.1 is inside the tolerance",
			in: input(10, cpu(110, 100)), want: 10, wantRec: 10,
			reason: []string{"cpu at 110% against a 100% target is within the 10% tolerance", "stays at 10"}},
		{name: "ratio 66/60 is exactly 1.1 too", in: input(10, cpu(66, 60)), want: 10, wantRec: 10},
		{name: "ratio just above 1.1 scales up", in: input(10, cpu(111, 100)), want: 12, wantRec: 12},
		{name: "ratio exactly 0.9 is inside the tolerance", in: input(10, cpu(90, 100)), want: 10, wantRec: 10},
		{name: "ratio just below 0.9 scales down", in: input(10, cpu(89, 100)), want: 9, wantRec: 9},
		{name: "zero tolerance reacts to 1%",
			in: with(input(10, cpu(101, 100)), func(in *ScalingInput) { in.Tolerance = 0 }), want: 11, wantRec: 11},

		// Several metrics.
		{name: "the largest recommendation across metrics wins",
			in: input(4, cpu(80, 50), memory(60, 50)), want: 7, wantRec: 7,
			reason: []string{"cpu at 80% against a 50% target (ceil(4 × 80/50) = 7), the highest of 2 recommendations"}},
		{name: "a metric inside the tolerance keeps the count against one that wants less",
			in: input(6, cpu(30, 60), memory(62, 60)), want: 6, wantRec: 6,
			reason: []string{"memory at 62% against a 60% target is within the 10% tolerance"}},
		{name: "a Prometheus value beats a quiet cpu",
			in: input(2, cpu(50, 60), value("prometheus", 250, 100)), want: 5, wantRec: 5,
			reason: []string{"prometheus at 250 against a target of 100 (ceil(2 × 250/100) = 5)"}},
		{name: "an average value: 250 per replica on 2 replicas, 100 each, needs 5",
			in: input(2, MetricReading{Name: "rps", Kind: MetricAverageValue, Observed: 250, Target: 100}), want: 5, wantRec: 5,
			reason: []string{"rps at 250 per replica against a target of 100 (ceil(2 × 250/100) = 5)"}},

		// Missing data.
		{name: "a missing metric blocks scale-down",
			in: input(6, cpu(30, 60), missing("memory")), want: 6, wantRec: 3,
			limited: "no data for memory, so no scale-down"},
		{name: "a missing metric does not block scale-up",
			in: input(4, cpu(90, 60), missing("memory")), want: 6, wantRec: 6,
			reason: []string{"with no data for memory", "4 -> 6"}},
		{name: "NaN counts as missing",
			in: input(6, cpu(30, 60), MetricReading{Name: "memory", Observed: math.NaN(), Target: 60}), want: 6, wantRec: 3,
			limited: "no data for memory"},
		{name: "all metrics missing keeps the count",
			in: input(5, missing("cpu"), missing("memory")), want: 5, wantRec: 5,
			reason: []string{"no data for cpu, memory, so the replica count is kept; stays at 5"}},
		{name: "all metrics missing still obeys max_replicas",
			in: with(input(5, missing("cpu")), func(in *ScalingInput) { in.MaxReplicas = 4 }), want: 4, wantRec: 5,
			limited: "lowered to max_replicas 4"},

		// Partial views: some ready tasks run where the metric source cannot see them.
		{name: "a partial view scales up only as far as the measured tasks alone justify",
			// 2 of 3 tasks at 100% against 50%: the third counted as idle gives 66.67%.
			in: input(3, MetricReading{Name: "cpu", Kind: MetricUtilisation, Observed: 100, Target: 50, Measured: 2, Ready: 3}), want: 4, wantRec: 4,
			reason: []string{"cpu at 100% on 2 of 3 ready tasks, 66.67% with the other 1 counted as idle, against a 50% target (ceil(3 × 66.67/50) = 4); 3 -> 4"}},
		{name: "a partial view never scales down",
			in: input(3, MetricReading{Name: "cpu", Kind: MetricUtilisation, Observed: 2, Target: 50, Measured: 1, Ready: 3}), want: 3, wantRec: 1,
			limited: "cpu on 1 of 3 ready tasks measured only, so no scale-down"},
		{name: "measured tasks hot, but not enough once the others count as idle: no change either way",
			in: input(3, MetricReading{Name: "cpu", Kind: MetricUtilisation, Observed: 80, Target: 60, Measured: 1, Ready: 3}), want: 3, wantRec: 2,
			limited: "cpu on 1 of 3 ready tasks measured only, so no scale-down"},
		{name: "a partial view of one metric holds a scale-down another metric wants",
			in: input(6, cpu(10, 60), MetricReading{Name: "memory", Kind: MetricUtilisation, Observed: 10, Target: 60, Measured: 4, Ready: 6}), want: 6, wantRec: 1,
			limited: "memory on 4 of 6 ready tasks measured only"},
		{name: "a whole view (every ready task measured) scales down as usual",
			in: input(3, MetricReading{Name: "cpu", Kind: MetricUtilisation, Observed: 10, Target: 50, Measured: 3, Ready: 3}), want: 1, wantRec: 1},

		// Stabilization windows.
		{name: "a higher recommendation inside the scale-down window keeps replicas up",
			in: with(input(8, cpu(30, 60)), func(in *ScalingInput) {
				in.ScaleDown.StabilizationWindow = 5 * time.Minute
				in.History = []Recommendation{ago(2*time.Minute, 7), ago(4*time.Minute, 5)}
			}), want: 7, wantRec: 4,
			limited: "scale-down held at 7 by the 5m stabilization window (highest recommendation 7)"},
		{name: "scale-down happens once the higher recommendations leave the window",
			in: with(input(8, cpu(30, 60)), func(in *ScalingInput) {
				in.ScaleDown.StabilizationWindow = 5 * time.Minute
				in.History = []Recommendation{ago(6*time.Minute, 8), ago(5*time.Minute, 8)}
			}), want: 4, wantRec: 4},
		{name: "a recommendation above current inside the window holds at current",
			in: with(input(8, cpu(30, 60)), func(in *ScalingInput) {
				in.ScaleDown.StabilizationWindow = 5 * time.Minute
				in.History = []Recommendation{ago(time.Minute, 10)}
			}), want: 8, wantRec: 4, limited: "scale-down held at 8"},
		{name: "scale-up goes only to the lowest recommendation in its window",
			in: with(input(2, cpu(180, 60)), func(in *ScalingInput) {
				in.ScaleUp.StabilizationWindow = 3 * time.Minute
				in.History = []Recommendation{ago(time.Minute, 3)}
			}), want: 3, wantRec: 6, limited: "scale-up held at 3"},
		{name: "without a window history does not count",
			in: with(input(2, cpu(180, 60)), func(in *ScalingInput) {
				in.History = []Recommendation{ago(time.Minute, 3)}
			}), want: 6, wantRec: 6},

		// Rate limits.
		{name: "max_step limits scale-up",
			in: with(input(2, cpu(240, 60)), func(in *ScalingInput) { in.ScaleUp.MaxStep = 2 }), want: 4, wantRec: 8, limited: "scale-up limited to +2 per decision",
			reason: []string{"cpu at 240% against a 60% target (ceil(2 × 240/60) = 8); scale-up limited to +2 per decision; 2 -> 4"}},
		{name: "max_percent limits scale-up",
			in: with(input(4, cpu(180, 60)), func(in *ScalingInput) { in.ScaleUp.MaxPercent = 50 }), want: 6, wantRec: 12,
			limited: "scale-up limited to +2 per decision"},
		{name: "with both limits the more permissive one applies (percent)",
			in:   with(input(4, cpu(180, 60)), func(in *ScalingInput) { in.ScaleUp.MaxStep, in.ScaleUp.MaxPercent = 1, 50 }),
			want: 6, wantRec: 12, limited: "scale-up limited to +2 per decision"},
		{name: "with both limits the more permissive one applies (step)",
			in:   with(input(4, cpu(180, 60)), func(in *ScalingInput) { in.ScaleUp.MaxStep, in.ScaleUp.MaxPercent = 5, 50 }),
			want: 9, wantRec: 12, limited: "scale-up limited to +5 per decision"},
		{name: "a percentage always allows one replica",
			in: with(input(3, cpu(180, 60)), func(in *ScalingInput) { in.ScaleUp.MaxPercent = 10 }), want: 4, wantRec: 9,
			limited: "scale-up limited to +1 per decision"},
		{name: "max_percent limits scale-down",
			in: with(input(3, cpu(20, 60)), func(in *ScalingInput) { in.ScaleDown.MaxPercent = 10 }), want: 2, wantRec: 1,
			limited: "scale-down limited to -1 per decision"},
		{name: "max_step limits scale-down",
			in: with(input(10, cpu(30, 60)), func(in *ScalingInput) { in.ScaleDown.MaxStep = 1 }), want: 9, wantRec: 5,
			limited: "scale-down limited to -1 per decision"},
		{name: "scale-up limits leave scale-down alone",
			in: with(input(10, cpu(30, 60)), func(in *ScalingInput) { in.ScaleUp.MaxStep = 1 }), want: 5, wantRec: 5},
		{name: "min_replicas wins over a rate limit",
			in:   with(input(2, cpu(240, 60)), func(in *ScalingInput) { in.ScaleUp.MaxStep = 1; in.MinReplicas = 6 }),
			want: 6, wantRec: 8, limited: "scale-up limited to +1 per decision; raised to min_replicas 6"},

		// Bounds and placement.
		{name: "max_replicas caps", in: with(input(4, cpu(300, 60)), func(in *ScalingInput) { in.MaxReplicas = 10 }),
			want: 10, wantRec: 20, limited: "lowered to max_replicas 10"},
		{name: "min_replicas floors", in: with(input(2, cpu(20, 60)), func(in *ScalingInput) { in.MinReplicas = 2 }),
			want: 2, wantRec: 1, limited: "raised to min_replicas 2"},
		{name: "placement caps below max_replicas",
			in: with(input(4, cpu(135, 60)), func(in *ScalingInput) { in.MaxByPlacement = 6 }), want: 6, wantRec: 9,
			limited: "capped at 6 by placement"},
		{name: "placement wins over min_replicas and says so",
			in:   with(input(4, cpu(60, 60)), func(in *ScalingInput) { in.MinReplicas, in.MaxReplicas, in.MaxByPlacement = 8, 10, 6 }),
			want: 6, wantRec: 4, limited: "capped at 6 by placement (max replicas per node × eligible nodes), below min_replicas 8"},

		// Rollouts.
		{name: "a rollout in progress blocks scale-in",
			in: with(input(6, cpu(30, 60)), func(in *ScalingInput) { in.RolloutInProgress = true }), want: 6, wantRec: 3,
			limited: "a rollout is in progress, so no scale-down"},
		{name: "a rollout in progress does not block scale-up",
			in: with(input(2, cpu(120, 60)), func(in *ScalingInput) { in.RolloutInProgress = true }), want: 4, wantRec: 4},
		{name: "max_replicas still applies during a rollout",
			in:   with(input(6, cpu(60, 60)), func(in *ScalingInput) { in.RolloutInProgress = true; in.MaxReplicas = 4 }),
			want: 4, wantRec: 6, limited: "lowered to max_replicas 4"},

		// Zero replicas.
		{name: "0 replicas with min_replicas 0 means scaling is disabled, whatever the load",
			in: with(input(0, cpu(500, 60)), func(in *ScalingInput) { in.MinReplicas = 0 }), want: 0, wantRec: 0,
			reason: []string{"scaling is disabled", "stays at 0"}},
		{name: "0 replicas with min_replicas 2 scales to the minimum",
			in: with(input(0, cpu(500, 60)), func(in *ScalingInput) { in.MinReplicas = 2 }), want: 2, wantRec: 0,
			reason: []string{"0 -> 2"}, limited: "raised to min_replicas 2"},

		// Schedules.
		{name: "no metrics, and a schedule raises the minimum",
			in: with(input(2), func(in *ScalingInput) {
				in.Schedules = []ScalingSchedule{{Cron: "0 8 * * *", Duration: 10 * time.Hour, MinReplicas: 5, MaxReplicas: 10}}
			}), want: 5, wantRec: 2, limited: `raised to min_replicas 5 of schedule "0 8 * * *"`},
		{name: "a 22:00 schedule of 4h is active at 01:00 the next day",
			in:   with(input(3, cpu(60, 60)), nightly(time.Date(2026, 6, 11, 1, 0, 0, 0, berlin), "0 22 * * *", 4*time.Hour, 6, 20)),
			want: 6, wantRec: 3, limited: `raised to min_replicas 6 of schedule "0 22 * * *"`},
		{name: "a 22:00 schedule of 4h is over at 02:00",
			in:   with(input(3, cpu(60, 60)), nightly(time.Date(2026, 6, 11, 2, 0, 0, 0, berlin), "0 22 * * *", 4*time.Hour, 6, 20)),
			want: 3, wantRec: 3},
		{name: "a night schedule can scale to zero",
			in:   with(input(3, cpu(60, 60)), nightly(time.Date(2026, 6, 11, 1, 0, 0, 0, berlin), "0 22 * * *", 4*time.Hour, 0, 0)),
			want: 0, wantRec: 3, limited: `lowered to max_replicas 0 of schedule "0 22 * * *"`},
		{name: "a schedule in the hour skipped by summer time starts when the clock jumps",
			in:   with(input(3, cpu(60, 60)), nightly(time.Date(2026, 3, 29, 3, 30, 0, 0, berlin), "30 2 * * *", time.Hour, 6, 20)),
			want: 6, wantRec: 3, limited: `raised to min_replicas 6 of schedule "30 2 * * *"`},
		{name: "of several active schedules the largest minimum and largest maximum apply",
			in: with(input(3, cpu(400, 60)), func(in *ScalingInput) {
				in.Schedules = []ScalingSchedule{
					{Cron: "0 * * * *", Duration: time.Hour, MinReplicas: 5, MaxReplicas: 8},
					{Cron: "0 12 * * 3", Duration: time.Hour, MinReplicas: 2, MaxReplicas: 12},
					{Cron: "0 13 * * *", Duration: time.Hour, MinReplicas: 50, MaxReplicas: 50}, // not active
				}
			}), want: 12, wantRec: 20, limited: `lowered to max_replicas 12 of schedule "0 12 * * 3"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecideScaling(tt.in)
			if err != nil {
				t.Fatalf("DecideScaling: %v", err)
			}
			if got.Desired != tt.want || got.Recommendation != tt.wantRec || got.Current != tt.in.Current {
				t.Errorf("desired %d, recommendation %d, current %d; want %d, %d, %d (reason %q)",
					got.Desired, got.Recommendation, got.Current, tt.want, tt.wantRec, tt.in.Current, got.Reason)
			}
			for _, fragment := range tt.reason {
				if !strings.Contains(got.Reason, fragment) {
					t.Errorf("reason %q does not contain %q", got.Reason, fragment)
				}
			}
			if tt.limited == "" && got.Limited != "" {
				t.Errorf("limited %q, want nothing", got.Limited)
			}
			if !strings.Contains(got.Limited, tt.limited) || !strings.Contains(got.Reason, tt.limited) {
				t.Errorf("limited %q (reason %q) does not contain %q", got.Limited, got.Reason, tt.limited)
			}
			if strings.Contains(got.Reason, "\n") {
				t.Errorf("reason %q is more than one line", got.Reason)
			}
		})
	}
}

func TestDecideScalingHistory(t *testing.T) {
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration, replicas int) Recommendation {
		return Recommendation{At: now.Add(-d), Replicas: replicas}
	}
	history := make([]Recommendation, 0, 8) // spare capacity: the decision must not write into it
	history = append(history, ago(12*time.Minute, 9), ago(10*time.Minute, 9), ago(9*time.Minute, 7), ago(time.Minute, 5))
	in := ScalingInput{
		Current: 5, MinReplicas: 1, MaxReplicas: 10, Tolerance: DefaultTolerance, Now: now,
		Metrics:   []MetricReading{{Name: "cpu", Observed: 30, Target: 60}},
		ScaleUp:   ScalingRules{StabilizationWindow: 3 * time.Minute},
		ScaleDown: ScalingRules{StabilizationWindow: 10 * time.Minute},
		History:   history,
	}
	check := func(t *testing.T, got []Recommendation, want ...Recommendation) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("history %v, want %v", got, want)
		}
		for i := range want {
			if !got[i].At.Equal(want[i].At) || got[i].Replicas != want[i].Replicas {
				t.Errorf("history[%d] = %v, want %v", i, got[i], want[i])
			}
		}
	}

	t.Run("pruned to the longer window plus the new recommendation", func(t *testing.T) {
		got, err := DecideScaling(in)
		if err != nil {
			t.Fatal(err)
		}
		if got.Desired != 5 {
			t.Errorf("desired %d, want 5 (held by the 7 nine minutes ago): %s", got.Desired, got.Reason)
		}
		check(t, got.NewHistory, ago(9*time.Minute, 7), ago(time.Minute, 5), ago(0, 3))
		if extra := history[:cap(history)][len(history)]; extra != (Recommendation{}) {
			t.Errorf("the caller's history was written to: %v", extra)
		}
	})
	t.Run("a held decision says when the window lets go", func(t *testing.T) {
		for _, c := range []struct {
			name    string
			history []Recommendation
			ups     bool
			want    time.Time
		}{
			{name: "held at the current count by a 7 and a 5: once the 5, the later, is out",
				history: history, want: now.Add(9 * time.Minute)},
			{name: "held at 7 (below the current 9) by one 7: once it is out",
				history: []Recommendation{ago(4*time.Minute, 7), ago(2*time.Minute, 4)}, want: now.Add(6 * time.Minute)},
			{name: "a scale-up held by the 3-minute window: once the last low one is out",
				history: []Recommendation{ago(150*time.Second, 2), ago(90*time.Second, 3)}, ups: true, want: now.Add(90 * time.Second)},
			{name: "not held: no time",
				history: []Recommendation{ago(11*time.Minute, 9)}},
		} {
			held := in
			held.History = c.history
			if c.history[0].Replicas == 7 {
				held.Current = 9
			}
			if c.ups {
				held.Metrics = []MetricReading{{Name: "cpu", Observed: 120, Target: 60}}
			}
			got, err := DecideScaling(held)
			if err != nil {
				t.Fatal(err)
			}
			if !got.ReleaseAt.Equal(c.want) {
				t.Errorf("%s: released at %v, want %v (%s)", c.name, got.ReleaseAt.Sub(now), c.want.Sub(now), got.Reason)
			}
		}
	})
	t.Run("a rollout hold records the held count", func(t *testing.T) {
		rolling := in
		rolling.RolloutInProgress = true
		got, err := DecideScaling(rolling)
		if err != nil {
			t.Fatal(err)
		}
		check(t, got.NewHistory, ago(9*time.Minute, 7), ago(time.Minute, 5), ago(0, 5))
	})
	t.Run("waking from 0 records the count it wakes to", func(t *testing.T) {
		woken := in
		woken.Current, woken.MinReplicas, woken.History = 0, 2, nil
		woken.ScaleUp, woken.ScaleDown = ScalingRules{}, ScalingRules{}
		got, err := DecideScaling(woken)
		if err != nil {
			t.Fatal(err)
		}
		check(t, got.NewHistory, ago(0, 2))
	})
}

func TestDecideScalingRejectsBadInput(t *testing.T) {
	valid := func() ScalingInput {
		return ScalingInput{Current: 2, MinReplicas: 1, MaxReplicas: 5, Tolerance: DefaultTolerance,
			Metrics:   []MetricReading{{Name: "cpu", Observed: 50, Target: 60}},
			Schedules: []ScalingSchedule{{Cron: "0 8 * * 1-5", Duration: time.Hour, MinReplicas: 2, MaxReplicas: 5}}}
	}
	if _, err := DecideScaling(valid()); err != nil {
		t.Fatalf("the valid input is rejected: %v", err)
	}
	tests := []struct {
		name   string
		change func(*ScalingInput)
		want   string
	}{
		{"negative current", func(in *ScalingInput) { in.Current = -1 }, "current replicas (-1)"},
		{"negative min", func(in *ScalingInput) { in.MinReplicas = -1 }, "min_replicas (-1)"},
		{"max below min", func(in *ScalingInput) { in.MaxReplicas = 0 }, "max_replicas (0) is below min_replicas (1)"},
		{"negative placement cap", func(in *ScalingInput) { in.MaxByPlacement = -1 }, "placement cap"},
		{"negative tolerance", func(in *ScalingInput) { in.Tolerance = -0.1 }, "tolerance"},
		{"NaN tolerance", func(in *ScalingInput) { in.Tolerance = math.NaN() }, "tolerance"},
		{"negative window", func(in *ScalingInput) { in.ScaleDown.StabilizationWindow = -time.Second }, "scale_down"},
		{"negative step", func(in *ScalingInput) { in.ScaleUp.MaxStep = -1 }, "scale_up"},
		{"unnamed metric", func(in *ScalingInput) { in.Metrics[0].Name = "" }, "metric[0] has no name"},
		{"zero target", func(in *ScalingInput) { in.Metrics[0].Target = 0 }, "metric[0] (cpu): the target (0)"},
		{"zero target on a missing metric", func(in *ScalingInput) { in.Metrics[0].Target, in.Metrics[0].Missing = 0, true }, "target"},
		{"bad cron", func(in *ScalingInput) { in.Schedules[0].Cron = "0 25 * * *" }, `schedule[0]: cron expression "0 25 * * *": hour field "25"`},
		{"zero duration", func(in *ScalingInput) { in.Schedules[0].Duration = 0 }, "duration"},
		{"duration above a week", func(in *ScalingInput) { in.Schedules[0].Duration = 8 * 24 * time.Hour }, "at most 168h"},
		{"schedule max below min", func(in *ScalingInput) { in.Schedules[0].MaxReplicas = 1 }, "schedule[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := valid()
			tt.change(&in)
			_, err := DecideScaling(in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseCron(t *testing.T) {
	for _, expr := range []string{"* * * * *", "*/15 9-17 * * 1-5", "0 0 1,15 * 7", "5/20 * * * *", "0 22 * * 0-6", "0-59/30 0,12 1-31/2 1-12 *", "0 0 29 2 *", "0 0 31 2,3 *", "0 0 30 2 1"} {
		if _, err := ParseCron(expr); err != nil {
			t.Errorf("ParseCron(%q): %v", expr, err)
		}
	}
	tests := []struct{ expr, want string }{
		{"", "has 0 fields, want 5"},
		{"* * * *", "has 4 fields, want 5: minute hour day-of-month month day-of-week"},
		{"* * * * * *", "has 6 fields"},
		{"60 * * * *", `minute field "60": 60 is outside 0-59`},
		{"* 24 * * *", `hour field "24"`},
		{"* * 0 * *", `day-of-month field "0": 0 is outside 1-31`},
		{"* * * 13 *", `month field "13"`},
		{"* * * JAN *", `month field "JAN": "JAN" is not a number`},
		{"* * * * 8", `day-of-week field "8"`},
		{"*/0 * * * *", `minute field "*/0": step "0" must be a whole number above 0`},
		{"*/x * * * *", `step "x"`},
		{"5-1 * * * *", "range 5-1 starts after it ends"},
		{"1,,2 * * * *", `"" is not a number`},
		{"+5 * * * *", `"+5" is not a number`},
		{"1-2-3 * * * *", `minute field "1-2-3"`},
		{"0 0 30 2 *", "never fires"},
		{"0 0 31 4,6,9,11 *", "never fires"},
	}
	for _, tt := range tests {
		_, err := ParseCron(tt.expr)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseCron(%q) error %v, want one containing %q", tt.expr, err, tt.want)
		}
	}
}

func TestCronActiveAt(t *testing.T) {
	berlin := loadLocation(t, "Europe/Berlin")
	lordHowe := loadLocation(t, "Australia/Lord_Howe") // summer time moves the clock by 30 minutes
	local := func(y, mo, d, h, mi int) time.Time { return time.Date(y, time.Month(mo), d, h, mi, 0, 0, berlin) }
	utc := func(y, mo, d, h, mi int) time.Time { return time.Date(y, time.Month(mo), d, h, mi, 0, 0, time.UTC) }

	tests := []struct {
		name string
		expr string
		d    time.Duration
		loc  *time.Location
		at   time.Time
		want bool
	}{
		// Across midnight.
		{"22:00 for 4h is active at 01:00 the next day", "0 22 * * *", 4 * time.Hour, berlin, local(2026, 6, 11, 1, 0), true},
		{"22:00 for 4h ends at 02:00", "0 22 * * *", 4 * time.Hour, berlin, local(2026, 6, 11, 2, 0), false},
		{"22:00 for 4h is not active before 22:00", "0 22 * * *", 4 * time.Hour, berlin, local(2026, 6, 10, 21, 59), false},
		{"22:00 for 4h starts at 22:00", "0 22 * * *", 4 * time.Hour, berlin, local(2026, 6, 10, 22, 0), true},
		{"across the end of the year", "0 22 31 12 *", 4 * time.Hour, berlin, local(2027, 1, 1, 1, 30), true},
		{"Friday night is active early on Saturday", "0 22 * * 5", 4 * time.Hour, berlin, local(2026, 6, 13, 1, 0), true},
		{"Friday night is not active early on Sunday", "0 22 * * 5", 4 * time.Hour, berlin, local(2026, 6, 14, 1, 0), false},
		{"no location means UTC", "0 22 * * *", 4 * time.Hour, nil, utc(2026, 6, 11, 1, 0), true},
		{"the same instant in Berlin is past the window", "0 22 * * *", 4 * time.Hour, berlin, utc(2026, 6, 11, 1, 0), false},

		// Fields.
		{"7 is Sunday", "0 12 * * 7", time.Hour, berlin, local(2026, 6, 14, 12, 30), true},
		{"0 is Sunday", "0 12 * * 0", time.Hour, berlin, local(2026, 6, 14, 12, 30), true},
		{"restricted day fields: a Wednesday matches", "0 9 1 * 3", time.Hour, berlin, local(2026, 6, 10, 9, 30), true},
		{"restricted day fields: the 1st matches", "0 9 1 * 3", time.Hour, berlin, local(2026, 6, 1, 9, 30), true},
		{"restricted day fields: neither", "0 9 1 * 3", time.Hour, berlin, local(2026, 6, 11, 9, 30), false},
		{"a day field starting with * needs both: even Wednesday", "0 9 */2 * 3", time.Hour, berlin, local(2026, 6, 10, 9, 30), false},
		{"a day field starting with * needs both: odd Wednesday", "0 9 */2 * 3", time.Hour, berlin, local(2026, 6, 17, 9, 30), true},
		{"steps in office hours", "*/15 9-17 * * 1-5", 10 * time.Minute, berlin, local(2026, 6, 10, 12, 20), true},
		{"steps in office hours: window over", "*/15 9-17 * * 1-5", 10 * time.Minute, berlin, local(2026, 6, 10, 12, 25), false},
		{"steps in office hours: last firing", "*/15 9-17 * * 1-5", 10 * time.Minute, berlin, local(2026, 6, 10, 17, 50), true},
		{"steps in office hours: evening", "*/15 9-17 * * 1-5", 10 * time.Minute, berlin, local(2026, 6, 10, 18, 10), false},
		{"steps in office hours: Saturday", "*/15 9-17 * * 1-5", 10 * time.Minute, berlin, local(2026, 6, 13, 12, 20), false},
		{"a/n runs from a to the end", "5/20 * * * *", 5 * time.Minute, berlin, local(2026, 6, 10, 12, 27), true},
		{"a/n between firings", "5/20 * * * *", 5 * time.Minute, berlin, local(2026, 6, 10, 12, 31), false},
		{"seconds inside the firing minute count", "30 12 * * *", time.Minute, berlin, local(2026, 6, 10, 12, 30).Add(59 * time.Second), true},

		// Long windows and the cap.
		{"a week from the 1st", "0 0 1 * *", 7 * 24 * time.Hour, berlin, local(2026, 6, 7, 23, 59), true},
		{"a week from the 1st is over on the 8th", "0 0 1 * *", 7 * 24 * time.Hour, berlin, local(2026, 6, 8, 0, 0), false},
		{"durations are capped at a week", "0 0 1 * *", 30 * 24 * time.Hour, berlin, local(2026, 6, 8, 0, 0), false},
		{"zero duration is never active", "* * * * *", 0, berlin, local(2026, 6, 10, 12, 0), false},

		// Summer time starts in Berlin on 2026-03-29: 02:00 CET becomes 03:00 CEST.
		{"spring: a window is elapsed time (00:00 + 4h is 05:00 CEST)", "0 0 * * *", 4 * time.Hour, berlin, local(2026, 3, 29, 4, 30), true},
		{"spring: the window ends at 05:00 CEST", "0 0 * * *", 4 * time.Hour, berlin, local(2026, 3, 29, 5, 0), false},
		{"spring: 22:00 for 6h runs to 05:00 CEST", "0 22 * * *", 6 * time.Hour, berlin, local(2026, 3, 29, 4, 59), true},
		{"spring: 22:00 for 6h ends at 05:00 CEST", "0 22 * * *", 6 * time.Hour, berlin, local(2026, 3, 29, 5, 0), false},
		{"spring: a skipped 02:30 fires when the clock jumps", "30 2 * * *", time.Hour, berlin, local(2026, 3, 29, 3, 0), true},
		{"spring: the skipped firing lasts its duration", "30 2 * * *", time.Hour, berlin, local(2026, 3, 29, 3, 59), true},
		{"spring: the skipped firing ends after its duration", "30 2 * * *", time.Hour, berlin, local(2026, 3, 29, 4, 0), false},
		{"spring: not active before the jump", "30 2 * * *", time.Hour, berlin, local(2026, 3, 29, 1, 59), false},
		{"spring: two days across the change are 48 real hours", "0 12 28 3 *", 48 * time.Hour, berlin, local(2026, 3, 30, 12, 30), true},
		{"spring: two days across the change end at 13:00 CEST", "0 12 28 3 *", 48 * time.Hour, berlin, local(2026, 3, 30, 13, 0), false},

		// Summer time ends in Berlin on 2026-10-25: 03:00 CEST becomes 02:00 CET.
		{"autumn: 00:00 + 4h is 03:00 CET", "0 0 * * *", 4 * time.Hour, berlin, utc(2026, 10, 25, 1, 59), true},
		{"autumn: the window ends at 03:00 CET", "0 0 * * *", 4 * time.Hour, berlin, utc(2026, 10, 25, 2, 0), false},
		{"autumn: 02:30 fires on the first pass (02:45 CEST)", "30 2 * * *", 30 * time.Minute, berlin, utc(2026, 10, 25, 0, 45), true},
		{"autumn: between the passes (02:15 CET)", "30 2 * * *", 30 * time.Minute, berlin, utc(2026, 10, 25, 1, 15), false},
		{"autumn: 02:30 fires again on the second pass (02:45 CET)", "30 2 * * *", 30 * time.Minute, berlin, utc(2026, 10, 25, 1, 45), true},
		{"autumn: two days across the change run to 11:00 CET", "0 12 24 10 *", 48 * time.Hour, berlin, local(2026, 10, 26, 10, 30), true},
		{"autumn: two days across the change end at 11:00 CET", "0 12 24 10 *", 48 * time.Hour, berlin, local(2026, 10, 26, 11, 0), false},

		// Lord Howe Island moves its clock from 02:00 to 02:30 on 2026-10-04.
		{"half-hour change: a skipped 02:15 fires at the jump", "15 2 * * *", time.Hour, lordHowe,
			time.Date(2026, 10, 4, 3, 29, 0, 0, lordHowe), true},
		{"half-hour change: and ends an hour later", "15 2 * * *", time.Hour, lordHowe,
			time.Date(2026, 10, 4, 3, 30, 0, 0, lordHowe), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCron(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.ActiveAt(tt.at, tt.d, tt.loc); got != tt.want {
				t.Errorf("ActiveAt(%s, %s) = %v, want %v", tt.at, tt.d, got, tt.want)
			}
		})
	}
}

// TestCronActiveAtMatchesMinuteWalk checks the day and hour skipping of ActiveAt against the
// plainest reading of its definition, a walk back one minute at a time, around clock changes.
func TestCronActiveAtMatchesMinuteWalk(t *testing.T) {
	walk := func(c *CronSchedule, at time.Time, d time.Duration, loc *time.Location) bool {
		la := at.In(loc)
		x := at.Add(-time.Duration(la.Second())*time.Second - time.Duration(la.Nanosecond()))
		for ; x.After(at.Add(-d)); x = x.Add(-time.Minute) {
			lx := x.In(loc)
			if c.dayMatches(lx) && c.hour&(1<<lx.Hour()) != 0 && c.minute&(1<<lx.Minute()) != 0 {
				return true
			}
			if c.firesInGapBefore(x, loc) {
				return true
			}
		}
		return false
	}
	around := []struct {
		zone string
		day  time.Time // a clock change happens early on this date (local)
	}{
		{"Europe/Berlin", time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC)},
		{"Europe/Berlin", time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC)},
		{"Australia/Lord_Howe", time.Date(2026, 10, 4, 0, 0, 0, 0, time.UTC)},
		{"America/Santiago", time.Date(2026, 9, 6, 0, 0, 0, 0, time.UTC)}, // the clock jumps at midnight
		{"UTC", time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)},
	}
	exprs := []string{"30 2 * * *", "0 0 * * *", "*/20 1-3 * * 0", "0 23 * * 6", "45 1 * * *", "15,45 23 * * *", "0 0 6 9 *"}
	durations := []time.Duration{30 * time.Minute, 4 * time.Hour, 26 * time.Hour}
	checked := 0
	for _, a := range around {
		loc := loadLocation(t, a.zone)
		for _, expr := range exprs {
			c, err := ParseCron(expr)
			if err != nil {
				t.Fatal(err)
			}
			for at := a.day.Add(-30 * time.Hour); at.Before(a.day.Add(54 * time.Hour)); at = at.Add(37*time.Minute + 11*time.Second) {
				for _, d := range durations {
					checked++
					if got, want := c.ActiveAt(at, d, loc), walk(c, at, d, loc); got != want {
						t.Errorf("%s %q for %s at %s: ActiveAt %v, minute walk %v", a.zone, expr, d, at.In(loc), got, want)
					}
				}
			}
		}
	}
	if checked < 10000 {
		t.Errorf("only %d cases checked", checked)
	}
}
