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
// for Needs, which breaks the cycle.
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
	st := &planState{p: p, byName: map[string]*Item{}}
	for _, t := range targets {
		src := t.Source
		if src == nil {
			src = p.findSource(t.Name)
			if src == nil {
				return nil, fmt.Errorf("planning %s: %w", t.Name, ErrSourceNotFound)
			}
		}
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
	st.close()
	st.order()
	return st.finish()
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
}

func (st *planState) add(src *SourcePackage, reason string) *Item {
	if it, ok := st.byName[src.Package]; ok {
		return it
	}
	it := &Item{Source: src.Package, Version: src.Version, Origin: src.Origin, Reason: reason, src: src}
	seen := map[string]bool{}
	for _, v := range st.p.predicted[src.Package] {
		seen[st.p.u.Packages[v].Package] = true
	}
	for name := range seen {
		it.Binaries = append(it.Binaries, name)
	}
	sort.Strings(it.Binaries)
	st.items = append(st.items, it)
	st.byName[src.Package] = it
	return it
}

// forbid sets the solver's unavailable packages: predicted binaries of
// sources outside the plan (unless all is set) and, when bootstrapping,
// the index binaries of the targets.
func (st *planState) forbid(all bool) {
	p := st.p
	forbidden := append([]int32(nil), st.bootstrap...)
	if !all {
		for src, vars := range p.predicted {
			if _, ok := st.byName[src]; !ok {
				forbidden = append(forbidden, vars...)
			}
		}
	}
	p.s.SetForbidden(forbidden)
	if all {
		p.s.SetAvoid(p.avoidPredicted)
	} else {
		p.s.SetAvoid(nil)
	}
}

// solve checks one item; extra are predicted binaries it must not use
// besides its own.
func (st *planState) solve(it *Item, profiles map[string]bool, ownOK bool, extra []int32) (bool, sourceReq) {
	p := st.p
	sr := p.u.compileSource(it.src, CheckOptions{DropIndep: p.opts.DropIndep, DropArch: p.opts.DropArch}, profiles)
	conf := append([]int32(nil), sr.conflicts...)
	if !ownOK {
		conf = append(conf, p.predicted[it.Source]...)
	}
	conf = append(conf, extra...)
	ok := p.s.Solve(solver.Pos(p.u.varSource), solver.Temp{Var: p.u.varSource, Requires: sr.requires, Conflicts: conf})
	return ok, sr
}

// close adds build-dependency items until every item is satisfiable, or
// shown impossible.
func (st *planState) close() {
	p := st.p
	limit := p.opts.MaxItems
	if limit <= 0 {
		limit = 500
	}
	pending := append([]*Item(nil), st.items...)
	for len(pending) > 0 {
		st.forbid(false)
		var failed []*Item
		for _, it := range pending {
			if ok, _ := st.solve(it, p.active, false, nil); !ok {
				failed = append(failed, it)
			}
		}
		if len(failed) == 0 {
			return
		}
		if !p.opts.BuildDeps {
			for _, it := range failed {
				_, sr := st.solve(it, p.active, false, nil)
				st.fail(it, sr)
			}
			return
		}
		pending = nil
		st.forbid(true)
		for _, it := range failed {
			ok, sr := st.solve(it, p.active, false, nil)
			if ok && len(st.items) >= limit {
				st.notes = append(st.notes, fmt.Sprintf("stopped adding build-dependencies at %d items", limit))
				st.forbid(false)
				ok, sr = st.solve(it, p.active, false, nil)
			}
			if !ok {
				st.fail(it, sr)
				continue
			}
			added := false
			for _, v := range p.s.Model() {
				src := p.predictedSrc[v]
				if src == "" || src == it.Source {
					continue
				}
				chain := p.u.chainNames(p.s.Chain(v), it.src)
				dep, ok := st.byName[src]
				if !ok {
					dep = st.add(p.findSource(src), "build-dependency")
					pending = append(pending, dep)
					added = true
				}
				dep.NeededBy = appendNeed(dep.NeededBy, Need{Source: it.Source, Chain: chain})
			}
			if added {
				pending = append(pending, it)
			} else {
				st.fail(it, sr)
			}
		}
		st.forbid(false)
	}
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
				c.Breaks = append(c.Breaks, ProfileBreak{Source: it.Source, Profile: prof, Needs: it.Source})
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
		return !in || src == it.Source
	}
	for _, r := range p.u.explainWith(p.s, it.src, sr, unavailable) {
		st.missing = append(st.missing, Missing{Source: it.Source, Version: it.Version, Reason: r})
	}
}
