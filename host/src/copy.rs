//! The one copy, from guest memory into a memory file, in bounded chunks for
//! the async linkers.
//!
//! The sync linkers copy a whole `from-bytes` at once: the calling thread is
//! the guest's own. The async linkers run on an executor shared with other
//! tasks; a 1 GiB copy takes about half a second here, so they copy
//! [`CHUNK`] bytes at a time and yield to the executor between chunks (a
//! 1 MiB chunk is well under a millisecond). The guest cannot run, and its
//! memory cannot change, while the host call is suspended.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::ctx::NewFile;
use crate::error::ErrorCode;

/// Bytes copied between two yields on the async linkers.
pub(crate) const CHUNK: usize = 1 << 20;

/// Fills `file` with the `len` bytes that `bytes(source, range)` lends, a
/// chunk at a time, yielding to the executor between chunks. The bytes are
/// borrowed from `source` (the guest's store) anew for each chunk, so no
/// borrow of guest memory is held across a yield.
pub(crate) async fn fill_in_chunks<S>(
    file: &mut NewFile,
    len: usize,
    source: &mut S,
    bytes: impl for<'s> Fn(&'s S, std::ops::Range<usize>) -> &'s [u8],
) -> Result<(), ErrorCode> {
    let mut at = 0;
    loop {
        let end = len.min(at + CHUNK);
        file.fill_at(bytes(source, at..end))?;
        at = end;
        if at == len {
            return Ok(());
        }
        YieldNow(false).await;
    }
}

/// Returns `Pending` once (waking itself at once), so the executor runs its
/// other tasks before this one goes on. Works on any executor.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
