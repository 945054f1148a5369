//! Go guests in the `wasi-memfd` runner.
//!
//! - `tests/guests/go` (memfdcheck, `scripts/guests.sh go-memfdcheck`), run
//!   in each of its modes: the whole []byte -> fd -> *os.File path,
//!   archive/zip, writable files, the errnos, preopened files and the three
//!   runner limits.
//! - The `guest/go` package's own tests, once: the wasip1 test binary
//!   (`scripts/guests.sh go-memfd-package`) run in the runner with the
//!   limits, preopened file and environment its limit and preopen tests
//!   expect (written only here); on the host, its `ErrUnsupported` stubs
//!   with `go test`; and gofmt over every Go source.
//!
//! Go comes from `scripts/toolchains.sh`; without it these tests fail, they
//! never skip.

use std::path::PathBuf;

use wasi_memfd_testing::guests::*;

use crate::RUNNER;

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

/// `target/guests/go-memfdcheck.wasm`.
fn memfdcheck() -> PathBuf {
    guest("go-memfdcheck")
}

#[test]
fn go_guest_basic() {
    let run = RUNNER.run(Vec::<&str>::new(), &memfdcheck(), ["basic"]);
    assert_all_checks_pass(&run, BASIC_CHECKS);
}

#[test]
fn go_guest_preopen() {
    let run = RUNNER.run_preopen("go", &memfdcheck(), GREETING, GREETING);
    assert_all_checks_pass(&run, PREOPEN_CHECKS);
}

#[test]
fn go_guest_limits() {
    let run = RUNNER.run_limits(&[], &memfdcheck(), (5, 4096, 10000), &[]);
    assert_all_checks_pass(&run, LIMIT_CHECKS);
}

/// A failed check reaches the runner's exit status.
#[test]
fn go_guest_failure_exits_nonzero() {
    let run = RUNNER.run_preopen("go", &memfdcheck(), GREETING, "not the greeting");
    assert_one_check_failed(
        &run,
        "FAIL: OpenPreopened: contents, Stat, independent offsets",
    );
}

/// The `guest/go` package's tests (`memfd/memfd_test.go`) in the runner,
/// under the limits and with the preopened file its limit and preopen
/// tests read from the environment: every test passes, none skips.
#[test]
fn go_package_tests_in_runner() {
    let greeting = repo_root().join("guest/go/memfd/testdata/greeting.txt");
    let mut flags = limits_with_env((16, 65536, 262144));
    flags.push("--preopen".into());
    flags.push(preopen_arg("greeting", &greeting));
    flags.push("--env=WASI_MEMFD_TEST_PREOPEN=greeting".into());
    let run = RUNNER.run(
        flags,
        &guest("go-memfd-package"),
        ["-test.v", "-test.count=1"],
    );
    run.assert_code(0)
        .assert_stdout_lacks("--- SKIP")
        .assert_stdout_lacks("--- FAIL");
    let out = run.stdout();
    // Every test the file declares passed.
    let source = std::fs::read_to_string(repo_root().join("guest/go/memfd/memfd_test.go"))
        .expect("read guest/go/memfd/memfd_test.go");
    let tests: Vec<&str> = source
        .lines()
        .filter_map(|l| l.strip_prefix("func Test"))
        .filter_map(|l| l.split_once('('))
        .map(|(name, _)| name)
        .collect();
    for test in [
        "RoundTrip",
        "Stat",
        "SeekAndReadAt",
        "ReadOnlyRefusesWrites",
        "Writable",
        "NameWithNUL",
        "NameNotUTF8",
        "NameTooLong",
        "OpenPreopenedMissing",
        "OpenPreopened",
        "MaxFileSize",
        "MaxTotalSize",
        "MaxFiles",
    ] {
        assert!(tests.contains(&test), "memfd_test.go has no Test{test}");
    }
    for test in tests {
        assert!(
            out.contains(&format!("--- PASS: Test{test} ")),
            "Test{test} did not pass:\n{}",
            run.describe()
        );
    }
    assert_eq!(out.lines().last(), Some("PASS"), "{}", run.describe());
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
    let gofmt = std::path::Path::new(toolchain("WASI_MEMFD_GO")).with_file_name("gofmt");
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
    let run = RUNNER.run(["--pool", "8,1,12M"], &memfdcheck(), ["basic"]);
    assert_all_checks_pass(&run, BASIC_CHECKS);
    let run = RUNNER.run_limits(
        &["--pool".as_ref(), "8".as_ref()],
        &memfdcheck(),
        (5, 4096, 10000),
        &[],
    );
    assert_all_checks_pass(&run, LIMIT_CHECKS);
}
