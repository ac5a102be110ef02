package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/packyard/packyard/internal/archive"
	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/deb822"
	"github.com/packyard/packyard/internal/plan"
	"github.com/packyard/packyard/internal/record"
)

type planOptions struct {
	from, to    string
	suite       string
	arch        string
	skipLocal   bool
	noBuildDeps bool
	bootstrap   bool
	profiles    []string
	dot         bool
	checkAll    string
}

func newPlan(g *globals) *cobra.Command {
	var o planOptions
	cmd := &cobra.Command{
		Use:   "plan TARGET...",
		Short: "Resolve build-dependencies and print the build order, cycles and what is missing",
		Long: `plan resolves each target's Build-Depends, Build-Depends-Arch and
Build-Depends-Indep against the binary indexes of the target codename plus
packyard's own repository (which wins), adds the sources that provide
missing build-dependencies (--build-deps, on by default), and prints the build
order as stages. A TARGET is a source package name, a .dsc, a source tree
with debian/, or a file listing targets one per line.

Exit codes: 5 when build-dependencies cannot be satisfied, 6 for a cycle.
--check-all SUITE checks every source of SUITE as dose-builddebcheck does.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.checkAll == "" && len(args) == 0 {
				return usageError("plan needs at least one TARGET, or --check-all SUITE")
			}
			cfg, err := g.load()
			if err != nil {
				return err
			}
			return g.command(cmd, cfg, args, func(rec *record.Run) error {
				if o.checkAll != "" {
					return runCheckAll(g, cfg, rec, &o)
				}
				pl, err := makePlan(cmd.Context(), g, cfg, rec, &o, args)
				if pl != nil {
					if perr := printPlan(g, pl, o.dot); perr != nil && err == nil {
						err = perr
					}
				}
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.from, "from", "", "codename whose Sources provide targets and missing build-dependencies (default: --to)")
	f.StringVar(&o.to, "to", "", "codename to build for (default build.codename)")
	f.StringVar(&o.suite, "suite", "", "packyard repository suite whose packages count as available (default build.suite)")
	f.StringVar(&o.arch, "arch", "", "architecture (default build.architecture)")
	f.BoolVar(&o.skipLocal, "skip-local", false, "ignore packyard's own repository")
	f.BoolVar(&o.noBuildDeps, "no-build-deps", false, "do not add sources for missing build-dependencies")
	f.BoolVar(&o.bootstrap, "bootstrap", false, "treat the targets' own binaries as unavailable (shows real cycles)")
	f.StringSliceVar(&o.profiles, "profiles", nil, "active build profiles")
	f.BoolVar(&o.dot, "dot", false, "print the plan as Graphviz dot")
	f.StringVar(&o.checkAll, "check-all", "", "check build-dependency satisfiability of every source in SUITE")
	return cmd
}

// planInput loads what a plan is made against from the pantry and the repository.
type planInput struct {
	cfg   *config.Config
	arch  string
	to    string
	from  string
	dist  string
	input plan.Input
}

// suitesOf lists the configured archive suites of codename: the codename
// itself and its -updates, -security and similar suites.
func suitesOf(cfg *config.Config, codename string) []string {
	var out []string
	for _, a := range cfg.Archives {
		for _, s := range a.Suites {
			if s == codename || strings.HasPrefix(s, codename+"-") || strings.HasPrefix(s, codename+"/") {
				out = append(out, s)
			}
		}
	}
	return out
}

func loadPlanInput(g *globals, cfg *config.Config, rec *record.Run, o *planOptions) (*planInput, error) {
	start := time.Now()
	pi := &planInput{cfg: cfg, arch: firstNonEmpty(o.arch, cfg.Build.Architecture), to: firstNonEmpty(o.to, cfg.Build.Codename)}
	pi.from = firstNonEmpty(o.from, pi.to)
	pi.dist = cfg.DistributionName(pi.to, firstNonEmpty(o.suite, cfg.Build.Suite))
	p, err := archive.OpenPantry(cfg, g.logger)
	if err != nil {
		return nil, err
	}
	toSuites, fromSuites := suitesOf(cfg, pi.to), suitesOf(cfg, pi.from)
	if len(toSuites) == 0 {
		return nil, withCode(ExitUsage, fmt.Errorf("no configured archive has suites of %s", pi.to), "add an archive for it to the config")
	}
	if len(fromSuites) == 0 {
		return nil, withCode(ExitUsage, fmt.Errorf("no configured archive has suites of %s", pi.from),
			"add an archive with suite "+pi.from+" to the config's archives, then run packyard refresh")
	}
	// Without --from, one load gives the Packages and the Sources.
	bins, err := p.LoadIndex(archive.Selection{Suites: toSuites, Architectures: []string{pi.arch}, NoSources: pi.from != pi.to})
	if err != nil {
		return nil, err
	}
	if len(bins.Packages) == 0 {
		return nil, noArchitectureError(cfg, pi.to, pi.arch)
	}
	pi.input = plan.Input{Arch: pi.arch, Binaries: binaryPackages(bins.Packages)}
	srcIdx := bins
	if pi.from != pi.to {
		if srcIdx, err = p.LoadIndex(archive.Selection{Suites: fromSuites, Architectures: []string{pi.arch}}); err != nil {
			return nil, err
		}
	}
	sa := plan.SourceArchive{Name: pi.from, Sources: sourcePackages(srcIdx.Sources)}
	if pi.from != pi.to {
		// A backport: sources come from --from first, then from the
		// target codename itself.
		sa.Binaries = binaryPackages(srcIdx.Packages)
		toIdx, err := p.LoadIndex(archive.Selection{Suites: toSuites, NoPackages: true})
		if err != nil {
			return nil, err
		}
		pi.input.Archives = []plan.SourceArchive{sa, {Name: pi.to, Sources: sourcePackages(toIdx.Sources), Binaries: pi.input.Binaries}}
	} else {
		sa.Binaries = pi.input.Binaries
		pi.input.Archives = []plan.SourceArchive{sa}
	}
	if pi.input.Local, err = localPackages(cfg, pi.dist, pi.arch); err != nil {
		return nil, err
	}
	if !o.skipLocal {
		// Sources packyard's own repository has come first, as a local
		// repository should win.
		local, err := localSources(cfg, pi.dist)
		if err != nil {
			return nil, err
		}
		if len(local) > 0 {
			pi.input.Archives = append([]plan.SourceArchive{{Name: "local", Sources: local, Binaries: pi.input.Local}}, pi.input.Archives...)
		}
	}
	rec.Event("plan.input", map[string]any{"binaries": len(pi.input.Binaries), "sources": len(sa.Sources),
		"local": len(pi.input.Local), "load_ms": time.Since(start).Milliseconds()})
	return pi, nil
}

// binaryPackages converts Packages paragraphs on all CPUs, their relation
// fields when the planner needs them; an index with a paragraph the planner
// cannot read is converted one by one, skipping it.
func binaryPackages(idx []*archive.IndexData) []*plan.BinaryPackage {
	var out []*plan.BinaryPackage
	for _, d := range idx {
		bins, err := plan.IndexBinaryPackages(d.Paragraphs)
		if err != nil {
			bins = bins[:0]
			for _, p := range d.Paragraphs {
				if b, err := plan.NewBinaryPackage(p); err == nil {
					bins = append(bins, b)
				}
			}
		}
		out = append(out, bins...)
	}
	return out
}

// sourcePackages converts Sources paragraphs, each marked with its suite.
func sourcePackages(idx []*archive.IndexData) []*plan.SourcePackage {
	var out []*plan.SourcePackage
	for _, d := range idx {
		srcs, err := plan.IndexSourcePackages(d.Paragraphs)
		if err != nil {
			srcs = srcs[:0]
			for _, p := range d.Paragraphs {
				if s, err := plan.NewSourcePackage(p); err == nil {
					srcs = append(srcs, s)
				}
			}
		}
		for _, s := range srcs {
			s.Origin = d.Suite
		}
		out = append(out, srcs...)
	}
	return out
}

// localPackages reads the Packages index packyard's repository publishes
// for dist (none before the first publish).
func localPackages(cfg *config.Config, dist, arch string) ([]*plan.BinaryPackage, error) {
	var out []*plan.BinaryPackage
	err := eachLocalParagraph(cfg, dist, "binary-"+arch, "Packages", func(p deb822.Paragraph) {
		if b, err := plan.NewBinaryPackage(p); err == nil {
			out = append(out, b)
		}
	})
	return out, err
}

// localSources reads the Sources index packyard's repository publishes for dist.
func localSources(cfg *config.Config, dist string) ([]*plan.SourcePackage, error) {
	var out []*plan.SourcePackage
	err := eachLocalParagraph(cfg, dist, "source", "Sources", func(p deb822.Paragraph) {
		if s, err := plan.NewSourcePackage(p); err == nil {
			s.Origin = "local"
			out = append(out, s)
		}
	})
	return out, err
}

// eachLocalParagraph calls fn for every paragraph of the index name (plain,
// .xz or .gz) under dists/<dist>/<component>/<sub>/ of packyard's
// repository, for each configured component. A missing index is no error
// (nothing published yet); an unreadable one is.
func eachLocalParagraph(cfg *config.Config, dist, sub, name string, fn func(deb822.Paragraph)) error {
	d := cfg.Distribution(strings.SplitN(dist, "-", 2)[0])
	comps := []string{"main"}
	if d != nil && len(d.Components) > 0 {
		comps = d.Components
	}
	for _, c := range comps {
		paras, err := archive.LoadAnyIndexFile(filepath.Join(cfg.WorkspaceDir().Repo(), "dists", dist, c, sub, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return withCode(ExitCorrupt, fmt.Errorf("read packyard's repository index: %w", err), "run packyard repo check "+dist)
		}
		for _, p := range paras {
			fn(p)
		}
	}
	return nil
}

// makePlan resolves targets and plans them.
func makePlan(ctx context.Context, g *globals, cfg *config.Config, rec *record.Run, o *planOptions, args []string) (*plan.Plan, error) {
	pi, err := loadPlanInput(g, cfg, rec, o)
	if err != nil {
		return nil, err
	}
	// The indexes' paragraphs are garbage now (the planner keeps what it
	// reads of them): collecting them lets planning reuse their memory,
	// about 30 MB less peak RSS for bookworm.
	runtime.GC()
	targets, err := planTargets(args)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	planner := plan.NewPlanner(pi.input, plan.Options{Profiles: o.profiles, SkipLocal: o.skipLocal,
		BuildDeps: !o.noBuildDeps, Bootstrap: o.bootstrap})
	pl, err := planner.Plan(targets)
	if pl != nil {
		rec.Event("plan.done", map[string]any{"items": len(pl.Items), "stages": len(pl.Stages), "cycles": len(pl.Cycles),
			"missing": len(pl.Missing), "ms": time.Since(start).Milliseconds()})
		_ = rec.WriteJSON("plan.json", pl)
	}
	return pl, err
}

func printPlan(g *globals, pl *plan.Plan, dot bool) error {
	switch {
	case g.json:
		return plan.WriteJSON(g.stdout, pl)
	case dot:
		return plan.WriteDot(g.stdout, pl)
	default:
		return plan.WriteText(g.stdout, pl)
	}
}

// planTargets turns arguments into plan targets: names, .dsc files, source
// trees, or files listing targets one per line ('#' starts a comment).
func planTargets(args []string) ([]plan.Target, error) {
	var out []plan.Target
	for _, a := range args {
		fi, statErr := os.Stat(a)
		switch {
		case strings.HasSuffix(a, ".dsc"):
			s, err := sourceFromDSC(a)
			if err != nil {
				return nil, err
			}
			out = append(out, plan.Target{Name: s.Package, Source: s})
		case statErr == nil && fi.IsDir():
			s, err := sourceFromTree(a)
			if err != nil {
				return nil, err
			}
			out = append(out, plan.Target{Name: s.Package, Source: s})
		case statErr == nil:
			more, err := targetsFromFile(a)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		case strings.ContainsRune(a, '/'):
			return nil, usageError("%s: no such file or directory", a)
		default:
			out = append(out, plan.Target{Name: a})
		}
	}
	return out, nil
}

func targetsFromFile(path string) ([]plan.Target, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usageError("reading target list: %v", err)
	}
	defer f.Close()
	var args []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		args = append(args, strings.Fields(line)...)
	}
	if err := sc.Err(); err != nil {
		return nil, usageError("reading target list: %v", err)
	}
	for _, a := range args {
		if a == path {
			return nil, usageError("target list %s lists itself", path)
		}
	}
	return planTargets(args)
}

// noArchitectureError says that the pantry holds no Packages index of arch
// for codename's suites: either no archive lists the architecture (a config
// change and a refresh) or the pantry was not refreshed since it was added.
func noArchitectureError(cfg *config.Config, codename, arch string) error {
	listed := false
	for _, a := range cfg.Archives {
		if len(a.Architectures) == 0 || slices.Contains(a.Architectures, arch) {
			listed = true
		}
	}
	err := fmt.Errorf("the pantry has no Packages index of architecture %s for %s", arch, codename)
	if !listed {
		return withCode(ExitUsage, err, "add "+arch+" to the architectures of an archive in the config, then run packyard refresh")
	}
	return withCode(ExitMissing, err, "run packyard refresh")
}
