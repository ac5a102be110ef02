// Package e2e holds packyard's end-to-end tests: the real binary against the
// real Debian archive (through the machine's apt sources), real mmdebstrap,
// bwrap and dpkg-buildpackage, and real apt-get installing the results from
// packyard's repository in a fresh root filesystem. They carry the
// integration build tag and need root.
package e2e
