#!/usr/bin/env bash
# Builds the js-zip example with componentize-js (against the project's WIT,
# world wasi-memfd:memfd/command) and lists an archive both ways: bytes read
# through a --dir preopen then fromBytes, and a file the host attached with
# --preopen then openPreopened.
#
#   examples/js-zip/run.sh [ARCHIVE.zip]   (default: ../zip-lister/sample.zip)
#
# Installs componentize-js (scripts/toolchains.sh) and builds the runner first
# (scripts/runner.sh; WASI_MEMFD_RUNNER names another runner and skips that).
# The first run compiles the 14 MB component (about 13 s); later runs use
# the runner's compiled-code cache.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=../../scripts/toolchains.sh
source "$root/scripts/toolchains.sh"
# shellcheck source=../../scripts/runner.sh
source "$root/scripts/runner.sh"
out="$root/target/guests/examples"
mkdir -p "$out"
# From the root: app.js imports ../../guest/js/wasi-memfd.js.
(cd "$root" && node guest/js/componentize.mjs examples/js-zip/app.js "$out/js-zip.wasm")

default="$root/examples/zip-lister/sample.zip"
zip="$(cd "$(dirname "${1:-$default}")" && pwd)/$(basename "${1:-$default}")"
echo "== $zip read into bytes through --dir, then fromBytes"
"$runner" run --dir "$(dirname "$zip")::/data" "$out/js-zip.wasm" "/data/$(basename "$zip")"
echo "== $zip attached with --preopen, then openPreopened"
"$runner" run --preopen "archive=$zip" "$out/js-zip.wasm" -preopen archive
