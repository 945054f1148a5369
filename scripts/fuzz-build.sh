#!/usr/bin/env bash
# Builds the model fuzz target (fuzz/, see fuzz/README.md): installs the
# pinned cargo-fuzz into target/tools (from crates.io, once) and builds
# fuzz_targets/model.rs with it into target/fuzz.
#
#   bash scripts/fuzz-build.sh            # AddressSanitizer (cargo-fuzz's default)
#   bash scripts/fuzz-build.sh -s none    # coverage guidance only, no sanitizer
#
# Extra arguments go to `cargo fuzz build`. cargo-fuzz needs nightly rustc:
# rustup's `nightly` toolchain if it is installed, else the stable toolchain
# with RUSTC_BOOTSTRAP=1 (which lets it take the same -Z flags). A cold build
# compiles wasmtime again with the fuzzing instrumentation: many minutes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

CARGO_FUZZ_VERSION=0.13.2
tools="$root/target/tools"

if ! "$tools/bin/cargo-fuzz" --version 2>/dev/null | grep -qx "cargo-fuzz $CARGO_FUZZ_VERSION"; then
    echo "fuzz-build.sh: installing cargo-fuzz $CARGO_FUZZ_VERSION into $tools" >&2
    cargo install cargo-fuzz --version "=$CARGO_FUZZ_VERSION" --locked --root "$tools"
fi

if rustup run nightly rustc --version >/dev/null 2>&1; then
    toolchain=(+nightly)
else
    echo "fuzz-build.sh: no nightly toolchain; using stable with RUSTC_BOOTSTRAP=1" >&2
    toolchain=()
    export RUSTC_BOOTSTRAP=1
fi

export PATH="$tools/bin:$PATH"
export CARGO_TARGET_DIR="$root/target/fuzz"
cd fuzz
cargo "${toolchain[@]}" fuzz build -O "$@" model
