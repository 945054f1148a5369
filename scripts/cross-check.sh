#!/usr/bin/env bash
# Compile-checks the library and the runner for macOS, FreeBSD and Windows,
# which this Linux machine cannot run: the shared-memory backend (on macOS
# sized with `ftruncate` and filled through a mapping) and the non-Unix
# build (every call that would make a memory file answers `unsupported`)
# must at least compile. `cargo check` only: nothing is linked or run.
#
# The targets' standard libraries come from rustup (`rustup target add`)
# where it can download them. Where it cannot, std is built from source
# (`-Zbuild-std`, with RUSTC_BOOTSTRAP=1 on a stable compiler), which needs
# a compiler and a library source of exactly one version: Debian's
# `rustc-web` and `rust-web-src` (bookworm's newer Rust, one source
# package), fetched with `apt-get download` (no root, nothing installed
# system-wide) and unpacked into ${XDG_CACHE_HOME:-~/.cache}/wasi-memfd/,
# under the packages' version, so a machine fetches each version once, as
# cargo caches crates. The C that wasmtime's build scripts compile is
# compiled by Zig for the target (scripts/toolchains.sh); it is never
# linked.
#
# Usage: bash scripts/cross-check.sh [TARGET...]
#   default targets: aarch64-apple-darwin x86_64-unknown-freebsd
#                    x86_64-pc-windows-msvc
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(aarch64-apple-darwin x86_64-unknown-freebsd x86_64-pc-windows-msvc)
# shellcheck source=toolchains.sh
source scripts/toolchains.sh
cross="$root/target/cross"
mkdir -p "$cross"

# Where rustup can add the targets, the installed toolchain checks them.
check_env=()
build_std=()
# rustup's targets share target/ with the other builds (their build scripts
# and proc macros are the host's); a compiler of its own gets a directory of
# its own.
target_dir="$root/target"
if command -v rustup >/dev/null 2>&1 && rustup target add "${targets[@]}" >/dev/null 2>&1; then
    echo "cross-check.sh: std for ${targets[*]} from rustup" >&2
else
    echo "cross-check.sh: rustup cannot add ${targets[*]}: building std from Debian's rustc-web source" >&2
    if ! apt-cache show libstd-rust-web-dev >/dev/null 2>&1; then
        # No package lists yet (a fresh image).
        apt-get update -qq >/dev/null
    fi
    deps_of() { apt-cache show --no-all-versions "$1" | sed -n 's/^Depends: //p'; }
    version=$(apt-cache show --no-all-versions rustc-web | sed -n 's/^Version: //p')
    cache="${XDG_CACHE_HOME:-$HOME/.cache}/wasi-memfd/rustc-web-$version"
    sysroot="$cache/root"
    if [ ! -x "$sysroot/usr/bin/rustc" ]; then
        # The compiler, its std (host), its library source and its LLVM,
        # found through the packages' dependencies.
        libstd=$(deps_of libstd-rust-web-dev | grep -m1 -o 'libstd-rust-web-[0-9.]*[0-9]')
        llvm=$(deps_of "$libstd" | grep -m1 -o 'libllvm[0-9]*')
        pkgs=(rustc-web libstd-rust-web-dev rust-web-src "$libstd" "$llvm")
        mkdir -p "$cache/debs"
        (
            cd "$cache/debs"
            rm -f ./*.deb
            if ! apt-get download "${pkgs[@]}" >/dev/null 2>&1; then
                # Stale package lists name versions the archive has dropped.
                apt-get update -qq >/dev/null
                apt-get download "${pkgs[@]}" >/dev/null
            fi
        )
        rm -rf "$sysroot.tmp" && mkdir -p "$sysroot.tmp"
        for deb in "$cache"/debs/*.deb; do
            dpkg-deb -x "$deb" "$sysroot.tmp"
        done
        rm -rf "$cache/debs"
        mv "$sysroot.tmp" "$sysroot"
    fi
    rustc="$sysroot/usr/bin/rustc"
    export LD_LIBRARY_PATH="$sysroot/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    "$rustc" --version >/dev/null
    # The source the package ships as lib/rustlib/src/rust (a relative link).
    [ -f "$("$rustc" --print sysroot)/lib/rustlib/src/rust/library/Cargo.lock" ]
    check_env=(RUSTC="$rustc" RUSTC_BOOTSTRAP=1)
    build_std=(-Zbuild-std=std,panic_abort)
    target_dir="$cross/target"
fi

# Zig as the target's C compiler; cc-rs adds its own --target, which names
# the target as clang spells it, not Zig: dropped.
cat >"$cross/zig-cc" <<'EOF'
#!/bin/sh
for a in "$@"; do
    shift
    case $a in --target=*) ;; *) set -- "$@" "$a" ;; esac
done
exec "$WASI_MEMFD_ZIG" cc -target "$WASI_MEMFD_ZIG_TARGET" "$@"
EOF
chmod +x "$cross/zig-cc"
export WASI_MEMFD_ZIG

for target in "${targets[@]}"; do
    var=$(echo "$target" | tr - _)
    case $target in
    *-apple-darwin) zig_target="${target%%-*}-macos" ar=(ar) ;;
    *-unknown-freebsd) zig_target="${target%%-*}-freebsd" ar=(ar) ;;
    # Zig has MinGW's headers, not the Windows SDK's: the C is only
    # compiled, never linked, so MinGW's serve. MSVC's archiver, though.
    *-windows-msvc) zig_target="${target%%-*}-windows-gnu" ar=(lib) ;;
    *) echo "cross-check.sh: no C compiler set up for $target" >&2 && exit 1 ;;
    esac
    echo "cross-check.sh: cargo check --target $target" >&2
    env WASI_MEMFD_ZIG_TARGET="$zig_target" \
        "CC_$var=$cross/zig-cc" "AR_$var=$WASI_MEMFD_ZIG ${ar[*]}" \
        "${check_env[@]}" RUSTFLAGS="-D warnings" \
        cargo check --quiet "${build_std[@]}" --target "$target" \
        --target-dir "$target_dir" -p wasi-memfd -p wasi-memfd-cli
done
