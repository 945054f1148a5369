//! Stress: many stores on many threads under one shared [`Budget`].
//!
//! `cargo run --release --example stress -- [THREADS] [FILES] [SIZE]`
//! (defaults 4 threads, 5000 files each, 4096 bytes).
//!
//! Each thread runs its own WASIp1 store of one small guest that makes a
//! memory file from its memory, reads it back through `fd_read` and checks
//! the bytes, and closes it, holding up to eight files at a time. The
//! shared budget is smaller than what all threads would hold at once, so
//! some calls are refused (`EDQUOT`, `EMFILE`): those are counted, and any
//! other errno is a failure. Afterwards every store's usage and the budget
//! are zero and `/proc/self/fd` holds exactly the descriptors it held
//! before. Prints files per second; exits 1 on any violation.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use wasi_memfd::p1::WasiMemfdP1Ctx;
use wasi_memfd::{Budget, Usage, WasiMemfdCtx};
use wasmtime::{Engine, Instance, Linker, Module, Store, TypedFunc};
use wasmtime_wasi::WasiCtxBuilder;

/// Files each thread holds open at most.
const HELD: usize = 8;
/// WASIp1 errnos a budget refusal gives.
const EDQUOT: i32 = 19;
const EMFILE: i32 = 33;

/// The guest: `make(len)` -> errno (fd at 0), `read(fd, len)` -> errno
/// (bytes read at 4, into 1 MiB..), `close(fd)` -> errno. The data is at
/// 64 KiB, filled by the host.
const GUEST: &str = r#"(module
  (import "wasi_memfd" "from_bytes" (func $from_bytes (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (memory (export "memory") 64)
  (data (i32.const 16) "stress")
  (func (export "make") (param $len i32) (result i32)
    (call $from_bytes (i32.const 65536) (local.get $len) (i32.const 16) (i32.const 6) (i32.const 0) (i32.const 0)))
  (func (export "read") (param $fd i32) (param $len i32) (result i32)
    (i32.store (i32.const 32) (i32.const 1048576))
    (i32.store (i32.const 36) (local.get $len))
    (call $fd_read (local.get $fd) (i32.const 32) (i32.const 1) (i32.const 4)))
  (func (export "close") (param $fd i32) (result i32)
    (call $fd_close (local.get $fd))))"#;

/// Descriptors this process has open now.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .nth(n)
        .map(|a| a.parse().expect("arguments are whole numbers"))
        .unwrap_or(default)
}

/// What one thread saw.
#[derive(Default)]
struct Tally {
    made: usize,
    refused: usize,
}

struct Guest {
    store: Store<WasiMemfdP1Ctx>,
    memory: wasmtime::Memory,
    make: TypedFunc<i32, i32>,
    read: TypedFunc<(i32, i32), i32>,
    close: TypedFunc<i32, i32>,
}

impl Guest {
    fn new(
        engine: &Engine,
        linker: &Linker<WasiMemfdP1Ctx>,
        module: &Module,
        budget: &Budget,
    ) -> Guest {
        let memfd = WasiMemfdCtx::builder()
            .budget(budget)
            .max_files(HELD)
            .build();
        let wasi = WasiCtxBuilder::new().build_p1();
        let mut store = Store::new(engine, WasiMemfdP1Ctx::new(wasi, memfd));
        let instance: Instance = linker.instantiate(&mut store, module).unwrap();
        Guest {
            memory: instance.get_memory(&mut store, "memory").unwrap(),
            make: instance.get_typed_func(&mut store, "make").unwrap(),
            read: instance.get_typed_func(&mut store, "read").unwrap(),
            close: instance.get_typed_func(&mut store, "close").unwrap(),
            store,
        }
    }

    fn u32_at(&self, at: usize) -> u32 {
        let b = &self.memory.data(&self.store)[at..at + 4];
        u32::from_le_bytes(b.try_into().unwrap())
    }

    /// Makes, reads back and checks, and closes `files` files, holding up to
    /// [`HELD`] at a time.
    fn run(&mut self, thread: usize, files: usize, size: usize) -> Result<Tally, String> {
        let mut tally = Tally::default();
        let mut held = VecDeque::new();
        for i in 0..files {
            let byte = (thread * 31 + i) as u8;
            self.memory.data_mut(&mut self.store)[65536..65536 + size].fill(byte);
            let errno = self
                .make
                .call(&mut self.store, size as i32)
                .map_err(|e| e.to_string())?;
            match errno {
                0 => {
                    let fd = self.u32_at(0) as i32;
                    tally.made += 1;
                    let errno = self
                        .read
                        .call(&mut self.store, (fd, size as i32))
                        .map_err(|e| e.to_string())?;
                    let n = self.u32_at(4) as usize;
                    let back = &self.memory.data(&self.store)[1 << 20..(1 << 20) + n];
                    if errno != 0 || n != size || back.iter().any(|&b| b != byte) {
                        return Err(format!(
                            "thread {thread}: file {i} read back wrong (errno {errno}, {n} bytes)"
                        ));
                    }
                    held.push_back(fd);
                }
                EDQUOT | EMFILE => tally.refused += 1,
                other => {
                    return Err(format!(
                        "thread {thread}: from_bytes answered errno {other}"
                    ))
                }
            }
            if held.len() == HELD || (errno != 0 && !held.is_empty()) {
                let fd = held.pop_front().unwrap();
                let errno = self
                    .close
                    .call(&mut self.store, fd)
                    .map_err(|e| e.to_string())?;
                if errno != 0 {
                    return Err(format!("thread {thread}: fd_close answered errno {errno}"));
                }
            }
        }
        for fd in held {
            self.close
                .call(&mut self.store, fd)
                .map_err(|e| e.to_string())?;
        }
        let usage = self.store.data_mut().memfd().usage();
        if usage != Usage::default() {
            return Err(format!("thread {thread}: the store still holds {usage:?}"));
        }
        Ok(tally)
    }
}

fn main() {
    let threads = arg(1, 4);
    let files = arg(2, 5000);
    let size = arg(3, 4096).min(960 << 10);

    let engine = Engine::default();
    let module = Module::new(&engine, GUEST).unwrap();
    let mut linker = Linker::new(&engine);
    wasi_memfd::p1::add_to_linker_sync(&mut linker, |s| s).unwrap();
    let (engine, module, linker) = (Arc::new(engine), Arc::new(module), Arc::new(linker));
    // Room for three quarters of what all threads would hold at once.
    let cap = (threads * HELD * 3 / 4).max(1);
    let budget = Budget::new((cap * size) as u64, cap);

    // Warm up: the first store opens what wasmtime-wasi keeps for good (its
    // tokio runtime's epoll and eventfd), before the count starts.
    Guest::new(&engine, &linker, &module, &Budget::new(1 << 20, 8))
        .run(0, 10, 16)
        .expect("warm-up");
    let fds_before = open_fds();
    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (engine, module, linker, budget) = (
                engine.clone(),
                module.clone(),
                linker.clone(),
                budget.clone(),
            );
            std::thread::spawn(move || {
                Guest::new(&engine, &linker, &module, &budget).run(t, files, size)
            })
        })
        .collect();
    let mut total = Tally::default();
    let mut failures = Vec::new();
    for worker in workers {
        match worker.join().expect("a stress thread panicked") {
            Ok(t) => {
                total.made += t.made;
                total.refused += t.refused;
            }
            Err(e) => failures.push(e),
        }
    }
    let elapsed = start.elapsed();
    let fds_after = open_fds();
    if budget.usage() != Usage::default() {
        failures.push(format!("the budget still holds {:?}", budget.usage()));
    }
    if fds_after != fds_before {
        failures.push(format!(
            "{fds_before} descriptors open before, {fds_after} after"
        ));
    }
    println!(
        "stress: {threads} threads, {} files of {size} B made, read and closed ({} refused by the shared budget of {cap} files) in {:.2?}: {:.0} files/s",
        total.made,
        total.refused,
        elapsed,
        total.made as f64 / elapsed.as_secs_f64()
    );
    if total.made == 0 {
        failures.push("no file was made".to_owned());
    }
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("stress: FAILED: {f}");
        }
        std::process::exit(1);
    }
}
