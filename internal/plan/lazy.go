package plan

import (
	"sync"

	"github.com/packyard/packyard/internal/parallel"
)

// lazyRelations holds the values of relation fields (binaryRelations or
// sourceRelations) to parse on first use. Reading an archive's Packages
// eagerly parses some 300k relation fields, of which a plan for a few
// targets needs a few thousand. Keeping the values rather than the
// paragraph lets the paragraphs go.
type lazyRelations struct {
	once   sync.Once
	values []string
	err    error
}

// IndexBinaryPackages is BinaryPackages for the input of a Planner: it
// reads Package, Version, Architecture, Multi-Arch, Essential, Source and
// Provides now, and Depends, Pre-Depends, Conflicts and Breaks when the
// planner first needs them (NewUniverse reads them all). Until then those
// fields are empty: hand the packages to NewPlanner or NewUniverse only. A
// package whose relation fields do not parse is left out, as if this had
// failed on it and the caller had skipped its paragraph.
func IndexBinaryPackages[F Fields](paragraphs []F) ([]*BinaryPackage, error) {
	return convertAll(paragraphs, func(f Fields) (*BinaryPackage, error) {
		b, err := newBinaryHead(f)
		if err != nil {
			return nil, err
		}
		b.lazy = &lazyRelations{values: getAll(f, binaryRelations[:])}
		return b, nil
	})
}

// IndexSourcePackages is SourcePackages for the input of a Planner: the
// Build-Depends* and Build-Conflicts* fields are read when the planner
// first needs them. A source whose relation fields do not parse is left
// out, as IndexBinaryPackages leaves out binaries.
func IndexSourcePackages[F Fields](paragraphs []F) ([]*SourcePackage, error) {
	return convertAll(paragraphs, func(f Fields) (*SourcePackage, error) {
		s, err := newSourceHead(f)
		if err != nil {
			return nil, err
		}
		s.lazy = &lazyRelations{values: getAll(f, sourceRelations[:])}
		return s, nil
	})
}

// complete reads the relation fields of a package made by
// IndexBinaryPackages; it is safe for concurrent use and reports whether
// they parse.
func (b *BinaryPackage) complete() bool {
	l := b.lazy
	if l == nil {
		return true
	}
	l.once.Do(func() {
		l.err = readRelations(b.Package, binaryRelations[:], l.values, b.relations())
		l.values = nil
	})
	return l.err == nil
}

// complete is BinaryPackage.complete for sources.
func (s *SourcePackage) complete() bool {
	l := s.lazy
	if l == nil {
		return true
	}
	l.once.Do(func() {
		l.err = readRelations("source "+s.Package, sourceRelations[:], l.values, s.relations())
		l.values = nil
	})
	return l.err == nil
}

// unreadable reports whether complete was called and failed. It must not
// run concurrently with complete.
func (b *BinaryPackage) unreadable() bool { return b.lazy != nil && b.lazy.err != nil }

// completeAll completes the packages of IndexBinaryPackages on all CPUs.
func completeAll(layers [][]*BinaryPackage) {
	var todo []*BinaryPackage
	for _, layer := range layers {
		for _, b := range layer {
			if b.lazy != nil {
				todo = append(todo, b)
			}
		}
	}
	if len(todo) == 0 {
		return
	}
	parallel.For(len(todo), 1024, func(i int) error { todo[i].complete(); return nil })
}

// unreadable is BinaryPackage.unreadable for sources.
func (s *SourcePackage) unreadable() bool { return s.lazy != nil && s.lazy.err != nil }

// predictedKnownUnreadable reports whether predictedReadable(i) was found
// false already, without reading anything.
func (p *Planner) predictedKnownUnreadable(i int) bool {
	if s := p.predictedBy[i]; s != nil {
		return s.unreadable()
	}
	for _, s := range p.sources[p.predictedIn[i]][p.predictedFrom[i]] {
		if !s.unreadable() {
			return false
		}
	}
	return true
}
