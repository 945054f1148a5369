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

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const RUNNER: &str = env!("CARGO_BIN_EXE_wasi-memfd");
/// Must match `GREETING` and `PREOPEN` in memfd_test.rs.
const GREETING: &str = "hello from the host\n";
const PREOPEN: &str = "greeting";
/// The number of checks in memfd_test.rs.
const CHECKS: usize = 17;
/// Runner limits, passed to the guest too. Small, so the limit checks are
/// quick; `dropped_files_are_closed` makes 200 files, far over MAX_FILES.
const MAX_FILES: &str = "8";
const MAX_FILE_SIZE: &str = "65536";
const MAX_TOTAL_SIZE: &str = "262144";

fn repo_root() -> PathBuf {
    // This file is registered by host/Cargo.toml, so the manifest dir is host/.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

/// `target/guests/rust`, next to the profile directory the runner is in.
fn out_dir() -> PathBuf {
    let runner = Path::new(RUNNER);
    let target = runner
        .parent()
        .and_then(Path::parent)
        .expect("the runner lives in target/<profile>/");
    target.join("guests").join("rust")
}

fn wasm_rustc() -> PathBuf {
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

fn run_checked(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}): {cmd:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
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
        let out = out_dir();
        std::fs::create_dir_all(&out).expect("create target/guests/rust");

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

/// `<runner> run <limits> <extra> memfd_test.wasm`
fn run_guest(extra: &[&std::ffi::OsStr]) -> Output {
    let b = built();
    let mut cmd = Command::new(RUNNER);
    cmd.arg("run")
        .args(["--max-files", MAX_FILES])
        .args(["--max-file-size", MAX_FILE_SIZE])
        .args(["--max-total-size", MAX_TOTAL_SIZE])
        .args(["--env", &format!("WASI_MEMFD_TEST_MAX_FILES={MAX_FILES}")])
        .args([
            "--env",
            &format!("WASI_MEMFD_TEST_MAX_FILE_SIZE={MAX_FILE_SIZE}"),
        ])
        .args([
            "--env",
            &format!("WASI_MEMFD_TEST_MAX_TOTAL_SIZE={MAX_TOTAL_SIZE}"),
        ])
        .args(extra)
        .arg(&b.wasm);
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn describe(out: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn preopen_arg() -> std::ffi::OsString {
    let mut arg = std::ffi::OsString::from(format!("{PREOPEN}="));
    arg.push(&built().greeting);
    arg
}

#[test]
fn rust_guest_passes_every_check() {
    let preopen = preopen_arg();
    let out = run_guest(&["--preopen".as_ref(), preopen.as_os_str()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(!stdout.contains("FAIL"), "{}", describe(&out));
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok   ")).count(),
        CHECKS,
        "{}",
        describe(&out)
    );
    assert!(
        stdout.contains(&format!("memfd_test: all {CHECKS} checks passed")),
        "{}",
        describe(&out)
    );
}

/// Without the preopened file one check fails and the guest exits 1: the
/// guest's checks can fail, and a failure reaches the exit status.
#[test]
fn rust_guest_reports_a_failed_check() {
    let out = run_guest(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        stdout.contains("FAIL preopened_file_reads_and_has_its_own_offsets"),
        "{}",
        describe(&out)
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok   ")).count(),
        CHECKS - 1,
        "{}",
        describe(&out)
    );
    assert!(
        stdout.contains(&format!("memfd_test: 1 of {CHECKS} checks failed")),
        "{}",
        describe(&out)
    );
}
