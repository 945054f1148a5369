//! `wasm32-wasip1`: the `wasi_memfd` core-module ABI. [`MemFile`] wraps the
//! [`std::fs::File`] on the descriptor the host returns.
//!
//! The functions return [`Error`] when the host refuses (the WASIp1 errno it
//! answered with, mapped to its case). Reads, writes and seeks are the
//! `File`'s: their errors are [`io::Error`]s holding the errno the host
//! answered with (`raw_os_error()`; wasi-libc's errno values are the WASI
//! ones), such as `EBADF` for a write to a read-only file and `EFBIG` for one
//! at or past the end of a writable one.
//!
//! This module and the target-independent ones use nothing newer than Rust
//! 1.63 and no dependency, so `rustc --target wasm32-wasi src/lib.rs` builds
//! the crate without cargo.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::wasi::io::{FromRawFd, RawFd};

use crate::{errno, flags, Error};

/// The host functions, as the `wasi_memfd` import module declares them.
/// Every pointer and length is an `i32` in wasm32's ABI.
mod sys {
    #[link(wasm_import_module = "wasi_memfd")]
    extern "C" {
        /// `from_bytes(data, data_len, name, name_len, flags, fd_out) -> errno`
        #[link_name = "from_bytes"]
        pub fn from_bytes(
            data: *const u8,
            data_len: usize,
            name: *const u8,
            name_len: usize,
            flags: u32,
            fd_out: *mut u32,
        ) -> i32;

        /// `open_preopened(name, name_len, fd_out) -> errno`
        #[link_name = "open_preopened"]
        pub fn open_preopened(name: *const u8, name_len: usize, fd_out: *mut u32) -> i32;
    }

    /// `fdstat` of `wasi_snapshot_preview1` (24 bytes, align 8). The host
    /// writes every field; only the rights are read.
    #[repr(C)]
    #[allow(dead_code)]
    pub struct FdStat {
        pub fs_filetype: u8,
        pub fs_flags: u16,
        pub fs_rights_base: u64,
        pub fs_rights_inheriting: u64,
    }

    /// The `fd_write` right.
    pub const RIGHTS_FD_WRITE: u64 = 1 << 6;

    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    extern "C" {
        /// `fd_fdstat_get(fd, stat_out) -> errno`, as std and wasi-libc
        /// import it.
        #[link_name = "fd_fdstat_get"]
        pub fn fd_fdstat_get(fd: i32, stat: *mut FdStat) -> i32;
    }
}

/// A memory file: the [`File`] on the descriptor the host made, with its
/// fixed size.
///
/// [`Read`], [`Write`] and [`Seek`] are the `File`'s: the descriptor keeps
/// the offset, and the host answers as for a regular file whose size never
/// changes (a write that crosses the end is short, one at or past the end
/// fails with `EFBIG`, one to a read-only file with `EBADF`; seeking past the
/// end is allowed, before 0 is not). [`MemFile::into_file`] and
/// [`MemFile::as_file`] give the `File` itself, for `metadata()`, `std::fs`
/// APIs and code that takes a `File`.
///
/// The same type, with the same functions and traits, is what the crate
/// returns on `wasm32-wasip2`. Dropping it closes the descriptor, which
/// gives its bytes and slot back to the host's limits.
#[derive(Debug)]
pub struct MemFile {
    file: File,
    len: u64,
    writable: bool,
}

impl MemFile {
    /// The size of the file in bytes. It is fixed when the file is made.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the file was opened for writing in place.
    pub fn is_writable(&self) -> bool {
        self.writable
    }

    /// The [`File`] on the descriptor (`wasm32-wasip1` only).
    pub fn as_file(&self) -> &File {
        &self.file
    }

    /// Gives up the wrapper and returns the [`File`] on the descriptor, at
    /// its current offset (`wasm32-wasip1` only).
    pub fn into_file(self) -> File {
        self.file
    }
}

impl From<MemFile> for File {
    fn from(file: MemFile) -> File {
        file.into_file()
    }
}

impl Read for MemFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file.read(buf)
    }
}

impl Write for MemFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Seek for MemFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.file.seek(pos)
    }
}

/// The case for the errno the host answered with. `EFAULT` (a range outside
/// memory, which safe slices never are) and any errno no case names become
/// [`Error::InvalidArgument`].
fn error(rc: i32) -> Error {
    Error::from_errno(rc).unwrap_or(Error::InvalidArgument)
}

/// Takes ownership of the descriptor the host wrote to `fd_out`.
fn take(rc: i32, fd: u32) -> Result<File, Error> {
    if rc != errno::SUCCESS {
        return Err(error(rc));
    }
    // SAFETY: on success the host wrote a descriptor that it just opened for
    // this guest and that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd as RawFd) })
}

/// Copies `data` into a new sealed, read-only memory file labelled `name`
/// and returns it open for reading at offset 0.
///
/// `name` may be empty, must not hold a NUL byte and is at most
/// [`MAX_NAME_LEN`](crate::MAX_NAME_LEN) bytes long; the host checks it.
///
/// ```no_run
/// use std::io::Read;
/// let mut file = wasi_memfd_guest::from_bytes(b"hello", "greeting")?;
/// let mut s = String::new();
/// file.read_to_string(&mut s)?;
/// assert_eq!(s, "hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn from_bytes(data: &[u8], name: &str) -> Result<MemFile, Error> {
    from_bytes_with_flags(data, name, 0)
}

/// Like [`from_bytes`], but the file is open for writing in place too. Its
/// size is fixed: writes at or past the end fail.
pub fn from_bytes_writable(data: &[u8], name: &str) -> Result<MemFile, Error> {
    from_bytes_with_flags(data, name, flags::WRITABLE)
}

/// [`from_bytes`] with option bits ([`flags`](crate::flags)); unknown bits
/// are [`Error::InvalidArgument`].
pub fn from_bytes_with_flags(data: &[u8], name: &str, flags: u32) -> Result<MemFile, Error> {
    let mut fd: u32 = 0;
    // SAFETY: both slices are valid for their lengths for the whole call and
    // `fd` is a writable u32; the host only reads the slices and writes `fd`.
    let rc = unsafe {
        sys::from_bytes(
            data.as_ptr(),
            data.len(),
            name.as_ptr(),
            name.len(),
            flags,
            &mut fd,
        )
    };
    let file = take(rc, fd)?;
    Ok(MemFile {
        file,
        len: data.len() as u64,
        writable: flags & flags::WRITABLE != 0,
    })
}

/// Opens the file the host attached under `name` before the guest started
/// (`wasi-memfd run --preopen NAME=PATH`). Each call gives a new descriptor
/// on the same bytes, at offset 0; [`Error::NotFound`] if there is none.
///
/// The file is writable if the host attached it writable. If the host cannot
/// tell its size or rights, this returns [`Error::Unsupported`].
pub fn open_preopened(name: &str) -> Result<MemFile, Error> {
    let mut fd: u32 = 0;
    // SAFETY: as in `from_bytes_with_flags`.
    let rc = unsafe { sys::open_preopened(name.as_ptr(), name.len(), &mut fd) };
    let file = take(rc, fd)?;
    let len = file.metadata().map_err(|_| Error::Unsupported)?.len();
    let mut stat = sys::FdStat {
        fs_filetype: 0,
        fs_flags: 0,
        fs_rights_base: 0,
        fs_rights_inheriting: 0,
    };
    // SAFETY: `stat` is a writable fdstat; the host writes only it.
    if unsafe { sys::fd_fdstat_get(fd as i32, &mut stat) } != errno::SUCCESS {
        return Err(Error::Unsupported);
    }
    Ok(MemFile {
        file,
        len,
        writable: stat.fs_rights_base & sys::RIGHTS_FD_WRITE != 0,
    })
}
