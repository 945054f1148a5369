//! Not Unix: the runner never writes a guest's results to the host (no
//! memory file can be made there, so `--preopen-writable` already fails
//! when it attaches the file). The same interface as `host_files.rs`,
//! answering `Unsupported`.

use std::ffi::OsStr;
use std::io;
use std::path::Path;

/// A host directory (never opened here).
#[derive(Debug)]
pub struct HostDir;

/// What to keep of a replaced file (nothing here).
#[derive(Copy, Clone, Debug)]
pub struct Keep;

fn unsupported<T>() -> io::Result<T> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "writing guest results to the host needs a Unix host",
    ))
}

impl HostDir {
    pub fn open(_path: &Path) -> io::Result<Self> {
        unsupported()
    }

    pub fn read_regular(&self, _name: &OsStr) -> io::Result<(Vec<u8>, Keep)> {
        unsupported()
    }

    pub fn replace_file(&self, _name: &OsStr, _bytes: &[u8], _keep: Keep) -> io::Result<()> {
        unsupported()
    }

    pub fn create_file(
        &self,
        _name: &OsStr,
        _fill: impl FnOnce(&mut std::fs::File) -> io::Result<()>,
    ) -> io::Result<()> {
        unsupported()
    }

    pub fn create_dir(&self, _name: &OsStr) -> io::Result<HostDir> {
        unsupported()
    }

    pub fn create_symlink(&self, _name: &OsStr, _target: &OsStr) -> io::Result<()> {
        unsupported()
    }

    pub fn is_empty(&self) -> io::Result<bool> {
        unsupported()
    }
}
