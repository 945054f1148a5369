//! No descriptor leaks: every memory file a component guest gets, through
//! `from-bytes`, `open-preopened` or a stream, is closed when the guest drops
//! it or when its store goes; failed calls and traps open nothing.
//!
//! Counts the entries of `/proc/self/fd`, so this binary holds a single test:
//! no other test thread can open or close descriptors while it counts.

use wasi_memfd::{Backend, WasiMemfdCtx};
use wasi_memfd_testing::probe::{MemfdError, Probe, Wasi};

/// Files made per store: well over anything the process opens by itself.
const FILES: usize = 200;

/// Descriptors this process has open now.
fn open_fds() -> usize {
    // read_dir's own descriptor is in the count every time.
    std::fs::read_dir("/proc/self/fd")
        .expect("listing /proc/self/fd")
        .count()
}

/// What each open descriptor is, for failure messages.
fn fd_targets() -> Vec<String> {
    let mut targets: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .expect("listing /proc/self/fd")
        .filter_map(|e| {
            let path = e.ok()?.path();
            let target = std::fs::read_link(&path).ok()?;
            Some(format!("{} -> {}", path.display(), target.display()))
        })
        .collect();
    targets.sort();
    targets
}

/// A context on `backend` with one read-only and one writable preopen.
fn ctx(backend: Backend, max_files: usize) -> WasiMemfdCtx {
    let mut builder = WasiMemfdCtx::builder();
    builder.backend(backend).max_files(max_files);
    builder.preopen_bytes("ro", b"read only", false).unwrap();
    builder.preopen_bytes("rw", b"writable", true).unwrap();
    builder.build()
}

/// A store whose guest holds `FILES` from-bytes files (read-only and
/// writable), ten descriptors on preopens and ten streams.
fn busy_store(wasi: Wasi, backend: Backend) -> Probe {
    let mut p = Probe::new(wasi, ctx(backend, 1024));
    let mut handles = Vec::new();
    for i in 0..FILES {
        let data = vec![i as u8; i];
        // Writable files need seals: the shm backend refuses them.
        let writable = i % 2 == 1 && backend == Backend::Memfd;
        handles.push(p.make(&data, &format!("file-{i}"), writable).unwrap());
    }
    for i in 0..10 {
        handles.push(
            p.open_preopened(if i % 2 == 0 || backend == Backend::Shm {
                "ro"
            } else {
                "rw"
            })
            .unwrap(),
        );
    }
    for &h in &handles[..10] {
        p.read_via_stream(h, 0).unwrap();
    }
    assert_eq!(p.usage().files, FILES + 10);
    p
}

#[test]
fn every_descriptor_is_closed() {
    // Warm up: compile both probes and run every path once, so whatever the
    // process opens lazily for good is open before counting (wasmtime-wasi
    // starts its tokio runtime, an epoll and an eventfd descriptor or
    // three, on the first drop of a stream).
    for wasi in Wasi::ALL {
        let mut p = busy_store(wasi, Backend::Memfd);
        let h = p.make(b"warm", "", true).unwrap();
        let s = p.read_via_stream(h, 0).unwrap();
        assert_eq!(p.read_stream_to_end(s, 2), b"warm");
        assert_eq!(p.write(h, b"W", 0), Ok(1));
        p.drop_stream(s);
        p.drop_descriptor(h);
    }
    let before = open_fds();

    // Everything the guest holds is closed with its store.
    for wasi in Wasi::ALL {
        for backend in [Backend::Memfd, Backend::Shm] {
            let p = busy_store(wasi, backend);
            let during = open_fds();
            // One descriptor per from-bytes file; descriptors on a
            // preopened file, and streams, share their file's.
            assert!(
                during >= before + FILES,
                "{wasi:?} {backend:?}: {during} open while busy, {before} before"
            );
            drop(p);
            assert_eq!(open_fds(), before, "{wasi:?} {backend:?}: leaked");
        }
    }

    // Descriptors and streams the guest drops are closed at once.
    for backend in [Backend::Memfd, Backend::Shm] {
        let mut p = Probe::new(Wasi::V0_2_0, ctx(backend, 1024));
        let sealed = backend == Backend::Memfd;
        if sealed {
            // The context makes its copy of a writable preopen the first
            // time the guest opens it, and keeps it: count from there.
            let first = p.open_preopened("rw").unwrap();
            p.drop_descriptor(first);
        }
        let baseline = open_fds();
        let targets = fd_targets();
        for i in 0..FILES {
            let h = p.make(b"short-lived", "", i % 2 == 1 && sealed).unwrap();
            let s = p.read_via_stream(h, 0).unwrap();
            let pre = p.open_preopened(if sealed { "rw" } else { "ro" }).unwrap();
            p.drop_descriptor(h);
            p.drop_stream(s);
            p.drop_descriptor(pre);
        }
        assert_eq!(
            open_fds(),
            baseline,
            "{backend:?}: guest drops leaked: before {targets:#?} after {:#?}",
            fd_targets()
        );
        assert_eq!(p.usage().files, 0);
        drop(p);
        assert_eq!(open_fds(), before);
    }

    // Failed calls open nothing.
    for backend in [Backend::Memfd, Backend::Shm] {
        let mut p = Probe::new(Wasi::V0_2_0, ctx(backend, 5));
        for _ in 0..5 {
            p.make(b"x", "", false).unwrap();
        }
        let baseline = open_fds();
        for _ in 0..FILES {
            assert_eq!(p.make(b"x", "", false), Err(MemfdError::TooManyFiles));
            assert_eq!(p.open_preopened("ro"), Err(MemfdError::TooManyFiles));
            assert_eq!(p.make(b"x", "\0", false), Err(MemfdError::InvalidArgument));
        }
        assert_eq!(open_fds(), baseline, "{backend:?}: failed calls leaked");
        drop(p);
        assert_eq!(open_fds(), before);
    }

    // A trap in the middle of a call opens nothing, and the trapped store
    // still closes everything it held.
    let mut p = Probe::new(Wasi::V0_2_0, ctx(Backend::Memfd, 1024));
    for _ in 0..10 {
        p.make(b"held", "", false).unwrap();
    }
    let baseline = open_fds();
    assert!(p.make_raw((0x1000_0000, 16), (0, 0), 0).is_err());
    assert_eq!(open_fds(), baseline);
    drop(p);
    assert_eq!(open_fds(), before, "a trapped store leaked");
}
