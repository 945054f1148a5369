//! The examples in the `wasi-memfd` runner, each fed both ways: bytes read by
//! the guest through `--dir` and turned into a file with from-bytes, and a
//! file attached with `--preopen` and opened with open-preopened.
//!
//! - `examples/zip-lister` (Go): its listing of `sample.zip` must equal
//!   `examples/zip-lister/expected.txt`, which `make_sample.py` computed
//!   independently with Python's zipfile, zlib and hashlib (CRC-32, SHA-256
//!   of the decompressed content, size, name).
//! - `examples/c-file` (C): its report on `inventory.csv` must equal
//!   `examples/c-file/expected.txt`, computed by `make_expected.py`.
//!
//! - `examples/rust-file` (Rust, `guest/rust`): its counts and tail of
//!   `notes.txt` must equal `examples/rust-file/expected.txt`.
//!
//! `scripts/guests.sh` builds them (`zip-lister`, `c-file`, `rust-file`),
//! with the toolchains of `scripts/toolchains.sh`; without them these tests
//! fail (never skip).

use std::path::PathBuf;

use wasi_memfd_testing::guests::*;

use crate::RUNNER;

fn zip_lister() -> PathBuf {
    guest("zip-lister")
}

fn c_file() -> PathBuf {
    guest("c-file")
}

fn rust_file() -> PathBuf {
    guest("rust-file")
}

#[test]
fn zip_lister_from_bytes() {
    RUNNER.assert_example_from_dir(&zip_lister(), "zip-lister", "sample.zip");
}

#[test]
fn zip_lister_preopened() {
    RUNNER.assert_example_preopened(&zip_lister(), "zip-lister", "sample.zip", "archive");
}

/// Not a zip: archive/zip's error reaches stderr and the exit status.
#[test]
fn zip_lister_rejects_a_non_zip() {
    let dir = dir_arg(&example("zip-lister"), "/data");
    let run = RUNNER.run(
        ["--dir".as_ref(), dir.as_os_str()],
        &zip_lister(),
        ["/data/expected.txt"],
    );
    run.assert_code(1);
    run.assert_stderr_has("zip: not a valid zip file");
}

/// A missing preopen: ENOENT from open-preopened, reported by name.
#[test]
fn zip_lister_missing_preopen() {
    let run = RUNNER.run(Vec::<&str>::new(), &zip_lister(), ["-preopen", "archive"]);
    run.assert_code(1);
    run.assert_stderr_has("zip-lister: memfd_open_preopened archive: No such file or directory");
}

#[test]
fn c_file_from_bytes() {
    RUNNER.assert_example_from_dir(&c_file(), "c-file", "inventory.csv");
}

#[test]
fn c_file_preopened() {
    RUNNER.assert_example_preopened(&c_file(), "c-file", "inventory.csv", "inventory");
}

#[test]
fn rust_file_from_bytes() {
    RUNNER.assert_example_from_dir(&rust_file(), "rust-file", "notes.txt");
}

#[test]
fn rust_file_preopened() {
    RUNNER.assert_example_preopened(&rust_file(), "rust-file", "notes.txt", "notes");
}
