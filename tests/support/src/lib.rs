//! Test support for wasi-memfd: the code the integration tests, the benches,
//! the fuzz target and the embedding check share, as one crate (`publish =
//! false`) instead of files included by `#[path]`.
//!
//! - [`component`]: encodes core modules as components (wit-component) over
//!   the project's `wit/`, and the small `wasi:cli/command` component the
//!   runner, async-linker and embedding tests run;
//! - [`trampoline`]: the WASIp1 trampoline module's text (every import
//!   wrapped in an exported wasm function) and the WASIp1 errnos by name;
//! - [`p1`]: the one WASIp1 harness, [`p1::Guest`]: an instantiated
//!   trampoline with typed calls, memory helpers, iovec layout and
//!   struct decoding;
//! - [`probe`]: the component harness, a probe component whose exports
//!   forward to `wasi-memfd:memfd/memfd`, `wasi:filesystem` and
//!   `wasi:io/streams`;
//! - [`model`]: the model test's plain model and its two drivers (shared
//!   with `fuzz/`);
//! - [`guests`]: the runner tests' helpers: toolchains from
//!   `scripts/toolchains.sh`, guests from `scripts/guests.sh`, runs of the
//!   `wasi-memfd` binary and checks of what they printed.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use wasmtime::Engine;

pub mod component;
pub mod guests;
pub mod model;
pub mod p1;
pub mod probe;
pub mod trampoline;

/// The repository root (this crate is `tests/support/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tests/support/ is two levels below the root")
        .to_path_buf()
}

/// One engine (wasmtime's defaults) for every store of the process that
/// needs nothing else: the probes and the WASIp1 guests.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(Engine::default)
}

/// `len` bytes that differ from their neighbours: byte `i` is `i % 251`.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Waits (up to 10 s) until `done`, checking every millisecond; panics
/// naming `what` if it never is.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(start.elapsed().as_secs() < 10, "timed out: {what}");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}
