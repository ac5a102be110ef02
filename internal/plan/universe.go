package plan

import (
	"sort"
	"sync"

	"pault.ag/go/debian/version"

	"github.com/packyard/packyard/internal/parallel"
	"github.com/packyard/packyard/internal/plan/solver"
)

// Universe is a compiled set of binary packages for one native architecture:
// every package is a solver variable, every Depends/Pre-Depends a
// requirement, every Conflicts/Breaks (and every other version of the same
// package) a conflict. It answers which packages satisfy a relation and
// whether a set of build-dependencies can be installed together.
//
// The semantics are those of dose3 (dose-builddebcheck, native architecture
// only): Essential packages are always installed, Multi-Arch and Provides
// are honoured, and ":any" on a real package matches it whatever its
// version, as dose3 7 does.
//
// A Universe is immutable after NewUniverse and safe for concurrent use.
type Universe struct {
	Arch     string
	Packages []*BinaryPackage // variable i is Packages[i]
	Layer    []int            // Layer[i] is the index of the layer Packages[i] came from

	noEssential int
	byName      map[string][]int32 // sorted by version, newest first
	// realName reports whether a real package of the name exists; nil
	// means byName decides (see Planner.compile for when it differs).
	realName func(string) bool
	provides map[string][]provide

	mu    sync.RWMutex
	cache map[candKey][]int32

	problem        *solver.Problem
	varRoot        int32 // forced true; requires the Essential packages
	varBase        int32 // requires build-essential
	varSource      int32 // the source being checked (temporary constraints)
	buildEssential []int32
	uninstallable  int
}

type provide struct {
	pkg     int32
	hasVer  bool
	version version.Version
}

type candKey struct {
	name, qual, op, ver string
}

// NewUniverse compiles the binary packages for the native architecture arch.
// Layers are given in order of preference: where a relation can be satisfied
// by packages of several layers, the solver tries the earlier layer first
// (so packyard's own repository wins when passed first); within a layer,
// newer versions first. Packages of other architectures than arch and "all"
// are ignored.
func NewUniverse(arch string, layers ...[]*BinaryPackage) *Universe {
	u := newUniverse(arch, -1, layers...)
	u.compile()
	return u
}

// newUniverse is NewUniverse where the packages of layer noEssential (if
// >= 0) do not count as Essential: they are another distribution's, which
// may have a different Essential set. The caller compiles it.
func newUniverse(arch string, noEssential int, layers ...[]*BinaryPackage) *Universe {
	u := &Universe{
		noEssential: noEssential,
		Arch:        arch,
		byName:      map[string][]int32{},
		provides:    map[string][]provide{},
		cache:       map[candKey][]int32{},
	}
	completeAll(layers)
	for li, layer := range layers {
		for _, b := range layer {
			if b.Architecture != arch && b.Architecture != "all" || b.unreadable() {
				continue
			}
			id := int32(len(u.Packages))
			u.Packages = append(u.Packages, b)
			u.Layer = append(u.Layer, li)
			u.byName[b.Package] = append(u.byName[b.Package], id)
		}
	}
	for _, ids := range u.byName {
		if len(ids) > 1 {
			sort.SliceStable(ids, func(i, j int) bool {
				a, b := ids[i], ids[j]
				if u.Layer[a] != u.Layer[b] {
					return u.Layer[a] < u.Layer[b]
				}
				return version.Compare(u.Packages[a].version, u.Packages[b].version) > 0
			})
		}
	}
	for id, b := range u.Packages {
		for _, r := range b.Provides.Relations {
			for _, p := range r.Possibilities {
				pr := provide{pkg: int32(id)}
				if p.Operator == "=" {
					if v, err := version.Parse(p.Version); err == nil {
						pr.hasVer, pr.version = true, v
					}
				}
				u.provides[p.Name] = append(u.provides[p.Name], pr)
			}
		}
	}
	return u
}

// Candidates returns the packages that satisfy one possibility as a
// dependency of a package of the native architecture, best first: real
// packages by layer then newest first, then providers in layer order.
func (u *Universe) Candidates(p Possibility) []int32 {
	k := candKey{p.Name, p.Arch, p.Operator, p.Version}
	if k.qual == "native" || k.qual == u.Arch {
		k.qual = ""
	}
	u.mu.RLock()
	c, ok := u.cache[k]
	u.mu.RUnlock()
	if ok {
		return c
	}
	c = u.candidates(k)
	u.mu.Lock()
	u.cache[k] = c
	u.mu.Unlock()
	return c
}

func (u *Universe) candidates(k candKey) []int32 {
	if k.qual != "" && k.qual != "any" {
		return nil // foreign architectures are not part of the universe
	}
	var want version.Version
	versioned := k.op != ""
	if versioned {
		v, err := version.Parse(k.ver)
		if err != nil {
			return nil
		}
		want = v
	}
	var out []int32
	for _, id := range u.byName[k.name] {
		// dose3 gives every package an unversioned archless provide, so
		// "name:any (>= v)" matches every version of name.
		if !versioned || k.qual == "any" || satisfies(u.Packages[id].version, k.op, want) {
			out = append(out, id)
		}
	}
	for _, pr := range u.provides[k.name] {
		if k.qual == "any" && u.Packages[pr.pkg].MultiArch != "allowed" {
			continue
		}
		if versioned && (!pr.hasVer || !satisfies(pr.version, k.op, want)) {
			continue
		}
		out = appendUnique(out, pr.pkg)
	}
	return out
}

func appendUnique(s []int32, v int32) []int32 {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// relationCandidates returns the union of the candidates of a relation's
// possibilities, in order, and whether any possibility was selected.
func (u *Universe) relationCandidates(r Relation, keep func(*Possibility) bool, dst []int32) ([]int32, bool) {
	selected := false
	for i := range r.Possibilities {
		p := &r.Possibilities[i]
		if keep != nil && !keep(p) {
			continue
		}
		selected = true
		for _, c := range u.Candidates(*p) {
			dst = appendUnique(dst, c)
		}
	}
	return dst, selected
}

func (u *Universe) compile() {
	n := int32(len(u.Packages))
	u.varRoot, u.varBase, u.varSource = n, n+1, n+2
	b := solver.NewBuilder(int(n) + 3)
	// Candidates are computed on all CPUs; the Builder is filled in order.
	type compiled struct {
		requires  [][]int32
		conflicts []int32
	}
	out := make([]compiled, n)
	parallel.For(int(n), 1024, func(id int) error {
		pkg := u.Packages[id]
		var c compiled
		for _, dep := range []*Dependency{&pkg.PreDepends, &pkg.Depends} {
			for _, r := range dep.Relations {
				alts, _ := u.relationCandidates(r, nil, nil)
				c.requires = append(c.requires, alts)
			}
		}
		c.conflicts = u.conflictsOf(int32(id), pkg)
		out[id] = c
		return nil
	})
	for id := range out {
		for _, alts := range out[id].requires {
			if len(alts) == 0 {
				u.uninstallable++
			}
			b.Require(int32(id), alts)
		}
		for _, c := range out[id].conflicts {
			b.Conflict(int32(id), c)
		}
	}
	essential := map[string][]int32{}
	var names []string
	for id, pkg := range u.Packages {
		if pkg.Essential && u.Layer[id] != u.noEssential {
			if _, ok := essential[pkg.Package]; !ok {
				names = append(names, pkg.Package)
			}
			essential[pkg.Package] = append(essential[pkg.Package], int32(id))
		}
	}
	sort.Strings(names)
	for _, name := range names {
		b.Require(u.varRoot, essential[name])
	}
	b.Unit(solver.Pos(u.varRoot))
	u.buildEssential = u.Candidates(Possibility{Name: "build-essential"})
	b.Require(u.varBase, u.buildEssential)
	u.problem = b.Build()
}

func (u *Universe) conflictsOf(v int32, pkg *BinaryPackage) []int32 {
	var out []int32
	for _, other := range u.byName[pkg.Package] {
		out = append(out, other)
	}
	for _, dep := range []*Dependency{&pkg.Conflicts, &pkg.Breaks} {
		for _, r := range dep.Relations {
			for _, p := range r.Possibilities {
				if pkg.MultiArch == "same" {
					out = u.sameConflicts(out, pkg, p)
					continue
				}
				// dose3 does not apply a conflict on a name the package
				// provides itself to the real packages of that name, only
				// to the other providers.
				self := providesName(pkg, p.Name)
				for _, c := range u.Candidates(p) {
					if self && u.Packages[c].Package == p.Name {
						continue
					}
					out = append(out, c)
				}
			}
		}
	}
	return out
}

func providesName(pkg *BinaryPackage, name string) bool {
	for _, r := range pkg.Provides.Relations {
		for _, pp := range r.Possibilities {
			if pp.Name == name {
				return true
			}
		}
	}
	return false
}

// addSameConflict applies dose3's reading of a Conflicts/Breaks entry of a
// Multi-Arch: same package: conflicts on its own name, or on a name it
// provides while a real package of that name exists, are dropped; versioned
// conflicts on purely virtual names are dropped; an unversioned conflict on
// a virtual name it provides itself becomes a conflict with every other
// provider.
func (u *Universe) sameConflicts(out []int32, pkg *BinaryPackage, p Possibility) []int32 {
	_, real := u.byName[p.Name]
	if u.realName != nil {
		real = u.realName(p.Name)
	}
	self := p.Name == pkg.Package || (p.Operator == "" && providesName(pkg, p.Name))
	switch {
	case real && !self:
		out = append(out, u.Candidates(p)...)
	case real && self:
	case !real && !self:
		if p.Operator == "" {
			out = append(out, u.Candidates(p)...)
		}
	default:
		for _, pr := range u.provides[p.Name] {
			name := u.Packages[pr.pkg].Package
			if name == pkg.Package {
				continue
			}
			out = append(out, u.Candidates(Possibility{Name: name, Arch: p.Arch})...)
		}
	}
	return out
}

// Lookup returns the packages named name, newest first.
func (u *Universe) Lookup(name string) []*BinaryPackage {
	var out []*BinaryPackage
	for _, id := range u.byName[name] {
		out = append(out, u.Packages[id])
	}
	return out
}
