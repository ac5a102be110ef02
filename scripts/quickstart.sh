#!/bin/bash
# Quickstart: install the Debian tools packyard drives, build packyard, and
# build hello from the Debian archive into packyard's own signed repository.
# The last line packyard prints is the apt sources line that installs from it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
bash scripts/host-deps.sh
if ! command -v go >/dev/null; then
  echo "quickstart: Go 1.26 is needed to build packyard (expected at /usr/local/go)" >&2
  exit 7
fi
CGO_ENABLED=0 go build -trimpath -o bin/packyard ./cmd/packyard
./bin/packyard init
./bin/packyard refresh
./bin/packyard build hello
