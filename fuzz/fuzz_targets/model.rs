//! The model test under libFuzzer: each input is decoded with
//! `arbitrary::Unstructured` into a backend, a wasi version and a sequence
//! of ops (`model::Case`), run through a real WASIp1 store and a real
//! component store and compared with the plain model after every op.
//!
//! The driver is the one `cargo test --release -p wasi-memfd --test host
//! model_tests` runs: the test-support crate's `model` (`tests/support/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasi_memfd_testing::model;

fuzz_target!(|case: model::Case| {
    model::run(&case);
});
