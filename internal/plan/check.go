package plan

import (
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/packyard/packyard/internal/plan/solver"
)

// CheckOptions select how build-dependencies are read, as the matching
// dose-builddebcheck options do.
type CheckOptions struct {
	Profiles  []string // active build profiles (--deb-profiles)
	DropIndep bool     // ignore Build-Depends-Indep/Build-Conflicts-Indep (--deb-drop-b-d-indep)
	DropArch  bool     // ignore Build-Depends-Arch/Build-Conflicts-Arch (--deb-drop-b-d-arch)
	// FirstAlternative keeps, of each build-dependency, only the
	// alternatives with the first one's name, as sbuild does on the Debian
	// buildds without --resolve-alternatives (--deb-emulate-sbuild).
	FirstAlternative bool
	Workers          int // parallel solvers; 0 means GOMAXPROCS
}

// CheckResult is the verdict on one source package.
type CheckResult struct {
	Source      string   `json:"source"`
	Version     string   `json:"version"`
	Satisfiable bool     `json:"satisfiable"`
	Reasons     []Reason `json:"reasons,omitempty"`
}

// Reason explains why build-dependencies cannot be installed.
//
// Kind "missing": Relation (declared by the last package of Chain) has no
// installable candidate. Kind "conflict": Packages[0] and Packages[1] cannot
// be installed together (Relation is the conflicting entry when known);
// Chains[i] shows how Packages[i] got into the installation set.
type Reason struct {
	Kind     string     `json:"kind"`
	Relation string     `json:"relation,omitempty"`
	Chain    []string   `json:"chain,omitempty"`
	Packages []string   `json:"packages,omitempty"` // two packages
	Chains   [][]string `json:"chains,omitempty"`
}

// CheckReport is the result of CheckAll: one result per checked source, in
// input order.
type CheckReport struct {
	Results []CheckResult
	Checked int
	Broken  int
	Stats   SolverStats
}

// SolverStats counts the solver's work: conflicts met, decisions made,
// checks that needed a search from scratch, and base installations built.
type SolverStats struct {
	Conflicts, Decisions, Fallbacks, BaseBuilds int
}

// sourceReq is a source package's build-dependencies compiled against a
// Universe: the selected relations and their candidates.
type sourceReq struct {
	relations []Relation // selected possibilities only, build-essential first
	requires  [][]int32
	conflicts []int32
}

// BuildsOn reports whether the source's Architecture field admits arch
// (dose-builddebcheck checks only such sources; "all" admits every arch).
func (s *SourcePackage) BuildsOn(arch string) bool {
	return archListMatches(s.Architecture, arch)
}

func (u *Universe) compileSource(src *SourcePackage, opts CheckOptions, active map[string]bool) sourceReq {
	src.complete()
	keep := func(p *Possibility) bool { return p.archSelected(u.Arch) && p.profileSelected(active) }
	var deps, confs []*Dependency
	if !opts.DropIndep {
		deps = append(deps, &src.BuildDependsIndep)
		confs = append(confs, &src.BuildConflictsIndep)
	}
	deps = append(deps, &src.BuildDepends)
	confs = append(confs, &src.BuildConflicts)
	if !opts.DropArch {
		deps = append(deps, &src.BuildDependsArch)
		confs = append(confs, &src.BuildConflictsArch)
	}
	var sr sourceReq
	for _, d := range deps {
		for _, r := range d.Relations {
			sel := selectedRelation(r, keep)
			if len(sel.Possibilities) == 0 {
				continue
			}
			if opts.FirstAlternative {
				sel = firstAlternative(sel)
			}
			alts, _ := u.relationCandidates(sel, nil, nil)
			sr.relations = append(sr.relations, sel)
			sr.requires = append(sr.requires, alts)
		}
	}
	for _, d := range confs {
		for _, r := range d.Relations {
			for i := range r.Possibilities {
				if keep(&r.Possibilities[i]) {
					sr.conflicts = append(sr.conflicts, u.Candidates(r.Possibilities[i])...)
				}
			}
		}
	}
	return sr
}

func selectedRelation(r Relation, keep func(*Possibility) bool) Relation {
	var out Relation
	for i := range r.Possibilities {
		if keep(&r.Possibilities[i]) {
			out.Possibilities = append(out.Possibilities, r.Possibilities[i])
		}
	}
	return out
}

// firstAlternative drops the alternatives whose name differs from the
// first one's (sbuild's RESOLVE_ALTERNATIVES off; dose3 dropalternatives).
func firstAlternative(r Relation) Relation {
	var out Relation
	for _, p := range r.Possibilities {
		if p.Name == r.Possibilities[0].Name {
			out.Possibilities = append(out.Possibilities, p)
		}
	}
	return out
}

func activeProfiles(profiles []string) map[string]bool {
	m := map[string]bool{}
	for _, p := range profiles {
		m[p] = true
	}
	return m
}

// CheckAll decides, for every source that builds on the universe's
// architecture, whether its build-dependencies (plus build-essential and the
// Essential set) can be installed together, as dose-builddebcheck does. It
// explains every failure. Sources run in parallel on opts.Workers solvers.
func (u *Universe) CheckAll(sources []*SourcePackage, opts CheckOptions) *CheckReport {
	var todo []*SourcePackage
	for _, s := range sources {
		if s.BuildsOn(u.Arch) && s.complete() {
			todo = append(todo, s)
		}
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	results := make([]CheckResult, len(todo))
	active := activeProfiles(opts.Profiles)
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var stats SolverStats
	const chunk = 64
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := u.newSolver()
			defer func() {
				mu.Lock()
				stats.Conflicts += s.Conflicts
				stats.Decisions += s.Decisions
				stats.Fallbacks += s.Fallbacks
				stats.BaseBuilds += s.BaseBuilds
				mu.Unlock()
			}()
			for {
				start := int(next.Add(chunk)) - chunk
				if start >= len(todo) {
					return
				}
				for i := start; i < min(start+chunk, len(todo)); i++ {
					results[i] = u.check(s, todo[i], opts, active)
				}
			}
		}()
	}
	wg.Wait()
	rep := &CheckReport{Results: results, Checked: len(results), Stats: stats}
	for _, r := range results {
		if !r.Satisfiable {
			rep.Broken++
		}
	}
	return rep
}

// CheckSource decides one source package (see CheckAll).
func (u *Universe) CheckSource(src *SourcePackage, opts CheckOptions) CheckResult {
	return u.check(u.newSolver(), src, opts, activeProfiles(opts.Profiles))
}

func (u *Universe) check(s *solver.Solver, src *SourcePackage, opts CheckOptions, active map[string]bool) CheckResult {
	sr := u.compileSource(src, opts, active)
	res := CheckResult{Source: src.Package, Version: src.Version}
	temp := solver.Temp{Var: u.varSource, Requires: sr.requires, Conflicts: sr.conflicts}
	if s.Solve(solver.Pos(u.varSource), temp) {
		res.Satisfiable = true
		return res
	}
	res.Reasons = u.explain(s, src, sr)
	return res
}

// BrokenSources returns the names of the unsatisfiable sources, sorted.
func (r *CheckReport) BrokenSources() []string {
	var out []string
	for _, res := range r.Results {
		if !res.Satisfiable {
			out = append(out, res.Source)
		}
	}
	sort.Strings(out)
	return out
}

// newSolver returns a solver whose base is build-essential plus the
// Essential set.
func (u *Universe) newSolver() *solver.Solver {
	s := solver.New(u.problem)
	s.SetBase([]solver.Lit{solver.Pos(u.varBase)})
	return s
}
