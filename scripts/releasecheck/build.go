package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"go.yaml.in/yaml/v4"
)

// goreleaserConfig is the part of .goreleaser.yml that decides the provider's release assets.
// Keys that would change them and that this helper does not implement are decoded too, so that
// the build fails instead of producing something else than goreleaser would.
type goreleaserConfig struct {
	ProjectName string              `yaml:"project_name"`
	Builds      []goreleaserBuild   `yaml:"builds"`
	Archives    []goreleaserArchive `yaml:"archives"`
	Checksum    struct {
		NameTemplate string `yaml:"name_template"`
		Algorithm    string `yaml:"algorithm"`
		ExtraFiles   []struct {
			Glob         string `yaml:"glob"`
			NameTemplate string `yaml:"name_template"`
		} `yaml:"extra_files"`
	} `yaml:"checksum"`
	Signs []struct {
		Artifacts string `yaml:"artifacts"`
		Signature string `yaml:"signature"`
	} `yaml:"signs"`
}

type goreleaserBuild struct {
	ID           string             `yaml:"id"`
	Main         string             `yaml:"main"`
	Binary       string             `yaml:"binary"`
	Env          []string           `yaml:"env"`
	Flags        []string           `yaml:"flags"`
	Ldflags      []string           `yaml:"ldflags"`
	Goos         []string           `yaml:"goos"`
	Goarch       []string           `yaml:"goarch"`
	ModTimestamp string             `yaml:"mod_timestamp"`
	Ignore       []goreleaserIgnore `yaml:"ignore"`
	// Not implemented here: the build fails when one is set.
	Targets []string `yaml:"targets"`
	Tags    []string `yaml:"tags"`
	Dir     string   `yaml:"dir"`
}

type goreleaserIgnore struct {
	Goos   string `yaml:"goos"`
	Goarch string `yaml:"goarch"`
}

type goreleaserArchive struct {
	IDs          []string  `yaml:"ids"`
	Formats      []string  `yaml:"formats"`
	NameTemplate string    `yaml:"name_template"`
	Files        yaml.Node `yaml:"files"`
	WrapInDir    yaml.Node `yaml:"wrap_in_directory"`
}

// goreleaserDefaultFiles are the globs goreleaser puts in every archive beside the binary when
// the archive names no files.
var goreleaserDefaultFiles = []string{"LICENSE*", "README*", "CHANGELOG*", "license*", "readme*", "changelog*"}

// release is what one run builds: the provider's build and archive settings, resolved.
type release struct {
	projectName string
	version     string
	commitTime  time.Time
	build       goreleaserBuild
	archive     goreleaserArchive
	cfg         goreleaserConfig
}

type platform struct{ os, arch string }

func (p platform) String() string { return p.os + "_" + p.arch }

func runBuild(args []string) error {
	fs := flag.NewFlagSet("build", flag.ExitOnError)
	config := fs.String("config", ".goreleaser.yml", "goreleaser configuration to follow")
	version := fs.String("version", "", "release version, semver without a leading v (required)")
	dist := fs.String("dist", "", "directory for the release assets (required; emptied first)")
	keys := fs.String("keys", "", "directory for the signing key's public part (required)")
	jobs := fs.Int("jobs", 1, "platforms built at the same time")
	_ = fs.Parse(args)
	if *version == "" || *dist == "" || *keys == "" {
		fs.Usage()
		return errors.New("-version, -dist and -keys are required")
	}
	rel, err := loadRelease(*config, strings.TrimPrefix(*version, "v"))
	if err != nil {
		return err
	}
	if err := os.RemoveAll(*dist); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(*dist, "bin"), 0o755); err != nil {
		return err
	}
	platforms := rel.platforms()
	if len(platforms) == 0 {
		return fmt.Errorf("%s: build %q names no platform", *config, rel.build.ID)
	}
	names := make([]string, len(platforms))
	for i, p := range platforms {
		names[i] = p.String()
	}
	fmt.Printf("building %s %s for %d platforms from %s (%d at a time): %s\n",
		rel.projectName, rel.version, len(platforms), *config, *jobs, strings.Join(names, " "))

	if err := rel.buildAll(*dist, platforms, *jobs); err != nil {
		return err
	}
	sums, err := rel.writeChecksums(*dist)
	if err != nil {
		return err
	}
	return rel.sign(sums, *keys)
}

func loadRelease(path, version string) (*release, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cfg goreleaserConfig
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rel := &release{projectName: cfg.ProjectName, version: version, cfg: cfg}
	if rel.projectName == "" {
		// goreleaser names the project after the repository, which is the module's last element.
		if rel.projectName, err = moduleBase(filepath.Join(filepath.Dir(path), "go.mod")); err != nil {
			return nil, err
		}
	}
	// The provider's archive is the zip one; it names the build it packs.
	found := false
	for _, a := range cfg.Archives {
		if len(a.Formats) == 1 && a.Formats[0] == "zip" && len(a.IDs) == 1 {
			rel.archive, found = a, true
		}
	}
	if !found {
		return nil, fmt.Errorf("%s: no archive with formats [zip] and one build id", path)
	}
	found = false
	for _, b := range cfg.Builds {
		if b.ID == rel.archive.IDs[0] {
			rel.build, found = b, true
		}
	}
	if !found {
		return nil, fmt.Errorf("%s: the zip archive packs build %q, which is not defined", path, rel.archive.IDs[0])
	}
	if b := rel.build; len(b.Targets) > 0 || len(b.Tags) > 0 || b.Dir != "" {
		return nil, fmt.Errorf("%s: build %q sets targets, tags or dir, which release-check does not implement: extend scripts/releasecheck", path, b.ID)
	}
	if !rel.archive.WrapInDir.IsZero() || rel.archive.Files.Kind != 0 && rel.archive.Files.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s: archive sets wrap_in_directory or non-list files, which release-check does not implement", path)
	}
	if alg := cfg.Checksum.Algorithm; alg != "" && alg != "sha256" {
		return nil, fmt.Errorf("%s: checksum algorithm %q: the registry wants sha256", path, alg)
	}
	if rel.build.ModTimestamp != "" {
		out, err := exec.Command("git", "log", "-1", "--format=%ct").Output()
		if err != nil {
			return nil, fmt.Errorf("the commit time for mod_timestamp: git log: %w", err)
		}
		secs, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("the commit time for mod_timestamp: %w", err)
		}
		rel.commitTime = time.Unix(secs, 0)
	}
	return rel, nil
}

func moduleBase(gomod string) (string, error) {
	raw, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if mod, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return filepath.Base(strings.TrimSpace(mod)), nil
		}
	}
	return "", fmt.Errorf("%s: no module line", gomod)
}

// platforms is goos × goarch less the ignored pairs, in the configuration's order.
func (r *release) platforms() []platform {
	var out []platform
	for _, goos := range r.build.Goos {
		for _, goarch := range r.build.Goarch {
			ignored := false
			for _, ig := range r.build.Ignore {
				if (ig.Goos == "" || ig.Goos == goos) && (ig.Goarch == "" || ig.Goarch == goarch) {
					ignored = true
				}
			}
			if !ignored {
				out = append(out, platform{goos, goarch})
			}
		}
	}
	return out
}

// render expands a goreleaser name template with the fields this release knows; a field it
// does not know is an error, not an empty string.
func (r *release) render(tmpl string, p platform) (string, error) {
	t, err := template.New("").Option("missingkey=error").Parse(tmpl)
	if err != nil {
		return "", fmt.Errorf("template %q: %w", tmpl, err)
	}
	data := map[string]any{
		"ProjectName":     r.projectName,
		"Version":         r.version,
		"Os":              p.os,
		"Arch":            p.arch,
		"CommitTimestamp": strconv.FormatInt(r.commitTime.Unix(), 10),
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("template %q: %w", tmpl, err)
	}
	return b.String(), nil
}

func (r *release) buildAll(dist string, platforms []platform, jobs int) error {
	if jobs < 1 {
		jobs = 1
	}
	work := make(chan platform)
	errs := make([]error, 0)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				if err := r.buildOne(dist, p); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("%s: %w", p, err))
					mu.Unlock()
				}
			}
		}()
	}
	for _, p := range platforms {
		work <- p
	}
	close(work)
	wg.Wait()
	return errors.Join(errs...)
}

func (r *release) buildOne(dist string, p platform) error {
	start := time.Now()
	binary, err := r.render(r.build.Binary, p)
	if err != nil {
		return err
	}
	if p.os == "windows" {
		binary += ".exe"
	}
	var ldflags []string
	for _, l := range r.build.Ldflags {
		s, err := r.render(l, p)
		if err != nil {
			return err
		}
		ldflags = append(ldflags, s)
	}
	out := filepath.Join(dist, "bin", p.String(), binary)
	args := append([]string{"build"}, r.build.Flags...)
	args = append(args, "-ldflags="+strings.Join(ldflags, " "), "-o", out)
	main := r.build.Main
	if main == "" {
		main = "."
	}
	args = append(args, main)
	cmd := exec.Command("go", args...)
	cmd.Env = append(append(os.Environ(), r.build.Env...), "GOOS="+p.os, "GOARCH="+p.arch)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, msg)
	}
	if r.build.ModTimestamp != "" {
		ts, err := r.render(r.build.ModTimestamp, p)
		if err != nil {
			return err
		}
		secs, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return fmt.Errorf("mod_timestamp %q: %w", ts, err)
		}
		if err := os.Chtimes(out, time.Unix(secs, 0), time.Unix(secs, 0)); err != nil {
			return err
		}
	}
	name, err := r.render(r.archive.NameTemplate, p)
	if err != nil {
		return err
	}
	files, err := r.archiveFiles()
	if err != nil {
		return err
	}
	// goreleaser adds the archive's files first, then the binary.
	if err := writeZip(filepath.Join(dist, name+".zip"), append(files, out)); err != nil {
		return err
	}
	fmt.Printf("  %-14s %5.1fs  %s.zip\n", p, time.Since(start).Seconds(), name)
	return nil
}

// archiveFiles are the files beside the binary in each zip: the archive's files, or
// goreleaser's default globs when it names none.
func (r *release) archiveFiles() ([]string, error) {
	globs := goreleaserDefaultFiles
	if r.archive.Files.Kind == yaml.SequenceNode {
		globs = nil
		if err := r.archive.Files.Decode(&globs); err != nil {
			return nil, fmt.Errorf("archive files: only a list of globs is implemented: %w", err)
		}
	}
	seen := map[string]bool{}
	var files []string
	for _, g := range globs {
		matches, err := filepath.Glob(g)
		if err != nil {
			return nil, err
		}
		for _, m := range matches {
			if !seen[m] {
				seen[m] = true
				files = append(files, m)
			}
		}
	}
	sort.Strings(files)
	return files, nil
}

// writeZip packs files flat (no directory), each with its mode and time, as goreleaser does.
func writeZip(path string, files []string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	for _, name := range files {
		if err := addToZip(zw, name); err != nil {
			_ = f.Close()
			return err
		}
	}
	if err := zw.Close(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func addToZip(zw *zip.Writer, name string) error {
	info, err := os.Stat(name)
	if err != nil {
		return err
	}
	hdr, err := zip.FileInfoHeader(info)
	if err != nil {
		return err
	}
	hdr.Name = filepath.Base(name)
	hdr.Method = zip.Deflate
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return err
	}
	in, err := os.Open(name)
	if err != nil {
		return err
	}
	defer in.Close()
	_, err = io.Copy(w, in)
	return err
}

// writeChecksums writes the SHA256SUMS file over the zips and the checksum's extra files (the
// registry manifest, under its release name, copied beside the zips), sorted by name.
func (r *release) writeChecksums(dist string) (string, error) {
	for _, extra := range r.cfg.Checksum.ExtraFiles {
		name, err := r.render(extra.NameTemplate, platform{})
		if err != nil {
			return "", err
		}
		raw, err := os.ReadFile(extra.Glob)
		if err != nil {
			return "", fmt.Errorf("checksum extra file: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dist, name), raw, 0o644); err != nil {
			return "", err
		}
	}
	sumsName, err := r.render(r.cfg.Checksum.NameTemplate, platform{})
	if err != nil {
		return "", err
	}
	entries, err := os.ReadDir(dist)
	if err != nil {
		return "", err
	}
	var lines []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		sum, err := fileSHA256(filepath.Join(dist, e.Name()))
		if err != nil {
			return "", err
		}
		lines = append(lines, sum+"  "+e.Name()+"\n")
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i][66:] < lines[j][66:] })
	sums := filepath.Join(dist, sumsName)
	return sums, os.WriteFile(sums, []byte(strings.Join(lines, "")), 0o644)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
