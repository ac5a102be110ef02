package env

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/packyard/packyard/internal/run"
)

// startRootless starts the session's holder with its overlay over lowers
// (topmost first) and the loop that runs the session's operations.
func (s *Session) startRootless(m *Manager, lowers []string) error {
	driver := m.overlayDriver()
	if err := m.CheckRootless(driver); err != nil {
		return err
	}
	args := HolderArgs(driver, lowers, filepath.Join(s.Dir, "upper"), filepath.Join(s.Dir, "work"), s.Root)
	h, err := startHolder(s.runner, args, s.registerPID)
	if err != nil {
		if driver == OverlayAuto {
			// The kernel overlay failed and so did fuse-overlayfs: say
			// what fuse-overlayfs lacks, when it is that.
			if ferr := checkFuse(); ferr != nil {
				return fmt.Errorf("%w (and the kernel overlay in a user namespace failed: %v)", ferr, err)
			}
		}
		return err
	}
	s.ns = h
	go s.serve()
	return nil
}

// serve runs the session's operations; without root there is no
// namespace to hold on a thread (the holder holds it).
func (s *Session) serve() {
	defer close(s.done)
	for op := range s.ops {
		op()
	}
}

// Overlay names the overlay the session mounted: "kernel" (as root, or in
// a user namespace) or "fuse" (fuse-overlayfs).
func (s *Session) Overlay() string {
	if s.ns != nil {
		return s.ns.driver
	}
	return OverlayKernel
}

// wrap makes a command line run as root in the session's namespaces.
func (s *Session) wrap(args []string) []string {
	if s.ns == nil {
		return args
	}
	return NsenterArgs(s.ns.init, false, args...)
}

// unmountOverlay unmounts the session's overlay (on the session thread).
func (s *Session) unmountOverlay() error {
	if s.ns == nil {
		if err := syscall.Unmount(s.Root, 0); err != nil {
			return fmt.Errorf("unmounting session overlay: %w", err)
		}
		return nil
	}
	if err := s.runner.Run(context.Background(), run.Cmd{Args: UnmountArgs(s.ns.init, s.Root)}); err != nil {
		return fmt.Errorf("unmounting session overlay: %w", err)
	}
	return nil
}

// mountOverlay mounts a fresh overlay over lowers (on the session thread).
func (s *Session) mountOverlay(lowers []string, upper, work string) error {
	if s.ns == nil {
		if err := syscall.Mount("overlay", s.Root, "overlay", 0, OverlayOptions(lowers, upper, work)); err != nil {
			return fmt.Errorf("mounting session overlay: %w", err)
		}
		return nil
	}
	args := MountArgs(s.ns.init, s.ns.driver, lowers, upper, work, s.Root)
	if err := s.runner.Run(context.Background(), run.Cmd{Args: args}); err != nil {
		return fmt.Errorf("mounting session overlay: %w", err)
	}
	return nil
}

// HandOverBuildDir gives the session's /build and everything in it to the
// build user (BuildUID, BuildGID): call it after putting files there from
// the host. Without root the files are changed from inside the session's
// user namespace, where the build user is a subordinate id.
func (s *Session) HandOverBuildDir() error {
	if s.ns == nil {
		return filepath.WalkDir(s.BuildDir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if err := os.Lchown(p, BuildUID, BuildGID); err != nil {
				return fmt.Errorf("handing build directory to the build user: %w", err)
			}
			return nil
		})
	}
	owner := strconv.Itoa(BuildUID) + ":" + strconv.Itoa(BuildGID)
	args := NsenterArgs(s.ns.init, false, "chown", "-R", "-h", owner, "--", s.BuildDir)
	if err := s.runner.Run(context.Background(), run.Cmd{Args: args}); err != nil {
		return fmt.Errorf("handing build directory to the build user: %w", err)
	}
	return nil
}
