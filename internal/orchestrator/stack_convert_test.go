package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
	"github.com/google/go-cmp/cmp"
)

// composeDir writes files (name → content) into a new directory and returns it.
func composeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// loadStack loads dir's docker-compose.yml (and the other files given) as stack "app".
func loadStack(t *testing.T, dir string, vars map[string]string, more ...string) (*Stack, error) {
	t.Helper()
	files := []string{filepath.Join(dir, "docker-compose.yml")}
	for _, m := range more {
		files = append(files, filepath.Join(dir, m))
	}
	c, err := LoadCompose(context.Background(), ComposeSource{Files: files, Variables: vars, HashKey: []byte("k")})
	if err != nil {
		return nil, err
	}
	return c.Stack("app")
}

// composeService converts a compose file whose service s is given by body (YAML under
// services.s) and top (top-level YAML), with the other files given.
func composeService(t *testing.T, body, top string, files map[string]string) (StackService, string) {
	t.Helper()
	st, dir := convertCompose(t, body, top, files)
	for _, s := range st.Services {
		if s.Key == "s" {
			return s, dir
		}
	}
	t.Fatal("no service s")
	return StackService{}, ""
}

// convertCompose converts a compose file whose service s is given by body (YAML under
// services.s) and top (top-level YAML), with the other files given, and returns it with its
// directory.
func convertCompose(t *testing.T, body, top string, files map[string]string) (*Stack, string) {
	t.Helper()
	all := map[string]string{"docker-compose.yml": "services:\n  s:\n" + indent(body, "    ") + "\n" + top}
	for k, v := range files {
		all[k] = v
	}
	dir := composeDir(t, all)
	st, err := loadStack(t, dir, map[string]string{"SET": "from-variable", "EMPTY_OVERRIDE": "variable-wins", "HOME": "/home/me"})
	if err != nil {
		t.Fatal(err)
	}
	return st, dir
}

func indent(s, by string) string {
	lines := strings.Split(strings.Trim(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = by + l
	}
	return strings.Join(lines, "\n")
}

// Each compose field the CLI converts, on its own: the part of the spec it sets.
func TestStackConvertService(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		top   string
		files map[string]string
		got   func(StackService) any
		want  any
	}{
		{"name and labels: <stack>_<key>, the stack's label, the image as written", "image: nginx:1.27\ndeploy: {labels: {tier: web}}", "", nil,
			func(s StackService) any { return s.Spec.Annotations },
			swarm.Annotations{Name: "app_s", Labels: map[string]string{"tier": "web", StackNamespaceLabel: "app", StackImageLabel: "nginx:1.27"}}},
		{"container labels carry the stack's label", "image: a\nlabels: [team=shop, flag]", "", nil,
			func(s StackService) any { return s.Spec.TaskTemplate.ContainerSpec.Labels },
			map[string]string{"team": "shop", "flag": "", StackNamespaceLabel: "app"}},
		{"entrypoint is the command, command the args (a string is split as a shell would)", "image: a\nentrypoint: /app\ncommand: serve --port \"80 80\"", "", nil,
			func(s StackService) any {
				return [][]string{s.Spec.TaskTemplate.ContainerSpec.Command, s.Spec.TaskTemplate.ContainerSpec.Args}
			},
			[][]string{{"/app"}, {"serve", "--port", "80 80"}}},
		{"environment: sorted; no value reads the variable, or stays bare; an empty value takes a variable of that name",
			"image: a\nenvironment: [B=2, A=1, SET, UNSET, EMPTY_OVERRIDE=, \"Q=\\\"x\\\"\"]", "", nil,
			func(s StackService) any { return s.Spec.TaskTemplate.ContainerSpec.Env },
			[]string{"A=1", "B=2", "EMPTY_OVERRIDE=variable-wins", `Q="x"`, "SET=from-variable", "UNSET"}},
		{"environment as a map", "image: a\nenvironment: {N: 1, T: true, NIL: null}", "", nil,
			func(s StackService) any { return s.Spec.TaskTemplate.ContainerSpec.Env },
			[]string{"N=1", "NIL", "T=true"}},
		{"env_file: read as the CLI reads it, environment wins over it, a later file over an earlier one",
			"image: a\nenv_file: [one.env, sub/two.env]\nenvironment: {BOTH: env}", "",
			map[string]string{"one.env": "A=\"quoted\"\nBOTH=file\nTWICE=one\n  # comment\n\nSET\nUNSET\n", "sub/two.env": "TWICE=two\nSP=  spaced  \n"},
			func(s StackService) any { return s.Spec.TaskTemplate.ContainerSpec.Env },
			[]string{`A="quoted"`, "BOTH=env", "SET=from-variable", "SP=  spaced  ", "TWICE=two"}},
		{"mode replicated with replicas", "image: a\ndeploy: {replicas: 3}", "", nil,
			func(s StackService) any { return s.Spec.Mode }, swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: pointer[uint64](3)}}},
		{"mode replicated without replicas leaves the count to Swarm", "image: a", "", nil,
			func(s StackService) any { return s.Spec.Mode }, swarm.ServiceMode{Replicated: &swarm.ReplicatedService{}}},
		{"mode global", "image: a\ndeploy: {mode: global}", "", nil,
			func(s StackService) any { return s.Spec.Mode }, swarm.ServiceMode{Global: &swarm.GlobalService{}}},
		{"mode replicated-job: replicas are the completions and the concurrency", "image: a\ndeploy: {mode: replicated-job, replicas: 4}", "", nil,
			func(s StackService) any { return s.Spec.Mode },
			swarm.ServiceMode{ReplicatedJob: &swarm.ReplicatedJob{MaxConcurrent: pointer[uint64](4), TotalCompletions: pointer[uint64](4)}}},
		{"mode global-job", "image: a\ndeploy: {mode: global-job}", "", nil,
			func(s StackService) any { return s.Spec.Mode }, swarm.ServiceMode{GlobalJob: &swarm.GlobalJob{}}},
		{"resources: CPUs read exactly, memory in binary units, pids, generic resources",
			"image: a\ndeploy:\n  resources:\n    limits: {cpus: '0.3', memory: 64M, pids: 50}\n    reservations:\n      cpus: '0.001'\n      memory: 1G\n      generic_resources: [{discrete_resource_spec: {kind: gpu, value: 2}}]", "", nil,
			func(s StackService) any { return s.Spec.TaskTemplate.Resources },
			&swarm.ResourceRequirements{Limits: &swarm.Limit{NanoCPUs: 300000000, MemoryBytes: 64 << 20, Pids: 50},
				Reservations: &swarm.Resources{NanoCPUs: 1000000, MemoryBytes: 1 << 30, GenericResources: []swarm.GenericResource{{DiscreteResourceSpec: &swarm.DiscreteGenericResource{Kind: "gpu", Value: 2}}}}}},
		{"no resources: an empty block, as the CLI sends", "image: a", "", nil,
			func(s StackService) any { return s.Spec.TaskTemplate.Resources }, &swarm.ResourceRequirements{}},
		{"restart_policy", "image: a\ndeploy: {restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3, window: 1m}}", "", nil,
			func(s StackService) any { return s.Spec.TaskTemplate.RestartPolicy },
			&swarm.RestartPolicy{Condition: "on-failure", Delay: pointer(5 * time.Second), MaxAttempts: pointer[uint64](3), Window: pointer(time.Minute)}},
		{"restart: always", "image: a\nrestart: always", "", nil,
			func(s StackService) any { return s.Spec.TaskTemplate.RestartPolicy }, &swarm.RestartPolicy{Condition: "any"}},
		{"restart: unless-stopped", "image: a\nrestart: unless-stopped", "", nil,
			func(s StackService) any { return s.Spec.TaskTemplate.RestartPolicy }, &swarm.RestartPolicy{Condition: "any"}},
		{"restart: on-failure with a count", "image: a\nrestart: on-failure:3", "", nil,
			func(s StackService) any { return s.Spec.TaskTemplate.RestartPolicy }, &swarm.RestartPolicy{Condition: "on-failure", MaxAttempts: pointer[uint64](3)}},
		{"restart: no leaves Swarm's default", "image: a\nrestart: \"no\"", "", nil,
			func(s StackService) any { return s.Spec.TaskTemplate.RestartPolicy }, (*swarm.RestartPolicy)(nil)},
		{"placement", "image: a\ndeploy:\n  placement:\n    constraints: [node.role==manager, node.labels.zone!=b]\n    preferences: [{spread: node.labels.zone}]\n    max_replicas_per_node: 2", "", nil,
			func(s StackService) any { return s.Spec.TaskTemplate.Placement },
			&swarm.Placement{Constraints: []string{"node.role==manager", "node.labels.zone!=b"}, MaxReplicas: 2,
				Preferences: []swarm.PlacementPreference{{Spread: &swarm.SpreadOver{SpreadDescriptor: "node.labels.zone"}}}}},
		{"update_config: every field", "image: a\ndeploy: {update_config: {parallelism: 0, delay: 2s, failure_action: rollback, monitor: 10s, max_failure_ratio: 0.25, order: start-first}}", "", nil,
			func(s StackService) any { return s.Spec.UpdateConfig },
			&swarm.UpdateConfig{Parallelism: 0, Delay: 2 * time.Second, FailureAction: "rollback", Monitor: 10 * time.Second, MaxFailureRatio: 0.25, Order: "start-first"}},
		{"rollback_config: parallelism 1 unless given", "image: a\ndeploy: {rollback_config: {failure_action: continue}}", "", nil,
			func(s StackService) any { return s.Spec.RollbackConfig }, &swarm.UpdateConfig{Parallelism: 1, FailureAction: "continue"}},
		{"no update_config: Swarm's defaults", "image: a", "", nil,
			func(s StackService) any { return s.Spec.UpdateConfig }, (*swarm.UpdateConfig)(nil)},
		{"endpoint mode, lower-cased", "image: a\ndeploy: {endpoint_mode: DNSRR}", "", nil,
			func(s StackService) any { return s.Spec.EndpointSpec.Mode }, swarm.ResolutionModeDNSRR},
		{"ports: short and long syntax, ranges expanded, sorted by published port",
			"image: a\nports:\n  - \"9000-9001:90/UDP\"\n  - \"8080:80\"\n  - \"70\"\n  - {target: 60, published: 6000, mode: host, protocol: tcp}\n  - {target: 50}", "", nil,
			func(s StackService) any { return s.Spec.EndpointSpec.Ports },
			[]swarm.PortConfig{
				{Protocol: "tcp", TargetPort: 70, PublishMode: "ingress"},
				{TargetPort: 50},
				{Protocol: "tcp", TargetPort: 60, PublishedPort: 6000, PublishMode: "host"},
				{Protocol: "tcp", TargetPort: 80, PublishedPort: 8080, PublishMode: "ingress"},
				{Protocol: "udp", TargetPort: 90, PublishedPort: 9000, PublishMode: "ingress"},
				{Protocol: "udp", TargetPort: 90, PublishedPort: 9001, PublishMode: "ingress"},
			}},
		{"networks: the default one when none is named, the service's key an alias", "image: a", "", nil,
			func(s StackService) any { return s.Spec.TaskTemplate.Networks },
			[]swarm.NetworkAttachmentConfig{{Target: "app_default", Aliases: []string{"s"}}}},
		{"networks: named ones, with aliases and driver options, sorted by name; no alias on host",
			"image: a\nnetworks:\n  zfront: {aliases: [www], driver_opts: {o: '1'}}\n  back:\n  outside:\n  hostnet:",
			"networks:\n  zfront:\n  back: {name: custom-back}\n  outside: {external: true}\n  hostnet: {external: true, name: host}", nil,
			func(s StackService) any { return s.Spec.TaskTemplate.Networks },
			[]swarm.NetworkAttachmentConfig{
				{Target: "app_zfront", Aliases: []string{"www", "s"}, DriverOpts: map[string]string{"o": "1"}},
				{Target: "custom-back", Aliases: []string{"s"}},
				{Target: "host"},
				{Target: "outside", Aliases: []string{"s"}},
			}},
		{"volumes: named (scoped, labelled, with its driver), external, anonymous, bind (relative to the first file, ~ from HOME), tmpfs",
			"image: a\nvolumes:\n  - data:/data:nocopy\n  - ext:/ext:ro\n  - /anon\n  - ./conf:/conf:ro\n  - ~/cache:/cache\n  - {type: bind, source: /var/run, target: /run/host, bind: {propagation: rslave}}\n  - {type: tmpfs, target: /tmp, tmpfs: {size: 1024}}",
			"volumes:\n  data: {driver: local, driver_opts: {type: nfs}, labels: {v: d}}\n  ext: {external: true, name: shared}", nil,
			func(s StackService) any { return s.Spec.TaskTemplate.ContainerSpec.Mounts },
			[]mount.Mount{
				{Type: "volume", Source: "app_data", Target: "/data", VolumeOptions: &mount.VolumeOptions{NoCopy: true, Labels: map[string]string{"v": "d", StackNamespaceLabel: "app"},
					DriverConfig: &mount.Driver{Name: "local", Options: map[string]string{"type": "nfs"}}}},
				{Type: "volume", Source: "shared", Target: "/ext", ReadOnly: true, VolumeOptions: &mount.VolumeOptions{}},
				{Type: "volume", Target: "/anon"},
				{Type: "bind", Source: "<dir>/conf", Target: "/conf", ReadOnly: true},
				{Type: "bind", Source: "/home/me/cache", Target: "/cache"},
				{Type: "bind", Source: "/var/run", Target: "/run/host", BindOptions: &mount.BindOptions{Propagation: "rslave"}},
				{Type: "tmpfs", Target: "/tmp", TmpfsOptions: &mount.TmpfsOptions{SizeBytes: 1024}},
			}},
		{"secrets: target, owner and mode, by name (the version of the content), sorted by the CLI's names",
			"image: a\nsecrets:\n  - zeta\n  - {source: alpha, target: pw, uid: '1', gid: '2', mode: 0400}\n  - outside",
			"secrets:\n  zeta: {file: ./zeta.txt}\n  alpha: {file: ./alpha.txt}\n  outside: {external: true, name: shared-secret}",
			map[string]string{"zeta.txt": "z", "alpha.txt": "a"},
			func(s StackService) any { return versionNames(s.Spec.TaskTemplate.ContainerSpec.Secrets) },
			[]string{"app_alpha_<hash> pw 1:2 0400", "app_zeta_<hash> zeta 0:0 0444", "shared-secret outside 0:0 0444"}},
		{"configs likewise", "image: a\nconfigs: [{source: conf, target: /etc/app.conf}]", "configs:\n  conf: {file: ./app.conf, template_driver: golang}",
			map[string]string{"app.conf": "port = {{ env \"PORT\" }}"},
			func(s StackService) any { return versionNames(s.Spec.TaskTemplate.ContainerSpec.Configs) },
			[]string{"app_conf_<hash> /etc/app.conf 0:0 0444"}},
		{"healthcheck: every field", "image: a\nhealthcheck: {test: [CMD, /app, health], interval: 5s, timeout: 2s, retries: 3, start_period: 30s, start_interval: 1s}", "", nil,
			func(s StackService) any { return s.Spec.TaskTemplate.ContainerSpec.Healthcheck },
			&container.HealthConfig{Test: []string{"CMD", "/app", "health"}, Interval: 5 * time.Second, Timeout: 2 * time.Second, Retries: 3, StartPeriod: 30 * time.Second, StartInterval: time.Second}},
		{"healthcheck: a string is a shell command", "image: a\nhealthcheck: {test: curl -f localhost}", "", nil,
			func(s StackService) any { return s.Spec.TaskTemplate.ContainerSpec.Healthcheck.Test }, []string{"CMD-SHELL", "curl -f localhost"}},
		{"healthcheck: disable turns the image's off", "image: a\nhealthcheck: {disable: true}", "", nil,
			func(s StackService) any { return s.Spec.TaskTemplate.ContainerSpec.Healthcheck }, &container.HealthConfig{Test: []string{"NONE"}}},
		{"process settings", "image: a\nhostname: '{{.Task.Slot}}'\nuser: '1000:1000'\nworking_dir: /srv\nread_only: true\ninit: true\nstop_signal: SIGINT\nstop_grace_period: 1m30s\ntty: true\nstdin_open: true\nisolation: process\noom_score_adj: 100", "", nil,
			func(s StackService) any {
				c := s.Spec.TaskTemplate.ContainerSpec
				return []any{c.Hostname, c.User, c.Dir, c.ReadOnly, *c.Init, c.StopSignal, *c.StopGracePeriod, c.TTY, c.OpenStdin, c.Isolation, c.OomScoreAdj}
			},
			[]any{"{{.Task.Slot}}", "1000:1000", "/srv", true, true, "SIGINT", 90 * time.Second, true, true, container.Isolation("process"), int64(100)}},
		{"capabilities: upper case with CAP_, an added one never dropped, sorted", "image: a\ncap_add: [net_admin, CAP_SYS_TIME]\ncap_drop: [MKNOD, NET_ADMIN]", "", nil,
			func(s StackService) any {
				return [][]string{s.Spec.TaskTemplate.ContainerSpec.CapabilityAdd, s.Spec.TaskTemplate.ContainerSpec.CapabilityDrop}
			},
			[][]string{{"CAP_NET_ADMIN", "CAP_SYS_TIME"}, {"CAP_MKNOD"}}},
		{"capabilities: ALL trumps the rest", "image: a\ncap_add: [ALL, NET_ADMIN]", "", nil,
			func(s StackService) any { return s.Spec.TaskTemplate.ContainerSpec.CapabilityAdd }, []string{"ALL"}},
		{"sysctls and ulimits (one number sets both limits), sorted", "image: a\nsysctls: [net.core.somaxconn=1024]\nulimits: {nproc: 512, nofile: {soft: 10, hard: 20}}", "", nil,
			func(s StackService) any {
				return []any{s.Spec.TaskTemplate.ContainerSpec.Sysctls, s.Spec.TaskTemplate.ContainerSpec.Ulimits}
			},
			[]any{map[string]string{"net.core.somaxconn": "1024"}, []*container.Ulimit{{Name: "nofile", Soft: 10, Hard: 20}, {Name: "nproc", Soft: 512, Hard: 512}}}},
		{"extra_hosts: ip host, in the file's order, either separator", "image: a\nextra_hosts: [zed:10.0.0.2, 'alpha=10.0.0.1', 'six:[::1]']", "", nil,
			func(s StackService) any { return s.Spec.TaskTemplate.ContainerSpec.Hosts }, []string{"10.0.0.2 zed", "10.0.0.1 alpha", "::1 six"}},
		{"extra_hosts as a map: by host name", "image: a\nextra_hosts: {zed: 10.0.0.2, alpha: 10.0.0.1}", "", nil,
			func(s StackService) any { return s.Spec.TaskTemplate.ContainerSpec.Hosts }, []string{"10.0.0.1 alpha", "10.0.0.2 zed"}},
		{"dns and dns_search", "image: a\ndns: 10.0.0.53\ndns_search: [corp.internal]", "", nil,
			func(s StackService) any { return s.Spec.TaskTemplate.ContainerSpec.DNSConfig },
			&swarm.DNSConfig{Nameservers: []string{"10.0.0.53"}, Search: []string{"corp.internal"}}},
		{"logging", "image: a\nlogging: {driver: json-file, options: {max-size: 1m, max-file: 3}}", "", nil,
			func(s StackService) any { return s.Spec.TaskTemplate.LogDriver },
			&swarm.Driver{Name: "json-file", Options: map[string]string{"max-size": "1m", "max-file": "3"}}},
		{"credential spec", "image: a\ncredential_spec: {file: spec.json}", "", nil,
			func(s StackService) any { return s.Spec.TaskTemplate.ContainerSpec.Privileges },
			&swarm.Privileges{CredentialSpec: &swarm.CredentialSpec{File: "spec.json"}}},
		{"no credential spec: empty privileges, as the CLI sends", "image: a", "", nil,
			func(s StackService) any { return s.Spec.TaskTemplate.ContainerSpec.Privileges }, &swarm.Privileges{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dir := composeService(t, tt.body, tt.top, tt.files)
			got := tt.got(s)
			if m, ok := got.([]mount.Mount); ok {
				for i := range m {
					m[i].Source = strings.Replace(m[i].Source, dir, "<dir>", 1)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// versionNames describes secret or config references: name (hash as <hash>), target, owner and
// mode.
func versionNames[R *swarm.SecretReference | *swarm.ConfigReference](refs []R) []string {
	var out []string
	for _, r := range refs {
		var id, name string
		var f swarm.SecretReferenceFileTarget
		switch r := any(r).(type) {
		case *swarm.SecretReference:
			id, name, f = r.SecretID, r.SecretName, *r.File
		case *swarm.ConfigReference:
			id, name, f = r.ConfigID, r.ConfigName, swarm.SecretReferenceFileTarget(*r.File)
		}
		desc := versionSuffix.ReplaceAllString(name, "_<hash>")
		if id != name {
			desc += " (ID " + id + ")"
		}
		out = append(out, fmt.Sprintf("%s %s %s:%s %04o", desc, f.Name, f.UID, f.GID, uint32(f.Mode)))
	}
	return out
}

func pointer[T any](v T) *T { return &v }

// What docker stack deploy refuses (and what the engine cannot make) is an error at the compose
// path of its cause.
func TestStackConvertErrors(t *testing.T) {
	tests := []struct {
		name      string
		body, top string
		files     map[string]string
		stack     string
		want      string // path: summary
	}{
		{"no image", "command: [x]", "", nil, "", "services.s.image: Missing Image"},
		{"invalid image", "image: 'UPPER:case'", "", nil, "", "services.s.image: Invalid Image"},
		{"replicas in global mode", "image: a\ndeploy: {mode: global, replicas: 2}", "", nil, "", "services.s.deploy.replicas: Replicas Not Allowed"},
		{"unknown mode", "image: a\ndeploy: {mode: daemonset}", "", nil, "", "services.s.deploy.mode: Invalid Mode"},
		{"CPUs too precise", "image: a\ndeploy: {resources: {limits: {cpus: '0.0000000001'}}}", "", nil, "", "services.s.deploy.resources.limits.cpus: Invalid CPUs"},
		{"unknown restart policy", "image: a\nrestart: sometimes", "", nil, "", "services.s.restart: Invalid Restart Policy"},
		{"a count on always", "image: a\nrestart: always:3", "", nil, "", "services.s.restart: Invalid Restart Policy"},
		{"healthcheck test and disable", "image: a\nhealthcheck: {test: [CMD, x], disable: true}", "", nil, "", "services.s.healthcheck.disable: Healthcheck Test and Disable"},
		{"undefined network", "image: a\nnetworks: [nowhere]", "", nil, "", "services.s.networks.nowhere: Undefined Network"},
		{"undefined secret", "image: a\nsecrets: [nothing]", "", nil, "", "services.s.secrets[0].source: Undefined Secret"},
		{"undefined config", "image: a\nconfigs: [{source: nothing}]", "", nil, "", "services.s.configs[0].source: Undefined Config"},
		{"undefined volume", "image: a\nvolumes: ['data:/data']", "", nil, "", "services.s.volumes[0].source: Undefined Volume"},
		{"tmpfs with a source", "image: a\nvolumes: [{type: tmpfs, source: x, target: /t}]", "", nil, "", "services.s.volumes[0].source: Source On Tmpfs Mount"},
		{"bind options on a volume", "image: a\nvolumes: [{type: volume, target: /t, bind: {propagation: shared}}]", "", nil, "", "services.s.volumes[0].bind: Mount Option Of Another Type"},
		{"npipe", "image: a\nvolumes: [{type: npipe, source: x, target: /t}]", "", nil, "", "services.s.volumes[0].type: Mount Type Not Supported"},
		{"credential spec file and registry", "image: a\ncredential_spec: {file: a, registry: b}", "", nil, "", "services.s.credential_spec: Invalid Credential Spec"},
		{"a non-default IPAM driver", "image: a\nnetworks: [n]", "networks:\n  n: {ipam: {driver: dhcp}}", nil, "", "networks.n.ipam.driver: IPAM Driver Not Supported Yet"},
		{"names Swarm refuses", "image: a", "", nil, strings.Repeat("x", 62), "networks.default: Invalid Network Name; services.s: Invalid Service Name"},
		{"a secret name too long with its version suffix", "image: a", "secrets:\n  s: {file: ./s.txt, name: " + strings.Repeat("x", 60) + "}", map[string]string{"s.txt": "x"}, "", "secrets.s.name: Invalid Secret Name"},
		{"a config template that does not parse", "image: a", "configs:\n  c: {file: ./c.tmpl, template_driver: golang}", map[string]string{"c.tmpl": "{{ .Broken"}, "", "configs.c.file: Invalid Config Template"},
		{"an invalid stack name", "image: a", "", nil, "my stack", ": Invalid Stack Name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all := map[string]string{"docker-compose.yml": "services:\n  s:\n" + indent(tt.body, "    ") + "\n" + tt.top}
			for k, v := range tt.files {
				all[k] = v
			}
			dir := composeDir(t, all)
			c, err := LoadCompose(context.Background(), ComposeSource{Files: []string{filepath.Join(dir, "docker-compose.yml")}})
			if err != nil {
				t.Fatal(err)
			}
			stack := "app"
			if tt.stack != "" {
				stack = tt.stack
			}
			_, err = c.Stack(stack)
			var ce *ComposeError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a ComposeError", err)
			}
			if got := problemsAt(ce.Problems); got != tt.want {
				t.Errorf("problems = %q, want %q", got, tt.want)
			}
		})
	}
}

// Networks, secrets and configs: named as the CLI names them, labelled with the stack; each
// version of a secret or config named after its content, the way swarm_secret's name_prefix
// names them; ReferTo points the services elsewhere (an adopted stack's fixed names).
func TestStackConvertObjects(t *testing.T) {
	st, _ := convertCompose(t, "image: a\nnetworks: [front, back, outside]\nsecrets: [pw, ext]\nconfigs: [conf]", `
networks:
  front: {attachable: true, driver_opts: {encrypted: ""}, labels: {n: f}}
  back: {name: custom, internal: true, driver: overlay, ipam: {driver: default, config: [{subnet: 10.9.0.0/24}]}}
  outside: {external: true}
  unused: {}
secrets:
  pw: {file: pw.txt, labels: {kind: db}}
  ext: {external: true, name: shared}
configs:
  conf: {file: app.conf, template_driver: golang}
  unused_conf: {file: app.conf}
`, map[string]string{"pw.txt": "hunter2", "app.conf": "x = 1\n"})
	wantNets := []StackNetwork{
		{"front", "networks.front", false, NetworkSpec{Name: "app_front", Driver: "overlay", Attachable: true, DriverOptions: map[string]string{"encrypted": ""}, Labels: map[string]string{"n": "f", StackNamespaceLabel: "app"}}},
		{"back", "networks.back", false, NetworkSpec{Name: "custom", Driver: "overlay", Internal: true, IPAM: []IPAMConfig{{Subnet: "10.9.0.0/24"}}, Labels: map[string]string{StackNamespaceLabel: "app"}}},
		{"outside", "networks.outside", true, NetworkSpec{Name: "outside"}},
	}
	if diff := cmp.Diff(wantNets, st.Networks); diff != "" {
		t.Errorf("networks (-want +got):\n%s", diff)
	}

	pw := st.Secrets[1]
	if pw.Key != "pw" || pw.Name != "app_pw" || pw.Prefix != "app_pw_" || pw.Hash != DataHash([]byte("k"), []byte("hunter2"), "", "") ||
		pw.VersionName() != "app_pw_"+pw.Hash[:10] || !cmp.Equal(pw.Labels, map[string]string{"kind": "db", StackNamespaceLabel: "app"}) {
		t.Errorf("secret: %+v", pw)
	}
	if spec := pw.ObjectSpec(); spec.Prefix != pw.Prefix || spec.Hash != pw.Hash || string(spec.Data) != "hunter2" || spec.Name != "" {
		t.Errorf("ObjectSpec: %+v", spec)
	}
	if ext := st.Secrets[0]; !ext.External || ext.Name != "shared" || ext.VersionName() != "shared" || ext.Hash != "" {
		t.Errorf("external secret: %+v", ext)
	}
	if len(st.Configs) != 2 {
		t.Fatalf("configs: %d, want both (the CLI makes unused ones too)", len(st.Configs))
	}
	if conf := st.Configs[0]; conf.Hash != DataHash(nil, []byte("x = 1\n"), "", "golang") || conf.TemplateDriver != "golang" {
		t.Errorf("config: %+v (the hash is swarm_config's: unkeyed, with the driver)", conf)
	}

	refs := func() []string {
		cs := st.Services[0].Spec.TaskTemplate.ContainerSpec
		return append(versionNames(cs.Secrets), versionNames(cs.Configs)...)
	}
	if got, want := refs(), []string{"app_pw_<hash> pw 0:0 0444", "shared ext 0:0 0444", "app_conf_<hash> conf 0:0 0444"}; !cmp.Equal(got, want) {
		t.Errorf("references = %q, want %q", got, want)
	}
	st.ReferTo(KindSecret, "pw", "app_pw")
	st.ReferTo(KindConfig, "conf", "app_conf")
	if got, want := refs(), []string{"app_pw pw 0:0 0444", "shared ext 0:0 0444", "app_conf conf 0:0 0444"}; !cmp.Equal(got, want) {
		t.Errorf("after ReferTo: %q, want %q", got, want)
	}
}
