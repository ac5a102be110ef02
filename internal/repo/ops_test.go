package repo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testTesting = "bookworm-packyard-testing"

func TestRemoveListShow(t *testing.T) {
	r, _ := newTestRepo(t)
	ctx := context.Background()
	in := t.TempDir()
	if _, err := r.Add(ctx, testDist,
		writeTestDeb(t, in, "foo", "1.0", "amd64", "Source: foosrc\n"),
		writeTestDeb(t, in, "foo-doc", "1.0", "all", "Source: foosrc\n"),
		writeTestDeb(t, in, "bar", "2.0", "amd64", "")); err != nil {
		t.Fatal(err)
	}
	list, err := r.List(ctx, testDist)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("List = %+v; want 3 packages", list)
	}
	show, err := r.Show(ctx, "foosrc")
	if err != nil || len(show) != 2 {
		t.Fatalf("Show(foosrc) = %+v, %v; want foo and foo-doc", show, err)
	}
	res, err := r.Remove(ctx, testDist, "foosrc")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Removed) != 2 {
		t.Errorf("Removed = %+v; want foo and foo-doc", res.Removed)
	}
	pk := readPublished(t, r, "main/binary-amd64/Packages")
	if strings.Contains(pk, "Package: foo") || !strings.Contains(pk, "Package: bar") {
		t.Errorf("Packages after remove:\n%s", pk)
	}
	contents := readPublished(t, r, "main/Contents-amd64")
	if strings.Contains(contents, "/foo") || !strings.Contains(contents, "usr/share/doc/bar/README") {
		t.Errorf("Contents after remove:\n%s", contents)
	}
	if _, err := r.Remove(ctx, testDist, "nothere"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Remove(nothere) = %v; want ErrNotFound", err)
	}
}

func TestAddRefusesDowngrade(t *testing.T) {
	r, _ := newTestRepo(t)
	ctx := context.Background()
	in := t.TempDir()
	if _, err := r.Add(ctx, testDist, writeTestDeb(t, in, "foo", "2.0", "amd64", "")); err != nil {
		t.Fatal(err)
	}
	var ve *VersionError
	if _, err := r.Add(ctx, testDist, writeTestDeb(t, in, "foo", "1.0", "amd64", "")); !errors.As(err, &ve) {
		t.Errorf("Add(lower version) = %v; want *VersionError", err)
	}
}

func TestVersionSuffixRule(t *testing.T) {
	r, _ := newTestRepo(t)
	r.cfg.Repository.Distributions[0].Suites[0].VersionSuffix = `~%CODENAME%\+[0-9]+`
	exp := "bookworm-packyard-experimental"
	in := t.TempDir()
	var ve *VersionError
	if _, err := r.Add(context.Background(), exp, writeTestDeb(t, in, "foo", "1.0", "amd64", "")); !errors.As(err, &ve) {
		t.Errorf("Add(1.0) = %v; want *VersionError", err)
	}
	if _, err := r.Add(context.Background(), exp, writeTestDeb(t, in, "foo", "1.0~bookworm+1", "amd64", "")); err != nil {
		t.Errorf("Add(1.0~bookworm+1) = %v", err)
	}
}

func TestMigrate(t *testing.T) {
	r, _ := newTestRepo(t)
	ctx := context.Background()
	in := t.TempDir()
	// testing: lib 1.0 and app (depends lib << 2).
	for _, d := range []string{testDist} {
		if _, err := r.Add(ctx, d,
			writeTestDeb(t, in, "lib", "1.0", "amd64", ""),
			writeTestDeb(t, in, "app", "1.0", "amd64", "Depends: lib (<< 2)\n")); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"lib", "app"} {
		if _, err := r.Migrate(ctx, n, testDist, ""); err != nil {
			t.Fatalf("Migrate(%s) = %v", n, err)
		}
	}
	var ve *VersionError
	if _, err := r.Migrate(ctx, "lib", testDist, testTesting); !errors.As(err, &ve) {
		t.Errorf("Migrate(same version) = %v; want *VersionError", err)
	}
	if _, err := r.Add(ctx, testDist, writeTestDeb(t, in, "lib", "2.0", "amd64", "")); err != nil {
		t.Fatal(err)
	}
	var ue *UninstallableError
	_, err := r.Migrate(ctx, "lib", testDist, testTesting)
	if !errors.As(err, &ue) || ue.Packages["app/amd64"] == "" {
		t.Fatalf("Migrate(lib 2.0) = %v; want *UninstallableError naming app", err)
	}
	list, _ := r.List(ctx, testTesting)
	for _, p := range list {
		if p.Package == "lib" && p.Version != "1.0" {
			t.Errorf("refused migration changed testing: %+v", p)
		}
	}
	// Copy has no installability check.
	if _, err := r.Copy(ctx, testDist, testTesting, "lib"); err != nil {
		t.Errorf("Copy = %v", err)
	}
}

func TestBuiltinInstallability(t *testing.T) {
	pk := []byte(`Package: a
Version: 1
Architecture: amd64
Depends: b (>= 2) | c

Package: b
Version: 1
Architecture: amd64

Package: c
Version: 1
Architecture: all
Conflicts: a

Package: d
Version: 1
Architecture: amd64
Depends: virt

Package: e
Version: 1
Architecture: amd64
Provides: virt

Package: f
Version: 1
Architecture: amd64
Depends: nowhere
`)
	got, err := Builtin{}.Uninstallable(context.Background(), "amd64", [][]byte{pk}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"a", "f"} {
		if got[want] == "" {
			t.Errorf("Uninstallable lacks %s: %v", want, got)
		}
	}
	for _, ok := range []string{"b", "c", "d", "e"} {
		if got[ok] != "" {
			t.Errorf("Uninstallable has %s (%s); want installable", ok, got[ok])
		}
	}
}

// TestMigrateKeepsSource checks that a migration moves the source package
// with its binaries, also when the .dsc names an Architecture (as real ones do).
func TestMigrateKeepsSource(t *testing.T) {
	r, _ := newTestRepo(t)
	ctx := context.Background()
	in := t.TempDir()
	tarball := filepath.Join(in, "lib_1.0.orig.tar.gz")
	os.WriteFile(tarball, []byte("not really a tarball"), 0o644)
	sum, _ := sumFile(tarball)
	dsc := filepath.Join(in, "lib_1.0.dsc")
	os.WriteFile(dsc, []byte(fmt.Sprintf("Format: 3.0 (native)\nSource: lib\nBinary: lib\nArchitecture: any\nVersion: 1.0\nChecksums-Sha256:\n %s %d lib_1.0.orig.tar.gz\nFiles:\n %s %d lib_1.0.orig.tar.gz\n", sum.SHA256, sum.Size, sum.MD5, sum.Size)), 0o644)
	if _, err := r.Add(ctx, testDist, dsc, writeTestDeb(t, in, "lib", "1.0", "amd64", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Migrate(ctx, "lib", testDist, testTesting); err != nil {
		t.Fatalf("Migrate = %v", err)
	}
	list, err := r.List(ctx, testTesting)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range list {
		got = append(got, p.Package+"/"+p.Architecture)
	}
	if want := "lib/amd64 lib/source"; strings.Join(got, " ") != want {
		t.Errorf("testing after migrate = %q; want %q", strings.Join(got, " "), want)
	}
}
