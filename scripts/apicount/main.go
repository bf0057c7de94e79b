// Command apicount is a Docker API proxy for the benchmarks: it listens on a unix socket,
// forwards every request to the engine's socket and writes one line per request to a log
// ("GET /services?status=true"), so a benchmark can count the requests a Terraform command
// makes. Point DOCKER_HOST at the socket it listens on.
//
//	go run ./scripts/apicount -listen /tmp/count.sock -log /tmp/requests.log
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
)

func main() {
	listen := flag.String("listen", "", "unix socket to listen on")
	upstream := flag.String("upstream", "/var/run/docker.sock", "the engine's unix socket")
	logPath := flag.String("log", "", "file that gets one line per request")
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
		mu.Lock()
		_, _ = fmt.Fprintln(out, line)
		mu.Unlock()
		proxy.ServeHTTP(w, r)
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
