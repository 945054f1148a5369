//! The `wasi-memfd run` command line: exit codes, traps, argv, env, dirs,
//! preopens, limits and flag errors, with small WAT core modules.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use wasi_memfd_testing::component::{memfd_command_component, memfd_command_component_of};

use crate::RUNNER;

/// Writes `wat` to a fresh file named `name` under target/, returns its path.
fn guest(name: &str, wat: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("runner");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, wat).unwrap();
    path
}

fn run(args: &[&str]) -> Output {
    Command::new(RUNNER)
        .args(args)
        .output()
        .expect("the runner starts")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A module that exits with the status in its first data byte.
const EXIT_WITH_7: &str = r#"(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $exit (i32.const 7))))"#;

/// Prints argv, NUL-separated, to stdout.
const PRINT_ARGS: &str = r#"(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (drop (call $sizes (i32.const 0) (i32.const 4)))
    (drop (call $get (i32.const 1024) (i32.const 4096)))
    ;; iovec at 16: the whole argv buffer
    (i32.store (i32.const 16) (i32.const 4096))
    (i32.store (i32.const 20) (i32.load (i32.const 4)))
    (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))))"#;

/// Prints the environment, NUL-separated, to stdout.
const PRINT_ENV: &str = r#"(module
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (drop (call $sizes (i32.const 0) (i32.const 4)))
    (drop (call $get (i32.const 1024) (i32.const 4096)))
    (i32.store (i32.const 16) (i32.const 4096))
    (i32.store (i32.const 20) (i32.load (i32.const 4)))
    (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))))"#;

/// Opens the preopened file "in", copies up to 256 bytes of it to stdout;
/// exits with the errno of a failed `open_preopened`.
const CAT_PREOPEN: &str = r#"(module
  (import "wasi_memfd" "open_preopened" (func $open (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "in")
  (func (export "_start") (local $e i32)
    (local.set $e (call $open (i32.const 64) (i32.const 2) (i32.const 0)))
    (if (local.get $e) (then (call $exit (local.get $e))))
    (i32.store (i32.const 16) (i32.const 4096))
    (i32.store (i32.const 20) (i32.const 256))
    (drop (call $read (i32.load (i32.const 0)) (i32.const 16) (i32.const 1) (i32.const 24)))
    (i32.store (i32.const 20) (i32.load (i32.const 24)))
    (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))))"#;

/// Makes one 2048-byte memory file and exits with `from_bytes`' errno.
const MAKE_2K: &str = r#"(module
  (import "wasi_memfd" "from_bytes" (func $fb (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (call $exit (call $fb (i32.const 1024) (i32.const 2048) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))))"#;

#[test]
fn the_guest_exit_status_is_the_runner_exit_status() {
    let out = run(&["run", guest("exit7.wat", EXIT_WITH_7).to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
}

#[test]
fn a_trap_is_reported_and_exits_134() {
    let wat = r#"(module (memory (export "memory") 1) (func (export "_start") unreachable))"#;
    let out = run(&["run", guest("trap.wat", wat).to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(134));
    let err = stderr(&out);
    assert!(err.contains("the guest trapped"), "{err}");
    assert!(err.contains("unreachable"), "{err}");
}

#[test]
fn argv0_is_the_file_name_and_args_follow_even_with_dashes() {
    let path = guest("args.wat", PRINT_ARGS);
    let out = run(&["run", path.to_str().unwrap(), "one", "--two", "-x"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "args.wat\0one\0--two\0-x\0");
}

#[test]
fn env_flags_reach_the_guest() {
    let path = guest("env.wat", PRINT_ENV);
    let out = run(&[
        "run",
        "--env",
        "A=1",
        "--env",
        "B=x=y",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "A=1\0B=x=y\0");
}

#[test]
fn binary_wasm_without_an_extension_runs() {
    let bytes = wat::parse_str(EXIT_WITH_7).unwrap();
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("runner/exit7.test");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    let out = run(&["run", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
}

#[test]
fn preopen_copies_a_host_file_under_a_name() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("runner");
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("input.txt");
    std::fs::write(&input, "attached by the host\n").unwrap();
    let path = guest("cat.wat", CAT_PREOPEN);
    let spec = format!("in={}", input.display());
    let out = run(&["run", "--preopen", &spec, path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "attached by the host\n");
    // Without the flag the guest gets ENOENT (44).
    let out = run(&["run", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(44));
}

#[test]
fn limit_flags_take_byte_counts_with_suffixes() {
    let path = guest("make2k.wat", MAKE_2K);
    let path = path.to_str().unwrap();
    // The guest makes one 2048-byte file and exits with the errno.
    let cases = [
        ("--max-file-size", "2K", 0),
        ("--max-file-size", "2047", 22), // EFBIG
        ("--max-total-size", "1k", 19),  // EDQUOT
        ("--max-total-size", "1G", 0),
        ("--max-files", "0", 33), // EMFILE
    ];
    for (flag, value, errno) in cases {
        let out = run(&["run", flag, value, path]);
        assert_eq!(
            out.status.code(),
            Some(errno),
            "{flag} {value}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn bad_flags_get_a_usage_error() {
    let path = guest("exit7-flags.wat", EXIT_WITH_7);
    let path = path.to_str().unwrap();
    for args in [
        vec!["run", "--max-files", "many", path],
        vec!["run", "--max-file-size", "12Q", path],
        vec!["run", "--env", "=VALUE", path],
        vec!["run", "--preopen", "=x", path],
        vec!["run"],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.starts_with("error:"), "{args:?}: {err}");
        assert!(err.contains("--help"), "{args:?}: {err}");
    }
}

#[test]
fn missing_or_broken_guests_fail_clearly() {
    let out = run(&["run", "/nonexistent/guest.wasm"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("reading /nonexistent/guest.wasm"),
        "{}",
        stderr(&out)
    );
    let junk = guest("junk.wat", "(module (oops");
    let out = run(&["run", junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("neither wasm nor valid wat"),
        "{}",
        stderr(&out)
    );
    let out = run(&[
        "run",
        "--preopen",
        "x=/nonexistent/file",
        guest("exit7-p.wat", EXIT_WITH_7).to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--preopen x=/nonexistent/file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn dir_flag_maps_a_host_directory() {
    // path_open on preopened fd 3 ("/data"), read, print.
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (data (i32.const 64) "hello.txt")
      (func (export "_start") (local $e i32)
        (local.set $e (call $open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 9)
          (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 0)))
        (if (local.get $e) (then (call $exit (local.get $e))))
        (i32.store (i32.const 16) (i32.const 4096))
        (i32.store (i32.const 20) (i32.const 256))
        (drop (call $read (i32.load (i32.const 0)) (i32.const 16) (i32.const 1) (i32.const 24)))
        (i32.store (i32.const 20) (i32.load (i32.const 24)))
        (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))))"#;
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("runner/dir");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hello.txt"), "from a --dir\n").unwrap();
    let spec = format!("{}::/data", dir.display());
    let out = run(&[
        "run",
        "--dir",
        &spec,
        guest("dir.wat", wat).to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "from a --dir\n");
}

#[test]
fn components_run_with_wasi_memfd_linked() {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("runner/command.wasm");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, memfd_command_component()).unwrap();
    let path = path.to_str().unwrap();
    let out = run(&["run", path]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // 15 bytes do not fit under a 10-byte limit: `run` returns err.
    let out = run(&["run", "--max-file-size", "10", path]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn components_pass_lists_larger_than_the_default_hostcall_fuel() {
    // 200 MiB is over wasmtime's default hostcall fuel (128 MiB): the runner
    // fits the store's fuel to --max-file-size, so the list is lifted and the
    // guest gets a file, or an error code (run returns err: exit 1), and
    // never a trap (134).
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("runner/command-200m.wasm");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, memfd_command_component_of(200 << 20)).unwrap();
    let path = path.to_str().unwrap();
    let big = ["--max-file-size", "256M", "--max-total-size", "256M"];
    let out = run(&[&["run"][..], &big, &[path]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(&[
        "run",
        "--max-file-size",
        "256M",
        "--max-total-size",
        "100M",
        path,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn a_trap_raised_inside_a_host_call_exits_134() {
    // An iovec outside memory: wasmtime-wasi traps inside fd_write.
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "_start")
        (i32.store (i32.const 0) (i32.const 65530))
        (i32.store (i32.const 4) (i32.const 100))
        (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;
    let out = run(&["run", guest("host-trap.wat", wat).to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(134), "{}", stderr(&out));
    assert!(stderr(&out).contains("trapped"), "{}", stderr(&out));
    // The same through wasi-memfd's own fd layer: a write clamped at the end
    // of a writable memory file still checks the whole iovec.
    let wat = r#"(module
      (import "wasi_memfd" "from_bytes" (func $fb (param i32 i32 i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "_start")
        (drop (call $fb (i32.const 100) (i32.const 4) (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 0)))
        (i32.store (i32.const 16) (i32.const 65530))
        (i32.store (i32.const 20) (i32.const 100))
        (drop (call $w (i32.load (i32.const 0)) (i32.const 16) (i32.const 1) (i32.const 8)))))"#;
    let out = run(&["run", guest("memfd-trap.wat", wat).to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(134), "{}", stderr(&out));
}

#[test]
fn env_name_alone_inherits_the_host_value() {
    let path = guest("env-inherit.wat", PRINT_ENV);
    let out = Command::new(RUNNER)
        .env("WASI_MEMFD_FROM_HOST", "inherited")
        .env_remove("WASI_MEMFD_UNSET")
        .args([
            "run",
            "--env",
            "WASI_MEMFD_FROM_HOST",
            "--env",
            "WASI_MEMFD_UNSET",
        ])
        .args(["--env", "C=3", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // An unset host variable is left out, as the wasmtime CLI does.
    assert_eq!(stdout(&out), "WASI_MEMFD_FROM_HOST=inherited\0C=3\0");
}

#[test]
fn non_utf8_arguments_get_a_clear_error() {
    use std::os::unix::ffi::OsStrExt;
    let path = guest("args-utf8.wat", PRINT_ARGS);
    let out = Command::new(RUNNER)
        .args(["run", path.to_str().unwrap()])
        .arg(std::ffi::OsStr::from_bytes(b"caf\xe9"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("not valid UTF-8"), "{}", stderr(&out));
}

#[test]
fn a_writable_preopen_is_written_back_when_the_guest_exits() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("runner-writeback");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("doc.txt");
    std::fs::write(&file, b"hello world").unwrap();
    // The guest opens `doc`, overwrites its first five bytes and exits 0.
    let wat = r#"(module
      (import "wasi_memfd" "open_preopened" (func $open (param i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 100) "doc")
      (data (i32.const 200) "HELLO")
      (func (export "_start")
        (drop (call $open (i32.const 100) (i32.const 3) (i32.const 0)))
        (i32.store (i32.const 16) (i32.const 200))
        (i32.store (i32.const 20) (i32.const 5))
        (drop (call $write (i32.load (i32.const 0)) (i32.const 16) (i32.const 1) (i32.const 24)))))"#;
    let path = guest("writeback.wat", wat);
    let flag = format!("doc={}", file.display());
    let out = run(&["run", "--preopen-writable", &flag, path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&file).unwrap(), b"HELLO world");
    // A write-back that cannot happen is a clear error, and exit 1: the
    // guest deletes the host directory the file lives in (through --dir)
    // while it runs.
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    let inside = root.join("sub/doc.txt");
    std::fs::write(&inside, b"hello world").unwrap();
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "path_unlink_file" (func $unlink (param i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "path_remove_directory" (func $rmdir (param i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (data (i32.const 100) "sub/doc.txt")
      (func (export "_start")
        (call $exit (i32.or
          (call $unlink (i32.const 3) (i32.const 100) (i32.const 11))
          (call $rmdir (i32.const 3) (i32.const 100) (i32.const 3))))))"#;
    let path = guest("writeback-fails.wat", wat);
    let flag = format!("doc={}", inside.display());
    let dir_flag = format!("{}::/r", root.display());
    let out = run(&[
        "run",
        "--dir",
        &dir_flag,
        "--preopen-writable",
        &flag,
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("writing back --preopen-writable doc="),
        "{err}"
    );
    assert!(
        !root.join("sub").exists(),
        "the guest removed the directory"
    );
}

#[test]
fn compiled_code_is_cached_unless_asked_not_to() {
    // Both runs work; the second finds the cache (a timing is a benchmark,
    // not a test: the note on issue 8 reports first and second run times).
    let path = guest("cached.wat", EXIT_WITH_7);
    for flags in [&["run"][..], &["run"], &["run", "--no-cache"]] {
        let out = run(&[flags, &[path.to_str().unwrap()]].concat());
        assert_eq!(out.status.code(), Some(7), "{flags:?}: {}", stderr(&out));
    }
}
