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
//! Guests are built into `target/guests/examples/`; the toolchains come from
//! `scripts/toolchains.sh`, and without them these tests fail (never skip).

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::guests::*;

fn zip_lister() -> &'static PathBuf {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| {
        let wasm = out_dir("examples").join("zip-lister.wasm");
        let dir = example("zip-lister");
        run_checked(
            go_wasip1().current_dir(&dir).args(["vet", "./..."]),
            "go vet examples/zip-lister",
        );
        run_checked(
            go_wasip1()
                .current_dir(&dir)
                .args(["build", "-o"])
                .arg(&wasm)
                .arg("."),
            "building examples/zip-lister for wasip1",
        );
        wasm
    })
}

fn c_file() -> &'static PathBuf {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| {
        let wasm = out_dir("examples").join("c-file.wasm");
        run_checked(
            zig_cc()
                .arg("-o")
                .arg(&wasm)
                .arg(example("c-file").join("c-file.c")),
            "building examples/c-file/c-file.c with zig cc",
        );
        wasm
    })
}

#[test]
fn zip_lister_from_bytes() {
    assert_example_from_dir(zip_lister(), "zip-lister", "sample.zip");
}

#[test]
fn zip_lister_preopened() {
    assert_example_preopened(zip_lister(), "zip-lister", "sample.zip", "archive");
}

/// Not a zip: archive/zip's error reaches stderr and the exit status.
#[test]
fn zip_lister_rejects_a_non_zip() {
    let dir = dir_arg(&example("zip-lister"), "/data");
    let run = run_guest(
        ["--dir".as_ref(), dir.as_os_str()],
        zip_lister(),
        ["/data/expected.txt"],
    );
    run.assert_code(1);
    assert!(
        run.stderr().contains("zip: not a valid zip file"),
        "{}",
        run.describe()
    );
}

/// A missing preopen: ENOENT from open-preopened, reported by name.
#[test]
fn zip_lister_missing_preopen() {
    let run = run_guest(Vec::<&str>::new(), zip_lister(), ["-preopen", "archive"]);
    run.assert_code(1);
    assert!(
        run.stderr()
            .contains("zip-lister: memfd_open_preopened archive: No such file or directory"),
        "{}",
        run.describe()
    );
}

#[test]
fn c_file_from_bytes() {
    assert_example_from_dir(c_file(), "c-file", "inventory.csv");
}

#[test]
fn c_file_preopened() {
    assert_example_preopened(c_file(), "c-file", "inventory.csv", "inventory");
}

/// `examples/rust-file` (with `guest/rust`) for wasm32-wasip1, built with the
/// rustc of the Rust guest tests (Debian's 1.63).
fn rust_file() -> &'static PathBuf {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| {
        let rustc = crate::rust_guest::wasm_rustc();
        let out = out_dir("examples");
        let rlib = out.join("libwasi_memfd_guest.rlib");
        run_checked(
            std::process::Command::new(&rustc)
                .args(["--edition", "2021", "--crate-type", "rlib"])
                .args(["--crate-name", "wasi_memfd_guest"])
                .args(["--target", "wasm32-wasi", "-O", "-D", "warnings"])
                .arg(repo_root().join("guest/rust/src/lib.rs"))
                .arg("-o")
                .arg(&rlib),
            "compiling guest/rust/src/lib.rs for wasm32-wasi",
        );
        let wasm = out.join("rust-file.wasm");
        let mut extern_arg = std::ffi::OsString::from("wasi_memfd_guest=");
        extern_arg.push(&rlib);
        run_checked(
            std::process::Command::new(&rustc)
                .args(["--edition", "2021", "--crate-type", "bin"])
                .args(["--target", "wasm32-wasi", "-O", "-D", "warnings"])
                .arg("--extern")
                .arg(extern_arg)
                .arg(example("rust-file").join("main.rs"))
                .arg("-o")
                .arg(&wasm),
            "compiling examples/rust-file/main.rs for wasm32-wasi",
        );
        wasm
    })
}

#[test]
fn rust_file_from_bytes() {
    assert_example_from_dir(rust_file(), "rust-file", "notes.txt");
}

#[test]
fn rust_file_preopened() {
    assert_example_preopened(rust_file(), "rust-file", "notes.txt", "notes");
}
