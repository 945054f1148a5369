//! [`MemoryFile`]: a guest's memory file as the host sees it, to hand to
//! native code.

use std::fs::File;
#[cfg(unix)]
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;

use crate::error::ErrorCode;
use crate::memfile::MemFile;

/// A memory file wasi-memfd made for a guest (with `from-bytes`, a host's
/// [`WasiMemfdCtxView::from_bytes`](crate::WasiMemfdCtxView::from_bytes)
/// or [`p1::WasiMemfdP1Ctx::from_bytes`](crate::p1::WasiMemfdP1Ctx::from_bytes),
/// opened on a preopened file, or a file of a memory directory), looked up
/// from the guest's descriptor
/// ([`WasiMemfdCtxView::memory_file`](crate::WasiMemfdCtxView::memory_file))
/// or fd ([`WasiMemfdP1Ctx::memory_file`](crate::p1::WasiMemfdP1Ctx::memory_file)),
/// or walked in a memory directory
/// ([`MemDirFile::memory_file`](crate::MemDirFile::memory_file)).
///
/// It shares the guest's open file (an `Arc<std::fs::File>`): native code
/// can `pread`, `mmap` or `fstat` it through [`AsFd`] or [`MemoryFile::file`]
/// without copying the bytes again, and may keep it after the guest drops
/// its handle. The file then stays open, and stays charged to the guest's
/// limits and to a shared [`Budget`](crate::Budget) until the last
/// `MemoryFile` is dropped too: the limits bound the memory held on the
/// guest's behalf, wherever its last handle is.
///
/// **What seals guarantee** (memfd backend, [`is_sealed_read_only`](Self::is_sealed_read_only)
/// true): the bytes and the size never change
/// again, by anyone, so a read-only `mmap` sees fixed bytes and never faults
/// past the end. A writable file keeps its size (a mapping never faults) but
/// its bytes change whenever the guest or the host writes. On the shm
/// backend nothing is sealed: a read-only file is only read-only through
/// the guest's handle.
#[derive(Clone, Debug)]
pub struct MemoryFile {
    /// The guest's file, which holds its charge.
    inner: Arc<MemFile>,
    /// Its open memory file.
    file: Arc<File>,
    writable: bool,
}

impl MemoryFile {
    /// The host's handle on `inner`, its memory file made now if it was
    /// still preloaded bytes. The host may write it, or map it: it stays
    /// this memory file.
    pub(crate) fn new(inner: Arc<MemFile>, writable: bool) -> Result<Self, ErrorCode> {
        let file = inner.keep()?;
        Ok(MemoryFile {
            inner,
            file,
            writable,
        })
    }

    /// The open file, shared with the guest's handle.
    pub fn file(&self) -> &Arc<File> {
        &self.file
    }

    /// Its size in bytes (fixed when it was made, but for a file of a
    /// memory directory, which grows and shrinks as the guest writes).
    pub fn size(&self) -> std::io::Result<u64> {
        Ok(self.inner.size())
    }

    /// Whether the guest's handle may write into it.
    pub fn is_writable(&self) -> bool {
        self.writable
    }

    /// Whether the kernel has sealed it against every change of bytes and
    /// size (`F_SEAL_WRITE`, `F_SEAL_SHRINK`, `F_SEAL_GROW`): a read-only
    /// file on the memfd backend.
    pub fn is_sealed_read_only(&self) -> bool {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            use rustix::fs::SealFlags;
            let all = SealFlags::WRITE | SealFlags::SHRINK | SealFlags::GROW;
            rustix::fs::fcntl_get_seals(&*self.file).is_ok_and(|s| s.contains(all))
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            false
        }
    }

    /// All its bytes (read with `pread`, from offset 0), for example what a
    /// guest wrote into a writable file.
    pub fn read_all(&self) -> std::io::Result<Vec<u8>> {
        crate::backend::read_all(&self.file)
    }
}

#[cfg(unix)]
impl AsFd for MemoryFile {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}
