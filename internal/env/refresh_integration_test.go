//go:build integration

package env_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/packyard/packyard/internal/env"
	"github.com/packyard/packyard/internal/env/envtest"
)

// TestRefreshSwapsWhileInUse refreshes a (small, minbase) environment while
// a session uses it: the new one takes its place at once, the session goes
// on over the old one, and the old one is removed by GC once released.
func TestRefreshSwapsWhileInUse(t *testing.T) {
	cfg, mgr := envtest.Workspace(t, "workspace-refresh")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	old, err := mgr.Create(ctx, envtest.Codename, envtest.Arch, "minbase")
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := mgr.Verify(old, true); err != nil {
		t.Fatalf("Verify(fresh environment, with contents) = %v", err)
	}
	s, err := mgr.OpenSession(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := mgr.Refresh(ctx, envtest.Codename, envtest.Arch, "minbase")
	if err != nil {
		s.Close()
		t.Fatalf("Refresh: %v", err)
	}
	if !fresh.Manifest.Created.After(old.Manifest.Created) {
		t.Errorf("Refresh kept the old manifest (created %v, old %v)", fresh.Manifest.Created, old.Manifest.Created)
	}
	if err := s.Run(ctx, env.Step{Command: []string{"cat", "/etc/debian_version"}, Env: []string{"PATH=/usr/bin:/bin"}}); err != nil {
		t.Errorf("the session over the old environment broke after Refresh: %v", err)
	}
	olds, _ := filepath.Glob(filepath.Join(cfg.WorkspaceDir().Envs(), ".old-*"))
	if len(olds) != 1 {
		t.Errorf("while in use, old environments = %v; want one kept", olds)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := mgr.GC(ctx); err != nil {
		t.Fatal(err)
	}
	if olds, _ := filepath.Glob(filepath.Join(cfg.WorkspaceDir().Envs(), ".old-*")); len(olds) != 0 {
		t.Errorf("after the session ended and GC, old environments remain: %v", olds)
	}
	if _, err := mgr.Open(envtest.Codename, envtest.Arch, "minbase"); err != nil {
		t.Errorf("Open(refreshed) = %v", err)
	}
}
