package orchestrator

// Checks of the values a service spec takes from a person: each says what is wrong in words
// that name what is allowed, or returns nil. They are the rules Swarm (or the container
// runtime) would apply later, at apply time or when a task starts, brought forward so that a
// plan can refuse bad input; and a few more where Swarm accepts something that cannot work
// (a healthcheck whose first word no runtime knows sits in "starting" until the timeout).

import (
	"errors"
	"fmt"
	"math"
	"path"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/docker/docker/api/types/swarm"
	units "github.com/docker/go-units"
)

// Limits the engine applies to what a spec may ask for.
const (
	// MinMemoryBytes is Swarm's smallest memory limit or reservation.
	MinMemoryBytes = 4 << 20
	// MinNanoCPUs is Swarm's smallest CPU limit or reservation (0.001 CPUs).
	MinNanoCPUs = 1e6
	// MaxReplicas bounds a replica count, as Kubernetes does (a 32-bit count): a typo of a few
	// digits must not ask Swarm for billions of tasks.
	MaxReplicas = math.MaxInt32
)

// serviceName is Swarm's rule for service (and network, secret, config) names: a DNS name
// component, letters and digits joined by '-' or '_', at most 63 characters.
var serviceName = regexp.MustCompile(`^[a-zA-Z0-9](?:[-_]*[a-zA-Z0-9]+)*$`)

// CheckName checks a service name as Swarm will.
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("the name is empty")
	case len(name) > 63:
		return fmt.Errorf("%q is %d characters long; Swarm allows at most 63", name, len(name))
	case !serviceName.MatchString(name):
		return fmt.Errorf("%q is not a valid name: use letters and digits, joined by '-' or '_', starting and ending with a letter or digit (no '.', Swarm uses names in DNS)", name)
	}
	return nil
}

// ParseSize reads a memory size such as "256MiB" or "512M" (units are binary: 1M = 1MiB).
// Unlike the Docker CLI's parser it refuses sizes that do not fit in 63 bits rather than
// wrapping them around.
func ParseSize(s string) (int64, error) {
	n, err := units.RAMInBytes(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size; use a number of bytes with an optional unit such as \"256MiB\", \"512M\" or \"1GiB\" (units are binary: 1M = 1MiB)", s)
	}
	if n < 0 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n, nil
}

// FormatSize spells a byte count with the largest binary unit that divides it ("64MiB").
func FormatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d%s", n/u.size, u.suffix)
		}
	}
	return fmt.Sprintf("%dB", n)
}

// CheckMemory checks a memory limit or reservation against Swarm's minimum.
func CheckMemory(n int64) error {
	if n < MinMemoryBytes {
		return fmt.Errorf("%s is below Swarm's minimum of 4MiB", FormatSize(n))
	}
	return nil
}

// CheckCPUs checks a CPU limit or reservation in CPUs ("0.5" is half a core).
func CheckCPUs(cpus float64) error {
	switch {
	case math.IsNaN(cpus) || cpus <= 0:
		return fmt.Errorf("%v CPUs: the amount must be above 0", cpus)
	case cpus*1e9 < MinNanoCPUs:
		return fmt.Errorf("%v CPUs is below Swarm's minimum of 0.001", cpus)
	case cpus*1e9 >= math.MaxInt64:
		return fmt.Errorf("%v CPUs is too large", cpus)
	}
	return nil
}

// CheckReservations checks a task's reservations against its limits, at the attributes of
// swarm_service's resources block; zero is not set. Swarm takes a reservation above the limit
// (checked on Docker 20.10 for both CPU and memory): the scheduler sets the reservation aside
// on a node for the task, and the container is capped at the limit, so the difference is held
// for nothing, and a task that counts on its reserved memory is killed at the limit.
func CheckReservations(r *swarm.ResourceRequirements) []FieldProblem {
	if r == nil || r.Limits == nil || r.Reservations == nil {
		return nil
	}
	var out []FieldProblem
	l, res := r.Limits, r.Reservations
	if l.MemoryBytes > 0 && res.MemoryBytes > l.MemoryBytes {
		out = append(out, problem("resources.reservations.memory", "Reservation Above Limit",
			fmt.Sprintf("the memory reservation (%s) is above the memory limit (%s): Swarm would set %s aside on a node for each task, while its container is killed when it uses more than %s. "+
				"Lower the reservation to the limit or less, or raise the limit.", FormatSize(res.MemoryBytes), FormatSize(l.MemoryBytes), FormatSize(res.MemoryBytes), FormatSize(l.MemoryBytes)),
			"resources.limits.memory"))
	}
	if l.NanoCPUs > 0 && res.NanoCPUs > l.NanoCPUs {
		out = append(out, problem("resources.reservations.cpus", "Reservation Above Limit",
			fmt.Sprintf("the CPU reservation (%s) is above the CPU limit (%s): Swarm would set %s CPUs aside on a node for each task, while its container may use at most %s, so the rest is held for nothing. "+
				"Lower the reservation to the limit or less, or raise the limit.", cpusText(res.NanoCPUs), cpusText(l.NanoCPUs), cpusText(res.NanoCPUs), cpusText(l.NanoCPUs)),
			"resources.limits.cpus"))
	}
	return out
}

// cpusText spells nano-CPUs as CPUs ("0.5").
func cpusText(nano int64) string {
	return strconv.FormatFloat(float64(nano)/1e9, 'f', -1, 64)
}

// CheckDuration checks a duration such as "30s" or "1m30s".
func CheckDuration(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration; use a Go duration such as \"30s\", \"1m30s\" or \"500ms\"", s)
	}
	if d < 0 {
		return fmt.Errorf("%q is negative; durations must be zero or more", s)
	}
	return nil
}

// linuxSignals are the signals a stop_signal may name (without the SIG prefix).
var linuxSignals = map[string]int{
	"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "BUS": 7, "FPE": 8, "KILL": 9,
	"USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15, "STKFLT": 16, "CHLD": 17,
	"CLD": 17, "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23, "XCPU": 24,
	"XFSZ": 25, "VTALRM": 26, "PROF": 27, "WINCH": 28, "IO": 29, "POLL": 29, "PWR": 30, "SYS": 31,
}

// CheckSignal checks a signal as the Docker engine reads it: a name with or without "SIG"
// ("SIGTERM", "TERM"), "RTMIN+n"/"RTMAX-n", or a number from 1 to 64.
func CheckSignal(s string) error {
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if _, ok := linuxSignals[name]; ok {
		return nil
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 1 && n <= 64 {
		return nil
	}
	for _, base := range []string{"RTMIN", "RTMAX"} {
		if rest, ok := strings.CutPrefix(name, base); ok {
			if rest == "" {
				return nil
			}
			if n, err := strconv.Atoi(rest[1:]); err == nil && (rest[0] == '+' || rest[0] == '-') && n >= 1 && n <= 15 && (rest[0] == '+') == (base == "RTMIN") {
				return nil
			}
		}
	}
	return fmt.Errorf("%q is not a signal; use a name such as \"SIGTERM\", \"SIGINT\" or \"SIGQUIT\", or a number from 1 to 64", s)
}

// linuxCapabilities are the Linux capabilities, without "CAP_".
var linuxCapabilities = map[string]bool{}

func init() {
	for _, c := range strings.Fields(`CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP
		LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO
		SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD
		LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ
		PERFMON BPF CHECKPOINT_RESTORE`) {
		linuxCapabilities[c] = true
	}
}

// CheckCapability checks a Linux capability name, with or without "CAP_" ("NET_ADMIN",
// "CAP_NET_ADMIN"), or "ALL".
func CheckCapability(c string) error {
	name := strings.TrimPrefix(strings.ToUpper(c), "CAP_")
	if name == "ALL" || linuxCapabilities[name] {
		return nil
	}
	return fmt.Errorf("%q is not a Linux capability; use a name such as \"NET_ADMIN\" or \"CAP_SYS_TIME\" (see capabilities(7))", c)
}

// CheckConstraint checks a placement constraint as Swarm's scheduler reads it: `key==value` or
// `key!=value`, with a key Swarm knows.
func CheckConstraint(expr string) error {
	c, ok := parsePlacementConstraint(expr)
	if !ok {
		return fmt.Errorf("%q is not a constraint; write key==value or key!=value, such as \"node.role==manager\" or \"node.labels.zone!=b\"", expr)
	}
	if !constraintKeyKnown(c.key) {
		return fmt.Errorf("%q: Swarm knows no key %q; use node.id, node.hostname, node.role, node.ip, node.platform.os, node.platform.arch, node.labels.<name> or engine.labels.<name>", expr, c.key)
	}
	if strings.EqualFold(c.key, "node.role") && !strings.EqualFold(c.value, "manager") && !strings.EqualFold(c.value, "worker") {
		return fmt.Errorf("%q: node.role is manager or worker", expr)
	}
	return nil
}

func constraintKeyKnown(key string) bool {
	for _, k := range []string{"node.id", "node.hostname", "node.role", "node.ip", "node.platform.os", "node.platform.arch"} {
		if strings.EqualFold(key, k) {
			return true
		}
	}
	_, node := labelName(key, nodeLabelKeyPrefix)
	_, engine := labelName(key, engineLabelKeyPrefix)
	return node || engine
}

// CheckPreference checks a placement preference: "spread=<node attribute>", such as
// "spread=node.labels.zone".
func CheckPreference(pref string) error {
	desc, ok := strings.CutPrefix(pref, "spread=")
	if !ok || desc == "" || strings.ContainsAny(desc, " \t=") || !constraintKeyKnown(desc) || strings.EqualFold(desc, "node.ip") {
		return fmt.Errorf("%q is not a preference; write spread=<node attribute>, such as \"spread=node.labels.zone\"", pref)
	}
	return nil
}

// CheckHealthcheckTest checks a healthcheck's test: ["NONE"], ["CMD", program, args...] or
// ["CMD-SHELL", command]. Swarm takes any list, but a task whose check cannot run stays
// "starting" until the apply times out.
func CheckHealthcheckTest(test []string) error {
	if len(test) == 0 {
		return errors.New("the test is empty; use [\"CMD\", \"/app\", \"health\"], [\"CMD-SHELL\", \"curl -f localhost\"] or [\"NONE\"]")
	}
	switch test[0] {
	case "NONE":
		if len(test) != 1 {
			return errors.New("[\"NONE\"] takes nothing after it")
		}
	case "CMD":
		if len(test) < 2 || test[1] == "" {
			return errors.New("\"CMD\" needs the program to run after it, such as [\"CMD\", \"/app\", \"health\"]")
		}
	case "CMD-SHELL":
		if len(test) != 2 || test[1] == "" {
			return errors.New("\"CMD-SHELL\" takes exactly one shell command after it, such as [\"CMD-SHELL\", \"curl -f localhost\"]")
		}
	default:
		return fmt.Errorf("the test starts with %q; it must start with \"CMD\" (exec form), \"CMD-SHELL\" (run by /bin/sh) or be [\"NONE\"]", test[0])
	}
	return nil
}

// CheckContainerPath checks a path inside a container (a mount target, the working
// directory): it must be absolute.
func CheckContainerPath(p string) error {
	if !path.IsAbs(p) {
		return fmt.Errorf("%q is not an absolute path; paths in the container start with /", p)
	}
	return nil
}

// CheckEnvName checks an environment variable's name: not empty, and no '=' (the runtime
// would split the name there).
func CheckEnvName(name string) error {
	switch {
	case name == "":
		return errors.New("an environment variable's name cannot be empty")
	case strings.Contains(name, "="):
		return fmt.Errorf("%q contains '=': the runtime would read the name as %q", name, strings.SplitN(name, "=", 2)[0])
	case strings.ContainsRune(name, 0):
		return fmt.Errorf("%q contains a NUL byte", name)
	}
	return nil
}

// CheckUlimit checks one ulimit: the soft limit may not exceed the hard one (-1 is unlimited).
func CheckUlimit(soft, hard int64) error {
	switch {
	case soft < -1 || hard < -1:
		return fmt.Errorf("soft %d and hard %d: limits are -1 (unlimited) or more", soft, hard)
	case hard != -1 && (soft == -1 || soft > hard):
		return fmt.Errorf("the soft limit (%d) is above the hard limit (%d)", soft, hard)
	}
	return nil
}

// CheckFileMode checks a file mode written in octal, such as "0444" or "1777".
func CheckFileMode(s string) error {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o7777 {
		return fmt.Errorf("%q is not a file mode; write it in octal, such as \"0444\" or \"0640\"", s)
	}
	return nil
}

// objectName is Swarm's rule for secret and config names.
var objectName = regexp.MustCompile(`^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$`)

// CheckObjectName checks a secret's or config's name as Swarm will: letters, digits, '-', '_'
// and '.', starting and ending with a letter or digit, at most 64 characters.
func CheckObjectName(name string) error {
	switch {
	case name == "":
		return errors.New("the name is empty")
	case len(name) > 64:
		return fmt.Errorf("%q is %d characters long; Swarm allows at most 64", name, len(name))
	case !objectName.MatchString(name):
		return fmt.Errorf("%q is not a valid name: use letters, digits, '-', '_' and '.', starting and ending with a letter or digit", name)
	}
	return nil
}

// Swarm's bounds on what a secret or config holds: at least one byte, and less than these.
const (
	MaxSecretBytes = 500 * 1024
	MaxConfigBytes = 1000 * 1024
)

// CheckObjectData checks the size of a secret's or config's content as Swarm will (it refuses
// an empty one too). It names sizes only, never the content: a secret's value must not reach a
// diagnostic.
func CheckObjectData(kind ObjectKind, size int) error {
	limit := MaxConfigBytes
	if kind == KindSecret {
		limit = MaxSecretBytes
	}
	switch {
	case size == 0:
		return fmt.Errorf("a %s cannot be empty; Swarm refuses one with no content", kind)
	case size >= limit:
		return fmt.Errorf("the content is %d bytes; Swarm takes a %s of fewer than %d bytes (%d KB)", size, kind, limit, limit/1024)
	}
	return nil
}

// templateFuncs are the functions Swarm's golang template driver gives a config's content
// (swarmkit's template package): their names are all a parse needs.
var templateFuncs = template.FuncMap{
	"join":   func(...string) string { return "" },
	"secret": func(string) (string, error) { return "", nil },
	"config": func(string) (string, error) { return "", nil },
	"env":    func(string) (string, error) { return "", nil },
}

// CheckConfigTemplate parses a config's content as the template driver will when each task
// starts: Swarm accepts a config whose template does not parse, and every task that uses it
// then fails to start.
func CheckConfigTemplate(driver, content string) error {
	if driver != "golang" {
		return nil
	}
	if _, err := template.New("config").Option("missingkey=error").Funcs(templateFuncs).Parse(content); err != nil {
		return fmt.Errorf("the content is not a Go template that the golang driver can expand: %s", strings.TrimPrefix(err.Error(), "template: "))
	}
	return nil
}
