#!/usr/bin/env bash
# The fuzz targets (fuzz/, see fuzz/README.md), opt-in, next to the
# benchmarks: installs the pinned cargo-fuzz into target/tools (from
# crates.io, once), builds fuzz_targets/TARGET.rs instrumented into
# target/fuzz, and runs it for SECONDS (default 60). TARGET is `model`
# (memory files against the plain model), `paths` (memory directories
# against wasmtime-wasi on a real directory), or `all` (the default: each
# in turn, SECONDS each). The test command only compile-checks the targets.
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET] [-- cargo fuzz build flags]
#   bash scripts/fuzz.sh 3600            # an hour each, AddressSanitizer
#   bash scripts/fuzz.sh 600 paths       # the path model, ten minutes
#   bash scripts/fuzz.sh 60 all -- -s none   # a minute each, coverage guidance only
#
# cargo-fuzz needs nightly rustc: rustup's `nightly` toolchain if it is
# installed, else the stable toolchain with RUSTC_BOOTSTRAP=1 (which lets it
# take the same -Z flags). A cold build compiles wasmtime again with the
# fuzzing instrumentation: many minutes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

seconds="${1:-60}"
[ $# -gt 0 ] && shift
targets=(model paths)
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
    case "$1" in
        model | paths) targets=("$1") ;;
        all) ;;
        *) echo "fuzz.sh: no fuzz target $1 (model, paths or all)" >&2; exit 2 ;;
    esac
    shift
fi
[ "${1:-}" = "--" ] && shift

CARGO_FUZZ_VERSION=0.13.2
tools="$root/target/tools"

if ! "$tools/bin/cargo-fuzz" --version 2>/dev/null | grep -qx "cargo-fuzz $CARGO_FUZZ_VERSION"; then
    echo "fuzz.sh: installing cargo-fuzz $CARGO_FUZZ_VERSION into $tools" >&2
    cargo install cargo-fuzz --version "=$CARGO_FUZZ_VERSION" --locked --root "$tools"
fi

if rustup run nightly rustc --version >/dev/null 2>&1; then
    toolchain=(+nightly)
else
    echo "fuzz.sh: no nightly toolchain; using stable with RUSTC_BOOTSTRAP=1" >&2
    toolchain=()
    export RUSTC_BOOTSTRAP=1
fi

export PATH="$tools/bin:$PATH"
export CARGO_TARGET_DIR="$root/target/fuzz"
cd fuzz
for target in "${targets[@]}"; do
    cargo "${toolchain[@]}" fuzz build -O "$@" "$target"
    echo "fuzz.sh: running the $target target for $seconds s" >&2
    cargo "${toolchain[@]}" fuzz run -O "$@" "$target" -- -max_total_time="$seconds" -len_control=0
done
