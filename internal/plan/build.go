package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/packyard/packyard/internal/plan/solver"
)

// Plan is the build order for a set of targets.
type Plan struct {
	Arch    string    `json:"arch"`
	Items   []*Item   `json:"items"` // in build order: by stage, then name
	Stages  [][]*Item `json:"-"`     // Stages[i] can be built in parallel once Stages[:i] are published
	Cycles  []Cycle   `json:"cycles,omitempty"`
	Missing []Missing `json:"missing,omitempty"`
	Notes   []string  `json:"notes,omitempty"`
}

// Item is one source package to build.
type Item struct {
	Source   string   `json:"source"`
	Version  string   `json:"version"`
	Origin   string   `json:"origin,omitempty"` // the source archive it comes from
	Reason   string   `json:"reason"`           // "target" or "build-dependency"
	NeededBy []Need   `json:"needed_by,omitempty"`
	Binaries []string `json:"binaries,omitempty"` // binary packages it will provide
	Depends  []Edge   `json:"depends,omitempty"`  // items to build (and publish) first
	Stage    int      `json:"stage"`              // 1-based

	src *SourcePackage
}

// Need says why a build-dependency item is in the plan: Chain leads from the
// needing source through binary packages to one this item provides.
type Need struct {
	Source string   `json:"source"`
	Chain  []string `json:"chain"`
}

// Edge is a build-order constraint: the item needs Binary, built by Source.
type Edge struct {
	From   string   `json:"from,omitempty"`
	Source string   `json:"source"`
	Binary string   `json:"binary"`
	Chain  []string `json:"chain,omitempty"`
}

// Cycle is a cycle of build-order edges: Path[i].Source is Path[i+1].From,
// and the last edge closes the cycle. Breaks lists build profiles that would
// remove one of the edges.
type Cycle struct {
	Path   []Edge         `json:"path"`
	Breaks []ProfileBreak `json:"breaks,omitempty"`
}

// ProfileBreak says that building Source with Profile active drops its need
// for Needs (the item the cycle edge leads to, or for a cycle through the
// source's own binaries, the first package of that chain), which breaks the
// cycle.
type ProfileBreak struct {
	Source  string `json:"source"`
	Profile string `json:"profile"`
	Needs   string `json:"needs"`
}

// String formats the cycle as "a -(bin)-> b -(bin)-> a".
func (c Cycle) String() string {
	if len(c.Path) == 0 {
		return ""
	}
	s := c.Path[0].From
	for _, e := range c.Path {
		via := e.Binary
		if len(e.Chain) > 2 {
			via = strings.Join(e.Chain[1:], " -> ")
		}
		s += fmt.Sprintf(" -(%s)-> %s", via, e.Source)
	}
	for _, b := range c.Breaks {
		s += fmt.Sprintf(" [build %s with <%s> to drop %s]", b.Source, b.Profile, b.Needs)
	}
	return s
}

// Plan resolves the targets' build-dependencies and returns the build order.
// With Options.BuildDeps, sources from the archives that provide missing
// build-dependencies are added, recursively. The returned Plan is complete
// as far as it goes even when the error is non-nil: a *MissingError for
// unsatisfiable build-dependencies, a *CycleError (errors.Is ErrCycle) for
// cycles, or an error wrapping ErrSourceNotFound for unknown targets.
func (p *Planner) Plan(targets []Target) (*Plan, error) {
	srcs := make([]*SourcePackage, len(targets))
	for i, t := range targets {
		srcs[i] = t.Source
		if srcs[i] == nil {
			srcs[i] = p.findSource(t.Name)
			if srcs[i] == nil {
				return nil, fmt.Errorf("planning %s: %w", t.Name, ErrSourceNotFound)
			}
		}
	}
	p.compileFor(srcs)
	for {
		st := p.planOnce(srcs)
		if len(st.uncovered) == 0 {
			st.order()
			return st.finish()
		}
		// The universe lacks what some build-dependency items need:
		// compile it for them and plan again from the start.
		p.compileFor(append(srcs, st.uncovered...))
	}
}

// planOnce adds the targets and closes over their build-dependencies. When
// it meets sources the universe was not compiled for, it lists them in
// uncovered instead of solving them, and the result is not to be used.
func (p *Planner) planOnce(srcs []*SourcePackage) *planState {
	st := &planState{p: p, byName: map[string]*Item{}}
	for _, src := range srcs {
		it := st.add(src, "target")
		it.Reason = "target"
	}
	if p.opts.Bootstrap {
		var forbid []int32
		for _, it := range st.items {
			forbid = append(forbid, p.archiveOf[it.Source]...)
		}
		st.bootstrap = forbid
	}
	st.setup()
	st.close(append([]*Item(nil), st.items...))
	return st
}

type planState struct {
	p         *Planner
	items     []*Item
	byName    map[string]*Item
	bootstrap []int32
	missing   []Missing
	cycles    []Cycle
	notes     []string
	edges     map[*Item][]Edge
	avoid     []bool
	failed    map[*Item]bool
	uncovered []*SourcePackage // items the universe was not compiled for
}

func (st *planState) add(src *SourcePackage, reason string) *Item {
	if it, ok := st.byName[src.Package]; ok {
		return it
	}
	it := &Item{Source: src.Package, Version: src.Version, Origin: src.Origin, Reason: reason, src: src}
	it.Binaries = st.p.binaryNames(src.Package)
	if len(it.Binaries) == 0 {
		// A source from outside the archives (a .dsc, a source tree):
		// its Binary field says what it builds.
		it.Binaries = append(it.Binaries, src.Binaries...)
	}
	sort.Strings(it.Binaries)
	st.items = append(st.items, it)
	st.byName[src.Package] = it
	return it
}

// setup makes the solver ready for this plan: the unavailable packages
// (the targets' index binaries when bootstrapping; without BuildDeps, the
// predicted binaries of sources outside the plan) are forbidden, and the
// predicted binaries of sources outside the plan are avoided, so that the
// index is preferred to adding a build.
func (st *planState) setup() {
	p := st.p
	forbidden := append([]int32(nil), st.bootstrap...)
	if !p.opts.BuildDeps {
		for src, vars := range p.predicted {
			if _, ok := st.byName[src]; !ok {
				forbidden = append(forbidden, vars...)
			}
		}
	}
	if len(forbidden) > 0 || p.forbidden {
		p.s.SetForbidden(forbidden)
		p.forbidden = len(forbidden) > 0
	}
	st.avoid = append(st.avoid[:0], p.avoidPredicted...)
	for _, it := range st.items {
		st.allow(it)
	}
	p.s.SetAvoid(st.avoid)
}

// allow makes an item's predicted binaries preferred from now on.
func (st *planState) allow(it *Item) {
	for _, v := range st.p.predicted[it.Source] {
		st.avoid[v] = false
	}
}

// solve checks one item; extra are predicted binaries it must not use
// besides its own.
func (st *planState) solve(it *Item, profiles map[string]bool, ownOK bool, extra []int32) (bool, sourceReq) {
	p := st.p
	sr := p.u.compileSource(it.src, CheckOptions{DropIndep: p.opts.DropIndep, DropArch: p.opts.DropArch,
		FirstAlternative: p.opts.FirstAlternative}, profiles)
	conf := append([]int32(nil), sr.conflicts...)
	if !ownOK {
		conf = append(conf, p.predicted[it.Source]...)
	}
	conf = append(conf, extra...)
	ok := p.s.Solve(solver.Pos(p.u.varSource), solver.Temp{Var: p.u.varSource, Requires: sr.requires, Conflicts: conf})
	return ok, sr
}

// close solves every item, adding the sources whose predicted binaries the
// solutions use, until every item is solved or shown impossible. It
// reports whether it added items.
func (st *planState) close(pending []*Item) bool {
	p := st.p
	limit := p.opts.MaxItems
	if limit <= 0 {
		limit = 500
	}
	grew := false
	for len(pending) > 0 {
		it := pending[0]
		pending = pending[1:]
		if !p.covers(it.src) {
			st.uncovered = append(st.uncovered, it.src)
			continue
		}
		ok, sr := st.solve(it, p.active, false, nil)
		if !ok {
			st.fail(it, sr)
			continue
		}
		var added []*Item
		for _, v := range p.s.Model() {
			src := p.predictedSrc[v]
			if src == "" || src == it.Source {
				continue
			}
			dep, in := st.byName[src]
			if !in {
				if len(st.items) >= limit {
					st.notes = appendNote(st.notes, fmt.Sprintf("stopped adding build-dependencies at %d items", limit))
					continue
				}
				dep = st.add(p.findSource(src), "build-dependency")
				added = append(added, dep)
			}
			if dep.Reason != "target" {
				dep.NeededBy = appendNeed(dep.NeededBy, Need{Source: it.Source, Chain: p.u.chainNames(p.s.Chain(v), it.src)})
			}
		}
		if len(added) > 0 {
			grew = true
			for _, d := range added {
				st.allow(d)
			}
			p.s.SetAvoid(st.avoid)
			pending = append(pending, added...)
		}
	}
	return grew
}

func appendNote(notes []string, n string) []string {
	for _, x := range notes {
		if x == n {
			return notes
		}
	}
	return append(notes, n)
}

func appendNeed(needs []Need, n Need) []Need {
	for _, x := range needs {
		if x.Source == n.Source {
			return needs
		}
	}
	return append(needs, n)
}

// fail records why an item cannot be built: a cycle through its own
// binaries when they would do (with the profiles that avoid them), the
// explanation otherwise.
func (st *planState) fail(it *Item, sr sourceReq) {
	p := st.p
	if st.failed == nil {
		st.failed = map[*Item]bool{}
	}
	if st.failed[it] {
		return
	}
	st.failed[it] = true
	if ok, _ := st.solve(it, p.active, true, nil); ok {
		var e Edge
		for _, v := range p.s.Model() {
			if p.predictedSrc[v] == it.Source {
				e = Edge{From: it.Source, Source: it.Source, Binary: p.u.Packages[v].Package,
					Chain: p.u.chainNames(p.s.Chain(v), it.src)}
				break
			}
		}
		c := Cycle{Path: []Edge{e}}
		for _, prof := range profilesOf(it.src) {
			active := map[string]bool{prof: true}
			for k := range p.active {
				active[k] = true
			}
			if ok, _ := st.solve(it, active, false, nil); ok {
				needs := it.Source
				if len(e.Chain) > 1 {
					needs = e.Chain[1]
				}
				c.Breaks = append(c.Breaks, ProfileBreak{Source: it.Source, Profile: prof, Needs: needs})
			}
		}
		st.cycles = append(st.cycles, c)
		return
	}
	st.solve(it, p.active, false, nil)
	unavailable := func(v int32) bool {
		src := p.predictedSrc[v]
		if src == "" {
			return false
		}
		_, in := st.byName[src]
		return (!in && !p.opts.BuildDeps) || src == it.Source
	}
	for _, r := range p.u.explainWith(p.s, it.src, sr, unavailable) {
		st.missing = append(st.missing, Missing{Source: it.Source, Version: it.Version, Reason: r})
	}
}
