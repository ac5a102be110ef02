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
// harmless for the same reason and are kept.
//
// The closure is taken by name, a superset of the candidates: every package
// with a name a member depends on, and every package that provides it,
// whatever the version constraint, the architecture qualifier, the build
// profile or the architecture restriction says. When a member is a binary
// that a source of the archives is predicted to build, that source may join
// the plan, so its build-dependencies are followed too.

// ref is package i of planner layer l.
type ref struct {
	l uint8
	i int32
}

// reachIndex indexes every package of the native architecture (or all) by
// name and by provided name.
type reachIndex struct {
	byName    map[string][]ref
	provides  map[string][]ref
	essential []ref
	binaries  map[string][]string // source name -> names of its predicted binaries
}

// real reports whether a real package named name exists.
func (r *reachIndex) real(name string) bool {
	_, ok := r.byName[name]
	return ok
}

// reachIndex returns the planner's index, building it on first use. It
// reads only names, Provides and Essential, which predictBinary keeps.
func (p *Planner) reachIndex() *reachIndex {
	if p.reach != nil {
		return p.reach
	}
	ix := &reachIndex{byName: map[string][]ref{}, provides: map[string][]ref{}, binaries: map[string][]string{}}
	seenBinary := map[[2]string]bool{}
	for l := range p.layers {
		list := p.layers[l]
		if l == 1 {
			list = p.predictedRaw
		}
		for i, b := range list {
			if b.Architecture != p.in.Arch && b.Architecture != "all" {
				continue
			}
			r := ref{uint8(l), int32(i)}
			ix.byName[b.Package] = append(ix.byName[b.Package], r)
			for _, rel := range b.Provides.Relations {
				for _, pp := range rel.Possibilities {
					ix.provides[pp.Name] = append(ix.provides[pp.Name], r)
				}
			}
			if b.Essential {
				ix.essential = append(ix.essential, r)
			}
			if l == 1 {
				k := [2]string{p.predictedFrom[i], b.Package}
				if !seenBinary[k] {
					seenBinary[k] = true
					ix.binaries[k[0]] = append(ix.binaries[k[0]], b.Package)
				}
			}
		}
	}
	p.reach = ix
	return ix
}

// reachable returns, by layer and index, the packages a plan of the
// targets srcs can need (see the comment at the top of this file).
func (p *Planner) reachable(srcs []*SourcePackage) [3][]bool {
	ix := p.reachIndex()
	var keep [3][]bool
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
	names := map[string]bool{}
	addName := func(name string) {
		if names[name] {
			return
		}
		names[name] = true
		for _, r := range ix.byName[name] {
			push(r)
		}
		for _, r := range ix.provides[name] {
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
	sources := map[string]bool{}
	addSource := func(s *SourcePackage) {
		sources[s.Package] = true
		addDeps(&s.BuildDepends, &s.BuildDependsArch, &s.BuildDependsIndep)
	}
	for _, r := range ix.essential {
		push(r)
	}
	addName("build-essential")
	for _, s := range srcs {
		addSource(s)
	}
	for len(queue) > 0 {
		r := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		b := p.layer(int(r.l), int(r.i))
		addDeps(&b.PreDepends, &b.Depends)
		if r.l == 1 && !sources[p.predictedFrom[r.i]] {
			if s := p.findSource(p.predictedFrom[r.i]); s != nil {
				addSource(s)
			}
		}
	}
	return keep
}

// compileFor makes the universe hold what a plan of srcs can need: it keeps
// the current one when it covers them, and otherwise compiles their
// reachable packages together with the ones compiled so far.
func (p *Planner) compileFor(srcs []*SourcePackage) {
	if p.u != nil && !p.partial {
		return
	}
	keep := p.reachable(srcs)
	if p.u != nil {
		covered := true
		for l := range keep {
			for i, k := range keep[l] {
				covered = covered && (!k || p.compiled[l][i])
				keep[l][i] = k || p.compiled[l][i]
			}
		}
		if covered {
			return
		}
	}
	p.compile(&keep)
}
