//! [`MemFile`]: one memory file as wasi-memfd keeps it, whichever way the
//! guest got it (`from-bytes`, a preopened file, a file in a memory
//! directory), and the rules every ABI applies to it the same way: what it
//! allows ([`Seal`]), its size and its charge, its times and links, and the
//! positioned writes that grow it within the limits.
//!
//! Handles (WASIp1 fds, component descriptors, streams, [`MemoryFile`]s the
//! host keeps, a memory directory's names) share one `Arc<MemFile>`; its
//! [`Charge`] is given back when the last goes.
//!
//! [`MemoryFile`]: crate::MemoryFile

use std::fs::File;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::backend::{self, Backend, Seal};
use crate::error::{ErrorCode, FsError};
use crate::limits::Charge;
use crate::stat::{next_ino, now, Kind, Stat, Times};

/// A memory file: see the [module documentation](self).
#[derive(Debug)]
pub(crate) struct MemFile {
    ino: u64,
    seal: Seal,
    backend: Backend,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    content: Content,
    /// Its size (kept here: the kernel's is the same, but this is what the
    /// charge and the writes are checked against).
    size: u64,
    /// Its slot and bytes against the guest's limits; `None` for a
    /// preopened file, which its handles charge one slot each.
    charge: Option<Charge>,
    times: Times,
    /// Names it has in memory directories; 1 outside one.
    links: u64,
    /// Open handles ([`Held`]): while there is one, its memory file stays.
    held: u64,
    /// The bytes a memory directory was preloaded with, kept while its
    /// memory file holds exactly them (nothing has written or resized it,
    /// and no [`MemoryFile`](crate::MemoryFile) went to the host): when
    /// the last handle closes, the memory file is closed and the file goes
    /// back to these bytes, so reading a big preloaded tree holds one fd
    /// per file open at once, not one per file ever opened.
    pristine: Option<Arc<[u8]>>,
}

/// Where the bytes are.
#[derive(Clone, Debug)]
enum Content {
    /// A memory file.
    File(Arc<File>),
    /// Bytes a memory directory was preloaded with, made into a memory file
    /// of the guest's own the first time anything opens it (so a tree of
    /// many files holds no descriptor for the files nobody opens).
    Bytes(Arc<[u8]>),
}

impl MemFile {
    /// A memory file over `file`, `size` bytes long, charged `charge`.
    pub(crate) fn new(
        file: Arc<File>,
        size: u64,
        seal: Seal,
        backend: Backend,
        charge: Option<Charge>,
    ) -> Arc<MemFile> {
        Arc::new(MemFile {
            ino: next_ino(),
            seal,
            backend,
            state: Mutex::new(State {
                content: Content::File(file),
                size,
                charge,
                times: Times::now(),
                links: 1,
                held: 0,
                pristine: None,
            }),
        })
    }

    /// A growable file of a memory directory holding `bytes`, made into a
    /// memory file when first opened ([`MemFile::fd`]).
    pub(crate) fn preloaded(bytes: Arc<[u8]>, backend: Backend, charge: Charge) -> Arc<MemFile> {
        let size = bytes.len() as u64;
        Arc::new(MemFile {
            ino: next_ino(),
            seal: Seal::Growable,
            backend,
            state: Mutex::new(State {
                content: Content::Bytes(bytes),
                size,
                charge: Some(charge),
                times: Times::now(),
                links: 1,
                held: 0,
                pristine: None,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every field is consistent after each statement that changes it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether it is a file the kernel keeps from changing (read-only).
    pub(crate) fn is_read_only(&self) -> bool {
        self.seal == Seal::ReadOnly
    }

    /// Whether it grows and shrinks as it is written and cut: a file of a
    /// memory directory.
    pub(crate) fn is_growable(&self) -> bool {
        self.seal == Seal::Growable
    }

    /// Its size in bytes.
    pub(crate) fn size(&self) -> u64 {
        self.lock().size
    }

    /// The open memory file, made now from preloaded bytes if this is the
    /// first time it is needed.
    pub(crate) fn fd(&self) -> Result<Arc<File>, ErrorCode> {
        Self::made(self.backend, &mut self.lock(), true)
    }

    /// The open memory file, made now if the content is still preloaded
    /// bytes: holding them (`keep`, and the file goes back to them if
    /// nothing changes it), or empty (it is about to be cut to nothing: the
    /// bytes are never copied).
    fn made(backend: Backend, state: &mut State, keep: bool) -> Result<Arc<File>, ErrorCode> {
        let file = match &state.content {
            Content::File(file) => return Ok(file.clone()),
            Content::Bytes(bytes) => {
                let initial: &[u8] = if keep { bytes } else { &[] };
                let file = Arc::new(backend::create(
                    backend,
                    "preloaded",
                    initial,
                    Seal::Growable,
                )?);
                state.pristine = keep.then(|| bytes.clone());
                file
            }
        };
        state.content = Content::File(file.clone());
        Ok(file)
    }

    /// An open handle on it: its memory file, once made (by the caller, or
    /// by the first read or write), is kept until the last handle is
    /// dropped.
    pub(crate) fn hold(self: &Arc<Self>) -> Held {
        self.lock().held += 1;
        Held {
            file: self.clone(),
            slot: None,
        }
    }

    /// Its memory file (made now from preloaded bytes if need be), kept
    /// from now on whatever happens to the handles: the host holds it, and
    /// may change it in ways this file does not see. (While the returned
    /// `Arc` lives, no handle's drop can turn the file back into bytes.)
    pub(crate) fn keep(&self) -> Result<Arc<File>, ErrorCode> {
        let file = self.fd()?;
        self.lock().pristine = None;
        Ok(file)
    }

    /// All its bytes (read without the lock held, as [`MemFile::copy_to`]).
    pub(crate) fn read_all(&self) -> std::io::Result<Vec<u8>> {
        let content = self.lock().content.clone();
        match content {
            Content::File(file) => backend::read_all(&file),
            Content::Bytes(bytes) => Ok(bytes.to_vec()),
        }
    }

    /// Writes all its bytes to `out` (a memory file a chunk at a time, see
    /// [`backend::copy_to`]; preloaded bytes as they are, making no memory
    /// file). The lock is not held while `out` writes.
    pub(crate) fn copy_to(&self, out: &mut dyn std::io::Write) -> std::io::Result<u64> {
        let content = self.lock().content.clone();
        match content {
            Content::File(file) => backend::copy_to(&file, out),
            Content::Bytes(bytes) => {
                out.write_all(&bytes)?;
                Ok(bytes.len() as u64)
            }
        }
    }

    /// What `stat` reports.
    pub(crate) fn stat(&self) -> Stat {
        let state = self.lock();
        Stat {
            kind: Kind::File,
            ino: self.ino,
            nlink: state.links,
            size: state.size,
            times: state.times,
        }
    }

    /// Its inode number.
    pub(crate) fn ino(&self) -> u64 {
        self.ino
    }

    /// One more name in a memory directory.
    pub(crate) fn link(&self) {
        self.lock().links += 1;
    }

    /// One name fewer.
    pub(crate) fn unlink(&self) {
        let mut state = self.lock();
        state.links = state.links.saturating_sub(1);
    }

    /// Writes up to `len` bytes at `offset` (at the end of the file if
    /// `append`) with `write(fd, at, room)`, which writes at most `room`
    /// bytes at `at` and returns how many it wrote. The rules:
    /// - a growable file grows first, its charge with it (`EFBIG` past the
    ///   per-file limit, `EDQUOT` past the store's or the budget's bytes),
    ///   and gives back what a short write did not use;
    /// - a fixed-size file takes what fits before its end (`EFBIG` once
    ///   nothing fits);
    /// - a read-only file takes nothing (`EPERM`: the seals refuse it).
    ///
    /// Returns where the bytes went and how many.
    pub(crate) fn write_with(
        &self,
        offset: u64,
        len: u64,
        append: bool,
        write: impl FnOnce(&File, u64, u64) -> Result<u64, FsError>,
    ) -> Result<(u64, u64), FsError> {
        let fd = self.fd()?;
        let mut state = self.lock();
        let at = if append { state.size } else { offset };
        let room = match self.seal {
            Seal::ReadOnly => return Err(FsError::Perm),
            Seal::FixedSize => {
                let room = state.size.saturating_sub(at).min(len);
                if room == 0 && len > 0 {
                    return Err(FsError::Fbig);
                }
                room
            }
            Seal::Growable => {
                let end = at.checked_add(len).ok_or(FsError::Fbig)?;
                // Writing nothing grows nothing, wherever it is.
                if len > 0 && end > state.size {
                    if let Some(charge) = &mut state.charge {
                        charge.resize(end)?;
                    }
                }
                len
            }
        };
        if room == 0 {
            return Ok((at, 0));
        }
        // From here the bytes may change, even if the write fails part way.
        state.pristine = None;
        let result = write(&fd, at, room);
        let written = *result.as_ref().unwrap_or(&0);
        if result.is_err() && self.seal == Seal::Growable && at + room > state.size {
            // A write that failed part way may have grown the memory file
            // past what is charged and reported: back to that size.
            let _ = backend::set_len(&fd, state.size);
        }
        let size = if written > 0 {
            state.size.max(at + written)
        } else {
            state.size
        };
        Self::settle(&mut state, size);
        if written > 0 {
            state.times.mtime = now();
        }
        result.map(|n| (at, n))
    }

    /// Sets the size the state and the charge hold (a charge only ever
    /// shrinks here: growth was charged before the write).
    fn settle(state: &mut State, size: u64) {
        state.size = size;
        if let Some(charge) = &mut state.charge {
            if charge.bytes() > size {
                // Shrinking never fails.
                let _ = charge.resize(size);
            }
        }
    }

    /// Notes a read, as Linux's `relatime` does: the access time moves to
    /// now if it was not after the last modification, or is a day old.
    pub(crate) fn accessed(&self) {
        const DAY: u64 = 24 * 60 * 60 * 1_000_000_000;
        let mut state = self.lock();
        let t = now();
        let times = &mut state.times;
        if times.atime <= times.mtime || t.saturating_sub(times.atime) >= DAY {
            times.atime = t;
        }
    }

    /// Sets the size (`ftruncate`): a growable file grows (charged first)
    /// or shrinks; a fixed-size one accepts only its own size (as a sealed
    /// memfd does); a read-only one nothing (`EPERM`).
    pub(crate) fn set_len(&self, len: u64) -> Result<(), FsError> {
        match self.seal {
            Seal::ReadOnly => Err(FsError::Perm),
            Seal::FixedSize if len == self.size() => Ok(()),
            Seal::FixedSize => Err(FsError::Perm),
            Seal::Growable => {
                let mut state = self.lock();
                // Cut to nothing (`O_TRUNC`), preloaded bytes are not copied
                // into a memory file first.
                let fd = Self::made(self.backend, &mut state, len > 0)?;
                if len > state.size {
                    if let Some(charge) = &mut state.charge {
                        charge.resize(len)?;
                    }
                }
                if let Err(e) = backend::set_len(&fd, len) {
                    let size = state.size;
                    Self::settle(&mut state, size);
                    return Err(FsError::from_system(e));
                }
                Self::settle(&mut state, len);
                state.pristine = None;
                state.times.mtime = now();
                Ok(())
            }
        }
    }

    /// Sets its access and modification times (`None`: unchanged). Only a
    /// file of a memory directory's own: the metadata of a sealed or
    /// fixed-size file is fixed (`EPERM`).
    pub(crate) fn set_times(&self, atime: Option<u64>, mtime: Option<u64>) -> Result<(), FsError> {
        if self.seal != Seal::Growable {
            return Err(FsError::Perm);
        }
        self.lock().times.set(atime, mtime);
        Ok(())
    }
}

/// An open handle's hold on a [`MemFile`] (a WASIp1 fd, a component
/// descriptor or stream): it derefs to the file. While one exists the
/// file's memory file stays open; when the last is dropped, a preloaded file
/// nothing changed goes back to its bytes (see `State::pristine`).
///
/// A preopened file's handle also takes a file slot of its own
/// ([`Held::taking`]): the holds cloned from it (a component descriptor's
/// streams) share it, and the last of them gives it back.
#[derive(Debug)]
pub(crate) struct Held {
    file: Arc<MemFile>,
    slot: Option<Arc<Charge>>,
}

impl Held {
    /// This hold, taking `slot` until it and every clone of it are dropped.
    pub(crate) fn taking(mut self, slot: Charge) -> Self {
        self.slot = Some(Arc::new(slot));
        self
    }

    /// The file, this hold released.
    pub(crate) fn into_file(self) -> Arc<MemFile> {
        let file = self.file.clone();
        drop(self);
        file
    }
}

impl std::ops::Deref for Held {
    type Target = Arc<MemFile>;

    fn deref(&self) -> &Arc<MemFile> {
        &self.file
    }
}

impl Clone for Held {
    fn clone(&self) -> Self {
        self.file.lock().held += 1;
        Held {
            file: self.file.clone(),
            slot: self.slot.clone(),
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut state = self.file.lock();
        state.held = state.held.saturating_sub(1);
        if state.held > 0 {
            return;
        }
        // Back to the bytes only if nobody else has the memory file (a
        // read or write in flight on another thread, the host's).
        let state = &mut *state;
        if let (Some(bytes), Content::File(file)) = (&state.pristine, &state.content) {
            if Arc::strong_count(file) == 1 {
                state.content = Content::Bytes(bytes.clone());
                state.pristine = None;
            }
        }
    }
}
