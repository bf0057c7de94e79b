package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

func TestRoot(t *testing.T) {
	h := newHandler(config{Hostname: "box1", Version: "v2"})
	code, body := get(t, h, "/")
	if code != http.StatusOK {
		t.Fatalf("GET / status = %d, want 200", code)
	}
	if want := "hello from box1 version=v2"; strings.TrimSpace(body) != want {
		t.Fatalf("GET / body = %q, want %q", body, want)
	}
}

func TestUnknownPath(t *testing.T) {
	h := newHandler(config{Hostname: "box1", Version: "v1"})
	if code, _ := get(t, h, "/nope"); code != http.StatusNotFound {
		t.Fatalf("GET /nope status = %d, want 404", code)
	}
}

func TestHealthzHealthy(t *testing.T) {
	h := newHandler(config{Hostname: "box1", Version: "v1"})
	code, body := get(t, h, "/healthz")
	if code != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Fatalf("GET /healthz = %d %q, want 200 \"ok\"", code, body)
	}
}

func TestHealthzUnhealthy(t *testing.T) {
	h := newHandler(config{Hostname: "box1", Version: "v1", Unhealthy: true})
	if code, _ := get(t, h, "/healthz"); code != http.StatusServiceUnavailable {
		t.Fatalf("GET /healthz status = %d, want 503", code)
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Setenv("VERSION", "")
	t.Setenv("UNHEALTHY", "")
	c := configFromEnv()
	if c.Version != "v1" || c.Unhealthy {
		t.Fatalf("defaults: got %+v", c)
	}
	t.Setenv("VERSION", "v9")
	t.Setenv("UNHEALTHY", "1")
	c = configFromEnv()
	if c.Version != "v9" || !c.Unhealthy {
		t.Fatalf("env: got %+v", c)
	}
	t.Setenv("UNHEALTHY", "0")
	if configFromEnv().Unhealthy {
		t.Fatal("UNHEALTHY=0 should be healthy")
	}
}

func TestHealthCheckCommand(t *testing.T) {
	for _, tc := range []struct {
		unhealthy bool
		want      int
	}{{false, 0}, {true, 1}} {
		srv := httptest.NewServer(newHandler(config{Hostname: "h", Version: "v1", Unhealthy: tc.unhealthy}))
		u, _ := url.Parse(srv.URL)
		if got := healthCheck(u.Port(), 2*time.Second); got != tc.want {
			t.Errorf("healthCheck(unhealthy=%t) = %d, want %d", tc.unhealthy, got, tc.want)
		}
		srv.Close()
	}
	// Nothing listening: must fail, not hang.
	srv := httptest.NewServer(http.NotFoundHandler())
	u, _ := url.Parse(srv.URL)
	srv.Close()
	if got := healthCheck(u.Port(), 2*time.Second); got != 1 {
		t.Errorf("healthCheck(closed port) = %d, want 1", got)
	}
}
