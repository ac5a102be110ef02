package plan

import (
	"errors"
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
}

// Target is one thing to plan: a source package by name, looked up in the
// archives in order (newest version of the first archive that has it), or a
// given source package (from a .dsc or a source tree).
type Target struct {
	Name   string
	Source *SourcePackage
}

// Planner plans builds against one compiled Input. Build it once (it
// compiles every binary package into the solver) and call Plan for each
// request. A Planner is not safe for concurrent use.
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
}

// NewPlanner compiles the input.
func NewPlanner(in Input, opts Options) *Planner {
	p := &Planner{in: in, opts: opts, active: activeProfiles(opts.Profiles),
		predicted: map[string][]int32{}, archiveOf: map[string][]int32{}}
	var local []*BinaryPackage
	if !opts.SkipLocal {
		local = in.Local
	}
	var predicted []*BinaryPackage
	var predictedFrom []string
	inTarget := map[string]bool{}
	for _, b := range in.Binaries {
		inTarget[b.Package] = true
	}
	has := func(name string) bool { return inTarget[name] }
	for _, a := range in.Archives {
		bySrc := map[string][]*SourcePackage{}
		for _, s := range a.Sources {
			if s.Origin == "" {
				s.Origin = a.Name
			}
			bySrc[s.Package] = append(bySrc[s.Package], s)
		}
		for _, list := range bySrc {
			sort.SliceStable(list, func(i, j int) bool { return version.Compare(list[i].version, list[j].version) > 0 })
		}
		p.sources = append(p.sources, bySrc)
		if a.Binaries != nil {
			for _, b := range a.Binaries {
				if _, ok := bySrc[b.Source]; ok {
					predicted = append(predicted, predictBinary(b, has))
					predictedFrom = append(predictedFrom, b.Source)
				}
			}
			continue
		}
		for _, s := range a.Sources {
			for _, name := range s.Binaries {
				b := &BinaryPackage{Package: name, Version: s.Version, Architecture: in.Arch,
					Source: s.Package, SourceVersion: s.Version, version: s.version}
				predicted = append(predicted, b)
				predictedFrom = append(predictedFrom, s.Package)
			}
		}
	}
	p.u = newUniverse(in.Arch, 1, local, predicted, in.Binaries)
	p.predictedSrc = make([]string, p.u.problem.NumVars())
	p.avoidPredicted = make([]bool, p.u.problem.NumVars())
	pi := 0
	for v := range p.u.Packages {
		switch p.u.Layer[v] {
		case 1:
			// predicted binaries keep their input order in the universe
			for predicted[pi] != p.u.Packages[v] {
				pi++
			}
			src := predictedFrom[pi]
			pi++
			p.predictedSrc[v] = src
			p.avoidPredicted[v] = true
			p.predicted[src] = append(p.predicted[src], int32(v))
		default:
			p.archiveOf[p.u.Packages[v].Source] = append(p.archiveOf[p.u.Packages[v].Source], int32(v))
		}
	}
	p.s = p.u.newSolver()
	return p
}

// Universe returns the compiled universe (index binaries, local binaries and
// predicted binaries of the source archives).
func (p *Planner) Universe() *Universe { return p.u }

func (p *Planner) findSource(name string) *SourcePackage {
	for _, bySrc := range p.sources {
		if list := bySrc[name]; len(list) > 0 {
			return list[0]
		}
	}
	return nil
}
