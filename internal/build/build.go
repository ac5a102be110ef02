package build

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/packyard/packyard/internal/env"
	"github.com/packyard/packyard/internal/record"
	"github.com/packyard/packyard/internal/run"
)

// Builder turns a source package into binary packages inside an environment.
type Builder interface {
	// Name is the builder's name as --builder takes it ("dpkg", "sbuild").
	Name() string
	Build(ctx context.Context, req Request) (*Result, error)
}

// ErrBuildFailed is wrapped by every *Error: the package did not build.
var ErrBuildFailed = errors.New("build failed")

// ErrNotSourceTree is returned (wrapped in *SourceTreeError) for a source
// tree with no debian/ directory or no readable debian/changelog.
var ErrNotSourceTree = errors.New("not a Debian source tree")

// Error is a failed build: which step failed, the builder's exit code and
// where the full log is. errors.Is(err, ErrBuildFailed) holds for it.
type Error struct {
	Source   string
	Version  string
	Step     string // "extract", "build-deps", "build", "collect"
	ExitCode int
	LogPath  string
	// Session is the id of the kept session (Request.Keep) to enter with
	// `packyard env shell --session`.
	Session string
	Err     error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("building %s %s: %s step failed", e.Source, e.Version, e.Step)
	var re *run.Error
	switch {
	case e.ExitCode > 0:
		msg += fmt.Sprintf(" (exit status %d)", e.ExitCode)
	case e.Err != nil && !errors.As(e.Err, &re):
		// Not a program's failure: the cause is not in the log, say it.
		msg += ": " + e.Err.Error()
	}
	if e.LogPath != "" {
		msg += "; full log: " + e.LogPath
	}
	if e.Session != "" {
		msg += "; session kept: " + e.Session
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports that an *Error is an ErrBuildFailed.
func (e *Error) Is(target error) bool { return target == ErrBuildFailed }

// SourceTreeError is a path given as a source tree that is not one.
type SourceTreeError struct {
	Path   string
	Reason string
}

func (e *SourceTreeError) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.Path, ErrNotSourceTree, e.Reason)
}

// Is reports that a *SourceTreeError is an ErrNotSourceTree.
func (e *SourceTreeError) Is(target error) bool { return target == ErrNotSourceTree }

// Request is one build. Exactly one of DSC and SourceTree is set.
type Request struct {
	// DSC is the path of a .dsc whose files sit next to it.
	DSC string
	// SourceTree is an unpacked source tree with debian/; its source package
	// is built too (orig tarballs are taken from the tree's parent directory).
	SourceTree string
	Env        *env.Env
	// OutDir receives the .deb, .udeb, .buildinfo and .changes files (and the
	// source package files when one was built).
	OutDir string
	// LogPath is the file that receives the full build log (appended).
	LogPath string
	// Log, when set, also receives the full build log.
	Log io.Writer
	Rec *record.Run
	// Arch is the host architecture; empty means the environment's.
	Arch string
	// ExtraRepositories are apt source lines added for build-dependencies
	// (for example packyard's own repository); file: paths and signed-by
	// keyrings they name are bound read-only into the session.
	ExtraRepositories []string
	// ExtraPackages are installed besides the build-dependencies.
	ExtraPackages []string
	// NoArchAll skips Architecture: all packages (dpkg-buildpackage -B).
	NoArchAll bool
	// Source includes the source package in the .changes.
	Source bool
	// Profiles are build profiles (DEB_BUILD_PROFILES).
	Profiles []string
	// NoCheck adds nocheck to DEB_BUILD_OPTIONS and the build profiles.
	NoCheck bool
	// Parallel, when > 0, adds parallel=N to DEB_BUILD_OPTIONS.
	Parallel int
	// Keep keeps the session of a failed build for `packyard env shell`.
	Keep bool
	// BuildPath overrides the directory the source is unpacked in inside the
	// session (default /build/<source>-<upstream version>).
	BuildPath string
	// Offline runs every step without network: build-dependencies come
	// only from the .deb cache (apt-get --no-download), and a failed
	// installation is not retried after an apt-get update.
	Offline bool
}

// Result is a finished build.
type Result struct {
	Source  string
	Version string
	// Command is the builder command that built the binaries.
	Command  []string
	ExitCode int
	// Files are absolute paths in OutDir.
	Files   []string
	LogPath string
	// CollectedFrom is where the builder left its files (before OutDir).
	CollectedFrom string
	// PrimaryLog is the builder's own log when it keeps one (sbuild's
	// .build file, copied to OutDir); empty for dpkg, whose log is LogPath.
	PrimaryLog string
	// Phases time the parts of the build in order (dpkg builder only).
	Phases []Phase
}

// startJob checks req (exactly one of DSC and SourceTree, an environment
// of the requested architecture), reads the source's name and version, and
// opens the build log. A source tree is built into a source package too, so
// it can be published. The returned func closes the log.
func startJob(req Request) (*job, func(), error) {
	if (req.DSC == "") == (req.SourceTree == "") {
		return nil, nil, errors.New("build request needs exactly one of DSC and SourceTree")
	}
	if req.Env == nil {
		return nil, nil, errors.New("build request has no environment")
	}
	if req.Arch != "" && req.Arch != req.Env.Architecture {
		return nil, nil, fmt.Errorf("building for %s in a %s environment is not supported", req.Arch, req.Env.Architecture)
	}
	if req.SourceTree != "" {
		req.Source = true
	}
	j := &job{req: req}
	if err := j.identify(); err != nil {
		return nil, nil, err
	}
	logFile, logw, err := openLog(req)
	if err != nil {
		return nil, nil, err
	}
	j.log = logw
	return j, func() {
		if logFile != nil {
			logFile.Close()
		}
	}, nil
}
