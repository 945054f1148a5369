//! Bounded calls: what a hostile WASIp1 guest can make one host call cost,
//! and how long a large async `from_bytes` holds the executor.
//!
//! `cargo bench --bench bounded_calls` prints, for memory-file fds:
//! - `fd_read` with 1 iovec, with 1024, with 16 Mi iovecs (within the
//!   default hostcall fuel: served up to IOV_MAX, a short count) and with
//!   32 Mi (over the fuel: ENOMEM before any is read), each as a multiple of
//!   the 1-iovec call;
//! - `poll_oneoff` with 1, 4096 (`POLL_MAX`), 1.5 Mi and 10 Mi
//!   subscriptions (over `POLL_MAX`: `EINVAL` before any is read);
//! - the longest stall a ticker task on the same single-threaded executor
//!   sees while a guest makes a 1 GiB file with the async linker (copied in
//!   1 MiB chunks), against the sync linker's one-piece copy.
//!
//! A benchmark, not a test: it prints figures and asserts nothing about time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasi_memfd::p1::WasiMemfdP1Ctx;
use wasi_memfd::WasiMemfdCtx;
use wasmtime::{Engine, Instance, Linker, Module, Store};
use wasmtime_wasi::WasiCtxBuilder;

const GUEST: &str = r#"(module
  (import "wasi_memfd" "from_bytes" (func $from_bytes (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (memory (export "memory") 1)
  ;; from_bytes(ptr, len) -> errno, the fd at 0
  (func (export "make") (param i32 i32 i32) (result i32)
    (call $from_bytes (local.get 0) (local.get 1) (i32.const 0) (i32.const 0) (local.get 2) (i32.const 0)))
  (func (export "fd_read") (param i32 i32 i32 i32) (result i32)
    (call $fd_read (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "poll_oneoff") (param i32 i32 i32 i32) (result i32)
    (call $poll (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "fd_close") (param i32) (result i32) (call $fd_close (local.get 0))))"#;

const PAGE: usize = 65536;

struct Guest {
    store: Store<WasiMemfdP1Ctx>,
    instance: Instance,
}

impl Guest {
    fn new(engine: &Engine, module: &Module, asynchronous: bool) -> Guest {
        let mut linker = Linker::new(engine);
        if asynchronous {
            wasi_memfd::p1::add_to_linker_async(&mut linker, |s| s).unwrap();
        } else {
            wasi_memfd::p1::add_to_linker_sync(&mut linker, |s| s).unwrap();
        }
        let memfd = WasiMemfdCtx::builder()
            .max_file_size(1 << 30)
            .max_total_size(2 << 30)
            .build();
        let wasi = WasiCtxBuilder::new().build_p1();
        let mut store = Store::new(engine, WasiMemfdP1Ctx::new(wasi, memfd));
        let instance = if asynchronous {
            wasmtime_wasi::runtime::in_tokio(linker.instantiate_async(&mut store, module))
        } else {
            linker.instantiate(&mut store, module)
        }
        .unwrap();
        Guest { store, instance }
    }

    fn grow_to(&mut self, bytes: usize) {
        let memory = self.instance.get_memory(&mut self.store, "memory").unwrap();
        let have = memory.data_size(&self.store);
        if bytes > have {
            memory
                .grow(&mut self.store, (bytes - have).div_ceil(PAGE) as u64)
                .unwrap();
        }
    }

    fn put(&mut self, at: usize, bytes: &[u8]) {
        let memory = self.instance.get_memory(&mut self.store, "memory").unwrap();
        memory.data_mut(&mut self.store)[at..at + bytes.len()].copy_from_slice(bytes);
    }

    fn call4(&mut self, name: &str, args: (i32, i32, i32, i32)) -> i32 {
        let f = self
            .instance
            .get_typed_func::<(i32, i32, i32, i32), i32>(&mut self.store, name)
            .unwrap();
        f.call(&mut self.store, args).unwrap()
    }

    fn make(&mut self, ptr: i32, len: i32) -> i32 {
        let f = self
            .instance
            .get_typed_func::<(i32, i32, i32), i32>(&mut self.store, "make")
            .unwrap();
        assert_eq!(f.call(&mut self.store, (ptr, len, 0)).unwrap(), 0);
        let memory = self.instance.get_memory(&mut self.store, "memory").unwrap();
        let b = &memory.data(&self.store)[0..4];
        i32::from_le_bytes(b.try_into().unwrap())
    }
}

/// Median wall time of `runs` calls of `f`.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn bounded_calls(engine: &Engine, module: &Module) {
    let mut g = Guest::new(engine, module, false);
    // 16 MiB: every read below has bytes left to read.
    g.grow_to(16 << 20);
    let fd = g.make(0, 16 << 20);
    // Iovec tables at 1 MiB: one-byte buffers from 64 KiB.
    let table = 1 << 20;
    let iovecs = |n: usize| -> Vec<u8> {
        let mut t = Vec::with_capacity(8 * n);
        for i in 0..n {
            t.extend_from_slice(&(65536 + (i % 4096) as u32).to_le_bytes());
            t.extend_from_slice(&1u32.to_le_bytes());
        }
        t
    };
    println!("one call on a memory-file fd (median), as a multiple of 1 iovec:");
    g.grow_to(table + 8 * (32 << 20) + PAGE);
    g.put(table, &iovecs(1024));
    let one = median(2001, || {
        g.call4("fd_read", (fd, table as i32, 1, 8));
    });
    println!("  fd_read, 1 iovec:              {one:>10.2?}");
    for (label, n, fill) in [
        ("1024 iovecs", 1024usize, false),
        ("16 Mi - 1 iovecs (fuel ok)", (16 << 20) - 1, true),
        ("32 Mi iovecs (over the fuel)", 32 << 20, true),
    ] {
        if fill {
            g.put(table, &iovecs(n));
        }
        let mut errno = 0;
        let t = median(5, || {
            errno = g.call4("fd_read", (fd, table as i32, n as i32, 8));
        });
        println!(
            "  fd_read, {label:<28} {t:>10.2?}  {:>7.1}x  errno {errno}",
            t.as_secs_f64() / one.as_secs_f64()
        );
    }
    // Subscriptions: 48 bytes each, fd_read on the memory file. While
    // memory files are open, more than POLL_MAX answer EINVAL at once.
    for (label, n) in [
        ("1 subscription", 1),
        ("4096 subscriptions (POLL_MAX)", 4096),
        ("1.5 Mi subscriptions", 3 << 19),
        ("10 Mi subscriptions", 10 << 20),
    ] {
        let subs = 1 << 20;
        let events = subs + 48 * n;
        g.grow_to(events + 32 * n + PAGE);
        let mut sub = [0u8; 48];
        sub[8] = 1; // eventtype fd_read
        sub[16..20].copy_from_slice(&(fd as u32).to_le_bytes());
        g.put(subs, &sub.repeat(n));
        let mut errno = 0;
        let t = median(3, || {
            errno = g.call4("poll_oneoff", (subs as i32, events as i32, n as i32, 8));
        });
        println!(
            "  poll_oneoff, {label:<36} {t:>10.2?}  {:>7.1}x  errno {errno}",
            t.as_secs_f64() / one.as_secs_f64()
        );
    }
}

/// The longest gap a ticker task sees on a current-thread executor while
/// the guest makes a `len`-byte file.
fn async_stall(
    engine: &Engine,
    module: &Module,
    asynchronous: bool,
    writable: bool,
    len: usize,
) -> (Duration, Duration) {
    let mut g = Guest::new(engine, module, asynchronous);
    g.grow_to(PAGE + len);
    g.put(PAGE + len - 1, &[1]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    rt.block_on(async {
        let ticker = {
            let done = done.clone();
            tokio::task::spawn(async move {
                let mut worst = Duration::ZERO;
                let mut last = Instant::now();
                while !done.load(Ordering::Relaxed) {
                    tokio::task::yield_now().await;
                    worst = worst.max(last.elapsed());
                    last = Instant::now();
                }
                worst
            })
        };
        tokio::task::yield_now().await;
        let t = Instant::now();
        let make = g
            .instance
            .get_typed_func::<(i32, i32, i32), i32>(&mut g.store, "make")
            .unwrap();
        let args = (PAGE as i32, len as i32, i32::from(writable));
        let errno = if asynchronous {
            make.call_async(&mut g.store, args).await.unwrap()
        } else {
            make.call(&mut g.store, args).unwrap()
        };
        let took = t.elapsed();
        assert_eq!(errno, 0);
        done.store(true, Ordering::Relaxed);
        (ticker.await.unwrap(), took)
    })
}

fn main() {
    let engine = Engine::default();
    let module = Module::new(&engine, GUEST).unwrap();
    bounded_calls(&engine, &module);
    println!("a 1 GiB from_bytes on a single-threaded executor:");
    for (asynchronous, writable) in [(false, false), (true, false), (true, true)] {
        let (stall, took) = async_stall(&engine, &module, asynchronous, writable, 1 << 30);
        println!(
            "  {} linker, {}: took {took:>9.2?}, another task's longest stall {stall:>9.2?}",
            if asynchronous { "async" } else { "sync " },
            if writable { "writable " } else { "read-only" },
        );
    }
}
