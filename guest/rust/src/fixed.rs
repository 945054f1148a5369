//! The `Read`/`Write`/`Seek` logic of `MemFile`, over any file that reads and
//! writes at an offset. `wasm32-wasip2` plugs in the `wasi:filesystem`
//! descriptor; the tests here plug in a vector, so the logic is tested on
//! any target.

use std::io::{self, Read, Seek, SeekFrom, Write};

use crate::position;

/// A file read and written at explicit offsets, with no cursor of its own.
pub(crate) trait Positional {
    /// Reads at most `len` bytes at `offset` (fewer at the end of the file).
    fn read_at(&self, len: u64, offset: u64) -> io::Result<Vec<u8>>;
    /// Writes `buf` at `offset`; returns how many bytes were written.
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<u64>;
}

/// The error for a write to a file not opened for writing: `EBADF`, as the
/// host answers for a read-only memory-file fd on `wasm32-wasip1` (and POSIX
/// for an fd not open for writing).
fn read_only_error() -> io::Error {
    crate::error::wasi_errno_error(
        crate::errno::EBADF,
        io::ErrorKind::PermissionDenied,
        "bad file descriptor: memory file is not open for writing",
    )
}

/// A cursor over a [`Positional`] file of fixed size `len`.
#[derive(Debug)]
pub(crate) struct FixedFile<F> {
    inner: F,
    len: u64,
    pos: u64,
    writable: bool,
}

impl<F> FixedFile<F> {
    /// A cursor at offset 0 over `inner`, which holds `len` bytes.
    pub(crate) fn new(inner: F, len: u64, writable: bool) -> FixedFile<F> {
        FixedFile {
            inner,
            len,
            pos: 0,
            writable,
        }
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    #[cfg(test)]
    pub(crate) fn position(&self) -> u64 {
        self.pos
    }

    pub(crate) fn is_writable(&self) -> bool {
        self.writable
    }

    pub(crate) fn inner(&self) -> &F {
        &self.inner
    }

    pub(crate) fn into_inner(self) -> F {
        self.inner
    }
}

impl<F: Positional> Read for FixedFile<F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = position::read_len(self.pos, self.len, buf.len());
        if want == 0 {
            return Ok(0);
        }
        let data = self.inner.read_at(want as u64, self.pos)?;
        let n = data.len().min(want);
        buf[..n].copy_from_slice(&data[..n]);
        self.pos = position::advance(self.pos, n)?;
        Ok(n)
    }
}

impl<F: Positional> Write for FixedFile<F> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.writable {
            return Err(read_only_error());
        }
        let want = position::write_len(self.pos, self.len, buf.len())?;
        if want == 0 {
            return Ok(0);
        }
        let written = self.inner.write_at(&buf[..want], self.pos)?;
        // A backend never reports more than it was given; clamp in case.
        let n = if written < want as u64 {
            written as usize
        } else {
            want
        };
        self.pos = position::advance(self.pos, n)?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<F> Seek for FixedFile<F> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.pos = position::seek(self.pos, self.len, pos)?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};

    /// A file in a vector that answers at most `chunk` bytes per call and
    /// counts the calls.
    struct Mem {
        bytes: RefCell<Vec<u8>>,
        chunk: usize,
        calls: Cell<usize>,
    }

    impl Mem {
        fn new(bytes: &[u8], chunk: usize) -> Mem {
            Mem {
                bytes: RefCell::new(bytes.to_vec()),
                chunk,
                calls: Cell::new(0),
            }
        }
    }

    impl Positional for Mem {
        fn read_at(&self, len: u64, offset: u64) -> io::Result<Vec<u8>> {
            self.calls.set(self.calls.get() + 1);
            let bytes = self.bytes.borrow();
            let start = (offset as usize).min(bytes.len());
            let end = start + (len as usize).min(self.chunk).min(bytes.len() - start);
            Ok(bytes[start..end].to_vec())
        }

        fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<u64> {
            self.calls.set(self.calls.get() + 1);
            let mut bytes = self.bytes.borrow_mut();
            let start = offset as usize;
            assert!(
                start + buf.len() <= bytes.len(),
                "write past the end reached the backend"
            );
            let n = buf.len().min(self.chunk);
            bytes[start..start + n].copy_from_slice(&buf[..n]);
            Ok(n as u64)
        }
    }

    fn file(bytes: &[u8], chunk: usize, writable: bool) -> FixedFile<Mem> {
        FixedFile::new(Mem::new(bytes, chunk), bytes.len() as u64, writable)
    }

    fn contents(f: &FixedFile<Mem>) -> Vec<u8> {
        f.inner().bytes.borrow().clone()
    }

    #[test]
    fn reads_everything_in_short_chunks() {
        let mut f = file(b"0123456789", 3, false);
        let mut got = Vec::new();
        f.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"0123456789");
        assert_eq!(f.position(), 10);
        // 4 calls for 3+3+3+1 bytes; read_to_end's final read is answered
        // from the cached length without a call.
        assert_eq!(f.inner().calls.get(), 4);
    }

    #[test]
    fn reads_at_or_past_the_end_return_zero_without_a_call() {
        let mut f = file(b"abc", 100, false);
        let mut buf = [0u8; 8];
        f.seek(SeekFrom::End(0)).unwrap();
        assert_eq!(f.read(&mut buf).unwrap(), 0);
        f.seek(SeekFrom::Start(50)).unwrap();
        assert_eq!(f.read(&mut buf).unwrap(), 0);
        assert_eq!(f.read(&mut []).unwrap(), 0);
        assert_eq!(f.inner().calls.get(), 0);
    }

    #[test]
    fn read_asks_no_more_than_the_buffer_and_the_rest_of_the_file() {
        let mut f = file(b"0123456789", 100, false);
        let mut buf = [0u8; 4];
        f.seek(SeekFrom::Start(8)).unwrap();
        assert_eq!(f.read(&mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], b"89");
        f.seek(SeekFrom::Start(1)).unwrap();
        assert_eq!(f.read(&mut buf).unwrap(), 4);
        assert_eq!(&buf, b"1234");
        assert_eq!(f.position(), 5);
    }

    #[test]
    fn seek_then_read() {
        let mut f = file(b"0123456789", 100, false);
        let mut buf = [0u8; 3];
        assert_eq!(f.seek(SeekFrom::End(-4)).unwrap(), 6);
        f.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"678");
        assert_eq!(f.seek(SeekFrom::Current(-5)).unwrap(), 4);
        f.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"456");
        assert_eq!(f.stream_position().unwrap(), 7);
    }

    #[test]
    fn refused_seeks_keep_the_position() {
        let mut f = file(b"0123456789", 100, false);
        f.seek(SeekFrom::Start(3)).unwrap();
        let e = f.seek(SeekFrom::Current(-4)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(f.position(), 3);
        let e = f.seek(SeekFrom::End(-11)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(f.position(), 3);
    }

    #[test]
    fn read_only_refuses_writes_without_a_call() {
        let mut f = file(b"sealed", 100, false);
        assert!(!f.is_writable());
        let e = f.write(b"x").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        assert!(e.to_string().contains("not open for writing"), "{e}");
        assert_eq!(f.inner().calls.get(), 0);
        assert_eq!(f.position(), 0);
        assert_eq!(contents(&f), b"sealed");
    }

    #[test]
    fn writes_in_place_and_moves_the_cursor() {
        let mut f = file(b"hello, world", 100, true);
        f.write_all(b"HELLO").unwrap();
        assert_eq!(f.position(), 5);
        f.seek(SeekFrom::Start(7)).unwrap();
        f.write_all(b"WORLD").unwrap();
        f.flush().unwrap();
        assert_eq!(contents(&f), b"HELLO, WORLD");
        assert_eq!(f.len(), 12);
    }

    #[test]
    fn write_all_copes_with_short_backend_writes() {
        let mut f = file(b"abcdefgh", 3, true);
        f.write_all(b"ABCDEFG").unwrap();
        assert_eq!(contents(&f), b"ABCDEFGh");
        assert_eq!(f.position(), 7);
        assert_eq!(f.inner().calls.get(), 3);
    }

    #[test]
    fn write_across_the_end_is_short_and_the_next_fails() {
        let mut f = file(b"0123456789", 100, true);
        f.seek(SeekFrom::Start(8)).unwrap();
        assert_eq!(f.write(b"abcd").unwrap(), 2);
        assert_eq!(contents(&f), b"01234567ab");
        assert_eq!(f.position(), 10);
        let e = f.write(b"cd").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(f.position(), 10);
    }

    #[test]
    fn write_all_across_the_end_fails() {
        let mut f = file(b"0123456789", 100, true);
        f.seek(SeekFrom::Start(8)).unwrap();
        let e = f.write_all(b"abcd").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(contents(&f).len(), 10);
    }

    #[test]
    fn writes_past_the_end_fail_without_a_call() {
        let mut f = file(b"abc", 100, true);
        f.seek(SeekFrom::End(2)).unwrap();
        let e = f.write(b"x").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(f.inner().calls.get(), 0);
        assert_eq!(f.position(), 5);
        // An empty write succeeds anywhere, also without a call.
        assert_eq!(f.write(b"").unwrap(), 0);
        assert_eq!(f.inner().calls.get(), 0);
    }

    #[test]
    fn empty_file() {
        let mut f = file(b"", 100, true);
        assert_eq!(f.len(), 0);
        let mut got = Vec::new();
        f.read_to_end(&mut got).unwrap();
        assert!(got.is_empty());
        assert_eq!(
            f.write(b"x").unwrap_err().kind(),
            io::ErrorKind::FileTooLarge
        );
        assert_eq!(f.inner().calls.get(), 0);
    }

    #[test]
    fn into_inner_gives_the_backend_back() {
        let f = file(b"abc", 100, false);
        assert_eq!(f.into_inner().bytes.into_inner(), b"abc");
    }
}
