//! A host function hands a guest's memory file to native code through its
//! fd: no second copy of the bytes.
//!
//! The guest (a WASIp1 module, WAT inline below) turns 1 MiB of its memory
//! into a file with `wasi_memfd.from_bytes` and passes the fd to the host
//! import `native.checksum`. The host looks the fd up with
//! [`WasiMemfdP1Ctx::memory_file`], maps the sealed file read-only and sums
//! it where it lies (FNV-1a, 64 bits). The host also gives the guest a file
//! of its own bytes with [`WasiMemfdP1Ctx::from_bytes`] (`native.greeting`),
//! which the guest checksums the same way.
//!
//! Both sums are checked against the bytes. Run: `cargo run --release
//! --example native-checksum`; it exits non-zero on a mismatch, and `cargo
//! test` runs it.

use wasi_memfd::p1::WasiMemfdP1Ctx;
use wasi_memfd::{MemoryFile, WasiMemfdCtx};
use wasmtime::{Caller, Engine, Linker, Module, Store};
use wasmtime_wasi::WasiCtxBuilder;

/// What the host gives the guest through `native.greeting`.
const GREETING: &[u8] = b"hello from the host, as a file";

/// Bytes the guest fills with its pattern (`i * 7 mod 256`) and hands over.
const LEN: usize = 1 << 20;

const GUEST: &str = r#"
(module
  (import "wasi_memfd" "from_bytes" (func $from_bytes (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "native" "checksum" (func $checksum (param i32) (result i64)))
  (import "native" "greeting" (func $greeting (result i32)))
  (memory (export "memory") 17)
  ;; Its own bytes: fill 1 MiB at 64 KiB, make a file, have it summed.
  (func (export "checksum_own") (result i64) (local $i i32)
    (loop $fill
      (i32.store8 (i32.add (i32.const 65536) (local.get $i)) (i32.mul (local.get $i) (i32.const 7)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 1048576))))
    (if (call $from_bytes (i32.const 65536) (i32.const 1048576) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
      (then (return (i64.const -1))))
    (call $checksum (i32.load (i32.const 0))))
  ;; A file the host made: sum it the same way.
  (func (export "checksum_greeting") (result i64)
    (call $checksum (call $greeting))))
"#;

/// FNV-1a over `bytes`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Sums a memory file in place, through a read-only shared mapping of its
/// fd: the native-code side of the example.
fn checksum_mapped(file: &MemoryFile) -> std::io::Result<u64> {
    use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};
    use std::ptr::null_mut;
    let len = file.size()? as usize;
    if len == 0 {
        return Ok(fnv1a(&[]));
    }
    if !file.is_sealed_read_only() {
        // Only a sealed file is guaranteed not to change under the mapping.
        return Err(std::io::Error::other("not sealed read-only"));
    }
    // SAFETY: a fresh read-only shared mapping of `len` bytes of the file
    // from offset 0. The file is sealed against writes, shrinking and
    // growth, so the bytes cannot change and no page past the end can be
    // touched while it is mapped; the slice does not outlive the mapping.
    unsafe {
        let ptr = mmap(null_mut(), len, ProtFlags::READ, MapFlags::SHARED, file, 0)?;
        let sum = fnv1a(std::slice::from_raw_parts(ptr.cast::<u8>(), len));
        munmap(ptr, len)?;
        Ok(sum)
    }
}

/// Runs the guest; returns the checksums of its own file and of the host's.
fn run() -> wasmtime::Result<(u64, u64)> {
    let engine = Engine::default();
    let mut linker = Linker::<WasiMemfdP1Ctx>::new(&engine);
    wasi_memfd::p1::add_to_linker_sync(&mut linker, |s| s)?;
    linker.func_wrap(
        "native",
        "checksum",
        |caller: Caller<'_, WasiMemfdP1Ctx>, fd: u32| -> i64 {
            // Not a memory file (or a closed fd): -1, for the guest to see.
            match caller.data().memory_file(fd) {
                Some(file) => checksum_mapped(&file).map_or(-1, |sum| sum as i64),
                None => -1,
            }
        },
    )?;
    linker.func_wrap(
        "native",
        "greeting",
        |mut caller: Caller<'_, WasiMemfdP1Ctx>| -> i32 {
            // Charged to the guest's limits like its own from_bytes.
            match caller.data_mut().from_bytes(GREETING, "greeting", false) {
                Ok(fd) => fd as i32,
                Err(_) => -1,
            }
        },
    )?;
    let wasi = WasiCtxBuilder::new().build_p1();
    let mut store = Store::new(&engine, WasiMemfdP1Ctx::new(wasi, WasiMemfdCtx::new()));
    let instance = linker.instantiate(&mut store, &Module::new(&engine, GUEST)?)?;
    let own = instance.get_typed_func::<(), i64>(&mut store, "checksum_own")?;
    let greeting = instance.get_typed_func::<(), i64>(&mut store, "checksum_greeting")?;
    let own = own.call(&mut store, ())? as u64;
    let greeting = greeting.call(&mut store, ())? as u64;
    Ok((own, greeting))
}

fn main() -> wasmtime::Result<()> {
    let (own, greeting) = run()?;
    println!("the guest's 1 MiB file, summed in place by the host: {own:016x}");
    println!("the host's greeting file, summed the same way:       {greeting:016x}");
    if own == u64::MAX {
        wasmtime::bail!("the host did not recognise the guest's fd");
    }
    let pattern: Vec<u8> = (0..LEN).map(|i| (i * 7) as u8).collect();
    if own != fnv1a(&pattern) || greeting != fnv1a(GREETING) {
        wasmtime::bail!("a checksum differs from the bytes'");
    }
    println!("both match the bytes");
    Ok(())
}
