//! JavaScript guests (componentize-js) in the `wasi-memfd` runner.
//!
//! - `tests/guests/js/memfd_test.js`, built with componentize-js against the
//!   `command` world (through `guest/js/componentize.mjs`; it imports the
//!   `guest/js/wasi-memfd.js` helper) by `scripts/guests.sh js-memfd-test`,
//!   run in each of
//!   its modes: the bytes -> descriptor -> `MemFile` reader path (contents,
//!   `stat`, reads at offsets, `read-via-stream`, JSON, writable files, every
//!   error code), preopened files (read-only and writable) and the three
//!   runner limits.
//! - `examples/js-zip` (`js-zip`), fed both ways (`--dir` with `fromBytes`, and
//!   `--preopen` with `openPreopened`); its listing of the Go example's
//!   `sample.zip` must equal `examples/zip-lister/expected.txt`.
//!
//! componentize-js comes from `scripts/toolchains.sh`; without it these
//! tests fail, they never skip. `scripts/guests.sh` builds each component
//! (about 14 MB, about 10 s) only when its sources change; the runner
//! compiles it once (about 12 s) and then finds it in its code cache.

use std::path::PathBuf;

use wasi_memfd_testing::guests::*;

use crate::RUNNER;

/// Every check of `memfd_test basic`, as it prints them.
const BASIC_CHECKS: &[&str] = &[
    "raw from-bytes import returns a descriptor",
    "fromBytes: MemFile, contents, readAll, text",
    "stat: regular file, true size, read-only flags",
    "reads at offsets: read(length, offset), across and past the end, BigInt",
    "read-via-stream: whole file, from an offset, chunked",
    "JSON.parse over the file text",
    "read-only: write throws FilesystemError, the descriptor refuses",
    "writable: in-place writes, fixed size (short across the end, file-too-large past it)",
    "large file: 8 MiB round trip, read near the end",
    "empty data and empty name",
    "close drops the descriptor; use after close throws",
    "invalid-argument: NUL in name -> InvalidArgumentError",
    "name-too-long: 250-byte name -> NameTooLongError, 249 accepted",
    "not-found: openPreopened of a missing name -> NotFoundError",
    "every error-code maps to its error class",
];

const PREOPEN_CHECKS: &[&str] = &["openPreopened: contents, stat, independent files"];

const PREOPEN_WRITABLE_CHECKS: &[&str] =
    &["openPreopened writable: write in place, seen by the next open"];

const LIMIT_CHECKS: &[&str] = &[
    "file-too-large: one byte over --max-file-size -> FileTooLargeError",
    "quota-exceeded: one byte over --max-total-size -> QuotaExceededError; close gives bytes back",
    "too-many-files: one file over --max-files -> TooManyFilesError; close frees the slot",
];

const GREETING: &str = "Hello from a file the host attached.";

/// `target/guests/js-memfd-test.wasm`.
fn memfd_test() -> PathBuf {
    guest("js-memfd-test")
}

/// `target/guests/js-zip.wasm`.
fn js_zip() -> PathBuf {
    guest("js-zip")
}

#[test]
fn js_guest_basic() {
    let run = RUNNER.run(Vec::<&str>::new(), &memfd_test(), ["basic"]);
    assert_all_checks_pass(&run, BASIC_CHECKS);
}

#[test]
fn js_guest_preopen() {
    let run = RUNNER.run_preopen("js", &memfd_test(), GREETING, GREETING);
    assert_all_checks_pass(&run, PREOPEN_CHECKS);
}

/// The guest uppercases a `--preopen-writable` file in place; the runner
/// writes the bytes back to the host file.
#[test]
fn js_guest_preopen_writable() {
    RUNNER.assert_preopen_writable("js", &memfd_test(), GREETING, PREOPEN_WRITABLE_CHECKS);
}

#[test]
fn js_guest_limits() {
    let run = RUNNER.run_limits(&[], &memfd_test(), (5, 4096, 10000), &[]);
    assert_all_checks_pass(&run, LIMIT_CHECKS);
}

/// A failed check reaches the runner's exit status.
#[test]
fn js_guest_failure_exits_nonzero() {
    let run = RUNNER.run_preopen("js", &memfd_test(), GREETING, "not the greeting");
    assert_one_check_failed(
        &run,
        "FAIL: openPreopened: contents, stat, independent files",
    );
}

#[test]
fn js_zip_example_from_bytes() {
    RUNNER.assert_example_from_dir(&js_zip(), "zip-lister", "sample.zip");
}

#[test]
fn js_zip_example_preopen() {
    RUNNER.assert_example_preopened(&js_zip(), "zip-lister", "sample.zip", "archive");
}
