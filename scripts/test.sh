#!/usr/bin/env bash
# The full test suite: host unit tests, component and core-module integration
# tests, and the Go, C and Rust guests run through the runner.
#
# Installs what the guests need first, project-local where it can:
# - Go and Zig from PyPI into target/venv (scripts/toolchains.sh);
# - Debian's rustc 1.63 with its wasm32-wasi std (apt, needs root; only if
#   /usr/bin/rustc cannot build for wasm32-wasi yet). rustup's toolchain
#   stays first on PATH: the tests call /usr/bin/rustc by its full path.
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

# Tests run in release: one wasmtime build serves the runner and the tests.
cargo test --release --workspace
