//! An opt-in pool of prepared memory files, to go faster than making each
//! file on demand.
//!
//! Most of the time a new memory file costs goes to the kernel: creating it,
//! and faulting in and zeroing its pages as the bytes are written (a write
//! into pages already allocated runs about twice as fast). A [`Pool`] moves
//! that work onto one background thread of its own:
//! - it keeps [`PoolConfig::small_files`] empty memory files created and
//!   ready, and [`PoolConfig::large_files`] with [`PoolConfig::large_bytes`]
//!   already allocated;
//! - `from_bytes` takes one (a large one for data of more than half its
//!   allocated size, up to all of it: trimming frees the rest on the
//!   guest's thread, so a large file for small data would cost more than it
//!   saves), writes the bytes, trims it to their size and seals it, exactly
//!   as a new file; when none is ready it makes a new file, as without a
//!   pool (a guest never waits for the pool);
//! - a core module's `fd_close` of a memory file hands the file to the
//!   thread, which closes it (freeing its pages) off the guest's thread.
//!   (A component's descriptor is dropped by wasmtime-wasi, on the guest's
//!   thread.)
//!
//! What a guest observes never changes: sizes, contents, seals, errors and
//! limits are those of a new file, and a file taken from the pool is charged
//! to the guest's limits exactly as a new one. The one visible difference is
//! on the host: a memfd's name is fixed when it is made, so a pooled file
//! shows as `memfd:wasi-memfd:pooled` in `/proc/<pid>/fd`, not with the
//! name the guest gave.
//!
//! Costs, all bounded by the [`PoolConfig`]: one thread; up to
//! `small_files + large_files` file descriptors held while idle; and
//! `large_files × large_bytes` bytes of memory allocated ahead (plus the
//! pages of files handed back for closing, until the thread closes them).
//! The pool serves the memfd backend only (Linux). Dropping the last clone
//! of a pool, and every context built with it, stops the thread and closes
//! what it holds.

use std::fmt;
use std::fs::File;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::memfd;

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

/// A pool of prepared memory files with the thread that prepares them (see
/// the [module documentation](self)). Share it between contexts with
/// [`WasiMemfdCtxBuilder::pool`](crate::WasiMemfdCtxBuilder::pool); clones
/// are handles to the same pool.
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
    /// Signalled when the thread has work: a file taken or handed back, or
    /// the pool stopping.
    wake: Condvar,
}

#[derive(Default)]
struct State {
    small: Vec<File>,
    large: Vec<File>,
    /// Files handed back, for the thread to close.
    released: Vec<File>,
    stop: bool,
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

    /// The thread: closes what was handed back, then refills, one file at a
    /// time, sleeping while there is nothing to do.
    fn run(&self) {
        loop {
            let (released, make) = {
                let mut state = self.lock();
                loop {
                    if state.stop {
                        return;
                    }
                    let make = self.next_to_make(&state);
                    if !state.released.is_empty() || make.is_some() {
                        break (std::mem::take(&mut state.released), make);
                    }
                    state = self.wake.wait(state).unwrap_or_else(|e| e.into_inner());
                }
            };
            drop(released);
            let Some(capacity) = make else { continue };
            match memfd::prepared(capacity) {
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
        if taken.is_some() {
            self.shared.wake.notify_one();
        }
        taken
    }

    /// The device and inode of every file the pool holds ready, for the
    /// fault-injection tests to tell the file a call took (pooled files all
    /// share one name).
    #[cfg(test)]
    pub(crate) fn ready_inodes(&self) -> Vec<(u64, u64)> {
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
    /// closes it.
    pub(crate) fn release(&self, file: File) {
        self.shared.lock().released.push(file);
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
        pool.release(File::from(std::os::fd::OwnedFd::from(writer)));
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
