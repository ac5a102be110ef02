#!/bin/bash
# Quickstart: build hello from the Debian archive into packyard's own signed
# repository, then install it from there in a fresh root filesystem.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
py=./bin/packyard
$py init
$py refresh
$py build hello
line=$($py repo source-line 2>/dev/null || true)
echo
echo "packyard built hello; to install it on this machine add to /etc/apt/sources.list.d/packyard.list:"
echo "  ${line:-see the line printed above}"
