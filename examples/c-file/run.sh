#!/usr/bin/env bash
# Builds the c-file example with zig cc for wasm32-wasi and runs it on an
# input both ways: bytes read through a --dir preopen then
# wasi_memfd_from_bytes, and a file the host attached with --preopen then
# wasi_memfd_open_preopened.
#
#   examples/c-file/run.sh [FILE.csv]     (default: inventory.csv here)
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
"$WASI_MEMFD_ZIG" cc -target wasm32-wasi -O2 -s -I "$root/guest/c" \
    -o "$out/c-file.wasm" "$here/c-file.c"

in="$(cd "$(dirname "${1:-$here/inventory.csv}")" && pwd)/$(basename "${1:-$here/inventory.csv}")"
echo "== $in read into memory through --dir, then wasi_memfd_from_bytes"
"$runner" run --dir "$(dirname "$in")::/data" "$out/c-file.wasm" "/data/$(basename "$in")"
echo "== $in attached with --preopen, then wasi_memfd_open_preopened"
"$runner" run --preopen "inventory=$in" "$out/c-file.wasm" -preopen inventory
