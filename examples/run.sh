#!/usr/bin/env bash
# Runs one example guest both ways: its input read by the guest through a
# --dir preopen and turned into a file with from-bytes, and the same input
# attached by the host with --preopen and opened with open-preopened.
# Builds the runner (scripts/runner.sh; WASI_MEMFD_RUNNER names another)
# and the guest (scripts/guests.sh) first.
#
#   bash examples/run.sh NAME [INPUT]
#
#   zip-lister   Go: archive/zip over an *os.File (the demo)
#   c-file       C: a buffer handed to fdopen and to fstat + pread
#   rust-file    Rust: a Vec<u8> as a MemFile for Read + Seek code
#   python-zip   Python (componentize-py): zipfile over a file object
#   js-zip       JavaScript (componentize-js): a MemFile reader
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] || usage
name=$1
# The default input, and the name the host attaches it under.
case $name in
zip-lister | python-zip | js-zip) input=examples/zip-lister/sample.zip preopen=archive ;;
c-file) input=examples/c-file/inventory.csv preopen=inventory ;;
rust-file) input=examples/rust-file/notes.txt preopen=notes ;;
*) usage ;;
esac
input="${2:-$root/$input}"
input="$(cd "$(dirname "$input")" && pwd)/$(basename "$input")"

wasm="$(bash "$root/scripts/guests.sh" "$name")"
# shellcheck source=../scripts/runner.sh
source "$root/scripts/runner.sh"

echo "== $input read into memory through --dir, then from-bytes"
"$runner" run --dir "$(dirname "$input")::/data" "$wasm" "/data/$(basename "$input")"
echo "== $input attached with --preopen, then open-preopened"
"$runner" run --preopen "$preopen=$input" "$wasm" -preopen "$preopen"
