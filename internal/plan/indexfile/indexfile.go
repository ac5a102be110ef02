// Package indexfile reads whole Packages and Sources index files (plain,
// .xz or .gz) into the planner's types, for the planner's tests and
// benchmarks that work on index files rather than on a pantry. Scanning
// is internal/deb822's (through archive.LoadAnyIndexFile); conversion is
// plan.BinaryPackages / plan.SourcePackages, on all CPUs, or, as the CLI
// reads a planner's input, plan.IndexBinaryPackages /
// plan.IndexSourcePackages.
package indexfile

import (
	"github.com/packyard/packyard/internal/archive"
	"github.com/packyard/packyard/internal/deb822"
	"github.com/packyard/packyard/internal/plan"
)

// ReadPackages reads a Packages file into binary packages.
func ReadPackages(path string) ([]*plan.BinaryPackage, error) {
	return read(path, plan.BinaryPackages[deb822.Paragraph])
}

// ReadSources reads a Sources file into source packages.
func ReadSources(path string) ([]*plan.SourcePackage, error) {
	return read(path, plan.SourcePackages[deb822.Paragraph])
}

// ReadIndexPackages reads a Packages file for a Planner, relation fields
// on demand (plan.IndexBinaryPackages).
func ReadIndexPackages(path string) ([]*plan.BinaryPackage, error) {
	return read(path, plan.IndexBinaryPackages[deb822.Paragraph])
}

// ReadIndexSources reads a Sources file for a Planner, relation fields on
// demand (plan.IndexSourcePackages).
func ReadIndexSources(path string) ([]*plan.SourcePackage, error) {
	return read(path, plan.IndexSourcePackages[deb822.Paragraph])
}

// read loads the index file at path (plain, .xz or .gz) and converts its
// paragraphs with conv.
func read[T any](path string, conv func([]deb822.Paragraph) ([]T, error)) ([]T, error) {
	ps, err := archive.LoadAnyIndexFile(path)
	if err != nil {
		return nil, err
	}
	return conv(ps)
}
