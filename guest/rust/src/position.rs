//! Cursor arithmetic for a file of fixed size, as `MemFile` uses it on
//! `wasm32-wasip2` (on `wasm32-wasip1` the host keeps the offset). Private to
//! the crate; pure functions, so they are tested on any target.
//!
//! The position may lie past the end, as with [`std::fs::File`]: reads there
//! return 0 bytes and writes fail, because a memory file never grows. This is
//! how the host serves memory-file fds to `wasm32-wasip1` guests, so both
//! halves of the crate behave alike.

use std::io::{self, SeekFrom};

/// The error for a seek before byte 0.
fn negative() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "invalid seek to a negative position",
    )
}

/// The error for a position past `u64::MAX`.
fn overflow() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "file position overflows a u64")
}

/// The error for a write that starts at or past the end of a file whose
/// size is fixed: the one the host gives a `wasm32-wasip1` guest, `EFBIG`
/// ("File too large", [`io::ErrorKind::FileTooLarge`]).
///
/// On WASI targets it is `io::Error::from_raw_os_error(EFBIG)`, so
/// `raw_os_error()` is `Some(22)`; elsewhere (host tests) it has the same
/// kind and no errno.
pub(crate) fn write_past_end_error() -> io::Error {
    crate::error::wasi_errno_error(
        crate::errno::EFBIG,
        crate::error::file_too_large_kind(),
        "file too large: write past the end of a fixed-size memory file",
    )
}

/// `base + offset`, or `InvalidInput` if that is below 0 or above
/// `u64::MAX`.
fn offset_from(base: u64, offset: i64) -> io::Result<u64> {
    if offset >= 0 {
        base.checked_add(offset as u64).ok_or_else(overflow)
    } else {
        base.checked_sub(offset.unsigned_abs()).ok_or_else(negative)
    }
}

/// The new position after seeking to `pos` from `current` in a file of `len`
/// bytes.
///
/// A position past the end is allowed; a negative result or one past
/// `u64::MAX` is an [`io::ErrorKind::InvalidInput`] error (and the caller
/// keeps its position).
pub(crate) fn seek(current: u64, len: u64, pos: SeekFrom) -> io::Result<u64> {
    match pos {
        SeekFrom::Start(n) => Ok(n),
        SeekFrom::End(off) => offset_from(len, off),
        SeekFrom::Current(off) => offset_from(current, off),
    }
}

/// How many bytes to ask for when reading into a buffer of `want` bytes at
/// `pos` in a file of `len` bytes: 0 at or past the end.
pub(crate) fn read_len(pos: u64, len: u64, want: usize) -> usize {
    let left = len.saturating_sub(pos);
    if (want as u64) < left {
        want
    } else {
        // left <= want, so it fits in a usize.
        left as usize
    }
}

/// How many of `want` bytes a write at `pos` in a file of `len` bytes may
/// write: all that fit before the end (a short write when the buffer
/// crosses the end), 0 for an empty buffer, and
/// [`write_past_end_error`] when a non-empty buffer starts at or past the
/// end.
pub(crate) fn write_len(pos: u64, len: u64, want: usize) -> io::Result<usize> {
    if want == 0 {
        return Ok(0);
    }
    if pos >= len {
        return Err(write_past_end_error());
    }
    Ok(read_len(pos, len, want))
}

/// The position after moving `n` bytes forward from `pos`.
pub(crate) fn advance(pos: u64, n: usize) -> io::Result<u64> {
    pos.checked_add(n as u64).ok_or_else(overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(r: io::Result<impl std::fmt::Debug>) -> io::ErrorKind {
        r.unwrap_err().kind()
    }

    #[test]
    fn seek_from_start_is_absolute_even_past_end() {
        assert_eq!(seek(7, 10, SeekFrom::Start(0)).unwrap(), 0);
        assert_eq!(seek(7, 10, SeekFrom::Start(10)).unwrap(), 10);
        assert_eq!(seek(7, 10, SeekFrom::Start(25)).unwrap(), 25);
        assert_eq!(seek(0, 0, SeekFrom::Start(u64::MAX)).unwrap(), u64::MAX);
    }

    #[test]
    fn seek_from_end() {
        assert_eq!(seek(0, 10, SeekFrom::End(0)).unwrap(), 10);
        assert_eq!(seek(0, 10, SeekFrom::End(-3)).unwrap(), 7);
        assert_eq!(seek(0, 10, SeekFrom::End(-10)).unwrap(), 0);
        assert_eq!(seek(0, 10, SeekFrom::End(5)).unwrap(), 15);
        assert_eq!(seek(0, 0, SeekFrom::End(0)).unwrap(), 0);
    }

    #[test]
    fn seek_from_current() {
        assert_eq!(seek(4, 10, SeekFrom::Current(0)).unwrap(), 4);
        assert_eq!(seek(4, 10, SeekFrom::Current(3)).unwrap(), 7);
        assert_eq!(seek(4, 10, SeekFrom::Current(-4)).unwrap(), 0);
        assert_eq!(seek(4, 10, SeekFrom::Current(20)).unwrap(), 24);
        assert_eq!(seek(40, 10, SeekFrom::Current(-35)).unwrap(), 5);
    }

    #[test]
    fn seek_before_zero_is_invalid_input() {
        assert_eq!(
            kind(seek(0, 10, SeekFrom::End(-11))),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            kind(seek(4, 10, SeekFrom::Current(-5))),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            kind(seek(0, 0, SeekFrom::Current(-1))),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            kind(seek(0, 0, SeekFrom::End(i64::MIN))),
            io::ErrorKind::InvalidInput
        );
    }

    #[test]
    fn seek_with_i64_min_from_a_large_base_succeeds() {
        let base = 1u64 << 63;
        assert_eq!(seek(base, 0, SeekFrom::Current(i64::MIN)).unwrap(), 0);
        assert_eq!(
            seek(u64::MAX, 0, SeekFrom::Current(i64::MIN)).unwrap(),
            (1u64 << 63) - 1
        );
    }

    #[test]
    fn seek_past_u64_max_is_invalid_input() {
        assert_eq!(
            kind(seek(u64::MAX, 0, SeekFrom::Current(1))),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            kind(seek(0, u64::MAX, SeekFrom::End(1))),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            kind(seek(u64::MAX - 5, 0, SeekFrom::Current(i64::MAX))),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            seek(u64::MAX - 1, 0, SeekFrom::Current(1)).unwrap(),
            u64::MAX
        );
    }

    #[test]
    fn seek_errors_have_messages() {
        let neg = seek(0, 0, SeekFrom::Current(-1)).unwrap_err().to_string();
        let ovf = seek(u64::MAX, 0, SeekFrom::Current(1))
            .unwrap_err()
            .to_string();
        assert!(neg.contains("negative"), "{neg}");
        assert!(ovf.contains("overflow"), "{ovf}");
    }

    #[test]
    fn read_len_clamps_to_the_end() {
        assert_eq!(read_len(0, 10, 4), 4);
        assert_eq!(read_len(0, 10, 10), 10);
        assert_eq!(read_len(0, 10, 100), 10);
        assert_eq!(read_len(8, 10, 100), 2);
        assert_eq!(read_len(10, 10, 100), 0);
        assert_eq!(read_len(50, 10, 100), 0);
        assert_eq!(read_len(3, 10, 0), 0);
        assert_eq!(read_len(0, u64::MAX, usize::MAX), usize::MAX);
        assert_eq!(read_len(u64::MAX, 0, usize::MAX), 0);
    }

    #[test]
    fn write_len_short_writes_at_the_end_and_fails_past_it() {
        assert_eq!(write_len(0, 10, 4).unwrap(), 4);
        assert_eq!(write_len(6, 10, 4).unwrap(), 4);
        assert_eq!(write_len(8, 10, 4).unwrap(), 2);
        assert_eq!(write_len(9, 10, 1).unwrap(), 1);
        assert_eq!(kind(write_len(10, 10, 1)), io::ErrorKind::FileTooLarge);
        assert_eq!(kind(write_len(11, 10, 1)), io::ErrorKind::FileTooLarge);
        assert_eq!(kind(write_len(0, 0, 1)), io::ErrorKind::FileTooLarge);
    }

    #[test]
    fn empty_writes_always_succeed() {
        assert_eq!(write_len(0, 0, 0).unwrap(), 0);
        assert_eq!(write_len(10, 10, 0).unwrap(), 0);
        assert_eq!(write_len(u64::MAX, 0, 0).unwrap(), 0);
    }

    #[test]
    fn advance_adds_and_checks_overflow() {
        assert_eq!(advance(0, 0).unwrap(), 0);
        assert_eq!(advance(5, 3).unwrap(), 8);
        assert_eq!(advance(u64::MAX - 3, 3).unwrap(), u64::MAX);
        assert_eq!(kind(advance(u64::MAX, 1)), io::ErrorKind::InvalidInput);
    }
}
