package repo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// writeChanges writes a .changes listing files (all in dir) with correct
// checksums, then applies corrupt to the text.
func writeChanges(t *testing.T, dir, source string, files []string, corrupt func(string) string) string {
	t.Helper()
	var md5s, sha1s, sha256s strings.Builder
	for _, f := range files {
		sum, err := sumFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&md5s, "\n %s %d misc optional %s", sum.MD5, sum.Size, f)
		fmt.Fprintf(&sha1s, "\n %s %d %s", sum.SHA1, sum.Size, f)
		fmt.Fprintf(&sha256s, "\n %s %d %s", sum.SHA256, sum.Size, f)
	}
	text := fmt.Sprintf("Format: 1.8\nSource: %s\nVersion: 1.0-1\nDistribution: unstable\nChecksums-Sha1:%s\nChecksums-Sha256:%s\nFiles:%s\n", source, sha1s.String(), sha256s.String(), md5s.String())
	if corrupt != nil {
		text = corrupt(text)
	}
	p := filepath.Join(dir, source+"_1.0-1_amd64.changes")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAddChanges(t *testing.T) {
	r, _ := newTestRepo(t)
	ctx := context.Background()
	dir := t.TempDir()
	writeTestDeb(t, dir, "omega", "1.0-1", "amd64", "")
	os.WriteFile(filepath.Join(dir, "omega_1.0-1_amd64.buildinfo"), []byte("Format: 1.0\nSource: omega\n"), 0o644)
	files := []string{"omega_1.0-1_amd64.deb", "omega_1.0-1_amd64.buildinfo"}

	bad := writeChanges(t, dir, "omega", files, func(s string) string {
		sum, _ := sumFile(filepath.Join(dir, files[0]))
		return strings.Replace(s, sum.SHA256, strings.Repeat("a", 64), 1)
	})
	var ce *ChecksumError
	if _, err := r.Add(ctx, testDist, bad); !errors.As(err, &ce) || ce.Algorithm != "SHA256" {
		t.Fatalf("Add(corrupt .changes) = %v; want SHA256 *ChecksumError", err)
	}
	if _, err := os.Stat(filepath.Join(r.Root(), "dists", testDist)); !os.IsNotExist(err) {
		t.Errorf("corrupt .changes published something: %v", err)
	}
	trick := writeChanges(t, dir, "omega", files, func(s string) string {
		return strings.Replace(s, " omega_1.0-1_amd64.buildinfo", " ../omega_1.0-1_amd64.buildinfo", 1)
	})
	var ue *UnsafeNameError
	if _, err := r.Add(ctx, testDist, trick); !errors.As(err, &ue) {
		t.Fatalf("Add(path trick) = %v; want *UnsafeNameError", err)
	}
	good := writeChanges(t, dir, "omega", files, nil)
	res, err := r.Add(ctx, testDist, good)
	if err != nil {
		t.Fatalf("Add(.changes) = %v", err)
	}
	if len(res.Added) != 1 || res.Added[0].Package != "omega" {
		t.Errorf("Added = %+v; want omega", res.Added)
	}
	for _, f := range append(files, "omega_1.0-1_amd64.changes") {
		if _, err := os.Stat(filepath.Join(r.Root(), "pool/main/o/omega", f)); err != nil {
			t.Errorf("pool lacks %s: %v", f, err)
		}
	}
}

// buildUpload writes what a build of omega 1.0-1 leaves: a .dsc with its
// tarball, the .deb (control extra varies the build), a .buildinfo with a
// build date, and the .changes listing them. It returns the .changes.
func buildUpload(t *testing.T, debExtra, date string) string {
	t.Helper()
	dir := t.TempDir()
	tarball := filepath.Join(dir, "omega_1.0.orig.tar.gz")
	must(t, os.WriteFile(tarball, []byte("omega upstream sources\n"), 0o644))
	sum, err := sumFile(tarball)
	must(t, err)
	dsc := fmt.Sprintf("Format: 3.0 (quilt)\nSource: omega\nVersion: 1.0-1\nChecksums-Sha1:\n %s %d omega_1.0.orig.tar.gz\nChecksums-Sha256:\n %s %d omega_1.0.orig.tar.gz\nFiles:\n %s %d omega_1.0.orig.tar.gz\n",
		sum.SHA1, sum.Size, sum.SHA256, sum.Size, sum.MD5, sum.Size)
	must(t, os.WriteFile(filepath.Join(dir, "omega_1.0-1.dsc"), []byte(dsc), 0o644))
	writeTestDeb(t, dir, "omega", "1.0-1", "amd64", debExtra)
	must(t, os.WriteFile(filepath.Join(dir, "omega_1.0-1_amd64.buildinfo"), []byte("Format: 1.0\nSource: omega\nBuild-Date: "+date+"\n"), 0o644))
	files := []string{"omega_1.0-1.dsc", "omega_1.0.orig.tar.gz", "omega_1.0-1_amd64.deb", "omega_1.0-1_amd64.buildinfo"}
	return writeChanges(t, dir, "omega", files, func(s string) string { return s + "Date: " + date + "\n" })
}

// TestRebuildSameVersion adds a second build of the same version: with the
// same .deb (a reproducible rebuild; only .buildinfo and .changes differ)
// it is already published and changes nothing; with a different .deb it
// is refused as a pool conflict naming the .deb, and nothing changes.
func TestRebuildSameVersion(t *testing.T) {
	r, _ := newTestRepo(t)
	ctx := context.Background()
	first, err := r.Add(ctx, testDist, buildUpload(t, "", "Mon, 02 Nov 2026 10:00:00 +0000"))
	if err != nil {
		t.Fatalf("first build: %v", err)
	}
	release := readPublished(t, r, "Release")

	again, err := r.Add(ctx, testDist, buildUpload(t, "", "Mon, 02 Nov 2026 11:00:00 +0000"))
	if err != nil {
		t.Fatalf("reproducible rebuild: %v", err)
	}
	if !again.Unchanged || again.Generation != first.Generation || len(again.AlreadyPublished) != 2 || len(again.Added) != 0 {
		t.Errorf("reproducible rebuild = %+v; want unchanged generation %d with 2 packages already published", again, first.Generation)
	}
	if got := readPublished(t, r, "Release"); got != release {
		t.Errorf("reproducible rebuild republished Release")
	}
	changes := mustRead(t, filepath.Join(r.Root(), "pool/main/o/omega/omega_1.0-1_amd64.changes"))
	if !strings.Contains(string(changes), "11:00:00") {
		t.Errorf("pool keeps the older .changes; want the newest")
	}

	_, err = r.Add(ctx, testDist, buildUpload(t, "Depends: libfoo\n", "Mon, 02 Nov 2026 12:00:00 +0000"))
	var ce *ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, ErrConflict) {
		t.Fatalf("different rebuild = %v; want *ConflictError", err)
	}
	if ce.PoolPath != "pool/main/o/omega/omega_1.0-1_amd64.deb" || ce.Package != "omega" || ce.Version != "1.0-1" {
		t.Errorf("conflict names %s (%s %s); want the .deb of omega 1.0-1", ce.PoolPath, ce.Package, ce.Version)
	}
	for _, want := range []string{"omega_1.0-1_amd64.deb", "new version", "1.0-1+b1", "packyard repo remove"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if got := readPublished(t, r, "Release"); got != release {
		t.Errorf("refused rebuild changed Release")
	}
}

// TestAddSamePoolPathTwice: two different files with one pool path in one
// add (pool links are made in parallel, these one after another): the last
// one is published, and the pool file is the one Packages lists.
func TestAddSamePoolPathTwice(t *testing.T) {
	r, _ := newTestRepo(t)
	ctx := context.Background()
	first := writeTestDeb(t, t.TempDir(), "alpha", "1.0", "amd64", "")
	last := writeTestDeb(t, t.TempDir(), "alpha", "1.0", "amd64", "Depends: other\n")
	var ins []string
	for i := 0; i < 20; i++ {
		ins = append(ins, writeTestDeb(t, t.TempDir(), fmt.Sprintf("filler%02d", i), "1.0", "amd64", ""))
	}
	if _, err := r.Add(ctx, testDist, append(append(ins, first), last)...); err != nil {
		t.Fatal(err)
	}
	want, err := sumFile(last)
	must(t, err)
	got, err := sumFile(filepath.Join(r.Root(), "pool/main/a/alpha/alpha_1.0_amd64.deb"))
	must(t, err)
	if got.SHA256 != want.SHA256 {
		t.Errorf("pool holds %s; want the last file given, %s", got.SHA256, want.SHA256)
	}
	if packages := readPublished(t, r, "main/binary-amd64/Packages"); !strings.Contains(packages, "SHA256: "+want.SHA256) {
		t.Errorf("Packages does not list the last file's SHA256 %s", want.SHA256)
	}
	rep, err := r.Check(ctx)
	must(t, err)
	if len(rep.Problems) != 0 {
		t.Errorf("check: %v", rep.Problems)
	}
}

// TestConcurrentAddsOnePoolPath: two adds to two suites, of different
// files with one pool path, both past checkPool before either links. One
// add is refused with a *ConflictError; the other's file stays in the pool,
// and each suite's Packages lists what its pool path holds.
func TestConcurrentAddsOnePoolPath(t *testing.T) {
	r, _ := newTestRepo(t)
	ctx := context.Background()
	debs := []string{
		writeTestDeb(t, t.TempDir(), "alpha", "1.0", "amd64", ""),
		writeTestDeb(t, t.TempDir(), "alpha", "1.0", "amd64", "Depends: other\n"),
	}
	dists := []string{testDist, "bookworm-packyard-experimental"}
	var checked sync.WaitGroup
	checked.Add(len(debs))
	both := make(chan struct{})
	go func() { checked.Wait(); close(both) }()
	r.hook = func(p string) {
		if p == "pool-checked" {
			checked.Done()
			// Until both adds have checked the pool; an add that fails
			// before its check is reported below instead of hanging here.
			select {
			case <-both:
			case <-time.After(30 * time.Second):
			}
		}
	}
	errs := make([]error, len(debs))
	var wg sync.WaitGroup
	for i := range debs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = r.Add(ctx, dists[i], debs[i])
		}()
	}
	wg.Wait()
	var ok []int
	for i, err := range errs {
		var ce *ConflictError
		switch {
		case err == nil:
			ok = append(ok, i)
		case !errors.As(err, &ce) || !ce.Concurrent:
			t.Errorf("add to %s: %v; want a concurrent *ConflictError or success", dists[i], err)
		default:
			t.Logf("refused: %v", err)
		}
	}
	if len(ok) != 1 {
		t.Fatalf("%d adds succeeded (%v); want exactly one", len(ok), errs)
	}
	want, err := sumFile(debs[ok[0]])
	must(t, err)
	got, err := sumFile(filepath.Join(r.Root(), "pool/main/a/alpha/alpha_1.0_amd64.deb"))
	must(t, err)
	if got.SHA256 != want.SHA256 {
		t.Errorf("pool holds %s; want the file of the add that succeeded, %s", got.SHA256, want.SHA256)
	}
	rep, err := r.Check(ctx)
	must(t, err)
	if len(rep.Problems) != 0 {
		t.Errorf("check: %v", rep.Problems)
	}
}
