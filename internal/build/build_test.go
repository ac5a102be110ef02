package build

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDpkgBuildpackageArgs(t *testing.T) {
	base := []string{"dpkg-buildpackage", "--no-sign", "--root-command=fakeroot"}
	tests := []struct {
		name string
		req  Request
		want []string
	}{
		{"default builds any and all", Request{}, append(base, "--build=binary")},
		{"no arch all", Request{NoArchAll: true}, append(base, "--build=any")},
		{"with source", Request{Source: true}, append(base, "--build=full")},
		{"source without arch all", Request{Source: true, NoArchAll: true}, append(base, "--build=source,any")},
		{"profiles and nocheck", Request{Profiles: []string{"pkg.foo.bar", "nodoc", "nodoc"}, NoCheck: true},
			append(base, "--build=binary", "--build-profiles=nocheck,nodoc,pkg.foo.bar")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, DpkgBuildpackageArgs(tt.req)); diff != "" {
				t.Errorf("DpkgBuildpackageArgs mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDebBuildOptions(t *testing.T) {
	tests := []struct {
		req  Request
		want string
	}{
		{Request{}, ""},
		{Request{NoCheck: true}, "nocheck"},
		{Request{Parallel: 4}, "parallel=4"},
		{Request{NoCheck: true, Parallel: 2}, "nocheck parallel=2"},
	}
	for _, tt := range tests {
		if got := DebBuildOptions(tt.req); got != tt.want {
			t.Errorf("DebBuildOptions(%+v) = %q; want %q", tt.req, got, tt.want)
		}
	}
}

func TestBuildEnvironment(t *testing.T) {
	date := time.Date(2022, 12, 26, 15, 30, 0, 0, time.UTC)
	got := BuildEnvironment(Request{NoCheck: true}, date)
	want := []string{"PATH=" + sessionPath, "HOME=/nonexistent", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "TZ=UTC",
		"USER=packyard", "LOGNAME=packyard", "SOURCE_DATE_EPOCH=1672068600", "DEB_BUILD_OPTIONS=nocheck", "DEB_BUILD_PROFILES=nocheck"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("BuildEnvironment mismatch (-want +got):\n%s", diff)
	}
}

func TestAptBuildDepArgs(t *testing.T) {
	common := []string{"apt-get", "build-dep", "--yes", "--no-install-recommends",
		"-o", "Dpkg::Options::=--force-confnew", "-o", "APT::Keep-Downloaded-Packages=true"}
	tests := []struct {
		name string
		req  Request
		want []string
	}{
		{"default", Request{}, append(append([]string(nil), common...), "/build/hello-2.10")},
		{"arch only with profiles", Request{NoArchAll: true, Profiles: []string{"nodoc"}},
			append(append([]string(nil), common...), "--arch-only", "--build-profiles=nodoc", "/build/hello-2.10")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, AptBuildDepArgs(tt.req, "/build/hello-2.10")); diff != "" {
				t.Errorf("AptBuildDepArgs mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

const helloChangelog = `hello (2.10-3) unstable; urgency=medium

  * Add some autopkgtests. Closes: #871622.

 -- Santiago Vila <sanvila@debian.org>  Mon, 26 Dec 2022 16:30:00 +0100

hello (2.10-2) unstable; urgency=medium

 -- Santiago Vila <sanvila@debian.org>  Wed, 01 Jan 2020 00:00:00 +0100
`

func TestParseChangelog(t *testing.T) {
	got, err := ParseChangelog([]byte(helloChangelog))
	if err != nil {
		t.Fatalf("ParseChangelog: %v", err)
	}
	if got.Source != "hello" || got.Version != "2.10-3" || got.Distribution != "unstable" {
		t.Errorf("ParseChangelog = %+v; want hello 2.10-3 unstable", got)
	}
	if got.Date.Unix() != 1672068600 {
		t.Errorf("ParseChangelog date = %v (%d); want 1672068600", got.Date, got.Date.Unix())
	}
	for _, bad := range []string{"", "not a header\n", "x (1) unstable; urgency=low\n\n  * no trailer\n", "x (1) u; urgency=low\n -- A <a@b>  not a date\n"} {
		if _, err := ParseChangelog([]byte(bad)); err == nil {
			t.Errorf("ParseChangelog(%q) = nil error; want error", bad)
		}
	}
}

func TestUpstreamVersion(t *testing.T) {
	for in, want := range map[string]string{"2.10-3": "2.10", "1:5.44-3": "5.44", "1.0": "1.0", "1.0-1-2": "1.0-1", "2:1.0+dfsg-1~bpo1": "1.0+dfsg"} {
		if got := UpstreamVersion(in); got != want {
			t.Errorf("UpstreamVersion(%q) = %q; want %q", in, got, want)
		}
	}
}

const signedDSC = `-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA256

Format: 3.0 (quilt)
Source: hello
Binary: hello
Version: 2.10-3
Files:
 6cd0ffea3884a4e79330338dcc2987d6 725946 hello_2.10.orig.tar.gz
 27ab798c1d8d9048ffc8127e9b8dbfca 12684 hello_2.10-3.debian.tar.xz

-----BEGIN PGP SIGNATURE-----

iQIzBAEBCAAdFiEE
-----END PGP SIGNATURE-----
`

func TestParseDSC(t *testing.T) {
	got, err := ParseDSC([]byte(signedDSC))
	if err != nil {
		t.Fatalf("ParseDSC: %v", err)
	}
	want := &DSC{Source: "hello", Version: "2.10-3", Files: []string{"hello_2.10.orig.tar.gz", "hello_2.10-3.debian.tar.xz"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseDSC mismatch (-want +got):\n%s", diff)
	}
	if _, err := ParseDSC([]byte("Source: x\nVersion: 1\nFiles:\n 0 1 ../etc/passwd\n")); err == nil {
		t.Error("ParseDSC accepted an unsafe file name")
	}
	if _, err := ParseDSC([]byte("Format: 1.0\n")); err == nil {
		t.Error("ParseDSC accepted a .dsc without Source")
	}
}

func TestLocalPaths(t *testing.T) {
	lines := []string{
		"deb [signed-by=/w/keys/packyard.gpg] file:/w/repo bookworm-packyard-unstable main",
		"deb [arch=amd64 signed-by=/w/keys/packyard.gpg] http://host/x y main",
		"deb copy:/srv/r/ ./",
	}
	want := []string{"/srv/r", "/w/keys/packyard.gpg", "/w/repo"}
	if diff := cmp.Diff(want, LocalPaths(lines)); diff != "" {
		t.Errorf("LocalPaths mismatch (-want +got):\n%s", diff)
	}
}

func TestErrorIs(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", &Error{Source: "hello", Version: "1", Step: "build", ExitCode: 2, LogPath: "/r/logs/build.log", Err: errors.New("exit status 2")})
	if !errors.Is(err, ErrBuildFailed) {
		t.Errorf("errors.Is(%v, ErrBuildFailed) = false; want true", err)
	}
	var be *Error
	if !errors.As(err, &be) || be.LogPath != "/r/logs/build.log" {
		t.Errorf("errors.As(*Error) failed or lost the log path: %v", err)
	}
	want := "building hello 1: build step failed (exit status 2); full log: /r/logs/build.log"
	if be.Error() != want {
		t.Errorf("Error() = %q; want %q", be.Error(), want)
	}
	if errors.Is(&SourceTreeError{Path: "/x", Reason: "no debian/ directory"}, ErrBuildFailed) {
		t.Error("SourceTreeError is ErrBuildFailed; want only ErrNotSourceTree")
	}
}
