package build

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/packyard/packyard/internal/deb822"
	"github.com/packyard/packyard/internal/env"
)

func TestExtraLines(t *testing.T) {
	a, ok := extraLines([]string{"deb [signed-by=/k.gpg] file:/srv/repo bookworm-packyard-unstable main"})
	if !ok {
		t.Fatal("extraLines(file: repository) not ok")
	}
	b, _ := extraLines([]string{"deb file:/srv/other bookworm-packyard-unstable main"})
	if a == b {
		t.Error("extraLines gives the same state for different repositories")
	}
	for _, l := range []string{"deb http://host/x y main", "deb-src file:/srv/repo y main", "deb [trusted=yes]"} {
		if _, ok := extraLines([]string{l}); ok {
			t.Errorf("extraLines(%q) ok; want not indexable", l)
		}
	}
}

func TestAddRelationNames(t *testing.T) {
	names := map[string]bool{}
	addRelationNames(names, "debhelper-compat (= 13), a (>= 1) [amd64] <!nocheck> | b:any,\n c:native, d (<< 2)|e")
	var got []string
	for n := range names {
		got = append(got, n)
	}
	sort.Strings(got)
	if want := "a b c d debhelper-compat e"; strings.Join(got, " ") != want {
		t.Errorf("addRelationNames = %v; want %s", got, want)
	}
}

const testStatus = `Package: libfoo-dev
Status: install ok installed
Version: 1.0
Depends: libfoo1 (= 1.0), libbar-dev | libbaz-dev
Provides: foo-dev

Package: gone
Status: deinstall ok config-files
Version: 1
Depends: never-seen
`

func TestRelevantNames(t *testing.T) {
	names, err := relevantNames(map[string]string{"Build-Depends": "libfoo-dev, gettext"}, []byte(testStatus))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"libfoo-dev", "gettext", "libfoo1", "libbar-dev", "libbaz-dev", "foo-dev"} {
		if !names[n] {
			t.Errorf("relevantNames lacks %s", n)
		}
	}
	for _, n := range []string{"gone", "never-seen"} {
		if names[n] {
			t.Errorf("relevantNames has %s of a package that is not installed", n)
		}
	}
}

func paragraphs(t *testing.T, s string) []deb822.Paragraph {
	t.Helper()
	ps, err := deb822.ParseString(s)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func TestExtraDigest(t *testing.T) {
	names := map[string]bool{"libfoo1": true, "libbaz-dev": true, "virtual-x": true}
	base := "Package: hello\nVersion: 1\n\nPackage: libfoo1\nVersion: 1.0\n\n"
	d0 := extraDigest(paragraphs(t, base), names)
	tests := []struct {
		name    string
		repo    string
		changes bool
	}{
		{"same stanzas in another order", "Package: libfoo1\nVersion: 1.0\n\nPackage: hello\nVersion: 1\n\n", false},
		{"unrelated package published", base + "Package: libcjson1\nVersion: 1.7\n\n", false},
		{"unrelated package rebuilt", "Package: hello\nVersion: 2\n\nPackage: libfoo1\nVersion: 1.0\n\n", false},
		{"relevant package upgraded", "Package: hello\nVersion: 1\n\nPackage: libfoo1\nVersion: 1.1\n\n", true},
		{"second alternative now offered", base + "Package: libbaz-dev\nVersion: 3\n\n", true},
		{"new package provides a relevant name", base + "Package: other\nVersion: 1\nProvides: virtual-x (= 1)\n\n", true},
		{"relevant package removed", "Package: hello\nVersion: 1\n\n", true},
	}
	for _, tt := range tests {
		if got := extraDigest(paragraphs(t, tt.repo), names) != d0; got != tt.changes {
			t.Errorf("%s: digest changed = %t; want %t", tt.name, got, tt.changes)
		}
	}
}

// writeRepo writes a one-component repository with Packages (gzipped when
// gz) for amd64.
func writeRepo(t *testing.T, root, packages string, gz bool) string {
	t.Helper()
	dir := filepath.Join(root, "dists", "bookworm-packyard-unstable", "main", "binary-amd64")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"Packages", "Packages.gz"} {
		_ = os.Remove(filepath.Join(dir, n))
	}
	if !gz {
		if err := os.WriteFile(filepath.Join(dir, "Packages"), []byte(packages), 0o644); err != nil {
			t.Fatal(err)
		}
	} else {
		f, err := os.Create(filepath.Join(dir, "Packages.gz"))
		if err != nil {
			t.Fatal(err)
		}
		z := gzip.NewWriter(f)
		_, _ = z.Write([]byte(packages))
		if err := z.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return "deb [signed-by=/k.gpg] file:" + root + " bookworm-packyard-unstable main"
}

func TestExtraPackages(t *testing.T) {
	root := t.TempDir()
	for _, gz := range []bool{false, true} {
		line := writeRepo(t, root, "Package: a\nVersion: 1\n\nPackage: b\nVersion: 2\n", gz)
		ps, ok := extraPackages([]string{line}, "amd64")
		if !ok || len(ps) != 2 || ps[1].Get("Package") != "b" {
			t.Errorf("extraPackages(gz=%t) = %d stanzas, %t; want a and b", gz, len(ps), ok)
		}
	}
	if ps, ok := extraPackages([]string{"deb file:" + t.TempDir() + " nothing main"}, "amd64"); !ok || len(ps) != 0 {
		t.Errorf("extraPackages(empty repository) = %v, %t; want none, ok", ps, ok)
	}
	if _, ok := extraPackages([]string{"deb http://host/x y main"}, "amd64"); ok {
		t.Error("extraPackages(remote) ok; want not indexable")
	}
}

// fakeEnvLayer makes an environment directory with one layer whose dpkg
// status is status.
func fakeEnvLayer(t *testing.T, status string) (*env.Env, *env.Layer) {
	t.Helper()
	e := &env.Env{Dir: t.TempDir(), Architecture: "amd64"}
	e.Root = filepath.Join(e.Dir, "root")
	pkgs := map[string]string{"libfoo-dev": "1.0"}
	hash := env.LayerHash(pkgs)
	dir := filepath.Join(e.LayersDir(), hash)
	if err := os.MkdirAll(filepath.Join(dir, "root", "var/lib/dpkg"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "root", "var/lib/dpkg/status"), []byte(status), 0o644); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(env.LayerManifest{Hash: hash, Packages: pkgs, Created: time.Now()})
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := e.Layer(hash)
	if err != nil {
		t.Fatal(err)
	}
	return e, l
}

func TestDepIndexWithExtraRepository(t *testing.T) {
	e, l := fakeEnvLayer(t, testStatus)
	control := []byte("Source: x\nBuild-Depends: libfoo-dev\n")
	repo := t.TempDir()
	line := writeRepo(t, repo, "Package: libfoo1\nVersion: 1.0\n", false)
	r := Request{ExtraRepositories: []string{line}}
	newDepIndex(e, r, control).record(e, l)
	if got, ok := newDepIndex(e, r, control).lookup(e); !ok || got.Manifest.Hash != l.Manifest.Hash {
		t.Fatalf("lookup after record = %v, %t; want the layer", got, ok)
	}
	writeRepo(t, repo, "Package: libfoo1\nVersion: 1.0\n\nPackage: hello\nVersion: 2.10-3\n", true)
	if _, ok := newDepIndex(e, r, control).lookup(e); !ok {
		t.Error("lookup after an unrelated package was published: miss; want the layer")
	}
	writeRepo(t, repo, "Package: libfoo1\nVersion: 1.1\n\nPackage: hello\nVersion: 2.10-3\n", false)
	if _, ok := newDepIndex(e, r, control).lookup(e); ok {
		t.Error("lookup after a build-dependency's dependency was upgraded: hit; want a miss (apt must resolve again)")
	}
	if _, ok := newDepIndex(e, Request{}, control).lookup(e); ok {
		t.Error("lookup without the extra repository found the record made with it")
	}
}
