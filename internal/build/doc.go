// Package build turns Debian source packages (a .dsc, or an unpacked source
// tree with debian/) into binary packages inside a build environment from
// package env. It defines the Builder interface, its Request and Result,
// and the builders: Dpkg (dpkg-buildpackage in a bwrap session over an
// overlay, the default).
//
// Every external command line comes from a pure function in args.go
// (dpkg-buildpackage(1), apt-get(8)); a failed build is a *Error wrapping
// ErrBuildFailed that names the full log.
package build
