package env

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	curTar   = "bookworm-amd64-buildd-20261121T101500-0123456789ab.tar"
	staleTar = "bookworm-amd64-buildd-20261001T080000-ba9876543210.tar"
	otherTar = "trixie-amd64-buildd-20261001T080000-aaaaaaaaaaaa.tar"
)

func TestTarballName(t *testing.T) {
	created := time.Date(2026, 11, 21, 11, 15, 0, 0, time.FixedZone("CET", 3600))
	e := &Env{Codename: "bookworm", Architecture: "amd64", Variant: "buildd",
		Manifest: Manifest{Created: created, StatusSHA256: "0123456789abcdef0123"}}
	if got := TarballName(e); got != curTar {
		t.Errorf("TarballName = %q; want %q", got, curTar)
	}
}

func TestSelectTarballs(t *testing.T) {
	names := []string{
		curTar,
		staleTar,
		otherTar,
		curTar + ".tmp-abc123",
		staleTar + ".tmp-x9",
		"bookworm-amd64.tar",     // sbuild's own default name: not ours
		"bookworm-amd64.tar.zst", // idem
		"notes.txt",
		curTar + ".lock",
	}
	current := map[string]bool{curTar: true}
	tests := []struct {
		name    string
		envName string
		want    []string
	}{
		{"all environments", "", []string{staleTar, otherTar, curTar + ".tmp-abc123", staleTar + ".tmp-x9"}},
		{"one environment", "bookworm-amd64-buildd", []string{staleTar, curTar + ".tmp-abc123", staleTar + ".tmp-x9"}},
		{"no such environment", "sid-amd64-buildd", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SelectTarballs(names, current, tt.envName)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("SelectTarballs(%q) mismatch (-want +got):\n%s", tt.envName, diff)
			}
		})
	}
}

// writeFile writes size bytes to dir/name and returns its path.
func writeFile(t *testing.T, dir, name string, size int) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(strings.Repeat("x", size)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCollectTarballs(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, curTar, 10)
	writeFile(t, dir, staleTar, 100)
	writeFile(t, dir, otherTar, 1000)
	writeFile(t, dir, staleTar+".tmp-old", 7)
	writeFile(t, dir, "notes.txt", 1)
	// A build still runs sbuild on an older tarball of another environment.
	inUse := "trixie-amd64-buildd-20260901T080000-bbbbbbbbbbbb.tar"
	writeFile(t, dir, inUse, 5)
	held, err := UseTarball(filepath.Join(dir, inUse))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	// Another build is writing a tarball.
	writing, wlock, err := CreateTarballTemp(dir, "sid-amd64-buildd-20261121T120000-cccccccccccc.tar")
	if err != nil {
		t.Fatal(err)
	}
	defer wlock.Close()

	removed, freed, err := CollectTarballs(dir, map[string]bool{curTar: true}, "")
	if err != nil {
		t.Fatalf("CollectTarballs: %v", err)
	}
	sort.Strings(removed)
	want := []string{staleTar, staleTar + ".tmp-old", otherTar}
	sort.Strings(want)
	if diff := cmp.Diff(want, removed); diff != "" {
		t.Errorf("CollectTarballs removed mismatch (-want +got):\n%s", diff)
	}
	if freed != 1107 {
		t.Errorf("CollectTarballs freed %d bytes; want 1107", freed)
	}
	for _, n := range []string{curTar, inUse, filepath.Base(writing), "notes.txt"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Errorf("CollectTarballs removed %s, which is current, in use, being written or not a tarball: %v", n, err)
		}
	}
	for _, n := range want {
		if _, err := os.Stat(filepath.Join(dir, n)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("after CollectTarballs, stat %s = %v; want not exist", n, err)
		}
	}

	// Once released, the old tarball and the abandoned temporary go.
	held.Close()
	wlock.Close()
	removed, _, err = CollectTarballs(dir, map[string]bool{curTar: true}, "")
	sort.Strings(removed)
	if diff := cmp.Diff([]string{filepath.Base(writing), inUse}, removed); err != nil || diff != "" {
		t.Errorf("CollectTarballs after release = %v; removed mismatch (-want +got):\n%s", err, diff)
	}
}

func TestCollectEnvTarballs(t *testing.T) {
	dir := t.TempDir()
	e := &Env{Codename: "bookworm", Architecture: "amd64", Variant: "buildd",
		Manifest: Manifest{Created: time.Date(2026, 11, 21, 10, 15, 0, 0, time.UTC), StatusSHA256: "0123456789abcdef"}}
	for _, n := range []string{curTar, staleTar, otherTar} {
		writeFile(t, dir, n, 1)
	}
	removed, _, err := CollectEnvTarballs(dir, e)
	if err != nil || !cmp.Equal(removed, []string{staleTar}) {
		t.Errorf("CollectEnvTarballs = %v, %v; want [%s], nil", removed, err, staleTar)
	}
	if _, err := os.Stat(filepath.Join(dir, otherTar)); err != nil {
		t.Errorf("CollectEnvTarballs removed another environment's tarball: %v", err)
	}
}

func TestUseTarball(t *testing.T) {
	dir := t.TempDir()
	if _, err := UseTarball(filepath.Join(dir, curTar)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("UseTarball(missing) = %v; want an error wrapping os.ErrNotExist", err)
	}
	// A writer's lock becomes a shared one once the tarball is in place,
	// and collection then leaves it alone even when it is no longer current.
	tmp, f, err := CreateTarballTemp(dir, curTar)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	final := filepath.Join(dir, curTar)
	if err := os.Rename(tmp, final); err != nil {
		t.Fatal(err)
	}
	if err := HoldTarball(f, final); err != nil {
		t.Fatalf("HoldTarball: %v", err)
	}
	other, err := UseTarball(final)
	if err != nil {
		t.Fatalf("UseTarball beside a holder: %v", err)
	}
	other.Close()
	if removed, _, _ := CollectTarballs(dir, nil, ""); len(removed) != 0 {
		t.Errorf("CollectTarballs removed %v, which a build holds", removed)
	}
}
