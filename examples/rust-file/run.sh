#!/usr/bin/env bash
# Builds the rust-file example for wasm32-wasip1 and runs it on a text file
# both ways: bytes read through a --dir preopen then from_bytes, and a file
# the host attached with --preopen then open_preopened.
#
#   examples/rust-file/run.sh [FILE]     (default: notes.txt here)
#
# The guest crate and the example build with a bare rustc that has the
# wasm32-wasi target: $WASI_MEMFD_RUSTC_WASM, else Debian's /usr/bin/rustc
# (apt-get install rustc libstd-rust-dev-wasm32 lld-14), as the tests do.
# Builds the runner first (scripts/runner.sh; WASI_MEMFD_RUNNER overrides it).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rustc="${WASI_MEMFD_RUSTC_WASM:-/usr/bin/rustc}"
if [ ! -x "$rustc" ]; then
    echo "run.sh: no rustc with the wasm32-wasi target at $rustc: apt-get install rustc libstd-rust-dev-wasm32 lld-14, or set WASI_MEMFD_RUSTC_WASM" >&2
    exit 1
fi
# shellcheck source=../../scripts/runner.sh
source "$root/scripts/runner.sh"
out="$root/target/guests/examples"
mkdir -p "$out"
"$rustc" --edition 2021 --crate-type rlib --crate-name wasi_memfd_guest \
    --target wasm32-wasi -O "$root/guest/rust/src/lib.rs" \
    -o "$out/libwasi_memfd_guest.rlib"
"$rustc" --edition 2021 --crate-type bin --target wasm32-wasi -O -C strip=debuginfo \
    --extern "wasi_memfd_guest=$out/libwasi_memfd_guest.rlib" \
    "$here/main.rs" -o "$out/rust-file.wasm"

in="$(cd "$(dirname "${1:-$here/notes.txt}")" && pwd)/$(basename "${1:-$here/notes.txt}")"
echo "== $in read into a Vec<u8> through --dir, then from_bytes"
"$runner" run --dir "$(dirname "$in")::/data" "$out/rust-file.wasm" "/data/$(basename "$in")"
echo "== $in attached with --preopen, then open_preopened"
"$runner" run --preopen "notes=$in" "$out/rust-file.wasm" -preopen notes
