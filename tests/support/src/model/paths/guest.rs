//! The path model's WASIp1 guest: the trampoline ([`crate::trampoline`])
//! with the path calls [`crate::p1::Guest`] does not import, instantiated
//! over either store data: wasi-memfd's (`WasiMemfdP1Ctx`, the system under
//! test) or wasmtime-wasi's own (`WasiP1Ctx`, the reference, linked with
//! `wasmtime_wasi::p1::add_to_linker_sync` and nothing of wasi-memfd's).
//! Every call is typed, its errno a `Result`; a trap fails the test (no
//! call the model makes may trap).

use std::sync::OnceLock;

use wasi_memfd::p1::WasiMemfdP1Ctx;
use wasmtime::{InstancePre, Linker, Module, Store};
use wasmtime::{WasmParams, WasmResults};
use wasmtime_wasi::p1::WasiP1Ctx;

use crate::p1::{result, Fdstat, Filestat, Trampoline};
use crate::trampoline::{self, Imports};
use crate::{engine, p1::PAGES};

/// The WASIp1 calls the path model makes beyond those of
/// [`trampoline::IMPORTS`].
const MORE: &[(&str, &str)] = &[
    ("path_filestat_set_times", "i32 i32 i32 i32 i64 i64 i32"),
    ("path_remove_directory", "i32 i32 i32"),
    ("path_rename", "i32 i32 i32 i32 i32 i32"),
    ("path_link", "i32 i32 i32 i32 i32 i32 i32"),
    ("path_symlink", "i32 i32 i32 i32 i32"),
    ("path_readlink", "i32 i32 i32 i32 i32 i32"),
];

/// Where things go in linear memory.
const OUT: u32 = 8;
const IOV: u32 = 64;
const STRUCT: u32 = 256;
/// Paths: up to 4200 bytes each.
const PATH_A: u32 = 1024;
const PATH_B: u32 = 6144;
const DATA: u32 = 12288;
/// Read, readlink and readdir buffers.
const BUF: u32 = 16384;
/// Most bytes a buffer at [`BUF`] may take.
pub const BUF_MAX: u32 = 64 * 1024;

/// A store data the trampoline can be linked with.
pub trait Linked: Send + Sized + 'static {
    /// The trampoline, compiled once, linked with this data's WASIp1.
    fn pre() -> &'static InstancePre<Self>;
}

/// The trampoline over every WASIp1 call of [`trampoline::IMPORTS`] and
/// [`MORE`] (and none of `wasi_memfd`'s: the reference has none), compiled
/// once.
fn module() -> &'static Module {
    static MODULE: OnceLock<Module> = OnceLock::new();
    MODULE.get_or_init(|| {
        let preview1: Vec<(&str, &str)> = trampoline::IMPORTS
            .iter()
            .filter(|(module, _)| *module == "wasi_snapshot_preview1")
            .flat_map(|(_, funcs)| funcs.iter().copied())
            .chain(MORE.iter().copied())
            .collect();
        let imports: Imports<'_> = &[("wasi_snapshot_preview1", &preview1)];
        Module::new(engine(), trampoline::wat(imports, PAGES)).expect("the trampoline compiles")
    })
}

/// `pre`, made the first time: the trampoline linked by `add`.
fn linked<T: 'static>(
    pre: &'static OnceLock<InstancePre<T>>,
    add: impl FnOnce(&mut Linker<T>) -> wasmtime::Result<()>,
) -> &'static InstancePre<T> {
    pre.get_or_init(|| {
        let mut linker = Linker::new(engine());
        add(&mut linker).expect("linking WASIp1");
        linker
            .instantiate_pre(module())
            .expect("linking the trampoline")
    })
}

impl Linked for WasiMemfdP1Ctx {
    fn pre() -> &'static InstancePre<Self> {
        static PRE: OnceLock<InstancePre<WasiMemfdP1Ctx>> = OnceLock::new();
        linked(&PRE, |l| wasi_memfd::p1::add_to_linker_sync(l, |s| s))
    }
}

impl Linked for WasiP1Ctx {
    fn pre() -> &'static InstancePre<Self> {
        static PRE: OnceLock<InstancePre<WasiP1Ctx>> = OnceLock::new();
        linked(&PRE, |l| wasmtime_wasi::p1::add_to_linker_sync(l, |s| s))
    }
}

/// The trampoline instantiated in a store of `T`, with the path model's
/// calls (it derefs to its [`Trampoline`]).
pub struct PathGuest<T: 'static>(Trampoline<T>);

impl<T> std::ops::Deref for PathGuest<T> {
    type Target = Trampoline<T>;

    fn deref(&self) -> &Trampoline<T> {
        &self.0
    }
}

impl<T> std::ops::DerefMut for PathGuest<T> {
    fn deref_mut(&mut self) -> &mut Trampoline<T> {
        &mut self.0
    }
}

type R<T> = Result<T, i32>;

impl<T: Linked> PathGuest<T> {
    /// The trampoline in a new store of `data`.
    pub fn new(data: T) -> Self {
        let mut store = Store::new(engine(), data);
        let instance = T::pre()
            .instantiate(&mut store)
            .expect("instantiating the trampoline");
        PathGuest(Trampoline::new(store, instance))
    }

    /// Calls export `name`; a trap fails the test.
    fn call<P: WasmParams, Q: WasmResults>(&mut self, name: &str, params: P) -> Q {
        let func = self
            .typed::<P, Q>(name)
            .unwrap_or_else(|e| panic!("export {name}: {e:?}"));
        func.call(&mut self.store, params)
            .unwrap_or_else(|e| panic!("{name} trapped (no call of the model may): {e:?}"))
    }

    /// Calls `name`, then reads a u32 it wrote at [`OUT`].
    fn call_out<P: WasmParams>(&mut self, name: &str, params: P) -> R<u32> {
        self.put(OUT, &[0xEE; 8]);
        let errno: i32 = self.call(name, params);
        result(errno, || self.u32_at(OUT))
    }

    /// Puts `path` at `at`: its (pointer, length).
    fn path(&mut self, at: u32, path: &[u8]) -> (u32, u32) {
        self.put(at, path);
        (at, path.len() as u32)
    }

    /// `path_open` (`rights` as base and inheriting): the new fd.
    pub fn open(
        &mut self,
        dir: u32,
        follow: bool,
        path: &[u8],
        oflags: u8,
        rights: u64,
        fdflags: u16,
    ) -> R<u32> {
        let (p, len) = self.path(PATH_A, path);
        let params = (
            dir,
            u32::from(follow),
            p,
            len,
            u32::from(oflags),
            rights,
            rights,
            u32::from(fdflags),
            OUT,
        );
        self.call_out("path_open", params)
    }

    /// `fd_write` (no `offset`) or `fd_pwrite` of `data`, one iovec.
    pub fn write(&mut self, fd: u32, data: &[u8], offset: Option<u64>) -> R<u32> {
        self.put(DATA, data);
        self.put(IOV, &DATA.to_le_bytes());
        self.put(IOV + 4, &(data.len() as u32).to_le_bytes());
        match offset {
            None => self.call_out("fd_write", (fd, IOV, 1u32, OUT)),
            Some(offset) => self.call_out("fd_pwrite", (fd, IOV, 1u32, offset, OUT)),
        }
    }

    /// `fd_read` (no `offset`) or `fd_pread` of up to `len` bytes, one
    /// iovec.
    pub fn read(&mut self, fd: u32, len: u32, offset: Option<u64>) -> R<Vec<u8>> {
        self.put(IOV, &BUF.to_le_bytes());
        self.put(IOV + 4, &len.to_le_bytes());
        let n = match offset {
            None => self.call_out("fd_read", (fd, IOV, 1u32, OUT)),
            Some(offset) => self.call_out("fd_pread", (fd, IOV, 1u32, offset, OUT)),
        }?;
        assert!(n <= len, "read {n} bytes into {len}");
        Ok(self.get(BUF, n as usize))
    }

    /// `fd_seek`: the new position.
    pub fn seek(&mut self, fd: u32, delta: i64, whence: u8) -> R<u64> {
        self.put(OUT, &[0xEE; 8]);
        let errno: i32 = self.call("fd_seek", (fd, delta, u32::from(whence), OUT));
        result(errno, || self.u64_at(OUT))
    }

    /// `fd_tell`.
    pub fn tell(&mut self, fd: u32) -> R<u64> {
        self.put(OUT, &[0xEE; 8]);
        let errno: i32 = self.call("fd_tell", (fd, OUT));
        result(errno, || self.u64_at(OUT))
    }

    /// `fd_filestat_get`.
    pub fn filestat(&mut self, fd: u32) -> R<Filestat> {
        let errno: i32 = self.call("fd_filestat_get", (fd, STRUCT));
        result(errno, || self.struct_at(STRUCT))
    }

    /// `fd_fdstat_get`.
    pub fn fdstat(&mut self, fd: u32) -> R<Fdstat> {
        let errno: i32 = self.call("fd_fdstat_get", (fd, STRUCT));
        result(errno, || self.struct_at(STRUCT))
    }

    /// A call whose only answer is its errno.
    pub fn errno<P: WasmParams>(&mut self, name: &str, params: P) -> R<()> {
        let errno: i32 = self.call(name, params);
        result(errno, || ())
    }

    /// `fd_readdir` into `buf_len` bytes from `cookie`: the bytes written.
    pub fn readdir(&mut self, fd: u32, buf_len: u32, cookie: u64) -> R<Vec<u8>> {
        assert!(buf_len <= BUF_MAX);
        let n = self.call_out("fd_readdir", (fd, BUF, buf_len, cookie, OUT))?;
        assert!(n <= buf_len, "fd_readdir used {n} of {buf_len} bytes");
        Ok(self.get(BUF, n as usize))
    }

    /// `path_filestat_get`.
    pub fn path_stat(&mut self, dir: u32, follow: bool, path: &[u8]) -> R<Filestat> {
        let (p, len) = self.path(PATH_A, path);
        let errno: i32 = self.call(
            "path_filestat_get",
            (dir, u32::from(follow), p, len, STRUCT),
        );
        result(errno, || self.struct_at(STRUCT))
    }

    /// `path_filestat_set_times` to `times` (atim, mtim).
    pub fn path_set_times(
        &mut self,
        dir: u32,
        follow: bool,
        path: &[u8],
        times: (u64, u64),
        fst: u16,
    ) -> R<()> {
        let (p, len) = self.path(PATH_A, path);
        let params = (
            dir,
            u32::from(follow),
            p,
            len,
            times.0,
            times.1,
            u32::from(fst),
        );
        self.errno("path_filestat_set_times", params)
    }

    /// `path_create_directory`, `path_remove_directory` or
    /// `path_unlink_file`.
    pub fn path_call(&mut self, name: &str, dir: u32, path: &[u8]) -> R<()> {
        let (p, len) = self.path(PATH_A, path);
        self.errno(name, (dir, p, len))
    }

    /// `path_rename`.
    pub fn rename(&mut self, from_dir: u32, from: &[u8], to_dir: u32, to: &[u8]) -> R<()> {
        let (a, a_len) = self.path(PATH_A, from);
        let (b, b_len) = self.path(PATH_B, to);
        self.errno("path_rename", (from_dir, a, a_len, to_dir, b, b_len))
    }

    /// `path_link` (`follow`: `LOOKUP_SYMLINK_FOLLOW`).
    pub fn link(
        &mut self,
        from_dir: u32,
        follow: bool,
        from: &[u8],
        to_dir: u32,
        to: &[u8],
    ) -> R<()> {
        let (a, a_len) = self.path(PATH_A, from);
        let (b, b_len) = self.path(PATH_B, to);
        let params = (from_dir, u32::from(follow), a, a_len, to_dir, b, b_len);
        self.errno("path_link", params)
    }

    /// `path_symlink` of `target` at `path`.
    pub fn symlink(&mut self, target: &[u8], dir: u32, path: &[u8]) -> R<()> {
        let (a, a_len) = self.path(PATH_A, target);
        let (b, b_len) = self.path(PATH_B, path);
        self.errno("path_symlink", (a, a_len, dir, b, b_len))
    }

    /// `path_readlink` into `buf_len` bytes: what it wrote.
    pub fn readlink(&mut self, dir: u32, path: &[u8], buf_len: u32) -> R<Vec<u8>> {
        let (p, len) = self.path(PATH_A, path);
        let n = self.call_out("path_readlink", (dir, p, len, BUF, buf_len, OUT))?;
        assert!(n <= buf_len, "path_readlink used {n} of {buf_len} bytes");
        Ok(self.get(BUF, n as usize))
    }
}
