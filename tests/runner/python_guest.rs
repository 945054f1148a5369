//! Python guests (componentize-py) in the `wasi-memfd` runner.
//!
//! - `tests/guests/python/memfd_test.py`, built with componentize-py against
//!   the `wasi-memfd:memfd/command` world with `guest/python` (the
//!   `wasi_memfd` helper) on its module path, into `target/guests/python/`,
//!   run in each of its modes: the bytes -> descriptor -> Python file object
//!   path (contents, `stat`, reads at offsets, `read-via-stream`, zipfile,
//!   json, writable files, every error code), preopened files (read-only and
//!   writable) and the three runner limits.
//! - `examples/python-zip`, fed both ways (`--dir` + `from_bytes`, and
//!   `--preopen` + `open_preopened`); its listing of the Go example's
//!   `sample.zip` must equal `examples/zip-lister/expected.txt`.
//!
//! componentize-py comes from `scripts/toolchains.sh`
//! (`WASI_MEMFD_COMPONENTIZE_PY`, else `target/venv`); without it these tests
//! fail, they never skip. Each component is built once per test process
//! (about 20 s).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::guests::*;

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

/// Builds `MODULE` (a `.py` file in `dir`) into `target/guests/python/OUT`.
fn componentize(dir: &Path, module: &str, out: &str) -> PathBuf {
    let wasm = out_dir("python").join(out);
    run_checked(
        componentize_py()
            .arg("-p")
            .arg(dir)
            .arg(module)
            .arg("-o")
            .arg(&wasm),
        &format!("componentize-py {}/{module}.py", dir.display()),
    );
    wasm
}

/// `target/guests/python/memfd_test.wasm`, built once per test process.
fn memfd_test() -> &'static PathBuf {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| {
        componentize(
            &repo_root().join("tests/guests/python"),
            "memfd_test",
            "memfd_test.wasm",
        )
    })
}

/// `target/guests/python/python-zip.wasm`, built once per test process.
fn python_zip() -> &'static PathBuf {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| {
        componentize(
            &repo_root().join("examples/python-zip"),
            "app",
            "python-zip.wasm",
        )
    })
}

#[test]
fn python_guest_basic() {
    let run = run_guest(Vec::<&str>::new(), memfd_test(), ["basic"]);
    assert_all_checks_pass(&run, BASIC_CHECKS);
}

#[test]
fn python_guest_preopen() {
    let run = run_preopen("python", memfd_test(), GREETING, GREETING);
    assert_all_checks_pass(&run, PREOPEN_CHECKS);
}

/// The guest uppercases a `--preopen-writable` file in place; the runner
/// writes the bytes back to the host file.
#[test]
fn python_guest_preopen_writable() {
    assert_preopen_writable("python", memfd_test(), GREETING, PREOPEN_WRITABLE_CHECKS);
}

#[test]
fn python_guest_limits() {
    let run = run_limits(&[], memfd_test(), (5, 4096, 10000), &[]);
    assert_all_checks_pass(&run, LIMIT_CHECKS);
}

/// A failed check reaches the runner's exit status.
#[test]
fn python_guest_failure_exits_nonzero() {
    let run = run_preopen("python", memfd_test(), GREETING, "not the greeting");
    assert_one_check_failed(
        &run,
        "FAIL: open_preopened: contents, stat, independent offsets",
    );
}

#[test]
fn python_zip_example_from_bytes() {
    assert_example_from_dir(python_zip(), "zip-lister", "sample.zip");
}

#[test]
fn python_zip_example_preopen() {
    assert_example_preopened(python_zip(), "zip-lister", "sample.zip", "archive");
}
