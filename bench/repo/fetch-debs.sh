#!/bin/bash
# fetch-debs.sh CACHE N: download N real .deb files (amd64 and all, up to
# 2 MB each, spread evenly over the alphabet) of bookworm main from the
# mirror in this machine's apt sources into CACHE/debs. Idempotent.
set -euo pipefail
cache=${1:-/var/tmp/packyard-bench}
want=${2:-1200}
mkdir -p "$cache/debs" "$cache/apt/etc/sources.list.d" "$cache/apt/etc/apt.conf.d" "$cache/apt/etc/preferences.d" \
  "$cache/apt/state/lists/partial" "$cache/apt/cache/archives/partial" "$cache/apt/log"
have=$(find "$cache/debs" -name '*.deb' | wc -l)
if [ "$have" -ge "$want" ]; then exit 0; fi
# The machine's own apt sources (deb822 or one-line), unchanged.
cp /etc/apt/sources.list.d/*.sources "$cache/apt/etc/sources.list.d/" 2>/dev/null || true
cp /etc/apt/sources.list.d/*.list "$cache/apt/etc/sources.list.d/" 2>/dev/null || true
[ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$cache/apt/etc/sources.list" || : > "$cache/apt/etc/sources.list"
A=(-o Dir::Etc="$cache/apt/etc" -o Dir::State="$cache/apt/state" -o Dir::State::status=/dev/null
   -o Dir::Cache="$cache/apt/cache" -o Dir::Log="$cache/apt/log" -o Debug::NoLocking=1
   -o APT::Architecture=amd64 -o Acquire::Languages=none -o APT::Sandbox::User=root)
apt-get "${A[@]}" -qq update
pk=$(ls "$cache"/apt/state/lists/*_dists_bookworm_main_binary-amd64_Packages* | head -1)
case "$pk" in *.xz) cat=xzcat ;; *.gz) cat=zcat ;; *.lz4) cat=lz4cat ;; *) cat=cat ;; esac
$cat "$pk" | awk -v want="$want" '
  /^Package: /{p=$2} /^Architecture: /{a=$2} /^Size: /{s=$2}
  /^$/{ if ((a=="amd64"||a=="all") && s+0 <= 2000000) { n++; names[n]=p } p=a=s="" }
  END{ step=n/want; for (i=0;i<want;i++) print names[int(i*step)+1] }' | sort -u > "$cache/selection.txt"
cd "$cache/debs"
xargs -a "$cache/selection.txt" -n 200 apt-get "${A[@]}" -qq download
find "$cache/debs" -name '*.deb' | wc -l
