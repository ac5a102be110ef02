package repo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"
)

// TestTailAddsMatchFromScratch adds packages at the start, middle and end
// of a suite large enough for a tail run, and after each add checks that
// the new package did not rewrite the main run, that the published
// Packages and Contents hold exactly the records of a from-scratch publish
// of the same set (in another order), that Check passes, and that the
// Release hashes, computed by resuming from checkpoints, are the ones a
// publish hashing every file from its start gives. Then an add too large
// for the tail merges it: the uncompressed indexes are byte-identical to
// the from-scratch publish's, and so are their Release entries.
func TestTailAddsMatchFromScratch(t *testing.T) {
	ctx := context.Background()
	r, _ := newTestRepo(t)
	r.chunkTarget = 1024
	r.plainLimit = 0
	in := t.TempDir()
	var debs []string
	for i := 0; i < 200; i++ {
		debs = append(debs, writeTestDeb(t, in, fmt.Sprintf("m%03d", i*2), "1.0", "amd64", ""))
	}
	if _, err := r.Add(ctx, testDist, debs...); err != nil {
		t.Fatal(err)
	}
	const pk = "main/binary-amd64/Packages"
	for _, name := range []string{"a-first", "m201", "zz-last"} {
		before := currentManifest(t, r).Indexes[pk]
		deb := writeTestDeb(t, in, name, "1.0", "amd64", "")
		debs = append(debs, deb)
		if _, err := r.Add(ctx, testDist, deb); err != nil {
			t.Fatal(err)
		}
		m := currentManifest(t, r)
		after := m.Indexes[pk]
		n := mainRun(before)
		if mainRun(after) != n || len(after) <= n {
			t.Fatalf("adding %s: main run %d -> %d chunks of %d; want it kept and a tail", name, n, mainRun(after), len(after))
		}
		for i := 0; i < n; i++ {
			if after[i].SHA256 != before[i].SHA256 {
				t.Fatalf("adding %s rewrote chunk %d of the main run", name, i)
			}
		}
		scratch := fromScratch(t, debs)
		for _, f := range []string{pk, "main/Contents-amd64"} {
			got, want := sortedRecords(t, publishedXZ(t, r.Root(), f)), sortedRecords(t, publishedXZ(t, scratch.Root(), f))
			if got != want {
				t.Errorf("adding %s: %s records differ from a from-scratch publish:\n%s\nwant\n%s", name, f, got, want)
			}
		}
		if rep, err := r.Check(ctx); err != nil {
			t.Fatalf("adding %s: %v %+v", name, err, rep.Problems)
		}
		resumed := releaseFiles(t, r.Root())
		// Two rollbacks republish the same chunks with no previous
		// generation to resume from: every file is hashed from its start.
		for i := 0; i < 2; i++ {
			if _, err := r.RollbackTo(ctx, testDist, 0); err != nil {
				t.Fatal(err)
			}
		}
		if full := releaseFiles(t, r.Root()); !sameSums(resumed, full) {
			t.Errorf("adding %s: Release from checkpoints\n%v\ndiffers from hashing from the start\n%v", name, resumed, full)
		}
	}
	// Enough new packages to overflow the tail: it is merged back.
	var more []string
	for i := 0; i < 30; i++ {
		more = append(more, writeTestDeb(t, in, fmt.Sprintf("m%03d", i*2+1), "1.0", "amd64", ""))
	}
	debs = append(debs, more...)
	if _, err := r.Add(ctx, testDist, more...); err != nil {
		t.Fatal(err)
	}
	if cs := currentManifest(t, r).Indexes[pk]; mainRun(cs) != len(cs) {
		t.Fatalf("tail not merged: %d of %d chunks in the main run", mainRun(cs), len(cs))
	}
	scratch := fromScratch(t, debs)
	got, want := releaseFiles(t, r.Root()), releaseFiles(t, scratch.Root())
	// The compressed forms depend on where chunks were cut, which differs
	// between incremental and from-scratch publishes; their content not.
	for _, f := range []string{pk, "main/Contents-amd64", "main/source/Sources"} {
		if got[f] != want[f] {
			t.Errorf("after merging the tail, Release lists %s as %+v; from scratch %+v", f, got[f], want[f])
		}
	}
	if !bytes.Equal(publishedXZ(t, r.Root(), pk), publishedXZ(t, scratch.Root(), pk)) {
		t.Errorf("after merging the tail, Packages differs from a from-scratch publish")
	}
	if rep, err := r.Check(ctx); err != nil {
		t.Fatalf("after merging: %v %+v", err, rep.Problems)
	}
}

func currentManifest(t *testing.T, r *Repo) *manifest {
	t.Helper()
	n, _, err := r.current(testDist)
	if err != nil {
		t.Fatal(err)
	}
	m, err := r.loadManifest(testDist, n)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mainRun(cs []chunkRef) int {
	for i, c := range cs {
		if c.Tail {
			return i
		}
	}
	return len(cs)
}

// fromScratch publishes debs in one add to a new repository.
func fromScratch(t *testing.T, debs []string) *Repo {
	t.Helper()
	r, _ := newTestRepo(t)
	r.chunkTarget = 1024
	r.plainLimit = 0
	if _, err := r.Add(context.Background(), testDist, debs...); err != nil {
		t.Fatal(err)
	}
	return r
}

// publishedXZ returns the decompressed .xz form of index rel.
func publishedXZ(t *testing.T, root, rel string) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "dists", testDist, rel+".xz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := xz.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// sortedRecords returns the records of an index (stanzas or lines), sorted.
func sortedRecords(t *testing.T, data []byte) string {
	t.Helper()
	kind := kindStanza
	if !bytes.HasPrefix(data, []byte("Package: ")) {
		kind = kindContents
	}
	recs, err := splitRecords(kind, data)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r.Data)
	}
	sort.Strings(out)
	return strings.Join(out, "")
}

// releaseFiles returns what the current Release lists.
func releaseFiles(t *testing.T, root string) map[string]checksums {
	t.Helper()
	files, err := parseReleaseFiles(mustRead(t, filepath.Join(root, "dists", testDist, "Release")))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func sameSums(a, b map[string]checksums) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestCheckFindsWrongHashStates corrupts the saved hash states of the
// current generation (each checkpoint given the states of the first one):
// the next publish, resuming from them, lists wrong checksums, and Check
// must report that, for the published forms and for the unpublished
// uncompressed one.
func TestCheckFindsWrongHashStates(t *testing.T) {
	ctx := context.Background()
	r, _ := newTestRepo(t)
	r.chunkTarget = 400
	r.plainLimit = 0
	in := t.TempDir()
	var debs []string
	for i := 0; i < 60; i++ {
		debs = append(debs, writeTestDeb(t, in, fmt.Sprintf("m%03d", i), "1.0", "amd64", ""))
	}
	if _, err := r.Add(ctx, testDist, debs...); err != nil {
		t.Fatal(err)
	}
	n, _, err := r.current(testDist)
	if err != nil {
		t.Fatal(err)
	}
	cks := r.loadCheckpoints(testDist, n)
	for _, f := range []string{"main/binary-amd64/Packages", "main/binary-amd64/Packages.xz"} {
		list := cks[f]
		if len(list) < 2 {
			t.Fatalf("%s: %d checkpoints; want at least 2", f, len(list))
		}
		for i := range list {
			list[i].Hashes = list[0].Hashes
		}
	}
	if err := r.saveCheckpoints(testDist, n, cks, newSyncSet()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Add(ctx, testDist, writeTestDeb(t, in, "m100", "1.0", "amd64", "")); err != nil {
		t.Fatal(err)
	}
	rep, err := r.Check(ctx)
	if err == nil {
		t.Fatal("Check passed a Release made from wrong hash states")
	}
	for _, f := range []string{"main/binary-amd64/Packages", "main/binary-amd64/Packages.xz"} {
		found := false
		for _, p := range rep.Problems {
			found = found || strings.HasSuffix(p.Path, "/"+f)
		}
		if !found {
			t.Errorf("Check did not report %s: %+v", f, rep.Problems)
		}
	}
}
