package plan

// Planning a few targets needs only the packages their build-dependencies
// can reach, not the whole archive. A set of packages that is closed under
// dependencies (every candidate of every Depends/Pre-Depends of a member
// is a member) and holds the Essential packages, build-essential's
// candidates and everything the plan's build-dependencies can name gives
// the solver exactly the answers, models and conflicts it gives over every
// package: a package outside the set can never be installed (nothing in the
// set requires it), so it only ever turns false, and the requirements and
// conflict order of the members are the same, their variables numbered in
// the same relative order. Conflicts of members with non-members are
// harmless for the same reason and are kept. The one place where the
// solver looks at the size of the problem, when to compact its clauses, is
// fixed for planners (Solver.SetCompactAfter).
//
// The closure is taken by name, a superset of the candidates: every package
// with a name a member depends on, and every package that provides it,
// whatever the version constraint, the architecture qualifier, the build
// profile or the architecture restriction says.
//
// Which sources join a plan as build-dependency items is known only while
// planning, so Plan compiles for its targets first; when an item turns up
// that the universe was not compiled for, it compiles for that item too and
// plans again from the start (a fresh solver, as a full compile would have).
// The last round solves only items the universe covers, so its plan is the
// full one.

// ref is package i of planner layer l.
type ref struct {
	l uint8
	i int32
}

// reachIndex indexes every package of the native architecture (or all) by
// name and by provided name, and the predicted binaries by source. Names
// are numbered; each index is a list of refs per number (CSR), which is much
// cheaper to build for the whole archive than maps of slices.
type reachIndex struct {
	ids       map[string]int32 // package, provided and source names
	byName    csr
	provides  csr
	bySource  csr // predicted binaries (layer 1) by their source's name
	essential []ref
	target    []bool // by name number: the target's indexes have the name
}

// inTarget reports whether the target distribution's indexes have a
// package named name (of any architecture).
func (r *reachIndex) inTarget(name string) bool {
	id := r.id(name)
	return id >= 0 && int(id) < len(r.target) && r.target[id]
}

type csr struct {
	start []int32 // by name number: refs[start[n]:start[n+1]]
	refs  []ref
}

func (c *csr) get(id int32) []ref {
	if id < 0 || int(id)+1 >= len(c.start) {
		return nil
	}
	return c.refs[c.start[id]:c.start[id+1]]
}

// csrBuilder collects (name number, ref) pairs in order.
type csrBuilder struct {
	ids  []int32
	refs []ref
}

func (b *csrBuilder) build(names int) csr {
	c := csr{start: make([]int32, names+1), refs: make([]ref, len(b.refs))}
	for _, id := range b.ids {
		c.start[id+1]++
	}
	for i := 1; i <= names; i++ {
		c.start[i] += c.start[i-1]
	}
	next := append([]int32(nil), c.start[:names]...)
	for k, id := range b.ids {
		c.refs[next[id]] = b.refs[k]
		next[id]++
	}
	return c
}

// id returns the number of name, or -1.
func (r *reachIndex) id(name string) int32 {
	if id, ok := r.ids[name]; ok {
		return id
	}
	return -1
}

// real reports whether a real package named name exists.
func (r *reachIndex) real(name string) bool {
	return len(r.byName.get(r.id(name))) > 0
}

// reachIndex returns the planner's index, building it on first use. It
// reads only names, Provides and Essential, which predictBinary keeps.
func (p *Planner) reachIndex() *reachIndex {
	if p.reach != nil {
		return p.reach
	}
	ix := &reachIndex{ids: make(map[string]int32, len(p.layers[2])+len(p.predictedRaw)/2)}
	intern := func(name string) int32 {
		id, ok := ix.ids[name]
		if !ok {
			id = int32(len(ix.ids))
			ix.ids[name] = id
		}
		return id
	}
	n := len(p.layers[0]) + len(p.predictedRaw) + len(p.layers[2])
	byName := csrBuilder{ids: make([]int32, 0, n), refs: make([]ref, 0, n)}
	bySource := csrBuilder{ids: make([]int32, 0, len(p.predictedRaw)), refs: make([]ref, 0, len(p.predictedRaw))}
	var provides csrBuilder
	targetIDs := make([]int32, len(p.layers[2]))
	for i, b := range p.layers[2] {
		targetIDs[i] = intern(b.Package)
	}
	for l := range p.layers {
		list := p.layers[l]
		if l == 1 {
			list = p.predictedRaw
		}
		for i, b := range list {
			if b.Architecture != p.in.Arch && b.Architecture != "all" || b.unreadable() ||
				l == 1 && p.layers[1][i] == nil && p.predictedKnownUnreadable(i) {
				continue
			}
			r := ref{uint8(l), int32(i)}
			byName.ids = append(byName.ids, intern(b.Package))
			byName.refs = append(byName.refs, r)
			for _, rel := range b.Provides.Relations {
				for _, pp := range rel.Possibilities {
					provides.ids = append(provides.ids, intern(pp.Name))
					provides.refs = append(provides.refs, r)
				}
			}
			if b.Essential {
				ix.essential = append(ix.essential, r)
			}
			if l == 1 {
				bySource.ids = append(bySource.ids, intern(p.predictedFrom[i]))
				bySource.refs = append(bySource.refs, r)
			}
		}
	}
	ix.target = make([]bool, len(ix.ids))
	for _, id := range targetIDs {
		ix.target[id] = true
	}
	ix.byName = byName.build(len(ix.ids))
	ix.provides = provides.build(len(ix.ids))
	ix.bySource = bySource.build(len(ix.ids))
	p.reach = ix
	return ix
}

// binaryNames returns the names of the binaries the archives' source
// src is predicted to build, without duplicates.
func (p *Planner) binaryNames(src string) []string {
	ix := p.reachIndex()
	var out []string
	seen := map[string]bool{}
	for _, r := range ix.bySource.get(ix.id(src)) {
		if _, ok := p.layer(1, int(r.i)); !ok {
			continue
		}
		if name := p.predictedRaw[r.i].Package; !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}

// reachable returns, by layer and index, the packages that the build-
// dependencies of srcs, build-essential and the Essential set can reach
// (see the comment at the top of this file).
// bad reports that a package turned out unreadable (see
// IndexBinaryPackages): the index must then be rebuilt without it.
func (p *Planner) reachable(srcs []*SourcePackage) (keep [3][]bool, bad bool) {
	ix := p.reachIndex()
	for l := range keep {
		keep[l] = make([]bool, len(p.layers[l]))
	}
	var queue []ref
	push := func(r ref) {
		if !keep[r.l][r.i] {
			keep[r.l][r.i] = true
			queue = append(queue, r)
		}
	}
	seen := make([]bool, len(ix.ids))
	addName := func(name string) {
		id := ix.id(name)
		if id < 0 || seen[id] {
			return
		}
		seen[id] = true
		for _, r := range ix.byName.get(id) {
			push(r)
		}
		for _, r := range ix.provides.get(id) {
			push(r)
		}
	}
	addDeps := func(deps ...*Dependency) {
		for _, d := range deps {
			for _, rel := range d.Relations {
				for _, pp := range rel.Possibilities {
					addName(pp.Name)
				}
			}
		}
	}
	for _, r := range ix.essential {
		push(r)
	}
	addName("build-essential")
	for _, s := range srcs {
		addDeps(&s.BuildDepends, &s.BuildDependsArch, &s.BuildDependsIndep)
	}
	for len(queue) > 0 {
		r := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		b, ok := p.layer(int(r.l), int(r.i))
		if !ok {
			bad = true
			continue
		}
		addDeps(&b.PreDepends, &b.Depends)
	}
	return keep, bad
}

// covers reports whether the universe was compiled for planning src.
func (p *Planner) covers(src *SourcePackage) bool {
	return !p.partial || p.covered[src]
}

// compileFor makes the universe hold what solving srcs needs: it keeps the
// current one when it covers them, and otherwise compiles the packages
// reachable from them and from the sources compiled for so far.
func (p *Planner) compileFor(srcs []*SourcePackage) {
	if p.u != nil && !p.partial {
		return
	}
	all := make([]*SourcePackage, 0, len(p.covered)+len(srcs))
	for s := range p.covered {
		all = append(all, s)
	}
	grew := p.u == nil
	for _, s := range srcs {
		if !p.covered[s] {
			grew = true
			all = append(all, s)
		}
	}
	if !grew {
		return
	}
	keep, bad := p.reachable(all)
	for bad {
		p.reach = nil
		keep, bad = p.reachable(all)
	}
	p.compile(&keep)
	p.covered = map[*SourcePackage]bool{}
	for _, s := range all {
		p.covered[s] = true
	}
}
