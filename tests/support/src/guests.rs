//! The runner tests' helpers (`tests/runner/`): guests built by
//! `scripts/guests.sh`, run in the `wasi-memfd` runner, and checks of what
//! they printed.
//!
//! `scripts/toolchains.sh` and `scripts/guests.sh` are the one source of
//! where each toolchain is and how each guest is built: [`toolchain`] runs
//! `bash scripts/toolchains.sh --vars` once per process and reads its
//! `NAME=VALUE` lines, [`guest`] runs `bash scripts/guests.sh NAME` once per
//! name per process (the script rebuilds only what changed). A missing
//! toolchain fails the test with the script's message: these tests never
//! skip.
//!
//! The runner under test is the test binary's own
//! (`env!("CARGO_BIN_EXE_wasi-memfd")`, which only an integration test of
//! the runner's package can name): it hands it in as a [`Runner`].

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex, OnceLock};

pub use crate::repo_root;

/// What `bash scripts/toolchains.sh --vars` printed, once per process.
fn toolchains() -> &'static HashMap<String, String> {
    static VARS: OnceLock<HashMap<String, String>> = OnceLock::new();
    VARS.get_or_init(|| {
        let out = run_checked(
            Command::new("bash")
                .current_dir(repo_root())
                .args(["scripts/toolchains.sh", "--vars"]),
            "scripts/toolchains.sh --vars (installs the guest toolchains)",
        );
        out.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    })
}

/// The value `scripts/toolchains.sh` gives `var` (such as `WASI_MEMFD_GO`).
pub fn toolchain(var: &str) -> &'static str {
    toolchains()
        .get(var)
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| panic!("scripts/toolchains.sh --vars gives no {var}"))
}

/// `target/guests/NAME.wasm`, built by `bash scripts/guests.sh NAME` the
/// first time this process asks for it (`--list` names the guests).
pub fn guest(name: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, Arc<OnceLock<PathBuf>>>>> = OnceLock::new();
    let slot = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(name.to_string())
        .or_default()
        .clone();
    slot.get_or_init(|| {
        // Installs the toolchains once, before any build needs them.
        toolchains();
        let out = run_checked(
            Command::new("bash")
                .current_dir(repo_root())
                .args(["scripts/guests.sh", name]),
            &format!("scripts/guests.sh {name}"),
        );
        let wasm = PathBuf::from(out.trim());
        assert!(wasm.is_file(), "scripts/guests.sh {name} printed {out:?}");
        wasm
    })
    .clone()
}

/// A `go` command for the host (GOOS and GOARCH unset) with the
/// environment `scripts/toolchains.sh` exports (caches under `target/go/`,
/// `-mod=mod`, no toolchain downloads) and Go's telemetry counters under
/// `target/go/config`.
pub fn go() -> Command {
    let mut cmd = Command::new(toolchain("WASI_MEMFD_GO"));
    for var in ["GOCACHE", "GOPATH", "GOMODCACHE", "GOFLAGS", "GOTOOLCHAIN"] {
        cmd.env(var, toolchain(var));
    }
    cmd.env("CGO_ENABLED", "0")
        .env("XDG_CONFIG_HOME", repo_root().join("target/go/config"))
        .env_remove("GOOS")
        .env_remove("GOARCH")
        .env_remove("GOROOT");
    cmd
}

/// `zig <driver> -target <target>` (driver `cc` or `c++`) with warnings as
/// errors, `-pedantic`, `guest/c` on the include path and the caches
/// `scripts/toolchains.sh` names: for compile checks that must fail or make
/// no guest (the guests themselves are `scripts/guests.sh`'s).
pub fn zig(driver: &str, target: &str) -> Command {
    let mut cmd = Command::new(toolchain("WASI_MEMFD_ZIG"));
    cmd.args([driver, "-target", target])
        .args(["-Wall", "-Wextra", "-Werror", "-pedantic"])
        .args(["-Wconversion", "-Wsign-conversion", "-Wshadow", "-Wundef"])
        .arg("-I")
        .arg(repo_root().join("guest/c"));
    for var in ["ZIG_GLOBAL_CACHE_DIR", "ZIG_LOCAL_CACHE_DIR"] {
        cmd.env(var, toolchain(var));
    }
    cmd
}

/// `target/test-files/<sub>`, created: host files the tests hand guests.
pub fn out_dir(sub: &str) -> PathBuf {
    let dir = repo_root().join("target/test-files").join(sub);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

/// Runs a command; panics with its output unless it succeeds. Returns its
/// stdout.
pub fn run_checked(cmd: &mut Command, what: &str) -> String {
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
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What a guest run produced, with the command line that produced it.
pub struct Run {
    pub cmd: String,
    pub out: Output,
}

impl Run {
    /// Runs `cmd` to its end.
    pub fn of(cmd: &mut Command) -> Run {
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
        Run {
            cmd: format!("{cmd:?}"),
            out,
        }
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    pub fn code(&self) -> Option<i32> {
        self.out.status.code()
    }

    /// The command, exit status and both outputs, for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "command: {}\nstatus: {}\n--- stdout\n{}\n--- stderr\n{}",
            self.cmd,
            self.out.status,
            self.stdout(),
            self.stderr()
        )
    }

    /// Asserts the run exited with `code`.
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            Some(code),
            "wrong exit status\n{}",
            self.describe()
        );
        self
    }

    /// Asserts the run's stdout holds `text`.
    pub fn assert_stdout_has(&self, text: &str) -> &Self {
        assert!(self.stdout().contains(text), "{}", self.describe());
        self
    }

    /// Asserts the run's stdout does not hold `text`.
    pub fn assert_stdout_lacks(&self, text: &str) -> &Self {
        assert!(
            !self.stdout().contains(text),
            "{text:?} in stdout\n{}",
            self.describe()
        );
        self
    }

    /// Asserts the run's stderr holds `text`.
    pub fn assert_stderr_has(&self, text: &str) -> &Self {
        assert!(self.stderr().contains(text), "{}", self.describe());
        self
    }
}

/// The `wasi-memfd` binary under test.
#[derive(Copy, Clone, Debug)]
pub struct Runner(pub &'static str);

impl AsRef<OsStr> for Runner {
    fn as_ref(&self) -> &OsStr {
        self.0.as_ref()
    }
}

impl Runner {
    /// `wasi-memfd run FLAGS... WASM ARGS...`.
    pub fn run<F, A>(self, flags: F, wasm: &Path, args: A) -> Run
    where
        F: IntoIterator,
        F::Item: AsRef<OsStr>,
        A: IntoIterator,
        A::Item: AsRef<OsStr>,
    {
        Run::of(
            Command::new(self)
                .arg("run")
                .args(flags)
                .arg(wasm)
                .args(args),
        )
    }

    /// Runs a test guest in its `preopen` mode: `text` in the host file
    /// `out_dir(sub)/greeting.txt`, attached read-only as `greeting`, and
    /// the guest told to expect `expect` there (not `text`: a check that
    /// must fail).
    pub fn run_preopen(self, sub: &str, wasm: &Path, text: &str, expect: &str) -> Run {
        let preopen = preopen_arg("greeting", &host_file(sub, "greeting.txt", text));
        self.run(
            ["--preopen".as_ref(), preopen.as_os_str()],
            wasm,
            ["preopen", "greeting", expect],
        )
    }

    /// Runs a test guest in its `preopen-writable` mode, which uppercases
    /// the `--preopen-writable` file `greeting` in place: every check in
    /// `checks` passes, and the runner wrote the bytes back to the host
    /// file.
    pub fn assert_preopen_writable(self, sub: &str, wasm: &Path, text: &str, checks: &[&str]) {
        let path = host_file(sub, "writable-greeting.txt", text);
        let preopen = preopen_arg("greeting", &path);
        let run = self.run(
            ["--preopen-writable".as_ref(), preopen.as_os_str()],
            wasm,
            ["preopen-writable", "greeting", text],
        );
        assert_all_checks_pass(&run, checks);
        assert_eq!(
            std::fs::read_to_string(&path).expect("read writable-greeting.txt"),
            text.to_uppercase(),
            "the guest's write did not reach the host file\n{}",
            run.describe()
        );
    }

    /// Runs a test guest in its `limits` mode under `--max-files`,
    /// `--max-file-size` and `--max-total-size`, passing the guest the same
    /// numbers (and `extra` arguments after them).
    pub fn run_limits(
        self,
        flags: &[&OsStr],
        wasm: &Path,
        (files, file_size, total): (u32, u32, u32),
        extra: &[&str],
    ) -> Run {
        let (files, file_size, total) =
            (files.to_string(), file_size.to_string(), total.to_string());
        let mut all: Vec<&OsStr> = flags.to_vec();
        for (flag, value) in [
            ("--max-files", &files),
            ("--max-file-size", &file_size),
            ("--max-total-size", &total),
        ] {
            all.push(flag.as_ref());
            all.push(value.as_ref());
        }
        let args = ["limits", files.as_str(), file_size.as_str(), total.as_str()];
        self.run(all, wasm, args.iter().chain(extra))
    }

    /// Runs an example guest on `examples/<name>/<file>` reached through
    /// `--dir` (as `/data/<file>`) and checks its output against `name`'s
    /// `expected.txt`.
    pub fn assert_example_from_dir(self, wasm: &Path, name: &str, file: &str) {
        let dir = dir_arg(&example(name), "/data");
        let run = self.run(
            ["--dir".as_ref(), dir.as_os_str()],
            wasm,
            [format!("/data/{file}")],
        );
        assert_output(&run, &expected(name));
    }

    /// The same, with the file attached by the host (`--preopen
    /// <preopen>=<file>`, the guest told `-preopen <preopen>`).
    pub fn assert_example_preopened(self, wasm: &Path, name: &str, file: &str, preopen: &str) {
        let arg = preopen_arg(preopen, &example(name).join(file));
        let run = self.run(
            ["--preopen".as_ref(), arg.as_os_str()],
            wasm,
            ["-preopen", preopen],
        );
        assert_output(&run, &expected(name));
    }
}

/// Runner flags for the limits `(files, file_size, total)`, with the same
/// numbers in the environment variables the guests' limit checks read
/// (`WASI_MEMFD_TEST_MAX_FILES`, `_MAX_FILE_SIZE`, `_MAX_TOTAL_SIZE`: the
/// Go package tests and the Rust test guest).
pub fn limits_with_env((files, file_size, total): (u32, u32, u32)) -> Vec<OsString> {
    [
        format!("--max-files={files}"),
        format!("--max-file-size={file_size}"),
        format!("--max-total-size={total}"),
        format!("--env=WASI_MEMFD_TEST_MAX_FILES={files}"),
        format!("--env=WASI_MEMFD_TEST_MAX_FILE_SIZE={file_size}"),
        format!("--env=WASI_MEMFD_TEST_MAX_TOTAL_SIZE={total}"),
    ]
    .into_iter()
    .map(OsString::from)
    .collect()
}

/// `NAME=PATH` for `--preopen`.
pub fn preopen_arg(name: &str, path: &Path) -> OsString {
    let mut arg = OsString::from(format!("{name}="));
    arg.push(path);
    arg
}

/// `HOST::GUEST` for `--dir`.
pub fn dir_arg(host: &Path, guest: &str) -> OsString {
    let mut arg = host.as_os_str().to_owned();
    arg.push("::");
    arg.push(guest);
    arg
}

/// Checks the output of a guest that prints `ok: CHECK` per passed check,
/// `FAIL: ...` per failed one and `N passed, M failed` at the end: it exited
/// 0, printed every check in `expected` and no failure, and counted them.
pub fn assert_all_checks_pass(run: &Run, expected: &[&str]) {
    run.assert_code(0).assert_stdout_lacks("FAIL");
    let stdout = run.stdout();
    let oks: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("ok: "))
        .collect();
    for want in expected {
        assert!(
            oks.contains(want),
            "check {want:?} was not reported as passed\n{}",
            run.describe()
        );
    }
    assert_eq!(
        oks.len(),
        expected.len(),
        "unexpected number of passed checks\n{}",
        run.describe()
    );
    let summary = format!("{} passed, 0 failed", expected.len());
    assert_eq!(
        stdout.lines().last(),
        Some(summary.as_str()),
        "missing summary line\n{}",
        run.describe()
    );
}

/// A host file `out_dir(sub)/name` holding `text`, for `--preopen`. Written
/// under a temporary name and renamed into place, so tests running beside
/// each other never see it half-written.
pub fn host_file(sub: &str, name: &str, text: &str) -> PathBuf {
    let path = out_dir(sub).join(name);
    let tmp = out_dir(sub).join(format!("{name}.{:?}.tmp", std::thread::current().id()));
    std::fs::write(&tmp, text).unwrap_or_else(|e| panic!("write {}: {e}", tmp.display()));
    std::fs::rename(&tmp, &path).unwrap_or_else(|e| panic!("rename to {}: {e}", path.display()));
    path
}

/// A test guest's one failed check reached the runner's exit status: it
/// exited 1, printed `failure` and counted `0 passed, 1 failed`.
pub fn assert_one_check_failed(run: &Run, failure: &str) {
    run.assert_code(1);
    let stdout = run.stdout();
    assert!(
        stdout.contains(failure) && stdout.lines().last() == Some("0 passed, 1 failed"),
        "expected {failure:?} and 0 passed, 1 failed\n{}",
        run.describe()
    );
}

/// `examples/<name>` in the repository.
pub fn example(name: &str) -> PathBuf {
    repo_root().join("examples").join(name)
}

/// What `examples/<name>` must print: its `expected.txt`.
pub fn expected(name: &str) -> String {
    let path = example(name).join("expected.txt");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Asserts that `run` exited 0 and printed exactly `want`.
pub fn assert_output(run: &Run, want: &str) {
    run.assert_code(0);
    assert_eq!(
        run.stdout(),
        want,
        "output differs from expected.txt\n{}",
        run.describe()
    );
}

/// One path operation a hostile core module makes in a preopened directory
/// ([`PathOpsGuest`]); paths are relative to it.
#[derive(Clone, Copy, Debug)]
pub enum PathOp<'a> {
    /// `symlink(target, link)`.
    Symlink(&'a str, &'a str),
    /// `rename(from, to)`.
    Rename(&'a str, &'a str),
    Mkdir(&'a str),
    Unlink(&'a str),
    /// A file made (or truncated) holding these bytes.
    Write(&'a str, &'a str),
}

/// The text of a core module that makes [`PathOp`]s in the preopen at one
/// fd, each WASIp1 call checked (an op that fails exits 100 + its index),
/// then runs what [`then`](Self::then) adds: the runner's security tests'
/// hostile guests. Imports: `path_symlink`, `path_rename`,
/// `path_create_directory`, `path_unlink_file`, `path_open`, `fd_write`,
/// `fd_close`, `proc_exit` (as `$symlink`, `$rename`, `$mkdir`, `$unlink`,
/// `$open`, `$write`, `$close`, `$exit`) and `wasi_memfd.open_preopened`
/// (`$open_preopened`); bytes 0..64 of memory are scratch space.
pub struct PathOpsGuest {
    fd: u32,
    data: String,
    body: String,
    at: usize,
    ops: usize,
}

impl PathOpsGuest {
    /// A guest working in the preopen at `fd`.
    pub fn new(fd: u32) -> Self {
        PathOpsGuest {
            fd,
            data: String::new(),
            body: String::new(),
            at: 1024,
            ops: 0,
        }
    }

    /// Lays `s` out in memory: its address and length.
    pub fn string(&mut self, s: &str) -> (usize, usize) {
        let ptr = self.at;
        self.data
            .push_str(&format!("(data (i32.const {ptr}) \"{s}\")\n"));
        self.at += s.len() + 1;
        (ptr, s.len())
    }

    /// Makes `op`.
    pub fn op(&mut self, op: PathOp) -> &mut Self {
        // The call's arguments: the preopen's fd (`None`), or a string laid
        // out as its address and length.
        let (func, args) = match op {
            PathOp::Symlink(target, link) => ("symlink", vec![Some(target), None, Some(link)]),
            PathOp::Rename(from, to) => ("rename", vec![None, Some(from), None, Some(to)]),
            PathOp::Mkdir(path) => ("mkdir", vec![None, Some(path)]),
            PathOp::Unlink(path) => ("unlink", vec![None, Some(path)]),
            PathOp::Write(path, bytes) => ("write_file", vec![Some(path), Some(bytes)]),
        };
        let mut call = format!("(call ${func}");
        for arg in args {
            match arg {
                None => call += &format!(" (i32.const {})", self.fd),
                Some(s) => {
                    let (ptr, len) = self.string(s);
                    call += &format!(" (i32.const {ptr}) (i32.const {len})");
                }
            }
        }
        call.push(')');
        self.body.push_str(&format!(
            "(if {call} (then (call $exit (i32.const {}))))\n",
            100 + self.ops
        ));
        self.ops += 1;
        self
    }

    /// Makes every op of `ops`.
    pub fn ops(&mut self, ops: &[PathOp]) -> &mut Self {
        for op in ops {
            self.op(*op);
        }
        self
    }

    /// Adds WAT instructions to `_start`, after the ops so far.
    pub fn then(&mut self, wat: &str) -> &mut Self {
        self.body.push_str(wat);
        self.body.push('\n');
        self
    }

    /// The module's text.
    pub fn wat(&self) -> String {
        let (fd, data, body) = (self.fd, &self.data, &self.body);
        format!(
            r#"(module
  (import "wasi_snapshot_preview1" "path_symlink" (func $symlink (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_rename" (func $rename (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_create_directory" (func $mkdir (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_unlink_file" (func $unlink (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_memfd" "open_preopened" (func $open_preopened (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  {data}
  ;; creates PATH (O_CREAT | O_TRUNC), writes BYTES, closes: an errno or 0
  (func $write_file (param $p i32) (param $pl i32) (param $b i32) (param $bl i32) (result i32)
    (local $e i32)
    (local.set $e (call $open (i32.const {fd}) (i32.const 0) (local.get $p) (local.get $pl)
      (i32.const 9) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 16)))
    (if (local.get $e) (then (return (local.get $e))))
    (i32.store (i32.const 0) (local.get $b))
    (i32.store (i32.const 4) (local.get $bl))
    (local.set $e (call $write (i32.load (i32.const 16)) (i32.const 0) (i32.const 1) (i32.const 8)))
    (if (local.get $e) (then (return (local.get $e))))
    (call $close (i32.load (i32.const 16))))
  (func (export "_start")
    {body}))"#
        )
    }
}
