//! I/O on memory-file fds for the WASIp1 layer: the guest's iovecs read and
//! written straight from and to linear memory, errnos, `filestat`.
//!
//! Up to [`IOV_MAX`] iovecs are served per call with one `preadv` /
//! `pwritev` (a plain `pread` / `pwrite` when there is one buffer, which
//! spares the kernel copying an iovec array in): a guest's call costs one
//! system call however it splits its buffers. Read iovecs that overlap in guest memory (which cannot be lent
//! as separate `&mut` slices) are read one by one instead; a shared memory,
//! which cannot be lent as a slice at all, goes through a bounded 64 KiB
//! host buffer. Every iovec is bounds-checked whole before anything moves.
//!
//! Errors are built only on the failure path: `types::Error` captures a
//! backtrace when made.

use std::fs::File;
use std::io::{IoSlice, IoSliceMut};

#[cfg(unix)]
use rustix::io::Errno as SysErrno;
use wasmtime_wasi::p1::types::{self, Errno};
use wiggle::{GuestMemory, GuestPtr};

use crate::error::FsError;
use crate::memfile::MemFile;

pub(super) type Result<T> = std::result::Result<T, types::Error>;

/// Most iovecs one read or write serves (Linux's `IOV_MAX`); the rest are
/// left for the guest's next call, which the short count asks for.
pub const IOV_MAX: usize = 1024;

pub(super) use super::err;

/// Charges reading `array` against the call's hostcall `fuel`, as
/// wasmtime-wasi's `consume_fuel_for_array` does: `ENOMEM` once spent.
pub(super) fn charge<T>(fuel: &mut usize, array: GuestPtr<[T]>) -> Result<()> {
    let bytes = usize::try_from(array.len())
        .ok()
        .and_then(|n| n.checked_mul(std::mem::size_of::<T>()))
        .ok_or_else(|| types::Error::from(Errno::Overflow))?;
    match fuel.checked_sub(bytes) {
        Some(left) => {
            *fuel = left;
            Ok(())
        }
        None => err(Errno::Nomem),
    }
}

/// A system error on a memory file, as a WASIp1 error.
#[cfg(unix)]
fn sys(e: SysErrno) -> types::Error {
    super::fs_err(FsError::from_system(e))
}

/// The rights a `from_bytes` or preopened memory-file fd has.
pub(super) fn rights(writable: bool) -> types::Rights {
    let read = types::Rights::FD_READ
        | types::Rights::FD_SEEK
        | types::Rights::FD_TELL
        | types::Rights::FD_FILESTAT_GET
        | types::Rights::FD_ADVISE;
    if writable {
        read | types::Rights::FD_WRITE
    } else {
        read
    }
}

/// One iovec's bytes in linear memory, checked in bounds.
#[derive(Copy, Clone)]
struct Span {
    ptr: GuestPtr<u8>,
    /// Bytes to move (an iovec can be cut short: at the end of a writable
    /// file, or where the total would pass `u32::MAX`).
    len: u32,
}

impl Span {
    fn range(self) -> std::ops::Range<usize> {
        let start = self.ptr.offset() as usize;
        start..start + self.len as usize
    }
}

/// Reads up to [`IOV_MAX`] of the guest's iovecs, checks each whole against
/// memory (an iovec outside it traps, as wasmtime-wasi's do), and cuts
/// their lengths so the total is at most `u32::MAX`. Empty iovecs are
/// dropped.
fn spans<T>(
    mem: &GuestMemory<'_>,
    iovs: GuestPtr<[T]>,
    fields: impl Fn(T) -> (GuestPtr<u8>, u32),
) -> Result<Vec<Span>>
where
    T: wiggle::GuestType,
{
    let mut spans = Vec::new();
    let mut left = u64::from(u32::MAX);
    for iov in iovs.iter().take(IOV_MAX) {
        let (ptr, buf_len) = fields(mem.read(iov?)?);
        mem.as_slice(ptr.as_array(buf_len))?;
        let len = u64::from(buf_len).min(left) as u32;
        if len > 0 {
            spans.push(Span { ptr, len });
            left -= u64::from(len);
        }
        if len < buf_len {
            break;
        }
    }
    Ok(spans)
}

/// Reads from `file` at `offset` into the guest's iovecs. Returns the bytes
/// read (fewer at the end of the file).
pub(super) fn read_into(
    mem: &mut GuestMemory<'_>,
    file: &File,
    iovs: types::IovecArray,
    offset: u64,
) -> Result<u32> {
    // One iovec in unshared memory, the common case: straight into it,
    // without building span lists.
    if iovs.len() == 1 {
        let iov = mem.read(iovs.iter().next().expect("one iovec")?)?;
        if let Some(buf) = mem.as_slice_mut(iov.buf.as_array(iov.buf_len))? {
            return Ok(pread_full(file, buf, offset)? as u32);
        }
    }
    let spans = spans(mem, iovs, |iov: types::Iovec| (iov.buf, iov.buf_len))?;
    let n = match mem {
        GuestMemory::Unshared(bytes) => match disjoint_mut(bytes, &spans) {
            Some(mut bufs) => preadv_full(file, &mut bufs, offset)?,
            None => {
                let mut done = 0;
                for span in &spans {
                    let at = checked_offset(offset, done)?;
                    let n = pread_full(file, &mut bytes[span.range()], at)?;
                    done += n;
                    if n < span.len as usize {
                        break;
                    }
                }
                done
            }
        },
        GuestMemory::Shared(_) => {
            let mut done = 0;
            for span in &spans {
                let at = checked_offset(offset, done)?;
                let n = bounce_read(mem, file, *span, at)?;
                done += n;
                if n < span.len as usize {
                    break;
                }
            }
            done
        }
    };
    Ok(n as u32)
}

/// Writes the guest's ciovecs to `file` at `offset` (at its end if
/// `append`), as `MemFile::write_with` allows: a growable file grows (within
/// the limits), a fixed-size one takes what fits before its end (`EFBIG`
/// once nothing fits). The caller has checked the fd may write. Returns
/// where the bytes went and how many.
pub(super) fn write_from(
    mem: &GuestMemory<'_>,
    file: &MemFile,
    ciovs: types::CiovecArray,
    offset: u64,
    append: bool,
) -> Result<(u64, u32)> {
    let fs = super::fs_err;
    // One ciovec in unshared memory, the common case: straight from it,
    // without building span lists (the same checks as below).
    if ciovs.len() == 1 {
        let iov = mem.read(ciovs.iter().next().expect("one ciovec")?)?;
        if let Some(bytes) = mem.as_slice(iov.buf.as_array(iov.buf_len))? {
            if bytes.is_empty() {
                return Ok((offset, 0));
            }
            let (at, n) = file
                .write_with(offset, bytes.len() as u64, append, |fd, at, room| {
                    pwritev_all(fd, &mut [IoSlice::new(&bytes[..room as usize])], at)?;
                    Ok(room)
                })
                .map_err(fs)?;
            return Ok((at, n as u32));
        }
    }
    let fields = |iov: types::Ciovec| (iov.buf, iov.buf_len);
    let spans = spans(mem, ciovs, fields)?;
    let total: u64 = spans.iter().map(|s| u64::from(s.len)).sum();
    if total == 0 {
        return Ok((offset, 0));
    }
    let (at, n) = file
        .write_with(offset, total, append, |fd, at, room| {
            match mem {
                GuestMemory::Unshared(bytes) => {
                    let mut bufs: Vec<IoSlice<'_>> = clamp(&spans, room)
                        .map(|s| IoSlice::new(&bytes[s.range()]))
                        .collect();
                    pwritev_all(fd, &mut bufs, at)?;
                }
                GuestMemory::Shared(_) => {
                    let mut done = 0u64;
                    for span in clamp(&spans, room) {
                        bounce_write(mem, fd, span, at + done)?;
                        done += u64::from(span.len);
                    }
                }
            }
            Ok(room)
        })
        .map_err(fs)?;
    Ok((at, n as u32))
}

/// `spans` cut to `room` bytes in all.
fn clamp(spans: &[Span], room: u64) -> impl Iterator<Item = Span> + '_ {
    let mut left = room;
    spans.iter().map_while(move |span| {
        if left == 0 {
            return None;
        }
        let len = u64::from(span.len).min(left) as u32;
        left -= u64::from(len);
        Some(Span { ptr: span.ptr, len })
    })
}

/// `spans` as `&mut` slices of `bytes`, in their own order, if no two
/// overlap (sorting them by address and splitting `bytes` between them, so
/// no slice is ever aliased).
fn disjoint_mut<'m>(bytes: &'m mut [u8], spans: &[Span]) -> Option<Vec<IoSliceMut<'m>>> {
    let mut order: Vec<usize> = (0..spans.len()).collect();
    order.sort_unstable_by_key(|&i| spans[i].ptr.offset());
    let mut slots: Vec<Option<&'m mut [u8]>> = spans.iter().map(|_| None).collect();
    let (mut rest, mut base) = (bytes, 0usize);
    for i in order {
        let range = spans[i].range();
        if range.start < base {
            return None;
        }
        let (_, tail) = std::mem::take(&mut rest).split_at_mut(range.start - base);
        let (slice, tail) = tail.split_at_mut(range.len());
        slots[i] = Some(slice);
        (rest, base) = (tail, range.end);
    }
    Some(slots.into_iter().flatten().map(IoSliceMut::new).collect())
}

fn checked_offset(offset: u64, done: usize) -> Result<u64> {
    offset
        .checked_add(done as u64)
        .ok_or_else(|| types::Error::from(Errno::Inval))
}

/// Reads at `offset` until every buffer is full or the file ends.
#[cfg(unix)]
fn preadv_full(file: &File, mut bufs: &mut [IoSliceMut<'_>], offset: u64) -> Result<usize> {
    let mut done = 0;
    while !bufs.is_empty() {
        let at = checked_offset(offset, done)?;
        // One buffer (the usual call) is a plain `pread`: the kernel then
        // copies no iovec array in.
        let read = match bufs {
            [one] => rustix::io::pread(file, &mut **one, at),
            _ => rustix::io::preadv(file, bufs, at),
        };
        match read {
            Ok(0) => break,
            Ok(n) => {
                done += n;
                IoSliceMut::advance_slices(&mut bufs, n);
            }
            Err(SysErrno::INTR) => {}
            Err(e) => return Err(sys(e)),
        }
    }
    Ok(done)
}

/// Writes every buffer at `offset` (the caller keeps them inside what the
/// file allows).
#[cfg(unix)]
fn pwritev_all(
    file: &File,
    mut bufs: &mut [IoSlice<'_>],
    offset: u64,
) -> std::result::Result<(), FsError> {
    let mut done = 0;
    while !bufs.is_empty() {
        let at = offset + done as u64;
        // One buffer (the usual call) is a plain `pwrite`, as for reads.
        let written = match bufs {
            [one] => rustix::io::pwrite(file, one, at),
            _ => rustix::io::pwritev(file, bufs, at),
        };
        match written {
            Ok(0) => return Err(FsError::Nospc),
            Ok(n) => {
                done += n;
                IoSlice::advance_slices(&mut bufs, n);
            }
            Err(SysErrno::INTR) => {}
            Err(e) => return Err(FsError::from_system(e)),
        }
    }
    Ok(())
}

/// Reads at `offset` until `buf` is full or the file ends.
fn pread_full(file: &File, buf: &mut [u8], offset: u64) -> Result<usize> {
    preadv_full(file, &mut [IoSliceMut::new(buf)], offset)
}

/// Largest host buffer for I/O with shared memory.
const BOUNCE: usize = 64 * 1024;

/// Reads `span` at `offset` into shared memory, which cannot be lent as a
/// slice, through a bounded host buffer.
fn bounce_read(mem: &mut GuestMemory<'_>, file: &File, span: Span, offset: u64) -> Result<usize> {
    let mut tmp = vec![0u8; (span.len as usize).min(BOUNCE)];
    let mut done: u32 = 0;
    while done < span.len {
        let chunk = ((span.len - done) as usize).min(tmp.len());
        let n = pread_full(
            file,
            &mut tmp[..chunk],
            checked_offset(offset, done as usize)?,
        )?;
        mem.copy_from_slice(&tmp[..n], span.ptr.add(done)?.as_array(n as u32))?;
        done += n as u32;
        if n < chunk {
            break;
        }
    }
    Ok(done as usize)
}

/// Writes `span` from shared memory to `file` at `offset`, through a
/// bounded host buffer (the span was checked inside memory before).
fn bounce_write(
    mem: &GuestMemory<'_>,
    file: &File,
    span: Span,
    offset: u64,
) -> std::result::Result<(), FsError> {
    let mut done: u32 = 0;
    while done < span.len {
        let chunk = (span.len - done).min(BOUNCE as u32);
        let bytes = span
            .ptr
            .add(done)
            .and_then(|p| mem.as_cow(p.as_array(chunk)))
            .map_err(|_| FsError::Inval)?;
        pwritev_all(file, &mut [IoSlice::new(&bytes)], offset + u64::from(done))?;
        done += chunk;
    }
    Ok(())
}

/// A node's `stat` as a WASIp1 `filestat` (device 1, as wasmtime-wasi
/// reports for every file).
pub(super) fn filestat(stat: crate::stat::Stat) -> types::Filestat {
    use crate::stat::Kind;
    types::Filestat {
        dev: crate::stat::DEV,
        ino: stat.ino,
        filetype: match stat.kind {
            Kind::File => types::Filetype::RegularFile,
            Kind::Dir => types::Filetype::Directory,
            Kind::Symlink => types::Filetype::SymbolicLink,
        },
        nlink: stat.nlink,
        size: stat.size,
        atim: stat.times.atime,
        mtim: stat.times.mtime,
        ctim: stat.times.ctime,
    }
}

/// Not Unix: no memory file can be made (see `crate::memfd`), so no
/// memory-file fd exists for these to serve.
#[cfg(not(unix))]
mod not_unix {
    use super::*;

    pub(super) fn preadv_full(_: &File, _: &mut [IoSliceMut<'_>], _: u64) -> Result<usize> {
        err(Errno::Notsup)
    }

    pub(super) fn pwritev_all(
        _: &File,
        _: &mut [IoSlice<'_>],
        _: u64,
    ) -> std::result::Result<(), FsError> {
        Err(FsError::Notsup)
    }
}
#[cfg(not(unix))]
use not_unix::{preadv_full, pwritev_all};
