package plan

import (
	"errors"
	"slices"
	"sort"

	"pault.ag/go/debian/version"

	"github.com/packyard/packyard/internal/plan/solver"
)

// ErrSourceNotFound is wrapped by Plan's error when a target names a source
// package that no configured source archive has.
var ErrSourceNotFound = errors.New("source package not found")

// SourceArchive is a place sources can be built from: an archive suite's
// Sources (the target distribution's own, or another one such as trixie for
// backports to bookworm) with the Packages built from them, which predict
// the binaries each source will produce (their versioned dependencies on
// shared libraries the target has are relaxed, as a rebuild would relink).
// Without Binaries, a source is assumed to produce the packages of its
// Binary field at its own version with no dependencies. NewPlanner sets the
// Origin of sources that have none to Name.
type SourceArchive struct {
	Name     string
	Sources  []*SourcePackage
	Binaries []*BinaryPackage
}

// Input is what a plan is made against.
type Input struct {
	Arch     string           // native architecture, e.g. "amd64"
	Local    []*BinaryPackage // packyard's own repository: wins over Binaries
	Binaries []*BinaryPackage // the target distribution's binary indexes
	// Archives are where targets and missing build-dependencies come
	// from, in priority order: a target name is taken from the first
	// archive that has it (packyard's own sources first, then --from for a
	// backport, then the target distribution).
	Archives []SourceArchive
}

// Options change how a plan is made.
type Options struct {
	Profiles  []string // active build profiles for every item
	SkipLocal bool     // ignore Input.Local
	// BuildDeps adds, recursively, sources that provide build-dependencies
	// the binary indexes cannot satisfy (the CLI's --build-deps, on by
	// default).
	BuildDeps bool
	// Bootstrap treats the binaries the targets already have in the indexes
	// as unavailable, as when bootstrapping or rebuilding a set of sources
	// from scratch: the build order then shows their real cycles.
	Bootstrap bool
	DropIndep bool // ignore Build-Depends-Indep (build no Architecture: all packages)
	DropArch  bool // ignore Build-Depends-Arch
	// FirstAlternative resolves build-dependencies as sbuild does on the
	// Debian buildds for unstable: only the first alternative of each
	// relation (and others with its name) counts. Backports and
	// experimental buildds resolve alternatives (leave it false).
	FirstAlternative bool
	MaxItems         int // stop adding build-dependencies beyond this many items; 0 means 500
	// CompileAll compiles every package in NewPlanner instead of what each
	// Plan's targets can reach; plans are the same either way.
	CompileAll bool
}

// Target is one thing to plan: a source package by name, looked up in the
// archives in order (newest version of the first archive that has it), or a
// given source package (from a .dsc or a source tree).
type Target struct {
	Name   string
	Source *SourcePackage
}

// Planner plans builds against one Input. By default each Plan compiles
// into the solver only the packages its targets can reach (see reach.go),
// which gives the same plan as compiling everything at a fraction of the
// cost; Options.CompileAll compiles every package once in NewPlanner, for
// planning many unrelated targets with one Planner. A Planner is not safe
// for concurrent use.
type Planner struct {
	in     Input
	opts   Options
	u      *Universe
	s      *solver.Solver
	active map[string]bool

	predicted      map[string][]int32 // source name -> its predicted binaries
	predictedSrc   []string           // per variable: source whose build it predicts, or ""
	avoidPredicted []bool
	archiveOf      map[string][]int32 // source name -> index binaries built from it
	forbidden      bool               // the solver has forbidden packages
	sources        []map[string][]*SourcePackage

	// The uncompiled packages: layers[0] packyard's own, layers[1] the
	// binaries the archives' sources are predicted to build (predictBinary
	// applied on first use, see layer), layers[2] the target's indexes.
	layers        [3][]*BinaryPackage
	predictedRaw  []*BinaryPackage // layers[1] before predictBinary
	predictedFrom []string         // per layers[1] entry: its source
	// predictedBy says where a layers[1] entry comes from: the source
	// that names it in its Binary field, or (nil) the archive's Binaries,
	// of archive predictedIn.
	predictedBy []*SourcePackage
	predictedIn []int32
	reach       *reachIndex
	partial     bool                    // the universe holds only what covered needs
	covered     map[*SourcePackage]bool // sources the universe was compiled for
}

// NewPlanner prepares the input; with Options.CompileAll it also compiles it.
func NewPlanner(in Input, opts Options) *Planner {
	p := &Planner{in: in, opts: opts, active: activeProfiles(opts.Profiles)}
	if !opts.SkipLocal {
		p.layers[0] = in.Local
	}
	p.layers[2] = in.Binaries
	for ai, a := range in.Archives {
		bySrc := make(map[string][]*SourcePackage, len(a.Sources))
		for _, s := range a.Sources {
			if s.Origin == "" {
				s.Origin = a.Name
			}
			bySrc[s.Package] = append(bySrc[s.Package], s)
		}
		for _, list := range bySrc {
			if len(list) > 1 {
				sort.SliceStable(list, func(i, j int) bool { return version.Compare(list[i].version, list[j].version) > 0 })
			}
		}
		p.sources = append(p.sources, bySrc)
		if a.Binaries != nil {
			p.predictedRaw = slices.Grow(p.predictedRaw, len(a.Binaries))
			p.predictedFrom = slices.Grow(p.predictedFrom, len(a.Binaries))
			for _, b := range a.Binaries {
				if _, ok := bySrc[b.Source]; ok {
					p.predictedRaw = append(p.predictedRaw, b)
					p.predictedFrom = append(p.predictedFrom, b.Source)
					p.predictedBy = append(p.predictedBy, nil)
					p.predictedIn = append(p.predictedIn, int32(ai))
				}
			}
			continue
		}
		for _, s := range a.Sources {
			for _, name := range s.Binaries {
				b := &BinaryPackage{Package: name, Version: s.Version, Architecture: in.Arch,
					Source: s.Package, SourceVersion: s.Version, version: s.version}
				p.predictedRaw = append(p.predictedRaw, b)
				p.predictedFrom = append(p.predictedFrom, s.Package)
				p.predictedBy = append(p.predictedBy, s)
				p.predictedIn = append(p.predictedIn, int32(ai))
			}
		}
	}
	p.layers[1] = make([]*BinaryPackage, len(p.predictedRaw)) // predicted on first use
	if opts.CompileAll {
		p.compile(nil)
	}
	return p
}

// layer returns package i of layer l, predicting it first if need be; ok
// is false when its relation fields do not parse (see IndexBinaryPackages).
func (p *Planner) layer(l, i int) (b *BinaryPackage, ok bool) {
	if l != 1 {
		b = p.layers[l][i]
		return b, b.complete()
	}
	if b = p.layers[1][i]; b != nil {
		return b, true
	}
	if !p.predictedRaw[i].complete() || !p.predictedReadable(i) {
		return nil, false
	}
	b = predictBinary(p.predictedRaw[i], p.reachIndex().inTarget)
	p.layers[1][i] = b
	return b, true
}

// predictedReadable reports whether the source that predicts layers[1]
// entry i is readable (see IndexSourcePackages): the source itself, or for
// an archive's Binaries, one of that archive's sources of the name. Had the
// unreadable sources been skipped, the entry would not exist.
func (p *Planner) predictedReadable(i int) bool {
	if s := p.predictedBy[i]; s != nil {
		return s.complete()
	}
	for _, s := range p.sources[p.predictedIn[i]][p.predictedFrom[i]] {
		if s.complete() {
			return true
		}
	}
	return false
}

// compile compiles the packages keep selects (all of them when keep is nil)
// into a new universe and solver. keep must be closed under dependencies
// (see reachable): the solver then answers as it would over all packages.
func (p *Planner) compile(keep *[3][]bool) {
	var layers [3][]*BinaryPackage
	var from []string
	if keep == nil {
		completeAll([][]*BinaryPackage{p.layers[0], p.predictedRaw, p.layers[2]})
	}
	for l := range p.layers {
		for i := range p.layers[l] {
			if keep != nil && !keep[l][i] {
				continue
			}
			b, ok := p.layer(l, i)
			if !ok {
				continue
			}
			layers[l] = append(layers[l], b)
			if l == 1 {
				from = append(from, p.predictedFrom[i])
			}
		}
	}
	p.partial = keep != nil
	p.predicted, p.archiveOf = map[string][]int32{}, map[string][]int32{}
	p.forbidden = false
	p.u = newUniverse(p.in.Arch, 1, layers[0], layers[1], layers[2])
	if keep != nil {
		// Multi-Arch: same conflicts depend on whether a real package of
		// a name exists anywhere, reachable or not.
		p.u.realName = p.reachIndex().real
	}
	p.u.compile()
	p.predictedSrc = make([]string, p.u.problem.NumVars())
	p.avoidPredicted = make([]bool, p.u.problem.NumVars())
	pi := 0
	for v := range p.u.Packages {
		switch p.u.Layer[v] {
		case 1:
			// predicted binaries keep their input order in the universe
			for layers[1][pi] != p.u.Packages[v] {
				pi++
			}
			src := from[pi]
			pi++
			p.predictedSrc[v] = src
			p.avoidPredicted[v] = true
			p.predicted[src] = append(p.predicted[src], int32(v))
		default:
			p.archiveOf[p.u.Packages[v].Source] = append(p.archiveOf[p.u.Packages[v].Source], int32(v))
		}
	}
	p.s = p.u.newSolver()
	// Compaction must not depend on how much of the archive was compiled
	// (see reach.go); this is about when compiling all of bookworm
	// compacted, which plans do not reach between resets.
	p.s.SetCompactAfter(1 << 20)
}

func (p *Planner) findSource(name string) *SourcePackage {
	for _, bySrc := range p.sources {
		for _, s := range bySrc[name] {
			if s.complete() {
				return s
			}
		}
	}
	return nil
}
