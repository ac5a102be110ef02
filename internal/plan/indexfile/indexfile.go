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
	"github.com/packyard/packyard/internal/plan"
)

// ReadPackages reads a Packages file into binary packages.
func ReadPackages(path string) ([]*plan.BinaryPackage, error) {
	ps, err := archive.LoadAnyIndexFile(path)
	if err != nil {
		return nil, err
	}
	return plan.BinaryPackages(ps)
}

// ReadSources reads a Sources file into source packages.
func ReadSources(path string) ([]*plan.SourcePackage, error) {
	ps, err := archive.LoadAnyIndexFile(path)
	if err != nil {
		return nil, err
	}
	return plan.SourcePackages(ps)
}

// ReadIndexPackages reads a Packages file for a Planner, relation fields
// on demand (plan.IndexBinaryPackages).
func ReadIndexPackages(path string) ([]*plan.BinaryPackage, error) {
	ps, err := archive.LoadAnyIndexFile(path)
	if err != nil {
		return nil, err
	}
	return plan.IndexBinaryPackages(ps)
}

// ReadIndexSources reads a Sources file for a Planner, relation fields on
// demand (plan.IndexSourcePackages).
func ReadIndexSources(path string) ([]*plan.SourcePackage, error) {
	ps, err := archive.LoadAnyIndexFile(path)
	if err != nil {
		return nil, err
	}
	return plan.IndexSourcePackages(ps)
}
