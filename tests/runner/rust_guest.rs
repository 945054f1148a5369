//! Builds the `wasm32-wasip1` half of `guest/rust` and the test guest
//! `tests/guests/rust/memfd_test.rs` with Debian's rustc 1.63 and its
//! wasm32-wasi std (no cargo, no rustup target), then runs the guest in the
//! `wasi-memfd` runner.
//!
//! The rustc used is `/usr/bin/rustc`, or `$WASI_MEMFD_RUSTC_WASM`. Debian:
//! `apt-get install rustc libstd-rust-dev-wasm32 lld-14`. A missing compiler
//! fails these tests; they never skip.
//!
//! Build outputs go to `target/guests/rust/`.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use crate::guests::{out_dir, preopen_arg, repo_root, run_checked, run_guest, Run};

/// Must match `GREETING` and `PREOPEN` in memfd_test.rs.
const GREETING: &str = "hello from the host\n";
const PREOPEN: &str = "greeting";
/// The number of checks in memfd_test.rs.
const CHECKS: usize = 18;
/// Runner limits, passed to the guest too. Small, so the limit checks are
/// quick; `dropped_files_are_closed` makes 200 files, far over MAX_FILES.
const MAX_FILES: &str = "8";
const MAX_FILE_SIZE: &str = "65536";
const MAX_TOTAL_SIZE: &str = "262144";

pub(crate) fn wasm_rustc() -> PathBuf {
    let rustc = std::env::var_os("WASI_MEMFD_RUSTC_WASM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/rustc"));
    if !rustc.exists() {
        panic!(
            "no rustc for wasm32-wasi at {}: install Debian's rustc with its wasm32 std \
             (apt-get install rustc libstd-rust-dev-wasm32 lld-14) or point \
             WASI_MEMFD_RUSTC_WASM at a rustc that has the wasm32-wasi target",
            rustc.display()
        );
    }
    rustc
}

struct Built {
    wasm: PathBuf,
    greeting: PathBuf,
}

/// Compiles the crate and the guest once per test process.
fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let rustc = wasm_rustc();
        let root = repo_root();
        let out = out_dir("rust");

        let rlib = out.join("libwasi_memfd_guest.rlib");
        run_checked(
            Command::new(&rustc)
                .args(["--edition", "2021", "--crate-type", "rlib"])
                .args(["--crate-name", "wasi_memfd_guest"])
                .args(["--target", "wasm32-wasi", "-O"])
                .args(["-D", "warnings"])
                .arg(root.join("guest/rust/src/lib.rs"))
                .arg("-o")
                .arg(&rlib),
            "compiling guest/rust/src/lib.rs for wasm32-wasi",
        );

        let wasm = out.join("memfd_test.wasm");
        let mut extern_arg = std::ffi::OsString::from("wasi_memfd_guest=");
        extern_arg.push(&rlib);
        run_checked(
            Command::new(&rustc)
                .args(["--edition", "2021", "--crate-type", "bin"])
                .args(["--target", "wasm32-wasi", "-O", "-C", "strip=debuginfo"])
                .args(["-D", "warnings"])
                .arg("--extern")
                .arg(extern_arg)
                .arg(root.join("tests/guests/rust/memfd_test.rs"))
                .arg("-o")
                .arg(&wasm),
            "compiling tests/guests/rust/memfd_test.rs for wasm32-wasi",
        );

        let greeting = out.join("greeting.txt");
        std::fs::write(&greeting, GREETING).expect("write greeting.txt");
        Built { wasm, greeting }
    })
}

/// `<runner> run <limits> <extra> memfd_test.wasm`, the limits also passed
/// to the guest in its environment.
fn run_memfd_test(extra: &[&OsStr]) -> Run {
    let limits = [
        format!("--max-files={MAX_FILES}"),
        format!("--max-file-size={MAX_FILE_SIZE}"),
        format!("--max-total-size={MAX_TOTAL_SIZE}"),
        format!("--env=WASI_MEMFD_TEST_MAX_FILES={MAX_FILES}"),
        format!("--env=WASI_MEMFD_TEST_MAX_FILE_SIZE={MAX_FILE_SIZE}"),
        format!("--env=WASI_MEMFD_TEST_MAX_TOTAL_SIZE={MAX_TOTAL_SIZE}"),
    ];
    let flags = limits.iter().map(OsStr::new).chain(extra.iter().copied());
    run_guest(flags, &built().wasm, std::iter::empty::<&OsStr>())
}

fn ok_lines(run: &Run) -> usize {
    run.stdout()
        .lines()
        .filter(|l| l.starts_with("ok   "))
        .count()
}

#[test]
fn rust_guest_passes_every_check() {
    let preopen = preopen_arg(PREOPEN, &built().greeting);
    let run = run_memfd_test(&["--preopen".as_ref(), preopen.as_os_str()]);
    run.assert_code(0);
    assert!(!run.stdout().contains("FAIL"), "{}", run.describe());
    assert_eq!(ok_lines(&run), CHECKS, "{}", run.describe());
    assert!(
        run.stdout()
            .contains(&format!("memfd_test: all {CHECKS} checks passed")),
        "{}",
        run.describe()
    );
}

/// Without the preopened file one check fails and the guest exits 1: the
/// guest's checks can fail, and a failure reaches the exit status.
#[test]
fn rust_guest_reports_a_failed_check() {
    let run = run_memfd_test(&[]);
    run.assert_code(1);
    assert!(
        run.stdout()
            .contains("FAIL preopened_file_reads_and_has_its_own_offsets"),
        "{}",
        run.describe()
    );
    assert_eq!(ok_lines(&run), CHECKS - 1, "{}", run.describe());
    assert!(
        run.stdout()
            .contains(&format!("memfd_test: 1 of {CHECKS} checks failed")),
        "{}",
        run.describe()
    );
}
