//! Go guests in the `wasi-memfd` runner.
//!
//! - `tests/guests/go` (memfdcheck), built for GOOS=wasip1 into
//!   `target/guests/go/`, run in each of its modes: the whole []byte -> fd ->
//!   *os.File path, archive/zip, writable files, the errnos, preopened files
//!   and the three runner limits.
//! - The `guest/go` package's own tests, through `go test -exec`, with the
//!   runner flags and environment that `guest/go/test.sh` passes.
//!
//! Go comes from `scripts/toolchains.sh` (`WASI_MEMFD_GO`, else
//! `target/venv`); without it these tests fail, they never skip.

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::guests::*;

/// Every check of `memfdcheck basic`, as it prints them.
const BASIC_CHECKS: &[&str] = &[
    "raw from_bytes import + os.NewFile",
    "FromBytes",
    "Stat: regular file, true size",
    "io.ReadAll round trip",
    "Seek Start/Current/End",
    "ReadAt leaves the offset alone",
    "read-only: Write/WriteAt fail with EBADF, Truncate refused",
    "archive/zip over the *os.File",
    "writable: in-place Write/WriteAt, fixed size",
    "large file: 8 MiB round trip, ReadAt near the end",
    "empty data and empty name",
    "EINVAL: NUL in name",
    "EINVAL: name not UTF-8",
    "ENAMETOOLONG: 250-byte name (249 accepted)",
    "ENOENT: OpenPreopened of a missing name",
];

const LIMIT_CHECKS: &[&str] = &[
    "EFBIG: one byte over --max-file-size",
    "EDQUOT: one byte over --max-total-size; Close gives bytes back",
    "EMFILE: one file over --max-files; Close frees the slot",
];

const PREOPEN_CHECKS: &[&str] = &["OpenPreopened: contents, Stat, independent offsets"];

const GREETING: &str = "Hello from a file the host attached.";

/// `target/guests/go/memfdcheck.wasm`, built once per test process.
fn memfdcheck() -> &'static PathBuf {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| {
        let wasm = out_dir("go").join("memfdcheck.wasm");
        run_checked(
            go_wasip1()
                .current_dir(repo_root().join("tests/guests/go"))
                .args(["vet", "./..."]),
            "go vet tests/guests/go",
        );
        run_checked(
            go_wasip1()
                .current_dir(repo_root().join("tests/guests/go"))
                .args(["build", "-o"])
                .arg(&wasm)
                .arg("."),
            "building tests/guests/go for wasip1",
        );
        wasm
    })
}

#[test]
fn go_guest_basic() {
    let run = run_guest(Vec::<&str>::new(), memfdcheck(), ["basic"]);
    assert_all_checks_pass(&run, BASIC_CHECKS);
}

#[test]
fn go_guest_preopen() {
    let run = run_preopen("go", memfdcheck(), GREETING, GREETING);
    assert_all_checks_pass(&run, PREOPEN_CHECKS);
}

#[test]
fn go_guest_limits() {
    let run = run_limits(&[], memfdcheck(), (5, 4096, 10000), &[]);
    assert_all_checks_pass(&run, LIMIT_CHECKS);
}

/// A failed check reaches the runner's exit status.
#[test]
fn go_guest_failure_exits_nonzero() {
    let run = run_preopen("go", memfdcheck(), GREETING, "not the greeting");
    assert_one_check_failed(
        &run,
        "FAIL: OpenPreopened: contents, Stat, independent offsets",
    );
}

/// Runner flags and environment for the `guest/go` package tests; keep in
/// step with `guest/go/test.sh`.
fn package_exec() -> String {
    let greeting = repo_root().join("guest/go/memfd/testdata/greeting.txt");
    let q = |s: &str| {
        assert!(!s.contains('\''), "path {s:?} has a quote");
        format!("'{s}'")
    };
    [
        q(RUNNER),
        "run".into(),
        "--max-files 16 --max-file-size 65536 --max-total-size 262144".into(),
        format!(
            "--preopen {}",
            q(&format!("greeting={}", greeting.display()))
        ),
        "--env WASI_MEMFD_TEST_PREOPEN=greeting".into(),
        "--env WASI_MEMFD_TEST_MAX_FILES=16".into(),
        "--env WASI_MEMFD_TEST_MAX_FILE_SIZE=65536".into(),
        "--env WASI_MEMFD_TEST_MAX_TOTAL_SIZE=262144".into(),
    ]
    .join(" ")
}

/// `go test` of guest/go inside the runner: every test runs, none skips.
#[test]
fn go_package_tests_in_runner() {
    let dir = repo_root().join("guest/go");
    run_checked(
        go_wasip1().current_dir(&dir).args(["vet", "./..."]),
        "go vet guest/go (wasip1)",
    );
    let out = run_checked(
        go_wasip1()
            .current_dir(&dir)
            .args(["test", "-count=1", "-v", "-exec"])
            .arg(package_exec())
            .arg("./..."),
        "go test guest/go in the runner",
    );
    assert!(!out.contains("--- SKIP"), "a test skipped:\n{out}");
    assert!(!out.contains("--- FAIL"), "a test failed:\n{out}");
    for test in [
        "TestRoundTrip",
        "TestStat",
        "TestSeekAndReadAt",
        "TestReadOnlyRefusesWrites",
        "TestWritable",
        "TestNameWithNUL",
        "TestNameNotUTF8",
        "TestNameTooLong",
        "TestOpenPreopenedMissing",
        "TestOpenPreopened",
        "TestMaxFileSize",
        "TestMaxTotalSize",
        "TestMaxFiles",
    ] {
        assert!(
            out.contains(&format!("--- PASS: {test} ")),
            "{test} did not pass:\n{out}"
        );
    }
}

/// Outside wasip1 the package compiles and reports ErrUnsupported.
#[test]
fn go_package_tests_on_host() {
    let dir = repo_root().join("guest/go");
    run_checked(
        go().current_dir(&dir).args(["vet", "./..."]),
        "go vet guest/go (host)",
    );
    let out = run_checked(
        go().current_dir(&dir)
            .args(["test", "-count=1", "-v", "./..."]),
        "go test guest/go on the host",
    );
    assert!(out.contains("--- PASS: TestUnsupported "), "{out}");
}

/// The Go sources are gofmt-clean.
#[test]
fn go_sources_are_gofmt_clean() {
    let gofmt = go_bin().with_file_name("gofmt");
    let root = repo_root();
    let out = run_checked(
        std::process::Command::new(&gofmt)
            .arg("-l")
            .arg(root.join("guest/go"))
            .arg(root.join("tests/guests/go"))
            .arg(root.join("examples/zip-lister")),
        "gofmt -l",
    );
    assert!(out.trim().is_empty(), "not gofmt-formatted:\n{out}");
}

/// With `--pool` (8 small files, 1 large with 12 MiB allocated ahead, which
/// the 8 MiB check takes), the guest sees exactly what it sees without.
#[test]
fn go_guest_with_a_pool() {
    let run = run_guest(["--pool", "8,1,12M"], memfdcheck(), ["basic"]);
    assert_all_checks_pass(&run, BASIC_CHECKS);
    let run = run_limits(
        &["--pool".as_ref(), "8".as_ref()],
        memfdcheck(),
        (5, 4096, 10000),
        &[],
    );
    assert_all_checks_pass(&run, LIMIT_CHECKS);
}
