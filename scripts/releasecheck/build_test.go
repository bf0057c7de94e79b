package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The repository's own .goreleaser.yml: the provider's build is the one its zip archive packs
// (not the autoscaler's), and the names rendered from it are the registry's.
func TestLoadReleaseReadsTheProvidersBuild(t *testing.T) {
	rel, err := loadRelease("../../.goreleaser.yml", "1.2.3-rc.1")
	if err != nil {
		t.Fatal(err)
	}
	if rel.build.ID != rel.archive.IDs[0] || rel.build.Main != "" {
		t.Errorf("build %q (main %q), want the provider's, packed by the zip archive %v", rel.build.ID, rel.build.Main, rel.archive.IDs)
	}
	platforms := rel.platforms()
	if len(platforms) != len(rel.build.Goos)*len(rel.build.Goarch) {
		t.Errorf("platforms %v: want goos × goarch", platforms)
	}
	p := platform{"windows", "arm64"}
	for tmpl, want := range map[string]string{
		rel.build.Binary:              "terraform-provider-swarm_v1.2.3-rc.1",
		rel.archive.NameTemplate:      "terraform-provider-swarm_1.2.3-rc.1_windows_arm64",
		rel.cfg.Checksum.NameTemplate: "terraform-provider-swarm_1.2.3-rc.1_SHA256SUMS",
		rel.build.Ldflags[0]:          "-s -w -X main.version=1.2.3-rc.1",
	} {
		got, err := rel.render(tmpl, p)
		if err != nil || got != want {
			t.Errorf("render(%q) = %q, %v; want %q", tmpl, got, err, want)
		}
	}
}

func TestPlatformsLeaveOutIgnored(t *testing.T) {
	b := goreleaserBuild{
		Goos:   []string{"linux", "windows", "darwin"},
		Goarch: []string{"amd64", "arm64"},
		Ignore: []goreleaserIgnore{{Goos: "windows", Goarch: "arm64"}, {Goos: "darwin"}},
	}
	rel := &release{build: b}
	var got []string
	for _, p := range rel.platforms() {
		got = append(got, p.String())
	}
	if want := "linux_amd64 linux_arm64 windows_amd64"; strings.Join(got, " ") != want {
		t.Errorf("platforms = %v, want %s", got, want)
	}
}

func TestRenderRefusesUnknownFields(t *testing.T) {
	rel := &release{projectName: "p", version: "1.0.0"}
	if got, err := rel.render("{{ .ProjectName }}_{{ .Commit }}", platform{}); err == nil {
		t.Errorf("render of an unknown field = %q, want an error", got)
	}
}

// A key that changes what goreleaser builds and that the helper does not implement fails the
// check instead of building something else.
func TestLoadReleaseRefusesWhatItDoesNotImplement(t *testing.T) {
	for name, extra := range map[string]string{
		"targets": "    targets: [linux_amd64_v1]\n",
		"tags":    "    tags: [netgo]\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := "builds:\n  - id: p\n    goos: [linux]\n    goarch: [amd64]\n" + extra +
				"archives:\n  - ids: [p]\n    formats: [zip]\n    name_template: x\n"
			if err := os.WriteFile(filepath.Join(dir, "goreleaser.yml"), []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/p\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := loadRelease(filepath.Join(dir, "goreleaser.yml"), "1.0.0"); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("loadRelease with %s: %v, want an error naming it", name, err)
			}
		})
	}
}
