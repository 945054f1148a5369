//! The runner's integration tests, as one test binary with a module each
//! (wasmtime's own `tests/all` pattern): the `wasi-memfd` binary run as a
//! user runs it, with guests in every supported language built by
//! `scripts/guests.sh` into `target/guests/` (toolchains from
//! `scripts/toolchains.sh`), through the helpers of the test-support crate
//! (`wasi_memfd_testing::guests`).

use wasi_memfd_testing::guests::Runner;

/// The runner under test, as cargo built it for this test binary.
pub const RUNNER: Runner = Runner(env!("CARGO_BIN_EXE_wasi-memfd"));

mod c_guest;
mod cli;
mod examples;
mod go_guest;
mod js_guest;
mod mem_dir;
mod python_guest;
mod rust_guest;
mod write_back;
