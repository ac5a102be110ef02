package env

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"time"
)

// Environment tarballs for sbuild live in a cache directory of the sbuild
// builder's, one file per environment state, named by TarballName. A build
// holds a shared flock(2) on the tarball it hands to sbuild (UseTarball)
// and an exclusive one on a tarball it is writing (CreateTarballTemp);
// collection (CollectTarballs) removes only files it can lock exclusively,
// as layers and old environments are collected only when their lock is
// free.

// tarballPattern matches TarballName's names, and their temporaries
// (".tmp-<id>" appended); the first group is the environment's name.
var tarballPattern = regexp.MustCompile(`^(.+)-[0-9]{8}T[0-9]{6}-[0-9a-f]*\.tar(\.tmp-[0-9a-z]+)?$`)

// TarballName returns the file name of e's tarball for sbuild:
// <name>-<created, UTC>-<first 12 hex digits of the dpkg status digest>.tar,
// so a refreshed or recreated environment gets a new name.
func TarballName(e *Env) string {
	id := e.Manifest.StatusSHA256
	if len(id) > 12 {
		id = id[:12]
	}
	return e.Name() + "-" + e.Manifest.Created.UTC().Format("20060102T150405") + "-" + id + ".tar"
}

// CreateTarballTemp creates an empty temporary file in dir for the tarball
// called name, locked exclusively so collection leaves it alone while it is
// written (tar(1) truncates it, keeping the inode and the lock). The caller
// writes it, renames it to name and calls HoldTarball.
func CreateTarballTemp(dir, name string) (string, *os.File, error) {
	tmp := filepath.Join(dir, name+".tmp-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
	if err != nil {
		return "", nil, fmt.Errorf("creating tarball: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		_ = os.Remove(tmp)
		return "", nil, fmt.Errorf("locking tarball: %w", err)
	}
	return tmp, f, nil
}

// HoldTarball turns the exclusive lock of CreateTarballTemp into the
// shared lock of UseTarball, once the temporary is renamed to path.
func HoldTarball(f *os.File, path string) error {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
		return fmt.Errorf("locking tarball: %w", err)
	}
	return stillAt(f, path)
}

// UseTarball takes a shared lock on the tarball at path, held until the
// returned file is closed: CollectTarballs never removes it meanwhile. The
// error wraps os.ErrNotExist when there is no tarball at path (or it was
// collected before the lock was taken).
func UseTarball(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening tarball: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking tarball: %w", err)
	}
	if err := stillAt(f, path); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// stillAt checks that the open file f is the file at path, which
// collection may have removed before f was locked.
func stillAt(f *os.File, path string) error {
	a, err := f.Stat()
	if err != nil {
		return fmt.Errorf("checking tarball: %w", err)
	}
	b, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("checking tarball: %w", err)
	}
	if !os.SameFile(a, b) {
		return fmt.Errorf("checking tarball %s: replaced while locking: %w", path, os.ErrNotExist)
	}
	return nil
}

// SelectTarballs returns which of names (file names in a tarball
// directory) are candidates for collection: tarballs (TarballName) not
// named in current, and temporaries of any tarball. With envName set, only
// the files of that environment are considered. Other files are never
// selected. Whether a build holds a candidate is checked when it is
// removed.
func SelectTarballs(names []string, current map[string]bool, envName string) []string {
	var out []string
	for _, n := range names {
		m := tarballPattern.FindStringSubmatch(n)
		if m == nil || (envName != "" && m[1] != envName) {
			continue
		}
		if m[2] == "" && current[n] {
			continue
		}
		out = append(out, n)
	}
	return out
}

// CurrentTarballs returns the names (TarballName) of the tarballs of the
// workspace's usable environments.
func (m *Manager) CurrentTarballs() (map[string]bool, error) {
	infos, err := m.List()
	if err != nil {
		return nil, err
	}
	current := map[string]bool{}
	m.eachUsable(infos, func(_ Info, e *Env) { current[TarballName(e)] = true })
	return current, nil
}

// CollectTarballs removes from dir the tarballs of environments that no
// longer exist or have changed since, and left-over temporaries, except
// those a build holds. It returns the names removed and the bytes freed; a
// missing dir holds nothing.
func (m *Manager) CollectTarballs(dir string) ([]string, int64, error) {
	current, err := m.CurrentTarballs()
	if err != nil {
		return nil, 0, fmt.Errorf("collecting tarballs: %w", err)
	}
	return CollectTarballs(dir, current, "")
}

// CollectEnvTarballs is CollectTarballs for e's environment alone: it
// removes the tarballs of its earlier states and their temporaries.
func CollectEnvTarballs(dir string, e *Env) ([]string, int64, error) {
	return CollectTarballs(dir, map[string]bool{TarballName(e): true}, e.Name())
}

// CollectTarballs removes the files of dir that SelectTarballs selects
// against current and envName and that no build holds (UseTarball,
// CreateTarballTemp). It returns the names removed and the bytes freed.
func CollectTarballs(dir string, current map[string]bool, envName string) ([]string, int64, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("listing tarballs: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	var removed []string
	var freed int64
	var errs []error
	for _, n := range SelectTarballs(names, current, envName) {
		size, ok, err := removeUnheld(filepath.Join(dir, n))
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			removed = append(removed, n)
			freed += size
		}
	}
	return removed, freed, errors.Join(errs...)
}

// removeUnheld removes the file at path unless another open file holds a
// flock on it, and returns its size. ok is false when it was held or gone.
func removeUnheld(path string) (size int64, ok bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false, nil
	}
	defer f.Close()
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return 0, false, nil
	}
	if stillAt(f, path) != nil {
		return 0, false, nil
	}
	info, err := f.Stat()
	if err != nil {
		return 0, false, fmt.Errorf("removing tarball: %w", err)
	}
	if err := os.Remove(path); err != nil {
		return 0, false, fmt.Errorf("removing tarball: %w", err)
	}
	return info.Size(), true, nil
}
