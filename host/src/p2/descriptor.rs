//! wasi-memfd's own `wasi:filesystem` descriptors: every memory file the
//! guest holds (from `from-bytes`, `open-preopened`, or a memory directory)
//! and every directory of a memory directory. They live in the store's
//! shared `ResourceTable` beside wasmtime-wasi's descriptors, under the same
//! `descriptor` resource type; [`super::filesystem`] serves the ones that are
//! wasi-memfd's and passes every other to wasmtime-wasi.
//!
//! The operations here are the `wasi:filesystem` methods on them, in
//! wasmtime-wasi's async binding types, done at once (memory I/O never
//! waits); the rules they follow are `MemFile`'s and the memory
//! directory's, which WASIp1 shares.

use std::sync::Arc;

use wasmtime::component::{Resource, ResourceTable};
use wasmtime_wasi::filesystem::Descriptor;
use wasmtime_wasi::p2::bindings::clocks::wall_clock::Datetime;
use wasmtime_wasi::p2::bindings::filesystem::types as t;
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, FsError as WasiFsError, FsResult};

use super::streams::{self, MemInput, MemOutput};
use crate::error::FsError;
use crate::memdir::{Access, DirRef, Node, OpenFlags, Opened};
use crate::memfile::{Held, MemFile};
use crate::stat::{now, Kind, Stat, Times};

/// A wasi-memfd descriptor, in the table under the `descriptor` type.
pub(crate) enum MemDescriptor {
    File(FileDesc),
    Dir(DirDesc),
}

/// A descriptor on a memory file.
pub(crate) struct FileDesc {
    pub(crate) file: Held,
    /// What it was opened for.
    pub(crate) access: Access,
}

impl FileDesc {
    /// Whether the file is the guest's to change at all: a read-only
    /// `from-bytes` or preopened file is not (`not-permitted`, as
    /// wasmtime-wasi answers a read-only preopen's files).
    pub(crate) fn permitted(&self) -> bool {
        !self.file.is_read_only()
    }
}

/// A descriptor on a directory of a memory directory.
pub(crate) struct DirDesc {
    pub(crate) dir: DirRef,
    /// The preopened root: wasmtime-wasi opens a preopen path-only, so a
    /// few calls answer it differently (see `set_times`).
    pub(crate) preopen: bool,
}

/// A `directory-entry-stream` over a memory directory: lazy, one lookup
/// per entry, so a huge directory costs no more per call than a small one.
pub(crate) struct MemReaddir {
    dir: DirRef,
    after: Option<String>,
}

impl From<FsError> for WasiFsError {
    fn from(e: FsError) -> Self {
        e.error_code().into()
    }
}

/// The descriptor `fd` names, if it is wasi-memfd's.
pub(crate) fn get<'t>(
    table: &'t ResourceTable,
    fd: &Resource<Descriptor>,
) -> Option<&'t MemDescriptor> {
    table
        .get(&Resource::<MemDescriptor>::new_borrow(fd.rep()))
        .ok()
}

/// The directory-entry stream `stream` names, if it is wasi-memfd's.
pub(crate) fn get_readdir<'t>(
    table: &'t mut ResourceTable,
    stream: &Resource<t::DirectoryEntryStream>,
) -> Option<&'t mut MemReaddir> {
    table
        .get_mut(&Resource::<MemReaddir>::new_borrow(stream.rep()))
        .ok()
}

/// Puts `desc` in the table as a `descriptor`.
pub(crate) fn push(
    table: &mut ResourceTable,
    desc: MemDescriptor,
) -> wasmtime::Result<Resource<Descriptor>> {
    let rep = table.push(desc)?.rep();
    Ok(Resource::new_own(rep))
}

/// Takes `fd` out of the table if it is wasi-memfd's (`true`), dropping it.
pub(crate) fn drop_if_mine(table: &mut ResourceTable, fd: &Resource<Descriptor>) -> bool {
    if get(table, fd).is_none() {
        return false;
    }
    table
        .delete(Resource::<MemDescriptor>::new_own(fd.rep()))
        .is_ok()
}

/// Takes `stream` out of the table if it is wasi-memfd's.
pub(crate) fn drop_readdir_if_mine(
    table: &mut ResourceTable,
    stream: &Resource<t::DirectoryEntryStream>,
) -> bool {
    if get_readdir(table, stream).is_none() {
        return false;
    }
    table
        .delete(Resource::<MemReaddir>::new_own(stream.rep()))
        .is_ok()
}

fn datetime(ns: u64) -> Option<Datetime> {
    Some(Datetime {
        seconds: ns / 1_000_000_000,
        nanoseconds: (ns % 1_000_000_000) as u32,
    })
}

fn descriptor_type(kind: Kind) -> t::DescriptorType {
    match kind {
        Kind::File => t::DescriptorType::RegularFile,
        Kind::Dir => t::DescriptorType::Directory,
        Kind::Symlink => t::DescriptorType::SymbolicLink,
    }
}

/// A node's `stat` as a `descriptor-stat`.
pub(crate) fn descriptor_stat(stat: Stat) -> t::DescriptorStat {
    let Times {
        atime,
        mtime,
        ctime,
    } = stat.times;
    t::DescriptorStat {
        type_: descriptor_type(stat.kind),
        link_count: stat.nlink,
        size: stat.size,
        data_access_timestamp: datetime(atime),
        data_modification_timestamp: datetime(mtime),
        status_change_timestamp: datetime(ctime),
    }
}

/// A node's metadata hash, as wasmtime-wasi builds one from an inode.
pub(crate) fn metadata_hash(ino: u64) -> t::MetadataHashValue {
    t::MetadataHashValue {
        lower: ino,
        upper: ino ^ 0x4009_21FB_5444_2D18,
    }
}

/// A `new-timestamp` as a time to set (`None`: unchanged).
pub(crate) fn new_time(ts: t::NewTimestamp) -> Result<Option<u64>, FsError> {
    match ts {
        t::NewTimestamp::NoChange => Ok(None),
        t::NewTimestamp::Now => Ok(Some(now())),
        t::NewTimestamp::Timestamp(d) => d
            .seconds
            .checked_mul(1_000_000_000)
            .and_then(|ns| ns.checked_add(u64::from(d.nanoseconds)))
            .map(Some)
            .ok_or(FsError::Overflow),
    }
}

impl MemDescriptor {
    fn file(&self) -> Result<&FileDesc, FsError> {
        match self {
            MemDescriptor::File(f) => Ok(f),
            MemDescriptor::Dir(_) => Err(FsError::Badf),
        }
    }

    fn dir(&self) -> Result<&DirDesc, FsError> {
        match self {
            MemDescriptor::Dir(d) => Ok(d),
            MemDescriptor::File(_) => Err(FsError::Notdir),
        }
    }

    /// The memory file behind a file descriptor.
    pub(crate) fn memory_file(&self) -> Option<(&Arc<MemFile>, bool)> {
        match self {
            MemDescriptor::File(f) => Some((&f.file, f.access.write)),
            MemDescriptor::Dir(_) => None,
        }
    }

    pub(crate) fn stat(&self) -> FsResult<t::DescriptorStat> {
        Ok(descriptor_stat(match self {
            MemDescriptor::File(f) => f.file.stat(),
            MemDescriptor::Dir(d) => d.dir.stat(),
        }))
    }

    pub(crate) fn get_type(&self) -> FsResult<t::DescriptorType> {
        Ok(match self {
            MemDescriptor::File(_) => t::DescriptorType::RegularFile,
            MemDescriptor::Dir(_) => t::DescriptorType::Directory,
        })
    }

    pub(crate) fn get_flags(&self) -> FsResult<t::DescriptorFlags> {
        Ok(match self {
            MemDescriptor::File(f) => {
                let mut flags = t::DescriptorFlags::empty();
                if f.access.read {
                    flags |= t::DescriptorFlags::READ;
                }
                if f.access.write {
                    flags |= t::DescriptorFlags::WRITE;
                }
                flags
            }
            // Only a read-write preopen says it may mutate, as
            // wasmtime-wasi's (the directories opened in it still may).
            MemDescriptor::Dir(d) if d.preopen => {
                t::DescriptorFlags::READ | t::DescriptorFlags::MUTATE_DIRECTORY
            }
            MemDescriptor::Dir(_) => t::DescriptorFlags::READ,
        })
    }

    /// `sync`, `sync-data`: memory needs no syncing, on files and
    /// directories alike.
    pub(crate) fn sync(&self) -> FsResult<()> {
        Ok(())
    }

    pub(crate) fn advise(&self) -> FsResult<()> {
        self.file()?;
        Ok(())
    }

    pub(crate) fn set_size(&self, size: u64) -> FsResult<()> {
        let f = self.file()?;
        if !f.permitted() {
            return Err(t::ErrorCode::NotPermitted.into());
        }
        if !f.access.write {
            // `ftruncate` on a descriptor not open for writing.
            return Err(FsError::Inval.into());
        }
        Ok(f.file.set_len(size)?)
    }

    pub(crate) fn set_times(&self, atim: t::NewTimestamp, mtim: t::NewTimestamp) -> FsResult<()> {
        let (atime, mtime) = (new_time(atim)?, new_time(mtim)?);
        match self {
            MemDescriptor::File(f) if !f.permitted() => Err(t::ErrorCode::NotPermitted.into()),
            MemDescriptor::File(f) => Ok(f.file.set_times(atime, mtime)?),
            // wasmtime-wasi opens a preopen path-only: `futimens` on it is
            // `EBADF`, unless nothing is to change.
            MemDescriptor::Dir(d) if d.preopen && (atime.is_some() || mtime.is_some()) => {
                Err(FsError::Badf.into())
            }
            MemDescriptor::Dir(d) => {
                d.dir.set_times(atime, mtime);
                Ok(())
            }
        }
    }

    /// `read(len, offset)`: one read of at most a chunk; `end` is true when
    /// nothing was read.
    pub(crate) fn read(&self, len: u64, offset: u64) -> FsResult<(Vec<u8>, bool)> {
        let f = self.file()?;
        if !f.access.read {
            return Err(FsError::Badf.into());
        }
        let buf = streams::read_chunk_at(&f.file, len, offset)?;
        let end = buf.is_empty();
        Ok((buf, end))
    }

    /// `write(buffer, offset)`: the bytes that fit (all of them, unless the
    /// file has a fixed size).
    pub(crate) fn write(&self, buf: &[u8], offset: u64) -> FsResult<u64> {
        let f = self.file()?;
        if !f.permitted() {
            return Err(t::ErrorCode::NotPermitted.into());
        }
        if !f.access.write {
            return Err(FsError::Badf.into());
        }
        let (_, n) = f
            .file
            .write_with(offset, buf.len() as u64, false, |fd, at, room| {
                streams::write_at(fd, &buf[..room as usize], at)
            })?;
        Ok(n)
    }

    pub(crate) fn is_same_object(&self, other: &MemDescriptor) -> bool {
        match (self, other) {
            (MemDescriptor::File(a), MemDescriptor::File(b)) => Arc::ptr_eq(&a.file, &b.file),
            (MemDescriptor::Dir(a), MemDescriptor::Dir(b)) => a.dir.same(&b.dir),
            _ => false,
        }
    }

    pub(crate) fn metadata_hash(&self) -> FsResult<t::MetadataHashValue> {
        Ok(metadata_hash(match self {
            MemDescriptor::File(f) => f.file.ino(),
            MemDescriptor::Dir(d) => d.dir.ino(),
        }))
    }

    /// `read-via-stream`: a directory is `is-directory`; a file not open
    /// for reading gives a stream whose reads fail (`bad-descriptor`).
    pub(crate) fn read_stream(&self, offset: u64) -> FsResult<DynInputStream> {
        let f = match self {
            MemDescriptor::File(f) => f,
            MemDescriptor::Dir(_) => return Err(t::ErrorCode::IsDirectory.into()),
        };
        Ok(Box::new(MemInput::new(
            f.file.clone(),
            offset,
            f.access.read,
        )))
    }

    /// `write-via-stream` (`offset`) or `append-via-stream` (`None`).
    pub(crate) fn write_stream(&self, offset: Option<u64>) -> FsResult<DynOutputStream> {
        let f = self.file()?;
        if !f.permitted() {
            return Err(t::ErrorCode::NotPermitted.into());
        }
        Ok(Box::new(MemOutput::new(
            f.file.clone(),
            offset,
            f.access.write,
        )))
    }

    // ---- directories ----

    /// `open-at`: the descriptor to push.
    pub(crate) fn open_at(
        &self,
        path_flags: t::PathFlags,
        path: &str,
        open_flags: t::OpenFlags,
        flags: t::DescriptorFlags,
    ) -> FsResult<MemDescriptor> {
        let d = self.dir()?;
        let sync = t::DescriptorFlags::FILE_INTEGRITY_SYNC
            | t::DescriptorFlags::DATA_INTEGRITY_SYNC
            | t::DescriptorFlags::REQUESTED_WRITE_SYNC;
        if flags.intersects(sync) {
            return Err(t::ErrorCode::Unsupported.into());
        }
        let opened = d.dir.open(
            path,
            path_flags.contains(t::PathFlags::SYMLINK_FOLLOW),
            OpenFlags {
                create: open_flags.contains(t::OpenFlags::CREATE),
                exclusive: open_flags.contains(t::OpenFlags::EXCLUSIVE),
                truncate: open_flags.contains(t::OpenFlags::TRUNCATE),
                directory: open_flags.contains(t::OpenFlags::DIRECTORY),
            },
            Access {
                read: flags.contains(t::DescriptorFlags::READ),
                write: flags.contains(t::DescriptorFlags::WRITE),
            },
        )?;
        Ok(match opened {
            Opened::Dir(dir) => MemDescriptor::Dir(DirDesc {
                dir,
                preopen: false,
            }),
            Opened::File(file, access) => MemDescriptor::File(FileDesc { file, access }),
        })
    }

    pub(crate) fn create_directory_at(&self, path: &str) -> FsResult<()> {
        Ok(self.dir()?.dir.create_dir(path)?)
    }

    pub(crate) fn remove_directory_at(&self, path: &str) -> FsResult<()> {
        Ok(self.dir()?.dir.remove_dir(path)?)
    }

    pub(crate) fn unlink_file_at(&self, path: &str) -> FsResult<()> {
        Ok(self.dir()?.dir.unlink(path)?)
    }

    pub(crate) fn symlink_at(&self, target: &str, path: &str) -> FsResult<()> {
        Ok(self.dir()?.dir.symlink(target, path)?)
    }

    /// `readlink-at`: the whole target (never cut, unlike WASIp1's).
    pub(crate) fn readlink_at(&self, path: &str) -> FsResult<String> {
        Ok(self.dir()?.dir.readlink(path)?)
    }

    /// The node `path` names under this directory (through a final link
    /// if `path_flags` says to follow it).
    fn node_at(&self, path_flags: t::PathFlags, path: &str) -> FsResult<Node> {
        let follow = path_flags.contains(t::PathFlags::SYMLINK_FOLLOW);
        Ok(self.dir()?.dir.node_at(path, follow)?)
    }

    pub(crate) fn stat_at(&self, flags: t::PathFlags, path: &str) -> FsResult<t::DescriptorStat> {
        Ok(descriptor_stat(self.node_at(flags, path)?.stat()))
    }

    pub(crate) fn metadata_hash_at(
        &self,
        flags: t::PathFlags,
        path: &str,
    ) -> FsResult<t::MetadataHashValue> {
        Ok(metadata_hash(self.node_at(flags, path)?.ino()))
    }

    pub(crate) fn set_times_at(
        &self,
        path_flags: t::PathFlags,
        path: &str,
        atim: t::NewTimestamp,
        mtim: t::NewTimestamp,
    ) -> FsResult<()> {
        let follow = path_flags.contains(t::PathFlags::SYMLINK_FOLLOW);
        let (atime, mtime) = (new_time(atim)?, new_time(mtim)?);
        Ok(self.dir()?.dir.set_times_at(path, follow, atime, mtime)?)
    }

    /// `link-at`, `rename-at`: both descriptors must be directories of
    /// memory directories (a wasmtime-wasi directory on the other side is
    /// another filesystem: `cross-device`).
    pub(crate) fn link_at(
        &self,
        path_flags: t::PathFlags,
        old: &str,
        new_dir: Option<&MemDescriptor>,
        new: &str,
    ) -> FsResult<()> {
        let d = self.dir()?;
        let follow = path_flags.contains(t::PathFlags::SYMLINK_FOLLOW);
        let to = match new_dir {
            Some(n) => n.dir()?,
            None => {
                if follow {
                    return Err(FsError::Inval.into());
                }
                return Err(FsError::Xdev.into());
            }
        };
        Ok(d.dir.link(old, follow, &to.dir, new)?)
    }

    pub(crate) fn rename_at(
        &self,
        old: &str,
        new_dir: Option<&MemDescriptor>,
        new: &str,
    ) -> FsResult<()> {
        let d = self.dir()?;
        let to = new_dir.ok_or(FsError::Xdev)?.dir()?;
        Ok(d.dir.rename(old, &to.dir, new)?)
    }

    pub(crate) fn read_directory(&self) -> FsResult<MemReaddir> {
        let d = self.dir()?;
        Ok(MemReaddir {
            dir: d.dir.clone(),
            after: None,
        })
    }
}

impl MemReaddir {
    /// The next entry (no `.` or `..`, as wasmtime-wasi lists them).
    pub(crate) fn next(&mut self) -> FsResult<Option<t::DirectoryEntry>> {
        let Some((name, _, kind)) = self.dir.entries(self.after.as_deref(), 1).pop() else {
            return Ok(None);
        };
        self.after = Some(name.clone());
        Ok(Some(t::DirectoryEntry {
            type_: descriptor_type(kind),
            name,
        }))
    }
}
