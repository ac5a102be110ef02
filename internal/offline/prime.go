package offline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/packyard/packyard/internal/archive"
	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/env"
	"github.com/packyard/packyard/internal/record"
)

// staleEnvCommand is the way out when the environment's apt lists name
// versions the pantry no longer lists.
const staleEnvCommand = "packyard refresh, then recreate the build environment (its apt lists are older than the pantry)"

// ErrNeedsNetwork is returned by Prime and Refresh in offline mode.
var ErrNeedsNetwork = errors.New("priming needs the network; run it without --offline (and without offline: true in the config)")

// Refresh brings the pantry up to date (online), as packyard refresh does.
func Refresh(ctx context.Context, cfg *config.Config, logger *slog.Logger, rec *record.Run, progress archive.Progress) ([]archive.SuiteResult, error) {
	if cfg.Offline {
		return nil, ErrNeedsNetwork
	}
	p, err := archive.OpenPantry(cfg, logger)
	if err != nil {
		return nil, err
	}
	p.SetClient(archive.NewClient(false))
	return p.Refresh(ctx, rec, archive.RefreshOptions{Progress: progress})
}

// Prime fetches, online, what an offline build of spec needs beyond the
// pantry's indexes (Refresh them first): the build environment (created
// with mmdebstrap when missing), every named source package (verified into
// the workspace's sources/), and every .deb of each source's resolved
// build-dependency set into the workspace's .deb cache, each checked
// against the size and SHA256 of the signed Packages index. Files already
// present and verified are not fetched again.
//
// Sources of later plan stages whose build-dependencies include binaries
// that earlier stages build cannot be resolved before those exist: they
// are reported Deferred (the offline build checks them again). A package
// the environment's apt picks that no pantry index lists (the
// environment's lists are older than the pantry) gives a
// *archive.MissingError.
func Prime(ctx context.Context, cfg *config.Config, logger *slog.Logger, rec *record.Run, spec Spec, progress archive.Progress) (*Report, error) {
	if cfg.Offline {
		return nil, ErrNeedsNetwork
	}
	if logger == nil {
		logger = slog.Default()
	}
	p, err := archive.OpenPantry(cfg, logger)
	if err != nil {
		return nil, err
	}
	p.SetClient(archive.NewClient(false))
	envs := env.NewManager(cfg, logger, runner(logger))
	envs.Rec = rec
	rep := &Report{Env: env.Name(spec.Codename, spec.Arch, env.DefaultVariant)}
	if _, err := envs.Open(spec.Codename, spec.Arch, env.DefaultVariant); err != nil {
		rep.EnvCreated = true
	}
	e, err := envs.Ensure(ctx, spec.Codename, spec.Arch)
	if err != nil {
		return nil, fmt.Errorf("preparing build environment: %w", err)
	}
	rec.Event("prime.env", map[string]any{"env": e.Name(), "created": rep.EnvCreated})
	r := newResolver(cfg, logger, rec, &spec, envs, e)
	var deps depIndex
	results := forEachItem(spec.Stages, resolveParallel(), func(stage int, it Item) itemResult {
		st, pkgs, err := primeSource(ctx, p, r, cfg, logger, rec, stage, it)
		return itemResult{state: st, pkgs: pkgs, err: err}
	})
	var errs []error
	for _, res := range results {
		errs = append(errs, res.err)
		rep.Sources = append(rep.Sources, res.state)
		deps.add(res.state.Source, res.pkgs)
	}
	if err := errors.Join(errs...); err != nil {
		return rep, err
	}
	deps.dropLocal(cfg, spec.Distribution, spec.Arch)
	if err := primeDebs(ctx, p, cfg, logger, rec, &deps, spec.Arch, progress, rep); err != nil {
		return rep, err
	}
	return rep, nil
}

// primeSource fetches one source (unless local) and resolves its
// build-dependency set.
func primeSource(ctx context.Context, p *archive.Pantry, r *resolver, cfg *config.Config, logger *slog.Logger, rec *record.Run,
	stage int, it Item) (SourceState, map[string]string, error) {
	st := SourceState{Source: it.Source, Version: it.Version, DSC: it.DSC}
	if it.DSC == "" && it.Tree == "" {
		ref, err := findRef(p, it)
		if err != nil {
			return st, nil, err
		}
		logger.Info("fetching source", "source", ref.Package, "version", ref.Version, "archive", ref.Archive, "suite", ref.Suite)
		dsc, err := p.FetchSource(ctx, ref, SourceDir(cfg, ref))
		if err != nil {
			return st, nil, err
		}
		st.Version, st.DSC = ref.Version, dsc
		rec.Event("source.fetched", map[string]any{"source": ref.Package, "version": ref.Version, "dsc": dsc})
	}
	set, err := r.resolve(ctx, it, st.DSC)
	if err != nil {
		if deferrable(stage, err) {
			st.Deferred, st.Reason = true, err.Error()
			logger.Warn("build-dependencies need earlier plan stages; they are checked when the offline build reaches them",
				"source", it.Source, "err", err)
			return st, nil, nil
		}
		return st, nil, err
	}
	st.Packages, st.Layer = len(set.Packages), set.Layer
	if st.Version == "" {
		st.Version = set.Version
	}
	rec.Event("prime.source", map[string]any{"source": st.Source, "version": st.Version, "packages": st.Packages, "layer": st.Layer})
	return st, set.Packages, nil
}

// primeDebs locates every package in the pantry and downloads the .debs
// the cache lacks.
func primeDebs(ctx context.Context, p *archive.Pantry, cfg *config.Config, logger *slog.Logger, rec *record.Run,
	deps *depIndex, arch string, progress archive.Progress, rep *Report) error {
	cache := debCache(cfg)
	names, err := cache.NamesDir()
	if err != nil {
		return err
	}
	rep.CacheDir = names
	ids := deps.ids()
	rep.Packages = len(ids)
	if len(ids) == 0 {
		return nil
	}
	refs, err := p.ResolveDebs(arch, ids)
	if err != nil {
		var me *archive.MissingError
		if !errors.As(err, &me) {
			return err
		}
		var items []string
		for _, id := range unresolved(ids, refs) {
			if !cachedByName(names, id) {
				items = append(items, fmt.Sprintf("%s %s (build-dependency of %s): the build environment's apt lists name a version no pantry index lists",
					id.Package, id.Version, deps.neededBy(id)))
			}
		}
		if len(items) > 0 {
			return &archive.MissingError{Items: items,
				Command: staleEnvCommand}
		}
	}
	missing := archive.MissingDebs(refs, names, true)
	rep.Cached = len(refs) - len(missing)
	for _, d := range missing {
		rep.FetchedBytes += d.Size
	}
	logger.Info("fetching build-dependencies", "packages", len(refs), "cached", rep.Cached, "fetch", len(missing), "bytes", rep.FetchedBytes)
	if _, err := p.FetchDebs(ctx, missing, names, progress); err != nil {
		return err
	}
	rep.Fetched = len(missing)
	n, b, err := cache.Ingest()
	if err != nil {
		return err
	}
	rec.Event("prime.debs", map[string]any{"packages": len(refs), "cached": rep.Cached, "fetched": rep.Fetched,
		"fetched_bytes": rep.FetchedBytes, "ingested": n, "ingested_bytes": b, "dir": names})
	return nil
}
