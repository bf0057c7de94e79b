package provider

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

// The three-tier example stack, applied as a user would (terraform apply in the example's
// directory): requests cross web → api → store over the overlay networks, web reads its
// config file and api its secret; the stack's autoscaling controller runs, so the plan does not
// warn that api's continuous policy has none; the next plan is empty; the secret rotates under
// load with no failed task; destroy leaves nothing behind.
func TestAccStack_threeTier(t *testing.T) {
	acctest.Parallel(t)
	cli := acctest.Docker(t)
	ctx := context.Background()
	stack := acctest.Name("tt")
	port := acctest.FreePort(t)
	tf := acctest.NewTerraformFrom(t, "examples/stacks/three-tier")
	tf.SetEnv("TF_VAR_name", stack)
	tf.SetEnv("TF_VAR_image", os.Getenv("TEST_IMAGE"))
	tf.SetEnv("TF_VAR_web_port", fmt.Sprint(port))
	tf.SetEnv("TF_VAR_autoscaler_image", acctest.AutoscalerImage(t))
	apply := func(password string, version int) {
		t.Helper()
		start := time.Now()
		out, err := tf.Run(ctx, "apply", "-auto-approve", "-input=false", "-no-color",
			"-var", "db_password="+password, "-var", fmt.Sprintf("db_password_version=%d", version))
		if err != nil {
			t.Fatalf("terraform apply: %v\n%s", err, out)
		}
		if strings.Contains(out, password) {
			t.Fatalf("the password shows in the apply output:\n%s", out)
		}
		t.Logf("apply (secret version %d) took %s", version, time.Since(start).Round(100*time.Millisecond))
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	apply("first-password", 1)

	// web → api → store, each hop by service name over an overlay network.
	got := get(t, base+"/fetch?url=http://api:8080/fetch%3Furl%3Dhttp://store:8080/")
	if !strings.Contains(got, "via web-v1: ") || !strings.Contains(got, "via api-v1: ") || !strings.Contains(got, "version=store-v1") {
		t.Fatalf("web → api → store answered %q", got)
	}
	// The store is on the internal network only: web cannot reach it.
	if got, err := tryGet(base + "/fetch?url=http://store:8080/"); err == nil {
		t.Fatalf("web reached store, which only the backend network should reach: %q", got)
	}
	if got := get(t, base+"/file?path=/etc/web/web.conf"); !strings.Contains(got, "upstream = http://api:8080") {
		t.Fatalf("web's config file holds %q", got)
	}
	checkSecret := func(want string) {
		t.Helper()
		for _, v := range acctest.ReadTaskFile(t, cli, stack+"-api", "/run/secrets/db_password") {
			if v != want {
				t.Fatalf("an api task reads a password of %d bytes, not the one applied", len(v))
			}
		}
	}
	checkSecret("first-password")

	out, err := tf.Run(ctx, "plan", "-detailed-exitcode", "-input=false", "-no-color", "-var", "db_password=first-password", "-var", "db_password_version=1")
	if err != nil {
		t.Fatalf("the plan after apply is not empty (%v):\n%s", err, out)
	}
	if strings.Contains(out, "No Autoscaling Controller Running") {
		t.Fatalf("the stack's controller does not run:\n%s", out)
	}

	// Rotate the secret while a client sends requests through web to api.
	load := startLoad(base + "/fetch?url=http://api:8080/")
	apply("second-password", 2)
	ok, failed := load.stop()
	t.Logf("under rotation: %d requests answered, %d failed", ok, failed)
	if ok == 0 {
		t.Fatal("no request was answered during the rotation")
	}
	checkSecret("second-password")
	if tasks := acctest.FailedTasks(t, cli, stack+"-api"); len(tasks) > 0 {
		t.Fatalf("%d api tasks failed during the rotation: %s", len(tasks), tasks[0].Status.Err)
	}
	if secrets, _ := cli.SecretList(ctx, swarm.SecretListOptions{Filters: filters.NewArgs(filters.Arg("name", stack))}); len(secrets) != 1 {
		t.Fatalf("after the rotation %d secret versions are left, want 1", len(secrets))
	}

	if out, err := tf.Run(ctx, "destroy", "-auto-approve", "-input=false", "-no-color", "-var", "db_password=second-password", "-var", "db_password_version=2"); err != nil {
		t.Fatalf("terraform destroy: %v\n%s", err, out)
	}
	byName := swarm.ServiceListOptions{Filters: filters.NewArgs(filters.Arg("name", stack))}
	services, err1 := cli.ServiceList(ctx, byName)
	networks, err2 := cli.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("name", stack))})
	secrets, err3 := cli.SecretList(ctx, swarm.SecretListOptions{Filters: filters.NewArgs(filters.Arg("name", stack))})
	configs, err4 := cli.ConfigList(ctx, swarm.ConfigListOptions{Filters: filters.NewArgs(filters.Arg("name", stack))})
	for _, err := range []error{err1, err2, err3, err4} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(services) + len(networks) + len(secrets) + len(configs); n > 0 {
		t.Fatalf("destroy left %d services, %d networks, %d secrets, %d configs", len(services), len(networks), len(secrets), len(configs))
	}
}

func tryGet(url string) (string, error) {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return string(b), nil
}

// get answers url's body, retrying for a while: a task that just became healthy may take a
// moment to be known by name on the overlay network.
func get(t *testing.T, url string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		body, err := tryGet(url)
		if err == nil {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// load sends requests one after another until stopped, counting answers and failures.
type load struct {
	ok, failed atomic.Int64
	done       chan struct{}
	wg         sync.WaitGroup
}

func startLoad(url string) *load {
	l := &load{done: make(chan struct{})}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for {
			select {
			case <-l.done:
				return
			default:
			}
			if _, err := tryGet(url); err != nil {
				l.failed.Add(1)
			} else {
				l.ok.Add(1)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return l
}

func (l *load) stop() (ok, failed int64) {
	close(l.done)
	l.wg.Wait()
	return l.ok.Load(), l.failed.Load()
}
