#!/usr/bin/env bash
# Builds the zip-lister example for wasip1 and lists an archive both ways:
# bytes read through a --dir preopen then memfd.FromBytes, and a file the
# host attached with --preopen then memfd.OpenPreopened.
#
#   examples/zip-lister/run.sh [ARCHIVE.zip]     (default: sample.zip here)
#
# Builds the runner first (scripts/runner.sh; WASI_MEMFD_RUNNER overrides it).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=../../scripts/toolchains.sh
source "$root/scripts/toolchains.sh"
# shellcheck source=../../scripts/runner.sh
source "$root/scripts/runner.sh"
out="$root/target/guests/examples"
mkdir -p "$out"
(cd "$here" && GOOS=wasip1 GOARCH=wasm "$WASI_MEMFD_GO" build -o "$out/zip-lister.wasm" .)

zip="$(cd "$(dirname "${1:-$here/sample.zip}")" && pwd)/$(basename "${1:-$here/sample.zip}")"
echo "== $zip read into a []byte through --dir, then memfd.FromBytes"
"$runner" run --dir "$(dirname "$zip")::/data" "$out/zip-lister.wasm" "/data/$(basename "$zip")"
echo "== $zip attached with --preopen, then memfd.OpenPreopened"
"$runner" run --preopen "archive=$zip" "$out/zip-lister.wasm" -preopen archive
