//! No backend: where the platform has neither memfd nor POSIX shared
//! memory (or, for the memfd backend, off Linux), every call answers
//! [`UNSUPPORTED`], so no memory file is ever made.

use rustix::io::Errno;
use std::fs::File;

use super::{Blank, Seal, UNSUPPORTED};

pub(super) fn blank(_name: &str, _len: u64, _seal: Seal) -> Result<Blank, Errno> {
    Err(UNSUPPORTED)
}

pub(super) fn seal(_file: &File, _seal: Seal) -> Result<(), Errno> {
    Err(UNSUPPORTED)
}

pub(super) fn prepared(_capacity: u64) -> Result<File, Errno> {
    Err(UNSUPPORTED)
}
