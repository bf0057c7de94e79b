package orchestrator

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
	"github.com/google/go-cmp/cmp"

	"github.com/swarmform/terraform-provider-swarm/internal/acctest"
)

// parityCompose is a stack of six services with two networks (one internal), a secret and a
// config from files, an env_file, healthchecks (one disabled), resources, placement, update and
// rollback settings, volumes of each type, a host-mode port, a legacy restart, extra hosts,
// DNS, logging, ulimits, capabilities, and a private image that both sides pin to its digest.
// Only web and monitor run tasks (one each): the rest keep 0 replicas, so that the test is
// light on the machine and depends on no task starting.
const parityCompose = `
version: "3.13"
services:
  web:
    image: ${IMAGE}
    environment:
      - VERSION=web-v1
      - FROM_VARIABLE
    env_file: ./web.env
    ports:
      - "8080"
      - target: 9090
        protocol: udp
    networks:
      front:
        aliases: [www]
    configs:
      - source: web_conf
        target: /etc/web/web.conf
        mode: 0440
    healthcheck:
      test: ["CMD", "/app", "health"]
      interval: 5s
      timeout: 2s
      retries: 3
      start_period: 10s
    labels:
      team: shop
    deploy:
      replicas: 1
      labels: {tier: "${TIER:-web}"}
      resources:
        limits: {cpus: "0.3", memory: 64M}
        reservations: {cpus: "0.01", memory: 8M}
      update_config: {parallelism: 2, delay: 1s, failure_action: rollback, monitor: 5s, max_failure_ratio: 0.2, order: start-first}
      rollback_config: {parallelism: 1, delay: 2s, failure_action: continue, monitor: 3s, max_failure_ratio: 0.5, order: stop-first}
      restart_policy: {condition: on-failure, delay: 3s, max_attempts: 5, window: 30s}
      placement:
        constraints: [node.role == manager]
        preferences: [{spread: node.labels.zone}]
        max_replicas_per_node: 2
  api:
    image: ${REGISTRY_IMAGE}
    environment: {VERSION: api-v1}
    networks: [front, back]
    secrets:
      - db_password
    healthcheck:
      test: ["CMD", "/app", "health"]
      interval: 10s
    stop_grace_period: 20s
    stop_signal: SIGINT
    user: "1000:1000"
    read_only: true
    init: true
    deploy:
      replicas: 0
      endpoint_mode: dnsrr
      resources: {limits: {pids: 100}}
  store:
    image: ${IMAGE}
    networks:
      back: {aliases: [db]}
    ports:
      - target: 8080
        published: ${STORE_PORT}
        mode: host
    volumes:
      - data:/data
      - type: tmpfs
        target: /cache
        tmpfs: {size: 1048576}
      - type: bind
        source: ./
        target: /host
        read_only: true
    secrets:
      - source: db_password
        target: password
        uid: "1000"
        gid: "1000"
        mode: 0400
    healthcheck:
      disable: true
    ulimits:
      nofile: {soft: 1024, hard: 2048}
      nproc: 512
    sysctls:
      net.core.somaxconn: 1024
    cap_add: [NET_ADMIN]
    cap_drop: [mknod]
    deploy:
      replicas: 0
  worker:
    image: ${IMAGE}
    entrypoint: ["/app"]
    command: ["cat", "/etc/hostname"]
    hostname: "{{.Service.Name}}-{{.Task.Slot}}"
    working_dir: /tmp
    extra_hosts: ["somehost:10.0.0.1", "other=10.0.0.2"]
    dns: [10.0.0.53]
    dns_search: [example.internal]
    logging:
      driver: json-file
      options: {max-size: 1m}
    tty: true
    stdin_open: true
    depends_on: [api]
    deploy:
      replicas: 0
  monitor:
    image: ${IMAGE}
    restart: on-failure:3
    environment:
      VERSION: monitor-v1
    networks: [back]
    deploy:
      mode: global
      resources:
        limits: {memory: 32M}
  batch:
    image: ${IMAGE}
    command: ["health"]
    deploy:
      mode: replicated
      replicas: 0
      restart_policy: {condition: none}
networks:
  front:
    attachable: true
    labels: {net: front}
    driver_opts: {com.docker.network.driver.mtu: "1400"}
  back:
    internal: true
secrets:
  db_password:
    file: ./db_password.txt
    labels: {kind: db}
configs:
  web_conf:
    file: ./web.conf
volumes:
  data:
    labels: {v: d}
`

// The same compose file, deployed by `docker stack deploy` under one stack name and converted
// by the engine under another (its networks, secrets and configs made, then its services with
// CreateService): every service spec, network and object label is the same, apart from the
// differences listed in paritySpec. `docker stack services` lists what the engine made, and
// `docker stack rm` removes both stacks.
func TestStackParity(t *testing.T) {
	ctx := context.Background()
	cli := acctest.Docker(t)
	image := acctest.Env(t, "TEST_IMAGE")
	registryImage := acctest.Env(t, "TEST_REGISTRY_IMAGE")
	registry, user, password := acctest.Env(t, "TEST_REGISTRY"), acctest.Env(t, "TEST_REGISTRY_USER"), acctest.Env(t, "TEST_REGISTRY_PASSWORD")
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("the docker CLI is not on PATH")
	}

	dir := t.TempDir()
	acctest.WriteFile(t, dir, "docker-compose.yml", parityCompose)
	acctest.WriteFile(t, dir, "web.env", "ENV_FILE_VALUE=from-env-file\n# a comment\nQUOTED=\"kept as written\"\n")
	acctest.WriteFile(t, dir, "db_password.txt", "s3cret-parity")
	acctest.WriteFile(t, dir, "web.conf", "upstream = http://api:8080\n")
	// The CLI pins the private image through its own credentials: a config of its own, in the
	// test's directory, leaves the machine's untouched.
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	if err := os.Mkdir(filepath.Join(dir, "docker-config"), 0o700); err != nil {
		t.Fatal(err)
	}
	acctest.WriteFile(t, dir, "docker-config/config.json", fmt.Sprintf(`{"auths": {%q: {"auth": %q}}}`, registry, auth))
	vars := map[string]string{"IMAGE": image, "REGISTRY_IMAGE": registryImage, "FROM_VARIABLE": "from-variable", "STORE_PORT": fmt.Sprint(acctest.FreePort(t))}

	cliStack, engStack := acctest.Name("stkcli"), acctest.Name("stkeng")
	docker := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, "docker", args...)
		cmd.Env = append(os.Environ(), "DOCKER_HOST="+acctest.DockerHost(), "DOCKER_CONFIG="+filepath.Join(dir, "docker-config"))
		for k, v := range vars {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	t.Cleanup(func() { // when the test stopped before its own removal
		for _, stack := range []string{cliStack, engStack} {
			if len(acctest.StackObjects(t, cli, stack)) == 0 {
				continue
			}
			cmd := exec.Command("docker", "stack", "rm", "--detach=false", stack)
			cmd.Env = append(os.Environ(), "DOCKER_HOST="+acctest.DockerHost())
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Logf("docker stack rm %s: %v\n%s", stack, err, out)
			}
		}
	})

	start := time.Now()
	out := docker("stack", "deploy", "--detach=true", "--with-registry-auth", "-c", filepath.Join(dir, "docker-compose.yml"), cliStack)
	t.Logf("docker stack deploy took %s:\n%s", time.Since(start).Round(10*time.Millisecond), out)

	e, err := New(ctx, Config{Host: acctest.DockerHost(), RegistryAuth: []RegistryAuth{{Address: registry, Username: user, Password: password}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	start = time.Now()
	c, err := LoadCompose(ctx, ComposeSource{Files: []string{filepath.Join(dir, "docker-compose.yml")}, Variables: vars, HashKey: []byte("parity")})
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Stack(engStack)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range st.Networks {
		if _, err := e.CreateNetwork(ctx, n.Spec); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range append(append([]StackObject(nil), st.Secrets...), st.Configs...) {
		if _, err := e.CreateObject(ctx, o.Kind, o.ObjectSpec()); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range st.Services {
		res, err := e.CreateService(ctx, s.Spec)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range res.Warnings {
			t.Logf("%s: %s", s.Key, w)
		}
	}
	t.Logf("the engine made the stack in %s; warnings: %s", time.Since(start).Round(10*time.Millisecond), problemsAt(st.Warnings))

	listed := docker("stack", "services", "--format", "{{.Name}}", engStack)
	for _, s := range st.Services {
		if !strings.Contains(listed, engStack+"_"+s.Key+"\n") {
			t.Errorf("docker stack services %s does not list %s_%s:\n%s", engStack, engStack, s.Key, listed)
		}
	}

	names := objectNames(t, cli)
	for _, s := range st.Services {
		want := paritySpec(t, cli, names, cliStack, s.Key)
		got := paritySpec(t, cli, names, engStack, s.Key)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("service %s: the engine's spec differs from docker stack deploy's (-cli +engine):\n%s", s.Key, diff)
		}
	}
	for _, key := range []string{"front", "back"} {
		want, got := parityNetwork(t, cli, cliStack, key), parityNetwork(t, cli, engStack, key)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("network %s differs (-cli +engine):\n%s", key, diff)
		}
	}
	for _, kind := range []ObjectKind{KindSecret, KindConfig} {
		want, got := parityObjects(t, cli, kind, cliStack), parityObjects(t, cli, kind, engStack)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%ss differ (-cli +engine):\n%s", kind, diff)
		}
	}

	// docker stack rm removes each stack whole, the engine's as well as its own (a node lists a
	// removed network for a few seconds more, until its last endpoint is gone).
	for _, stack := range []string{cliStack, engStack} {
		docker("stack", "rm", "--detach=false", stack)
		acctest.Eventually(t, time.Minute, "stack "+stack+" gone", func() (bool, string, error) {
			left := acctest.StackObjects(t, cli, stack)
			return len(left) == 0, "left: " + strings.Join(left, ", "), nil
		})
	}
}

// objectNames maps the IDs of networks, secrets and configs to their names.
func objectNames(t *testing.T, cli *client.Client) map[string]string {
	ctx := context.Background()
	names := map[string]string{}
	nets, err := cli.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nets {
		names[n.ID] = n.Name
	}
	return names
}

// versionSuffix is the content hash a version of a secret or config is named after.
var versionSuffix = regexp.MustCompile(`_[0-9a-f]{10}$`)

// paritySpec reads a service of a stack and takes out what may differ between the CLI's stack
// and the engine's, each for its reason:
//   - the stack's name, in names and in the com.docker.stack.namespace labels: the two stacks
//     must have different names;
//   - network, secret and config IDs (each stack has its own objects), compared by name;
//   - the content hash a secret's or config's name ends in: the engine versions them, so that a
//     changed file rotates under running services (the CLI's fixed names cannot change);
//   - labels under swarmform. (none today: the engine marks nothing on create);
//   - the placement platforms the CLI records when it pins the private image (its
//     --resolve-image reads them from the registry's manifest list); the engine pins the same
//     digest and records no platforms.
//
// The image, pinned to its digest by both, must be the same.
func paritySpec(t *testing.T, cli *client.Client, names map[string]string, stack, key string) swarm.ServiceSpec {
	t.Helper()
	svc := acctest.InspectService(t, cli, stack+"_"+key)
	spec := svc.Spec
	unstack := func(s string) string { return strings.Replace(s, stack, "<stack>", 1) }
	unlabel := func(l map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range l {
			switch {
			case strings.HasPrefix(k, EngineLabelPrefix):
			case k == StackNamespaceLabel:
				out[k] = unstack(v)
			default:
				out[k] = v
			}
		}
		return out
	}
	spec.Name = unstack(spec.Name)
	spec.Labels = unlabel(spec.Labels)
	tt := &spec.TaskTemplate
	cs := *tt.ContainerSpec
	tt.ContainerSpec = &cs
	cs.Labels = unlabel(cs.Labels)
	for i := range cs.Mounts {
		if o := cs.Mounts[i].VolumeOptions; o != nil {
			o.Labels = unlabel(o.Labels)
		}
		cs.Mounts[i].Source = unstack(cs.Mounts[i].Source)
	}
	for i, r := range cs.Secrets {
		ref := *r
		ref.SecretID, ref.SecretName = "", versionSuffix.ReplaceAllString(unstack(ref.SecretName), "")
		cs.Secrets[i] = &ref
	}
	for i, r := range cs.Configs {
		ref := *r
		ref.ConfigID, ref.ConfigName = "", versionSuffix.ReplaceAllString(unstack(ref.ConfigName), "")
		cs.Configs[i] = &ref
	}
	for i := range tt.Networks {
		tt.Networks[i].Target = unstack(names[tt.Networks[i].Target])
	}
	if tt.Placement != nil {
		tt.Placement.Platforms = nil
	}
	return spec
}

// parityNetwork reads a network of a stack, as its spec: the daemon's own options and the
// stack's name taken out.
func parityNetwork(t *testing.T, cli *client.Client, stack, key string) NetworkSpec {
	t.Helper()
	n, err := cli.NetworkInspect(context.Background(), stack+"_"+key, network.InspectOptions{Scope: "swarm"})
	if err != nil {
		t.Fatal(err)
	}
	s := NetworkSpecOf(n)
	s.Name = strings.Replace(s.Name, stack, "<stack>", 1)
	s.Labels[StackNamespaceLabel] = "<stack>"
	s.IPAM = nil // allocated by Swarm: each network gets its own subnet
	return s
}

// parityObjects lists a stack's secrets or configs by name (without the engine's version
// suffix), with their labels (without the engine's rotation labels) and, for configs, content.
func parityObjects(t *testing.T, cli *client.Client, kind ObjectKind, stack string) map[string]string {
	t.Helper()
	ctx := context.Background()
	f := filters.NewArgs(filters.Arg("label", StackNamespaceLabel+"="+stack))
	out := map[string]string{}
	add := func(name string, labels map[string]string, data []byte) {
		var keys []string
		for k, v := range labels {
			if !strings.HasPrefix(k, EngineLabelPrefix) && k != StackNamespaceLabel {
				keys = append(keys, k+"="+v)
			}
		}
		sort.Strings(keys)
		b, _ := json.Marshal(keys)
		out[versionSuffix.ReplaceAllString(strings.Replace(name, stack, "<stack>", 1), "")] = string(b) + " " + string(data)
	}
	if kind == KindSecret {
		list, err := cli.SecretList(ctx, swarm.SecretListOptions{Filters: f})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list {
			add(s.Spec.Name, s.Spec.Labels, nil)
		}
		return out
	}
	list, err := cli.ConfigList(ctx, swarm.ConfigListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		add(c.Spec.Name, c.Spec.Labels, c.Spec.Data)
	}
	return out
}
