package offline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/packyard/packyard/internal/archive"
	"github.com/packyard/packyard/internal/config"
)

func TestDepIndex(t *testing.T) {
	var x depIndex
	x.add("hello", map[string]string{"debhelper": "13.11.4", "m4": "1.4.19-3"})
	x.add("cjson", map[string]string{"debhelper": "13.11.4", "cmake": "3.25.1-1"})
	got := x.ids()
	want := []archive.PackageID{{Package: "cmake", Version: "3.25.1-1"}, {Package: "debhelper", Version: "13.11.4"}, {Package: "m4", Version: "1.4.19-3"}}
	if !slices.Equal(got, want) {
		t.Errorf("ids() = %v; want %v", got, want)
	}
	// neededBy ignores the architecture a resolved DebRef carries.
	if got := x.neededBy(archive.PackageID{Package: "debhelper", Version: "13.11.4", Architecture: "all"}); got != "cjson, hello" {
		t.Errorf("neededBy(debhelper) = %q; want %q", got, "cjson, hello")
	}
}

func TestUnresolved(t *testing.T) {
	ids := []archive.PackageID{{Package: "a", Version: "1"}, {Package: "b", Version: "2"}, {Package: "b", Version: "3"}}
	refs := []archive.DebRef{{PackageID: archive.PackageID{Package: "b", Version: "2", Architecture: "amd64"}}}
	got := unresolved(ids, refs)
	want := []archive.PackageID{{Package: "a", Version: "1"}, {Package: "b", Version: "3"}}
	if !slices.Equal(got, want) {
		t.Errorf("unresolved = %v; want %v", got, want)
	}
}

func TestCachedByName(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"libstdc++6_12.2.0-14_amd64.deb", "perl_1%3a5.36.0-7_amd64.deb"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		id   archive.PackageID
		want bool
	}{
		{archive.PackageID{Package: "libstdc++6", Version: "12.2.0-14"}, true},
		{archive.PackageID{Package: "perl", Version: "1:5.36.0-7"}, true},
		{archive.PackageID{Package: "perl", Version: "5.36.0-7"}, false},
		{archive.PackageID{Package: "libstdc*", Version: "12.2.0-14"}, false},
	}
	for _, tt := range tests {
		if got := cachedByName(dir, tt.id); got != tt.want {
			t.Errorf("cachedByName(%v) = %t; want %t", tt.id, got, tt.want)
		}
	}
}

// TestCheckEmptyWorkspace checks that every gap of a never-primed
// workspace comes back at once, as one MissingError with the command.
func TestCheckEmptyWorkspace(t *testing.T) {
	ws := t.TempDir()
	cfg := config.Default(ws, "bookworm", "amd64", []config.Archive{{Name: "debian", URI: "http://mirror.invalid/debian",
		Suites: []string{"bookworm"}, Components: []string{"main"}, Architectures: []string{"amd64"}}})
	rep, err := Check(context.Background(), cfg, nil, nil, Spec{Codename: "bookworm", Arch: "amd64", Command: "packyard prime hello"})
	var me *archive.MissingError
	if !errors.As(err, &me) || !errors.Is(err, archive.ErrMissing) {
		t.Fatalf("Check = %v; want a *archive.MissingError", err)
	}
	if me.Command != "packyard prime hello" {
		t.Errorf("Command = %q; want the spec's", me.Command)
	}
	var env, index int
	for _, it := range me.Items {
		switch {
		case strings.HasPrefix(it, "build environment bookworm-amd64-buildd"):
			env++
		case strings.HasPrefix(it, "pantry index debian bookworm main/"):
			index++
		}
	}
	if env != 1 || index != 2 || len(me.Items) != 3 {
		t.Errorf("items = %q; want the environment and the 2 indexes (Sources, Packages)", me.Items)
	}
	if rep == nil || rep.Env != "bookworm-amd64-buildd" {
		t.Errorf("report = %+v; want the environment named", rep)
	}
}

func TestPrimeRefusesOffline(t *testing.T) {
	cfg := config.Default(t.TempDir(), "bookworm", "amd64", nil)
	cfg.Offline = true
	if _, err := Prime(context.Background(), cfg, nil, nil, Spec{}, nil); !errors.Is(err, ErrNeedsNetwork) {
		t.Errorf("Prime offline = %v; want ErrNeedsNetwork", err)
	}
	if _, err := Refresh(context.Background(), cfg, nil, nil, nil); !errors.Is(err, ErrNeedsNetwork) {
		t.Errorf("Refresh offline = %v; want ErrNeedsNetwork", err)
	}
}

func TestDropLocal(t *testing.T) {
	cfg := config.Default(t.TempDir(), "bookworm", "amd64", nil)
	dist := cfg.DistributionName("bookworm", "unstable")
	dir := filepath.Join(cfg.WorkspaceDir().Repo(), "dists", dist, "main", "binary-amd64")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	idx := "Package: libfoo1\nVersion: 2.0-1\nArchitecture: amd64\n\nPackage: foo-data\nVersion: 2.0-1\nArchitecture: all\n"
	if err := os.WriteFile(filepath.Join(dir, "Packages"), []byte(idx), 0o644); err != nil {
		t.Fatal(err)
	}
	var x depIndex
	x.add("bar", map[string]string{"libfoo1": "2.0-1", "foo-data": "1.0-1", "make": "4.3-4.1"})
	x.dropLocal(cfg, dist, "amd64")
	want := []archive.PackageID{{Package: "foo-data", Version: "1.0-1"}, {Package: "make", Version: "4.3-4.1"}}
	if got := x.ids(); !slices.Equal(got, want) {
		t.Errorf("after dropLocal ids() = %v; want %v (only the local repository's exact version dropped)", got, want)
	}
}
