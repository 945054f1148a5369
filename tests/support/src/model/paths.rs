//! The path model: a differential test of memory directories against
//! wasmtime-wasi 48 on a real directory.
//!
//! Each [`Case`] is a sequence of WASIp1 calls ([`Op`]: `path_open` with
//! every combination of `oflags`, `APPEND` and read/write rights, following
//! links or not; reads, writes, seeks, stats, set-size, set-times, sync,
//! advise, allocate, close and renumber on the fds it opened; make and
//! remove directories, unlink, rename, link, symlink, readlink, readdir)
//! over a small namespace ([`ops`]), run twice through the same trampoline
//! guest:
//!
//! - in the **system under test**, a store whose memory directory (empty,
//!   or preloaded with a few files, directories and links) is preopened at
//!   `mem` (`WasiMemfdCtxBuilder::preopened_mem_dir` and `build_p1`);
//! - in the **reference**, a store of wasmtime-wasi's alone
//!   (`wasmtime_wasi::p1::add_to_linker_sync`) with a fresh host folder
//!   (on `/dev/shm` when there is one), preloaded the same, preopened at
//!   `mem` with `preopened_dir`.
//!
//! The same cases also run through `wasi:filesystem` ([`component`]): a
//! small component whose exports forward to the descriptor methods, in a
//! store linked with `wasi_memfd::p2::add_to_linker_sync` (the memory
//! directory preopened at `mem`) and in one linked with
//! `wasmtime_wasi::p2::add_to_linker_sync` alone (the real directory), each
//! op mapped to its counterpart (ops without one, such as seek or
//! renumber, are not run there) and compared the same way.
//!
//! The two stores number their fds differently (a memory directory's fds
//! are from 2^30 up), so the driver keeps the handles both opened by index.
//! After each op ([`p1`]) it asserts: the same errno (or both success); the
//! same bytes read, positions, counts written; the same type, link count
//! and size from every stat (not inode numbers, devices or times, which
//! are synthetic: see the notes on known differences; a directory's size is
//! the filesystem's own), and a time set explicitly reads back the same;
//! the same `fdstat` (type, flags, rights); the same readdir names and
//! types, `.` and `..` first, each record's inode the one a stat reports
//! in its own store, the same records when paged through a small buffer
//! and from a cookie in the middle; the same link targets. At the end it
//! compares the two trees (types, bytes, targets), closes everything,
//! removes everything through the preopen, and checks nothing is charged.
//!
//! # Accounting
//!
//! After every op the memory directory's `WasiMemfdCtx::usage()` must be
//! what the reference implies, by the rule host/src/memdir and
//! host/src/limits.rs implement (each node carries one `Charge`, dropped
//! with the node's last `Arc`):
//!
//! - **files** = the number of distinct nodes other than the root (regular
//!   files, directories and symbolic links alike) that have a name in the
//!   tree or are held by an open fd; a node with several names (hard
//!   links) counts once;
//! - **bytes** = the sum over those nodes of a regular file's size (holes
//!   included) and a symbolic link's target length; a directory has none.
//!
//! On the reference this is a walk of the host folder (distinct inodes)
//! plus each open fd whose `fd_filestat_get` link count is 0 (unlinked or
//! removed, distinct by inode). So unlinking or renaming over a node that
//! no fd holds, or closing the last fd of one without a name, gives its
//! slot and bytes back at once; truncating gives the bytes back.
//!
//! # Limits
//!
//! Some cases give the memory directory small [`Limits`](wasi_memfd::Limits)
//! ([`SmallLimits`]); the reference has none, so it is not an oracle for
//! the ops the limits refuse. For those: an op that makes a node
//! (`path_open` with `CREAT`, `path_create_directory`, `path_symlink`)
//! and is refused with `ENOSPC`, `EDQUOT` or `EFBIG` is run on the
//! reference, which must make exactly one node whose charge passes that
//! very limit (per-file size first, then the file count, then the bytes);
//! the reference's node is then removed again. An op that grows a file
//! (`fd_write`, `fd_pwrite`, `fd_filestat_set_size`) is worked out from the
//! reference first: when the growth passes a limit, the memory directory
//! must answer that limit's errno (`EFBIG`, else `EDQUOT`) and the
//! reference skips the op. Every other answer must be the reference's, and
//! the usage may never grow past a limit. No call may trap. Without small
//! limits (all of them `u64::MAX`), files of nearly 2^63 bytes each (sparse)
//! can still add up past what the store's byte counter holds: that growth
//! must be `EDQUOT` (`quota`), and the reference skips it.
//!
//! # Known differences
//!
//! A few answers differ in code this model leaves alone (the WASIp1 layer's
//! routing, the memory file's writes, the ledger). [`p1`] lets each through
//! only in its exact shape, notes it as an outcome (`p1 known difference
//! ...`), and puts the reference back where the two would otherwise part:
//!
//! - `fd_pread`/`fd_pwrite` at an offset past `i64::MAX`: wasmtime-wasi
//!   says `EINVAL` (a negative `loff_t`) before the fd's open mode; the
//!   memory directory says `EBADF` for the mode first, and `EFBIG` for a
//!   write (0 bytes for an empty one);
//! - appending where the file would pass `i64::MAX`: the kernel writes what
//!   fits (or says `EFBIG`), the memory directory says `EINVAL`;
//! - `fd_seek` past `i64::MAX`: wasmtime-wasi keeps any `u64` position, the
//!   memory directory says `EINVAL`;
//! - `path_open` with a closed fd and a path that is not UTF-8:
//!   wasmtime-wasi reads the path first (`EILSEQ`), the memory directory's
//!   layer routes by the fd first (`EBADF`);
//! - a link's atime moves when a path walks through it on a real
//!   filesystem (relatime), never in a memory directory (times are
//!   synthetic);
//! - `path_rename`/`path_link` between a memory directory and a
//!   wasmtime-wasi fd that is no directory (stdin) are `EXDEV`, not
//!   wasmtime-wasi's `EBADF`: the driver never pairs the two.
//!
//! [`regressions`] holds, written out, the cases in which the model found
//! the memory directory answering differently, since fixed.

pub mod common;
pub mod component;
pub mod guest;
pub mod ops;
pub mod p1;
pub mod reference;
pub mod regressions;

use arbitrary::{Arbitrary, Unstructured};
use wasi_memfd::{Backend, Limits, Usage};

pub use ops::{Op, Preload, SmallLimits};

/// The guest path both directories are preopened at.
pub const GUEST_PATH: &str = "mem";

/// Most ops one input runs.
pub const MAX_OPS: usize = 128;

/// One input: the memory directory's backend, what both directories start
/// with, the memory directory's limits (if small), and the ops.
#[derive(Clone, Debug)]
pub struct Case {
    /// The memory directory's backend (its files' kind).
    pub backend: Backend,
    /// What both directories start with.
    pub preload: Vec<Preload>,
    /// The memory directory's small limits, or none (every limit
    /// `u64::MAX`).
    pub limits: Option<SmallLimits>,
    pub ops: Vec<Op>,
}

impl Case {
    /// A case of at most `max_ops` ops from `u` (fewer if it runs out).
    pub fn generate(u: &mut Unstructured<'_>, max_ops: usize) -> arbitrary::Result<Case> {
        let backend = if u.ratio(1u8, 4)? {
            Backend::Shm
        } else {
            Backend::Memfd
        };
        let mut preload = Vec::new();
        if u.ratio(1u8, 2)? {
            for _ in 0..u.int_in_range(1..=8)? {
                preload.push(u.arbitrary()?);
            }
        }
        let limits = if u.ratio(1u8, 3)? {
            Some(u.arbitrary()?)
        } else {
            None
        };
        let mut ops = Vec::new();
        while ops.len() < max_ops && !u.is_empty() {
            ops.push(u.arbitrary()?);
        }
        Ok(Case {
            backend,
            preload,
            limits,
            ops,
        })
    }
}

impl<'a> Arbitrary<'a> for Case {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Case::generate(u, MAX_OPS)
    }
}

/// Which of the memory directory's limits refuses a charge.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Limit {
    /// `max_file_size`: `EFBIG`, `file-too-large`.
    FileSize,
    /// `max_files`: `ENOSPC`, `insufficient-space`.
    Files,
    /// `max_total_size`: `EDQUOT`, `quota`.
    Bytes,
}

/// The limit a new node charged `bytes` passes with `held` charged, in the
/// order the ledger checks them (`Ledger::admit`): the per-file size, the
/// file count, the bytes.
pub fn node_limit(limits: &Limits, held: Usage, bytes: u64) -> Option<Limit> {
    if bytes > limits.max_file_size {
        Some(Limit::FileSize)
    } else if held.files >= limits.max_files {
        Some(Limit::Files)
    } else if held.bytes + bytes > limits.max_total_size {
        Some(Limit::Bytes)
    } else {
        None
    }
}

/// The limit growing a file from `size` to `end` bytes passes with `held`
/// charged (`Charge::resize`): the per-file size, then the bytes.
pub fn growth_limit(limits: &Limits, held: Usage, size: u64, end: u64) -> Option<Limit> {
    if end <= size {
        None
    } else if end > limits.max_file_size {
        Some(Limit::FileSize)
    } else if held.bytes + (end - size) > limits.max_total_size {
        Some(Limit::Bytes)
    } else {
        None
    }
}

/// The limits of a case without small ones: none reachable, so every
/// answer must be the reference's.
pub fn unlimited() -> Limits {
    let mut limits = Limits::default();
    limits.max_file_size = u64::MAX;
    limits.max_total_size = u64::MAX;
    limits.max_files = usize::MAX;
    limits
}

/// Runs one case through the WASIp1 driver and the component driver;
/// returns the outcomes seen.
pub fn run(case: &Case) -> super::Outcomes {
    let mut seen = p1::run(case);
    seen.extend(component::run(case));
    seen
}

/// Decodes `data` as the fuzz target does; `None` if it is no case.
pub fn decode(data: &[u8]) -> Option<Case> {
    Case::arbitrary_take_rest(Unstructured::new(data)).ok()
}
