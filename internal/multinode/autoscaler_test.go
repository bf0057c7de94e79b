package multinode_test

// The autoscaling controller (swarm_autoscaler, with the image the harness copied into every
// node) on the multi-node swarm: it reads cAdvisor through the harness's Prometheus and
// scales a continuous policy as the load on the workers changes; with three managers it goes
// on acting when the leader is lost. No terraform command runs between a change of load and
// the assertion: the load is switched with a file every task watches (the test image's
// BURN_FILE; the nodes share the host's file system).

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
	"github.com/swarmform/terraform-provider-swarm/internal/orchestrator"
)

const (
	controllerAddr = "swarm_autoscaler.test"
	// controllerInterval is the controller's interval here: short, so that the tests are quick.
	controllerInterval = 2 * time.Second
)

// controllerBlock is a controller named name. In the node's own network it reaches the
// Prometheus on the harness bridge; through the socket template each task mounts its own
// node's engine (in the harness /var/run/docker.sock is the default engine's, on every node).
func controllerBlock(t *testing.T, c *acctest.Cluster, name, extra string) string {
	return fmt.Sprintf(`
resource "swarm_autoscaler" "test" {
  name          = %q
  image         = %q
  interval      = %q
  networks      = ["host"]
  docker_socket = %q
%s
}
`, name, c.NeedAutoscaler(t), controllerInterval, c.SocketTemplate, extra)
}

// burnService is a service whose tasks burn their 0.05 CPU limit while the load in dir is on,
// placed by constraint.
func burnService(c *acctest.Cluster, name, dir, constraint string, replicas int) string {
	return service("test", name, fmt.Sprintf(`  image     = %q
  replicas  = %d
  env       = { BURN_FILE = "/load/on" }
  mounts    = [{ type = "bind", source = %q, target = "/load" }]
  resources = { limits = { cpus = 0.05 } }
  placement = { constraints = [%q] }
  rolling_update = { monitor = "1s" }`, c.Image, replicas, dir, constraint))
}

// cadvisorPolicy is a continuous cpu policy on swarm_service.test, 1 to 4 replicas, read from
// cAdvisor through the Prometheus as the nodes reach it.
func cadvisorPolicy(t *testing.T, c *acctest.Cluster, window string) string {
	c.NeedPrometheus(t)
	if c.PrometheusFromNodes == "" {
		t.Fatal("the harness does not say where the nodes reach its Prometheus (MN_PROMETHEUS_FROM_NODES); run `make multinode`")
	}
	return fmt.Sprintf(`
resource "swarm_scaling_policy" "test" {
  service_id   = swarm_service.test.id
  min_replicas = 1
  max_replicas = 4
  evaluation   = "continuous"
  metrics      = [{ type = "cpu", target_utilization = 50, source = "cadvisor", address = %q }]
  scale_down   = { stabilization_window = %q }
}
`, c.PrometheusFromNodes, window)
}

// replicasNow is the service's replica count and its running tasks, through cli.
func replicasNow(ctx context.Context, cli *client.Client, name string) (replicas, running int, err error) {
	svc, _, err := cli.ServiceInspectWithRaw(ctx, name, swarm.ServiceInspectOptions{})
	if err != nil {
		return 0, 0, err
	}
	if svc.Spec.Mode.Replicated == nil || svc.Spec.Mode.Replicated.Replicas == nil {
		return 0, 0, fmt.Errorf("service %s is not replicated", name)
	}
	tasks, err := acctest.ListDesiredRunning(ctx, cli, name)
	if err != nil {
		return 0, 0, err
	}
	for _, task := range tasks {
		if task.Status.State == swarm.TaskStateRunning {
			running++
		}
	}
	return int(*svc.Spec.Mode.Replicated.Replicas), running, nil
}

// waitReplicas waits until the service asks for n replicas and runs n tasks.
func waitReplicas(t *testing.T, cli *client.Client, name string, n int) {
	t.Helper()
	acctest.Eventually(t, 2*time.Minute, fmt.Sprintf("service %s at %d running replicas", name, n), func() (bool, string, error) {
		replicas, running, err := replicasNow(context.Background(), cli, name)
		return replicas == n && running == n, fmt.Sprintf("%d replicas, %d running", replicas, running), err
	})
}

// heartbeatOf is the acting controller's latest heartbeat in the swarm cli talks to.
func heartbeatOf(ctx context.Context, cli *client.Client) (h orchestrator.Heartbeat, ok bool, err error) {
	cfg, _, err := cli.ConfigInspectWithRaw(ctx, orchestrator.HeartbeatConfig)
	if err != nil {
		if strings.Contains(err.Error(), "not found") {
			return h, false, nil
		}
		return h, false, err
	}
	return h, json.Unmarshal([]byte(cfg.Spec.Labels[orchestrator.HeartbeatLabel]), &h) == nil, nil
}

// controllerLine is one JSON line of a controller's log.
type controllerLine struct {
	Time     time.Time `json:"time"`
	Msg      string    `json:"msg"`
	Why      string    `json:"why"`
	Error    string    `json:"error"`
	Acting   bool      `json:"acting"`
	Service  string    `json:"service"`
	From     int       `json:"from"`
	Desired  int       `json:"desired"`
	Scaled   bool      `json:"scaled"`
	Reason   string    `json:"reason"`
	Took     int       `json:"took_ms"`
	Holder   string    `json:"holder"`
	Policies int       `json:"policies"`
}

// controllerLog is what the controller's containers on node n logged, oldest first, read from
// that node's own engine (it answers while the manager the provider talks to is down).
func controllerLog(t *testing.T, c *acctest.Cluster, n int, controller string) []controllerLine {
	t.Helper()
	ctx := context.Background()
	cli := c.NodeClient(t, n)
	containers, err := cli.ContainerList(ctx, container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", "com.docker.swarm.service.name="+controller))})
	if err != nil {
		t.Fatalf("list the controller's containers on node %d: %v", n, err)
	}
	var out []controllerLine
	for _, ct := range containers {
		rc, err := cli.ContainerLogs(ctx, ct.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true})
		if err != nil {
			t.Fatalf("logs of container %.12s on node %d: %v", ct.ID, n, err)
		}
		var b strings.Builder
		_, err = stdcopy.StdCopy(&b, &b, rc)
		_ = rc.Close()
		if err != nil {
			t.Fatalf("logs of container %.12s on node %d: %v", ct.ID, n, err)
		}
		for _, l := range strings.Split(b.String(), "\n") {
			var line controllerLine
			if json.Unmarshal([]byte(l), &line) == nil && line.Msg != "" {
				out = append(out, line)
			}
		}
	}
	// Containers are listed newest first; the lines of each are in order.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Time.Before(out[j-1].Time); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// controllerGone checks, once the controller is destroyed, that none of its containers runs on
// any node any more and that its heartbeat is gone: the destroy waited for every task to stop
// before it removed the heartbeat, so that no task still running could record it again.
func controllerGone(t *testing.T, c *acctest.Cluster, controller string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		for _, n := range c.Nodes {
			running, err := c.NodeClient(t, n.Index).ContainerList(ctx, container.ListOptions{
				Filters: filters.NewArgs(filters.Arg("label", "com.docker.swarm.service.name="+controller))})
			if err != nil {
				return err
			}
			if len(running) > 0 {
				return fmt.Errorf("%d container(s) of the destroyed controller %s still run on %s", len(running), controller, n.Hostname)
			}
		}
		if h, ok, err := heartbeatOf(ctx, c.Client(t)); err != nil || ok {
			return fmt.Errorf("the heartbeat is left after the controller was destroyed: %+v (%v)", h, err)
		}
		return nil
	}
}

// The controller reads cAdvisor through the harness's Prometheus, from the manager's network,
// and scales a continuous policy on a service whose tasks all run on the workers, whose
// containers the manager's engine cannot read: load on, up to max_replicas; load off, down to
// min_replicas once the window has passed. The plans after are empty. The controller acts
// on the multi-node swarm through its node's own engine (its heartbeat is there, under its
// node).
func TestAccAutoscaler_cadvisorOnWorkers(t *testing.T) {
	c := acctest.MultiNode(t)
	cli := c.Client(t)
	svc, ctl, dir := acctest.Name("mn-cont"), acctest.Name("mn-ctl"), acctest.LoadDir(t)
	config := providerBlock(c.ManagerHost) + controllerBlock(t, c, ctl, "") +
		burnService(c, svc, dir, "node.role==worker", 1) + cadvisorPolicy(t, c, "10s")
	decision := func(re string) statecheck.StateCheck {
		return statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("decision"), knownvalue.StringRegexp(regexp.MustCompile(re)))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		CheckDestroy:             controllerGone(t, c, ctl),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(controllerAddr, tfjsonpath.New("running_tasks"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(controllerAddr, tfjsonpath.New("docker_socket"), knownvalue.StringExact(c.SocketTemplate)),
				},
				Check: func(*terraform.State) error {
					// The apply returned once the controller finished a round: acting on this
					// swarm, it recorded its heartbeat here, as its node.
					h, ok, err := heartbeatOf(context.Background(), cli)
					if err != nil || !ok || h.Node != c.Manager.ID || !strings.HasPrefix(h.Holder, ctl+".") {
						return fmt.Errorf("the multi-node swarm's heartbeat is %+v (found %v, %v), want one of %s's task on %s", h, ok, err, ctl, c.Manager.Hostname)
					}
					return nil
				},
			},
			{
				// Load on the worker's task: 100% against a 50% target doubles the count, up to 4.
				PreConfig: func() {
					acctest.SetLoad(t, dir, true)
					waitReplicas(t, cli, svc, 4)
				},
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("desired_replicas"), knownvalue.Int64Exact(4)),
					// Read from cAdvisor: the manager's engine could read none of the tasks. (The
					// count passes 2, and maybe 3, on the way.)
					decision(`^cpu at [\d.]+% .*against a 50% target .*; [123] -> 4($|; cpu measured on \d of \d ready tasks: cAdvisor )`),
				},
			},
			{
				// Load off: down to min_replicas once the 10s window has passed.
				PreConfig: func() {
					acctest.SetLoad(t, dir, false)
					waitReplicas(t, cli, svc, 1)
				},
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("desired_replicas"), knownvalue.Int64Exact(1)),
					// (Stabilized over the window, the count may step down through 2 or 3.)
					decision(`^cpu at [\d.]+% against a 50% target .*; [234] -> 1$`),
				},
			},
		},
	})
}

// promoteWorkers makes every worker a manager, and puts the swarm back as it was when the test
// ends: the workers demoted, the manager the leader again, every node ready.
func promoteWorkers(t *testing.T, c *acctest.Cluster) {
	t.Helper()
	cli := c.Client(t)
	t.Cleanup(func() {
		// The managers Raft cannot reach go first: demoting a reachable one while another
		// is unreachable would leave a quorum that counts the unreachable one, and lose it.
		workers := slices.Clone(c.Workers)
		reachable := map[string]bool{}
		if nodes, err := cli.NodeList(context.Background(), swarm.NodeListOptions{}); err == nil {
			for _, n := range nodes {
				reachable[n.ID] = n.ManagerStatus != nil && n.ManagerStatus.Reachability == swarm.ReachabilityReachable
			}
		}
		slices.SortStableFunc(workers, func(a, b acctest.Node) int {
			switch {
			case reachable[a.ID] == reachable[b.ID]:
				return 0
			case reachable[b.ID]:
				return -1
			}
			return 1
		})
		for _, w := range workers {
			setRole(t, cli, w, swarm.NodeRoleWorker)
		}
		waitManagers(t, cli, c.Manager.ID, c.Manager.ID)
	})
	// From the harness's shape (node 1 the only manager, so the leader), whatever a run cut
	// short before its clean-up left: a leader elsewhere, workers still managers.
	for _, w := range c.Workers {
		setRole(t, cli, w, swarm.NodeRoleWorker)
	}
	waitManagers(t, cli, c.Manager.ID, c.Manager.ID)
	// One at a time, each a reachable manager before the next: a promotion renews the node's
	// certificate through the managers' CA, which needs Raft to commit, and a second promotion
	// while the first joins Raft left the node a worker with renewals timing out (CI6:
	// "failed to renew the certificate ... context deadline exceeded" on mn-3 for two minutes).
	ids := []string{c.Manager.ID}
	for _, w := range c.Workers {
		setRole(t, cli, w, swarm.NodeRoleManager)
		ids = append(ids, w.ID)
		waitManagers(t, cli, c.Manager.ID, ids...)
	}
}

// setRole gives node n a role. A demotion of the leader moves the leadership, and a change
// made meanwhile is refused ("node lost leader status"): it is made again.
func setRole(t *testing.T, cli *client.Client, n acctest.Node, role swarm.NodeRole) {
	t.Helper()
	ctx := context.Background()
	acctest.Eventually(t, time.Minute, fmt.Sprintf("%s to be a %s", n.Hostname, role), func() (bool, string, error) {
		node, _, err := cli.NodeInspectWithRaw(ctx, n.ID)
		if err != nil || node.Spec.Role == role {
			return err == nil, "", err
		}
		spec := node.Spec
		spec.Role = role
		return false, "", cli.NodeUpdate(ctx, node.ID, node.Version, spec)
	})
}

// waitManagers waits until exactly the given nodes are reachable managers, leader the leader,
// and every node is ready.
func waitManagers(t *testing.T, cli *client.Client, leader string, managers ...string) {
	t.Helper()
	want := map[string]bool{}
	for _, id := range managers {
		want[id] = true
	}
	acctest.Eventually(t, 2*time.Minute, fmt.Sprintf("%d reachable managers, every node ready", len(managers)), func() (bool, string, error) {
		nodes, err := cli.NodeList(context.Background(), swarm.NodeListOptions{})
		if err != nil {
			return false, "", err
		}
		var notes []string
		ok := true
		for _, n := range nodes {
			manager := n.ManagerStatus != nil && n.ManagerStatus.Reachability == swarm.ReachabilityReachable
			isLeader := n.ManagerStatus != nil && n.ManagerStatus.Leader
			if manager != want[n.ID] || isLeader != (n.ID == leader) || n.Status.State != swarm.NodeStateReady {
				ok = false
			}
			notes = append(notes, fmt.Sprintf("%s %s manager=%v leader=%v", n.Description.Hostname, n.Status.State, manager, isLeader))
		}
		return ok, strings.Join(notes, ", "), nil
	})
}

// controllerTasks is the ID of the controller's task meant to run on each node, by node ID.
func controllerTasks(t *testing.T, cli *client.Client, controller string) map[string]string {
	t.Helper()
	tasks, err := acctest.ListDesiredRunning(context.Background(), cli, controller)
	if err != nil {
		t.Fatalf("list the tasks of %s: %v", controller, err)
	}
	out := map[string]string{}
	for _, task := range tasks {
		out[task.NodeID] = task.ID
	}
	return out
}

// leaderOf is the swarm's leader as the manager cli talks to sees it; "" while there is none.
func leaderOf(ctx context.Context, cli *client.Client) (string, error) {
	nodes, err := cli.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return "", err
	}
	for _, n := range nodes {
		if n.ManagerStatus != nil && n.ManagerStatus.Leader {
			return n.ID, nil
		}
	}
	return "", nil
}

// With three managers the controller runs a task on each and only the leader's acts. The
// leader's daemon is stopped: Raft needs a quorum, a majority of the managers (2 of 3), to
// elect a new leader, so three managers tolerate one lost (and one or two managers tolerate
// none). A new leader is elected among the other two, the controller on it takes over, and
// a load that starts after that is scaled by it, in the first round that sees the load. The
// node is started again: the controller runs on every manager again, and the next plan is
// empty. When the test ends the workers are demoted and node 1 leads again.
func TestAccAutoscaler_leaderLost(t *testing.T) {
	c := acctest.MultiNode(t)
	cli := c.Client(t)
	promoteWorkers(t, c)
	svc, ctl, dir := acctest.Name("mn-lost"), acctest.Name("mn-ctl"), acctest.LoadDir(t)
	// The service runs off node 1, so that stopping node 1 leaves its tasks as they are.
	config := providerBlock(c.ManagerHost) + controllerBlock(t, c, ctl, `  log_level = "debug"`) +
		burnService(c, svc, dir, "node.hostname!="+c.Manager.Hostname, 1) + cadvisorPolicy(t, c, "10m")
	nodeIndex := map[string]int{}
	for _, n := range c.Nodes {
		nodeIndex[n.ID] = n.Index
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		CheckDestroy:             controllerGone(t, c, ctl),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(controllerAddr, tfjsonpath.New("running_tasks"), knownvalue.Int64Exact(3)),
				},
				Check: func(*terraform.State) error {
					// Every task finished a round when the apply returned: node 1's acts, the
					// others stand by, naming the leader.
					h, ok, err := heartbeatOf(context.Background(), cli)
					if err != nil || !ok || h.Node != c.Manager.ID {
						return fmt.Errorf("the heartbeat is %+v (found %v, %v), want the controller on %s, the leader", h, ok, err, c.Manager.Hostname)
					}
					for _, n := range c.Nodes {
						var acting, standby int
						for _, l := range controllerLog(t, c, n.Index, ctl) {
							switch {
							case strings.HasPrefix(l.Msg, "acting"):
								acting++
							case l.Msg == "standing by" && strings.Contains(l.Why, c.Manager.Hostname):
								standby++
							}
						}
						if leader := n.Index == 1; (acting > 0) != leader || (standby > 0) == leader {
							return fmt.Errorf("the controller on %s logged %d acting and %d standing-by lines; want it acting only on the leader", n.Hostname, acting, standby)
						}
					}
					return nil
				},
			},
			{
				PreConfig: func() {
					ctx := context.Background()
					before := controllerTasks(t, cli, ctl)
					stopped := time.Now()
					c.StopNode(t, 1)
					// Node 1's engine is down: the test reads the swarm through node 2.
					cli2 := c.NodeClient(t, 2)
					var leader string
					acctest.Eventually(t, 2*time.Minute, "a new leader", func() (bool, string, error) {
						id, err := leaderOf(ctx, cli2)
						leader = id
						return id != "" && id != c.Manager.ID, "leader " + id, err
					})
					elected := time.Now()
					t.Logf("%s leads, elected %s after node 1 was stopped", c.Nodes[nodeIndex[leader]-1].Hostname, elected.Sub(stopped).Round(100*time.Millisecond))
					acctest.Eventually(t, 2*time.Minute, "the controller on the new leader to act", func() (bool, string, error) {
						h, _, err := heartbeatOf(ctx, cli2)
						return h.Node == leader, fmt.Sprintf("heartbeat %+v", h), err
					})
					t.Logf("the controller on the new leader acted %s after the election", time.Since(elected).Round(100*time.Millisecond))
					// While the managers elected, the controllers on the other two finished their
					// rounds standing by, and stayed up: their healthcheck would otherwise have
					// had them stopped as the election ended, and started again (before the fix
					// the rounds waited for the election, and Swarm replaced the controllers).
					after := controllerTasks(t, cli2, ctl)
					for _, n := range c.Workers {
						var noLeader int
						for _, l := range controllerLog(t, c, n.Index, ctl) {
							switch {
							case l.Time.Before(stopped):
							case l.Msg == "standing by" && strings.HasPrefix(l.Why, "the swarm has no leader now"):
								noLeader++
							case l.Msg == "round failed" || l.Msg == "swarm-autoscaler stopped":
								t.Errorf("the controller on %s during the election: %s %s", n.Hostname, l.Msg, l.Error)
							}
						}
						if noLeader == 0 {
							t.Errorf("the controller on %s never stood by for want of a leader while the managers elected one", n.Hostname)
						}
						if after[n.ID] != before[n.ID] {
							t.Errorf("the controller task on %s was replaced during the election: %s, then %s", n.Hostname, before[n.ID], after[n.ID])
						}
					}

					loadOn := time.Now()
					acctest.SetLoad(t, dir, true)
					acctest.Eventually(t, 2*time.Minute, "the new leader's controller to scale the service up", func() (bool, string, error) {
						replicas, _, err := replicasNow(ctx, cli2, svc)
						return replicas > 1, fmt.Sprintf("%d replicas", replicas), err
					})
					// From the new leader's controller's log: the rounds it ran since the load
					// started, and the first one that saw the load above the target scaled.
					rounds, scaledAt := 0, -1
					for _, l := range controllerLog(t, c, nodeIndex[leader], ctl) {
						if l.Time.Before(loadOn) {
							continue
						}
						switch {
						case l.Msg == "round" && l.Acting:
							rounds++
						case l.Msg == "round failed":
							t.Logf("a round failed: %s", l.Error)
						case l.Service == svc && l.Desired > l.From && l.Msg != "decision":
							t.Errorf("a round of the new leader's controller saw the load (%s) and did not scale", l.Reason)
						case l.Service == svc && l.Msg == "decision" && l.Scaled && scaledAt < 0:
							scaledAt = rounds + 1
							t.Logf("scaled by the new leader's controller in its round %d after the load started: %d -> %d (%s)", scaledAt, l.From, l.Desired, l.Reason)
						}
					}
					if scaledAt < 0 {
						t.Fatalf("the controller on the new leader logged no decision that scaled %s", svc)
					}
					t.Logf("scaled %s after the load started", time.Since(loadOn).Round(100*time.Millisecond))

					c.StartNode(t, 1)
					acctest.Eventually(t, 2*time.Minute, "a controller task on every manager again", func() (bool, string, error) {
						n := len(acctest.RunningTasks(t, cli, ctl))
						return n == 3, fmt.Sprintf("%d running", n), nil
					})
				},
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(controllerAddr, tfjsonpath.New("running_tasks"), knownvalue.Int64Exact(3)),
					// The controller's latest decision under load; it may say that cAdvisor has no
					// rate yet for tasks it has just started.
					statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("desired_replicas"), knownvalue.Int64Func(func(v int64) error {
						if v < 2 {
							return fmt.Errorf("desired_replicas %d under load, want 2 or more", v)
						}
						return nil
					})),
				},
			},
		},
	})
}

// The controller's identity is its service's ID and name: set on create, and an import
// block that gives it plans no change. (On the multi-node swarm, where no other test's
// continuous policy can meet this controller.)
func TestAccIdentity_autoscaler(t *testing.T) {
	acctest.IdentityTerraform(t)
	c := acctest.MultiNode(t)
	ctl := acctest.Name("mn-ident-ctl")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		CheckDestroy:             controllerGone(t, c, ctl),
		Steps: []resource.TestStep{
			{
				Config: providerBlock(c.ManagerHost) + controllerBlock(t, c, ctl, ""),
				ConfigStateChecks: append(acctest.IdentityIs(controllerAddr, "id", "name"),
					statecheck.ExpectIdentityValue(controllerAddr, tfjsonpath.New("name"), knownvalue.StringExact(ctl))),
			},
			acctest.ImportByIdentity(controllerAddr),
		},
	})
}
