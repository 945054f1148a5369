//! `--preopen-writable` write-back against a hostile guest: whatever the
//! guest plants through a writable `--dir` on the file's folder (symbolic
//! links at the file's name or at a temporary name, directories, a moved
//! folder), the runner writes nowhere but the file it was given, and says
//! what happened.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use wasi_memfd_testing::guests::{PathOp as Op, PathOpsGuest};

use crate::RUNNER;

/// What the guest writes into its writable memory file.
const GUEST_BYTES: &[u8] = b"GUEST";
/// What every file starts with.
const ORIGINAL: &[u8] = b"original bytes";

/// A core module that makes `ops` in its `--dir` (fd 3; exiting 100 + the
/// op's index if one fails), then opens the preopened file `out`, writes
/// [`GUEST_BYTES`] at its start and exits 0.
fn guest_wat(ops: &[Op]) -> String {
    let mut guest = PathOpsGuest::new(3);
    guest.ops(ops);
    let (out, out_len) = guest.string("out");
    let (bytes, len) = guest.string(std::str::from_utf8(GUEST_BYTES).unwrap());
    guest.then(&format!(
        r#"(if (call $open_preopened (i32.const {out}) (i32.const {out_len}) (i32.const 0))
      (then (call $exit (i32.const 99))))
    (i32.store (i32.const 16) (i32.const {bytes}))
    (i32.store (i32.const 20) (i32.const {len}))
    (if (call $write (i32.load (i32.const 0)) (i32.const 16) (i32.const 1) (i32.const 24))
      (then (call $exit (i32.const 98))))"#
    ));
    guest.wat()
}

/// A fresh tree for one case: `root/d` (the guest's `--dir`, holding
/// `sub/out.bin`), and beside it `root/victim.txt` and `root/victim-dir/`
/// (holding `inner.txt`), all outside anything the guest was given.
struct Tree {
    root: PathBuf,
}

impl Tree {
    fn new(case: &str) -> Tree {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("write-back")
            .join(case);
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("d/sub")).unwrap();
        std::fs::create_dir_all(root.join("victim-dir")).unwrap();
        std::fs::write(root.join("d/sub/out.bin"), ORIGINAL).unwrap();
        std::fs::write(root.join("victim.txt"), ORIGINAL).unwrap();
        std::fs::write(root.join("victim-dir/inner.txt"), ORIGINAL).unwrap();
        Tree { root }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Runs the guest doing `ops` with `--dir root/d::/d` and
    /// `--preopen-writable out=root/d/sub/out.bin`.
    fn run(&self, case: &str, ops: &[Op]) -> Output {
        let wasm = self.path(&format!("{case}.wat"));
        std::fs::write(&wasm, guest_wat(ops)).unwrap();
        Command::new(RUNNER)
            .arg("run")
            .arg("--dir")
            .arg(format!("{}::/d", self.path("d").display()))
            .arg("--preopen-writable")
            .arg(format!("out={}", self.path("d/sub/out.bin").display()))
            .arg(&wasm)
            .output()
            .expect("the runner starts")
    }

    /// Every file outside the guest's directory still holds its bytes,
    /// and nothing new appeared there.
    fn assert_outside_untouched(&self) {
        assert_eq!(std::fs::read(self.path("victim.txt")).unwrap(), ORIGINAL);
        assert_eq!(
            std::fs::read(self.path("victim-dir/inner.txt")).unwrap(),
            ORIGINAL
        );
        let mut names: Vec<_> = std::fs::read_dir(self.path("victim-dir"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["inner.txt"], "a file appeared outside --dir");
        let mut top: Vec<_> = std::fs::read_dir(&self.root)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| !n.ends_with(".wat"))
            .collect();
        top.sort();
        assert_eq!(top, ["d", "victim-dir", "victim.txt"]);
    }

    /// No temporary file was left in the file's folder.
    fn assert_no_temporary(&self, folder: &str) {
        for entry in std::fs::read_dir(self.path(folder)).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            assert!(
                !name.starts_with(".wasi-memfd-"),
                "left a temporary file: {name}"
            );
        }
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path)
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false)
}

/// The attack of issue 15: a symbolic link at the old fixed temporary name,
/// to a file outside (relative, planted by the guest), to a directory
/// outside, and to an absolute path (planted on the host: wasmtime-wasi
/// refuses absolute targets from a guest). The write-back uses a random
/// name, never that one: the links are left alone and `out.bin` gets the
/// guest's bytes.
#[test]
fn symlinks_at_a_temporary_name_are_never_followed() {
    for (case, target) in [
        ("tmp-rel-file", "../../victim.txt"),
        ("tmp-rel-dir", "../../victim-dir"),
        ("tmp-rel-dir-slash", "../../victim-dir/"),
    ] {
        let tree = Tree::new(case);
        let out = tree.run(case, &[Op::Symlink(target, "sub/out.bin.wasi-memfd-tmp")]);
        assert!(out.status.success(), "{case}: {}", stderr(&out));
        assert_eq!(
            std::fs::read(tree.path("d/sub/out.bin")).unwrap(),
            [GUEST_BYTES, &ORIGINAL[GUEST_BYTES.len()..]].concat(),
            "{case}"
        );
        assert!(!is_symlink(&tree.path("d/sub/out.bin")), "{case}");
        assert!(
            is_symlink(&tree.path("d/sub/out.bin.wasi-memfd-tmp")),
            "{case}"
        );
        tree.assert_outside_untouched();
        tree.assert_no_temporary("d/sub");
    }
    let tree = Tree::new("tmp-abs");
    std::os::unix::fs::symlink(
        tree.path("victim.txt"),
        tree.path("d/sub/out.bin.wasi-memfd-tmp"),
    )
    .unwrap();
    let out = tree.run("tmp-abs", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        &std::fs::read(tree.path("d/sub/out.bin")).unwrap()[..5],
        GUEST_BYTES
    );
    tree.assert_outside_untouched();
}

/// A file already at the old temporary name, or at names like the new
/// temporary names, is never truncated or replaced.
#[test]
fn files_at_temporary_names_are_left_alone() {
    let tree = Tree::new("tmp-files");
    let planted = [
        "d/sub/out.bin.wasi-memfd-tmp",
        "d/sub/.wasi-memfd-00000000000000000000000000000000.tmp",
    ];
    for p in planted {
        std::fs::write(tree.path(p), ORIGINAL).unwrap();
    }
    let out = tree.run("tmp-files", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    for p in planted {
        assert_eq!(std::fs::read(tree.path(p)).unwrap(), ORIGINAL, "{p}");
    }
    assert_eq!(
        &std::fs::read(tree.path("d/sub/out.bin")).unwrap()[..5],
        GUEST_BYTES
    );
}

/// The guest replaces the file itself with a symbolic link (to a file or a
/// directory outside, relative or absolute) or with a directory: the
/// runner refuses, says so, exits 1, and leaves what the guest put there
/// (and everything outside) as it was.
#[test]
fn a_file_replaced_by_a_symlink_or_a_directory_is_refused() {
    let cases: [(&str, &[Op], &str); 4] = [
        (
            "path-rel-file",
            &[
                Op::Unlink("sub/out.bin"),
                Op::Symlink("../../victim.txt", "sub/out.bin"),
            ],
            "replaced by a symbolic link",
        ),
        (
            "path-rel-dir",
            &[
                Op::Unlink("sub/out.bin"),
                Op::Symlink("../../victim-dir", "sub/out.bin"),
            ],
            "replaced by a symbolic link",
        ),
        (
            "path-dir",
            &[Op::Unlink("sub/out.bin"), Op::Mkdir("sub/out.bin")],
            "replaced by a directory",
        ),
        // Absolute: a guest cannot make one, but it can move one into
        // place (planted in its directory on the host, below).
        (
            "path-abs",
            &[Op::Rename("abs-link", "sub/out.bin")],
            "replaced by a symbolic link",
        ),
    ];
    for (case, ops, says) in cases {
        let tree = Tree::new(case);
        if case == "path-abs" {
            std::os::unix::fs::symlink(tree.path("victim.txt"), tree.path("d/abs-link")).unwrap();
        }
        let out = tree.run(case, ops);
        assert_eq!(out.status.code(), Some(1), "{case}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("writing back --preopen-writable out="),
            "{case}: {err}"
        );
        assert!(err.contains(says), "{case}: {err}");
        tree.assert_outside_untouched();
        tree.assert_no_temporary("d/sub");
        let meta = std::fs::symlink_metadata(tree.path("d/sub/out.bin")).unwrap();
        assert!(
            !meta.is_file(),
            "{case}: the runner replaced what the guest put there"
        );
    }
}

/// A symbolic link at PATH when the runner starts is refused before the
/// guest runs (the file it points to is to be named instead): the file read
/// is always the file replaced.
#[test]
fn a_symlink_at_start_is_refused() {
    let tree = Tree::new("start-link");
    std::fs::remove_file(tree.path("d/sub/out.bin")).unwrap();
    std::os::unix::fs::symlink(tree.path("victim.txt"), tree.path("d/sub/out.bin")).unwrap();
    let out = tree.run("start-link", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("symbolic link"), "{}", stderr(&out));
    tree.assert_outside_untouched();
    assert!(is_symlink(&tree.path("d/sub/out.bin")));
}

/// The guest moves the file's folder away and puts a symbolic link to a
/// folder outside in its place: the runner writes into the folder it
/// opened at start, wherever the guest moved it, never through the link.
#[test]
fn a_moved_folder_is_followed_by_its_handle_not_by_its_name() {
    let tree = Tree::new("moved-folder");
    let out = tree.run(
        "moved-folder",
        &[
            Op::Rename("sub", "elsewhere"),
            Op::Symlink("../victim-dir", "sub"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        &std::fs::read(tree.path("d/elsewhere/out.bin")).unwrap()[..5],
        GUEST_BYTES
    );
    assert!(is_symlink(&tree.path("d/sub")));
    tree.assert_outside_untouched();
}

/// The file's permission bits survive the write-back (not the umask's
/// default for a new file).
#[test]
fn permission_bits_are_kept() {
    use std::os::unix::fs::PermissionsExt;
    let tree = Tree::new("mode");
    let file = tree.path("d/sub/out.bin");
    for mode in [0o640, 0o604, 0o755] {
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        let out = tree.run("mode", &[]);
        assert!(out.status.success(), "{}", stderr(&out));
        let got = std::fs::metadata(&file).unwrap().permissions().mode() & 0o7777;
        assert_eq!(got, mode, "{got:o} != {mode:o}");
    }
}
