//! The reference directory on the host: a fresh folder (on `/dev/shm` when
//! there is one, a tmpfs, else the system's temporary directory), filled as
//! the memory directory is preloaded, walked to compare the two trees and
//! to count what the memory directory should charge.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use wasi_memfd::{MemDir, MemDirEntryKind, Usage};

use super::ops::Preload;

/// A node of a tree, as both sides are compared at the end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Dir,
    File(Vec<u8>),
    /// A file over [`WHOLE`] bytes (a sparse one, grown by set-size): its
    /// size and first [`HEAD`] bytes.
    Large {
        size: u64,
        head: Vec<u8>,
    },
    Symlink(Vec<u8>),
}

/// The most bytes of a file the trees compare whole.
const WHOLE: u64 = 2 << 20;
/// The bytes of a larger file they compare.
const HEAD: usize = 4096;

/// A file of `size` bytes as a [`Node`], its bytes read by `read_at`.
fn file_node(size: u64, read_at: impl Fn(&mut [u8], u64) -> std::io::Result<usize>) -> Node {
    let len = if size > WHOLE { HEAD } else { size as usize };
    let mut bytes = vec![0; len];
    let mut done = 0;
    while done < len {
        match read_at(&mut bytes[done..], done as u64).unwrap() {
            0 => break,
            n => done += n,
        }
    }
    bytes.truncate(done);
    if size > WHOLE {
        Node::Large { size, head: bytes }
    } else {
        Node::File(bytes)
    }
}

/// A whole tree: path (from the root, `/`-separated) to node.
pub type Tree = BTreeMap<String, Node>;

/// A fresh folder, removed (with whatever is left in it) when dropped.
pub struct TempDir {
    /// Where it is.
    pub path: PathBuf,
}

impl TempDir {
    /// A fresh, empty folder.
    pub fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = base.join(format!("wasi-memfd-paths-{}-{n}", std::process::id()));
        // A folder left by a crashed run with the same pid: start afresh.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir(&path).unwrap_or_else(|e| panic!("making {}: {e}", path.display()));
        TempDir { path }
    }
}

impl Default for TempDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Applies `preload` to a [`MemDir`] and to the host folder `root` alike:
/// an entry the `MemDir` refuses (a name taken, a parent that is a file)
/// is left out of both. Returns the `MemDir`.
pub fn preload(items: &[Preload], root: &Path) -> MemDir {
    use std::os::unix::ffi::OsStrExt;
    let mut dir = MemDir::new();
    for item in items {
        let (path, added) = match item {
            Preload::File { path, data } => (*path, dir.file(path, &data.bytes()).is_ok()),
            Preload::Dir { path } => (*path, dir.dir(path).is_ok()),
            Preload::Symlink { path, target } => {
                // A target the host cannot store (4096 bytes or more) is
                // left out too.
                let ok = target.0.len() < 4096
                    && std::str::from_utf8(&target.0).is_ok_and(|t| dir.symlink(path, t).is_ok());
                (*path, ok)
            }
        };
        if !added {
            continue;
        }
        let host = root.join(path);
        std::fs::create_dir_all(host.parent().unwrap()).unwrap();
        match item {
            Preload::File { data, .. } => std::fs::write(&host, data.bytes()).unwrap(),
            Preload::Dir { .. } => std::fs::create_dir_all(&host).unwrap(),
            Preload::Symlink { target, .. } => {
                std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(&target.0), &host).unwrap()
            }
        }
    }
    dir
}

/// Every entry below `root` on the host.
pub fn host_tree(root: &Path) -> Tree {
    use std::os::unix::ffi::OsStrExt;
    let mut tree = Tree::new();
    let mut todo = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().expect("UTF-8 names only");
            let path = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let kind = entry.file_type().unwrap();
            let node = if kind.is_dir() {
                todo.push((entry.path(), path.clone()));
                Node::Dir
            } else if kind.is_symlink() {
                let target = std::fs::read_link(entry.path()).unwrap();
                Node::Symlink(target.as_os_str().as_bytes().to_vec())
            } else {
                use std::os::unix::fs::FileExt;
                let file = std::fs::File::open(entry.path()).unwrap();
                let size = file.metadata().unwrap().len();
                file_node(size, |buf, at| file.read_at(buf, at))
            };
            tree.insert(path, node);
        }
    }
    tree
}

/// Every entry of a memory directory, as the host walks it.
pub fn mem_tree(ctx: &wasi_memfd::WasiMemfdCtx, guest_path: &str) -> Tree {
    ctx.mem_dir_entries(guest_path)
        .expect("the memory directory is preopened")
        .into_iter()
        .map(|e| {
            let node = match e.kind {
                MemDirEntryKind::Dir => Node::Dir,
                MemDirEntryKind::File(f) => {
                    use std::os::unix::fs::FileExt;
                    let size = f.size();
                    if size > WHOLE {
                        let file = f.memory_file().unwrap();
                        file_node(size, |buf, at| file.file().read_at(buf, at))
                    } else {
                        Node::File(f.read_all().unwrap())
                    }
                }
                MemDirEntryKind::Symlink(t) => Node::Symlink(t.into_bytes()),
                other => panic!("a memory directory entry of a new kind: {other:?}"),
            };
            (e.path, node)
        })
        .collect()
}

/// What the nodes with a name below `root` are charged, by the rule the
/// module documentation states: one file each (a node with several names
/// once), its bytes a file's size or a link's target's length, none for a
/// directory.
pub fn named_usage(root: &Path) -> Usage {
    let mut seen = BTreeSet::new();
    let mut usage = Usage::default();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.path().symlink_metadata().unwrap();
            if meta.is_dir() {
                todo.push(entry.path());
            }
            if !seen.insert(meta.ino()) {
                continue;
            }
            usage.files += 1;
            if !meta.is_dir() {
                // A link's size is its target's length.
                usage.bytes += meta.len();
            }
        }
    }
    usage
}
