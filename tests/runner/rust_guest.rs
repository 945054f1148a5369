//! The Rust test guest `tests/guests/rust/memfd_test.rs` against the
//! `wasm32-wasip1` half of `guest/rust`, built by `scripts/guests.sh
//! rust-memfd-test` with the rustc `scripts/toolchains.sh` names
//! (`WASI_MEMFD_RUSTC` for `WASI_MEMFD_RUST_TARGET`: rustup's
//! `wasm32-wasip1`, or Debian's 1.63 with `wasm32-wasi` where rustup cannot
//! add it), run in the `wasi-memfd` runner. A missing compiler fails these
//! tests; they never skip.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use wasi_memfd_testing::guests::{guest, host_file, limits_with_env, preopen_arg, Run};

use crate::RUNNER;

/// Must match `GREETING` and `PREOPEN` in memfd_test.rs.
const GREETING: &str = "hello from the host\n";
const PREOPEN: &str = "greeting";
/// The number of checks in memfd_test.rs.
const CHECKS: usize = 18;
/// Runner limits (files, file size, total), passed to the guest too. Small,
/// so the limit checks are quick; `dropped_files_are_closed` makes 200
/// files, far over the 8 allowed.
const LIMITS: (u32, u32, u32) = (8, 65536, 262144);

/// The host file attached as [`PREOPEN`].
fn greeting() -> PathBuf {
    host_file("rust", "greeting.txt", GREETING)
}

/// `<runner> run <limits> <extra> memfd_test.wasm`, the limits also passed
/// to the guest in its environment.
fn run_memfd_test(extra: &[&OsStr]) -> Run {
    let limits = limits_with_env(LIMITS);
    let flags = limits
        .iter()
        .map(OsString::as_os_str)
        .chain(extra.iter().copied());
    RUNNER.run(
        flags,
        &guest("rust-memfd-test"),
        std::iter::empty::<&OsStr>(),
    )
}

fn ok_lines(run: &Run) -> usize {
    run.stdout()
        .lines()
        .filter(|l| l.starts_with("ok   "))
        .count()
}

#[test]
fn rust_guest_passes_every_check() {
    let preopen = preopen_arg(PREOPEN, &greeting());
    let run = run_memfd_test(&["--preopen".as_ref(), preopen.as_os_str()]);
    run.assert_code(0).assert_stdout_lacks("FAIL");
    assert_eq!(ok_lines(&run), CHECKS, "{}", run.describe());
    run.assert_stdout_has(&format!("memfd_test: all {CHECKS} checks passed"));
}

/// Without the preopened file one check fails and the guest exits 1: the
/// guest's checks can fail, and a failure reaches the exit status.
#[test]
fn rust_guest_reports_a_failed_check() {
    let run = run_memfd_test(&[]);
    run.assert_code(1);
    run.assert_stdout_has("FAIL preopened_file_reads_and_has_its_own_offsets");
    assert_eq!(ok_lines(&run), CHECKS - 1, "{}", run.describe());
    run.assert_stdout_has(&format!("memfd_test: 1 of {CHECKS} checks failed"));
}
