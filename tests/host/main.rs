//! The library's integration tests, as one test binary with a module each
//! (wasmtime's own `tests/all` pattern): one link instead of one per file.
//!
//! Tests that count the process's file descriptors cannot share a process
//! with tests that open memory files beside them, so `tests/fd_leaks.rs`,
//! `tests/p1_leaks.rs` and `tests/faults.rs` are binaries of their own.
//!
//! The harnesses are the test-support crate's (`tests/support/`,
//! `wasi_memfd_testing`): the probe component for components, the
//! trampoline guest (`p1::Guest`) for core modules, the model.
//!
//! The examples `embed`, `component` and `native-checksum` check their own
//! results; `cargo test` runs them (`test = true`, `harness = false` in
//! `host/Cargo.toml`).

mod async_linkers;
mod component;
mod mem_dir;
mod model_tests;
mod p1_bounds;
mod p1_fds;
mod p1_from_bytes;
mod p1_io;
mod p1_poll;
mod p1_shared_memory;

/// `Usage { files, bytes }`, as the tests compare a context's usage.
fn usage(files: usize, bytes: u64) -> wasi_memfd::Usage {
    wasi_memfd::Usage { files, bytes }
}
