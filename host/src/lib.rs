//! wasi-memfd: hand bytes from a WebAssembly guest to anything that wants a
//! file descriptor.
//!
//! A guest passes bytes from its linear memory; the host copies them once
//! into an anonymous memory file (a sealed `memfd` on Linux) and gives the
//! guest an ordinary file: a `wasi:filesystem` descriptor for components
//! ([`p2`]), a WASIp1 fd for core modules ([`p1`]).
//!
//! Laid out as wasmtime-wasi is: keep a [`WasiMemfdCtx`] (made with its
//! builder) in the store's data, implement [`WasiMemfdView`], and call
//! [`p2::add_to_linker_sync`] (or `_async`) beside wasmtime-wasi's; for core
//! modules, [`p1::add_to_linker_sync`] replaces wasmtime-wasi's WASIp1
//! linker. See the README for complete embeddings.
//!
//! Supported: wasmtime and wasmtime-wasi 48, Rust 1.95 or newer, Linux (the
//! memfd backend). macOS and the BSDs use POSIX shared memory (macOS and
//! FreeBSD are compile-checked, not tested); on non-Unix targets the crate
//! compiles and every call that would make a memory file answers
//! `unsupported`.
#![deny(missing_docs)]

mod backend;
mod copy;
mod ctx;
mod error;
mod faults;
mod file;
mod limits;
mod memdir;
mod memfile;
pub mod p1;
pub mod p2;
mod pool;
mod stat;
mod view;

/// Test-only: the fault-injection seam (`fault-injection` feature), for
/// wasi-memfd's own fault tests. Not part of the API.
#[cfg(feature = "fault-injection")]
#[doc(hidden)]
pub mod fault_injection {
    pub use crate::faults::{disarm, inject, Step};
    pub use rustix::io::Errno;
}

pub use backend::{Backend, MAX_NAME_LEN};
pub use ctx::{WasiMemfdCtx, WasiMemfdCtxBuilder};
pub use error::ErrorCode;
pub use file::MemoryFile;
pub use limits::{
    Budget, Limits, Usage, DEFAULT_MAX_FILES, DEFAULT_MAX_FILE_SIZE, DEFAULT_MAX_TOTAL_SIZE,
};
pub use memdir::{MemDir, MemDirEntry, MemDirEntryKind, MemDirFile};
pub use pool::{Pool, PoolConfig, PoolStats, MAX_POOL_FILES};
pub use view::{WasiMemfdCtxView, WasiMemfdView};

/// The README's code blocks, compiled as doctests so the embedding snippets
/// stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
