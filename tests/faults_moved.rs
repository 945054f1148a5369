//! Fault injection through real stores: every system call that can fail
//! after a memory file starts to exist is made to fail ([`crate::faults`]),
//! on both backends and both guest ABIs, and each time the tests show that
//! no descriptor is left open, nothing is left charged (to the store or to
//! a shared budget), the guest is told the right error, and the same store
//! then makes a file as if nothing had happened.
//!
//! Descriptors are counted by what they point to (`/proc/self/fd` links to
//! `memfd:wasi-memfd:fault-*`, or to `/dev/shm/wasi-memfd-*` under
//! [`SHM_LOCK`]), so the other unit tests may run beside these. Files from
//! a [`Pool`] all share one name with the pool's ready files, so the pooled
//! cases follow the one file a call took, by inode, instead.

use std::sync::Mutex;

use rustix::io::Errno;
use wasmtime::{Engine, Linker, Module, Store};

use crate::faults::{self, Step};
use crate::p1::WasiMemfdP1Ctx;
use crate::pool::tests::wait_until;
use crate::{Backend, Budget, ErrorCode, Pool, PoolConfig, Usage, WasiMemfdCtx};

#[path = "../../tests/probe/mod.rs"]
#[allow(unused_imports)]
mod probe;

/// Held by every unit test that makes shared-memory files, so counting
/// `/dev/shm/wasi-memfd-*` links here sees only this test's.
pub(crate) static SHM_LOCK: Mutex<()> = Mutex::new(());

/// The memfd name prefix of every file these tests make.
const NAME: &str = "fault-case";

/// Descriptors this process has open on memory files these tests made.
fn leaked(backend: Backend) -> Vec<String> {
    let wanted = match backend {
        Backend::Memfd => format!("/memfd:wasi-memfd:{NAME}"),
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

/// A core module that forwards `from_bytes`, `open_preopened` and
/// `fd_close`, with the name at 0 and the data at 64.
const P1_GUEST: &str = r#"(module
  (import "wasi_memfd" "from_bytes" (func $from_bytes (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_memfd" "open_preopened" (func $open_preopened (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "fault-case")
  (data (i32.const 16) "pre")
  (data (i32.const 64) "0123456789")
  ;; from_bytes(len, flags) -> errno; the fd is at 32.
  (func (export "make") (param i32 i32) (result i32)
    (call $from_bytes (i32.const 64) (local.get 0) (i32.const 0) (i32.const 10) (local.get 1) (i32.const 32)))
  (func (export "pre") (result i32)
    (call $open_preopened (i32.const 16) (i32.const 3) (i32.const 32)))
  (func (export "fd") (result i32) (i32.load (i32.const 32)))
  (func (export "close") (param i32) (result i32) (call $fd_close (local.get 0))))"#;

/// An engine, [`P1_GUEST`] compiled, and a sync and an async linker for it.
struct P1Setup {
    engine: Engine,
    module: Module,
    sync_linker: Linker<WasiMemfdP1Ctx>,
    async_linker: Linker<WasiMemfdP1Ctx>,
}

impl P1Setup {
    fn new() -> Self {
        let engine = Engine::default();
        let module = Module::new(&engine, P1_GUEST).unwrap();
        let mut sync_linker = Linker::new(&engine);
        crate::p1::add_to_linker_sync(&mut sync_linker, |s| s).unwrap();
        let mut async_linker = Linker::new(&engine);
        crate::p1::add_to_linker_async(&mut async_linker, |s| s).unwrap();
        P1Setup {
            engine,
            module,
            sync_linker,
            async_linker,
        }
    }

    /// A new store over `memfd`, instantiated with the sync or async linker.
    fn guest(&self, asynchronous: bool, memfd: WasiMemfdCtx) -> P1 {
        let linker = if asynchronous {
            &self.async_linker
        } else {
            &self.sync_linker
        };
        P1::new(&self.engine, linker, asynchronous, &self.module, memfd)
    }
}

struct P1 {
    store: Store<WasiMemfdP1Ctx>,
    instance: wasmtime::Instance,
    /// Whether the linker is the async one (then every call is async).
    asynchronous: bool,
}

impl P1 {
    fn new(
        engine: &Engine,
        linker: &Linker<WasiMemfdP1Ctx>,
        asynchronous: bool,
        module: &Module,
        memfd: WasiMemfdCtx,
    ) -> P1 {
        let wasi = wasmtime_wasi::WasiCtxBuilder::new().build_p1();
        let mut store = Store::new(engine, WasiMemfdP1Ctx::new(wasi, memfd));
        let instance = if asynchronous {
            wasmtime_wasi::runtime::in_tokio(linker.instantiate_async(&mut store, module))
        } else {
            linker.instantiate(&mut store, module)
        }
        .unwrap();
        P1 {
            store,
            instance,
            asynchronous,
        }
    }

    fn call<P, R>(&mut self, name: &str, params: P) -> R
    where
        P: wasmtime::WasmParams + Send + Sync,
        R: wasmtime::WasmResults + Send + Sync,
    {
        let func = self
            .instance
            .get_typed_func::<P, R>(&mut self.store, name)
            .unwrap();
        if self.asynchronous {
            wasmtime_wasi::runtime::in_tokio(func.call_async(&mut self.store, params))
        } else {
            func.call(&mut self.store, params)
        }
        .unwrap()
    }

    /// `from_bytes` of 10 bytes: the errno, and the fd on success.
    fn make(&mut self, writable: bool) -> (i32, u32) {
        let errno: i32 = self.call("make", (10, i32::from(writable)));
        (errno, self.call::<(), i32>("fd", ()) as u32)
    }

    fn usage(&mut self) -> Usage {
        self.store.data_mut().memfd().usage()
    }
}

#[test]
fn every_failure_after_a_file_exists_leaves_nothing_behind() {
    let _shm = SHM_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let setup = P1Setup::new();

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
                    let mut guest = setup.guest(asynchronous, ctx(backend, &budget));
                    let baseline = Baseline(leaked(backend));
                    faults::inject(step, errno);
                    let (got, _) = guest.make(writable);
                    assert_eq!(got, i32::from(code.errno()), "{what}");
                    let usage = guest.usage();
                    assert_clean(backend, &baseline, &what, usage, &budget);
                    // The same store goes on as if nothing happened.
                    let (ok, fd) = guest.make(writable);
                    assert_eq!(ok, 0, "{what}: the next from_bytes");
                    let held = Usage {
                        files: 1,
                        bytes: 10,
                    };
                    assert_eq!(guest.usage(), held, "{what}");
                    assert_eq!(budget.usage(), held, "{what}");
                    assert_eq!(guest.call::<i32, i32>("close", fd as i32), 0);
                    let usage = guest.usage();
                    assert_clean(backend, &baseline, &what, usage, &budget);
                }
            }
        }
        // A preopened file: the dup and the table can fail.
        for (step, errno, code) in [
            (Step::Dup, Errno::MFILE, ErrorCode::TooManyFiles),
            (Step::Table, Errno::NOMEM, ErrorCode::TooManyFiles),
        ] {
            let what = format!("core module, {backend:?}, open_preopened, {step:?}");
            let budget = Budget::new(1 << 20, 16);
            let mut guest = setup.guest(false, ctx(backend, &budget));
            let baseline = Baseline(leaked(backend));
            faults::inject(step, errno);
            let got: i32 = guest.call("pre", ());
            assert_eq!(got, i32::from(code.errno()), "{what}");
            let usage = guest.usage();
            assert_clean(backend, &baseline, &what, usage, &budget);
            assert_eq!(guest.call::<(), i32>("pre", ()), 0, "{what}: the next open");
        }
    }
}

#[test]
fn every_failure_after_a_file_exists_leaves_nothing_behind_in_components() {
    use probe::{MemfdError, Probe, Wasi};
    let _shm = SHM_LOCK.lock().unwrap_or_else(|e| e.into_inner());
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
            let got = guest.make(b"0123456789", NAME, writable);
            assert_eq!(got, Err(to_wit(code)), "{what}");
            let usage = guest.usage();
            assert_clean(backend, &baseline, &what, usage, &budget);
            let h = guest
                .make(b"0123456789", NAME, writable)
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
        for (step, errno, code) in [
            (Step::Dup, Errno::MFILE, ErrorCode::TooManyFiles),
            (Step::Table, Errno::NOMEM, ErrorCode::TooManyFiles),
        ] {
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
    let pool = Pool::new(PoolConfig {
        small_files: 2,
        large_files: 0,
        ..PoolConfig::default()
    })
    .unwrap();
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
    let setup = P1Setup::new();
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
                let mut guest = setup.guest(asynchronous, memfd);
                faults::inject(step, errno);
                let ((got, _), taken) = taking_one(&pool, &what, || guest.make(writable));
                assert_eq!(got, i32::from(code.errno()), "{what}");
                assert_pooled_clean(&what, taken, guest.usage(), &budget);
                // The same store goes on; a closed file goes back to the
                // pool's thread, which closes it.
                let ((ok, fd), taken) = taking_one(&pool, &what, || guest.make(writable));
                assert_eq!(ok, 0, "{what}: the next from_bytes");
                assert_eq!(guest.call::<i32, i32>("close", fd as i32), 0);
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
    use probe::{MemfdError, Probe, Wasi};
    let pool = full_pool();
    for (step, errno, code) in pooled_cases() {
        for writable in [false, true] {
            let what =
                format!("component, pooled, {step:?} fails with {errno:?}, writable {writable}");
            let budget = Budget::new(1 << 20, 16);
            let memfd = ctx_with(Backend::Memfd, &budget, Some(&pool));
            let mut guest = Probe::new(Wasi::V0_2_0, memfd);
            faults::inject(step, errno);
            let (got, taken) =
                taking_one(&pool, &what, || guest.make(b"0123456789", NAME, writable));
            assert_eq!(got, Err(MemfdError::from(code)), "{what}");
            assert_pooled_clean(&what, taken, guest.usage(), &budget);
            let (h, taken) = taking_one(&pool, &what, || guest.make(b"0123456789", NAME, writable));
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

/// A core module that makes a file of `len` bytes (from offset 0 of its
/// 2 MiB memory) and closes it again: `cycle(len) -> errno`.
const CYCLE_GUEST: &str = r#"(module
  (import "wasi_memfd" "from_bytes" (func $from_bytes (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (memory (export "memory") 32)
  (func (export "cycle") (param i32) (result i32) (local $e i32)
    (local.set $e (call $from_bytes (i32.const 0) (local.get 0) (i32.const 0) (i32.const 0)
      (i32.const 0) (i32.const 16)))
    (if (local.get $e) (then (return (local.get $e))))
    (call $fd_close (i32.load (i32.const 16)))))"#;

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
    let engine = Engine::default();
    let module = Module::new(&engine, CYCLE_GUEST).unwrap();
    let mut linker = Linker::new(&engine);
    crate::p1::add_to_linker_sync(&mut linker, |s| s).unwrap();
    let wasi = wasmtime_wasi::WasiCtxBuilder::new().build_p1();
    let mut store = Store::new(&engine, WasiMemfdP1Ctx::new(wasi, builder.build()));
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let cycle = instance
        .get_typed_func::<u32, i32>(&mut store, "cycle")
        .unwrap();

    pool.pause_freeing(true);
    let before = pool.stats();
    for i in 0..64 {
        assert_eq!(cycle.call(&mut store, MIB as u32).unwrap(), 0, "cycle {i}");
        let held = pool.backlog_bytes();
        let usage = store.data_mut().memfd().usage();
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
    assert_eq!(store.data_mut().memfd().usage(), Usage::default());
    assert_eq!(budget.usage(), Usage::default());
}

/// A `MemoryFile` the host keeps after the guest closed its fd keeps the
/// file, and so its charge: the limits and the budget bound the memory
/// held for the guest, wherever the last handle is.
#[test]
fn a_memory_file_the_host_keeps_stays_charged_until_dropped() {
    let setup = P1Setup::new();
    let budget = Budget::new(1 << 20, 16);
    let mut guest = setup.guest(false, ctx(Backend::Memfd, &budget));
    let (errno, fd) = guest.make(false);
    assert_eq!(errno, 0);
    let kept = guest.store.data().memory_file(fd).expect("a memory file");
    assert_eq!(guest.call::<i32, i32>("close", fd as i32), 0);
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
