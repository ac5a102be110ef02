// Package repo owns packyard's own APT repository: the content-addressed
// pool, the distributions of the configured layout
// (<codename>-<id>-<suite>, mini-buildd's naming), and the signed,
// immutable generations published under dists/.
//
// On disk, under the workspace's repo/ directory (the directory served to
// apt):
//
//	pool/<component>/<prefix>/<source>/<file>  Debian pool layout; hard links of store blobs
//	dists/<dist>                               symlink to the current generation of <dist>
//	snapshots/<name>/{dists/<dist>,pool}       a snapshot, usable as an apt source of its own
//	.packyard/store/sha256/<ab>/<sha256>       content-addressed blobs (the pool's truth)
//	.packyard/store/contents/<ab>/<sha256>     file list of each .deb (for Contents)
//	.packyard/chunks/<ab>/<sha256>{,.gz,.xz}   index chunks: text, gzip member, xz block
//	.packyard/generations/<dist>/<n>/          generation n: Release, InRelease, Release.gpg, indexes
//	.packyard/generations/<dist>/<n>.json      its manifest (chunks of every index, file checksums)
//	.packyard/generations/<dist>/<n>.ckpt      hash-state checkpoints of its index files
//	.packyard/byhash/<dist>/<dir>/by-hash/     by-hash files shared by all generations of <dist>
//	.packyard/snapshots/<name>.json            snapshot records
//	.packyard/journal/<dist>.json              intent of an unfinished change
//	.packyard/locks/{<dist>,pool,snapshots}.lock  flock(2) locks
//
// Adding files: each input is read once, hashed (Size, MD5 and SHA256 for
// Packages, as Debian's archive lists them; SHA1 too for .dsc and .changes
// and the files they list) and stored in the same pass, on both cores.
// packyard's own build results (files in the workspace's runs directory,
// readable by all) are hard-linked into the store; other inputs are copied
// unless AddOptions.LinkInputs is set, since a later in-place rewrite of a
// linked file would change the pool. A package's control is read from the
// head of its file, and control.tar.xz is decoded only as far as ./control
// (openXZ: therootcompany/xz, a port of XZ Embedded that decodes only what
// is read, with decoders and their dictionaries reused between packages).
// A pool name never serves two different files: an add whose
// package files are all already published, the same, publishes nothing
// (Result.Unchanged; a differing .changes or .buildinfo replaces the pooled
// one), and one whose .deb differs from the published file of that name is
// refused with a *ConflictError (ErrConflict). Udebs are listed in
// <component>/debian-installer/binary-<arch>/Packages and
// <component>/Contents-udeb-<arch>, as in Debian's archive.
//
// Indexes are sorted runs of records cut into ~64 KiB chunks: a main run
// and, in large indexes, a short tail run that receives records of new
// names (indextail.go; apt does not need indexes sorted, and the tail is
// merged back when it outgrows 1/16 of the main run). A change edits the
// few chunks it touches (recompressing only those), and writes the new
// index files by concatenating chunks: .gz files are multi-member gzip, .xz
// files are one stream with one block per chunk. New chunks are compressed
// to xz by one run of xz(1) (liblzma, every core, one block per chunk with
// --block-list; xzbatch.go) while Go makes their gzip members; without
// xz(1), ulikunitz/xz compresses them. Each file's prefix shared
// with the previous generation is copied in the kernel and its hash states
// restored from a checkpoint, so adding one package to a suite of 60,000
// reads, writes and hashes only the end of each touched index. Check
// recomputes every hash from the files and from the manifest's chunks, so
// a wrong saved hash state cannot go unnoticed.
//
// A publish writes the complete new generation (indexes, manifest, then
// Release, InRelease and Release.gpg), fsyncs everything it wrote in one
// parallel batch, and swaps dists/<dist> to it atomically
// (renameio.Symlink). Readers see the old or the new generation, never a
// mix, and never wait: they take no lock. Every <dir>/by-hash of a
// generation is a symlink into the distribution's shared by-hash store, so
// an apt-get update that read the previous InRelease still finds every
// index it names; gc removes by-hash files that no kept generation lists
// (kept: current, the layout's rollbacks, snapshots, and generations
// superseded less than the grace period, 36 hours, ago).
//
// Concurrency: publishes of one distribution are serialized by its lock;
// different distributions publish in parallel (they share the pool lock in
// shared mode; only gc's pool sweep takes it exclusively). Two adds to
// different distributions that offer different files of one pool name at
// once both pass the pool check; link(2) lets only one of them create the
// name, and the other is refused with a *ConflictError before it publishes
// (pool.link), so a pool file never changes under a published index.
//
// Crash safety: a change records its intent in the journal before anything becomes
// visible; the next command that takes the lock completes or undoes it
// (recoverDist). The current generation is always the newest, so anything
// numbered above it is an unfinished publish and is deleted.
//
// Formats follow the Debian repository format
// (https://wiki.debian.org/DebianRepository/Format), Debian Policy chapter 5
// (control fields) and 7 (relations), the xz file format 1.0.4, RFC 1952
// (gzip members), and apt-secure(8) for signatures.
package repo
