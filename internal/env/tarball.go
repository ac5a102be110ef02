package env

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/packyard/packyard/internal/run"
)

// TarballArgs returns the tar(1) command that writes the tree at root to
// dst, uncompressed, with numeric owners and extended attributes, staying
// on root's file system. Without root it runs as root of the rootless user
// namespace (UserNSArgs): there the files of the environment's root, of
// the build user and of _apt, which belong on the host to the caller and
// its subordinate ids, show their owners inside the environment (0, 2000,
// 42, ...), so those are the owners recorded, and directories closed to
// the caller (apt's partial/) can be read.
func TarballArgs(root, dst string, rootless bool) []string {
	args := []string{"tar", "--numeric-owner", "--xattrs", "--one-file-system", "-C", root, "-cf", dst, "."}
	if rootless {
		return UserNSArgs(args...)
	}
	return args
}

// WriteTarball writes e's root file system to dst as an uncompressed tar
// archive (TarballArgs), the form sbuild --chroot-mode=unshare unpacks in
// its own user namespace, where the recorded owners are again ids inside
// the namespace. It holds a shared lock on the environment's use.lock
// meanwhile, so a refresh does not remove the tree under tar. An existing
// dst is truncated and written in place, keeping its inode and so any
// lock held on it (CreateTarballTemp); on error it is removed.
func (m *Manager) WriteTarball(ctx context.Context, e *Env, dst string) error {
	lock, err := lockShared(filepath.Join(e.Dir, "use.lock"))
	if err != nil {
		return fmt.Errorf("locking environment %s: %w", e.Name(), err)
	}
	defer lock.Close()
	if err := m.runner.Run(ctx, run.Cmd{Args: TarballArgs(e.Root, dst, m.rootless)}); err != nil {
		_ = os.Remove(dst)
		return fmt.Errorf("writing tarball of environment %s: %w", e.Name(), err)
	}
	return nil
}
