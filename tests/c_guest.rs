//! The C guest `tests/guests/c/memfd_test.c` (wasi-libc, `guest/c/wasi_memfd.h`)
//! in the `wasi-memfd` runner: fstat, lseek, read, pread, stdio, fcntl,
//! close, writable files, every errno, preopened files and the runner limits.
//!
//! It is built with `zig cc -target wasm32-wasi` into `target/guests/c/`.
//! Zig comes from `scripts/toolchains.sh` (`WASI_MEMFD_ZIG`, else
//! `target/venv`); without it these tests fail, they never skip.

#[path = "support/guests.rs"]
mod guests;

use std::path::PathBuf;
use std::sync::OnceLock;

use guests::*;

/// Every check of `memfd_test basic`, as it prints them.
const BASIC_CHECKS: &[&str] = &[
    "from_bytes returns an fd",
    "raw WASI: regular file, rights, fd_tell, fd_prestat_get EBADF",
    "fstat: regular file of the right size",
    "fcntl(F_GETFL) & O_ACCMODE == O_RDONLY",
    "read: round trip, then EOF",
    "lseek SEEK_SET/SEEK_CUR/SEEK_END, past the end",
    "pread leaves the offset alone",
    "read-only: write/pwrite EBADF, ftruncate refused",
    "posix_fadvise, fsync",
    "close, then read and fstat fail with EBADF",
    "fdopen + fscanf/fread/fseek/fgets",
    "empty file",
    "writable: write right, fcntl(F_GETFL) & O_ACCMODE == O_RDWR",
    "writable: write and pwrite in place",
    "writable: fixed size, no writes past the end, no ftruncate",
    "writable: fsync, fdatasync",
    "writable: fdopen(\"r+\") + fputs",
    "names: 249 bytes accepted, 250 ENAMETOOLONG",
    "EINVAL: NUL in name, invalid UTF-8, unknown flag bits",
    "EFAULT for ranges outside memory",
    "open_preopened of a missing name: ENOENT",
];

const LIMIT_CHECKS: &[&str] = &[
    "EFBIG over --max-file-size",
    "EDQUOT over --max-total-size; close gives bytes back",
    "EMFILE over --max-files; close frees the slot",
];

const PREOPEN_CHECKS: &[&str] = &[
    "preopen: contents, fstat, independent offsets",
    "preopen: read-only (write EBADF, O_RDONLY), close",
];

/// With a preopened file as well as the limits.
const LIMIT_PREOPEN_CHECKS: &[&str] = &[
    "limits: a preopened file takes no quota bytes",
    "limits: open_preopened counts against --max-files",
];

const GREETING: &str = "A file attached by the host, read from C.";

/// `target/guests/c/memfd_test.wasm`, built once per test process.
fn memfd_test() -> &'static PathBuf {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| {
        let wasm = out_dir("c").join("memfd_test.wasm");
        run_checked(
            zig_cc()
                .arg("-o")
                .arg(&wasm)
                .arg(repo_root().join("tests/guests/c/memfd_test.c")),
            "building tests/guests/c/memfd_test.c with zig cc",
        );
        wasm
    })
}

fn greeting_file() -> &'static PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = out_dir("c").join("greeting.txt");
        std::fs::write(&path, GREETING).expect("write greeting.txt");
        path
    })
}

#[test]
fn c_guest_basic() {
    let run = run_guest(Vec::<&str>::new(), memfd_test(), ["basic"]);
    assert_all_checks_pass(&run, BASIC_CHECKS);
}

#[test]
fn c_guest_preopen() {
    let preopen = preopen_arg("greeting", greeting_file());
    let run = run_guest(
        ["--preopen".as_ref(), preopen.as_os_str()],
        memfd_test(),
        ["preopen", "greeting", GREETING],
    );
    assert_all_checks_pass(&run, PREOPEN_CHECKS);
}

#[test]
fn c_guest_limits() {
    let run = run_guest(
        [
            "--max-files",
            "6",
            "--max-file-size",
            "3000",
            "--max-total-size",
            "8000",
        ],
        memfd_test(),
        ["limits", "6", "3000", "8000"],
    );
    assert_all_checks_pass(&run, LIMIT_CHECKS);
}

/// open-preopened takes a --max-files slot but no --max-total-size bytes.
#[test]
fn c_guest_limits_with_preopen() {
    let preopen = preopen_arg("greeting", greeting_file());
    let run = run_guest(
        [
            "--max-files".as_ref(),
            "6".as_ref(),
            "--max-file-size".as_ref(),
            "3000".as_ref(),
            "--max-total-size".as_ref(),
            "8000".as_ref(),
            "--preopen".as_ref(),
            preopen.as_os_str(),
        ],
        memfd_test(),
        ["limits", "6", "3000", "8000", "greeting"],
    );
    let all: Vec<&str> = LIMIT_CHECKS
        .iter()
        .chain(LIMIT_PREOPEN_CHECKS)
        .copied()
        .collect();
    assert_all_checks_pass(&run, &all);
}

/// A failed check reaches the runner's exit status.
#[test]
fn c_guest_failure_exits_nonzero() {
    let preopen = preopen_arg("greeting", greeting_file());
    let run = run_guest(
        ["--preopen".as_ref(), preopen.as_os_str()],
        memfd_test(),
        ["preopen", "greeting", "something else"],
    );
    run.assert_code(1);
    assert!(
        run.stdout().lines().any(|l| l.starts_with("FAIL: ")),
        "{}",
        run.describe()
    );
}
