//go:build integration

package archive

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"pault.ag/go/debian/version"

	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/run"
)

// TestRealArchive refreshes from the machine's own apt sources and fetches
// and verifies hello. PACKYARD_TEST_PANTRY_WORKSPACE reuses a workspace
// between runs (the second run exercises the no-change path).
func TestRealArchive(t *testing.T) {
	archives, err := ParseAptSources("/")
	if err != nil {
		t.Fatal(err)
	}
	var debian []config.Archive
	for _, a := range archives {
		if a.SignedBy != "" {
			debian = append(debian, a)
		}
	}
	if len(debian) == 0 {
		t.Skip("no apt sources with a keyring on this machine")
	}
	ws := os.Getenv("PACKYARD_TEST_PANTRY_WORKSPACE")
	if ws == "" {
		ws = t.TempDir()
	}
	cfg := config.Default(ws, "bookworm", "amd64", debian)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p, err := OpenPantry(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := time.Now()
	res, err := p.Refresh(ctx, nil, RefreshOptions{Force: false})
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	t.Logf("refresh took %v: %+v", time.Since(start), res)
	// Past the TTL with nothing changed upstream: InRelease only.
	start = time.Now()
	later := func() time.Time { return time.Now().Add(7 * time.Hour) }
	res, err = p.Refresh(ctx, nil, RefreshOptions{Now: later})
	if err != nil {
		t.Fatalf("no-change Refresh: %v", err)
	}
	t.Logf("no-change refresh took %v", time.Since(start))
	for _, r := range res {
		if len(r.Fetched) != 0 {
			t.Errorf("no-change refresh of %s %s fetched %v", r.Archive, r.Suite, r.Fetched)
		}
	}
	// Forced: every index re-hashed, none downloaded unless changed upstream.
	if res, err = p.Refresh(ctx, nil, RefreshOptions{Force: true}); err != nil {
		t.Fatalf("forced Refresh: %v", err)
	}
	for _, r := range res {
		t.Logf("forced refresh of %s %s: %s, fetched %v", r.Archive, r.Suite, r.Status, r.Fetched)
	}
	if _, err := p.Status(StatusOptions{Verify: true}); err != nil {
		t.Errorf("Status after refresh: %v", err)
	}
	ref, err := p.FindSource("hello")
	if err != nil {
		t.Fatalf("FindSource(hello): %v", err)
	}
	t.Logf("hello: %s from %s %s", ref.Version, ref.Archive, ref.Suite)
	var nf *NotFoundError
	if _, err := p.FindSource("python3-requests"); !errors.As(err, &nf) || !slices.Contains(nf.BuiltBy, "requests") {
		t.Errorf("FindSource(python3-requests) = %v; want a hint naming source requests", err)
	}
	dest := t.TempDir()
	dsc, err := p.FetchSource(ctx, ref, dest)
	if err != nil {
		t.Fatalf("FetchSource: %v", err)
	}
	if filepath.Dir(dsc) != dest {
		t.Errorf("dsc %s not in %s", dsc, dest)
	}
	entries, _ := os.ReadDir(dest)
	if len(entries) != len(ref.Files) {
		t.Errorf("dest holds %d entries; want %d files", len(entries), len(ref.Files))
	}
	start = time.Now()
	idx, err := p.LoadIndex(Selection{Suites: []string{"bookworm"}, Components: []string{"main"}, Architectures: []string{"amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("LoadIndex bookworm main: %v, %d Sources + %d Packages stanzas", time.Since(start),
		len(idx.Sources[0].Paragraphs), len(idx.Packages[0].Paragraphs))

	aptOracle(t, p, cfg)
	secondSuite(t, cfg, logger)

	// A second architecture on request.
	for i := range cfg.Archives {
		if slices.Contains(cfg.Archives[i].Suites, "bookworm-updates") {
			cfg.Archives[i].Suites = []string{"bookworm-updates"}
			cfg.Archives[i].Architectures = []string{"amd64", "i386"}
			cfg.Archives = cfg.Archives[i : i+1]
			break
		}
	}
	if _, err := p.Refresh(ctx, nil, RefreshOptions{}); err != nil {
		t.Fatalf("Refresh with i386: %v", err)
	}
	idx, err = p.LoadIndex(Selection{Architectures: []string{"i386"}, NoSources: true})
	if err != nil || len(idx.Packages) != 1 || len(idx.Packages[0].Paragraphs) == 0 {
		t.Fatalf("LoadIndex i386 = %v, %v", idx, err)
	}
}

// aptOracle checks the priming helpers with apt itself: apt reads the
// pantry's lists (verifying InRelease on its own) and installs hello's .deb
// from the cache filled by FetchDebs, with every network request refused.
func aptOracle(t *testing.T, p *Pantry, cfg *config.Config) {
	if err := run.Require("apt-get"); err != nil {
		t.Skip(err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	lists, cache, parts := filepath.Join(dir, "lists"), filepath.Join(dir, "cache"), filepath.Join(dir, "parts")
	for _, d := range []string{filepath.Join(lists, "partial"), parts} {
		os.MkdirAll(d, 0o755)
	}
	if _, err := p.WriteAptLists(lists, Selection{NoSources: true}); err != nil {
		t.Fatal(err)
	}
	debs, err := p.ResolveDebs("amd64", []PackageID{{Package: "hello"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.FetchDebs(ctx, debs, cache, nil); err != nil {
		t.Fatal(err)
	}
	var sources strings.Builder
	for _, a := range cfg.Archives {
		for _, s := range a.Suites {
			fmt.Fprintf(&sources, "deb [signed-by=%s] %s %s %s\n", a.SignedBy, a.URI, s, strings.Join(a.Components, " "))
		}
	}
	srcList := filepath.Join(dir, "sources.list")
	os.WriteFile(srcList, []byte(sources.String()), 0o644)
	var log strings.Builder
	err = run.New(nil).Run(ctx, run.Cmd{Log: &log, Args: []string{"apt-get",
		"-o", "Dir::State::Lists=" + lists, "-o", "Dir::Cache::archives=" + cache,
		"-o", "Dir::Etc::SourceList=" + srcList, "-o", "Dir::Etc::SourceParts=" + parts,
		"-o", "Dir::Cache::pkgcache=", "-o", "Dir::Cache::srcpkgcache=",
		"-o", "Acquire::http::Proxy=http://127.0.0.1:9", "-o", "Debug::NoLocking=1",
		"install", "--download-only", "-y", "hello"}})
	if err != nil {
		t.Fatalf("apt-get install --download-only hello from the primed cache, network refused: %v\n%s", err, log.String())
	}
	t.Logf("apt used the pantry lists and the primed cache:\n%s", log.String())
}

// secondSuite adds trixie as a second archive on the same mirror, a source
// of newer packages: FindSource must pick the newer hello from it.
func secondSuite(t *testing.T, base *config.Config, logger *slog.Logger) {
	var mirror config.Archive
	for _, a := range base.Archives {
		if slices.Contains(a.Suites, "bookworm") {
			mirror = a
		}
	}
	if mirror.URI == "" {
		t.Skip("no bookworm archive")
	}
	trixie := mirror
	trixie.Name, trixie.Suites = "trixie", []string{"trixie"}
	cfg := config.Default(t.TempDir(), "bookworm", "amd64", []config.Archive{mirror, trixie})
	p, err := OpenPantry(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Refresh(context.Background(), nil, RefreshOptions{}); err != nil {
		t.Fatalf("Refresh with trixie: %v", err)
	}
	all, err := p.FindSourceAll("hello")
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := p.FindSource("hello")
	t.Logf("hello versions: %d; newest %s from %s %s", len(all), ref.Version, ref.Archive, ref.Suite)
	for _, r := range all {
		if version.Compare(mustVersion(r.Version), mustVersion(ref.Version)) > 0 {
			t.Errorf("FindSource chose %s but %s %s is newer", ref.Version, r.Suite, r.Version)
		}
	}
}
