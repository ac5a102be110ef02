//go:build integration

package env_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/env"
	"github.com/packyard/packyard/internal/env/envtest"
)

// processesWith returns the pids whose command line contains every arg.
func processesWith(args ...string) []string {
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	needle := strings.Join(args, "\x00")
	for _, d := range dirs {
		cmd, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err == nil && bytes.Contains(cmd, []byte(needle)) {
			out = append(out, filepath.Base(d))
		}
	}
	return out
}

// mountsMentioning returns mountinfo lines of any process that name path.
func mountsMentioning(path string) []string {
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		data, err := os.ReadFile(filepath.Join(d, "mountinfo"))
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(data), "\n") {
			if strings.Contains(l, path) {
				out = append(out, filepath.Base(d)+": "+l)
			}
		}
	}
	return out
}

func openSession(t *testing.T) (*env.Manager, *env.Session) {
	t.Helper()
	_, mgr, e := envtest.Env(t)
	s, err := mgr.OpenSession(context.Background(), e)
	if err != nil {
		t.Fatalf("OpenSession: %v", err)
	}
	t.Logf("session setup took %v", s.SetupTime)
	return mgr, s
}

func runStep(t *testing.T, s *env.Session, step env.Step) (string, error) {
	t.Helper()
	var out bytes.Buffer
	step.Log = &out
	if step.Env == nil {
		step.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	}
	err := s.Run(context.Background(), step)
	return out.String(), err
}

// outsideAddress resolves the configured mirror's host on the host: a
// real outside address packyard is allowed to reach.
func outsideAddress(t *testing.T) string {
	t.Helper()
	cfg, _, _ := envtest.Env(t)
	return mirrorIPv4(t, cfg)
}

// mirrorIPv4 returns an IPv4 address of cfg's first archive (skipping the
// test when there is none).
func mirrorIPv4(t *testing.T, cfg *config.Config) string {
	t.Helper()
	u, err := url.Parse(cfg.Archives[0].URI)
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := net.LookupHost(u.Hostname())
	if err != nil {
		t.Skipf("cannot resolve the mirror: %v", err)
	}
	for _, a := range addrs {
		if !strings.Contains(a, ":") {
			return a
		}
	}
	t.Skip("mirror has no IPv4 address")
	return ""
}

const netProbe = `use IO::Socket::INET;
my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1", LocalPort => 0, ReuseAddr => 1) or die "listen: $!";
my $port = $s->sockport;
if (fork() == 0) {
	my $c = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port) or die "connect: $!";
	print $c "hello-loopback\n";
	exit 0;
}
my $a = $s->accept;
my $l = <$a>;
print "loopback: $l";
my $o = IO::Socket::INET->new(PeerAddr => $ARGV[0], PeerPort => 80, Timeout => 5);
print $o ? "outside: connected\n" : "outside: failed: $!\n";
`

func TestSessionNetworkLoopbackOnly(t *testing.T) {
	addr := outsideAddress(t)
	_, s := openSession(t)
	defer s.Close()
	out, err := runStep(t, s, env.Step{Command: []string{"perl", "-e", netProbe, addr}, AsBuildUser: true})
	if err != nil {
		t.Fatalf("probe without network: %v\n%s", err, out)
	}
	if !strings.Contains(out, "loopback: hello-loopback") {
		t.Errorf("without network, loopback server: got %q; want it to answer", out)
	}
	if !strings.Contains(out, "outside: failed") {
		t.Errorf("without network, outside connect: got %q; want failure", out)
	}
	out, err = runStep(t, s, env.Step{Command: []string{"perl", "-e", netProbe, addr}, Network: true})
	if err != nil {
		t.Fatalf("probe with network: %v\n%s", err, out)
	}
	if !strings.Contains(out, "outside: connected") {
		t.Errorf("with network, outside connect: got %q; want connected", out)
	}
}

func TestSessionBuildUserIsNotRoot(t *testing.T) {
	_, s := openSession(t)
	defer s.Close()
	out, err := runStep(t, s, env.Step{Command: []string{"sh", "-c", "id -u; id -g; grep CapEff /proc/self/status; hostname"}, AsBuildUser: true})
	if err != nil {
		t.Fatalf("id: %v\n%s", err, out)
	}
	want := "2000\n2000\nCapEff:\t0000000000000000\npackyard\n"
	if out != want {
		t.Errorf("build user identity = %q; want %q", out, want)
	}
}

func TestSessionKillsLeftoverDaemon(t *testing.T) {
	_, s := openSession(t)
	out, err := runStep(t, s, env.Step{Command: []string{"sh", "-c", "setsid sleep 31337 </dev/null >/dev/null 2>&1 & echo started"}, AsBuildUser: true})
	if err != nil {
		t.Fatalf("step: %v\n%s", err, out)
	}
	if p := processesWith("sleep", "31337"); len(p) != 0 {
		for _, pid := range p {
			st, _ := os.ReadFile("/proc/" + pid + "/status")
			ns, _ := os.Readlink("/proc/" + pid + "/ns/pid")
			t.Logf("pid %s ns %s\n%s", pid, ns, st)
		}
		t.Errorf("after the step, daemon still runs: pids %v", p)
	}
	dir := s.Dir
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if m := mountsMentioning(dir); len(m) != 0 {
		t.Errorf("after Close, mounts remain:\n%s", strings.Join(m, "\n"))
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Close, session directory %s remains (stat: %v)", dir, err)
	}
}

func TestSessionCancel(t *testing.T) {
	_, s := openSession(t)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	err := s.Run(ctx, env.Step{Command: []string{"sleep", "31338"}, Env: []string{"PATH=/usr/bin:/bin"}})
	if err == nil {
		t.Fatal("Run of a cancelled step = nil; want error")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cancelled step took %v to return", d)
	}
	if p := processesWith("sleep", "31338"); len(p) != 0 {
		t.Errorf("after cancel, step process still runs: pids %v", p)
	}
}

// TestHelperHoldSession is not a test: the kill -9 test runs the test
// binary with it to own a session that it then kills.
func TestHelperHoldSession(t *testing.T) {
	if os.Getenv("PACKYARD_IT_HELPER") != "1" {
		t.Skip("helper process only")
	}
	_, s := openSession(t)
	os.Stdout.WriteString("SESSION " + s.Dir + "\n")
	_, _ = runStep(t, s, env.Step{Command: []string{"sh", "-c", "sleep 31339 & sleep 31339"}, AsBuildUser: true})
}

func TestKill9LeavesNothingAfterGC(t *testing.T) {
	_, mgr, _ := envtest.Env(t)
	cmd, sessDir := startHolder(t, "TestHelperHoldSession", "PACKYARD_IT_HELPER", "31339", 30*time.Second)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for len(processesWith("sleep", "31339")) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if p := processesWith("sleep", "31339"); len(p) != 0 {
		t.Errorf("after kill -9, session processes remain: %v", p)
	}
	if m := mountsMentioning(sessDir); len(m) != 0 {
		t.Errorf("after kill -9, mounts remain:\n%s", strings.Join(m, "\n"))
	}
	checkGCRemoves(t, mgr, sessDir)
}

// startHolder runs the helper test holder (enabled by envVar=1) in a child
// process and waits until its step, two "sleep marker" processes, runs; it
// returns the child and the session directory the helper printed.
func startHolder(t *testing.T, holder, envVar, marker string, timeout time.Duration) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+holder+"$", "-test.v")
	cmd.Env = append(os.Environ(), envVar+"=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(timeout)
	for len(processesWith("sleep", marker)) < 2 {
		if time.Now().After(deadline) || cmd.ProcessState != nil {
			_ = cmd.Process.Kill()
			t.Fatalf("holder of the session did not start its step:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, rest, _ := strings.Cut(out.String(), "SESSION ")
	return cmd, strings.TrimSpace(strings.SplitN(rest, "\n", 2)[0])
}

// checkGCRemoves runs GC and checks it removed the session at sessDir.
func checkGCRemoves(t *testing.T, mgr *env.Manager, sessDir string) {
	t.Helper()
	rep, err := mgr.GC(context.Background())
	if err != nil {
		t.Fatalf("GC: %v", err)
	}
	if !slices.Contains(rep.Sessions, filepath.Base(sessDir)) {
		t.Errorf("GC removed sessions %v; want %s among them", rep.Sessions, filepath.Base(sessDir))
	}
	if _, err := os.Stat(sessDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after GC, %s remains (stat: %v)", sessDir, err)
	}
}
