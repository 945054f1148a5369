//! `--mem-dir` and `--mem-dir-out`: memory directories for the guest, and
//! their final trees written to the host.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use wasi_memfd::{MemDir, MemDirEntryKind, Usage, WasiMemfdCtx};

use crate::host_files::HostDir;

/// A `--mem-dir`: what it holds at start and where the guest sees it.
pub struct MemDirArg {
    pub dir: MemDir,
    pub guest: String,
}

/// A `--mem-dir-out`: the memory directory, and the host directory (opened
/// at start, checked empty) its final tree goes to.
pub struct Out {
    guest: String,
    host: PathBuf,
    dir: HostDir,
}

/// Parses a `--mem-dir GUEST` or `--mem-dir HOST::GUEST` and reads HOST's
/// tree (once, now: HOST is never written).
pub fn mem_dir(spec: &str) -> Result<MemDirArg> {
    let (dir, guest) = match spec.split_once("::") {
        Some((host, guest)) => {
            let dir = MemDir::from_host_dir(host)
                .with_context(|| format!("--mem-dir {spec}: copying {host}"))?;
            (dir, guest)
        }
        None => (MemDir::new(), spec),
    };
    if guest.is_empty() {
        bail!("--mem-dir {spec:?}: no guest path");
    }
    Ok(MemDirArg {
        dir,
        guest: guest.to_owned(),
    })
}

/// What the `--mem-dir` trees hold together, which the runner adds to its
/// default limits (the guest keeps the defaults' room on top of them).
pub fn preloaded(dirs: &[MemDirArg]) -> Usage {
    dirs.iter().fold(Usage::default(), |sum, d| {
        let u = d.dir.usage();
        Usage {
            files: sum.files + u.files,
            bytes: sum.bytes + u.bytes,
        }
    })
}

/// Parses a `--mem-dir-out GUEST::HOST`: GUEST must be a `--mem-dir`;
/// HOST is made if missing (with its parents) and must be empty; it is
/// opened now, before the guest runs.
pub fn out(spec: &str, dirs: &[MemDirArg]) -> Result<Out> {
    let Some((guest, host)) = spec.split_once("::") else {
        bail!("--mem-dir-out: expected GUEST::HOST, got {spec:?}");
    };
    if !dirs.iter().any(|d| d.guest == guest) {
        bail!("--mem-dir-out {spec}: no --mem-dir at {guest:?}");
    }
    let host = PathBuf::from(host);
    std::fs::create_dir_all(&host)
        .with_context(|| format!("--mem-dir-out {spec}: making {}", host.display()))?;
    let dir = HostDir::open(&host)
        .with_context(|| format!("--mem-dir-out {spec}: opening {}", host.display()))?;
    if !dir.is_empty()? {
        bail!(
            "--mem-dir-out {spec}: {} is not empty (the tree is written only into an empty directory)",
            host.display()
        );
    }
    Ok(Out {
        guest: guest.to_owned(),
        host,
        dir,
    })
}

impl Out {
    /// Writes the memory directory's tree as it is now into the host
    /// directory: directories, files and symbolic links (their targets as
    /// the guest wrote them, never followed). Every name is made with
    /// `O_EXCL`/`O_NOFOLLOW` relative to a directory the runner made and
    /// opened itself, so nothing is written outside HOST, whatever names or
    /// links the guest made; a name taken meanwhile (HOST must stay empty)
    /// is an error.
    pub fn write(&self, ctx: &WasiMemfdCtx) -> Result<()> {
        let what = || format!("--mem-dir-out {}::{}", self.guest, self.host.display());
        let entries = ctx
            .mem_dir_entries(&self.guest)
            .with_context(|| format!("{}: no memory directory", what()))?;
        if !self.dir.is_empty().with_context(what)? {
            bail!("{}: the directory is no longer empty", what());
        }
        let mut dirs: HashMap<String, HostDir> = HashMap::new();
        for entry in entries {
            let (parent, name) = match entry.path.rsplit_once('/') {
                Some((parent, name)) => (
                    dirs.get(parent)
                        .with_context(|| format!("{}: {}: no parent", what(), entry.path))?,
                    name,
                ),
                None => (&self.dir, entry.path.as_str()),
            };
            let name = OsStr::new(name);
            let at = || format!("{}: writing {}", what(), entry.path);
            match entry.kind {
                MemDirEntryKind::Dir => {
                    let made = parent.create_dir(name).with_context(at)?;
                    dirs.insert(entry.path.clone(), made);
                }
                MemDirEntryKind::File(file) => {
                    parent
                        .create_file(name, |out| file.write_to(out).map(drop))
                        .with_context(at)?;
                }
                MemDirEntryKind::Symlink(target) => {
                    parent
                        .create_symlink(name, OsStr::new(&target))
                        .with_context(at)?;
                }
                _ => bail!("{}: {}: an entry of an unknown kind", what(), entry.path),
            }
        }
        Ok(())
    }

    /// The host directory.
    pub fn host(&self) -> &Path {
        &self.host
    }
}

/// Raises this process's soft limit on open files to its hard limit, as
/// Go's runtime does. A file of a memory directory holds an fd (its memory
/// file) while it is open, or once it was written (a preloaded file nobody
/// changed gives its fd back on its last close); the runner's `--max-files`
/// bounds them, and where the process runs out of fds first the guest gets
/// `ENOSPC`, as from a full file system.
#[cfg(unix)]
pub fn raise_fd_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        // Best effort: the old limit still serves small guests.
        let _ = setrlimit(Resource::Nofile, limit);
    }
}

#[cfg(not(unix))]
pub fn raise_fd_limit() {}
