//! Cases the path model found a memory directory answering differently
//! from wasmtime-wasi with, written out so they stay checked whatever the
//! generator does: each a short sequence, run as any other case.

use super::ops::{Data, Fst, Link, Op, Open, PathArg, PathSetTimes, Preload, Rename, Target, H};
use super::Case;
use crate::p1::oflags;
use wasi_memfd::Backend;

/// The preopen: handle 0 while it is the only one open, and the first
/// open handle always (it is never closed).
const ROOT: H = H(0);

fn p(path: &[u8]) -> PathArg {
    PathArg(path.to_vec())
}

fn open(path: &[u8], oflags: u8, write: bool, follow: bool) -> Op {
    Op::Open(Open {
        dir: ROOT,
        path: p(path),
        oflags,
        read: false,
        write,
        fdflags: 0,
        follow,
    })
}

fn mkdir(path: &[u8]) -> Op {
    Op::Mkdir {
        dir: ROOT,
        path: p(path),
    }
}

fn symlink(target: &[u8], path: &[u8]) -> Op {
    Op::Symlink {
        target: Target(target.to_vec()),
        dir: ROOT,
        path: p(path),
    }
}

fn rename(from: &[u8], to: &[u8]) -> Op {
    Op::Rename(Rename {
        from_dir: ROOT,
        from: p(from),
        to_dir: ROOT,
        to: p(to),
    })
}

// `Op::Open`'s `oflags` is the byte of WASIp1's `oflags`.
const CREAT: u8 = oflags::CREAT as u8;
const EXCL: u8 = oflags::EXCL as u8;
const TRUNC: u8 = oflags::TRUNC as u8;
const DIRECTORY: u8 = oflags::DIRECTORY as u8;

/// Every regression case (see each for what the memory directory answered).
pub fn cases() -> Vec<Case> {
    let long = [b'n'; 256];
    let case = |preload: Vec<Preload>, ops: Vec<Op>| Case {
        backend: Backend::Memfd,
        preload,
        limits: None,
        ops,
    };
    vec![
        // A directory removed while a handle is open on it takes no new
        // names (`ENOENT`): a rename into it panicked the host (was), after
        // taking the source out of its directory.
        case(
            vec![
                Preload::Dir { path: "d" },
                Preload::File {
                    path: "f",
                    data: Data { len: 3, seed: 4 },
                },
            ],
            vec![
                open(b"d", DIRECTORY, false, false),
                Op::Rmdir {
                    dir: ROOT,
                    path: p(b"d"),
                },
                Op::Rename(Rename {
                    from_dir: ROOT,
                    from: p(b"f"),
                    to_dir: H(1),
                    to: p(b"g"),
                }),
                Op::Link(Link {
                    from_dir: ROOT,
                    from: p(b"f"),
                    follow: false,
                    to_dir: H(1),
                    to: p(b"h"),
                }),
                Op::Mkdir {
                    dir: H(1),
                    path: p(b"e"),
                },
                Op::Symlink {
                    target: Target(b"f".to_vec()),
                    dir: H(1),
                    path: p(b"s"),
                },
                Op::PathStat {
                    dir: ROOT,
                    path: p(b"f"),
                    follow: false,
                },
            ],
        ),
        // `O_CREAT` on a path ending in `/.`: `EISDIR` whether or not the
        // names before it exist (was); they must (`ENOENT`, `ENOTDIR`), and
        // with `O_EXCL` an existing directory is `EEXIST`.
        case(
            vec![],
            vec![
                open(b"a/.", CREAT, true, false),
                open(b"d/./", CREAT, true, false),
                mkdir(b"d"),
                open(b"d/.", CREAT | EXCL, true, false),
                open(b"d/..", CREAT | EXCL | TRUNC, true, false),
                open(b".", CREAT | EXCL, true, false),
                open(b"d/.", CREAT, true, false),
                open(b"x/", CREAT, true, false),
                open(b"a", CREAT, true, false),
                open(b"a/.", CREAT, true, false),
            ],
        ),
        // `path_open` with `CREAT` (or `TRUNC`) and no `FD_WRITE`: read and
        // write access, as wasmtime-wasi opens it (was write-only).
        case(
            vec![],
            vec![
                open(b"e", CREAT, false, false),
                Op::Stat { fd: H(1) },
                Op::Write {
                    fd: H(1),
                    data: Data { len: 5, seed: 1 },
                },
                Op::Pread {
                    fd: H(1),
                    len: 9,
                    offset: super::ops::Off::Abs(0),
                },
            ],
        ),
        // Two-path calls resolve both directories before looking up either
        // last name (was: a source name too long, or with a NUL, answered
        // first).
        case(
            vec![Preload::File {
                path: "a",
                data: Data { len: 3, seed: 2 },
            }],
            vec![
                rename(&long, b"x/a"),
                rename(b".", b"a\0"),
                rename(b"a\0", b"../a"),
                Op::Link(Link {
                    from_dir: ROOT,
                    from: p(&long),
                    follow: false,
                    to_dir: ROOT,
                    to: p(b"a/b"),
                }),
                Op::Link(Link {
                    from_dir: ROOT,
                    from: p(b"."),
                    follow: false,
                    to_dir: ROOT,
                    to: p(b"b\0"),
                }),
                // `symlinkat`: the new name's directory, then the target.
                symlink(b"", b"a/l/b"),
                symlink(b"x\0", b"x/y"),
            ],
        ),
        // `path_filestat_set_times` without a time to set and without
        // following: `utimensat` looks nothing up (was: the name checked).
        case(
            vec![],
            vec![Op::PathSetTimes(PathSetTimes {
                dir: ROOT,
                path: p(&long),
                follow: false,
                fst: Fst(0),
            })],
        ),
        // A rename whose target is a directory holding the source:
        // `ENOTEMPTY` (the kernel's check before the types; was `EISDIR`).
        case(
            vec![Preload::File {
                path: "d/e/a",
                data: Data { len: 1, seed: 3 },
            }],
            vec![rename(b".//d/e/a", b"d/../d"), rename(b"d/e/a", b"d")],
        ),
        // `CREAT` through a final link whose target climbs with `..` but
        // stays inside the directory (was `EPERM`: the link's directory was
        // taken as the root), to a directory (`EISDIR`) or to a name to
        // make; and through a link to itself with a trailing slash
        // (`EISDIR`, was `ELOOP`).
        case(
            vec![
                Preload::Symlink {
                    path: "d/e/a",
                    target: Target(b"..".to_vec()),
                },
                Preload::Symlink {
                    path: "d/l",
                    target: Target(b"../x".to_vec()),
                },
                Preload::Symlink {
                    path: "a",
                    target: Target(b"a/".to_vec()),
                },
            ],
            vec![
                open(b"d/e/a", CREAT | TRUNC, true, true),
                open(b"d/l", CREAT, true, true),
                open(b"a", CREAT | TRUNC, false, true),
            ],
        ),
    ]
}
