#!/usr/bin/env bash
# Builds guests: the one place that knows how each guest the tests and the
# examples run is built. Each goes to target/guests/<name>.wasm and is
# rebuilt only when what it is built from changes: its sources, this
# script's recipe for it, or the toolchain (a hash of all three is kept
# beside it, target/guests/<name>.hash). Toolchains come from
# scripts/toolchains.sh.
#
#   bash scripts/guests.sh NAME...    build NAMEs (or `all`); print each path
#   bash scripts/guests.sh --list     the names
#
# Used by examples/run.sh and by the Rust test harness (tests/support),
# which asks for each guest once per process; several may run at once (a
# lock per guest).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=toolchains.sh
source scripts/toolchains.sh
out="$root/target/guests"
mkdir -p "$out"

# ---- recipes: inputs_NAME prints what NAME is built from; build_NAME
# builds it into "$wasm". Strict warnings everywhere: a warning fails. ----

go_vet_build() { # DIR [PACKAGE]: go vet, then go build for wasip1
    (cd "$1" && GOOS=wasip1 GOARCH=wasm "$WASI_MEMFD_GO" vet ./... &&
        GOOS=wasip1 GOARCH=wasm "$WASI_MEMFD_GO" build -o "$wasm" "${2:-.}")
}
# The C++ guest is built as strictly as the header checks build the header.
zig_strict=(-Wall -Wextra -Werror -pedantic -Wconversion -Wsign-conversion -Wshadow -Wundef)

inputs_go-memfdcheck() { echo tests/guests/go guest/go; }
build_go-memfdcheck() { go_vet_build tests/guests/go; }

# The guest/go package's own tests, as a wasip1 test binary (run in the
# runner by tests/runner/go_guest.rs).
inputs_go-memfd-package() { echo guest/go; }
build_go-memfd-package() {
    (cd guest/go && GOOS=wasip1 GOARCH=wasm "$WASI_MEMFD_GO" vet ./... &&
        GOOS=wasip1 GOARCH=wasm "$WASI_MEMFD_GO" test -c -o "$wasm" ./memfd)
}

inputs_zip-lister() { echo examples/zip-lister guest/go; }
build_zip-lister() { go_vet_build examples/zip-lister; }

inputs_c-memfd-test() { echo tests/guests/c/memfd_test.c tests/guests/c/check.h guest/c; }
build_c-memfd-test() {
    "$WASI_MEMFD_ZIG" cc -target wasm32-wasi -O2 -s -Wall -Wextra -Werror -I guest/c \
        -o "$wasm" tests/guests/c/memfd_test.c
}

# Memory directories: a plain POSIX program, no wasi_memfd.h.
inputs_c-memdir-test() { echo tests/guests/c/memdir_test.c tests/guests/c/check.h; }
build_c-memdir-test() {
    "$WASI_MEMFD_ZIG" cc -target wasm32-wasi -O2 -s -Wall -Wextra -Werror \
        -o "$wasm" tests/guests/c/memdir_test.c
}

inputs_cxx-memfd-test() { echo tests/guests/c/memfd_test.cpp guest/c; }
build_cxx-memfd-test() {
    "$WASI_MEMFD_ZIG" c++ -target wasm32-wasi -O2 -s -fno-exceptions "${zig_strict[@]}" \
        -I guest/c -o "$wasm" tests/guests/c/memfd_test.cpp
}

inputs_c-file() { echo examples/c-file/c-file.c guest/c; }
build_c-file() {
    "$WASI_MEMFD_ZIG" cc -target wasm32-wasi -O2 -s -Wall -Wextra -Werror -I guest/c \
        -o "$wasm" examples/c-file/c-file.c
}

# Memory-directory examples: unmodified programs, no wasi-memfd header.
inputs_c-memdir() { echo examples/c-memdir/c-memdir.c; }
build_c-memdir() {
    "$WASI_MEMFD_ZIG" cc -target wasm32-wasi -O2 -s -Wall -Wextra -Werror \
        -o "$wasm" examples/c-memdir/c-memdir.c
}

inputs_go-memdir() { echo examples/go-memdir/main.go examples/go-memdir/go.mod; }
build_go-memdir() { go_vet_build examples/go-memdir; }

rust_guest() { # SOURCE: the wasip1 half of guest/rust, then SOURCE against it
    local rlib="$work/libwasi_memfd_guest.rlib"
    "$WASI_MEMFD_RUSTC" --edition 2021 --crate-type rlib --crate-name wasi_memfd_guest \
        --target "$WASI_MEMFD_RUST_TARGET" -O -D warnings guest/rust/src/lib.rs -o "$rlib"
    "$WASI_MEMFD_RUSTC" --edition 2021 --crate-type bin --target "$WASI_MEMFD_RUST_TARGET" \
        -O -C strip=debuginfo -D warnings --extern "wasi_memfd_guest=$rlib" "$1" -o "$wasm"
}
inputs_rust-memfd-test() { echo tests/guests/rust/memfd_test.rs guest/rust/src; }
build_rust-memfd-test() { rust_guest tests/guests/rust/memfd_test.rs; }

inputs_rust-file() { echo examples/rust-file/main.rs guest/rust/src; }
build_rust-file() { rust_guest examples/rust-file/main.rs; }

componentize_py() { # DIR MODULE
    "$WASI_MEMFD_COMPONENTIZE_PY" -d wit -w wasi-memfd:memfd/command componentize \
        -p guest/python -p "$1" "$2" -o "$wasm" >/dev/null
}
inputs_python-memfd-test() { echo tests/guests/python guest/python wit; }
build_python-memfd-test() { componentize_py tests/guests/python memfd_test; }

# Memory directories: plain os/open() by path, no wasi_memfd import.
inputs_python-memdir-test() { echo tests/guests/python guest/python wit; }
build_python-memdir-test() { componentize_py tests/guests/python memdir_test; }

inputs_python-zip() { echo examples/python-zip guest/python wit; }
build_python-zip() { componentize_py examples/python-zip app; }

# A plain Python component: no wasi_memfd import, files by path.
inputs_python-memdir() { echo examples/python-memdir/app.py guest/python wit; }
build_python-memdir() { componentize_py examples/python-memdir app; }

componentize_js() { # SOURCE (relative to the root, which its imports assume)
    node guest/js/componentize.mjs "$1" "$wasm" >/dev/null
}
inputs_js-memfd-test() { echo tests/guests/js guest/js/wasi-memfd.js guest/js/componentize.mjs wit; }
build_js-memfd-test() { componentize_js tests/guests/js/memfd_test.js; }

inputs_js-zip() { echo examples/js-zip guest/js/wasi-memfd.js guest/js/componentize.mjs wit; }
build_js-zip() { componentize_js examples/js-zip/app.js; }

names() { declare -F | sed -n 's/^declare -f build_//p'; }

# ---- the cache ----

# What the toolchains are, for the hash: a new version rebuilds.
toolchain_id() {
    {
        "$WASI_MEMFD_GO" env GOVERSION
        "$WASI_MEMFD_ZIG" version
        echo "$WASI_MEMFD_COMPONENTIZE_PY"
        ls -d "$(dirname "$WASI_MEMFD_COMPONENTIZE_PY")"/../lib/python3*/site-packages/componentize_py-*.dist-info
        sha256sum guest/js/package-lock.json
        "$WASI_MEMFD_RUSTC" -V
        echo "$WASI_MEMFD_RUST_TARGET"
    } 2>/dev/null
}

make_guest() {
    local name=$1
    if ! declare -F "build_$name" >/dev/null; then
        echo "guests.sh: no guest named $name (see --list)" >&2
        return 1
    fi
    wasm="$out/$name.wasm"
    work="$out/$name.work"
    local hash
    # shellcheck disable=SC2046
    hash=$({
        declare -f "inputs_$name" "build_$name" rust_guest go_vet_build componentize_py componentize_js
        echo "${zig_strict[*]}"
        echo "$tool_id"
        # (Not the bytecode componentize-py leaves beside Python sources.)
        find $("inputs_$name") -name __pycache__ -prune -o -type f -print0 |
            LC_ALL=C sort -z | xargs -0 sha256sum
    } | sha256sum | cut -d' ' -f1)
    exec 9>"$out/$name.lock"
    flock 9
    if [ -f "$wasm" ] && [ "$(cat "$out/$name.hash" 2>/dev/null)" = "$hash" ]; then
        echo "$wasm"
        return 0
    fi
    rm -f "$wasm" "$out/$name.hash"
    rm -rf "$work" && mkdir -p "$work"
    local log="$work/build.log"
    if ! ("build_$name") >"$log" 2>&1; then
        echo "guests.sh: building $name failed:" >&2
        cat "$log" >&2
        return 1
    fi
    [ -f "$wasm" ] || { echo "guests.sh: $name built no $wasm" >&2; return 1; }
    echo "$hash" >"$out/$name.hash"
    exec 9>&-
    echo "$wasm"
}

case "${1:-}" in
"" | -h | --help)
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
--list)
    names
    exit 0
    ;;
esac
tool_id="$(toolchain_id)"
if [ "$1" = all ]; then
    set -- $(names)
fi
for name in "$@"; do
    make_guest "$name"
done
