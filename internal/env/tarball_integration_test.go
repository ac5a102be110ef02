//go:build integration

package env_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packyard/packyard/internal/env"
	"github.com/packyard/packyard/internal/env/envtest"
)

// writeTarball writes e's tarball into dir as the sbuild builder does: a
// locked temporary renamed into place, then held (shared) until the
// returned file is closed.
func writeTarball(t *testing.T, ctx context.Context, mgr *env.Manager, e *env.Env, dir string) (string, *os.File) {
	t.Helper()
	tmp, lock, err := env.CreateTarballTemp(dir, env.TarballName(e))
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.WriteTarball(ctx, e, tmp); err != nil {
		lock.Close()
		t.Fatalf("WriteTarball: %v", err)
	}
	final := filepath.Join(dir, env.TarballName(e))
	if err := os.Rename(tmp, final); err != nil {
		t.Fatal(err)
	}
	if err := env.HoldTarball(lock, final); err != nil {
		t.Fatalf("HoldTarball: %v", err)
	}
	return final, lock
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestTarballGCAfterRefreshAndRemove writes the tarball of a real (small,
// minbase) environment, refreshes the environment while a build holds the
// old tarball, and checks that collection keeps the held one, removes it
// once released (with a half-written temporary), keeps the current one,
// and removes that too once its environment is removed.
func TestTarballGCAfterRefreshAndRemove(t *testing.T) {
	cfg, mgr := envtest.Workspace(t, "workspace-tarball-gc")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	dir := filepath.Join(cfg.WorkspaceDir().Cache(), "sbuild")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	old, err := mgr.Create(ctx, envtest.Codename, envtest.Arch, "minbase")
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	oldTar, oldLock := writeTarball(t, ctx, mgr, old, dir)
	defer oldLock.Close()
	info, err := os.Stat(oldTar)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() < 10<<20 {
		t.Fatalf("tarball of the environment has %d bytes; want over 10 MiB", info.Size())
	}
	// A temporary left by a killed build.
	leftover := filepath.Join(dir, env.TarballName(old)+".tmp-killed")
	if err := os.WriteFile(leftover, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	if removed, _, err := mgr.CollectTarballs(dir); err != nil || len(removed) != 1 || !exists(oldTar) {
		t.Fatalf("CollectTarballs before refresh = %v, %v; want only the temporary removed, the current tarball kept", removed, err)
	}

	fresh, err := mgr.Refresh(ctx, envtest.Codename, envtest.Arch, "minbase")
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	newTar, newLock := writeTarball(t, ctx, mgr, fresh, dir)
	newLock.Close()
	if newTar == oldTar {
		t.Fatalf("the refreshed environment's tarball has the old name %s", filepath.Base(oldTar))
	}
	// The old tarball is stale, but a build still holds it.
	if removed, _, err := mgr.CollectTarballs(dir); err != nil || len(removed) != 0 {
		t.Errorf("CollectTarballs while the old tarball is in use = %v, %v; want nothing removed", removed, err)
	}
	if !exists(oldTar) {
		t.Fatalf("the tarball a build holds was removed")
	}
	oldLock.Close()
	removed, freed, err := mgr.CollectTarballs(dir)
	if err != nil || strings.Join(removed, ",") != filepath.Base(oldTar) || freed != info.Size() {
		t.Errorf("CollectTarballs after release = %v, %d bytes, %v; want [%s], %d bytes", removed, freed, err, filepath.Base(oldTar), info.Size())
	}
	if exists(oldTar) || !exists(newTar) {
		t.Errorf("after collection: old tarball exists %v, current exists %v; want false, true", exists(oldTar), exists(newTar))
	}

	if err := mgr.Remove(envtest.Codename, envtest.Arch, "minbase"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	removed, _, err = mgr.CollectTarballs(dir)
	if err != nil || strings.Join(removed, ",") != filepath.Base(newTar) {
		t.Errorf("CollectTarballs after Remove = %v, %v; want [%s]", removed, err, filepath.Base(newTar))
	}
	if _, err := os.Stat(newTar); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("tarball of the removed environment: stat = %v; want not exist", err)
	}
}
