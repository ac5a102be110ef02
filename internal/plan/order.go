package plan

import (
	"sort"
	"strings"
)

// order computes the build-order edges of every item against the final
// plan, drops the edges an index binary can replace when they close a
// cycle, reports the remaining cycles with the build profiles that break
// them, and assigns stages.
func (st *planState) order() {
	p := st.p
	st.edges = map[*Item][]Edge{}
	for _, it := range st.items {
		if st.failed[it] {
			continue
		}
		if ok, _ := st.solve(it, p.active, false, nil); !ok {
			continue
		}
		seen := map[string]bool{}
		for _, v := range p.s.Model() {
			src := p.predictedSrc[v]
			if src == "" || src == it.Source || seen[src] {
				continue
			}
			if _, ok := st.byName[src]; !ok {
				continue
			}
			seen[src] = true
			st.edges[it] = append(st.edges[it], Edge{From: it.Source, Source: src,
				Binary: p.u.Packages[v].Package, Chain: p.u.chainNames(p.s.Chain(v), it.src)})
		}
	}
	st.relax()
	for _, scc := range st.sccs() {
		if len(scc) > 1 {
			st.cycles = append(st.cycles, st.cycle(scc))
		}
	}
	st.stages()
}

// relax drops build-order edges that close cycles when they are only
// preferences: the item builds without the other item's new binaries, using
// the index's. Edges inside strongly connected components are classified
// (one solve each); the hard ones are kept, and soft ones are kept only
// while they close no cycle.
func (st *planState) relax() {
	comp := map[*Item]int{}
	for i, scc := range st.sccs() {
		for _, it := range scc {
			comp[it] = i
		}
	}
	type cand struct {
		it *Item
		e  Edge
	}
	var soft []cand
	for _, it := range st.items {
		// One solve without any of the item's dependencies inside its
		// component usually shows them all soft; otherwise test each.
		var inside []int32
		n := 0
		for _, e := range st.edges[it] {
			if dep := st.byName[e.Source]; comp[dep] == comp[it] && dep != it {
				inside = append(inside, st.p.predicted[e.Source]...)
				n++
			}
		}
		allSoft := false
		if n > 1 {
			allSoft, _ = st.solve(it, st.p.active, false, inside)
		}
		var keep []Edge
		for _, e := range st.edges[it] {
			dep := st.byName[e.Source]
			if comp[dep] == comp[it] && dep != it {
				ok := allSoft
				if !ok {
					ok, _ = st.solve(it, st.p.active, false, st.p.predicted[e.Source])
				}
				if ok {
					soft = append(soft, cand{it, e})
					continue
				}
			}
			keep = append(keep, e)
		}
		st.edges[it] = keep
	}
	for _, c := range soft {
		if st.reaches(st.byName[c.e.Source], c.it) {
			st.notes = append(st.notes, c.it.Source+" builds against the index's "+c.e.Binary+
				" instead of waiting for "+c.e.Source+", to break a cycle")
			continue
		}
		st.edges[c.it] = append(st.edges[c.it], c.e)
	}
}

// reaches reports whether a path of edges leads from a to b.
func (st *planState) reaches(a, b *Item) bool {
	seen := map[*Item]bool{a: true}
	stack := []*Item{a}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if it == b {
			return true
		}
		for _, e := range st.edges[it] {
			if dep := st.byName[e.Source]; !seen[dep] {
				seen[dep] = true
				stack = append(stack, dep)
			}
		}
	}
	return false
}

// sccs returns the strongly connected components (Tarjan), each sorted by
// source name.
func (st *planState) sccs() [][]*Item {
	index := map[*Item]int{}
	low := map[*Item]int{}
	onStack := map[*Item]bool{}
	var stack []*Item
	var out [][]*Item
	n := 0
	var visit func(it *Item)
	visit = func(it *Item) {
		index[it], low[it] = n, n
		n++
		stack = append(stack, it)
		onStack[it] = true
		for _, e := range st.edges[it] {
			dep := st.byName[e.Source]
			if _, ok := index[dep]; !ok {
				visit(dep)
				low[it] = min(low[it], low[dep])
			} else if onStack[dep] {
				low[it] = min(low[it], index[dep])
			}
		}
		if low[it] == index[it] {
			var scc []*Item
			for {
				top := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[top] = false
				scc = append(scc, top)
				if top == it {
					break
				}
			}
			sort.Slice(scc, func(i, j int) bool { return scc[i].Source < scc[j].Source })
			out = append(out, scc)
		}
	}
	for _, it := range st.items {
		if _, ok := index[it]; !ok {
			visit(it)
		}
	}
	return out
}

// cycle finds a shortest cycle through the first item of a component and
// the build profiles that would break it.
func (st *planState) cycle(scc []*Item) Cycle {
	in := map[*Item]bool{}
	for _, it := range scc {
		in[it] = true
	}
	start := scc[0]
	prev := map[*Item]Edge{}
	queue := []*Item{start}
	visited := map[*Item]bool{start: true}
	var last *Edge
	for len(queue) > 0 && last == nil {
		it := queue[0]
		queue = queue[1:]
		for _, e := range st.edges[it] {
			dep := st.byName[e.Source]
			if !in[dep] {
				continue
			}
			if dep == start {
				e := e
				last = &e
				break
			}
			if !visited[dep] {
				visited[dep] = true
				prev[dep] = e
				queue = append(queue, dep)
			}
		}
	}
	var c Cycle
	if last == nil {
		return c
	}
	path := []Edge{*last}
	for it := st.byName[last.From]; it != start; {
		e := prev[it]
		path = append(path, e)
		it = st.byName[e.From]
	}
	for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	c.Path = path
	for _, e := range path {
		it := st.byName[e.From]
		for _, prof := range profilesOf(it.src) {
			active := map[string]bool{prof: true}
			for k := range st.p.active {
				active[k] = true
			}
			if ok, _ := st.solve(it, active, false, st.p.predicted[e.Source]); ok {
				c.Breaks = append(c.Breaks, ProfileBreak{Source: it.Source, Profile: prof, Needs: e.Source})
			}
		}
	}
	return c
}

// profilesOf lists the build profiles a source's build-dependencies
// mention, sorted.
func profilesOf(src *SourcePackage) []string {
	seen := map[string]bool{}
	for _, d := range []*Dependency{&src.BuildDepends, &src.BuildDependsArch, &src.BuildDependsIndep} {
		for _, r := range d.Relations {
			for _, p := range r.Possibilities {
				for _, set := range p.Profiles {
					for _, t := range set {
						seen[t.Name] = true
					}
				}
			}
		}
	}
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// stages assigns each item the stage after all its dependencies (items of
// one cycle share a stage) and orders Items.
func (st *planState) stages() {
	comp := map[*Item]int{}
	sccs := st.sccs() // reverse topological: dependencies first
	for i, scc := range sccs {
		for _, it := range scc {
			comp[it] = i
		}
	}
	stage := make([]int, len(sccs))
	for i, scc := range sccs {
		stage[i] = 1
		for _, it := range scc {
			for _, e := range st.edges[it] {
				if d := comp[st.byName[e.Source]]; d != i {
					stage[i] = max(stage[i], stage[d]+1)
				}
			}
		}
	}
	for _, it := range st.items {
		it.Stage = stage[comp[it]]
		it.Depends = st.edges[it]
	}
	sort.SliceStable(st.items, func(i, j int) bool {
		a, b := st.items[i], st.items[j]
		if a.Stage != b.Stage {
			return a.Stage < b.Stage
		}
		return strings.Compare(a.Source, b.Source) < 0
	})
}

func (st *planState) finish() (*Plan, error) {
	pl := &Plan{Arch: st.p.u.Arch, Items: st.items, Cycles: st.cycles, Missing: st.missing, Notes: st.notes}
	for _, it := range st.items {
		for len(pl.Stages) < it.Stage {
			pl.Stages = append(pl.Stages, nil)
		}
		pl.Stages[it.Stage-1] = append(pl.Stages[it.Stage-1], it)
	}
	switch {
	case len(st.cycles) > 0:
		return pl, &CycleError{Cycles: st.cycles}
	case len(st.missing) > 0:
		return pl, &MissingError{Missing: st.missing}
	}
	return pl, nil
}
