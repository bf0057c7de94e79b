package orchestrator

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A problem the service rules report at a swarm_service attribute path is reported at the
// compose path its value came from, through the spec's sorting and renaming.
func TestStackComposePath(t *testing.T) {
	st, _ := convertCompose(t, `
image: a
env_file: api.env
environment: {SET_HERE: "1"}
labels: {team: shop}
ports: ["9090:90", "8080:80"]
volumes:
  - /host:/b
  - data:/a
  - {type: tmpfs, target: /t, tmpfs: {size: 1024}}
secrets: [zeta, {source: alpha, target: pw}]
networks:
  front: {aliases: [www]}
healthcheck: {test: [CMD, x], interval: 5s}
restart: on-failure:3
ulimits: {nofile: {soft: 1, hard: 2}}
dns_search: [corp]
deploy:
  labels: {tier: web}
  resources: {limits: {memory: 4M}}
  placement: {constraints: [node.role==manager], preferences: [{spread: node.labels.zone}]}
  update_config: {monitor: 5s}
  rollback_config: {order: start-first}
`, `
networks:
  front:
volumes:
  data: {driver: local}
secrets:
  zeta: {file: z.txt}
  alpha: {file: a.txt}
`, map[string]string{"api.env": "FROM_FILE=1\n", "z.txt": "z", "a.txt": "a"})
	s := st.Services[0]
	tests := []struct{ attr, want string }{
		{"", "services.s"},
		{"name", "services.s"},
		{"image", "services.s.image"},
		{"command", "services.s.entrypoint"},
		{"args", "services.s.command"},
		{"resources.limits.memory", "services.s.deploy.resources.limits.memory"},
		{"resources.reservations.cpus", "services.s.deploy.resources.reservations.cpus"},
		{"pids_limit", "services.s.deploy.resources.limits.pids"},
		// ports sorted by published port: the spec's first is the file's second
		{"ports[0].published", "services.s.ports[1].published"},
		{"ports[1].mode", "services.s.ports[0].mode"},
		// mounts in the files' order, renamed from volumes; a named volume's driver is the top-level volume's
		{"mounts[1].target", "services.s.volumes[1].target"},
		{"mounts[2].tmpfs_size", "services.s.volumes[2].tmpfs.size"},
		{"mounts[1].driver", "volumes.data.driver"},
		{"mounts[1].driver_options", "volumes.data.driver_opts"},
		{"mounts[0].propagation", "services.s.volumes[0].bind.propagation"},
		// secrets sorted by name: alpha first, the file's second
		{"secrets[0].file_name", "services.s.secrets[1].target"},
		{"secrets[0].id", "services.s.secrets[1].source"},
		{"secrets[1].mode", "services.s.secrets[0].mode"},
		{"networks[0].aliases", "services.s.networks.front.aliases"},
		{"networks[0].id", "services.s.networks.front"},
		{"healthcheck.interval", "services.s.healthcheck.interval"},
		{"healthcheck.test", "services.s.healthcheck.test"},
		{`env["SET_HERE"]`, "services.s.environment.SET_HERE"},
		{`env["FROM_FILE"]`, "services.s.env_file[0]"},
		{`labels["tier"]`, "services.s.deploy.labels.tier"},
		{`container_labels["team"]`, "services.s.labels.team"},
		{`ulimits["nofile"].soft`, "services.s.ulimits.nofile.soft"},
		{"restart_policy.max_attempts", "services.s.restart"},
		{"rolling_update.monitor", "services.s.deploy.update_config.monitor"},
		{"rollback.order", "services.s.deploy.rollback_config.order"},
		{"placement.constraints", "services.s.deploy.placement.constraints"},
		{"placement.preferences[0]", "services.s.deploy.placement.preferences[0]"},
		{"dns_config.search", "services.s.dns_search"},
		{"workdir", "services.s.working_dir"},
		{"log_driver.name", "services.s.logging.driver"},
		{"replicas", "services.s.deploy.replicas"},
		{"mode", "services.s.deploy.mode"},
		{"endpoint_mode", "services.s.deploy.endpoint_mode"},
		// attributes with no counterpart in the files: the service
		{"wait.converge", "services.s"},
		{"force_update", "services.s"},
	}
	for _, tt := range tests {
		if got := s.ComposePath(tt.attr); got != tt.want {
			t.Errorf("ComposePath(%q) = %q, want %q", tt.attr, got, tt.want)
		}
	}

	// The implicit default network has no place in the files but the service's.
	st2, _ := convertCompose(t, "image: a\nrestart: always\ndeploy: {restart_policy: {delay: 1s}}", "", nil)
	for attr, want := range map[string]string{"networks[0].id": "services.s", "networks[0].aliases": "services.s", "restart_policy.delay": "services.s.deploy.restart_policy.delay"} {
		if got := st2.Services[0].ComposePath(attr); got != want {
			t.Errorf("ComposePath(%q) = %q, want %q", attr, got, want)
		}
	}
}

// The engine's own rules, run on a converted spec, report in compose terms.
func TestStackComposeProblems(t *testing.T) {
	st, _ := convertCompose(t, "image: a\ndeploy:\n  resources:\n    limits: {memory: 8M}\n    reservations: {memory: 16M}", "", nil)
	s := st.Services[0]
	got := s.ComposeProblems(CheckReservations(s.Spec.TaskTemplate.Resources))
	want := []FieldProblem{{Path: "services.s.deploy.resources.reservations.memory", Reads: []string{"services.s.deploy.resources.reservations.memory", "services.s.deploy.resources.limits.memory"}}}
	if len(got) != 1 || !cmp.Equal(got[0].Path, want[0].Path) || !cmp.Equal(got[0].Reads, want[0].Reads) || got[0].Summary != "Reservation Above Limit" {
		t.Errorf("ComposeProblems = %+v, want at %+v", got, want)
	}

	nst, _ := convertCompose(t, "image: a\nnetworks: [back]", "networks:\n  back: {ipam: {config: [{subnet: 10.0.0.0/31}]}}", nil)
	var back StackNetwork
	for _, n := range nst.Networks {
		if n.Key == "back" {
			back = n
		}
	}
	problems := CheckNetwork(back.Spec)
	if len(problems) != 1 || back.ComposePath(problems[0].Path) != "networks.back.ipam.config[0].subnet" {
		t.Errorf("CheckNetwork: %v, at %q", problemsAt(problems), back.ComposePath(problems[0].Path))
	}
	for attr, want := range map[string]string{"driver": "networks.back.driver", "driver_options": "networks.back.driver_opts", "encrypted": "networks.back.driver_opts.encrypted", "": "networks.back"} {
		if got := back.ComposePath(attr); got != want {
			t.Errorf("network ComposePath(%q) = %q, want %q", attr, got, want)
		}
	}
}
