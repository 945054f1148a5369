//! Writing a guest's results to the host, never anywhere but the path the
//! user named.
//!
//! A guest that also has a writable `--dir` can plant symbolic links,
//! directories and files beside any path the runner writes to when the
//! guest exits. So every write goes through a handle on the target's
//! directory, opened once before the guest starts (renaming or replacing
//! that directory during the run changes nothing), and every name is made
//! with `O_CREAT | O_EXCL | O_NOFOLLOW` relative to it: nothing the guest
//! planted is ever followed, truncated or written through.

use std::ffi::{OsStr, OsString};
use std::io;
use std::path::Path;

use rustix::fd::OwnedFd;
use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};

/// A host directory, held open from before the guest runs.
#[derive(Debug)]
pub struct HostDir {
    fd: OwnedFd,
}

/// The permission bits and owner a file had when the runner started.
#[derive(Copy, Clone, Debug)]
pub struct Keep {
    mode: u32,
    uid: u32,
    gid: u32,
}

impl Keep {
    // `st_mode` is a `u16` on macOS.
    #[allow(clippy::unnecessary_cast)]
    fn of(st: &Stat) -> Self {
        Keep {
            mode: st.st_mode as u32 & 0o7777,
            uid: st.st_uid,
            gid: st.st_gid,
        }
    }
}

/// How many random names to try before giving up on a temporary file.
const ATTEMPTS: usize = 16;

impl HostDir {
    /// Opens the directory at `path` (following the path as given: it is the
    /// user's, named before the guest runs).
    pub fn open(path: &Path) -> io::Result<Self> {
        let fd = rustix::fs::open(
            path,
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(HostDir { fd })
    }

    /// What `name` is in this directory, without following a symbolic link;
    /// `None` if nothing has that name.
    pub fn lstat(&self, name: &OsStr) -> io::Result<Option<Stat>> {
        match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(st)),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Reads the regular file `name`, refusing a symbolic link or anything
    /// but a regular file. Returns its bytes and what to keep of it when it
    /// is written back.
    pub fn read_regular(&self, name: &OsStr) -> io::Result<(Vec<u8>, Keep)> {
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
            Mode::empty(),
        )
        .map_err(|e| match e {
            // O_NOFOLLOW on a symbolic link.
            rustix::io::Errno::LOOP => {
                io::Error::other("it is a symbolic link: name the file it points to")
            }
            e => e.into(),
        })?;
        let st = rustix::fs::fstat(&fd)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(io::Error::other("it is not a regular file"));
        }
        let mut bytes = Vec::new();
        io::Read::read_to_end(&mut std::fs::File::from(fd), &mut bytes)?;
        Ok((bytes, Keep::of(&st)))
    }

    /// Replaces the file `name` with `bytes`, atomically: a new file under a
    /// random name (`O_EXCL | O_NOFOLLOW`), given `keep`'s permission bits
    /// (and owner, where the runner may set it), synced, then renamed over
    /// `name`. `name` must be a regular file or missing: a symbolic link, a
    /// directory or anything else put there is refused, and left alone.
    pub fn replace_file(&self, name: &OsStr, bytes: &[u8], keep: Keep) -> io::Result<()> {
        match self.lstat(name)? {
            None => {}
            Some(st) => match FileType::from_raw_mode(st.st_mode) {
                FileType::RegularFile => {}
                FileType::Symlink => {
                    return Err(io::Error::other(
                        "it was replaced by a symbolic link while the guest ran; not followed, nothing written",
                    ))
                }
                FileType::Directory => {
                    return Err(io::Error::other(
                        "it was replaced by a directory while the guest ran; nothing written",
                    ))
                }
                _ => {
                    return Err(io::Error::other(
                        "it is no longer a regular file; nothing written",
                    ))
                }
            },
        }
        let (tmp, file) = self.create_temporary()?;
        let written = write_kept(file, bytes, keep).and_then(|()| {
            rustix::fs::renameat(&self.fd, &tmp, &self.fd, name).map_err(io::Error::from)
        });
        if written.is_err() {
            let _ = rustix::fs::unlinkat(&self.fd, &tmp, AtFlags::empty());
        }
        written
    }

    /// Makes a new regular file `name` (mode 0644 less the umask) and lets
    /// `fill` write its bytes; fails if anything has that name already.
    pub fn create_file(
        &self,
        name: &OsStr,
        fill: impl FnOnce(&mut std::fs::File) -> io::Result<()>,
    ) -> io::Result<()> {
        check_component(name)?;
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        )?;
        fill(&mut std::fs::File::from(fd))
    }

    /// Makes a new directory `name` (mode 0755 less the umask) and opens
    /// it; fails if anything has that name already.
    pub fn create_dir(&self, name: &OsStr) -> io::Result<HostDir> {
        check_component(name)?;
        rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(0o755))?;
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(HostDir { fd })
    }

    /// Makes a symbolic link `name` holding `target`, which is never
    /// followed by the runner; fails if anything has that name already.
    pub fn create_symlink(&self, name: &OsStr, target: &OsStr) -> io::Result<()> {
        check_component(name)?;
        rustix::fs::symlinkat(target, &self.fd, name).map_err(io::Error::from)
    }

    /// Whether the directory holds nothing but `.` and `..`.
    pub fn is_empty(&self) -> io::Result<bool> {
        let dup = rustix::fs::openat(
            &self.fd,
            ".",
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let mut dir = rustix::fs::Dir::read_from(&dup)?;
        while let Some(entry) = dir.read() {
            let name = entry?.file_name().to_bytes().to_vec();
            if name != b"." && name != b".." {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// A new file under a random name, open for writing.
    fn create_temporary(&self) -> io::Result<(OsString, std::fs::File)> {
        for _ in 0..ATTEMPTS {
            let tmp = random_name()?;
            match rustix::fs::openat(
                &self.fd,
                &tmp,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            ) {
                Ok(fd) => return Ok((tmp, std::fs::File::from(fd))),
                // Someone made that name: take another.
                Err(rustix::io::Errno::EXIST) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "no free temporary name",
        ))
    }
}

/// Writes `bytes` into the new file, gives it `keep`'s owner (where the
/// runner may) and permission bits, and syncs it.
fn write_kept(mut file: std::fs::File, bytes: &[u8], keep: Keep) -> io::Result<()> {
    io::Write::write_all(&mut file, bytes)?;
    let mut mode = keep.mode;
    let owner = (
        rustix::fs::Uid::from_raw(keep.uid),
        rustix::fs::Gid::from_raw(keep.gid),
    );
    let same_owner = owner.0 == rustix::process::geteuid() && owner.1 == rustix::process::getegid();
    if !same_owner && rustix::fs::fchown(&file, Some(owner.0), Some(owner.1)).is_err() {
        // Not permitted: the file stays the runner's; never hand out
        // set-id bits under another owner.
        mode &= !0o6000;
    }
    rustix::fs::fchmod(&file, Mode::from_raw_mode(mode as _))?;
    file.sync_all()
}

/// A file or directory name the runner makes: one component, not `.` or
/// `..`, no `/` or NUL (a guest's names are checked again here).
fn check_component(name: &OsStr) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = name.as_bytes();
    if bytes.is_empty()
        || bytes == b"."
        || bytes == b".."
        || bytes.contains(&b'/')
        || bytes.contains(&0)
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{name:?} is not a file name"),
        ));
    }
    Ok(())
}

/// `.wasi-memfd-<32 random hex digits>.tmp`.
fn random_name() -> io::Result<OsString> {
    use std::fmt::Write;
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| io::Error::other(e.to_string()))?;
    let mut name = String::from(".wasi-memfd-");
    for b in bytes {
        let _ = write!(name, "{b:02x}");
    }
    name.push_str(".tmp");
    Ok(name.into())
}
