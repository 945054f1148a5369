#!/usr/bin/env bash
# Runs one example guest. The memory-file examples run both ways: their
# input read by the guest through a --dir preopen and turned into a file
# with from-bytes, and the same input attached by the host with --preopen
# and opened with open-preopened. The memory-directory examples (*-memdir)
# are unmodified programs run with their input folder preloaded at /in
# (--mem-dir INPUT::/in), an empty memory directory at /out, and /out's
# final tree written with --mem-dir-out to target/examples/NAME.out (made
# afresh), which the script then lists. Builds the runner
# (scripts/runner.sh; WASI_MEMFD_RUNNER names another) and the guest
# (scripts/guests.sh) first.
#
#   bash examples/run.sh NAME [INPUT]
#
#   zip-lister     Go: archive/zip over an *os.File (the demo)
#   c-file         C: a buffer handed to fdopen and to fstat + pread
#   rust-file      Rust: a Vec<u8> as a MemFile for Read + Seek code
#   python-zip     Python (componentize-py): zipfile over a file object
#   js-zip         JavaScript (componentize-js): a MemFile reader
#   c-memdir       C: line/word/byte counts of /in's files into /out/summary.txt
#   go-memdir      Go: archive/zip into /out/archive.zip by path, read back
#   python-memdir  Python: reports written with open(), zipped by path, listed
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] || usage
name=$1
# The default input, and the name the host attaches it under.
case $name in
zip-lister | python-zip | js-zip) input=examples/zip-lister/sample.zip preopen=archive ;;
c-file) input=examples/c-file/inventory.csv preopen=inventory ;;
rust-file) input=examples/rust-file/notes.txt preopen=notes ;;
c-memdir | go-memdir | python-memdir) input=examples/$name/input preopen= ;;
*) usage ;;
esac
input="${2:-$root/$input}"
input="$(cd "$(dirname "$input")" && pwd)/$(basename "$input")"

wasm="$(bash "$root/scripts/guests.sh" "$name")"
# shellcheck source=../scripts/runner.sh
source "$root/scripts/runner.sh"

if [ -z "$preopen" ]; then
    out="$root/target/examples/$name.out"
    rm -rf "$out"
    echo "== $input preloaded at /in, /out empty, both memory directories"
    "$runner" run --mem-dir "$input::/in" --mem-dir /out --mem-dir-out "/out::$out" "$wasm" /in /out
    echo "== /out written to $out:"
    (cd "$out" && find . -mindepth 1 \( -type d -printf '  %P/\n' \) -o \( -type l -printf '  %P -> %l\n' \) \
        -o -printf '  %P  %s bytes\n' | LC_ALL=C sort)
    exit 0
fi

echo "== $input read into memory through --dir, then from-bytes"
"$runner" run --dir "$(dirname "$input")::/data" "$wasm" "/data/$(basename "$input")"
echo "== $input attached with --preopen, then open-preopened"
"$runner" run --preopen "$preopen=$input" "$wasm" -preopen "$preopen"
