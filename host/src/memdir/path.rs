//! Path resolution inside a memory directory, as wasmtime-wasi resolves a
//! path in a real directory on Linux (`openat2` with `RESOLVE_BENEATH`):
//!
//! - the directory handle the call names is the root of that call: an
//!   absolute path, a `..` above it (at any depth, through symbolic links
//!   too) or a symbolic link with an absolute target is `EPERM`;
//! - every component but the last must be a directory (`ENOTDIR`) that
//!   exists (`ENOENT`); symbolic links in the middle are always followed,
//!   the last one only when asked; `..` is physical (the parent of where a
//!   link led); a trailing `/` (or `/.`) asks for a directory and follows a
//!   final link;
//! - at most 40 links are followed in one path (`ELOOP`, Linux's
//!   `MAXSYMLINKS`); a name is at most 255 bytes and a path under 4096
//!   (`ENAMETOOLONG`); an empty path is `ENOENT`, a NUL byte `EINVAL`.
//!
//! The work is bounded by the path's length and the links' targets: no
//! recursion, one lookup per component.

use std::collections::VecDeque;
use std::sync::Arc;

use super::tree::{Dir, Node, NAME_MAX};
use crate::error::FsError;

/// The longest path, in bytes, plus one (Linux's `PATH_MAX` counts the NUL).
pub(crate) const PATH_MAX: usize = 4096;
/// Most symbolic links followed in one resolution (Linux's `MAXSYMLINKS`).
pub(crate) const MAX_SYMLINKS: usize = 40;

/// Checks a path given by the guest: not empty, no NUL, short enough, not
/// absolute.
pub(crate) fn check(path: &str) -> Result<(), FsError> {
    if path.is_empty() {
        Err(FsError::Noent)
    } else if path.len() >= PATH_MAX {
        Err(FsError::Nametoolong)
    } else if path.contains('\0') {
        Err(FsError::Inval)
    } else if path.starts_with('/') {
        Err(FsError::Perm)
    } else {
        Ok(())
    }
}

/// Whether the path asks for a directory: it ends in `/` or `/.` (or is
/// `.` or ends in `..`, which name one).
pub(crate) fn names_a_dir(path: &str) -> bool {
    path.ends_with('/')
        || path.ends_with("/.")
        || path == "."
        || path == ".."
        || path.ends_with("/..")
}

/// The path's components in order: a trailing `/` becomes a final `.` (so
/// the last real component must be a directory), other empty ones go.
fn components(path: &str) -> VecDeque<String> {
    let mut parts: VecDeque<String> = path
        .split('/')
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    if path.ends_with('/') {
        parts.push_back(".".to_owned());
    }
    parts
}

/// Resolves `path` from `start` to the node it names, following a final
/// symbolic link if `follow`.
pub(crate) fn lookup(start: &Arc<Dir>, path: &str, follow: bool) -> Result<Node, FsError> {
    check(path)?;
    let mut stack = vec![start.clone()];
    let mut todo = components(path);
    let mut links = 0;
    while let Some(name) = todo.pop_front() {
        let last = todo.is_empty();
        let here = stack.last().expect("never empty").clone();
        match name.as_str() {
            "." => {
                if last {
                    return Ok(Node::Dir(here));
                }
                continue;
            }
            ".." => {
                if stack.len() == 1 {
                    return Err(FsError::Perm);
                }
                stack.pop();
                if last {
                    return Ok(Node::Dir(stack.last().expect("never empty").clone()));
                }
                continue;
            }
            _ => {}
        }
        if name.len() > NAME_MAX {
            return Err(FsError::Nametoolong);
        }
        let node = here.get(&name).ok_or(FsError::Noent)?;
        match node {
            Node::Dir(dir) => {
                if last {
                    return Ok(Node::Dir(dir));
                }
                stack.push(dir);
            }
            Node::File(_) if last => return Ok(node),
            Node::File(_) => return Err(FsError::Notdir),
            Node::Symlink(link) => {
                if last && !follow {
                    return Ok(Node::Symlink(link));
                }
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(FsError::Loop);
                }
                let target = link.target();
                if target.starts_with('/') {
                    return Err(FsError::Perm);
                }
                if target.is_empty() {
                    return Err(FsError::Noent);
                }
                // The target's components come first, then what followed
                // the link.
                for part in components(target).into_iter().rev() {
                    todo.push_front(part);
                }
            }
        }
    }
    // Only an empty component list gets here, which `check` refused.
    Err(FsError::Noent)
}

/// Resolves `path` from `start` to a directory (following a final link).
pub(crate) fn lookup_dir(start: &Arc<Dir>, path: &str) -> Result<Arc<Dir>, FsError> {
    match lookup(start, path, true)? {
        Node::Dir(dir) => Ok(dir),
        _ => Err(FsError::Notdir),
    }
}

/// The directory holding the last component of `path`, and that component,
/// as wasmtime-wasi's "via parent" calls split a path: a path that names a
/// directory (`x/`, `x/.`, `x/..`, `.`) is resolved whole, its last
/// component being `.`; otherwise everything before the last `/` is
/// resolved as a directory, and the last component is returned as given
/// (it may be `.` or `..`, which each call refuses its own way). Only the
/// part opened as a directory is checked as a path (`EINVAL` for a NUL,
/// `ENAMETOOLONG`, `EPERM` if absolute); the last component is checked as
/// the final system call takes it (a NUL, then its length).
pub(crate) fn parent(start: &Arc<Dir>, path: &str) -> Result<(Arc<Dir>, String), FsError> {
    let (dir, name) = parent_any_len(start, path)?;
    check_last(&name)?;
    Ok((dir, name))
}

/// [`parent`] without checking the last component, for the calls that
/// resolve two paths' directories before looking up either last component
/// (they check each with [`check_last`] as they look it up).
pub(crate) fn parent_any_len(start: &Arc<Dir>, path: &str) -> Result<(Arc<Dir>, String), FsError> {
    if path.is_empty() {
        return Err(FsError::Noent);
    }
    if names_a_dir(path) {
        check(path)?;
        return Ok((lookup_dir(start, path)?, ".".to_owned()));
    }
    let (dir, name) = match path.rsplit_once('/') {
        Some((dir, name)) => {
            // Nothing before the `/`: the root, an absolute path.
            let dir = if dir.is_empty() { "/" } else { dir };
            check(dir)?;
            (lookup_dir(start, dir)?, name)
        }
        None => (start.clone(), path),
    };
    Ok((dir, name.to_owned()))
}

/// A last component as the system call that takes it checks it: no NUL
/// (`EINVAL`), at most [`NAME_MAX`] bytes (`ENAMETOOLONG`).
pub(crate) fn check_last(name: &str) -> Result<(), FsError> {
    if name.contains('\0') {
        Err(FsError::Inval)
    } else if name.len() > NAME_MAX {
        Err(FsError::Nametoolong)
    } else {
        Ok(())
    }
}

/// Whether `path` is exactly one plain name once Rust's `Path::components`
/// has normalized it (trailing slashes and `.` components after the first
/// dropped): wasmtime-wasi then stats that name without following or
/// honouring the slash (`f/` stats the file `f`, `link/` the link itself).
pub(crate) fn one_plain_name(path: &str) -> Option<&str> {
    if path.starts_with("./") || path == "." {
        return None;
    }
    let mut names = path.split('/').filter(|c| !c.is_empty() && *c != ".");
    let name = names.next()?;
    (names.next().is_none() && name != "..").then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memdir::tree::Symlink;

    /// root/{d/{e/}, f (a file is not needed: links and dirs suffice)}.
    fn tree() -> (Arc<Dir>, Arc<Dir>, Arc<Dir>) {
        let root = Dir::new(None, None);
        let d = Dir::new(Some(&root), None);
        let e = Dir::new(Some(&d), None);
        root.insert("d", Node::Dir(d.clone())).unwrap();
        d.insert("e", Node::Dir(e.clone())).unwrap();
        (root, d, e)
    }

    fn dir_of(node: Node) -> Arc<Dir> {
        match node {
            Node::Dir(d) => d,
            other => panic!("not a directory: {other:?}"),
        }
    }

    #[test]
    fn dots_and_slashes() {
        let (root, d, e) = tree();
        assert!(Arc::ptr_eq(&dir_of(lookup(&root, "d", false).unwrap()), &d));
        assert!(Arc::ptr_eq(
            &dir_of(lookup(&root, "d//e/", false).unwrap()),
            &e
        ));
        assert!(Arc::ptr_eq(
            &dir_of(lookup(&root, "d/e/..", false).unwrap()),
            &d
        ));
        assert!(Arc::ptr_eq(
            &dir_of(lookup(&root, "./d/./e/../../d", false).unwrap()),
            &d
        ));
        assert!(Arc::ptr_eq(
            &dir_of(lookup(&root, ".", false).unwrap()),
            &root
        ));
        assert_eq!(lookup(&root, "..", false).unwrap_err(), FsError::Perm);
        assert_eq!(lookup(&root, "d/../..", false).unwrap_err(), FsError::Perm);
        // The call's handle is its root, even below the preopen.
        assert_eq!(lookup(&d, "../d", false).unwrap_err(), FsError::Perm);
        assert_eq!(lookup(&root, "/d", false).unwrap_err(), FsError::Perm);
        assert_eq!(lookup(&root, "", false).unwrap_err(), FsError::Noent);
        assert_eq!(lookup(&root, "x/../d", false).unwrap_err(), FsError::Noent);
        assert_eq!(lookup(&root, "d\0", false).unwrap_err(), FsError::Inval);
        assert_eq!(
            lookup(&root, &"a".repeat(256), false).unwrap_err(),
            FsError::Nametoolong
        );
        assert_eq!(
            lookup(&root, &"./".repeat(2048), false).unwrap_err(),
            FsError::Nametoolong
        );
    }

    #[test]
    fn symlinks() {
        let (root, d, e) = tree();
        root.insert("to_e", Node::Symlink(Symlink::new("d/e", None)))
            .unwrap();
        root.insert("up", Node::Symlink(Symlink::new("../x", None)))
            .unwrap();
        root.insert("abs", Node::Symlink(Symlink::new("/etc", None)))
            .unwrap();
        root.insert("self", Node::Symlink(Symlink::new("self", None)))
            .unwrap();
        // Followed in the middle, and at the end only when asked.
        assert!(Arc::ptr_eq(
            &dir_of(lookup(&root, "to_e/..", false).unwrap()),
            &d
        ));
        assert!(matches!(
            lookup(&root, "to_e", false).unwrap(),
            Node::Symlink(_)
        ));
        assert!(Arc::ptr_eq(
            &dir_of(lookup(&root, "to_e", true).unwrap()),
            &e
        ));
        assert!(Arc::ptr_eq(
            &dir_of(lookup(&root, "to_e/", false).unwrap()),
            &e
        ));
        assert_eq!(lookup(&root, "up", true).unwrap_err(), FsError::Perm);
        assert_eq!(lookup(&root, "abs", true).unwrap_err(), FsError::Perm);
        assert_eq!(lookup(&root, "self", true).unwrap_err(), FsError::Loop);
        // 40 links are followed, 41 are a loop.
        let mut prev = "d".to_owned();
        for i in 0..41 {
            let name = format!("l{i}");
            root.insert(&name, Node::Symlink(Symlink::new(&prev, None)))
                .unwrap();
            prev = name;
        }
        assert!(lookup(&root, "l39", true).is_ok());
        assert_eq!(lookup(&root, "l40", true).unwrap_err(), FsError::Loop);
    }

    #[test]
    fn parents_and_plain_names() {
        let (root, d, e) = tree();
        let (p, name) = parent(&root, "d/e/new").unwrap();
        assert!(Arc::ptr_eq(&p, &e) && name == "new");
        let (p, name) = parent(&root, "d/e/").unwrap();
        assert!(Arc::ptr_eq(&p, &e) && name == ".");
        let (p, name) = parent(&root, "d/e/..").unwrap();
        assert!(Arc::ptr_eq(&p, &d) && name == ".");
        let (p, name) = parent(&root, "new").unwrap();
        assert!(Arc::ptr_eq(&p, &root) && name == "new");
        assert_eq!(parent(&root, "x/new").unwrap_err(), FsError::Noent);
        assert_eq!(one_plain_name("f/"), Some("f"));
        assert_eq!(one_plain_name("f//./"), Some("f"));
        assert_eq!(one_plain_name("./f"), None);
        assert_eq!(one_plain_name("d/f"), None);
        assert_eq!(one_plain_name(".."), None);
    }
}
