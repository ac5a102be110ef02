// Package offline holds the integration tests of offline builds: packyard
// primes real Debian packages online, then builds them with --offline in a
// network namespace that has only loopback, and apt-get installs the
// results; a missing cached .deb must stop the offline build before it
// starts. They carry the integration build tag and need root.
package offline
