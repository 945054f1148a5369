//! The WASIp1 path calls, and `fd_readdir`, on a memory directory's
//! directory fds: each only translates WASIp1's flags and layouts to the
//! memory directory's operations (`crate::memdir`) and their errors to
//! errnos.

use wasmtime_wasi::p1::types::{self, Errno};
use wiggle::{GuestMemory, GuestPtr};

use super::fds::{DirFd, Entry, FileFd};
use super::io::{filestat, Result};
use super::{err, fs_err, WasiMemfdP1Ctx};
use crate::memdir::{Access, DirRef, OpenFlags, Opened};
use crate::stat::{now, Kind};

/// `fst_flags` of a `set_times` call as the times to set: `X` and `X_NOW`
/// together are `EINVAL` (checked before anything else, as wasmtime-wasi
/// does); `X_NOW` is the host's clock now; neither leaves it as it is.
pub(super) fn times(
    atim: types::Timestamp,
    mtim: types::Timestamp,
    fst: types::Fstflags,
) -> Result<(Option<u64>, Option<u64>)> {
    use types::Fstflags as F;
    if fst.contains(F::ATIM | F::ATIM_NOW) || fst.contains(F::MTIM | F::MTIM_NOW) {
        return err(Errno::Inval);
    }
    let pick = |set: F, set_now: F, t: u64| {
        if fst.contains(set) {
            Some(t)
        } else if fst.contains(set_now) {
            Some(now())
        } else {
            None
        }
    };
    Ok((
        pick(F::ATIM, F::ATIM_NOW, atim),
        pick(F::MTIM, F::MTIM_NOW, mtim),
    ))
}

/// The path string a call passes (`EILSEQ` if it is not UTF-8), its
/// length charged to the hostcall fuel first, as wasmtime-wasi charges the
/// strings it reads.
pub(super) fn path_str(
    fuel: &mut usize,
    mem: &GuestMemory<'_>,
    path: GuestPtr<str>,
) -> Result<String> {
    super::io::charge(fuel, path.as_bytes())?;
    Ok(mem.as_cow_str(path)?.into_owned())
}

fn filetype(kind: Kind) -> u8 {
    match kind {
        Kind::Dir => types::Filetype::Directory as u8,
        Kind::File => types::Filetype::RegularFile as u8,
        Kind::Symlink => types::Filetype::SymbolicLink as u8,
    }
}

impl WasiMemfdP1Ctx {
    /// The memory directory `fd` names: a directory fd of wasi-memfd's
    /// (the caller routed it here).
    pub(super) fn mem_dir(&self, fd: types::Fd) -> Result<DirRef> {
        match self.fds.get(u32::from(fd)) {
            Some(Entry::Dir(d)) => Ok(d.dir.clone()),
            // Every path call but `path_open` says `EBADF` for a file.
            _ => err(Errno::Badf),
        }
    }

    /// `path_open` in a memory directory: a new fd of wasi-memfd's on the
    /// file or directory it opens.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn mem_path_open(
        &mut self,
        dir: DirRef,
        dirflags: types::Lookupflags,
        path: &str,
        oflags: types::Oflags,
        base: types::Rights,
        fdflags: types::Fdflags,
    ) -> Result<types::Fd> {
        use types::Fdflags as F;
        if fdflags.intersects(F::SYNC | F::DSYNC | F::RSYNC) {
            return err(Errno::Notsup);
        }
        let opened = dir
            .open(
                path,
                dirflags.contains(types::Lookupflags::SYMLINK_FOLLOW),
                OpenFlags {
                    create: oflags.contains(types::Oflags::CREAT),
                    exclusive: oflags.contains(types::Oflags::EXCL),
                    truncate: oflags.contains(types::Oflags::TRUNC),
                    directory: oflags.contains(types::Oflags::DIRECTORY),
                },
                Access {
                    read: base.contains(types::Rights::FD_READ),
                    write: base.contains(types::Rights::FD_WRITE),
                },
            )
            .map_err(fs_err)?;
        let entry = match opened {
            Opened::Dir(dir) => Entry::Dir(DirFd {
                dir,
                preopen: None,
                resume: None,
            }),
            Opened::File(file, access) => {
                let mut fd = FileFd::new(file, access);
                // Recorded, as wasmtime-wasi records them (memory I/O never
                // blocks).
                fd.flags = fdflags & (F::APPEND | F::NONBLOCK);
                Entry::File(fd)
            }
        };
        match self.fds.insert(entry) {
            Some(fd) => Ok(types::Fd::from(fd)),
            None => err(Errno::Nfile),
        }
    }

    /// `path_filestat_get` in a memory directory.
    pub(super) fn mem_path_filestat_get(
        &self,
        dir: &DirRef,
        flags: types::Lookupflags,
        path: &str,
    ) -> Result<types::Filestat> {
        let follow = flags.contains(types::Lookupflags::SYMLINK_FOLLOW);
        Ok(filestat(dir.stat_at(path, follow).map_err(fs_err)?))
    }

    /// `path_readlink` in a memory directory: the target, cut to `buf_len`
    /// bytes (as wasmtime-wasi cuts it, without an error).
    pub(super) fn mem_path_readlink(
        &self,
        mem: &mut GuestMemory<'_>,
        dir: &DirRef,
        path: &str,
        buf: GuestPtr<u8>,
        buf_len: types::Size,
    ) -> Result<types::Size> {
        let target = dir.readlink(path).map_err(fs_err)?;
        let n = target.len().min(buf_len as usize);
        mem.copy_from_slice(&target.as_bytes()[..n], buf.as_array(n as u32))?;
        Ok(n as types::Size)
    }

    /// `fd_readdir` on a memory directory: `.` and `..` first (both with
    /// the directory's own inode number, as wasmtime-wasi gives them), then
    /// the entries in name order; each record a 24-byte `dirent` and the
    /// name; cookies are positions. When the buffer fills, the part of the
    /// last record that fits is written and the call returns `buf_len`, as
    /// wasmtime-wasi does (a guest reads "maybe more" from a full buffer).
    /// A cookie is a position in the listing as it is at the call, as
    /// wasmtime-wasi's (which lists anew each call): entries added or
    /// removed meanwhile shift what a cookie finds.
    pub(super) fn mem_readdir(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: types::Fd,
        buf: GuestPtr<u8>,
        buf_len: types::Size,
        cookie: types::Dircookie,
    ) -> Result<types::Size> {
        let Some(Entry::Dir(d)) = self.fds.get_mut(u32::from(fd)) else {
            return err(Errno::Badf);
        };
        let own = d.dir.ino();
        // Each record takes at least a header: no more entries than that
        // can fit are looked at.
        let max = buf_len as usize / 24 + 1;
        let mut records: Vec<(u64, u64, String, u8)> = Vec::new();
        for (pos, name) in [(0u64, "."), (1, "..")] {
            if cookie <= pos {
                records.push((pos + 1, own, name.to_owned(), filetype(Kind::Dir)));
            }
        }
        if records.len() < max {
            // Entry `i` (from 0) is at position `i + 2`.
            let skip = cookie.saturating_sub(2);
            let generation = d.dir.generation();
            let entries = match &d.resume {
                Some((at, name, g)) if *at == cookie && cookie >= 2 && *g == generation => {
                    d.dir.entries(Some(name), max - records.len())
                }
                _ if skip > d.dir.len() as u64 => Vec::new(),
                _ => d
                    .dir
                    .entries(None, skip as usize + max - records.len())
                    .into_iter()
                    .skip(skip as usize)
                    .collect(),
            };
            let mut pos = cookie.max(2);
            for (name, ino, kind) in entries {
                pos += 1;
                records.push((pos, ino, name, filetype(kind)));
            }
        }
        let mut used: u32 = 0;
        let mut last_whole = None;
        for (next, ino, name, kind) in &records {
            let mut rec = Vec::with_capacity(24 + name.len());
            rec.extend_from_slice(&next.to_le_bytes());
            rec.extend_from_slice(&ino.to_le_bytes());
            rec.extend_from_slice(&(name.len() as u32).to_le_bytes());
            rec.extend_from_slice(&[*kind, 0, 0, 0]);
            rec.extend_from_slice(name.as_bytes());
            let room = (buf_len - used) as usize;
            let n = rec.len().min(room);
            mem.copy_from_slice(&rec[..n], buf.add(used)?.as_array(n as u32))?;
            used += n as u32;
            if n < rec.len() {
                break;
            }
            last_whole = Some((*next, name.clone()));
        }
        if let Some((next, name)) = last_whole {
            if next >= 3 {
                d.resume = Some((next, name, d.dir.generation()));
            }
        }
        Ok(used)
    }
}
