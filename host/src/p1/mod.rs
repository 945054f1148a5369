//! The core-module ABI: `wasi_memfd` imports for WASIp1 guests, and WASIp1
//! with memory files and memory directories as real fds in the guest's fd
//! table.
//!
//! [`WasiMemfdP1Ctx`] wraps wasmtime-wasi's [`WasiP1Ctx`]: it implements
//! WASIp1 by serving its own fds (memory files, and the directories of
//! memory directories; see [`fds`](self) for how they are numbered beside
//! wasmtime-wasi's) and handing every other call to wasmtime-wasi unchanged.
//! [`add_to_linker_sync`] and [`add_to_linker_async`] replace
//! `wasmtime_wasi::p1::add_to_linker_sync` and `_async` and also add the
//! `wasi_memfd` module:
//!
//! ```text
//! from_bytes(data: i32, data_len: i32, name: i32, name_len: i32, flags: i32, fd_out: i32) -> i32
//! open_preopened(name: i32, name_len: i32, fd_out: i32) -> i32
//! ```
//!
//! Both return a WASIp1 errno (0 on success) and write the new fd as a
//! little-endian u32 at `fd_out`. `flags` bit 0 is WRITABLE.

mod abi;
mod delegate;
mod fds;
mod io;
mod paths;
mod snapshot;
mod sync;

use std::sync::Arc;

use wasmtime_wasi::p1::types::{self, Errno};
use wasmtime_wasi::p1::wasi_snapshot_preview1::WasiSnapshotPreview1;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};
use wiggle::{GuestMemory, GuestPtr};

use crate::ctx::{WasiMemfdCtx, WasiMemfdCtxBuilder};
use crate::error::ErrorCode;
use crate::faults::{self, Step};
use crate::file::MemoryFile;
use crate::memdir::Access;
use crate::memfile::Held;
use fds::{DirFd, Entry, FileFd};

pub use fds::FIRST_FD;
pub use io::IOV_MAX;
pub use snapshot::POLL_MAX;

/// `flags` bit 0 of `from_bytes`: the guest may write in place.
pub const FLAG_WRITABLE: u32 = 1;

/// WASIp1 state with memory files: wasmtime-wasi's [`WasiP1Ctx`], the
/// store's [`WasiMemfdCtx`], and wasi-memfd's fd table.
pub struct WasiMemfdP1Ctx {
    wasi: WasiP1Ctx,
    memfd: WasiMemfdCtx,
    fds: fds::FdTable,
    /// What is left of the store's hostcall fuel in the current call, for
    /// the arrays this layer reads itself (as wasmtime-wasi keeps its own).
    fuel: usize,
}

impl WasiMemfdP1Ctx {
    /// Wraps `wasi` (from `WasiCtxBuilder::build_p1`) with `memfd`.
    ///
    /// # Panics
    ///
    /// If `memfd` has memory directories: their preopens need fds among
    /// wasmtime-wasi's, which only
    /// [`WasiMemfdCtxBuilder::build_p1`] can set aside. Build with it.
    pub fn new(wasi: WasiP1Ctx, memfd: WasiMemfdCtx) -> Self {
        assert!(
            memfd.mem_dirs().is_empty(),
            "a WasiMemfdCtx with memory directories needs WasiMemfdCtxBuilder::build_p1, \
             which gives their preopens fds among wasmtime-wasi's"
        );
        Self::wrap(wasi, memfd)
    }

    fn wrap(wasi: WasiP1Ctx, memfd: WasiMemfdCtx) -> Self {
        WasiMemfdP1Ctx {
            wasi,
            memfd,
            fds: fds::FdTable::default(),
            fuel: 0,
        }
    }

    /// wasmtime-wasi's context, which serves every fd that is not
    /// wasi-memfd's.
    pub fn wasi(&mut self) -> &mut WasiP1Ctx {
        &mut self.wasi
    }

    /// wasi-memfd's context: limits, usage, preopened files, memory
    /// directories.
    pub fn memfd(&mut self) -> &mut WasiMemfdCtx {
        &mut self.memfd
    }

    /// The memory file behind the guest's `fd`, or `None` if `fd` is not an
    /// open memory-file fd (wasmtime-wasi's own fds and directories are
    /// not). Files of memory directories are.
    pub fn memory_file(&self, fd: u32) -> Option<MemoryFile> {
        let f = self.fds.file(fd)?;
        MemoryFile::new(Arc::clone(&f.file), f.access.write).ok()
    }

    /// Makes a memory file holding a copy of host `data` and opens a new fd
    /// on it for the guest (for a host function to hand over), charged to
    /// the guest's limits exactly as its own `from_bytes` would be.
    pub fn from_bytes(
        &mut self,
        data: &[u8],
        name: &str,
        writable: bool,
    ) -> Result<u32, ErrorCode> {
        let file = self.memfd.make_file(name, data, writable)?;
        self.open_memfd(file.hold())
    }

    /// Opens a new fd on the file attached under `name`.
    fn open_preopened(&mut self, name: &str) -> Result<u32, ErrorCode> {
        let file = self.memfd.open_preopened(name)?;
        self.open_memfd(file)
    }

    /// Puts a `from_bytes` or preopened file in the fd table, open for
    /// reading, and for writing unless it is read-only. A full table is
    /// `TooManyFiles` (the file is closed again).
    fn open_memfd(&mut self, file: Held) -> Result<u32, ErrorCode> {
        let access = Access::whole(&file);
        let fd = FileFd::new(file, access);
        faults::check(Step::Table).map_err(|_| ErrorCode::TooManyFiles)?;
        self.fds
            .insert(Entry::File(fd))
            .ok_or(ErrorCode::TooManyFiles)
    }

    /// Finds the placeholders `build_p1` preopened in wasmtime-wasi's table
    /// (by their names) and serves the memory directories at their fds.
    fn find_placeholders(&mut self, names: &[String]) -> std::io::Result<()> {
        let mut buf = vec![0u8; 512];
        let mut found = 0;
        // wasi-libc's own walk: from fd 3 up, to the first EBADF.
        for fd in 3u32.. {
            let mut mem = GuestMemory::Unshared(&mut buf);
            let len = match self.wasi.fd_prestat_get(&mut mem, types::Fd::from(fd)) {
                Ok(types::Prestat::Dir(dir)) => dir.pr_name_len,
                Err(_) => break,
            };
            if len as usize > 512 {
                continue;
            }
            self.wasi
                .fd_prestat_dir_name(&mut mem, types::Fd::from(fd), GuestPtr::new(0), len)
                .map_err(|e| std::io::Error::other(format!("reading preopen {fd}: {e}")))?;
            let name = &buf[..len as usize];
            if let Some(k) = names.iter().position(|n| n.as_bytes() == name) {
                let mount = &self.memfd.mem_dirs()[k];
                let entry = Entry::Dir(DirFd {
                    dir: mount.root.clone(),
                    preopen: Some(mount.guest_path.clone()),
                    resume: None,
                });
                self.fds.insert_backed(fd, entry);
                found += 1;
            }
        }
        if found != names.len() {
            return Err(std::io::Error::other(
                "the memory directories' placeholders are not among wasmtime-wasi's preopens",
            ));
        }
        Ok(())
    }
}

impl WasiMemfdCtxBuilder {
    /// Builds a WASIp1 context: `wasi`'s (`WasiCtxBuilder::build_p1`) and
    /// this builder's, with every memory directory preopened among
    /// wasmtime-wasi's preopens, after the directories `wasi` already has
    /// (wasi-libc finds preopens from fd 3 up).
    ///
    /// Each memory directory's fd belongs to a placeholder preopened in
    /// `wasi` (an empty directory made in the system's temporary directory
    /// and removed again at once: nothing can be reached or made through
    /// it), so wasmtime-wasi never gives the number to anything else; every
    /// call on it is wasi-memfd's. A context without memory directories is
    /// `WasiMemfdP1Ctx::new(wasi.build_p1(), self.build())`.
    ///
    /// # Errors
    ///
    /// If a placeholder directory cannot be made or opened.
    ///
    /// # Panics
    ///
    /// If either builder was built before.
    pub fn build_p1(&mut self, wasi: &mut WasiCtxBuilder) -> std::io::Result<WasiMemfdP1Ctx> {
        let mut names = Vec::new();
        for _ in 0..self.mem_dir_count() {
            let mut bytes = [0u8; 8];
            getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
            let tag: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let name = format!("/.wasi-memfd-placeholder-{tag}");
            let dir = std::env::temp_dir().join(&name[1..]);
            std::fs::create_dir(&dir).map_err(|e| {
                std::io::Error::new(e.kind(), format!("making {}: {e}", dir.display()))
            })?;
            let added = wasi
                .preopened_dir(&dir, &name, FsPerms::ReadOnly)
                .map(|_| ());
            // Open (or not): the directory itself is never needed again.
            let _ = std::fs::remove_dir(&dir);
            added.map_err(|e| std::io::Error::other(format!("{e:#}")))?;
            names.push(name);
        }
        let memfd = self.build();
        let mut ctx = WasiMemfdP1Ctx::wrap(wasi.build_p1(), memfd);
        ctx.find_placeholders(&names)?;
        Ok(ctx)
    }
}

impl From<WasiP1Ctx> for WasiMemfdP1Ctx {
    /// Wraps `wasi` with a default [`WasiMemfdCtx`].
    fn from(wasi: WasiP1Ctx) -> Self {
        WasiMemfdP1Ctx::new(wasi, WasiMemfdCtx::default())
    }
}

/// Adds WASIp1 (wasmtime-wasi's, with memory files and memory directories)
/// and the `wasi_memfd` module to a core-module linker: the drop-in
/// replacement for `wasmtime_wasi::p1::add_to_linker_sync`.
pub fn add_to_linker_sync<T: Send + 'static>(
    linker: &mut wasmtime::Linker<T>,
    f: impl Fn(&mut T) -> &mut WasiMemfdP1Ctx + Copy + Send + Sync + 'static,
) -> wasmtime::Result<()> {
    sync::add_wasi_snapshot_preview1_to_linker(linker, f)?;
    abi::add_to_linker(linker, f)
}

/// As [`add_to_linker_sync`], for linkers used with async support (the
/// replacement for `wasmtime_wasi::p1::add_to_linker_async`). Guests must
/// be called with `call_async`. `from_bytes` copies in chunks of 1 MiB and
/// yields to the executor between them, so a large file never holds an
/// executor thread for the whole copy.
pub fn add_to_linker_async<T: Send + 'static>(
    linker: &mut wasmtime::Linker<T>,
    f: impl Fn(&mut T) -> &mut WasiMemfdP1Ctx + Copy + Send + Sync + 'static,
) -> wasmtime::Result<()> {
    wasmtime_wasi::p1::wasi_snapshot_preview1::add_to_linker(linker, f)?;
    abi::add_to_linker_async(linker, f)
}

/// A filesystem error as the WASIp1 error wiggle returns.
pub(crate) fn fs_err(e: crate::error::FsError) -> types::Error {
    e.errno().into()
}

/// `Err(errno)`.
pub(crate) fn err<T>(errno: Errno) -> Result<T, types::Error> {
    Err(errno.into())
}
