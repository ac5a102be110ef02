//go:build integration

package repo

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// dpkgSource makes a real source package with dpkg-source -b: a native
// one, or (with orig set) a 3.0 (quilt) one with an upstream tarball.
// It returns the .dsc.
func dpkgSource(t testing.TB, out, name, version string, orig bool) string {
	t.Helper()
	upstream := version
	if orig {
		upstream = version[:len(version)-2] // "1.2-1" -> "1.2"
	}
	tree := filepath.Join(out, name+"-"+upstream)
	must(t, os.MkdirAll(filepath.Join(tree, "debian", "source"), 0o755))
	must(t, os.WriteFile(filepath.Join(tree, "README"), []byte("sources of "+name+"\n"), 0o644))
	format := "3.0 (native)"
	if orig {
		format = "3.0 (quilt)"
		runTool(t, out, "tar", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "-czf", name+"_"+upstream+".orig.tar.gz", name+"-"+upstream)
	}
	files := map[string]string{
		"debian/source/format": format + "\n",
		"debian/control": "Source: " + name + "\nSection: misc\nPriority: optional\nMaintainer: Test <test@packyard.invalid>\n" +
			"Build-Depends: debhelper-compat (= 13)\nStandards-Version: 4.6.2\nHomepage: https://example.invalid/" + name + "\n\n" +
			"Package: " + name + "\nArchitecture: any\nDepends: ${misc:Depends}\nDescription: test package " + name + "\n a source package for packyard's tests\n\n" +
			"Package: " + name + "-doc\nArchitecture: all\nDescription: documentation of " + name + "\n a second binary package\n",
		"debian/changelog": name + " (" + version + ") unstable; urgency=medium\n\n  * Test upload.\n\n -- Test <test@packyard.invalid>  Mon, 02 Nov 2026 10:00:00 +0000\n",
		"debian/rules":     "#!/usr/bin/make -f\n%:\n\tdh $@\n",
		"debian/copyright": "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n",
	}
	for p, c := range files {
		must(t, os.WriteFile(filepath.Join(tree, p), []byte(c), 0o755))
	}
	runTool(t, out, "dpkg-source", "-b", name+"-"+upstream)
	return filepath.Join(out, name+"_"+version+".dsc")
}

// TestAptFtparchiveSourcesAgree compares our Sources stanzas with
// apt-ftparchive's view of the same pool: every field it writes, with the
// same value (Files and checksum lists included), and no field it lacks.
func TestAptFtparchiveSourcesAgree(t *testing.T) {
	requireTools(t, "dpkg-source", "apt-ftparchive", "tar")
	r, _ := newTestRepo(t)
	in := t.TempDir()
	dscs := []string{dpkgSource(t, in, "srcnative", "1.0", false), dpkgSource(t, in, "srcquilt", "2.5-1", true)}
	if _, err := r.Add(context.Background(), testDist, dscs...); err != nil {
		t.Fatal(err)
	}
	// Asked for the checksums packyard lists (Files, Checksums-Sha1 and
	// -Sha256, as dpkg-source writes them).
	// Its warnings (no override file) go to stderr; the stanzas to stdout.
	cmd := exec.Command("apt-ftparchive", "--no-sha512", "sources", "pool")
	cmd.Dir = r.Root()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("apt-ftparchive sources: %v", err)
	}
	theirs, err := parseStanzas(out)
	must(t, err)
	ours, err := parseStanzas([]byte(readPublished(t, r, "main/source/Sources")))
	must(t, err)
	if len(theirs) != len(dscs) || len(ours) != len(dscs) {
		t.Fatalf("apt-ftparchive has %d stanzas, we have %d; want %d", len(theirs), len(ours), len(dscs))
	}
	compareStanzas(t, ours, theirs, "apt-ftparchive", "", true)
}
