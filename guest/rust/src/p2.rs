//! `wasm32-wasip2`: the `wasi-memfd:memfd/memfd@0.1.0` component interface
//! and [`MemFile`], a cursor over the descriptor it returns.

use std::io::{self, Read, Seek, SeekFrom, Write};

use crate::fixed::{FixedFile, Positional};
use crate::Error;

/// Bindings generated from the project's `wit/` directory. Items keep the
/// WIT documentation; generated helpers have none.
#[allow(missing_docs)]
mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "wasi-memfd:memfd/imports",
        generate_all,
    });
}

use bindings::wasi::filesystem::types::{DescriptorFlags, ErrorCode as FsErrorCode};
use bindings::wasi_memfd::memfd::memfd as sys;

/// A `wasi:filesystem@0.2.0` descriptor, as `from-bytes` and
/// `open-preopened` return it.
pub use bindings::wasi::filesystem::types::Descriptor;

impl From<sys::ErrorCode> for Error {
    fn from(code: sys::ErrorCode) -> Error {
        match code {
            sys::ErrorCode::InvalidArgument => Error::InvalidArgument,
            sys::ErrorCode::NameTooLong => Error::NameTooLong,
            sys::ErrorCode::FileTooLarge => Error::FileTooLarge,
            sys::ErrorCode::QuotaExceeded => Error::QuotaExceeded,
            sys::ErrorCode::TooManyFiles => Error::TooManyFiles,
            sys::ErrorCode::NotFound => Error::NotFound,
            sys::ErrorCode::OutOfMemory => Error::OutOfMemory,
            sys::ErrorCode::Unsupported => Error::Unsupported,
        }
    }
}

/// A `wasi:filesystem` error as an [`io::Error`] of a matching kind.
fn fs_error(code: FsErrorCode) -> io::Error {
    let kind = match code {
        FsErrorCode::Access | FsErrorCode::NotPermitted | FsErrorCode::ReadOnly => {
            io::ErrorKind::PermissionDenied
        }
        FsErrorCode::Invalid | FsErrorCode::Overflow => io::ErrorKind::InvalidInput,
        FsErrorCode::NoEntry => io::ErrorKind::NotFound,
        FsErrorCode::InsufficientMemory => io::ErrorKind::OutOfMemory,
        FsErrorCode::FileTooLarge => io::ErrorKind::FileTooLarge,
        FsErrorCode::Unsupported => io::ErrorKind::Unsupported,
        FsErrorCode::Interrupted => io::ErrorKind::Interrupted,
        FsErrorCode::WouldBlock => io::ErrorKind::WouldBlock,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, code)
}

impl Positional for Descriptor {
    fn read_at(&self, len: u64, offset: u64) -> io::Result<Vec<u8>> {
        let (data, _eof) = self.read(len, offset).map_err(fs_error)?;
        Ok(data)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<u64> {
        self.write(buf, offset).map_err(fs_error)
    }
}

/// A memory file: a `wasi:filesystem` descriptor plus a cursor.
///
/// [`Read`], [`Write`] and [`Seek`] move the cursor, which lives here (the
/// descriptor has none): reads call `descriptor.read(len, offset)` and writes
/// `descriptor.write(buf, offset)`. It behaves as the `wasm32-wasip1`
/// `MemFile` (the host's memory-file fds) does: the size never changes, so a
/// write that crosses the end is short and one at or past the end fails with
/// `EFBIG` (`raw_os_error() == Some(22)`, [`io::ErrorKind::FileTooLarge`]);
/// writes to a file not opened writable fail with `EBADF`
/// (`Some(8)`). Both are refused without calling the host. Seeking past the
/// end is allowed (reads there return 0 bytes); seeking before 0 is
/// [`io::ErrorKind::InvalidInput`].
///
/// The same type, with the same functions and traits, is what the crate
/// returns on `wasm32-wasip1`; there it wraps a [`std::fs::File`]
/// (`into_file`). Here there is no `File`: std's `wasm32-wasip2` files are
/// wasi-libc's own table over descriptors, which offers no way to adopt one,
/// so [`MemFile::descriptor`] and [`MemFile::into_descriptor`] give the
/// `wasi:filesystem` [`Descriptor`] for other calls (`stat`,
/// `read-via-stream`, ...). Dropping the `MemFile` (or the descriptor) closes
/// it, which gives its bytes and slot back to the host's limits.
#[derive(Debug)]
pub struct MemFile(FixedFile<Descriptor>);

impl MemFile {
    /// The size of the file in bytes. It is fixed when the file is made.
    pub fn len(&self) -> u64 {
        self.0.len()
    }

    /// Whether the file holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.len() == 0
    }

    /// Whether the file was opened for writing in place.
    pub fn is_writable(&self) -> bool {
        self.0.is_writable()
    }

    /// The descriptor, to pass to other `wasi:filesystem` calls
    /// (`wasm32-wasip2` only).
    pub fn descriptor(&self) -> &Descriptor {
        self.0.inner()
    }

    /// Gives up the cursor and returns the descriptor (`wasm32-wasip2`
    /// only).
    pub fn into_descriptor(self) -> Descriptor {
        self.0.into_inner()
    }
}

impl From<MemFile> for Descriptor {
    fn from(file: MemFile) -> Descriptor {
        file.into_descriptor()
    }
}

impl Read for MemFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for MemFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl Seek for MemFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.0.seek(pos)
    }
}

/// Makes a memory file from bytes the guest passed to the host.
fn make(data: &[u8], name: &str, options: sys::OpenFlags) -> Result<MemFile, Error> {
    let fd = sys::from_bytes(data, name, options)?;
    let writable = options.contains(sys::OpenFlags::WRITABLE);
    Ok(MemFile(FixedFile::new(fd, data.len() as u64, writable)))
}

/// Copies `data` into a new sealed, read-only memory file labelled `name`
/// and returns it with the cursor at offset 0.
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
    make(data, name, sys::OpenFlags::empty())
}

/// Like [`from_bytes`], but the file is open for writing in place too. Its
/// size is fixed: writes at or past the end fail.
pub fn from_bytes_writable(data: &[u8], name: &str) -> Result<MemFile, Error> {
    make(data, name, sys::OpenFlags::WRITABLE)
}

/// [`from_bytes`] with option bits ([`flags`](crate::flags)); unknown bits
/// are [`Error::InvalidArgument`], as the host answers on `wasm32-wasip1`
/// (the WIT `open-flags` cannot carry them).
pub fn from_bytes_with_flags(data: &[u8], name: &str, flags: u32) -> Result<MemFile, Error> {
    crate::validate_flags(flags)?;
    let options = if flags & crate::flags::WRITABLE != 0 {
        sys::OpenFlags::WRITABLE
    } else {
        sys::OpenFlags::empty()
    };
    make(data, name, options)
}

/// Opens the file the host attached under `name` before the guest started
/// (`wasi-memfd run --preopen NAME=PATH`). Each call gives a new descriptor
/// on the same bytes, with the cursor at 0; [`Error::NotFound`] if there is
/// none.
///
/// The file is writable if the host attached it writable. If the host cannot
/// tell its size (`stat` fails), this returns [`Error::Unsupported`].
pub fn open_preopened(name: &str) -> Result<MemFile, Error> {
    let fd = sys::open_preopened(name)?;
    let len = fd.stat().map_err(|_| Error::Unsupported)?.size;
    let writable = fd
        .get_flags()
        .map(|f| f.contains(DescriptorFlags::WRITE))
        .unwrap_or(false);
    Ok(MemFile(FixedFile::new(fd, len, writable)))
}
