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

use wasi_memfd::WasiMemfdCtx;
use wasi_memfd_testing::p1::layout::{NAME, OUT};
use wasi_memfd_testing::p1::{errno, eventtype, Guest, PAGE};

/// A trampoline guest whose limits take a 1 GiB file, served by the sync or
/// the async linker.
fn guest(asynchronous: bool) -> Guest {
    let memfd = WasiMemfdCtx::builder()
        .max_file_size(1 << 30)
        .max_total_size(2 << 30)
        .build();
    Guest::instantiate(Guest::ctx(memfd), asynchronous)
}

/// `from_bytes` of `len` bytes at `ptr` that must succeed: the fd.
fn make(g: &mut Guest, ptr: u32, len: u32) -> u32 {
    assert_eq!(g.make_raw((ptr, len), (NAME, 0), 0, OUT), errno::SUCCESS);
    g.u32_at(OUT)
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

fn bounded_calls() {
    let mut g = guest(false);
    // 16 MiB: every read below has bytes left to read.
    g.grow_to(16 << 20);
    let fd = make(&mut g, 0, 16 << 20);
    // Iovec tables at 1 MiB: one-byte buffers from 64 KiB.
    let table: u32 = 1 << 20;
    let iovecs = |n: usize| -> Vec<u8> {
        let mut t = Vec::with_capacity(8 * n);
        for i in 0..n {
            t.extend_from_slice(&(65536 + (i % 4096) as u32).to_le_bytes());
            t.extend_from_slice(&1u32.to_le_bytes());
        }
        t
    };
    println!("one call on a memory-file fd (median), as a multiple of 1 iovec:");
    g.grow_to(table as usize + 8 * (32 << 20) + PAGE);
    g.put(table, &iovecs(1024));
    let one = median(2001, || {
        g.call::<_, i32>("fd_read", (fd, table, 1u32, OUT));
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
            errno = g.call("fd_read", (fd, table, n as u32, OUT));
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
        let subs: u32 = 1 << 20;
        let events = subs + 48 * n;
        g.grow_to((events + 32 * n) as usize + PAGE);
        let mut sub = [0u8; 48];
        sub[8] = eventtype::FD_READ;
        sub[16..20].copy_from_slice(&fd.to_le_bytes());
        g.put(subs, &sub.repeat(n as usize));
        let mut errno = 0;
        let t = median(3, || {
            errno = g.call("poll_oneoff", (subs, events, n, OUT));
        });
        println!(
            "  poll_oneoff, {label:<36} {t:>10.2?}  {:>7.1}x  errno {errno}",
            t.as_secs_f64() / one.as_secs_f64()
        );
    }
}

/// The longest gap a ticker task sees on a current-thread executor while
/// the guest makes a `len`-byte file.
fn async_stall(asynchronous: bool, writable: bool, len: usize) -> (Duration, Duration) {
    let mut g = guest(asynchronous);
    g.grow_to(PAGE + len);
    g.put((PAGE + len - 1) as u32, &[1]);
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
        let make = g.func::<(u32, u32, u32, u32, u32, u32), i32>("from_bytes");
        let args = (PAGE as u32, len as u32, NAME, 0, u32::from(writable), OUT);
        let made = if asynchronous {
            make.call_async(&mut g.store, args).await.unwrap()
        } else {
            make.call(&mut g.store, args).unwrap()
        };
        let took = t.elapsed();
        assert_eq!(made, errno::SUCCESS);
        done.store(true, Ordering::Relaxed);
        (ticker.await.unwrap(), took)
    })
}

fn main() {
    bounded_calls();
    println!("a 1 GiB from_bytes on a single-threaded executor:");
    for (asynchronous, writable) in [(false, false), (true, false), (true, true)] {
        let (stall, took) = async_stall(asynchronous, writable, 1 << 30);
        println!(
            "  {} linker, {}: took {took:>9.2?}, another task's longest stall {stall:>9.2?}",
            if asynchronous { "async" } else { "sync " },
            if writable { "writable " } else { "read-only" },
        );
    }
}
