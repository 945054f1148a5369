//! The benchmark suite (issue 9): every way a guest gets bytes into a file
//! descriptor, measured side by side in one run, against the native work it
//! stands for.
//!
//! `cargo bench --bench suite` (or `scripts/bench.sh`, which writes the report
//! to `BENCHMARKS.md`) prints a Markdown report: for 64 B, 4 KiB, 64 KiB,
//! 1 MiB, 48 MiB and 64 MiB (48 MiB: a pool's 64 MiB file is taken and
//! trimmed),
//! 1. a warm `memcpy` of the same size into an already-faulted buffer (the
//!    ceiling);
//! 2. native `memfd_create` + `pwrite` + seals + `close` (the reference for
//!    every ratio);
//! 3. `wasi_memfd.from_bytes` + `fd_close` from a core module, with the sync
//!    and with the async linker (the loop runs inside the guest);
//! 4. `from-bytes` + dropping the descriptor from a component (sync linker);
//!    and 3. and 4. again with a `Pool` (64 small files, 2 large ones of
//!    64 MiB), for the "beyond native" targets;
//! 5. today's workaround: the guest writes the bytes to a new file in a
//!    preopened tmpfs directory through wasmtime-wasi's own WASIp1
//!    (`path_open` + `fd_write` + `fd_close`, `path_open` again read-only +
//!    `fd_close`, `path_unlink_file`), on wasmtime-wasi's fastest setting
//!    (`allow_blocking_current_thread(true)`: file I/O on the calling
//!    thread) and, as a second row, its default (each read or write hops to
//!    a blocking thread);
//!
//! and, at 64 KiB and 1 MiB, read-back: `fd_seek` to 0 + `fd_read` of the
//! whole file on a memory-file fd, against wasmtime-wasi's own `fd_seek` +
//! `fd_read` on a tmpfs file of the same size (its fastest way: its
//! `fd_pread` goes through a stream), and `fd_pread` on the memory-file fd
//! (one call per read, as `pread` is) against native `pread` into a warm
//! buffer. A "targets" section checks the issue's targets
//! against the same run.
//!
//! A plain timing loop (no extra crates): each path's iterations are sized
//! so a round takes about 100 ms, rounds of all paths alternate, and each
//! figure is the median round. Every figure is given in wall time and in
//! CPU time of the whole process (`CLOCK_PROCESS_CPUTIME_ID`: all threads,
//! so a pool's thread counts), measured from before the round to after the
//! pool's thread has finished the work the round left it (refilling, closing
//! what was handed back). Pooled rows also say how many calls the pool
//! served from ready files. Environment:
//! - `SUITE_QUICK=1`: a smoke run (short rounds, 3 of them, sizes up to
//!   1 MiB);
//! - `SUITE_SIZES=64,4096,1M`: the sizes to measure (bytes; `K`/`M` suffixes
//!   for KiB/MiB);
//! - `SUITE_ROUNDS=n`: rounds per figure (default 7, 3 when quick).
//!
//! Numbers are for comparison on one machine, not assertions.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rustix::fs::{fcntl_add_seals, memfd_create, MemfdFlags, SealFlags};
use wasi_memfd::p1::WasiMemfdP1Ctx;
use wasi_memfd::p2::WasiMemfdP2Ctx;
use wasi_memfd::{Pool, PoolConfig, WasiMemfdCtx};
use wasmtime::{Engine, Linker, Module, Store, TypedFunc};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;
const SIZES: &[usize] = &[64, 4 * KIB, 64 * KIB, MIB, 48 * MIB, 64 * MIB];
const QUICK_SIZES: &[usize] = &[64, 4 * KIB, 64 * KIB, MIB];
/// The sizes that also get a read-back table.
const READBACK_SIZES: &[usize] = &[64 * KIB, MIB];

// Guest memory: scratch below 64 KiB (fd and counts at 0 and 8, an iovec at
// 16, a seek result at 32, file names at 48 and 56), the bytes at 64 KiB,
// and a read-back buffer right after them.

/// WAT shared by the core modules: `prepare(len)` grows memory to hold the
/// bytes and the read-back buffer and touches every page of both;
/// `close(fd)` is `fd_close`;
/// `read(fd, len, n)` seeks to 0 and reads the whole file `n` times (one
/// `fd_read` per pass unless the host returns short counts); errno or 0
/// (1000: end of file before `len` bytes).
const CORE_COMMON: &str = r#"
  (memory (export "memory") 2)
  (func (export "prepare") (param $len i32) (local $want i32)
    (local.set $want (i32.add (i32.const 1)
      (i32.shr_u (i32.add (i32.shl (local.get $len) (i32.const 1)) (i32.const 65535)) (i32.const 16))))
    (if (i32.gt_u (local.get $want) (memory.size))
      (then (drop (memory.grow (i32.sub (local.get $want) (memory.size))))))
    (memory.fill (i32.const 65536) (i32.const 0xa5) (i32.shl (local.get $len) (i32.const 1))))
  (func (export "close") (param $fd i32) (result i32) (call $close (local.get $fd)))
  (func (export "read") (param $fd i32) (param $len i32) (param $n i32) (result i32)
    (local $e i32) (local $done i32)
    (block $out (loop $next
      (br_if $out (i32.eqz (local.get $n)))
      (local.set $e (call $seek (local.get $fd) (i64.const 0) (i32.const 0) (i32.const 32)))
      (br_if $out (local.get $e))
      (local.set $done (i32.const 0))
      (block $full (loop $more
        (br_if $full (i32.ge_u (local.get $done) (local.get $len)))
        (i32.store (i32.const 16)
          (i32.add (i32.add (i32.const 65536) (local.get $len)) (local.get $done)))
        (i32.store (i32.const 20) (i32.sub (local.get $len) (local.get $done)))
        (local.set $e (call $read (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 8)))
        (br_if $out (local.get $e))
        (if (i32.eqz (i32.load (i32.const 8)))
          (then (local.set $e (i32.const 1000)) (br $out)))
        (local.set $done (i32.add (local.get $done) (i32.load (i32.const 8))))
        (br $more)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $e))
"#;

/// `$pread_all(fd, len)`: reads `len` bytes of `fd` from offset 0 with
/// `fd_pread` into memory after the source bytes (errno, or 1000 at an
/// early end), for the guests that import `fd_pread` as `$pread`.
const PREAD_ALL: &str = r#"
  (func $pread_all (param $fd i32) (param $len i32) (result i32) (local $e i32) (local $done i32)
    (block $out (loop $more
      (br_if $out (i32.ge_u (local.get $done) (local.get $len)))
      (i32.store (i32.const 16)
        (i32.add (i32.add (i32.const 65536) (local.get $len)) (local.get $done)))
      (i32.store (i32.const 20) (i32.sub (local.get $len) (local.get $done)))
      (local.set $e (call $pread (local.get $fd) (i32.const 16) (i32.const 1)
        (i64.extend_i32_u (local.get $done)) (i32.const 8)))
      (br_if $out (local.get $e))
      (if (i32.eqz (i32.load (i32.const 8)))
        (then (local.set $e (i32.const 1000)) (br $out)))
      (local.set $done (i32.add (local.get $done) (i32.load (i32.const 8))))
      (br $more)))
    (local.get $e))
"#;

/// The wasi-memfd core module: `make(len, n)` makes and closes `n` memory
/// files of `len` bytes (errno or 0); `open(len)` makes one and returns its
/// fd (or minus the errno).
const MEMFD_GUEST: &str = r#"
  (import "wasi_memfd" "from_bytes" (func $fb (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_seek" (func $seek (param i32 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_pread" (func $pread (param i32 i32 i32 i64 i32) (result i32)))
  (func (export "pread") (param $fd i32) (param $len i32) (param $n i32) (result i32)
    (local $e i32)
    (block $out (loop $next
      (br_if $out (i32.eqz (local.get $n)))
      (local.set $e (call $pread_all (local.get $fd) (local.get $len)))
      (br_if $out (local.get $e))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $e))
  (func (export "make") (param $len i32) (param $n i32) (result i32) (local $e i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $e (call $fb (i32.const 65536) (local.get $len) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
      (br_if $done (local.get $e))
      (local.set $e (call $close (i32.load (i32.const 0))))
      (br_if $done (local.get $e))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $e))
  (func (export "open") (param $len i32) (result i32) (local $e i32)
    (local.set $e (call $fb (i32.const 65536) (local.get $len) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
    (if (result i32) (local.get $e)
      (then (i32.sub (i32.const 0) (local.get $e)))
      (else (i32.load (i32.const 0)))))
"#;

/// `$write_all(fd, len)`: writes the `len` bytes at 64 KiB to `fd` with
/// `fd_write` until all are written (errno or 0), for the guests that
/// import `fd_write` as `$write`.
const WRITE_ALL: &str = r#"
  (func $write_all (param $fd i32) (param $len i32) (result i32) (local $e i32) (local $done i32)
    (block $out (loop $more
      (br_if $out (i32.ge_u (local.get $done) (local.get $len)))
      (i32.store (i32.const 16) (i32.add (i32.const 65536) (local.get $done)))
      (i32.store (i32.const 20) (i32.sub (local.get $len) (local.get $done)))
      (local.set $e (call $write (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 8)))
      (br_if $out (local.get $e))
      (local.set $done (i32.add (local.get $done) (i32.load (i32.const 8))))
      (br $more)))
    (local.get $e))
"#;

/// The workaround through plain wasmtime-wasi WASIp1, in the directory
/// preopened as fd 3: `make(len, n)` writes `len` bytes to a new file `f`
/// (`fd_write` until all are written), closes it, opens it again read-only,
/// closes that and unlinks it, `n` times (errno or 0); `open()` opens the
/// file `r` (made by the host) read-only and returns its fd (or minus the
/// errno).
const TMPFS_GUEST: &str = r#"
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_unlink_file" (func $unlink (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_seek" (func $seek (param i32 i64 i32 i32) (result i32)))
  (data (i32.const 48) "f")
  (data (i32.const 56) "r")
  (func (export "make") (param $len i32) (param $n i32) (result i32)
    (local $e i32) (local $fd i32)
    (block $out (loop $next
      (br_if $out (i32.eqz (local.get $n)))
      ;; oflags CREAT|TRUNC, rights FD_WRITE
      (local.set $e (call $open (i32.const 3) (i32.const 0) (i32.const 48) (i32.const 1)
        (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 0)))
      (br_if $out (local.get $e))
      (local.set $fd (i32.load (i32.const 0)))
      (local.set $e (call $write_all (local.get $fd) (local.get $len)))
      (br_if $out (local.get $e))
      (local.set $e (call $close (local.get $fd)))
      (br_if $out (local.get $e))
      ;; again, read-only: the file the guest goes on to use
      (local.set $e (call $open (i32.const 3) (i32.const 0) (i32.const 48) (i32.const 1)
        (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 0)))
      (br_if $out (local.get $e))
      (local.set $e (call $close (i32.load (i32.const 0))))
      (br_if $out (local.get $e))
      (local.set $e (call $unlink (i32.const 3) (i32.const 48) (i32.const 1)))
      (br_if $out (local.get $e))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $e))
  (func (export "open") (result i32) (local $e i32)
    (local.set $e (call $open (i32.const 3) (i32.const 0) (i32.const 56) (i32.const 1)
      (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 0)))
    (if (result i32) (local.get $e)
      (then (i32.sub (i32.const 0) (local.get $e)))
      (else (i32.load (i32.const 0)))))
"#;

/// The component's core module: `prepare(len)` as in the core modules;
/// `run(len, n)` calls `from-bytes` on `len` bytes and drops the descriptor,
/// `n` times: 0, or 1 + the error code.
const COMPONENT_CORE: &str = r#"(module
  (import "wasi-memfd:memfd/memfd@0.1.0" "from-bytes"
    (func $fb (param i32 i32 i32 i32 i32 i32)))
  (import "wasi:filesystem/types@0.2.0" "[resource-drop]descriptor"
    (func $drop (param i32)))
  (memory (export "memory") 2)
  (func (export "prepare") (param $len i32) (local $want i32)
    (local.set $want (i32.add (i32.const 1)
      (i32.shr_u (i32.add (i32.shl (local.get $len) (i32.const 1)) (i32.const 65535)) (i32.const 16))))
    (if (i32.gt_u (local.get $want) (memory.size))
      (then (drop (memory.grow (i32.sub (local.get $want) (memory.size))))))
    (memory.fill (i32.const 65536) (i32.const 0xa5) (i32.shl (local.get $len) (i32.const 1))))
  (func (export "run") (param $len i32) (param $n i32) (result i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (call $fb (i32.const 65536) (local.get $len) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 16))
      (if (i32.load8_u (i32.const 16))
        (then (return (i32.add (i32.const 1) (i32.load8_u (i32.const 20))))))
      (call $drop (i32.load (i32.const 20)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (i32.const 0))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) unreachable))"#;

const COMPONENT_WORLD: &str = "package bench:suite;
world suite {
  import wasi-memfd:memfd/memfd@0.1.0;
  export prepare: func(len: u32);
  export run: func(len: u32, n: u32) -> u32;
}";

fn core_module(engine: &Engine, body: &str) -> Module {
    Module::new(engine, format!("(module {body} {CORE_COMMON})")).unwrap()
}

/// The component: [`COMPONENT_CORE`] with [`COMPONENT_WORLD`] over the
/// project's WIT, encoded with wit-component.
fn component_bytes() -> Vec<u8> {
    let core = wat::parse_str(COMPONENT_CORE).unwrap();
    wasi_memfd_testing::component::encode(core, COMPONENT_WORLD, "suite")
}

/// A wasi-memfd context whose limits fit the largest size measured.
fn memfd_ctx(max: usize, pool: Option<&Pool>) -> WasiMemfdCtx {
    let max = (max as u64).max(64 << 20);
    let mut builder = WasiMemfdCtx::builder();
    builder.max_file_size(max).max_total_size(4 * max);
    if let Some(pool) = pool {
        builder.pool(pool);
    }
    builder.build()
}

/// The pool of the "pool" row: 64 small files, and 2 large ones with
/// 64 MiB allocated ahead (128 MiB of memory).
fn pool_config() -> PoolConfig {
    let mut config = PoolConfig::default();
    config.small_files = 64;
    config.large_files = 2;
    config.large_bytes = 64 << 20;
    config
}

/// A directory on tmpfs for the workaround, removed on drop.
struct TmpDir(PathBuf);

impl TmpDir {
    fn new() -> TmpDir {
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("wasi-memfd-suite-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        TmpDir(dir)
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One measured path: `prepare(len)` once per size, then `run(len, n)`
/// does `n` operations.
trait Bench {
    fn prepare(&mut self, _len: usize) {}
    fn run(&mut self, len: usize, n: u32);
    /// Waits until work the path left to other threads is done (a pool
    /// refilled, closed files closed), so its CPU time is counted with it.
    fn settle(&mut self) {}
}

/// A page-aligned buffer of `len` bytes, as the guests' bytes are (at 64 KiB
/// in linear memory): the kernel's copy is sensitive to the source's
/// alignment, and a plain `Vec` of a large size starts 16 bytes into a page.
struct PageBuf {
    v: Vec<u8>,
    off: usize,
    len: usize,
}

impl PageBuf {
    fn new(len: usize, fill: impl Fn(usize) -> u8) -> PageBuf {
        const PAGE: usize = 4096;
        let mut v = vec![0u8; len + PAGE];
        let off = v.as_ptr().align_offset(PAGE);
        for (i, b) in v[off..off + len].iter_mut().enumerate() {
            *b = fill(i);
        }
        PageBuf { v, off, len }
    }
    fn empty() -> PageBuf {
        PageBuf::new(0, |_| 0)
    }
    fn bytes(&self) -> &[u8] {
        &self.v[self.off..self.off + self.len]
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.v[self.off..self.off + self.len]
    }
}

fn pattern(i: usize) -> u8 {
    (i % 251) as u8
}

/// 1. A warm `memcpy` into an already-faulted buffer.
struct Memcpy {
    src: PageBuf,
    dst: PageBuf,
}

impl Bench for Memcpy {
    fn prepare(&mut self, len: usize) {
        self.src = PageBuf::new(len, pattern);
        self.dst = PageBuf::new(len, |_| 1);
    }
    fn run(&mut self, _len: usize, n: u32) {
        for _ in 0..n {
            let src = black_box(self.src.bytes());
            black_box(self.dst.bytes_mut()).copy_from_slice(src);
            black_box(self.dst.bytes());
        }
    }
}

/// 2. Native `memfd_create` + `pwrite` + seals + `close`.
struct Native {
    data: PageBuf,
}

fn native_memfd(data: &[u8]) -> OwnedFd {
    let fd = memfd_create(c"bench", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING).unwrap();
    let mut done = 0;
    while done < data.len() {
        done += rustix::io::pwrite(&fd, &data[done..], done as u64).unwrap();
    }
    fcntl_add_seals(
        &fd,
        SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE | SealFlags::SEAL,
    )
    .unwrap();
    fd
}

impl Bench for Native {
    fn prepare(&mut self, len: usize) {
        self.data = PageBuf::new(len, pattern);
    }
    fn run(&mut self, _len: usize, n: u32) {
        for _ in 0..n {
            drop(black_box(native_memfd(self.data.bytes())));
        }
    }
}

/// A core-module guest: its store, `prepare`, `make` and `read`; async
/// guests are called with `call_async` on a current-thread runtime.
struct Core<T: 'static> {
    store: Store<T>,
    instance: wasmtime::Instance,
    rt: Option<tokio::runtime::Runtime>,
}

impl<T: Send + 'static> Core<T> {
    fn new(store: Store<T>, linker: &Linker<T>, module: &Module, asynchronous: bool) -> Self {
        let mut store = store;
        let (instance, rt) = if asynchronous {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let instance = rt
                .block_on(linker.instantiate_async(&mut store, module))
                .unwrap();
            (instance, Some(rt))
        } else {
            (linker.instantiate(&mut store, module).unwrap(), None)
        };
        Core {
            store,
            instance,
            rt,
        }
    }

    fn func<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
        &mut self,
        name: &str,
    ) -> TypedFunc<P, R> {
        self.instance.get_typed_func(&mut self.store, name).unwrap()
    }

    fn call<P: wasmtime::WasmParams + Send + Sync, R: wasmtime::WasmResults + Send + Sync>(
        &mut self,
        name: &str,
        args: P,
    ) -> R {
        let f = self.func::<P, R>(name);
        match &self.rt {
            Some(rt) => rt.block_on(f.call_async(&mut self.store, args)).unwrap(),
            None => f.call(&mut self.store, args).unwrap(),
        }
    }

    fn prepare(&mut self, len: usize) {
        self.call::<i32, ()>("prepare", len as i32);
    }
}

/// Paths 3 and 5: a guest's `make(len, n)`, with the pool its context takes
/// files from, if any.
struct Make<T: 'static>(Core<T>, Option<Pool>);

/// Waits until `pool` (if any) has nothing left to do.
fn settle_pool(pool: Option<&Pool>) {
    if let Some(pool) = pool {
        while !pool.is_idle() {
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    }
}

impl<T: Send + 'static> Bench for Make<T> {
    fn prepare(&mut self, len: usize) {
        self.0.prepare(len);
    }
    fn settle(&mut self) {
        settle_pool(self.1.as_ref());
    }
    fn run(&mut self, len: usize, n: u32) {
        let errno = self
            .0
            .call::<(i32, i32), i32>("make", (len as i32, n as i32));
        assert_eq!(errno, 0, "make({len}, {n})");
    }
}

/// 4. The component's `run(len, n)`.
struct ComponentMake {
    store: Store<WasiMemfdP2Ctx>,
    prepare: wasmtime::component::TypedFunc<(u32,), ()>,
    run: wasmtime::component::TypedFunc<(u32, u32), (u32,)>,
    pool: Option<Pool>,
}

impl ComponentMake {
    fn new(engine: &Engine, max: usize, pool: Option<&Pool>) -> Self {
        let component = wasmtime::component::Component::new(engine, component_bytes()).unwrap();
        let mut linker = wasmtime::component::Linker::<WasiMemfdP2Ctx>::new(engine);
        wasi_memfd::p2::add_to_linker_sync(&mut linker).unwrap();
        let ctx = WasiMemfdP2Ctx::new(WasiCtxBuilder::new().build(), memfd_ctx(max, pool));
        let mut store = Store::new(engine, ctx);
        wasi_memfd::p2::fit_hostcall_fuel(&mut store);
        let instance = linker.instantiate(&mut store, &component).unwrap();
        let prepare = instance.get_typed_func(&mut store, "prepare").unwrap();
        let run = instance.get_typed_func(&mut store, "run").unwrap();
        ComponentMake {
            store,
            prepare,
            run,
            pool: pool.cloned(),
        }
    }
}

impl Bench for ComponentMake {
    fn prepare(&mut self, len: usize) {
        self.prepare.call(&mut self.store, (len as u32,)).unwrap();
    }
    fn settle(&mut self) {
        settle_pool(self.pool.as_ref());
    }
    fn run(&mut self, len: usize, n: u32) {
        let (code,) = self.run.call(&mut self.store, (len as u32, n)).unwrap();
        assert_eq!(
            code,
            0,
            "run({len}, {n}): error code {}",
            code.wrapping_sub(1)
        );
    }
}

/// Read-back (6.) through a guest: `read(fd, len, n)` on an fd opened
/// once per size.
struct GuestRead<T: 'static> {
    core: Core<T>,
    /// The guest function that reads: `read` (fd_seek + fd_read) or
    /// `pread` (fd_pread at offset 0).
    func: &'static str,
    fd: Option<i32>,
    open: fn(&mut Core<T>, usize) -> i32,
}

impl<T: Send + 'static> Bench for GuestRead<T> {
    fn prepare(&mut self, len: usize) {
        if let Some(fd) = self.fd.take() {
            assert_eq!(self.core.call::<i32, i32>("close", fd), 0);
        }
        self.core.prepare(len);
        let fd = (self.open)(&mut self.core, len);
        assert!(fd >= 0, "open: errno {}", -fd);
        self.fd = Some(fd);
    }
    fn run(&mut self, len: usize, n: u32) {
        let fd = self.fd.unwrap();
        let errno = self
            .core
            .call::<(i32, i32, i32), i32>(self.func, (fd, len as i32, n as i32));
        assert_eq!(errno, 0, "{}({fd}, {len}, {n})", self.func);
    }
}

/// 6. Native `pread` of a whole memfd into a warm buffer.
struct NativePread {
    fd: Option<OwnedFd>,
    buf: PageBuf,
}

impl Bench for NativePread {
    fn prepare(&mut self, len: usize) {
        self.fd = Some(native_memfd(PageBuf::new(len, pattern).bytes()));
        self.buf = PageBuf::new(len, |_| 1);
    }
    fn run(&mut self, len: usize, n: u32) {
        let fd = self.fd.as_ref().unwrap();
        for _ in 0..n {
            let mut done = 0;
            while done < len {
                let got =
                    rustix::io::pread(fd, &mut self.buf.bytes_mut()[done..], done as u64).unwrap();
                assert!(got > 0);
                done += got;
            }
            black_box(self.buf.bytes());
        }
    }
}

/// The memory-directory workloads, one WASIp1 guest for both directories
/// (a memory directory, and a tmpfs `--dir` through wasmtime-wasi), in the
/// directory preopened as fd 3; each export does `n` operations and
/// returns an errno (or 0):
/// - `small(len, n)`: create `s` (`O_CREAT | O_TRUNC`), write `len` bytes,
///   close it, unlink it;
/// - `big(len, n)`: create `b`, write `len` bytes (`fd_write` until all are
///   written), read them all back from offset 0 (`fd_pread` until all are
///   read), close it, unlink it;
/// - `pages(count, n)`: in the file `p` (opened once by `prepare_pages`,
///   4 MiB), `count` writes of a 4 KiB page at offsets spread over the file
///   (`fd_pwrite`), with an `fd_datasync` after every eighth, as a
///   database's journal and pages do;
/// - `tells(count, n)`: `count` `fd_tell`s on the same file: the cheapest
///   call into either host (no system call in either), what a call costs
///   before any work is done.
const MEMDIR_GUEST: &str = r#"
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_pwrite" (func $pwrite (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_pread" (func $pread (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_datasync" (func $datasync (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_unlink_file" (func $unlink (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_seek" (func $seek (param i32 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_tell" (func $tell (param i32 i32) (result i32)))
  (data (i32.const 48) "s")
  (data (i32.const 52) "b")
  (data (i32.const 56) "p")
  (global $pages (mut i32) (i32.const -1))
  ;; open(name at $name, CREAT|TRUNC, rights READ|WRITE) -> fd at 0
  (func $create (param $name i32) (result i32)
    (call $open (i32.const 3) (i32.const 0) (local.get $name) (i32.const 1)
      (i32.const 9) (i64.const 66) (i64.const 0) (i32.const 0) (i32.const 0)))
  ;; `n` times: create the file named at $name, write `len` bytes, read
  ;; them back from offset 0 if $back, close it, unlink it
  (func $cycle (param $name i32) (param $back i32) (param $len i32) (param $n i32) (result i32)
    (local $e i32) (local $fd i32)
    (block $out (loop $next
      (br_if $out (i32.eqz (local.get $n)))
      (local.set $e (call $create (local.get $name)))
      (br_if $out (local.get $e))
      (local.set $fd (i32.load (i32.const 0)))
      (local.set $e (call $write_all (local.get $fd) (local.get $len)))
      (br_if $out (local.get $e))
      (if (local.get $back)
        (then
          (local.set $e (call $pread_all (local.get $fd) (local.get $len)))
          (br_if $out (local.get $e))))
      (local.set $e (call $close (local.get $fd)))
      (br_if $out (local.get $e))
      (local.set $e (call $unlink (i32.const 3) (local.get $name) (i32.const 1)))
      (br_if $out (local.get $e))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $e))
  (func (export "small") (param $len i32) (param $n i32) (result i32)
    (call $cycle (i32.const 48) (i32.const 0) (local.get $len) (local.get $n)))
  (func (export "big") (param $len i32) (param $n i32) (result i32)
    (call $cycle (i32.const 52) (i32.const 1) (local.get $len) (local.get $n)))
  (func (export "prepare_pages") (result i32) (local $e i32)
    (local.set $e (call $create (i32.const 56)))
    (if (local.get $e) (then (return (local.get $e))))
    (global.set $pages (i32.load (i32.const 0)))
    (call $write_all (global.get $pages) (i32.const 4194304)))
  (func (export "pages") (param $count i32) (param $n i32) (result i32)
    (local $e i32) (local $i i32) (local $at i64)
    (block $out (loop $next
      (br_if $out (i32.eqz (local.get $n)))
      (local.set $i (i32.const 0))
      (block $done (loop $page
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        ;; page (i * 389) mod 1024, 4 KiB each: spread over the 4 MiB file
        (local.set $at (i64.shl (i64.extend_i32_u
          (i32.rem_u (i32.mul (local.get $i) (i32.const 389)) (i32.const 1024))) (i64.const 12)))
        (i32.store (i32.const 16) (i32.const 65536))
        (i32.store (i32.const 20) (i32.const 4096))
        (local.set $e (call $pwrite (global.get $pages) (i32.const 16) (i32.const 1)
          (local.get $at) (i32.const 8)))
        (br_if $out (local.get $e))
        (if (i32.eqz (i32.and (local.get $i) (i32.const 7)))
          (then
            (local.set $e (call $datasync (global.get $pages)))
            (br_if $out (local.get $e))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $page)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $e))
  (func (export "tells") (param $count i32) (param $n i32) (result i32)
    (local $e i32) (local $i i32)
    (block $out (loop $next
      (br_if $out (i32.eqz (local.get $n)))
      (local.set $i (local.get $count))
      (block $done (loop $call
        (br_if $done (i32.eqz (local.get $i)))
        (local.set $e (call $tell (global.get $pages) (i32.const 8)))
        (br_if $out (local.get $e))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br $call)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $e))
"#;

/// Pages each `pages` operation writes.
const PAGES_PER_OP: i32 = 64;
/// Guest calls each `pages` operation makes: its writes and fdatasyncs.
const PAGE_CALLS_PER_OP: i32 = PAGES_PER_OP + PAGES_PER_OP / 8;

/// One memory-directory workload through a guest: `func(len, n)`.
struct DirWork<T: 'static> {
    core: Core<T>,
    func: &'static str,
}

impl<T: Send + 'static> Bench for DirWork<T> {
    fn prepare(&mut self, len: usize) {
        self.core.prepare(len);
        if matches!(self.func, "pages" | "tells") {
            let errno = self.core.call::<(), i32>("prepare_pages", ());
            assert_eq!(errno, 0, "prepare_pages");
        }
    }
    fn run(&mut self, len: usize, n: u32) {
        let arg = match self.func {
            "pages" => PAGES_PER_OP,
            "tells" => PAGE_CALLS_PER_OP,
            _ => len as i32,
        };
        let errno = self
            .core
            .call::<(i32, i32), i32>(self.func, (arg, n as i32));
        assert_eq!(errno, 0, "{}({len}, {n})", self.func);
    }
}

/// The kernel's share of a memory-directory workload: the same system calls
/// as the guest's, made natively (no wasm, no WASI), on a memfd (what a
/// memory directory's file is) or on a file in a tmpfs directory (what
/// `--dir` on tmpfs is). The floor neither wasm path can go below.
struct NativeDirWork {
    /// A tmpfs directory for the files, or `None`: memfds.
    dir: Option<PathBuf>,
    func: &'static str,
    src: PageBuf,
    back: PageBuf,
    /// The `pages` workload's file, prepared once.
    pages: Option<OwnedFd>,
}

impl NativeDirWork {
    fn new(dir: Option<PathBuf>, func: &'static str) -> Self {
        NativeDirWork {
            dir,
            func,
            src: PageBuf::empty(),
            back: PageBuf::empty(),
            pages: None,
        }
    }

    /// A new empty file: `memfd_create`, or `openat(O_CREAT | O_TRUNC)`.
    fn create(&self, name: &str) -> OwnedFd {
        use rustix::fs::{open, Mode, OFlags};
        match &self.dir {
            None => memfd_create(name, MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING).unwrap(),
            Some(dir) => open(
                dir.join(name),
                OFlags::CREATE | OFlags::TRUNC | OFlags::RDWR | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            )
            .unwrap(),
        }
    }

    /// Closes the file and, in a directory, unlinks its name.
    fn remove(&self, fd: OwnedFd, name: &str) {
        drop(fd);
        if let Some(dir) = &self.dir {
            rustix::fs::unlink(dir.join(name)).unwrap();
        }
    }

    fn write_all(fd: &OwnedFd, bytes: &[u8]) {
        let mut done = 0;
        while done < bytes.len() {
            done += rustix::io::write(fd, &bytes[done..]).unwrap();
        }
    }
}

impl Bench for NativeDirWork {
    fn prepare(&mut self, len: usize) {
        let len = if self.func == "pages" { 4096 } else { len };
        self.src = PageBuf::new(len, pattern);
        self.back = PageBuf::new(len, |_| 1);
        if self.func == "pages" {
            let fd = self.create("p");
            Self::write_all(&fd, PageBuf::new(4 * MIB, pattern).bytes());
            self.pages = Some(fd);
        }
    }
    fn run(&mut self, len: usize, n: u32) {
        for _ in 0..n {
            match self.func {
                "small" => {
                    let fd = self.create("s");
                    Self::write_all(&fd, self.src.bytes());
                    self.remove(fd, "s");
                }
                "big" => {
                    let fd = self.create("b");
                    Self::write_all(&fd, self.src.bytes());
                    let mut done = 0;
                    while done < len {
                        let back = &mut self.back.bytes_mut()[done..];
                        done += rustix::io::pread(&fd, back, done as u64).unwrap();
                    }
                    self.remove(fd, "b");
                }
                _ => {
                    let fd = self.pages.as_ref().unwrap();
                    for i in 0..PAGES_PER_OP as u64 {
                        let at = ((i * 389) % 1024) << 12;
                        rustix::io::pwrite(fd, self.src.bytes(), at).unwrap();
                        if i % 8 == 0 {
                            rustix::fs::fdatasync(fd).unwrap();
                        }
                    }
                }
            }
        }
        black_box(self.back.bytes());
    }
}

/// Run-time settings.
struct Settings {
    quick: bool,
    sizes: Vec<usize>,
    rounds: usize,
    /// Seconds one round should take.
    round: f64,
}

fn parse_size(s: &str) -> usize {
    let s = s.trim();
    let (num, mul) = match s.as_bytes().last() {
        Some(b'K' | b'k') => (&s[..s.len() - 1], KIB),
        Some(b'M' | b'm') => (&s[..s.len() - 1], MIB),
        _ => (s, 1),
    };
    num.parse::<usize>()
        .unwrap_or_else(|_| panic!("SUITE_SIZES: bad size {s:?}"))
        * mul
}

impl Settings {
    fn from_env() -> Settings {
        let quick = std::env::var("SUITE_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let sizes = match std::env::var("SUITE_SIZES") {
            Ok(v) if !v.trim().is_empty() => v.split(',').map(parse_size).collect(),
            _ if quick => QUICK_SIZES.to_vec(),
            _ => SIZES.to_vec(),
        };
        for &len in &sizes {
            assert!(
                (1..=1 << 30).contains(&len),
                "SUITE_SIZES: {len} is not between 1 byte and 1 GiB"
            );
        }
        let rounds = std::env::var("SUITE_ROUNDS")
            .ok()
            .map(|v| v.parse().expect("SUITE_ROUNDS: a number"))
            .unwrap_or(if quick { 3 } else { 7 });
        Settings {
            quick,
            sizes,
            rounds: std::cmp::max(rounds, 1),
            round: if quick { 0.005 } else { 0.1 },
        }
    }
}

/// Wall and CPU seconds of one measurement.
#[derive(Copy, Clone, Debug, Default)]
struct Fig {
    wall: f64,
    cpu: f64,
}

/// CPU seconds this process has used so far, all threads.
fn cpu_now() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// Seconds `b` takes for `n` operations of `len` bytes: wall time of the
/// operations, and CPU time of the process from before them until the work
/// they left other threads is done.
fn time(b: &mut dyn Bench, len: usize, n: u32) -> Fig {
    b.settle();
    let cpu = cpu_now();
    let start = Instant::now();
    b.run(len, n);
    let wall = start.elapsed().as_secs_f64();
    b.settle();
    Fig {
        wall,
        cpu: cpu_now() - cpu,
    }
}

/// Operations per round so a round takes about `settings.round` (this also
/// warms the path up).
fn calibrate(b: &mut dyn Bench, len: usize, settings: &Settings) -> u32 {
    let mut n = 1u32;
    loop {
        let t = time(b, len, n).wall;
        if t >= settings.round / 8.0 || n >= 1 << 26 {
            let fit = (f64::from(n) * settings.round / t.max(1e-9)) as u64;
            let min = if settings.quick { 1 } else { 3 };
            return fit.clamp(min, 1 << 28) as u32;
        }
        n *= 4;
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median seconds per operation (wall and CPU, each the median of its own)
/// of each path at `len`, rounds alternating between the paths.
fn measure(paths: &mut [(&str, &mut dyn Bench)], len: usize, settings: &Settings) -> Vec<Fig> {
    let mut iters = Vec::new();
    for (_, b) in paths.iter_mut() {
        b.prepare(len);
        iters.push(calibrate(*b, len, settings));
    }
    let mut walls = vec![Vec::new(); paths.len()];
    let mut cpus = vec![Vec::new(); paths.len()];
    for _ in 0..settings.rounds {
        for (i, (_, b)) in paths.iter_mut().enumerate() {
            let fig = time(*b, len, iters[i]);
            walls[i].push(fig.wall / f64::from(iters[i]));
            cpus[i].push(fig.cpu / f64::from(iters[i]));
        }
    }
    walls
        .into_iter()
        .zip(cpus)
        .map(|(w, c)| Fig {
            wall: median(w),
            cpu: median(c),
        })
        .collect()
}

fn human_time(secs: f64) -> String {
    let (v, unit) = if secs < 1e-6 {
        (secs * 1e9, "ns")
    } else if secs < 1e-3 {
        (secs * 1e6, "µs")
    } else if secs < 1.0 {
        (secs * 1e3, "ms")
    } else {
        (secs, "s")
    };
    sig3(v, unit)
}

fn throughput(len: usize, secs: f64) -> String {
    let bps = len as f64 / secs;
    if bps >= 1e9 {
        sig3(bps / 1e9, "GB/s")
    } else {
        sig3(bps / 1e6, "MB/s")
    }
}

/// Three significant digits.
fn sig3(v: f64, unit: &str) -> String {
    let decimals = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.decimals$} {unit}")
}

fn human_size(len: usize) -> String {
    if len >= MIB && len.is_multiple_of(MIB) {
        format!("{} MiB", len / MIB)
    } else if len >= KIB && len.is_multiple_of(KIB) {
        format!("{} KiB", len / KIB)
    } else {
        format!("{len} B")
    }
}

fn command_line(cmd: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn machine_header(settings: &Settings, tmp: &Path) {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
        .map_or("unknown".to_string(), |(_, v)| v.trim().to_string());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .ok()
        .or_else(|| command_line("uname", &["-r"]))
        .unwrap_or_else(|| "unknown".into());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc = command_line(&rustc, &["-V"]).unwrap_or_else(|| "unknown".into());
    let date = command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_else(|| {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        format!("{secs} s since the epoch")
    });
    println!("# wasi-memfd benchmarks");
    println!();
    println!("- Machine: {cpu}, {cores} cores, Linux {kernel}");
    println!("- Toolchain: {rustc}, release profile; wasmtime 48, default configuration");
    println!("- Date: {date}");
    println!(
        "- Method: median of {} rounds per figure, ~{} ms per round, rounds of all paths alternating{}",
        settings.rounds,
        (settings.round * 1e3) as u64,
        if settings.quick {
            " (**SUITE_QUICK**: a smoke run, not figures to quote)"
        } else {
            ""
        }
    );
    println!(
        "- Workaround and tmpfs read-back directory: `{}`",
        tmp.display()
    );
    println!(
        "- Ratios are time per operation over native `memfd_create` + `pwrite` + seals + `close` (lower is faster); native sources and buffers are page-aligned, as the guests' bytes are"
    );
    println!();
}

const MEMCPY: &str = "memcpy, warm buffer (ceiling)";
const NATIVE: &str = "native memfd_create + pwrite + seals + close";
const CORE_SYNC: &str = "core module, sync linker: from_bytes + fd_close";
const CORE_ASYNC: &str = "core module, async linker: from_bytes + fd_close";
const COMPONENT: &str = "component, sync linker: from-bytes + drop";
const CORE_SYNC_POOL: &str = "core module, sync linker, pool: from_bytes + fd_close";
const CORE_ASYNC_POOL: &str = "core module, async linker, pool: from_bytes + fd_close";
const COMPONENT_POOL: &str = "component, sync linker, pool: from-bytes + drop";
const WORKAROUND: &str =
    "workaround: wasmtime-wasi WASIp1 tmpfs file (write, reopen, unlink), blocking on the calling thread (fastest)";
const WORKAROUND_HOP: &str =
    "workaround: wasmtime-wasi WASIp1 tmpfs file, default setting (each write hops to a blocking thread)";

/// The rows of the read-back tables.
struct ReadRows {
    native: &'static str,
    memfd: &'static str,
    memfd_pread: &'static str,
    /// On wasmtime-wasi's fastest setting.
    tmpfs: &'static str,
    /// On wasmtime-wasi's default setting.
    tmpfs_hop: &'static str,
}

const READ: ReadRows = ReadRows {
    native: "native pread, warm buffer",
    memfd: "memory-file fd: fd_seek + fd_read (wasi-memfd sync linker)",
    memfd_pread: "memory-file fd: fd_pread (wasi-memfd sync linker)",
    tmpfs: "tmpfs file: fd_seek + fd_read (wasmtime-wasi WASIp1, blocking on the calling thread: fastest)",
    tmpfs_hop: "tmpfs file: fd_seek + fd_read (wasmtime-wasi WASIp1, default setting: a blocking-thread hop)",
};

/// A memory-directory workload's two rows: a memory-file row and its tmpfs
/// counterpart (the same guest in a memory directory and in a tmpfs `--dir`
/// on wasmtime-wasi's fastest setting, or, for `DIR.native`, the same system
/// calls made natively on a memfd and on a tmpfs file).
#[derive(Clone, Copy)]
struct DirRows {
    mem: &'static str,
    tmpfs: &'static str,
}

/// The rows of the memory-directory tables, by workload.
struct DirWorkloads {
    small: DirRows,
    big: DirRows,
    pages: DirRows,
    tells: DirRows,
    /// The kernel's floor for each: the same system calls natively, on a
    /// memfd and on a tmpfs file.
    native: DirRows,
}

const DIR: DirWorkloads = DirWorkloads {
    small: DirRows {
        mem: "memory directory (--mem-dir): create, write 64 B, close, unlink",
        tmpfs: "tmpfs --dir, wasmtime-wasi fastest setting: create, write 64 B, close, unlink",
    },
    big: DirRows {
        mem: "memory directory: write 64 MiB, read it back, close, unlink",
        tmpfs: "tmpfs --dir, fastest setting: write 64 MiB, read it back, close, unlink",
    },
    pages: DirRows {
        mem: "memory directory: 64 page writes of 4 KiB (pwrite) with 8 fdatasyncs",
        tmpfs: "tmpfs --dir, fastest setting: 64 page writes of 4 KiB with 8 fdatasyncs",
    },
    tells: DirRows {
        mem: "memory directory: 72 fd_tells on the same file (the cheapest call: no system call)",
        tmpfs: "tmpfs --dir, fastest setting: 72 fd_tells on the same file",
    },
    native: DirRows {
        mem: "native, no wasm: the same system calls on a memfd",
        tmpfs: "native, no wasm: the same system calls on a tmpfs file",
    },
};

/// The paths without and with the pool, in the order of the targets.
const MAKERS: [(&str, &str); 3] = [
    (CORE_SYNC, CORE_SYNC_POOL),
    (CORE_ASYNC, CORE_ASYNC_POOL),
    (COMPONENT, COMPONENT_POOL),
];

fn short(path: &str) -> &'static str {
    match path {
        CORE_SYNC => "core sync",
        CORE_ASYNC => "core async",
        COMPONENT => "component",
        CORE_SYNC_POOL => "core sync, pool",
        CORE_ASYNC_POOL => "core async, pool",
        COMPONENT_POOL => "component, pool",
        _ => "?",
    }
}

/// `a / b`: two decimals, three significant digits below 0.1.
fn ratio(a: f64, b: f64) -> String {
    let r = a / b;
    if r >= 0.1 {
        format!("{r:.2}×")
    } else {
        let decimals = (2.0 - r.log10().floor()).clamp(2.0, 9.0) as usize;
        format!("{r:.decimals$}×")
    }
}

/// Per size: each path's seconds per op.
type Results = BTreeMap<usize, BTreeMap<&'static str, Fig>>;

/// One table: a row per path, wall and CPU time per op, throughput (wall)
/// and each against `base`'s (and `base2`'s, if given).
fn table(
    paths: &[&'static str],
    row: &BTreeMap<&'static str, Fig>,
    len: usize,
    base: (&str, &str),
    base2: Option<(&str, &str)>,
) {
    let b = row[base.0];
    let mut head = format!(
        "| path | time/op | CPU/op (all threads) | throughput | time vs {} | CPU vs {} |",
        base.1, base.1
    );
    let mut rule = "|---|---:|---:|---:|---:|---:|".to_string();
    if let Some((_, label)) = base2 {
        head.push_str(&format!(" time vs {label} |"));
        rule.push_str("---:|");
    }
    println!("{head}");
    println!("{rule}");
    for name in paths {
        let f = row[name];
        let mut line = format!(
            "| {name} | {} | {} | {} | {} | {} |",
            human_time(f.wall),
            human_time(f.cpu),
            throughput(len, f.wall),
            ratio(f.wall, b.wall),
            ratio(f.cpu, b.cpu)
        );
        if let Some((b2, _)) = base2 {
            line.push_str(&format!(" {} |", ratio(f.wall, row[b2].wall)));
        }
        println!("{line}");
    }
    println!();
}

fn main() {
    let settings = Settings::from_env();
    let max = *settings.sizes.iter().max().unwrap();
    let tmp = TmpDir::new();
    machine_header(&settings, &tmp.0);

    let engine = Engine::default();
    let memfd_module = core_module(&engine, &format!("{MEMFD_GUEST}{PREAD_ALL}"));
    let tmpfs_module = core_module(&engine, &format!("{TMPFS_GUEST}{WRITE_ALL}"));

    let memfd_store = |engine: &Engine, pool: Option<&Pool>| {
        let wasi = WasiCtxBuilder::new().build_p1();
        Store::new(engine, WasiMemfdP1Ctx::new(wasi, memfd_ctx(max, pool)))
    };
    let pool = Pool::new(pool_config()).expect("starting the pool");
    let tmpfs_store = |engine: &Engine, blocking: bool| {
        let wasi = WasiCtxBuilder::new()
            .allow_blocking_current_thread(blocking)
            .preopened_dir(&tmp.0, "/tmp", FsPerms::ReadWrite)
            .unwrap()
            .build_p1();
        Store::new(engine, wasi)
    };
    let mut sync_linker = Linker::<WasiMemfdP1Ctx>::new(&engine);
    wasi_memfd::p1::add_to_linker_sync(&mut sync_linker, |s| s).unwrap();
    let mut async_linker = Linker::<WasiMemfdP1Ctx>::new(&engine);
    wasi_memfd::p1::add_to_linker_async(&mut async_linker, |s| s).unwrap();
    let mut wasi_linker = Linker::<WasiP1Ctx>::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut wasi_linker, |s| s).unwrap();

    let mut memcpy = Memcpy {
        src: PageBuf::empty(),
        dst: PageBuf::empty(),
    };
    let mut native = Native {
        data: PageBuf::empty(),
    };
    let core = |pool: Option<&Pool>, asynchronous: bool| {
        let linker = if asynchronous {
            &async_linker
        } else {
            &sync_linker
        };
        Make(
            Core::new(
                memfd_store(&engine, pool),
                linker,
                &memfd_module,
                asynchronous,
            ),
            pool.cloned(),
        )
    };
    let mut core_sync = core(None, false);
    let mut core_async = core(None, true);
    let mut core_sync_pool = core(Some(&pool), false);
    let mut core_async_pool = core(Some(&pool), true);
    let mut component = ComponentMake::new(&engine, max, None);
    let mut component_pool = ComponentMake::new(&engine, max, Some(&pool));
    let workaround = |blocking: bool| {
        Make(
            Core::new(
                tmpfs_store(&engine, blocking),
                &wasi_linker,
                &tmpfs_module,
                false,
            ),
            None,
        )
    };
    let mut workaround_fast = workaround(true);
    let mut workaround_hop = workaround(false);

    let mut read_native = NativePread {
        fd: None,
        buf: PageBuf::empty(),
    };
    let memfd_read = |func| GuestRead {
        core: Core::new(
            memfd_store(&engine, None),
            &sync_linker,
            &memfd_module,
            false,
        ),
        func,
        fd: None,
        open: |core, len| core.call::<i32, i32>("open", len as i32),
    };
    let mut read_memfd = memfd_read("read");
    let mut pread_memfd = memfd_read("pread");
    let readback_file = tmp.0.join("r");
    let tmpfs_read = |blocking: bool| GuestRead {
        core: Core::new(
            tmpfs_store(&engine, blocking),
            &wasi_linker,
            &tmpfs_module,
            false,
        ),
        func: "read",
        fd: None,
        open: |core, _len| core.call::<(), i32>("open", ()),
    };
    let mut read_tmpfs = tmpfs_read(true);
    let mut read_tmpfs_hop = tmpfs_read(false);

    let mut results = Results::new();
    for &len in &settings.sizes {
        let mut paths: Vec<(&'static str, &mut dyn Bench)> = vec![
            (MEMCPY, &mut memcpy),
            (NATIVE, &mut native),
            (CORE_SYNC, &mut core_sync),
            (CORE_ASYNC, &mut core_async),
            (COMPONENT, &mut component),
            (CORE_SYNC_POOL, &mut core_sync_pool),
            (CORE_ASYNC_POOL, &mut core_async_pool),
            (COMPONENT_POOL, &mut component_pool),
            (WORKAROUND, &mut workaround_fast),
            (WORKAROUND_HOP, &mut workaround_hop),
        ];
        let before = pool.stats();
        let times = measure(&mut paths, len, &settings);
        let served = pool.stats();
        let row = results.entry(len).or_default();
        let names: Vec<&'static str> = paths.iter().map(|(n, _)| *n).collect();
        for (name, t) in names.iter().zip(&times) {
            row.insert(name, *t);
        }
        println!("## {} (make a file, close it)", human_size(len));
        println!();
        table(
            &names,
            row,
            len,
            (NATIVE, "native"),
            Some((WORKAROUND, "fastest workaround")),
        );
        let taken = |s: wasi_memfd::PoolStats| (s.small_taken, s.large_taken, s.missed);
        let (b, a) = (taken(before), taken(served));
        let (small, large, missed) = (a.0 - b.0, a.1 - b.1, a.2 - b.2);
        println!(
            "Pool ({}): of {} calls in the pooled rows (calibration included), {} were served with a small ready file, {} with a large one (allocated ahead{}), {} found none ready and made their own.",
            describe_pool(&pool_config()),
            small + large + missed,
            small,
            large,
            if len > 32 * MIB && len < 64 * MIB {
                ", then trimmed"
            } else {
                ""
            },
            missed
        );
        println!();

        if READBACK_SIZES.contains(&len) {
            std::fs::write(&readback_file, vec![0xa5u8; len]).unwrap();
            let mut paths: Vec<(&'static str, &mut dyn Bench)> = vec![
                (READ.native, &mut read_native),
                (READ.memfd_pread, &mut pread_memfd),
                (READ.memfd, &mut read_memfd),
                (READ.tmpfs, &mut read_tmpfs),
                (READ.tmpfs_hop, &mut read_tmpfs_hop),
            ];
            let times = measure(&mut paths, len, &settings);
            let names: Vec<&'static str> = paths.iter().map(|(n, _)| *n).collect();
            for (name, t) in names.iter().zip(&times) {
                row.insert(name, *t);
            }
            println!("## {} read-back (read a whole file)", human_size(len));
            println!();
            table(
                &names,
                row,
                len,
                (READ.native, "native pread"),
                Some((READ.tmpfs, "fastest wasmtime-wasi tmpfs")),
            );
        }
    }
    mem_dirs(&engine, &tmp, &settings, &mut results);
    targets(&results);
}

/// The memory-directory workloads against the same guest in a tmpfs
/// `--dir` on wasmtime-wasi's fastest setting.
fn mem_dirs(engine: &Engine, tmp: &TmpDir, settings: &Settings, results: &mut Results) {
    let module = core_module(engine, &format!("{MEMDIR_GUEST}{WRITE_ALL}{PREAD_ALL}"));
    let mut memfd_linker = Linker::<WasiMemfdP1Ctx>::new(engine);
    wasi_memfd::p1::add_to_linker_sync(&mut memfd_linker, |s| s).unwrap();
    let mut wasi_linker = Linker::<WasiP1Ctx>::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut wasi_linker, |s| s).unwrap();
    let mem = |func| {
        let mut builder = WasiMemfdCtx::builder();
        builder
            .max_file_size(256 << 20)
            .max_total_size(1 << 30)
            .preopened_mem_dir(&wasi_memfd::MemDir::new(), "/m")
            .unwrap();
        let ctx = builder.build_p1(&mut WasiCtxBuilder::new()).unwrap();
        DirWork {
            core: Core::new(Store::new(engine, ctx), &memfd_linker, &module, false),
            func,
        }
    };
    let dir = tmp.0.join("dirs");
    std::fs::create_dir_all(&dir).unwrap();
    let tmpfs = |func| {
        let wasi = WasiCtxBuilder::new()
            .allow_blocking_current_thread(true)
            .preopened_dir(&dir, "/m", FsPerms::ReadWrite)
            .unwrap()
            .build_p1();
        DirWork {
            core: Core::new(Store::new(engine, wasi), &wasi_linker, &module, false),
            func,
        }
    };
    println!("## Memory directories (unmodified programs: files by path)");
    println!();
    println!("The same WASIp1 guest, its directory preopened as fd 3: a memory directory (`wasi_memfd::p1`, `--mem-dir`), or a tmpfs directory through wasmtime-wasi with `allow_blocking_current_thread(true)`.");
    println!();
    for (len, rows, func) in [
        (64usize, DIR.small, "small"),
        (64 * MIB, DIR.big, "big"),
        (4 * MIB, DIR.pages, "pages"),
    ] {
        if settings.quick && len == 64 * MIB {
            continue;
        }
        let (mut a, mut b) = (mem(func), tmpfs(func));
        let mut c = NativeDirWork::new(None, func);
        let native_dir = tmp.0.join("native");
        std::fs::create_dir_all(&native_dir).unwrap();
        let mut d = NativeDirWork::new(Some(native_dir), func);
        let mut paths: Vec<(&'static str, &mut dyn Bench)> = vec![
            (rows.mem, &mut a),
            (rows.tmpfs, &mut b),
            (DIR.native.mem, &mut c),
            (DIR.native.tmpfs, &mut d),
        ];
        let times = measure(&mut paths, len, settings);
        let row = results.entry(len).or_default();
        row.insert(rows.mem, times[0]);
        row.insert(rows.tmpfs, times[1]);
        row.insert(DIR.native.mem, times[2]);
        row.insert(DIR.native.tmpfs, times[3]);
        println!("| workload | time/op | CPU/op (all threads) | vs tmpfs |");
        println!("|---|---:|---:|---:|");
        let all = [rows.mem, rows.tmpfs, DIR.native.mem, DIR.native.tmpfs];
        for (name, t) in all.iter().zip(&times) {
            println!(
                "| {name} | {} | {} | {} |",
                human_time(t.wall),
                human_time(t.cpu),
                ratio(t.wall, times[1].wall)
            );
        }
        println!();
    }
    // What a guest call costs before any work: the floor of the layer the
    // page writes pay per call (see `why_mem_dirs`).
    let (mut a, mut b) = (mem("tells"), tmpfs("tells"));
    let mut paths: Vec<(&'static str, &mut dyn Bench)> =
        vec![(DIR.tells.mem, &mut a), (DIR.tells.tmpfs, &mut b)];
    let times = measure(&mut paths, 4 * MIB, settings);
    let row = results.entry(4 * MIB).or_default();
    row.insert(DIR.tells.mem, times[0]);
    row.insert(DIR.tells.tmpfs, times[1]);
    println!("| workload | time/op | CPU/op (all threads) | per call |");
    println!("|---|---:|---:|---:|");
    for (name, t) in [DIR.tells.mem, DIR.tells.tmpfs].iter().zip(&times) {
        println!(
            "| {name} | {} | {} | {} |",
            human_time(t.wall),
            human_time(t.cpu),
            human_time(t.wall / f64::from(PAGE_CALLS_PER_OP))
        );
    }
    println!();
}

fn describe_pool(config: &PoolConfig) -> String {
    format!(
        "{} small files, {} large of {}",
        config.small_files,
        config.large_files,
        human_size(config.large_bytes as usize)
    )
}

/// One target check: a label, and the measured figure against its bound, or
/// `None` when a size it needs was not measured.
struct Check {
    label: String,
    figure: Option<f64>,
    bound: f64,
    /// Whether the figure must be at most (true) or at least the bound.
    at_most: bool,
    unit: &'static str,
}

fn print_check(c: &Check) {
    let cmp = if c.at_most { "≤" } else { "≥" };
    let bound = c.bound;
    match c.figure {
        Some(v) => {
            let met = if c.at_most { v <= bound } else { v >= bound };
            println!(
                "| {} | {v:.2}{} | {cmp} {bound}{} | {} |",
                c.label,
                c.unit,
                c.unit,
                if met { "met" } else { "**not met**" }
            );
        }
        None => println!(
            "| {} | — | {cmp} {bound}{} | not measured |",
            c.label, c.unit
        ),
    }
}

/// The wall times per operation of `paths` (each a size and a path), if
/// this run measured them all.
fn walls<const N: usize>(results: &Results, paths: [(usize, &str); N]) -> Option<[f64; N]> {
    let mut out = [0.0; N];
    for (wall, (len, path)) in out.iter_mut().zip(paths) {
        *wall = results.get(&len)?.get(path)?.wall;
    }
    Some(out)
}

/// The issue's targets, computed from this run's figures, every ratio
/// against the fastest baseline.
fn targets(results: &Results) {
    let get = |len: usize, path: &str| results.get(&len).and_then(|r| r.get(path)).copied();
    let vs = |len: usize, a: &str, b: &str| Some(get(len, a)?.wall / get(len, b)?.wall);
    let mut checks = Vec::new();
    for len in [64, 4 * KIB] {
        for (path, _) in MAKERS {
            checks.push(Check {
                label: format!(
                    "{} {}: from_bytes + close vs native",
                    human_size(len),
                    short(path)
                ),
                figure: vs(len, path, NATIVE),
                bound: 1.2,
                at_most: true,
                unit: "×",
            });
        }
    }
    for (path, _) in MAKERS {
        checks.push(Check {
            label: format!("64 MiB {}: time per byte vs native", short(path)),
            figure: vs(64 * MIB, path, NATIVE),
            bound: 1.05,
            at_most: true,
            unit: "×",
        });
    }
    for len in [MIB, 64 * MIB] {
        for (path, _) in MAKERS {
            checks.push(Check {
                label: format!(
                    "{} {}: speed-up over the fastest tmpfs workaround",
                    human_size(len),
                    short(path)
                ),
                figure: vs(len, WORKAROUND, path),
                bound: 2.0,
                at_most: false,
                unit: "×",
            });
        }
    }
    for len in READBACK_SIZES.iter().copied() {
        checks.push(Check {
            label: format!(
                "{} read-back: speed-up over the fastest wasmtime-wasi tmpfs fd_read",
                human_size(len)
            ),
            figure: vs(len, READ.tmpfs, READ.memfd),
            bound: 2.0,
            at_most: false,
            unit: "×",
        });
        checks.push(Check {
            label: format!(
                "{} read-back: memory-file fd_pread vs native pread",
                human_size(len)
            ),
            figure: vs(len, READ.memfd_pread, READ.native),
            bound: 1.2,
            at_most: true,
            unit: "×",
        });
    }
    for (len, rows, bound, label) in [
        (
            64,
            DIR.small,
            2.0,
            "memory directory, small file: speed-up over tmpfs --dir",
        ),
        (
            64 * MIB,
            DIR.big,
            1.0,
            "memory directory, 64 MiB written and read: speed-up over tmpfs --dir",
        ),
        (
            4 * MIB,
            DIR.pages,
            2.0,
            "memory directory, page writes + fdatasync: speed-up over tmpfs --dir",
        ),
    ] {
        checks.push(Check {
            label: label.into(),
            figure: vs(len, rows.tmpfs, rows.mem),
            bound,
            at_most: false,
            unit: "×",
        });
    }
    println!("## Targets (default configuration, this run)");
    println!();
    println!("Every ratio is against the fastest baseline: native, or wasmtime-wasi with `allow_blocking_current_thread(true)`.");
    println!();
    println!("| target | measured | bound | |");
    println!("|---|---:|---:|---|");
    checks.iter().for_each(print_check);
    println!();
    why(results);
    why_mem_dirs(results);
    beyond_native(results);
    summary(results);
}

/// What the figures say, in words, from this run: against the fastest
/// baseline, and what speed is not the reason to use.
fn summary(results: &Results) {
    let get = |len: usize, path: &str| results.get(&len).and_then(|r| r.get(path)).map(|f| f.wall);
    println!("## Summary (this run)");
    println!();
    if let (Some(w), Some(m)) = (get(64, WORKAROUND), get(64, CORE_SYNC)) {
        println!(
            "- **Small files:** making a 64 B memory file and closing it is {:.2}× as fast as the same through a tmpfs file on wasmtime-wasi's fastest setting (open, write, close, reopen, unlink), {:.2}× as fast as on its default setting.",
            w / m,
            get(64, WORKAROUND_HOP).unwrap_or(f64::NAN) / m
        );
    }
    if let (Some(w), Some(m)) = (get(64 * MIB, WORKAROUND), get(64 * MIB, CORE_SYNC)) {
        println!(
            "- **Big files:** at 64 MiB the two are at parity ({:.2}×): both are the kernel's shmem, and its page allocation and zeroing is the cost. Read-back is at parity too at 1 MiB.",
            w / m
        );
    }
    println!("- **What speed is not the reason for:** a memory file has no name to clean up or collide with, no cleanup after a crash, seals (read-only files never change, for anyone), per-store limits and a shared budget, and it is a real fd the host can hand to native code without a copy.");
    println!("- **The pool** gives the guest lower latency (the wall-time columns) by doing the kernel's work on its own thread; the CPU-time columns show that work is moved, not saved.");
    let get = |len: usize, path: &str| results.get(&len).and_then(|r| r.get(path)).map(|f| f.wall);
    let speed_up = |len, rows: DirRows| Some(get(len, rows.tmpfs)? / get(len, rows.mem)?);
    if let (Some(small), Some(pages)) = (speed_up(64, DIR.small), speed_up(4 * MIB, DIR.pages)) {
        let big = speed_up(64 * MIB, DIR.big).map_or("not measured in this run".to_owned(), |b| {
            format!("{b:.2}×")
        });
        println!("- **Memory directories** (an unmodified program's files by path): against the same guest in a tmpfs `--dir` on wasmtime-wasi's fastest setting, {small:.2}× as fast for a small file's create, write, close and unlink, {pages:.2}× for page writes with fdatasync, and {big} for 64 MiB written and read back. The native rows give the kernel's share, which bounds the speed-up below 2× for small files; what is left is the wasm and WASI layer of each call.");
    }
    println!();
}

/// The "beyond native" targets, for every path with and without the pool,
/// in wall time and in CPU time of all threads, and what each row may be
/// called: "faster than native" only where the CPU time shows it too.
fn beyond_native(results: &Results) {
    let get = |len: usize, path: &str| results.get(&len).and_then(|r| r.get(path)).copied();
    println!(
        "### Beyond native (opt-in pool: {})",
        describe_pool(&pool_config())
    );
    println!();
    println!("Targets: 64 MiB at ≥ 1.5× native throughput, 64 B at ≤ 0.8× native latency. Wall time is what the guest waits; CPU time counts every thread, the pool's included.");
    println!();
    println!("| path | size | time vs native | CPU vs native | target (time) | verdict |");
    println!("|---|---|---:|---:|---:|---|");
    for (plain, pooled) in MAKERS {
        for path in [plain, pooled] {
            for (len, bound, throughput) in [(64 * MIB, 1.5, true), (64, 0.8, false)] {
                let (Some(f), Some(n)) = (get(len, path), get(len, NATIVE)) else {
                    continue;
                };
                let (wall, cpu) = (f.wall / n.wall, f.cpu / n.cpu);
                let met = if throughput {
                    1.0 / wall >= bound
                } else {
                    wall <= bound
                };
                let target = if throughput {
                    format!(
                        "≥ {bound}× throughput: {}",
                        if met { "met" } else { "**not met**" }
                    )
                } else {
                    format!(
                        "≤ {bound}× latency: {}",
                        if met { "met" } else { "**not met**" }
                    )
                };
                // Within 5%: the noise between rounds on this machine.
                let verdict = if wall < 0.95 && cpu < 0.95 {
                    "faster than native (wall and CPU)"
                } else if wall < 0.95 {
                    "lower latency for the guest, at the cost of a background thread (CPU not lower)"
                } else if wall <= 1.05 {
                    "at parity with native"
                } else {
                    "slower than native"
                };
                println!(
                    "| {} | {} | {:.2}× | {:.2}× | {target} | {verdict} |",
                    short(path),
                    human_size(len),
                    wall,
                    cpu
                );
            }
        }
    }
    println!();
}

/// Why a memory-directory target this run missed is out of reach on this
/// machine: the same system calls made natively on a memfd (the kernel's
/// share, which no wasm path can go below) against the tmpfs `--dir` row
/// bound the best speed-up.
fn why_mem_dirs(results: &Results) {
    let get = |len: usize, path: &str| results.get(&len).and_then(|r| r.get(path)).map(|f| f.wall);
    for (len, rows, what, kernel, calls) in [
        (
            64,
            DIR.small,
            "a small file",
            "`memfd_create`, the first page's allocation and zeroing, `close`",
            4.0,
        ),
        (
            4 * MIB,
            DIR.pages,
            "page writes",
            "the 64 `pwrite`s into the page cache",
            f64::from(PAGE_CALLS_PER_OP),
        ),
    ] {
        let at_len =
            [rows.mem, rows.tmpfs, DIR.native.mem, DIR.native.tmpfs].map(|path| (len, path));
        let Some([ours, dir, floor, dir_floor]) = walls(results, at_len) else {
            continue;
        };
        if dir / ours >= 2.0 {
            continue;
        }
        let per_call = |t: f64| human_time((t / calls).max(0.0));
        println!("**Why {what} in a memory directory is not 2× tmpfs `--dir` here.**");
        println!(
            "The kernel's share, {kernel} made natively on a memfd, takes {} of the",
            human_time(floor)
        );
        println!(
            "memory directory's {}; tmpfs `--dir` takes {}. With the wasm and WASI layer",
            human_time(ours),
            human_time(dir)
        );
        println!(
            "costing nothing the speed-up would be {:.2}× (measured {:.2}×).",
            dir / floor,
            dir / ours
        );
        if dir / floor < 2.0 {
            println!(
                "2× is out of reach whatever wasi-memfd does: the kernel's work alone is more"
            );
            println!("than half of what tmpfs `--dir` takes.");
        } else {
            println!(
                "2× needs the layer under {} per guest call ({} calls an operation); it",
                per_call(dir / 2.0 - floor),
                calls
            );
            println!(
                "costs {} per call here, and wasmtime-wasi's on tmpfs {} (the tmpfs row less",
                per_call(ours - floor),
                per_call(dir - dir_floor)
            );
            println!(
                "its native floor): wasm's call into the host and the WASI checks, not the kernel."
            );
            if let (Some(tell), Some(dir_tell)) =
                (get(len, DIR.tells.mem), get(len, DIR.tells.tmpfs))
            {
                let budget = (dir / 2.0 - floor) / calls;
                println!(
                    "The cheapest call, `fd_tell` (no system call), costs {} into a memory directory",
                    per_call(tell)
                );
                print!("and {} into wasmtime-wasi", per_call(dir_tell));
                if tell / calls > budget {
                    println!(
                        ": more than the budget before any file work is done, so 2× is out of reach"
                    );
                    println!("for a WASIp1 guest on this wasmtime, whatever wasi-memfd does.");
                } else {
                    println!(": the rest is each host's write path, not the call itself.");
                }
            }
        }
        println!();
    }
}

/// Why a target this run missed cannot be met on this machine, from the
/// same figures (printed only for the targets it explains).
fn why(results: &Results) {
    let at = [
        (64, WORKAROUND),
        (MIB, NATIVE),
        (MIB, WORKAROUND),
        (MIB, CORE_SYNC),
    ];
    let Some([fixed, native, workaround, ours]) = walls(results, at) else {
        return;
    };
    if workaround / ours >= 2.0 {
        return;
    }
    println!("**Why 1 MiB is not 2× the fastest tmpfs workaround here.** A tmpfs file");
    println!("and a memory file are the same kind of kernel object (shmem): writing");
    println!("1 MiB into either costs the same page allocation, zeroing and copy, which");
    println!(
        "is what native `memfd_create` + `write` spends at 1 MiB ({}). What the",
        human_time(native)
    );
    println!(
        "workaround adds is a fixed cost, its whole time at 64 B ({}): open, close,",
        human_time(fixed)
    );
    println!(
        "reopen, unlink. With wasi-memfd at native speed ({}), the best",
        human_time(ours)
    );
    println!(
        "speed-up from the fixed cost alone is (copy + fixed) / copy = {:.2}× (measured",
        (native + fixed) / native
    );
    println!(
        "{:.2}×). No setting of wasi-memfd's can make the kernel's page work",
        workaround / ours
    );
    println!("cheaper; the pool rows show what moving it to another thread buys,");
    println!("in wall time and in CPU time.");
    println!();
}
