package env

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/packyard/packyard/internal/run"
)

// Session is one throw-away overlay over an environment. Its mount lives in
// a private mount namespace owned by one locked OS thread; every step runs
// from that thread with bwrap. Close (or the death of packyard) ends the
// namespace, which releases the mount; bwrap's pid namespace takes every
// process of a step with it.
type Session struct {
	ID  string
	Env *Env
	// Dir holds upper/, work/, merged/ and build/ on the host.
	Dir string
	// Root is the merged root filesystem (visible only from the session thread).
	Root string
	// BuildDir is the host directory bound at /build inside the session.
	BuildDir string

	runner *run.Runner
	// ns holds the namespaces of a session made without root (nil as root).
	ns     *holder
	ops    chan func()
	done   chan struct{}
	closed bool
	lowers []string
	locks  []*os.File
	record SessionRecord
	// envLock is a shared lock on <env>/use.lock: refresh removes an old
	// environment only once no session holds it.
	envLock *os.File
	// SetupTime is how long mounting the overlay took.
	SetupTime time.Duration
}

// SessionRecord is session.json in a session directory: who owns it, so a
// later run can tell a live session from a leftover.
type SessionRecord struct {
	ID  string `json:"id"`
	PID int    `json:"pid"`
	// StartTime is the owner's start time in clock ticks since boot, so a
	// reused pid is not mistaken for the owner.
	StartTime uint64    `json:"start_time"`
	Env       string    `json:"env"`
	Started   time.Time `json:"started"`
	// Kept sessions (a failed build's, for `env shell`) outlive their owner
	// and are not leftovers; Lowers lets them be mounted again.
	Kept   bool     `json:"kept,omitempty"`
	Lowers []string `json:"lowers,omitempty"`
	// KeptAt is when the session was kept (build.kept-max-age counts from it).
	KeptAt time.Time `json:"kept_at,omitzero"`
}

// SessionsDir returns the session registry directory of the workspace.
func (m *Manager) SessionsDir() string {
	return filepath.Join(m.cfg.WorkspaceDir().Tmp(), "sessions")
}

// OpenSession mounts a fresh overlay over e (with lowers, topmost first,
// stacked above e's root) and returns the session. The caller must Close it.
func (m *Manager) OpenSession(ctx context.Context, e *Env, layers ...string) (*Session, error) {
	if _, err := m.GC(ctx); err != nil {
		m.logger.Warn("cleaning up leftover sessions", "err", err)
	}
	id := time.Now().UTC().Format("20060102T150405") + "-" + randomID()
	dir := filepath.Join(m.SessionsDir(), id)
	s := &Session{ID: id, Env: e, Dir: dir, Root: filepath.Join(dir, "merged"), BuildDir: filepath.Join(dir, "build"),
		runner: m.runner, ops: make(chan func()), done: make(chan struct{})}
	for _, d := range []string{"upper", "work", "merged", "build"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("creating session: %w", err)
		}
	}
	if !m.rootless {
		if err := os.Chown(s.BuildDir, BuildUID, BuildGID); err != nil {
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("creating session: %w", err)
		}
	}
	self, err := procStartTime(os.Getpid())
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("registering session: %w", err)
	}
	s.record = SessionRecord{ID: id, PID: os.Getpid(), StartTime: self, Env: e.Name(), Started: time.Now().UTC()}
	if err := s.writeRecord(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("registering session: %w", err)
	}
	inUse, err := lockShared(filepath.Join(dir, sessionLock))
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("registering session: %w", err)
	}
	s.locks = append(s.locks, inUse)
	envLock, err := lockShared(filepath.Join(e.Dir, "use.lock"))
	if err != nil {
		inUse.Close()
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("locking environment for use: %w", err)
	}
	s.envLock = envLock
	lowers := append(append([]string(nil), layers...), e.Root)
	s.lowers = lowers
	start := time.Now()
	if err := s.start(m, lowers); err != nil {
		envLock.Close()
		_ = m.removeAll(dir)
		return nil, err
	}
	s.SetupTime = time.Since(start)
	return s, nil
}

// start mounts the overlay over lowers and starts the session's loop: on
// a thread of its own mount namespace as root, in a holder otherwise.
func (s *Session) start(m *Manager, lowers []string) error {
	if m.rootless {
		return s.startRootless(m, lowers)
	}
	ready := make(chan error, 1)
	go s.loop(OverlayOptions(lowers, filepath.Join(s.Dir, "upper"), filepath.Join(s.Dir, "work")), ready)
	return <-ready
}

// loop owns the session's mount namespace: it never unlocks its OS thread,
// so the thread (and with it the namespace and the overlay mount) is
// destroyed when loop returns.
func (s *Session) loop(overlayOpts string, ready chan<- error) {
	runtime.LockOSThread()
	defer close(s.done)
	if err := syscall.Unshare(syscall.CLONE_NEWNS); err != nil {
		ready <- fmt.Errorf("creating session mount namespace: %w", err)
		return
	}
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		ready <- fmt.Errorf("making session mounts private: %w", err)
		return
	}
	if err := syscall.Mount("overlay", s.Root, "overlay", 0, overlayOpts); err != nil {
		ready <- fmt.Errorf("mounting session overlay: %w", err)
		return
	}
	ready <- nil
	for op := range s.ops {
		op()
	}
	_ = syscall.Unmount(s.Root, syscall.MNT_DETACH)
}

// Step is one command run inside a session.
type Step struct {
	Name    string
	Command []string
	// User is "root" or BuildUser.
	AsBuildUser bool
	// Network keeps the host network for the step (build-dependency
	// installation); otherwise only loopback exists.
	Network bool
	Dir     string
	Env     []string
	Mounts  []Mount
	// Log receives stdout and stderr (only stderr when Stdout is set).
	Log io.Writer
	// Interactive steps keep the caller's terminal: no new session and no
	// own process group (so job control and terminal signals work).
	Interactive bool
	Stdin       io.Reader
	Stdout      io.Writer
}

// Run runs step in the session and waits for it. It returns what
// run.Runner.Run returns.
func (s *Session) Run(ctx context.Context, step Step) error {
	if s.closed {
		return errors.New("session is closed")
	}
	spec := s.bwrapSpec(step)
	errc := make(chan error, 1)
	select {
	case s.ops <- func() {
		pid := 0
		var init chan procRef
		err := s.runner.Run(ctx, run.Cmd{Args: s.wrap(BwrapArgs(spec)), Log: step.Log, Setpgid: !step.Interactive,
			Stdin: step.Stdin, Stdout: step.Stdout,
			Started: func(p int) {
				pid = p
				s.registerPID(p)
				init = make(chan procRef, 1)
				go func() { init <- s.findChild(p) }()
			}})
		if init != nil {
			// bwrap returns as soon as the command exits; its pid 1 then
			// tears the pid namespace down. Wait for that, so no process
			// of the step outlives Run.
			ref := <-init
			waitGone(ref, 5*time.Second)
			if ref.pid != 0 {
				s.unregisterPID(ref.pid)
			}
		}
		if pid != 0 {
			s.unregisterPID(pid)
		}
		errc <- err
	}:
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-errc
}

// BwrapCommand returns the bwrap command line Run would use for step.
func (s *Session) BwrapCommand(step Step) []string { return s.wrap(BwrapArgs(s.bwrapSpec(step))) }

func (s *Session) bwrapSpec(step Step) BwrapSpec {
	mounts := []Mount{{Source: s.BuildDir, Dest: "/build"}}
	if step.Network {
		if _, err := os.Stat("/etc/resolv.conf"); err == nil {
			mounts = append(mounts, Mount{Source: "/etc/resolv.conf", Dest: "/etc/resolv.conf", ReadOnly: true})
		}
	}
	mounts = append(mounts, step.Mounts...)
	spec := BwrapSpec{Root: s.Root, Network: step.Network, Mounts: mounts, Dir: step.Dir, Env: step.Env, Command: step.Command,
		Interactive: step.Interactive}
	if step.AsBuildUser {
		spec.UID, spec.GID = BuildUID, BuildGID
	}
	return spec
}

// Close ends the session: the overlay is released with its namespace and
// the session directory is removed.
func (s *Session) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	close(s.ops)
	<-s.done
	if s.ns != nil {
		s.ns.stop()
		s.unregisterPID(s.ns.pid)
	}
	defer func() {
		for _, f := range s.locks {
			f.Close()
		}
		if s.envLock != nil {
			s.envLock.Close()
		}
	}()
	if s.record.Kept {
		return nil
	}
	if err := removeAll(s.runner, s.ns != nil, s.Dir); err != nil {
		return fmt.Errorf("removing session %s: %w", s.ID, err)
	}
	return nil
}

// do runs fn on the session's thread (inside its mount namespace).
func (s *Session) do(fn func() error) error {
	if s.closed {
		return errors.New("session is closed")
	}
	errc := make(chan error, 1)
	s.ops <- func() { errc <- fn() }
	return <-errc
}

// remount replaces the overlay: a fresh upper over lowers (topmost first).
// Must run on the session thread.
func (s *Session) remount(lowers []string, mounted bool) error {
	if mounted {
		if err := s.unmountOverlay(); err != nil {
			return err
		}
	}
	upper, work := filepath.Join(s.Dir, "upper"), filepath.Join(s.Dir, "work")
	for _, d := range []string{upper, work} {
		if err := removeAll(s.runner, s.ns != nil, d); err != nil {
			return fmt.Errorf("resetting session overlay: %w", err)
		}
		if err := os.Mkdir(d, 0o755); err != nil {
			return fmt.Errorf("resetting session overlay: %w", err)
		}
	}
	if err := s.mountOverlay(lowers, upper, work); err != nil {
		return err
	}
	s.lowers = lowers
	return nil
}

// useLayer holds l for the session: a shared lock that keeps collection
// away, and a touch of its used mark.
func (s *Session) useLayer(l *Layer) error {
	f, err := lockShared(l.Dir + ".lock")
	if err != nil {
		return fmt.Errorf("locking layer: %w", err)
	}
	s.locks = append(s.locks, f)
	now := time.Now()
	used := filepath.Join(l.Dir, "used")
	if err := os.Chtimes(used, now, now); err != nil {
		_ = os.WriteFile(used, nil, 0o644)
	}
	return nil
}

// UseLayer restarts the session's overlay over l and the environment, with
// an empty upper directory (what the session wrote so far is dropped;
// /build is not part of the overlay and stays).
func (s *Session) UseLayer(l *Layer) error {
	if err := s.useLayer(l); err != nil {
		return err
	}
	return s.do(func() error { return s.remount([]string{l.Root, s.Env.Root}, true) })
}

// CommitLayer turns what the session installed so far (its upper
// directory) into the layer for packages, and restarts the overlay over
// it with an empty upper. If another session made the same layer first,
// that one is used and this one dropped.
func (s *Session) CommitLayer(packages map[string]string) (*Layer, error) {
	hash := LayerHash(packages)
	layers := s.Env.LayersDir()
	if err := os.MkdirAll(layers, 0o755); err != nil {
		return nil, fmt.Errorf("creating layers directory: %w", err)
	}
	tmp := filepath.Join(layers, ".new-"+hash[:16]+"-"+randomID())
	var made *Layer
	err := s.do(func() error {
		if err := s.unmountOverlay(); err != nil {
			return err
		}
		if err := os.Mkdir(tmp, 0o755); err != nil {
			return fmt.Errorf("creating layer: %w", err)
		}
		if err := os.Rename(filepath.Join(s.Dir, "upper"), filepath.Join(tmp, "root")); err != nil {
			return fmt.Errorf("creating layer: %w", err)
		}
		if err := os.Mkdir(filepath.Join(s.Dir, "upper"), 0o755); err != nil {
			return fmt.Errorf("resetting session overlay: %w", err)
		}
		man := LayerManifest{Hash: hash, Packages: packages, Created: time.Now().UTC(), Size: DiskUsage(filepath.Join(tmp, "root"))}
		data, _ := json.MarshalIndent(man, "", "  ")
		if err := os.WriteFile(filepath.Join(tmp, "manifest.json"), append(data, '\n'), 0o644); err != nil {
			return fmt.Errorf("writing layer manifest: %w", err)
		}
		final := filepath.Join(layers, hash)
		if err := os.Rename(tmp, final); err != nil {
			// Someone made it first (or a stale one sits there): use theirs
			// when valid.
			_ = removeAll(s.runner, s.ns != nil, tmp)
		}
		l, err := s.Env.Layer(hash)
		if err != nil {
			return err
		}
		if err := s.useLayer(l); err != nil {
			return err
		}
		made = l
		return s.remount([]string{l.Root, s.Env.Root}, false)
	})
	if err != nil {
		return nil, err
	}
	return made, nil
}

func (s *Session) writeRecord() error {
	data, err := json.MarshalIndent(s.record, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding session record: %w", err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "session.json"), data, 0o644); err != nil {
		return fmt.Errorf("registering session: %w", err)
	}
	return nil
}

// Keep marks the session to be kept on disk when it closes (its upper
// directory and /build), so `packyard env shell --session <id>` can enter
// it later. Its processes and mount still end with Close.
func (s *Session) Keep() error {
	s.record.Kept = true
	s.record.Lowers = s.lowers
	s.record.KeptAt = time.Now().UTC()
	return s.writeRecord()
}

// OpenKeptSession mounts a kept session again, with what it had written.
func (m *Manager) OpenKeptSession(ctx context.Context, id string) (*Session, error) {
	if id == "" || strings.ContainsAny(id, "/.") {
		return nil, fmt.Errorf("session id %q is not valid", id)
	}
	dir := filepath.Join(m.SessionsDir(), id)
	// Held while the session is open: gc does not collect it meanwhile.
	inUse, err := lockShared(filepath.Join(dir, sessionLock))
	if err != nil {
		return nil, fmt.Errorf("opening kept session %s: %w (list them with 'packyard env kept')", id, err)
	}
	rec, err := readSessionRecord(dir)
	if err != nil {
		inUse.Close()
		return nil, fmt.Errorf("opening kept session %s: %w (list them with 'packyard env kept')", id, err)
	}
	if !rec.Kept || len(rec.Lowers) == 0 {
		inUse.Close()
		return nil, fmt.Errorf("session %s was not kept", id)
	}
	s := &Session{ID: id, Dir: dir, Root: filepath.Join(dir, "merged"), BuildDir: filepath.Join(dir, "build"),
		runner: m.runner, ops: make(chan func()), done: make(chan struct{}), record: rec, lowers: rec.Lowers,
		Env: &Env{Root: rec.Lowers[len(rec.Lowers)-1]}, locks: []*os.File{inUse}}
	_ = m.removeAll(filepath.Join(dir, "work"))
	if err := os.Mkdir(filepath.Join(dir, "work"), 0o755); err != nil {
		inUse.Close()
		return nil, fmt.Errorf("opening kept session: %w", err)
	}
	if err := s.start(m, rec.Lowers); err != nil {
		inUse.Close()
		return nil, err
	}
	return s, nil
}

// RemoveKeptSession deletes a kept session's directory. It refuses a
// session that was not kept (a running build's) and one that is open (an
// env shell in it).
func (m *Manager) RemoveKeptSession(id string) error {
	if id == "" || strings.ContainsAny(id, "/.") {
		return fmt.Errorf("session id %q is not valid", id)
	}
	dir := filepath.Join(m.SessionsDir(), id)
	rec, err := readSessionRecord(dir)
	if err != nil {
		return fmt.Errorf("removing session %s: %w (list the kept ones with 'packyard env kept')", id, err)
	}
	if !rec.Kept {
		return fmt.Errorf("session %s was not kept: it belongs to a build or shell, and ends with it", id)
	}
	_, err = m.removeKept(dir)
	if errors.Is(err, errSessionOpen) {
		return fmt.Errorf("session %s is open (an env shell is in it); leave it first", id)
	}
	return err
}

// errSessionOpen is removeKept's refusal of a session an env shell is in.
var errSessionOpen = errors.New("session is open")

// removeKept removes a kept session's directory under an exclusive lock on
// its session.lock (errSessionOpen when an open session holds it),
// detaching what is still mounted below it first, and returns its size in
// bytes, measured under the lock.
func (m *Manager) removeKept(dir string) (int64, error) {
	lock, ok := tryLockFile(filepath.Join(dir, sessionLock))
	if !ok {
		return 0, errSessionOpen
	}
	defer lock.Close()
	size := DiskUsage(dir)
	if mounts, err := mountsBelow(dir); err == nil {
		for _, mp := range mounts {
			_ = m.unmountLeftover(mp)
		}
	}
	if err := m.removeAll(dir); err != nil {
		return 0, fmt.Errorf("removing session %s: %w", filepath.Base(dir), err)
	}
	return size, nil
}
