package repo

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestUdebIndexes adds two real bookworm udebs (testdata/udeb) and
// compares what packyard publishes with Debian's own archive: their
// debian-installer Packages stanzas (fields and hashes) and their lines in
// main/Contents-udeb-<arch>, which Release lists; Contents-amd64 keeps
// them out.
func TestUdebIndexes(t *testing.T) {
	r, _ := newTestRepo(t)
	dir := filepath.Join("testdata", "udeb")
	udebs := []string{filepath.Join(dir, "efi-reader_0.16_amd64.udeb"), filepath.Join(dir, "usb-discover_1.13_all.udeb")}
	if _, err := r.Add(context.Background(), testDist, udebs...); err != nil {
		t.Fatalf("Add(udebs): %v", err)
	}
	release := readPublished(t, r, "Release")
	for _, f := range []string{"main/Contents-udeb-amd64", "main/Contents-udeb-amd64.gz", "main/Contents-udeb-amd64.xz", "main/debian-installer/binary-amd64/Packages.xz"} {
		if !strings.Contains(release, " "+f+"\n") {
			t.Errorf("Release does not list %s", f)
		}
	}
	got := contentsLines(readPublished(t, r, "main/Contents-udeb-amd64"))
	want := contentsLines(string(mustRead(t, filepath.Join(dir, "dak-Contents-udeb"))))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Contents-udeb-amd64 =\n%s\nwant (dak's lines)\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if c := readPublished(t, r, "main/Contents-amd64"); strings.Contains(c, "efi-reader") || strings.Contains(c, "usb-discover") {
		t.Errorf("Contents-amd64 lists udeb files:\n%s", c)
	}
	ours, err := parseStanzas([]byte(readPublished(t, r, "main/debian-installer/binary-amd64/Packages")))
	must(t, err)
	theirs, err := parseStanzas(mustRead(t, filepath.Join(dir, "dak-Packages")))
	must(t, err)
	if len(ours) != len(theirs) {
		t.Fatalf("debian-installer Packages has %d stanzas; dak's has %d", len(ours), len(theirs))
	}
	compareStanzas(t, ours, theirs, "dak", "Description-md5", false)
}

// compareStanzas checks that every stanza of theirs (the peer tool's, named
// peer) is among ours by Package with the same value of every field but
// skip; with reverse, also that ours has no field theirs lacks.
func compareStanzas(t *testing.T, ours, theirs []stanza, peer, skip string, reverse bool) {
	t.Helper()
	byName := map[string]stanza{}
	for _, s := range ours {
		byName[s.get("Package")] = s
	}
	for _, th := range theirs {
		o := byName[th.get("Package")]
		if o == nil {
			t.Errorf("we lack %s", th.get("Package"))
			continue
		}
		for _, f := range th {
			if f.Name == skip {
				continue
			}
			if got := o.get(f.Name); got != f.Value {
				t.Errorf("%s %s: ours %q, %s %q", th.get("Package"), f.Name, got, peer, f.Value)
			}
		}
		if !reverse {
			continue
		}
		for _, f := range o {
			if th.get(f.Name) == "" {
				t.Errorf("%s: we have %s, %s does not", th.get("Package"), f.Name, peer)
			}
		}
	}
}

// contentsLines returns the lines of a Contents index with the padding
// between path and locations normalized, sorted.
func contentsLines(text string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		out = append(out, strings.Join(strings.Fields(l), " "))
	}
	sort.Strings(out)
	return out
}
