//! How wasi-memfd reaches its context in a store's data.

use wasmtime::component::{Resource, ResourceTable};
use wasmtime_wasi::filesystem::Descriptor;

use crate::ctx::WasiMemfdCtx;
use crate::error::ErrorCode;
use crate::file::MemoryFile;

/// Gives wasi-memfd its context and the store's [`ResourceTable`].
///
/// Implemented by the embedder's store data, beside
/// [`wasmtime_wasi::WasiView`]. For components the table must be the one
/// wasmtime-wasi uses, so the descriptors wasi-memfd pushes are the guest's
/// ordinary `wasi:filesystem` descriptors.
pub trait WasiMemfdView: Send {
    /// The context and the table, borrowed together.
    fn memfd(&mut self) -> WasiMemfdCtxView<'_>;
}

/// What [`WasiMemfdView::memfd`] returns.
pub struct WasiMemfdCtxView<'a> {
    /// wasi-memfd's per-store state.
    pub ctx: &'a mut WasiMemfdCtx,
    /// The table that holds the guest's resources (shared with wasmtime-wasi).
    pub table: &'a mut ResourceTable,
}

impl WasiMemfdCtxView<'_> {
    /// The memory file behind a descriptor the guest handed to a host
    /// function, or `None` if it is not one of wasi-memfd's files (a file or
    /// directory of wasmtime-wasi's, a directory of a memory directory, a
    /// descriptor no longer in the table). A file of a memory directory is
    /// one of wasi-memfd's.
    pub fn memory_file(&self, descriptor: &Resource<Descriptor>) -> Option<MemoryFile> {
        crate::p2::memory_file(self.table, descriptor)
    }

    /// Makes a memory file holding a copy of host `data` and gives the guest
    /// a descriptor on it (for a host function to return), charged to the
    /// guest's limits exactly as its own `from-bytes` would be, with the
    /// same errors.
    pub fn from_bytes(
        &mut self,
        data: &[u8],
        name: &str,
        writable: bool,
    ) -> Result<Resource<Descriptor>, ErrorCode> {
        let file = self.ctx.make_file(name, data, writable)?;
        crate::p2::push_file(self.table, file.hold())
    }
}
