//! What a store's guest may hold, a [`Budget`] many stores share, and the
//! ledger that checks both on every call.
//!
//! The ledger keeps a [`Weak`] to the `std::fs::File` behind every file the
//! guest holds. A file's bytes and slot are given back when the last
//! strong reference goes, wherever that drop happens: in wasmtime-wasi's
//! filesystem code for components (a `Descriptor` or a stream over it), or in
//! wasi-memfd's own fd table for core modules. A file counts once however
//! many handles or streams reach it.
//!
//! Totals are kept as running sums that may still include files dropped
//! since the last look; they are swept (dead entries forgotten) whenever a
//! check would refuse, whenever usage is asked for, and whenever the list
//! has doubled since the last sweep. So every refusal and every reported
//! usage is exact, and the success path does no sweep at all.

use std::fs::File;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::error::ErrorCode;

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
/// Every memory file a guest holds is an fd in the host process. Many Linux
/// systems give a process a soft `RLIMIT_NOFILE` of 1024: one guest at the
/// defaults can take at most a sixteenth of it.
pub const DEFAULT_MAX_FILES: usize = 64;

/// Limits on one store's memory files, enforced on every call.
///
/// Non-exhaustive, so limits can be added: set them with the
/// [`WasiMemfdCtxBuilder`](crate::WasiMemfdCtxBuilder) methods, or start
/// from `Limits::default()` and assign the fields.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
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

/// What a store's guest holds right now (or, for a [`Budget`], all the
/// guests that share it).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Memory-file descriptors open (each `open-preopened` counts once).
    pub files: usize,
    /// Bytes in the files the guests made with `from-bytes`.
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
/// `quota-exceeded` (`EDQUOT`) or `too-many-files` (`EMFILE`).
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
    shared: Arc<Mutex<Shared>>,
}

#[derive(Debug)]
struct Shared {
    max_bytes: u64,
    max_files: usize,
    tally: Tally,
    /// Admitted but not yet recorded (a file being filled).
    reserved: Usage,
}

impl Budget {
    /// A budget of at most `max_bytes` bytes in `from-bytes` files and
    /// `max_files` open memory files, across every store that shares it.
    pub fn new(max_bytes: u64, max_files: usize) -> Self {
        Budget {
            shared: Arc::new(Mutex::new(Shared {
                max_bytes,
                max_files,
                tally: Tally::default(),
                reserved: Usage::default(),
            })),
        }
    }

    /// What all the stores sharing this budget hold now (files being made
    /// right now included). Exact: dropped files are already given back.
    pub fn usage(&self) -> Usage {
        let mut shared = self.lock();
        let held = shared.tally.usage();
        Usage {
            files: held.files + shared.reserved.files,
            bytes: held.bytes + shared.reserved.bytes,
        }
    }

    /// The most bytes, and the most files, the budget allows.
    pub fn max(&self) -> Usage {
        let shared = self.lock();
        Usage {
            files: shared.max_files,
            bytes: shared.max_bytes,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        // The lock guards plain counters, consistent after every statement:
        // a panic elsewhere while it was held leaves nothing half-done.
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reserves one file of `bytes` bytes, or says why not.
    fn reserve(&self, bytes: u64) -> Result<Reservation, ErrorCode> {
        let mut guard = self.lock();
        let shared = &mut *guard;
        let (max_files, max_bytes, reserved) =
            (shared.max_files, shared.max_bytes, shared.reserved);
        shared.tally.admit(|held| {
            if held.files + reserved.files >= max_files {
                Err(ErrorCode::TooManyFiles)
            } else if held
                .bytes
                .saturating_add(reserved.bytes)
                .saturating_add(bytes)
                > max_bytes
            {
                Err(ErrorCode::QuotaExceeded)
            } else {
                Ok(())
            }
        })?;
        shared.reserved.files += 1;
        shared.reserved.bytes += bytes;
        Ok(Reservation {
            budget: Some(self.clone()),
            bytes,
        })
    }
}

/// A file admitted by a [`Budget`] and not yet recorded: dropping it gives
/// the reservation back (the file was never made).
#[derive(Debug)]
pub(crate) struct Reservation {
    /// `None` once committed.
    budget: Option<Budget>,
    bytes: u64,
}

impl Reservation {
    /// Turns the reservation into a charge for `file`, under one lock.
    fn commit(mut self, file: &Arc<File>) {
        if let Some(budget) = self.budget.take() {
            let mut shared = budget.lock();
            shared.release(self.bytes);
            shared.tally.record(file, self.bytes);
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(budget) = &self.budget {
            budget.lock().release(self.bytes);
        }
    }
}

impl Shared {
    fn release(&mut self, bytes: u64) {
        self.reserved.files -= 1;
        self.reserved.bytes -= bytes;
    }
}

#[derive(Debug)]
struct Entry {
    file: Weak<File>,
    /// Bytes charged to the quota (0 for a preopened file).
    bytes: u64,
}

/// Weak references to charged files, with running totals.
#[derive(Debug, Default)]
struct Tally {
    entries: Vec<Entry>,
    /// Totals over `entries`, dead ones included until the next sweep.
    held: Usage,
    /// Sweep when `entries` grows to this length.
    sweep_at: usize,
}

impl Tally {
    /// Forgets dropped files and recomputes the totals.
    fn sweep(&mut self) {
        self.entries.retain(|e| e.file.strong_count() > 0);
        self.held = Usage {
            files: self.entries.len(),
            bytes: self.entries.iter().map(|e| e.bytes).sum(),
        };
        self.sweep_at = (2 * self.entries.len()).max(32);
    }

    fn usage(&mut self) -> Usage {
        self.sweep();
        self.held
    }

    /// Runs `check` on the totals; if it refuses, sweeps and asks again, so
    /// a refusal is never caused by a file already dropped.
    fn admit(&mut self, check: impl Fn(Usage) -> Result<(), ErrorCode>) -> Result<(), ErrorCode> {
        if check(self.held).is_ok() {
            return Ok(());
        }
        self.sweep();
        check(self.held)
    }

    fn record(&mut self, file: &Arc<File>, bytes: u64) {
        self.entries.push(Entry {
            file: Arc::downgrade(file),
            bytes,
        });
        self.held.files += 1;
        self.held.bytes += bytes;
        if self.entries.len() >= self.sweep_at {
            self.sweep();
        }
    }
}

/// The files a store's guest holds, and the budget it shares, if any.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    tally: Tally,
    budget: Option<Budget>,
}

/// A file that passed every limit: [`Ledger::record`] charges it once made.
#[derive(Debug)]
pub(crate) struct Admitted {
    bytes: u64,
    reservation: Option<Reservation>,
}

impl Ledger {
    /// A ledger whose files are also charged to `budget`.
    pub(crate) fn with_budget(budget: Option<Budget>) -> Self {
        Ledger {
            tally: Tally::default(),
            budget,
        }
    }

    /// The budget this store shares, if any.
    pub(crate) fn budget(&self) -> Option<&Budget> {
        self.budget.as_ref()
    }

    /// What the guest holds now, after forgetting dropped files.
    pub(crate) fn usage(&mut self) -> Usage {
        self.tally.usage()
    }

    /// Whether `file` is one of the files recorded here (and still open).
    pub(crate) fn holds(&self, file: &Arc<File>) -> bool {
        let ptr = Arc::as_ptr(file);
        self.tally
            .entries
            .iter()
            .any(|e| e.file.as_ptr() == ptr && e.file.strong_count() > 0)
    }

    /// Checks that one more file charged `bytes` fits within `limits` and
    /// the shared budget (which reserves it until it is recorded).
    pub(crate) fn admit(&mut self, limits: &Limits, bytes: u64) -> Result<Admitted, ErrorCode> {
        if bytes > limits.max_file_size {
            return Err(ErrorCode::FileTooLarge);
        }
        self.tally.admit(|held| {
            if held.files >= limits.max_files {
                Err(ErrorCode::TooManyFiles)
            } else if held.bytes.saturating_add(bytes) > limits.max_total_size {
                Err(ErrorCode::QuotaExceeded)
            } else {
                Ok(())
            }
        })?;
        let reservation = self.budget.as_ref().map(|b| b.reserve(bytes)).transpose()?;
        Ok(Admitted { bytes, reservation })
    }

    /// Records a file the guest now holds, as admitted.
    pub(crate) fn record(&mut self, file: &Arc<File>, admitted: Admitted) {
        self.tally.record(file, admitted.bytes);
        if let Some(reservation) = admitted.reservation {
            reservation.commit(file);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> Arc<File> {
        Arc::new(File::open("/dev/null").unwrap())
    }

    fn limits(max_file_size: u64, max_total_size: u64, max_files: usize) -> Limits {
        Limits {
            max_file_size,
            max_total_size,
            max_files,
        }
    }

    /// Admits and records a file of `bytes` bytes.
    fn charge(ledger: &mut Ledger, limits: &Limits, bytes: u64) -> Result<Arc<File>, ErrorCode> {
        let admitted = ledger.admit(limits, bytes)?;
        let f = file();
        ledger.record(&f, admitted);
        Ok(f)
    }

    #[test]
    fn every_limit_is_checked() {
        let limits = limits(10, 15, 2);
        let mut ledger = Ledger::default();
        assert_eq!(
            ledger.admit(&limits, 11).unwrap_err(),
            ErrorCode::FileTooLarge
        );
        let _a = charge(&mut ledger, &limits, 10).unwrap();
        assert_eq!(
            ledger.admit(&limits, 6).unwrap_err(),
            ErrorCode::QuotaExceeded
        );
        let _b = charge(&mut ledger, &limits, 5).unwrap();
        assert_eq!(
            ledger.admit(&limits, 0).unwrap_err(),
            ErrorCode::TooManyFiles
        );
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
        let limits = limits(10, 10, 1);
        let mut ledger = Ledger::default();
        let a = charge(&mut ledger, &limits, 10).unwrap();
        assert_eq!(
            ledger.admit(&limits, 1).unwrap_err(),
            ErrorCode::TooManyFiles
        );
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
        // The refusal sweeps first: no `usage()` call needed in between.
        charge(&mut ledger, &limits, 10).unwrap();
    }

    #[test]
    fn the_list_of_dead_files_stays_bounded() {
        let limits = limits(1, u64::MAX, usize::MAX);
        let mut ledger = Ledger::default();
        for _ in 0..10_000 {
            drop(charge(&mut ledger, &limits, 1).unwrap());
        }
        assert!(
            ledger.tally.entries.len() <= 32,
            "{}",
            ledger.tally.entries.len()
        );
        assert_eq!(ledger.usage(), Usage::default());
    }

    #[test]
    fn a_budget_caps_the_total_across_ledgers() {
        let budget = Budget::new(100, 3);
        let per_store = limits(60, 1000, 10);
        let mut a = Ledger::with_budget(Some(budget.clone()));
        let mut b = Ledger::with_budget(Some(budget.clone()));
        let a1 = charge(&mut a, &per_store, 60).unwrap();
        // Fits b's own limits, not the shared bytes.
        assert_eq!(
            b.admit(&per_store, 41).unwrap_err(),
            ErrorCode::QuotaExceeded
        );
        let b1 = charge(&mut b, &per_store, 40).unwrap();
        let _b2 = charge(&mut b, &per_store, 0).unwrap();
        assert_eq!(a.admit(&per_store, 0).unwrap_err(), ErrorCode::TooManyFiles);
        assert_eq!(
            budget.usage(),
            Usage {
                files: 3,
                bytes: 100
            }
        );
        // Store b's drop frees the budget for store a at once.
        drop(b1);
        let _a2 = charge(&mut a, &per_store, 40).unwrap();
        drop(a1);
        assert_eq!(
            budget.usage(),
            Usage {
                files: 2,
                bytes: 40
            }
        );
        assert_eq!(
            budget.max(),
            Usage {
                files: 3,
                bytes: 100
            }
        );
    }

    #[test]
    fn a_reservation_holds_its_place_until_recorded_or_dropped() {
        let budget = Budget::new(10, 1);
        let per_store = limits(10, 10, 10);
        let mut a = Ledger::with_budget(Some(budget.clone()));
        let mut b = Ledger::with_budget(Some(budget.clone()));
        let admitted = a.admit(&per_store, 10).unwrap();
        assert_eq!(
            budget.usage(),
            Usage {
                files: 1,
                bytes: 10
            }
        );
        assert_eq!(b.admit(&per_store, 0).unwrap_err(), ErrorCode::TooManyFiles);
        drop(admitted); // the file was never made
        assert_eq!(budget.usage(), Usage::default());
        let f = charge(&mut b, &per_store, 10).unwrap();
        assert_eq!(
            budget.usage(),
            Usage {
                files: 1,
                bytes: 10
            }
        );
        drop(f);
        assert_eq!(budget.usage(), Usage::default());
    }
}
