package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

func TestTransient(t *testing.T) {
	refused := &url.Error{Op: "Get", URL: "http://docker/v1.41/services", Err: &net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"connection refused", refused, true},
		{"connection refused, wrapped by the engine", &APIError{Op: "list services", Err: refused}, true},
		{"daemon not running", client.ErrorConnectionFailed("unix:///run/x.sock"), true}, //nolint:staticcheck // the error the client returns for a refused socket
		{"answer cut short", &url.Error{Op: "Post", URL: "http://docker/v1.41/services/create", Err: io.EOF}, true},
		{"unexpected EOF", fmt.Errorf("read body: %w", io.ErrUnexpectedEOF), true},
		{"connection reset", &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, true},
		{"503 from the engine", fmt.Errorf("list services: %w", cerrdefs.ErrUnavailable), true},
		{"manager restarting", errors.New(`Error response from daemon: This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.`), true},
		{"no leader", errors.New("Error response from daemon: rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few managers are online."), true},
		{"grpc unavailable", errors.New("Error response from daemon: rpc error: code = Unavailable desc = transport is closing"), true},
		{"raft proposal timed out", errors.New("Error response from daemon: rpc error: code = DeadlineExceeded desc = context deadline exceeded"), true},
		{"daemon stopping mid-call", fmt.Errorf("list tasks: %w", errors.New("Error response from daemon: rpc error: code = Canceled desc = grpc: the client connection is closing")), true},
		{"EOF in a message", errors.New(`error during connect: Post "http://docker/v1.41/services/create": EOF`), true},
		{"ssh: sshd refusing connections", &url.Error{Op: "Head", URL: "http://docker.example.com/_ping", Err: &sshError{status: errors.New("exit status 255"), stderr: "ssh: connect to host 127.0.0.1 port 22: Connection refused"}}, true},
		{"ssh: remote dockerd down", &url.Error{Op: "Head", URL: "http://docker.example.com/_ping", Err: &sshError{status: errors.New("exit status 1"), stderr: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"}}, true},

		{"our own cancel", context.Canceled, false},
		{"our own deadline", &url.Error{Op: "Get", URL: "http://docker", Err: context.DeadlineExceeded}, false},
		{"not found", fmt.Errorf("inspect: %w", cerrdefs.ErrNotFound), false},
		{"name conflict", fmt.Errorf("create: %w", cerrdefs.ErrConflict), false},
		{"invalid spec", fmt.Errorf("create: %w", cerrdefs.ErrInvalidArgument), false},
		{"version conflict", errors.New("Error response from daemon: rpc error: code = Unknown desc = update out of sequence"), false},
		{"TLS", errors.New("tls: failed to verify certificate: x509: certificate signed by unknown authority"), false},
		{"TLS at a plain-HTTP port", errors.New(`error during connect: Head "https://127.0.0.1:2375/_ping": http: server gave HTTP response to HTTPS client`), false},
		{"plain HTTP at dockerd's TLS port", errors.New("Error response from daemon: Client sent an HTTP request to an HTTPS server."), false},
		{"plain HTTP at another TLS port", fmt.Errorf("%w: %w", errSpeaksTLS, &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), false},
		{"client certificate refused", &url.Error{Op: "Head", URL: "https://127.0.0.1:2376/_ping", Err: &net.OpError{Op: "remote error", Err: errors.New("tls: certificate required")}}, false},
		{"ssh: key refused", &url.Error{Op: "Head", URL: "http://docker.example.com/_ping", Err: &sshError{status: errors.New("exit status 255"), stderr: "root@127.0.0.1: Permission denied (publickey)."}}, false},
		{"ssh: host key refused", &url.Error{Op: "Head", URL: "http://docker.example.com/_ping", Err: &sshError{status: errors.New("exit status 255"), stderr: "Host key verification failed."}}, false},
		{"ssh: no docker on the remote host", &url.Error{Op: "Head", URL: "http://docker.example.com/_ping", Err: &sshError{status: errors.New("exit status 127"), stderr: "bash: line 1: docker: command not found"}}, false},
		{"a word that ends like eof", errors.New("image thereof"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Transient(tt.err); got != tt.want {
				t.Errorf("Transient(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Initial: 250 * time.Millisecond, Max: 4 * time.Second}
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second}
	for i, w := range want {
		if got := b.Delay(i + 1); got != w {
			t.Errorf("Delay(%d) = %s, want %s", i+1, got, w)
		}
	}
	if got := b.Delay(1000); got != b.Max {
		t.Errorf("Delay(1000) = %s, want the cap %s", got, b.Max)
	}
	if got := (Backoff{Initial: 3 * time.Second, Max: time.Second}).Delay(1); got != time.Second {
		t.Errorf("an initial wait above the cap: Delay(1) = %s, want %s", got, time.Second)
	}
}

// The retry loop over a scripted call: which errors it tries again, how often, how long it
// waits, and where it stops.
func TestRetry(t *testing.T) {
	unavailable := fmt.Errorf("list: %w", cerrdefs.ErrUnavailable)
	notFound := fmt.Errorf("inspect: %w", cerrdefs.ErrNotFound)
	tests := []struct {
		name         string
		script       []error // what each attempt returns; past the end: unavailable
		budget       time.Duration
		wantErr      error // nil: success
		wantAttempts int   // for the budget: at most this many (a slow machine makes fewer)
		wantRetried  bool  // the error says the budget ran out
	}{
		{"success at once", []error{nil}, time.Minute, nil, 1, false},
		{"transient, then success", []error{unavailable, unavailable, nil}, time.Minute, nil, 3, false},
		{"a permanent error is returned at once", []error{notFound}, time.Minute, notFound, 1, false},
		{"transient, then permanent", []error{unavailable, notFound}, time.Minute, notFound, 2, false},
		// waits 1, 2, 4, 8, 8 ms...: the budget of 20 ms allows 1+2+4+8 = 15 ms of waiting, not
		// one more 8: at most 5 attempts.
		{"the budget runs out", nil, 20 * time.Millisecond, unavailable, 5, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var waits []time.Duration
			e := &Engine{Retry: Backoff{Initial: time.Millisecond, Max: 8 * time.Millisecond, Budget: tt.budget},
				OnRetry: func(_ context.Context, n RetryNotice) { waits = append(waits, n.Wait) }}
			attempts := 0
			err := e.retry(context.Background(), "test call", func(context.Context) error {
				attempts++
				if attempts <= len(tt.script) {
					return tt.script[attempts-1]
				}
				return unavailable
			})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var re *RetriedError
			if errors.As(err, &re) != tt.wantRetried {
				t.Errorf("err = %v; want a RetriedError: %v", err, tt.wantRetried)
			}
			if tt.wantRetried && (attempts < 1 || attempts > tt.wantAttempts) {
				t.Errorf("%d attempts, want 1 to %d", attempts, tt.wantAttempts)
			}
			if !tt.wantRetried && attempts != tt.wantAttempts {
				t.Errorf("%d attempts, want %d", attempts, tt.wantAttempts)
			}
			if len(waits) != attempts-1 && err == nil {
				t.Errorf("%d notices for %d attempts", len(waits), attempts)
			}
			for i, w := range waits {
				if want := e.Retry.Delay(i + 1); w != want {
					t.Errorf("wait %d = %s, want %s", i+1, w, want)
				}
			}
		})
	}
}

// A cancelled context stops the waiting at once with the last error.
func TestRetryStopsWhenCancelled(t *testing.T) {
	e := &Engine{Retry: Backoff{Initial: time.Hour, Max: time.Hour, Budget: 2 * time.Hour}}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	attempts := 0
	err := e.retry(ctx, "test call", func(context.Context) error {
		attempts++
		return cerrdefs.ErrUnavailable
	})
	if !errors.Is(err, cerrdefs.ErrUnavailable) || attempts != 1 {
		t.Fatalf("after cancel: err %v after %d attempts, want the transient error after 1", err, attempts)
	}
}

// How a lost write is recognised when the service is read again.
func TestLostWriteLanded(t *testing.T) {
	one, two := uint64(1), uint64(2)
	spec := func(image string, replicas *uint64) swarm.ServiceSpec {
		return swarm.ServiceSpec{
			Annotations:  swarm.Annotations{Name: "web", Labels: map[string]string{"team": "a"}},
			TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: image, Env: []string{"B=2", "A=1"}}},
			Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: replicas}},
		}
	}
	sent := spec("app:v2", &two)
	reordered := sent
	reordered.TaskTemplate.ContainerSpec = &swarm.ContainerSpec{Image: "app:v2", Env: []string{"A=1", "B=2"}}
	tests := []struct {
		name     string
		observed swarm.Service
		landed   func(swarm.Service, swarm.ServiceSpec) bool
		want     bool
	}{
		{"the spec sent", swarm.Service{Spec: sent}, sameSpec, true},
		{"the spec sent, as the daemon orders it", swarm.Service{Spec: reordered}, sameSpec, true},
		{"the previous spec", swarm.Service{Spec: spec("app:v1", &two)}, sameSpec, false},
		{"another replica count", swarm.Service{Spec: spec("app:v2", &one)}, sameSpec, false},
		{"rolling back", swarm.Service{UpdateStatus: &swarm.UpdateStatus{State: swarm.UpdateStateRollbackStarted}}, rollingBack, true},
		{"rolled back", swarm.Service{UpdateStatus: &swarm.UpdateStatus{State: swarm.UpdateStateRollbackCompleted}}, rollingBack, true},
		{"still updating", swarm.Service{UpdateStatus: &swarm.UpdateStatus{State: swarm.UpdateStateUpdating}}, rollingBack, false},
		{"paused, not rolled back", swarm.Service{UpdateStatus: &swarm.UpdateStatus{State: swarm.UpdateStatePaused}}, rollingBack, false},
		{"no update status", swarm.Service{}, rollingBack, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.landed(tt.observed, sent); got != tt.want {
				t.Errorf("landed = %v, want %v", got, tt.want)
			}
		})
	}
}

// lossyEngine is an engine behind a proxy to the real engine that, for the requests lose
// picks, lets the engine act and then drops the answer (the connection closes: EOF), as a
// manager restarting between a write and its answer would.
func lossyEngine(t *testing.T, lose func(*http.Request) bool) *Engine {
	t.Helper()
	dial := acctest.Docker(t).Dialer()
	upstream := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) }}
	forward := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := r.Clone(r.Context())
		out.RequestURI, out.URL.Scheme, out.URL.Host = "", "http", "docker"
		resp, err := upstream.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		if lose(r) {
			_, _ = io.Copy(io.Discard, resp.Body)
			panic(http.ErrAbortHandler) // close the connection without an answer
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	})
	srv := httptest.NewUnstartedServer(forward)
	sock := t.TempDir() + "/lossy.sock"
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	lossy, err := New(context.Background(), Config{Host: "unix://" + sock})
	if err != nil {
		t.Fatal(err)
	}
	lossy.Retry = Backoff{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond, Budget: 30 * time.Second}
	t.Cleanup(func() { _ = lossy.Close() })
	return lossy
}

// isCall says whether r is a POST to a path ending in suffix.
func isCall(r *http.Request, suffix string) bool {
	return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, suffix)
}

// A create whose answer is lost (the service was made) is not made again: the engine finds
// the service it made and returns it; one service of the name exists.
func TestCreateAnswerLostIsNotRepeated(t *testing.T) {
	var creates, lost atomic.Int64
	e := lossyEngine(t, func(r *http.Request) bool {
		if !isCall(r, "/services/create") {
			return false
		}
		creates.Add(1)
		return lost.Add(1) == 1
	})
	ctx := context.Background()
	direct := acctest.Docker(t)
	zero := uint64(0)
	name := fmt.Sprintf("tfacc-lost-create-%d", time.Now().UnixNano()%1000000)
	t.Cleanup(func() { _ = direct.ServiceRemove(context.Background(), name) })
	res, err := e.CreateService(ctx, swarm.ServiceSpec{
		Annotations:  swarm.Annotations{Name: name, Labels: map[string]string{"team": "a"}},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "swarmform-testapp:v1@sha256:0000000000000000000000000000000000000000000000000000000000000000"}},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &zero}},
	})
	if err != nil {
		t.Fatalf("create with its answer lost: %v", err)
	}
	if creates.Load() != 1 {
		t.Errorf("%d create calls, want 1 (the lost one made the service)", creates.Load())
	}
	svc, _, err := direct.ServiceInspectWithRaw(ctx, name, swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.ID != svc.ID || res.Outcome != OutcomeCreated {
		t.Errorf("result %+v, want created with ID %s", res, svc.ID)
	}
}

// An update whose answer is lost (the update was made) counts as made: outcome updated, the
// kind of change kept (so the apply waits for the rollout), no second write, and no
// "changed since plan" for the engine's own write.
func TestUpdateAnswerLostCountsAsMade(t *testing.T) {
	var updates, lost atomic.Int64
	e := lossyEngine(t, func(r *http.Request) bool {
		if !isCall(r, "/update") {
			return false
		}
		updates.Add(1)
		return lost.Add(1) == 1
	})
	ctx := context.Background()
	direct := acctest.Docker(t)
	zero := uint64(0)
	spec := swarm.ServiceSpec{
		Annotations:  swarm.Annotations{Name: fmt.Sprintf("tfacc-lost-update-%d", time.Now().UnixNano()%1000000)},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "swarmform-testapp:v1@sha256:0000000000000000000000000000000000000000000000000000000000000000"}},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &zero}},
	}
	created, err := e.CreateService(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = direct.ServiceRemove(context.Background(), created.ID) })
	planned := spec
	spec.TaskTemplate.ContainerSpec = &swarm.ContainerSpec{Image: spec.TaskTemplate.ContainerSpec.Image, Env: []string{"VERSION=v2"}}
	res, err := e.UpdateService(ctx, created.ID, spec, WriteOptions{PlannedFrom: &planned})
	if err != nil {
		t.Fatalf("update with its answer lost: %v", err)
	}
	if res.Outcome != OutcomeUpdated || res.Kind != ChangeTaskTemplate || res.Since.IsZero() {
		t.Errorf("result %+v, want updated, a rolling update, with the write's time", res)
	}
	if updates.Load() != 1 {
		t.Errorf("%d update calls, want 1", updates.Load())
	}
	svc, _, err := direct.ServiceInspectWithRaw(ctx, created.ID, swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if env := svc.Spec.TaskTemplate.ContainerSpec.Env; len(env) != 1 || env[0] != "VERSION=v2" {
		t.Errorf("env after the update: %v", env)
	}
}

// Reads made while the manager cannot serve swarm requests (503, as a restarting daemon
// answers) are tried again until it can.
func TestReadsRideOutAnUnavailableManager(t *testing.T) {
	var failures atomic.Int64
	e := proxiedEngine(t, nil, func(resp *http.Response) {
		if resp.Request.Method == http.MethodGet && strings.HasSuffix(resp.Request.URL.Path, "/services") && failures.Add(1) <= 3 {
			resp.StatusCode, resp.Status = http.StatusServiceUnavailable, "503 Service Unavailable"
			resp.Body = io.NopCloser(strings.NewReader(`{"message":"This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again."}`))
			resp.ContentLength = -1
			resp.Header.Del("Content-Length")
			resp.Header.Set("Content-Type", "application/json")
		}
	})
	e.Retry = Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond, Budget: 10 * time.Second}
	var notices int
	e.OnRetry = func(context.Context, RetryNotice) { notices++ }
	if _, err := e.Services(context.Background()); err != nil {
		t.Fatalf("list services after 3 unavailable answers: %v", err)
	}
	if notices != 3 {
		t.Errorf("%d retries, want 3", notices)
	}
}

// A manager restarting as Terraform starts: its socket is not there yet, then it answers that
// it is not a manager yet; the first contact waits for it. An engine that never answers is
// reported with how long it was tried.
func TestConnectRidesOutARestartingManager(t *testing.T) {
	acctest.SkipUnlessAcc(t)
	fast := Backoff{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond, Budget: 20 * time.Second}
	sock := filepath.Join(t.TempDir(), "manager.sock")
	var unavailable atomic.Int64
	time.AfterFunc(time.Second, func() {
		serveProxy(t, sock, nil, func(resp *http.Response) {
			if strings.HasSuffix(resp.Request.URL.Path, "/info") && unavailable.Add(1) <= 2 {
				resp.StatusCode, resp.Status = http.StatusServiceUnavailable, "503 Service Unavailable"
				resp.Body = io.NopCloser(strings.NewReader(`{"message":"This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again."}`))
				resp.ContentLength = -1
				resp.Header.Del("Content-Length")
				resp.Header.Set("Content-Type", "application/json")
			}
		})
	})
	var notices []RetryNotice
	e, err := New(context.Background(), Config{Host: "unix://" + sock, ConnectRetry: fast, OnRetry: func(_ context.Context, n RetryNotice) { notices = append(notices, n) }})
	if err != nil {
		t.Fatalf("connect while the manager restarts: %v", err)
	}
	defer e.Close()
	if e.Retry != DefaultBackoff {
		t.Errorf("after connecting the engine retries with %+v, want DefaultBackoff", e.Retry)
	}
	var refused, notManager int
	for _, n := range notices {
		switch {
		case strings.Contains(n.Err.Error(), "not a swarm manager"):
			notManager++
		case strings.Contains(n.Err.Error(), "Cannot reach"):
			refused++
		}
	}
	if refused == 0 || notManager != 2 {
		t.Errorf("retried %d times while nothing answered and %d times on 'not a swarm manager' (want >0 and 2): %v", refused, notManager, notices)
	}

	gone := filepath.Join(t.TempDir(), "gone.sock")
	_, err = New(context.Background(), Config{Host: "unix://" + gone, ConnectRetry: Backoff{Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond, Budget: 500 * time.Millisecond}})
	var ce *ConnectError
	if !errors.As(err, &ce) || ce.Summary != "Cannot reach the Docker engine" || !regexp.MustCompile(`tried \d+ times over`).MatchString(ce.Advice) {
		t.Errorf("connect to nothing: %v, want Cannot reach the Docker engine, saying how long it was tried", err)
	}
}
