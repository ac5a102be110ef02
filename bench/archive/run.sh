#!/usr/bin/env bash
# Archive benchmarks (make bench): prints medians and ratios.
#  1. no-change refresh of the machine's apt suites (InRelease only):
#     packyard refresh against apt-get update on the same sources;
#  2. loading bookworm main Sources + Packages into the planner's index:
#     packyard's deb822 scanner against pault.ag/go/debian's decoder.
# Needs the network to the machine's Debian mirror. RUNS=n sets the count.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5}
BIN=${PACKYARD:-$PWD/bin/packyard}
[ -x "$BIN" ] || go build -o "$BIN" ./cmd/packyard
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PACKYARD_CONFIG=$work/config.yaml
py() { "$BIN" --workspace "$work/ws" "$@" 2>>"$work/packyard.log"; }

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.4f", a - b}'; }

py init >/dev/null
# A TTL of 1ns makes every refresh ask the mirror (never "fresh" from the TTL).
sed -i 's/^\(\s*ttl:\).*/\1 1ns/' "$PACKYARD_CONFIG"
grep -q 'ttl: 1ns' "$PACKYARD_CONFIG" || sed -i 's/^\(\s*signed-by:.*\)$/\1\n    ttl: 1ns/' "$PACKYARD_CONFIG"
suites=$(awk '/^ *suites:/{f=1;next} f&&/^ *- [^:]*$/{print $2;next} {f=0}' "$PACKYARD_CONFIG" | tr '\n' ' ' | sed 's/ $//')

t0=$(now); py refresh >/dev/null; t1=$(now)
printf 'first refresh (%s): %.2f s\n' "$suites" "$(sub "$t1" "$t0")"

# apt-get update on the same sources, with private lists and no caches.
aptopts=(-o Dir::State::Lists="$work/apt/lists" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
	-o Debug::NoLocking=1 -q)
mkdir -p "$work/apt/lists/partial"
apt-get update "${aptopts[@]}" >/dev/null 2>&1

py_times=() apt_times=()
for i in $(seq "$RUNS"); do
	t0=$(now); out=$(py --json refresh); t1=$(now)
	py_times+=("$(sub "$t1" "$t0")")
	echo "$out" | grep -q '"fetched": \[' && { echo "no-change refresh fetched indexes:"; echo "$out"; exit 1; }
	t0=$(now); apt-get update "${aptopts[@]}" >/dev/null 2>&1; t1=$(now)
	apt_times+=("$(sub "$t1" "$t0")")
done
bytes=$(echo "$out" | grep -o '"downloaded_bytes": [0-9]*' | awk '{s+=$2} END {print s}')
pm=$(printf '%s\n' "${py_times[@]}" | median)
am=$(printf '%s\n' "${apt_times[@]}" | median)
echo "no-change refresh, median of $RUNS (InRelease only, $bytes bytes):"
printf '  %-40s %8.3f s\n' "packyard refresh" "$pm"
printf '  %-40s %8.3f s\n' "apt-get update (same sources)" "$am"
printf '  %-40s %8.2fx\n' "ratio apt/packyard" "$(awk -v a="$am" -v b="$pm" 'BEGIN {print a / b}')"
awk -v t="$pm" 'BEGIN { exit !(t < 1.0) }' && echo "  target                                   ok (well under 1 s)" \
	|| echo "  target                                   OVER (want well under 1 s)"

# Index load: needs bookworm main in the pantry (refreshed above when the
# machine's sources include bookworm).
suite=$(echo "$suites" | tr ' ' '\n' | grep -v -- - | head -1)
go run ./bench/archive/indexload -config "$PACKYARD_CONFIG" -suite "${suite:-bookworm}" -n "$RUNS"
