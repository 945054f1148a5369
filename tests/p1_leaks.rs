//! A store dropped with memory-file fds still open leaves no host fds
//! behind (core-module layer, `wasi_memfd::p1`).
//!
//! It counts `/proc/self/fd`, so it is the only test in this binary: no
//! other test can open or close fds while it counts.

use wasi_memfd::p1::FIRST_FD;
use wasi_memfd::{Backend, MemDir, WasiMemfdCtx};
use wasi_memfd_testing::p1::{errno, Guest, WRITABLE};
use wasmtime_wasi::WasiCtxBuilder;

/// Open fds of this process (the directory handle itself counts every time).
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Makes a guest on `backend`, opens `FILES` memory fds of every kind in it
/// (read-only and writable `from_bytes`, read-only and writable preopens),
/// reads, closes and renumbers a few, and returns it with its fds still
/// open.
fn busy_store(backend: Backend) -> Guest {
    const FILES: u32 = 12;
    let mut b = WasiMemfdCtx::builder();
    b.backend(backend);
    b.preopen_bytes("ro", b"read only", false).unwrap();
    b.preopen_bytes("rw", b"writable!", true).unwrap();
    let mut g = Guest::with(&mut b);
    let mut fds = Vec::new();
    for i in 0..FILES {
        let fd = match i % 4 {
            0 => g.make_named(&[7; 4096], b"leak", 0),
            1 => g.make_named(&[7; 100], b"leak", WRITABLE),
            2 => g.open_preopened("ro"),
            _ => g.open_preopened("rw"),
        };
        let fd = fd.unwrap_or_else(|errno| panic!("file {i}: errno {errno}"));
        assert!(fd >= FIRST_FD);
        fds.push(fd);
    }
    for &fd in &fds {
        g.read(fd, 64).unwrap();
    }
    assert_eq!(g.close(fds[0]), errno::SUCCESS);
    assert_eq!(g.renumber(fds[1], fds[2]), errno::SUCCESS);
    assert_eq!(g.usage().files, FILES as usize - 2);
    g
}

#[test]
fn dropping_a_store_closes_every_memory_fd() {
    // Warm up: whatever wasmtime and wasmtime-wasi open once per process
    // (the tokio runtime behind fd_read, for one) is open before counting.
    for backend in [Backend::Memfd, Backend::Shm] {
        drop(busy_store(backend));
    }
    for backend in [Backend::Memfd, Backend::Shm] {
        let before = open_fds();
        let store = busy_store(backend);
        let during = open_fds();
        // The guest's 5 from-bytes files still open (each its own memory
        // file) and the 2 preopens' files (every open of a preopen shares
        // its file).
        assert!(
            during >= before + 7,
            "{backend:?}: {before} fds before, {during} with the store alive"
        );
        drop(store);
        let after = open_fds();
        assert_eq!(
            after, before,
            "{backend:?}: fds left behind by a dropped store"
        );
    }

    // With a memory directory, moving a memory file onto a number takes a
    // host fd for a moment: onto a number nothing holds (`EBADF`), it is
    // given back every time.
    let mut b = WasiMemfdCtx::builder();
    b.preopened_mem_dir(&MemDir::new(), "/mem").unwrap();
    let ctx = b.build_p1(&mut WasiCtxBuilder::new()).unwrap();
    let mut g = Guest::instantiate(ctx, false);
    let fd = g.make(b"x", 0).unwrap();
    assert_eq!(g.renumber(fd, 999), errno::BADF);
    let before = open_fds();
    for _ in 0..100 {
        assert_eq!(g.renumber(fd, 999), errno::BADF);
    }
    assert_eq!(open_fds(), before, "fds left behind by failed renumbers");
}
