#!/usr/bin/env bash
# Builds the python-zip example with componentize-py (against the project's
# WIT, world wasi-memfd:memfd/command) and lists an archive both ways: bytes
# read through a --dir preopen then wasi_memfd.from_bytes, and a file the
# host attached with --preopen then wasi_memfd.open_preopened.
#
#   examples/python-zip/run.sh [ARCHIVE.zip]   (default: ../zip-lister/sample.zip)
#
# Installs componentize-py (scripts/toolchains.sh) and builds the runner first
# (scripts/runner.sh; WASI_MEMFD_RUNNER names another runner and skips that).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=../../scripts/toolchains.sh
source "$root/scripts/toolchains.sh"
# shellcheck source=../../scripts/runner.sh
source "$root/scripts/runner.sh"
out="$root/target/guests/examples"
mkdir -p "$out"
"$WASI_MEMFD_COMPONENTIZE_PY" -d "$root/wit" -w wasi-memfd:memfd/command componentize \
    -p "$root/guest/python" -p "$here" app -o "$out/python-zip.wasm" >/dev/null

default="$root/examples/zip-lister/sample.zip"
zip="$(cd "$(dirname "${1:-$default}")" && pwd)/$(basename "${1:-$default}")"
echo "== $zip read into bytes through --dir, then wasi_memfd.from_bytes"
"$runner" run --dir "$(dirname "$zip")::/data" "$out/python-zip.wasm" "/data/$(basename "$zip")"
echo "== $zip attached with --preopen, then wasi_memfd.open_preopened"
"$runner" run --preopen "archive=$zip" "$out/python-zip.wasm" -preopen archive
