// Package archive reads upstream APT archives into the pantry and fetches
// verified source packages from them.
//
// ParseAptSources turns the machine's apt sources (sources.list(5), both the
// one-line and the deb822 format) into config.Archive values. A Pantry
// (OpenPantry) holds the cached indexes under the workspace's pantry
// directory. Refresh downloads each suite's InRelease, verifies it with the
// archive keyring (internal/sign), applies apt's date checks, and fetches
// the Sources and Packages indexes by hash (Acquire-By-Hash), checking the
// size and SHA256 that the signed Release gives for the compressed and the
// uncompressed file; each suite is stored as an immutable generation
// swapped in atomically. FindSource and FetchSource resolve a source package
// and download it, verifying the chain InRelease -> Sources -> .dsc ->
// files (Debian repository format: wiki.debian.org/DebianRepository/Format).
// LoadIndex gives the planner every Sources and Packages paragraph of the
// selected suites, parsed with the zero-copy scanner of internal/deb822.
//
// Errors callers branch on: *NotFoundError (ErrSourceNotFound),
// *HashMismatchError, *FetchError (ErrOffline when offline mode refused a
// request), ErrNotRefreshed, and sign.ErrBadSignature.
package archive
