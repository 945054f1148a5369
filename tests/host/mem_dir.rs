//! Memory directories from the host's side, with a core module as the
//! guest (the trampoline, `p1::Guest`): preloading from a host tree and from
//! names and bytes, each store's own copy, read-only content sealed and
//! shared across stores, the walk that hands the guest's files out as
//! memory files or bytes, exact charges, and the fd table around a memory
//! directory's preopen, each time against wasmtime-wasi's real directory
//! where the two must agree. The by-path behaviour itself is the C and
//! Python guests' (`tests/runner/mem_dir.rs`), the WASI test suite's and
//! the path model's.

use crate::usage;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use wasi_memfd::{MemDir, MemDirEntry, MemDirEntryKind, Usage, WasiMemfdCtx, WasiMemfdCtxBuilder};
use wasi_memfd_testing::p1::layout::*;
use wasi_memfd_testing::p1::oflags::{CREAT, EXCL, TRUNC};
use wasi_memfd_testing::p1::{errno, result, rights, Guest};
use wasi_memfd_testing::pattern;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

/// A guest whose memfd context is `builder`'s, its memory directories
/// preopened after `wasi`'s own preopens.
fn guest_with(builder: &mut WasiMemfdCtxBuilder, wasi: &mut WasiCtxBuilder) -> Guest {
    let ctx = builder
        .build_p1(wasi)
        .expect("preopening the memory directories");
    Guest::instantiate(ctx, false)
}

fn guest(builder: &mut WasiMemfdCtxBuilder) -> Guest {
    guest_with(builder, &mut WasiCtxBuilder::new())
}

/// A fresh host directory under the system's temporary directory.
fn host_dir(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "wasi-memfd-test-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The fd of the preopen named `path`, found as wasi-libc finds preopens:
/// `fd_prestat_get` from 3 up to the first `EBADF`.
fn preopen(g: &mut Guest, path: &str) -> u32 {
    for fd in 3u32.. {
        let e: i32 = g.call("fd_prestat_get", (fd, STRUCT));
        assert_eq!(e, errno::SUCCESS, "no preopen {path} below fd {fd}");
        let len = g.u32_at(STRUCT + 4);
        let e: i32 = g.call("fd_prestat_dir_name", (fd, NAME, len));
        assert_eq!(e, errno::SUCCESS);
        if g.get(NAME, len as usize) == path.as_bytes() {
            return fd;
        }
    }
    unreachable!()
}

/// `path_open(dir, path)` following links, with every right or the
/// read-only ones.
fn open(g: &mut Guest, dir: u32, path: &str, oflags: u32, write: bool) -> Result<u32, i32> {
    let (path, len) = g.put_name(path.as_bytes());
    let base = if write {
        rights::ALL
    } else {
        rights::READ_ONLY
    };
    let e: i32 = g.call(
        "path_open",
        (
            dir,
            1u32,
            path,
            len,
            oflags,
            base as i64,
            rights::ALL as i64,
            0u32,
            OUT,
        ),
    );
    result(e, || g.u32_at(OUT))
}

fn path_call(g: &mut Guest, name: &str, dir: u32, path: &str) -> i32 {
    let (path, len) = g.put_name(path.as_bytes());
    g.call(name, (dir, path, len))
}

/// A file's whole contents through a new read-only fd.
fn read_file(g: &mut Guest, dir: u32, path: &str) -> Result<Vec<u8>, i32> {
    let fd = open(g, dir, path, 0, false)?;
    let bytes = g.read(fd, 1 << 20);
    assert_eq!(g.close(fd), errno::SUCCESS);
    bytes
}

/// The walk as `(path, what)`: `dir`, `file <bytes>`, `link -> target`.
fn walk(ctx: &WasiMemfdCtx, guest_path: &str) -> Vec<(String, String)> {
    let entries: Vec<MemDirEntry> = ctx.mem_dir_entries(guest_path).expect("a memory directory");
    entries
        .into_iter()
        .map(|e| {
            let what = match e.kind {
                MemDirEntryKind::Dir => "dir".to_owned(),
                MemDirEntryKind::File(f) => {
                    let bytes = f.read_all().unwrap();
                    assert_eq!(f.size(), bytes.len() as u64);
                    let mut written = Vec::new();
                    assert_eq!(f.write_to(&mut written).unwrap(), f.size());
                    assert!(written == bytes, "{}: write_to and read_all differ", e.path);
                    format!("file {}", String::from_utf8_lossy(&bytes))
                }
                MemDirEntryKind::Symlink(t) => format!("link -> {t}"),
                _ => unreachable!("a new kind of entry"),
            };
            (e.path, what)
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

fn ino(fd: impl AsFd) -> u64 {
    rustix::fs::fstat(fd).unwrap().st_ino
}

/// A host tree preloaded once: each store gets a private, writable copy
/// charged from the start; what one store changes, the other never sees,
/// and the host tree is never written.
#[test]
fn a_preloaded_host_tree_is_each_stores_own_copy() {
    let host = host_dir("preloaded");
    std::fs::write(host.join("a.txt"), "alpha").unwrap();
    std::fs::create_dir(host.join("sub")).unwrap();
    std::fs::write(host.join("sub/b.txt"), "beta").unwrap();
    std::os::unix::fs::symlink("a.txt", host.join("link")).unwrap();
    let dir = MemDir::from_host_dir(&host).unwrap();
    // a.txt, sub, sub/b.txt, link; 5 + 4 bytes and the link's 5.
    let start = Usage {
        files: 4,
        bytes: 14,
    };
    assert_eq!(dir.usage(), start);

    let mut builder = WasiMemfdCtx::builder();
    builder.preopened_mem_dir(&dir, "/data").unwrap();
    let mut other = builder.clone();
    let mut g = guest(&mut builder);
    let mut h = guest(&mut other);
    assert_eq!(g.usage(), start);
    let d = preopen(&mut g, "/data");
    assert_eq!(d, 3, "the only preopen sits at fd 3, where wasi-libc looks");

    let fd = open(&mut g, d, "a.txt", 0, true).unwrap();
    assert_eq!(g.pwrite(fd, b"ALPHA!", 0), Ok(6));
    assert_eq!(g.close(fd), errno::SUCCESS);
    assert_eq!(path_call(&mut g, "path_unlink_file", d, "sub/b.txt"), 0);
    let fd = open(&mut g, d, "new.txt", CREAT | EXCL, true).unwrap();
    assert_eq!(g.write(fd, b"new"), Ok(3));
    assert_eq!(g.close(fd), errno::SUCCESS);
    assert_eq!(read_file(&mut g, d, "link").unwrap(), b"ALPHA!");
    assert_eq!(
        g.usage(),
        Usage {
            files: 4,
            bytes: 14 + 1 - 4 + 3
        }
    );
    assert_eq!(
        walk(g.store.data_mut().memfd(), "/data"),
        pairs(&[
            ("a.txt", "file ALPHA!"),
            ("link", "link -> a.txt"),
            ("new.txt", "file new"),
            ("sub", "dir"),
        ])
    );

    let d = preopen(&mut h, "/data");
    assert_eq!(read_file(&mut h, d, "a.txt").unwrap(), b"alpha");
    assert_eq!(read_file(&mut h, d, "sub/b.txt").unwrap(), b"beta");
    assert_eq!(read_file(&mut h, d, "new.txt"), Err(errno::NOENT));
    assert_eq!(h.usage(), start);

    assert_eq!(std::fs::read(host.join("a.txt")).unwrap(), b"alpha");
    assert_eq!(std::fs::read(host.join("sub/b.txt")).unwrap(), b"beta");
    assert!(!host.join("new.txt").exists());
    std::fs::remove_dir_all(&host).unwrap();
}

/// Read-only files (`MemDir::read_only_file`) are sealed memory files that
/// every store built from clones of one builder shares (one inode); opening
/// one for writing or truncating is `EACCES`, as for a file without write
/// permission; it can still be read, and unlinked (its directory is the
/// guest's).
#[test]
fn read_only_files_are_sealed_shared_and_refuse_writes() {
    let bytes = pattern(100_000);
    let mut dir = MemDir::new();
    dir.read_only_file("ro/table.bin", &bytes).unwrap();
    let mut builder = WasiMemfdCtx::builder();
    builder.preopened_mem_dir(&dir, "/ro").unwrap();
    let mut other = builder.clone();
    let mut g = guest(&mut builder);
    let mut h = guest(&mut other);

    let mut inos = Vec::new();
    for g in [&mut g, &mut h] {
        let d = preopen(g, "/ro");
        assert_eq!(open(g, d, "ro/table.bin", 0, true), Err(errno::ACCES));
        assert_eq!(open(g, d, "ro/table.bin", TRUNC, true), Err(errno::ACCES));
        let fd = open(g, d, "ro/table.bin", 0, false).unwrap();
        assert_eq!(g.read(fd, 200_000).unwrap(), bytes);
        let file = g.store.data().memory_file(fd).unwrap();
        assert!(file.is_sealed_read_only());
        assert!(!file.is_writable());
        inos.push(ino(&file));
        let walked = g.store.data_mut().memfd().mem_dir_entries("/ro").unwrap();
        let MemDirEntryKind::File(f) = &walked[1].kind else {
            panic!("{walked:?}")
        };
        assert_eq!(ino(f.memory_file().unwrap()), inos[inos.len() - 1]);
        assert_eq!(g.close(fd), errno::SUCCESS);
    }
    assert_eq!(inos[0], inos[1], "one memory file shared by both stores");

    let d = preopen(&mut g, "/ro");
    assert_eq!(path_call(&mut g, "path_unlink_file", d, "ro/table.bin"), 0);
    assert_eq!(read_file(&mut g, d, "ro/table.bin"), Err(errno::NOENT));
    let d = preopen(&mut h, "/ro");
    assert_eq!(read_file(&mut h, d, "ro/table.bin").unwrap(), bytes);
}

/// The walk hands the guest's own file out, with no copy: the
/// `MemoryFile` is the fd the guest writes through (one inode, later
/// writes visible), and it keeps the file and its charge after the guest
/// unlinked and closed it, until the host drops it.
#[test]
fn the_walk_hands_out_the_guests_own_memory_file() {
    let mut builder = WasiMemfdCtx::builder();
    builder.preopened_mem_dir(&MemDir::new(), "/out").unwrap();
    let mut g = guest(&mut builder);
    let d = preopen(&mut g, "/out");
    assert_eq!(path_call(&mut g, "path_create_directory", d, "results"), 0);
    let fd = open(&mut g, d, "results/data.bin", CREAT, true).unwrap();
    let bytes = pattern(20_000);
    assert_eq!(g.write(fd, &bytes), Ok(20_000));
    let used = Usage {
        files: 2,
        bytes: 20_000,
    };
    assert_eq!(g.usage(), used);

    let entries = g.store.data_mut().memfd().mem_dir_entries("/out").unwrap();
    let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        ["results", "results/data.bin"],
        "each directory first"
    );
    let MemDirEntryKind::File(f) = &entries[1].kind else {
        panic!("{entries:?}")
    };
    assert_eq!(f.size(), 20_000);
    assert_eq!(f.read_all().unwrap(), bytes);
    let mut written = Vec::new();
    assert_eq!(f.write_to(&mut written).unwrap(), 20_000);
    assert!(written == bytes, "write_to gives the memory file's bytes");
    let file = f.memory_file().unwrap();
    assert!(file.is_writable());
    assert!(!file.is_sealed_read_only());
    assert_eq!(ino(&file), ino(g.store.data().memory_file(fd).unwrap()));
    assert_eq!(g.pwrite(fd, b"LATER", 0), Ok(5));
    let mut head = [0u8; 5];
    rustix::io::pread(&file, &mut head, 0).unwrap();
    assert_eq!(&head, b"LATER");
    drop(entries);

    assert_eq!(
        path_call(&mut g, "path_unlink_file", d, "results/data.bin"),
        0
    );
    assert_eq!(g.close(fd), errno::SUCCESS);
    assert_eq!(g.usage(), used, "the host's MemoryFile keeps it charged");
    assert_eq!(file.read_all().unwrap()[..5], *b"LATER");
    drop(file);
    assert_eq!(g.usage(), Usage { files: 1, bytes: 0 });
}

/// `O_TRUNC` on a preloaded file: it is empty from the open on (its charge
/// too, and its bytes are never copied into a memory file), it stays empty
/// after the last close (it does not go back to the bytes it was preloaded
/// with), and another preloaded file keeps its bytes.
#[test]
fn o_trunc_empties_a_preloaded_file_for_good() {
    let mut dir = MemDir::new();
    dir.file("cut", b"0123456789").unwrap();
    dir.file("kept", b"abc").unwrap();
    let mut builder = WasiMemfdCtx::builder();
    builder.preopened_mem_dir(&dir, "/m").unwrap();
    let mut g = guest(&mut builder);
    let d = preopen(&mut g, "/m");
    assert_eq!(g.usage(), usage(2, 13));
    let fd = open(&mut g, d, "cut", TRUNC, true).unwrap();
    assert_eq!(g.usage(), usage(2, 3));
    assert_eq!(g.read(fd, 16), Ok(Vec::new()));
    // Closed with nothing written: still empty.
    assert_eq!(g.close(fd), errno::SUCCESS);
    assert_eq!(read_file(&mut g, d, "cut"), Ok(Vec::new()));
    assert_eq!(read_file(&mut g, d, "kept"), Ok(b"abc".to_vec()));
    assert_eq!(
        walk(g.store.data_mut().memfd(), "/m"),
        pairs(&[("cut", "file "), ("kept", "file abc")])
    );
    let fd = open(&mut g, d, "cut", TRUNC, true).unwrap();
    assert_eq!(g.write(fd, b"new"), Ok(3));
    assert_eq!(g.close(fd), errno::SUCCESS);
    assert_eq!(read_file(&mut g, d, "cut"), Ok(b"new".to_vec()));
    assert_eq!(g.usage(), usage(2, 6));
}

/// Every file, directory and byte counts against the store's limits from
/// the start; past them the guest gets `ENOSPC` (files), `EDQUOT` (bytes)
/// and `EFBIG` (one file), and deleting gives all back exactly.
#[test]
fn limits_count_every_file_and_byte() {
    let mut dir = MemDir::new();
    dir.file("seed.txt", b"0123456789").unwrap();
    let mut builder = WasiMemfdCtx::builder();
    builder
        .max_files(4)
        .max_total_size(1000)
        .max_file_size(600)
        .preopened_mem_dir(&dir, "/m")
        .unwrap();
    let mut g = guest(&mut builder);
    let d = preopen(&mut g, "/m");
    assert_eq!(
        g.usage(),
        Usage {
            files: 1,
            bytes: 10
        }
    );
    assert_eq!(path_call(&mut g, "path_create_directory", d, "d"), 0);
    let a = open(&mut g, d, "d/a", CREAT, true).unwrap();
    let b = open(&mut g, d, "b", CREAT, true).unwrap();
    assert_eq!(open(&mut g, d, "c", CREAT, true), Err(errno::NOSPC));
    assert_eq!(
        path_call(&mut g, "path_create_directory", d, "e"),
        errno::NOSPC
    );
    assert_eq!(
        g.usage(),
        Usage {
            files: 4,
            bytes: 10
        }
    );

    assert_eq!(g.pwrite(a, &[1; 600], 0), Ok(600));
    assert_eq!(g.pwrite(a, &[1], 600), Err(errno::FBIG));
    assert_eq!(g.set_size(a, 601), errno::FBIG);
    assert_eq!(g.pwrite(b, &[2; 391], 0), Err(errno::DQUOT));
    assert_eq!(g.pwrite(b, &[2; 390], 0), Ok(390));
    assert_eq!(
        g.usage(),
        Usage {
            files: 4,
            bytes: 1000
        }
    );

    // Unlinked but open: still counted; closed: given back.
    assert_eq!(path_call(&mut g, "path_unlink_file", d, "d/a"), 0);
    assert_eq!(
        g.usage(),
        Usage {
            files: 4,
            bytes: 1000
        }
    );
    assert_eq!(g.close(a), errno::SUCCESS);
    assert_eq!(
        g.usage(),
        Usage {
            files: 3,
            bytes: 400
        }
    );
    assert_eq!(g.set_size(b, 0), errno::SUCCESS);
    assert_eq!(
        g.usage(),
        Usage {
            files: 3,
            bytes: 10
        }
    );
    let c = open(&mut g, d, "c", CREAT, true).unwrap();
    assert_eq!(
        g.usage(),
        Usage {
            files: 4,
            bytes: 10
        }
    );
    for fd in [b, c] {
        assert_eq!(g.close(fd), errno::SUCCESS);
    }
    for path in ["b", "c", "seed.txt"] {
        assert_eq!(path_call(&mut g, "path_unlink_file", d, path), 0);
    }
    assert_eq!(g.usage(), Usage { files: 1, bytes: 0 }, "the directory d");
}

/// `MemDir`'s names and bytes: relative paths of plain components only, no
/// file twice, no file as a parent, directories as `mkdir -p`; `preopened_mem_dir` needs a guest path.
#[test]
fn mem_dir_paths_are_checked() {
    use std::io::ErrorKind::{AlreadyExists, InvalidInput};
    let mut dir = MemDir::new();
    dir.file("a/b.txt", b"b")
        .unwrap()
        .symlink("a/l", "b.txt")
        .unwrap();
    for bad in [
        "",
        "/abs",
        "../up",
        "a/../b",
        "./x",
        "a\0b",
        &"n".repeat(256),
    ] {
        assert_eq!(
            dir.file(bad, b"").unwrap_err().kind(),
            InvalidInput,
            "{bad:?}"
        );
    }
    assert_eq!(dir.file("a/b.txt", b"").unwrap_err().kind(), AlreadyExists);
    dir.dir("a")
        .expect("mkdir -p: a directory already there is fine");
    assert_eq!(dir.dir("a/b.txt").unwrap_err().kind(), InvalidInput);
    assert_eq!(dir.file("a/b.txt/c", b"").unwrap_err().kind(), InvalidInput);
    assert_eq!(dir.symlink("x", "").unwrap_err().kind(), InvalidInput);
    let mut builder = WasiMemfdCtx::builder();
    let err = builder.preopened_mem_dir(&dir, "").unwrap_err();
    assert_eq!(err.kind(), InvalidInput);
    assert!(MemDir::from_host_dir("/nonexistent/wasi-memfd").is_err());
}

/// A guest with the host directory `real` preopened as `/real` (through
/// wasmtime-wasi) and a new memory directory as `/mem`.
fn guest_real_and_mem(real: &Path) -> Guest {
    let mut wasi = WasiCtxBuilder::new();
    wasi.preopened_dir(real, "/real", FsPerms::ReadWrite)
        .unwrap();
    let mut builder = WasiMemfdCtx::builder();
    builder.preopened_mem_dir(&MemDir::new(), "/mem").unwrap();
    guest_with(&mut builder, &mut wasi)
}

/// The guest's sequence: a file fd renumbered onto the directory's
/// preopen, then used, then closed; each answer, to compare.
fn renumber_onto_the_preopen(g: &mut Guest, d: u32) -> Vec<Result<Vec<u8>, i32>> {
    let fd = open(g, d, "f", CREAT, true).unwrap();
    assert_eq!(g.write(fd, b"file"), Ok(4));
    let errno = |e: i32| if e == 0 { Ok(Vec::new()) } else { Err(e) };
    vec![
        errno(g.renumber(fd, d)),
        g.pread(d, 16, 0),
        g.read(fd, 4),
        errno(g.call("fd_prestat_get", (d, STRUCT))),
        open(g, d, "f", 0, false).map(|_| Vec::new()),
        errno(g.close(d)),
        g.pread(d, 4, 0),
        errno(g.call("fd_prestat_get", (d, STRUCT))),
    ]
}

/// A memory directory's preopen is a guest fd like wasmtime-wasi's: after
/// wasmtime-wasi's own preopens, and a file renumbered onto it replaces
/// it, as onto a real directory's preopen.
#[test]
fn the_preopen_renumbers_as_a_real_directory_does() {
    let real = host_dir("renumber");
    let mut g = guest_real_and_mem(&real);
    assert_eq!(preopen(&mut g, "/real"), 3);
    let d = preopen(&mut g, "/mem");
    assert_eq!(d, 4);
    let mem = renumber_onto_the_preopen(&mut g, d);

    let mut wasi = WasiCtxBuilder::new();
    wasi.preopened_dir(&real, "/real", FsPerms::ReadWrite)
        .unwrap();
    let mut r = Guest::instantiate(
        wasi_memfd::p1::WasiMemfdP1Ctx::new(wasi.build_p1(), WasiMemfdCtx::new()),
        false,
    );
    let d = preopen(&mut r, "/real");
    let reference = renumber_onto_the_preopen(&mut r, d);
    assert_eq!(mem, reference);
    assert_eq!(mem[1], Ok(b"file".to_vec()), "the file is at the number");
    std::fs::remove_dir_all(&real).unwrap();
}

/// `fd_renumber` of a memory file onto a wasmtime-wasi fd: onto a number
/// nothing holds it is `EBADF`; onto an open one the file takes that
/// number, and wasmtime-wasi's next fd (which may reuse the number the move
/// went through) works.
#[test]
fn a_memory_file_renumbered_onto_a_wasi_fd() {
    let real = host_dir("renumber-file");
    std::fs::write(real.join("a"), b"a").unwrap();
    std::fs::write(real.join("b"), b"bb").unwrap();
    let mut g = guest_real_and_mem(&real);
    let (r, m) = (preopen(&mut g, "/real"), preopen(&mut g, "/mem"));
    let file = open(&mut g, m, "f", CREAT, true).unwrap();
    for _ in 0..3 {
        assert_eq!(g.renumber(file, 999), errno::BADF);
    }
    let a = open(&mut g, r, "a", 0, false).unwrap();
    assert_eq!(g.renumber(file, a), errno::SUCCESS);
    assert_eq!(
        g.filestat(a).unwrap().size,
        0,
        "the memory file at a's number"
    );
    assert_eq!(g.filestat(file).unwrap_err(), errno::BADF);
    for _ in 0..3 {
        let b = open(&mut g, r, "b", 0, false).unwrap();
        assert_eq!(g.filestat(b).unwrap().size, 2, "wasmtime-wasi's fd {b}");
        assert_eq!(g.close(b), errno::SUCCESS);
    }
    std::fs::remove_dir_all(&real).unwrap();
}
