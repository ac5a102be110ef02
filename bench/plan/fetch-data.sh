#!/bin/sh
# fetch-data.sh DIR [SUITE...] — download the main Sources and Packages
# (amd64, which includes Architecture: all) of each suite (default: bookworm
# trixie) into DIR/SUITE/, decompressed, for the planner's integration tests
# and benchmarks.
#
# The mirror is the first deb URI in the apt sources of this machine
# (/etc/apt/sources.list.d/*.sources, then /etc/apt/sources.list) whose
# suites include one not ending in -security, -updates or -backports;
# PACKYARD_MIRROR overrides it.
# Files already present are kept (delete them to refresh).
set -eu

dir=${1:?usage: fetch-data.sh DIR [SUITE...]}
shift
[ $# -gt 0 ] || set -- bookworm trixie
arch=${PACKYARD_ARCH:-amd64}

mirror=${PACKYARD_MIRROR:-}
if [ -z "$mirror" ]; then
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		mirror=$(awk '
			/^[Uu][Rr][Ii][Ss]:/ { uri = $2 }
			/^[Ss]uites:/ { ok = 0; for (i = 2; i <= NF; i++) if ($i !~ /-(security|updates|backports)$/) ok = 1 }
			/^$/ { if (uri != "" && ok) { print uri; done = 1; exit } uri = ""; ok = 0 }
			END { if (!done && uri != "" && ok) print uri }' "$f")
		[ -n "$mirror" ] && break
	done
fi
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
	mirror=$(awk '$1 == "deb" { u = $2; if (u ~ /^\[/) u = $3; if ($0 !~ /-security|-updates/) { print u; exit } }' /etc/apt/sources.list)
fi
[ -n "$mirror" ] || { echo "fetch-data.sh: no Debian mirror in the apt sources; set PACKYARD_MIRROR" >&2; exit 1; }
mirror=${mirror%/}

for suite in "$@"; do
	mkdir -p "$dir/$suite"
	for path in "source/Sources" "binary-$arch/Packages"; do
		out="$dir/$suite/${path##*/}"
		[ -s "$out" ] && continue
		echo "fetching $suite/main/$path.xz" >&2
		curl -fsSL --retry 3 -o "$out.xz.tmp" "$mirror/dists/$suite/main/$path.xz"
		xz -dc "$out.xz.tmp" >"$out.tmp"
		mv "$out.xz.tmp" "$out.xz"
		mv "$out.tmp" "$out"
	done
done
