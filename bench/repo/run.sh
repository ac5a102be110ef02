#!/bin/bash
# bench/repo/run.sh: packyard's repository engine against reprepro and aptly.
#
#  1. The same 1,200 real .debs of bookworm main (downloaded once from the
#     mirror in this machine's apt sources into $PACKYARD_BENCH_CACHE,
#     default /var/tmp/packyard-bench) are added to an empty repository and
#     published signed:
#       packyard  benchrepo add (repo.Add: store, indexes, Release, InRelease, Release.gpg)
#       reprepro  includedeb --export=never, then export (SignWith)
#       aptly     repo add, then publish repo (gpg)
#     once without Contents indexes (reprepro makes none; aptly -skip-contents;
#     packyard skip-contents) and once with them (aptly's and packyard's default).
#     packyard runs both copying its inputs (repo.Add's default, what
#     reprepro does) and hard-linking them (AddOptions.LinkInputs, what
#     aptly's repo add does when the files are on the same filesystem).
#  2. One package is added to a generated suite of 60,000 packages and the
#     suite republished (wall time of the call, and peak RSS of the process):
#     five times at random places, and five times first in sort order (the
#     worst case: every index file is rewritten and rehashed from its start).
#     Medians and worst cases are printed.
#
# Prints each run, then medians (wall and CPU seconds) and ratios.
# RUNS (default 3) sets the repetitions; PARTS (default "add big") which
# parts run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${PACKYARD_BENCH_CACHE:-/var/tmp/packyard-bench}
runs=${RUNS:-3}
export PATH=$PATH:/usr/local/go/bin LC_ALL=C
for p in reprepro aptly gpg; do
  command -v $p >/dev/null || { echo "bench/repo: $p is not installed (apt-get install $p)" >&2; exit 1; }
done
bash "$here/fetch-debs.sh" "$cache" 1200 >/dev/null
debs=$cache/debs
(cd "$root" && go build -o "$cache/benchrepo" ./bench/repo/benchrepo)
br=$cache/benchrepo
work=$(mktemp -d "$cache/run.XXXXXX")
trap 'rm -rf "$work"' EXIT

export GNUPGHOME=$work/gnupg
mkdir -m 700 "$GNUPGHOME"
gpg --batch -q --passphrase '' --quick-gen-key "packyard bench <bench@packyard.invalid>" ed25519 sign never 2>/dev/null
key=$(gpg --list-keys --with-colons 2>/dev/null | awk -F: '/^fpr/{print $10; exit}')

TIMEFORMAT='%R %U %S'
# t CMD...: run CMD quietly, print "wall cpu" seconds.
t() {
  local out
  out=$( { time "$@" >"$work/out" 2>"$work/err"; } 2>&1 ) || { echo "failed: $*" >&2; cat "$work/err" >&2; exit 1; }
  echo "$out" | awk '{printf "%.3f %.3f\n", $1, $2+$3}'
}
# sum2 "w c" "w c": add two timings.
sum2() { echo "$1 $2" | awk '{printf "%.3f %.3f\n", $1+$3, $2+$4}'; }

# Every run gets a fresh directory, and all are deleted at the end, not
# before the next run: this machine's ext4 (no journal) skips inodes freed
# in the last minutes when it allocates new ones, so deleting one run's
# thousands of files would slow down every tool's next run (mkdir and
# create then scan past them).
fresh() { mktemp -d "$work/$1.XXXXXX"; }
# settle: before each tool's timed part, write back (untimed) what the
# tools before it left dirty. Otherwise the kernel writes back the previous
# tool's 232 MB of copies during the next tool's timing: a 0.6 s run pays
# for nearly all of it, a 6 s run for a tenth.
settle() { sync; }
packyard() { # packyard CONTENTS [LINK]
  local ws
  ws=$(fresh py)
  # The empty repository and its key are made first, untimed, as aptly's
  # repo create and reprepro's conf/distributions are.
  "$br" init -workspace "$ws" >/dev/null
  settle
  t "$br" add -contents="$1" -link="${2:-false}" -workspace "$ws" "$debs"
}
reprepro_run() {
  local rp a b
  rp=$(fresh rp); mkdir -p "$rp/conf"
  printf 'Codename: bookworm\nArchitectures: amd64\nComponents: main\nSignWith: %s\n' "$key" >"$rp/conf/distributions"
  settle
  a=$(t reprepro -b "$rp" --export=never includedeb bookworm "$debs"/*.deb)
  b=$(t reprepro -b "$rp" export bookworm)
  sum2 "$a" "$b"
}
aptly_run() { # aptly EXTRA-PUBLISH-FLAGS
  local ap a b
  ap=$(fresh ap)
  printf '{"rootDir": "%s", "gpgProvider": "gpg", "architectures": ["amd64"]}\n' "$ap/root" >"$ap/aptly.conf"
  local A=(aptly -config="$ap/aptly.conf")
  "${A[@]}" repo create -distribution=bookworm -component=main bench >/dev/null
  settle
  a=$(t "${A[@]}" repo add bench "$debs")
  b=$(t "${A[@]}" publish repo -batch -gpg-key="$key" $1 bench)
  sum2 "$a" "$b"
}

parts=${PARTS:-add big}
declare -A res
median() { # median COLUMN <<< "lines"
  awk NF | sort -n -k"$1" | awk -v c="$1" '{v[NR]=$c} END{ if (NR%2) printf "%.3f", v[(NR+1)/2]; else printf "%.3f", (v[NR/2]+v[NR/2+1])/2 }'
}
if [[ " $parts " == *" add "* ]]; then
echo "== 1,200 real .debs ($(du -sh "$debs" | cut -f1)), add + signed publish, $runs runs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$runs"); do
  res[py_nc]+="$(packyard false)"$'\n'
  res[py_ln]+="$(packyard false true)"$'\n'
  res[rp_nc]+="$(reprepro_run)"$'\n'
  res[ap_nc]+="$(aptly_run -skip-contents)"$'\n'
  res[py_c]+="$(packyard true)"$'\n'
  res[ap_c]+="$(aptly_run "")"$'\n'
  echo "run $i done (load $(cut -d' ' -f1 /proc/loadavg))"
done
row() { # row LABEL KEY BASEKEY
  local w c bw bc
  w=$(median 1 <<<"${res[$2]}"); c=$(median 2 <<<"${res[$2]}")
  bw=$(median 1 <<<"${res[$3]}"); bc=$(median 2 <<<"${res[$3]}")
  printf '%-34s wall %8.3f s  cpu %8.3f s  packyard is %5.1fx faster (wall), %5.1fx (cpu)\n' "$1" "$w" "$c" \
    "$(awk -v a="$w" -v b="$bw" 'BEGIN{print a/b}')" "$(awk -v a="$c" -v b="$bc" 'BEGIN{print a/b}')"
}
echo "-- without Contents; packyard copies its inputs (repo.Add), like reprepro"
row "packyard (skip-contents)" py_nc py_nc
row "reprepro includedeb+export" rp_nc py_nc
row "aptly add+publish -skip-contents" ap_nc py_nc
echo "-- without Contents; packyard hard-links its inputs (AddOptions.LinkInputs), as aptly's repo add does"
row "packyard (skip-contents, link)" py_ln py_ln
row "reprepro includedeb+export" rp_nc py_ln
row "aptly add+publish -skip-contents" ap_nc py_ln
echo "-- with Contents-amd64"
row "packyard" py_c py_c
row "aptly add+publish" ap_c py_c
for k in py_nc py_ln rp_nc ap_nc py_c ap_c; do printf '%s: %s\n' "$k" "$(tr '\n' ';' <<<"${res[$k]}")"; done
fi
[[ " $parts " == *" big "* ]] || exit 0

echo "== adding one package to a suite of 60,000 packages"
# What the runs above left dirty is written back first (untimed): the
# publish's fsyncs would otherwise queue behind it.
sync
big=$cache/big
if [ ! -f "$big/.done" ]; then
  rm -rf "$big"
  echo "generating the suite once (cached in $big)..."
  "$br" gen -n 60000 -workspace "$big" >/dev/null
  touch "$big/.done"
fi
one=""
words=(lib python3 golang node fonts texlive ruby perl gir1.2 x11)
for i in $(seq 5); do
  # A name that sorts to a random place inside the generated suite.
  name="gen-${words[RANDOM % 10]}-$(printf %05d $((RANDOM % 60000)))x$i"
  j=$("$br" addone -workspace "$big" -name "$name")
  echo "$j"
  one+="$(echo "$j" | sed -E 's/.*"cpu_seconds":([0-9.e-]+).*"maxrss_mib":([0-9.]+).*"seconds":([0-9.e-]+).*/\3 \2 \1/')"$'\n'
done
# The worst case: a name that sorts before every other ("0..." < "a..."),
# so the first chunk of Packages changes and no part of any index file can
# be resumed from the previous generation's checkpoints.
first=""
for i in $(seq 5); do
  j=$("$br" addone -workspace "$big" -name "0first-$(date +%s%N)-$i")
  echo "$j"
  first+="$(echo "$j" | sed -E 's/.*"cpu_seconds":([0-9.e-]+).*"maxrss_mib":([0-9.]+).*"seconds":([0-9.e-]+).*/\3 \2 \1/')"$'\n'
done
max() { awk NF | sort -n -k"$1" | tail -1 | awk -v c="$1" '{printf "%.3f", $c}'; }
ms() { awk '{printf "%.1f", $1*1000}'; }
printf 'add one + republish, random place: median wall %s ms, worst %s ms (limit 200), cpu %s ms, peak RSS %.0f MiB (limit 500)\n' \
  "$(median 1 <<<"$one" | ms)" "$(max 1 <<<"$one" | ms)" "$(median 3 <<<"$one" | ms)" "$(max 2 <<<"$one")"
printf 'add one + republish, first place:  median wall %s ms, worst %s ms (limit 200), cpu %s ms, peak RSS %.0f MiB\n' \
  "$(median 1 <<<"$first" | ms)" "$(max 1 <<<"$first" | ms)" "$(median 3 <<<"$first" | ms)" "$(max 2 <<<"$first")"
echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
