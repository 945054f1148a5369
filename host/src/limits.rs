//! What a store's guest may hold, and the ledger that checks it on every call.
//!
//! The ledger keeps a [`Weak`] to the `std::fs::File` behind every descriptor
//! the guest holds. A file's bytes and slot are given back when the last
//! strong reference goes, wherever that drop happens: in wasmtime-wasi's
//! filesystem code for components (a `Descriptor` or a stream over it), or in
//! wasi-memfd's own fd table for core modules. Dead entries are swept before
//! every check, so the totals are exact at the moment of the check.

use std::fs::File;
use std::sync::{Arc, Weak};

use crate::error::ErrorCode;

/// Default for [`Limits::max_file_size`]: 1 GiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 1 << 30;
/// Default for [`Limits::max_total_size`]: 4 GiB.
pub const DEFAULT_MAX_TOTAL_SIZE: u64 = 4 << 30;
/// Default for [`Limits::max_files`]: 1024.
pub const DEFAULT_MAX_FILES: usize = 1024;

/// Limits on one store's memory files, enforced on every call.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes one `from-bytes` file may hold.
    pub max_file_size: u64,
    /// Most bytes all files the guest made with `from-bytes` and still holds
    /// may hold together. Preopened files are the host's and do not count.
    pub max_total_size: u64,
    /// Most memory-file descriptors the guest may hold open at once, from
    /// `from-bytes` and `open-preopened` together.
    pub max_files: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            max_total_size: DEFAULT_MAX_TOTAL_SIZE,
            max_files: DEFAULT_MAX_FILES,
        }
    }
}

/// What a store's guest holds right now.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Memory-file descriptors open (each `open-preopened` counts once).
    pub files: usize,
    /// Bytes in the files the guest made with `from-bytes`.
    pub bytes: u64,
}

#[derive(Debug)]
struct Entry {
    file: Weak<File>,
    /// Bytes charged to the quota (0 for a preopened file).
    bytes: u64,
}

/// The files a store's guest holds, as weak references.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    entries: Vec<Entry>,
}

impl Ledger {
    /// What the guest holds now, after forgetting dropped files.
    pub(crate) fn usage(&mut self) -> Usage {
        self.entries.retain(|e| e.file.strong_count() > 0);
        Usage {
            files: self.entries.len(),
            bytes: self.entries.iter().map(|e| e.bytes).sum(),
        }
    }

    /// Checks that one more file charged `bytes` fits within `limits`.
    pub(crate) fn admit(&mut self, limits: &Limits, bytes: u64) -> Result<(), ErrorCode> {
        if bytes > limits.max_file_size {
            return Err(ErrorCode::FileTooLarge);
        }
        let usage = self.usage();
        if usage.files >= limits.max_files {
            return Err(ErrorCode::TooManyFiles);
        }
        if usage.bytes.saturating_add(bytes) > limits.max_total_size {
            return Err(ErrorCode::QuotaExceeded);
        }
        Ok(())
    }

    /// Records a file the guest now holds, charged `bytes`.
    pub(crate) fn record(&mut self, file: &Arc<File>, bytes: u64) {
        self.entries.push(Entry {
            file: Arc::downgrade(file),
            bytes,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> Arc<File> {
        Arc::new(File::open("/dev/null").unwrap())
    }

    #[test]
    fn every_limit_is_checked() {
        let limits = Limits {
            max_file_size: 10,
            max_total_size: 15,
            max_files: 2,
        };
        let mut ledger = Ledger::default();
        assert_eq!(ledger.admit(&limits, 11), Err(ErrorCode::FileTooLarge));
        let a = file();
        ledger.admit(&limits, 10).unwrap();
        ledger.record(&a, 10);
        assert_eq!(ledger.admit(&limits, 6), Err(ErrorCode::QuotaExceeded));
        ledger.admit(&limits, 5).unwrap();
        let b = file();
        ledger.record(&b, 5);
        assert_eq!(ledger.admit(&limits, 0), Err(ErrorCode::TooManyFiles));
        assert_eq!(
            ledger.usage(),
            Usage {
                files: 2,
                bytes: 15
            }
        );
    }

    #[test]
    fn dropping_the_last_reference_gives_bytes_and_slot_back() {
        let limits = Limits {
            max_file_size: 10,
            max_total_size: 10,
            max_files: 1,
        };
        let mut ledger = Ledger::default();
        let a = file();
        ledger.record(&a, 10);
        assert_eq!(ledger.admit(&limits, 1), Err(ErrorCode::TooManyFiles));
        let clone = a.clone();
        drop(a);
        assert_eq!(
            ledger.usage(),
            Usage {
                files: 1,
                bytes: 10
            }
        );
        drop(clone);
        assert_eq!(ledger.usage(), Usage::default());
        ledger.admit(&limits, 10).unwrap();
    }
}
