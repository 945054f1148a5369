//! The WASIp1 harness: [`Guest`], the trampoline ([`crate::trampoline`])
//! instantiated in its own store with wasi-memfd's core-module layer linked
//! (sync or async), typed calls of its exports, and helpers that lay out
//! inputs (names, data, iovecs, subscriptions) in its linear memory and
//! decode what the host wrote back (counts, offsets, `filestat`, `fdstat`,
//! `event`s), each call's errno as a `Result`.
//!
//! Used by the core-module tests (`tests/host/p1_*.rs`, `tests/p1_leaks.rs`,
//! `tests/faults.rs`), the model's WASIp1 driver ([`crate::model`]) and the
//! `bounded_calls` bench. Struct layouts are WASIp1's (see
//! `host/witx/p1/typenames.witx`).

use std::sync::OnceLock;

use wasi_memfd::p1::WasiMemfdP1Ctx;
use wasi_memfd::{Usage, WasiMemfdCtx, WasiMemfdCtxBuilder};
use wasmtime::{Instance, InstancePre, Linker, Memory, Module, Store, TypedFunc};
use wasmtime::{WasmParams, WasmResults};
use wasmtime_wasi::runtime::in_tokio;
use wasmtime_wasi::WasiCtxBuilder;

pub use crate::trampoline::errno;
use crate::{engine, trampoline};

/// `pub const NAME: T` for each `NAME`: wasmtime-wasi's `Type::NAME` (a
/// flag's bits, or an enum's value for `NAME = Variant`) as the number the
/// raw calls take, so no WASI number is written here.
macro_rules! wasi_values {
    (flags $ty:ident as $t:ty: $($name:ident),*) => {
        use wasmtime_wasi::p1::types::$ty;
        $(
            #[doc = concat!("`", stringify!($ty), "::", stringify!($name), "`.")]
            pub const $name: $t = $ty::$name.bits() as $t;
        )*
    };
    (enum $ty:ident as $t:ty: $($name:ident = $variant:ident),*) => {
        use wasmtime_wasi::p1::types::$ty;
        $(
            #[doc = concat!("`", stringify!($ty), "::", stringify!($variant), "`.")]
            pub const $name: $t = $ty::$variant as $t;
        )*
    };
}

/// `filetype::regular_file`.
pub const REGULAR_FILE: u8 = wasmtime_wasi::p1::types::Filetype::RegularFile as u8;

/// `from_bytes` flag bit 0.
pub const WRITABLE: u32 = 1;

/// `oflags` bits of `path_open`.
pub mod oflags {
    wasi_values!(flags Oflags as u32: CREAT, DIRECTORY, EXCL, TRUNC);
}

/// `rights` bits.
pub mod rights {
    wasi_values!(flags Rights as u64: FD_READ, FD_SEEK, FD_TELL, FD_WRITE, FD_ADVISE, FD_FILESTAT_GET, FD_READDIR);
    /// Every right WASIp1 names (every bit of wasmtime-wasi's `Rights`,
    /// `SOCK_ACCEPT` included: `0x3fff_ffff`): wasmtime-wasi opens for
    /// writing when `FD_WRITE` is among the rights asked.
    pub const ALL: u64 = Rights::all().bits();
    /// What every memory-file fd has.
    pub const READ_ONLY: u64 = FD_READ | FD_SEEK | FD_TELL | FD_FILESTAT_GET | FD_ADVISE;

    /// The rights of a memory-file fd.
    pub fn of(writable: bool) -> u64 {
        if writable {
            READ_ONLY | FD_WRITE
        } else {
            READ_ONLY
        }
    }
}

/// `fdflags` bits.
pub mod fdflags {
    wasi_values!(flags Fdflags as u32: APPEND, NONBLOCK);
}

/// `whence` values.
pub mod whence {
    wasi_values!(enum Whence as u32: SET = Set, CUR = Cur, END = End);
}

/// `eventtype` values.
pub mod eventtype {
    wasi_values!(enum Eventtype as u8: CLOCK = Clock, FD_READ = FdRead, FD_WRITE = FdWrite);
}

/// Pages of linear memory the trampoline starts with (256 KiB); it can
/// grow (see [`Trampoline::grow_to`]).
pub const PAGES: u32 = 4;
pub const PAGE: usize = 64 * 1024;

/// Where the helpers put things in linear memory. Each region starts where
/// the one before it ends, so its size says what it holds and no two
/// overlap; the helpers check that what they put in one fits.
pub mod layout {
    /// Results written by the host: a u32 or u64.
    pub const OUT: u32 = 8;
    /// A second result (`sock_recv`'s flags).
    pub const OUT2: u32 = OUT + 8;
    /// iovec arrays, [`IOVECS`] entries of 8 bytes.
    pub const IOV: u32 = OUT2 + 8;
    /// A `filestat` (64 bytes), an `fdstat` (24) or the events of a poll
    /// ([`POLLS`] of 32 bytes).
    pub const STRUCT: u32 = IOV + 8 * IOVECS;
    /// Subscriptions, [`POLLS`] of 48 bytes.
    pub const SUBS: u32 = STRUCT + 32 * POLLS;
    /// Names and paths, [`NAME_MAX`] bytes.
    pub const NAME: u32 = SUBS + 48 * POLLS;
    /// `from_bytes` and write input, 28 KiB (memory grows for more, over
    /// [`BUF`]).
    pub const DATA: u32 = NAME + NAME_MAX;
    /// Read buffers.
    pub const BUF: u32 = DATA + 28 * 1024;

    /// Most iovecs at [`IOV`].
    pub const IOVECS: u32 = 16;
    /// Most subscriptions at [`SUBS`] (and events at [`STRUCT`]).
    pub const POLLS: u32 = 16;
    /// Most bytes of a name at [`NAME`].
    pub const NAME_MAX: u32 = 2 * 1024;
}
use layout::*;

/// What a call's `fd_out` holds before it: it must still hold it after a
/// failed call.
const UNWRITTEN: u32 = 0xEEEE_EEEE;

/// A WASIp1 struct the host writes into linear memory, read back by
/// [`Trampoline::struct_at`].
pub trait Decode {
    /// Its size in bytes.
    const SIZE: usize;
    /// It, from its `SIZE` bytes.
    fn decode(bytes: &[u8]) -> Self;
}

/// Declares each WASIp1 struct with its size and every field's type and
/// offset (`host/witx/p1/typenames.witx`), and its [`Decode`].
macro_rules! wasi_structs {
    ($($(#[$doc:meta])* $name:ident($size:literal) {
        $($field:ident: $ty:ty = $offset:literal),* $(,)?
    })*) => {$(
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name {
            $(pub $field: $ty),*
        }

        impl Decode for $name {
            const SIZE: usize = $size;

            fn decode(bytes: &[u8]) -> Self {
                $name {
                    $($field: <$ty>::from_le_bytes(
                        bytes[$offset..$offset + std::mem::size_of::<$ty>()]
                            .try_into()
                            .unwrap(),
                    )),*
                }
            }
        }
    )*};
}

wasi_structs! {
    /// A WASIp1 `filestat`.
    Filestat(64) {
        dev: u64 = 0, ino: u64 = 8, filetype: u8 = 16, nlink: u64 = 24,
        size: u64 = 32, atim: u64 = 40, mtim: u64 = 48, ctim: u64 = 56,
    }
    /// A WASIp1 `fdstat`.
    Fdstat(24) {
        filetype: u8 = 0, flags: u16 = 2, rights_base: u64 = 8, rights_inheriting: u64 = 16,
    }
    /// A WASIp1 `event`.
    Event(32) {
        userdata: u64 = 0, error: u16 = 8, type_: u8 = 10, nbytes: u64 = 16, flags: u16 = 24,
    }
}

/// A WASIp1 `subscription`.
#[derive(Clone, Copy)]
pub enum Sub {
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

/// `errno` as a result: `Ok(value())` on success, `Err(errno)` otherwise.
pub fn result<T>(errno: i32, value: impl FnOnce() -> T) -> Result<T, i32> {
    if errno == errno::SUCCESS {
        Ok(value())
    } else {
        Err(errno)
    }
}

/// The trampoline with every import the tests use, compiled once, and
/// linked with wasi-memfd's sync (`[0]`) and async (`[1]`) core-module
/// linker.
fn instance_pre(asynchronous: bool) -> &'static InstancePre<WasiMemfdP1Ctx> {
    static MODULE: OnceLock<Module> = OnceLock::new();
    static PRE: [OnceLock<InstancePre<WasiMemfdP1Ctx>>; 2] = [OnceLock::new(), OnceLock::new()];
    PRE[usize::from(asynchronous)].get_or_init(|| {
        let module = MODULE.get_or_init(|| {
            Module::new(engine(), trampoline::wat(trampoline::IMPORTS, PAGES))
                .expect("the trampoline compiles")
        });
        let mut linker = Linker::new(engine());
        if asynchronous {
            wasi_memfd::p1::add_to_linker_async(&mut linker, |s| s).unwrap();
        } else {
            wasi_memfd::p1::add_to_linker_sync(&mut linker, |s| s).unwrap();
        }
        linker
            .instantiate_pre(module)
            .expect("the linker satisfies every import of the trampoline")
    })
}

/// The trampoline instantiated in a store of any data: its linear memory,
/// its exports, and the WASIp1 structs decoded from that memory.
/// [`Guest`] is one over wasi-memfd's context; the path model also runs
/// one over wasmtime-wasi's own (`crate::model`).
pub struct Trampoline<T: 'static> {
    pub store: Store<T>,
    instance: Instance,
    memory: Memory,
}

impl<T> Trampoline<T> {
    /// `instance` (of a trampoline module) in `store`.
    pub fn new(mut store: Store<T>, instance: Instance) -> Self {
        let memory = instance
            .get_memory(&mut store, "memory")
            .expect("the trampoline exports its memory");
        Trampoline {
            store,
            instance,
            memory,
        }
    }

    /// The export `name`, typed.
    pub fn typed<P: WasmParams, R: WasmResults>(
        &mut self,
        name: &str,
    ) -> wasmtime::Result<TypedFunc<P, R>> {
        self.instance.get_typed_func::<P, R>(&mut self.store, name)
    }

    pub fn mem_len(&self) -> u32 {
        self.memory.data_size(&self.store) as u32
    }

    /// Grows linear memory to at least `bytes`.
    pub fn grow_to(&mut self, bytes: usize) {
        let have = self.memory.data_size(&self.store);
        if bytes > have {
            let pages = (bytes - have).div_ceil(PAGE) as u64;
            self.memory.grow(&mut self.store, pages).unwrap();
        }
    }

    pub fn put(&mut self, addr: u32, bytes: &[u8]) {
        let at = addr as usize;
        self.memory.data_mut(&mut self.store)[at..at + bytes.len()].copy_from_slice(bytes);
    }

    pub fn get(&self, addr: u32, len: usize) -> Vec<u8> {
        let at = addr as usize;
        self.memory.data(&self.store)[at..at + len].to_vec()
    }

    pub fn u32_at(&self, addr: u32) -> u32 {
        u32::from_le_bytes(self.get(addr, 4).try_into().unwrap())
    }

    pub fn u64_at(&self, addr: u32) -> u64 {
        u64::from_le_bytes(self.get(addr, 8).try_into().unwrap())
    }

    /// The struct the host wrote at `at`.
    pub fn struct_at<S: Decode>(&self, at: u32) -> S {
        S::decode(&self.get(at, S::SIZE))
    }
}

/// The trampoline with wasi-memfd's core-module layer linked, and the
/// helpers the tests call it through (it derefs to its [`Trampoline`]).
pub struct Guest {
    tramp: Trampoline<WasiMemfdP1Ctx>,
    /// Whether the async linker serves it: then every call is `call_async`
    /// (in wasmtime-wasi's runtime).
    asynchronous: bool,
    /// What the guest is doing, added to the panic messages of the helpers
    /// (the model driver sets it to the op it runs).
    pub at: String,
}

impl std::ops::Deref for Guest {
    type Target = Trampoline<WasiMemfdP1Ctx>;

    fn deref(&self) -> &Self::Target {
        &self.tramp
    }
}

impl std::ops::DerefMut for Guest {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tramp
    }
}

impl Default for Guest {
    fn default() -> Self {
        Self::new()
    }
}

impl Guest {
    /// A guest with the default memfd context.
    pub fn new() -> Self {
        Self::with(&mut WasiMemfdCtx::builder())
    }

    /// A guest whose memfd context is `builder`'s.
    pub fn with(builder: &mut WasiMemfdCtxBuilder) -> Self {
        Self::of(builder.build())
    }

    /// A guest with `memfd` as its memfd context (and a default WASI one).
    pub fn of(memfd: WasiMemfdCtx) -> Self {
        Self::instantiate(Self::ctx(memfd), false)
    }

    /// [`Guest::of`], served by the async linker.
    pub fn of_async(memfd: WasiMemfdCtx) -> Self {
        Self::instantiate(Self::ctx(memfd), true)
    }

    /// A default WASIp1 context beside `memfd`.
    pub fn ctx(memfd: WasiMemfdCtx) -> WasiMemfdP1Ctx {
        WasiMemfdP1Ctx::new(WasiCtxBuilder::new().build_p1(), memfd)
    }

    /// A guest in a new store of `ctx`, linked sync or async.
    pub fn instantiate(ctx: WasiMemfdP1Ctx, asynchronous: bool) -> Self {
        let mut store = Store::new(engine(), ctx);
        let pre = instance_pre(asynchronous);
        let instance = if asynchronous {
            in_tokio(pre.instantiate_async(&mut store))
        } else {
            pre.instantiate(&mut store)
        }
        .expect("instantiating the trampoline");
        Guest {
            tramp: Trampoline::new(store, instance),
            asynchronous,
            at: String::new(),
        }
    }

    /// The store's memfd context's usage.
    pub fn usage(&mut self) -> Usage {
        self.store.data_mut().memfd().usage()
    }

    // ---- inputs in linear memory ----

    /// Writes `(ptr, len)` iovecs at [`IOV`].
    pub fn put_iovecs(&mut self, iovecs: &[(u32, u32)]) {
        assert!(iovecs.len() <= IOVECS as usize, "{} iovecs", iovecs.len());
        for (i, &(ptr, len)) in iovecs.iter().enumerate() {
            let at = IOV + 8 * i as u32;
            self.put(at, &ptr.to_le_bytes());
            self.put(at + 4, &len.to_le_bytes());
        }
    }

    /// Lays out `count` iovecs of `len` bytes each at `at` (consecutive
    /// buffers from `buf`), growing memory as needed.
    pub fn put_many_iovecs(&mut self, at: u32, count: u32, buf: u32, len: u32) {
        self.grow_to((at + 8 * count).max(buf + len * count) as usize);
        let mut table = Vec::with_capacity(8 * count as usize);
        for i in 0..count {
            table.extend_from_slice(&(buf + i * len).to_le_bytes());
            table.extend_from_slice(&len.to_le_bytes());
        }
        self.put(at, &table);
    }

    /// Iovecs over consecutive buffers of `lens` from [`BUF`], so what a
    /// read fills is contiguous from `BUF`. The buffers are filled with
    /// 0xAA first, so bytes the host did not write are recognisable.
    pub fn read_iovecs(&mut self, lens: &[u32]) {
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
    pub fn write_iovecs(&mut self, chunks: &[&[u8]]) {
        let total: usize = chunks.iter().map(|c| c.len()).sum();
        self.grow_to(DATA as usize + total);
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

    /// The trampoline's export `name`, typed.
    pub fn func<P: WasmParams, R: WasmResults>(&mut self, name: &str) -> TypedFunc<P, R> {
        self.tramp
            .typed::<P, R>(name)
            .unwrap_or_else(|e| panic!("export {name}: {e:?}{}", self.context()))
    }

    /// Calls the trampoline's export `name`; `Err` if it trapped.
    pub fn try_call<P, R>(&mut self, name: &str, params: P) -> wasmtime::Result<R>
    where
        P: WasmParams + Send + Sync,
        R: WasmResults + Send + Sync,
    {
        let func = self.func::<P, R>(name);
        if self.asynchronous {
            in_tokio(func.call_async(&mut self.store, params))
        } else {
            func.call(&mut self.store, params)
        }
    }

    /// Calls the trampoline's export `name`, which must not trap.
    pub fn call<P, R>(&mut self, name: &str, params: P) -> R
    where
        P: WasmParams + Send + Sync,
        R: WasmResults + Send + Sync,
    {
        self.try_call(name, params)
            .unwrap_or_else(|e| panic!("calling {name}: {e:?}{}", self.context()))
    }

    /// [`Guest::at`] for a panic message.
    fn context(&self) -> String {
        if self.at.is_empty() {
            String::new()
        } else {
            format!("\n{}", self.at)
        }
    }

    /// A new fd the call wrote at [`OUT`] (which held [`UNWRITTEN`]): it
    /// must be left alone on failure.
    fn new_fd(&self, errno: i32) -> Result<u32, i32> {
        let out = self.u32_at(OUT);
        if errno != errno::SUCCESS {
            assert_eq!(
                out,
                UNWRITTEN,
                "fd_out written on failure{}",
                self.context()
            );
        }
        result(errno, || out)
    }

    /// `from_bytes` with raw pointers: `data` and `name` each as (address,
    /// length), as the component probe's `make_raw` takes them.
    pub fn make_raw(&mut self, data: (u32, u32), name: (u32, u32), flags: u32, fd_out: u32) -> i32 {
        self.call(
            "from_bytes",
            (data.0, data.1, name.0, name.1, flags, fd_out),
        )
    }

    /// Puts `name` at [`NAME`]: its (pointer, length).
    pub fn put_name(&mut self, name: &[u8]) -> (u32, u32) {
        assert!(
            name.len() <= NAME_MAX as usize,
            "a name of {} bytes",
            name.len()
        );
        self.put(NAME, name);
        (NAME, name.len() as u32)
    }

    /// `from_bytes` of `data` (at [`DATA`], grown into if needed) named
    /// `name` (raw bytes, at [`NAME`]).
    pub fn make_named(&mut self, data: &[u8], name: &[u8], flags: u32) -> Result<u32, i32> {
        self.grow_to(DATA as usize + data.len());
        self.put(DATA, data);
        let name = self.put_name(name);
        self.put(OUT, &UNWRITTEN.to_le_bytes());
        let errno = self.make_raw((DATA, data.len() as u32), name, flags, OUT);
        self.new_fd(errno)
    }

    /// `from_bytes` of `data` named "test".
    pub fn make(&mut self, data: &[u8], flags: u32) -> Result<u32, i32> {
        self.make_named(data, b"test", flags)
    }

    /// `from_bytes` that must succeed.
    pub fn memfd(&mut self, data: &[u8]) -> u32 {
        self.make(data, 0).expect("from_bytes")
    }

    /// A writable `from_bytes` that must succeed.
    pub fn memfd_rw(&mut self, data: &[u8]) -> u32 {
        self.make(data, WRITABLE).expect("from_bytes writable")
    }

    /// `open_preopened` of `name` (raw bytes).
    pub fn open_preopened_raw(&mut self, name: &[u8]) -> Result<u32, i32> {
        let (name, len) = self.put_name(name);
        self.put(OUT, &UNWRITTEN.to_le_bytes());
        let errno = self.call("open_preopened", (name, len, OUT));
        self.new_fd(errno)
    }

    pub fn open_preopened(&mut self, name: &str) -> Result<u32, i32> {
        self.open_preopened_raw(name.as_bytes())
    }

    /// `calls[0]` (`fd_read`, `fd_write`: no `offset`) or `calls[1]`
    /// (`fd_pread`, `fd_pwrite`) over the `count` iovecs at [`IOV`], the
    /// count done at [`OUT`]: the errno.
    fn vectored(&mut self, calls: [&str; 2], fd: u32, count: usize, offset: Option<u64>) -> i32 {
        self.put(OUT, &UNWRITTEN.to_le_bytes());
        let count = count as u32;
        match offset {
            None => self.call(calls[0], (fd, IOV, count, OUT)),
            Some(offset) => self.call(calls[1], (fd, IOV, count, offset, OUT)),
        }
    }

    /// `fd_read` (no `offset`) or `fd_pread` into buffers of `lens` from
    /// [`BUF`]: the bytes read. Nothing past them may be written.
    fn read_into(&mut self, fd: u32, lens: &[u32], offset: Option<u64>) -> Result<Vec<u8>, i32> {
        self.read_iovecs(lens);
        let errno = self.vectored(["fd_read", "fd_pread"], fd, lens.len(), offset);
        let total: u32 = lens.iter().sum();
        let read = result(errno, || self.u32_at(OUT));
        let n = *read.as_ref().unwrap_or(&0);
        assert!(n <= total, "read {n} of {total} bytes{}", self.context());
        assert!(
            self.get(BUF + n, (total - n) as usize)
                .iter()
                .all(|&b| b == 0xAA),
            "bytes written past the {n} read{}",
            self.context()
        );
        read.map(|n| self.get(BUF, n as usize))
    }

    /// `fd_read` into buffers of `lens`; the bytes read.
    pub fn read_vec(&mut self, fd: u32, lens: &[u32]) -> Result<Vec<u8>, i32> {
        self.read_into(fd, lens, None)
    }

    pub fn read(&mut self, fd: u32, len: u32) -> Result<Vec<u8>, i32> {
        self.read_vec(fd, &[len])
    }

    /// `fd_pread` into buffers of `lens` at `offset`; the bytes read.
    pub fn pread_vec(&mut self, fd: u32, lens: &[u32], offset: u64) -> Result<Vec<u8>, i32> {
        self.read_into(fd, lens, Some(offset))
    }

    pub fn pread(&mut self, fd: u32, len: u32, offset: u64) -> Result<Vec<u8>, i32> {
        self.pread_vec(fd, &[len], offset)
    }

    /// `fd_write` (no `offset`) or `fd_pwrite` of `chunks`; the count
    /// written.
    fn write_from(&mut self, fd: u32, chunks: &[&[u8]], offset: Option<u64>) -> Result<u32, i32> {
        self.write_iovecs(chunks);
        let errno = self.vectored(["fd_write", "fd_pwrite"], fd, chunks.len(), offset);
        result(errno, || self.u32_at(OUT))
    }

    /// `fd_write` of `chunks`; the count written.
    pub fn write_vec(&mut self, fd: u32, chunks: &[&[u8]]) -> Result<u32, i32> {
        self.write_from(fd, chunks, None)
    }

    pub fn write(&mut self, fd: u32, bytes: &[u8]) -> Result<u32, i32> {
        self.write_vec(fd, &[bytes])
    }

    /// `fd_pwrite` of `chunks` at `offset`; the count written.
    pub fn pwrite_vec(&mut self, fd: u32, chunks: &[&[u8]], offset: u64) -> Result<u32, i32> {
        self.write_from(fd, chunks, Some(offset))
    }

    pub fn pwrite(&mut self, fd: u32, bytes: &[u8], offset: u64) -> Result<u32, i32> {
        self.pwrite_vec(fd, &[bytes], offset)
    }

    pub fn seek(&mut self, fd: u32, offset: i64, whence: u32) -> Result<u64, i32> {
        self.put(OUT, &[0xEE; 8]);
        let errno = self.call("fd_seek", (fd, offset, whence, OUT));
        result(errno, || self.u64_at(OUT))
    }

    pub fn tell(&mut self, fd: u32) -> Result<u64, i32> {
        self.put(OUT, &[0xEE; 8]);
        let errno = self.call("fd_tell", (fd, OUT));
        result(errno, || self.u64_at(OUT))
    }

    pub fn filestat(&mut self, fd: u32) -> Result<Filestat, i32> {
        let errno = self.call("fd_filestat_get", (fd, STRUCT));
        result(errno, || self.struct_at(STRUCT))
    }

    pub fn fdstat(&mut self, fd: u32) -> Result<Fdstat, i32> {
        let errno = self.call("fd_fdstat_get", (fd, STRUCT));
        result(errno, || self.struct_at(STRUCT))
    }

    /// A call taking only an fd: `fd_close`, `fd_sync`, `fd_datasync`.
    pub fn fd_call(&mut self, name: &str, fd: u32) -> i32 {
        self.call(name, fd)
    }

    pub fn close(&mut self, fd: u32) -> i32 {
        self.fd_call("fd_close", fd)
    }

    pub fn renumber(&mut self, from: u32, to: u32) -> i32 {
        self.call("fd_renumber", (from, to))
    }

    /// `fd_filestat_set_size`.
    pub fn set_size(&mut self, fd: u32, size: u64) -> i32 {
        self.call("fd_filestat_set_size", (fd, size))
    }

    /// `poll_oneoff` over `subs`; the events written.
    pub fn poll(&mut self, subs: &[Sub]) -> Result<Vec<Event>, i32> {
        assert!(subs.len() <= POLLS as usize, "{} subscriptions", subs.len());
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
                    (userdata, eventtype::CLOCK)
                }
                Sub::Read { userdata, fd } => {
                    self.put(at + 16, &fd.to_le_bytes());
                    (userdata, eventtype::FD_READ)
                }
                Sub::Write { userdata, fd } => {
                    self.put(at + 16, &fd.to_le_bytes());
                    (userdata, eventtype::FD_WRITE)
                }
            };
            self.put(at, &userdata.to_le_bytes());
            self.put(at + 8, &[tag]);
        }
        self.put(STRUCT, &[0xAA; Event::SIZE * POLLS as usize]);
        let errno = self.call("poll_oneoff", (SUBS, STRUCT, subs.len() as u32, OUT));
        result(errno, || {
            (0..self.u32_at(OUT))
                .map(|i| self.struct_at(STRUCT + Event::SIZE as u32 * i))
                .collect()
        })
    }
}
