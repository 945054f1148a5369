//! Memory directories in the `wasi-memfd` runner (`--mem-dir [HOST::]GUEST`,
//! `--mem-dir-out GUEST::HOST`), by path, from guests that know nothing of
//! wasi-memfd:
//!
//! - the C test guest `tests/guests/c/memdir_test.c` (wasi-libc, a core
//!   module: WASIp1) and the Python test guest
//!   `tests/guests/python/memdir_test.py` (componentize-py, a component:
//!   `wasi:filesystem`), each in its three modes: `basic` (every behaviour
//!   of the issue, in an empty memory directory), `preloaded` (a copy of
//!   `tests/guests/memdir-tree`, changed, deleted and left with a result
//!   for `--mem-dir-out`) and `limits`. Each mode also runs against
//!   `--dir` on a host folder, wasmtime-wasi's real directory, and must
//!   pass exactly the same checks there: the reference is wasmtime-wasi;
//! - the examples `c-memdir` (C), `go-memdir` (Go) and `python-memdir`
//!   (Python), unmodified programs: their output is `expected.txt`, and the
//!   tree `--mem-dir-out` writes is the one `--dir` leaves;
//! - a hostile core module against `--mem-dir-out`: nothing is ever
//!   written outside HOST, whatever links and names it makes;
//! - a preloaded tree of ten thousand files.
//!
//! `scripts/guests.sh` builds the guests; without their toolchains these
//! tests fail, they never skip.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use wasi_memfd_testing::guests::PathOp as Op;
use wasi_memfd_testing::guests::*;

use crate::RUNNER;

/// `tests/guests/memdir-tree`: the tree the `preloaded` modes expect.
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("tests/guests/memdir-tree")
}

/// A fresh, empty `target/test-files/mem-dir/<name>` (removed first).
fn fresh(name: &str) -> PathBuf {
    let dir = out_dir("mem-dir").join(name);
    if dir.exists() {
        fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("remove {}: {e}", dir.display()));
    }
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// A path under `target/test-files/mem-dir/` that does not exist yet.
fn absent(name: &str) -> PathBuf {
    let path = out_dir("mem-dir").join(name);
    if path.symlink_metadata().is_ok() {
        fs::remove_dir_all(&path).unwrap();
    }
    path
}

/// A host tree as the tests compare it: every entry by relative path, as
/// `dir`, `file <bytes>` or `link -> <target>`; links are never followed.
type Tree = BTreeMap<String, String>;

/// Zeroes the modification times in a zip archive's headers (at +10 in a
/// local header, `PK 3 4`; at +12 in a central one, `PK 1 2`): they are
/// the zipped files' mtimes, which differ between two runs in 2 s steps.
/// Equal archives stay equal, whatever else matches a signature.
fn zero_zip_times(zip: &mut [u8]) {
    for i in 0..zip.len().saturating_sub(3) {
        let at = match &zip[i..i + 4] {
            b"PK\x03\x04" => i + 10,
            b"PK\x01\x02" => i + 12,
            _ => continue,
        };
        if at + 4 <= zip.len() {
            zip[at..at + 4].fill(0);
        }
    }
}

fn tree(root: &Path) -> Tree {
    fn walk(root: &Path, rel: &str, out: &mut Tree) {
        let dir = if rel.is_empty() {
            root.to_owned()
        } else {
            root.join(rel)
        };
        for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            let rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let path = root.join(&rel);
            let meta = path.symlink_metadata().unwrap();
            if meta.is_symlink() {
                let target = fs::read_link(&path).unwrap();
                out.insert(rel, format!("link -> {}", target.display()));
            } else if meta.is_dir() {
                out.insert(rel.clone(), "dir".into());
                walk(root, &rel, out);
            } else {
                let mut bytes = fs::read(&path).unwrap();
                if rel.ends_with(".zip") {
                    zero_zip_times(&mut bytes);
                }
                out.insert(rel, format!("file {}", String::from_utf8_lossy(&bytes)));
            }
        }
    }
    let mut out = Tree::new();
    walk(root, "", &mut out);
    out
}

/// `cp -a`: a copy of `from` at `to`, links as links.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let meta = src.symlink_metadata().unwrap();
        if meta.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if meta.is_dir() {
            copy_tree(&src, &dst);
        } else {
            fs::copy(&src, &dst).unwrap();
        }
    }
}

/// The `ok: ` lines of a run, in order.
fn oks(run: &Run) -> Vec<String> {
    run.stdout()
        .lines()
        .filter_map(|l| l.strip_prefix("ok: "))
        .map(str::to_owned)
        .collect()
}

/// Runs a test guest's `mode` with the memory directory `/mem` (flags
/// `mem_flags`) and again with the host folder `reference` as `--dir
/// reference::/mem` (wasmtime-wasi's real directory): both pass every
/// check, the same checks, at least `min` of them.
fn assert_same_checks_as_dir(
    wasm: &Path,
    mode: &str,
    mem_flags: &[OsString],
    reference: &Path,
    min: usize,
) -> Run {
    let run = RUNNER.run(mem_flags, wasm, [mode, "/mem"]);
    let dir = dir_arg(reference, "/mem");
    let reference = RUNNER.run([OsString::from("--dir"), dir], wasm, [mode, "/mem"]);
    let want = oks(&reference);
    assert!(
        want.len() >= min,
        "the reference run passed {} checks, fewer than {min}\n{}",
        want.len(),
        reference.describe()
    );
    let want: Vec<&str> = want.iter().map(String::as_str).collect();
    assert_all_checks_pass(&reference, &want);
    assert_all_checks_pass(&run, &want);
    run
}

fn flags(flags: &[&str]) -> Vec<OsString> {
    flags.iter().map(OsString::from).collect()
}

fn mem_dir_out(guest: &str, host: &Path) -> [OsString; 2] {
    let mut arg = OsString::from(format!("{guest}::"));
    arg.push(host);
    ["--mem-dir-out".into(), arg]
}

fn mem_dir(host: &Path, guest: &str) -> [OsString; 2] {
    ["--mem-dir".into(), dir_arg(host, guest)]
}

/// `basic`: every behaviour in an empty memory directory, the checks
/// `--dir` passes; the guest leaves nothing, so `--mem-dir-out` writes an
/// empty tree.
fn basic(guest: &str) {
    let wasm = &self::guest(guest);
    let out = absent(&format!("{guest}-basic.out"));
    let mut mem = flags(&["--mem-dir", "/mem"]);
    mem.extend(mem_dir_out("/mem", &out));
    let reference = fresh(&format!("{guest}-basic.ref"));
    assert_same_checks_as_dir(wasm, "basic", &mem, &reference, 26);
    assert_eq!(
        tree(&out),
        Tree::new(),
        "--mem-dir-out of an emptied directory"
    );
    assert_eq!(tree(&reference), Tree::new());
}

/// `preloaded`: a private copy of the fixture, changed and deleted; what it
/// leaves is written out and equals what `--dir` leaves in a copy; the
/// fixture itself is never written.
fn preloaded(guest: &str) {
    let wasm = &self::guest(guest);
    let before = tree(&fixture());
    let out = absent(&format!("{guest}-preloaded.out"));
    let mut mem = mem_dir(&fixture(), "/mem").to_vec();
    mem.extend(mem_dir_out("/mem", &out));
    let reference = fresh(&format!("{guest}-preloaded.ref"));
    copy_tree(&fixture(), &reference);
    assert_same_checks_as_dir(wasm, "preloaded", &mem, &reference, 6);
    assert_eq!(tree(&fixture()), before, "the preloaded host tree changed");
    let written = tree(&out);
    assert_eq!(written, tree(&reference), "--mem-dir-out and --dir differ");
    assert_eq!(
        written.keys().collect::<Vec<_>>(),
        ["result", "result/latest", "result/summary.txt"]
    );
    assert_eq!(written["result/latest"], "link -> summary.txt");
}

/// The checks every memory-directory guest's `limits` mode passes (their
/// names begin so; each language adds what it shows of the call).
const LIMIT_CHECKS: [&str; 4] = [
    "limits: EFBIG past --max-file-size",
    "limits: EDQUOT past --max-total-size",
    "limits: ENOSPC past --max-files",
    "the directory is empty at the end",
];

/// `limits`: each limit's errno at the runner's numbers, told to the guest;
/// with one more file allowed than the guest was told, its ENOSPC check
/// fails (the limits it sees are the flags').
fn limits(guest: &str) {
    let wasm = &self::guest(guest);
    for (files, total, size, total_flag, size_flag) in [
        ("16", "65536", "16384", "64K", "16K"),
        ("40", "300000", "100000", "300000", "100000"),
    ] {
        let run = RUNNER.run(
            [
                "--mem-dir",
                "/mem",
                "--max-files",
                files,
                "--max-total-size",
                total_flag,
                "--max-file-size",
                size_flag,
            ],
            wasm,
            ["limits", "/mem", files, total, size],
        );
        run.assert_code(0).assert_stdout_lacks("FAIL");
        let passed = oks(&run);
        for want in LIMIT_CHECKS {
            assert!(
                passed.iter().any(|c| c.starts_with(want)),
                "no passed check {want:?}\n{}",
                run.describe()
            );
        }
    }
    let run = RUNNER.run(
        [
            "--mem-dir",
            "/mem",
            "--max-files",
            "17",
            "--max-total-size",
            "64K",
            "--max-file-size",
            "16K",
        ],
        wasm,
        ["limits", "/mem", "16", "65536", "16384"],
    );
    run.assert_code(1);
    run.assert_stdout_has("FAIL: limits: ENOSPC");
}

#[test]
fn c_memdir_basic_passes_what_dir_passes() {
    basic("c-memdir-test");
}

#[test]
fn python_memdir_basic_passes_what_dir_passes() {
    basic("python-memdir-test");
}

#[test]
fn c_memdir_preloaded_is_a_private_copy_written_out() {
    preloaded("c-memdir-test");
}

#[test]
fn python_memdir_preloaded_is_a_private_copy_written_out() {
    preloaded("python-memdir-test");
}

#[test]
fn c_memdir_limits() {
    limits("c-memdir-test");
}

#[test]
fn python_memdir_limits() {
    limits("python-memdir-test");
}

/// A non-empty directory fails `basic`'s first check: the guests notice.
#[test]
fn a_preloaded_directory_is_not_empty() {
    let run = RUNNER.run(
        mem_dir(&fixture(), "/mem"),
        &guest("c-memdir-test"),
        ["basic", "/mem"],
    );
    run.assert_code(1);
    run.assert_stdout_has("FAIL: the directory is empty at start");
}

/// An unmodified example program: `examples/<name>/input` preloaded at
/// `/in`, an empty `/out` written out. It prints `expected.txt`, writes the
/// tree `--dir` folders would hold, and leaves `input/` alone.
fn example_in_memory(name: &str) -> Tree {
    let wasm = guest(name);
    let input = example(name).join("input");
    let before = tree(&input);
    let out = absent(&format!("{name}.out"));
    let mut args = mem_dir(&input, "/in").to_vec();
    args.extend(flags(&["--mem-dir", "/out"]));
    args.extend(mem_dir_out("/out", &out));
    let run = RUNNER.run(args, &wasm, ["/in", "/out"]);
    assert_output(&run, &expected(name));
    assert_eq!(tree(&input), before, "examples/{name}/input changed");

    let reference = fresh(&format!("{name}.ref"));
    let in_copy = fresh(&format!("{name}.in"));
    copy_tree(&input, &in_copy);
    let run = RUNNER.run(
        [
            OsString::from("--dir"),
            dir_arg(&in_copy, "/in"),
            "--dir".into(),
            dir_arg(&reference, "/out"),
        ],
        &wasm,
        ["/in", "/out"],
    );
    assert_output(&run, &expected(name));
    let written = tree(&out);
    assert_eq!(written, tree(&reference), "--mem-dir-out and --dir differ");
    assert!(!written.is_empty());
    written
}

#[test]
fn c_memdir_example() {
    let written = example_in_memory("c-memdir");
    // The summary it printed is the file it wrote, bar the "wrote" line.
    let expected = expected("c-memdir");
    let table = expected.lines().take_while(|l| !l.starts_with("wrote "));
    let table: String = table.map(|l| format!("{l}\n")).collect();
    assert_eq!(written["summary.txt"], format!("file {table}"));
}

#[test]
fn go_memdir_example() {
    let written = example_in_memory("go-memdir");
    assert!(written.contains_key("archive.zip"), "{written:?}");
}

#[test]
fn python_memdir_example() {
    let written = example_in_memory("python-memdir");
    assert!(written.contains_key("report.zip"), "{written:?}");
}

/// A core module that makes `ops` in the preopen at fd `fd`, then exits
/// with `exit`; an op that fails exits 100 + its index.
fn hostile_guest(name: &str, fd: u32, ops: &[Op], exit: u32) -> PathBuf {
    let wat = PathOpsGuest::new(fd)
        .ops(ops)
        .then(&format!("(call $exit (i32.const {exit}))"))
        .wat();
    let path = out_dir("mem-dir").join(format!("{name}.wat"));
    fs::write(&path, wat).unwrap();
    path
}

/// A folder beside HOST, with a file and a folder, that the guest's links
/// point at: it must stay byte-identical.
fn victims(name: &str) -> (PathBuf, Tree) {
    let dir = fresh(&format!("{name}.victims"));
    fs::write(dir.join("victim.txt"), "original").unwrap();
    fs::create_dir(dir.join("victim-dir")).unwrap();
    (dir.clone(), tree(&dir))
}

/// Links out of the directory, relative and absolute, to files and
/// folders, and names and files under them: `--mem-dir-out` writes the
/// links as links (never followed) and the files where they are in the
/// memory directory, even though the guest exits with a failure; nothing
/// outside HOST changes.
#[test]
fn mem_dir_out_writes_links_as_links_and_nothing_outside() {
    let (victims, before) = victims("links");
    let out = absent("links.out");
    let rel = "../links.victims/victim.txt";
    let wasm = hostile_guest(
        "links",
        3,
        &[
            Op::Symlink(rel, "up-file"),
            Op::Symlink("../links.victims/victim-dir", "up-dir"),
            Op::Symlink("../../../../../../..", "root"),
            Op::Mkdir("d"),
            Op::Write("d/f", "GUEST"),
            Op::Symlink("..", "d/parent"),
            Op::Symlink("up-file", "chain"),
            Op::Write("victim.txt", "GUEST"),
        ],
        3,
    );
    let mut args = flags(&["--mem-dir", "/m"]);
    args.extend(mem_dir_out("/m", &out));
    let run = RUNNER.run(args, &wasm, Vec::<&str>::new());
    run.assert_code(3);
    assert_eq!(tree(&victims), before, "a file outside HOST changed");
    let written = tree(&out);
    let want: Tree = [
        ("chain", "link -> up-file"),
        ("d", "dir"),
        ("d/f", "file GUEST"),
        ("d/parent", "link -> .."),
        ("root", "link -> ../../../../../../.."),
        ("up-dir", "link -> ../links.victims/victim-dir"),
        ("up-file", "link -> ../links.victims/victim.txt"),
        ("victim.txt", "file GUEST"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(written, want, "{}", run.describe());
}

/// An absolute link target is refused at `symlink` (as wasmtime-wasi
/// refuses it): the guest exits 100, and HOST gets the empty tree.
#[test]
fn mem_dir_absolute_link_targets_are_refused() {
    let (victims, before) = victims("abs");
    let target = victims.join("victim.txt");
    let out = absent("abs.out");
    let wasm = hostile_guest("abs", 3, &[Op::Symlink(target.to_str().unwrap(), "abs")], 0);
    let mut args = flags(&["--mem-dir", "/m"]);
    args.extend(mem_dir_out("/m", &out));
    let run = RUNNER.run(args, &wasm, Vec::<&str>::new());
    run.assert_code(100);
    assert_eq!(tree(&victims), before);
    assert_eq!(tree(&out), Tree::new());
}

/// HOST must be empty: a non-empty HOST is refused before the guest runs,
/// and left as it was.
#[test]
fn mem_dir_out_refuses_a_non_empty_host_dir() {
    let out = fresh("nonempty.out");
    fs::write(out.join("keep.txt"), "mine").unwrap();
    let before = tree(&out);
    let wasm = hostile_guest("nonempty", 3, &[Op::Write("keep.txt", "GUEST")], 0);
    let mut args = flags(&["--mem-dir", "/m"]);
    args.extend(mem_dir_out("/m", &out));
    let run = RUNNER.run(args, &wasm, Vec::<&str>::new());
    run.assert_code(1);
    run.assert_stderr_has("is not empty");
    assert_eq!(tree(&out), before);
}

/// HOST is made if missing, with its parents; a GUEST that is no
/// `--mem-dir` is a usage error.
#[test]
fn mem_dir_out_makes_host_and_names_a_mem_dir() {
    let parent = absent("made");
    let out = parent.join("a/b");
    let wasm = hostile_guest("made", 3, &[Op::Write("f", "GUEST")], 0);
    let mut args = flags(&["--mem-dir", "/m"]);
    args.extend(mem_dir_out("/m", &out));
    RUNNER.run(args, &wasm, Vec::<&str>::new()).assert_code(0);
    assert_eq!(tree(&out)["f"], "file GUEST");

    let mut args = flags(&["--mem-dir", "/m"]);
    args.extend(mem_dir_out("/other", &absent("other.out")));
    let run = RUNNER.run(args, &wasm, Vec::<&str>::new());
    assert_ne!(run.code(), Some(0));
    run.assert_stderr_has("no --mem-dir at \"/other\"");
}

/// HOST also given to the guest as a `--dir`: a link out that the guest
/// plants there, named as a directory of the memory tree, makes the runner
/// refuse to write (HOST was empty at start, it is not at exit) and say so;
/// nothing outside HOST changes.
#[test]
fn mem_dir_out_refuses_a_host_dir_filled_during_the_run() {
    let (victims, before) = victims("during");
    let out = fresh("during.out");
    // The memory directory is preloaded with d/f; the guest plants a link
    // named d in HOST (its --dir at fd 3).
    let tree_in = fresh("during.in");
    fs::create_dir(tree_in.join("d")).unwrap();
    fs::write(tree_in.join("d/f"), "GUEST").unwrap();
    let wasm = hostile_guest(
        "during",
        3,
        &[Op::Symlink("../during.victims/victim-dir", "d")],
        0,
    );
    let mut args = vec![OsString::from("--dir"), dir_arg(&out, "/o")];
    args.extend(mem_dir(&tree_in, "/m"));
    args.extend(mem_dir_out("/m", &out));
    let run = RUNNER.run(args, &wasm, Vec::<&str>::new());
    run.assert_code(1);
    run.assert_stderr_has("no longer empty");
    assert_eq!(tree(&victims), before);
    assert_eq!(
        tree(&out).keys().collect::<Vec<_>>(),
        ["d"],
        "only the guest's own link"
    );
}

/// `wasi-memfd run FLAGS... WASM ARGS...` in a process allowed only
/// `fds` open files (soft and hard limit: `prlimit`, util-linux).
fn run_with_fd_limit(fds: u32, flags: &[OsString], wasm: &Path, args: &[&str]) -> Run {
    Run::of(
        std::process::Command::new("prlimit")
            .arg(format!("--nofile={fds}:{fds}"))
            .arg(RUNNER.0)
            .arg("run")
            .args(flags)
            .arg(wasm)
            .args(args),
    )
}

/// Ten thousand preloaded files: the unmodified C example counts every one
/// (each opened by path, read, closed) in a process allowed 64 open files.
/// A preloaded file is held as bytes until it is opened, and one nothing
/// changed gives its memory file back on its last close, so a tree costs
/// the fds of the files open at once, not one per file.
#[test]
fn ten_thousand_preloaded_files() {
    const FILES: usize = 10_000;
    let input = out_dir("mem-dir").join("ten-thousand");
    if !input.join("done").exists() {
        let _ = fs::remove_dir_all(&input);
        for d in 0..100 {
            let dir = input.join(format!("d{d:02}"));
            fs::create_dir_all(&dir).unwrap();
            for f in 0..FILES / 100 {
                fs::write(dir.join(format!("f{f:02}.txt")), format!("{d} {f}\n")).unwrap();
            }
        }
        fs::write(input.join("done"), "").unwrap();
    }
    let wasm = guest("c-memdir");
    let mut args = mem_dir(&input, "/in").to_vec();
    args.extend(flags(&["--mem-dir", "/out"]));
    let run = run_with_fd_limit(64, &args, &wasm, &["/in", "/out"]);
    run.assert_code(0);
    let stdout = run.stdout();
    let total = stdout
        .lines()
        .find(|l| l.contains("total ("))
        .unwrap_or_else(|| panic!("no total\n{}", run.describe()));
    // 10,000 files of one line and two words, plus the empty `done`.
    let want = format!(
        "{FILES} {} {} total ({} files)",
        2 * FILES,
        (0..100)
            .flat_map(|d| (0..FILES / 100).map(move |f| format!("{d} {f}\n").len()))
            .sum::<usize>(),
        FILES + 1
    );
    assert_eq!(
        total.split_whitespace().collect::<Vec<_>>().join(" "),
        want,
        "{}",
        run.describe()
    );
}

/// A guest that makes more files than the process has fds, each written
/// (so each keeps its memory file): past the process's limit it gets
/// `ENOSPC` (as from a full file system, the runner's `--max-files` being
/// higher), the host keeps serving (its stdout works, no panic), and
/// deleting files gives the fds back.
#[test]
fn running_out_of_fds_is_enospc_and_the_host_keeps_serving() {
    let wat = r#"(module
  (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_unlink_file" (func $unlink (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "fxx")
  (data (i32.const 200) "refused\n")
  ;; names fAA, fBA, ... for $i
  (func $name (param $i i32)
    (i32.store8 (i32.const 101) (i32.add (i32.const 65) (i32.rem_u (local.get $i) (i32.const 26))))
    (i32.store8 (i32.const 102) (i32.add (i32.const 65) (i32.div_u (local.get $i) (i32.const 26)))))
  (func (export "_start") (local $i i32) (local $e i32) (local $made i32)
    (block $full
      (loop $l
        (call $name (local.get $i))
        (local.set $e (call $open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 3)
          (i32.const 1) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 16)))
        (br_if $full (local.get $e))
        ;; one byte written, then closed: the file keeps its memory file
        (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 1))
        (if (call $write (i32.load (i32.const 16)) (i32.const 0) (i32.const 1) (i32.const 8))
          (then (call $exit (i32.const 2))))
        (drop (call $close (i32.load (i32.const 16))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const 600))))
      (call $exit (i32.const 3)))
    ;; ENOSPC (51) only, and only after some files were made
    (if (i32.ne (local.get $e) (i32.const 51)) (then (call $exit (i32.const 4))))
    (if (i32.lt_u (local.get $i) (i32.const 10)) (then (call $exit (i32.const 5))))
    (local.set $made (local.get $i))
    ;; stdout still works
    (i32.store (i32.const 0) (i32.const 200)) (i32.store (i32.const 4) (i32.const 8))
    (if (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))
      (then (call $exit (i32.const 6))))
    ;; deleting two files makes room for one more
    (call $name (i32.const 0))
    (if (call $unlink (i32.const 3) (i32.const 100) (i32.const 3)) (then (call $exit (i32.const 7))))
    (call $name (i32.const 1))
    (if (call $unlink (i32.const 3) (i32.const 100) (i32.const 3)) (then (call $exit (i32.const 8))))
    (call $name (local.get $made))
    (if (call $open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 3)
          (i32.const 1) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 16))
      (then (call $exit (i32.const 9))))
    (call $exit (i32.const 0))))"#;
    let wasm = out_dir("mem-dir").join("fd-exhaustion.wat");
    fs::write(&wasm, wat).unwrap();
    let run = run_with_fd_limit(128, &flags(&["--mem-dir", "/m"]), &wasm, &[]);
    run.assert_code(0);
    assert_eq!(run.stdout(), "refused\n", "{}", run.describe());
    assert!(!run.stderr().contains("panicked"), "{}", run.describe());
}
