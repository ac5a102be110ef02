#!/bin/sh
# run.sh [DATA_DIR] — benchmark the planner against dose-builddebcheck on
# the same files, and single-target planning.
#
#   DATA_DIR (or $PACKYARD_PLAN_DATA, default /var/tmp/packyard-data) holds
#   bookworm/{Packages,Sources} and trixie/{Packages,Sources}; missing files
#   are fetched with fetch-data.sh from the mirror in the apt sources.
#   DOSE_RUNS (default 3) and RUNS (default 5) set the repetitions.
#
# Prints the median wall time (and CPU time) of dose-builddebcheck and of
# the planner's check-all over full bookworm main amd64, their ratio,
# whether both found the same unsatisfiable sources, the median time of
# planning one backport from trixie with its full closure (indexes loaded),
# and the median wall time and peak RSS of planning one bookworm target
# (PLAN_SINGLE, default hello) from the index files, loading included, as
# `packyard plan hello` does it (compiling only what the target reaches)
# and compiling every package (-compile-all, the planner before pruning).
#
# Benchmarks on this machine are serialized:
#   flock /var/tmp/packyard-bench.lock bench/plan/run.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
data=${1:-${PACKYARD_PLAN_DATA:-/var/tmp/packyard-data}}
dose_runs=${DOSE_RUNS:-3}
runs=${RUNS:-5}
target=${PLAN_TARGET:-django-graphene}
single=${PLAN_SINGLE:-hello}

"$here/fetch-data.sh" "$data" bookworm trixie
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
(cd "$root" && go build -o "$tmp/checkall" ./bench/plan/checkall && go build -o "$tmp/plantool" ./bench/plan/plantool)

pkgs="$data/bookworm/Packages"
srcs="$data/bookworm/Sources"

# median FILE: median of the first column of FILE.
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# timed OUT TIMES CMD...: run CMD with stdout to OUT, append "wall cpu" to TIMES.
timed() {
	out=$1 times=$2
	shift 2
	/usr/bin/time -f "%e %U %S" -o "$tmp/t" "$@" >"$out" 2>"$tmp/err" || [ $? -eq 1 ]
	# time(1) adds a "Command exited with non-zero status" line: skip it.
	awk '/^[0-9]/ { printf "%s %.2f\n", $1, $2 + $3 }' "$tmp/t" >>"$times"
}

echo "dose-builddebcheck $(dose-builddebcheck --version 2>/dev/null | head -1), $dose_runs runs..." >&2
: >"$tmp/dose.times"
i=0
while [ $i -lt "$dose_runs" ]; do
	timed "$tmp/dose.out" "$tmp/dose.times" dose-builddebcheck --deb-native-arch=amd64 -f "$pkgs" "$srcs"
	i=$((i + 1))
done
echo "packyard check-all, $runs runs..." >&2
: >"$tmp/ours.times"
i=0
while [ $i -lt "$runs" ]; do
	timed "$tmp/ours.out" "$tmp/ours.times" "$tmp/checkall" "$pkgs" "$srcs"
	i=$((i + 1))
done

awk '/^  package: /{ n = $2 } /^  version: /{ if (n != "") print n, $2; n = "" }' "$tmp/dose.out" | sort >"$tmp/dose.broken"
sort "$tmp/ours.out" >"$tmp/ours.broken"
if cmp -s "$tmp/dose.broken" "$tmp/ours.broken"; then agree=yes; else agree=NO; fi

dose_wall=$(median "$tmp/dose.times")
ours_wall=$(median "$tmp/ours.times")
awk '{ print $2 }' "$tmp/dose.times" >"$tmp/dose.cpu"
awk '{ print $2 }' "$tmp/ours.times" >"$tmp/ours.cpu"
dose_cpu=$(median "$tmp/dose.cpu")
ours_cpu=$(median "$tmp/ours.cpu")

"$tmp/plantool" -packages "$pkgs" -from-sources "$data/trixie/Sources" -from-packages "$data/trixie/Packages" \
	-repeat 21 "$target" >"$tmp/plan.out" 2>"$tmp/plan.err" || true
plan_line=$(grep '^load' "$tmp/plan.err" || true)

# single MODE FLAGS...: plan $single RUNS times; median wall and peak RSS
# into $tmp/MODE.wall and $tmp/MODE.rss.
single() {
	mode=$1
	shift
	: >"$tmp/$mode.times"
	i=0
	while [ $i -lt "$runs" ]; do
		/usr/bin/time -f "%e %M" -o "$tmp/t" "$tmp/plantool" "$@" -packages "$pkgs" -sources "$srcs" "$single" >/dev/null 2>&1 || true
		awk '/^[0-9]/' "$tmp/t" >>"$tmp/$mode.times"
		i=$((i + 1))
	done
	median "$tmp/$mode.times" >"$tmp/$mode.wall"
	awk '{ print $2 }' "$tmp/$mode.times" >"$tmp/$mode.rsscol"
	median "$tmp/$mode.rsscol" | awk '{ printf "%d", $1 / 1024 }' >"$tmp/$mode.rss"
}
echo "plan $single, $runs runs each..." >&2
single pruned
single full -compile-all

cat <<REPORT
check-all over bookworm main amd64 ($(wc -l <"$tmp/dose.broken") unsatisfiable sources)
  dose-builddebcheck   median wall ${dose_wall}s  cpu ${dose_cpu}s  ($dose_runs runs)
  packyard check-all   median wall ${ours_wall}s  cpu ${ours_cpu}s  ($runs runs, loading and parsing included)
  speedup              wall $(awk -v a="$dose_wall" -v b="$ours_wall" 'BEGIN { printf "%.1fx", a / b }')  cpu $(awk -v a="$dose_cpu" -v b="$ours_cpu" 'BEGIN { printf "%.1fx", a / b }')
  same unsatisfiable set: $agree
plan $target from trixie for bookworm (full closure, $(grep -cE '^  [a-z].*  (target|build-dependency)' "$tmp/plan.out" || true) items)
  $plan_line
plan $single for bookworm from the index files (load included)
  compile what it reaches  median wall $(cat "$tmp/pruned.wall")s  peak RSS $(cat "$tmp/pruned.rss") MB  ($runs runs)
  compile every package    median wall $(cat "$tmp/full.wall")s  peak RSS $(cat "$tmp/full.rss") MB
REPORT
[ "$agree" = yes ]
