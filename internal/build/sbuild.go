package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"github.com/packyard/packyard/internal/env"
	"github.com/packyard/packyard/internal/run"
)

// DefaultSbuildUser is the unprivileged user the sbuild builder runs as
// when packyard runs as root.
const DefaultSbuildUser = "packyard-sbuild"

// Sbuild builds with sbuild --chroot-mode=unshare as an unprivileged user,
// from a tarball of the environment. File: extra repositories (packyard's
// own) are served on loopback for the build and pinned highest.
type Sbuild struct {
	Envs   *env.Manager
	Logger *slog.Logger
	// User runs sbuild when packyard is root (created with subordinate id
	// ranges on first use); ignored otherwise (the calling user runs it).
	User   string
	runner *run.Runner
}

var _ Builder = (*Sbuild)(nil)

// NewSbuild returns the sbuild builder.
func NewSbuild(envs *env.Manager, logger *slog.Logger) *Sbuild {
	if logger == nil {
		logger = slog.Default()
	}
	s := &Sbuild{Envs: envs, Logger: logger, User: DefaultSbuildUser, runner: run.New(logger)}
	if envs != nil && envs.Config().Build.SbuildUser != "" {
		s.User = envs.Config().Build.SbuildUser
	}
	return s
}

// New returns the builder called name ("dpkg" or "sbuild").
func New(name string, envs *env.Manager, logger *slog.Logger) (Builder, error) {
	switch name {
	case "", "dpkg":
		return NewDpkg(envs, logger), nil
	case "sbuild":
		return NewSbuild(envs, logger), nil
	}
	return nil, fmt.Errorf("unknown builder %q: want dpkg or sbuild", name)
}

// Name returns "sbuild".
func (s *Sbuild) Name() string { return "sbuild" }

// buildUser is who runs sbuild.
type buildUser struct {
	Name     string
	UID, GID int
	Home     string
	// SbuildHome is HOME for sbuild and dpkg-source: an empty directory
	// of the build's, not Home.
	SbuildHome string
	// Switch is true when packyard must switch to the user (it is root).
	Switch bool
}

// own gives the tree at root to u when packyard switches to u; the calling
// user owns what it made already.
func (u *buildUser) own(root string) error {
	if !u.Switch {
		return nil
	}
	return chownTree(root, u.UID, u.GID)
}

// Build runs sbuild on req. Success needs both exit status 0 and the
// summary's "Status: successful"; anything else is a *Error.
func (s *Sbuild) Build(ctx context.Context, req Request) (res *Result, err error) {
	if req.Offline {
		return nil, errors.New("the sbuild builder needs the network for its chroot's apt; use --builder dpkg offline")
	}
	if err := run.Require("sbuild", "newuidmap", "newgidmap", "tar"); err != nil {
		return nil, err
	}
	if err := s.checkRootless(); err != nil {
		return nil, err
	}
	j, closeLog, err := startJob(req)
	if err != nil {
		return nil, err
	}
	defer closeLog()
	req = j.req
	req.Rec.Event("build.start", map[string]any{"builder": "sbuild", "source": j.source, "version": j.version, "env": req.Env.Name()})
	start := time.Now()
	res, err = s.build(ctx, j)
	if err != nil {
		req.Rec.Event("build.failed", map[string]any{"source": j.source, "version": j.version, "error": err.Error(), "seconds": time.Since(start).Seconds()})
		fmt.Fprintf(j.log, "\npackyard: build failed: %v\n", err)
		return res, err
	}
	req.Rec.Event("build.done", map[string]any{"source": j.source, "version": j.version, "files": len(res.Files), "seconds": time.Since(start).Seconds()})
	return res, nil
}

func (s *Sbuild) build(ctx context.Context, j *job) (*Result, error) {
	u, err := s.ensureUser(ctx)
	if err != nil {
		return nil, j.fail("setup", err)
	}
	p := s.places(u)
	tarball, tarLock, err := s.ensureTarball(ctx, j.req.Env, u, p.Cache)
	if err != nil {
		return nil, j.fail("setup", err)
	}
	defer tarLock.Close()
	_, _ = s.sweepBuilds(p.Builds, staleBuildAge, s.keptMaxAge())
	work, err := newWorkDir(p.Builds)
	if err != nil {
		return nil, j.fail("setup", err)
	}
	lock, err := lockWork(work)
	if err != nil {
		s.removeWork(work)
		return nil, j.fail("setup", err)
	}
	defer func() { s.releaseWork(work, lock, j.req.Keep) }()
	// sbuild reads $HOME/.sbuildrc: an empty home of its own keeps the
	// user's settings (chroot mode, lintian, build directory) out.
	u.SbuildHome = filepath.Join(work, ".home")
	if err := os.Mkdir(u.SbuildHome, 0o755); err != nil {
		return nil, j.fail("setup", fmt.Errorf("creating sbuild home: %w", err))
	}
	dsc, err := s.stage(ctx, j, u, work)
	if err != nil {
		return nil, j.fail("stage", err)
	}
	opts := SbuildOptions{Tarball: tarball, Codename: j.req.Env.Codename, Architecture: j.req.Env.Architecture,
		NoArchAll: j.req.NoArchAll, Source: j.req.Source, Profiles: profiles(j.req), AddDepends: j.req.ExtraPackages,
		BuildPath: j.dir, DSC: dsc}
	stop, err := s.extraRepositories(j, u, work, &opts)
	if err != nil {
		return nil, j.fail("setup", err)
	}
	defer stop()
	args := SbuildArgs(opts)
	args = append(args[:1], append([]string{"--verbose"}, args[1:]...)...)
	j.req.Rec.Event("build.run", map[string]any{"command": args, "dir": work})
	fmt.Fprintf(j.log, "packyard: %s\n", joinArgs(args))
	runErr := s.runStoppable(ctx, asUser(u, work, j.req, args, j.log), sbuildGrace)
	res := &Result{Source: j.source, Version: j.version, Command: args, LogPath: j.req.LogPath, CollectedFrom: work}
	if runErr != nil {
		res.ExitCode = -1
		var re *run.Error
		if errors.As(runErr, &re) {
			res.ExitCode = re.ExitCode
		}
	}
	buildLog := findBuildLog(work, j)
	logText, _ := os.ReadFile(buildLog)
	status := SbuildStatus(string(logText))
	j.req.Rec.Event("build.status", map[string]any{"status": status, "exit_code": res.ExitCode, "log": buildLog})
	if buildLog != "" {
		if err := os.MkdirAll(j.req.OutDir, 0o755); err == nil {
			dst := filepath.Join(j.req.OutDir, filepath.Base(buildLog))
			if copyFile(buildLog, dst) == nil {
				res.PrimaryLog = dst
			}
		}
	}
	if runErr != nil || status != "successful" {
		if runErr == nil {
			runErr = fmt.Errorf("sbuild reported Status: %q", status)
		}
		return res, j.fail("build", runErr)
	}
	files, err := collect(work, j.req.OutDir, j.req.Source)
	if err != nil {
		return res, j.fail("collect", err)
	}
	res.Files = files
	return res, nil
}

// findBuildLog returns sbuild's .build log in work (following its
// <source>_<version>_<arch>.build symlink), or "".
func findBuildLog(work string, j *job) string {
	name := j.source + "_" + noEpoch(j.version) + "_" + j.req.Env.Architecture + ".build"
	if p, err := filepath.EvalSymlinks(filepath.Join(work, name)); err == nil {
		return p
	}
	m, _ := filepath.Glob(filepath.Join(work, "*.build"))
	if len(m) > 0 {
		return m[len(m)-1]
	}
	return ""
}

// runAs runs args in dir as u: through setpriv when packyard is root.
func (s *Sbuild) runAs(ctx context.Context, u *buildUser, dir string, r Request, args []string, log io.Writer) error {
	return s.runner.Run(ctx, asUser(u, dir, r, args, log))
}

// asUser is the command running args in dir as u.
func asUser(u *buildUser, dir string, r Request, args []string, log io.Writer) run.Cmd {
	environ := SbuildEnvironment(u.Name, u.SbuildHome, DebBuildOptions(r))
	if u.Switch {
		// A change of credentials clears the parent-death signal;
		// --pdeathsig=keep restores it for the program setpriv runs.
		args = append([]string{"setpriv", "--reuid=" + strconv.Itoa(u.UID), "--regid=" + strconv.Itoa(u.GID), "--init-groups", "--pdeathsig=keep", "--"}, args...)
	}
	return run.Cmd{Args: args, Dir: dir, Env: environ, Log: log, Setpgid: true}
}

// stage puts the source package in work, owned by u, and returns the .dsc
// file name (building the source package from a tree first).
func (s *Sbuild) stage(ctx context.Context, j *job, u *buildUser, work string) (string, error) {
	if j.req.DSC != "" {
		dsc, err := ReadDSC(j.req.DSC)
		if err != nil {
			return "", err
		}
		for _, name := range append([]string{filepath.Base(j.req.DSC)}, dsc.Files...) {
			if err := copyFile(filepath.Join(filepath.Dir(j.req.DSC), name), filepath.Join(work, name)); err != nil {
				return "", err
			}
		}
		return filepath.Base(j.req.DSC), u.own(work)
	}
	dirName := filepath.Base(j.dir)
	if err := copyTree(j.req.SourceTree, filepath.Join(work, dirName)); err != nil {
		return "", err
	}
	origs, _ := filepath.Glob(filepath.Join(filepath.Dir(filepath.Clean(j.req.SourceTree)), j.source+"_"+UpstreamVersion(noEpoch(j.version))+".orig*"))
	for _, o := range origs {
		if err := copyFile(o, filepath.Join(work, filepath.Base(o))); err != nil {
			return "", err
		}
	}
	if err := u.own(work); err != nil {
		return "", err
	}
	fmt.Fprintf(j.log, "packyard: dpkg-source --build %s\n", dirName)
	if err := s.runAs(ctx, u, work, Request{}, []string{"dpkg-source", "--build", dirName}, j.log); err != nil {
		return "", err
	}
	return j.source + "_" + noEpoch(j.version) + ".dsc", nil
}

// extraRepositories serves file: repositories on loopback for the build,
// copies their keyrings where u can read them, and fills opts. The
// returned func stops the server.
func (s *Sbuild) extraRepositories(j *job, u *buildUser, work string, opts *SbuildOptions) (func(), error) {
	if len(j.req.ExtraRepositories) == 0 {
		return func() {}, nil
	}
	mux := http.NewServeMux()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("serving extra repositories: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := false
	for i, line := range j.req.ExtraRepositories {
		base := fmt.Sprintf("http://%s/r%d/", ln.Addr().String(), i)
		rewritten, dir, ok := RewriteFileRepository(line, base)
		if ok {
			mux.Handle(fmt.Sprintf("/r%d/", i), http.StripPrefix(fmt.Sprintf("/r%d/", i), http.FileServer(http.Dir(dir))))
			served = true
			opts.PinOrigin = loopbackOrigin(base)
		}
		opts.ExtraRepositories = append(opts.ExtraRepositories, rewritten)
		for k, key := range SignedBy(line) {
			dst := filepath.Join(work, fmt.Sprintf("extra-key-%d-%d%s", i, k, filepath.Ext(key)))
			if err := copyFile(key, dst); err != nil {
				ln.Close()
				return nil, err
			}
			_ = os.Chown(dst, u.UID, u.GID)
			opts.ExtraRepositoryKeys = append(opts.ExtraRepositoryKeys, dst)
		}
	}
	if !served {
		ln.Close()
		return func() {}, nil
	}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, nil
}

// ensureUser returns the user that runs sbuild, creating the dedicated
// user with subordinate uid and gid ranges when packyard is root.
func (s *Sbuild) ensureUser(ctx context.Context) (*buildUser, error) {
	if !s.switchesUser() {
		return callingUser()
	}
	name := s.User
	if _, err := user.Lookup(name); err != nil {
		home := "/var/lib/" + name
		if err := s.runner.Run(ctx, run.Cmd{Args: UseraddArgs(name, home)}); err != nil {
			return nil, fmt.Errorf("creating build user %s: %w", name, err)
		}
	}
	if err := s.ensureSubordinateIDs(ctx, name); err != nil {
		return nil, err
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("looking up build user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &buildUser{Name: name, UID: uid, GID: gid, Home: u.HomeDir, Switch: true}, nil
}

// UseraddArgs returns the useradd command that creates the sbuild user: a
// system user with a home for its cache and builds, and no login shell.
func UseraddArgs(name, home string) []string {
	return []string{"useradd", "--system", "--create-home", "--home-dir", home, "--shell", "/usr/sbin/nologin",
		"--user-group", "--comment", "packyard sbuild builds", name}
}

// subordinateCount is the size of the id range given to the sbuild user.
const subordinateCount = 65536

func (s *Sbuild) ensureSubordinateIDs(ctx context.Context, name string) error {
	uids, _ := os.ReadFile("/etc/subuid")
	gids, _ := os.ReadFile("/etc/subgid")
	var args []string
	if !HasSubordinateRange(string(uids), name) {
		start := NextSubordinateRange(string(uids), 100000, subordinateCount)
		args = append(args, "--add-subuids", fmt.Sprintf("%d-%d", start, start+subordinateCount-1))
	}
	if !HasSubordinateRange(string(gids), name) {
		start := NextSubordinateRange(string(gids), 100000, subordinateCount)
		args = append(args, "--add-subgids", fmt.Sprintf("%d-%d", start, start+subordinateCount-1))
	}
	if len(args) == 0 {
		return nil
	}
	if err := s.runner.Run(ctx, run.Cmd{Args: append(append([]string{"usermod"}, args...), name)}); err != nil {
		return fmt.Errorf("giving %s subordinate ids: %w", name, err)
	}
	return nil
}

// ensureTarball returns the environment's tarball for sbuild, made once
// per environment state (env.TarballName) in dir, and the file holding a
// shared lock on it (env.UseTarball) for the caller to close when sbuild
// is done with it: collection never removes a tarball in use. When a new
// one is made, the tarballs of the environment's earlier states are
// collected (env.CollectEnvTarballs); those of other environments are left
// to env gc (Sbuild.GC).
func (s *Sbuild) ensureTarball(ctx context.Context, e *env.Env, u *buildUser, dir string) (string, *os.File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, fmt.Errorf("creating sbuild cache: %w", err)
	}
	if u.Switch {
		_ = chownTree(filepath.Join(u.Home, ".cache"), u.UID, u.GID)
	}
	tarball := filepath.Join(dir, env.TarballName(e))
	if lock, err := env.UseTarball(tarball); err == nil {
		return tarball, lock, nil
	}
	tmp, lock, err := env.CreateTarballTemp(dir, filepath.Base(tarball))
	if err != nil {
		return "", nil, fmt.Errorf("making environment tarball: %w", err)
	}
	if err := s.finishTarball(ctx, e, tmp, tarball, lock); err != nil {
		lock.Close()
		_ = os.Remove(tmp)
		return "", nil, fmt.Errorf("making environment tarball: %w", err)
	}
	removed, _, err := env.CollectEnvTarballs(dir, e)
	if err != nil {
		s.Logger.Warn("collecting stale environment tarballs", "err", err)
	}
	if len(removed) > 0 {
		s.Logger.Info("collected stale environment tarballs", "tarballs", removed)
	}
	return tarball, lock, nil
}

// finishTarball writes e's tarball to tmp (locked by lock), renames it to
// tarball and turns lock into a shared one on it.
func (s *Sbuild) finishTarball(ctx context.Context, e *env.Env, tmp, tarball string, lock *os.File) error {
	if err := s.writeTarball(ctx, e, tmp); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, tarball); err != nil {
		return err
	}
	return env.HoldTarball(lock, tarball)
}
