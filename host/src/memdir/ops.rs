//! The operations on a memory directory, one per WASI path call, in no
//! ABI's types: each ABI translates its flags in and its errors out
//! (`FsError` is mapped once per ABI). Every answer is the one
//! wasmtime-wasi gives for a real directory on Linux, as
//! `host/src/memdir/path.rs` resolves paths; the trailing-slash rules of
//! each call are noted where they differ.

use std::sync::Arc;

use super::path::{self, lookup, lookup_dir, one_plain_name};
use super::tree::{Dir, Node, Symlink, NAME_MAX};
use super::{DirRef, Mount};
use crate::backend::{self, Seal};
use crate::error::FsError;
use crate::limits::Slot;
use crate::memfile::{Held, MemFile};
use crate::stat::Stat;

/// How a file is opened.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct OpenFlags {
    /// Make it if missing.
    pub(crate) create: bool,
    /// With `create`: fail if it exists (never following a link).
    pub(crate) exclusive: bool,
    /// Cut it to 0 bytes.
    pub(crate) truncate: bool,
    /// It must be a directory.
    pub(crate) directory: bool,
}

/// The access a handle asked for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Access {
    pub(crate) read: bool,
    pub(crate) write: bool,
}

impl Access {
    /// A `from-bytes` or preopened file's handle: open for reading, and
    /// for writing unless the file is read-only.
    pub(crate) fn whole(file: &MemFile) -> Access {
        Access {
            read: true,
            write: !file.is_read_only(),
        }
    }
}

/// What `open` opened.
#[derive(Debug)]
pub(crate) enum Opened {
    Dir(DirRef),
    /// A file, with the access the handle has: `create` and `truncate`
    /// force write access, and not asking for write access means read
    /// access.
    File(Held, Access),
}

/// Checks a name a call is about to create.
fn check_new_name(name: &str) -> Result<(), FsError> {
    if name.len() > NAME_MAX {
        Err(FsError::Nametoolong)
    } else if name == "." || name == ".." {
        Err(FsError::Exist)
    } else {
        Ok(())
    }
}

impl Mount {
    /// A new empty growable file, charged one slot.
    fn new_file(&self) -> Result<Arc<MemFile>, FsError> {
        let charge = self.ledger.admit(Slot::File, 0)?;
        let file = backend::create(self.backend, "memdir", &[], Seal::Growable)?;
        Ok(MemFile::new(
            Arc::new(file),
            0,
            Seal::Growable,
            self.backend,
            Some(charge),
        ))
    }
}

impl DirRef {
    /// `path_open` / `open-at`; `follow`: through a final symbolic link
    /// (the ABIs' lookup flag, apart from the open flags as in both).
    pub(crate) fn open(
        &self,
        path: &str,
        follow: bool,
        flags: OpenFlags,
        access: Access,
    ) -> Result<Opened, FsError> {
        if flags.directory && (flags.create || flags.exclusive || flags.truncate) {
            return Err(FsError::Inval);
        }
        // As wasmtime-wasi's `open_at`: read access unless write access
        // was asked for (`create` and `truncate` force write access, but
        // not asking for it still means read).
        let access = Access {
            read: access.read || !access.write,
            write: access.write || flags.create || flags.truncate,
        };
        path::check(path)?;
        let node = if flags.create {
            self.open_creating(path, follow, flags)?
        } else {
            lookup(&self.dir, path, follow)?
        };
        match node {
            Node::Symlink(_) => Err(FsError::Loop),
            Node::Dir(_) if access.write => Err(FsError::Isdir),
            Node::Dir(dir) => Ok(Opened::Dir(DirRef {
                mount: self.mount.clone(),
                dir,
            })),
            Node::File(_) if flags.directory => Err(FsError::Notdir),
            Node::File(file) => {
                if access.write && file.is_read_only() {
                    return Err(FsError::Acces);
                }
                // Made now (from preloaded bytes, or empty when cut), so
                // every handle shares one memory file.
                let file = file.hold();
                if flags.truncate {
                    file.set_len(0)?;
                } else {
                    file.fd()?;
                }
                Ok(Opened::File(file, access))
            }
        }
    }

    /// The node `open` with `create` opens, made if missing: a directory
    /// path is `EISDIR` (the kernel's `O_CREAT` on one; see below), a name
    /// taken is `EEXIST` with `exclusive` (never following), and a final
    /// link followed is opened as if its target had been named where the
    /// link is (still below the handle), so a dangling one makes its
    /// target.
    fn open_creating(&self, path: &str, follow: bool, flags: OpenFlags) -> Result<Node, FsError> {
        let dir = &self.dir;
        // Always from the handle, which stays the root: a link's target is
        // resolved from the link's directory by way of its path from there.
        let mut path = path.to_owned();
        let mut links = 0;
        loop {
            if path::names_a_dir(&path) {
                // Resolution errors first (a `..` above the handle is still
                // `EPERM`), then the kernel's answer to `O_CREAT` on a
                // directory path. A last name before the slashes need not
                // exist (`new/`): `EISDIR`. A last `.` or `..` makes every
                // name before it one the walk must find (`new/.` is
                // `ENOENT`), and names a directory that exists: `EEXIST`
                // with `O_EXCL`, else `EISDIR`.
                let trimmed = path.trim_end_matches('/');
                return match trimmed.rsplit('/').next() {
                    Some("." | "..") => {
                        lookup_dir(dir, trimmed)?;
                        Err(if flags.exclusive {
                            FsError::Exist
                        } else {
                            FsError::Isdir
                        })
                    }
                    _ => {
                        path::parent(dir, trimmed)?;
                        Err(FsError::Isdir)
                    }
                };
            }
            let (parent, name) = path::parent(dir, &path)?;
            match parent.get(&name) {
                Some(_) if flags.exclusive => return Err(FsError::Exist),
                Some(Node::Symlink(link)) if follow => {
                    links += 1;
                    if links > path::MAX_SYMLINKS {
                        return Err(FsError::Loop);
                    }
                    let target = link.target();
                    if target.starts_with('/') {
                        return Err(FsError::Perm);
                    }
                    let through = match path.rsplit_once('/') {
                        Some((dirname, _)) => format!("{dirname}/{target}"),
                        None => target.to_owned(),
                    };
                    // Open (or make) the link's target, from where it is,
                    // as if it had been named: a trailing slash is
                    // `EISDIR` again, a link is followed again.
                    path::check(target)?;
                    path = through;
                }
                Some(node) => return Ok(node),
                None => {
                    check_new_name(&name)?;
                    let file = self.mount.new_file()?;
                    parent.insert(&name, Node::File(file.clone()))?;
                    return Ok(Node::File(file));
                }
            }
        }
    }

    /// `path_create_directory` / `create-directory-at`. Trailing slashes
    /// are stripped (`x/.` is not: it names `.` in a missing `x`).
    pub(crate) fn create_dir(&self, path: &str) -> Result<(), FsError> {
        let trimmed = path.trim_end_matches('/');
        let (parent, name) =
            path::parent(&self.dir, if trimmed.is_empty() { path } else { trimmed })?;
        if parent.get(&name).is_some() {
            return Err(FsError::Exist);
        }
        check_new_name(&name)?;
        let charge = self.mount.ledger.admit(Slot::File, 0)?;
        let dir = Dir::new(Some(&parent), Some(charge));
        parent.insert(&name, Node::Dir(dir))
    }

    /// `path_remove_directory` / `remove-directory-at`: `x/` becomes `.` in
    /// `x`, which is `EINVAL`.
    pub(crate) fn remove_dir(&self, path: &str) -> Result<(), FsError> {
        let (parent, name) = path::parent(&self.dir, path)?;
        if name == "." {
            return Err(FsError::Inval);
        }
        match parent.get(&name).ok_or(FsError::Noent)? {
            Node::Dir(dir) if !dir.is_empty() => Err(FsError::Notempty),
            node @ Node::Dir(_) => {
                parent.take(&name);
                node.unlink();
                Ok(())
            }
            _ => Err(FsError::Notdir),
        }
    }

    /// `path_unlink_file` / `unlink-file-at`: a file or a symbolic link
    /// (never followed); a directory is `EISDIR`.
    pub(crate) fn unlink(&self, path: &str) -> Result<(), FsError> {
        let (parent, name) = path::parent(&self.dir, path)?;
        if name == "." {
            return Err(FsError::Isdir);
        }
        match parent.get(&name).ok_or(FsError::Noent)? {
            Node::Dir(_) => Err(FsError::Isdir),
            node => {
                parent.take(&name);
                node.unlink();
                Ok(())
            }
        }
    }

    /// `path_rename` / `rename-at`. Trailing slashes are stripped from both
    /// paths; if either had one, the source must be a directory and is
    /// never a link followed (`ENOTDIR`).
    pub(crate) fn rename(&self, from: &str, to_dir: &DirRef, to: &str) -> Result<(), FsError> {
        let slash = from.ends_with('/') || to.ends_with('/');
        let strip = |p: &str| -> String {
            let t = p.trim_end_matches('/');
            if t.is_empty() { p } else { t }.to_owned()
        };
        // Both directories first, then each last name as it is looked up.
        let (src_parent, src_name) = path::parent_any_len(&self.dir, &strip(from))?;
        let (dst_parent, dst_name) = path::parent_any_len(&to_dir.dir, &strip(to))?;
        if src_name.contains('\0') || dst_name.contains('\0') {
            return Err(FsError::Inval);
        }
        if src_name == "." || dst_name == "." {
            return Err(FsError::Busy);
        }
        if src_name == ".." || dst_name == ".." {
            return Err(FsError::Busy);
        }
        path::check_last(&src_name)?;
        let node = src_parent.get(&src_name).ok_or(FsError::Noent)?;
        path::check_last(&dst_name)?;
        if slash && !matches!(node, Node::Dir(_)) {
            return Err(FsError::Notdir);
        }
        if !Arc::ptr_eq(&self.mount, &to_dir.mount) {
            return Err(FsError::Xdev);
        }
        check_new_name(&dst_name)?;
        if dst_parent.lock().removed {
            // A removed directory takes no new names (the kernel's
            // `IS_DEADDIR`), checked before anything moves.
            return Err(FsError::Noent);
        }
        let replaced = dst_parent.get(&dst_name);
        if let Some(old) = &replaced {
            if old.same(&node) {
                // One node under both names (or one name): nothing to do.
                return Ok(());
            }
        }
        match (&node, &replaced) {
            (Node::Dir(dir), _) if dir.is_ancestor_of(&dst_parent) => return Err(FsError::Inval),
            // The target a directory holding the source (the kernel's
            // `trap` check, before the types are compared).
            (_, Some(Node::Dir(old))) if old.is_ancestor_of(&src_parent) => {
                return Err(FsError::Notempty)
            }
            (Node::Dir(_), Some(Node::Dir(old))) if !old.is_empty() => {
                return Err(FsError::Notempty)
            }
            (Node::Dir(_), Some(Node::Dir(_))) => {}
            (Node::Dir(_), Some(_)) => return Err(FsError::Notdir),
            (_, Some(Node::Dir(_))) => return Err(FsError::Isdir),
            _ => {}
        }
        if let Some(old) = dst_parent.take(&dst_name) {
            old.unlink();
        }
        let node = src_parent.take(&src_name).expect("looked up above");
        dst_parent
            .insert(&dst_name, node)
            .expect("the name was freed above and the directory lives");
        Ok(())
    }

    /// `path_link` / `link-at`: a new name for a file or a symbolic link
    /// (never followed: `follow` is `EINVAL`); a directory is `EPERM`.
    pub(crate) fn link(
        &self,
        from: &str,
        follow: bool,
        to_dir: &DirRef,
        to: &str,
    ) -> Result<(), FsError> {
        if follow {
            return Err(FsError::Inval);
        }
        // Both directories first, then each last name as it is looked up.
        let (src_parent, src_name) = path::parent_any_len(&self.dir, from)?;
        let (dst_parent, dst_name) = path::parent_any_len(&to_dir.dir, to)?;
        if src_name.contains('\0') || dst_name.contains('\0') {
            return Err(FsError::Inval);
        }
        path::check_last(&src_name)?;
        let node = if src_name == "." {
            Node::Dir(src_parent)
        } else {
            src_parent.get(&src_name).ok_or(FsError::Noent)?
        };
        if dst_name == "." || dst_name == ".." {
            return Err(FsError::Exist);
        }
        path::check_last(&dst_name)?;
        if dst_parent.get(&dst_name).is_some() {
            return Err(FsError::Exist);
        }
        if let Node::Dir(_) = node {
            return Err(FsError::Perm);
        }
        if !Arc::ptr_eq(&self.mount, &to_dir.mount) {
            return Err(FsError::Xdev);
        }
        check_new_name(&dst_name)?;
        dst_parent.insert(&dst_name, node.clone())?;
        node.link();
        Ok(())
    }

    /// `path_symlink` / `symlink-at`: the target is stored as given; an
    /// absolute one is `EPERM` (as wasmtime-wasi refuses it), an empty one
    /// `ENOENT`.
    pub(crate) fn symlink(&self, target: &str, path: &str) -> Result<(), FsError> {
        if target.starts_with('/') {
            return Err(FsError::Perm);
        }
        // The directory first, then `symlinkat`: its two strings, the
        // target, then the new name.
        let (parent, name) = path::parent_any_len(&self.dir, path)?;
        if target.contains('\0') || name.contains('\0') {
            return Err(FsError::Inval);
        }
        if target.is_empty() {
            return Err(FsError::Noent);
        }
        if target.len() >= path::PATH_MAX {
            return Err(FsError::Nametoolong);
        }
        path::check_last(&name)?;
        if name == "." || name == ".." || parent.get(&name).is_some() {
            return Err(FsError::Exist);
        }
        check_new_name(&name)?;
        let charge = self.mount.ledger.admit(Slot::File, target.len() as u64)?;
        parent.insert(&name, Node::Symlink(Symlink::new(target, Some(charge))))
    }

    /// `path_readlink` / `readlink-at`: the link's target (an absolute one,
    /// from a preloaded host tree, is `EPERM`); not a link is `EINVAL`.
    pub(crate) fn readlink(&self, path: &str) -> Result<String, FsError> {
        let (parent, name) = path::parent(&self.dir, path)?;
        if name == "." {
            return Err(FsError::Inval);
        }
        match parent.get(&name).ok_or(FsError::Noent)? {
            Node::Symlink(link) if link.target().starts_with('/') => Err(FsError::Perm),
            Node::Symlink(link) => Ok(link.target().to_owned()),
            _ => Err(FsError::Inval),
        }
    }

    /// The node `path` names, as `stat` finds it: without `follow`, a path
    /// that is one plain name (`f/`, `f/.`) is that name's node, slash or
    /// not, as wasmtime-wasi stats it.
    pub(crate) fn node_at(&self, path: &str, follow: bool) -> Result<Node, FsError> {
        path::check(path)?;
        if !follow {
            if let Some(name) = one_plain_name(path) {
                if name.len() > NAME_MAX {
                    return Err(FsError::Nametoolong);
                }
                return self.dir.get(name).ok_or(FsError::Noent);
            }
        }
        lookup(&self.dir, path, follow)
    }

    /// `path_filestat_get` / `stat-at`.
    pub(crate) fn stat_at(&self, path: &str, follow: bool) -> Result<Stat, FsError> {
        Ok(self.node_at(path, follow)?.stat())
    }

    /// `path_filestat_set_times` / `set-times-at`: with `follow`, the node
    /// the path leads to; without, the last component's own node (a link's
    /// own times), `x/` meaning `x`.
    pub(crate) fn set_times_at(
        &self,
        path: &str,
        follow: bool,
        atime: Option<u64>,
        mtime: Option<u64>,
    ) -> Result<(), FsError> {
        let node = if follow {
            lookup(&self.dir, path, true)?
        } else {
            let (parent, name) = path::parent_any_len(&self.dir, path)?;
            if atime.is_none() && mtime.is_none() {
                // `utimensat` with both times omitted looks nothing up.
                return if name.contains('\0') {
                    Err(FsError::Inval)
                } else {
                    Ok(())
                };
            }
            path::check_last(&name)?;
            if name == "." {
                Node::Dir(parent)
            } else if name == ".." {
                Node::Dir(lookup_dir(&parent, "..")?)
            } else {
                parent.get(&name).ok_or(FsError::Noent)?
            }
        };
        node.set_times(atime, mtime)
    }

    /// This directory's own `stat`.
    pub(crate) fn stat(&self) -> Stat {
        self.dir.stat()
    }

    /// Sets this directory's own times.
    pub(crate) fn set_times(&self, atime: Option<u64>, mtime: Option<u64>) {
        self.dir.lock().times.set(atime, mtime);
    }
}
