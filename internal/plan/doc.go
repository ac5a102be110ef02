// Package plan decides what to build and in which order: build-dependency
// resolution, the build-dependency closure through source archives
// (backports), the build order in stages, cycles and the build profiles
// that break them, and whole-suite build-dependency checks that agree with
// dose-builddebcheck.
//
// The package is pure: it reads no files and runs no programs. Its inputs
// are BinaryPackage and SourcePackage values, made from deb822 paragraphs
// (Packages and Sources stanzas, or a .dsc) with NewBinaryPackage and
// NewSourcePackage (or, for a Planner's input, IndexBinaryPackages and
// IndexSourcePackages, which read relation fields only when the planner
// needs them); anything with a Get(field) string method will do.
// Relationship fields are parsed by ParseDependency (Debian Policy §7.1,
// with architecture restrictions, build profiles and ":any"/":native"
// qualifiers); versions are compared with pault.ag/go/debian/version.
//
// Two entry points:
//
//   - Universe.CheckAll (and CheckSource): for every source that builds on
//     the architecture, can its Build-Depends, Build-Depends-Arch and
//     Build-Depends-Indep be installed together with build-essential and the
//     Essential set, honouring Conflicts, Breaks, Build-Conflicts*,
//     Multi-Arch and Provides? This is dose-builddebcheck's question and its
//     answer (including dose3 7.0's readings of corner cases, see
//     testdata/dosecases), with a Reason for each failure.
//
//   - Planner.Plan: the build order for targets against the target
//     distribution's binary indexes plus packyard's own repository (which
//     wins), adding sources from SourceArchive values for build-dependencies
//     the indexes cannot satisfy, recursively. The result is a Plan in
//     stages, rendered by WriteText, WriteJSON and WriteDot; unsatisfiable
//     relations come back as *MissingError, cycles as *CycleError
//     (errors.Is(err, ErrCycle)). Each Plan compiles into the solver only
//     the packages its targets' build-dependencies can reach, which gives
//     the plan compiling the whole archive would give (see reach.go).
//
// Installability is decided by the complete solver in package solver: a
// CDCL SAT solver whose branching follows package-manager order, so that
// ordinary instances are solved greedily without backtracking.
package plan
