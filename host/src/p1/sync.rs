//! The synchronous WASIp1 linker for [`WasiMemfdP1Ctx`](super::WasiMemfdP1Ctx).
//!
//! wasmtime-wasi generates its synchronous linker privately, so this module
//! generates the same one from the same witx (vendored in `host/witx/p1`,
//! copied from wasmtime-wasi 48), calling the public ABI glue in
//! `wasmtime_wasi::p1::wasi_snapshot_preview1`.
//!
//! The functions that are `async` in the trait run to completion here, on
//! the calling thread, as they do in wasmtime-wasi's own synchronous linker,
//! with one difference: a call this layer serves itself (a memory-file fd)
//! never enters the tokio runtime. [`block_on`] polls the call once,
//! outside the runtime; a memory-file call finishes in that poll (it never
//! waits). A call passed on to wasmtime-wasi goes through [`in_runtime`],
//! which stops that first poll before wasmtime-wasi is reached; the call
//! then runs inside `wasmtime_wasi::runtime::in_tokio`, exactly as
//! wasmtime-wasi's own linker runs it (the first poll did nothing but this
//! layer's own fd lookup).

use std::cell::Cell;
use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};

wiggle::wasmtime_integration!({
    witx: ["witx/p1/wasi_snapshot_preview1.witx"],
    target: wasmtime_wasi::p1,
    block_on[block_on]: {
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

thread_local! {
    /// Set while [`block_on`] polls a call outside the runtime.
    static OUTSIDE_RUNTIME: Cell<bool> = const { Cell::new(false) };
}

/// Sets [`OUTSIDE_RUNTIME`] for its lifetime (reset on unwind too).
struct OutsideRuntime;

impl OutsideRuntime {
    fn enter() -> Self {
        OUTSIDE_RUNTIME.set(true);
        OutsideRuntime
    }
}

impl Drop for OutsideRuntime {
    fn drop(&mut self) {
        OUTSIDE_RUNTIME.set(false);
    }
}

/// Runs `future` to completion: in one poll outside the runtime when this
/// layer serves the call, else on wasmtime-wasi's runtime.
fn block_on<F: Future>(future: F) -> wasmtime::Result<F::Output> {
    let mut future = pin!(future);
    let first = {
        let _outside = OutsideRuntime::enter();
        wasmtime_wasi::runtime::poll_noop(future.as_mut())
    };
    Ok(match first {
        Some(output) => output,
        None => wasmtime_wasi::runtime::in_tokio(future),
    })
}

/// Runs `call` (a call into wasmtime-wasi) inside the runtime: under
/// [`block_on`]'s first poll it first answers `Pending`, so `block_on`
/// hands the call to `in_tokio`; anywhere else (the async linker, or the
/// second poll) it runs `call` at once.
pub(super) async fn in_runtime<F: Future>(call: F) -> F::Output {
    EnterRuntime { yielded: false }.await;
    call.await
}

/// Pending once when polled outside the runtime, then ready.
struct EnterRuntime {
    yielded: bool,
}

impl Future for EnterRuntime {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if !self.yielded && OUTSIDE_RUNTIME.get() {
            // No wake-up is needed: block_on polls again at once, in_tokio.
            self.yielded = true;
            return Poll::Pending;
        }
        Poll::Ready(())
    }
}
