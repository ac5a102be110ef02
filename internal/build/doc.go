// Package build turns Debian source packages (a .dsc, or an unpacked source
// tree with debian/) into binary packages inside a build environment from
// package env. It defines the Builder interface, its Request and Result,
// and the builders:
//
//   - Dpkg (the default): dpkg-buildpackage in a throw-away bwrap session
//     over an overlay of the environment and a cached build-dependency
//     layer; build-dependencies are installed with network as root, the
//     build runs as the build user with loopback only. A layer index maps
//     the build's inputs to the layer apt's resolution gave, so a warm
//     rebuild runs no apt at all; with extra repositories it stays valid
//     while they offer the same packages the resolution could touch
//     (extrastate.go). Each build's phases (session, stage, extract,
//     build-deps, build, collect, close) are timed into Result.Phases, the
//     log and the run record.
//   - Sbuild: sbuild --chroot-mode=unshare as an unprivileged user on a
//     tarball of the environment; success needs its "Status: successful".
//     A build holds its tarball and its build directory locked; Sbuild.GC
//     (run by `packyard env gc`) removes the tarballs of environments that
//     are gone or changed, and build directories a killed packyard left,
//     never what a running build holds nor a kept build (Request.Keep).
//
// It also runs the checks on a result: lintian (RunLintian) and
// reproducibility (VerifyReproducible builds twice and compares).
//
// Every external command line comes from a pure, table-tested function
// (DpkgBuildpackageArgs, AptBuildDepArgs, SbuildArgs, LintianArgs); a failed
// build is a *Error wrapping ErrBuildFailed that names the full log.
package build
