// Package archive reads upstream APT archives into the pantry and fetches
// verified source and binary packages from them.
//
// ParseAptSources turns the machine's apt sources (sources.list(5), both the
// one-line and the deb822 format) into config.Archive values.
//
// A Pantry (OpenPantry) holds the cached indexes under the workspace's
// pantry directory, one immutable generation per suite behind a symlink:
//
//   - Refresh downloads each suite's InRelease (Release + Release.gpg when
//     an archive has no InRelease), verifies it with the archive keyring
//     (internal/sign), applies apt's date checks (Valid-Until, dates in the
//     future, rollbacks), and fetches the Sources and Packages indexes by
//     hash (Acquire-By-Hash) when their hash changed, checking the size and
//     SHA256 that the signed Release gives for the compressed and the
//     uncompressed file. A per-archive TTL skips the network; ETag and
//     Last-Modified make the InRelease request conditional; an unchanged
//     InRelease means unchanged indexes. Suites refresh in parallel and a
//     new generation is swapped in atomically, so a killed refresh leaves
//     the previous one intact.
//   - Status reports every configured index without network (missing,
//     corrupt, age, size, stanzas), for refresh --offline and the pantry
//     table (WriteStatusTable).
//   - FindSource and FetchSource resolve a source package and download it,
//     verifying the chain InRelease -> Sources -> .dsc -> files (Debian
//     repository format: wiki.debian.org/DebianRepository/Format).
//     VerifyLocalDSC checks a .dsc given by the user.
//   - LoadIndex gives the planner every Sources and Packages paragraph of
//     the selected suites, parsed with the zero-copy scanner of
//     internal/deb822.
//   - For offline builds: ResolveDebs and FetchDebs fill a package cache
//     with verified .debs under apt's file names; CheckDebsCached and
//     CheckSourceCached name what an offline build lacks; WriteAptLists
//     installs the pantry's verified lists for apt in a build environment.
//
// Every HTTP request goes through a Client (NewClient): net/http with the
// proxy from the environment, refusing every network request when offline.
//
// Errors callers branch on: *NotFoundError (ErrSourceNotFound),
// *HashMismatchError, *FetchError (ErrOffline when offline mode refused a
// request), ErrNotRefreshed, *StatusError (ErrPantryMissing,
// ErrPantryCorrupt), *MissingError (ErrMissing), and sign.ErrBadSignature.
package archive
