#!/usr/bin/env bash
# Compile-checks the library and the runner for macOS, FreeBSD and Windows,
# which this Linux machine cannot run: the shared-memory backend (on macOS
# sized with `ftruncate` and filled through a mapping) and the non-Unix
# build (every call that would make a memory file answers `unsupported`)
# must at least compile. `cargo check` only: nothing is linked or run.
#
# rustup cannot download a target's standard library here, so the check
# builds std from source (`-Zbuild-std`, with RUSTC_BOOTSTRAP=1 on a
# stable compiler). That needs a compiler and a library source of exactly
# one version: Debian's `rustc-web` and `rust-web-src` (bookworm's newer
# Rust, one source package), unpacked into target/cross with
# `apt-get download` (no root, nothing installed system-wide). The C that
# wasmtime's build scripts compile is compiled by Zig for the target
# (scripts/toolchains.sh); it is never linked.
#
# Usage: bash scripts/cross-check.sh [TARGET...]
#   default targets: aarch64-apple-darwin x86_64-unknown-freebsd
#                    x86_64-pc-windows-msvc
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=toolchains.sh
source scripts/toolchains.sh

cross="$root/target/cross"
sysroot="$cross/root"
mkdir -p "$cross/debs"

# The compiler, its std (host), its library source and its LLVM, all of the
# version apt offers now, found through the packages' dependencies.
if [ ! -x "$sysroot/usr/bin/rustc" ]; then
    if ! apt-cache show libstd-rust-web-dev >/dev/null 2>&1; then
        # No package lists yet (a fresh image).
        apt-get update -qq >/dev/null
    fi
    deps_of() { apt-cache show --no-all-versions "$1" | sed -n 's/^Depends: //p'; }
    libstd=$(deps_of libstd-rust-web-dev | grep -m1 -o 'libstd-rust-web-[0-9.]*[0-9]')
    llvm=$(deps_of "$libstd" | grep -m1 -o 'libllvm[0-9]*')
    pkgs=(rustc-web libstd-rust-web-dev rust-web-src "$libstd" "$llvm")
    (
        cd "$cross/debs"
        rm -f ./*.deb
        if ! apt-get download "${pkgs[@]}" >/dev/null 2>&1; then
            # Stale package lists name versions the archive has dropped.
            apt-get update -qq >/dev/null
            apt-get download "${pkgs[@]}" >/dev/null
        fi
    )
    rm -rf "$sysroot.tmp" && mkdir -p "$sysroot.tmp"
    for deb in "$cross"/debs/*.deb; do
        dpkg-deb -x "$deb" "$sysroot.tmp"
    done
    mv "$sysroot.tmp" "$sysroot"
fi
rustc="$sysroot/usr/bin/rustc"
export LD_LIBRARY_PATH="$sysroot/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
"$rustc" --version >/dev/null
# The source the package ships as lib/rustlib/src/rust (a relative link).
[ -f "$("$rustc" --print sysroot)/lib/rustlib/src/rust/library/Cargo.lock" ]

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

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(aarch64-apple-darwin x86_64-unknown-freebsd x86_64-pc-windows-msvc)
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
        RUSTC="$rustc" RUSTC_BOOTSTRAP=1 RUSTFLAGS="-D warnings" \
        cargo check --quiet -Zbuild-std=std,panic_abort --target "$target" \
        --target-dir "$cross/target" -p wasi-memfd -p wasi-memfd-cli
done
