//! Fault injection for the tests: a seam at every system call that can fail
//! after a memory file starts to exist.
//!
//! In normal builds [`check`] is an empty inline function. With the
//! test-only `fault-injection` feature a test arms
//! one [`Step`] on its own thread with `inject`; the next time that step
//! runs on the thread it fails with the armed errno instead of making the
//! call, and the seam disarms itself. The fault tests (`tests/faults.rs`,
//! through `wasi_memfd::fault_injection`) use it to show that every failure
//! leaves no fd open, no quota charged, the guest told the right error and
//! the store usable.

use rustix::io::Errno;

/// A point where making or handing out a memory file can fail.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
pub enum Step {
    /// `memfd_create`, or `shm_open` of a new object.
    Create,
    /// Sizing the new file (`ftruncate`, on the backends that size first).
    #[cfg_attr(not(target_vendor = "apple"), allow(dead_code))]
    Size,
    /// Copying the bytes in.
    Fill,
    /// Adding the seals (memfd).
    Seal,
    /// Opening the read-only handle of a shared-memory object.
    ReopenReadOnly,
    /// Unlinking a shared-memory object's name.
    Unlink,
    /// Putting the new file in the guest's table (component resource table
    /// or core-module fd table).
    Table,
}

/// Passes: outside the tests no fault is ever injected.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(crate) fn check(_step: Step) -> Result<(), Errno> {
    Ok(())
}

#[cfg(feature = "fault-injection")]
pub(crate) use armed::check;
#[cfg(feature = "fault-injection")]
pub use armed::{disarm, inject};

#[cfg(feature = "fault-injection")]
mod armed {
    use super::{Errno, Step};
    use std::cell::Cell;

    thread_local! {
        static ARMED: Cell<Option<(Step, Errno)>> = const { Cell::new(None) };
    }

    /// Makes the next `step` on this thread fail with `errno`.
    pub fn inject(step: Step, errno: Errno) {
        ARMED.with(|a| a.set(Some((step, errno))));
    }

    /// Disarms this thread's seam; returns whether it was still armed (the
    /// step never ran).
    pub fn disarm() -> bool {
        ARMED.with(|a| a.take().is_some())
    }

    pub(crate) fn check(step: Step) -> Result<(), Errno> {
        ARMED.with(|a| match a.get() {
            Some((armed, errno)) if armed == step => {
                a.set(None);
                Err(errno)
            }
            _ => Ok(()),
        })
    }
}
