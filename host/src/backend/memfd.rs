//! The memfd backend (Linux): `memfd_create(MFD_CLOEXEC | MFD_ALLOW_SEALING
//! | MFD_NOEXEC_SEAL)` (without `MFD_NOEXEC_SEAL` on kernels older than 6.3,
//! which answer `EINVAL`), sealed as the file's [`Seal`] says.

use rustix::fd::OwnedFd;
use rustix::fs::{fcntl_add_seals, memfd_create, MemfdFlags, SealFlags};
use rustix::io::Errno;
use std::ffi::CStr;
use std::fs::File;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{memfd_name, Blank, Seal};
use crate::faults::{self, Step};

/// Makes an empty memfd named `wasi-memfd:<name>`.
pub(super) fn blank(name: &str, len: u64, seal: Seal) -> Result<Blank, Errno> {
    faults::check(Step::Create)?;
    let rw = File::from(memfd_create_checked(&memfd_name(name))?);
    Ok(Blank::new(rw, None, Some(seal), len, 0))
}

/// Adds the seals `seal` asks for (a growable file gets none).
pub(super) fn seal(file: &File, seal: Seal) -> Result<(), Errno> {
    let flags = match seal {
        Seal::ReadOnly => SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL | SealFlags::WRITE,
        Seal::FixedSize => SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL,
        Seal::Growable => return Ok(()),
    };
    fcntl_add_seals(file, flags)
}

/// A memfd for the pool, named `wasi-memfd:pooled`, with `capacity` bytes
/// allocated (0: none).
pub(super) fn prepared(capacity: u64) -> Result<File, Errno> {
    let file = File::from(memfd_create_checked(c"wasi-memfd:pooled")?);
    if capacity > 0 {
        rustix::fs::fallocate(&file, rustix::fs::FallocateFlags::empty(), 0, capacity)?;
    }
    Ok(file)
}

/// Whether the kernel rejected `MFD_NOEXEC_SEAL` once; then it is never
/// asked again.
static NO_NOEXEC_SEAL: AtomicBool = AtomicBool::new(false);

/// `memfd_create` with sealing allowed, close-on-exec, and (where the
/// kernel knows it) `MFD_NOEXEC_SEAL`.
fn memfd_create_checked(name: &CStr) -> Result<OwnedFd, Errno> {
    let flags = MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING;
    if !NO_NOEXEC_SEAL.load(Ordering::Relaxed) {
        match memfd_create(name, flags | MemfdFlags::NOEXEC_SEAL) {
            Err(Errno::INVAL) => NO_NOEXEC_SEAL.store(true, Ordering::Relaxed),
            other => return other,
        }
    }
    memfd_create(name, flags)
}
