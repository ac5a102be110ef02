package build

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/packyard/packyard/internal/env"
)

// KeptBuild is a build directory an sbuild build kept (build --keep): the
// unpacked source, its build tree and sbuild's log, as sbuild's
// --purge=never leaves them.
type KeptBuild struct {
	Name string `json:"name"`
	Dir  string `json:"dir"`
	// KeptAt is when the build ended and kept it.
	KeptAt time.Time `json:"kept_at"`
	// Bytes is the size of its files, in bytes.
	Bytes int64 `json:"bytes"`
}

// KeptBuilds lists the kept build directories, oldest first. As root, a
// workspace whose sbuild user does not exist yet has none.
func (s *Sbuild) KeptBuilds() ([]KeptBuild, error) {
	u, err := s.existingUser()
	if err != nil || u == nil {
		return []KeptBuild{}, err
	}
	return keptBuildsIn(s.places(u).Builds), nil
}

// keptBuildsIn lists the kept build directories below builds.
func keptBuildsIn(builds string) []KeptBuild {
	out := []KeptBuild{}
	for _, d := range listBuildDirs(builds) {
		if d.Kept {
			dir := filepath.Join(builds, d.Name)
			out = append(out, KeptBuild{Name: d.Name, Dir: dir, KeptAt: d.KeptAt.UTC(), Bytes: env.DiskUsage(dir)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].KeptAt.Before(out[j].KeptAt) })
	return out
}

// ErrNotKept is returned by RemoveKeptBuild for a name that is not a kept
// build directory.
var ErrNotKept = errors.New("not a kept build")

// RemoveKeptBuild removes the kept build directory name (KeptBuild.Name).
// It refuses a directory that was not kept (ErrNotKept) and one a build
// holds.
func (s *Sbuild) RemoveKeptBuild(name string) error {
	if name == "" || strings.ContainsAny(name, "/") || name == "." || name == ".." {
		return fmt.Errorf("build directory name %q is not valid", name)
	}
	u, err := s.existingUser()
	if err != nil {
		return err
	}
	if u == nil {
		return fmt.Errorf("sbuild build %s: %w", name, ErrNotKept)
	}
	return s.removeKeptBuildIn(s.places(u).Builds, name)
}

// removeKeptBuildIn is RemoveKeptBuild below builds.
func (s *Sbuild) removeKeptBuildIn(builds, name string) error {
	dir := filepath.Join(builds, name)
	if _, err := os.Stat(filepath.Join(dir, keptMark)); err != nil {
		return fmt.Errorf("sbuild build %s: %w", name, ErrNotKept)
	}
	_, err := s.removeBuildDir(dir)
	if errors.Is(err, errBuildHeld) {
		return fmt.Errorf("sbuild build %s is in use: %w", name, err)
	}
	return err
}
