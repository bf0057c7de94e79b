package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsimple"
	"golang.org/x/mod/sumdb/dirhash"
)

type lockFile struct {
	Providers []struct {
		Address     string   `hcl:"address,label"`
		Version     string   `hcl:"version"`
		Constraints string   `hcl:"constraints,optional"`
		Hashes      []string `hcl:"hashes,optional"`
	} `hcl:"provider,block"`
}

// runVerifyLock checks the hashes of a .terraform.lock.hcl against the release assets:
// with -zh, its zh: hashes are exactly the entries of SHA256SUMS (and those are the files' own
// hashes); the h1: hash of each named platform is the one of its zip's contents; and
// the lock holds no other hash.
func runVerifyLock(args []string) error {
	fs := flag.NewFlagSet("verify-lock", flag.ExitOnError)
	lockPath := fs.String("lock", ".terraform.lock.hcl", "lock file to check")
	dist := fs.String("dist", "", "directory of the release assets (required)")
	source := fs.String("source", "", "provider source address (required)")
	version := fs.String("version", "", "the version the lock must select (required)")
	platforms := fs.String("platforms", "", "comma-separated os_arch whose h1: hash the lock must hold (required)")
	wantZH := fs.Bool("zh", false, "the lock must hold the zh: hashes of SHA256SUMS (a lock made from a registry)")
	_ = fs.Parse(args)
	if *dist == "" || *source == "" || *version == "" || *platforms == "" {
		fs.Usage()
		return errors.New("-dist, -source, -version and -platforms are required")
	}

	var lock lockFile
	if err := hclsimple.DecodeFile(*lockPath, nil, &lock); err != nil {
		return err
	}
	if len(lock.Providers) != 1 || lock.Providers[0].Address != *source {
		return fmt.Errorf("%s: want one provider block, %s; got %d", *lockPath, *source, len(lock.Providers))
	}
	entry := lock.Providers[0]
	if entry.Version != *version {
		return fmt.Errorf("%s: version %q, want %q", *lockPath, entry.Version, *version)
	}
	got := map[string]bool{}
	for _, h := range entry.Hashes {
		got[h] = true
	}

	typeName := (*source)[strings.LastIndex(*source, "/")+1:]
	prefix := "terraform-provider-" + typeName + "_" + *version + "_"
	want := map[string]string{} // hash -> what it is, for the messages

	sums, err := os.ReadFile(filepath.Join(*dist, prefix+"SHA256SUMS"))
	if err != nil {
		return err
	}
	entries := 0
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			return fmt.Errorf("SHA256SUMS line %q: want '<sha256>  <file>'", line)
		}
		entries++
		actual, err := fileSHA256(filepath.Join(*dist, name))
		if err != nil {
			return err
		}
		if actual != sum {
			return fmt.Errorf("SHA256SUMS says %s for %s, the file's is %s", sum, name, actual)
		}
		// Terraform takes every entry of a signed SHA256SUMS (the manifest's too), not only
		// the zips'.
		if *wantZH {
			want["zh:"+sum] = "zh: of " + name + " in SHA256SUMS"
		}
	}
	for _, p := range strings.Split(*platforms, ",") {
		zipPath := filepath.Join(*dist, prefix+p+".zip")
		h1, err := dirhash.HashZip(zipPath, dirhash.Hash1)
		if err != nil {
			return err
		}
		want[h1] = "h1: of " + p
	}

	var problems []string
	for h, what := range want {
		if !got[h] {
			problems = append(problems, "missing "+what+" ("+h+")")
		}
	}
	for h := range got {
		if _, ok := want[h]; !ok {
			problems = append(problems, "unexpected hash "+h)
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("%s does not match the release assets:\n  %s", *lockPath, strings.Join(problems, "\n  "))
	}
	zh := "no zh: hash (a mirror's lock)"
	if *wantZH {
		zh = fmt.Sprintf("the %d zh: hashes of SHA256SUMS", entries)
	}
	fmt.Printf("%s: %s %s has %s and the h1: hashes of %s, as computed from the zips\n",
		*lockPath, *source, entry.Version, zh, *platforms)
	return nil
}
