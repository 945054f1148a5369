#!/usr/bin/env bash
# The README's embedding snippets, built unchanged in a new project outside
# the workspace against the *packaged* wasi-memfd crate (the .crate file
# `cargo package` made, unpacked), then run with real guests.
#
# - target/embed-check/wasi-memfd-<version>/  the unpacked .crate
# - target/embed-check/app/                   a new binary crate: one binary
#   per README snippet (copied verbatim from README.md), nothing else
# - target/embed-check/guests/                the guests the snippets load,
#   written first, inside the workspace, by the test-support crate's
#   `make-guests` (tests/support/src/bin/make-guests.rs)
# The build shares target/, Cargo.lock's versions and the release profile,
# so the wasmtime the tests built is reused; only the unpacked crate and the
# snippets compile (into target/release/embed_*).
#
# Usage: bash scripts/embed-check.sh   (after `cargo package --workspace`)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

version="$(sed -n 's/^version = "\(.*\)"$/\1/p' host/Cargo.toml | head -n1)"
crate="target/package/wasi-memfd-$version.crate"
[ -f "$crate" ] || { echo "embed-check: no $crate; run cargo package --workspace first" >&2; exit 1; }

work="$root/target/embed-check"
rm -rf "$work"
mkdir -p "$work/app/src/bin"
tar -xzf "$crate" -C "$work"
cargo run --release --quiet -p wasi-memfd-testing --bin make-guests -- "$work/guests"

python3 - "$root/README.md" "$work/app/src/bin" <<'PY'
import re, sys
readme, out = open(sys.argv[1]).read(), sys.argv[2]
for heading, name in [("## Embedding (components)", "embed_component"),
                      ("## Embedding (WASIp1 core modules)", "embed_p1"),
                      ("## Embedding (memory directories)", "embed_mem_dir")]:
    section = readme[readme.index(heading):]
    block = re.search(r"```rust[^\n]*\n(.*?)```", section, re.S).group(1)
    # rustdoc's hidden lines ("# ...") are part of the program.
    code = "\n".join(l[2:] if l.startswith("# ") else ("" if l == "#" else l)
                     for l in block.splitlines())
    open(f"{out}/{name}.rs", "w").write(code + "\n")
PY

cat >"$work/app/Cargo.toml" <<TOML
[package]
name = "embed-check"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
wasi-memfd = { path = "../wasi-memfd-$version" }
wasmtime = "48"
wasmtime-wasi = "48"
# Not used by the snippets: with them the features cargo resolves for the
# shared crates (wasmparser, indexmap, ...) are the workspace build's, so
# target/'s wasmtime is reused instead of built again.
wat = "1"
wit-component = "0.254"
wit-parser = "0.254"

[workspace]

# As the repository's workspace, so its build of wasmtime is reused.
[profile.release]
overflow-checks = true
TOML
# The workspace's versions, so the tests' build of wasmtime is reused.
cp Cargo.lock "$work/app/Cargo.lock"

CARGO_TARGET_DIR="$root/target" \
    cargo build --release --offline --quiet --manifest-path "$work/app/Cargo.toml"
bin="$root/target/release"

out="$(cd "$work/guests/component" && "$bin/embed_component")"
[ "$out" = "4096 bytes of report" ] || { echo "embed-check: component snippet printed: $out" >&2; exit 1; }
(cd "$work/guests/p1" && "$bin/embed_p1")
out="$(cd "$work/guests/memdir" && "$bin/embed_mem_dir")"
[ "$out" = "copy.txt: 20 bytes" ] || { echo "embed-check: memory-directory snippet printed: $out" >&2; exit 1; }
echo "embed-check: the three README snippets built against $crate and ran"
