// Command apicount is a Docker API proxy for the benchmarks: it listens on a unix socket,
// forwards every request to the engine's socket and writes one line per request to a log
// ("GET /services?status=true"), so a benchmark can count the requests a Terraform command
// makes. Point DOCKER_HOST at the socket it listens on. With -times, each line is written when
// the request ends and starts with when it started and ended (Unix nanoseconds) and the
// response's status ("1764316800000000000 1764316800012000000 200 GET /nodes"), so that a
// benchmark can tell which requests a step made and how long they took.
//
//	go run ./scripts/apicount -listen /tmp/count.sock -log /tmp/requests.log [-times]
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"os/signal"
	"regexp"
	"sync"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", "", "unix socket to listen on")
	upstream := flag.String("upstream", "/var/run/docker.sock", "the engine's unix socket")
	logPath := flag.String("log", "", "file that gets one line per request")
	times := flag.Bool("times", false, "write each line when the request ends, with its start, end and status")
	flag.Parse()
	if *listen == "" || *logPath == "" {
		log.Fatal("apicount: -listen and -log are required")
	}
	out, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		log.Fatal(err)
	}
	_ = os.Remove(*listen)
	lis, err := net.Listen("unix", *listen)
	if err != nil {
		log.Fatal(err)
	}
	var mu sync.Mutex
	version := regexp.MustCompile(`^/v[0-9.]+`)
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host = "http", "docker"
		},
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", *upstream)
		}},
		FlushInterval: -1, // stats and events stream
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		line := r.Method + " " + version.ReplaceAllString(r.URL.Path, "")
		if r.URL.RawQuery != "" {
			line += "?" + r.URL.RawQuery
		}
		if !*times {
			mu.Lock()
			_, _ = fmt.Fprintln(out, line)
			mu.Unlock()
			proxy.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		proxy.ServeHTTP(sw, r)
		mu.Lock()
		_, _ = fmt.Fprintf(out, "%d %d %d %s\n", start.UnixNano(), time.Now().UnixNano(), sw.status, line)
		mu.Unlock()
	})
	srv := &http.Server{Handler: handler}
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
		<-stop
		_ = srv.Close()
	}()
	if err := srv.Serve(lis); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
	_ = out.Close()
}

// statusWriter keeps the status a response was sent with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets the proxy flush streamed responses through the writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
