//! The runner's integration tests, as one test binary with a module each
//! (wasmtime's own `tests/all` pattern): the `wasi-memfd` binary run as a
//! user runs it, with guests in every supported language built on the fly
//! into `target/guests/` (toolchains from `scripts/toolchains.sh`).

#[path = "../support/command.rs"]
mod command;
#[path = "../support/guests.rs"]
mod guests;

mod c_guest;
mod cli;
mod examples;
mod go_guest;
mod js_guest;
mod python_guest;
mod rust_guest;
mod write_back;
