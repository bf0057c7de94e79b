// Command benchautoscaler is the Go side of scripts/bench-autoscaler.sh: it starts and stops
// a benchmark-only autoscaling controller, waits for its rounds, and reads what the bash side
// finds clumsy: the controller's JSON log, the timed request log of scripts/apicount (-times)
// and the tasks' times. Every figure it prints is in seconds, one run per line; the script
// takes the median, minimum and maximum.
//
//	benchautoscaler default-interval
//	benchautoscaler start -name N -image I -socket S -listen ADDR -prefix P [-interval D] [-level L]
//	benchautoscaler stop -name N
//	benchautoscaler settled -prefix P -count N -metrics URL
//	benchautoscaler rounds -requests FILE -from NS -to NS
//	benchautoscaler reaction -service S -controller-log FILE -requests FILE -tasks ID,ID -on NS
//	benchautoscaler scaledown -service S -controller-log FILE -requests FILE -window D -off NS
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchautoscaler default-interval | start | stop | settled | rounds | reaction | scaledown [flags]")
		os.Exit(2)
	}
	cmds := map[string]func([]string) error{
		"default-interval": func([]string) error { fmt.Println(orchestrator.DefaultAutoscalerInterval); return nil },
		"start":            start,
		"stop":             stop,
		"settled":          settled,
		"rounds":           rounds,
		"reaction":         reaction,
		"scaledown":        scaledown,
	}
	cmd, ok := cmds[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "benchautoscaler: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
	if err := cmd(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "benchautoscaler %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func engine(ctx context.Context) (*orchestrator.Engine, error) {
	return orchestrator.New(ctx, orchestrator.Config{Host: os.Getenv("DOCKER_HOST")})
}

// start creates the controller as swarm_autoscaler does (orchestrator.AutoscalerSpec, the
// same node lock), with three changes for the benchmark: the Docker socket it mounts is the
// counting proxy's, it runs on the host's network (so that it reaches the Prometheus on the
// host's loopback) and it serves /metrics on a loopback address of the benchmark's choosing.
// It waits, first, while another controller runs or a continuous policy outside the
// benchmark's prefix exists (a controller acts on every continuous policy of the swarm), then
// until the controller finished its first round (its task is healthy), and prints its ID.
func start(args []string) error {
	fs := flag.NewFlagSet("start", flag.ExitOnError)
	name := fs.String("name", "", "service name")
	image := fs.String("image", "", "controller image")
	socket := fs.String("socket", "", "the Docker socket the controller mounts (the proxy's)")
	listen := fs.String("listen", "", "address of /metrics and /healthz, on the host's network")
	prefix := fs.String("prefix", "", "names of the benchmark's services start with this")
	interval := fs.Duration("interval", 0, "the controller's interval (0: its default)")
	level := fs.String("level", "", "log level (empty: the default)")
	wait := fs.Duration("wait", 10*time.Minute, "how long to wait for other controllers and policies to go")
	_ = fs.Parse(args)
	if *name == "" || *image == "" || *socket == "" || *listen == "" || *prefix == "" {
		return errors.New("-name, -image, -socket, -listen and -prefix are required")
	}
	ctx := context.Background()
	e, err := engine(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = e.Close() }()
	if err := waitAlone(ctx, e, *prefix, *wait); err != nil {
		return err
	}
	spec := orchestrator.AutoscalerSpec(orchestrator.AutoscalerSettings{Name: *name, Image: *image, Interval: *interval, LogLevel: *level,
		Networks: []string{"host"}})
	cs := spec.TaskTemplate.ContainerSpec
	for i, m := range cs.Mounts {
		if m.Target == "/var/run/docker.sock" {
			cs.Mounts[i].Source = *socket
		}
	}
	cs.Env = append(cs.Env, "SWARM_AUTOSCALER_LISTEN="+*listen)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	a, err := e.ApplyService(ctx, "", spec, orchestrator.ApplyOptions{Converge: true})
	if err != nil {
		return fmt.Errorf("create the controller %s: %w", *name, err)
	}
	fmt.Println(a.Write.ID)
	return nil
}

// waitAlone waits until no controller service runs and no service outside prefix carries a
// continuous policy, for at most wait.
func waitAlone(ctx context.Context, e *orchestrator.Engine, prefix string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	said := ""
	for {
		e.Invalidate()
		services, err := e.Services(ctx)
		if err != nil {
			return err
		}
		var others []string
		for _, svc := range services {
			if svc.Spec.Labels[orchestrator.AutoscalerLabel] != "" {
				others = append(others, "controller "+svc.Spec.Name)
				continue
			}
			if strings.HasPrefix(svc.Spec.Name, prefix) {
				continue
			}
			if p, err := orchestrator.ParseScalingPolicy(svc.Spec.Labels[orchestrator.ScalingOwnerLabel]); err == nil && p.Continuous() {
				others = append(others, "continuous policy on "+svc.Spec.Name)
			}
		}
		if len(others) == 0 {
			return nil
		}
		now := strings.Join(others, ", ")
		if time.Now().After(deadline) {
			return fmt.Errorf("still there after %s: %s. A controller acts on every continuous policy of the swarm, so the benchmark's controller would act on those policies, or stand by", wait, now)
		}
		if now != said {
			fmt.Fprintf(os.Stderr, "benchautoscaler: waiting for other work on the swarm to end: %s\n", now)
			said = now
		}
		time.Sleep(10 * time.Second)
	}
}

// stop removes the controller and, when no other controller is left, its heartbeat config (as
// swarm_autoscaler's destroy does).
func stop(args []string) error {
	fs := flag.NewFlagSet("stop", flag.ExitOnError)
	name := fs.String("name", "", "service name")
	_ = fs.Parse(args)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e, err := engine(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = e.Close() }()
	st, err := e.Service(ctx, *name)
	if errors.Is(err, orchestrator.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return e.DeleteAutoscaler(ctx, st.Service.ID)
}

// settled waits until count services named with prefix carry a continuous policy whose state
// the controller wrote, and prints how long that took (seconds); then it waits for two more of
// the controller's rounds (read from its /metrics): from then on a steady load writes nothing.
// The controller may restart meanwhile (Swarm replaces a task whose healthcheck fails): its
// /metrics then answers nothing for a while, and counts its rounds from zero again.
func settled(args []string) error {
	fs := flag.NewFlagSet("settled", flag.ExitOnError)
	prefix := fs.String("prefix", "", "service name prefix")
	count := fs.Int("count", 0, "how many policies")
	metrics := fs.String("metrics", "", "the controller's /metrics URL")
	timeout := fs.Duration("timeout", 30*time.Minute, "how long to wait")
	_ = fs.Parse(args)
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	e, err := engine(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = e.Close() }()
	began := time.Now()
	for {
		e.Invalidate()
		services, err := e.Services(ctx)
		if err != nil {
			return err
		}
		n := 0
		for _, svc := range services {
			p, perr := orchestrator.ParseScalingPolicy(svc.Spec.Labels[orchestrator.ScalingOwnerLabel])
			st, _, serr := orchestrator.ScalingStateOf(svc.Spec)
			if strings.HasPrefix(svc.Spec.Name, *prefix) && perr == nil && p.Continuous() && serr == nil && st.By == orchestrator.ByController {
				n++
			}
		}
		if n >= *count {
			break
		}
		if err := pause(ctx, time.Second); err != nil {
			return fmt.Errorf("%d of %d policies decided by the controller: %w", n, *count, err)
		}
	}
	fmt.Printf("%.3f\n", time.Since(began).Seconds())
	seen, last := 0.0, -1.0
	for seen < 2 {
		if r, err := roundsTotal(ctx, *metrics); err == nil {
			switch {
			case last < 0:
			case r >= last:
				seen += r - last
			default:
				seen += r // a new controller process
			}
			last = r
		}
		if err := pause(ctx, 500*time.Millisecond); err != nil {
			return fmt.Errorf("two rounds after the policies' first decisions: %w", err)
		}
	}
	return nil
}

func pause(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// roundsTotal reads swarm_autoscaler_rounds_total from the controller's /metrics.
func roundsTotal(ctx context.Context, url string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "swarm_autoscaler_rounds_total "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("%s has no swarm_autoscaler_rounds_total", url)
}

// request is one line of apicount's -times log.
type request struct {
	start, end   time.Time
	method, path string // the path with its query
}

func readRequests(path string) ([]request, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	var out []request
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		s, err1 := strconv.ParseInt(fields[0], 10, 64)
		e, err2 := strconv.ParseInt(fields[1], 10, 64)
		_, err3 := strconv.Atoi(fields[2]) // the status
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("%s: not a line of apicount -times: %q", path, sc.Text())
		}
		out = append(out, request{start: time.Unix(0, s), end: time.Unix(0, e), method: fields[3], path: fields[4]})
	}
	slices.SortFunc(out, func(a, b request) int { return a.start.Compare(b.start) })
	return out, sc.Err()
}

// kind sorts a request of the controller: lists (nodes, services, tasks), stats (one per
// container), heartbeat (the config it records its rounds in), write (a service's inspect
// and update), other (ping, info, version).
func (r request) kind() string {
	p, _, _ := strings.Cut(r.path, "?")
	switch {
	case p == "/nodes" || p == "/services" || p == "/tasks" || p == "/configs" || p == "/networks" || p == "/secrets":
		return "lists"
	case strings.HasPrefix(p, "/containers/") && strings.HasSuffix(p, "/stats"):
		return "stats"
	case strings.HasPrefix(p, "/configs/"):
		return "heartbeat"
	case strings.HasPrefix(p, "/services/"):
		return "write"
	}
	return "other"
}

var kinds = []string{"lists", "stats", "heartbeat", "write", "other"}

// rounds prints, for each whole round of the controller between from and to (Unix
// nanoseconds), its Docker API requests and how long they took from the first one's start to
// the last one's answer: "total lists stats heartbeat write other seconds". Each round starts
// with the node list the controller takes to see whether its node leads the swarm. (A write
// drops the engine's lists, so in a round that writes, the next policy lists the nodes again
// and the round counts as several here; a steady round writes nothing.)
func rounds(args []string) error {
	fs := flag.NewFlagSet("rounds", flag.ExitOnError)
	path := fs.String("requests", "", "apicount -times log")
	from := fs.Int64("from", 0, "window start, Unix nanoseconds")
	to := fs.Int64("to", 0, "window end, Unix nanoseconds")
	_ = fs.Parse(args)
	reqs, err := readRequests(*path)
	if err != nil {
		return err
	}
	var starts []int
	for i, r := range reqs {
		if r.method == "GET" && r.path == "/nodes" {
			starts = append(starts, i)
		}
	}
	for k := 0; k+1 < len(starts); k++ {
		first, next := reqs[starts[k]], reqs[starts[k+1]]
		if first.start.Before(time.Unix(0, *from)) || next.start.After(time.Unix(0, *to)) {
			continue
		}
		counts := map[string]int{}
		last := first.end
		for _, r := range reqs[starts[k]:starts[k+1]] {
			counts[r.kind()]++
			if r.end.After(last) {
				last = r.end
			}
		}
		fmt.Print(starts[k+1] - starts[k])
		for _, k := range kinds {
			fmt.Print(" ", counts[k])
		}
		fmt.Printf(" %.3f\n", last.Sub(first.start).Seconds())
	}
	return nil
}

// logLine is a line of the controller's JSON log.
type logLine struct {
	Time    time.Time `json:"time"`
	Msg     string    `json:"msg"`
	Service string    `json:"service"`
	From    int       `json:"from"`
	To      int       `json:"to"`
	Reason  string    `json:"reason"`
}

// round is one round of the controller: when it started (its first request: the node list it
// takes to see whether its node leads the swarm) and ended (its "round" line of the debug
// log, written once it ended), what it decided for one service, and its requests.
type round struct {
	start, end time.Time
	decision   *logLine // the service's line of this round; nil when it has none
	requests   []request
}

// readRounds reads the rounds of a controller's debug log, with their decisions for service,
// and gives each its requests. (The log's took_ms cannot place a round: the controller logs 0
// for every round, see BENCHMARKS.md.)
func readRounds(logPath, reqPath, service string) ([]round, error) {
	reqs, err := readRequests(reqPath)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(logPath)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	var out []round
	var pending *logLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l logLine
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue
		}
		switch {
		case l.Msg == "round":
			r := round{end: l.Time, decision: pending}
			pending = nil
			first := -1
			for i, q := range reqs {
				if q.start.After(r.end) {
					break
				}
				if q.method == "GET" && q.path == "/nodes" {
					first = i
				}
			}
			if first < 0 {
				continue // before the proxy's log began
			}
			r.start = reqs[first].start
			for _, q := range reqs[first:] {
				if q.start.After(r.end) {
					break
				}
				r.requests = append(r.requests, q)
			}
			out = append(out, r)
		case (l.Msg == "decision" || l.Msg == "decision unchanged") && l.Service == service:
			pending = &l
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s has no round lines: is the controller's log level debug?", logPath)
	}
	return out, sc.Err()
}

// writeOf is when the round's write of a service started (its inspect) and ended (the
// update's answer).
func writeOf(reqs []request) (start, end time.Time, ok bool) {
	for _, q := range reqs {
		if q.kind() != "write" {
			continue
		}
		if start.IsZero() {
			start = q.start
		}
		if q.method == "POST" && strings.Contains(q.path, "/update") {
			return start, q.end, true
		}
	}
	return start, end, false
}

// reaction prints how the controller reacted to load switched on at -on: the first "load on"
// line of each task that ran then (-tasks) is when the load crossed the target in that task;
// the latest of them starts the clock. Then: wait (to the start of the round that scaled the
// service up), read (that round's lists and stats, until the last answer), decide (until the
// write began), write (the service's inspect and update), converge (until the last task the
// write started runs), total, and lag (wait + read, the metric lag), in seconds.
func reaction(args []string) error {
	fs := flag.NewFlagSet("reaction", flag.ExitOnError)
	service := fs.String("service", "", "the service")
	logPath := fs.String("controller-log", "", "the controller's debug log")
	reqPath := fs.String("requests", "", "apicount -times log")
	tasks := fs.String("tasks", "", "the IDs of the tasks that ran when the load was switched on, comma-separated")
	on := fs.Int64("on", 0, "when the load was switched on, Unix nanoseconds")
	_ = fs.Parse(args)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	defer func() { _ = cli.Close() }()
	switched := time.Unix(0, *on)
	loaded, err := loadSwitched(ctx, cli, *service, "load on", strings.Split(*tasks, ","), switched)
	if err != nil {
		return err
	}
	rs, err := readRounds(*logPath, *reqPath, *service)
	if err != nil {
		return err
	}
	var up *round
	for i := range rs {
		if d := rs[i].decision; d != nil && rs[i].start.After(switched) && d.Msg == "decision" && d.To > d.From {
			up = &rs[i]
			break
		}
	}
	if up == nil {
		return fmt.Errorf("no round after the load scaled %s up", *service)
	}
	writeStart, writeEnd, ok := writeOf(up.requests)
	if !ok {
		return fmt.Errorf("the round that scaled %s up made no service update through the proxy", *service)
	}
	readEnd := up.start
	for _, q := range up.requests {
		if k := q.kind(); (k == "lists" || k == "stats") && q.end.Before(writeStart) && q.end.After(readEnd) {
			readEnd = q.end
		}
	}
	running, err := startedBy(ctx, cli, *service, writeStart)
	if err != nil {
		return err
	}
	wait, read := up.start.Sub(loaded), readEnd.Sub(up.start)
	fmt.Printf("%.3f %.3f %.3f %.3f %.3f %.3f %.3f\n", wait.Seconds(), read.Seconds(), writeStart.Sub(readEnd).Seconds(),
		writeEnd.Sub(writeStart).Seconds(), running.Sub(writeEnd).Seconds(), running.Sub(loaded).Seconds(), (wait + read).Seconds())
	return nil
}

// loadSwitched is when the last of the tasks logged msg ("load on", "load off") after since:
// the test image logs it when it sees its load file appear or go.
func loadSwitched(ctx context.Context, cli *client.Client, service, msg string, tasks []string, since time.Time) (time.Time, error) {
	rc, err := cli.ServiceLogs(ctx, service, container.LogsOptions{ShowStderr: true, ShowStdout: true, Timestamps: true, Details: true,
		Since: since.Add(-time.Second).Format(time.RFC3339Nano)})
	if err != nil {
		return time.Time{}, err
	}
	defer func() { _ = rc.Close() }()
	var b strings.Builder
	if _, err := stdcopy.StdCopy(&b, &b, rc); err != nil {
		return time.Time{}, err
	}
	// A line: "<timestamp> com.docker.swarm.node.id=...,com.docker.swarm.service.id=...,com.docker.swarm.task.id=... <message>"
	first := map[string]time.Time{}
	taskID := regexp.MustCompile(`com\.docker\.swarm\.task\.id=([a-z0-9]+)`)
	for _, line := range strings.Split(b.String(), "\n") {
		ts, rest, _ := strings.Cut(line, " ")
		at, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil || at.Before(since) || !strings.HasSuffix(strings.TrimSpace(rest), msg) {
			continue
		}
		m := taskID.FindStringSubmatch(rest)
		if m == nil {
			continue
		}
		if t, seen := first[m[1]]; !seen || at.Before(t) {
			first[m[1]] = at
		}
	}
	var last time.Time
	for _, id := range tasks {
		at, ok := first[id]
		if !ok {
			return time.Time{}, fmt.Errorf("task %s of %s logged no %q after %s", id, service, msg, since.Format(time.RFC3339Nano))
		}
		if at.After(last) {
			last = at
		}
	}
	return last, nil
}

// startedBy is when the last task of the service created after since reached running.
func startedBy(ctx context.Context, cli *client.Client, service string, since time.Time) (time.Time, error) {
	tasks, err := cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", service), filters.Arg("desired-state", "running"))})
	if err != nil {
		return time.Time{}, err
	}
	var last time.Time
	for _, t := range tasks {
		if !t.CreatedAt.After(since) {
			continue
		}
		if t.Status.State != swarm.TaskStateRunning {
			return time.Time{}, fmt.Errorf("task %s of %s is %s, not running yet", t.ID, service, t.Status.State)
		}
		if t.Status.Timestamp.After(last) {
			last = t.Status.Timestamp
		}
	}
	if last.IsZero() {
		return last, fmt.Errorf("%s has no task created after %s", service, since.Format(time.RFC3339Nano))
	}
	return last, nil
}

// ceilRecommendation is the formula's clause of a decision's reason: "(ceil(2 × 1.5/50) = 1)".
var ceilRecommendation = regexp.MustCompile(`\(ceil\([^)]*\) = (\d+)\)`)

// recorded is the recommendation a decision recorded in the policy's history (what the
// stabilization window looks back at), read from its reason: the formula's result, or the count
// kept where the metric was within the tolerance or missing, or where a hold forbade a
// scale-down.
func recorded(d *logLine) int {
	first, _, _ := strings.Cut(d.Reason, "; ")
	r := d.From
	if m := ceilRecommendation.FindStringSubmatch(first); m != nil {
		r, _ = strconv.Atoi(m[1])
	}
	if strings.Contains(d.Reason, "so no scale-down") {
		r = max(r, d.From)
	}
	return r
}

// scaledown prints, for the first scale-down after the load was switched off at -off:
// lateness (when Swarm took the write, less the end of the window that held it: the start of
// the last round that recommended more replicas than the scale-down left, plus -window), next
// (from the window's end to the start of the round that scaled down), write (from that
// round's start to the write's answer), and total (from -off to the write's answer), in
// seconds.
func scaledown(args []string) error {
	fs := flag.NewFlagSet("scaledown", flag.ExitOnError)
	service := fs.String("service", "", "the service")
	logPath := fs.String("controller-log", "", "the controller's debug log")
	reqPath := fs.String("requests", "", "apicount -times log")
	window := fs.Duration("window", 0, "the policy's scale-down stabilization window")
	off := fs.Int64("off", 0, "when the load was switched off, Unix nanoseconds")
	_ = fs.Parse(args)
	switched := time.Unix(0, *off)
	rs, err := readRounds(*logPath, *reqPath, *service)
	if err != nil {
		return err
	}
	down := -1
	for i, r := range rs {
		if d := r.decision; d != nil && r.start.After(switched) && d.Msg == "decision" && d.To < d.From {
			down = i
			break
		}
	}
	if down < 0 {
		return fmt.Errorf("no round after the load went scaled %s down", *service)
	}
	var lastHigh time.Time
	for _, r := range rs[:down] {
		if r.decision != nil && recorded(r.decision) > rs[down].decision.To {
			lastHigh = r.start
		}
	}
	if lastHigh.IsZero() {
		return fmt.Errorf("no round recommended more than %d replicas for %s before the scale-down", rs[down].decision.To, *service)
	}
	_, writeEnd, ok := writeOf(rs[down].requests)
	if !ok {
		return fmt.Errorf("the round that scaled %s down made no service update through the proxy", *service)
	}
	roundStart := rs[down].start
	end := lastHigh.Add(*window)
	fmt.Printf("%.3f %.3f %.3f %.3f\n", writeEnd.Sub(end).Seconds(), roundStart.Sub(end).Seconds(), writeEnd.Sub(roundStart).Seconds(), writeEnd.Sub(switched).Seconds())
	return nil
}
