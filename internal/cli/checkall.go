package cli

import (
	"fmt"
	"time"

	"github.com/packyard/packyard/internal/archive"
	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/plan"
	"github.com/packyard/packyard/internal/record"
)

// runCheckAll checks the build-dependencies of every source of one archive
// suite against that suite's binary packages, as dose-builddebcheck does
// on the same Packages and Sources files.
func runCheckAll(g *globals, cfg *config.Config, rec *record.Run, o *planOptions) error {
	arch := firstNonEmpty(o.arch, cfg.Build.Architecture)
	start := time.Now()
	p, err := archive.OpenPantry(cfg, g.logger)
	if err != nil {
		return err
	}
	idx, err := p.LoadIndex(archive.Selection{Suites: []string{o.checkAll}, Architectures: []string{arch}})
	if err != nil {
		return err
	}
	if len(idx.Sources) == 0 {
		return withCode(ExitUsage, fmt.Errorf("no configured archive has suite %s", o.checkAll), "name a suite from the config's archives")
	}
	loaded := time.Now()
	u := plan.NewUniverse(arch, binaryPackages(idx.Packages))
	rep := u.CheckAll(sourcePackages(idx.Sources), plan.CheckOptions{Profiles: o.profiles})
	rec.Event("plan.check_all", map[string]any{"suite": o.checkAll, "checked": rep.Checked, "broken": rep.Broken,
		"load_ms": loaded.Sub(start).Milliseconds(), "check_ms": time.Since(loaded).Milliseconds()})
	var broken []plan.CheckResult
	for _, r := range rep.Results {
		if !r.Satisfiable {
			broken = append(broken, r)
		}
	}
	if g.json {
		if err := writeJSON(g.stdout, map[string]any{"suite": o.checkAll, "architecture": arch, "checked": rep.Checked, "broken": broken}); err != nil {
			return err
		}
	} else {
		for _, r := range broken {
			fmt.Fprintf(g.stdout, "%s %s\n", r.Source, r.Version)
			for _, why := range r.Reasons {
				fmt.Fprintf(g.stdout, "    %s\n", why.String())
			}
		}
		fmt.Fprintf(g.stdout, "checked %d sources of %s on %s: %d with unsatisfiable build-dependencies (%s)\n",
			rep.Checked, o.checkAll, arch, rep.Broken, time.Since(start).Round(time.Millisecond))
	}
	if rep.Broken > 0 {
		return withCode(ExitUnsatisfied, fmt.Errorf("%d sources of %s have unsatisfiable build-dependencies", rep.Broken, o.checkAll), "")
	}
	return nil
}
