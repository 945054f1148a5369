//! The nodes of a memory directory: directories, files ([`MemFile`]s) and
//! symbolic links, shared by `Arc` between their names and every handle on
//! them, and charged to the guest's limits while any of those remains.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::error::FsError;
use crate::limits::Charge;
use crate::memfile::MemFile;
use crate::stat::{next_ino, now, Kind, Stat, Times};

/// The longest name, in bytes (Linux's `NAME_MAX`).
pub(crate) const NAME_MAX: usize = 255;

/// What a directory entry names.
#[derive(Clone, Debug)]
pub(crate) enum Node {
    Dir(Arc<Dir>),
    File(Arc<MemFile>),
    Symlink(Arc<Symlink>),
}

impl Node {
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Node::Dir(_) => Kind::Dir,
            Node::File(_) => Kind::File,
            Node::Symlink(_) => Kind::Symlink,
        }
    }

    pub(crate) fn ino(&self) -> u64 {
        match self {
            Node::Dir(d) => d.ino,
            Node::File(f) => f.ino(),
            Node::Symlink(s) => s.ino,
        }
    }

    pub(crate) fn stat(&self) -> Stat {
        match self {
            Node::Dir(d) => d.stat(),
            Node::File(f) => f.stat(),
            Node::Symlink(s) => s.stat(),
        }
    }

    /// Whether both name the same node (hard links of one file, or one
    /// name twice).
    pub(crate) fn same(&self, other: &Node) -> bool {
        match (self, other) {
            (Node::Dir(a), Node::Dir(b)) => Arc::ptr_eq(a, b),
            (Node::File(a), Node::File(b)) => Arc::ptr_eq(a, b),
            (Node::Symlink(a), Node::Symlink(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// Sets its access and modification times.
    pub(crate) fn set_times(&self, atime: Option<u64>, mtime: Option<u64>) -> Result<(), FsError> {
        match self {
            Node::Dir(d) => {
                d.lock().times.set(atime, mtime);
                Ok(())
            }
            Node::File(f) => f.set_times(atime, mtime),
            Node::Symlink(s) => {
                s.lock().times.set(atime, mtime);
                Ok(())
            }
        }
    }

    /// One more name for it (a hard link: files and symbolic links).
    pub(crate) fn link(&self) {
        match self {
            Node::Dir(_) => {}
            Node::File(f) => f.link(),
            Node::Symlink(s) => s.lock().links += 1,
        }
    }

    /// One name fewer: a file or symbolic link loses a link; a directory is
    /// removed (it keeps serving its open handles, empty).
    pub(crate) fn unlink(&self) {
        match self {
            Node::Dir(d) => d.lock().removed = true,
            Node::File(f) => f.unlink(),
            Node::Symlink(s) => {
                let mut inner = s.lock();
                inner.links = inner.links.saturating_sub(1);
            }
        }
    }
}

/// A directory.
#[derive(Debug)]
pub(crate) struct Dir {
    ino: u64,
    inner: Mutex<DirInner>,
    /// Its slot against the guest's limits (the root is the host's: none).
    _charge: Option<Charge>,
}

#[derive(Debug)]
pub(crate) struct DirInner {
    pub(crate) entries: BTreeMap<String, Node>,
    /// Its parent (none for the root).
    pub(crate) parent: Option<Weak<Dir>>,
    /// Removed (`rmdir`) while a handle was open: empty, and nothing can be
    /// made in it.
    pub(crate) removed: bool,
    pub(crate) times: Times,
    /// Subdirectories, for the link count (2 + subdirectories).
    subdirs: u64,
    /// Bumped by every change of the entries: a listing resumed at a
    /// cookie may skip ahead by name only while it is unchanged.
    generation: u64,
}

impl Dir {
    /// A new, empty directory under `parent` (none: a root).
    pub(crate) fn new(parent: Option<&Arc<Dir>>, charge: Option<Charge>) -> Arc<Dir> {
        Arc::new(Dir {
            ino: next_ino(),
            inner: Mutex::new(DirInner {
                entries: BTreeMap::new(),
                parent: parent.map(Arc::downgrade),
                removed: false,
                times: Times::now(),
                subdirs: 0,
                generation: 0,
            }),
            _charge: charge,
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, DirInner> {
        // Every field is consistent after each statement that changes it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn ino(&self) -> u64 {
        self.ino
    }

    /// Its entry `name`.
    pub(crate) fn get(&self, name: &str) -> Option<Node> {
        self.lock().entries.get(name).cloned()
    }

    /// Its parent, if it has one and it still exists.
    pub(crate) fn parent(&self) -> Option<Arc<Dir>> {
        self.lock().parent.as_ref()?.upgrade()
    }

    pub(crate) fn stat(&self) -> Stat {
        let inner = self.lock();
        Stat {
            kind: Kind::Dir,
            ino: self.ino,
            nlink: if inner.removed { 0 } else { 2 + inner.subdirs },
            // As ext4 reports a directory: no test of the suite reads it.
            size: 4096,
            times: inner.times,
        }
    }

    /// Adds `node` under `name`, which must be free; the directory must not
    /// be removed (`ENOENT`, as the kernel answers).
    pub(crate) fn insert(self: &Arc<Self>, name: &str, node: Node) -> Result<(), FsError> {
        let mut inner = self.lock();
        if inner.removed {
            return Err(FsError::Noent);
        }
        if inner.entries.contains_key(name) {
            return Err(FsError::Exist);
        }
        if let Node::Dir(d) = &node {
            d.lock().parent = Some(Arc::downgrade(self));
            inner.subdirs += 1;
        }
        inner.entries.insert(name.to_owned(), node);
        inner.times.mtime = now();
        inner.generation += 1;
        Ok(())
    }

    /// Takes the entry `name` out (the caller has checked it is there).
    pub(crate) fn take(&self, name: &str) -> Option<Node> {
        let mut inner = self.lock();
        let node = inner.entries.remove(name)?;
        if let Node::Dir(_) = node {
            inner.subdirs -= 1;
        }
        inner.times.mtime = now();
        inner.generation += 1;
        Some(node)
    }

    /// Whether it has no entries.
    pub(crate) fn is_empty(&self) -> bool {
        self.lock().entries.is_empty()
    }

    /// Whether it is `other` or one of `other`'s ancestors.
    pub(crate) fn is_ancestor_of(self: &Arc<Self>, other: &Arc<Dir>) -> bool {
        let mut at = Some(other.clone());
        while let Some(dir) = at {
            if Arc::ptr_eq(self, &dir) {
                return true;
            }
            at = dir.parent();
        }
        false
    }

    /// Entries in name order, from the first after `after` (or the first),
    /// at most `max` of them: name, inode number, kind.
    pub(crate) fn entries(&self, after: Option<&str>, max: usize) -> Vec<(String, u64, Kind)> {
        use std::ops::Bound;
        let inner = self.lock();
        let range = match after {
            Some(name) => inner
                .entries
                .range::<str, _>((Bound::Excluded(name), Bound::Unbounded)),
            None => inner.entries.range::<str, _>(..),
        };
        range
            .take(max)
            .map(|(name, node)| (name.clone(), node.ino(), node.kind()))
            .collect()
    }

    /// The number of entries.
    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// The entries' generation (see `DirInner::generation`).
    pub(crate) fn generation(&self) -> u64 {
        self.lock().generation
    }
}

impl Drop for Dir {
    /// Drops a whole subtree without recursion: a guest can nest
    /// directories as deep as its file limit allows, deeper than the stack.
    fn drop(&mut self) {
        let mut stack: Vec<Node> = std::mem::take(&mut self.lock().entries)
            .into_values()
            .collect();
        while let Some(node) = stack.pop() {
            if let Node::Dir(dir) = node {
                if let Ok(dir) = Arc::try_unwrap(dir) {
                    stack.extend(std::mem::take(&mut dir.lock().entries).into_values());
                }
            }
        }
    }
}

/// A symbolic link: its target, stored as given, never resolved when made.
#[derive(Debug)]
pub(crate) struct Symlink {
    ino: u64,
    target: String,
    inner: Mutex<SymlinkInner>,
    _charge: Option<Charge>,
}

#[derive(Debug)]
pub(crate) struct SymlinkInner {
    pub(crate) times: Times,
    pub(crate) links: u64,
}

impl Symlink {
    pub(crate) fn new(target: &str, charge: Option<Charge>) -> Arc<Symlink> {
        Arc::new(Symlink {
            ino: next_ino(),
            target: target.to_owned(),
            inner: Mutex::new(SymlinkInner {
                times: Times::now(),
                links: 1,
            }),
            _charge: charge,
        })
    }

    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    fn lock(&self) -> MutexGuard<'_, SymlinkInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn stat(&self) -> Stat {
        let inner = self.lock();
        Stat {
            kind: Kind::Symlink,
            ino: self.ino,
            nlink: inner.links,
            size: self.target.len() as u64,
            times: inner.times,
        }
    }
}
