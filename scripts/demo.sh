#!/usr/bin/env bash
# The demo: a Go guest gets a zip archive's bytes, turns them into a file
# descriptor with wasi-memfd, and lists and checksums the entries with
# archive/zip over the *os.File. Builds the runner and the guest first.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/../examples/run.sh" zip-lister "$@"
