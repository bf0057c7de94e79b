package orchestrator

// Loading a stack's compose files as `docker stack deploy -c a.yml -c b.yml` loads them: each
// file checked against the keys the CLI accepts (stack_keys.go), interpolated from the
// variables the caller gives, put in canonical form by compose-go, its environment resolved
// (env files read with the CLI's rules), and merged with the CLI's rules (stack_merge.go).
// Relative paths in every file (env_file, the file of a secret or config, a bind mount's
// source) start from the first file's directory, as with the CLI.
//
// Nothing here reads the process environment: the caller decides what the files may
// interpolate (Variables). Every file read is reported with a hash of its content, so that a
// caller can tell when any of them changed; the content of secret files is read here (at plan
// time) and never appears in an error or a log line, only its size and a keyed hash.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/sirupsen/logrus"
	"go.yaml.in/yaml/v4"
)

// ComposeSource is what LoadCompose reads.
type ComposeSource struct {
	// Files are the compose files, merged in this order. A relative path starts from the
	// process's working directory.
	Files []string
	// Variables are all that ${VAR} in the files, an environment entry without a value and an
	// env-file line without '=' can read.
	Variables map[string]string
	// HashKey keys the hashes of the files read (HMAC-SHA256), so that a hash kept in state
	// lets no one test guesses of a file's content; the same key gives the same hashes.
	HashKey []byte
}

// FileKind says what a file read for a stack is.
type FileKind string

const (
	FileCompose FileKind = "compose"
	FileEnv     FileKind = "env_file"
	FileSecret  FileKind = "secret"
	FileConfig  FileKind = "config"
)

// StackFile is one file read for a stack.
type StackFile struct {
	Kind FileKind
	// Path is absolute.
	Path string
	// Hash is the keyed hash of the content (DataHash with the source's HashKey).
	Hash string
}

// Compose is a stack's compose files, loaded and merged: what a stack is converted from
// (Compose.Stack).
type Compose struct {
	// WorkingDir is the first file's directory, where relative paths start.
	WorkingDir string
	// Files are all the files read, each once, compose files first.
	Files []StackFile
	// Warnings are what the files hold that has no effect on Swarm (ignored keys), at their
	// compose paths.
	Warnings []FieldProblem

	project *types.Project
	// dict is the merged model in canonical form, for values compose-go's types round (a
	// CPU count) or reorder (extra_hosts).
	dict map[string]any
	// env is each service's resolved environment.
	env map[string]map[string]envValue
	// data is the content of each secret and config file, by object ("secrets.db").
	data      map[string]*hiddenBytes
	variables map[string]string
	hashKey   []byte
}

// envValue is one environment variable of a service and where it was set: "environment.NAME"
// or "env_file[i]", relative to the service.
type envValue struct {
	value  *string
	origin string
}

// envFile says from which env_file entry the value came.
func (v envValue) envFile() (int, bool) {
	var i int
	if _, err := fmt.Sscanf(v.origin, "env_file[%d]", &i); err != nil {
		return 0, false
	}
	return i, true
}

// hiddenBytes is content that may be secret. Held by pointer, it never prints: fmt shows a
// pointer held in a struct, a slice or a map as an address, and this one on its own as its
// size (fmt calls no method of an unexported field, so a plain []byte there would print).
type hiddenBytes struct{ b []byte }

func (h *hiddenBytes) Format(f fmt.State, _ rune) {
	_, _ = fmt.Fprintf(f, "<%d bytes, not shown>", len(h.bytes()))
}

// bytes is the content; nil for none.
func (h *hiddenBytes) bytes() []byte {
	if h == nil {
		return nil
	}
	return h.b
}

// ComposeError is a stack whose files cannot be loaded or converted, for what its problems
// say; each problem's path is a compose path (services.api.deploy.replicas), "" for a file as
// a whole.
type ComposeError struct {
	Problems []FieldProblem
}

func (e *ComposeError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Detail
	}
	return strings.Join(msgs, "; ")
}

// projectName is the name compose-go is given: it needs one, and names nothing here (the stack
// names its objects itself).
const projectName = "stack"

// composeFile is one compose file on its way to the merged model.
type composeFile struct {
	path string
	dict map[string]any
	env  map[string]map[string]envValue
}

// LoadCompose reads, checks and merges a stack's compose files, with the env, secret and
// config files they refer to. A *ComposeError lists every problem found, at its compose path.
// The steps, each run only when those before found no problem:
//
//  1. read each compose file, check its version and keys (the ignored ones become warnings);
//  2. load each on its own with compose-go (interpolated, in canonical form) and resolve its
//     services' environment, reading their env files;
//  3. merge the files with the CLI's rules, and read the result into compose-go's types;
//  4. read the file of each secret and config the stack makes.
func LoadCompose(ctx context.Context, src ComposeSource) (*Compose, error) {
	if len(src.Files) == 0 {
		return nil, &ComposeError{Problems: []FieldProblem{problem("", "No Compose File", "A stack needs at least one compose file.")}}
	}
	c := &Compose{variables: maps.Clone(src.Variables), hashKey: src.HashKey, data: map[string]*hiddenBytes{}}
	defer c.captureParserLog()()
	files, errs := c.parseFiles(src.Files)
	if len(errs) == 0 {
		errs = c.canonicalise(ctx, files)
	}
	if len(errs) == 0 {
		errs = c.merge(files)
	}
	if len(errs) == 0 {
		errs = c.readObjects()
	}
	if len(errs) > 0 {
		return nil, &ComposeError{Problems: errs}
	}
	return c, nil
}

// parseFiles reads the compose files and checks each one's version and keys.
func (c *Compose) parseFiles(names []string) ([]*composeFile, []FieldProblem) {
	var errs []FieldProblem
	var files []*composeFile
	version := ""
	for i, name := range names {
		abs, err := filepath.Abs(name)
		if err != nil {
			errs = append(errs, problem("", "Cannot Read Compose File", fmt.Sprintf("Reading compose file %s: %v", name, err)))
			continue
		}
		if i == 0 {
			c.WorkingDir = filepath.Dir(abs)
		}
		content, err := c.read(FileCompose, abs)
		if err != nil {
			errs = append(errs, problem("", "Cannot Read Compose File", fmt.Sprintf("Reading compose file %s: %v", abs, err)))
			continue
		}
		var doc any
		if err := yaml.Unmarshal(content, &doc); err != nil {
			errs = append(errs, problem("", "Invalid Compose File", fmt.Sprintf("%s is not valid YAML: %v", abs, err)))
			continue
		}
		m, ok := doc.(map[string]any)
		if !ok {
			errs = append(errs, problem("", "Invalid Compose File", fmt.Sprintf("%s does not hold a mapping at its top level, as a compose file does.", abs)))
			continue
		}
		v, problems := checkVersion(m, abs, version, i == 0)
		version = v
		errs = append(errs, problems...)
		keyErrs, warnings := checkComposeKeys(m, abs, versionMinor(v))
		errs = append(errs, keyErrs...)
		c.Warnings = appendNew(c.Warnings, warnings...)
		c.Warnings = appendNew(c.Warnings, c.unsetVariables(m, abs)...)
		delete(m, "version") // checked: compose-go would only warn that it is obsolete
		files = append(files, &composeFile{path: abs, dict: m})
	}
	return files, errs
}

// canonicalise loads each file with compose-go, and resolves its services' environment.
func (c *Compose) canonicalise(ctx context.Context, files []*composeFile) []FieldProblem {
	var errs []FieldProblem
	envCache := map[string][]envLine{}
	for _, f := range files {
		dict, err := loader.LoadModelWithContext(ctx, c.details(f.path, f.dict), c.loaderOptions)
		if err != nil {
			errs = append(errs, problem("", "Invalid Compose File", fmt.Sprintf("Loading %s: %v", f.path, err)))
			continue
		}
		f.dict = dict
		errs = append(errs, c.normaliseFile(f, envCache)...)
	}
	return errs
}

// merge merges the files and reads the result into compose-go's types, each service's
// environment as resolved.
func (c *Compose) merge(files []*composeFile) []FieldProblem {
	merged := mergeComposeFiles(files)
	c.env, c.dict = merged.env, merged.dict
	for name, svc := range mapAt(c.dict, "services") {
		if m, ok := svc.(map[string]any); ok {
			env := map[string]any{}
			for k, v := range c.env[name] {
				if v.value == nil {
					env[k] = nil
				} else {
					env[k] = *v.value
				}
			}
			m["environment"] = env
		}
	}
	details := c.details(files[0].path, nil)
	project, err := loader.ModelToProject(c.dict, loader.ToOptions(&details, []func(*loader.Options){c.loaderOptions}), details)
	if err != nil {
		return []FieldProblem{problem("", "Invalid Compose File", fmt.Sprintf("Reading the merged compose files: %v", err))}
	}
	c.project = project
	return nil
}

// read reads a file and records it with its hash.
func (c *Compose) read(kind FileKind, path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for _, f := range c.Files {
		if f.Path == path && f.Kind == kind {
			return data, nil
		}
	}
	c.Files = append(c.Files, StackFile{Kind: kind, Path: path, Hash: DataHash(c.hashKey, data)})
	return data, nil
}

// details is what compose-go reads one file from: the file as parsed, without the keys the
// stack ignores. Its environment is a copy: compose-go adds COMPOSE_PROJECT_NAME to it.
func (c *Compose) details(path string, doc map[string]any) types.ConfigDetails {
	env := types.Mapping{}
	for k, v := range c.variables {
		env[k] = v
	}
	return types.ConfigDetails{WorkingDir: c.WorkingDir, Environment: env, ConfigFiles: []types.ConfigFile{{Filename: path, Config: doc}}}
}

// unsetVariables warns of each ${VAR} of a file that the variables do not set and that has no
// default: it reads as an empty string (compose-go only logs that). The CLI reads the shell's
// environment; here only the caller's variables count, so a variable the shell used to set is
// easily missed.
func (c *Compose) unsetVariables(doc map[string]any, file string) []FieldProblem {
	vars := template.ExtractVariables(doc, nil)
	var out []FieldProblem
	for _, name := range sortedKeys(vars) {
		v := vars[name]
		if _, set := c.variables[name]; set || v.Required || v.DefaultValue != "" || v.PresenceValue != "" {
			continue
		}
		out = append(out, problem("", "Variable Not Set", fmt.Sprintf("%s reads ${%s}, which the stack's variables do not set: it reads as an empty string. "+
			"Only the variables given to the stack count (the environment of the process is not read); give it a value there, or a default in the file (${%s:-value}).", file, name, name)))
	}
	return out
}

// loaderOptions make compose-go load one file as it is written, in canonical form: no
// defaults added, no names given, no paths resolved, no env file read (the engine does each
// the CLI's way), and ${VAR} read from the caller's variables only.
func (c *Compose) loaderOptions(o *loader.Options) {
	o.SkipNormalization = true
	o.SkipDefaultValues = true
	o.ResolvePaths = false
	o.SkipConsistencyCheck = true
	o.SkipExtends = true
	o.SkipInclude = true
	o.SkipResolveEnvironment = true
	o.SkipResolveLabels = true
	o.SetProjectName(projectName, true)
	vars := c.variables
	o.Interpolate.LookupValue = func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// composeVersion is the format versions docker stack deploy reads: 3, and 3.0 to 3.13.
var composeVersion = regexp.MustCompile(`^3(\.([0-9]|1[0-3]))?$`)

// checkVersion checks a file's version key as docker stack deploy does: format 3 only, the same
// in every file (a file without one counts as the latest, 3.13). It returns the file's
// version.
func checkVersion(doc map[string]any, file, first string, isFirst bool) (string, []FieldProblem) {
	v := "3.13"
	if raw, ok := doc["version"]; ok {
		v = fmt.Sprint(raw)
		if !composeVersion.MatchString(v) {
			return v, []FieldProblem{problem("version", "Unsupported Compose File Version",
				fmt.Sprintf("version in %s: docker stack deploy reads Compose file format 3 (version \"3\" to \"3.13\", or none), not %q.", file, v))}
		}
		if v == "3" {
			v = "3.13"
		}
	}
	if !isFirst && v != first {
		return first, []FieldProblem{problem("version", "Compose File Versions Differ",
			fmt.Sprintf("version in %s: this file is of version %s and the first of %s; docker stack deploy merges only files of the same version (a file without version counts as 3.13).", file, v, first))}
	}
	return v, nil
}

// versionMinor is N of a format version 3.N (13 for one that does not parse).
func versionMinor(v string) int {
	n := 13
	if _, minor, ok := strings.Cut(v, "."); ok {
		_, _ = fmt.Sscan(minor, &n)
	}
	return n
}

// normaliseFile brings a file's services to the forms the merge and the conversion read
// (maps for labels and sysctls, a list of host:ip for extra_hosts, lists for dns_search) and
// resolves their environment as the CLI does, per file.
func (c *Compose) normaliseFile(f *composeFile, envCache map[string][]envLine) []FieldProblem {
	var errs []FieldProblem
	f.env = map[string]map[string]envValue{}
	for _, section := range []string{"networks", "volumes", "secrets", "configs"} {
		for _, v := range mapAt(f.dict, section) {
			if m, ok := v.(map[string]any); ok {
				toMap(m, "labels")
			}
		}
	}
	for name, v := range mapAt(f.dict, "services") {
		svc, ok := v.(map[string]any)
		if !ok {
			continue
		}
		toMap(svc, "labels")
		toMap(svc, "sysctls")
		if d, ok := svc["deploy"].(map[string]any); ok {
			toMap(d, "labels")
		}
		if s, ok := svc["dns_search"].(string); ok {
			svc["dns_search"] = []any{s}
		}
		if hosts, ok := svc["extra_hosts"]; ok {
			svc["extra_hosts"] = hostsList(hosts)
		}
		env, problems := c.resolveEnv("services."+name, svc, envCache)
		f.env[name] = env
		errs = append(errs, problems...)
	}
	return errs
}

// toMap turns a list of key=value (a key alone: an empty value) into a map, as the CLI reads
// labels and sysctls.
func toMap(m map[string]any, key string) {
	list, ok := m[key].([]any)
	if !ok {
		return
	}
	out := map[string]any{}
	for _, e := range list {
		k, v, _ := strings.Cut(fmt.Sprint(e), "=")
		out[k] = v
	}
	m[key] = out
}

// hostsList turns extra_hosts into the CLI's list of host:ip, in the file's order (a map's in
// the order of its host names); host=ip and [v6 address] spellings are accepted.
func hostsList(v any) []any {
	var pairs [][2]string
	switch v := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(v) {
			pairs = append(pairs, [2]string{k, fmt.Sprint(v[k])})
		}
	case []any:
		for _, e := range v {
			s := fmt.Sprint(e)
			host, ip, ok := strings.Cut(s, "=")
			if !ok {
				host, ip, _ = strings.Cut(s, ":")
			}
			pairs = append(pairs, [2]string{host, ip})
		}
	}
	out := make([]any, 0, len(pairs))
	for _, p := range pairs {
		ip := p[1]
		if len(ip) > 2 && ip[0] == '[' && ip[len(ip)-1] == ']' {
			ip = ip[1 : len(ip)-1]
		}
		out = append(out, p[0]+":"+ip)
	}
	return out
}

// resolveEnv works out a service's environment as docker stack deploy does: the variables of
// its env files in order (a later file's value wins), then its environment entries; a
// variable without a value, or with an empty one, takes the caller's variable of that name
// when there is one.
func (c *Compose) resolveEnv(at string, svc map[string]any, cache map[string][]envLine) (map[string]envValue, []FieldProblem) {
	env := map[string]envValue{}
	var errs []FieldProblem
	set := func(name string, value *string, origin string) {
		if value == nil || *value == "" {
			if v, ok := c.variables[name]; ok {
				value = &v
			}
		}
		env[name] = envValue{value: value, origin: origin}
	}
	for i, e := range listAt(svc, "env_file") {
		entry, _ := e.(map[string]any)
		p, _ := entry["path"].(string)
		origin := fmt.Sprintf("env_file[%d]", i)
		lines, err := c.readEnvFile(c.absPath(p), cache)
		if err != nil {
			errs = append(errs, problem(at+"."+origin, "Cannot Read Env File", fmt.Sprintf("%s.%s: %v", at, origin, err)))
			continue
		}
		for _, l := range lines {
			set(l.name, l.value, origin)
		}
	}
	switch e := svc["environment"].(type) {
	case map[string]any:
		for k, v := range e {
			var value *string
			if v != nil {
				s := fmt.Sprint(v)
				value = &s
			}
			set(k, value, "environment."+k)
		}
	case []any:
		for _, item := range e {
			k, v, ok := strings.Cut(fmt.Sprint(item), "=")
			var value *string
			if ok {
				value = &v
			}
			set(k, value, "environment."+k)
		}
	}
	return env, errs
}

// absPath makes a path of a compose file absolute, from the first file's directory.
func (c *Compose) absPath(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.WorkingDir, p)
}

// envLine is one variable of an env file.
type envLine struct {
	name  string
	value *string
}

// readEnvFile reads an env file once (the cache holds it by path).
func (c *Compose) readEnvFile(path string, cache map[string][]envLine) ([]envLine, error) {
	if lines, ok := cache[path]; ok {
		return lines, nil
	}
	data, err := c.read(FileEnv, path)
	if err != nil {
		return nil, fmt.Errorf("reading env file: %w", err)
	}
	lines, err := parseEnvFile(data, c.variables)
	if err != nil {
		return nil, fmt.Errorf("env file %s: %w", path, err)
	}
	cache[path] = lines
	return lines, nil
}

// parseEnvFile reads an env file as docker stack deploy does: one NAME=value a line, the value
// taken as it is (quotes included, nothing expanded); blank lines and lines starting with #
// skipped; a line with a name only takes the variable of that name, and is left out when there
// is none. Errors say the line's number, never its content: an env file may hold secrets.
func parseEnvFile(data []byte, vars map[string]string) ([]envLine, error) {
	data = bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})
	var out []envLine
	for i, raw := range strings.Split(string(data), "\n") {
		if !utf8.ValidString(raw) {
			return nil, fmt.Errorf("line %d is not valid UTF-8", i+1)
		}
		line := strings.TrimLeftFunc(strings.TrimSuffix(raw, "\r"), unicode.IsSpace)
		if line == "" || line[0] == '#' {
			continue
		}
		name, value, hasValue := strings.Cut(line, "=")
		switch {
		case name == "":
			return nil, fmt.Errorf("line %d has no variable name before '='", i+1)
		case strings.ContainsAny(name, " \t"):
			return nil, fmt.Errorf("line %d: the variable name contains white space (docker stack deploy reads NAME=value lines, without export)", i+1)
		case hasValue:
			out = append(out, envLine{name: name, value: &value})
		default:
			if v, ok := vars[name]; ok {
				out = append(out, envLine{name: name, value: &v})
			}
		}
	}
	return out, nil
}

// readObjects reads the file of every secret and config the stack makes (all those declared
// and not external, as the CLI makes them, used or not), checking the size Swarm takes.
func (c *Compose) readObjects() []FieldProblem {
	var errs []FieldProblem
	for _, kind := range []ObjectKind{KindSecret, KindConfig} {
		section := string(kind) + "s"
		fileKind := FileSecret
		if kind == KindConfig {
			fileKind = FileConfig
		}
		for _, key := range sortedKeys(mapAt(c.dict, section)) {
			obj, _ := mapAt(c.dict, section)[key].(map[string]any)
			at := section + "." + key
			if isExternal(obj) {
				continue
			}
			file, _ := obj["file"].(string)
			if file == "" {
				errs = append(errs, problem(at+".file", "Missing File", fmt.Sprintf("%s: give the file that holds the %s's content (file), or mark it external: true to use one that exists already.", at, kind)))
				continue
			}
			data, err := c.read(fileKind, c.absPath(file))
			if err != nil {
				errs = append(errs, problem(at+".file", "Cannot Read "+titleCase(string(kind))+" File", fmt.Sprintf("%s.file: %v", at, err)))
				continue
			}
			if err := CheckObjectData(kind, len(data)); err != nil {
				errs = append(errs, problem(at+".file", "Invalid "+titleCase(string(kind))+" Content", fmt.Sprintf("%s.file (%s): %v.", at, c.absPath(file), err)))
				continue
			}
			c.data[at] = &hiddenBytes{b: data}
		}
	}
	return errs
}

// isExternal says whether a top-level network, volume, secret or config is marked external
// (external: true, or the older external: {name: ...}).
func isExternal(obj map[string]any) bool {
	switch e := obj["external"].(type) {
	case bool:
		return e
	case map[string]any:
		return true
	}
	return false
}

// appendNew appends the problems not listed yet (the same key ignored in two files is said
// once).
func appendNew(list []FieldProblem, more ...FieldProblem) []FieldProblem {
	for _, p := range more {
		found := false
		for _, q := range list {
			if q.Path == p.Path && q.Summary == p.Summary {
				found = true
				break
			}
		}
		if !found {
			list = append(list, p)
		}
	}
	return list
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// parserLog serialises the loads that capture compose-go's log, which is logrus's global
// logger: a load holds it while it runs (a few milliseconds).
var parserLog sync.Mutex

// captureParserLog turns what compose-go logs while this load runs (a deprecated key, a YAML
// 1.1 boolean) into warnings of the load, instead of lines on the provider's stderr that
// Terraform shows no one. It returns the function that puts the logger back.
func (c *Compose) captureParserLog() func() {
	parserLog.Lock()
	l := logrus.StandardLogger()
	out, hooks := l.Out, l.ReplaceHooks(logrus.LevelHooks{})
	l.SetOutput(io.Discard)
	l.AddHook(parserLogHook{c})
	return func() {
		l.ReplaceHooks(hooks)
		l.SetOutput(out)
		parserLog.Unlock()
	}
}

type parserLogHook struct{ c *Compose }

func (parserLogHook) Levels() []logrus.Level {
	return []logrus.Level{logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel, logrus.WarnLevel}
}

func (h parserLogHook) Fire(e *logrus.Entry) error {
	if strings.Contains(e.Message, "variable is not set") {
		return nil // said at its compose path, with what to do, by unsetVariables
	}
	h.c.Warnings = appendNew(h.c.Warnings, problem("", "Compose File Warning", "The compose parser warns: "+e.Message))
	return nil
}
