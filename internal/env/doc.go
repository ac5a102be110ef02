// Package env owns packyard's build environments: base root filesystems
// made by mmdebstrap for a (codename, architecture, variant), cached in the
// workspace and never edited in place, the build-dependency layers stacked
// on them, the content-addressed .deb cache, and the throw-away build
// sessions entered on top.
//
// Layout under <workspace>:
//
//	envs/<codename>-<arch>-<variant>/root/           the environment (mmdebstrap --variant=buildd)
//	envs/<codename>-<arch>-<variant>/manifest.json   written last; checksums of dpkg status and the tree
//	envs/<codename>-<arch>-<variant>/use.lock        shared-locked by every session using it
//	envs/<codename>-<arch>-<variant>/layers/<hash>/  build-dependency layers (hash of name=version set)
//	envs/<codename>-<arch>-<variant>/layers/index/   build inputs -> layer hash, for apt-free rebuilds
//	cache/debs/sha256/<sum>.deb, cache/debs/by-name/ the .deb cache shared by all environments
//	tmp/sessions/<id>/                               the session registry (upper, work, merged, build)
//	<sbuild cache>/<TarballName>                     an environment's tarball for sbuild (build.Sbuild's places)
//
// A directory without a valid manifest is never used: Ensure rebuilds it.
//
// A session mounts a kernel overlayfs (layers and the environment as lower
// directories) inside a private mount namespace held by one locked OS
// thread, and runs each step with bwrap in fresh pid, ipc, uts and mount
// namespaces, with a minimal /proc and /dev, and a network namespace with
// only loopback unless the step asks for the network. The mount dies with
// the namespace and every process with bwrap's pid namespace (Run waits
// for it to empty), so nothing outlives a session, even when packyard is
// killed; what a killed packyard leaves on disk is cleaned by GC, which
// OpenSession also runs. Tarballs of environments that are gone or changed
// are removed by CollectTarballs unless a build holds them (UseTarball).
//
// Without root (packyard run by an ordinary user with /etc/subuid and
// /etc/subgid ranges) the same happens inside a user namespace that maps
// root to the user and 1..65535 to the user's first subordinate range
// (unshare --map-auto --map-root-user): environments are made by
// mmdebstrap --mode=unshare run as root of that namespace, and a session
// is held by an unshare process with its own mount and pid namespaces that
// mounts the overlay (kernel overlayfs with userxattr on Linux 5.11 and
// later, else fuse-overlayfs, config build.overlay) and lives until its
// stdin closes; steps enter it with nsenter and run bwrap as before. Files
// that belong to subordinate ids are removed from inside the namespace.
// CheckRootless names what the host lacks (*run.NotFoundError,
// *SubIDError, *FuseDeviceError).
package env
