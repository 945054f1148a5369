//! The path model under libFuzzer: each input is decoded with
//! `arbitrary::Unstructured` into what a memory directory and a real
//! directory start with, the memory directory's limits and a sequence of
//! WASIp1 path and fd calls (`model::paths::Case`), run through a store with
//! the memory directory and a store of wasmtime-wasi's own with the real
//! one, through WASIp1 and again through `wasi:filesystem` (components),
//! every answer and the memory directory's usage compared after every
//! call.
//!
//! The driver is the one `cargo test --release -p wasi-memfd --test host
//! model_tests::paths_` runs: the test-support crate's `model::paths`
//! (`tests/support/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasi_memfd_testing::model::paths;

fuzz_target!(|case: paths::Case| {
    paths::run(&case);
});
