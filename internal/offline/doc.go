// Package offline owns packyard's offline guarantee. Prime fetches, while
// online, everything an offline build of some targets needs: the pantry's
// indexes (refresh), each planned source package, the build environment,
// and every .deb of the build-dependency closure into the workspace's .deb
// cache (env.DebCache), which build sessions hand to apt as
// /var/cache/apt/archives. Check is the pre-flight of an offline build: with
// no network at all it finds every missing piece (index, source file,
// environment, cached .deb) and returns them together as one
// *archive.MissingError, each named, with the command that fetches them,
// before any build starts.
//
// The build-dependency set of a source is what apt resolves in the build
// environment (build.Dpkg.ResolveDeps: apt-get --simulate build-dep in a
// throw-away session), so the cache holds exactly the versions the
// environment's apt lists name; each is then located in the pantry's signed
// Packages indexes and downloaded with its size and SHA256 checked
// (archive.Pantry.FetchDebs).
package offline
