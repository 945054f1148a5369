#!/usr/bin/env bash
# Sourced by the example and guest scripts: builds the `wasi-memfd` runner
# (a no-op when it is up to date, so it is never stale) and sets `runner` to
# its path. WASI_MEMFD_RUNNER names another runner and skips the build.
#
#   source scripts/runner.sh
#   "$runner" run guest.wasm
_wasi_memfd_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -n "${WASI_MEMFD_RUNNER:-}" ]; then
    runner="$WASI_MEMFD_RUNNER"
else
    (cd "$_wasi_memfd_root" && cargo build --release --quiet -p wasi-memfd-cli) || return 1
    runner="$_wasi_memfd_root/target/release/wasi-memfd"
fi
unset _wasi_memfd_root
