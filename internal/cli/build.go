package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/packyard/packyard/internal/archive"
	"github.com/packyard/packyard/internal/build"
	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/env"
	"github.com/packyard/packyard/internal/record"
	"github.com/packyard/packyard/internal/repo"
	"github.com/packyard/packyard/internal/run"
	"github.com/packyard/packyard/internal/sign"
	"github.com/spf13/cobra"
)

type buildOptions struct {
	suite        string
	codename     string
	arch         string
	noArchAll    bool
	nocheck      bool
	profiles     []string
	parallel     int
	extra        []string
	jobs         int
	noPlan       bool
	validatePlan bool
	from         string
	skipLocal    bool
	builder      string
	source       bool
	keep         bool
	lintian      string
	reproducible bool
}

func newBuild(g *globals) *cobra.Command {
	var o buildOptions
	cmd := &cobra.Command{
		Use:   "build TARGET...",
		Short: "Build source packages in clean environments and publish them to packyard's repository",
		Long: `build takes source package names (the newest version in the refreshed
Sources indexes), paths to .dsc files, or unpacked source trees with debian/.
It plans first: build-dependencies that no binary index satisfies but that a
source archive provides are built too, stage by stage, up to -j builds at
once, each stage published before the next is resolved (--no-plan builds the
targets as given; --validate-plan stops after planning). Each build verifies
its source, creates or reuses the build environment for the codename and
architecture, installs the build-dependencies in a throw-away overlay entered
with bwrap, runs dpkg-buildpackage there with the network off, and publishes
the results to <codename>-<id>-<suite>.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("arch-all") && cmd.Flags().Changed("no-arch-all") {
				return usageError("--arch-all and --no-arch-all contradict each other; give one")
			}
			cfg, err := g.load()
			if err != nil {
				return err
			}
			return g.command(cmd, cfg, args, func(rec *record.Run) error {
				return runBuild(cmd.Context(), g, cfg, rec, &o, args)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.suite, "suite", "", "repository suite to publish to (default build.suite from the config)")
	f.StringVar(&o.codename, "codename", "", "codename to build for (default build.codename)")
	f.StringVar(&o.arch, "arch", "", "architecture to build for (default build.architecture)")
	f.BoolVar(&o.noArchAll, "no-arch-all", false, "do not build Architecture: all packages")
	f.Bool("arch-all", true, "build Architecture: all packages too (the default, as sbuild's --arch-all)")
	f.BoolVar(&o.nocheck, "nocheck", false, "skip the package's tests (DEB_BUILD_OPTIONS=nocheck)")
	f.StringSliceVar(&o.profiles, "profiles", nil, "build profiles (DEB_BUILD_PROFILES)")
	f.IntVarP(&o.parallel, "parallel", "J", 0, "parallel=N in DEB_BUILD_OPTIONS (0: the package's default)")
	f.StringSliceVar(&o.extra, "extra-package", nil, "extra packages to install in the build session")
	f.IntVarP(&o.jobs, "jobs", "j", 1, "builds of one plan stage to run at once")
	f.BoolVar(&o.noPlan, "no-plan", false, "build the targets as given, in order, without planning")
	f.BoolVar(&o.validatePlan, "validate-plan", false, "plan, print the plan, and stop")
	f.StringVar(&o.from, "from", "", "codename whose Sources provide targets and missing build-dependencies (default: the build codename)")
	f.BoolVar(&o.skipLocal, "skip-local", false, "plan without packyard's own repository")
	f.StringVar(&o.builder, "builder", "", "dpkg (dpkg-buildpackage in a bwrap session) or sbuild (sbuild --chroot-mode=unshare); default build.builder")
	f.BoolVar(&o.source, "source", false, "include the source package in the .changes")
	f.BoolVar(&o.keep, "keep", false, "keep a failed build's session for 'packyard env shell --session'")
	f.StringVar(&o.lintian, "lintian", "", "run lintian on the result (report kept with the run); fail the build on tags of this severity: none, error or warning")
	f.Lookup("lintian").NoOptDefVal = "none"
	f.BoolVar(&o.reproducible, "verify-reproducible", false, "build twice (other path, other time) and list the .debs that differ")
	return cmd
}

// buildTarget is one source to build, resolved.
type buildTarget struct {
	name    string // source package name as given or planned
	version string // exact version to fetch ("" for the newest)
	dsc     string // path of a verified .dsc with its files beside it
	tree    string // or an unpacked source tree
	origin  string // the planned item's source archive ("local": packyard's repository)
}

// builder is what runBuild shares between the builds of one run.
type buildSession struct {
	g        *globals
	cfg      *config.Config
	rec      *record.Run
	o        *buildOptions
	repo     *repo.Repo
	envs     *env.Manager
	env      *env.Env
	dist     string
	arch     string
	multiple bool
	mu       sync.Mutex
}

func runBuild(ctx context.Context, g *globals, cfg *config.Config, rec *record.Run, o *buildOptions, args []string) error {
	codename := firstNonEmpty(o.codename, cfg.Build.Codename)
	s := &buildSession{g: g, cfg: cfg, rec: rec, o: o, arch: firstNonEmpty(o.arch, cfg.Build.Architecture)}
	s.dist = cfg.DistributionName(codename, firstNonEmpty(o.suite, cfg.Build.Suite))
	if !o.validatePlan {
		if err := run.Require("mmdebstrap", "bwrap", "mount", "umount"); err != nil {
			return err
		}
	}
	key, err := sign.LoadKey(cfg.SigningKeyPath())
	if err != nil {
		return withCode(ExitUsage, err, "run 'packyard init' to generate the signing key")
	}
	if s.repo, err = repo.Open(cfg, key, g.logger); err != nil {
		return err
	}
	if err := checkDistribution(s.repo, s.dist); err != nil {
		return err
	}
	stages, err := s.stages(ctx, codename, args)
	if err != nil {
		return err
	}
	if o.validatePlan {
		return nil
	}
	if cfg.Offline {
		if err := s.offlineCheck(ctx, codename, stages, args); err != nil {
			return err
		}
	}
	s.envs = env.NewManager(cfg, g.logger, run.New(g.logger))
	g.printf("preparing build environment %s/%s\n", codename, s.arch)
	if s.env, err = s.envs.Ensure(ctx, codename, s.arch); err != nil {
		return fmt.Errorf("preparing build environment: %w", err)
	}
	rec.Event("env.ready", map[string]any{"env": s.env.Name(), "dir": s.env.Dir})
	n := 0
	for _, st := range stages {
		n += len(st)
	}
	s.multiple = n > 1
	for i, st := range stages {
		rec.Event("build.stage", map[string]any{"stage": i + 1, "items": len(st)})
		if cfg.Offline && i > 0 {
			// Build-dependencies on binaries of earlier stages resolve only now.
			if err := s.offlineCheck(ctx, codename, stages[i:i+1], args); err != nil {
				return err
			}
		}
		if err := s.runStage(ctx, st); err != nil {
			return err
		}
	}
	line := s.repo.AptSourceLine(s.dist)
	if g.json {
		return writeJSON(g.stdout, map[string]any{"distribution": s.dist, "run": rec.Dir, "apt_source": line})
	}
	g.printf("to install from it, add this line to /etc/apt/sources.list.d/packyard.list:\n%s\n", line)
	return nil
}

// stages resolves the arguments and, unless --no-plan, plans them: the
// result is the build order, stage by stage.
func (s *buildSession) stages(ctx context.Context, codename string, args []string) ([][]*buildTarget, error) {
	given := map[string]*buildTarget{}
	var order [][]*buildTarget
	for _, a := range args {
		t, err := localTarget(a)
		if err != nil {
			return nil, err
		}
		given[t.name] = t
		order = append(order, []*buildTarget{t})
	}
	if s.o.noPlan {
		return order, nil
	}
	po := &planOptions{from: s.o.from, to: codename, suite: strings.TrimPrefix(s.dist, codename+"-"+s.cfg.Repository.ID+"-"),
		arch: s.arch, skipLocal: s.o.skipLocal, profiles: s.o.profiles}
	if s.o.nocheck {
		// The builds run with the nocheck profile, so plan with it too:
		// test-only build-dependencies drop out of the closure.
		po.profiles = append(append([]string(nil), s.o.profiles...), "nocheck")
	}
	pl, err := makePlan(ctx, s.g, s.cfg, s.rec, po, args)
	if pl != nil && (err != nil || s.o.validatePlan || len(pl.Items) > len(args)) {
		if perr := printPlan(s.g, pl, false); perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil {
		return nil, err
	}
	order = nil
	for _, st := range pl.Stages {
		var stage []*buildTarget
		for _, it := range st {
			if t, ok := given[it.Source]; ok && (t.dsc != "" || t.tree != "") {
				stage = append(stage, t)
				continue
			}
			stage = append(stage, &buildTarget{name: it.Source, version: it.Version, origin: it.Origin})
		}
		order = append(order, stage)
	}
	return order, nil
}

// localTarget classifies one argument: a .dsc (verified), a source tree, or
// a source package name to fetch.
func localTarget(arg string) (*buildTarget, error) {
	if strings.HasSuffix(arg, ".dsc") {
		ref, err := archive.VerifyLocalDSC(arg)
		if err != nil {
			return nil, err
		}
		abs, err := filepath.Abs(arg)
		if err != nil {
			return nil, usageError("%v", err)
		}
		return &buildTarget{name: ref.Package, version: ref.Version, dsc: abs}, nil
	}
	if fi, err := os.Stat(arg); err == nil && fi.IsDir() {
		abs, err := filepath.Abs(arg)
		if err != nil {
			return nil, usageError("%v", err)
		}
		if _, err := os.Stat(filepath.Join(abs, "debian")); err != nil {
			return nil, &build.SourceTreeError{Path: abs, Reason: "it has no debian/ directory"}
		}
		name := filepath.Base(abs)
		if s, err := sourceFromTree(abs); err == nil {
			name = s.Package
		}
		return &buildTarget{name: name, tree: abs}, nil
	}
	if strings.ContainsRune(arg, '/') {
		return nil, usageError("%s: no such .dsc or source tree", arg)
	}
	return &buildTarget{name: arg}, nil
}

// runStage builds the targets of one stage, up to -j at once. Every build
// of the stage runs to its end; the first error is returned.
func (s *buildSession) runStage(ctx context.Context, stage []*buildTarget) error {
	jobs := max(s.o.jobs, 1)
	sem := make(chan struct{}, jobs)
	errs := make([]error, len(stage))
	var wg sync.WaitGroup
	for i, t := range stage {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = s.buildOne(ctx, t)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// buildOne fetches (if needed), builds and publishes one source.
func (s *buildSession) buildOne(ctx context.Context, t *buildTarget) error {
	g, rec := s.g, s.rec
	if t.dsc == "" && t.tree == "" {
		if err := s.fetch(ctx, t); err != nil {
			return err
		}
	}
	logName, outDir := "build.log", filepath.Join(rec.Dir, "artifacts")
	if s.multiple {
		logName, outDir = "build-"+t.name+".log", filepath.Join(rec.Dir, "artifacts", t.name)
	}
	req := build.Request{
		DSC: t.dsc, SourceTree: t.tree, Env: s.env, OutDir: outDir,
		LogPath: rec.LogPath(logName), Rec: rec, Arch: s.arch,
		NoArchAll: s.o.noArchAll, NoCheck: s.o.nocheck, Profiles: s.o.profiles, Parallel: s.o.parallel,
		ExtraPackages: s.o.extra, Offline: s.cfg.Offline,
	}
	if published(s.cfg, s.dist) {
		req.ExtraRepositories = []string{s.repo.AptSourceLine(s.dist)}
	}
	req.Source, req.Keep = s.o.source, s.o.keep
	builder, err := s.newBuilder()
	if err != nil {
		return err
	}
	g.printf("building %s with %s (log: %s)\n", t.name, builder.Name(), req.LogPath)
	res, err := s.runBuilder(ctx, builder, req, t)
	artifactsName := "artifacts.json"
	if s.multiple {
		artifactsName = filepath.Join("artifacts", t.name, "artifacts.json")
	}
	if res != nil {
		if aerr := writeArtifacts(rec, artifactsName, builder.Name(), res, nil); aerr != nil && err == nil {
			err = aerr
		}
	}
	linkPrimaryLog(rec, logName, res, req.LogPath)
	if err != nil {
		g.printf("build of %s failed; full log: %s\n", t.name, req.LogPath)
		var be *build.Error
		if errors.As(err, &be) && be.Session != "" {
			g.printf("the failed session is kept: packyard env shell --session %s\n", be.Session)
		}
		return err
	}
	if len(res.Phases) > 0 {
		g.printf("%s took %s\n", t.name, build.FormatPhases(res.Phases))
	}
	files := publishable(res.Files, t.dsc)
	s.mu.Lock()
	pub, err := s.repo.Add(ctx, s.dist, files...)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if err := writeArtifacts(rec, artifactsName, builder.Name(), res, files); err != nil {
		return err
	}
	rec.Event("publish.done", map[string]any{"source": res.Source, "version": res.Version, "distribution": s.dist,
		"generation": pub.Generation, "added": len(pub.Added), "unchanged": pub.Unchanged})
	if pub.Unchanged {
		g.printf("built %s %s: the same files are already published in %s (generation %d unchanged)\n", res.Source, res.Version, s.dist, pub.Generation)
		return nil
	}
	g.printf("built %s %s and published it to %s (generation %d)\n", res.Source, res.Version, s.dist, pub.Generation)
	return nil
}

// linkPrimaryLog points logs/primary.log (primary-<source>.log in a
// multi-source run) at the builder's own log: sbuild's .build file, or the
// dpkg builder's full log.
func linkPrimaryLog(rec *record.Run, logName string, res *build.Result, logPath string) {
	target := logPath
	if res != nil && res.PrimaryLog != "" {
		target = res.PrimaryLog
	}
	link := rec.LogPath(strings.Replace(logName, "build", "primary", 1))
	_ = os.Remove(link)
	_ = os.Symlink(target, link)
}

// newBuilder returns the builder chosen by --builder or the config.
func (s *buildSession) newBuilder() (build.Builder, error) {
	name := firstNonEmpty(s.o.builder, s.cfg.Build.Builder)
	b, err := build.New(name, s.envs, s.g.logger)
	if err != nil {
		return nil, usageError("%v", err)
	}
	if d, ok := b.(*build.Dpkg); ok {
		d.CacheDir = s.cfg.WorkspaceDir().Cache()
	}
	return b, nil
}

// runBuilder builds req once, or twice with --verify-reproducible, then
// runs lintian when asked. Reports are kept in the run record.
func (s *buildSession) runBuilder(ctx context.Context, b build.Builder, req build.Request, t *buildTarget) (*build.Result, error) {
	runner := run.New(s.g.logger)
	var res *build.Result
	var err error
	if s.o.reproducible {
		var rep *build.ReproducibilityReport
		res, rep, err = build.VerifyReproducible(ctx, b, runner, req)
		if rep != nil {
			_ = s.rec.WriteJSON(filepath.Join("reports", t.name+"-reproducibility.json"), rep)
			s.rec.Event("build.reproducibility", map[string]any{"source": t.name, "identical": len(rep.Identical), "differ": rep.Differ, "missing": rep.Missing})
			s.g.printf("reproducibility of %s: %d identical, %d differ %v\n", t.name, len(rep.Identical), len(rep.Differ), rep.Differ)
		}
	} else {
		res, err = b.Build(ctx, req)
	}
	if err != nil || s.o.lintian == "" {
		return res, err
	}
	failOn := s.o.lintian
	if failOn == "none" {
		failOn = ""
	}
	lr, lerr := build.RunLintian(ctx, runner, res.Files, s.rec.LogPath("lintian-"+t.name+".log"), failOn)
	if lr != nil {
		s.rec.Event("build.lintian", map[string]any{"source": t.name, "counts": lr.Counts, "report": lr.ReportPath})
		s.g.printf("lintian on %s: %v (report: %s)\n", t.name, lr.Counts, lr.ReportPath)
	}
	if lerr != nil && errors.Is(lerr, build.ErrLintian) {
		return res, lerr
	}
	if lerr != nil {
		s.g.logger.Warn("lintian did not run", "error", lerr)
	}
	return res, nil
}
