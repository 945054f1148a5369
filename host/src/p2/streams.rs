//! `wasi:io` streams over a memory file, for `read-via-stream`,
//! `write-via-stream` and `append-via-stream` on wasi-memfd's descriptors.
//!
//! Memory I/O never waits: every stream is always ready, and each call does
//! one positioned read or write. A read gives at most [`CHUNK`] bytes and a
//! write takes at most [`CHUNK`] (`check-write`), so no call's host work is
//! larger than that; a write that would pass a limit fails the stream with
//! the limit's error (`filesystem-error-code` tells which).

use bytes::Bytes;
use wasmtime_wasi::p2::{InputStream, OutputStream, Pollable, StreamError, StreamResult};

use crate::error::FsError;
use crate::memfile::{Held, MemFile};

/// Most bytes one stream read returns or one write takes.
pub(crate) const CHUNK: usize = 1 << 20;

/// Reads a memory file from an offset onwards.
pub(crate) struct MemInput {
    file: Held,
    pos: u64,
    /// Whether its descriptor was opened for reading (else every read
    /// fails: `bad-descriptor`, as `pread` on a write-only fd).
    readable: bool,
    /// Closed for good: a read returned nothing at the end, or failed, as
    /// wasmtime-wasi's file streams close. As theirs, a `read` of 0 bytes
    /// returns nothing and leaves the stream open, a `blocking-read` of 0
    /// bytes closes it.
    closed: bool,
}

impl MemInput {
    pub(crate) fn new(file: Held, pos: u64, readable: bool) -> Self {
        MemInput {
            file,
            pos,
            readable,
            closed: false,
        }
    }
}

/// A stream's failure, as `filesystem-error-code` reads it back.
fn failed(e: FsError) -> StreamError {
    StreamError::LastOperationFailed(wasmtime::Error::new(e))
}

#[wasmtime_wasi::async_trait]
impl Pollable for MemInput {
    async fn ready(&mut self) {}
}

impl MemInput {
    /// One read of at most a chunk at the stream's position.
    fn read_chunk(&mut self, size: usize) -> Result<Bytes, FsError> {
        if !self.readable {
            return Err(FsError::Badf);
        }
        let buf = read_chunk_at(&self.file, size as u64, self.pos)?;
        self.pos += buf.len() as u64;
        Ok(Bytes::from(buf))
    }

    /// A read that closes the stream for good when it returns nothing or
    /// fails.
    fn read_once(&mut self, size: usize) -> StreamResult<Bytes> {
        if self.closed {
            return Err(StreamError::Closed);
        }
        match self.read_chunk(size) {
            Ok(buf) if !buf.is_empty() => Ok(buf),
            Ok(_) => {
                self.closed = true;
                Err(StreamError::Closed)
            }
            Err(e) => {
                self.closed = true;
                Err(failed(e))
            }
        }
    }
}

#[wasmtime_wasi::async_trait]
impl InputStream for MemInput {
    fn read(&mut self, size: usize) -> StreamResult<Bytes> {
        if self.closed {
            return Err(StreamError::Closed);
        }
        if size == 0 {
            return Ok(Bytes::new());
        }
        self.read_once(size)
    }

    async fn blocking_read(&mut self, size: usize) -> StreamResult<Bytes> {
        // Of 0 bytes too: wasmtime-wasi's file stream reads nothing, takes
        // it for the end and closes.
        self.read_once(size)
    }

    fn skip(&mut self, size: usize) -> StreamResult<usize> {
        if !self.readable {
            return Err(failed(FsError::Badf));
        }
        let left = self.file.size().saturating_sub(self.pos);
        if left == 0 && size > 0 {
            return Err(StreamError::Closed);
        }
        let n = (size as u64).min(left);
        self.pos += n;
        Ok(n as usize)
    }
}

/// One read of a descriptor or a stream: up to `len` bytes (at most a
/// [`CHUNK`]) of `file` at `offset`, the access noted. The buffer is never
/// larger than what the file holds there.
pub(crate) fn read_chunk_at(file: &MemFile, len: u64, offset: u64) -> Result<Vec<u8>, FsError> {
    let want = usize::try_from(len).unwrap_or(usize::MAX).min(CHUNK);
    if u128::from(offset) + want as u128 > i64::MAX as u128 {
        return Err(FsError::Inval);
    }
    let fd = file.fd()?;
    let left = usize::try_from(file.size().saturating_sub(offset)).unwrap_or(usize::MAX);
    let mut buf = vec![0; want.min(left)];
    let n = read_at(&fd, &mut buf, offset)?;
    buf.truncate(n);
    file.accessed();
    Ok(buf)
}

/// Reads into `buf` at `offset` until it is full or the file ends. An
/// offset or end past `i64::MAX` is `EINVAL` whatever the length, as the
/// kernel's range check answers a `pread`.
pub(crate) fn read_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> Result<usize, FsError> {
    if u128::from(offset) + buf.len() as u128 > i64::MAX as u128 {
        return Err(FsError::Inval);
    }
    #[cfg(unix)]
    {
        let mut done = 0;
        while done < buf.len() {
            match rustix::io::pread(file, &mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(FsError::from_system(e)),
            }
        }
        Ok(done)
    }
    #[cfg(not(unix))]
    {
        let _ = (file, buf, offset);
        Err(FsError::Notsup)
    }
}

/// Writes `data` at `at` whole.
pub(crate) fn write_at(file: &std::fs::File, data: &[u8], at: u64) -> Result<u64, FsError> {
    crate::backend::pwrite_all(file, data, at).map_err(FsError::from_system)?;
    Ok(data.len() as u64)
}

/// Writes a memory file from an offset onwards, or at its end.
pub(crate) struct MemOutput {
    file: Held,
    /// Where the next write goes; `None`: at the end.
    pos: Option<u64>,
    /// Whether its descriptor was opened for writing (else every write
    /// fails: `bad-descriptor`, as `pwrite` on a read-only fd).
    writable: bool,
}

impl MemOutput {
    /// A stream writing from `pos` on (`None`: at the end, each write).
    pub(crate) fn new(file: Held, pos: Option<u64>, writable: bool) -> Self {
        MemOutput {
            file,
            pos,
            writable,
        }
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for MemOutput {
    async fn ready(&mut self) {}
}

#[wasmtime_wasi::async_trait]
impl OutputStream for MemOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        if !self.writable {
            return Err(failed(FsError::Badf));
        }
        if bytes.len() > CHUNK {
            return Err(StreamError::trap("write more than check-write allowed"));
        }
        let (append, offset) = match self.pos {
            Some(pos) => (false, pos),
            None => (true, 0),
        };
        let written = self
            .file
            .write_with(offset, bytes.len() as u64, append, |fd, at, room| {
                write_at(fd, &bytes[..room as usize], at)
            });
        match written {
            Ok((at, n)) => {
                if let Some(pos) = &mut self.pos {
                    *pos = at + n;
                }
                if n < bytes.len() as u64 {
                    // A fixed-size file took what fitted before its end;
                    // the rest fails the stream, as writing past a sealed
                    // memfd's end does.
                    return Err(failed(FsError::Fbig));
                }
                Ok(())
            }
            Err(e) => Err(failed(e)),
        }
    }

    /// Writes are synchronous: nothing is ever buffered.
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(CHUNK)
    }
}
