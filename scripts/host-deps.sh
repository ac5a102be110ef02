#!/bin/bash
# Installs the Debian tools packyard drives and its tests use as oracles.
# Idempotent; needs root. Used by the Quickstart, `make deps` and .ci/run.
set -euo pipefail
pkgs=(
  mmdebstrap bubblewrap fuse-overlayfs fuse3 uidmap arch-test fakeroot
  sbuild dpkg-dev devscripts lintian
  dose-distcheck dose-builddebcheck
  gpgv sqv apt-utils reprepro aptly
  dput xorriso debian-archive-keyring
  ca-certificates curl xz-utils git make gnupg iproute2 util-linux
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
