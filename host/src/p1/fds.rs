//! wasi-memfd's own fd table for core modules.
//!
//! wasmtime-wasi's WASIp1 fd table is private, so memory-file fds live in a
//! table of their own, numbered from [`FIRST_FD`] up. wasmtime-wasi numbers
//! its fds from 0 (stdio, then preopened directories, then opened files)
//! and always takes the number after its highest, and its `fd_renumber`
//! only moves onto fds it already has (this layer refuses renumbering into
//! or out of the memory-file range), so the two ranges never meet short of
//! a guest holding 2^30 wasmtime-wasi fds at once. The numbers stay below
//! 2^31, so they are positive as a C `int` and a Go `int32`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::sync::Arc;

use wasmtime_wasi::p1::types::Fdflags;

/// The first memory-file fd number: 2^30.
pub const FIRST_FD: u32 = 1 << 30;
/// The last memory-file fd number: `i32::MAX`.
const LAST_FD: u32 = i32::MAX as u32;

/// One open memory-file fd.
#[derive(Debug)]
pub(crate) struct MemFd {
    /// The file, shared with the ledger's weak reference.
    pub(crate) file: Arc<File>,
    /// Whether the guest may write in place.
    pub(crate) writable: bool,
    /// The file's size, fixed when it was made (sealed on memfd; on shared
    /// memory this layer never changes it).
    pub(crate) size: u64,
    /// The fd's own offset (reads and writes use positioned I/O).
    pub(crate) pos: u64,
    /// Flags set by `fd_fdstat_set_flags`, reported by `fd_fdstat_get`.
    pub(crate) flags: Fdflags,
}

impl MemFd {
    pub(crate) fn new(file: Arc<File>, writable: bool, size: u64) -> Self {
        MemFd {
            file,
            writable,
            size,
            pos: 0,
            flags: Fdflags::empty(),
        }
    }
}

/// Open memory-file fds by number.
#[derive(Debug, Default)]
pub(crate) struct FdTable {
    open: BTreeMap<u32, MemFd>,
    /// Numbers given out before and closed since, reused lowest first (as
    /// many as the most fds ever open at once, which the limits bound).
    free: BTreeSet<u32>,
}

impl FdTable {
    /// Whether `fd` is in the memory-file range (open or not).
    pub(crate) fn in_range(fd: u32) -> bool {
        (FIRST_FD..=LAST_FD).contains(&fd)
    }

    /// Whether no memory-file fd is open.
    pub(crate) fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    pub(crate) fn get(&self, fd: u32) -> Option<&MemFd> {
        self.open.get(&fd)
    }

    pub(crate) fn get_mut(&mut self, fd: u32) -> Option<&mut MemFd> {
        self.open.get_mut(&fd)
    }

    /// Gives `entry` a number; `None` when every number is taken.
    pub(crate) fn insert(&mut self, entry: MemFd) -> Option<u32> {
        let fd = match self.free.pop_first() {
            Some(fd) => fd,
            None => match self.open.last_key_value() {
                Some((&last, _)) if last < LAST_FD => last + 1,
                Some(_) => return None,
                None => FIRST_FD,
            },
        };
        self.open.insert(fd, entry);
        Some(fd)
    }

    /// Closes `fd`, returning its entry.
    pub(crate) fn remove(&mut self, fd: u32) -> Option<MemFd> {
        let entry = self.open.remove(&fd)?;
        self.free.insert(fd);
        Some(entry)
    }

    /// Moves the open fd `from` onto the open fd `to`, closing `to`'s file.
    /// Returns false (and changes nothing) unless both are open.
    pub(crate) fn renumber(&mut self, from: u32, to: u32) -> bool {
        if !self.open.contains_key(&from) || !self.open.contains_key(&to) {
            return false;
        }
        if from != to {
            let entry = self.remove(from).expect("checked above");
            self.open.insert(to, entry);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> MemFd {
        MemFd::new(Arc::new(File::open("/dev/null").unwrap()), false, 0)
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
    fn renumber_needs_both_open() {
        let mut t = FdTable::default();
        let a = t.insert(entry()).unwrap();
        let b = t.insert(entry()).unwrap();
        assert!(!t.renumber(a, b + 5));
        assert!(t.renumber(a, b));
        assert!(t.get(a).is_none());
        assert!(t.get(b).is_some());
        assert!(t.renumber(b, b));
        // `a` is free again and reused.
        assert_eq!(t.insert(entry()), Some(a));
    }
}
