//! Python guests (componentize-py) in the `wasi-memfd` runner.
//!
//! - `tests/guests/python/memfd_test.py`, built with componentize-py against
//!   the `wasi-memfd:memfd/command` world with `guest/python` (the
//!   `wasi_memfd` helper) on its module path (`scripts/guests.sh
//!   python-memfd-test`), run in each of its modes: the bytes -> descriptor -> Python file object
//!   path (contents, `stat`, reads at offsets, `read-via-stream`, zipfile,
//!   json, writable files, every error code), preopened files (read-only and
//!   writable) and the three runner limits.
//! - `examples/python-zip` (`python-zip`), fed both ways (`--dir` + `from_bytes`, and
//!   `--preopen` + `open_preopened`); its listing of the Go example's
//!   `sample.zip` must equal `examples/zip-lister/expected.txt`.
//!
//! componentize-py comes from `scripts/toolchains.sh`; without it these
//! tests fail, they never skip. `scripts/guests.sh` builds each component
//! (about 20 s) only when its sources change.

use std::path::PathBuf;

use wasi_memfd_testing::guests::*;

use crate::RUNNER;

/// Every check of `memfd_test basic`, as it prints them.
const BASIC_CHECKS: &[&str] = &[
    "raw from-bytes import returns a descriptor",
    "from_bytes: BufferedReader over a MemFile, contents",
    "stat: regular file, true size, read-only flags",
    "reads at offsets: pread, seek/tell, readinto",
    "read-via-stream: whole file, from an offset, chunked",
    "zipfile.ZipFile over the file",
    "json.load and io.TextIOWrapper",
    "read-only: writes raise io.UnsupportedOperation, descriptor refuses",
    "writable: in-place writes, fixed size (short across the end, EFBIG past it)",
    "large file: 8 MiB round trip, pread near the end",
    "empty data and empty name",
    "close drops the descriptor; I/O after close raises ValueError",
    "invalid-argument: NUL in name -> InvalidArgumentError (OSError EINVAL, ValueError)",
    "name-too-long: 250-byte name -> OSError(ENAMETOOLONG), 249 accepted",
    "not-found: open_preopened of a missing name -> FileNotFoundError",
    "every error-code maps to its Python exception",
];

const PREOPEN_CHECKS: &[&str] = &["open_preopened: contents, stat, independent offsets"];

const PREOPEN_WRITABLE_CHECKS: &[&str] =
    &["open_preopened writable: write in place, seen by the next open"];

const LIMIT_CHECKS: &[&str] = &[
    "file-too-large: one byte over --max-file-size -> OSError(EFBIG)",
    "quota-exceeded: one byte over --max-total-size -> OSError(EDQUOT); close gives bytes back",
    "too-many-files: one file over --max-files -> OSError(EMFILE); close frees the slot",
    "dropped file objects give their slots back",
];

const GREETING: &str = "Hello from a file the host attached.";

/// `target/guests/python-memfd-test.wasm`.
fn memfd_test() -> PathBuf {
    guest("python-memfd-test")
}

/// `target/guests/python-zip.wasm`.
fn python_zip() -> PathBuf {
    guest("python-zip")
}

#[test]
fn python_guest_basic() {
    let run = RUNNER.run(Vec::<&str>::new(), &memfd_test(), ["basic"]);
    assert_all_checks_pass(&run, BASIC_CHECKS);
}

#[test]
fn python_guest_preopen() {
    let run = RUNNER.run_preopen("python", &memfd_test(), GREETING, GREETING);
    assert_all_checks_pass(&run, PREOPEN_CHECKS);
}

/// The guest uppercases a `--preopen-writable` file in place; the runner
/// writes the bytes back to the host file.
#[test]
fn python_guest_preopen_writable() {
    RUNNER.assert_preopen_writable("python", &memfd_test(), GREETING, PREOPEN_WRITABLE_CHECKS);
}

#[test]
fn python_guest_limits() {
    let run = RUNNER.run_limits(&[], &memfd_test(), (5, 4096, 10000), &[]);
    assert_all_checks_pass(&run, LIMIT_CHECKS);
}

/// A failed check reaches the runner's exit status.
#[test]
fn python_guest_failure_exits_nonzero() {
    let run = RUNNER.run_preopen("python", &memfd_test(), GREETING, "not the greeting");
    assert_one_check_failed(
        &run,
        "FAIL: open_preopened: contents, stat, independent offsets",
    );
}

#[test]
fn python_zip_example_from_bytes() {
    RUNNER.assert_example_from_dir(&python_zip(), "zip-lister", "sample.zip");
}

#[test]
fn python_zip_example_preopen() {
    RUNNER.assert_example_preopened(&python_zip(), "zip-lister", "sample.zip", "archive");
}
