#!/usr/bin/env bash
# The full test suite: host unit tests (fault injection among them),
# component and core-module integration tests, the model test, the guests
# in every language run through the runner, the WASI test suite, a short
# stress run, packaging, the embedding check, a build of the fuzz target and
# a compile check for macOS, FreeBSD and Windows.
#
# Installs what the guests need first, project-local where it can:
# - Go and Zig from PyPI into target/venv (scripts/toolchains.sh);
# - Debian's rustc 1.63 with its wasm32-wasi std (apt, needs root; only if
#   /usr/bin/rustc cannot build for wasm32-wasi yet). rustup's toolchain
#   stays first on PATH: the tests call /usr/bin/rustc by its full path;
# - Debian's rustc-web with its library source, unpacked into target/cross
#   (apt-get download; scripts/cross-check.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# shellcheck source=toolchains.sh
source scripts/toolchains.sh

# Debian's rust-lld needs lld-14, which rustc only recommends.
wasm_std() {
    [ -x /usr/bin/rustc ] && command -v lld-14 >/dev/null &&
        [ -d "$(/usr/bin/rustc --print sysroot)/lib/rustlib/wasm32-wasi" ]
}
if ! wasm_std; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "test.sh: need Debian's rustc + libstd-rust-dev-wasm32 (run as root, or: sudo apt-get install rustc libstd-rust-dev-wasm32 lld-14)" >&2
        exit 1
    fi
    echo "test.sh: installing Debian's rustc with its wasm32-wasi std (apt-get)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq rustc libstd-rust-dev-wasm32 lld-14 >/dev/null
    wasm_std
fi

# The wasm32-wasip2 half of the Rust guest crate (guest/rust/src/p2.rs) has no
# target here, so nothing below would compile it. The `p2-host-check` feature
# builds it on the host (wit-bindgen's imports become stubs there); clippy
# gives the full compile check (types, borrows, missing_docs) plus the lints,
# with no code generation or tests to run. `--release` keeps it in the same
# profile as the tests; only the guest crate and wit-bindgen are involved, so
# it rebuilds none of the host crates.
cargo clippy --release -p wasi-memfd-guest --features p2-host-check -- -D warnings
# ... and its documentation example, which needs the API to exist.
cargo test --release -p wasi-memfd-guest --features p2-host-check --doc

# Tests run in release: one wasmtime build serves the runner and the tests.
cargo test --release --workspace

# The WASI test suite's 72 WASIp1 tests through the runner (which the
# integration tests above built): the core-module layer stays a drop-in
# replacement for wasmtime-wasi's. CI lays shared/ beside the clone;
# WASI_TESTSUITE names another copy of the same layout.
suite="${WASI_TESTSUITE:-$root/../shared/wasi-testsuite}"
if [ -z "$(find "$suite/tests" -name '*.wasm' -print -quit 2>/dev/null)" ]; then
    echo "test.sh: FAILED: no WASI test suite binaries (.wasm) under $suite/tests; lay the suite beside the clone (../shared/wasi-testsuite) or set WASI_TESTSUITE" >&2
    exit 1
fi
python3 "$suite/run.py" "$root/target/release/wasi-memfd" run

# Stress, briefly: threads with a store each under one shared budget; it
# checks that every fd and every byte comes back, and prints files/s.
cargo run --release --quiet --example stress -- 2 3000 4096

# Every crate packages (cargo builds the packaged sources on their own, so
# nothing outside a package, such as the WIT, can be missing) and would
# publish. --allow-dirty: a local run with uncommitted work checks it too.
# cargo verifies each crate against the others through a local registry
# under target/package and keeps what it extracts from there in
# $CARGO_HOME/registry/src/-<hash>/, reusing it for the same path and
# version: a second run from the same clone would verify against the first
# run's sources. Remove this workspace's crates from those local-registry
# extractions (crates.io's directory is left alone), and what the last
# verification compiled from them (registry crates are never rechecked).
for stale in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/wasi-memfd{,-cli,-guest}-[0-9]* \
    target/debug/.fingerprint/wasi-memfd-*; do
    [ -d "$stale" ] && rm -rf "$stale"
done
cargo package --workspace --allow-dirty --quiet
cargo publish --workspace --dry-run --allow-dirty --quiet

# The README's embedding snippets, unchanged, in a new project outside the
# workspace that takes wasi-memfd from the .crate just packaged, run with
# real guests.
bash scripts/embed-check.sh

# The model fuzz target builds (cargo-fuzz on nightly, into target/fuzz; see
# fuzz/README.md for running it). Without a sanitizer: the build is a second
# wasmtime build, and ASan would double it.
bash scripts/fuzz-build.sh -s none

# macOS (shared memory filled through a mapping), FreeBSD (shared memory)
# and Windows (no memory files: `unsupported`) compile: `cargo check` of the
# library and the runner for each, std built from source with Debian's rustc-web (target/cross).
bash scripts/cross-check.sh
