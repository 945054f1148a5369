//! Baseline: a guest's `wasi_memfd.from_bytes` + `fd_close` against the
//! native work it stands for (`memfd_create` + `write` + seals + `close`).
//!
//! `cargo bench --bench from_bytes` (no extra crates: a plain timing loop,
//! the median of several rounds). Numbers are for comparison on one
//! machine, not assertions.

use std::hint::black_box;
use std::time::{Duration, Instant};

use rustix::fs::{fcntl_add_seals, memfd_create, MemfdFlags, SealFlags};
use wasi_memfd::p1::WasiMemfdP1Ctx;
use wasi_memfd::WasiMemfdCtx;
use wasmtime::{Engine, Linker, Module, Store, TypedFunc};
use wasmtime_wasi::WasiCtxBuilder;

const SIZES: &[usize] = &[64, 4096, 64 * 1024, 1 << 20, 16 << 20];
const ROUNDS: usize = 7;

/// `run(len, iterations)`: from_bytes of `len` bytes at 65536, then
/// fd_close, `iterations` times; returns the first failing errno or 0.
const GUEST: &str = r#"(module
  (import "wasi_memfd" "from_bytes" (func $fb (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
  (memory (export "memory") 300)
  (func (export "run") (param $len i32) (param $n i32) (result i32) (local $e i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $e (call $fb (i32.const 65536) (local.get $len) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
      (br_if $done (local.get $e))
      (local.set $e (call $close (i32.load (i32.const 0))))
      (br_if $done (local.get $e))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $e)))"#;

fn native(data: &[u8]) {
    let fd = memfd_create(c"bench", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING).unwrap();
    let mut done = 0;
    while done < data.len() {
        done += rustix::io::pwrite(&fd, &data[done..], done as u64).unwrap();
    }
    fcntl_add_seals(
        &fd,
        SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE | SealFlags::SEAL,
    )
    .unwrap();
    black_box(fd);
}

/// Iterations per round so a round takes roughly 100 ms.
fn iterations(len: usize) -> u32 {
    (200_000_000 / (len + 20_000)).clamp(5, 20_000) as u32
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let engine = Engine::default();
    let module = Module::new(&engine, GUEST).unwrap();
    let mut linker = Linker::<WasiMemfdP1Ctx>::new(&engine);
    wasi_memfd::p1::add_to_linker_sync(&mut linker, |ctx| ctx).unwrap();
    let wasi = WasiCtxBuilder::new().build_p1();
    let mut store = Store::new(&engine, WasiMemfdP1Ctx::new(wasi, WasiMemfdCtx::default()));
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run: TypedFunc<(i32, i32), i32> = instance.get_typed_func(&mut store, "run").unwrap();
    let memory = instance.get_memory(&mut store, "memory").unwrap();

    println!(
        "{:>10}  {:>12}  {:>12}  {:>6}",
        "bytes", "native", "guest", "ratio"
    );
    for &len in SIZES {
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        memory.write(&mut store, 65536, &data).unwrap();
        let n = iterations(len);
        let mut native_t = Vec::new();
        let mut guest_t = Vec::new();
        for _ in 0..ROUNDS {
            let start = Instant::now();
            for _ in 0..n {
                native(&data);
            }
            native_t.push(start.elapsed() / n);
            let start = Instant::now();
            assert_eq!(run.call(&mut store, (len as i32, n as i32)).unwrap(), 0);
            guest_t.push(start.elapsed() / n);
        }
        let (a, b) = (median(native_t), median(guest_t));
        println!(
            "{len:>10}  {:>12?}  {:>12?}  {:>5.2}x",
            a,
            b,
            b.as_secs_f64() / a.as_secs_f64()
        );
    }
}
