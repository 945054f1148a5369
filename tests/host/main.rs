//! The library's integration tests, as one test binary with a module each
//! (wasmtime's own `tests/all` pattern): one link instead of one per file.
//!
//! Tests that count the process's file descriptors cannot share a process
//! with tests that open memory files beside them, so `tests/fd_leaks.rs` and
//! `tests/p1_leaks.rs` stay binaries of their own.
//!
//! Shared code: the model (`tests/model/`, also the fuzz target's) holds the
//! probe component and the WAT trampoline; `tests/support/command.rs` builds
//! a `wasi:cli/command` component.

#[path = "../support/command.rs"]
mod command;
#[path = "../model/mod.rs"]
mod model;

use model::{probe, trampoline};

mod async_linkers;
mod component;
mod component_example;
mod embed_example;
mod model_tests;
mod native_checksum_example;
mod p1;
mod p1_shared_memory;
