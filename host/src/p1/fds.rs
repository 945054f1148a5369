//! wasi-memfd's fd table for core modules, beside wasmtime-wasi's.
//!
//! wasmtime-wasi's WASIp1 fd table is private, so wasi-memfd's fds live in a
//! table of their own:
//! - memory files (`from_bytes`, `open_preopened`, files opened in a memory
//!   directory) and directories opened in a memory directory are numbered
//!   from [`FIRST_FD`] (2^30) up. wasmtime-wasi numbers its fds from 0 and
//!   only ever gives out numbers it had or the one after its highest, so the
//!   ranges never meet short of a guest holding 2^30 of its fds;
//! - a memory directory's preopen sits among the low fds, where wasi-libc
//!   looks for preopens (from fd 3 up, stopping at the first `EBADF`): its
//!   number belongs to a placeholder preopened in wasmtime-wasi's table (an
//!   empty directory removed from the host once open, never reached), so
//!   wasmtime-wasi never gives the number to anything else.
//!
//! Guests renumber across both tables (`fd_renumber` of stdio onto a file,
//! of an opened directory onto a preopen), so the table also keeps:
//! - *aliases*: a wasmtime-wasi fd renumbered onto one of wasi-memfd's high
//!   numbers; calls on the alias are passed to wasmtime-wasi under its own
//!   number, which is *hidden* (answers `EBADF`) meanwhile;
//! - *backed* numbers: low numbers wasi-memfd serves over a placeholder in
//!   wasmtime-wasi's table (a preopen, or where an entry was renumbered onto
//!   a wasmtime-wasi fd); closing one hides it, keeping the placeholder.
//!
//! The numbers stay below 2^31, so they are positive as a C `int` and a Go
//! `int32`.

use std::collections::{BTreeMap, BTreeSet};

use wasmtime_wasi::p1::types::Fdflags;

use crate::memdir::{Access, DirRef};
use crate::memfile::Held;

/// The first number of wasi-memfd's own range: 2^30.
pub const FIRST_FD: u32 = 1 << 30;
/// The last: `i32::MAX`.
const LAST_FD: u32 = i32::MAX as u32;
/// Most entries open at once (wasmtime's `ResourceTable` default): the
/// table's memory stays bounded whatever a guest opens (a memory
/// directory's fds charge no file slot of their own).
const MAX_OPEN: usize = 1_000_000;

/// Where a memory file came from, which decides a few answers
/// ([`FileFd::origin`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// `from_bytes` or `open_preopened`: sealed or fixed-size, with the
    /// rights and answers `snapshot.rs` documents.
    Memfd,
    /// A file of a memory directory: answers as wasmtime-wasi answers for a
    /// file of a real directory.
    MemDir,
}

/// One open memory-file fd.
#[derive(Debug)]
pub(crate) struct FileFd {
    pub(crate) file: Held,
    pub(crate) access: Access,
    /// The fd's own offset (reads and writes use positioned I/O).
    pub(crate) pos: u64,
    /// Flags set by `path_open` or `fd_fdstat_set_flags`.
    pub(crate) flags: Fdflags,
}

/// One open directory fd of a memory directory.
#[derive(Debug)]
pub(crate) struct DirFd {
    pub(crate) dir: DirRef,
    /// The guest path, for a preopen.
    pub(crate) preopen: Option<String>,
    /// Where the last `fd_readdir` stopped: the cookie that resumes after
    /// the entry named, while the directory's entries are as they were
    /// (their generation), so paging through a large directory costs one
    /// lookup a call, not a walk from the start.
    pub(crate) resume: Option<(u64, String, u64)>,
}

/// An fd wasi-memfd serves.
#[derive(Debug)]
pub(crate) enum Entry {
    File(FileFd),
    Dir(DirFd),
    /// A wasmtime-wasi fd renumbered onto this number.
    Alias(u32),
}

/// What a guest's fd number names.
#[derive(Debug)]
pub(crate) enum Slot<'a> {
    Ours(&'a mut Entry),
    /// No fd: closed, or a wasmtime-wasi number hidden behind an alias.
    Closed,
    /// wasmtime-wasi's (this number in its table).
    Wasi(u32),
}

impl FileFd {
    pub(crate) fn new(file: Held, access: Access) -> Self {
        FileFd {
            file,
            access,
            pos: 0,
            flags: Fdflags::empty(),
        }
    }

    /// Where its file came from: the files of a memory directory are the
    /// only ones that grow, so the file says.
    pub(crate) fn origin(&self) -> Origin {
        if self.file.is_growable() {
            Origin::MemDir
        } else {
            Origin::Memfd
        }
    }
}

/// wasi-memfd's fds by number.
#[derive(Debug, Default)]
pub(crate) struct FdTable {
    open: BTreeMap<u32, Entry>,
    /// High numbers given out before and closed since, reused lowest first
    /// (as many as the most fds ever open at once, which the limits bound).
    free: BTreeSet<u32>,
    /// wasmtime-wasi numbers the guest may not reach: behind an alias, or a
    /// backed number whose entry was closed (its placeholder kept).
    hidden: BTreeSet<u32>,
    /// Low numbers served over a placeholder in wasmtime-wasi's table.
    backed: BTreeSet<u32>,
}

impl FdTable {
    /// Whether `fd` is in wasi-memfd's own range (open or not).
    pub(crate) fn in_range(fd: u32) -> bool {
        (FIRST_FD..=LAST_FD).contains(&fd)
    }

    /// Whether no fd of wasi-memfd's is open.
    pub(crate) fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// What `fd` names.
    pub(crate) fn slot(&mut self, fd: u32) -> Slot<'_> {
        if let Some(entry) = self.open.get_mut(&fd) {
            return Slot::Ours(entry);
        }
        if self.hidden.contains(&fd) || Self::in_range(fd) {
            return Slot::Closed;
        }
        Slot::Wasi(fd)
    }

    pub(crate) fn get(&self, fd: u32) -> Option<&Entry> {
        self.open.get(&fd)
    }

    pub(crate) fn get_mut(&mut self, fd: u32) -> Option<&mut Entry> {
        self.open.get_mut(&fd)
    }

    /// The memory file `fd` names, if it is one.
    pub(crate) fn file(&self, fd: u32) -> Option<&FileFd> {
        match self.open.get(&fd)? {
            Entry::File(f) => Some(f),
            _ => None,
        }
    }

    /// Gives `entry` a number of wasi-memfd's range; `None` when every
    /// number is taken or [`MAX_OPEN`] entries are open.
    pub(crate) fn insert(&mut self, entry: Entry) -> Option<u32> {
        if self.open.len() >= MAX_OPEN {
            return None;
        }
        let fd = match self.free.pop_first() {
            Some(fd) => fd,
            None => match self.open.range(FIRST_FD..).next_back() {
                Some((&last, _)) if last < LAST_FD => last + 1,
                Some(_) => return None,
                None => FIRST_FD,
            },
        };
        self.open.insert(fd, entry);
        Some(fd)
    }

    /// Serves the low number `fd` (a placeholder in wasmtime-wasi's table)
    /// with `entry`.
    pub(crate) fn insert_backed(&mut self, fd: u32, entry: Entry) {
        self.backed.insert(fd);
        self.hidden.remove(&fd);
        self.open.insert(fd, entry);
    }

    /// Closes `fd`, returning its entry: a high number is free for reuse;
    /// a backed one is hidden (its placeholder stays in wasmtime-wasi's
    /// table, so the number is never given to anything else).
    pub(crate) fn remove(&mut self, fd: u32) -> Option<Entry> {
        let entry = self.open.remove(&fd)?;
        if Self::in_range(fd) {
            self.free.insert(fd);
        } else if self.backed.contains(&fd) {
            self.hidden.insert(fd);
        }
        if let Entry::Alias(wasi) = entry {
            // The alias's own number is the guest's again (wasmtime-wasi
            // closes or moves it).
            self.hidden.remove(&wasi);
        }
        Some(entry)
    }

    /// Puts `entry` at `fd`, which must not be open: a high number, or a
    /// backed low one.
    pub(crate) fn put(&mut self, fd: u32, entry: Entry) {
        if Self::in_range(fd) {
            self.free.remove(&fd);
        } else {
            self.backed.insert(fd);
            self.hidden.remove(&fd);
        }
        if let Entry::Alias(wasi) = entry {
            self.hidden.insert(wasi);
        }
        self.open.insert(fd, entry);
    }

    /// Whether `fd` is a low number served over a placeholder.
    pub(crate) fn is_backed(&self, fd: u32) -> bool {
        self.backed.contains(&fd)
    }

    /// A low number wasi-memfd no longer serves (its placeholder was moved
    /// or closed in wasmtime-wasi's table): wasmtime-wasi's again.
    pub(crate) fn release_backed(&mut self, fd: u32) {
        self.backed.remove(&fd);
        self.hidden.remove(&fd);
    }

    /// A placeholder number wasi-memfd keeps (a closed preopen's), to
    /// duplicate when it needs another.
    pub(crate) fn any_placeholder(&self) -> Option<u32> {
        self.backed.first().copied()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::backend::{Backend, Seal};
    use crate::memfile::MemFile;

    fn entry() -> Entry {
        let file = Arc::new(std::fs::File::open("/dev/null").unwrap());
        Entry::File(FileFd::new(
            MemFile::new(file, 0, Seal::ReadOnly, Backend::Memfd, None).hold(),
            Access {
                read: true,
                write: false,
            },
        ))
    }

    #[test]
    fn numbers_start_at_the_base_and_are_reused_lowest_first() {
        let mut t = FdTable::default();
        let a = t.insert(entry()).unwrap();
        let b = t.insert(entry()).unwrap();
        let c = t.insert(entry()).unwrap();
        assert_eq!((a, b, c), (FIRST_FD, FIRST_FD + 1, FIRST_FD + 2));
        assert!(t.remove(a).is_some());
        assert!(t.remove(b).is_some());
        assert!(t.remove(b).is_none());
        assert_eq!(t.insert(entry()), Some(a));
        assert_eq!(t.insert(entry()), Some(b));
        assert_eq!(t.insert(entry()), Some(c + 1));
        assert!(FdTable::in_range(a) && !FdTable::in_range(3) && !FdTable::in_range(u32::MAX));
    }

    #[test]
    fn the_table_holds_at_most_max_open_entries() {
        let mut t = FdTable::default();
        for _ in 0..MAX_OPEN {
            t.insert(Entry::Alias(0)).unwrap();
        }
        assert_eq!(t.insert(Entry::Alias(0)), None);
        t.remove(FIRST_FD + 5);
        assert_eq!(t.insert(Entry::Alias(0)), Some(FIRST_FD + 5));
    }

    #[test]
    fn backed_numbers_are_hidden_when_closed_and_aliases_hide_their_target() {
        let mut t = FdTable::default();
        t.insert_backed(3, entry());
        assert!(matches!(t.slot(3), Slot::Ours(_)));
        assert!(matches!(t.slot(4), Slot::Wasi(4)));
        t.remove(3);
        assert!(matches!(t.slot(3), Slot::Closed), "the placeholder stays");
        let high = FIRST_FD;
        t.put(high, Entry::Alias(0));
        assert!(matches!(t.slot(0), Slot::Closed));
        t.remove(high);
        assert!(matches!(t.slot(0), Slot::Wasi(0)));
        assert!(matches!(t.slot(FIRST_FD + 7), Slot::Closed));
    }
}
