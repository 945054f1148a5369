#!/usr/bin/env bash
# The model fuzz target (fuzz/, see fuzz/README.md), opt-in, next to the
# benchmarks: installs the pinned cargo-fuzz into target/tools (from
# crates.io, once), builds fuzz_targets/model.rs instrumented into
# target/fuzz, and runs it for SECONDS (default 60). The test command only
# compile-checks the target.
#
#   bash scripts/fuzz.sh [SECONDS] [-- cargo fuzz build flags]
#   bash scripts/fuzz.sh 3600            # an hour, AddressSanitizer
#   bash scripts/fuzz.sh 60 -- -s none   # a minute, coverage guidance only
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
cargo "${toolchain[@]}" fuzz build -O "$@" model
echo "fuzz.sh: running the model target for $seconds s" >&2
cargo "${toolchain[@]}" fuzz run -O "$@" model -- -max_total_time="$seconds" -len_control=0
