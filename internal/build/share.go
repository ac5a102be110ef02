package build

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/packyard/packyard/internal/env"
)

// Large files move between the caller's directories and a session's
// /build as hard links where the filesystem allows, not as copies: an
// upstream tarball of hundreds of megabytes is then staged in microseconds,
// and so are the .debs collected afterwards.

// isUpstreamTarball reports whether name is an orig tarball or its
// signature (Debian Policy §5.6.21 "Files"; dpkg-source(1)): files that
// dpkg-source only reads, also when it builds a new source package, so a
// read-only shared link is safe to give to the build.
func isUpstreamTarball(name string) bool {
	return strings.Contains(name, ".orig.tar.") || strings.Contains(name, ".orig-")
}

// shareable reports whether the build user may be given a hard link to
// the file of info: a regular file everyone may read and only its owner
// may write, with an owner other than the build user, so nothing in the
// build can change it.
func shareable(info os.FileInfo) bool {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok || !info.Mode().IsRegular() {
		return false
	}
	perm := info.Mode().Perm()
	return perm&0o004 != 0 && perm&0o022 == 0 && int(st.Uid) != env.BuildUID
}

// shareFile puts src at dst as a hard link when shareable allows and the
// filesystem does, else as a copy readable by everyone. It must run after
// the build directory was handed over to the build user, which changes the
// owner of everything in it. It reports whether it linked.
func shareFile(src, dst string) (bool, error) {
	info, err := os.Stat(src)
	if err != nil {
		return false, fmt.Errorf("staging %s: %w", filepath.Base(src), err)
	}
	_ = os.Remove(dst)
	if shareable(info) && os.Link(src, dst) == nil {
		return true, nil
	}
	if err := copyFile(src, dst); err != nil {
		return false, err
	}
	if err := os.Chmod(dst, info.Mode().Perm()|0o444); err != nil {
		return false, fmt.Errorf("staging %s: %w", filepath.Base(src), err)
	}
	return false, nil
}

// shareFiles shares each of srcs into dir (shareFile) and returns how many
// it linked.
func shareFiles(srcs []string, dir string) (linked int, err error) {
	for _, src := range srcs {
		ok, err := shareFile(src, filepath.Join(dir, filepath.Base(src)))
		if err != nil {
			return linked, err
		}
		if ok {
			linked++
		}
	}
	return linked, nil
}

// linkOrCopy puts src at dst (replaced) as a hard link owned by the
// caller, or as a copy when linking or taking the link over fails (another
// filesystem, or an owner the caller may not change). It reports whether
// it linked.
func linkOrCopy(src, dst string) (bool, error) {
	_ = os.Remove(dst)
	if err := os.Link(src, dst); err == nil {
		if ownedByCaller(dst) || os.Lchown(dst, os.Geteuid(), os.Getegid()) == nil {
			return true, nil
		}
		_ = os.Remove(dst)
	}
	return false, copyFile(src, dst)
}

func ownedByCaller(path string) bool {
	info, err := os.Lstat(path)
	if err != nil {
		return false
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid() && int(st.Gid) == os.Getegid()
}
