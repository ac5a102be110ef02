package env

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync"

	"github.com/packyard/packyard/internal/run"
)

// Packyard run by an ordinary user (not root) works in a user namespace
// that maps namespace uid and gid 0 to the caller and 1..65535 to the
// caller's first subordinate range (/etc/subuid, /etc/subgid; the map of
// `unshare --map-auto --map-root-user`, util-linux 2.38): environments are
// made by mmdebstrap --mode=unshare inside it, so the files of root in an
// environment belong to the caller on the host and those of the build user
// (2000) to the caller's subordinate uid 1999. Sessions are held by one
// such namespace with its own mount and pid namespaces (see holder.go).

// Overlay drivers of rootless sessions (config build.overlay).
const (
	OverlayAuto   = "auto"
	OverlayKernel = "kernel"
	OverlayFuse   = "fuse"
)

// MinSubordinateIDs is the smallest subordinate range rootless mode
// accepts (useradd's default): every id an environment uses (the build
// user 2000, nobody 65534) must be mapped.
const MinSubordinateIDs = 65536

// ErrRootlessSetup is wrapped by every error saying the host is not set up
// for packyard as an ordinary user (no subordinate ids, no usable
// /dev/fuse). Missing programs are *run.NotFoundError instead.
var ErrRootlessSetup = errors.New("the host is not set up for builds without root")

// SubIDError reports a user without a large enough subordinate id range in
// File (/etc/subuid or /etc/subgid).
type SubIDError struct {
	User  string
	File  string
	Count int // the largest range found (0 when none)
}

func (e *SubIDError) Error() string {
	return fmt.Sprintf("user %s has no subordinate id range of at least %d ids in %s (found %d): "+
		"as root, add one with 'usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s' "+
		"(any range not used by another user)", e.User, MinSubordinateIDs, e.File, e.Count, e.User)
}

func (e *SubIDError) Unwrap() error { return ErrRootlessSetup }

// FuseDeviceError reports a /dev/fuse the user cannot open.
type FuseDeviceError struct {
	Err error
}

func (e *FuseDeviceError) Error() string {
	return fmt.Sprintf("opening /dev/fuse for fuse-overlayfs: %v: load the fuse module (modprobe fuse) and make /dev/fuse mode 0666 "+
		"(Debian's default), or set build.overlay: kernel on Linux 5.11 or later", e.Err)
}

func (e *FuseDeviceError) Unwrap() error { return ErrRootlessSetup }

// rootlessState caches the host checks of one Manager.
type rootlessState struct {
	mu      sync.Mutex
	checked map[string]error
}

// Rootless reports whether the manager works without root (packyard runs
// as an ordinary user).
func (m *Manager) Rootless() bool { return m.rootless }

// overlayDriver returns the configured rootless overlay driver.
func (m *Manager) overlayDriver() string {
	switch m.cfg.Build.Overlay {
	case OverlayKernel, OverlayFuse:
		return m.cfg.Build.Overlay
	}
	return OverlayAuto
}

// CheckRootless checks that the host lets this user make environments and
// sessions without root with driver (OverlayAuto checks what both need in
// common): newuidmap, newgidmap, unshare and nsenter installed, subordinate
// ranges for the user, and for fuse fuse-overlayfs, fusermount3 and a
// usable /dev/fuse. Errors are *run.NotFoundError (naming the Debian
// package), *SubIDError or *FuseDeviceError. Results are cached.
func (m *Manager) CheckRootless(driver string) error {
	m.rl.mu.Lock()
	defer m.rl.mu.Unlock()
	if err, ok := m.rl.checked[driver]; ok {
		return err
	}
	err := checkRootless(driver)
	if m.rl.checked == nil {
		m.rl.checked = map[string]error{}
	}
	m.rl.checked[driver] = err
	return err
}

func checkRootless(driver string) error {
	if err := run.Require("unshare", "nsenter", "newuidmap", "newgidmap"); err != nil {
		return err
	}
	u, err := user.Current()
	if err != nil {
		return fmt.Errorf("looking up the current user: %w", err)
	}
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		data, err := os.ReadFile(f)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("reading %s: %w", f, err)
		}
		if n := SubordinateCount(data, u.Username, u.Uid); n < MinSubordinateIDs {
			return &SubIDError{User: u.Username, File: f, Count: n}
		}
	}
	if driver == OverlayFuse {
		return checkFuse()
	}
	return nil
}

func checkFuse() error {
	if err := run.Require("fuse-overlayfs", "fusermount3"); err != nil {
		return err
	}
	f, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	if err != nil {
		return &FuseDeviceError{Err: err}
	}
	f.Close()
	return nil
}

// SubordinateCount returns the size of the first range of name (or of the
// numeric id) in a subuid(5) or subgid(5) file ("name:start:count" lines),
// which is the range `unshare --map-auto` maps; 0 when there is none.
func SubordinateCount(data []byte, name, id string) int {
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		f := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(f) != 3 || (f[0] != name && f[0] != id) {
			continue
		}
		n, err := strconv.Atoi(f[2])
		if err != nil {
			continue
		}
		return n
	}
	return 0
}

// UserNSArgs returns args run as root of a fresh user namespace with the
// rootless map (unshare(1) --map-auto --map-root-user).
func UserNSArgs(args ...string) []string {
	return append([]string{"unshare", "--map-auto", "--map-root-user", "--"}, args...)
}

// removeAll removes path like os.RemoveAll; without root, what the caller
// cannot remove (files of the build user or _apt, which belong to
// subordinate ids, or directories without write permission) is removed
// again as root of the user namespace.
func removeAll(runner *run.Runner, rootless bool, path string) error {
	err := os.RemoveAll(path)
	if err == nil || !rootless {
		return err
	}
	if rerr := runner.Run(context.Background(), run.Cmd{Args: UserNSArgs("rm", "-rf", "--", path)}); rerr != nil {
		return fmt.Errorf("removing %s: %w", path, errors.Join(err, rerr))
	}
	return nil
}

// removeAll is the package removeAll with the manager's mode.
func (m *Manager) removeAll(path string) error { return removeAll(m.runner, m.rootless, path) }
