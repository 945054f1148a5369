//! The synchronous WASIp1 linker for [`WasiMemfdP1Ctx`](super::WasiMemfdP1Ctx).
//!
//! wasmtime-wasi generates its synchronous linker privately, so this module
//! generates the same one from the same witx (vendored in `host/witx/p1`,
//! copied from wasmtime-wasi 48), calling the public ABI glue in
//! `wasmtime_wasi::p1::wasi_snapshot_preview1`. The functions that are
//! `async` in the trait run to completion through wasmtime-wasi's
//! `in_tokio`, exactly as wasmtime-wasi's own synchronous linker does.

use std::future::Future;

wiggle::wasmtime_integration!({
    witx: ["witx/p1/wasi_snapshot_preview1.witx"],
    target: wasmtime_wasi::p1,
    block_on[in_tokio]: {
        wasi_snapshot_preview1::{
            fd_advise, fd_close, fd_datasync, fd_fdstat_get, fd_filestat_get, fd_filestat_set_size,
            fd_filestat_set_times, fd_read, fd_pread, fd_seek, fd_sync, fd_readdir, fd_write,
            fd_pwrite, poll_oneoff, path_create_directory, path_filestat_get,
            path_filestat_set_times, path_link, path_open, path_readlink, path_remove_directory,
            path_rename, path_symlink, path_unlink_file, fd_renumber
        }
    },
    errors: { errno => trappable Error },
});

/// Runs `future` to completion on wasmtime-wasi's runtime.
fn in_tokio<F: Future>(future: F) -> wasmtime::Result<F::Output> {
    Ok(wasmtime_wasi::runtime::in_tokio(future))
}
