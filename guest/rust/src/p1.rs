//! `wasm32-wasip1`: the `wasi_memfd` core-module ABI, returning
//! [`std::fs::File`]s.
//!
//! Errors are [`io::Error`]s made with [`io::Error::from_raw_os_error`] from
//! the WASIp1 errno the host returned (wasi-libc's errno values are the WASI
//! ones), so `raw_os_error()` gives the errno and [`io::Error::kind`] is
//! std's kind for it (`InvalidInput` for `EINVAL`, `NotFound` for `ENOENT`,
//! ...). [`Error::from_io_error`](crate::Error::from_io_error) turns one back
//! into the WIT case.
//!
//! This module and the target-independent ones use nothing newer than Rust
//! 1.63 and no dependency, so `rustc --target wasm32-wasi src/lib.rs` builds
//! the crate without cargo.

use std::fs::File;
use std::io;
use std::os::wasi::io::{FromRawFd, RawFd};

use crate::errno;
use crate::flags;

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
}

/// Turns the host's answer into the file it made.
fn finish(rc: i32, fd: u32) -> io::Result<File> {
    if rc != errno::SUCCESS {
        return Err(io::Error::from_raw_os_error(rc));
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
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn from_bytes(data: &[u8], name: &str) -> io::Result<File> {
    from_bytes_with_flags(data, name, 0)
}

/// Like [`from_bytes`], but the file is open for writing in place too. Its
/// size is fixed: writes past the end fail.
pub fn from_bytes_writable(data: &[u8], name: &str) -> io::Result<File> {
    from_bytes_with_flags(data, name, flags::WRITABLE)
}

/// [`from_bytes`] with raw option bits ([`flags`](crate::flags)); the host
/// refuses unknown bits with `EINVAL`.
pub fn from_bytes_with_flags(data: &[u8], name: &str, flags: u32) -> io::Result<File> {
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
    finish(rc, fd)
}

/// Opens the file the host attached under `name` before the guest started
/// (`wasi-memfd run --preopen NAME=PATH`). Each call gives a new descriptor
/// on the same bytes. A missing name is `ENOENT` (`NotFound`).
pub fn open_preopened(name: &str) -> io::Result<File> {
    let mut fd: u32 = 0;
    // SAFETY: as in `from_bytes_with_flags`.
    let rc = unsafe { sys::open_preopened(name.as_ptr(), name.len(), &mut fd) };
    finish(rc, fd)
}
