package acctest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
)

// MultiNodeEnvFile is where `scripts/multinode.sh up` describes the multi-node
// test swarm, as `export KEY=value` lines. The environment variable
// MN_ENV_FILE, when set, names another file.
const MultiNodeEnvFile = "/tmp/swarmform-multinode-env"

// Node is one node of the multi-node test swarm.
type Node struct {
	Index    int    // 1-based; node 1 is the manager
	Hostname string // as `docker node ls` shows it, e.g. "mn-2"
	Addr     string // the node's address on the harness bridge, e.g. "172.16.231.12"
	Host     string // the node's own engine, e.g. "unix:///run/swarmform-mn/mn-2.sock"
	Zone     string // value of the node label "zone" (a, b, c, ...)
	ID       string // swarm node ID, as the manager reported it to MultiNode
	Manager  bool
}

// Cluster is the multi-node test swarm brought up by scripts/multinode.sh.
// The node labels are zone=<Node.Zone> and swarmform.node=<Node.Index>. Every
// node holds the test images locally; the nodes cannot reach any registry, so
// services must be created without registry look-ups (no digest pinning).
type Cluster struct {
	ManagerHost string // the manager's engine (unix://...)
	Manager     Node
	Workers     []Node
	Nodes       []Node // all nodes, by Index (Nodes[0] is node 1)

	// Spares are nodes whose dockerd runs (with the test images) outside the
	// swarm: JoinNode makes one a worker, and its engine is one that is not in
	// swarm mode.
	Spares []Node

	// Prometheus is the address of a Prometheus that scrapes a cAdvisor on
	// every node (spares included) each second; empty when the harness runs
	// without metrics (MN_CADVISOR=0).
	Prometheus string
	// PrometheusFromNodes is the same Prometheus as a process in a node's own
	// network namespace reaches it (on the harness bridge's host address), e.g.
	// an autoscaling controller with networks = ["host"].
	PrometheusFromNodes string

	// SocketTemplate is the path of each node's engine socket as a Swarm
	// template, expanded on each node to its own (the nodes share the host's
	// file system, where /var/run/docker.sock is the default engine's).
	SocketTemplate string
	// AutoscalerImage is the autoscaling controller's image, copied into every
	// node; empty when the default engine did not have it at `up`.
	AutoscalerImage string

	Image       string // swarmform-testapp:v1
	ImageV2     string // swarmform-testapp:v2
	ImageLatest string // swarmform-testapp:latest

	script string

	mu      sync.Mutex
	stopped map[int]bool
}

// MultiNode returns the multi-node test swarm described by the file that
// `scripts/multinode.sh up` writes (MultiNodeEnvFile). It skips the test
// unless TF_ACC is set, and fails it with a clear message when the harness is
// not up or one of its nodes is not ready. It brings nothing up itself.
func MultiNode(t testing.TB) *Cluster {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("needs the multi-node test swarm: run `make multinode` (bash scripts/multinode.sh up), then the test with TF_ACC=1")
	}
	path := os.Getenv("MN_ENV_FILE")
	if path == "" {
		path = MultiNodeEnvFile
	}
	env, err := mnReadEnv(path)
	if err != nil {
		t.Fatalf("the multi-node test swarm is not up (%v): run `make multinode` (bash scripts/multinode.sh up) first", err)
	}
	c, err := mnClusterFromEnv(env)
	if err != nil {
		t.Fatalf("%s: %v; run `bash scripts/multinode.sh up` again", path, err)
	}
	c.script = mnFindScript(env["MN_SCRIPT"])

	cli := c.Client(t)
	nodes, problem := mnCheck(cli, c)
	if problem != "" && c.script != "" {
		// A test cut short (a manager it promoted lost, a quorum lost, a node it stopped)
		// leaves the swarm in a shape every test after it would fail on. The harness puts it
		// back as it was made (scripts/multinode.sh up: node 1 the single manager, every node
		// ready), once, before this test.
		t.Logf("the multi-node swarm is not as the harness made it (%s): bash %s up", problem, c.script)
		c.run(t, "up")
		nodes, problem = mnCheck(cli, c)
	}
	if problem != "" {
		t.Fatalf("%s; run `bash scripts/multinode.sh up` (`status` shows the nodes)", problem)
	}
	byName := map[string]swarm.Node{}
	for _, n := range nodes {
		byName[n.Description.Hostname] = n
	}
	for i := range c.Nodes {
		c.Nodes[i].ID = byName[c.Nodes[i].Hostname].ID
	}
	c.Manager = c.Nodes[0]
	c.Workers = append([]Node(nil), c.Nodes[1:]...)
	return c
}

// mnCheck lists the swarm's nodes through its manager, and says what is wrong with them, if
// anything: the manager does not answer or is no manager, the swarm has no leader, a node is
// missing or not ready.
func mnCheck(cli *client.Client, c *Cluster) ([]swarm.Node, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	info, err := cli.Info(ctx)
	if err != nil {
		return nil, fmt.Sprintf("its manager %s does not answer (%v)", c.ManagerHost, err)
	}
	if info.Swarm.LocalNodeState != swarm.LocalNodeStateActive || !info.Swarm.ControlAvailable {
		return nil, fmt.Sprintf("%s is not the manager of an active swarm (state %q)", c.ManagerHost, info.Swarm.LocalNodeState)
	}
	nodes, err := cli.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return nil, fmt.Sprintf("listing the nodes of the multi-node swarm: %v", err)
	}
	byName := map[string]swarm.Node{}
	for _, n := range nodes {
		byName[n.Description.Hostname] = n
	}
	for _, want := range c.Nodes {
		n, ok := byName[want.Hostname]
		if !ok {
			return nil, fmt.Sprintf("the multi-node swarm has no node %s", want.Hostname)
		}
		if n.Status.State != swarm.NodeStateReady {
			return nil, fmt.Sprintf("node %s of the multi-node swarm is %s, not ready", want.Hostname, n.Status.State)
		}
	}
	return nodes, ""
}

// Node returns node n (1-based): a member or a spare.
func (c *Cluster) Node(n int) Node {
	if n >= 1 && n <= len(c.Nodes) {
		return c.Nodes[n-1]
	}
	for _, s := range c.Spares {
		if s.Index == n {
			return s
		}
	}
	panic(fmt.Sprintf("acctest: no node %d in a %d-node cluster with %d spare(s)", n, len(c.Nodes), len(c.Spares)))
}

// Spare returns the first spare node; the test fails when the harness has none.
func (c *Cluster) Spare(t testing.TB) Node {
	t.Helper()
	if len(c.Spares) == 0 {
		t.Fatal("the multi-node harness has no spare node (MN_SPARE=0); run `bash scripts/multinode.sh up` with MN_SPARE=1")
	}
	return c.Spares[0]
}

// NeedPrometheus returns the harness's Prometheus (scraping a cAdvisor on
// every node); the test fails when the harness runs without metrics.
func (c *Cluster) NeedPrometheus(t testing.TB) string {
	t.Helper()
	if c.Prometheus == "" {
		t.Fatal("the multi-node harness runs without cAdvisor and Prometheus (MN_CADVISOR=0); run `bash scripts/multinode.sh up` without it")
	}
	return c.Prometheus
}

// NeedAutoscaler returns the autoscaling controller's image, which every node
// holds; the test fails when the harness came up without it.
func (c *Cluster) NeedAutoscaler(t testing.TB) string {
	t.Helper()
	if c.AutoscalerImage == "" {
		t.Fatal("the multi-node harness came up without the autoscaling controller's image: run `make multinode` (it builds the image first)")
	}
	return c.AutoscalerImage
}

// JoinNode makes spare node n a worker of the swarm (with its labels zone and
// swarmform.node) and returns its swarm node ID once the manager sees it
// ready. Unless the test calls LeaveNode, the node leaves when the test ends.
func (c *Cluster) JoinNode(t testing.TB, n int) string {
	t.Helper()
	c.Node(n)
	t.Cleanup(func() { c.run(t, "leave-node", strconv.Itoa(n)) })
	out := c.run(t, "join-node", strconv.Itoa(n))
	return strings.TrimSpace(out)
}

// LeaveNode makes spare node n leave the swarm and has the manager forget it.
func (c *Cluster) LeaveNode(t testing.TB, n int) {
	t.Helper()
	c.Node(n)
	c.run(t, "leave-node", strconv.Itoa(n))
}

// Client returns a Docker client for the manager, closed when the test ends.
func (c *Cluster) Client(t testing.TB) *client.Client {
	t.Helper()
	return mnClient(t, c.ManagerHost)
}

// NodeClient returns a Docker client for node n's own engine (for its
// containers and images; only the manager answers swarm requests).
func (c *Cluster) NodeClient(t testing.TB, n int) *client.Client {
	t.Helper()
	return mnClient(t, c.Node(n).Host)
}

// StopNode stops node n's dockerd (SIGTERM; returns once it has exited). The
// node keeps its data and its swarm membership. Unless the test starts it
// again with StartNode, the node is started when the test ends, so the next
// test finds the whole cluster.
func (c *Cluster) StopNode(t testing.TB, n int) {
	t.Helper()
	c.Node(n)
	c.mu.Lock()
	first := c.stopped == nil || !c.stopped[n]
	if c.stopped == nil {
		c.stopped = map[int]bool{}
	}
	c.stopped[n] = true
	c.mu.Unlock()
	if first {
		t.Cleanup(func() {
			c.mu.Lock()
			still := c.stopped[n]
			c.mu.Unlock()
			if still {
				t.Logf("starting node %d again, stopped by the test", n)
				c.StartNode(t, n)
			}
		})
	}
	c.run(t, "stop-node", strconv.Itoa(n))
}

// StartNode starts node n's dockerd again and returns once the node is back
// in the swarm (for a worker: once the manager sees it ready; for the
// manager: once it answers swarm requests).
func (c *Cluster) StartNode(t testing.TB, n int) {
	t.Helper()
	c.Node(n)
	c.run(t, "start-node", strconv.Itoa(n))
	c.mu.Lock()
	delete(c.stopped, n)
	c.mu.Unlock()
}

// run runs a subcommand of scripts/multinode.sh and returns its standard
// output (its progress, on standard error, is shown only when it fails).
func (c *Cluster) run(t testing.TB, args ...string) string {
	t.Helper()
	if c.script == "" {
		t.Fatalf("scripts/multinode.sh not found: no go.mod above the working directory and no MN_SCRIPT")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, "bash", append([]string{c.script}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bash %s %s: %v\n%s%s", c.script, strings.Join(args, " "), err, out, stderr.String())
	}
	t.Logf("multinode.sh %s: %s", strings.Join(args, " "), time.Since(start).Round(100*time.Millisecond))
	return string(out)
}

func mnClient(t testing.TB, host string) *client.Client {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatalf("docker client for %s: %v", host, err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// mnReadEnv reads `export KEY=value` (or KEY=value) lines; values may be
// single- or double-quoted.
func mnReadEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		env[strings.TrimSpace(k)] = v
	}
	return env, sc.Err()
}

func mnClusterFromEnv(env map[string]string) (*Cluster, error) {
	need := func(k string) (string, error) {
		if env[k] == "" {
			return "", fmt.Errorf("%s is missing", k)
		}
		return env[k], nil
	}
	manager, err := need("MN_MANAGER_HOST")
	if err != nil {
		return nil, err
	}
	var lists [4][]string
	for i, k := range []string{"MN_NODES", "MN_NODE_ADDRS", "MN_NODE_HOSTS", "MN_NODE_ZONES"} {
		v, err := need(k)
		if err != nil {
			return nil, err
		}
		lists[i] = strings.Fields(v)
	}
	count := len(lists[0])
	for i, k := range []string{"MN_NODE_ADDRS", "MN_NODE_HOSTS", "MN_NODE_ZONES"} {
		if len(lists[i+1]) != count {
			return nil, fmt.Errorf("%s lists %d nodes, MN_NODES %d", k, len(lists[i+1]), count)
		}
	}
	if lists[2][0] != manager {
		return nil, fmt.Errorf("MN_MANAGER_HOST %s is not the first of MN_NODE_HOSTS", manager)
	}
	c := &Cluster{
		ManagerHost:         manager,
		Prometheus:          env["MN_PROMETHEUS"],
		PrometheusFromNodes: env["MN_PROMETHEUS_FROM_NODES"],
		SocketTemplate:      env["MN_SOCKET_TEMPLATE"],
		AutoscalerImage:     env["MN_AUTOSCALER_IMAGE"],
		Image:               env["MN_TEST_IMAGE"],
		ImageV2:             env["MN_TEST_IMAGE_V2"],
		ImageLatest:         env["MN_TEST_IMAGE_LATEST"],
	}
	if c.Image == "" {
		return nil, errors.New("MN_TEST_IMAGE is missing")
	}
	for i := 0; i < count; i++ {
		c.Nodes = append(c.Nodes, Node{
			Index:    i + 1,
			Hostname: lists[0][i],
			Addr:     lists[1][i],
			Host:     lists[2][i],
			Zone:     lists[3][i],
			Manager:  i == 0,
		})
	}
	spares, hosts, addrs := strings.Fields(env["MN_SPARE_NODES"]), strings.Fields(env["MN_SPARE_HOSTS"]), strings.Fields(env["MN_SPARE_ADDRS"])
	if len(hosts) != len(spares) || len(addrs) != len(spares) {
		return nil, fmt.Errorf("MN_SPARE_HOSTS and MN_SPARE_ADDRS do not list the %d nodes of MN_SPARE_NODES", len(spares))
	}
	for i, s := range spares {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("MN_SPARE_NODES: %q is not a node number", s)
		}
		c.Spares = append(c.Spares, Node{Index: n, Hostname: fmt.Sprintf("mn-%d", n), Addr: addrs[i], Host: hosts[i], Zone: string(rune('a' + (n-1)%26))})
	}
	c.Manager = c.Nodes[0]
	c.Workers = append([]Node(nil), c.Nodes[1:]...)
	return c, nil
}

// mnFindScript locates scripts/multinode.sh: in the repository holding the
// test's working directory (the first directory upwards with a go.mod), else
// where the env file says `up` ran from.
func mnFindScript(fromEnv string) string {
	if dir, err := os.Getwd(); err == nil {
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				p := filepath.Join(dir, "scripts", "multinode.sh")
				if _, err := os.Stat(p); err == nil {
					return p
				}
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	if fromEnv != "" {
		if _, err := os.Stat(fromEnv); err == nil {
			return fromEnv
		}
	}
	return ""
}
