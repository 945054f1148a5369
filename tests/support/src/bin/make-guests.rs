//! Writes the guests the README's embedding snippets load as `guest.wasm`:
//! `component/guest.wasm`, a `wasi:cli/command` component that makes a
//! memory file; `p1/guest.wasm`, a core module that makes one and reads it
//! back through `fd_read`; and `memdir/guest.wasm`, a core module that
//! knows nothing of wasi-memfd: it copies `/in/notes.txt` to
//! `/out/copy.txt` by path (with `memdir/input/notes.txt`, the host tree
//! the snippet preloads at `/in`). Each traps (or fails its run) when
//! wasi-memfd answers anything but success.
//!
//! `cargo run --release -p wasi-memfd-testing --bin make-guests DIR`, run by
//! `scripts/embed-check.sh` before it builds the snippets out of tree.

use wasi_memfd_testing::component;

const P1_GUEST: &str = r#"(module
  (import "wasi_memfd" "from_bytes"
    (func $from_bytes (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "bytes from the guest")
  (func (export "_start")
    ;; from_bytes(data, 20, name "", 0, flags 0, fd_out 16) must succeed.
    (if (call $from_bytes (i32.const 64) (i32.const 20) (i32.const 0) (i32.const 0)
          (i32.const 0) (i32.const 16))
      (then unreachable))
    ;; One iovec {256, 64} at 32; fd_read must give back the 20 bytes.
    (i32.store (i32.const 32) (i32.const 256))
    (i32.store (i32.const 36) (i32.const 64))
    (if (call $fd_read (i32.load (i32.const 16)) (i32.const 32) (i32.const 1) (i32.const 40))
      (then unreachable))
    (if (i32.ne (i32.load (i32.const 40)) (i32.const 20))
      (then unreachable))
    (if (i64.ne (i64.load (i32.const 256)) (i64.load (i32.const 64)))
      (then unreachable))))"#;

/// Preopens: 3 is the snippet's wasmtime-wasi directory, 4 `/in` and 5
/// `/out`, its memory directories (after wasmtime-wasi's, as `build_p1`
/// places them); the guest checks 5's name.
const MEMDIR_GUEST: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name"
    (func $prestat_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "notes.txt")
  (data (i32.const 80) "copy.txt")
  (data (i32.const 96) "/out")
  (func (export "_start")
    (if (call $prestat_name (i32.const 5) (i32.const 112) (i32.const 4)) (then unreachable))
    (if (i32.ne (i32.load (i32.const 112)) (i32.load (i32.const 96))) (then unreachable))
    ;; open /in/notes.txt read-only, read it all (up to 4 KiB)
    (if (call $open (i32.const 4) (i32.const 1) (i32.const 64) (i32.const 9) (i32.const 0)
          (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 16))
      (then unreachable))
    (i32.store (i32.const 32) (i32.const 1024))
    (i32.store (i32.const 36) (i32.const 4096))
    (if (call $fd_read (i32.load (i32.const 16)) (i32.const 32) (i32.const 1) (i32.const 40))
      (then unreachable))
    ;; create /out/copy.txt (O_CREAT | O_EXCL) and write the bytes read
    (if (call $open (i32.const 5) (i32.const 0) (i32.const 80) (i32.const 8) (i32.const 5)
          (i64.const 0x1fffffff) (i64.const 0) (i32.const 0) (i32.const 20))
      (then unreachable))
    (i32.store (i32.const 36) (i32.load (i32.const 40)))
    (if (call $fd_write (i32.load (i32.const 20)) (i32.const 32) (i32.const 1) (i32.const 44))
      (then unreachable))
    (if (i32.ne (i32.load (i32.const 44)) (i32.load (i32.const 40))) (then unreachable))))"#;

/// What the memdir snippet preloads at `/in`: 20 bytes.
const NOTES: &str = "notes from the host\n";

fn main() {
    let out = std::path::PathBuf::from(std::env::args_os().nth(1).expect("usage: make-guests DIR"));
    for (dir, wasm) in [
        ("component", component::memfd_command_component()),
        ("p1", wat::parse_str(P1_GUEST).expect("the p1 guest parses")),
        (
            "memdir",
            wat::parse_str(MEMDIR_GUEST).expect("the memdir guest parses"),
        ),
    ] {
        std::fs::create_dir_all(out.join(dir)).unwrap();
        std::fs::write(out.join(dir).join("guest.wasm"), wasm).unwrap();
    }
    let input = out.join("memdir/input");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::write(input.join("notes.txt"), NOTES).unwrap();
}
