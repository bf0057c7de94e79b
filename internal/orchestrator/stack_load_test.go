package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/swarm"
	"github.com/google/go-cmp/cmp"
)

// loadCompose loads the named files of dir.
func loadCompose(t *testing.T, dir string, vars map[string]string, files ...string) (*Compose, error) {
	t.Helper()
	var paths []string
	for _, f := range files {
		paths = append(paths, filepath.Join(dir, f))
	}
	return LoadCompose(context.Background(), ComposeSource{Files: paths, Variables: vars, HashKey: []byte("key")})
}

// composeProblems is the problems of a ComposeError as "path: summary", or the error.
func composeProblems(err error) string {
	var ce *ComposeError
	if errors.As(err, &ce) {
		return problemsAt(ce.Problems)
	}
	return fmt.Sprint(err)
}

// Two files merge as `docker stack deploy -c a.yml -c b.yml` merges them (each outcome below
// is what docker stack config, the CLI's merge, prints for the same files).
func TestLoadComposeMerge(t *testing.T) {
	dir := composeDir(t, map[string]string{
		"a.yml": `
services:
  api:
    image: a:1
    command: [x, y]
    read_only: true
    init: true
    environment: {A: "1", B: "2", FROM_FILE: base}
    labels: {l1: a}
    ports: ["8080:80", "9090:90"]
    cap_add: [NET_ADMIN]
    networks:
      front: {aliases: [one], driver_opts: {kept: "1"}}
    secrets: [s1, {source: s2, target: t2}]
    volumes: ["/data:/data", "v1:/v1"]
    deploy:
      replicas: 2
      placement: {constraints: [node.role==manager]}
      resources: {limits: {memory: 64M}}
      labels: {d: "1"}
    healthcheck: {test: [CMD, a], interval: 5s}
    logging: {driver: json-file, options: {max-size: 1m}}
    ulimits: {nofile: {soft: 10, hard: 20}}
networks:
  front: {attachable: true, labels: {x: "1"}}
secrets:
  s1: {file: ./s1.txt}
  s2: {file: ./s2.txt}
volumes:
  v1: {}
`,
		"b.yml": `
services:
  api:
    image: a:2
    command: [z]
    read_only: false
    init: false
    env_file: b.env
    environment: {B: "3", C: "4"}
    ports: ["8080:81", "7070:70"]
    cap_add: [SYS_TIME]
    networks:
      front: {aliases: [two], driver_opts: {dropped: "1"}}
    secrets: [{source: s1, target: t1}]
    volumes: ["/other:/data"]
    deploy:
      replicas: 0
      placement: {constraints: [node.labels.a==b]}
      resources: {limits: {cpus: "0.5"}}
    healthcheck: {test: [CMD, b]}
    logging: {options: {max-file: "3"}}
    ulimits: {nofile: 30}
  db:
    image: db
networks:
  front: {labels: {y: "2"}}
`,
		"b.env":  "FROM_FILE=b\n",
		"s1.txt": "one", "s2.txt": "two",
	})
	c, err := loadCompose(t, dir, nil, "a.yml", "b.yml")
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Stack("app")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Services) != 2 {
		t.Fatalf("services: %d, want api and db", len(st.Services))
	}
	api := st.Services[0].Spec
	front := st.Networks[1]
	if front.Key != "front" {
		t.Fatalf("networks: %+v", st.Networks)
	}
	cs := api.TaskTemplate.ContainerSpec
	got := map[string]any{
		"image":       cs.Image,
		"command":     cs.Args,
		"read_only":   cs.ReadOnly, // a later false does not override (the CLI's merge)
		"init":        *cs.Init,    // nor does this one
		"env":         cs.Env,      // b.yml's env_file beats a.yml's environment: resolved per file
		"labels":      cs.Labels,
		"ports":       api.EndpointSpec.Ports,
		"cap_add":     cs.CapabilityAdd,
		"networks":    api.TaskTemplate.Networks,
		"secrets":     versionNames(cs.Secrets),
		"mounts":      len(cs.Mounts),
		"bind":        cs.Mounts[0].Source,
		"replicas":    *api.Mode.Replicated.Replicas, // a count: a later 0 does override
		"constraints": api.TaskTemplate.Placement.Constraints,
		"limits":      *api.TaskTemplate.Resources.Limits,
		"health":      cs.Healthcheck.Test, // replaced: the CLI would append it
		"interval":    cs.Healthcheck.Interval.String(),
		"logging":     *api.TaskTemplate.LogDriver,
		"ulimits":     *cs.Ulimits[0],
		"deploy":      api.Labels["d"],
		"network":     front.Spec.Attachable, // replaced whole: attachable is gone
		"net_labels":  front.Spec.Labels,
	}
	want := map[string]any{
		"image": "a:2", "command": []string{"z"}, "read_only": true, "init": true,
		"env":         []string{"A=1", "B=3", "C=4", "FROM_FILE=b"},
		"labels":      map[string]string{"l1": "a", StackNamespaceLabel: "app"},
		"ports":       []swarm.PortConfig{{Protocol: "tcp", TargetPort: 70, PublishedPort: 7070, PublishMode: "ingress"}, {Protocol: "tcp", TargetPort: 81, PublishedPort: 8080, PublishMode: "ingress"}, {Protocol: "tcp", TargetPort: 90, PublishedPort: 9090, PublishMode: "ingress"}},
		"cap_add":     []string{"CAP_NET_ADMIN", "CAP_SYS_TIME"},
		"networks":    []swarm.NetworkAttachmentConfig{{Target: "app_front", Aliases: []string{"two", "api"}, DriverOpts: map[string]string{"kept": "1"}}},
		"secrets":     []string{"app_s1_<hash> t1 0:0 0444", "app_s2_<hash> t2 0:0 0444"},
		"mounts":      2,
		"bind":        "/other",
		"replicas":    uint64(0),
		"constraints": []string{"node.role==manager", "node.labels.a==b"},
		"limits":      swarm.Limit{NanoCPUs: 5e8, MemoryBytes: 64 << 20},
		"health":      []string{"CMD", "b"},
		"interval":    "5s",
		"logging":     swarm.Driver{Name: "json-file", Options: map[string]string{"max-size": "1m", "max-file": "3"}},
		"ulimits":     container.Ulimit{Name: "nofile", Soft: 30, Hard: 30},
		"deploy":      "1",
		"network":     false,
		"net_labels":  map[string]string{"y": "2", StackNamespaceLabel: "app"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged (-want +got):\n%s", diff)
	}
}

// Relative paths in every file start from the first file's directory, as with the CLI: an
// env_file, a secret's file and a bind mount's source given by a file elsewhere.
func TestLoadComposeRelativePaths(t *testing.T) {
	dir := composeDir(t, map[string]string{
		"stack/docker-compose.yml": "services:\n  api:\n    image: a\n",
		"stack/api.env":            "WHERE=stack\n",
		"stack/pw.txt":             "secret",
		"overrides/prod.yml":       "services:\n  api:\n    env_file: api.env\n    secrets: [pw]\n    volumes: ['./data:/data']\nsecrets:\n  pw: {file: pw.txt}\n",
		"overrides/api.env":        "WHERE=overrides\n",
	})
	c, err := loadCompose(t, dir, nil, "stack/docker-compose.yml", "overrides/prod.yml")
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Stack("app")
	if err != nil {
		t.Fatal(err)
	}
	cs := st.Services[0].Spec.TaskTemplate.ContainerSpec
	if want := []string{"WHERE=stack"}; !cmp.Equal(cs.Env, want) {
		t.Errorf("env = %q, want %q (from stack/api.env)", cs.Env, want)
	}
	if want := filepath.Join(dir, "stack/data"); cs.Mounts[0].Source != want {
		t.Errorf("bind source = %q, want %q", cs.Mounts[0].Source, want)
	}
	if want := filepath.Join(dir, "stack/pw.txt"); st.Secrets[0].File != want {
		t.Errorf("secret file = %q, want %q", st.Secrets[0].File, want)
	}
	if c.WorkingDir != filepath.Join(dir, "stack") {
		t.Errorf("WorkingDir = %q", c.WorkingDir)
	}
}

// Variables interpolate the files, as with the CLI (docker stack config gives the same values),
// plus compose-go's ${VAR:+alternative}, which the CLI refuses; the process environment is
// not read.
func TestLoadComposeInterpolation(t *testing.T) {
	t.Setenv("FROM_PROCESS", "leaked")
	dir := composeDir(t, map[string]string{"docker-compose.yml": `
services:
  api:
    image: ${IMAGE}
    environment:
      - DEFAULTED=${MISSING:-fallback}
      - SET_EMPTY=${EMPTY-unused}
      - ALT=${IMAGE:+has-image}
      - PROCESS=${FROM_PROCESS}
      - DOLLAR=$$HOME
      - FROM_PROCESS
    deploy:
      replicas: ${REPLICAS}
`})
	c, err := loadCompose(t, dir, map[string]string{"IMAGE": "nginx:1.27", "EMPTY": "", "REPLICAS": "3"}, "docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Stack("app")
	if err != nil {
		t.Fatal(err)
	}
	s := st.Services[0].Spec
	if got := s.TaskTemplate.ContainerSpec.Image; got != "nginx:1.27" {
		t.Errorf("image = %q", got)
	}
	if got := *s.Mode.Replicated.Replicas; got != 3 {
		t.Errorf("replicas = %d, want 3 (a string interpolated into a number)", got)
	}
	want := []string{"ALT=has-image", "DEFAULTED=fallback", "DOLLAR=$HOME", "FROM_PROCESS", "PROCESS=", "SET_EMPTY="}
	if got := s.TaskTemplate.ContainerSpec.Env; !cmp.Equal(got, want) {
		t.Errorf("env = %q, want %q", got, want)
	}
	// The one variable read without a value or a default is named in a warning.
	if got := problemsAt(st.Warnings); got != ": Variable Not Set" || !strings.Contains(st.Warnings[0].Detail, "${FROM_PROCESS}") {
		t.Errorf("warnings: %s (%v), want one Variable Not Set for FROM_PROCESS", got, st.Warnings)
	}

	dir = composeDir(t, map[string]string{"docker-compose.yml": "services:\n  api:\n    image: ${IMAGE:?give the image}\n"})
	_, err = loadCompose(t, dir, nil, "docker-compose.yml")
	if err == nil || !strings.Contains(err.Error(), "give the image") {
		t.Errorf("a required variable missing: %v", err)
	}
}

// Env files are read as the CLI reads them; a broken one is an error that names the line, never
// its content.
func TestParseEnvFile(t *testing.T) {
	vars := map[string]string{"FROM_VAR": "v"}
	tests := []struct {
		name, content string
		want          []string
		err           string
	}{
		{"values as written", "A=1\nB=\"two\"\nC=  three  \nD=x=y\nE=\n", []string{"A=1", `B="two"`, "C=  three  ", "D=x=y", "E="}, ""},
		{"comments, blank lines, leading space, CRLF, a BOM", "\ufeff# c\n\n   F=1\r\n\t# indented comment\n", []string{"F=1"}, ""},
		{"a name alone reads the variable, or is left out", "FROM_VAR\nNOT_SET\n", []string{"FROM_VAR=v"}, ""},
		{"export is not understood", "export PASSWORD=hunter2\n", nil, "line 1: the variable name contains white space"},
		{"no name", "X=1\n=hunter2\n", nil, "line 2 has no variable name"},
		{"not UTF-8", "OK=1\nP=\xff\xfe\n", nil, "line 2 is not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines, err := parseEnvFile([]byte(tt.content), vars)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("err = %v, want %q and no content", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range lines {
				got = append(got, l.name+"="+*l.value)
			}
			if !cmp.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// The keys docker stack deploy ignores are warnings, those it refuses errors, each at its
// compose path; x- extensions are accepted where the CLI accepts them.
func TestLoadComposeKeys(t *testing.T) {
	tests := []struct {
		name       string
		files      map[string]string
		load       []string
		errs, warn string
	}{
		{"ignored keys, said once across files",
			map[string]string{"a.yml": "services:\n  api:\n    image: a\n    build: .\n    depends_on: [db]\n    container_name: x\n    privileged: true\n    networks:\n      n: {ipv4_address: 10.0.0.9}\n  db:\n    image: b\n    tmpfs: /run\nnetworks:\n  n:\n",
				"b.yml": "services:\n  api:\n    build: ./other\n"},
			[]string{"a.yml", "b.yml"}, "",
			"services.api.build: Compose Key Ignored; services.api.container_name: Compose Key Ignored; services.api.depends_on: Compose Key Ignored; services.api.networks.n.ipv4_address: Compose Key Ignored; services.api.privileged: Compose Key Ignored; services.db.tmpfs: Compose Key Ignored"},
		{"keys the CLI's format lacks",
			map[string]string{"a.yml": "name: proj\nservices:\n  api:\n    image: a\n    name: api\n    pull_policy: always\n    deploy: {x-meta: 1, resources: {limits: {devices: []}}}\n    ports: [{target: 80, host_ip: 127.0.0.1}]\n    env_file: [{path: a.env, required: false}]\n"},
			[]string{"a.yml"}, "name: Key Not Supported by docker stack deploy; services.api.deploy.resources.limits.devices: Key Not Supported by docker stack deploy; services.api.deploy.x-meta: Key Not Supported by docker stack deploy; " +
				"services.api.env_file[0].path: Key Not Supported by docker stack deploy; services.api.env_file[0].required: Key Not Supported by docker stack deploy; services.api.name: Key Not Supported by docker stack deploy; " +
				"services.api.ports[0].host_ip: Key Not Supported by docker stack deploy; services.api.pull_policy: Key Not Supported by docker stack deploy", ""},
		{"keys the CLI forbids",
			map[string]string{"a.yml": "services:\n  api:\n    image: a\n    extends: {service: base}\n    mem_limit: 64m\n    volumes_from: [db]\n"},
			[]string{"a.yml"}, "services.api.extends: Key Refused by docker stack deploy; services.api.mem_limit: Key Refused by docker stack deploy; services.api.volumes_from: Key Refused by docker stack deploy", ""},
		{"keys the engine does not support yet",
			map[string]string{"a.yml": "services:\n  api:\n    image: a\nsecrets:\n  s: {driver: vault, template_driver: golang}\n"},
			[]string{"a.yml"}, "secrets.s.driver: Compose Key Not Supported Yet; secrets.s.template_driver: Compose Key Not Supported Yet", ""},
		{"a key newer than the file's version",
			map[string]string{"a.yml": "version: '3.8'\nservices:\n  api:\n    image: a\n    oom_score_adj: 5\n    deploy: {resources: {limits: {pids: 10}}}\n"},
			[]string{"a.yml"}, "services.api.deploy.resources.limits.pids: Key Not In This Compose File Version; services.api.oom_score_adj: Key Not In This Compose File Version", ""},
		{"x- keys at the top before 3.4",
			map[string]string{"a.yml": "version: '3.3'\nx-common: &c {image: a}\nservices:\n  api: {image: a}\n"},
			[]string{"a.yml"}, "x-common: Key Not In This Compose File Version", ""},
		{"format 2 refused",
			map[string]string{"a.yml": "version: '2.4'\nservices:\n  api: {image: a}\n"},
			[]string{"a.yml"}, "version: Unsupported Compose File Version", ""},
		{"versions that differ",
			map[string]string{"a.yml": "version: '3.8'\nservices:\n  api: {image: a}\n", "b.yml": "services:\n  api: {init: true}\n"},
			[]string{"a.yml", "b.yml"}, "version: Compose File Versions Differ", ""},
		{"what the parser warns of, as warnings",
			map[string]string{"a.yml": "services:\n  api:\n    image: a\n    read_only: yes\n"},
			[]string{"a.yml"}, "", ": Compose File Warning"},
		{"extensions and anchors where the CLI takes them",
			map[string]string{"a.yml": "version: '3.13'\nx-defaults: &defaults\n  image: a\n  x-note: fine\nservices:\n  api:\n    <<: *defaults\n    labels: {x-not-a-key: kept}\nnetworks:\n  n: {x-owner: me}\n"},
			[]string{"a.yml"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := composeDir(t, tt.files)
			c, err := loadCompose(t, dir, nil, tt.load...)
			if got := composeProblems(err); tt.errs != "" && got != tt.errs {
				t.Errorf("errors = %q\nwant     %q", got, tt.errs)
			}
			if tt.errs == "" && err != nil {
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				return
			}
			if got := problemsAt(c.Warnings); got != tt.warn {
				t.Errorf("warnings = %q\nwant       %q", got, tt.warn)
			}
			if _, err := c.Stack("app"); tt.errs == "" && err != nil {
				t.Errorf("convert: %v", err)
			}
		})
	}
}

// Every file read is listed once with its keyed hash; a secret's content reaches no error, and
// the content a stack holds does not print.
func TestLoadComposeFiles(t *testing.T) {
	const password = "correct-horse-battery"
	dir := composeDir(t, map[string]string{
		"docker-compose.yml": "services:\n  api:\n    image: a\n    env_file: [api.env, api.env]\n    secrets: [pw]\n    configs: [conf]\n  worker:\n    image: a\n    env_file: api.env\nsecrets:\n  pw: {file: pw.txt}\n  outside: {external: true}\nconfigs:\n  conf: {file: conf.ini}\n",
		"api.env":            "A=1\n",
		"pw.txt":             password,
		"conf.ini":           "[x]\n",
	})
	c, err := loadCompose(t, dir, nil, "docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range c.Files {
		data, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		if f.Hash != DataHash([]byte("key"), data) {
			t.Errorf("%s: hash %s is not the keyed hash of its content", f.Path, f.Hash)
		}
		got = append(got, string(f.Kind)+" "+filepath.Base(f.Path))
	}
	if want := []string{"compose docker-compose.yml", "env_file api.env", "secret pw.txt", "config conf.ini"}; !cmp.Equal(got, want) {
		t.Errorf("files = %q, want %q", got, want)
	}
	other, err := LoadCompose(context.Background(), ComposeSource{Files: []string{filepath.Join(dir, "docker-compose.yml")}, HashKey: []byte("other key")})
	if err != nil {
		t.Fatal(err)
	}
	if other.Files[2].Hash == c.Files[2].Hash {
		t.Error("the hash of the secret file does not depend on the key")
	}

	st, err := c.Stack("app")
	if err != nil {
		t.Fatal(err)
	}
	// Printed any way, the content shows in no spelling: as text, hex, or a list of bytes.
	var decimal, goHex []string
	for _, b := range []byte(password) {
		decimal, goHex = append(decimal, fmt.Sprint(b)), append(goHex, fmt.Sprintf("%#x", b))
	}
	spellings := []string{password, fmt.Sprintf("%x", password), strings.Join(decimal, " "), strings.Join(goHex, ", ")}
	for _, printed := range []string{fmt.Sprintf("%v %+v %#v", st, st.Secrets, st.Secrets[1]), fmt.Sprintf("%v %+v %#v", c, c, c), fmt.Sprintf("%v %+v %#v", *c, *st, st.Secrets[1].data)} {
		for _, s := range spellings {
			if strings.Contains(printed, s) {
				t.Fatalf("the secret's content prints (as %q): %s", s, printed)
			}
		}
	}
	if got := string(st.Secrets[1].ObjectSpec().Data); got != password {
		t.Errorf("ObjectSpec().Data = %d bytes, not the file's", len(got))
	}
	if !st.Secrets[0].External || st.Secrets[0].VersionName() != "outside" {
		t.Errorf("external secret: %+v", st.Secrets[0])
	}

	// A secret Swarm would refuse: its size only, never its content.
	big := strings.Repeat(password, MaxSecretBytes/len(password)+1)
	if err := os.WriteFile(filepath.Join(dir, "pw.txt"), []byte(big), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = loadCompose(t, dir, nil, "docker-compose.yml")
	if got := composeProblems(err); got != "secrets.pw.file: Invalid Secret Content" || strings.Contains(err.Error(), password) {
		t.Errorf("an oversized secret: %v", err)
	}
	if err := os.Remove(filepath.Join(dir, "pw.txt")); err != nil {
		t.Fatal(err)
	}
	_, err = loadCompose(t, dir, nil, "docker-compose.yml")
	if got := composeProblems(err); got != "secrets.pw.file: Cannot Read Secret File" {
		t.Errorf("a missing secret file: %v", err)
	}
}

// Loading and converting a stack of 50 services (issue #19: a plan of an unchanged 50-service
// stack within 2 s): what the files cost before any call to Docker.
func BenchmarkLoadCompose50(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("services:\n")
	for i := range 50 {
		fmt.Fprintf(&sb, "  svc%02d:\n    image: app:%d\n    env_file: common.env\n    environment: {INDEX: \"%d\"}\n    ports: [\"%d:80\"]\n    networks: [front, back]\n    secrets: [pw]\n"+
			"    healthcheck: {test: [CMD, /app, health], interval: 5s}\n    deploy:\n      replicas: 2\n      resources: {limits: {cpus: '0.5', memory: 64M}}\n      update_config: {parallelism: 1, order: start-first}\n", i, i, i, 8000+i)
	}
	sb.WriteString("networks:\n  front:\n  back: {internal: true}\nsecrets:\n  pw: {file: pw.txt}\n")
	dir := b.TempDir()
	for name, content := range map[string]string{"docker-compose.yml": sb.String(), "common.env": "A=1\nB=2\n", "pw.txt": "secret"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		c, err := LoadCompose(context.Background(), ComposeSource{Files: []string{filepath.Join(dir, "docker-compose.yml")}, HashKey: []byte("k")})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Stack("app"); err != nil {
			b.Fatal(err)
		}
	}
}
