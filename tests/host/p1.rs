//! Integration tests for the core-module (WASIp1) layer, `wasi_memfd::p1`.
//!
//! The guest is a trampoline: a WAT module that imports `wasi_memfd` and the
//! `wasi_snapshot_preview1` functions under test and exports, under the same
//! names, wasm functions that call them with their arguments unchanged,
//! with its linear memory. Each test calls the exports from Rust
//! with `get_typed_func`, lays out inputs and reads outputs in that memory,
//! and asserts on the errnos and bytes. Struct layouts are WASIp1's (see
//! `host/witx/p1/typenames.witx`).
//!
//! The store-drop fd-leak test is in `p1_leaks.rs`, alone in its process.

use std::sync::OnceLock;

use crate::trampoline::{self, errno};
use wasi_memfd::p1::{WasiMemfdP1Ctx, FIRST_FD};
use wasi_memfd::{Backend, Usage, WasiMemfdCtx, WasiMemfdCtxBuilder};
use wasmtime::{Engine, Instance, Linker, Memory, Module, Store, WasmParams, WasmResults};
use wasmtime_wasi::WasiCtxBuilder;

/// `filetype::regular_file`.
const REGULAR_FILE: u8 = 4;

/// `rights` bits, in the order typenames.witx declares them.
mod rights {
    pub const FD_READ: u64 = 1 << 1;
    pub const FD_SEEK: u64 = 1 << 2;
    pub const FD_TELL: u64 = 1 << 5;
    pub const FD_WRITE: u64 = 1 << 6;
    pub const FD_ADVISE: u64 = 1 << 7;
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    /// What every memory-file fd has.
    pub const READ_ONLY: u64 = FD_READ | FD_SEEK | FD_TELL | FD_FILESTAT_GET | FD_ADVISE;
}

/// `fdflags` bits.
const FDFLAG_APPEND: u32 = 1 << 0;
const FDFLAG_NONBLOCK: u32 = 1 << 2;

/// `whence` values.
const SET: u32 = 0;
const CUR: u32 = 1;
const END: u32 = 2;

/// `eventtype` values.
const EVENT_CLOCK: u8 = 0;
const EVENT_FD_READ: u8 = 1;
const EVENT_FD_WRITE: u8 = 2;

/// `from_bytes` flag bit 0.
const WRITABLE: u32 = 1;

/// Pages of linear memory the trampoline starts with (256 KiB); it can
/// grow (see [`Guest::grow_to`]).
const PAGES: u32 = 4;
const PAGE: usize = 64 * 1024;

/// Where the helpers put things in linear memory.
const OUT: u32 = 8; // results written by the host: u32 or u64
const OUT2: u32 = 16; // a second result (sock_recv's flags)
const IOV: u32 = 64; // iovec arrays, up to 16 entries
const STRUCT: u32 = 512; // filestat, fdstat, events
const SUBS: u32 = 1024; // subscriptions
const NAME: u32 = 2048; // names and paths, up to 1 KiB
const DATA: u32 = 4096; // from_bytes input and write input, up to 28 KiB
const BUF: u32 = 32 * 1024; // read buffers

/// The trampoline's text (see `support/trampoline.rs`).
fn trampoline_wat() -> String {
    trampoline::wat(trampoline::IMPORTS, PAGES)
}

/// One engine and compiled trampoline for every test.
fn compiled() -> &'static (Engine, Module) {
    static COMPILED: OnceLock<(Engine, Module)> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let engine = Engine::default();
        let module = Module::new(&engine, trampoline_wat()).expect("the trampoline compiles");
        (engine, module)
    })
}

/// Fields of a WASIp1 `filestat`.
#[derive(Debug)]
struct Filestat {
    ino: u64,
    filetype: u8,
    size: u64,
    mtim: u64,
}

/// A WASIp1 `fdstat`.
#[derive(Debug, PartialEq, Eq)]
struct Fdstat {
    filetype: u8,
    flags: u16,
    rights_base: u64,
    rights_inheriting: u64,
}

/// A WASIp1 `event`.
#[derive(Debug, PartialEq, Eq)]
struct Event {
    userdata: u64,
    error: u16,
    type_: u8,
    nbytes: u64,
    flags: u16,
}

/// A WASIp1 `subscription`.
#[derive(Clone, Copy)]
enum Sub {
    Read {
        userdata: u64,
        fd: u32,
    },
    Write {
        userdata: u64,
        fd: u32,
    },
    /// A relative timeout on the monotonic clock.
    Clock {
        userdata: u64,
        timeout_ns: u64,
    },
}

/// An instantiated trampoline and its store.
struct Guest {
    store: Store<WasiMemfdP1Ctx>,
    instance: Instance,
    memory: Memory,
}

impl Guest {
    /// A guest with the default memfd context.
    fn new() -> Self {
        Self::with(&mut WasiMemfdCtx::builder())
    }

    /// A guest whose memfd context is `builder`'s.
    fn with(builder: &mut WasiMemfdCtxBuilder) -> Self {
        let (engine, module) = compiled();
        let mut linker = Linker::new(engine);
        wasi_memfd::p1::add_to_linker_sync(&mut linker, |s| s).unwrap();
        let ctx = WasiMemfdP1Ctx::new(WasiCtxBuilder::new().build_p1(), builder.build());
        let mut store = Store::new(engine, ctx);
        let instance = linker.instantiate(&mut store, module).unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        Guest {
            store,
            instance,
            memory,
        }
    }

    // ---- linear memory ----

    fn mem_len(&self) -> u32 {
        self.memory.data_size(&self.store) as u32
    }

    /// Grows linear memory to at least `bytes`.
    fn grow_to(&mut self, bytes: usize) {
        let have = self.memory.data_size(&self.store);
        if bytes > have {
            let pages = (bytes - have).div_ceil(PAGE) as u64;
            self.memory.grow(&mut self.store, pages).unwrap();
        }
    }

    fn put(&mut self, addr: u32, bytes: &[u8]) {
        let at = addr as usize;
        self.memory.data_mut(&mut self.store)[at..at + bytes.len()].copy_from_slice(bytes);
    }

    fn get(&self, addr: u32, len: usize) -> Vec<u8> {
        let at = addr as usize;
        self.memory.data(&self.store)[at..at + len].to_vec()
    }

    fn u8_at(&self, addr: u32) -> u8 {
        self.get(addr, 1)[0]
    }

    fn u16_at(&self, addr: u32) -> u16 {
        u16::from_le_bytes(self.get(addr, 2).try_into().unwrap())
    }

    fn u32_at(&self, addr: u32) -> u32 {
        u32::from_le_bytes(self.get(addr, 4).try_into().unwrap())
    }

    fn u64_at(&self, addr: u32) -> u64 {
        u64::from_le_bytes(self.get(addr, 8).try_into().unwrap())
    }

    /// Writes `(ptr, len)` iovecs at [`IOV`].
    fn put_iovecs(&mut self, iovecs: &[(u32, u32)]) {
        assert!(iovecs.len() <= 16);
        for (i, &(ptr, len)) in iovecs.iter().enumerate() {
            let at = IOV + 8 * i as u32;
            self.put(at, &ptr.to_le_bytes());
            self.put(at + 4, &len.to_le_bytes());
        }
    }

    /// Iovecs over consecutive buffers of `lens` from [`BUF`], so what a
    /// read fills is contiguous from `BUF`. The buffers are filled with
    /// 0xAA first, so bytes the host did not write are recognisable.
    fn read_iovecs(&mut self, lens: &[u32]) {
        let total: u32 = lens.iter().sum();
        self.grow_to((BUF + total) as usize);
        self.put(BUF, &vec![0xAA; total as usize]);
        let mut ptr = BUF;
        let iovecs: Vec<(u32, u32)> = lens
            .iter()
            .map(|&len| {
                let iov = (ptr, len);
                ptr += len;
                iov
            })
            .collect();
        self.put_iovecs(&iovecs);
    }

    /// Ciovecs over `chunks`, copied consecutively from [`DATA`].
    fn write_iovecs(&mut self, chunks: &[&[u8]]) {
        let mut ptr = DATA;
        let mut iovecs = Vec::new();
        for chunk in chunks {
            self.put(ptr, chunk);
            iovecs.push((ptr, chunk.len() as u32));
            ptr += chunk.len() as u32;
        }
        self.put_iovecs(&iovecs);
    }

    // ---- calls ----

    /// Calls the trampoline's export `name`; `Err` if it trapped.
    fn try_call<P: WasmParams, R: WasmResults>(
        &mut self,
        name: &str,
        params: P,
    ) -> wasmtime::Result<R> {
        let func = self
            .instance
            .get_typed_func::<P, R>(&mut self.store, name)
            .unwrap_or_err(name);
        func.call(&mut self.store, params)
    }

    /// Calls the trampoline's export `name`, which must not trap.
    fn call<P: WasmParams, R: WasmResults>(&mut self, name: &str, params: P) -> R {
        self.try_call(name, params).unwrap_or_err(name)
    }

    /// `errno` as a result: `Ok(value)` on success, `Err(errno)` otherwise.
    fn result<T>(errno: i32, value: impl FnOnce() -> T) -> Result<T, i32> {
        if errno == errno::SUCCESS {
            Ok(value())
        } else {
            Err(errno)
        }
    }

    fn usage(&mut self) -> Usage {
        self.store.data_mut().memfd().usage()
    }

    /// `from_bytes` with raw pointers.
    fn make_raw(
        &mut self,
        data: u32,
        data_len: u32,
        name: u32,
        name_len: u32,
        flags: u32,
        fd_out: u32,
    ) -> i32 {
        self.call(
            "from_bytes",
            (data, data_len, name, name_len, flags, fd_out),
        )
    }

    /// `from_bytes` of `data` (at [`DATA`], grown into if needed) named
    /// `name` (raw bytes, at [`NAME`]).
    fn make_named(&mut self, data: &[u8], name: &[u8], flags: u32) -> Result<u32, i32> {
        self.grow_to(DATA as usize + data.len());
        self.put(DATA, data);
        self.put(NAME, name);
        self.put(OUT, &[0xEE; 4]);
        let errno = self.make_raw(DATA, data.len() as u32, NAME, name.len() as u32, flags, OUT);
        Self::result(errno, || self.u32_at(OUT))
    }

    /// `from_bytes` of `data` named "test".
    fn make(&mut self, data: &[u8], flags: u32) -> Result<u32, i32> {
        self.make_named(data, b"test", flags)
    }

    /// `from_bytes` that must succeed.
    fn memfd(&mut self, data: &[u8]) -> u32 {
        self.make(data, 0).expect("from_bytes")
    }

    /// A writable `from_bytes` that must succeed.
    fn memfd_rw(&mut self, data: &[u8]) -> u32 {
        self.make(data, WRITABLE).expect("from_bytes writable")
    }

    fn open_preopened(&mut self, name: &str) -> Result<u32, i32> {
        self.put(NAME, name.as_bytes());
        self.put(OUT, &[0xEE; 4]);
        let errno = self.call("open_preopened", (NAME, name.len() as u32, OUT));
        Self::result(errno, || self.u32_at(OUT))
    }

    /// `fd_read` into buffers of `lens`; the bytes read.
    fn read_vec(&mut self, fd: u32, lens: &[u32]) -> Result<Vec<u8>, i32> {
        self.read_iovecs(lens);
        let errno = self.call("fd_read", (fd, IOV, lens.len() as u32, OUT));
        Self::result(errno, || self.get(BUF, self.u32_at(OUT) as usize))
    }

    fn read(&mut self, fd: u32, len: u32) -> Result<Vec<u8>, i32> {
        self.read_vec(fd, &[len])
    }

    fn pread(&mut self, fd: u32, len: u32, offset: u64) -> Result<Vec<u8>, i32> {
        self.read_iovecs(&[len]);
        let errno = self.call("fd_pread", (fd, IOV, 1u32, offset, OUT));
        Self::result(errno, || self.get(BUF, self.u32_at(OUT) as usize))
    }

    /// `fd_write` of `chunks`; the count written.
    fn write_vec(&mut self, fd: u32, chunks: &[&[u8]]) -> Result<u32, i32> {
        self.write_iovecs(chunks);
        let errno = self.call("fd_write", (fd, IOV, chunks.len() as u32, OUT));
        Self::result(errno, || self.u32_at(OUT))
    }

    fn write(&mut self, fd: u32, bytes: &[u8]) -> Result<u32, i32> {
        self.write_vec(fd, &[bytes])
    }

    fn pwrite(&mut self, fd: u32, bytes: &[u8], offset: u64) -> Result<u32, i32> {
        self.write_iovecs(&[bytes]);
        let errno = self.call("fd_pwrite", (fd, IOV, 1u32, offset, OUT));
        Self::result(errno, || self.u32_at(OUT))
    }

    fn seek(&mut self, fd: u32, offset: i64, whence: u32) -> Result<u64, i32> {
        let errno = self.call("fd_seek", (fd, offset, whence, OUT));
        Self::result(errno, || self.u64_at(OUT))
    }

    fn tell(&mut self, fd: u32) -> Result<u64, i32> {
        let errno = self.call("fd_tell", (fd, OUT));
        Self::result(errno, || self.u64_at(OUT))
    }

    fn filestat(&mut self, fd: u32) -> Result<Filestat, i32> {
        let errno = self.call("fd_filestat_get", (fd, STRUCT));
        Self::result(errno, || Filestat {
            ino: self.u64_at(STRUCT + 8),
            filetype: self.u8_at(STRUCT + 16),
            size: self.u64_at(STRUCT + 32),
            mtim: self.u64_at(STRUCT + 48),
        })
    }

    fn fdstat(&mut self, fd: u32) -> Result<Fdstat, i32> {
        let errno = self.call("fd_fdstat_get", (fd, STRUCT));
        Self::result(errno, || Fdstat {
            filetype: self.u8_at(STRUCT),
            flags: self.u16_at(STRUCT + 2),
            rights_base: self.u64_at(STRUCT + 8),
            rights_inheriting: self.u64_at(STRUCT + 16),
        })
    }

    /// A call taking only an fd: `fd_close`, `fd_sync`, `fd_datasync`.
    fn fd_call(&mut self, name: &str, fd: u32) -> i32 {
        self.call(name, fd)
    }

    fn close(&mut self, fd: u32) -> i32 {
        self.fd_call("fd_close", fd)
    }

    fn renumber(&mut self, from: u32, to: u32) -> i32 {
        self.call("fd_renumber", (from, to))
    }

    /// `poll_oneoff` over `subs`; the events written.
    fn poll(&mut self, subs: &[Sub]) -> Result<Vec<Event>, i32> {
        for (i, sub) in subs.iter().enumerate() {
            let at = SUBS + 48 * i as u32;
            self.put(at, &[0; 48]);
            let (userdata, tag) = match *sub {
                Sub::Clock {
                    userdata,
                    timeout_ns,
                } => {
                    self.put(at + 16, &1u32.to_le_bytes()); // monotonic
                    self.put(at + 24, &timeout_ns.to_le_bytes());
                    self.put(at + 32, &0u64.to_le_bytes()); // precision
                    self.put(at + 40, &0u16.to_le_bytes()); // relative
                    (userdata, EVENT_CLOCK)
                }
                Sub::Read { userdata, fd } => {
                    self.put(at + 16, &fd.to_le_bytes());
                    (userdata, EVENT_FD_READ)
                }
                Sub::Write { userdata, fd } => {
                    self.put(at + 16, &fd.to_le_bytes());
                    (userdata, EVENT_FD_WRITE)
                }
            };
            self.put(at, &userdata.to_le_bytes());
            self.put(at + 8, &[tag]);
        }
        self.put(STRUCT, &[0xAA; 32 * 8]);
        let errno = self.call("poll_oneoff", (SUBS, STRUCT, subs.len() as u32, OUT));
        Self::result(errno, || {
            (0..self.u32_at(OUT))
                .map(|i| {
                    let at = STRUCT + 32 * i;
                    Event {
                        userdata: self.u64_at(at),
                        error: self.u16_at(at + 8),
                        type_: self.u8_at(at + 10),
                        nbytes: self.u64_at(at + 16),
                        flags: self.u16_at(at + 24),
                    }
                })
                .collect()
        })
    }
}

/// `unwrap` that names the export that failed.
trait UnwrapOrErr<T> {
    fn unwrap_or_err(self, name: &str) -> T;
}

impl<T> UnwrapOrErr<T> for wasmtime::Result<T> {
    fn unwrap_or_err(self, name: &str) -> T {
        self.unwrap_or_else(|e| panic!("calling {name}: {e:?}"))
    }
}

/// `n` bytes of a recognisable pattern.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

// ===================== from_bytes and open_preopened =====================

#[test]
fn from_bytes_writes_the_fd_at_fd_out() {
    let mut g = Guest::new();
    assert_eq!(g.usage(), Usage::default());
    let a = g.memfd(b"hello");
    let b = g.memfd(b"world!");
    assert!(a >= FIRST_FD, "fd {a} is below {FIRST_FD}");
    assert!(b >= FIRST_FD, "fd {b} is below {FIRST_FD}");
    assert!(a <= i32::MAX as u32 && b <= i32::MAX as u32);
    assert_ne!(a, b);
    assert_eq!(
        g.usage(),
        Usage {
            files: 2,
            bytes: 11
        }
    );
    assert_eq!(g.read(a, 64).unwrap(), b"hello");
    assert_eq!(g.read(b, 64).unwrap(), b"world!");
    // An empty file with an empty name is fine too.
    let empty = g.make_named(b"", b"", 0).unwrap();
    assert_eq!(g.read(empty, 64).unwrap(), b"");
}

#[test]
fn from_bytes_faults_on_ranges_outside_memory_and_makes_nothing() {
    let mut g = Guest::new();
    let end = g.mem_len();
    g.put(DATA, b"data");
    g.put(NAME, b"name");
    let cases: &[(&str, [u32; 4])] = &[
        // (data, data_len, name, name_len), with flags 0 and fd_out OUT
        ("data straddles the end", [end - 2, 4, NAME, 4]),
        ("data starts past the end", [end + 1, 0, NAME, 4]),
        ("data_len near 4 GiB", [DATA, 0xFFFF_FFF0, NAME, 4]),
        ("data ptr and len wrap", [0xFFFF_FFFF, 2, NAME, 4]),
        ("name straddles the end", [DATA, 4, end - 1, 2]),
        ("name_len near 4 GiB", [DATA, 4, NAME, 0xFFFF_FFF0]),
    ];
    for (what, [data, data_len, name, name_len]) in cases {
        g.put(OUT, &[0xEE; 4]);
        let errno = g.make_raw(*data, *data_len, *name, *name_len, 0, OUT);
        assert_eq!(errno, errno::FAULT, "{what}");
        assert_eq!(g.u32_at(OUT), 0xEEEE_EEEE, "{what}: fd_out was written");
        assert_eq!(g.usage(), Usage::default(), "{what}: a file was made");
    }
    for fd_out in [end - 3, end - 1, end, end + 4, u32::MAX - 1] {
        let errno = g.make_raw(DATA, 4, NAME, 4, 0, fd_out);
        assert_eq!(
            errno,
            errno::FAULT,
            "fd_out {fd_out:#x} (memory ends at {end:#x})"
        );
        assert_eq!(
            g.usage(),
            Usage::default(),
            "fd_out {fd_out:#x}: a file was made"
        );
    }
    // The last four bytes of memory are a fine fd_out.
    assert_eq!(g.make_raw(DATA, 4, NAME, 4, 0, end - 4), errno::SUCCESS);
    assert!(g.u32_at(end - 4) >= FIRST_FD);
    // And data may end exactly at the end of memory.
    assert_eq!(g.make_raw(end - 4, 4, NAME, 4, 0, OUT), errno::SUCCESS);
    assert_eq!(g.usage(), Usage { files: 2, bytes: 8 });
}

#[test]
fn from_bytes_rejects_unknown_flags() {
    let mut g = Guest::new();
    for flags in [2, 3, 0x8000_0000, 0x8000_0001, u32::MAX] {
        assert_eq!(g.make(b"x", flags), Err(errno::INVAL), "flags {flags:#x}");
    }
    assert_eq!(g.usage(), Usage::default());
    assert!(g.make(b"x", 0).is_ok());
    assert!(g.make(b"x", WRITABLE).is_ok());
}

#[test]
fn from_bytes_checks_names() {
    let mut g = Guest::new();
    assert_eq!(g.make_named(b"x", b"\xff\xfe", 0), Err(errno::INVAL));
    assert_eq!(g.make_named(b"x", b"caf\xc3", 0), Err(errno::INVAL));
    assert_eq!(g.make_named(b"x", b"a\0b", 0), Err(errno::INVAL));
    assert_eq!(g.make_named(b"x", b"\0", 0), Err(errno::INVAL));
    assert_eq!(g.make_named(b"x", &[b'n'; 250], 0), Err(errno::NAMETOOLONG));
    assert_eq!(
        g.make_named(b"x", &[b'n'; 1000], 0),
        Err(errno::NAMETOOLONG)
    );
    assert_eq!(g.usage(), Usage::default());
    let fd = g.make_named(b"x", &[b'n'; 249], 0).unwrap();
    assert_eq!(g.read(fd, 8).unwrap(), b"x");
    // 249 bytes of multi-byte characters are fine too.
    let name = "é".repeat(124) + "e";
    assert_eq!(name.len(), 249);
    assert!(g.make_named(b"x", name.as_bytes(), 0).is_ok());
}

#[test]
fn from_bytes_enforces_max_file_size() {
    let mut g = Guest::with(WasiMemfdCtx::builder().max_file_size(16));
    assert_eq!(g.make(&[1; 17], 0), Err(errno::FBIG));
    assert_eq!(g.make(&[1; 17], WRITABLE), Err(errno::FBIG));
    assert_eq!(g.usage(), Usage::default());
    assert!(g.make(&[1; 16], 0).is_ok());
}

#[test]
fn from_bytes_enforces_max_total_size_and_gives_bytes_back_on_close() {
    let mut g = Guest::with(WasiMemfdCtx::builder().max_total_size(20));
    let a = g.memfd(&[1; 15]);
    assert_eq!(g.make(&[2; 6], 0), Err(errno::DQUOT));
    assert_eq!(
        g.usage(),
        Usage {
            files: 1,
            bytes: 15
        }
    );
    let b = g.memfd(&[3; 5]);
    assert_eq!(g.make(&[4; 1], 0), Err(errno::DQUOT));
    // Empty files cost nothing.
    let c = g.memfd(b"");
    assert_eq!(
        g.usage(),
        Usage {
            files: 3,
            bytes: 20
        }
    );
    assert_eq!(g.close(a), errno::SUCCESS);
    assert_eq!(g.usage(), Usage { files: 2, bytes: 5 });
    assert!(g.make(&[5; 15], 0).is_ok());
    assert_eq!(g.close(b), errno::SUCCESS);
    assert_eq!(g.close(c), errno::SUCCESS);
}

#[test]
fn from_bytes_enforces_max_files_and_gives_slots_back_on_close() {
    let mut b = WasiMemfdCtx::builder();
    b.max_files(3);
    b.preopen_bytes("in", b"preopened", false).unwrap();
    let mut g = Guest::with(&mut b);
    let a = g.memfd(b"a");
    let p = g.open_preopened("in").unwrap();
    let _c = g.memfd_rw(b"c");
    assert_eq!(g.make(b"d", 0), Err(errno::MFILE));
    assert_eq!(g.open_preopened("in"), Err(errno::MFILE));
    assert_eq!(g.usage(), Usage { files: 3, bytes: 2 });
    // Closing a from_bytes file frees its slot and bytes.
    assert_eq!(g.close(a), errno::SUCCESS);
    assert_eq!(g.usage(), Usage { files: 2, bytes: 1 });
    let d = g.memfd(b"dd");
    assert_eq!(g.read(d, 8).unwrap(), b"dd");
    assert_eq!(g.make(b"e", 0), Err(errno::MFILE));
    // Closing a preopened fd frees its slot.
    assert_eq!(g.close(p), errno::SUCCESS);
    let p2 = g.open_preopened("in").unwrap();
    assert_eq!(g.read(p2, 64).unwrap(), b"preopened");
    assert_eq!(g.open_preopened("in"), Err(errno::MFILE));
}

#[test]
fn open_preopened_missing_name_is_enoent() {
    let mut b = WasiMemfdCtx::builder();
    b.preopen_bytes("present", b"here", false).unwrap();
    let mut g = Guest::with(&mut b);
    assert_eq!(g.open_preopened("absent"), Err(errno::NOENT));
    assert_eq!(g.open_preopened("presen"), Err(errno::NOENT));
    assert_eq!(g.open_preopened(""), Err(errno::NOENT));
    assert_eq!(g.open_preopened(&"p".repeat(250)), Err(errno::NAMETOOLONG));
    assert_eq!(g.usage(), Usage::default());
    assert!(g.open_preopened("present").is_ok());
}

#[test]
fn open_preopened_faults_on_ranges_outside_memory() {
    let mut b = WasiMemfdCtx::builder();
    b.preopen_bytes("in", b"here", false).unwrap();
    let mut g = Guest::with(&mut b);
    let end = g.mem_len();
    g.put(NAME, b"in");
    let open = |g: &mut Guest, name: u32, len: u32, out: u32| -> i32 {
        g.call("open_preopened", (name, len, out))
    };
    assert_eq!(open(&mut g, end - 1, 2, OUT), errno::FAULT);
    assert_eq!(open(&mut g, NAME, 0xFFFF_FFF0, OUT), errno::FAULT);
    assert_eq!(open(&mut g, NAME, 2, end - 3), errno::FAULT);
    assert_eq!(open(&mut g, NAME, 2, end), errno::FAULT);
    assert_eq!(g.usage(), Usage::default());
    assert_eq!(open(&mut g, NAME, 2, end - 4), errno::SUCCESS);
    assert!(g.u32_at(end - 4) >= FIRST_FD);
}

#[test]
fn open_preopened_twice_gives_two_fds_with_their_own_offsets() {
    let mut b = WasiMemfdCtx::builder();
    b.preopen_bytes("in", b"0123456789", false).unwrap();
    let mut g = Guest::with(&mut b);
    let x = g.open_preopened("in").unwrap();
    let y = g.open_preopened("in").unwrap();
    assert!(x >= FIRST_FD && y >= FIRST_FD);
    assert_ne!(x, y);
    // Preopened files are the host's: they cost slots, not bytes.
    assert_eq!(g.usage(), Usage { files: 2, bytes: 0 });
    assert_eq!(g.read(x, 4).unwrap(), b"0123");
    assert_eq!(g.read(y, 2).unwrap(), b"01");
    assert_eq!(g.read(x, 4).unwrap(), b"4567");
    assert_eq!(g.tell(x), Ok(8));
    assert_eq!(g.tell(y), Ok(2));
    // Closing one leaves the other working.
    assert_eq!(g.close(x), errno::SUCCESS);
    assert_eq!(g.read(y, 100).unwrap(), b"23456789");
    // Read-only preopens refuse writes.
    assert_eq!(g.pwrite(y, b"!", 0), Err(errno::BADF));
    assert_eq!(
        g.store.data_mut().memfd().read_preopened("in").unwrap(),
        b"0123456789"
    );
}

#[test]
fn writable_preopen_writes_reach_the_host_and_other_fds() {
    let mut b = WasiMemfdCtx::builder();
    b.preopen_bytes("out", b"........", true).unwrap();
    let mut g = Guest::with(&mut b);
    let w = g.open_preopened("out").unwrap();
    let r = g.open_preopened("out").unwrap();
    assert_eq!(
        g.fdstat(w).unwrap().rights_base,
        rights::READ_ONLY | rights::FD_WRITE
    );
    assert_eq!(g.write(w, b"done"), Ok(4));
    assert_eq!(g.pwrite(w, b"!", 7), Ok(1));
    // The fixed size holds for preopens too.
    assert_eq!(g.pwrite(w, b"more", 6), Ok(2));
    assert_eq!(g.pwrite(w, b"x", 8), Err(errno::FBIG));
    let host = g.store.data_mut().memfd().read_preopened("out").unwrap();
    assert_eq!(host, b"done..mo");
    // The other fd on the same file sees the bytes.
    assert_eq!(g.read(r, 64).unwrap(), b"done..mo");
    assert_eq!(g.filestat(w).unwrap().size, 8);
}

// ===================== reads, seeks and metadata =====================

#[test]
fn fd_read_fills_iovecs_in_order_and_stops_at_eof() {
    let mut g = Guest::new();
    let fd = g.memfd(b"abcdefghij");
    // Three iovecs, one of them empty.
    assert_eq!(g.read_vec(fd, &[3, 0, 4]).unwrap(), b"abcdefg");
    assert_eq!(g.tell(fd), Ok(7));
    // Short at the end of the file: the rest of the buffer is untouched.
    assert_eq!(g.read_vec(fd, &[2, 8]).unwrap(), b"hij");
    assert_eq!(g.get(BUF + 3, 7), [0xAA; 7]);
    assert_eq!(g.tell(fd), Ok(10));
    // At the end: 0, again and again.
    assert_eq!(g.read(fd, 16).unwrap(), b"");
    assert_eq!(g.read_vec(fd, &[1, 1]).unwrap(), b"");
    assert_eq!(g.tell(fd), Ok(10));
    // No iovecs at all reads nothing.
    g.seek(fd, 0, SET).unwrap();
    assert_eq!(g.read_vec(fd, &[]).unwrap(), b"");
    assert_eq!(g.tell(fd), Ok(0));
}

#[test]
fn fd_read_traps_on_iovecs_outside_memory() {
    // WASIp1 traps on out-of-bounds pointers (wasmtime-wasi does, for every
    // fd); the memory-file fd must too, and stay usable afterwards.
    let mut g = Guest::new();
    let fd = g.memfd(b"abc");
    let end = g.mem_len();
    g.put_iovecs(&[(end - 1, 2)]);
    let trapped = g.try_call::<_, i32>("fd_read", (fd, IOV, 1u32, OUT));
    assert!(trapped.is_err(), "iovec buffer past the end: {trapped:?}");
    let trapped = g.try_call::<_, i32>("fd_read", (fd, end - 4, 1u32, OUT));
    assert!(trapped.is_err(), "iovec array past the end: {trapped:?}");
    assert_eq!(g.tell(fd), Ok(0));
    assert_eq!(g.read(fd, 8).unwrap(), b"abc");
}

#[test]
fn one_fd_read_returns_a_whole_mebibyte() {
    const MIB: usize = 1 << 20;
    let mut g = Guest::new();
    let data = pattern(MIB + 3);
    let fd = g.memfd(&data);
    // BUF is below DATA + len, so read into a buffer past the input.
    let buf = (DATA as usize + data.len()).next_multiple_of(PAGE) as u32;
    g.grow_to(buf as usize + MIB + 16);
    g.put_iovecs(&[(buf, (MIB + 16) as u32)]);
    let errno: i32 = g.call("fd_read", (fd, IOV, 1u32, OUT));
    assert_eq!(errno, errno::SUCCESS);
    assert_eq!(g.u32_at(OUT) as usize, MIB + 3, "one call returns it all");
    assert!(g.get(buf, MIB + 3) == data, "the bytes differ");
    assert_eq!(g.tell(fd), Ok((MIB + 3) as u64));
}

#[test]
fn fd_pread_reads_at_an_offset_without_moving_the_fd() {
    let mut g = Guest::new();
    let fd = g.memfd(b"0123456789");
    assert_eq!(g.read(fd, 2).unwrap(), b"01");
    assert_eq!(g.pread(fd, 3, 5).unwrap(), b"567");
    assert_eq!(g.pread(fd, 100, 8).unwrap(), b"89");
    assert_eq!(g.pread(fd, 4, 10).unwrap(), b"");
    assert_eq!(g.pread(fd, 4, 1 << 40).unwrap(), b"");
    assert_eq!(g.tell(fd), Ok(2));
    assert_eq!(g.read(fd, 3).unwrap(), b"234");
}

#[test]
fn fd_seek_and_fd_tell() {
    let mut g = Guest::new();
    let fd = g.memfd(b"0123456789");
    assert_eq!(g.seek(fd, 4, SET), Ok(4));
    assert_eq!(g.tell(fd), Ok(4));
    assert_eq!(g.read(fd, 1).unwrap(), b"4");
    assert_eq!(g.seek(fd, 2, CUR), Ok(7));
    assert_eq!(g.seek(fd, -3, CUR), Ok(4));
    assert_eq!(g.seek(fd, 0, CUR), Ok(4));
    assert_eq!(g.seek(fd, -2, END), Ok(8));
    assert_eq!(g.read(fd, 10).unwrap(), b"89");
    assert_eq!(g.seek(fd, 0, END), Ok(10));
    // A negative result is refused and the offset stays.
    assert_eq!(g.seek(fd, 3, SET), Ok(3));
    assert_eq!(g.seek(fd, -1, SET), Err(errno::INVAL));
    assert_eq!(g.seek(fd, -4, CUR), Err(errno::INVAL));
    assert_eq!(g.seek(fd, -11, END), Err(errno::INVAL));
    assert_eq!(g.seek(fd, i64::MIN, END), Err(errno::INVAL));
    assert_eq!(g.tell(fd), Ok(3));
    // Past i64::MAX is refused; i64::MAX itself is fine.
    assert_eq!(g.seek(fd, i64::MAX, SET), Ok(i64::MAX as u64));
    assert_eq!(g.seek(fd, 1, CUR), Err(errno::INVAL));
    assert_eq!(g.seek(fd, i64::MAX, CUR), Err(errno::INVAL));
    assert_eq!(g.tell(fd), Ok(i64::MAX as u64));
    assert_eq!(g.seek(fd, i64::MAX, END), Err(errno::INVAL));
    assert_eq!(g.seek(fd, i64::MAX - 10, END), Ok(i64::MAX as u64));
    // Past the end reads nothing.
    assert_eq!(g.seek(fd, 100, SET), Ok(100));
    assert_eq!(g.read(fd, 4).unwrap(), b"");
    assert_eq!(g.tell(fd), Ok(100));
    assert_eq!(g.seek(fd, 1 << 40, SET), Ok(1 << 40));
    assert_eq!(g.read(fd, 4).unwrap(), b"");
    // An unknown whence traps in the generated glue, before either table
    // is asked: the same for a memory fd as for stdin.
    assert!(g
        .try_call::<_, i32>("fd_seek", (fd, 0i64, 3u32, OUT))
        .is_err());
    assert!(g
        .try_call::<_, i32>("fd_seek", (0u32, 0i64, 3u32, OUT))
        .is_err());
    assert_eq!(g.tell(fd), Ok(1 << 40));
}

#[test]
fn fd_filestat_get_reports_a_regular_file_of_the_true_size() {
    let mut g = Guest::new();
    let mut inodes = Vec::new();
    for (data, flags) in [(&b"hello"[..], 0), (b"", 0), (b"writable!", WRITABLE)] {
        let fd = g.make(data, flags).unwrap();
        g.put(STRUCT, &[0xAA; 72]);
        let st = g.filestat(fd).unwrap();
        assert_eq!(st.filetype, REGULAR_FILE, "{data:?}");
        assert_eq!(st.size, data.len() as u64, "{data:?}");
        assert_ne!(st.mtim, 0, "{data:?}: times are the file's");
        assert_eq!(
            g.get(STRUCT + 64, 8),
            [0xAA; 8],
            "wrote past the 64-byte filestat"
        );
        inodes.push(st.ino);
        // Reading does not change the size.
        g.read(fd, 3).unwrap();
        assert_eq!(g.filestat(fd).unwrap().size, data.len() as u64);
    }
    inodes.dedup();
    assert_eq!(inodes.len(), 3, "three files, three inodes: {inodes:?}");
}

#[test]
fn fd_fdstat_get_reports_the_rights() {
    let mut g = Guest::new();
    let ro = g.memfd(b"ro");
    let rw = g.memfd_rw(b"rw");
    assert_eq!(
        g.fdstat(ro).unwrap(),
        Fdstat {
            filetype: REGULAR_FILE,
            flags: 0,
            rights_base: rights::READ_ONLY,
            rights_inheriting: 0,
        }
    );
    assert_eq!(
        g.fdstat(rw).unwrap(),
        Fdstat {
            filetype: REGULAR_FILE,
            flags: 0,
            rights_base: rights::READ_ONLY | rights::FD_WRITE,
            rights_inheriting: 0,
        }
    );
}

#[test]
fn fd_advise_sync_and_datasync_succeed() {
    let mut g = Guest::new();
    for fd in [g.memfd(b"abc"), g.memfd_rw(b"abc")] {
        for advice in 0..=5u32 {
            let errno: i32 = g.call("fd_advise", (fd, 0u64, 3u64, advice));
            assert_eq!(errno, errno::SUCCESS, "advice {advice}");
        }
        let errno: i32 = g.call("fd_advise", (fd, 100u64, u64::MAX, 0u32));
        assert_eq!(errno, errno::SUCCESS);
        assert_eq!(g.fd_call("fd_sync", fd), errno::SUCCESS);
        assert_eq!(g.fd_call("fd_datasync", fd), errno::SUCCESS);
    }
}

// ===================== writes and fixed metadata =====================

#[test]
fn writes_on_read_only_fds_are_ebadf() {
    let mut g = Guest::new();
    let fd = g.memfd(b"sealed");
    assert_eq!(g.write(fd, b"X"), Err(errno::BADF));
    assert_eq!(g.pwrite(fd, b"X", 0), Err(errno::BADF));
    assert_eq!(g.write_vec(fd, &[]), Err(errno::BADF));
    assert_eq!(g.tell(fd), Ok(0));
    assert_eq!(g.read(fd, 16).unwrap(), b"sealed");
}

#[test]
fn writable_fds_write_in_place_up_to_the_end() {
    let mut g = Guest::new();
    let fd = g.memfd_rw(b"hello world");
    assert_eq!(g.write(fd, b"J"), Ok(1));
    assert_eq!(g.tell(fd), Ok(1));
    assert_eq!(g.write_vec(fd, &[b"E", b"", b"LL"]), Ok(3));
    assert_eq!(g.tell(fd), Ok(4));
    assert_eq!(g.pread(fd, 64, 0).unwrap(), b"JELLo world");
    // fd_pwrite does not move the offset.
    assert_eq!(g.pwrite(fd, b"W", 6), Ok(1));
    assert_eq!(g.tell(fd), Ok(4));
    // A write straddling the end is short.
    assert_eq!(g.seek(fd, 8, SET), Ok(8));
    assert_eq!(g.write(fd, b"RLD!!"), Ok(3));
    assert_eq!(g.tell(fd), Ok(11));
    assert_eq!(g.pwrite(fd, b"xyz", 10), Ok(1));
    assert_eq!(g.write_vec(fd, &[]), Ok(0));
    // At or after the end nothing fits.
    assert_eq!(g.write(fd, b"!"), Err(errno::FBIG));
    assert_eq!(g.pwrite(fd, b"!", 11), Err(errno::FBIG));
    assert_eq!(g.pwrite(fd, b"!", 1 << 40), Err(errno::FBIG));
    assert_eq!(g.pwrite(fd, b"!", u64::MAX), Err(errno::FBIG));
    assert_eq!(g.seek(fd, 20, SET), Ok(20));
    assert_eq!(g.write(fd, b"!"), Err(errno::FBIG));
    assert_eq!(g.tell(fd), Ok(20));
    let st = g.filestat(fd).unwrap();
    assert_eq!(st.size, 11);
    assert_eq!(g.pread(fd, 64, 0).unwrap(), b"JELLo WoRLx");
}

#[test]
fn size_and_times_are_fixed() {
    let mut g = Guest::new();
    let (ro, rw) = (g.memfd(b"12345"), g.memfd_rw(b"12345"));
    // To the same size: allowed on a writable fd (as ftruncate on a sealed
    // memfd), refused on a read-only one (as ftruncate on O_RDONLY).
    let errno: i32 = g.call("fd_filestat_set_size", (rw, 5u64));
    assert_eq!(errno, errno::SUCCESS);
    let errno: i32 = g.call("fd_filestat_set_size", (ro, 5u64));
    assert_eq!(errno, errno::INVAL);
    for fd in [ro, rw] {
        let errno: i32 = g.call("fd_filestat_set_size", (fd, 2u64));
        let want = if fd == ro { errno::INVAL } else { errno::PERM };
        assert_eq!(errno, want);
        let errno: i32 = g.call("fd_filestat_set_size", (fd, 10u64));
        assert_eq!(errno, want);
        // fd_allocate inside the file is a no-op; past the end it is refused.
        for (offset, len, want) in [
            (0u64, 5u64, errno::SUCCESS),
            (2, 3, errno::SUCCESS),
            (5, 0, errno::SUCCESS),
            (0, 6, errno::PERM),
            (5, 1, errno::PERM),
            (u64::MAX, 2, errno::PERM),
        ] {
            let errno: i32 = g.call("fd_allocate", (fd, offset, len));
            assert_eq!(errno, want, "fd_allocate({offset}, {len})");
        }
        // fst_flags: ATIM | MTIM.
        let errno: i32 = g.call("fd_filestat_set_times", (fd, 1u64, 2u64, 0b0101u32));
        assert_eq!(errno, errno::PERM);
        assert_eq!(g.filestat(fd).unwrap().size, 5);
    }
}

#[test]
fn fdstat_flags_accept_nonblock_and_refuse_append() {
    let mut g = Guest::new();
    let fd = g.memfd_rw(b"abc");
    let errno: i32 = g.call("fd_fdstat_set_flags", (fd, FDFLAG_APPEND));
    assert_eq!(errno, errno::NOTSUP);
    let errno: i32 = g.call("fd_fdstat_set_flags", (fd, FDFLAG_APPEND | FDFLAG_NONBLOCK));
    assert_eq!(errno, errno::NOTSUP);
    assert_eq!(g.fdstat(fd).unwrap().flags, 0);
    let errno: i32 = g.call("fd_fdstat_set_flags", (fd, FDFLAG_NONBLOCK));
    assert_eq!(errno, errno::SUCCESS);
    assert_eq!(g.fdstat(fd).unwrap().flags, FDFLAG_NONBLOCK as u16);
    // The fd still works as before.
    assert_eq!(g.write(fd, b"A"), Ok(1));
    assert_eq!(g.pread(fd, 8, 0).unwrap(), b"Abc");
    let errno: i32 = g.call("fd_fdstat_set_flags", (fd, 0u32));
    assert_eq!(errno, errno::SUCCESS);
    assert_eq!(g.fdstat(fd).unwrap().flags, 0);
}

#[test]
fn fdstat_set_rights_is_not_supported() {
    let mut g = Guest::new();
    let fd = g.memfd(b"abc");
    let errno: i32 = g.call("fd_fdstat_set_rights", (fd, rights::FD_READ, 0u64));
    assert_eq!(errno, errno::NOTSUP);
    let errno: i32 = g.call("fd_fdstat_set_rights", (fd, rights::READ_ONLY, 0u64));
    assert_eq!(errno, errno::NOTSUP);
    assert_eq!(g.fdstat(fd).unwrap().rights_base, rights::READ_ONLY);
}

// ===================== closing and renumbering =====================

#[test]
fn closed_fds_are_ebadf_everywhere() {
    let mut g = Guest::new();
    let fd = g.memfd_rw(b"abc");
    let keep = g.memfd(b"keep");
    assert_eq!(g.close(fd), errno::SUCCESS);
    assert_eq!(g.usage(), Usage { files: 1, bytes: 4 });
    assert_eq!(g.read(fd, 4), Err(errno::BADF));
    assert_eq!(g.pread(fd, 4, 0), Err(errno::BADF));
    assert_eq!(g.write(fd, b"x"), Err(errno::BADF));
    assert_eq!(g.pwrite(fd, b"x", 0), Err(errno::BADF));
    assert_eq!(g.seek(fd, 0, SET), Err(errno::BADF));
    assert_eq!(g.tell(fd), Err(errno::BADF));
    assert_eq!(g.filestat(fd).map(|_| ()), Err(errno::BADF));
    assert_eq!(g.fdstat(fd), Err(errno::BADF));
    assert_eq!(g.fd_call("fd_sync", fd), errno::BADF);
    assert_eq!(g.fd_call("fd_datasync", fd), errno::BADF);
    let errno: i32 = g.call("fd_advise", (fd, 0u64, 0u64, 0u32));
    assert_eq!(errno, errno::BADF);
    let errno: i32 = g.call("fd_filestat_set_size", (fd, 3u64));
    assert_eq!(errno, errno::BADF);
    assert_eq!(g.close(fd), errno::BADF, "closing twice");
    // A number in the memory-file range that was never handed out.
    assert_eq!(g.close(FIRST_FD + 1000), errno::BADF);
    assert_eq!(g.read(FIRST_FD + 1000, 4), Err(errno::BADF));
    // The other fd is untouched.
    assert_eq!(g.read(keep, 8).unwrap(), b"keep");
}

#[test]
fn fd_renumber_between_memory_fds() {
    let mut g = Guest::new();
    let a = g.memfd(b"file A");
    let b = g.memfd(b"file B!");
    assert_eq!(g.read(a, 5).unwrap(), b"file ");
    assert_eq!(g.renumber(a, b), errno::SUCCESS);
    // b is now a's file, offset included; b's old file is gone.
    assert_eq!(g.read(b, 64).unwrap(), b"A");
    assert_eq!(g.filestat(b).unwrap().size, 6);
    assert_eq!(g.usage(), Usage { files: 1, bytes: 6 });
    // a's number is free: not open, and handed out again.
    assert_eq!(g.read(a, 4), Err(errno::BADF));
    assert_eq!(g.close(a), errno::BADF);
    let c = g.memfd(b"C");
    assert_eq!(c, a);
    // Renumbering onto itself changes nothing.
    assert_eq!(g.renumber(c, c), errno::SUCCESS);
    assert_eq!(g.read(c, 4).unwrap(), b"C");
    // Onto a closed or never-opened number in the range: EBADF.
    assert_eq!(g.renumber(c, FIRST_FD + 500), errno::BADF);
    assert_eq!(g.renumber(FIRST_FD + 500, c), errno::BADF);
    assert_eq!(g.pread(c, 4, 0).unwrap(), b"C");
}

#[test]
fn fd_renumber_across_the_two_tables_is_ebadf_and_changes_nothing() {
    let mut g = Guest::new();
    let m = g.memfd(b"memory");
    assert_eq!(g.renumber(m, 1), errno::BADF, "memory fd onto stdout");
    assert_eq!(g.renumber(1, m), errno::BADF, "stdout onto a memory fd");
    assert_eq!(g.renumber(m, 0), errno::BADF, "memory fd onto stdin");
    // Both still work.
    assert_eq!(g.read(m, 64).unwrap(), b"memory");
    assert_eq!(g.write(1, b"still stdout\n"), Ok(13));
    assert!(g.fdstat(1).is_ok());
    assert_eq!(g.usage(), Usage { files: 1, bytes: 6 });
}

// ===================== calls that make no sense on a file =====================

#[test]
fn memory_fds_are_not_preopened_directories() {
    let mut g = Guest::new();
    let fd = g.memfd(b"abc");
    let errno: i32 = g.call("fd_prestat_get", (fd, STRUCT));
    assert_eq!(errno, errno::BADF);
    let errno: i32 = g.call("fd_prestat_dir_name", (fd, NAME, 16u32));
    assert_eq!(errno, errno::BADF);
}

#[test]
fn directory_and_path_calls_on_memory_fds_are_enotdir() {
    let mut g = Guest::new();
    let fd = g.memfd(b"abc");
    g.put(NAME, b"sub");
    let errno: i32 = g.call("fd_readdir", (fd, BUF, 256u32, 0u64, OUT));
    assert_eq!(errno, errno::NOTDIR, "fd_readdir");
    let errno: i32 = g.call(
        "path_open",
        (fd, 0u32, NAME, 3u32, 0u32, rights::FD_READ, 0u64, 0u32, OUT),
    );
    assert_eq!(errno, errno::NOTDIR, "path_open");
    let errno: i32 = g.call("path_filestat_get", (fd, 0u32, NAME, 3u32, STRUCT));
    assert_eq!(errno, errno::NOTDIR, "path_filestat_get");
    let errno: i32 = g.call("path_create_directory", (fd, NAME, 3u32));
    assert_eq!(errno, errno::NOTDIR, "path_create_directory");
    let errno: i32 = g.call("path_unlink_file", (fd, NAME, 3u32));
    assert_eq!(errno, errno::NOTDIR, "path_unlink_file");
    assert_eq!(g.read(fd, 8).unwrap(), b"abc");
}

#[test]
fn socket_calls_on_memory_fds_are_enotsock() {
    let mut g = Guest::new();
    let fd = g.memfd(b"abc");
    g.read_iovecs(&[4]);
    let errno: i32 = g.call("sock_recv", (fd, IOV, 1u32, 0u32, OUT, OUT2));
    assert_eq!(errno, errno::NOTSOCK, "sock_recv");
    let errno: i32 = g.call("sock_send", (fd, IOV, 1u32, 0u32, OUT));
    assert_eq!(errno, errno::NOTSOCK, "sock_send");
    let errno: i32 = g.call("sock_shutdown", (fd, 3u32));
    assert_eq!(errno, errno::NOTSOCK, "sock_shutdown");
    let errno: i32 = g.call("sock_accept", (fd, 0u32, OUT));
    assert_eq!(errno, errno::NOTSOCK, "sock_accept");
    assert_eq!(g.tell(fd), Ok(0));
}

// ===================== poll_oneoff =====================

#[test]
fn poll_on_a_memory_fd_is_ready_with_the_bytes_left() {
    let mut g = Guest::new();
    let fd = g.memfd(b"0123456789");
    let sub = Sub::Read {
        userdata: 0x1234_5678_9abc_def0,
        fd,
    };
    let ready = |nbytes| Event {
        userdata: 0x1234_5678_9abc_def0,
        error: 0,
        type_: EVENT_FD_READ,
        nbytes,
        flags: 0,
    };
    assert_eq!(g.poll(&[sub]).unwrap(), [ready(10)]);
    g.read(fd, 4).unwrap();
    assert_eq!(g.poll(&[sub]).unwrap(), [ready(6)]);
    // At the end there is nothing left to read (the flags may say hangup).
    g.seek(fd, 0, END).unwrap();
    let events = g.poll(&[sub]).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].error, events[0].type_, events[0].nbytes),
        (0, EVENT_FD_READ, 0)
    );
}

#[test]
fn poll_with_a_memory_fd_and_a_clock_returns_at_once() {
    let mut g = Guest::new();
    let fd = g.memfd(b"abc");
    let subs = [
        Sub::Clock {
            userdata: 1,
            timeout_ns: 10_000_000_000,
        },
        Sub::Read { userdata: 2, fd },
    ];
    // A 10 s timeout: this returns at once or the test hangs for 10 s.
    assert_eq!(
        g.poll(&subs).unwrap(),
        [Event {
            userdata: 2,
            error: 0,
            type_: EVENT_FD_READ,
            nbytes: 3,
            flags: 0,
        }]
    );
}

#[test]
fn poll_with_two_memory_fds_reports_both() {
    let mut g = Guest::new();
    let a = g.memfd(b"abc");
    let b = g.memfd_rw(b"defgh");
    let events = g
        .poll(&[
            Sub::Read { userdata: 1, fd: a },
            Sub::Write { userdata: 2, fd: b },
        ])
        .unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(
        (
            events[0].userdata,
            events[0].error,
            events[0].type_,
            events[0].nbytes
        ),
        (1, 0, EVENT_FD_READ, 3)
    );
    assert_eq!(
        (events[1].userdata, events[1].error, events[1].type_),
        (2, 0, EVENT_FD_WRITE)
    );
}

#[test]
fn poll_clock_only_is_delegated_even_with_memory_fds_open() {
    let mut g = Guest::new();
    let _fd = g.memfd(b"abc");
    let events = g
        .poll(&[Sub::Clock {
            userdata: 77,
            timeout_ns: 1_000_000,
        }])
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].userdata, events[0].error, events[0].type_),
        (77, 0, EVENT_CLOCK)
    );
}

#[test]
fn poll_for_writing_on_a_read_only_memory_fd_is_ebadf() {
    let mut g = Guest::new();
    let fd = g.memfd(b"abc");
    let events = g.poll(&[Sub::Write { userdata: 9, fd }]).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].userdata, events[0].error, events[0].type_),
        (9, errno::BADF as u16, EVENT_FD_WRITE)
    );
}

// ===================== delegation and backends =====================

#[test]
fn stdio_is_still_wasmtime_wasis() {
    let mut g = Guest::new();
    let _fd = g.memfd(b"abc");
    assert_eq!(g.write(1, b"hello from the p1 test\n"), Ok(23));
    assert_eq!(g.write(2, b""), Ok(0));
    let st = g.fdstat(1).unwrap();
    assert_ne!(st.rights_base & rights::FD_WRITE, 0, "{st:?}");
    // No such fd in wasmtime-wasi's table.
    assert_eq!(g.fdstat(77).map(|_| ()), Err(errno::BADF));
    assert_eq!(g.read(77, 4), Err(errno::BADF));
    assert_eq!(g.close(77), errno::BADF);
}

#[test]
fn shm_backend_round_trips() {
    let mut g = Guest::with(WasiMemfdCtx::builder().backend(Backend::Shm));
    let data = pattern(100_000);
    let fd = g.memfd(&data[..20_000]);
    assert!(g.read_vec(fd, &[7_000, 13_000, 5]).unwrap() == data[..20_000]);
    assert_eq!(g.filestat(fd).unwrap().size, 20_000);
    assert_eq!(g.write(fd, b"x"), Err(errno::BADF));
    let rw = g.memfd_rw(b"shared memory");
    assert_eq!(g.pwrite(rw, b"SH", 0), Ok(2));
    assert_eq!(g.pwrite(rw, b"MEMORY!!", 7), Ok(6));
    assert_eq!(g.pwrite(rw, b"!", 13), Err(errno::FBIG));
    assert_eq!(g.read(rw, 64).unwrap(), b"SHared MEMORY");
    assert_eq!(g.filestat(rw).unwrap().size, 13);
    assert_eq!(
        g.usage(),
        Usage {
            files: 2,
            bytes: 20_013
        }
    );
}

/// Lays out `count` iovecs of `len` bytes each at `at` (consecutive buffers
/// from `buf`), growing memory as needed.
fn put_many_iovecs(g: &mut Guest, at: u32, count: u32, buf: u32, len: u32) {
    g.grow_to((at + 8 * count).max(buf + len * count) as usize);
    let mut table = Vec::with_capacity(8 * count as usize);
    for i in 0..count {
        table.extend_from_slice(&(buf + i * len).to_le_bytes());
        table.extend_from_slice(&len.to_le_bytes());
    }
    g.put(at, &table);
}

#[test]
fn one_read_or_write_serves_at_most_iov_max_iovecs() {
    assert_eq!(wasi_memfd::p1::IOV_MAX, 1024);
    let mut g = Guest::new();
    let data: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
    let (ro, rw) = (g.memfd(&data), g.memfd_rw(&vec![0; 3000]));
    let (table, buf) = (256 * 1024, 512 * 1024);
    put_many_iovecs(&mut g, table, 1500, buf, 1);
    // 1500 one-byte iovecs: the first 1024 are served, a short count.
    let errno: i32 = g.call("fd_read", (ro, table, 1500u32, OUT));
    assert_eq!(errno, errno::SUCCESS);
    assert_eq!(g.u32_at(OUT), 1024);
    assert_eq!(g.get(buf, 1024), &data[..1024]);
    assert_eq!(g.tell(ro), Ok(1024));
    let errno: i32 = g.call("fd_pwrite", (rw, table, 1500u32, 10u64, OUT));
    assert_eq!(errno, errno::SUCCESS);
    assert_eq!(g.u32_at(OUT), 1024);
    assert_eq!(g.pread(rw, 1034, 0).unwrap()[10..], data[..1024]);
}

#[test]
fn iovec_and_subscription_arrays_are_charged_against_hostcall_fuel() {
    let mut g = Guest::new();
    let fd = g.memfd(b"0123456789");
    let (table, buf) = (256 * 1024, 512 * 1024);
    put_many_iovecs(&mut g, table, 100, buf, 1);
    // 100 iovecs are 800 bytes of array.
    g.store.set_hostcall_fuel(799);
    let errno: i32 = g.call("fd_pread", (fd, table, 100u32, 0u64, OUT));
    assert_eq!(errno, 48, "ENOMEM once the fuel is spent");
    g.store.set_hostcall_fuel(800);
    let errno: i32 = g.call("fd_pread", (fd, table, 100u32, 0u64, OUT));
    assert_eq!(errno, errno::SUCCESS);
    assert_eq!(g.u32_at(OUT), 10);
    // wasmtime-wasi charges both the subscription and the event arrays
    // (each entry tens of bytes), and so does this layer.
    let subs = [Sub::Read { userdata: 1, fd }, Sub::Read { userdata: 2, fd }];
    g.store.set_hostcall_fuel(60);
    assert_eq!(g.poll(&subs), Err(48));
    g.store.set_hostcall_fuel(1 << 20);
    assert_eq!(g.poll(&subs).unwrap().len(), 2);
    // At the default fuel (128 MiB), 32 Mi iovecs (256 MiB of array) are
    // refused before any is read.
    g.store.set_hostcall_fuel(128 << 20);
    g.grow_to(300 << 20);
    let errno: i32 = g.call("fd_read", (fd, 16u32, 32u32 << 20, OUT));
    assert_eq!(errno, 48);
    assert_eq!(g.tell(fd), Ok(0));
}

#[test]
fn an_iovec_outside_memory_traps_even_when_the_write_is_clamped() {
    let mut g = Guest::new();
    let fd = g.memfd_rw(b"abcd");
    let end = g.mem_len();
    // 100 bytes from 10 before the end of memory; only 4 would be written.
    g.put_iovecs(&[(end - 10, 100)]);
    let trapped = g.try_call::<_, i32>("fd_write", (fd, IOV, 1u32, OUT));
    assert!(trapped.is_err(), "an out-of-bounds iovec must trap");
    assert_eq!(g.pread(fd, 4, 0).unwrap(), b"abcd", "nothing was written");
    // In bounds, the same write is clamped at the end of the file.
    g.put_iovecs(&[(end - 100, 100)]);
    let errno: i32 = g.call("fd_write", (fd, IOV, 1u32, OUT));
    assert_eq!(errno, errno::SUCCESS);
    assert_eq!(g.u32_at(OUT), 4);
}

#[test]
fn poll_oneoff_takes_at_most_poll_max_subscriptions_while_memory_files_are_open() {
    let max = wasi_memfd::p1::POLL_MAX;
    let mut g = Guest::new();
    let fd = g.memfd(b"ready");
    let (subs, events) = (1 << 20, 2 << 20);
    g.grow_to((events + 32 * (max + 1)) as usize);
    let mut sub = [0u8; 48];
    sub[8] = EVENT_FD_READ;
    sub[16..20].copy_from_slice(&fd.to_le_bytes());
    g.put(subs, &sub.repeat(max as usize + 1));
    let errno: i32 = g.call("poll_oneoff", (subs, events, max + 1, OUT));
    assert_eq!(errno, errno::INVAL);
    let errno: i32 = g.call("poll_oneoff", (subs, events, max, OUT));
    assert_eq!(errno, errno::SUCCESS);
    assert_eq!(g.u32_at(OUT), max, "one event per subscription");
}

#[test]
fn overlapping_and_scattered_iovecs_read_and_write_in_iovec_order() {
    let mut g = Guest::new();
    let data: Vec<u8> = (0..64u8).collect();
    let ro = g.memfd(&data);
    // Out of address order, and one overlapping another: the bytes land in
    // iovec order either way.
    for iovecs in [
        vec![(BUF + 100, 4), (BUF, 4), (BUF + 50, 8)],
        vec![(BUF, 8), (BUF + 4, 8)],
    ] {
        g.put_iovecs(&iovecs);
        let errno: i32 = g.call("fd_pread", (ro, IOV, iovecs.len() as u32, 0u64, OUT));
        assert_eq!(errno, errno::SUCCESS);
        let total: u32 = iovecs.iter().map(|i| i.1).sum();
        assert_eq!(g.u32_at(OUT), total);
        let mut at = 0;
        let last = iovecs.last().unwrap();
        for &(ptr, len) in &iovecs[..iovecs.len() - 1] {
            if ptr + len <= last.0 || ptr >= last.0 + last.1 {
                assert_eq!(g.get(ptr, len as usize), &data[at..at + len as usize]);
            }
            at += len as usize;
        }
        assert_eq!(
            g.get(last.0, last.1 as usize),
            &data[at..at + last.1 as usize]
        );
    }
    let rw = g.memfd_rw(&[0; 16]);
    g.put(BUF, b"abcdefgh");
    g.put_iovecs(&[(BUF + 4, 4), (BUF, 4), (BUF + 2, 4)]);
    let errno: i32 = g.call("fd_pwrite", (rw, IOV, 3u32, 0u64, OUT));
    assert_eq!(errno, errno::SUCCESS);
    assert_eq!(g.u32_at(OUT), 12);
    assert_eq!(g.pread(rw, 16, 0).unwrap(), b"efghabcdcdef\0\0\0\0");
}

#[test]
fn memory_file_calls_on_the_sync_linker_never_enter_the_runtime() {
    // Inside an async context, wasmtime-wasi's `in_tokio` (what its sync
    // linker runs every async call through) panics: `Handle::block_on`
    // refuses to run there. So every memory-file call below that returns
    // proves it was served without entering the runtime.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut g = Guest::new();
        let fd = g.memfd(b"abcdef");
        assert_eq!(g.read(fd, 3).unwrap(), b"abc");
        assert_eq!(g.pread(fd, 2, 4).unwrap(), b"ef");
        assert_eq!(g.seek(fd, 0, SET), Ok(0));
        assert_eq!(g.read(fd, 8).unwrap(), b"abcdef");
        let errno: i32 = g.call("fd_close", (fd,));
        assert_eq!(errno, errno::SUCCESS);

        // The control: a call passed on to wasmtime-wasi (an fd it does not
        // have) does enter the runtime, and so panics here.
        let entered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            g.try_call::<_, i32>("fd_close", (77u32,))
        }));
        assert!(
            entered.is_err(),
            "wasmtime-wasi's call ran outside the runtime"
        );
    });
}

#[test]
fn files_from_a_pool_look_exactly_like_new_ones() {
    use std::os::fd::AsRawFd;
    use wasi_memfd::{Pool, PoolConfig};
    const MIB: usize = 1 << 20;
    let mut config = PoolConfig::default();
    config.small_files = 2;
    config.large_files = 1;
    config.large_bytes = 2 * MIB as u64;
    let pool = Pool::new(config).unwrap();
    let full = || {
        let start = std::time::Instant::now();
        while pool.ready() != (2, 1) {
            assert!(start.elapsed().as_secs() < 10, "the pool never filled");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    };
    full();
    let mut g = Guest::with(WasiMemfdCtx::builder().pool(&pool));
    let name_of = |g: &Guest, fd: u32| {
        let file = g.store.data().memory_file(fd).unwrap();
        let link = std::fs::read_link(format!("/proc/self/fd/{}", file.file().as_raw_fd()));
        link.unwrap().to_string_lossy().into_owned()
    };

    // Small data: an empty pooled file, filled and sealed.
    let small = g.memfd(b"pooled bytes");
    assert_eq!(name_of(&g, small), "/memfd:wasi-memfd:pooled (deleted)");
    assert_eq!(g.filestat(small).unwrap().size, 12);
    assert_eq!(g.read(small, 64).unwrap(), b"pooled bytes");
    assert_eq!(g.write(small, b"x"), Err(errno::BADF));
    assert!(g
        .store
        .data()
        .memory_file(small)
        .unwrap()
        .is_sealed_read_only());

    // A mebibyte and more: the large file, allocated ahead, trimmed.
    let data = pattern(MIB + 3);
    let at = (DATA as usize).next_multiple_of(PAGE) + PAGE;
    g.grow_to(at + data.len());
    g.put(at as u32, &data);
    let errno = g.make_raw(at as u32, data.len() as u32, NAME, 0, 0, OUT);
    assert_eq!(errno, errno::SUCCESS);
    let large = g.u32_at(OUT);
    assert_eq!(name_of(&g, large), "/memfd:wasi-memfd:pooled (deleted)");
    let file = g.store.data().memory_file(large).unwrap();
    assert_eq!(
        file.size().unwrap(),
        (MIB + 3) as u64,
        "trimmed to the data"
    );
    assert!(file.is_sealed_read_only());
    assert!(file.read_all().unwrap() == data, "the bytes differ");
    assert_eq!(g.pread(large, 8, MIB as u64).unwrap(), &data[MIB..]);
    let errno: i32 = g.call("fd_filestat_set_size", (large, (MIB + 3) as u64));
    assert_eq!(errno, errno::INVAL, "same-size set_size on a read-only fd");
    drop(file);

    // Writable: in place, never past the end, as a new file.
    let rw = g.memfd_rw(b"abc");
    assert_eq!(g.pwrite(rw, b"X", 1), Ok(1));
    assert_eq!(g.pwrite(rw, b"Y", 3), Err(errno::FBIG));
    assert_eq!(g.pread(rw, 8, 0).unwrap(), b"aXc");

    // The limits see a closed file gone at once (the pool's thread closes
    // it later); the pool refills.
    let usage = g.usage();
    assert_eq!((usage.files, usage.bytes), (3, (12 + MIB + 3 + 3) as u64));
    for fd in [small, large, rw] {
        assert_eq!(g.close(fd), errno::SUCCESS);
    }
    let usage = g.usage();
    assert_eq!((usage.files, usage.bytes), (0, 0));
    full();
}
