//! The shared-memory backend (every Unix; selectable on Linux so the tests
//! cover it): POSIX shared memory under a random name, opened
//! `O_CREAT | O_EXCL | O_RDWR` with mode 0600 (a new name on `EEXIST`) and
//! unlinked at once. Read-only files are handed out through a second,
//! `O_RDONLY` descriptor, so they cannot be written through it. Shared
//! memory has no seals, so nothing in the kernel keeps a fixed-size file's
//! size: wasi-memfd keeps it itself (every call on its files is its own).
//! Linux and the BSDs fill shared memory with `pwrite`; macOS refuses
//! `pwrite` there, so the object is sized with `ftruncate` and filled
//! through a shared mapping ([`fill_mapped`], compiled only on macOS).

use rustix::fs::Mode;
use rustix::io::Errno;
use rustix::shm;
use std::fs::File;

use super::{Blank, Seal};
use crate::faults::{self, Step};

/// Makes an empty shared-memory object (the name is random; `_name` is only
/// for memfd's `/proc` listing).
pub(super) fn blank(_name: &str, len: u64, seal: Seal) -> Result<Blank, Errno> {
    // A random 128-bit name cannot collide by chance; EEXIST means someone
    // else made it on purpose, so pick another.
    const ATTEMPTS: usize = 8;
    for _ in 0..ATTEMPTS {
        let name = shm_name()?;
        faults::check(Step::Create)?;
        let rw = match shm::open(
            &name,
            shm::OFlags::CREATE | shm::OFlags::EXCL | shm::OFlags::RDWR,
            Mode::RUSR | Mode::WUSR,
        ) {
            Err(Errno::EXIST) => continue,
            other => File::from(other?),
        };
        // From here on the name exists: unlink it whatever happens next.
        let read_only = if seal == Seal::ReadOnly {
            faults::check(Step::ReopenReadOnly)
                .and_then(|()| shm::open(&name, shm::OFlags::RDONLY, Mode::empty()))
                .map(|fd| Some(File::from(fd)))
        } else {
            Ok(None)
        };
        let unlinked = faults::check(Step::Unlink).and_then(|()| shm::unlink(&name));
        if unlinked.is_err() {
            // Best effort: the injected failure left the name behind.
            let _ = shm::unlink(&name);
        }
        let read_only = read_only?;
        unlinked?;
        size(&rw, len)?;
        // No seals, and nothing allocated ahead for `finish` to trim.
        return Ok(Blank::new(rw, read_only, None, len, 0));
    }
    Err(Errno::EXIST)
}

/// Shared memory on macOS is sized once, with `ftruncate`, before it is
/// filled (and cannot be written with `pwrite`); elsewhere `pwrite` sizes it.
#[cfg(target_vendor = "apple")]
fn size(fd: &File, len: u64) -> Result<(), Errno> {
    faults::check(Step::Size)?;
    rustix::fs::ftruncate(fd, len)
}

#[cfg(not(target_vendor = "apple"))]
fn size(_fd: &File, _len: u64) -> Result<(), Errno> {
    Ok(())
}

/// `/wasi-memfd-<32 random hex digits>`.
fn shm_name() -> Result<String, Errno> {
    use std::fmt::Write;
    let mut bytes = [0u8; 16];
    // `getrandom` the crate: rustix has no randomness on macOS.
    getrandom::fill(&mut bytes)
        .map_err(|e| e.raw_os_error().map_or(Errno::IO, Errno::from_raw_os_error))?;
    let mut name = String::from("/wasi-memfd-");
    for b in bytes {
        let _ = write!(name, "{b:02x}");
    }
    Ok(name)
}

/// macOS refuses `pwrite` on shared memory: the bytes are copied through a
/// shared mapping of the (already sized) object instead. Compile-checked
/// only (`scripts/cross-check.sh`).
#[cfg(target_vendor = "apple")]
pub(super) fn fill_mapped(fd: &File, data: &[u8], offset: u64) -> Result<(), Errno> {
    use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};
    if data.is_empty() {
        return Ok(());
    }
    let page = rustix::param::page_size() as u64;
    let start = offset - offset % page;
    let skip = (offset - start) as usize;
    let map_len = skip + data.len();
    // SAFETY: a fresh shared mapping of `map_len` bytes of `fd` from the
    // page-aligned `start`; the object was sized to hold `offset +
    // data.len()` bytes. Nothing else refers to the mapping, which is
    // unmapped before returning.
    unsafe {
        let ptr = mmap(
            std::ptr::null_mut(),
            map_len,
            ProtFlags::WRITE,
            MapFlags::SHARED,
            fd,
            start,
        )?;
        std::ptr::copy_nonoverlapping(data.as_ptr(), ptr.cast::<u8>().add(skip), data.len());
        munmap(ptr, map_len)
    }
}
