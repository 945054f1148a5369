//! A store dropped with memory-file fds still open leaves no host fds
//! behind (core-module layer, `wasi_memfd::p1`).
//!
//! It counts `/proc/self/fd`, so it is the only test in this binary: no
//! other test can open or close fds while it counts.

use wasi_memfd::p1::{WasiMemfdP1Ctx, FIRST_FD};
use wasi_memfd::{Backend, WasiMemfdCtx};
use wasmtime::{Engine, Instance, Linker, Module, Store};
use wasmtime_wasi::WasiCtxBuilder;

/// Exports the calls that open, read, close and renumber memory fds.
const TRAMPOLINE: &str = r#"
(module
  (import "wasi_memfd" "from_bytes"
    (func $from_bytes (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_memfd" "open_preopened"
    (func $open_preopened (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_renumber"
    (func $fd_renumber (param i32 i32) (result i32)))
  ;; Wasm functions (not re-exported imports) so the host functions run
  ;; with a calling instance and find its memory.
  (func (export "from_bytes") (param i32 i32 i32 i32 i32 i32) (result i32)
    (call $from_bytes (local.get 0) (local.get 1) (local.get 2) (local.get 3)
      (local.get 4) (local.get 5)))
  (func (export "open_preopened") (param i32 i32 i32) (result i32)
    (call $open_preopened (local.get 0) (local.get 1) (local.get 2)))
  (func (export "fd_read") (param i32 i32 i32 i32) (result i32)
    (call $fd_read (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "fd_close") (param i32) (result i32) (call $fd_close (local.get 0)))
  (func (export "fd_renumber") (param i32 i32) (result i32)
    (call $fd_renumber (local.get 0) (local.get 1)))
  (memory (export "memory") 1)
  ;; Names "leak" at 16, "ro" at 24, "rw" at 28; an iovec (256, 64) at 32.
  (data (i32.const 16) "leak")
  (data (i32.const 24) "ro")
  (data (i32.const 28) "rw")
  (data (i32.const 32) "\00\01\00\00\40\00\00\00")
)
"#;

/// Where the trampoline's memory holds things.
const NAME: u32 = 16;
const RO: u32 = 24;
const RW: u32 = 28;
const IOV: u32 = 32;
const OUT: u32 = 8;
const DATA: u32 = 1024;

/// Open fds of this process (the directory handle itself counts every time).
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Makes a store on `backend`, opens `FILES` memory fds of every kind in it
/// (read-only and writable `from_bytes`, read-only and writable preopens),
/// reads, closes and renumbers a few, and returns it with its fds still
/// open.
fn busy_store(engine: &Engine, module: &Module, backend: Backend) -> Store<WasiMemfdP1Ctx> {
    const FILES: u32 = 12;
    let mut b = WasiMemfdCtx::builder();
    b.backend(backend);
    b.preopen_bytes("ro", b"read only", false).unwrap();
    b.preopen_bytes("rw", b"writable!", true).unwrap();
    let ctx = WasiMemfdP1Ctx::new(WasiCtxBuilder::new().build_p1(), b.build());
    let mut store = Store::new(engine, ctx);
    let mut linker = Linker::new(engine);
    wasi_memfd::p1::add_to_linker_sync(&mut linker, |s| s).unwrap();
    let instance: Instance = linker.instantiate(&mut store, module).unwrap();
    let call = |store: &mut Store<WasiMemfdP1Ctx>, name: &str, args: &[i32]| -> i32 {
        let func = instance.get_func(&mut *store, name).unwrap();
        let args: Vec<wasmtime::Val> = args.iter().map(|&a| a.into()).collect();
        let mut result = [wasmtime::Val::I32(-1)];
        func.call(&mut *store, &args, &mut result).unwrap();
        result[0].unwrap_i32()
    };
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    memory.data_mut(&mut store)[DATA as usize..][..4096].fill(7);
    let mut fds = Vec::new();
    for i in 0..FILES {
        let (data, name, out) = (DATA as i32, NAME as i32, OUT as i32);
        let errno = match i % 4 {
            0 => call(&mut store, "from_bytes", &[data, 4096, name, 4, 0, out]),
            1 => call(&mut store, "from_bytes", &[data, 100, name, 4, 1, out]),
            2 => call(&mut store, "open_preopened", &[RO as i32, 2, out]),
            _ => call(&mut store, "open_preopened", &[RW as i32, 2, out]),
        };
        assert_eq!(errno, 0, "file {i}");
        let fd = u32::from_le_bytes(memory.data(&store)[OUT as usize..][..4].try_into().unwrap());
        assert!(fd >= FIRST_FD);
        fds.push(fd as i32);
    }
    for &fd in &fds {
        assert_eq!(
            call(&mut store, "fd_read", &[fd, IOV as i32, 1, OUT as i32]),
            0
        );
    }
    assert_eq!(call(&mut store, "fd_close", &[fds[0]]), 0);
    assert_eq!(call(&mut store, "fd_renumber", &[fds[1], fds[2]]), 0);
    assert_eq!(store.data_mut().memfd().usage().files, FILES as usize - 2);
    store
}

#[test]
fn dropping_a_store_closes_every_memory_fd() {
    let engine = Engine::default();
    let module = Module::new(&engine, TRAMPOLINE).unwrap();
    // Warm up: whatever wasmtime and wasmtime-wasi open once per process
    // (the tokio runtime behind fd_read, for one) is open before counting.
    for backend in [Backend::Memfd, Backend::Shm] {
        drop(busy_store(&engine, &module, backend));
    }
    for backend in [Backend::Memfd, Backend::Shm] {
        let before = open_fds();
        let store = busy_store(&engine, &module, backend);
        let during = open_fds();
        // The guest's 10 fds and the host's handles on the 2 preopens.
        assert!(
            during >= before + 12,
            "{backend:?}: {before} fds before, {during} with the store alive"
        );
        drop(store);
        let after = open_fds();
        assert_eq!(
            after, before,
            "{backend:?}: fds left behind by a dropped store"
        );
    }
}
