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
//!   memory has no seals: on this backend the fixed size of writable files is
//!   enforced by the core-module layer, and by the kernel only on macOS
//!   (which sizes a shared-memory object once). A component guest can
//!   `set-size` a writable shm file on Linux and the BSDs, and the growth is
//!   not charged to its quota: a known gap, tested as such. It fills files
//!   with `write(2)`, which Linux and the BSDs accept on shared memory and
//!   macOS does not (an mmap copy there is future work).

use rustix::fd::OwnedFd;
use rustix::io::Errno;
use std::fs::File;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::ErrorCode;

/// The longest name a memory file can have, in bytes: Linux's limit for a
/// `memfd_create` name (`NAME_MAX` less the `memfd:` prefix).
pub const MAX_NAME_LEN: usize = 249;

/// Prefix of every memfd name, so `/proc/<pid>/fd` shows where a file came
/// from (`memfd:wasi-memfd:<guest name>`).
const NAME_PREFIX: &str = "wasi-memfd:";

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

impl Default for Backend {
    fn default() -> Self {
        if cfg!(any(target_os = "linux", target_os = "android")) {
            Backend::Memfd
        } else {
            Backend::Shm
        }
    }
}

/// Makes a memory file holding a copy of `data`.
///
/// The file is at offset 0 (it is only ever used with positioned I/O). On
/// error nothing is left behind: every descriptor made so far is closed and a
/// shared-memory name is already unlinked.
pub(crate) fn create(
    backend: Backend,
    name: &str,
    data: &[u8],
    writable: bool,
) -> Result<File, ErrorCode> {
    match backend {
        Backend::Memfd => create_memfd(name, data, writable),
        Backend::Shm => create_shm(data, writable),
    }
    .map(File::from)
    .map_err(ErrorCode::from_system)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn create_memfd(name: &str, data: &[u8], writable: bool) -> Result<OwnedFd, Errno> {
    use rustix::fs::{fcntl_add_seals, memfd_create, MemfdFlags, SealFlags};

    let fd = memfd_create_checked(&memfd_name(name))?;
    write_all(&fd, data)?;
    let mut seals = SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL;
    if !writable {
        seals |= SealFlags::WRITE;
    }
    fcntl_add_seals(&fd, seals)?;
    return Ok(fd);

    /// Whether the kernel rejected `MFD_NOEXEC_SEAL` once; then it is never
    /// asked again.
    static NO_NOEXEC_SEAL: AtomicBool = AtomicBool::new(false);

    fn memfd_flags() -> MemfdFlags {
        MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING
    }

    fn memfd_create_checked(name: &std::ffi::CStr) -> Result<OwnedFd, Errno> {
        if !NO_NOEXEC_SEAL.load(Ordering::Relaxed) {
            match memfd_create(name, memfd_flags() | MemfdFlags::NOEXEC_SEAL) {
                Err(Errno::INVAL) => NO_NOEXEC_SEAL.store(true, Ordering::Relaxed),
                other => return other,
            }
        }
        memfd_create(name, memfd_flags())
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn create_memfd(_name: &str, _data: &[u8], _writable: bool) -> Result<OwnedFd, Errno> {
    Err(Errno::NOSYS)
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

fn create_shm(data: &[u8], writable: bool) -> Result<OwnedFd, Errno> {
    use rustix::fs::Mode;
    use rustix::shm;

    // A random 128-bit name cannot collide by chance; EEXIST means someone
    // else made it on purpose, so pick another.
    const ATTEMPTS: usize = 8;
    for _ in 0..ATTEMPTS {
        let name = shm_name()?;
        let rw = match shm::open(
            &name,
            shm::OFlags::CREATE | shm::OFlags::EXCL | shm::OFlags::RDWR,
            Mode::RUSR | Mode::WUSR,
        ) {
            Err(Errno::EXIST) => continue,
            other => other?,
        };
        let ro = if writable {
            None
        } else {
            match shm::open(&name, shm::OFlags::RDONLY, Mode::empty()) {
                Ok(fd) => Some(fd),
                Err(e) => {
                    let _ = shm::unlink(&name);
                    return Err(e);
                }
            }
        };
        shm::unlink(&name)?;
        write_all(&rw, data)?;
        return Ok(ro.unwrap_or(rw));
    }
    Err(Errno::EXIST)
}

/// `/wasi-memfd-<32 random hex digits>`.
fn shm_name() -> Result<String, Errno> {
    use std::fmt::Write;
    let mut bytes = [0u8; 16];
    let mut filled = 0;
    while filled < bytes.len() {
        filled +=
            rustix::rand::getrandom(&mut bytes[filled..], rustix::rand::GetRandomFlags::empty())?;
    }
    let mut name = String::from("/wasi-memfd-");
    for b in bytes {
        let _ = write!(name, "{b:02x}");
    }
    Ok(name)
}

/// Writes all of `data` from offset 0 with `pwrite`, through short writes
/// and `EINTR`, leaving the file offset at 0.
fn write_all(fd: &OwnedFd, data: &[u8]) -> Result<(), Errno> {
    let mut done = 0;
    while done < data.len() {
        match rustix::io::pwrite(fd, &data[done..], done as u64) {
            Ok(0) => return Err(Errno::NOSPC),
            Ok(n) => done += n,
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads all bytes of `file` (from offset 0, through `pread`), for the
/// embedder reading back what a guest wrote.
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
