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

func TestResolveAndFetchDebs(t *testing.T) {
	f := newFakeArchive(t)
	f.publish("stable", []fakeSource{helloSource("2.10-3"), helloSource("1:2.0-1")})
	f.publish("testing", []fakeSource{helloSource("2.10-4")})
	p := refreshed(t, f, "stable", "testing")
	debs, err := p.ResolveDebs("amd64", []PackageID{{Package: "hello"}, {Package: "hello", Version: "2.10-3"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(debs) != 2 || debs[0].Version != "1:2.0-1" || debs[1].Version != "2.10-3" || debs[1].Suite != "stable" {
		t.Fatalf("ResolveDebs = %+v; want hello 1:2.0-1 (newest) and 2.10-3", debs)
	}
	if got := debs[0].CacheName(); got != "hello_1%3a2.0-1_amd64.deb" {
		t.Errorf("CacheName = %q", got)
	}
	_, err = p.ResolveDebs("amd64", []PackageID{{Package: "nope"}, {Package: "hello", Version: "9"}})
	var me *MissingError
	if !errors.As(err, &me) || len(me.Items) != 2 || !errors.Is(err, ErrMissing) {
		t.Errorf("ResolveDebs(nope) = %v; want a *MissingError with 2 items", err)
	}

	cache := t.TempDir()
	if m := MissingDebs(debs, cache, false); len(m) != 2 {
		t.Errorf("MissingDebs on an empty cache = %d; want 2", len(m))
	}
	err = CheckDebsCached(debs, cache, false, "packyard prime hello")
	if !errors.As(err, &me) || len(me.Items) != 2 || !strings.HasSuffix(me.Items[0], "hello_1%3a2.0-1_amd64.deb") {
		t.Errorf("CheckDebsCached on an empty cache = %v", err)
	}
	paths, err := p.FetchDebs(context.Background(), debs, cache, nil)
	if err != nil {
		t.Fatalf("FetchDebs: %v", err)
	}
	if paths[0] != filepath.Join(cache, "hello_1%3a2.0-1_amd64.deb") {
		t.Errorf("paths = %v", paths)
	}
	if m := MissingDebs(debs, cache, true); len(m) != 0 {
		t.Errorf("MissingDebs after FetchDebs = %+v", m)
	}
	f.takeRequests()
	if _, err := p.FetchDebs(context.Background(), debs, cache, nil); err != nil {
		t.Fatal(err)
	}
	if r := f.takeRequests(); len(r) != 0 {
		t.Errorf("second FetchDebs made requests %v", r)
	}

	// A tampered .deb on the mirror is refused and leaves nothing behind.
	os.Remove(paths[1])
	f.write(debs[1].Filename, []byte(strings.Repeat("x", int(debs[1].Size))))
	_, err = p.FetchDebs(context.Background(), debs, cache, nil)
	var hm *HashMismatchError
	if !errors.As(err, &hm) || hm.Source != "Packages" {
		t.Fatalf("FetchDebs with a tampered deb = %v; want *HashMismatchError against Packages", err)
	}
	if _, err := os.Stat(paths[1]); !os.IsNotExist(err) {
		t.Errorf("tampered deb stored: %v", err)
	}
	if left := dirNames(t, filepath.Join(cache, "partial")); len(left) != 0 {
		t.Errorf("partial/ holds %v", left)
	}
}

func TestCheckSourceCached(t *testing.T) {
	f := newFakeArchive(t)
	f.publish("stable", []fakeSource{helloSource("2.10-3")})
	p := refreshed(t, f, "stable")
	ref, _ := p.FindSource("hello")
	dest := t.TempDir()
	err := CheckSourceCached(ref, dest)
	var me *MissingError
	if !errors.As(err, &me) || len(me.Items) != 3 || me.Command != "packyard prime hello" {
		t.Fatalf("CheckSourceCached on empty dir = %v", err)
	}
	if _, err := p.FetchSource(context.Background(), ref, dest); err != nil {
		t.Fatal(err)
	}
	if err := CheckSourceCached(ref, dest); err != nil {
		t.Errorf("CheckSourceCached after fetch = %v", err)
	}
}

func TestWriteAptLists(t *testing.T) {
	f := newFakeArchive(t)
	f.publish("stable", []fakeSource{helloSource("2.10-3")})
	p := refreshed(t, f, "stable")
	lists := t.TempDir()
	written, err := p.WriteAptLists(lists, Selection{})
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(f.srv.URL, "http://")
	want := []string{
		host + "_dists_stable_InRelease",
		host + "_dists_stable_main_binary-amd64_Packages",
		host + "_dists_stable_main_source_Sources",
	}
	var got []string
	for _, w := range written {
		got = append(got, filepath.Base(w))
	}
	if !slices.Equal(got, want) {
		t.Errorf("WriteAptLists wrote %v; want %v", got, want)
	}
	if n := AptListName("http://mirror.example.invalid/debian/", "bookworm", "main/binary-amd64/Packages"); n != "mirror.example.invalid_debian_dists_bookworm_main_binary-amd64_Packages" {
		t.Errorf("AptListName = %q", n)
	}
}
