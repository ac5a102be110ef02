package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"time"

	"github.com/packyard/packyard/internal/env"
)

// GCReport says what the sbuild builder's collection (Sbuild.GC) freed.
type GCReport struct {
	// Tarballs are the environment tarballs removed (file names).
	Tarballs []string `json:"tarballs"`
	// BuildDirs are the left-over build directories removed (names).
	BuildDirs []string `json:"build_dirs"`
	// KeptDirs are the kept build directories removed for their age
	// (build.kept-max-age; names).
	KeptDirs []string `json:"kept_dirs"`
	// Bytes is the size of the files removed.
	Bytes int64 `json:"bytes"`
}

// GC collects what sbuild builds leave behind: environment tarballs of
// environments that no longer exist or have changed since, and their
// half-written temporaries (env.Manager.CollectTarballs), and build
// directories a killed packyard left: not kept and last changed more than
// an hour ago (sweepBuilds). Whatever a running build holds stays: its
// tarball (env.UseTarball) and its build directory (lockWork). Kept build
// directories (Request.Keep) stay too, as the dpkg builder's kept sessions
// do in env.Manager.GC, until they were kept longer than
// build.kept-max-age, when set. As root, a workspace whose sbuild user
// does not exist yet has nothing to collect.
func (s *Sbuild) GC(ctx context.Context) (*GCReport, error) {
	rep := &GCReport{}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	u, err := s.existingUser()
	if err != nil || u == nil {
		return rep, err
	}
	p := s.places(u)
	var errs []error
	if s.Envs != nil {
		names, freed, err := s.Envs.CollectTarballs(p.Cache)
		rep.Tarballs, rep.Bytes = names, freed
		if err != nil {
			errs = append(errs, fmt.Errorf("collecting sbuild tarballs: %w", err))
		}
		if u.Switch {
			// Tarballs of the time before per-workspace directories
			// (places), in their parent: no build uses them any more.
			names, freed, err := env.CollectTarballs(filepath.Dir(p.Cache), nil, "")
			rep.Tarballs, rep.Bytes = append(rep.Tarballs, names...), rep.Bytes+freed
			if err != nil {
				errs = append(errs, fmt.Errorf("collecting sbuild tarballs: %w", err))
			}
		}
	}
	swept, freed := s.sweepBuilds(p.Builds, staleBuildAge, s.keptMaxAge())
	rep.BuildDirs, rep.KeptDirs, rep.Bytes = swept.stale, swept.kept, rep.Bytes+freed
	if len(rep.Tarballs)+len(rep.BuildDirs)+len(rep.KeptDirs) > 0 {
		s.Logger.Info("collected sbuild leftovers", "tarballs", len(rep.Tarballs), "build_dirs", len(rep.BuildDirs), "kept_dirs", len(rep.KeptDirs), "bytes", rep.Bytes)
	}
	return rep, errors.Join(errs...)
}

// existingUser is the user that runs sbuild, without creating it: nil
// when packyard is root and the sbuild user does not exist.
func (s *Sbuild) existingUser() (*buildUser, error) {
	if !s.switchesUser() {
		return callingUser()
	}
	u, err := user.Lookup(s.User)
	var unknown user.UnknownUserError
	if errors.As(err, &unknown) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("looking up build user: %w", err)
	}
	return &buildUser{Name: s.User, Home: u.HomeDir, Switch: true}, nil
}

// switchesUser reports whether sbuild runs as the dedicated user (packyard
// is root), as ensureUser decides.
func (s *Sbuild) switchesUser() bool { return os.Geteuid() == 0 }

// keptMaxAge is build.kept-max-age (zero: kept directories stay).
func (s *Sbuild) keptMaxAge() time.Duration {
	if s.Envs == nil {
		return 0
	}
	return time.Duration(s.Envs.Config().Build.KeptMaxAge)
}

// buildDir is one directory below the sbuild build directories.
type buildDir struct {
	Name    string
	ModTime time.Time
	// Kept is set when the build was kept (keptMark), at KeptAt.
	Kept   bool
	KeptAt time.Time
}

// staleBuilds are the names of the build directories a sweep removes.
type staleBuilds struct {
	stale []string // left over by a killed packyard
	kept  []string // kept longer than build.kept-max-age
}

// selectStaleBuilds returns, sorted, the names of the build directories a
// sweep removes when no build holds them: not kept and last changed more
// than age before now, and kept more than keptAge before now (when
// keptAge is above zero).
func selectStaleBuilds(dirs []buildDir, now time.Time, age, keptAge time.Duration) staleBuilds {
	var out staleBuilds
	for _, d := range dirs {
		switch {
		case d.Kept && keptAge > 0 && now.Sub(d.KeptAt) >= keptAge:
			out.kept = append(out.kept, d.Name)
		case !d.Kept && now.Sub(d.ModTime) >= age:
			out.stale = append(out.stale, d.Name)
		}
	}
	sort.Strings(out.stale)
	sort.Strings(out.kept)
	return out
}
