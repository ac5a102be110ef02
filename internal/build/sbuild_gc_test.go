package build

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/packyard/packyard/internal/env"
)

func TestSelectStaleBuilds(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	dirs := []buildDir{
		{Name: "b-left-over", ModTime: now.Add(-2 * time.Hour)},
		{Name: "a-left-over", ModTime: now.Add(-25 * time.Hour)},
		{Name: "kept-old", ModTime: now.Add(-30 * 24 * time.Hour), Kept: true, KeptAt: now.Add(-8 * 24 * time.Hour)},
		// Changed long ago, kept just now: the keeping counts.
		{Name: "kept-fresh", ModTime: now.Add(-30 * 24 * time.Hour), Kept: true, KeptAt: now.Add(-time.Minute)},
		{Name: "fresh", ModTime: now.Add(-59 * time.Minute)},
	}
	for _, c := range []struct {
		keptAge time.Duration
		want    staleBuilds
	}{
		{0, staleBuilds{stale: []string{"a-left-over", "b-left-over"}}},
		{7 * 24 * time.Hour, staleBuilds{stale: []string{"a-left-over", "b-left-over"}, kept: []string{"kept-old"}}},
		{time.Minute, staleBuilds{stale: []string{"a-left-over", "b-left-over"}, kept: []string{"kept-fresh", "kept-old"}}},
	} {
		got := selectStaleBuilds(dirs, now, time.Hour, c.keptAge)
		if diff := cmp.Diff(c.want, got, cmp.AllowUnexported(staleBuilds{})); diff != "" {
			t.Errorf("selectStaleBuilds with kept age %v mismatch (-want +got):\n%s", c.keptAge, diff)
		}
	}
}

func TestSbuildGCWithoutUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the dedicated sbuild user is used only as root")
	}
	s := NewSbuild(nil, nil)
	s.User = "packyard-no-such-user"
	rep, err := s.GC(context.Background())
	if err != nil || len(rep.Tarballs)+len(rep.BuildDirs) != 0 || rep.Bytes != 0 {
		t.Errorf("GC without an sbuild user = %+v, %v; want nothing collected, nil", rep, err)
	}
}

// TestEnsureTarball makes the tarball of a small tree, holds it while
// "sbuild runs", and checks that a new state of the environment gets a new
// tarball while the old one, once released, is collected.
func TestEnsureTarball(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("without root the tree is read from a user namespace")
	}
	root := filepath.Join(t.TempDir(), "root")
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "debian_version"), []byte("12.8\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := &env.Env{Codename: "bookworm", Architecture: "amd64", Variant: "buildd", Root: root,
		Manifest: env.Manifest{Created: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), StatusSHA256: "aaaa"}}
	s := NewSbuild(nil, nil)
	cache := filepath.Join(t.TempDir(), "cache")
	u := &buildUser{}
	first, lock1, err := s.ensureTarball(context.Background(), e, u, cache)
	if err != nil {
		t.Fatalf("ensureTarball: %v", err)
	}
	if filepath.Base(first) != env.TarballName(e) {
		t.Errorf("ensureTarball = %s; want %s", filepath.Base(first), env.TarballName(e))
	}
	again, lock2, err := s.ensureTarball(context.Background(), e, u, cache)
	if err != nil || again != first {
		t.Fatalf("ensureTarball again = %s, %v; want %s (reused)", again, err, first)
	}
	lock2.Close()

	// The environment is refreshed while a build still uses the first one.
	e.Manifest.Created = e.Manifest.Created.Add(24 * time.Hour)
	second, lock3, err := s.ensureTarball(context.Background(), e, u, cache)
	if err != nil {
		t.Fatalf("ensureTarball after refresh: %v", err)
	}
	defer lock3.Close()
	if second == first {
		t.Fatalf("ensureTarball after refresh = %s; want a new name", second)
	}
	if _, err := os.Stat(first); err != nil {
		t.Errorf("the tarball a build holds was removed: %v", err)
	}
	lock1.Close()
	removed, freed, err := env.CollectTarballs(cache, map[string]bool{filepath.Base(second): true}, "")
	if err != nil || !cmp.Equal(removed, []string{filepath.Base(first)}) || freed == 0 {
		t.Errorf("CollectTarballs = %v, %d, %v; want [%s], its size, nil", removed, freed, err, filepath.Base(first))
	}
	if _, err := os.Stat(first); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("released stale tarball: stat = %v; want not exist", err)
	}
	if _, err := os.Stat(second); err != nil {
		t.Errorf("current tarball: %v", err)
	}
	tmps, _ := filepath.Glob(filepath.Join(cache, "*.tmp-*"))
	if len(tmps) != 0 {
		t.Errorf("temporaries left: %v", tmps)
	}
}
