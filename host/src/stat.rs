//! What every node of wasi-memfd (a memory file, a directory or a symlink
//! of a memory directory) reports of itself, in no ABI's types: [`Stat`],
//! its [`Kind`] and [`Times`], the inode numbers and the clock they come
//! from. Each ABI only translates a [`Stat`] (WASIp1's `filestat`,
//! `wasi:filesystem`'s `descriptor-stat`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The device number every memory file and directory reports, as
/// wasmtime-wasi reports 1 for every file it serves.
pub(crate) const DEV: u64 = 1;

/// A new inode number: unique in the process, never 0.
pub(crate) fn next_ino() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Nanoseconds since the Unix epoch, now.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// What a node is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Dir,
    Symlink,
}

/// A node's times, in nanoseconds since the Unix epoch. `ctime` is the
/// birth time, as wasmtime-wasi reports (statx `btime`): it never changes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Times {
    pub(crate) atime: u64,
    pub(crate) mtime: u64,
    pub(crate) ctime: u64,
}

impl Times {
    pub(crate) fn now() -> Times {
        let t = now();
        Times {
            atime: t,
            mtime: t,
            ctime: t,
        }
    }

    /// Applies a `set-times`: each `Some` replaces its time.
    pub(crate) fn set(&mut self, atime: Option<u64>, mtime: Option<u64>) {
        if let Some(t) = atime {
            self.atime = t;
        }
        if let Some(t) = mtime {
            self.mtime = t;
        }
    }
}

/// What `stat` reports of a node, in no ABI's types.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Stat {
    pub(crate) kind: Kind,
    pub(crate) ino: u64,
    pub(crate) nlink: u64,
    pub(crate) size: u64,
    pub(crate) times: Times,
}
