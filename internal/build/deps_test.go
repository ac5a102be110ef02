package build

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/packyard/packyard/internal/env"
)

const cjsonControl = `Source: cjson
Section: libs
Build-Depends: cmake,
 debhelper-compat (= 13)
Build-Depends-Indep: doxygen <!nodoc>
Build-Conflicts: foo
#Build-Depends: commented
Standards-Version: 4.6.1

Package: libcjson1
Build-Depends: not-in-source-paragraph
`

func TestBuildDepRelations(t *testing.T) {
	want := map[string]string{
		"Build-Depends":       "cmake, debhelper-compat (= 13)",
		"Build-Depends-Indep": "doxygen <!nodoc>",
		"Build-Conflicts":     "foo",
	}
	if diff := cmp.Diff(want, BuildDepRelations([]byte("\n"+cjsonControl))); diff != "" {
		t.Errorf("BuildDepRelations mismatch (-want +got):\n%s", diff)
	}
}

func TestLayerIndexKey(t *testing.T) {
	rel := map[string]string{"Build-Depends": "cmake"}
	base := LayerIndexKey("env1", rel, Request{}, "")
	if got := LayerIndexKey("env1", map[string]string{"Build-Depends": "cmake"}, Request{OutDir: "/elsewhere", Parallel: 4}, ""); got != base {
		t.Errorf("LayerIndexKey changed with options that do not affect dependencies: %s vs %s", got, base)
	}
	for name, other := range map[string]string{
		"env":        LayerIndexKey("env2", rel, Request{}, ""),
		"relations":  LayerIndexKey("env1", map[string]string{"Build-Depends": "cmake, ninja-build"}, Request{}, ""),
		"arch-all":   LayerIndexKey("env1", rel, Request{NoArchAll: true}, ""),
		"nocheck":    LayerIndexKey("env1", rel, Request{NoCheck: true}, ""),
		"profiles":   LayerIndexKey("env1", rel, Request{Profiles: []string{"nodoc"}}, ""),
		"extra pkgs": LayerIndexKey("env1", rel, Request{ExtraPackages: []string{"eatmydata"}}, ""),
		"repo state": LayerIndexKey("env1", rel, Request{}, "abc"),
	} {
		if other == base {
			t.Errorf("LayerIndexKey ignores %s", name)
		}
	}
}

func TestParseAptSimulation(t *testing.T) {
	out := `NOTE: This is only a simulation!
Inst libmagic-mgc (1:5.44-3 Debian:12.5/stable [amd64])
Inst texinfo (6.8-6+b1 Debian:12.5/stable [amd64])
Inst libc6 [2.36-9] (2.36-9+deb12u4 Debian-Security:12/stable-security [amd64])
Conf texinfo (6.8-6+b1 Debian:12.5/stable [amd64])
`
	want := map[string]string{"libmagic-mgc": "1:5.44-3", "texinfo": "6.8-6+b1", "libc6": "2.36-9+deb12u4"}
	if diff := cmp.Diff(want, ParseAptSimulation(out)); diff != "" {
		t.Errorf("ParseAptSimulation mismatch (-want +got):\n%s", diff)
	}
}

func TestNewPackages(t *testing.T) {
	base := map[string]string{"libc6": "2.36-9", "make": "4.3-4.1"}
	status := "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u4\n\nPackage: make\nStatus: install ok installed\nVersion: 4.3-4.1\n\nPackage: cmake\nStatus: install ok installed\nVersion: 3.25.1-1\n"
	want := map[string]string{"libc6": "2.36-9+deb12u4", "cmake": "3.25.1-1"}
	if diff := cmp.Diff(want, NewPackages(base, []byte(status))); diff != "" {
		t.Errorf("NewPackages mismatch (-want +got):\n%s", diff)
	}
}

func TestSessionRepositories(t *testing.T) {
	lines := []string{
		"deb [signed-by=/root/.local/share/packyard/keys/packyard.gpg] file:/root/.local/share/packyard/repo bookworm-packyard-unstable main",
		"deb [arch=amd64 signed-by=/root/.local/share/packyard/keys/packyard.gpg] http://127.0.0.1:8066/repo bookworm-packyard-testing main",
		"deb [trusted=yes] copy:/srv/flat ./",
	}
	got, mounts := SessionRepositories(lines)
	want := []string{
		"deb [signed-by=/etc/apt/keyrings/packyard-extra-0-0.gpg] file:/srv/packyard/extra-0 bookworm-packyard-unstable main",
		"deb [arch=amd64 signed-by=/etc/apt/keyrings/packyard-extra-0-0.gpg] http://127.0.0.1:8066/repo bookworm-packyard-testing main",
		"deb [trusted=yes] copy:/srv/packyard/extra-2 ./",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SessionRepositories lines mismatch (-want +got):\n%s", diff)
	}
	wantMounts := []env.Mount{
		{Source: "/root/.local/share/packyard/keys/packyard.gpg", Dest: "/etc/apt/keyrings/packyard-extra-0-0.gpg", ReadOnly: true},
		{Source: "/root/.local/share/packyard/repo", Dest: "/srv/packyard/extra-0", ReadOnly: true},
		{Source: "/srv/flat", Dest: "/srv/packyard/extra-2", ReadOnly: true},
	}
	if diff := cmp.Diff(wantMounts, mounts); diff != "" {
		t.Errorf("SessionRepositories mounts mismatch (-want +got):\n%s", diff)
	}
}
