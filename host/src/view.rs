//! How wasi-memfd reaches its context in a store's data.

use wasmtime::component::ResourceTable;

use crate::ctx::WasiMemfdCtx;

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
