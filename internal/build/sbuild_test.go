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
			sbuildPlaces{Cache: "/var/lib/packyard-sbuild/.cache/sbuild", Builds: "/var/lib/packyard-sbuild/builds"}},
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
	fresh := mk("fresh", time.Now())
	lock, err := lockWork(held)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	removed, freed := NewSbuild(nil, nil).sweepBuilds(builds, time.Hour)
	if !cmp.Equal(removed, []string{"left-over"}) {
		t.Errorf("sweepBuilds removed %v; want [left-over]", removed)
	}
	if freed != 0 {
		t.Errorf("sweepBuilds freed %d bytes; want 0 (empty files)", freed)
	}
	tests := []struct {
		dir  string
		want bool
	}{{left, false}, {held, true}, {kept, true}, {fresh, true}}
	for _, tt := range tests {
		_, err := os.Stat(tt.dir)
		if got := err == nil; got != tt.want {
			t.Errorf("after sweepBuilds, %s exists = %v; want %v", filepath.Base(tt.dir), got, tt.want)
		}
	}
}
