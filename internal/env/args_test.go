package env

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/packyard/packyard/internal/config"
)

var testArchives = []config.Archive{
	{Name: "debian", URI: "http://mirror.example/debian", Suites: []string{"bookworm", "bookworm-updates", "trixie"}, Components: []string{"main", "contrib"}, SignedBy: "/k/debian.gpg"},
	{Name: "security", URI: "http://mirror.example/debian-security", Suites: []string{"bookworm-security"}, SignedBy: "/k/debian.gpg"},
	{Name: "local", URI: "file:/srv/repo", Suites: []string{"bookwormish"}},
}

func TestSourcesFor(t *testing.T) {
	tests := []struct {
		codename string
		want     []string
	}{
		{"bookworm", []string{
			"deb [signed-by=/k/debian.gpg] http://mirror.example/debian bookworm main contrib",
			"deb [signed-by=/k/debian.gpg] http://mirror.example/debian bookworm-updates main contrib",
			"deb [signed-by=/k/debian.gpg] http://mirror.example/debian-security bookworm-security main",
		}},
		{"trixie", []string{"deb [signed-by=/k/debian.gpg] http://mirror.example/debian trixie main contrib"}},
		{"sid", nil},
	}
	for _, tt := range tests {
		t.Run(tt.codename, func(t *testing.T) {
			var got []string
			for _, s := range SourcesFor(tt.codename, "amd64", testArchives) {
				got = append(got, s.Line(s.Keyring))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("SourcesFor(%q) mismatch (-want +got):\n%s", tt.codename, diff)
			}
		})
	}
}

// An archive that lists its architectures is left out of environments of
// other architectures (a mirror's security archive without i386, say).
func TestSourcesForArchitecture(t *testing.T) {
	archives := []config.Archive{
		{Name: "debian", URI: "http://mirror.example/debian", Suites: []string{"bookworm"}, Architectures: []string{"amd64", "i386"}},
		{Name: "security", URI: "http://mirror.example/debian-security", Suites: []string{"bookworm-security"}, Architectures: []string{"amd64"}},
	}
	count := map[string]int{"amd64": 2, "i386": 1, "arm64": 0}
	for arch, want := range count {
		if got := len(SourcesFor("bookworm", arch, archives)); got != want {
			t.Errorf("SourcesFor(bookworm, %s) gave %d sources; want %d", arch, got, want)
		}
	}
}

func TestMmdebstrapArgs(t *testing.T) {
	spec := CreateSpec{Codename: "bookworm", Architecture: "amd64", Sources: SourcesFor("bookworm", "amd64", testArchives), Target: "/w/envs/.new/root", Include: []string{"eatmydata", "fakeroot"}}
	got := MmdebstrapArgs(spec)
	want := []string{"mmdebstrap", "--variant=buildd", "--mode=root", "--format=directory", "--architectures=amd64",
		"--skip=cleanup/apt/lists", "--include=eatmydata,fakeroot", "--keyring=/k/debian.gpg",
		`--aptopt=APT::Install-Recommends "false"`,
		`--customize-hook=chroot "$1" groupadd --gid 2000 packyard`,
		`--customize-hook=chroot "$1" useradd --uid 2000 --gid 2000 --home-dir /nonexistent --no-create-home --shell /bin/sh packyard`,
		"bookworm", "/w/envs/.new/root",
		"deb [signed-by=/k/debian.gpg] http://mirror.example/debian bookworm main contrib",
		"deb [signed-by=/k/debian.gpg] http://mirror.example/debian bookworm-updates main contrib",
		"deb [signed-by=/k/debian.gpg] http://mirror.example/debian-security bookworm-security main",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MmdebstrapArgs mismatch (-want +got):\n%s", diff)
	}
	spec.Variant = "minbase"
	spec.Sources = []Source{{Archive: "x", URI: "file:/r", Suite: "bookworm", Components: []string{"main"}}}
	got = MmdebstrapArgs(spec)
	if got[1] != "--variant=minbase" {
		t.Errorf("MmdebstrapArgs variant = %q; want --variant=minbase", got[1])
	}
	for _, a := range got {
		if strings.HasPrefix(a, "--keyring") {
			t.Errorf("MmdebstrapArgs without keyrings has %q", a)
		}
	}
}

func TestBwrapArgs(t *testing.T) {
	tests := []struct {
		name string
		spec BwrapSpec
		want []string
	}{
		{"root with network", BwrapSpec{Root: "/s/merged", Network: true, Dir: "/build", Env: []string{"PATH=/bin", "A=b=c"},
			Mounts:  []Mount{{Source: "/s/build", Dest: "/build"}, {Source: "/etc/resolv.conf", Dest: "/etc/resolv.conf", ReadOnly: true}},
			Command: []string{"apt-get", "update"}},
			[]string{"bwrap", "--bind", "/s/merged", "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/dev/shm",
				"--unshare-pid", "--unshare-ipc", "--unshare-uts", "--hostname", "packyard", "--die-with-parent", "--new-session",
				"--bind", "/s/build", "/build", "--perms", "0755", "--dir", "/etc", "--ro-bind", "/etc/resolv.conf", "/etc/resolv.conf",
				"--chdir", "/build", "--clearenv", "--setenv", "PATH", "/bin", "--setenv", "A", "b=c", "--", "apt-get", "update"}},
		{"build user without network", BwrapSpec{Root: "/m", UID: 2000, GID: 2000, Command: []string{"dpkg-buildpackage"}},
			[]string{"bwrap", "--bind", "/m", "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/dev/shm",
				"--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net", "--hostname", "packyard", "--die-with-parent", "--new-session",
				"--clearenv", "--", "setpriv", "--reuid=2000", "--regid=2000", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--",
				"dpkg-buildpackage"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, BwrapArgs(tt.spec)); diff != "" {
				t.Errorf("BwrapArgs mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOverlayOptions(t *testing.T) {
	got := OverlayOptions([]string{"/l/layer", "/e/root"}, "/s/upper/", "/s/work")
	want := "lowerdir=/l/layer:/e/root,upperdir=/s/upper,workdir=/s/work"
	if got != want {
		t.Errorf("OverlayOptions = %q; want %q", got, want)
	}
}

func TestInstalledPackages(t *testing.T) {
	status := "Package: a\nStatus: install ok installed\nVersion: 1.0\n\nPackage: b\nStatus: deinstall ok config-files\nVersion: 2\n\nPackage: c\nVersion: 1:3-1\nStatus: install ok installed\n"
	got := InstalledPackages([]byte(status))
	want := map[string]string{"a": "1.0", "c": "1:3-1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("InstalledPackages mismatch (-want +got):\n%s", diff)
	}
}

func TestName(t *testing.T) {
	if got := Name("bookworm", "amd64", ""); got != "bookworm-amd64-buildd" {
		t.Errorf("Name = %q; want bookworm-amd64-buildd", got)
	}
}
