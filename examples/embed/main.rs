//! Host embedding round trip: attach bytes, run a guest, read back what it
//! wrote.
//!
//! The host attaches a read-only file `input` and a writable 64-byte file
//! `output`, runs a WASIp1 guest (WAT, inline below) that opens both with
//! `wasi_memfd.open_preopened`, reads `input` with `fd_read`, upper-cases it
//! and writes it into `output` with `fd_write`; then the host reads `output`
//! back, and checks it: the upper-cased text, then the dots it did not
//! overwrite (a writable preopened file keeps its size). Run: `cargo run
//! --release --example embed`; it exits non-zero on a mismatch, and `cargo
//! test` runs it.

use wasi_memfd::p1::WasiMemfdP1Ctx;
use wasi_memfd::WasiMemfdCtx;
use wasmtime::{Engine, Linker, Module, Store};
use wasmtime_wasi::WasiCtxBuilder;

const GUEST: &str = r#"
(module
  (import "wasi_memfd" "open_preopened" (func $open (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "input")
  (data (i32.const 80) "output")
  (func $check (param $errno i32)
    (if (local.get $errno) (then (call $exit (local.get $errno)))))
  (func (export "_start") (local $n i32) (local $i i32) (local $c i32)
    ;; fds at 0 (input) and 4 (output)
    (call $check (call $open (i32.const 64) (i32.const 5) (i32.const 0)))
    (call $check (call $open (i32.const 80) (i32.const 6) (i32.const 4)))
    ;; iovec at 16: 1024 bytes at 4096; bytes read at 24
    (i32.store (i32.const 16) (i32.const 4096))
    (i32.store (i32.const 20) (i32.const 1024))
    (call $check (call $read (i32.load (i32.const 0)) (i32.const 16) (i32.const 1) (i32.const 24)))
    (local.set $n (i32.load (i32.const 24)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $c (i32.load8_u (i32.add (i32.const 4096) (local.get $i))))
      (if (i32.and (i32.ge_u (local.get $c) (i32.const 97)) (i32.le_u (local.get $c) (i32.const 122)))
        (then (i32.store8 (i32.add (i32.const 4096) (local.get $i)) (i32.sub (local.get $c) (i32.const 32)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i32.store (i32.const 20) (local.get $n))
    (call $check (call $write (i32.load (i32.const 4)) (i32.const 16) (i32.const 1) (i32.const 24)))))
"#;

fn main() -> wasmtime::Result<()> {
    let output = run()?;
    println!("{}", String::from_utf8_lossy(&output));
    let text = b"HELLO FROM THE HOST";
    if output.len() != 64 {
        wasmtime::bail!(
            "output is {} bytes: a writable preopened file keeps its 64",
            output.len()
        );
    }
    if &output[..text.len()] != text || output[text.len()..].iter().any(|&b| b != b'.') {
        wasmtime::bail!("output is not the upper-cased input followed by the dots");
    }
    Ok(())
}

/// Runs the guest and returns the bytes of `output` afterwards.
fn run() -> wasmtime::Result<Vec<u8>> {
    let engine = Engine::default();
    let mut linker = Linker::<WasiMemfdP1Ctx>::new(&engine);
    wasi_memfd::p1::add_to_linker_sync(&mut linker, |ctx| ctx)?;

    let memfd = WasiMemfdCtx::builder()
        .preopen_bytes("input", b"hello from the host", false)?
        .preopen_bytes("output", &[b'.'; 64], true)?
        .build();
    let wasi = WasiCtxBuilder::new().inherit_stdio().build_p1();
    let mut store = Store::new(&engine, WasiMemfdP1Ctx::new(wasi, memfd));

    let module = Module::new(&engine, GUEST)?;
    let instance = linker.instantiate(&mut store, &module)?;
    instance
        .get_typed_func::<(), ()>(&mut store, "_start")?
        .call(&mut store, ())?;

    Ok(store.data_mut().memfd().read_preopened("output")?)
}
