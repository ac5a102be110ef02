package offline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/packyard/packyard/internal/archive"
	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/env"
	"github.com/packyard/packyard/internal/record"
)

// Check is the pre-flight of an offline build of spec, run before any
// build starts and without any network: the pantry's configured indexes,
// the build environment, every file of each named source (as Prime
// leaves them in sources/), and, for each source whose build-dependencies
// a kept layer does not already hold, every .deb of its resolved set in
// the .deb cache (size and SHA256 against the signed Packages index). All
// gaps are returned together as one *archive.MissingError (wrapping
// archive.ErrMissing) naming each missing file or package, with
// spec.Command as the way to fetch them. Sources of later plan stages that
// need binaries of earlier ones are reported Deferred, not missing: run
// Check again on such a stage once the earlier ones are published (packyard
// build does, before each later stage).
func Check(ctx context.Context, cfg *config.Config, logger *slog.Logger, rec *record.Run, spec Spec) (*Report, error) {
	if logger == nil {
		logger = slog.Default()
	}
	start := time.Now()
	c := &checker{cfg: cfg, logger: logger, rec: rec, spec: &spec, rep: &Report{Env: env.Name(spec.Codename, spec.Arch, env.DefaultVariant)}}
	p, err := archive.OpenPantry(cfg, logger)
	if err != nil {
		return nil, err
	}
	p.SetClient(archive.NewClient(true))
	c.pantry = p
	c.checkPantry()
	envs := env.NewManager(cfg, logger, runner(logger))
	e, err := envs.Open(spec.Codename, spec.Arch, env.DefaultVariant)
	if err != nil {
		c.missing = append(c.missing, fmt.Sprintf("build environment %s (%s): %v (its build-dependency .debs are checked once it exists)",
			c.rep.Env, envs.Dir(spec.Codename, spec.Arch, env.DefaultVariant), err))
	}
	if e != nil {
		c.res = newResolver(cfg, logger, rec, &spec, envs, e)
	}
	var deps depIndex
	var errs []error
	for _, res := range forEachItem(spec.Stages, resolveParallel(), func(stage int, it Item) itemResult { return c.checkSource(ctx, stage, it) }) {
		errs = append(errs, res.err)
		c.missing = append(c.missing, res.missing...)
		c.rep.Sources = append(c.rep.Sources, res.state)
		deps.add(res.state.Source, res.pkgs)
	}
	if err := errors.Join(errs...); err != nil {
		return c.rep, err
	}
	deps.dropLocal(cfg, spec.Distribution, spec.Arch)
	if err := c.checkDebs(&deps); err != nil {
		return c.rep, err
	}
	rec.Event("offline.check", map[string]any{"sources": len(c.rep.Sources), "packages": c.rep.Packages, "cached": c.rep.Cached,
		"missing": len(c.missing), "seconds": time.Since(start).Seconds()})
	if len(c.missing) > 0 {
		for _, m := range c.missing {
			rec.Event("offline.missing", map[string]any{"item": m})
		}
		return c.rep, &archive.MissingError{Items: c.missing, Command: spec.Command}
	}
	return c.rep, nil
}

type checker struct {
	cfg     *config.Config
	logger  *slog.Logger
	rec     *record.Run
	spec    *Spec
	pantry  *archive.Pantry
	rep     *Report
	missing []string
	res     *resolver
}

// checkPantry names every configured index the pantry lacks or holds
// damaged (no hashing: the planner has just read them).
func (c *checker) checkPantry() {
	_, err := c.pantry.Status(archive.StatusOptions{})
	var se *archive.StatusError
	if !errors.As(err, &se) {
		return
	}
	for _, s := range append(append([]archive.IndexStatus(nil), se.Missing...), se.Corrupt...) {
		c.missing = append(c.missing, fmt.Sprintf("pantry index %s %s %s/%s (%s): %s", s.Archive, s.Suite, s.Component, s.Architecture, s.Path, s.Problem))
	}
}

// checkSource checks one source's files and, when they and the
// environment are there, resolves its build-dependency set offline.
func (c *checker) checkSource(ctx context.Context, stage int, it Item) itemResult {
	r := itemResult{state: SourceState{Source: it.Source, Version: it.Version, DSC: it.DSC}}
	st := &r.state
	if it.DSC == "" && it.Tree == "" {
		ref, err := findRef(c.pantry, it)
		var me *archive.MissingError
		if errors.As(err, &me) {
			r.missing = me.Items
			return r
		}
		if err != nil {
			r.err = err
			return r
		}
		st.Version = ref.Version
		dir := SourceDir(c.cfg, ref)
		if err := archive.CheckSourceCached(ref, dir); err != nil {
			if !errors.As(err, &me) {
				r.err = err
				return r
			}
			for _, f := range me.Items {
				r.missing = append(r.missing, fmt.Sprintf("%s (source %s %s)", f, ref.Package, ref.Version))
			}
			return r
		}
		d, _ := ref.DSC()
		st.DSC = filepath.Join(dir, d.Name)
	}
	if c.res == nil {
		return r
	}
	set, err := c.res.resolve(ctx, it, st.DSC)
	if err != nil {
		if deferrable(stage, err) {
			st.Deferred, st.Reason = true, err.Error()
			c.logger.Warn("build-dependencies need earlier plan stages; checked when the build reaches them", "source", it.Source)
			return r
		}
		r.err = fmt.Errorf("resolving build-dependencies of %s offline: %w", it.Source, err)
		return r
	}
	st.Packages, st.Layer = len(set.Packages), set.Layer
	if st.Layer == "" {
		// Without a kept layer the build installs the set from the cache.
		r.pkgs = set.Packages
	}
	return r
}

// checkDebs names every package of the resolved sets whose .deb the cache
// lacks.
func (c *checker) checkDebs(deps *depIndex) error {
	names, err := CacheNamesDir(c.cfg)
	if err != nil {
		return err
	}
	c.rep.CacheDir = names
	ids := deps.ids()
	c.rep.Packages = len(ids)
	if len(ids) == 0 {
		return nil
	}
	refs, err := c.pantry.ResolveDebs(c.spec.Arch, ids)
	var me *archive.MissingError
	if err != nil && !errors.As(err, &me) {
		return err
	}
	for _, id := range unresolved(ids, refs) {
		// apt verifies such a file itself; only its absence is certain.
		if !cachedByName(names, id) {
			c.missing = append(c.missing, fmt.Sprintf("package %s %s (build-dependency of %s): not in the .deb cache %s and in no pantry index (%s)",
				id.Package, id.Version, deps.neededBy(id), names, staleEnvCommand))
		}
	}
	missing := archive.MissingDebs(refs, names, true)
	c.rep.Cached = len(refs) - len(missing)
	for _, d := range missing {
		c.missing = append(c.missing, fmt.Sprintf("%s (package %s %s %s, build-dependency of %s)",
			filepath.Join(names, d.CacheName()), d.Package, d.Version, d.Architecture, deps.neededBy(d.PackageID)))
	}
	return nil
}

// Summary is a one-line account of a report for people.
func (r *Report) Summary() string {
	var deferred []string
	for _, s := range r.Sources {
		if s.Deferred {
			deferred = append(deferred, s.Source)
		}
	}
	out := fmt.Sprintf("%d sources, %d build-dependency packages (%d already cached, %d fetched, %.1f MB)",
		len(r.Sources), r.Packages, r.Cached, r.Fetched, float64(r.FetchedBytes)/1e6)
	if len(deferred) > 0 {
		out += "; deferred until earlier stages are built: " + strings.Join(deferred, ", ")
	}
	return out
}
