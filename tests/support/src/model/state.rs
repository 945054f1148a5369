//! The plain in-memory model: what a store's memory files should hold and
//! what each call should answer, computed from plain values only (it uses
//! the interfaces' error enums, but no kernel call, no store and no
//! wasi-memfd code).
//!
//! A memory file is a `Vec<u8>` ([`Model::contents`]); what the guest holds
//! open is a list of ledger [`Entry`]s, one per `from-bytes` file and one per
//! `open-preopened` (each open is a new descriptor on the host's file,
//! counted on its own), each with a count of the handles that keep it alive
//! (WASIp1 fds, component descriptors and input streams). Usage is the
//! number of live entries and the bytes charged to them; preopened files are
//! charged nothing. The per-ABI rules (offsets, short writes, errnos) are the
//! free functions below, each saying where the rule comes from: the p1
//! layer's module doc (host/src/p1/snapshot.rs), the limits
//! (host/src/limits.rs, host/src/ctx.rs), wasmtime-wasi 48's filesystem
//! code, or the kernel.

use wasi_memfd::{ErrorCode, Usage, MAX_NAME_LEN};

use super::{errno, Limits};
use crate::probe::FsError;

/// One file the guest holds open, as the ledger counts it.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Index into [`Model::contents`].
    pub content: usize,
    pub writable: bool,
    /// Bytes charged to the quota (0 for a preopened file).
    pub charged: u64,
    /// Handles that keep it alive; 0 once given back.
    pub refs: usize,
}

/// A file the host attached with `preopen_bytes`.
#[derive(Clone, Debug)]
pub struct Preopen {
    pub name: &'static str,
    pub writable: bool,
    pub content: usize,
}

/// The model of one store's wasi-memfd context.
#[derive(Clone, Debug)]
pub struct Model {
    pub limits: Limits,
    /// The bytes of every file ever made, preopened ones first.
    pub contents: Vec<Vec<u8>>,
    pub preopens: Vec<Preopen>,
    /// Every file the guest ever opened; live while `refs > 0`.
    pub entries: Vec<Entry>,
}

impl Model {
    /// A model with `limits` and the host's preopened files
    /// (name, bytes, writable).
    pub fn new(limits: Limits, preopens: &[(&'static str, Vec<u8>, bool)]) -> Self {
        let mut model = Model {
            limits,
            contents: Vec::new(),
            preopens: Vec::new(),
            entries: Vec::new(),
        };
        for (name, data, writable) in preopens {
            model.contents.push(data.clone());
            model.preopens.push(Preopen {
                name,
                writable: *writable,
                content: model.contents.len() - 1,
            });
        }
        model
    }

    /// What `WasiMemfdCtx::usage` should report.
    pub fn usage(&self) -> Usage {
        let live = self.entries.iter().filter(|e| e.refs > 0);
        Usage {
            files: live.clone().count(),
            bytes: live.map(|e| e.charged).sum(),
        }
    }

    /// The name rules (`ctx::check_name`): length first, then NUL.
    pub fn check_name(name: &[u8]) -> Result<(), ErrorCode> {
        if name.len() > MAX_NAME_LEN {
            Err(ErrorCode::NameTooLong)
        } else if name.contains(&0) {
            Err(ErrorCode::InvalidArgument)
        } else {
            Ok(())
        }
    }

    /// One more file charged `bytes` (`Ledger::admit`): the per-file limit,
    /// then the file count, then the byte quota.
    fn admit(&self, bytes: u64) -> Result<(), ErrorCode> {
        let usage = self.usage();
        if bytes > self.limits.max_file_size {
            Err(ErrorCode::FileTooLarge)
        } else if usage.files >= self.limits.max_files {
            Err(ErrorCode::TooManyFiles)
        } else if usage.bytes + bytes > self.limits.max_total_size {
            Err(ErrorCode::QuotaExceeded)
        } else {
            Ok(())
        }
    }

    /// `from-bytes` of `data` named `name` (already valid UTF-8): the new
    /// entry, holding one reference, or why not.
    pub fn make_from_bytes(
        &mut self,
        data: &[u8],
        name: &[u8],
        writable: bool,
    ) -> Result<usize, ErrorCode> {
        Self::check_name(name)?;
        self.admit(data.len() as u64)?;
        self.contents.push(data.to_vec());
        Ok(self.push_entry(Entry {
            content: self.contents.len() - 1,
            writable,
            charged: data.len() as u64,
            refs: 1,
        }))
    }

    /// `open-preopened` of `name` (already valid UTF-8): a new entry on the
    /// preopened file's bytes, holding one reference, or why not.
    pub fn open_preopened(&mut self, name: &[u8]) -> Result<usize, ErrorCode> {
        Self::check_name(name)?;
        let preopen = self
            .preopens
            .iter()
            .find(|p| p.name.as_bytes() == name)
            .cloned()
            .ok_or(ErrorCode::NotFound)?;
        self.admit(0)?;
        Ok(self.push_entry(Entry {
            content: preopen.content,
            writable: preopen.writable,
            charged: 0,
            refs: 1,
        }))
    }

    fn push_entry(&mut self, entry: Entry) -> usize {
        self.entries.push(entry);
        self.entries.len() - 1
    }

    /// One more handle on `entry` (a component input stream).
    pub fn retain(&mut self, entry: usize) {
        assert!(self.entries[entry].refs > 0, "retaining a dead entry");
        self.entries[entry].refs += 1;
    }

    /// One handle on `entry` fewer; the last gives its slot and bytes back.
    pub fn release(&mut self, entry: usize) {
        let e = &mut self.entries[entry];
        assert!(e.refs > 0, "releasing a dead entry");
        e.refs -= 1;
    }

    /// The bytes `entry` reads.
    pub fn data(&self, entry: usize) -> &[u8] {
        &self.contents[self.entries[entry].content]
    }

    pub fn writable(&self, entry: usize) -> bool {
        self.entries[entry].writable
    }

    /// Overwrites `bytes` at `offset` in `entry`'s file (inside it, unless
    /// `bytes` is empty).
    pub fn overwrite(&mut self, entry: usize, offset: u64, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let content = self.entries[entry].content;
        let at = offset as usize;
        self.contents[content][at..at + bytes.len()].copy_from_slice(bytes);
    }

    /// The bytes of the preopened file `name`, as the host reads them back.
    pub fn preopened(&self, name: &str) -> &[u8] {
        let p = self.preopens.iter().find(|p| p.name == name).unwrap();
        &self.contents[p.content]
    }
}

/// Whether a system call at `offset` over `count` bytes passes the kernel's
/// range check (`rw_verify_area`): the offset and the end must fit in an
/// `i64`, or the call is `EINVAL` whatever the file holds.
pub fn kernel_range_ok(offset: u64, count: u64) -> bool {
    u128::from(offset) + u128::from(count) <= i64::MAX as u128
}

// ---------------------------------------------------------------------------
// WASIp1 (host/src/p1/snapshot.rs).

/// `fd_read`/`fd_pread` at `offset` into two consecutive iovecs of `iovs`
/// bytes: the bytes read, or an errno. The file is read until the buffers
/// are full or it ends; an iovec that starts at or past the end reads
/// nothing (`pread` returns 0), unless the offset is beyond what the kernel
/// accepts (`EINVAL`, as for any regular file).
pub fn p1_read(data: &[u8], offset: u64, iovs: [u32; 2]) -> Result<Vec<u8>, i32> {
    let size = data.len() as u64;
    let want = u64::from(iovs[0]) + u64::from(iovs[1]);
    if offset < size {
        let end = (offset + want).min(size);
        return Ok(data[offset as usize..end as usize].to_vec());
    }
    // At or past the end: the first non-empty iovec makes the one system
    // call, which returns 0 or refuses the range.
    match iovs.iter().find(|&&len| len > 0) {
        Some(&len) if !kernel_range_ok(offset, u64::from(len)) => Err(errno::INVAL),
        _ => Ok(Vec::new()),
    }
}

/// `fd_write`/`fd_pwrite` of `len` bytes at `offset` on a memory-file fd:
/// how many bytes are written. Read-only fds answer `EBADF`; writes stop at
/// the end of the file, and `EFBIG` once nothing fits (an empty write always
/// succeeds).
pub fn p1_write(writable: bool, size: u64, offset: u64, len: u64) -> Result<u64, i32> {
    if !writable {
        return Err(errno::BADF);
    }
    let fits = size.saturating_sub(offset).min(len);
    if fits == 0 && len > 0 {
        Err(errno::FBIG)
    } else {
        Ok(fits)
    }
}

/// `fd_seek`: the new position, or `EINVAL` if it would be negative or
/// beyond `i64::MAX`.
pub fn p1_seek(pos: u64, size: u64, delta: i64, whence: Whence) -> Result<u64, i32> {
    let base = match whence {
        Whence::Set => 0,
        Whence::Cur => pos,
        Whence::End => size,
    };
    let new = i128::from(base) + i128::from(delta);
    if (0..=i128::from(i64::MAX)).contains(&new) {
        Ok(new as u64)
    } else {
        Err(errno::INVAL)
    }
}

/// `fd_filestat_set_size` on a memory-file fd: the current size succeeds on
/// a writable fd (as `ftruncate` to the same size on a sealed memfd) and
/// any other size is `EPERM` (the size is sealed); a read-only fd answers
/// `EINVAL` for every size, as `ftruncate` on an `O_RDONLY` fd does (the
/// issue fixed only the writable same-size case; `EINVAL` is the decision
/// for the rest, documented in host/src/p1/snapshot.rs).
pub fn p1_set_size(writable: bool, size: u64, new: u64) -> Result<(), i32> {
    match (writable, new == size) {
        (true, true) => Ok(()),
        (true, false) => Err(errno::PERM),
        (false, _) => Err(errno::INVAL),
    }
}

/// `whence` of `fd_seek`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Whence {
    Set,
    Cur,
    End,
}

impl<'a> arbitrary::Arbitrary<'a> for Whence {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(*u.choose(&[Whence::Set, Whence::Cur, Whence::End])?)
    }
}

impl Whence {
    pub fn raw(self) -> u32 {
        match self {
            Whence::Set => 0,
            Whence::Cur => 1,
            Whence::End => 2,
        }
    }
}

// ---------------------------------------------------------------------------
// Components: wasi-memfd's `wasi:filesystem` on a memory file, as
// tests/host/component.rs pins it down.

/// Most bytes one `read` or stream read returns (wasi-memfd's stream
/// chunk).
pub const MAX_READ: u64 = 1 << 20;

/// `descriptor.read(len, offset)`: one `pread` of at most 1 MiB; `eof` is
/// set exactly when it returned nothing (so a read of 0 bytes is `eof`).
pub fn component_read(data: &[u8], len: u64, offset: u64) -> Result<(Vec<u8>, bool), FsError> {
    let count = len.min(MAX_READ);
    if !kernel_range_ok(offset, count) {
        return Err(FsError::Invalid);
    }
    let bytes = slice_at(data, offset, count);
    let eof = bytes.is_empty();
    Ok((bytes, eof))
}

/// `data[offset..offset + count]`, cut at the end of `data`.
pub fn slice_at(data: &[u8], offset: u64, count: u64) -> Vec<u8> {
    let size = data.len() as u64;
    if offset >= size {
        return Vec::new();
    }
    data[offset as usize..(offset + count).min(size) as usize].to_vec()
}

/// What `descriptor.write(data, offset)` answers on a memory file.
#[derive(Debug, PartialEq, Eq)]
pub enum ComponentWrite {
    /// Exactly this.
    Exact(Result<u64, FsError>),
}

/// `descriptor.write` of `len` bytes at `offset`: a read-only descriptor
/// is refused (`not-permitted`); a writable file keeps its size, so the
/// bytes that fit before its end are written (`file-too-large` once none
/// fit), as WASIp1's `fd_pwrite` does.
pub fn component_write(writable: bool, size: u64, offset: u64, len: u64) -> ComponentWrite {
    use ComponentWrite::*;
    if !writable {
        return Exact(Err(FsError::NotPermitted));
    }
    if len == 0 {
        return Exact(Ok(0));
    }
    let fits = size.saturating_sub(offset).min(len);
    if fits == 0 {
        Exact(Err(FsError::FileTooLarge))
    } else {
        Exact(Ok(fits))
    }
}

/// `descriptor.set-size`: a read-only descriptor is refused
/// (`not-permitted`); a writable file keeps its size, so only its own size
/// is allowed (`not-permitted` for any other, as the seals answer).
pub fn component_set_size(writable: bool, size: u64, new: u64) -> Result<(), FsError> {
    if writable && new == size {
        Ok(())
    } else {
        Err(FsError::NotPermitted)
    }
}
