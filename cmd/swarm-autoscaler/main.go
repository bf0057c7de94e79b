// Command swarm-autoscaler is the autoscaling controller of terraform-provider-swarm: it runs
// in the cluster (the swarm_autoscaler resource deploys it on the managers) and decides and
// scales, every interval, the scaling policies whose evaluation is "continuous", with the
// engine the provider uses.
//
// Usage:
//
//	swarm-autoscaler [run]   run the controller (the default)
//	swarm-autoscaler health  exit 0 when the running controller answers healthy (healthcheck)
//	swarm-autoscaler version print the version
//
// Settings come from the environment: DOCKER_HOST (the local socket by default; it must be a
// manager's), SWARM_AUTOSCALER_INTERVAL (5s), SWARM_AUTOSCALER_LOG_LEVEL (info: one line per
// decision written; debug: one per policy and round), SWARM_AUTOSCALER_LISTEN (:9180, serving
// /healthz and /metrics), SWARM_AUTOSCALER_LOCK (the node lock file, on a volume the node's
// controllers share) and SWARM_AUTOSCALER_HOLDER (the name in the heartbeat; the host name by
// default).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/swarmform/terraform-provider-swarm/internal/autoscaler"
	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

// version is set by the release build (goreleaser ldflags).
var version = "dev"

func main() {
	cmd := "run"
	if len(os.Args) > 1 {
		cmd = os.Args[1]
	}
	switch cmd {
	case "run":
		os.Exit(run())
	case "health", "healthcheck":
		os.Exit(health())
	case "version", "--version", "-v":
		fmt.Println("swarm-autoscaler", version)
	default:
		fmt.Fprintln(os.Stderr, "usage: swarm-autoscaler [run | health | version]")
		os.Exit(2)
	}
}

// settings are the controller's settings, from the environment.
type settings struct {
	interval time.Duration
	level    slog.Level
	listen   string
	lock     string
	holder   string
}

func load() (settings, error) {
	s := settings{interval: 5 * time.Second, listen: env("SWARM_AUTOSCALER_LISTEN", ":9180"), lock: "/var/lock/swarm-autoscaler/lock"}
	if v, ok := os.LookupEnv("SWARM_AUTOSCALER_LOCK"); ok {
		s.lock = v // empty: no node lock, for a controller run by hand, alone
	}
	if v := os.Getenv("SWARM_AUTOSCALER_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			return s, fmt.Errorf("SWARM_AUTOSCALER_INTERVAL=%q: want a duration of at least 1s, such as 5s", v)
		}
		s.interval = d
	}
	if err := s.level.UnmarshalText([]byte(env("SWARM_AUTOSCALER_LOG_LEVEL", "info"))); err != nil {
		return s, fmt.Errorf("SWARM_AUTOSCALER_LOG_LEVEL: want debug, info, warn or error: %w", err)
	}
	s.holder = os.Getenv("SWARM_AUTOSCALER_HOLDER")
	if s.holder == "" {
		s.holder, _ = os.Hostname()
	}
	return s, nil
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run() int {
	s, err := load()
	if err != nil {
		fmt.Fprintln(os.Stderr, "swarm-autoscaler:", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: s.level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	engine, err := connect(ctx, log, s.interval)
	if err != nil {
		log.Error("cannot reach the Docker engine", "error", err.Error())
		return 1
	}
	defer engine.Close()
	metrics := autoscaler.NewMetrics()
	c := &autoscaler.Controller{
		Rounds:   engine.NewScaler(orchestrator.ScalerOptions{Holder: s.holder, Interval: s.interval, LockPath: s.lock}),
		Interval: s.interval, Clock: autoscaler.RealClock{}, Log: log, Metrics: metrics,
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !c.Healthy() {
			http.Error(w, "no round finished in the last three intervals", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	srv := &http.Server{Addr: s.listen, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", s.listen)
	if err != nil {
		log.Error("cannot listen", "address", s.listen, "error", err.Error())
		return 1
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "error", err.Error())
		}
	}()
	log.Info("swarm-autoscaler started", "version", version, "interval", s.interval.String(), "holder", s.holder, "listen", s.listen)
	c.Run(ctx)
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	log.Info("swarm-autoscaler stopped")
	return 0
}

// health asks the running controller (in the same container) whether it is healthy.
func health() int {
	listen := env("SWARM_AUTOSCALER_LISTEN", ":9180")
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "swarm-autoscaler health:", err)
		return 1
	}
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://127.0.0.1:" + port + "/healthz")
	if err != nil {
		fmt.Fprintln(os.Stderr, "swarm-autoscaler health:", err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(os.Stderr, "swarm-autoscaler health:", resp.Status)
		return 1
	}
	return 0
}

// connect reaches the engine through the mounted socket. An engine that answers but is not an
// active manager yet (a node just promoted, or a manager whose swarm component restarts
// because it could not join Raft in time) is waited for, every interval, for as long as one
// round may take (a minute at least); anything else, or a manager that does not come, fails
// at once, so that Swarm shows the task's error and restarts it.
func connect(ctx context.Context, log *slog.Logger, interval time.Duration) (*orchestrator.Engine, error) {
	deadline := time.Now().Add(max(time.Minute, 10*interval))
	for {
		engine, err := orchestrator.New(ctx, orchestrator.Config{Host: os.Getenv("DOCKER_HOST")})
		if err == nil || !orchestrator.NotAManagerYet(err) || time.Now().After(deadline) {
			return engine, err
		}
		log.Warn("waiting for this node to be an active swarm manager", "error", err.Error())
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(interval):
		}
	}
}
