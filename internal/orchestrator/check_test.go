package orchestrator

import (
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

func TestChecks(t *testing.T) {
	type tc struct {
		in   string
		want string // "" for valid
	}
	run := func(t *testing.T, name string, check func(string) error, cases []tc) {
		t.Helper()
		for _, c := range cases {
			err := check(c.in)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("%s(%q): %v, want valid", name, c.in, err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("%s(%q) = %v, want an error containing %q", name, c.in, err, c.want)
			}
		}
	}
	run(t, "CheckName", CheckName, []tc{
		{"web", ""}, {"web_api-2", ""}, {"a", ""}, {strings.Repeat("a", 63), ""},
		{"", "empty"}, {"a.b", "not a valid name"}, {"web-", "not a valid name"}, {"-web", "not a valid name"},
		{"we b", "not a valid name"}, {strings.Repeat("a", 64), "at most 63"},
	})
	run(t, "CheckSignal", CheckSignal, []tc{
		{"SIGTERM", ""}, {"term", ""}, {"SIGRTMIN+3", ""}, {"RTMAX-1", ""}, {"9", ""}, {"64", ""},
		{"", "not a signal"}, {"SIGNOPE", "not a signal"}, {"0", "not a signal"}, {"65", "not a signal"}, {"RTMIN-1", "not a signal"}, {"SIGRTMIN+16", "not a signal"},
	})
	run(t, "CheckCapability", CheckCapability, []tc{
		{"NET_ADMIN", ""}, {"CAP_NET_ADMIN", ""}, {"cap_sys_time", ""}, {"ALL", ""}, {"BPF", ""},
		{"NET_ADMN", "not a Linux capability"}, {"", "not a Linux capability"}, {"CAP_", "not a Linux capability"},
	})
	run(t, "CheckConstraint", CheckConstraint, []tc{
		{"node.role==manager", ""}, {"node.role != worker", ""}, {"node.labels.zone==a", ""}, {"engine.labels.os==linux", ""},
		{"node.ip==10.0.0.0/8", ""}, {"node.platform.arch==x86_64", ""}, {"NODE.Hostname==h1", ""},
		{"node.labels.zone=a", "not a constraint"}, {"node.zone==a", "knows no key"}, {"node.role==boss", "manager or worker"},
		{"==a", "not a constraint"}, {"node.id==", "not a constraint"}, {"a==b==c", "not a constraint"}, {"node.labels.==a", "knows no key"},
	})
	run(t, "CheckPreference", CheckPreference, []tc{
		{"spread=node.labels.zone", ""}, {"spread=node.id", ""},
		{"spread node.labels.zone", "not a preference"}, {"spread=", "not a preference"}, {"spread=zone", "not a preference"}, {"spread=node.ip", "not a preference"},
	})
	run(t, "CheckContainerPath", CheckContainerPath, []tc{{"/data", ""}, {"/", ""}, {"data", "not an absolute path"}, {"", "not an absolute path"}})
	run(t, "CheckEnvName", CheckEnvName, []tc{{"PATH", ""}, {"a.b", ""}, {"", "cannot be empty"}, {"A=B", `read the name as "A"`}, {"A\x00", "NUL"}})
	run(t, "CheckDuration", CheckDuration, []tc{{"30s", ""}, {"1m30s", ""}, {"0s", ""}, {"5 seconds", "not a duration"}, {"-1s", "negative"}})
	run(t, "ParseSize", func(s string) error { _, err := ParseSize(s); return err }, []tc{
		{"256MiB", ""}, {"512M", ""}, {"1", ""}, {"1.5GiB", ""}, {"lots", "not a size"}, {"1e30GiB", "too large"}, {"99999999999999999999GiB", "too large"},
	})
	run(t, "CheckMemory", func(s string) error { n, _ := ParseSize(s); return CheckMemory(n) }, []tc{{"4MiB", ""}, {"1GiB", ""}, {"4194303", "below Swarm's minimum"}, {"1", "below"}})
	// Swarm's templates: its functions (join, secret, config, env) and the task's fields.
	run(t, "CheckConfigTemplate", func(s string) error { return CheckConfigTemplate("golang", s) }, []tc{
		{"plain text, no template", ""}, {"{{ .Service.Name }}-{{ .Task.Slot }}", ""}, {`{{ secret "db" }}`, ""}, {`{{ config "c" }}`, ""},
		{`{{ env "HOME" }}`, ""}, {`{{ join "," "a" "b" }}`, ""}, {`{{ if .Node.Hostname }}x{{ end }}`, ""},
		{"{{ .Service.Name }", `unexpected "}" in operand`}, {"{{ if .X }}", "unexpected EOF"}, {`{{ secrets "db" }}`, `function "secrets" not defined`},
	})
	run(t, "CheckConfigTemplate without a driver", func(s string) error { return CheckConfigTemplate("", s) }, []tc{{"{{ .Service.Name }", ""}})
	for _, c := range []struct {
		kind ObjectKind
		size int
		want string
	}{
		{KindSecret, 1, ""}, {KindSecret, MaxSecretBytes - 1, ""}, {KindSecret, MaxSecretBytes, "fewer than 512000 bytes (500 KB)"}, {KindSecret, 0, "cannot be empty"},
		{KindConfig, MaxSecretBytes, ""}, {KindConfig, MaxConfigBytes - 1, ""}, {KindConfig, MaxConfigBytes, "fewer than 1024000 bytes (1000 KB)"}, {KindConfig, 0, "cannot be empty"},
	} {
		if err := CheckObjectData(c.kind, c.size); (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckObjectData(%s, %d) = %v, want %q", c.kind, c.size, err, c.want)
		}
	}

	for _, c := range []struct {
		cpus float64
		want string
	}{{0.5, ""}, {0.001, ""}, {64, ""}, {0, "above 0"}, {-1, "above 0"}, {math.NaN(), "above 0"}, {0.0005, "below Swarm's minimum"}, {1e30, "too large"}} {
		if err := CheckCPUs(c.cpus); (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckCPUs(%v) = %v, want %q", c.cpus, err, c.want)
		}
	}
	for _, c := range []struct {
		test []string
		want string
	}{
		{[]string{"CMD", "/app", "health"}, ""}, {[]string{"CMD-SHELL", "curl -f localhost"}, ""}, {[]string{"NONE"}, ""},
		{nil, "empty"}, {[]string{"/app", "health"}, `starts with "/app"`}, {[]string{"CMD"}, "needs the program"}, {[]string{"CMD-SHELL", "a", "b"}, "exactly one"},
		{[]string{"NONE", "x"}, "nothing after"}, {[]string{"cmd", "/app"}, `starts with "cmd"`},
	} {
		if err := CheckHealthcheckTest(c.test); (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckHealthcheckTest(%q) = %v, want %q", c.test, err, c.want)
		}
	}
	for _, c := range []struct {
		soft, hard int64
		ok         bool
	}{{1024, 2048, true}, {2048, 2048, true}, {-1, -1, true}, {100, -1, true}, {4096, 1024, false}, {-1, 1024, false}, {-5, 10, false}} {
		if err := CheckUlimit(c.soft, c.hard); (err == nil) != c.ok {
			t.Errorf("CheckUlimit(%d, %d) = %v, want ok=%v", c.soft, c.hard, err, c.ok)
		}
	}
}

// A registry config's secrets never reach an error.
func TestCheckRegistryConfigHidesSecrets(t *testing.T) {
	const secret = "s3cr3t-Token-Value"
	for _, content := range []string{
		`{"auths": ` + secret, `{"auths": {"r.example.com": {"auth": "` + secret + `"}}}`, `["` + secret + `"]`,
		`{"auths": {"other.example.com": {"username": "u", "password": "` + secret + `"}}}`, `{"auths": {"r.example.com": {"password": "` + secret + `"}}}`,
	} {
		err := CheckRegistryConfig(content, "r.example.com")
		if err == nil {
			t.Errorf("CheckRegistryConfig accepted %q", content)
			continue
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("the error quotes the secret: %v", err)
		}
	}
	if err := CheckRegistryConfig(`{"auths": {"https://r.example.com/v1/": {"auth": "dTpw"}}}`, "r.example.com"); err != nil {
		t.Errorf("a valid config: %v", err)
	}
}

// Fuzz tests: every parser of what a person writes either says what is wrong or gives a value
// that reads back exactly; none panics. CI runs each for a few seconds (make fuzz).

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"256MiB", "512M", "1", "1.5GiB", "1e30GiB", "0", "", "9223372036854775807", "8EiB", "-1K", "1kb", " 1 MiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
		if back, err := ParseSize(FormatSize(n)); err != nil || back != n {
			t.Fatalf("ParseSize(%q) = %d, spelled %q, read back as %d (%v)", s, n, FormatSize(n), back, err)
		}
	})
}

func FuzzCheckDuration(f *testing.F) {
	for _, s := range []string{"30s", "1m30s", "-1s", "5 seconds", "1.5h", "0", "9223372036s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckDuration(s) != nil {
			return
		}
		d, _ := time.ParseDuration(s)
		if back, err := time.ParseDuration(d.String()); err != nil || back != d || d < 0 {
			t.Fatalf("%q = %s reads back as %s (%v)", s, d, back, err)
		}
	})
}

func FuzzCheckCPUs(f *testing.F) {
	for _, v := range []float64{0.5, 0.001, 1e30, -1, 0, math.Inf(1), 1e-12} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, cpus float64) {
		if CheckCPUs(cpus) == nil && (cpus*1e9 < MinNanoCPUs || int64(math.Round(cpus*1e9)) <= 0) {
			t.Fatalf("CheckCPUs accepted %v", cpus)
		}
	})
}

func FuzzImageReference(f *testing.F) {
	for _, s := range []string{"nginx", "nginx:1.27", "docker.io/library/nginx:latest", "r:5000/a/b:v1@sha256:" + strings.Repeat("a", 64), "UPPER/x", "a@b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pinned := WithDigest(s, "sha256:"+strings.Repeat("b", 64))
		if StripDigest(pinned) != StripDigest(s) {
			t.Fatalf("pinning %q and stripping the digest gives %q", s, StripDigest(pinned))
		}
		if !HasDigest(pinned) {
			t.Fatalf("%q pinned has no digest: %q", s, pinned)
		}
		_ = SameImage(s, pinned)
		_ = ImageRegistry(s)
	})
}

func FuzzCheckConstraint(f *testing.F) {
	for _, s := range []string{"node.role==manager", "node.labels.zone != b", "node.labels.zone=a", "==", "node.ip==10.0.0.0/8", "a==b==c", "node.hostname==h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckConstraint(s) != nil {
			return
		}
		c, ok := parsePlacementConstraint(s)
		op := "=="
		if !c.equal {
			op = "!="
		}
		again, ok2 := parsePlacementConstraint(c.key + op + c.value)
		if !ok || !ok2 || again != c {
			t.Fatalf("%q parsed as %+v, which reads back as %+v", s, c, again)
		}
	})
}

func FuzzCheckPreference(f *testing.F) {
	for _, s := range []string{"spread=node.labels.zone", "spread=", "spread node.id", "spread=node.ip"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckPreference(s) == nil && !strings.HasPrefix(s, "spread=") {
			t.Fatalf("CheckPreference accepted %q", s)
		}
	})
}

func FuzzCheckSignal(f *testing.F) {
	for _, s := range []string{"SIGTERM", "term", "RTMIN+3", "9", "65", "SIGRTMIN+", "RTMAX-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { _ = CheckSignal(s) })
}

func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"* * * * *", "*/15 9-17 * * 1-5", "0 0 30 2 *", "5/20 * * * *", "0-59/30 0,12 1-31/2 1-12 *", "1-2-3 * * * *", "*/0 * * * *"} {
		f.Add(s)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Fatal(err)
	}
	at := time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCron(s)
		if err != nil {
			return
		}
		_ = c.ActiveAt(at, 3*time.Hour, berlin)
	})
}

func FuzzCheckPrometheusAddress(f *testing.F) {
	for _, s := range []string{"http://prometheus:9090", "https://p/prefix/", "p:9090", "http://u:pw@p", "http://p?x=1", "ftp://p", "http://%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := CheckPrometheusAddress(s)
		if err == nil {
			if _, _, qerr := prometheusQueryURL(s, "up"); qerr != nil {
				t.Fatalf("%q passed the check but cannot be queried: %v", s, qerr)
			}
			return
		}
		if u, perr := url.Parse(s); perr == nil && u.User != nil {
			if p, set := u.User.Password(); set && len(p) > 3 && strings.Contains(err.Error(), p) {
				t.Fatalf("the error for %q quotes the password: %v", s, err)
			}
		}
	})
}

func TestCheckReservations(t *testing.T) {
	const mib = 1 << 20
	req := func(limitCPU, limitMem, resCPU, resMem int64) *swarm.ResourceRequirements {
		return &swarm.ResourceRequirements{Limits: &swarm.Limit{NanoCPUs: limitCPU, MemoryBytes: limitMem}, Reservations: &swarm.Resources{NanoCPUs: resCPU, MemoryBytes: resMem}}
	}
	tests := []struct {
		name string
		in   *swarm.ResourceRequirements
		want []string // the paths of the problems, in order
	}{
		{"none", nil, nil},
		{"limits only", &swarm.ResourceRequirements{Limits: &swarm.Limit{NanoCPUs: 5e8, MemoryBytes: 64 * mib}}, nil},
		{"reservations only", &swarm.ResourceRequirements{Reservations: &swarm.Resources{NanoCPUs: 2e9, MemoryBytes: 128 * mib}}, nil},
		{"reservations equal to the limits", req(5e8, 64*mib, 5e8, 64*mib), nil},
		{"reservations below the limits", req(1e9, 128*mib, 5e8, 64*mib), nil},
		{"a limit left out (0) does not bound the reservation", req(0, 0, 2e9, 128*mib), nil},
		{"memory above", req(0, 64*mib, 0, 128*mib), []string{"resources.reservations.memory"}},
		{"cpu above", req(5e8, 0, 1e9, 0), []string{"resources.reservations.cpus"}},
		{"both above", req(5e8, 64*mib, 1e9, 65*mib), []string{"resources.reservations.memory", "resources.reservations.cpus"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range CheckReservations(tt.in) {
				got = append(got, p.Path)
				if p.Summary == "" || !strings.Contains(p.Detail, "is above the") || len(p.Reads) != 2 {
					t.Errorf("problem %+v: want a summary, a detail that says what is wrong, and both attributes read", p)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("problems at %v, want %v", got, tt.want)
			}
		})
	}
	p := CheckReservations(req(5e8, 64*mib, 1e9, 128*mib))
	if want := "the memory reservation (128MiB) is above the memory limit (64MiB)"; !strings.HasPrefix(p[0].Detail, want) {
		t.Errorf("detail %q, want it to start with %q", p[0].Detail, want)
	}
	if want := "the CPU reservation (1) is above the CPU limit (0.5)"; !strings.HasPrefix(p[1].Detail, want) {
		t.Errorf("detail %q, want it to start with %q", p[1].Detail, want)
	}
}
