//! Anonymous memory files: made, filled with one copy, and sealed.
//!
//! Two backends:
//! - [`Backend::Memfd`] (Linux): `memfd_create(MFD_CLOEXEC | MFD_ALLOW_SEALING
//!   | MFD_NOEXEC_SEAL)` (without `MFD_NOEXEC_SEAL` on kernels older than 6.3,
//!   which answer `EINVAL`). Read-only files are sealed
//!   `F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL`: nobody, host
//!   or guest, can change them. Writable files are sealed
//!   `F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL`: bytes can be overwritten in
//!   place, the size never changes.
//! - [`Backend::Shm`] (everywhere else; selectable on Linux so the tests cover
//!   it): POSIX shared memory under a random name, opened
//!   `O_CREAT | O_EXCL | O_RDWR` with mode 0600 (a new name on `EEXIST`) and
//!   unlinked at once. Read-only files are handed out through a second,
//!   `O_RDONLY` descriptor, so they cannot be written through it. Shared
//!   memory has no seals, so nothing in the kernel keeps a writable file's
//!   size: the core-module layer keeps it itself (it serves every call on its
//!   fds), and the component layer refuses `writable` on this backend with
//!   `unsupported` (wasmtime-wasi's descriptors would let a guest grow the
//!   file, uncharged). Linux and the BSDs fill shared memory with `pwrite`;
//!   macOS refuses `pwrite` there, so the object is sized with `ftruncate`
//!   and filled through a shared mapping (compiled only on macOS).
//! - Not Unix: neither. Every function that would make a file answers
//!   [`UNSUPPORTED`] (`unsupported` for the guest), so no memory file ever
//!   exists there, and the I/O on one is never reached.
//!
//! Every file is made in three steps, [`blank`], [`Blank::fill_at`] and
//! [`Blank::finish`], so a large copy can be done in chunks (the async
//! linkers yield between them) and every step can fail in the unit tests
//! ([`crate::faults`]).

use rustix::io::Errno;
use std::fs::File;

use crate::error::ErrorCode;
use crate::faults::{self, Step};

/// The longest name a memory file can have, in bytes: Linux's limit for a
/// `memfd_create` name (`NAME_MAX` less the `memfd:` prefix).
pub const MAX_NAME_LEN: usize = 249;

/// Prefix of every memfd name, so `/proc/<pid>/fd` shows where a file came
/// from (`memfd:wasi-memfd:<guest name>`).
const NAME_PREFIX: &str = "wasi-memfd:";

/// What a backend this platform lacks answers: `unsupported` for the guest
/// ([`ErrorCode::from_system`]). `EOPNOTSUPP`, the one such errno that
/// rustix has on every platform (Windows has no `ENOSYS`).
#[cfg_attr(unix, allow(dead_code))]
const UNSUPPORTED: Errno = Errno::OPNOTSUPP;

/// How memory files are made.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// Linux `memfd_create`, sealed. The default on Linux and Android.
    Memfd,
    /// POSIX shared memory under a random name, unlinked at once. The default
    /// elsewhere.
    Shm,
}

impl Backend {
    /// Whether the kernel itself keeps a writable file's size (seals). Where
    /// it does not, the component layer refuses writable files.
    pub(crate) fn seals_size(self) -> bool {
        matches!(self, Backend::Memfd)
    }
}

impl Default for Backend {
    fn default() -> Self {
        if cfg!(any(target_os = "linux", target_os = "android")) {
            Backend::Memfd
        } else {
            Backend::Shm
        }
    }
}

/// A memory file that exists but is not yet filled and sealed: what
/// [`blank`] makes. Fill it with [`Blank::fill_at`] (once, or in chunks at
/// increasing offsets), then [`Blank::finish`] seals it and hands it out.
/// Dropping it instead closes everything it holds.
#[derive(Debug)]
pub(crate) struct Blank {
    /// The read-write descriptor the bytes are written through.
    rw: File,
    /// For a read-only shared-memory file, the `O_RDONLY` descriptor that
    /// is handed out instead of `rw`.
    read_only: Option<File>,
    /// Seals to add when finished (memfd only).
    seals: Option<Seals>,
    /// Bytes the file holds once filled.
    len: u64,
    /// Bytes copied in so far (the next offset).
    filled: u64,
    /// The file's size before it is filled: 0 for a new file, the bytes
    /// allocated ahead for a large pooled one (trimmed to `len` when
    /// finished).
    size: u64,
}

/// Which seals [`Blank::finish`] adds.
#[derive(Copy, Clone, Debug)]
enum Seals {
    ReadOnly,
    Writable,
}

/// Makes an empty memory file that will hold `len` bytes.
///
/// On error nothing is left behind: every descriptor made so far is closed
/// and a shared-memory name is already unlinked.
pub(crate) fn blank(
    backend: Backend,
    name: &str,
    len: u64,
    writable: bool,
) -> Result<Blank, ErrorCode> {
    let blank = match backend {
        Backend::Memfd => blank_memfd(name, len, writable),
        Backend::Shm => blank_shm(len, writable),
    }
    .map_err(ErrorCode::from_system)?;
    Ok(blank)
}

/// Makes a memory file holding a copy of `data`: [`blank`], one
/// [`Blank::fill_at`], [`Blank::finish`].
///
/// The file is at offset 0 (it is only ever used with positioned I/O).
pub(crate) fn create(
    backend: Backend,
    name: &str,
    data: &[u8],
    writable: bool,
) -> Result<File, ErrorCode> {
    let mut blank = blank(backend, name, data.len() as u64, writable)?;
    blank.fill_at(data)?;
    blank.finish()
}

impl Blank {
    /// Copies `data` in after what was copied so far.
    pub(crate) fn fill_at(&mut self, data: &[u8]) -> Result<(), ErrorCode> {
        let end = self.filled + data.len() as u64;
        debug_assert!(end <= self.len, "filled past the announced length");
        faults::check(Step::Fill)
            .and_then(|()| fill(&self.rw, data, self.filled))
            .map_err(ErrorCode::from_system)?;
        self.filled = end;
        Ok(())
    }

    /// Seals the filled file and returns the descriptor the guest gets.
    pub(crate) fn finish(self) -> Result<File, ErrorCode> {
        debug_assert_eq!(self.filled, self.len, "finished before it was filled");
        if self.size > self.len {
            faults::check(Step::Seal)
                .and_then(|()| trim(&self.rw, self.len))
                .map_err(ErrorCode::from_system)?;
        }
        if let Some(seals) = self.seals {
            faults::check(Step::Seal)
                .and_then(|()| add_seals(&self.rw, seals))
                .map_err(ErrorCode::from_system)?;
        }
        Ok(self.read_only.unwrap_or(self.rw))
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn blank_memfd(name: &str, len: u64, writable: bool) -> Result<Blank, Errno> {
    faults::check(Step::Create)?;
    let rw = File::from(memfd_create_checked(&memfd_name(name))?);
    Ok(blank_from(rw, 0, len, writable))
}

/// A [`Blank`] over a memfd made (or prepared by the pool) already, `size`
/// bytes long.
fn blank_from(rw: File, size: u64, len: u64, writable: bool) -> Blank {
    Blank {
        rw,
        read_only: None,
        seals: Some(if writable {
            Seals::Writable
        } else {
            Seals::ReadOnly
        }),
        len,
        filled: 0,
        size,
    }
}

/// A [`Blank`] for `len` bytes over a file the pool prepared, `size` bytes
/// long (its bytes allocated ahead; 0 for a small one).
pub(crate) fn blank_pooled(file: File, size: u64, len: u64, writable: bool) -> Blank {
    blank_from(file, size, len, writable)
}

/// A memfd for the pool, named `wasi-memfd:pooled` (a memfd's name is fixed
/// when it is made), with `capacity` bytes allocated (0: none).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn prepared(capacity: u64) -> Result<File, Errno> {
    let file = File::from(memfd_create_checked(c"wasi-memfd:pooled")?);
    if capacity > 0 {
        rustix::fs::fallocate(&file, rustix::fs::FallocateFlags::empty(), 0, capacity)?;
    }
    Ok(file)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn prepared(_capacity: u64) -> Result<File, Errno> {
    Err(UNSUPPORTED)
}

/// Whether the kernel rejected `MFD_NOEXEC_SEAL` once; then it is never
/// asked again.
#[cfg(any(target_os = "linux", target_os = "android"))]
static NO_NOEXEC_SEAL: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `memfd_create` with sealing allowed, close-on-exec, and (where the
/// kernel knows it) `MFD_NOEXEC_SEAL`.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn memfd_create_checked(name: &std::ffi::CStr) -> Result<rustix::fd::OwnedFd, Errno> {
    use rustix::fs::{memfd_create, MemfdFlags};
    use std::sync::atomic::Ordering;
    let flags = MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING;
    if !NO_NOEXEC_SEAL.load(Ordering::Relaxed) {
        match memfd_create(name, flags | MemfdFlags::NOEXEC_SEAL) {
            Err(Errno::INVAL) => NO_NOEXEC_SEAL.store(true, Ordering::Relaxed),
            other => return other,
        }
    }
    memfd_create(name, flags)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn blank_memfd(_name: &str, _len: u64, _writable: bool) -> Result<Blank, Errno> {
    Err(UNSUPPORTED)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn add_seals(fd: &File, seals: Seals) -> Result<(), Errno> {
    use rustix::fs::{fcntl_add_seals, SealFlags};
    let mut flags = SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL;
    if let Seals::ReadOnly = seals {
        flags |= SealFlags::WRITE;
    }
    fcntl_add_seals(fd, flags)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn add_seals(_fd: &File, _seals: Seals) -> Result<(), Errno> {
    Err(UNSUPPORTED)
}

/// `wasi-memfd:<name>`, cut to [`MAX_NAME_LEN`] bytes at a character
/// boundary. The caller has checked that `name` holds no NUL.
#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
fn memfd_name(name: &str) -> std::ffi::CString {
    let mut full = String::with_capacity(NAME_PREFIX.len() + name.len());
    full.push_str(NAME_PREFIX);
    full.push_str(name);
    let mut end = full.len().min(MAX_NAME_LEN);
    while !full.is_char_boundary(end) {
        end -= 1;
    }
    full.truncate(end);
    std::ffi::CString::new(full).unwrap_or_default()
}

/// Not Unix: no shared memory, so no memory files at all (every call that
/// would make one answers `unsupported`).
#[cfg(not(unix))]
fn blank_shm(_len: u64, _writable: bool) -> Result<Blank, Errno> {
    Err(UNSUPPORTED)
}

#[cfg(unix)]
fn blank_shm(len: u64, writable: bool) -> Result<Blank, Errno> {
    use rustix::fs::Mode;
    use rustix::shm;

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
        let read_only = if writable {
            Ok(None)
        } else {
            faults::check(Step::ReopenReadOnly)
                .and_then(|()| shm::open(&name, shm::OFlags::RDONLY, Mode::empty()))
                .map(|fd| Some(File::from(fd)))
        };
        let unlinked = faults::check(Step::Unlink).and_then(|()| shm::unlink(&name));
        if unlinked.is_err() {
            // Best effort: the injected failure left the name behind.
            let _ = shm::unlink(&name);
        }
        let read_only = read_only?;
        unlinked?;
        size_shm(&rw, len)?;
        return Ok(Blank {
            rw,
            read_only,
            seals: None,
            len,
            filled: 0,
            // Nothing allocated ahead for `finish` to trim.
            size: 0,
        });
    }
    Err(Errno::EXIST)
}

/// Shared memory on macOS is sized once, with `ftruncate`, before it is
/// filled (and cannot be written with `pwrite`); elsewhere `pwrite` sizes it.
#[cfg(target_vendor = "apple")]
fn size_shm(fd: &File, len: u64) -> Result<(), Errno> {
    faults::check(Step::Size)?;
    rustix::fs::ftruncate(fd, len)
}

#[cfg(all(unix, not(target_vendor = "apple")))]
fn size_shm(_fd: &File, _len: u64) -> Result<(), Errno> {
    Ok(())
}

/// `/wasi-memfd-<32 random hex digits>`.
#[cfg(unix)]
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

/// Writes all of `data` at `offset` with `pwrite` (through short writes and
/// `EINTR`: `FileExt::write_all_at`), leaving the file offset where it was.
#[cfg(all(unix, not(target_vendor = "apple")))]
fn fill(file: &File, data: &[u8], offset: u64) -> Result<(), Errno> {
    use std::os::unix::fs::FileExt;
    file.write_all_at(data, offset)
        .map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::IO))
}

/// Cuts a pooled file's bytes allocated ahead down to `len`.
#[cfg(unix)]
fn trim(file: &File, len: u64) -> Result<(), Errno> {
    rustix::fs::ftruncate(file, len)
}

/// Not Unix: never reached (no memory file can be made).
#[cfg(not(unix))]
fn trim(_file: &File, _len: u64) -> Result<(), Errno> {
    Err(UNSUPPORTED)
}

/// Not Unix: never reached (no memory file can be made).
#[cfg(not(unix))]
fn fill(_file: &File, _data: &[u8], _offset: u64) -> Result<(), Errno> {
    Err(UNSUPPORTED)
}

/// macOS refuses `pwrite` on shared memory: the bytes are copied through a
/// shared mapping of the (already sized) object instead. Compile-checked
/// only where a macOS target is installed.
#[cfg(target_vendor = "apple")]
fn fill(fd: &File, data: &[u8], offset: u64) -> Result<(), Errno> {
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
/// Reads all bytes of `file` (from offset 0, through `pread`), for the
/// embedder reading back what a guest wrote.
#[cfg(unix)]
pub(crate) fn read_all(file: &File) -> std::io::Result<Vec<u8>> {
    let len = rustix::fs::fstat(file)?.st_size;
    let len = usize::try_from(len).map_err(|_| Errno::FBIG)?;
    let mut buf = vec![0u8; len];
    let mut filled = 0;
    while filled < len {
        match rustix::io::pread(file, &mut buf[filled..], filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    buf.truncate(filled);
    Ok(buf)
}

/// Not Unix: never reached (no memory file can be made).
#[cfg(not(unix))]
pub(crate) fn read_all(_file: &File) -> std::io::Result<Vec<u8>> {
    Err(std::io::ErrorKind::Unsupported.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::fs::{fcntl_add_seals, fcntl_get_seals, fstat, ftruncate, SealFlags};

    fn contents(file: &File) -> Vec<u8> {
        read_all(file).unwrap()
    }

    #[test]
    fn read_only_memfd_is_sealed_against_every_change() {
        let file = create(Backend::Memfd, "ro", b"hello", false).unwrap();
        let seals = fcntl_get_seals(&file).unwrap();
        for seal in [
            SealFlags::SHRINK,
            SealFlags::GROW,
            SealFlags::WRITE,
            SealFlags::SEAL,
        ] {
            assert!(seals.contains(seal), "{seal:?} missing from {seals:?}");
        }
        assert_eq!(contents(&file), b"hello");
        let at = rustix::fs::seek(&file, rustix::fs::SeekFrom::Current(0)).unwrap();
        assert_eq!(at, 0, "the file offset is left at 0");
        assert_eq!(rustix::io::pwrite(&file, b"J", 0), Err(Errno::PERM));
        assert_eq!(ftruncate(&file, 1), Err(Errno::PERM));
        assert_eq!(ftruncate(&file, 100), Err(Errno::PERM));
        assert_eq!(fcntl_add_seals(&file, SealFlags::empty()), Err(Errno::PERM));
        assert_eq!(fstat(&file).unwrap().st_size, 5);
    }

    #[test]
    fn writable_memfd_writes_in_place_and_keeps_its_size() {
        let file = create(Backend::Memfd, "rw", b"hello", true).unwrap();
        let seals = fcntl_get_seals(&file).unwrap();
        assert!(seals.contains(SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL));
        assert!(!seals.contains(SealFlags::WRITE));
        assert_eq!(rustix::io::pwrite(&file, b"J", 0), Ok(1));
        assert_eq!(contents(&file), b"Jello");
        // Growing by a write past the end is refused by the GROW seal.
        assert_eq!(rustix::io::pwrite(&file, b"!", 5), Err(Errno::PERM));
        assert_eq!(ftruncate(&file, 2), Err(Errno::PERM));
        assert_eq!(fstat(&file).unwrap().st_size, 5);
    }

    #[test]
    fn a_missing_backend_answers_unsupported() {
        // What every memory-file call answers where the platform has no
        // backend (non-Unix, and memfd off Linux): the stubs return this.
        assert_eq!(ErrorCode::from_system(UNSUPPORTED), ErrorCode::Unsupported);
    }

    #[test]
    fn empty_and_large_files() {
        let empty = create(Backend::Memfd, "", b"", false).unwrap();
        assert_eq!(fstat(&empty).unwrap().st_size, 0);
        let big: Vec<u8> = (0..3 * 1024 * 1024 + 7).map(|i| (i % 251) as u8).collect();
        let file = create(Backend::Memfd, "big", &big, false).unwrap();
        assert_eq!(contents(&file), big);
    }

    #[test]
    fn memfd_name_is_prefixed_and_cut_to_the_kernel_limit() {
        assert_eq!(memfd_name("x").to_str().unwrap(), "wasi-memfd:x");
        let long = "é".repeat(200);
        let cut = memfd_name(&long);
        assert!(cut.as_bytes().len() <= MAX_NAME_LEN);
        assert!(cut.to_str().is_ok(), "cut inside a character");
        let link = |file: &File| {
            use rustix::fd::AsRawFd;
            std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).unwrap()
        };
        let file = create(Backend::Memfd, "report.csv", b"a,b", false).unwrap();
        assert_eq!(
            link(&file).to_str().unwrap(),
            "/memfd:wasi-memfd:report.csv (deleted)"
        );
    }

    #[test]
    fn shm_files_hold_the_bytes_and_leave_no_name() {
        let ro = create(Backend::Shm, "ignored", b"shared", false).unwrap();
        let rw = create(Backend::Shm, "", b"shared", true).unwrap();
        assert_eq!(contents(&ro), b"shared");
        assert_eq!(contents(&rw), b"shared");
        // The read-only file was handed out through an O_RDONLY descriptor.
        assert_eq!(rustix::io::pwrite(&ro, b"S", 0), Err(Errno::BADF));
        assert_eq!(rustix::io::pwrite(&rw, b"S", 0), Ok(1));
        assert_eq!(contents(&rw), b"Shared");
        // Both names were unlinked as soon as the files opened.
        assert_eq!(fstat(&ro).unwrap().st_nlink, 0);
        assert_eq!(fstat(&rw).unwrap().st_nlink, 0);
    }
}
