package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/packyard/packyard/internal/env"
	"github.com/packyard/packyard/internal/run"
)

// Packyard run by an ordinary user runs sbuild as that user. sbuild's
// unshare mode maps the chroot's ids 0..n-1 to the user's first
// subordinate range named in /etc/subuid and /etc/subgid (by user name),
// and unpacks the environment tarball as root of that namespace, so the
// tarball must record the owners the files have inside the environment
// (root 0, the build user 2000, _apt 42), not those on the host: it is
// written from packyard's own user namespace (env.Manager.WriteTarball).
// The tarball cache and the build directories are then the workspace's
// (cache/sbuild, tmp/sbuild), which the user owns, instead of a dedicated
// user's home.

// sbuildPlaces are where the sbuild builder keeps environment tarballs
// (Cache) and makes one directory per build (Builds).
type sbuildPlaces struct {
	Cache, Builds string
}

// rootless reports whether packyard runs sbuild as the calling user.
func (s *Sbuild) rootless() bool {
	if s.Envs != nil {
		return s.Envs.Rootless()
	}
	return os.Geteuid() != 0
}

// places returns the tarball cache and build directories for u: in the
// home of the dedicated user when packyard is root (which the user can
// read, unlike a workspace under /root), one pair per workspace
// (workspaceKey) so that one workspace's gc, kept-max-age and tarball
// turnover never touch another's; else in the workspace.
func (s *Sbuild) places(u *buildUser) sbuildPlaces {
	if s.Envs == nil {
		return sbuildPlaces{Cache: filepath.Join(u.Home, ".cache", "sbuild"), Builds: filepath.Join(u.Home, "builds")}
	}
	ws := s.Envs.Config().WorkspaceDir()
	if u.Switch {
		key := workspaceKey(string(ws))
		return sbuildPlaces{Cache: filepath.Join(u.Home, ".cache", "sbuild", key), Builds: filepath.Join(u.Home, "builds", key)}
	}
	return sbuildPlaces{Cache: filepath.Join(ws.Cache(), "sbuild"), Builds: filepath.Join(ws.Tmp(), "sbuild")}
}

// workspaceKey names a workspace's directories in the sbuild user's home:
// "ws-" and the first 12 hex digits of the SHA-256 of its absolute path.
func workspaceKey(ws string) string {
	if abs, err := filepath.Abs(ws); err == nil {
		ws = abs
	}
	sum := sha256.Sum256([]byte(ws))
	return "ws-" + hex.EncodeToString(sum[:6])
}

// checkRootless checks, without root, what sbuild's unshare mode needs
// besides what packyard's sessions need: subordinate ranges listed under
// the user's name (sbuild does not look up numeric entries). The errors
// wrap env.ErrRootlessSetup.
func (s *Sbuild) checkRootless() error {
	if !s.rootless() {
		return nil
	}
	if s.Envs != nil {
		if err := s.Envs.CheckRootless(env.OverlayAuto); err != nil {
			return err
		}
	}
	u, err := callingUser()
	if err != nil {
		return err
	}
	name := u.Name
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		data, err := os.ReadFile(f)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("reading %s: %w", f, err)
		}
		if !HasSubordinateRange(string(data), name) {
			return &env.SubIDError{User: name, File: f}
		}
	}
	return nil
}

// callingUser is the user packyard runs as, who runs sbuild without root.
func callingUser() (*buildUser, error) {
	cur, err := user.Current()
	if err != nil {
		return nil, fmt.Errorf("looking up the calling user: %w", err)
	}
	uid, _ := strconv.Atoi(cur.Uid)
	gid, _ := strconv.Atoi(cur.Gid)
	return &buildUser{Name: cur.Username, UID: uid, GID: gid, Home: cur.HomeDir}, nil
}

// newWorkDir makes a fresh directory for one build below builds, so
// parallel builds never share one.
func newWorkDir(builds string) (string, error) {
	if err := os.MkdirAll(builds, 0o755); err != nil {
		return "", fmt.Errorf("creating sbuild build directory: %w", err)
	}
	work, err := os.MkdirTemp(builds, time.Now().UTC().Format("20060102T150405")+"-")
	if err != nil {
		return "", fmt.Errorf("creating sbuild build directory: %w", err)
	}
	if err := os.Chmod(work, 0o755); err != nil {
		return "", fmt.Errorf("creating sbuild build directory: %w", err)
	}
	return work, nil
}

// removeWork removes a build directory. Without root, what the user
// cannot remove (files of subordinate ids, should sbuild leave any) is
// removed as root of the user namespace.
func (s *Sbuild) removeWork(work string) {
	err := os.RemoveAll(work)
	if err == nil || !s.rootless() {
		if err != nil {
			s.Logger.Warn("removing sbuild build directory", "dir", work, "err", err)
		}
		return
	}
	if rerr := s.runner.Run(context.Background(), run.Cmd{Args: env.UserNSArgs("rm", "-rf", "--", work)}); rerr != nil {
		s.Logger.Warn("removing sbuild build directory", "dir", work, "err", errors.Join(err, rerr))
	}
}

// writeTarball writes e's tarball to dst: through the environment
// manager, which reads a rootless environment from its user namespace.
func (s *Sbuild) writeTarball(ctx context.Context, e *env.Env, dst string) error {
	if s.Envs != nil {
		return s.Envs.WriteTarball(ctx, e, dst)
	}
	if err := s.runner.Run(ctx, run.Cmd{Args: env.TarballArgs(e.Root, dst, s.rootless())}); err != nil {
		_ = os.Remove(dst)
		return err
	}
	return nil
}

// sbuildGrace is how long sbuild gets, after SIGTERM, to abort the build
// and remove the chroot it unpacked before its process group is killed.
const sbuildGrace = 2 * time.Minute

// runStoppable runs sbuild's cmd. When ctx ends, sbuild gets SIGTERM
// first: it then aborts the build and removes its unpacked chroot
// (/tmp/tmp.sbuild.*), which without root belongs to the user's
// subordinate ids and could not be removed by the user afterwards; the
// process group is killed only after grace (sbuildGrace). The error then
// wraps ctx's. SIGTERM is also sbuild's parent-death signal, so sbuild
// cleans up the same way when packyard is killed: it is started from an
// OS thread locked until it ends, since the signal follows the thread.
func (s *Sbuild) runStoppable(ctx context.Context, cmd run.Cmd, grace time.Duration) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("running sbuild: %w", err)
	}
	runCtx, kill := context.WithCancel(context.WithoutCancel(ctx))
	defer kill()
	pids := make(chan int, 1)
	cmd.Started = func(pid int) { pids <- pid }
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		select {
		case pid := <-pids:
			s.Logger.Info("stopping sbuild", "pid", pid, "grace", grace)
			_ = syscall.Kill(pid, syscall.SIGTERM)
		case <-done:
			return
		}
		select {
		case <-done:
		case <-time.After(grace):
			kill()
		}
	}()
	cmd.Pdeathsig = syscall.SIGTERM
	errc := make(chan error, 1)
	go func() {
		// The goroutine ends locked: its thread then exits, after sbuild.
		runtime.LockOSThread()
		errc <- s.runner.Run(runCtx, cmd)
	}()
	err := <-errc
	close(done)
	<-stopped
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("stopping sbuild: %w", errors.Join(cerr, err))
	}
	return err
}

// staleBuildAge is how old a build directory that no build holds must be
// before sweepBuilds removes it as left over by a killed packyard.
const staleBuildAge = time.Hour

// keptMark marks a build directory kept on purpose (Request.Keep).
const keptMark = ".packyard-kept"

// lockWork takes an exclusive lock (flock(2)) on the build directory
// work, held until the returned file is closed: sweepBuilds leaves locked
// directories alone.
func lockWork(work string) (*os.File, error) {
	f, err := os.Open(work)
	if err != nil {
		return nil, fmt.Errorf("locking sbuild build directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking sbuild build directory: %w", err)
	}
	return f, nil
}

// releaseWork ends the build in work: it removes the directory, or marks
// it kept when keep is set, then drops the lock.
func (s *Sbuild) releaseWork(work string, lock *os.File, keep bool) {
	if keep {
		_ = os.WriteFile(filepath.Join(work, keptMark), nil, 0o644)
	} else {
		s.removeWork(work)
	}
	lock.Close()
}

// sweepBuilds removes the build directories below builds that a killed
// packyard left, and those kept longer than keptAge (selectStaleBuilds),
// when no build holds them (lockWork). It returns the names removed and
// the bytes freed.
func (s *Sbuild) sweepBuilds(builds string, age, keptAge time.Duration) (staleBuilds, int64) {
	var removed staleBuilds
	var freed int64
	sel := selectStaleBuilds(listBuildDirs(builds), time.Now(), age, keptAge)
	for _, set := range []struct {
		names []string
		into  *[]string
		what  string
	}{{sel.stale, &removed.stale, "a left-over"}, {sel.kept, &removed.kept, "a kept"}} {
		for _, name := range set.names {
			dir := filepath.Join(builds, name)
			size, err := s.removeBuildDir(dir)
			if err != nil {
				continue
			}
			s.Logger.Info("removed "+set.what+" sbuild build directory", "dir", dir)
			*set.into = append(*set.into, name)
			freed += size
		}
	}
	return removed, freed
}

// errBuildHeld is removeBuildDir's refusal of a directory a build holds.
var errBuildHeld = errors.New("a build holds it")

// removeBuildDir removes the build directory dir unless a build holds it
// (lockWork: errBuildHeld), and returns the bytes freed.
func (s *Sbuild) removeBuildDir(dir string) (int64, error) {
	lock, err := lockWork(dir)
	if err != nil {
		return 0, fmt.Errorf("%w (%v)", errBuildHeld, err)
	}
	defer lock.Close()
	size := env.DiskUsage(dir)
	s.removeWork(dir)
	if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("removing sbuild build directory %s: it is still there (see the log)", dir)
	}
	return size, nil
}

// listBuildDirs reads the build directories below builds.
func listBuildDirs(builds string) []buildDir {
	entries, err := os.ReadDir(builds)
	if err != nil {
		return nil
	}
	var dirs []buildDir
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !e.IsDir() {
			continue
		}
		d := buildDir{Name: e.Name(), ModTime: info.ModTime()}
		if mark, err := os.Stat(filepath.Join(builds, e.Name(), keptMark)); err == nil {
			d.Kept, d.KeptAt = true, mark.ModTime()
		}
		dirs = append(dirs, d)
	}
	return dirs
}
