//! An opt-in pool of prepared memory files, to go faster than making each
//! file on demand. See [`Pool`].

use std::fmt;
use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::backend;
use crate::memfile::MemFile;

/// Most files a pool keeps ready, of each kind.
pub const MAX_POOL_FILES: usize = 1024;

/// How long the thread waits before trying again when the system refuses
/// to make a file.
const RETRY: Duration = Duration::from_millis(100);

/// What a [`Pool`] keeps ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolConfig {
    /// Empty memory files kept created (at most [`MAX_POOL_FILES`]); each
    /// saves a `from_bytes` of any size the `memfd_create`. Default 16.
    pub small_files: usize,
    /// Memory files kept with [`large_bytes`](Self::large_bytes) allocated
    /// (at most [`MAX_POOL_FILES`]); each saves a `from_bytes` of more than
    /// half of `large_bytes`, up to all of it, the page faults and zeroing.
    /// Default 0.
    pub large_files: usize,
    /// Bytes allocated ahead in each large file. Default 64 MiB.
    pub large_bytes: u64,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            small_files: 16,
            large_files: 0,
            large_bytes: 64 << 20,
        }
    }
}

impl PoolConfig {
    /// The memory a pool with this configuration allocates ahead.
    pub fn memory(&self) -> u64 {
        (self.large_files as u64).saturating_mul(self.large_bytes)
    }
}

/// A weak handle on a [`Pool`]'s backlog of closed files (see
/// [`Pool::backlog`]).
#[derive(Clone)]
pub(crate) struct Backlog(Weak<Shared>);

impl fmt::Debug for Backlog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Backlog")
    }
}

impl Backlog {
    /// Closes, on the calling thread, every file handed back and not yet
    /// closed by the pool's thread, and waits for any the thread is closing
    /// right now. Returns how many this call closed (none once the pool is
    /// gone). A store's ledger calls it before refusing a file for want of
    /// room, so files waiting to be closed (still charged) never cause a
    /// refusal.
    pub(crate) fn free(&self) -> usize {
        let Some(shared) = self.0.upgrade() else {
            return 0;
        };
        let freed = shared.free_released();
        shared
            .counts
            .freed_by_caller
            .fetch_add(freed as u64, Ordering::Relaxed);
        freed
    }
}

/// What a [`Pool`] has done since it started ([`Pool::stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// `from_bytes` calls served with a small (empty) prepared file.
    pub small_taken: u64,
    /// `from_bytes` calls served with a large prepared file (its pages
    /// allocated ahead).
    pub large_taken: u64,
    /// `from_bytes` calls that found no file ready and made their own.
    pub missed: u64,
    /// Files handed back at `fd_close` that the pool's thread closed.
    pub freed_by_thread: u64,
    /// Files handed back that a guest's thread closed itself, because a
    /// check would otherwise have refused it (see [`Pool`]).
    pub freed_by_caller: u64,
}

#[derive(Default)]
struct Counts {
    small_taken: AtomicU64,
    large_taken: AtomicU64,
    missed: AtomicU64,
    freed_by_thread: AtomicU64,
    freed_by_caller: AtomicU64,
}

/// A pool of prepared memory files with the thread that prepares them.
/// Share it between contexts with
/// [`WasiMemfdCtxBuilder::pool`](crate::WasiMemfdCtxBuilder::pool); clones
/// are handles to the same pool.
///
/// Most of the time a new memory file costs goes to the kernel: creating it,
/// and faulting in and zeroing its pages as the bytes are written (a write
/// into pages already allocated runs about twice as fast). A [`Pool`] moves
/// that work onto one background thread of its own:
/// - it keeps [`PoolConfig::small_files`] empty memory files created and
///   ready, and [`PoolConfig::large_files`] with [`PoolConfig::large_bytes`]
///   already allocated;
/// - `from_bytes` takes one (a large one for data of more than half its
///   allocated size, up to all of it: trimming frees the rest on the
///   guest's thread, so a large file for small data would cost more than it
///   saves), writes the bytes, trims it to their size and seals it, exactly
///   as a new file; when none is ready it makes a new file, as without a
///   pool (a guest never waits for the pool);
/// - a core module's `fd_close` of a memory file hands the file to the
///   thread, which closes it (freeing its pages) off the guest's thread.
///   (A component's descriptor, and a memory directory's file, close on
///   the guest's thread.) The file stays charged to the guest's limits and to a shared
///   [`Budget`](crate::Budget) until the thread has really closed it, so
///   a backlog of closed files never holds memory beyond them: when a check
///   would refuse, the guest's own thread first closes the whole backlog
///   itself and checks again. A guest that closes
///   files faster than the thread frees them is therefore never refused
///   for it, and never holds more than its limits.
///
/// What a guest observes never changes: sizes, contents, seals, errors and
/// limits are those of a new file, and a file taken from the pool is charged
/// to the guest's limits exactly as a new one. The one visible difference is
/// on the host: a memfd's name is fixed when it is made, so a pooled file
/// shows as `memfd:wasi-memfd:pooled` in `/proc/<pid>/fd`, not with the
/// name the guest gave.
///
/// Costs, all bounded by the [`PoolConfig`]: one thread; up to
/// `small_files + large_files` file descriptors held while idle; and
/// `large_files × large_bytes` bytes of memory allocated ahead. Files
/// handed back for closing stay charged to their guests until closed.
/// The pool serves the memfd backend only (Linux). Dropping the last clone
/// of a pool, and every context built with it, stops the thread and closes
/// what it holds.
#[derive(Clone)]
pub struct Pool {
    shared: Arc<Shared>,
    /// Stops and joins the thread when the last handle goes.
    _worker: Arc<Worker>,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("Pool")
            .field("config", &self.shared.config)
            .field("small_ready", &state.small.len())
            .field("large_ready", &state.large.len())
            .finish()
    }
}

struct Shared {
    config: PoolConfig,
    state: Mutex<State>,
    /// Held while files handed back are being closed, by the thread or by
    /// a guest's thread (`Backlog::free`): whoever holds it has
    /// taken every file handed back so far, so once a caller holds it, no
    /// file is on its way to being closed elsewhere.
    freeing: Mutex<()>,
    /// What the pool did, for [`Pool::stats`].
    counts: Counts,
    /// Signalled when the thread has work: a file taken or handed back, or
    /// the pool stopping.
    wake: Condvar,
}

#[derive(Default)]
struct State {
    small: Vec<File>,
    large: Vec<File>,
    /// Files handed back, for the thread to close. Each is the guest's last
    /// handle: the ledger counts the file until it is dropped.
    released: Vec<Arc<MemFile>>,
    stop: bool,
    /// Tests only: the thread leaves `released` alone.
    #[cfg(any(test, feature = "fault-injection"))]
    paused: bool,
}

struct Worker {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; recover the data if it did.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes every file handed back so far and closes it, holding
    /// [`Shared::freeing`] throughout. Returns how many it closed.
    fn free_released(&self) -> usize {
        let _freeing = self.freeing.lock().unwrap_or_else(|e| e.into_inner());
        let released = std::mem::take(&mut self.lock().released);
        let n = released.len();
        drop(released);
        n
    }

    /// The thread: closes what was handed back, then refills, one file at a
    /// time, sleeping while there is nothing to do.
    fn run(&self) {
        loop {
            let (free, make) = {
                let mut state = self.lock();
                loop {
                    if state.stop {
                        return;
                    }
                    let make = self.next_to_make(&state);
                    #[cfg(not(any(test, feature = "fault-injection")))]
                    let free = !state.released.is_empty();
                    #[cfg(any(test, feature = "fault-injection"))]
                    let free = !state.released.is_empty() && !state.paused;
                    if free || make.is_some() {
                        break (free, make);
                    }
                    state = self.wake.wait(state).unwrap_or_else(|e| e.into_inner());
                }
            };
            if free {
                let freed = self.free_released();
                self.counts
                    .freed_by_thread
                    .fetch_add(freed as u64, Ordering::Relaxed);
            }
            let Some(capacity) = make else { continue };
            match backend::prepared(capacity) {
                Ok(file) => {
                    let mut state = self.lock();
                    if capacity == 0 {
                        state.small.push(file);
                    } else {
                        state.large.push(file);
                    }
                }
                Err(_) => {
                    // Out of fds or memory: the guests make their own files
                    // meanwhile; try again later, or stop.
                    let state = self.lock();
                    if state.stop {
                        return;
                    }
                    let _ = self.wake.wait_timeout(state, RETRY);
                }
            }
        }
    }

    /// The capacity of the next file to make, if one is missing.
    fn next_to_make(&self, state: &State) -> Option<u64> {
        if state.small.len() < self.config.small_files {
            Some(0)
        } else if state.large.len() < self.config.large_files {
            Some(self.config.large_bytes)
        } else {
            None
        }
    }
}

impl Pool {
    /// Starts a pool: its thread begins preparing files at once. Fails with
    /// `InvalidInput` past [`MAX_POOL_FILES`] of either kind, a large size
    /// of 0 with large files, or when the thread cannot be started.
    pub fn new(config: PoolConfig) -> std::io::Result<Pool> {
        let invalid = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidInput, what);
        if config.small_files > MAX_POOL_FILES || config.large_files > MAX_POOL_FILES {
            return Err(invalid(
                "a pool keeps at most MAX_POOL_FILES files of each kind",
            ));
        }
        if config.large_files > 0 && config.large_bytes == 0 {
            return Err(invalid("large pool files need large_bytes > 0"));
        }
        let shared = Arc::new(Shared {
            config,
            state: Mutex::new(State::default()),
            freeing: Mutex::new(()),
            counts: Counts::default(),
            wake: Condvar::new(),
        });
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("wasi-memfd-pool".into())
                .spawn(move || shared.run())?
        };
        Ok(Pool {
            _worker: Arc::new(Worker {
                shared: shared.clone(),
                thread: Some(thread),
            }),
            shared,
        })
    }

    /// What the pool keeps ready.
    pub fn config(&self) -> PoolConfig {
        self.shared.config
    }

    /// Files ready now: `(small, large)`.
    pub fn ready(&self) -> (usize, usize) {
        let state = self.shared.lock();
        (state.small.len(), state.large.len())
    }

    /// Whether the thread has nothing left to do: every file ready and
    /// every file handed back closed. A benchmark waits for it to count the
    /// thread's CPU time with the calls that caused it.
    pub fn is_idle(&self) -> bool {
        let state = self.shared.lock();
        state.small.len() >= self.shared.config.small_files
            && state.large.len() >= self.shared.config.large_files
            && state.released.is_empty()
            && self.shared.freeing.try_lock().is_ok()
    }

    /// A prepared file for `len` bytes and the bytes it already holds
    /// allocated (its size), or `None` when none is ready.
    pub(crate) fn take(&self, len: u64) -> Option<(File, u64)> {
        let large_bytes = self.shared.config.large_bytes;
        let taken = {
            let mut state = self.shared.lock();
            if len > large_bytes / 2 && len <= large_bytes {
                state.large.pop().map(|file| (file, large_bytes))
            } else {
                None
            }
            .or_else(|| state.small.pop().map(|file| (file, 0)))
        };
        let counts = &self.shared.counts;
        match &taken {
            Some((_, 0)) => counts.small_taken.fetch_add(1, Ordering::Relaxed),
            Some(_) => counts.large_taken.fetch_add(1, Ordering::Relaxed),
            None => counts.missed.fetch_add(1, Ordering::Relaxed),
        };
        if taken.is_some() {
            self.shared.wake.notify_one();
        }
        taken
    }

    /// A handle that can close the pool's backlog but keeps neither the
    /// pool nor its thread alive: what a store's ledger keeps, since the
    /// files in the backlog hold their ledgers.
    pub(crate) fn backlog(&self) -> Backlog {
        Backlog(Arc::downgrade(&self.shared))
    }

    /// What the pool has done since it started.
    pub fn stats(&self) -> PoolStats {
        let c = &self.shared.counts;
        PoolStats {
            small_taken: c.small_taken.load(Ordering::Relaxed),
            large_taken: c.large_taken.load(Ordering::Relaxed),
            missed: c.missed.load(Ordering::Relaxed),
            freed_by_thread: c.freed_by_thread.load(Ordering::Relaxed),
            freed_by_caller: c.freed_by_caller.load(Ordering::Relaxed),
        }
    }

    /// Test-only: the device and inode of every file the pool holds ready,
    /// for the fault tests to tell the file a call took (pooled files all
    /// share one name).
    #[cfg(any(test, feature = "fault-injection"))]
    #[doc(hidden)]
    pub fn ready_inodes(&self) -> Vec<(u64, u64)> {
        use std::os::unix::fs::MetadataExt;
        let state = self.shared.lock();
        state
            .small
            .iter()
            .chain(&state.large)
            .map(|file| {
                let meta = file.metadata().expect("fstat of a pooled file");
                (meta.dev(), meta.ino())
            })
            .collect()
    }

    /// Hands a guest's file, closed by the guest, to the thread, which
    /// drops this handle (closing the file if it is the last). The file
    /// stays charged until then.
    pub(crate) fn release(&self, file: Arc<MemFile>) {
        self.shared.lock().released.push(file);
        self.shared.wake.notify_one();
    }

    /// Test-only: bytes of files handed back whose last handle the pool
    /// holds (what closing the backlog would free). Files being closed
    /// right now count until they are closed (their charges given back).
    #[cfg(any(test, feature = "fault-injection"))]
    #[doc(hidden)]
    pub fn backlog_bytes(&self) -> u64 {
        // The same order as `free_released`: `freeing`, then the state.
        let _freeing = self
            .shared
            .freeing
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let state = self.shared.lock();
        state
            .released
            .iter()
            .filter(|f| Arc::strong_count(f) == 1)
            .map(|f| f.size())
            .sum()
    }

    /// Test-only: stops (or lets go on) the thread's closing of files
    /// handed back, so a test can pile up a backlog.
    #[cfg(any(test, feature = "fault-injection"))]
    #[doc(hidden)]
    pub fn pause_freeing(&self, paused: bool) {
        self.shared.lock().paused = paused;
        self.shared.wake.notify_one();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::time::Instant;

    /// Waits (up to 10 s) until `done`; the fault tests use it too.
    pub(crate) fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "timed out: {what}"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn the_thread_fills_the_pool_and_refills_what_is_taken() {
        let pool = Pool::new(PoolConfig {
            small_files: 3,
            large_files: 1,
            large_bytes: 2 << 20,
        })
        .unwrap();
        wait_until("the pool is full", || pool.ready() == (3, 1));
        let (large, size) = pool.take((1 << 20) + 1).unwrap();
        assert_eq!(size, 2 << 20);
        assert_eq!(large.metadata().unwrap().len(), 2 << 20, "allocated ahead");
        let (_small, size) = pool.take(64).unwrap();
        assert_eq!(size, 0);
        assert_eq!(_small.metadata().unwrap().len(), 0);
        wait_until("the pool refills", || pool.ready() == (3, 1));
    }

    #[test]
    fn a_large_file_serves_only_data_of_more_than_half_its_size_that_fits() {
        let pool = Pool::new(PoolConfig {
            small_files: 0,
            large_files: 1,
            large_bytes: 1 << 20,
        })
        .unwrap();
        wait_until("the pool is full", || pool.ready() == (0, 1));
        assert!(pool.take((1 << 20) + 1).is_none(), "too large");
        assert!(pool.take(1 << 19).is_none(), "half or less");
        assert_eq!(
            pool.take((1 << 19) + 1).map(|(_, size)| size),
            Some(1 << 20)
        );
    }

    #[test]
    fn limits_are_checked() {
        let too_many = PoolConfig {
            small_files: MAX_POOL_FILES + 1,
            ..PoolConfig::default()
        };
        assert!(Pool::new(too_many).is_err());
        let no_size = PoolConfig {
            large_files: 1,
            large_bytes: 0,
            ..PoolConfig::default()
        };
        assert!(Pool::new(no_size).is_err());
    }

    #[test]
    fn dropping_the_last_handle_stops_the_thread_and_closes_its_files() {
        let pool = Pool::new(PoolConfig::default()).unwrap();
        wait_until("the pool is full", || pool.ready().0 == 16);
        let weak = Arc::downgrade(&pool.shared);
        // A pipe's reader sees the end of the stream once its writer, handed
        // to the pool to close, is closed.
        let (mut reader, writer) = std::io::pipe().unwrap();
        let writer = Arc::new(File::from(std::os::fd::OwnedFd::from(writer)));
        pool.release(MemFile::new(
            writer,
            0,
            crate::backend::Seal::ReadOnly,
            crate::Backend::Memfd,
            None,
        ));
        drop(pool);
        // The worker joined its thread, which held the last other handle.
        assert!(weak.upgrade().is_none(), "the pool's state outlived it");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(std::io::Read::read(&mut reader, &mut [0; 1]).ok());
        });
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(10)),
            Ok(Some(0)),
            "a handed-back file stayed open"
        );
    }
}
