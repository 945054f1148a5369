//! The model test under libFuzzer: each input is decoded with
//! `arbitrary::Unstructured` into a backend, a wasi version and a sequence
//! of ops (`model::Case`), run through a real WASIp1 store and a real
//! component store and compared with the plain model after every op.
//!
//! The driver is the one `cargo test --release -p wasi-memfd --test host model_tests` runs
//! (`tests/model/mod.rs`), included here by path: one copy of it.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/model/mod.rs"]
mod model;

fuzz_target!(|case: model::Case| {
    model::run(&case);
});
