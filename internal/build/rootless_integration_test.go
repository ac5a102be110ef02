//go:build integration

package build_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packyard/packyard/internal/build"
	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/env"
	"github.com/packyard/packyard/internal/env/envtest"
)

// TestRootlessBuildHello builds hello twice as an ordinary user with
// subordinate ids (envtest.RunAs): the first build makes the
// build-dependency layer (old layers are collected first, so the layer is
// always made without root), the second reuses it.
func TestRootlessBuildHello(t *testing.T) {
	acc := envtest.EnsureRootlessUser(t)
	archives, err := envtest.HostArchives("/etc/apt/sources.list.d")
	if err != nil {
		t.Fatal(err)
	}
	dsc := fetchSource(t, config.Default(t.TempDir(), envtest.Codename, envtest.Arch, archives), "hello")
	start := time.Now()
	out, err := envtest.RunAs(t, acc, "TestRootlessHelperBuildHello", 40*time.Minute, "PACKYARD_IT_DSC="+dsc)
	t.Logf("TestRootlessHelperBuildHello as %s took %v:\n%s", acc.Name, time.Since(start).Round(time.Second), out)
	if err != nil || !strings.Contains(out, "--- PASS: TestRootlessHelperBuildHello") {
		t.Errorf("rootless build failed: %v", err)
	}
	sessions := filepath.Join(envtest.RootlessRoot, "workspace", "tmp", "sessions")
	if entries, _ := os.ReadDir(sessions); len(entries) != 0 {
		t.Errorf("sessions left in %s: %d", sessions, len(entries))
	}
}

func TestRootlessHelperBuildHello(t *testing.T) {
	cfg, mgr, e := envtest.RootlessEnv(t)
	dsc := os.Getenv("PACKYARD_IT_DSC")
	if dsc == "" {
		t.Fatal("PACKYARD_IT_DSC is not set")
	}
	// Collect every layer (rootless GC removes what belongs to
	// subordinate ids from the user namespace).
	cfg.Build.LayerMaxAge = config.Duration(time.Nanosecond)
	rep, err := mgr.GC(context.Background())
	cfg.Build.LayerMaxAge = 0
	if err != nil {
		t.Fatalf("GC: %v", err)
	}
	if layers, _ := e.Layers(); len(layers) != 0 {
		t.Fatalf("after GC with a 1 ns age limit, %d layers remain (collected %v)", len(layers), rep.Layers)
	}
	t.Logf("collected layers %v", rep.Layers)

	first := rootlessBuild(t, mgr, e, dsc, "first")
	if !bytes.Contains(first, []byte("kept build-dependency layer")) {
		t.Errorf("first build did not make a build-dependency layer")
	}
	second := rootlessBuild(t, mgr, e, dsc, "second")
	if !bytes.Contains(second, []byte("reused")) || !bytes.Contains(second, []byte("nothing to install")) {
		t.Errorf("second build does not report a reused layer")
	}
	for _, installing := range []string{"Unpacking ", "Setting up "} {
		if bytes.Contains(second, []byte(installing)) {
			t.Errorf("second build log shows %q: something was installed", installing)
		}
	}
	blobs, _ := filepath.Glob(filepath.Join(cfg.WorkspaceDir().Cache(), "debs", "sha256", "*.deb"))
	if len(blobs) == 0 {
		t.Errorf("the .deb cache is empty after a build that installed build-dependencies")
	}
}

func rootlessBuild(t *testing.T, mgr *env.Manager, e *env.Env, dsc, name string) []byte {
	t.Helper()
	logPath := filepath.Join(envtest.RootlessRoot, "logs", name+".log")
	_ = os.Remove(logPath)
	req := build.Request{DSC: dsc, Env: e, OutDir: t.TempDir(), LogPath: logPath}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	start := time.Now()
	res, err := build.NewDpkg(mgr, nil).Build(ctx, req)
	log, _ := os.ReadFile(logPath)
	if err != nil {
		t.Fatalf("%s build: %v\n%s", name, err, tail(string(log), 60))
	}
	t.Logf("%s build took %v", name, time.Since(start).Round(time.Millisecond))
	if !hasFile(res.Files, "hello_2.10-3_amd64.deb") || !hasFile(res.Files, "_amd64.changes") {
		t.Errorf("%s build: Files = %v; want hello's .deb and .changes", name, res.Files)
	}
	return log
}
