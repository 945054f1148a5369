//! What a store's guest may hold, a [`Budget`] many stores share, and the
//! charges that enforce both.
//!
//! Every memory file the guest holds (from `from-bytes`, a preopened file it
//! opened, a file in a memory directory) carries one [`Charge`]: a file slot
//! and its bytes, counted against the store's [`Limits`] and the shared
//! [`Budget`] from the moment the file is admitted until the charge is
//! dropped with the file's last handle, wherever that happens (in
//! wasi-memfd's descriptors or fd table, in a stream still reading it, in a
//! [`MemoryFile`](crate::MemoryFile) the host kept, or on a [`Pool`]'s
//! thread that closes it). A file that grows (in a memory directory) grows
//! its charge first, and is refused if that would pass a limit. The counts
//! are exact at every moment: nothing is swept later.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::ErrorCode;
use crate::pool::{Backlog, Pool};

/// Default for [`Limits::max_file_size`]: 64 MiB.
///
/// A `from-bytes` list of this size lifts within wasmtime's default hostcall
/// fuel (128 MiB), so a store at the defaults never traps on a large list;
/// raising it past that needs [`crate::WasiMemfdCtx::hostcall_fuel`].
pub const DEFAULT_MAX_FILE_SIZE: u64 = 64 << 20;
/// Default for [`Limits::max_total_size`]: 256 MiB.
///
/// Memory files are host memory outside the guest's linear-memory limit; a
/// quarter of a wasm32 address space is a generous default for one store.
pub const DEFAULT_MAX_TOTAL_SIZE: u64 = 256 << 20;
/// Default for [`Limits::max_files`]: 64.
///
/// Every memory file a guest holds open is an fd in the host process. Many
/// Linux systems give a process a soft `RLIMIT_NOFILE` of 1024: one guest at
/// the defaults can take at most a sixteenth of it.
pub const DEFAULT_MAX_FILES: usize = 64;

/// Limits on one store's memory files, enforced on every call.
///
/// Non-exhaustive, so limits can be added: set them with the
/// [`WasiMemfdCtxBuilder`](crate::WasiMemfdCtxBuilder) methods, or start
/// from `Limits::default()` and assign the fields.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Most bytes one memory file may hold: a `from-bytes` file, or a file
    /// in a memory directory as it grows.
    pub max_file_size: u64,
    /// Most bytes the guest's memory files may hold together: its
    /// `from-bytes` files and every file in its memory directories.
    /// Preopened files are the host's and do not count.
    pub max_total_size: u64,
    /// Most memory files the guest may hold at once: open `from-bytes` and
    /// preopened files, and every file in its memory directories (named or
    /// still open).
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

/// What a store's guest holds right now (or, for a [`Budget`], all the
/// guests that share it).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Memory files held (each `open-preopened` counts once).
    pub files: usize,
    /// Bytes in them (preopened files count none).
    pub bytes: u64,
}

/// Caps on memory files shared by many stores: a multi-tenant host sets one
/// `Budget` on every context it builds
/// ([`WasiMemfdCtxBuilder::budget`](crate::WasiMemfdCtxBuilder::budget)) to
/// bound the total across all its guests, beside each store's own
/// [`Limits`].
///
/// Cloning shares the budget (it is an `Arc`). A file is charged to the
/// budget from the moment it is admitted until its last handle is dropped,
/// exactly as to its store; a guest refused by the budget gets
/// `quota-exceeded` (`EDQUOT`) or `too-many-files` (`EMFILE`), or in a
/// memory directory `EDQUOT` or `ENOSPC`.
///
/// ```
/// use wasi_memfd::{Budget, WasiMemfdCtx};
///
/// // 1 GiB and 512 files across every guest of this server.
/// let budget = Budget::new(1 << 30, 512);
/// let ctx = WasiMemfdCtx::builder().budget(&budget).build();
/// assert_eq!(budget.usage().files, 0);
/// # drop(ctx);
/// ```
#[derive(Clone, Debug)]
pub struct Budget {
    shared: Arc<Counter>,
}

/// Running totals against maxima, behind a lock.
#[derive(Debug)]
struct Counter {
    max: Usage,
    held: Mutex<Usage>,
}

impl Counter {
    fn new(max: Usage) -> Self {
        Counter {
            max,
            held: Mutex::new(Usage::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Usage> {
        // Plain counters, consistent after every statement: a panic
        // elsewhere while the lock was held leaves nothing half-done.
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `files` more files and `bytes` more bytes fit (a sum past
    /// what the counters hold never does, whatever the limits: with limits
    /// of `u64::MAX`, files of nearly 2^63 bytes each must not wrap them).
    fn check(&self, held: &Usage, files: usize, bytes: u64) -> Result<(), ErrorCode> {
        if files > 0
            && held
                .files
                .checked_add(files)
                .is_none_or(|n| n > self.max.files)
        {
            Err(ErrorCode::TooManyFiles)
        } else if bytes > 0
            && held
                .bytes
                .checked_add(bytes)
                .is_none_or(|n| n > self.max.bytes)
        {
            Err(ErrorCode::QuotaExceeded)
        } else {
            Ok(())
        }
    }
}

impl Budget {
    /// A budget of at most `max_bytes` bytes in memory files and
    /// `max_files` memory files, across every store that shares it.
    pub fn new(max_bytes: u64, max_files: usize) -> Self {
        Budget {
            shared: Arc::new(Counter::new(Usage {
                files: max_files,
                bytes: max_bytes,
            })),
        }
    }

    /// What all the stores sharing this budget hold now (files being made
    /// right now included).
    pub fn usage(&self) -> Usage {
        *self.shared.lock()
    }

    /// The most bytes, and the most files, the budget allows.
    pub fn max(&self) -> Usage {
        self.shared.max
    }
}

/// A store's totals against its [`Limits`], and the [`Budget`] it shares:
/// shared (an `Arc`) by the store's context and every [`Charge`] it gave
/// out, so a charge can end wherever its file's last handle goes.
#[derive(Clone, Debug)]
pub(crate) struct Ledger {
    shared: Arc<LedgerShared>,
}

#[derive(Debug)]
struct LedgerShared {
    limits: Limits,
    store: Counter,
    budget: Option<Budget>,
    /// Files a guest closed may wait in a pool's backlog, still charged,
    /// for its thread to close them: a check that would refuse closes them
    /// first. (Weak: those files hold this ledger.)
    pool: Option<Backlog>,
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger::new(Limits::default(), None, None)
    }
}

/// The kind of thing a charge holds.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// A file: one slot against `max_files`, and its bytes.
    File,
    /// A preopened file the guest opened: one slot, no bytes (the file is
    /// the host's).
    Preopened,
}

impl Ledger {
    pub(crate) fn new(limits: Limits, budget: Option<Budget>, pool: Option<Pool>) -> Self {
        Ledger {
            shared: Arc::new(LedgerShared {
                limits,
                store: Counter::new(Usage {
                    files: limits.max_files,
                    bytes: limits.max_total_size,
                }),
                budget,
                pool: pool.map(|p| p.backlog()),
            }),
        }
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.shared.limits
    }

    pub(crate) fn budget(&self) -> Option<&Budget> {
        self.shared.budget.as_ref()
    }

    /// What the guest holds now.
    pub(crate) fn usage(&self) -> Usage {
        *self.shared.store.lock()
    }

    /// Charges one more file of `bytes` bytes, if it fits the limits and
    /// the budget; the charge lasts until the returned [`Charge`] is
    /// dropped. A preopened file takes a slot and no bytes.
    pub(crate) fn admit(&self, slot: Slot, bytes: u64) -> Result<Charge, ErrorCode> {
        let bytes = match slot {
            Slot::File => bytes,
            Slot::Preopened => 0,
        };
        if bytes > self.shared.limits.max_file_size {
            return Err(ErrorCode::FileTooLarge);
        }
        self.retrying(|| self.add(1, bytes))?;
        Ok(Charge {
            ledger: self.clone(),
            slot,
            bytes,
        })
    }

    /// Charges a file the host put there (a memory directory's preloaded
    /// contents) even past the limits: the guest then makes nothing more
    /// until it is under them again.
    pub(crate) fn force(&self, slot: Slot, bytes: u64) -> Charge {
        let bytes = match slot {
            Slot::File => bytes,
            Slot::Preopened => 0,
        };
        // Saturating: the host's content cannot hold 2^64 bytes, and a
        // counter that saturated only refuses more.
        let mut store = self.shared.store.lock();
        if let Some(budget) = &self.shared.budget {
            let mut shared = budget.shared.lock();
            shared.files = shared.files.saturating_add(1);
            shared.bytes = shared.bytes.saturating_add(bytes);
        }
        store.files = store.files.saturating_add(1);
        store.bytes = store.bytes.saturating_add(bytes);
        Charge {
            ledger: self.clone(),
            slot,
            bytes,
        }
    }

    /// Runs `add`; if it refuses for want of room and files closed by the
    /// guest still wait in the pool (charged), closes them on this thread
    /// and tries once more.
    fn retrying(&self, add: impl Fn() -> Result<(), ErrorCode>) -> Result<(), ErrorCode> {
        match add() {
            Err(ErrorCode::QuotaExceeded | ErrorCode::TooManyFiles)
                if self.shared.pool.is_some() =>
            {
                if let Some(backlog) = &self.shared.pool {
                    backlog.free();
                }
                add()
            }
            added => added,
        }
    }

    /// Adds `files` and `bytes` to the store and the budget, or to neither.
    fn add(&self, files: usize, bytes: u64) -> Result<(), ErrorCode> {
        let mut store = self.shared.store.lock();
        self.shared.store.check(&store, files, bytes)?;
        if let Some(budget) = &self.shared.budget {
            let mut shared = budget.shared.lock();
            budget.shared.check(&shared, files, bytes)?;
            shared.files += files;
            shared.bytes += bytes;
        }
        store.files += files;
        store.bytes += bytes;
        Ok(())
    }

    /// Takes `files` and `bytes` back from the store and the budget
    /// (saturating, as [`force`](Self::force) adds).
    fn sub(&self, files: usize, bytes: u64) {
        let mut store = self.shared.store.lock();
        if let Some(budget) = &self.shared.budget {
            let mut shared = budget.shared.lock();
            shared.files = shared.files.saturating_sub(files);
            shared.bytes = shared.bytes.saturating_sub(bytes);
        }
        store.files = store.files.saturating_sub(files);
        store.bytes = store.bytes.saturating_sub(bytes);
    }
}

/// One file's charge against its store's limits and budget: a slot and
/// bytes, given back when dropped.
#[derive(Debug)]
pub(crate) struct Charge {
    ledger: Ledger,
    slot: Slot,
    bytes: u64,
}

impl Charge {
    /// The bytes charged.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Charges `bytes` instead of what is charged now: more if the file
    /// grows (refused past `max_file_size` with `FileTooLarge`, past the
    /// store's or the budget's bytes with `QuotaExceeded`), less if it
    /// shrinks. A preopened file's charge holds no bytes and never changes.
    pub(crate) fn resize(&mut self, bytes: u64) -> Result<(), ErrorCode> {
        if self.slot == Slot::Preopened {
            return Ok(());
        }
        if bytes > self.bytes {
            if bytes > self.ledger.shared.limits.max_file_size {
                return Err(ErrorCode::FileTooLarge);
            }
            let more = bytes - self.bytes;
            self.ledger.retrying(|| self.ledger.add(0, more))?;
        } else {
            self.ledger.sub(0, self.bytes - bytes);
        }
        self.bytes = bytes;
        Ok(())
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.ledger.sub(1, self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_file_size: u64, max_total_size: u64, max_files: usize) -> Limits {
        Limits {
            max_file_size,
            max_total_size,
            max_files,
        }
    }

    fn usage(files: usize, bytes: u64) -> Usage {
        Usage { files, bytes }
    }

    #[test]
    fn every_limit_is_checked() {
        let ledger = Ledger::new(limits(10, 15, 2), None, None);
        assert_eq!(
            ledger.admit(Slot::File, 11).unwrap_err(),
            ErrorCode::FileTooLarge
        );
        let _a = ledger.admit(Slot::File, 10).unwrap();
        assert_eq!(
            ledger.admit(Slot::File, 6).unwrap_err(),
            ErrorCode::QuotaExceeded
        );
        let _b = ledger.admit(Slot::File, 5).unwrap();
        assert_eq!(
            ledger.admit(Slot::File, 0).unwrap_err(),
            ErrorCode::TooManyFiles
        );
        assert_eq!(ledger.usage(), usage(2, 15));
    }

    /// With no effective limits, counts that would wrap are refused, never
    /// a panic (overflow checks are on in release).
    #[test]
    fn counts_that_would_wrap_are_refused() {
        let ledger = Ledger::new(limits(u64::MAX, u64::MAX, usize::MAX), None, None);
        let mut a = ledger.admit(Slot::File, 1 << 63).unwrap();
        let mut b = ledger.admit(Slot::File, (1 << 63) - 1).unwrap();
        assert_eq!(
            ledger.admit(Slot::File, 1).unwrap_err(),
            ErrorCode::QuotaExceeded
        );
        assert_eq!(b.resize(1 << 63).unwrap_err(), ErrorCode::QuotaExceeded);
        a.resize(0).unwrap();
        b.resize(1 << 63).unwrap();
        assert_eq!(ledger.usage(), usage(2, 1 << 63));
        let forced = ledger.force(Slot::File, u64::MAX);
        assert_eq!(ledger.usage(), usage(3, u64::MAX), "saturated");
        drop((a, b, forced));
        assert_eq!(ledger.usage(), usage(0, 0));
    }

    #[test]
    fn dropping_a_charge_gives_bytes_and_slot_back_at_once() {
        let ledger = Ledger::new(limits(10, 10, 1), None, None);
        let a = ledger.admit(Slot::File, 10).unwrap();
        assert_eq!(
            ledger.admit(Slot::File, 1).unwrap_err(),
            ErrorCode::TooManyFiles
        );
        drop(a);
        assert_eq!(ledger.usage(), Usage::default());
        ledger.admit(Slot::File, 10).unwrap();
    }

    #[test]
    fn a_preopened_file_takes_a_slot_and_no_bytes() {
        let ledger = Ledger::new(limits(10, 10, 2), None, None);
        let mut pre = ledger.admit(Slot::Preopened, 1000).unwrap();
        assert_eq!(ledger.usage(), usage(1, 0));
        pre.resize(500).unwrap();
        assert_eq!(ledger.usage(), usage(1, 0));
    }

    #[test]
    fn a_charge_grows_within_the_limits_and_shrinks() {
        let budget = Budget::new(25, 10);
        let ledger = Ledger::new(limits(20, 30, 5), Some(budget.clone()), None);
        let mut a = ledger.admit(Slot::File, 0).unwrap();
        a.resize(20).unwrap();
        assert_eq!(a.resize(21).unwrap_err(), ErrorCode::FileTooLarge);
        let mut b = ledger.admit(Slot::File, 0).unwrap();
        // The store allows 30 in all, the budget 25.
        assert_eq!(b.resize(6).unwrap_err(), ErrorCode::QuotaExceeded);
        b.resize(5).unwrap();
        assert_eq!((a.bytes(), b.bytes()), (20, 5));
        assert_eq!(budget.usage(), usage(2, 25));
        a.resize(3).unwrap();
        assert_eq!(ledger.usage(), usage(2, 8));
        assert_eq!(budget.usage(), usage(2, 8));
        drop((a, b));
        assert_eq!(budget.usage(), Usage::default());
    }

    #[test]
    fn a_budget_caps_the_total_across_ledgers() {
        let budget = Budget::new(100, 3);
        let per_store = limits(60, 1000, 10);
        let a = Ledger::new(per_store, Some(budget.clone()), None);
        let b = Ledger::new(per_store, Some(budget.clone()), None);
        let a1 = a.admit(Slot::File, 60).unwrap();
        // Fits b's own limits, not the shared bytes.
        assert_eq!(
            b.admit(Slot::File, 41).unwrap_err(),
            ErrorCode::QuotaExceeded
        );
        let b1 = b.admit(Slot::File, 40).unwrap();
        let _b2 = b.admit(Slot::File, 0).unwrap();
        assert_eq!(a.admit(Slot::File, 0).unwrap_err(), ErrorCode::TooManyFiles);
        assert_eq!(budget.usage(), usage(3, 100));
        // A refusal by the budget leaves the store's own totals alone.
        assert_eq!(a.usage(), usage(1, 60));
        // Store b's drop frees the budget for store a at once.
        drop(b1);
        let _a2 = a.admit(Slot::File, 40).unwrap();
        drop(a1);
        assert_eq!(budget.usage(), usage(2, 40));
        assert_eq!(budget.max(), usage(3, 100));
    }
}
