#!/usr/bin/env bash
# Build benchmarks (make bench): packyard's dpkg builder with a warm
# environment and build-dependency layer against bare dpkg-buildpackage in a
# prepared chroot and sbuild --chroot-mode=unshare, all on hello's .dsc;
# plus session setup time, as root and without root. Needs root and the
# machine's Debian mirror.
# RUNS=n (default 3) sets interleaved packyard/bare build pairs (medians
# reported); SBUILD_RUNS=n (default 1) the sbuild builds; SKIP_SBUILD=1 skips sbuild.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-3}
work=${BENCH_BUILD_DIR:-/var/tmp/packyard-bench-build}
mkdir -p "$work/src"

# hello's source package from the mirror of the machine's apt sources,
# checked against the SHA-256 sums of the bookworm Sources index.
mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources)
if ! ls "$work"/src/hello_*.dsc >/dev/null 2>&1; then
  curl -fsS "$mirror/dists/bookworm/main/source/Sources.xz" | xz -d > "$work/src/Sources"
  awk '$0=="Package: hello"{f=1} f&&/^Directory:/{d=$2} f&&/^Checksums-Sha256:/{c=1;next}
       f&&c&&/^ /{n[++k]=$3; s[k]=$1; next} f&&c{c=0} f&&/^$/{for(i=1;i<=k;i++) print d, n[i], s[i]; exit}' \
    "$work/src/Sources" > "$work/src/hello.list"
  while read -r d f s; do
    curl -fsS -o "$work/src/$f" "$mirror/$d/$f"
    echo "$s  $work/src/$f" | sha256sum -c --quiet -
  done < "$work/src/hello.list"
fi
dsc=$(ls "$work"/src/hello_*.dsc | head -1)
args=(-dsc "$dsc" -work "$work" -runs "$RUNS" -sbuild-runs "${SBUILD_RUNS:-1}")
[ "${SKIP_SBUILD:-0}" = 1 ] && args+=(-skip-sbuild)
go run ./bench/build "${args[@]}"

# Session setup without root: the rootless integration tests' ordinary user
# (made by the test, with subordinate ids) opens sessions in its own
# workspace, kernel overlayfs and fuse-overlayfs. SKIP_ROOTLESS=1 skips it.
if [ "${SKIP_ROOTLESS:-0}" != 1 ]; then
  go test -tags integration -count=1 -run '^TestRootlessSessionSetup$' -v ./internal/env 2>&1 |
    grep -E '^ +rootless session setup' | sed 's/^ *//' ||
    echo "rootless session setup: not measured (see go test -tags integration -run TestRootlessSessionSetup -v ./internal/env)"
fi
