//go:build integration

package env_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/env"
	"github.com/packyard/packyard/internal/env/envtest"
)

// The Test* functions here run as root: they make the test user and run
// the TestRootlessHelper* functions as that user (envtest.RunAs), once per
// overlay driver.

var rootlessSessions = filepath.Join(envtest.RootlessRoot, "workspace", "tmp", "sessions")

// overlays returns the drivers to test: the default (kernel overlayfs in
// the user namespace) and fuse-overlayfs. /dev/fuse is made mode 0666
// (Debian's default) for the fuse run when it is not, and restored after.
func overlays(t *testing.T, acc envtest.Account) []string {
	st, err := os.Stat("/dev/fuse")
	if err != nil {
		t.Logf("no /dev/fuse (%v): fuse-overlayfs not tested", err)
		return []string{""}
	}
	if mode := st.Mode().Perm(); mode&0o006 != 0o006 {
		out, err := envtest.RunAs(t, acc, "TestRootlessHelperFuseDenied", 5*time.Minute, "PACKYARD_IT_OVERLAY=fuse")
		if err != nil {
			t.Errorf("fuse-overlayfs without access to /dev/fuse:\n%s", out)
		}
		if err := os.Chmod("/dev/fuse", 0o666); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod("/dev/fuse", mode) })
	}
	return []string{"", "fuse"}
}

func runHelper(t *testing.T, acc envtest.Account, test, overlay string) {
	t.Helper()
	start := time.Now()
	out, err := envtest.RunAs(t, acc, test, 20*time.Minute, "PACKYARD_IT_OVERLAY="+overlay)
	t.Logf("%s as %s (overlay %q) took %v:\n%s", test, acc.Name, overlay, time.Since(start).Round(time.Millisecond), out)
	if err != nil || !strings.Contains(out, "--- PASS: "+test) {
		t.Errorf("%s failed: %v", test, err)
	}
	if p := processesWith(rootlessSessions); len(p) != 0 {
		t.Errorf("after %s, processes of its sessions remain: %v", test, p)
	}
	if m := mountsMentioning(rootlessSessions); len(m) != 0 {
		t.Errorf("after %s, mounts of its sessions remain:\n%s", test, strings.Join(m, "\n"))
	}
}

func TestRootlessSession(t *testing.T) {
	acc := envtest.EnsureRootlessUser(t)
	for _, o := range overlays(t, acc) {
		runHelper(t, acc, "TestRootlessHelperSession", o)
	}
}

func TestRootlessKill9(t *testing.T) {
	acc := envtest.EnsureRootlessUser(t)
	for _, o := range overlays(t, acc) {
		runHelper(t, acc, "TestRootlessHelperKill9", o)
	}
}

// TestRootlessSessionSetup prints the median session setup time without
// root (bench/build/run.sh shows it).
func TestRootlessSessionSetup(t *testing.T) {
	acc := envtest.EnsureRootlessUser(t)
	for _, o := range overlays(t, acc) {
		runHelper(t, acc, "TestRootlessHelperSetupTime", o)
	}
}

// TestRootlessNoSubordinateIDs runs as nobody, who has no subordinate ids.
func TestRootlessNoSubordinateIDs(t *testing.T) {
	envtest.EnsureRootlessUser(t)
	out, err := envtest.RunAs(t, envtest.Account{Name: "nobody", UID: 65534, GID: 65534}, "TestRootlessHelperNoSubordinateIDs", 5*time.Minute)
	if err != nil || !strings.Contains(out, "--- PASS") {
		t.Errorf("as nobody: %v\n%s", err, out)
	}
}

func TestRootlessHelperNoSubordinateIDs(t *testing.T) {
	envtest.Helper(t)
	cfg := config.Default(t.TempDir(), envtest.Codename, envtest.Arch, []config.Archive{{Name: "a", URI: "http://mirror.invalid/debian", Suites: []string{"bookworm"}}})
	m := env.NewManager(cfg, nil, nil)
	_, err := m.Ensure(context.Background(), envtest.Codename, envtest.Arch)
	var se *env.SubIDError
	if !errors.As(err, &se) || !errors.Is(err, env.ErrRootlessSetup) {
		t.Fatalf("Ensure as a user without subordinate ids = %v; want a *SubIDError", err)
	}
	t.Logf("error: %v", err)
}

func TestRootlessHelperFuseDenied(t *testing.T) {
	_, mgr, e := envtest.RootlessEnv(t)
	_, err := mgr.OpenSession(context.Background(), e)
	var fe *env.FuseDeviceError
	if !errors.As(err, &fe) {
		t.Fatalf("OpenSession with fuse and no access to /dev/fuse = %v; want a *FuseDeviceError", err)
	}
	t.Logf("error: %v", err)
}

func TestRootlessHelperSession(t *testing.T) {
	cfg, mgr, e := envtest.RootlessEnv(t)
	addr := mirrorIPv4(t, cfg)
	s, err := mgr.OpenSession(context.Background(), e)
	if err != nil {
		t.Fatalf("OpenSession: %v", err)
	}
	t.Logf("session setup took %v with the %s overlay", s.SetupTime, s.Overlay())
	if want := os.Getenv("PACKYARD_IT_OVERLAY"); want != "" && s.Overlay() != want {
		t.Errorf("Overlay() = %q; want %q", s.Overlay(), want)
	}
	if err := s.HandOverBuildDir(); err != nil {
		t.Fatalf("HandOverBuildDir: %v", err)
	}
	out, err := runStep(t, s, env.Step{Command: []string{"sh", "-c", "id -u; stat -c %u /etc/passwd"}})
	if err != nil || out != "0\n0\n" {
		t.Errorf("as session root: id and owner of /etc/passwd = %q, %v; want 0 and 0", out, err)
	}
	out, err = runStep(t, s, env.Step{Command: []string{"sh", "-c", "id -u; id -g; grep CapEff /proc/self/status; hostname; touch /build/mine && stat -c %u /build/mine"}, AsBuildUser: true})
	if want := "2000\n2000\nCapEff:\t0000000000000000\npackyard\n2000\n"; err != nil || out != want {
		t.Errorf("build user identity = %q, %v; want %q", out, err, want)
	}
	out, err = runStep(t, s, env.Step{Command: []string{"perl", "-e", netProbe, addr}, AsBuildUser: true})
	if err != nil || !strings.Contains(out, "loopback: hello-loopback") || !strings.Contains(out, "outside: failed") {
		t.Errorf("without network: got %q, %v; want loopback to answer and the outside connect to fail", out, err)
	}
	out, err = runStep(t, s, env.Step{Command: []string{"perl", "-e", netProbe, addr}, Network: true})
	if err != nil || !strings.Contains(out, "outside: connected") {
		t.Errorf("with network: got %q, %v; want the outside connect to work", out, err)
	}
	out, err = runStep(t, s, env.Step{Command: []string{"sh", "-c", "setsid sleep 31347 </dev/null >/dev/null 2>&1 & echo started"}, AsBuildUser: true})
	if err != nil {
		t.Fatalf("daemon step: %v\n%s", err, out)
	}
	if p := processesWith("sleep", "31347"); len(p) != 0 {
		t.Errorf("after the step, its daemon still runs: pids %v", p)
	}
	dir := s.Dir
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if m := mountsMentioning(dir); len(m) != 0 {
		t.Errorf("after Close, mounts remain:\n%s", strings.Join(m, "\n"))
	}
	if p := processesWith(dir); len(p) != 0 {
		t.Errorf("after Close, processes of the session remain (fuse-overlayfs?): %v", p)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Close, session directory %s remains (stat: %v)", dir, err)
	}
}

// TestRootlessHelperHold is run by TestRootlessHelperKill9 to own a session
// that it kills.
func TestRootlessHelperHold(t *testing.T) {
	if os.Getenv("PACKYARD_IT_HOLD") != "1" {
		t.Skip("run by TestRootlessHelperKill9 only")
	}
	_, mgr, e := envtest.RootlessEnv(t)
	s, err := mgr.OpenSession(context.Background(), e)
	if err != nil {
		t.Fatalf("OpenSession: %v", err)
	}
	os.Stdout.WriteString("SESSION " + s.Dir + "\n")
	_, _ = runStep(t, s, env.Step{Command: []string{"sh", "-c", "sleep 31349 & sleep 31349"}, AsBuildUser: true})
}

func TestRootlessHelperKill9(t *testing.T) {
	_, mgr, _ := envtest.RootlessEnv(t)
	cmd, sessDir := startHolder(t, "TestRootlessHelperHold", "PACKYARD_IT_HOLD", "31349", 5*time.Minute)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for len(processesWith("sleep", "31349"))+len(processesWith(sessDir)) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("after kill -9, the session's processes were gone in %v", 5*time.Second-time.Until(deadline))
	if p := processesWith("sleep", "31349"); len(p) != 0 {
		t.Errorf("after kill -9, step processes remain: %v", p)
	}
	if p := processesWith(sessDir); len(p) != 0 {
		t.Errorf("after kill -9, processes of the session (holder, fuse-overlayfs) remain: %v", p)
	}
	if m := mountsMentioning(sessDir); len(m) != 0 {
		t.Errorf("after kill -9, mounts remain:\n%s", strings.Join(m, "\n"))
	}
	checkGCRemoves(t, mgr, sessDir)
}

func TestRootlessHelperSetupTime(t *testing.T) {
	_, mgr, e := envtest.RootlessEnv(t)
	ctx := context.Background()
	const n = 30
	var setup, total []time.Duration
	driver := ""
	for i := 0; i < n; i++ {
		start := time.Now()
		s, err := mgr.OpenSession(ctx, e)
		if err != nil {
			t.Fatalf("OpenSession: %v", err)
		}
		if err := s.Run(ctx, env.Step{Command: []string{"/bin/true"}}); err != nil {
			t.Fatalf("entering the session: %v", err)
		}
		total = append(total, time.Since(start))
		setup, driver = append(setup, s.SetupTime), s.Overlay()
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	fmt.Printf("rootless session setup (%s overlay): mount median %.1f ms, mount + bwrap entry of /bin/true median %.1f ms (n=%d)\n",
		driver, median(setup), median(total), n)
	if m := median(total); m > 100 {
		t.Logf("rootless session setup median %.1f ms is above the 100 ms target", m)
	}
}

func median(d []time.Duration) float64 {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return float64(s[len(s)/2].Microseconds()) / 1000
}
