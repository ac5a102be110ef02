package envtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/env"
	"github.com/packyard/packyard/internal/run"
)

// Rootless integration tests run as root, make an ordinary user with
// subordinate id ranges, and run the test binary again as that user with
// RootlessVar set: the "helper" tests, which only run then, do the work
// without root.
const (
	// RootlessUser is the ordinary user the helpers run as.
	RootlessUser = "packyard-it"
	// RootlessRoot, owned by RootlessUser, holds its workspace (cached
	// across runs, so only the first run pays for mmdebstrap), its home
	// and copies of the test binaries.
	RootlessRoot = "/var/tmp/packyard-it-rootless"
	// RootlessVar is set to 1 in the environment of helper runs.
	RootlessVar = "PACKYARD_IT_ROOTLESS"
)

// Account is a host user to run helpers as.
type Account struct {
	Name     string
	UID, GID int
}

// EnsureRootlessUser returns RootlessUser, creating it (useradd, which
// gives it subordinate ranges from login.defs) or adding ranges to it
// (usermod) when missing, and RootlessRoot owned by it. Nothing of other
// users is changed. It skips the test when not root.
func EnsureRootlessUser(t testing.TB) Account {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (to make the test user)")
	}
	r := run.New(nil)
	ctx := context.Background()
	if _, err := user.Lookup(RootlessUser); err != nil {
		args := []string{"useradd", "--system", "--no-create-home", "--home-dir", filepath.Join(RootlessRoot, "home"), "--shell", "/bin/sh", RootlessUser}
		if err := r.Run(ctx, run.Cmd{Args: args}); err != nil {
			t.Fatalf("creating test user: %v", err)
		}
	}
	u, err := user.Lookup(RootlessUser)
	if err != nil {
		t.Fatal(err)
	}
	acc := Account{Name: u.Username}
	acc.UID, _ = strconv.Atoi(u.Uid)
	acc.GID, _ = strconv.Atoi(u.Gid)
	if err := addSubordinateRanges(ctx, r, u); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{RootlessRoot, filepath.Join(RootlessRoot, "home"), filepath.Join(RootlessRoot, "bin")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, acc.UID, acc.GID); err != nil {
			t.Fatal(err)
		}
	}
	return acc
}

// addSubordinateRanges gives u 65536 subordinate uids and gids starting at
// a free multiple of 65536 above every range in /etc/subuid and /etc/subgid,
// unless it has a range already.
func addSubordinateRanges(ctx context.Context, r *run.Runner, u *user.User) error {
	uids, _ := os.ReadFile("/etc/subuid")
	gids, _ := os.ReadFile("/etc/subgid")
	if env.SubordinateCount(uids, u.Username, u.Uid) >= env.MinSubordinateIDs &&
		env.SubordinateCount(gids, u.Username, u.Uid) >= env.MinSubordinateIDs {
		return nil
	}
	start := 100000
	for _, data := range [][]byte{uids, gids} {
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Split(line, ":")
			if len(f) != 3 {
				continue
			}
			s, err1 := strconv.Atoi(f[1])
			n, err2 := strconv.Atoi(f[2])
			if err1 == nil && err2 == nil && s+n > start {
				start = (s + n + 65535) / 65536 * 65536
			}
		}
	}
	rng := fmt.Sprintf("%d-%d", start, start+65535)
	return r.Run(ctx, run.Cmd{Args: []string{"usermod", "--add-subuids", rng, "--add-subgids", rng, u.Username}})
}

// RunAs runs the test binary's test named test (a helper) as acc, with
// RootlessVar=1 and extra environment, and returns its output. The binary
// is copied below RootlessRoot first: the go tool's build directory is
// private to root. The copy is named for this process, so test binaries
// of concurrent go test runs never replace each other's; it is removed
// when t ends.
func RunAs(t testing.TB, acc Account, test string, timeout time.Duration, extra ...string) (string, error) {
	t.Helper()
	bin := filepath.Join(RootlessRoot, "bin", filepath.Base(os.Args[0])+"."+strconv.Itoa(os.Getpid()))
	if err := copyExecutable(os.Args[0], bin); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(bin) })
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	args := []string{"setpriv", "--reuid=" + strconv.Itoa(acc.UID), "--regid=" + strconv.Itoa(acc.GID), "--clear-groups", "--",
		bin, "-test.run=^" + test + "$", "-test.v", "-test.count=1", "-test.timeout=" + timeout.String()}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = RootlessRoot
	cmd.Env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + filepath.Join(RootlessRoot, "home"), "USER=" + acc.Name, "LOGNAME=" + acc.Name, "TMPDIR=/tmp",
		RootlessVar + "=1"}, extra...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".tmp" + strconv.Itoa(os.Getpid())
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// Helper skips the test unless it runs as a rootless helper.
func Helper(t testing.TB) {
	t.Helper()
	if os.Getenv(RootlessVar) != "1" || os.Geteuid() == 0 {
		t.Skip("rootless helper: run by the rootless integration tests only")
	}
}

var (
	rlOnce sync.Once
	rlCfg  *config.Config
	rlMgr  *env.Manager
	rlEnv  *env.Env
	rlErr  error
)

// RootlessEnv returns the config, manager and environment of the helper's
// workspace (RootlessRoot/workspace), made without root on first use. The
// overlay driver is build.overlay from PACKYARD_IT_OVERLAY ("" for auto).
func RootlessEnv(t testing.TB) (*config.Config, *env.Manager, *env.Env) {
	t.Helper()
	Helper(t)
	rlOnce.Do(func() {
		var archives []config.Archive
		if archives, rlErr = HostArchives("/etc/apt/sources.list.d"); rlErr != nil {
			return
		}
		rlCfg = config.Default(filepath.Join(RootlessRoot, "workspace"), Codename, Arch, archives)
		rlCfg.Build.Overlay = os.Getenv("PACKYARD_IT_OVERLAY")
		logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
		rlMgr = env.NewManager(rlCfg, logger, run.New(logger))
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		start := time.Now()
		rlEnv, rlErr = rlMgr.Ensure(ctx, Codename, Arch)
		fmt.Fprintf(os.Stderr, "rootless environment ready in %v\n", time.Since(start).Round(time.Millisecond))
	})
	if rlErr != nil {
		t.Fatalf("preparing the rootless environment: %v", rlErr)
	}
	return rlCfg, rlMgr, rlEnv
}
