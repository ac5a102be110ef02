// Package repo owns packyard's own APT repository: the content-addressed pool,
// the distributions of the configured layout, and the signed generations
// published under dists/.
//
// On disk, under the workspace's repo/ directory:
//
//	pool/<component>/<prefix>/<source>/<file>   Debian pool layout; each file a hard link of a store blob
//	dists/<codename>-<id>-<suite>               symlink to the current generation of that distribution
//	.packyard/store/sha256/<ab>/<sha256>        content-addressed blobs (the pool's truth)
//	.packyard/generations/<dist>/<n>/           immutable published trees (Release, InRelease, indexes, by-hash)
//	.packyard/locks/<dist>.lock                 per-distribution publish lock (flock)
//
// A publish builds a complete new generation directory (indexes and their
// by-hash copies, then Release, InRelease and Release.gpg), fsyncs it, and
// swaps the dists/<dist> symlink to it atomically (renameio). Readers see the
// old or the new generation, never a mix. By-hash files of earlier
// generations are carried into the new one so that a client that read the
// old InRelease still finds every index it names.
//
// Formats follow the Debian repository format
// (https://wiki.debian.org/DebianRepository/Format), Debian Policy chapter 5
// for control fields, and apt-secure(8) for signatures.
package repo
