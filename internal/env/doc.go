// Package env owns packyard's build environments: base root filesystems
// made by mmdebstrap for a (codename, architecture, variant), cached in the
// workspace and never edited in place, and the throw-away build sessions
// entered on top of them.
//
// An environment lives in <workspace>/envs/<codename>-<arch>-<variant>/ as
// root/ (the filesystem) and manifest.json (written last: a directory
// without a valid manifest is never used). A session mounts a kernel
// overlayfs over root/ inside a private mount namespace held by one locked
// OS thread, and runs each step with bwrap in fresh pid, ipc, uts and mount
// namespaces (and a network namespace with loopback only when the step asks
// for no network). The mount dies with the namespace, and every process
// dies with bwrap's pid namespace, so nothing outlives the session.
package env
