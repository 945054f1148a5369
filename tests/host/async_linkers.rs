//! `add_to_linker_async` for components and for core modules: guests called
//! with `call_async` reach wasi-memfd and get working files.

use std::future::Future;

use wasi_memfd::p1::WasiMemfdP1Ctx;
use wasi_memfd::p2::WasiMemfdP2Ctx;
use wasi_memfd::WasiMemfdCtx;
use wasi_memfd_testing::component::{memfd_command_component, memfd_command_component_of};
use wasi_memfd_testing::p1::layout::{DATA, NAME, OUT};
use wasi_memfd_testing::p1::{errno, Guest};
use wasi_memfd_testing::pattern;
use wasmtime::component::Component;
use wasmtime::{Engine, Linker, Module, Store};
use wasmtime_wasi::runtime::in_tokio;
use wasmtime_wasi::WasiCtxBuilder;

/// Runs the shared command component with async linkers; `Ok(())` is the
/// guest's own `ok`.
fn run_component_async(memfd: WasiMemfdCtx) -> Result<(), ()> {
    use wasmtime_wasi::p2::bindings::Command;
    let engine = Engine::default();
    let component = Component::new(&engine, memfd_command_component()).unwrap();
    let mut linker = wasmtime::component::Linker::new(&engine);
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

/// Bytes a large `from_bytes` passes in the tests below: four 1 MiB chunks,
/// so three yields.
const LARGE: usize = 3 * 1024 * 1024 + 1;

/// Runs `call` to completion on the single-threaded `rt` beside another task
/// that counts its turns; returns `call`'s output and the turns the other
/// task had while `call` ran. Only a suspended `call` lets it run: a count,
/// not a time.
fn turns_beside<T>(rt: &tokio::runtime::Runtime, call: impl Future<Output = T>) -> (T, usize) {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    rt.block_on(async {
        let turns = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let other = tokio::task::spawn({
            let (turns, done) = (turns.clone(), done.clone());
            async move {
                while !done.load(Ordering::Relaxed) {
                    turns.fetch_add(1, Ordering::Relaxed);
                    tokio::task::yield_now().await;
                }
            }
        });
        // Let the other task start, then count only what runs during `call`.
        tokio::task::yield_now().await;
        let before = turns.load(Ordering::Relaxed);
        let out = call.await;
        let during = turns.load(Ordering::Relaxed) - before;
        done.store(true, Ordering::Relaxed);
        other.await.unwrap();
        (out, during)
    })
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// With the async linker, a large `from_bytes` yields to the executor
/// between its 1 MiB chunks: another task on the same single-threaded
/// executor runs once per yield at least.
#[test]
fn core_module_async_from_bytes_yields_between_chunks() {
    let mut g = Guest::of_async(WasiMemfdCtx::default());
    let data = pattern(LARGE);
    g.grow_to(DATA as usize + LARGE);
    g.put(DATA, &data);
    let from_bytes = g.func::<(u32, u32, u32, u32, u32, u32), i32>("from_bytes");
    let rt = current_thread();
    let call = from_bytes.call_async(&mut g.store, (DATA, LARGE as u32, NAME, 0, 0, OUT));
    let (result, turns) = turns_beside(&rt, call);
    assert_eq!(result.unwrap(), errno::SUCCESS, "from_bytes failed");
    assert!(
        turns >= 3,
        "another task ran {turns} times during a four-chunk copy (want one per yield)"
    );
    let file = g
        .store
        .data()
        .memory_file(g.u32_at(OUT))
        .expect("the new fd is a memory file");
    assert!(
        file.read_all().unwrap() == data,
        "the file holds other bytes"
    );
}

/// The same for a component's `from-bytes` through the async linker.
#[test]
fn component_async_from_bytes_yields_between_chunks() {
    use wasmtime_wasi::p2::bindings::Command;
    let engine = Engine::default();
    let component = Component::new(&engine, memfd_command_component_of(LARGE as u32)).unwrap();
    let mut linker = wasmtime::component::Linker::new(&engine);
    wasi_memfd::p2::add_to_linker_async(&mut linker).unwrap();
    let state = WasiMemfdP2Ctx::new(WasiCtxBuilder::new().build(), WasiMemfdCtx::default());
    let mut store = Store::new(&engine, state);
    let rt = current_thread();
    let command = rt
        .block_on(Command::instantiate_async(&mut store, &component, &linker))
        .unwrap();
    let (ran, turns) = turns_beside(&rt, command.wasi_cli_run().call_run(&mut store));
    assert_eq!(ran.unwrap(), Ok(()), "the guest's from-bytes failed");
    assert!(
        turns >= 3,
        "another task ran {turns} times during a four-chunk copy (want one per yield)"
    );
}
