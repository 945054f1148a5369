#!/usr/bin/env bash
# The full test suite, for a fresh machine with Rust (rustup), Python 3 and
# Node.js with npm. It installs what it needs itself (scripts/toolchains.sh:
# project-local under target/, plus rustup targets) and ends with a table of
# its steps and their seconds.
#
# Steps: formatting, clippy and rustdoc with warnings denied; the host unit
# and integration tests (fault injection, model test, components and core
# modules) and the Rust host examples (each checks its own result), the
# guests in every language through the runner; the WASI test suite
# (../shared/wasi-testsuite, or WASI_TESTSUITE=DIR), through --dir and
# through --mem-dir; a short stress
# run; packaging and the README's
# embedding snippets built against the packaged crate; a check of the fuzz
# target; compile checks for macOS, FreeBSD and Windows.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

steps=()
started=$SECONDS
report() {
    local status=$?
    {
        echo
        echo "| step | seconds |"
        echo "|---|---:|"
        for s in "${steps[@]}"; do echo "$s"; done
        echo "| **total** | **$((SECONDS - started))** |"
        [ "$status" -eq 0 ] || echo "test.sh: FAILED (exit $status)"
    } >&2
}
trap report EXIT
# step NAME COMMAND...: runs COMMAND, timed, into the table.
step() {
    local name=$1 t0=$SECONDS
    shift
    echo "test.sh: == $name" >&2
    if "$@"; then
        steps+=("| $name | $((SECONDS - t0)) |")
    else
        local status=$?
        steps+=("| $name (**failed**) | $((SECONDS - t0)) |")
        exit "$status"
    fi
}

# The guest toolchains download while the checks below compile (network,
# not the two cores); waited for before the tests.
mkdir -p target
(bash scripts/toolchains.sh >target/toolchains.log 2>&1) &
toolchains=$!
wait_toolchains() {
    wait "$toolchains" || { cat target/toolchains.log >&2; return 1; }
}

step "cargo fmt --check" cargo fmt --all -- --check
# Every target of every crate as users build them, then with the
# test-only features: the fault tests (`fault-injection`) and the guest
# crate's wasm32-wasip2 half (`p2-host-check` compiles it on the host:
# wit-bindgen's imports become stubs there).
clippy() {
    cargo clippy --workspace --all-targets -- -D warnings &&
        cargo clippy --workspace --all-targets --features wasi-memfd-guest/p2-host-check,wasi-memfd/fault-injection -- -D warnings
}
step "cargo clippy" clippy
step "cargo doc" env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
step "guest toolchains" wait_toolchains

# Tests run in release: one wasmtime build serves the runner, the tests, the
# embedding check and the demo. `cargo test` also runs the examples `embed`,
# `component` and `native-checksum` (`test = true, harness = false` in
# host/Cargo.toml: each exits non-zero when its result is wrong). The guest crate's documentation example
# needs its wasip2 API, so its doctests run with p2-host-check.
step "cargo test" cargo test --release --workspace
# The fault-injection tests, the one build with the feature's hooks.
step "fault injection" cargo test --release -p wasi-memfd --features fault-injection --test faults
step "guest crate doctests" cargo test --release -p wasi-memfd-guest --features p2-host-check --doc

# The WASI test suite's 72 WASIp1 tests through the runner (which the tests
# above built). A missing suite fails: it is never skipped.
suite="${WASI_TESTSUITE:-$root/../shared/wasi-testsuite}"
wasi_testsuite() {
    if [ -z "$(find "$suite/tests" -name '*.wasm' -print -quit 2>/dev/null)" ]; then
        echo "test.sh: no WASI test suite binaries (.wasm) under $suite/tests; lay the suite beside the clone (../shared/wasi-testsuite) or set WASI_TESTSUITE" >&2
        return 1
    fi
    python3 "$suite/run.py" "$@" "$root/target/release/wasi-memfd" run
}
step "WASI test suite (--dir)" wasi_testsuite
# The same tests with every test's root directory a memory directory.
step "WASI test suite (--mem-dir)" wasi_testsuite --dir-flag --mem-dir


# Stress, briefly: threads with a store each under one shared budget; it
# checks that every fd and every byte comes back.
step "stress" cargo run --release --quiet --example stress -- 2 3000 4096

# Every published crate packages (nothing outside a package, such as the
# WIT, may be missing) and would publish (the test-support crate,
# `publish = false`, is neither); the packaged library is then built and run
# by the README's embedding snippets (scripts/embed-check.sh), which is the
# verification: cargo's own would build wasmtime a second time, in debug.
# --allow-dirty: a local run with uncommitted work checks it too.
package() {
    rm -rf target/package
    cargo package --workspace --exclude wasi-memfd-testing --allow-dirty --no-verify --quiet &&
        cargo publish --workspace --exclude wasi-memfd-testing --dry-run --allow-dirty --no-verify --quiet &&
        bash scripts/embed-check.sh
}
step "package + embed check" package

# The fuzz targets (model, paths) compile (the instrumented build and a real run are
# `bash scripts/fuzz.sh`, opt-in).
step "fuzz target check" cargo check --quiet --manifest-path fuzz/Cargo.toml --target-dir target

# macOS (shared memory filled through a mapping), FreeBSD (shared memory)
# and Windows (no memory files: `unsupported`) compile.
step "cross-check" bash scripts/cross-check.sh
