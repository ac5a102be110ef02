package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/offline"
	"github.com/packyard/packyard/internal/record"
	"github.com/packyard/packyard/internal/repo"
	"github.com/packyard/packyard/internal/run"
	"github.com/packyard/packyard/internal/sign"
)

func newPrime(g *globals) *cobra.Command {
	var o buildOptions
	cmd := &cobra.Command{
		Use:   "prime TARGET...",
		Short: "Fetch everything an offline build of the targets needs: indexes, sources, build environment, build-dependency .debs",
		Long: `prime fetches, while online, everything 'packyard build --offline' needs for
the same targets and options: it refreshes the pantry's indexes, plans the
targets as build does (sources that provide missing build-dependencies are
added), downloads and verifies each planned source package, creates the build
environment when missing, resolves each source's build-dependencies with apt
in that environment, and downloads every .deb of those sets into the
workspace's package cache (checked against the signed Packages indexes),
which build sessions hand to apt. Files already cached are not fetched again.

Give prime the build options the offline build will use (--codename, --arch,
--profiles, --nocheck, --no-arch-all, --extra-package): they change the
build-dependency sets. Sources of later plan stages that need binaries built
by earlier stages are resolved when the build reaches them.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			if cfg.Offline {
				return withCode(ExitUsage, offline.ErrNeedsNetwork, "")
			}
			return g.command(cmd, cfg, args, func(rec *record.Run) error {
				rep, err := runPrime(cmd.Context(), g, cfg, rec, &o, args)
				if err != nil {
					return err
				}
				return printPrime(g, rep)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.suite, "suite", "", "repository suite the builds will publish to (default build.suite from the config)")
	f.StringVar(&o.codename, "codename", "", "codename to build for (default build.codename)")
	f.StringVar(&o.arch, "arch", "", "architecture to build for (default build.architecture)")
	f.BoolVar(&o.noArchAll, "no-arch-all", false, "the builds skip Architecture: all packages")
	f.BoolVar(&o.nocheck, "nocheck", false, "the builds skip the package's tests (nocheck profile)")
	f.StringSliceVar(&o.profiles, "profiles", nil, "build profiles")
	f.StringSliceVar(&o.extra, "extra-package", nil, "extra packages the builds install")
	f.BoolVar(&o.noPlan, "no-plan", false, "prime the targets as given, without planning")
	f.StringVar(&o.from, "from", "", "codename whose Sources provide targets and missing build-dependencies (default: the build codename)")
	f.BoolVar(&o.skipLocal, "skip-local", false, "plan without packyard's own repository")
	return cmd
}

// runPrime refreshes, plans args (none: only the indexes and the build
// environment) and primes the result.
func runPrime(ctx context.Context, g *globals, cfg *config.Config, rec *record.Run, o *buildOptions, args []string) (*offline.Report, error) {
	start := time.Now()
	if err := run.Require("mmdebstrap", "bwrap", "mount", "umount"); err != nil {
		return nil, err
	}
	results, err := offline.Refresh(ctx, cfg, g.logger, rec, g.progress())
	if err != nil {
		return nil, err
	}
	for _, r := range results {
		if r.Status != "" {
			g.printf("%-20s %-24s %-10s %8s\n", r.Archive, r.Suite, r.Status, humanBytes(r.Downloaded))
		}
	}
	codename := firstNonEmpty(o.codename, cfg.Build.Codename)
	s := &buildSession{g: g, cfg: cfg, rec: rec, o: o, arch: firstNonEmpty(o.arch, cfg.Build.Architecture)}
	s.dist = cfg.DistributionName(codename, firstNonEmpty(o.suite, cfg.Build.Suite))
	var stages [][]*buildTarget
	if len(args) > 0 {
		if stages, err = s.stages(ctx, codename, args); err != nil {
			return nil, err
		}
	}
	spec := s.offlineSpec(codename, stages, args)
	if published(cfg, s.dist) {
		line, err := repoSourceLine(g, cfg, s.dist)
		if err != nil {
			return nil, err
		}
		spec.ExtraRepositories, spec.Distribution = []string{line}, s.dist
	}
	g.printf("priming build environment %s/%s and %d sources\n", codename, s.arch, len(args))
	rep, err := offline.Prime(ctx, cfg, g.logger, rec, spec, g.progress())
	if err != nil {
		return rep, err
	}
	rec.Event("prime.done", map[string]any{"sources": len(rep.Sources), "packages": rep.Packages, "fetched": rep.Fetched,
		"fetched_bytes": rep.FetchedBytes, "seconds": time.Since(start).Seconds()})
	return rep, nil
}

func printPrime(g *globals, rep *offline.Report) error {
	if g.json {
		return writeJSON(g.stdout, rep)
	}
	for _, s := range rep.Sources {
		state := fmt.Sprintf("%d build-dependencies", s.Packages)
		if s.Deferred {
			state = "deferred: needs earlier stages built"
		}
		g.printf("  %-28s %-20s %s\n", s.Source, s.Version, state)
	}
	g.printf("primed %s: %s\npackage cache: %s\n", rep.Env, rep.Summary(), rep.CacheDir)
	return nil
}

// offlineSpec turns planned stages into what offline.Prime and
// offline.Check take, with the build's options.
func (s *buildSession) offlineSpec(codename string, stages [][]*buildTarget, args []string) offline.Spec {
	spec := offline.Spec{Codename: codename, Arch: s.arch, Command: primeCommand(s.o, args),
		NoArchAll: s.o.noArchAll, NoCheck: s.o.nocheck, Profiles: s.o.profiles, ExtraPackages: s.o.extra}
	for _, st := range stages {
		var items []offline.Item
		for _, t := range st {
			items = append(items, offline.Item{Source: t.name, Version: t.version, DSC: t.dsc, Tree: t.tree})
		}
		spec.Stages = append(spec.Stages, items)
	}
	return spec
}

// offlineCheck is the pre-flight of an offline build: every missing piece
// is reported (exit 5) before any build starts.
func (s *buildSession) offlineCheck(ctx context.Context, codename string, stages [][]*buildTarget, args []string) error {
	spec := s.offlineSpec(codename, stages, args)
	if published(s.cfg, s.dist) {
		spec.ExtraRepositories, spec.Distribution = []string{s.repo.AptSourceLine(s.dist)}, s.dist
	}
	s.g.printf("checking that everything the offline build needs is here\n")
	rep, err := offline.Check(ctx, s.cfg, s.g.logger, s.rec, spec)
	if err != nil {
		return err
	}
	s.g.printf("offline check passed: %d sources, %d build-dependency packages cached\n", len(rep.Sources), rep.Cached)
	return nil
}

// primeCommand is the prime command line that fetches what an offline
// build with the same options needs.
func primeCommand(o *buildOptions, args []string) string {
	parts := []string{"packyard", "prime"}
	add := func(flag, v string) {
		if v != "" {
			parts = append(parts, flag+"="+v)
		}
	}
	add("--codename", o.codename)
	add("--arch", o.arch)
	add("--suite", o.suite)
	add("--from", o.from)
	add("--profiles", strings.Join(o.profiles, ","))
	add("--extra-package", strings.Join(o.extra, ","))
	if o.nocheck {
		parts = append(parts, "--nocheck")
	}
	if o.noArchAll {
		parts = append(parts, "--no-arch-all")
	}
	if o.noPlan {
		parts = append(parts, "--no-plan")
	}
	for _, a := range args {
		if strings.ContainsAny(a, " \t'\"") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// repoSourceLine returns the apt source line of packyard's repository for
// dist, as builds pass it.
func repoSourceLine(g *globals, cfg *config.Config, dist string) (string, error) {
	key, err := sign.LoadKey(cfg.SigningKeyPath())
	if err != nil {
		return "", withCode(ExitUsage, err, "run 'packyard init' to generate the signing key")
	}
	r, err := repo.Open(cfg, key, g.logger)
	if err != nil {
		return "", err
	}
	return r.AptSourceLine(dist), nil
}

// primeAfterInit is init --prime: the indexes, the build environment and,
// when targets are given, what their offline builds need.
func primeAfterInit(ctx context.Context, g *globals, cfg *config.Config, rec *record.Run, targets []string) (*offline.Report, error) {
	if cfg.Offline {
		return nil, withCode(ExitUsage, offline.ErrNeedsNetwork, "")
	}
	rep, err := runPrime(ctx, g, cfg, rec, &buildOptions{}, targets)
	if err != nil {
		return rep, err
	}
	if !g.json {
		if err := printPrime(g, rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}
