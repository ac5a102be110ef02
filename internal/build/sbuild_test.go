package build

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/env"
	"github.com/packyard/packyard/internal/run"
)

func TestSbuildArgs(t *testing.T) {
	common := []string{"sbuild", "--chroot-mode=unshare", "--chroot=/h/.cache/sbuild/bookworm.tar", "--dist=bookworm", "--arch=amd64",
		"--build-dep-resolver=apt", "--no-run-lintian", "--no-run-piuparts", "--no-run-autopkgtest", "--no-apt-upgrade", "--no-apt-distupgrade"}
	with := func(extra ...string) []string { return append(append([]string(nil), common...), extra...) }
	base := SbuildOptions{Tarball: "/h/.cache/sbuild/bookworm.tar", Codename: "bookworm", Architecture: "amd64", DSC: "hello_2.10-3.dsc"}
	tests := []struct {
		name string
		mod  func(*SbuildOptions)
		want []string
	}{
		{"default", func(*SbuildOptions) {}, with("--arch-all", "--no-source", "hello_2.10-3.dsc")},
		{"no arch all with source", func(o *SbuildOptions) { o.NoArchAll, o.Source = true, true },
			with("--no-arch-all", "--source", "hello_2.10-3.dsc")},
		{"profiles, extra packages, build path", func(o *SbuildOptions) {
			o.Profiles = []string{"nodoc", "nocheck"}
			o.AddDepends = []string{"eatmydata"}
			o.BuildPath = "/build/hello-2.10"
		}, with("--arch-all", "--no-source", "--profiles=nocheck,nodoc", "--add-depends=eatmydata", "--build-path=/build/hello-2.10", "hello_2.10-3.dsc")},
		{"extra repository pinned", func(o *SbuildOptions) {
			o.ExtraRepositories = []string{"deb http://127.0.0.1:4321/r0/ bookworm-packyard-unstable main"}
			o.ExtraRepositoryKeys = []string{"/h/builds/x/extra-key-0-0.gpg"}
			o.PinOrigin = "127.0.0.1"
		}, with("--arch-all", "--no-source",
			"--extra-repository=deb http://127.0.0.1:4321/r0/ bookworm-packyard-unstable main",
			"--extra-repository-key=/h/builds/x/extra-key-0-0.gpg",
			`--chroot-setup-commands=printf 'Package: *\nPin: origin 127.0.0.1\nPin-Priority: 1001\n' > /etc/apt/preferences.d/packyard`,
			"hello_2.10-3.dsc")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.mod(&o)
			if diff := cmp.Diff(tt.want, SbuildArgs(o)); diff != "" {
				t.Errorf("SbuildArgs mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSbuildStatus(t *testing.T) {
	tests := []struct{ log, want string }{
		{"Build-Time: 105\nStatus: successful\nVersion: 2.10-3\n", "successful"},
		{"Status: attempted\n", "attempted"},
		{"E: Status: successful is not here\nno summary\n", ""},
		{"Status: failed\n...\nStatus: given-back\n", "given-back"},
	}
	for _, tt := range tests {
		if got := SbuildStatus(tt.log); got != tt.want {
			t.Errorf("SbuildStatus(%q) = %q; want %q", tt.log, got, tt.want)
		}
	}
}

func TestRewriteFileRepository(t *testing.T) {
	line, dir, ok := RewriteFileRepository("deb [signed-by=/w/keys/packyard.gpg] file:/w/repo bookworm-packyard-unstable main", "http://127.0.0.1:9/r0/")
	if !ok || dir != "/w/repo" || line != "deb http://127.0.0.1:9/r0/ bookworm-packyard-unstable main" {
		t.Errorf("RewriteFileRepository = %q, %q, %v", line, dir, ok)
	}
	line, _, _ = RewriteFileRepository("deb [trusted=yes arch=amd64] file:/r ./", "http://127.0.0.1:9/r1/")
	if line != "deb [trusted=yes arch=amd64] http://127.0.0.1:9/r1/ ./" {
		t.Errorf("RewriteFileRepository kept options wrong: %q", line)
	}
	if _, _, ok := RewriteFileRepository("deb http://host/x y main", "http://b/"); ok {
		t.Error("RewriteFileRepository rewrote a remote line")
	}
	if got := SignedBy("deb [arch=amd64 signed-by=/a.gpg,/b.asc] file:/r d main"); !cmp.Equal(got, []string{"/a.gpg", "/b.asc"}) {
		t.Errorf("SignedBy = %v", got)
	}
}

func TestNextSubordinateRange(t *testing.T) {
	tests := []struct {
		file string
		want int
	}{
		{"", 100000},
		{"alice:100000:65536\n", 165536},
		{"alice:100000:65536\nbob:300000:65536\n", 165536},
		{"bob:120000:1000\nalice:100000:65536\n", 165536},
		{"x:500000:10\n", 100000},
		{"broken line\nx:100000:notanumber\n", 100000},
	}
	for _, tt := range tests {
		if got := NextSubordinateRange(tt.file, 100000, 65536); got != tt.want {
			t.Errorf("NextSubordinateRange(%q) = %d; want %d", tt.file, got, tt.want)
		}
	}
	if !HasSubordinateRange("a:1:2\npackyard-sbuild:200000:65536\n", "packyard-sbuild") || HasSubordinateRange("a:1:2\n", "packyard-sbuild") {
		t.Error("HasSubordinateRange wrong")
	}
}

func TestUseraddArgs(t *testing.T) {
	want := []string{"useradd", "--system", "--create-home", "--home-dir", "/var/lib/packyard-sbuild", "--shell", "/usr/sbin/nologin",
		"--user-group", "--comment", "packyard sbuild builds", "packyard-sbuild"}
	if diff := cmp.Diff(want, UseraddArgs("packyard-sbuild", "/var/lib/packyard-sbuild")); diff != "" {
		t.Errorf("UseraddArgs mismatch (-want +got):\n%s", diff)
	}
}

func TestSbuildEnvironment(t *testing.T) {
	base := []string{"HOME=/w/tmp/sbuild/x/.home", "USER=alice", "LOGNAME=alice",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}
	tests := []struct {
		name, opts string
		want       []string
	}{
		{"no build options", "", base},
		{"build options", "nocheck parallel=4", append(append([]string(nil), base...), "DEB_BUILD_OPTIONS=nocheck parallel=4")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, SbuildEnvironment("alice", "/w/tmp/sbuild/x/.home", tt.opts)); diff != "" {
				t.Errorf("SbuildEnvironment mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSbuildPlaces(t *testing.T) {
	cfg := config.Default("/w", "bookworm", "amd64", nil)
	s := NewSbuild(env.NewManager(cfg, nil, nil), nil)
	tests := []struct {
		name string
		u    buildUser
		want sbuildPlaces
	}{
		{"dedicated user", buildUser{Name: "packyard-sbuild", Home: "/var/lib/packyard-sbuild", Switch: true},
			sbuildPlaces{Cache: "/var/lib/packyard-sbuild/.cache/sbuild/" + workspaceKey("/w"), Builds: "/var/lib/packyard-sbuild/builds/" + workspaceKey("/w")}},
		{"calling user", buildUser{Name: "alice", Home: "/home/alice"},
			sbuildPlaces{Cache: "/w/cache/sbuild", Builds: "/w/tmp/sbuild"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.places(&tt.u); got != tt.want {
				t.Errorf("places(%s) = %+v; want %+v", tt.u.Name, got, tt.want)
			}
		})
	}
	// Another workspace gets directories of its own in the user's home.
	other := NewSbuild(env.NewManager(config.Default("/v", "bookworm", "amd64", nil), nil, nil), nil)
	u := tests[0].u
	if a, b := s.places(&u), other.places(&u); a.Cache == b.Cache || a.Builds == b.Builds {
		t.Errorf("two workspaces share sbuild places: %+v and %+v", a, b)
	}
	if k := workspaceKey("/w"); k != "ws-"+k[3:] || len(k) != 15 || k != workspaceKey("/w/") {
		t.Errorf("workspaceKey(/w) = %q; want ws- and 12 hex digits, the same for /w/", k)
	}
}

func TestRunStoppable(t *testing.T) {
	s := NewSbuild(nil, nil)
	tests := []struct {
		name   string
		script string
		grace  time.Duration
		max    time.Duration
		mark   string // what the script leaves in its mark file
	}{
		// sbuild's way: clean up on SIGTERM, then exit.
		{"stops on SIGTERM", `trap 'echo cleaned > "$0"; exit 3' TERM; echo started > "$0"; while :; do sleep 0.05; done`, time.Minute, 20 * time.Second, "cleaned"},
		{"killed after the grace time", `trap '' TERM; echo started > "$0"; while :; do sleep 0.05; done`, 500 * time.Millisecond, 20 * time.Second, "started"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mark := filepath.Join(t.TempDir(), "mark")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				for ctx.Err() == nil {
					if data, _ := os.ReadFile(mark); strings.TrimSpace(string(data)) == "started" {
						cancel()
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
			}()
			start := time.Now()
			err := s.runStoppable(ctx, run.Cmd{Args: []string{"sh", "-c", tt.script, mark}, Setpgid: true}, tt.grace)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("runStoppable = %v; want an error wrapping context.Canceled", err)
			}
			if d := time.Since(start); d > tt.max {
				t.Errorf("runStoppable took %v; want under %v", d, tt.max)
			}
			if data, _ := os.ReadFile(mark); strings.TrimSpace(string(data)) != tt.mark {
				t.Errorf("mark = %q; want %q", data, tt.mark)
			}
		})
	}
}

func TestSweepBuilds(t *testing.T) {
	builds := t.TempDir()
	old := time.Now().Add(-2 * time.Hour)
	mk := func(name string, mtime time.Time, files ...string) string {
		dir := filepath.Join(builds, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chtimes(dir, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	left := mk("left-over", old, "hello_2.10-3.dsc")
	held := mk("running", old)
	kept := mk("kept", old, keptMark)
	keptLong := mk("kept-long", old, keptMark)
	longAgo := time.Now().Add(-10 * 24 * time.Hour)
	if err := os.Chtimes(filepath.Join(keptLong, keptMark), longAgo, longAgo); err != nil {
		t.Fatal(err)
	}
	fresh := mk("fresh", time.Now())
	lock, err := lockWork(held)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	s := NewSbuild(nil, nil)
	removed, freed := s.sweepBuilds(builds, time.Hour, 0)
	if !cmp.Equal(removed, staleBuilds{stale: []string{"left-over"}}, cmp.AllowUnexported(staleBuilds{})) {
		t.Errorf("sweepBuilds removed %+v; want left-over", removed)
	}
	if freed != 0 {
		t.Errorf("sweepBuilds freed %d bytes; want 0 (empty files)", freed)
	}
	exist := func(when string, want map[string]bool) {
		for dir, w := range want {
			_, err := os.Stat(dir)
			if got := err == nil; got != w {
				t.Errorf("%s, %s exists = %v; want %v", when, filepath.Base(dir), got, w)
			}
		}
	}
	exist("after sweepBuilds", map[string]bool{left: false, held: true, kept: true, keptLong: true, fresh: true})
	// With build.kept-max-age at a week, the build kept ten days ago goes.
	removed, _ = s.sweepBuilds(builds, time.Hour, 7*24*time.Hour)
	if !cmp.Equal(removed, staleBuilds{kept: []string{"kept-long"}}, cmp.AllowUnexported(staleBuilds{})) {
		t.Errorf("sweepBuilds with kept-max-age removed %+v; want kept-long", removed)
	}
	exist("after sweepBuilds with kept-max-age", map[string]bool{held: true, kept: true, keptLong: false, fresh: true})
}

// TestKeptBuilds lists and removes kept build directories, and refuses
// one that was not kept and one a build holds.
func TestKeptBuilds(t *testing.T) {
	builds := t.TempDir()
	mk := func(name string, kept bool, at time.Time) string {
		dir := filepath.Join(builds, name)
		if err := os.MkdirAll(filepath.Join(dir, "hello-2.10"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "hello-2.10", "log"), make([]byte, 300), 0o644); err != nil {
			t.Fatal(err)
		}
		if kept {
			mark := filepath.Join(dir, keptMark)
			if err := os.WriteFile(mark, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(mark, at, at); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	now := time.Now()
	newer := mk("20261121T100000-b", true, now.Add(-time.Hour))
	older := mk("20261120T100000-a", true, now.Add(-25*time.Hour))
	mk("20261121T110000-c", false, now)
	got := keptBuildsIn(builds)
	if len(got) != 2 || got[0].Dir != older || got[1].Dir != newer || got[0].Bytes != 300 {
		t.Fatalf("keptBuildsIn = %+v; want the two kept, oldest first, 300 bytes each", got)
	}
	s := NewSbuild(nil, nil)
	if err := s.removeKeptBuildIn(builds, "20261121T110000-c"); !errors.Is(err, ErrNotKept) {
		t.Errorf("removing a build that was not kept = %v; want ErrNotKept", err)
	}
	lock, err := lockWork(newer)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.removeKeptBuildIn(builds, filepath.Base(newer)); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("removing a held build = %v; want in use", err)
	}
	lock.Close()
	for _, d := range []string{newer, older} {
		if err := s.removeKeptBuildIn(builds, filepath.Base(d)); err != nil {
			t.Errorf("removing %s: %v", filepath.Base(d), err)
		}
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still there", d)
		}
	}
	if err := s.RemoveKeptBuild("../x"); err == nil {
		t.Error("RemoveKeptBuild(../x) succeeded")
	}
}
