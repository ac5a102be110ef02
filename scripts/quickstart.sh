#!/bin/bash
# Quickstart: build hello from the Debian archive into packyard's own signed
# repository. The last line packyard prints is the apt sources line that
# installs from it.
set -euo pipefail
cd "$(dirname "$0")/.."
./bin/packyard init
./bin/packyard refresh
./bin/packyard build hello
