// Command app is a tiny static HTTP server used as the container image in the
// terraform-provider-swarm acceptance tests and demos.
//
// Usage:
//
//	app          serve HTTP on :$PORT (default 8080)
//	app health   healthcheck: GET http://127.0.0.1:$PORT/healthz, exit 0 on 200
//	app cat PATH print a file of the container (for tests: there is no shell to exec)
//
// Endpoints: GET / (hostname and version), /healthz, /file?path=P (a file of the container,
// for secrets and configs), /fetch?url=U (what another service answers, over a network).
//
// Environment switches:
//
//	PORT=8080          listen port
//	VERSION=v1         reported by GET /
//	FAIL_ON_START=1    print a fatal message and exit 3 immediately
//	UNHEALTHY=1        /healthz always answers 503
//	START_DELAY=2s     sleep before listening
//	BURN_CPU=1         busy-loop BURN_THREADS (default 1) goroutines forever
//	BURN_FILE=/load/on busy-loop BURN_THREADS goroutines while this file exists (checked every
//	                   100ms): load that tests switch on and off without changing the service
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "health", "healthcheck":
			os.Exit(healthCheck(port(), 2*time.Second))
		case "cat":
			// app cat PATH prints a file of the container (the image has no shell), for tests
			// that exec into a task to see the secrets and configs it was given.
			if len(os.Args) != 3 {
				fmt.Fprintln(os.Stderr, "usage: app cat PATH")
				os.Exit(2)
			}
			b, err := os.ReadFile(os.Args[2])
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			os.Stdout.Write(b)
			os.Exit(0)
		default:
			fmt.Fprintf(os.Stderr, "usage: %s [health | cat PATH]\n", os.Args[0])
			os.Exit(2)
		}
	}
	os.Exit(serve())
}

func port() string {
	if p := os.Getenv("PORT"); p != "" {
		return p
	}
	return "8080"
}

func truthy(name string) bool {
	v := os.Getenv(name)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return true // any non-empty, non-boolean value counts as set
	}
	return b
}

// config holds everything the HTTP handler depends on.
type config struct {
	Hostname  string
	Version   string
	Unhealthy bool
}

func configFromEnv() config {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	version := os.Getenv("VERSION")
	if version == "" {
		version = "v1"
	}
	return config{Hostname: host, Version: version, Unhealthy: truthy("UNHEALTHY")}
}

// newHandler returns the HTTP handler serving / and /healthz.
func newHandler(c config) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if c.Unhealthy {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "unhealthy\n")
			return
		}
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "hello from %s version=%s\n", c.Hostname, c.Version)
	})
	// GET /file?path=/run/secrets/db answers with a file of the container: how the tests see
	// the secrets and configs a service was given (the image has no shell to exec into).
	mux.HandleFunc("GET /file", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(r.URL.Query().Get("path"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(b)
	})
	// GET /fetch?url=http://api:8080/ answers with what another service answered: how the
	// tests prove that services reach each other over an overlay network.
	mux.HandleFunc("GET /fetch", func(w http.ResponseWriter, r *http.Request) {
		client := &http.Client{Timeout: 5 * time.Second}
		resp, err := client.Get(r.URL.Query().Get("url"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "%s via %s: ", c.Hostname, c.Version)
		io.Copy(w, resp.Body)
	})
	return mux
}

func serve() int {
	if truthy("FAIL_ON_START") {
		fmt.Fprintln(os.Stderr, "fatal: FAIL_ON_START is set, refusing to start")
		return 3
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	if d := os.Getenv("START_DELAY"); d != "" {
		delay, err := time.ParseDuration(d)
		if err != nil {
			fmt.Fprintf(os.Stderr, "fatal: invalid START_DELAY %q: %v\n", d, err)
			return 2
		}
		fmt.Fprintf(os.Stderr, "delaying start by %s\n", delay)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return 0
		}
	}

	threads := 1
	if s := os.Getenv("BURN_THREADS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "fatal: invalid BURN_THREADS %q\n", s)
			return 2
		}
		threads = n
	}
	if truthy("BURN_CPU") {
		fmt.Fprintf(os.Stderr, "burning CPU in %d goroutine(s)\n", threads)
		burning.Store(true)
		for i := 0; i < threads; i++ {
			go burn()
		}
	} else if f := os.Getenv("BURN_FILE"); f != "" {
		fmt.Fprintf(os.Stderr, "burning CPU in %d goroutine(s) while %s exists\n", threads, f)
		go watchBurnFile(ctx, f)
		for i := 0; i < threads; i++ {
			go burn()
		}
	}

	cfg := configFromEnv()
	ln, err := net.Listen("tcp", ":"+port())
	if err != nil {
		fmt.Fprintf(os.Stderr, "fatal: listen: %v\n", err)
		return 1
	}
	srv := &http.Server{Handler: newHandler(cfg), ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(os.Stderr, "listening on %s (host=%s version=%s unhealthy=%t)\n",
		ln.Addr(), cfg.Hostname, cfg.Version, cfg.Unhealthy)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(os.Stderr, "fatal: serve: %v\n", err)
			return 1
		}
		return 0
	case <-ctx.Done():
		fmt.Fprintln(os.Stderr, "received signal, shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return 0
	}
}

var (
	burnSink uint64
	// burning says whether burn spins (BURN_CPU: always; BURN_FILE: while the file exists).
	burning atomic.Bool
)

// burn spins while burning is set, and sleeps while it is not. The loop body has a function
// call so the goroutine is asynchronously preemptible and the HTTP server keeps getting
// scheduled.
func burn() {
	var x uint64
	for {
		if !burning.Load() {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		for i := 0; i < 1<<16; i++ {
			x = step(x)
			if x == 0 {
				burnSink++
			}
		}
	}
}

// watchBurnFile sets burning while the file exists.
func watchBurnFile(ctx context.Context, path string) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		_, err := os.Stat(path)
		if on := err == nil; on != burning.Load() {
			burning.Store(on)
			fmt.Fprintf(os.Stderr, "load %s\n", map[bool]string{true: "on", false: "off"}[on])
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

//go:noinline
func step(x uint64) uint64 { return x*6364136223846793005 + 1442695040888963407 }

// healthCheck returns the process exit code for "app health".
func healthCheck(port string, timeout time.Duration) int {
	client := &http.Client{Timeout: timeout}
	resp, err := client.Get("http://127.0.0.1:" + port + "/healthz")
	if err != nil {
		fmt.Fprintf(os.Stderr, "unhealthy: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(os.Stderr, "unhealthy: status %d\n", resp.StatusCode)
		return 1
	}
	return 0
}
