//! Memory directories: whole directory trees served from memory, preopened
//! for the guest at a path the host chooses, so unmodified programs (anything
//! that opens a path) get memory files too.
//!
//! The host describes a directory's first contents with a [`MemDir`] (empty,
//! preloaded from a host tree, or from names and bytes) and preopens it with
//! [`WasiMemfdCtxBuilder::preopened_mem_dir`](crate::WasiMemfdCtxBuilder::preopened_mem_dir).
//! Each context gets a tree of its own ([`tree`]), resolved as wasmtime-wasi
//! resolves real paths ([`path`]), changed by one operation per WASI call
//! ([`ops`]); the two ABIs only translate. Every regular file in it is a
//! memory file, a real fd, made when something first opens it.

mod ops;
mod path;
mod tree;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use crate::backend::{self, Backend, Seal};
use crate::error::ErrorCode;
use crate::limits::{Ledger, Slot, Usage};
use crate::memfile::MemFile;
use crate::stat::Kind;
use crate::MemoryFile;

pub(crate) use ops::{Access, OpenFlags, Opened};
pub(crate) use tree::Node;
use tree::{Dir, Symlink, NAME_MAX};

/// One memory directory in one context: what its nodes are charged to and
/// made with. Renames and links between two mounts are `EXDEV`.
#[derive(Debug)]
pub(crate) struct Mount {
    ledger: Ledger,
    backend: Backend,
}

/// A handle on a directory of a memory directory: what a guest's directory
/// fd or descriptor holds.
#[derive(Clone, Debug)]
pub(crate) struct DirRef {
    mount: Arc<Mount>,
    dir: Arc<Dir>,
}

impl DirRef {
    /// Whether both are the same directory.
    pub(crate) fn same(&self, other: &DirRef) -> bool {
        Arc::ptr_eq(&self.dir, &other.dir)
    }

    /// Its inode number.
    pub(crate) fn ino(&self) -> u64 {
        self.dir.ino()
    }

    /// Up to `max` entries (name, inode number, kind) in name order, from
    /// the one after `after` (or the first): `readdir` resumes where it left
    /// off with one lookup, however large the directory.
    pub(crate) fn entries(&self, after: Option<&str>, max: usize) -> Vec<(String, u64, Kind)> {
        self.dir.entries(after, max)
    }

    /// The number of entries.
    pub(crate) fn len(&self) -> usize {
        self.dir.len()
    }

    /// Changes with every entry added or removed.
    pub(crate) fn generation(&self) -> u64 {
        self.dir.generation()
    }
}

/// The first contents of a memory directory, described by the host: files
/// (each context's own writable copy, or sealed read-only content shared by
/// every context), directories and symbolic links. Cheap to clone: the bytes
/// are shared.
///
/// ```
/// use wasi_memfd::MemDir;
///
/// let mut dir = MemDir::new();
/// dir.file("config/app.json", br#"{"verbose": true}"#)?
///     .read_only_file("data/table.csv", b"a,b\n1,2\n")?
///     .dir("out")?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct MemDir {
    root: BTreeMap<String, Entry>,
}

/// A node of a [`MemDir`].
#[derive(Clone, Debug)]
enum Entry {
    Dir(BTreeMap<String, Entry>),
    /// Each context's own copy, writable and growable.
    File(Arc<[u8]>),
    /// Sealed, shared by every context built from the same builder.
    ReadOnly(Arc<[u8]>),
    Symlink(String),
}

fn invalid(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, msg)
}

impl MemDir {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the host directory tree at `path`, read now (the host tree
    /// is never written): regular files become files of each context's own
    /// (writable, growable), directories directories, symbolic links links
    /// with the same target (a link's target is never resolved on the
    /// host). Anything else (a device, a socket, a FIFO) is an error, as is
    /// a name that is not UTF-8.
    pub fn from_host_dir(path: impl AsRef<Path>) -> std::io::Result<Self> {
        let path = path.as_ref();
        let mut dir = MemDir::new();
        // Iteratively: a deep host tree must not overflow the stack.
        let mut todo = vec![(path.to_path_buf(), String::new())];
        while let Some((host, guest)) = todo.pop() {
            let context = |e: std::io::Error| {
                std::io::Error::new(e.kind(), format!("reading {}: {e}", host.display()))
            };
            for entry in std::fs::read_dir(&host).map_err(context)? {
                let entry = entry.map_err(context)?;
                let name = entry
                    .file_name()
                    .into_string()
                    .map_err(|n| invalid(format!("{}: {n:?} is not UTF-8", host.display())))?;
                let rel = if guest.is_empty() {
                    name
                } else {
                    format!("{guest}/{name}")
                };
                let full = entry.path();
                let kind = entry.file_type().map_err(context)?;
                if kind.is_dir() {
                    dir.dir(&rel)?;
                    todo.push((full, rel));
                } else if kind.is_file() {
                    let bytes = std::fs::read(&full).map_err(|e| {
                        std::io::Error::new(e.kind(), format!("reading {}: {e}", full.display()))
                    })?;
                    dir.file(&rel, &bytes)?;
                } else if kind.is_symlink() {
                    let target = std::fs::read_link(&full).map_err(context)?;
                    let target = target.into_os_string().into_string().map_err(|t| {
                        invalid(format!(
                            "{}: link target {t:?} is not UTF-8",
                            full.display()
                        ))
                    })?;
                    dir.symlink(&rel, &target)?;
                } else {
                    return Err(invalid(format!(
                        "{}: not a regular file, directory or symbolic link",
                        full.display()
                    )));
                }
            }
        }
        Ok(dir)
    }

    /// Adds a file at `path` (`/`-separated, relative; missing directories
    /// are made) holding `bytes`: each context gets its own writable copy.
    pub fn file(&mut self, path: &str, bytes: &[u8]) -> std::io::Result<&mut Self> {
        self.put(path, Entry::File(Arc::from(bytes)))
    }

    /// Adds a read-only file at `path` holding `bytes`: sealed when the
    /// directory is preopened, and shared by every context built from that
    /// builder (and its clones). The guest may rename or remove it (the
    /// directory is its own) but never write it: opening it for writing is
    /// `EACCES` (`access` for components).
    pub fn read_only_file(&mut self, path: &str, bytes: &[u8]) -> std::io::Result<&mut Self> {
        self.put(path, Entry::ReadOnly(Arc::from(bytes)))
    }

    /// Adds a directory at `path` (and any missing parent), as `mkdir -p`:
    /// a directory already there is fine, a file or link there an error.
    pub fn dir(&mut self, path: &str) -> std::io::Result<&mut Self> {
        let (parent, name) = self.parent_of(path)?;
        match parent
            .entry(name)
            .or_insert_with(|| Entry::Dir(BTreeMap::new()))
        {
            Entry::Dir(_) => Ok(self),
            _ => Err(invalid(format!("{path:?} is already a file or a link"))),
        }
    }

    /// Adds a symbolic link at `path` to `target` (stored as given).
    pub fn symlink(&mut self, path: &str, target: &str) -> std::io::Result<&mut Self> {
        if target.is_empty() || target.contains('\0') {
            return Err(invalid(format!("{target:?} is not a link target")));
        }
        self.put(path, Entry::Symlink(target.to_owned()))
    }

    fn put(&mut self, path: &str, entry: Entry) -> std::io::Result<&mut Self> {
        let (parent, name) = self.parent_of(path)?;
        if parent.contains_key(&name) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{path:?} is already in the directory"),
            ));
        }
        parent.insert(name, entry);
        Ok(self)
    }

    /// The map holding `path`'s last component (directories made as
    /// needed), and that component, checked.
    fn parent_of(&mut self, path: &str) -> std::io::Result<(&mut BTreeMap<String, Entry>, String)> {
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let bad = |why: &str| invalid(format!("{path:?}: {why}"));
        if parts.is_empty() || path.starts_with('/') {
            return Err(bad("not a relative path"));
        }
        for part in &parts {
            if *part == "." || *part == ".." || part.contains('\0') || part.len() > NAME_MAX {
                return Err(bad("a component is `.`, `..`, over 255 bytes or holds NUL"));
            }
        }
        let (name, dirs) = parts.split_last().expect("not empty");
        let mut map = &mut self.root;
        for dir in dirs {
            let entry = map
                .entry((*dir).to_owned())
                .or_insert_with(|| Entry::Dir(BTreeMap::new()));
            map = match entry {
                Entry::Dir(m) => m,
                _ => return Err(bad("a parent is a file or a link")),
            };
        }
        Ok((map, (*name).to_owned()))
    }

    /// What a context is charged for it from the start: its files,
    /// directories and links, and the bytes of its files (and of its links'
    /// targets). The runner adds this to its default limits.
    pub fn usage(&self) -> Usage {
        let mut count = (0, 0);
        let mut todo: Vec<&BTreeMap<String, Entry>> = vec![&self.root];
        while let Some(map) = todo.pop() {
            for entry in map.values() {
                count.0 += 1;
                match entry {
                    Entry::Dir(m) => todo.push(m),
                    Entry::File(b) | Entry::ReadOnly(b) => count.1 += b.len() as u64,
                    Entry::Symlink(t) => count.1 += t.len() as u64,
                }
            }
        }
        Usage {
            files: count.0,
            bytes: count.1,
        }
    }
}

/// A [`MemDir`] as a builder keeps it: its read-only files sealed (once,
/// shared by every context built from the builder and its clones).
#[derive(Clone, Debug)]
pub(crate) struct Template {
    root: BTreeMap<String, TEntry>,
}

#[derive(Clone, Debug)]
enum TEntry {
    Dir(BTreeMap<String, TEntry>),
    File(Arc<[u8]>),
    ReadOnly { file: Arc<File>, len: u64 },
    Symlink(String),
}

impl Template {
    /// Seals `dir`'s read-only files with `backend`.
    pub(crate) fn new(dir: &MemDir, backend: Backend) -> Result<Template, ErrorCode> {
        fn convert(
            map: &BTreeMap<String, Entry>,
            backend: Backend,
        ) -> Result<BTreeMap<String, TEntry>, ErrorCode> {
            map.iter()
                .map(|(name, entry)| {
                    let t = match entry {
                        Entry::Dir(m) => TEntry::Dir(convert(m, backend)?),
                        Entry::File(b) => TEntry::File(b.clone()),
                        Entry::ReadOnly(b) => TEntry::ReadOnly {
                            file: Arc::new(backend::create(backend, name, b, Seal::ReadOnly)?),
                            len: b.len() as u64,
                        },
                        Entry::Symlink(t) => TEntry::Symlink(t.clone()),
                    };
                    Ok((name.clone(), t))
                })
                .collect()
        }
        Ok(Template {
            root: convert(&dir.root, backend)?,
        })
    }

    /// A context's own tree of this template, charged to `ledger` (the host
    /// put it there: it is charged even past the limits, and the guest
    /// makes nothing more until it is under them again).
    pub(crate) fn instantiate(&self, ledger: &Ledger, backend: Backend) -> DirRef {
        let mount = Arc::new(Mount {
            ledger: ledger.clone(),
            backend,
        });
        let root = Dir::new(None, None);
        let mut todo = vec![(root.clone(), &self.root)];
        while let Some((dir, map)) = todo.pop() {
            for (name, entry) in map {
                let node = match entry {
                    TEntry::Dir(m) => {
                        let sub = Dir::new(Some(&dir), Some(ledger.force(Slot::File, 0)));
                        todo.push((sub.clone(), m));
                        Node::Dir(sub)
                    }
                    TEntry::File(bytes) => Node::File(MemFile::preloaded(
                        bytes.clone(),
                        backend,
                        ledger.force(Slot::File, bytes.len() as u64),
                    )),
                    TEntry::ReadOnly { file, len } => Node::File(MemFile::new(
                        file.clone(),
                        *len,
                        Seal::ReadOnly,
                        backend,
                        Some(ledger.force(Slot::File, *len)),
                    )),
                    TEntry::Symlink(target) => Node::Symlink(Symlink::new(
                        target,
                        Some(ledger.force(Slot::File, target.len() as u64)),
                    )),
                };
                dir.insert(name, node)
                    .expect("a fresh directory, unique names");
            }
        }
        DirRef { mount, dir: root }
    }
}

/// One entry of a memory directory, as the host walks it
/// ([`WasiMemfdCtx::mem_dir_entries`](crate::WasiMemfdCtx::mem_dir_entries)).
#[derive(Debug)]
pub struct MemDirEntry {
    /// Its path from the directory's root, `/`-separated.
    pub path: String,
    /// What it is.
    pub kind: MemDirEntryKind,
}

/// What a [`MemDirEntry`] is.
#[derive(Debug)]
#[non_exhaustive]
pub enum MemDirEntryKind {
    /// A directory (listed before its entries).
    Dir,
    /// A regular file.
    File(MemDirFile),
    /// A symbolic link, and its target.
    Symlink(String),
}

/// A file of a memory directory, as the host reads it: its bytes, or the
/// memory file itself for native code (with no copy).
#[derive(Debug)]
pub struct MemDirFile {
    file: Arc<MemFile>,
}

impl MemDirFile {
    /// Its size in bytes.
    pub fn size(&self) -> u64 {
        self.file.size()
    }

    /// All its bytes (a file nobody opened yet is read from the bytes it
    /// was preloaded with, making no memory file).
    pub fn read_all(&self) -> std::io::Result<Vec<u8>> {
        self.file.read_all()
    }

    /// Writes all its bytes to `out` without copying them into memory
    /// first: a memory file is read into `out` a chunk of at most 1 MiB at
    /// a time, and a file nobody opened yet is written from the bytes it
    /// was preloaded with (as with [`read_all`](Self::read_all), making no
    /// memory file). Returns how many bytes it wrote.
    pub fn write_to(&self, out: &mut impl std::io::Write) -> std::io::Result<u64> {
        self.file.copy_to(out)
    }

    /// The memory file, to hand to native code: a real fd, shared with the
    /// guest's handles (made now if nobody opened the file yet). It keeps
    /// the file, and its charge, while held.
    pub fn memory_file(&self) -> std::io::Result<MemoryFile> {
        Ok(MemoryFile::new(
            self.file.clone(),
            !self.file.is_read_only(),
        )?)
    }
}

impl DirRef {
    /// Every entry under this directory, depth first, each directory before
    /// its entries, names in order.
    pub(crate) fn walk(&self) -> Vec<MemDirEntry> {
        let mut out = Vec::new();
        let mut todo = vec![(self.dir.clone(), String::new())];
        while let Some((dir, prefix)) = todo.pop() {
            let entries: Vec<(String, Node)> = dir
                .lock()
                .entries
                .iter()
                .map(|(n, node)| (n.clone(), node.clone()))
                .collect();
            let mut subdirs = Vec::new();
            for (name, node) in entries {
                let path = if prefix.is_empty() {
                    name
                } else {
                    format!("{prefix}/{name}")
                };
                let kind = match node {
                    Node::Dir(d) => {
                        subdirs.push((d, path.clone()));
                        MemDirEntryKind::Dir
                    }
                    Node::File(file) => MemDirEntryKind::File(MemDirFile { file }),
                    Node::Symlink(s) => MemDirEntryKind::Symlink(s.target().to_owned()),
                };
                out.push(MemDirEntry { path, kind });
            }
            // Reversed, so the stack visits them in name order.
            todo.extend(subdirs.into_iter().rev());
        }
        out
    }
}
