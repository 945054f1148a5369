//! The core-module ABI: `wasi_memfd` imports for WASIp1 guests, with
//! memory files as real fds in the guest's fd table.
//!
//! [`WasiMemfdP1Ctx`] wraps wasmtime-wasi's [`WasiP1Ctx`]: it implements
//! WASIp1 by handling memory-file fds itself (numbered from
//! [`FIRST_FD`], see [`fds`](self) for why they cannot collide) and handing
//! every other call to wasmtime-wasi unchanged. [`add_to_linker_sync`] and
//! [`add_to_linker_async`] replace `wasmtime_wasi::p1::add_to_linker_sync`
//! and `_async` and also add the `wasi_memfd` module:
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
mod snapshot;
mod sync;

use std::sync::Arc;

use wasmtime_wasi::p1::WasiP1Ctx;

use crate::ctx::{Admission, WasiMemfdCtx};
use crate::error::ErrorCode;
use crate::faults::{self, Step};
use crate::file::MemoryFile;
use crate::limits::Admitted;

pub use fds::FIRST_FD;
pub use io::IOV_MAX;
pub use snapshot::POLL_MAX;

/// `flags` bit 0 of `from_bytes`: the guest may write in place.
pub const FLAG_WRITABLE: u32 = 1;

/// WASIp1 state with memory files: wasmtime-wasi's [`WasiP1Ctx`], the
/// store's [`WasiMemfdCtx`], and the memory-file fd table.
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
    pub fn new(wasi: WasiP1Ctx, memfd: WasiMemfdCtx) -> Self {
        WasiMemfdP1Ctx {
            wasi,
            memfd,
            fds: fds::FdTable::default(),
            fuel: 0,
        }
    }

    /// wasmtime-wasi's context, which serves every non-memory-file fd.
    pub fn wasi(&mut self) -> &mut WasiP1Ctx {
        &mut self.wasi
    }

    /// wasi-memfd's context: limits, usage, preopened files.
    pub fn memfd(&mut self) -> &mut WasiMemfdCtx {
        &mut self.memfd
    }

    /// The memory file behind the guest's `fd`, or `None` if `fd` is not an
    /// open memory-file fd (wasmtime-wasi's own fds are not).
    pub fn memory_file(&self, fd: u32) -> Option<MemoryFile> {
        let entry = self.fds.get(fd)?;
        Some(MemoryFile::new(entry.file.clone(), entry.writable))
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
        let admission = self.memfd.admit_from_bytes(data.len(), name, writable)?;
        let file = admission.fill(name, data)?;
        self.open_admitted(file, admission)
    }

    /// Opens an fd on a made `from_bytes` file.
    fn open_admitted(
        &mut self,
        file: std::fs::File,
        admission: Admission,
    ) -> Result<u32, ErrorCode> {
        let (writable, size) = (admission.writable, admission.len);
        self.open(file, writable, size, admission.into_admitted())
    }

    /// Opens a new fd on the file the host attached under `name`.
    fn open_preopened(&mut self, name: &str) -> Result<u32, ErrorCode> {
        let opened = self.memfd.open_preopened(name)?;
        self.open(opened.file, opened.writable, opened.len, opened.admitted)
    }

    /// Puts `file` in the fd table and the ledger. A full table is
    /// `TooManyFiles` (the file is closed again).
    fn open(
        &mut self,
        file: std::fs::File,
        writable: bool,
        size: u64,
        admitted: Admitted,
    ) -> Result<u32, ErrorCode> {
        let file = Arc::new(file);
        faults::check(Step::Table).map_err(|_| ErrorCode::TooManyFiles)?;
        let fd = self
            .fds
            .insert(fds::MemFd::new(file.clone(), writable, size))
            .ok_or(ErrorCode::TooManyFiles)?;
        self.memfd.record(&file, admitted);
        Ok(fd)
    }
}

impl From<WasiP1Ctx> for WasiMemfdP1Ctx {
    /// Wraps `wasi` with a default [`WasiMemfdCtx`].
    fn from(wasi: WasiP1Ctx) -> Self {
        WasiMemfdP1Ctx::new(wasi, WasiMemfdCtx::default())
    }
}

/// Adds WASIp1 (wasmtime-wasi's, with memory-file fds) and the `wasi_memfd`
/// module to a core-module linker: the drop-in replacement for
/// `wasmtime_wasi::p1::add_to_linker_sync`.
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
