//! `add_to_linker_async` for components and for core modules: guests called
//! with `call_async` reach wasi-memfd and get working files.

use crate::command;
use wasi_memfd::p1::WasiMemfdP1Ctx;
use wasi_memfd::p2::WasiMemfdP2Ctx;
use wasi_memfd::WasiMemfdCtx;
use wasmtime::component::Component;
use wasmtime::{Engine, Linker, Module, Store};
use wasmtime_wasi::runtime::in_tokio;
use wasmtime_wasi::WasiCtxBuilder;

/// Runs the shared command component with async linkers; `Ok(())` is the
/// guest's own `ok`.
fn run_component_async(memfd: WasiMemfdCtx) -> Result<(), ()> {
    use wasmtime_wasi::p2::bindings::Command;
    let engine = Engine::default();
    let component = Component::new(&engine, command::memfd_command_component()).unwrap();
    let mut linker = wasmtime::component::Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
    wasi_memfd::p2::add_to_linker_async(&mut linker).unwrap();
    let state = WasiMemfdP2Ctx::new(WasiCtxBuilder::new().build(), memfd);
    let mut store = Store::new(&engine, state);
    in_tokio(async {
        let command = Command::instantiate_async(&mut store, &component, &linker)
            .await
            .unwrap();
        command.wasi_cli_run().call_run(&mut store).await.unwrap()
    })
}

#[test]
fn component_async_linker_makes_files_and_enforces_limits() {
    assert_eq!(run_component_async(WasiMemfdCtx::default()), Ok(()));
    // The guest's 15 bytes are over a 10-byte limit: its `run` reports err.
    let small = WasiMemfdCtx::builder().max_file_size(10).build();
    assert_eq!(run_component_async(small), Err(()));
}

/// Makes a memory file from 11 bytes, reads it back through `fd_read`,
/// compares, closes it; `run` returns 0 on success or a distinct code for
/// each step that failed.
const P1_ROUND_TRIP: &str = r#"(module
  (import "wasi_memfd" "from_bytes" (func $from_bytes (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "async bytes")
  (func (export "run") (result i32) (local $i i32)
    (if (call $from_bytes (i32.const 64) (i32.const 11) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
      (then (return (i32.const 1))))
    (i32.store (i32.const 16) (i32.const 1024))
    (i32.store (i32.const 20) (i32.const 100))
    (if (call $read (i32.load (i32.const 0)) (i32.const 16) (i32.const 1) (i32.const 24))
      (then (return (i32.const 2))))
    (if (i32.ne (i32.load (i32.const 24)) (i32.const 11))
      (then (return (i32.const 3))))
    (block $done (loop $next
      (br_if $done (i32.eq (local.get $i) (i32.const 11)))
      (if (i32.ne (i32.load8_u (i32.add (i32.const 64) (local.get $i)))
                  (i32.load8_u (i32.add (i32.const 1024) (local.get $i))))
        (then (return (i32.const 4))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (if (call $close (i32.load (i32.const 0)))
      (then (return (i32.const 5))))
    (i32.const 0)))"#;

#[test]
fn core_module_async_linker_round_trips_through_fd_read() {
    let engine = Engine::default();
    let module = Module::new(&engine, P1_ROUND_TRIP).unwrap();
    let mut linker = Linker::<WasiMemfdP1Ctx>::new(&engine);
    wasi_memfd::p1::add_to_linker_async(&mut linker, |ctx| ctx).unwrap();
    let wasi = WasiCtxBuilder::new().build_p1();
    let mut store = Store::new(&engine, WasiMemfdP1Ctx::new(wasi, WasiMemfdCtx::default()));
    let code = in_tokio(async {
        let instance = linker.instantiate_async(&mut store, &module).await.unwrap();
        let run = instance
            .get_typed_func::<(), i32>(&mut store, "run")
            .unwrap();
        run.call_async(&mut store, ()).await.unwrap()
    });
    assert_eq!(code, 0, "the guest's failing step");
    assert_eq!(
        store.data_mut().memfd().usage().files,
        0,
        "fd_close gave the slot back"
    );
}

/// `make(ptr, len) -> errno`: `from_bytes` of an empty name, read-only, the
/// fd written at 0.
const P1_MAKE: &str = r#"(module
  (import "wasi_memfd" "from_bytes" (func $from_bytes (param i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 64)
  (func (export "make") (param i32 i32) (result i32)
    (call $from_bytes (local.get 0) (local.get 1) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))))"#;

/// With the async linker, a large `from_bytes` yields to the executor
/// between its 1 MiB chunks: another task on the same single-threaded
/// executor runs while the copy is under way, once per yield at least (a
/// count, not a time: only a suspended host call lets it run).
#[test]
fn core_module_async_from_bytes_yields_between_chunks() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    const LEN: usize = 3 * 1024 * 1024 + 1; // four chunks: three yields
    let engine = Engine::default();
    let module = Module::new(&engine, P1_MAKE).unwrap();
    let mut linker = Linker::<WasiMemfdP1Ctx>::new(&engine);
    wasi_memfd::p1::add_to_linker_async(&mut linker, |ctx| ctx).unwrap();
    let wasi = WasiCtxBuilder::new().build_p1();
    let mut store = Store::new(&engine, WasiMemfdP1Ctx::new(wasi, WasiMemfdCtx::default()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let data: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
    let (ticks, errno, fd) = rt.block_on(async {
        let instance = linker.instantiate_async(&mut store, &module).await.unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        memory.write(&mut store, 16, &data).unwrap();
        let make = instance
            .get_typed_func::<(i32, i32), i32>(&mut store, "make")
            .unwrap();
        let ticks = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let ticker = tokio::task::spawn({
            let (ticks, done) = (ticks.clone(), done.clone());
            async move {
                while !done.load(Ordering::Relaxed) {
                    ticks.fetch_add(1, Ordering::Relaxed);
                    tokio::task::yield_now().await;
                }
            }
        });
        // Let the ticker start, then count only what runs during the call.
        tokio::task::yield_now().await;
        let before = ticks.load(Ordering::Relaxed);
        let errno = make.call_async(&mut store, (16, LEN as i32)).await.unwrap();
        let during = ticks.load(Ordering::Relaxed) - before;
        done.store(true, Ordering::Relaxed);
        ticker.await.unwrap();
        let mut fd = [0u8; 4];
        memory.read(&store, 0, &mut fd).unwrap();
        (during, errno, u32::from_le_bytes(fd))
    });
    assert_eq!(errno, 0, "from_bytes failed");
    assert!(
        ticks >= 3,
        "another task ran {ticks} times during a four-chunk copy (want one per yield)"
    );
    let file = store
        .data()
        .memory_file(fd)
        .expect("the new fd is a memory file");
    assert!(
        file.read_all().unwrap() == data,
        "the file holds other bytes"
    );
}
