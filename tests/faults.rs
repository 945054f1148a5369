//! Fault injection through real stores: every system call that can fail
//! after a memory file starts to exist is made to fail (the test-only seam,
//! `wasi_memfd::fault_injection`, of the `fault-injection` feature, which
//! only this test turns on: `cargo test -p wasi-memfd --features
//! fault-injection --test faults`), on both backends and both guest ABIs,
//! and each time the tests show that no descriptor is left open, nothing is
//! left charged (to the store or to a shared budget), the guest is told the
//! right error, and the same store then makes a file as if nothing had
//! happened.
//!
//! Descriptors are counted by what they point to (`/proc/self/fd` links to
//! `memfd:wasi-memfd:fault-*`, or to `/dev/shm/wasi-memfd-*`), so this is a
//! test binary of its own: no test of another binary makes such files in
//! this process. The tests here that count take [`COUNTING`]. Files from a
//! [`Pool`] all share one name with the pool's ready files, so the pooled
//! cases follow the one file a call took, by inode (with the pool's test
//! hooks), instead.

use std::sync::Mutex;

use wasi_memfd::fault_injection::{self as faults, Errno, Step};
use wasi_memfd::{Backend, Budget, ErrorCode, Pool, PoolConfig, Usage, WasiMemfdCtx};
use wasi_memfd_testing::p1::layout::{DATA, NAME, OUT};
use wasi_memfd_testing::p1::{errno, Guest, WRITABLE};
use wasi_memfd_testing::probe::{MemfdError, Probe, Wasi};
use wasi_memfd_testing::wait_until;

/// Held by every test here that makes files named [`FILE_NAME`] or shared-memory
/// files, so counting them sees only that test's.
static COUNTING: Mutex<()> = Mutex::new(());

/// Takes [`COUNTING`] (a failed test does not poison it for the others).
fn counting() -> std::sync::MutexGuard<'static, ()> {
    COUNTING.lock().unwrap_or_else(|e| e.into_inner())
}

/// The memfd name prefix of every file these tests make.
const FILE_NAME: &str = "fault-case";

/// Descriptors this process has open on memory files these tests made.
fn leaked(backend: Backend) -> Vec<String> {
    let wanted = match backend {
        Backend::Memfd => format!("/memfd:wasi-memfd:{FILE_NAME}"),
        _ => "/dev/shm/wasi-memfd-".to_owned(),
    };
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|t| t.display().to_string())
        .filter(|t| t.starts_with(&wanted))
        .collect()
}

/// Each step that runs on `backend` after a file starts to exist, the
/// errno it fails with, and what the guest is told.
fn cases(backend: Backend) -> Vec<(Step, Errno, ErrorCode)> {
    let mut cases = vec![
        (Step::Create, Errno::MFILE, ErrorCode::TooManyFiles),
        (Step::Create, Errno::NFILE, ErrorCode::TooManyFiles),
        (Step::Create, Errno::NOMEM, ErrorCode::OutOfMemory),
        (Step::Fill, Errno::NOSPC, ErrorCode::OutOfMemory),
        (Step::Fill, Errno::NOMEM, ErrorCode::OutOfMemory),
        (Step::Table, Errno::NOMEM, ErrorCode::TooManyFiles),
    ];
    match backend {
        Backend::Memfd => cases.push((Step::Seal, Errno::BUSY, ErrorCode::OutOfMemory)),
        _ => {
            cases.push((Step::ReopenReadOnly, Errno::MFILE, ErrorCode::TooManyFiles));
            cases.push((Step::Unlink, Errno::ACCESS, ErrorCode::OutOfMemory));
        }
    }
    cases
}

/// The steps that can fail when a guest opens a read-only preopened file
/// (it exists already, shared: only putting it in the guest's table).
fn preopen_cases() -> [(Step, Errno, ErrorCode); 1] {
    [(Step::Table, Errno::NOMEM, ErrorCode::TooManyFiles)]
}

fn ctx(backend: Backend, budget: &Budget) -> WasiMemfdCtx {
    ctx_with(backend, budget, None)
}

fn ctx_with(backend: Backend, budget: &Budget, pool: Option<&Pool>) -> WasiMemfdCtx {
    let mut builder = WasiMemfdCtx::builder();
    builder.backend(backend).budget(budget);
    if let Some(pool) = pool {
        builder.pool(pool);
    }
    builder
        .preopen_bytes("pre", b"preopened", false)
        .unwrap()
        .build()
}

/// `/proc/self/fd` entries on memory files before a case (the preopened
/// file), to compare with after it.
struct Baseline(Vec<String>);

/// After a failure: nothing open but what was open at `baseline`, nothing
/// charged, and the armed step ran.
fn assert_clean(backend: Backend, baseline: &Baseline, what: &str, usage: Usage, budget: &Budget) {
    assert_eq!(leaked(backend), baseline.0, "{what}: descriptors left open");
    assert_uncharged(what, usage, budget);
}

/// After a failure: nothing charged, and the armed step ran.
fn assert_uncharged(what: &str, usage: Usage, budget: &Budget) {
    assert_eq!(usage, Usage::default(), "{what}: the store still charges");
    assert_eq!(
        budget.usage(),
        Usage::default(),
        "{what}: the budget still charges"
    );
    assert!(!faults::disarm(), "{what}: the armed step never ran");
}

/// A trampoline guest over `memfd`, served by the sync or the async linker.
fn p1_guest(asynchronous: bool, memfd: WasiMemfdCtx) -> Guest {
    if asynchronous {
        Guest::of_async(memfd)
    } else {
        Guest::of(memfd)
    }
}

/// `from_bytes` of 10 bytes named [`FILE_NAME`]: the errno, and the fd on
/// success.
fn make(guest: &mut Guest, writable: bool) -> (i32, u32) {
    let flags = if writable { WRITABLE } else { 0 };
    match guest.make_named(b"0123456789", FILE_NAME.as_bytes(), flags) {
        Ok(fd) => (errno::SUCCESS, fd),
        Err(errno) => (errno, 0),
    }
}

/// `open_preopened("pre")`: the errno.
fn open_pre(guest: &mut Guest) -> i32 {
    guest.open_preopened("pre").err().unwrap_or(errno::SUCCESS)
}

#[test]
fn every_failure_after_a_file_exists_leaves_nothing_behind() {
    let _counting = counting();

    for backend in [Backend::Memfd, Backend::Shm] {
        for (step, errno, code) in cases(backend) {
            for writable in [false, true] {
                if writable && step == Step::ReopenReadOnly {
                    continue; // only read-only shared memory is reopened
                }
                for asynchronous in [false, true] {
                    let what = format!(
                        "core module, {backend:?}, {step:?} fails with {errno:?}, \
                         writable {writable}, async {asynchronous}"
                    );
                    let budget = Budget::new(1 << 20, 16);
                    let mut guest = p1_guest(asynchronous, ctx(backend, &budget));
                    let baseline = Baseline(leaked(backend));
                    faults::inject(step, errno);
                    let (got, _) = make(&mut guest, writable);
                    assert_eq!(got, i32::from(code.errno()), "{what}");
                    let usage = guest.usage();
                    assert_clean(backend, &baseline, &what, usage, &budget);
                    // The same store goes on as if nothing happened.
                    let (ok, fd) = make(&mut guest, writable);
                    assert_eq!(ok, 0, "{what}: the next from_bytes");
                    let held = Usage {
                        files: 1,
                        bytes: 10,
                    };
                    assert_eq!(guest.usage(), held, "{what}");
                    assert_eq!(budget.usage(), held, "{what}");
                    assert_eq!(guest.close(fd), errno::SUCCESS);
                    let usage = guest.usage();
                    assert_clean(backend, &baseline, &what, usage, &budget);
                }
            }
        }
        // A preopened file: the dup and the table can fail.
        for (step, errno, code) in preopen_cases() {
            let what = format!("core module, {backend:?}, open_preopened, {step:?}");
            let budget = Budget::new(1 << 20, 16);
            let mut guest = p1_guest(false, ctx(backend, &budget));
            let baseline = Baseline(leaked(backend));
            faults::inject(step, errno);
            let got = open_pre(&mut guest);
            assert_eq!(got, i32::from(code.errno()), "{what}");
            let usage = guest.usage();
            assert_clean(backend, &baseline, &what, usage, &budget);
            assert_eq!(
                open_pre(&mut guest),
                errno::SUCCESS,
                "{what}: the next open"
            );
        }
    }
}

#[test]
fn every_failure_after_a_file_exists_leaves_nothing_behind_in_components() {
    let _counting = counting();
    let to_wit = |code: ErrorCode| -> MemfdError { code.into() };
    for backend in [Backend::Memfd, Backend::Shm] {
        for (step, errno, code) in cases(backend) {
            // Writable files are refused up front on shared memory.
            let writable = backend == Backend::Memfd;
            let what = format!("component, {backend:?}, {step:?} fails with {errno:?}");
            let budget = Budget::new(1 << 20, 16);
            let mut guest = Probe::new(Wasi::V0_2_0, ctx(backend, &budget));
            let baseline = Baseline(leaked(backend));
            faults::inject(step, errno);
            let got = guest.make(b"0123456789", FILE_NAME, writable);
            assert_eq!(got, Err(to_wit(code)), "{what}");
            let usage = guest.usage();
            assert_clean(backend, &baseline, &what, usage, &budget);
            let h = guest
                .make(b"0123456789", FILE_NAME, writable)
                .expect("the next from-bytes");
            assert_eq!(guest.read_to_end(h, 0), b"0123456789", "{what}");
            assert_eq!(
                budget.usage(),
                Usage {
                    files: 1,
                    bytes: 10
                },
                "{what}"
            );
            guest.drop_descriptor(h);
            let usage = guest.usage();
            assert_clean(backend, &baseline, &what, usage, &budget);
        }
        for (step, errno, code) in preopen_cases() {
            let what = format!("component, {backend:?}, open-preopened, {step:?}");
            let budget = Budget::new(1 << 20, 16);
            let mut guest = Probe::new(Wasi::V0_2_0, ctx(backend, &budget));
            let baseline = Baseline(leaked(backend));
            faults::inject(step, errno);
            assert_eq!(guest.open_preopened("pre"), Err(to_wit(code)), "{what}");
            let usage = guest.usage();
            assert_clean(backend, &baseline, &what, usage, &budget);
            assert!(guest.open_preopened("pre").is_ok(), "{what}: the next open");
        }
    }
}

/// The device and inode of every descriptor this process has open.
fn open_inodes() -> Vec<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::metadata(e.ok()?.path()).ok())
        .map(|meta| (meta.dev(), meta.ino()))
        .collect()
}

/// A small pool, full: every call below takes a file from it.
fn full_pool() -> Pool {
    let mut config = PoolConfig::default();
    config.small_files = 2;
    config.large_files = 0;
    let pool = Pool::new(config).unwrap();
    wait_until("the pool is full", || pool.ready() == (2, 0));
    pool
}

/// Runs `call` against a full `pool`; returns its result and the one
/// pooled file it took (device, inode).
fn taking_one<R>(pool: &Pool, what: &str, call: impl FnOnce() -> R) -> (R, (u64, u64)) {
    wait_until("the pool is full", || pool.ready() == (2, 0));
    let before = pool.ready_inodes();
    let result = call();
    // The thread only adds files meanwhile: what is gone was taken.
    let after = pool.ready_inodes();
    let taken: Vec<_> = before.into_iter().filter(|i| !after.contains(i)).collect();
    assert_eq!(taken.len(), 1, "{what}: the call took one pooled file");
    (result, taken[0])
}

/// After a failure on a pooled file: the file the call took (`taken`) is
/// closed, nothing is charged, and the armed step ran.
fn assert_pooled_clean(what: &str, taken: (u64, u64), usage: Usage, budget: &Budget) {
    assert!(
        !open_inodes().contains(&taken),
        "{what}: the pooled file is still open"
    );
    assert_uncharged(what, usage, budget);
}

/// The steps that run on a pooled file (it exists already: no `Create`).
fn pooled_cases() -> Vec<(Step, Errno, ErrorCode)> {
    cases(Backend::Memfd)
        .into_iter()
        .filter(|(step, ..)| *step != Step::Create)
        .collect()
}

#[test]
fn every_failure_with_a_pooled_file_closes_it() {
    let pool = full_pool();
    for (step, errno, code) in pooled_cases() {
        for writable in [false, true] {
            for asynchronous in [false, true] {
                let what = format!(
                    "core module, pooled, {step:?} fails with {errno:?}, \
                     writable {writable}, async {asynchronous}"
                );
                let budget = Budget::new(1 << 20, 16);
                let memfd = ctx_with(Backend::Memfd, &budget, Some(&pool));
                let mut guest = p1_guest(asynchronous, memfd);
                faults::inject(step, errno);
                let ((got, _), taken) = taking_one(&pool, &what, || make(&mut guest, writable));
                assert_eq!(got, i32::from(code.errno()), "{what}");
                assert_pooled_clean(&what, taken, guest.usage(), &budget);
                // The same store goes on; a closed file goes back to the
                // pool's thread, which closes it.
                let ((ok, fd), taken) = taking_one(&pool, &what, || make(&mut guest, writable));
                assert_eq!(ok, 0, "{what}: the next from_bytes");
                assert_eq!(guest.close(fd), errno::SUCCESS);
                wait_until("the pool's thread closes the released file", || {
                    !open_inodes().contains(&taken)
                });
                // Charged until the thread closed it, and no longer.
                assert_eq!(guest.usage(), Usage::default(), "{what}: after close");
            }
        }
    }
}

#[test]
fn every_failure_with_a_pooled_file_closes_it_in_components() {
    let pool = full_pool();
    for (step, errno, code) in pooled_cases() {
        for writable in [false, true] {
            let what =
                format!("component, pooled, {step:?} fails with {errno:?}, writable {writable}");
            let budget = Budget::new(1 << 20, 16);
            let memfd = ctx_with(Backend::Memfd, &budget, Some(&pool));
            let mut guest = Probe::new(Wasi::V0_2_0, memfd);
            faults::inject(step, errno);
            let (got, taken) = taking_one(&pool, &what, || {
                guest.make(b"0123456789", FILE_NAME, writable)
            });
            assert_eq!(got, Err(MemfdError::from(code)), "{what}");
            assert_pooled_clean(&what, taken, guest.usage(), &budget);
            let (h, taken) = taking_one(&pool, &what, || {
                guest.make(b"0123456789", FILE_NAME, writable)
            });
            let h = h.expect("the next from-bytes");
            assert_eq!(guest.read_to_end(h, 0), b"0123456789", "{what}");
            guest.drop_descriptor(h);
            assert_eq!(guest.usage(), Usage::default(), "{what}: after the drop");
            assert!(
                !open_inodes().contains(&taken),
                "{what}: the dropped file is still open"
            );
        }
    }
}

/// A guest closing big files faster than the pool's thread closes them
/// (here: the thread is stopped) never holds more than its limits or the
/// shared budget, and is never refused for it: each file stays charged
/// until really closed, and the check that would refuse closes the backlog
/// on the guest's thread first.
#[test]
fn a_pool_backlog_of_closed_files_stays_within_the_limits() {
    const MIB: u64 = 1 << 20;
    let pool = full_pool();
    let budget = Budget::new(4 * MIB, 1000);
    let mut builder = WasiMemfdCtx::builder();
    builder.max_total_size(3 * MIB).pool(&pool).budget(&budget);
    let mut guest = Guest::with(&mut builder);
    guest.grow_to(DATA as usize + MIB as usize);
    // Makes a file of `MIB` bytes and closes it again.
    let cycle = |guest: &mut Guest| {
        let made = guest.make_raw((DATA, MIB as u32), (NAME, 0), 0, OUT);
        assert_eq!(made, errno::SUCCESS);
        guest.close(guest.u32_at(OUT))
    };

    pool.pause_freeing(true);
    let before = pool.stats();
    for i in 0..64 {
        assert_eq!(cycle(&mut guest), errno::SUCCESS, "cycle {i}");
        let held = pool.backlog_bytes();
        let usage = guest.usage();
        assert!(held <= 3 * MIB, "cycle {i}: {held} bytes wait to be closed");
        assert_eq!(usage.bytes, held, "cycle {i}: the backlog is charged");
        assert_eq!(budget.usage().bytes, held, "cycle {i}: and to the budget");
    }
    let stats = pool.stats();
    // 64 files, at most 3 waiting at once: the guest's thread closed the
    // rest each time its check found the limit full.
    assert!(
        stats.freed_by_caller - before.freed_by_caller >= 61,
        "{stats:?}"
    );
    assert_eq!(stats.freed_by_thread, before.freed_by_thread, "{stats:?}");
    // The thread frees the rest once it goes on.
    pool.pause_freeing(false);
    wait_until("the thread closes the backlog", || {
        pool.backlog_bytes() == 0
    });
    assert_eq!(guest.usage(), Usage::default());
    assert_eq!(budget.usage(), Usage::default());
}

/// A `MemoryFile` the host keeps after the guest closed its fd keeps the
/// file, and so its charge: the limits and the budget bound the memory
/// held for the guest, wherever the last handle is.
#[test]
fn a_memory_file_the_host_keeps_stays_charged_until_dropped() {
    let _counting = counting();
    let budget = Budget::new(1 << 20, 16);
    let mut guest = p1_guest(false, ctx(Backend::Memfd, &budget));
    let (made, fd) = make(&mut guest, false);
    assert_eq!(made, errno::SUCCESS);
    let kept = guest.store.data().memory_file(fd).expect("a memory file");
    assert_eq!(guest.close(fd), errno::SUCCESS);
    let held = Usage {
        files: 1,
        bytes: 10,
    };
    assert_eq!(guest.usage(), held);
    assert_eq!(budget.usage(), held);
    assert_eq!(kept.read_all().unwrap(), b"0123456789");
    drop(kept);
    assert_eq!(guest.usage(), Usage::default());
    assert_eq!(budget.usage(), Usage::default());
}
