//go:build integration

package build_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packyard/packyard/internal/build"
)

func TestRebuildReusesLayer(t *testing.T) {
	res := buildDSC(t, "hello", build.Request{})
	log, _ := os.ReadFile(res.LogPath)
	if !bytes.Contains(log, []byte("reused")) {
		// First build of hello in this workspace: it made the layer.
		res = buildDSC(t, "hello", build.Request{})
		log, _ = os.ReadFile(res.LogPath)
	}
	if !bytes.Contains(log, []byte("build-dependency layer")) || !bytes.Contains(log, []byte("nothing to install")) {
		t.Errorf("rebuild log %s does not report a reused layer", res.LogPath)
	}
	for _, installing := range []string{"Unpacking ", "Setting up ", "apt-get build-dep"} {
		if bytes.Contains(log, []byte(installing)) {
			t.Errorf("rebuild log %s shows %q: something was installed", res.LogPath, installing)
		}
	}
	// The phases are timed and logged; a warm rebuild resolves nothing, so
	// its build-deps phase is a lookup, not an apt run.
	var names []string
	for _, p := range res.Phases {
		names = append(names, p.Name)
	}
	want := "session stage extract build-deps build collect close"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("rebuild phases = %q; want %q", got, want)
	}
	if d := build.PhaseSeconds(res.Phases, "build-deps"); d > 1 {
		t.Errorf("rebuild build-deps phase took %.2f s; want a layer lookup well under 1 s", d)
	}
	if !bytes.Contains(log, []byte("packyard: phases: session ")) {
		t.Errorf("rebuild log %s does not list the phases", res.LogPath)
	}
	t.Logf("rebuild phases: %s", build.FormatPhases(res.Phases))
}

// TestRebuildWithExtraRepositoryReusesLayer: with an extra repository (as
// packyard's own repository once something is published), a rebuild finds
// its layer through the index without apt, also after an unrelated package
// was added to that repository.
func TestRebuildWithExtraRepositoryReusesLayer(t *testing.T) {
	_, mgr, e := testEnv(t)
	ctx := context.Background()
	dpkg := build.NewDpkg(mgr, nil)
	work := t.TempDir()
	repo := filepath.Join(work, "repo")
	var extra []string
	native := func(name, buildDepends, buildCmd, outDir string) *build.Result {
		t.Helper()
		dir := filepath.Join(t.TempDir(), name+"-1.0")
		writeTree(t, dir, nativePackage(name, buildDepends, buildCmd))
		logPath := filepath.Join(itRoot, "logs", "TestRebuildWithExtraRepository-"+name+".log")
		_ = os.Remove(logPath)
		req := build.Request{SourceTree: dir, Env: e, OutDir: outDir, LogPath: logPath}
		if buildDepends != "" {
			req.ExtraRepositories = extra
		}
		res, err := dpkg.Build(ctx, req)
		if err != nil {
			t.Fatalf("building %s: %v", name, err)
		}
		return res
	}
	native("packyard-idx-dep", "", "true", repo)
	lines, key := signedFlatRepository(t, work, repo)
	extra = lines
	user := func() string {
		res := native("packyard-idx-user", "packyard-idx-dep", "test -e /usr/share/doc/packyard-idx-dep/marker", t.TempDir())
		log, _ := os.ReadFile(res.LogPath)
		return string(log)
	}
	if log := user(); !strings.Contains(log, "build-dependency layer") {
		t.Fatalf("first build with the extra repository has no build-dependency layer:\n%s", tail(log, 30))
	}
	// An unrelated package is published into the repository.
	other := native("packyard-idx-other", "", "true", t.TempDir())
	for _, f := range other.Files {
		if strings.HasSuffix(f, ".deb") {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			writeTree(t, repo, map[string]string{filepath.Base(f): string(data)})
		}
	}
	indexFlatRepository(t, repo, key)
	log := user()
	if !strings.Contains(log, "found by index") || strings.Contains(log, "apt-get") {
		t.Errorf("rebuild after an unrelated publish did not find its layer by the index without apt:\n%s", tail(log, 30))
	}
}
