//! The C guest `tests/guests/c/memfd_test.c` (wasi-libc, `guest/c/wasi_memfd.h`)
//! in the `wasi-memfd` runner: fstat, lseek, read, pread, stdio, fcntl,
//! close, writable files, every errno, preopened files and the runner limits.
//!
//! It is built by `scripts/guests.sh c-memfd-test` (`zig cc -target
//! wasm32-wasi`). Also: the C++ guest `tests/guests/c/memfd_test.cpp`
//! (`cxx-memfd-test`: `zig c++`, libc++), and `tests/guests/c/header_check.c`
//! compiled as C99..C23 and C++11..C++23 under `-pedantic`, and for wasm64,
//! wasm32-wasip2, a native target and wasm32-freestanding, where the
//! header's `#error` must come first (these compile checks call zig
//! directly, the zig `scripts/toolchains.sh` names). Without Zig these tests
//! fail, they never skip.

use std::path::PathBuf;

use wasi_memfd_testing::guests::*;

use crate::RUNNER;

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

/// `target/guests/c-memfd-test.wasm`.
fn memfd_test() -> PathBuf {
    guest("c-memfd-test")
}

fn greeting_file() -> PathBuf {
    host_file("c", "greeting.txt", GREETING)
}

#[test]
fn c_guest_basic() {
    let run = RUNNER.run(Vec::<&str>::new(), &memfd_test(), ["basic"]);
    assert_all_checks_pass(&run, BASIC_CHECKS);
}

#[test]
fn c_guest_preopen() {
    let run = RUNNER.run_preopen("c", &memfd_test(), GREETING, GREETING);
    assert_all_checks_pass(&run, PREOPEN_CHECKS);
}

#[test]
fn c_guest_limits() {
    let run = RUNNER.run_limits(&[], &memfd_test(), (6, 3000, 8000), &[]);
    assert_all_checks_pass(&run, LIMIT_CHECKS);
}

/// open-preopened takes a --max-files slot but no --max-total-size bytes.
#[test]
fn c_guest_limits_with_preopen() {
    let preopen = preopen_arg("greeting", &greeting_file());
    let run = RUNNER.run_limits(
        &["--preopen".as_ref(), preopen.as_os_str()],
        &memfd_test(),
        (6, 3000, 8000),
        &["greeting"],
    );
    let all: Vec<&str> = LIMIT_CHECKS
        .iter()
        .chain(LIMIT_PREOPEN_CHECKS)
        .copied()
        .collect();
    assert_all_checks_pass(&run, &all);
}

/// A failed check reaches the runner's exit status (the C guest stops at
/// its first failure, with no count).
#[test]
fn c_guest_failure_exits_nonzero() {
    let run = RUNNER.run_preopen("c", &memfd_test(), GREETING, "something else");
    run.assert_code(1);
    assert!(
        run.stdout().lines().any(|l| l.starts_with("FAIL: ")),
        "{}",
        run.describe()
    );
}

/// The C++ guest `tests/guests/c/memfd_test.cpp`: the header from C++
/// (libc++, `zig c++ -fno-exceptions`: zig's wasm32-wasi libc++ has no
/// exceptions).
#[test]
fn cxx_guest_basic() {
    let run = RUNNER.run(
        Vec::<&str>::new(),
        &guest("cxx-memfd-test"),
        Vec::<&str>::new(),
    );
    assert_all_checks_pass(
        &run,
        &[
            "C++: from_bytes_n over a std::vector, fstat, read into std::string, pread",
            "C++: fdopen + fgets",
            "C++: WASI_MEMFD_WRITABLE, pwrite in place",
            "C++: errno from the helpers, the raw import, nullptr arguments",
        ],
    );
}

/// `wasi_memfd.h` compiles cleanly (`-pedantic`, conversions, old-style
/// casts) as C99 through C23 and as C++11 through C++23.
#[test]
fn c_header_compiles_as_c_and_cxx() {
    let src = repo_root().join("tests/guests/c/header_check.c");
    let obj = out_dir("c").join("header_check.o");
    for std in ["c99", "c11", "c17", "c23"] {
        run_checked(
            zig("cc", "wasm32-wasi")
                .arg(format!("-std={std}"))
                .args(["-Wcast-qual", "-Wstrict-prototypes", "-c", "-o"])
                .arg(&obj)
                .arg(&src),
            &format!("wasi_memfd.h as {std}"),
        );
    }
    for std in ["c++11", "c++14", "c++17", "c++20", "c++23"] {
        run_checked(
            zig("c++", "wasm32-wasi")
                .arg(format!("-std={std}"))
                .args(["-Wold-style-cast", "-Wzero-as-null-pointer-constant"])
                .args(["-x", "c++", "-c", "-o"])
                .arg(&obj)
                .arg(&src),
            &format!("wasi_memfd.h as {std}"),
        );
    }
}

/// Targets the imports do not serve stop at the header's `#error`.
#[test]
fn c_header_refuses_other_targets() {
    let src = repo_root().join("tests/guests/c/header_check.c");
    let obj = out_dir("c").join("header_check_refused.o");
    let cases: [(&str, &[&str], &str); 4] = [
        ("wasm64-wasi", &[], "does not support wasm64"),
        (
            // zig has no wasip2 target; clang's own wasip2 triple defines
            // __wasip2__ as wasi-sdk's wasm32-wasip2 does.
            "wasm32-wasi",
            &["-Xclang", "-triple", "-Xclang", "wasm32-unknown-wasip2"],
            "does not support wasm32-wasip2",
        ),
        ("x86_64-linux-musl", &[], "is for WebAssembly guests"),
        ("wasm32-freestanding", &[], "needs a WASI target"),
    ];
    for (target, extra, message) in cases {
        for driver in ["cc", "c++"] {
            let mut cmd = zig(driver, target);
            cmd.args(extra)
                .args(["-x", if driver == "cc" { "c" } else { "c++" }]);
            cmd.args(["-c", "-o"]).arg(&obj).arg(&src);
            let out = cmd
                .output()
                .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
            let stderr = String::from_utf8_lossy(&out.stderr);
            let first_error = stderr.lines().find(|l| l.contains("error:"));
            assert!(
                !out.status.success() && first_error.is_some_and(|l| l.contains(message)),
                "{driver} for {target}: want the #error {message:?} as the first error:\n{cmd:?}\n{stderr}"
            );
        }
    }
}
