//! Writes the two guests the README's embedding snippets load as
//! `guest.wasm`: `component/guest.wasm`, a `wasi:cli/command` component that
//! makes a memory file, and `p1/guest.wasm`, a core module that makes one
//! and reads it back through `fd_read`. Each traps (or fails its run) when
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

fn main() {
    let out = std::path::PathBuf::from(std::env::args_os().nth(1).expect("usage: make-guests DIR"));
    for (dir, wasm) in [
        ("component", component::memfd_command_component()),
        ("p1", wat::parse_str(P1_GUEST).expect("the p1 guest parses")),
    ] {
        std::fs::create_dir_all(out.join(dir)).unwrap();
        std::fs::write(out.join(dir).join("guest.wasm"), wasm).unwrap();
    }
}
