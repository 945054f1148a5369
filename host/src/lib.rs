//! wasi-memfd: hand bytes from a WebAssembly guest to anything that wants a
//! file descriptor.
//!
//! A guest passes bytes from its linear memory; the host copies them once
//! into an anonymous memory file (a sealed `memfd` on Linux) and gives the
//! guest an ordinary file: a `wasi:filesystem` descriptor for components.
//!
//! Add it beside wasmtime-wasi: keep a [`WasiMemfdCtx`] in the store's data,
//! implement [`WasiMemfdView`], and call [`add_to_linker_sync`] (or
//! [`add_to_linker_async`]). See the README for a complete embedding.
#![deny(missing_docs)]

pub mod component;
mod copy;
pub mod ctx;
pub mod error;
mod faults;
pub mod limits;
pub mod memfd;
pub mod p1;
pub mod view;

#[cfg(test)]
mod fault_tests;
// The shared test probe names this crate `wasi_memfd`, as integration tests do.
#[cfg(test)]
extern crate self as wasi_memfd;

pub use component::{add_to_linker_async, add_to_linker_sync};
pub use ctx::{WasiMemfdCtx, WasiMemfdCtxBuilder};
pub use error::ErrorCode;
pub use limits::{Budget, Limits, Usage};
pub use memfd::{Backend, MAX_NAME_LEN};
pub use view::{WasiMemfdCtxView, WasiMemfdView};

/// The README's code blocks, compiled as doctests so the embedding snippets
/// stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
