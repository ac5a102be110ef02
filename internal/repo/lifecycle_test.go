package repo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSnapshotRollbackGCCheck(t *testing.T) {
	r, _ := newTestRepo(t)
	ctx := context.Background()
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r.now = func() time.Time { clock = clock.Add(time.Minute); return clock }
	in := t.TempDir()
	if _, err := r.Add(ctx, testDist, writeTestDeb(t, in, "foo", "1.0", "amd64", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CreateSnapshot(ctx, testDist, "s1"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CreateSnapshot(ctx, testDist, "s1"); !errors.Is(err, ErrBadInput) {
		t.Errorf("CreateSnapshot(existing) = %v; want ErrBadInput", err)
	}
	if _, err := r.Add(ctx, testDist, writeTestDeb(t, in, "foo", "2.0", "amd64", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Add(ctx, testDist, writeTestDeb(t, in, "bar", "1.0", "amd64", "")); err != nil {
		t.Fatal(err)
	}
	d, err := r.DiffSnapshots(ctx, "s1", testDist)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Added) != 1 || d.Added[0].Package != "bar" || len(d.Changed) != 1 || d.Changed[0].To != "2.0" {
		t.Errorf("Diff = %+v; want bar added, foo 1.0 -> 2.0", d)
	}
	rbs, err := r.Rollbacks(ctx, testDist)
	if err != nil || len(rbs) != 2 {
		t.Fatalf("Rollbacks = %+v, %v; want 2", rbs, err)
	}
	res, err := r.RollbackTo(ctx, testDist, 1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Generation != 4 {
		t.Errorf("rollback generation = %d; want 4", res.Generation)
	}
	pk := readPublished(t, r, "main/binary-amd64/Packages")
	if !strings.Contains(pk, "Version: 1.0") || strings.Contains(pk, "Package: bar") {
		t.Errorf("after rollback Packages:\n%s", pk)
	}
	if rep, err := r.Check(ctx); err != nil {
		t.Fatalf("Check = %v %+v", err, rep)
	}
	// Much later, gc frees generations outside rollbacks; the snapshot and
	// its pool files stay.
	clock = clock.Add(72 * time.Hour)
	r.cfg.Repository.Distributions[0].Suites[2].Rollbacks = 1
	rep, err := r.GC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Generations) != 1 || rep.Generations[0] != testDist+"/2" {
		t.Errorf("GC deleted %v; want generation 2 only", rep.Generations)
	}
	if _, err := os.Stat(filepath.Join(r.Root(), "pool/main/f/foo/foo_1.0_amd64.deb")); err != nil {
		t.Errorf("snapshotted pool file gone: %v", err)
	}
	if rc, err := r.Check(ctx); err != nil {
		t.Fatalf("Check after gc = %v %+v", err, rc)
	}
	if err := r.RemoveSnapshot(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	r.cfg.Repository.Distributions[0].Suites[2].Rollbacks = 0
	clock = clock.Add(72 * time.Hour)
	if _, err := r.Add(ctx, testDist, writeTestDeb(t, in, "baz", "1.0", "amd64", "")); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(72 * time.Hour)
	rep, err = r.GC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(r.Root(), "pool/main/f/foo/foo_2.0_amd64.deb")); !os.IsNotExist(err) {
		t.Errorf("unreferenced foo 2.0 still in pool (gc %+v): %v", rep, err)
	}
	if rc, err := r.Check(ctx); err != nil {
		t.Fatalf("Check after second gc = %v %+v", err, rc)
	}
	// Corruption is found.
	os.WriteFile(filepath.Join(r.Root(), "pool/main/b/baz/baz_1.0_amd64.deb"), []byte("garbage"), 0o644)
	if _, err := r.Check(ctx); !errors.Is(err, ErrCheckFailed) {
		t.Errorf("Check(corrupt pool) = %v; want ErrCheckFailed", err)
	}
}
