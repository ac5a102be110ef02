package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/packyard/packyard/internal/env"
	"github.com/packyard/packyard/internal/run"
)

// Dpkg is the default builder: dpkg-buildpackage in a throw-away bwrap
// session over the environment. Build-dependencies are installed as root
// with network; the build runs as env.BuildUser with loopback only.
type Dpkg struct {
	Envs   *env.Manager
	Logger *slog.Logger
	// CacheDir is the root of the workspace cache; downloaded .debs are kept
	// in its content-addressed debs/ (env.DebCache) and shared by all
	// sessions. Empty disables the cache.
	CacheDir string
}

var _ Builder = (*Dpkg)(nil)

// NewDpkg returns the dpkg builder opening sessions with envs.
func NewDpkg(envs *env.Manager, logger *slog.Logger) *Dpkg {
	if logger == nil {
		logger = slog.Default()
	}
	d := &Dpkg{Envs: envs, Logger: logger}
	if envs != nil {
		d.CacheDir = envs.Config().WorkspaceDir().Cache()
	}
	return d
}

// Name returns "dpkg".
func (d *Dpkg) Name() string { return "dpkg" }

// job is one build in progress.
type job struct {
	req     Request
	sess    *env.Session
	log     io.Writer
	source  string
	version string
	dir     string // unpacked tree inside the session, e.g. /build/hello-2.10
	dsc     string // .dsc file name in /build, when building from one
	cache   *env.DebCache
	clock   *phaseClock
}

// Build builds req. A failed step returns a *Error (wrapping
// ErrBuildFailed) naming the log; a source tree without debian/ returns a
// *SourceTreeError. The result's Phases time each part of the build; they
// go to the log and the run record too (event "build.phases").
func (d *Dpkg) Build(ctx context.Context, req Request) (res *Result, err error) {
	clock := newPhaseClock()
	j, closeLog, err := startJob(req)
	if err != nil {
		return nil, err
	}
	defer closeLog()
	req = j.req
	j.clock = clock
	req.Rec.Event("build.start", map[string]any{"builder": "dpkg", "source": j.source, "version": j.version, "env": req.Env.Name()})
	sess, err := d.Envs.OpenSession(ctx, req.Env)
	if err != nil {
		return nil, fmt.Errorf("opening build session: %w", err)
	}
	defer sess.Close() // no-op after the Close below; covers early returns
	clock.mark("session")
	j.sess = sess
	if d.CacheDir != "" {
		j.cache = env.NewDebCache(filepath.Join(d.CacheDir, "debs"))
	}
	req.Rec.Event("build.session", map[string]any{"id": sess.ID, "setup_ms": sess.SetupTime.Milliseconds(), "overlay": sess.Overlay(), "rootless": d.Envs.Rootless()})
	res, err = d.build(ctx, j)
	if err != nil && req.Keep {
		var be *Error
		if errors.As(err, &be) && sess.Keep() == nil {
			be.Session = sess.ID
		}
	}
	if cerr := sess.Close(); cerr != nil && err == nil {
		err = cerr
	}
	clock.mark("close")
	j.finish(res, err)
	return res, err
}

// finish records the phases and the outcome in the log and the run record.
func (j *job) finish(res *Result, err error) {
	phases, total := j.clock.list(), j.clock.total()
	if res != nil {
		res.Phases = phases
	}
	j.req.Rec.Event("build.phases", phaseEvent(phases, total))
	fmt.Fprintf(j.log, "packyard: phases: %s (total %.2f s)\n", FormatPhases(phases), total.Seconds())
	if err != nil {
		j.req.Rec.Event("build.failed", map[string]any{"source": j.source, "version": j.version, "error": err.Error(), "seconds": total.Seconds()})
		fmt.Fprintf(j.log, "\npackyard: build failed: %v\n", err)
		return
	}
	j.req.Rec.Event("build.done", map[string]any{"source": j.source, "version": j.version, "files": len(res.Files), "seconds": total.Seconds()})
}

func openLog(req Request) (*os.File, io.Writer, error) {
	var ws []io.Writer
	var f *os.File
	if req.LogPath != "" {
		if err := os.MkdirAll(filepath.Dir(req.LogPath), 0o755); err != nil {
			return nil, nil, fmt.Errorf("creating log directory: %w", err)
		}
		var err error
		if f, err = run.OpenLog(req.LogPath); err != nil {
			return nil, nil, err
		}
		ws = append(ws, f)
	}
	if req.Log != nil {
		ws = append(ws, req.Log)
	}
	if len(ws) == 0 {
		return nil, io.Discard, nil
	}
	return f, io.MultiWriter(ws...), nil
}

// identify reads source name and version from the .dsc or the changelog.
func (j *job) identify() error {
	if j.req.DSC != "" {
		dsc, err := ReadDSC(j.req.DSC)
		if err != nil {
			return err
		}
		j.source, j.version, j.dsc = dsc.Source, dsc.Version, filepath.Base(j.req.DSC)
	} else {
		entry, err := readTreeChangelog(j.req.SourceTree)
		if err != nil {
			return err
		}
		j.source, j.version = entry.Source, entry.Version
	}
	j.dir = j.req.BuildPath
	if j.dir == "" {
		j.dir = path.Join("/build", j.source+"-"+UpstreamVersion(j.version))
	}
	if j.dir = path.Clean(j.dir); !strings.HasPrefix(j.dir, "/build/") {
		return fmt.Errorf("build path %q must be below /build/", j.dir)
	}
	return nil
}

func readTreeChangelog(tree string) (*ChangelogEntry, error) {
	st, err := os.Stat(filepath.Join(tree, "debian"))
	if err != nil || !st.IsDir() {
		return nil, &SourceTreeError{Path: tree, Reason: "no debian/ directory"}
	}
	data, err := os.ReadFile(filepath.Join(tree, "debian", "changelog"))
	if err != nil {
		return nil, &SourceTreeError{Path: tree, Reason: "no readable debian/changelog"}
	}
	entry, err := ParseChangelog(data)
	if err != nil {
		return nil, &SourceTreeError{Path: tree, Reason: "debian/changelog: " + err.Error()}
	}
	return entry, nil
}

func (j *job) fail(step string, err error) error {
	code := -1
	var re *run.Error
	if errors.As(err, &re) {
		code = re.ExitCode
	}
	var nf *run.NotFoundError
	if errors.As(err, &nf) {
		return err
	}
	return &Error{Source: j.source, Version: j.version, Step: step, ExitCode: code, LogPath: j.req.LogPath, Err: err}
}

func (d *Dpkg) build(ctx context.Context, j *job) (*Result, error) {
	if err := j.stage(); err != nil {
		return nil, j.fail("stage", err)
	}
	j.clock.mark("stage")
	if err := j.unpack(ctx); err != nil {
		return nil, j.fail("extract", err)
	}
	entry, err := j.changelog()
	if err != nil {
		return nil, j.fail("extract", err)
	}
	j.clock.mark("extract")
	if err := d.prepareDeps(ctx, j); err != nil {
		return nil, j.fail("build-deps", err)
	}
	j.clock.mark("build-deps")
	args := DpkgBuildpackageArgs(j.req)
	j.req.Rec.Event("build.run", map[string]any{"command": args, "dir": j.dir, "source_date_epoch": entry.Date.Unix(),
		"deb_build_options": DebBuildOptions(j.req)})
	fmt.Fprintf(j.log, "packyard: %s (in %s, SOURCE_DATE_EPOCH=%d, DEB_BUILD_OPTIONS=%q)\n", joinArgs(args), j.dir, entry.Date.Unix(), DebBuildOptions(j.req))
	runErr := j.run(ctx, env.Step{Name: "build", Command: args, AsBuildUser: true, Dir: j.dir,
		Env: BuildEnvironment(j.req, entry.Date), Log: j.log})
	j.clock.mark("build")
	res := &Result{Source: j.source, Version: j.version, Command: args, LogPath: j.req.LogPath, CollectedFrom: j.sess.BuildDir}
	if runErr != nil {
		res.ExitCode = -1
		var re *run.Error
		if errors.As(runErr, &re) {
			res.ExitCode = re.ExitCode
		}
		return res, j.fail("build", runErr)
	}
	files, err := collect(j.sess.BuildDir, j.req.OutDir, j.req.Source)
	if err != nil {
		return res, j.fail("collect", err)
	}
	j.clock.mark("collect")
	res.Files = files
	return res, nil
}

// hostDir is the unpacked tree's path on the host.
func (j *job) hostDir() string {
	return filepath.Join(j.sess.BuildDir, filepath.FromSlash(strings.TrimPrefix(j.dir, "/build/")))
}

// changelog reads the unpacked tree's newest changelog entry (host side).
func (j *job) changelog() (*ChangelogEntry, error) {
	data, err := os.ReadFile(filepath.Join(j.hostDir(), "debian", "changelog"))
	if err != nil {
		return nil, fmt.Errorf("reading unpacked changelog: %w", err)
	}
	return ParseChangelog(data)
}

func joinArgs(args []string) string {
	s := ""
	for i, a := range args {
		if i > 0 {
			s += " "
		}
		s += a
	}
	return s
}

// run runs one session step, timing it into the log and the run record.
func (j *job) run(ctx context.Context, step env.Step) error {
	start := time.Now()
	err := j.sess.Run(ctx, step)
	d := time.Since(start)
	j.req.Rec.Event("build.step", map[string]any{"step": step.Name, "command": step.Command[0], "seconds": d.Seconds(), "ok": err == nil})
	fmt.Fprintf(j.log, "packyard: %s step (%s) took %.2f s\n", step.Name, step.Command[0], d.Seconds())
	return err
}
