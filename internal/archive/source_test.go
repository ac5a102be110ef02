package archive

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func refreshed(t *testing.T, f *fakeArchive, suites ...string) *Pantry {
	t.Helper()
	p := f.pantry(suites...)
	if _, err := p.Refresh(context.Background(), nil, RefreshOptions{}); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	return p
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestFindSourceNewest(t *testing.T) {
	f := newFakeArchive(t)
	f.publish("stable", []fakeSource{helloSource("2.10-3")})
	f.publish("testing", []fakeSource{helloSource("2.10-10"), helloSource("2.10-9")})
	f.publish("unstable", []fakeSource{helloSource("2.10-3~bpo1")})
	p := refreshed(t, f, "stable", "testing", "unstable")
	ref, err := p.FindSource("hello")
	if err != nil {
		t.Fatal(err)
	}
	if ref.Version != "2.10-10" || ref.Suite != "testing" || ref.Archive != "fake" || ref.Component != "main" {
		t.Errorf("FindSource(hello) = %s from %s/%s; want 2.10-10 from fake/testing", ref.Version, ref.Archive, ref.Suite)
	}
	if _, err := p.FindSource("hell"); !errors.Is(err, ErrSourceNotFound) {
		t.Errorf("FindSource(hell) = %v; want ErrSourceNotFound", err)
	}
	var nf *NotFoundError
	if _, err := p.FindSource("nope"); !errors.As(err, &nf) || len(nf.Searched) != 3 || !strings.Contains(err.Error(), "packyard refresh") {
		t.Errorf("FindSource(nope) = %v; want *NotFoundError over 3 indexes with a hint", err)
	}
	// A binary package name points at its source.
	f.publish("stable", []fakeSource{helloSource("2.10-3"), {name: "python-x", version: "1-1", dir: "pool/main/p/python-x",
		files: map[string][]byte{"python-x_1.orig.tar.gz": []byte("x")}, binaries: "python3-x, python-x-doc"}})
	if _, err := p.Refresh(context.Background(), nil, RefreshOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.FindSource("python3-x"); !errors.As(err, &nf) || !slices.Equal(nf.BuiltBy, []string{"python-x"}) ||
		!strings.Contains(err.Error(), "built by source package python-x") {
		t.Errorf("FindSource(python3-x) = %v; want a hint naming python-x", err)
	}
}

func TestFetchSource(t *testing.T) {
	f := newFakeArchive(t)
	src := helloSource("2.10-3")
	f.publish("stable", []fakeSource{src})
	p := refreshed(t, f, "stable")
	ref, err := p.FindSource("hello")
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "src")
	dsc, err := p.FetchSource(context.Background(), ref, dest)
	if err != nil {
		t.Fatalf("FetchSource: %v", err)
	}
	if dsc != filepath.Join(dest, "hello_2.10-3.dsc") {
		t.Errorf("dsc = %s", dsc)
	}
	want := []string{"hello_2.10-3.debian.tar.xz", "hello_2.10-3.dsc", "hello_2.10.orig.tar.gz"}
	if got := dirNames(t, dest); !slices.Equal(got, want) {
		t.Errorf("dest holds %v; want %v", got, want)
	}
	// A second fetch reuses the verified files without downloading.
	f.takeRequests()
	if _, err := p.FetchSource(context.Background(), ref, dest); err != nil {
		t.Fatal(err)
	}
	if r := f.takeRequests(); len(r) != 0 {
		t.Errorf("second FetchSource made requests %v", r)
	}
}

func TestFetchSourceHashMismatch(t *testing.T) {
	f := newFakeArchive(t)
	src := helloSource("2.10-3")
	f.publish("stable", []fakeSource{src})
	p := refreshed(t, f, "stable")
	ref, err := p.FindSource("hello")
	if err != nil {
		t.Fatal(err)
	}
	// Same size, other bytes on the mirror.
	f.write("pool/main/h/hello/hello_2.10.orig.tar.gz", []byte("orig tarball 2.10-X"))
	dest := filepath.Join(t.TempDir(), "src")
	_, err = p.FetchSource(context.Background(), ref, dest)
	var hm *HashMismatchError
	if !errors.As(err, &hm) || hm.File != "hello_2.10.orig.tar.gz" || hm.Source != "Sources" || hm.Want == hm.Got {
		t.Fatalf("FetchSource = %v; want *HashMismatchError for the orig tarball against Sources", err)
	}
	if got := dirNames(t, dest); len(got) != 0 {
		t.Errorf("failed fetch left %v in destDir", got)
	}
}

func TestFetchSourceDSCDisagrees(t *testing.T) {
	f := newFakeArchive(t)
	src := helloSource("2.10-3")
	// The .dsc lists another hash for the debian tarball than Sources does:
	// the .dsc itself matches Sources, so only the .dsc check can see it.
	src.dscFiles = map[string][]byte{
		"hello_2.10.orig.tar.gz":     src.files["hello_2.10.orig.tar.gz"],
		"hello_2.10-3.debian.tar.xz": []byte("other debian dir!!"),
	}
	f.publish("stable", []fakeSource{src})
	p := refreshed(t, f, "stable")
	ref, _ := p.FindSource("hello")
	dest := t.TempDir()
	_, err := p.FetchSource(context.Background(), ref, dest)
	var hm *HashMismatchError
	if !errors.As(err, &hm) || hm.Source != ".dsc" {
		t.Fatalf("FetchSource = %v; want *HashMismatchError against the .dsc", err)
	}
	if got := dirNames(t, dest); len(got) != 0 {
		t.Errorf("failed fetch left %v in destDir", got)
	}
}

func TestFetchSourceMissingFile(t *testing.T) {
	f := newFakeArchive(t)
	f.publish("stable", []fakeSource{helloSource("2.10-3")})
	p := refreshed(t, f, "stable")
	ref, _ := p.FindSource("hello")
	os.Remove(filepath.Join(f.root, "pool/main/h/hello/hello_2.10-3.debian.tar.xz"))
	dest := t.TempDir()
	_, err := p.FetchSource(context.Background(), ref, dest)
	var fe *FetchError
	if !errors.As(err, &fe) || fe.Status != 404 || !strings.HasSuffix(fe.URL, "/pool/main/h/hello/hello_2.10-3.debian.tar.xz") {
		t.Fatalf("FetchSource = %v; want a 404 *FetchError naming the URL", err)
	}
	if got := dirNames(t, dest); len(got) != 0 {
		t.Errorf("failed fetch left %v in destDir", got)
	}
}

func TestPathTricksRejected(t *testing.T) {
	const h = "0000000000000000000000000000000000000000000000000000000000000000"
	tests := []struct {
		name string
		src  fakeSource
	}{
		{"dotdot directory", fakeSource{name: "evil", version: "1", dir: "pool/../../etc"}},
		{"absolute directory", fakeSource{name: "evil", version: "1", dir: "/etc"}},
		{"unclean directory", fakeSource{name: "evil", version: "1", dir: "pool//main/e"}},
		{"slash in file name", fakeSource{name: "evil", version: "1", dir: "pool/main/e", rawChecksums: " " + h + " 1 ../../evil.dsc\n"}},
		{"dot file", fakeSource{name: "evil", version: "1", dir: "pool/main/e", rawChecksums: " " + h + " 1 .evil.dsc\n"}},
		{"dash file", fakeSource{name: "evil", version: "1", dir: "pool/main/e", rawChecksums: " " + h + " 1 -rf.dsc\n"}},
		{"listed twice", fakeSource{name: "evil", version: "1", dir: "pool/main/e", rawChecksums: " " + h + " 1 e.dsc\n " + h + " 1 e.dsc\n"}},
		{"no dsc", fakeSource{name: "evil", version: "1", dir: "pool/main/e", rawChecksums: " " + h + " 1 e.tar.gz\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeArchive(t)
			if tt.src.files == nil {
				tt.src.files = map[string][]byte{"e.tar.gz": []byte("x")}
			}
			f.publish("stable", []fakeSource{tt.src})
			p := refreshed(t, f, "stable")
			if ref, err := p.FindSource("evil"); err == nil {
				t.Errorf("FindSource accepted %+v", ref)
			}
		})
	}
	// A SourceRef built by hand is checked again by FetchSource.
	f := newFakeArchive(t)
	f.publish("stable", []fakeSource{helloSource("1-1")})
	p := refreshed(t, f, "stable")
	for _, ref := range []*SourceRef{
		{Package: "x", Version: "1", URI: f.srv.URL, Directory: "../x", Files: []FileRef{{Name: "x.dsc", Size: 1, SHA256: h}}},
		{Package: "x", Version: "1", URI: f.srv.URL, Directory: "pool", Files: []FileRef{{Name: "../x.dsc", Size: 1, SHA256: h}}},
	} {
		dest := t.TempDir()
		if _, err := p.FetchSource(context.Background(), ref, dest); err == nil || !strings.Contains(err.Error(), "unsafe") {
			t.Errorf("FetchSource(%+v) = %v; want an unsafe-name error", ref, err)
		}
		if got := dirNames(t, dest); len(got) != 0 {
			t.Errorf("rejected fetch left %v", got)
		}
	}
}

func refreshedPantry(t *testing.T, p *Pantry) {
	t.Helper()
	if _, err := p.Refresh(context.Background(), nil, RefreshOptions{}); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
}

func TestFindStanzas(t *testing.T) {
	data := []byte("Package: a\nVersion: 1\n\nVersion: 2\nPackage: a\n\nPackage: ab\nVersion: 3\n\nPackage: a\nVersion: 4")
	ps, err := findStanzas(data, "Package", "a")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.Get("Version"))
	}
	if !slices.Equal(got, []string{"1", "2", "4"}) {
		t.Errorf("findStanzas versions = %v; want [1 2 4]", got)
	}
}

func TestFetchSourceOffline(t *testing.T) {
	f := newFakeArchive(t)
	f.publish("stable", []fakeSource{helloSource("2.10-3")})
	p := refreshed(t, f, "stable")
	ref, _ := p.FindSource("hello")
	p.SetClient(NewClient(true))
	dest := t.TempDir()
	_, err := p.FetchSource(context.Background(), ref, dest)
	var me *MissingError
	if !errors.As(err, &me) || len(me.Items) != 3 || !errors.Is(err, ErrMissing) {
		t.Fatalf("offline FetchSource of an unfetched source = %v; want *MissingError naming 3 files", err)
	}
	p.SetClient(NewClient(false))
	if _, err := p.FetchSource(context.Background(), ref, dest); err != nil {
		t.Fatal(err)
	}
	p.SetClient(NewClient(true))
	if _, err := p.FetchSource(context.Background(), ref, dest); err != nil {
		t.Errorf("offline FetchSource of a fetched source = %v; want success", err)
	}
}
