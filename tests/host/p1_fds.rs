//! WASIp1 fd tables: closing, renumbering (within the memory-file table and
//! across to wasmtime-wasi's), calls that make no sense on a file
//! (directories, paths, sockets), what is still wasmtime-wasi's (stdio),
//! the shm backend, the sync linker staying out of the runtime, and files
//! from a pool.

use wasi_memfd::p1::FIRST_FD;
use wasi_memfd::{Backend, Usage, WasiMemfdCtx};
use wasi_memfd_testing::p1::layout::*;
use wasi_memfd_testing::p1::{errno, rights, whence::*, Guest, PAGE, REGULAR_FILE};
use wasi_memfd_testing::{pattern, wait_until};

#[test]
fn closed_fds_are_ebadf_everywhere() {
    let mut g = Guest::new();
    let fd = g.memfd_rw(b"abc");
    let keep = g.memfd(b"keep");
    assert_eq!(g.close(fd), errno::SUCCESS);
    assert_eq!(g.usage(), Usage { files: 1, bytes: 4 });
    assert_eq!(g.read(fd, 4), Err(errno::BADF));
    assert_eq!(g.pread(fd, 4, 0), Err(errno::BADF));
    assert_eq!(g.write(fd, b"x"), Err(errno::BADF));
    assert_eq!(g.pwrite(fd, b"x", 0), Err(errno::BADF));
    assert_eq!(g.seek(fd, 0, SET), Err(errno::BADF));
    assert_eq!(g.tell(fd), Err(errno::BADF));
    assert_eq!(g.filestat(fd).map(|_| ()), Err(errno::BADF));
    assert_eq!(g.fdstat(fd), Err(errno::BADF));
    assert_eq!(g.fd_call("fd_sync", fd), errno::BADF);
    assert_eq!(g.fd_call("fd_datasync", fd), errno::BADF);
    let errno: i32 = g.call("fd_advise", (fd, 0u64, 0u64, 0u32));
    assert_eq!(errno, errno::BADF);
    let errno: i32 = g.call("fd_filestat_set_size", (fd, 3u64));
    assert_eq!(errno, errno::BADF);
    assert_eq!(g.close(fd), errno::BADF, "closing twice");
    // A number in the memory-file range that was never handed out.
    assert_eq!(g.close(FIRST_FD + 1000), errno::BADF);
    assert_eq!(g.read(FIRST_FD + 1000, 4), Err(errno::BADF));
    // The other fd is untouched.
    assert_eq!(g.read(keep, 8).unwrap(), b"keep");
}

#[test]
fn fd_renumber_between_memory_fds() {
    let mut g = Guest::new();
    let a = g.memfd(b"file A");
    let b = g.memfd(b"file B!");
    assert_eq!(g.read(a, 5).unwrap(), b"file ");
    assert_eq!(g.renumber(a, b), errno::SUCCESS);
    // b is now a's file, offset included; b's old file is gone.
    assert_eq!(g.read(b, 64).unwrap(), b"A");
    assert_eq!(g.filestat(b).unwrap().size, 6);
    assert_eq!(g.usage(), Usage { files: 1, bytes: 6 });
    // a's number is free: not open, and handed out again.
    assert_eq!(g.read(a, 4), Err(errno::BADF));
    assert_eq!(g.close(a), errno::BADF);
    let c = g.memfd(b"C");
    assert_eq!(c, a);
    // Renumbering onto itself changes nothing.
    assert_eq!(g.renumber(c, c), errno::SUCCESS);
    assert_eq!(g.read(c, 4).unwrap(), b"C");
    // Onto a closed or never-opened number in the range: EBADF.
    assert_eq!(g.renumber(c, FIRST_FD + 500), errno::BADF);
    assert_eq!(g.renumber(FIRST_FD + 500, c), errno::BADF);
    assert_eq!(g.pread(c, 4, 0).unwrap(), b"C");
}

/// Renumbering across the two tables works as wasmtime-wasi's does
/// between any two open fds: stdout onto a memory fd closes the memory file
/// and the number is stdout now (its own number is closed); a memory fd
/// onto one of wasmtime-wasi's needs a memory directory's placeholder to
/// keep the number (see `mem_dir.rs`), so without one it is `EBADF` and
/// changes nothing.
#[test]
fn fd_renumber_across_the_two_tables() {
    let mut g = Guest::new();
    let m = g.memfd(b"memory");
    let kept = g.memfd(b"kept");
    assert_eq!(g.renumber(m, 1), errno::BADF, "memory fd onto stdout");
    assert_eq!(g.renumber(m, 0), errno::BADF, "memory fd onto stdin");
    assert_eq!(g.read(m, 64).unwrap(), b"memory");
    assert_eq!(
        g.usage(),
        Usage {
            files: 2,
            bytes: 10
        }
    );
    assert_eq!(g.renumber(1, m), errno::SUCCESS, "stdout onto a memory fd");
    // m is stdout now: writes go there, and its file is gone.
    assert_eq!(g.write(m, b"to stdout\n"), Ok(10));
    assert_ne!(g.fdstat(m).unwrap().filetype, REGULAR_FILE);
    assert_eq!(g.usage(), Usage { files: 1, bytes: 4 });
    assert_eq!(
        g.fdstat(1),
        Err(errno::BADF),
        "stdout's own number is closed"
    );
    assert_eq!(g.write(1, b"x"), Err(errno::BADF));
    // 1 is closed: nothing can be renumbered onto it.
    assert_eq!(g.renumber(kept, 1), errno::BADF);
    // Closing m closes stdout; its number stays closed.
    assert_eq!(g.close(m), errno::SUCCESS);
    assert_eq!(g.write(m, b"x"), Err(errno::BADF));
    assert_eq!(g.write(1, b"x"), Err(errno::BADF));
    assert_eq!(g.read(kept, 8).unwrap(), b"kept");
}

#[test]
fn memory_fds_are_not_preopened_directories() {
    let mut g = Guest::new();
    let fd = g.memfd(b"abc");
    let errno: i32 = g.call("fd_prestat_get", (fd, STRUCT));
    assert_eq!(errno, errno::BADF);
    // An open fd that is no preopen: ENOTDIR, as wasmtime-wasi answers.
    let errno: i32 = g.call("fd_prestat_dir_name", (fd, NAME, 16u32));
    assert_eq!(errno, errno::NOTDIR);
}

/// Directory and path calls on a memory file answer as wasmtime-wasi does
/// on a file: `EBADF` (not a directory fd), but `path_open`'s `ENOTDIR`.
#[test]
fn directory_and_path_calls_on_memory_fds() {
    let mut g = Guest::new();
    let fd = g.memfd(b"abc");
    g.put(NAME, b"sub");
    let errno: i32 = g.call("fd_readdir", (fd, BUF, 256u32, 0u64, OUT));
    assert_eq!(errno, errno::BADF, "fd_readdir");
    let errno: i32 = g.call(
        "path_open",
        (fd, 0u32, NAME, 3u32, 0u32, rights::FD_READ, 0u64, 0u32, OUT),
    );
    assert_eq!(errno, errno::NOTDIR, "path_open");
    let errno: i32 = g.call("path_filestat_get", (fd, 0u32, NAME, 3u32, STRUCT));
    assert_eq!(errno, errno::BADF, "path_filestat_get");
    let errno: i32 = g.call("path_create_directory", (fd, NAME, 3u32));
    assert_eq!(errno, errno::BADF, "path_create_directory");
    let errno: i32 = g.call("path_unlink_file", (fd, NAME, 3u32));
    assert_eq!(errno, errno::BADF, "path_unlink_file");
    assert_eq!(g.read(fd, 8).unwrap(), b"abc");
}

#[test]
fn socket_calls_on_memory_fds_are_enotsock() {
    let mut g = Guest::new();
    let fd = g.memfd(b"abc");
    g.read_iovecs(&[4]);
    let errno: i32 = g.call("sock_recv", (fd, IOV, 1u32, 0u32, OUT, OUT2));
    assert_eq!(errno, errno::NOTSOCK, "sock_recv");
    let errno: i32 = g.call("sock_send", (fd, IOV, 1u32, 0u32, OUT));
    assert_eq!(errno, errno::NOTSOCK, "sock_send");
    let errno: i32 = g.call("sock_shutdown", (fd, 3u32));
    assert_eq!(errno, errno::NOTSOCK, "sock_shutdown");
    let errno: i32 = g.call("sock_accept", (fd, 0u32, OUT));
    assert_eq!(errno, errno::NOTSOCK, "sock_accept");
    assert_eq!(g.tell(fd), Ok(0));
}

#[test]
fn stdio_is_still_wasmtime_wasis() {
    let mut g = Guest::new();
    let _fd = g.memfd(b"abc");
    assert_eq!(g.write(1, b"hello from the p1 test\n"), Ok(23));
    assert_eq!(g.write(2, b""), Ok(0));
    let st = g.fdstat(1).unwrap();
    assert_ne!(st.rights_base & rights::FD_WRITE, 0, "{st:?}");
    // No such fd in wasmtime-wasi's table.
    assert_eq!(g.fdstat(77).map(|_| ()), Err(errno::BADF));
    assert_eq!(g.read(77, 4), Err(errno::BADF));
    assert_eq!(g.close(77), errno::BADF);
}

#[test]
fn shm_backend_round_trips() {
    let mut g = Guest::with(WasiMemfdCtx::builder().backend(Backend::Shm));
    let data = pattern(100_000);
    let fd = g.memfd(&data[..20_000]);
    assert!(g.read_vec(fd, &[7_000, 13_000, 5]).unwrap() == data[..20_000]);
    assert_eq!(g.filestat(fd).unwrap().size, 20_000);
    assert_eq!(g.write(fd, b"x"), Err(errno::BADF));
    let rw = g.memfd_rw(b"shared memory");
    assert_eq!(g.pwrite(rw, b"SH", 0), Ok(2));
    assert_eq!(g.pwrite(rw, b"MEMORY!!", 7), Ok(6));
    assert_eq!(g.pwrite(rw, b"!", 13), Err(errno::FBIG));
    assert_eq!(g.read(rw, 64).unwrap(), b"SHared MEMORY");
    assert_eq!(g.filestat(rw).unwrap().size, 13);
    assert_eq!(
        g.usage(),
        Usage {
            files: 2,
            bytes: 20_013
        }
    );
}

#[test]
fn memory_file_calls_on_the_sync_linker_never_enter_the_runtime() {
    // Inside an async context, wasmtime-wasi's `in_tokio` (what its sync
    // linker runs every async call through) panics: `Handle::block_on`
    // refuses to run there. So every memory-file call below that returns
    // proves it was served without entering the runtime.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut g = Guest::new();
        let fd = g.memfd(b"abcdef");
        assert_eq!(g.read(fd, 3).unwrap(), b"abc");
        assert_eq!(g.pread(fd, 2, 4).unwrap(), b"ef");
        assert_eq!(g.seek(fd, 0, SET), Ok(0));
        assert_eq!(g.read(fd, 8).unwrap(), b"abcdef");
        let errno: i32 = g.call("fd_close", (fd,));
        assert_eq!(errno, errno::SUCCESS);

        // The control: a call passed on to wasmtime-wasi (an fd it does not
        // have) does enter the runtime, and so panics here.
        let entered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            g.try_call::<_, i32>("fd_close", (77u32,))
        }));
        assert!(
            entered.is_err(),
            "wasmtime-wasi's call ran outside the runtime"
        );
    });
}

#[test]
fn files_from_a_pool_look_exactly_like_new_ones() {
    use std::os::fd::AsRawFd;
    use wasi_memfd::{Pool, PoolConfig};
    const MIB: usize = 1 << 20;
    let mut config = PoolConfig::default();
    config.small_files = 2;
    config.large_files = 1;
    config.large_bytes = 2 * MIB as u64;
    let pool = Pool::new(config).unwrap();
    let full = || wait_until("the pool fills", || pool.ready() == (2, 1));
    full();
    let mut g = Guest::with(WasiMemfdCtx::builder().pool(&pool));
    let name_of = |g: &Guest, fd: u32| {
        let file = g.store.data().memory_file(fd).unwrap();
        let link = std::fs::read_link(format!("/proc/self/fd/{}", file.file().as_raw_fd()));
        link.unwrap().to_string_lossy().into_owned()
    };

    // Small data: an empty pooled file, filled and sealed.
    let small = g.memfd(b"pooled bytes");
    assert_eq!(name_of(&g, small), "/memfd:wasi-memfd:pooled (deleted)");
    assert_eq!(g.filestat(small).unwrap().size, 12);
    assert_eq!(g.read(small, 64).unwrap(), b"pooled bytes");
    assert_eq!(g.write(small, b"x"), Err(errno::BADF));
    assert!(g
        .store
        .data()
        .memory_file(small)
        .unwrap()
        .is_sealed_read_only());

    // A mebibyte and more: the large file, allocated ahead, trimmed.
    let data = pattern(MIB + 3);
    let at = (DATA as usize).next_multiple_of(PAGE) + PAGE;
    g.grow_to(at + data.len());
    g.put(at as u32, &data);
    let errno = g.make_raw((at as u32, data.len() as u32), (NAME, 0), 0, OUT);
    assert_eq!(errno, errno::SUCCESS);
    let large = g.u32_at(OUT);
    assert_eq!(name_of(&g, large), "/memfd:wasi-memfd:pooled (deleted)");
    let file = g.store.data().memory_file(large).unwrap();
    assert_eq!(
        file.size().unwrap(),
        (MIB + 3) as u64,
        "trimmed to the data"
    );
    assert!(file.is_sealed_read_only());
    assert!(file.read_all().unwrap() == data, "the bytes differ");
    assert_eq!(g.pread(large, 8, MIB as u64).unwrap(), &data[MIB..]);
    let errno: i32 = g.call("fd_filestat_set_size", (large, (MIB + 3) as u64));
    assert_eq!(errno, errno::INVAL, "same-size set_size on a read-only fd");
    drop(file);

    // Writable: in place, never past the end, as a new file.
    let rw = g.memfd_rw(b"abc");
    assert_eq!(g.pwrite(rw, b"X", 1), Ok(1));
    assert_eq!(g.pwrite(rw, b"Y", 3), Err(errno::FBIG));
    assert_eq!(g.pread(rw, 8, 0).unwrap(), b"aXc");

    // A closed file stays charged until the pool's thread has really
    // closed it (as a new file is until its last handle goes); then the
    // limits see it gone, and the pool refills.
    let usage = g.usage();
    assert_eq!((usage.files, usage.bytes), (3, (12 + MIB + 3 + 3) as u64));
    for fd in [small, large, rw] {
        assert_eq!(g.close(fd), errno::SUCCESS);
    }
    full();
    wait_until("the pool's thread closes the files", || pool.is_idle());
    let usage = g.usage();
    assert_eq!((usage.files, usage.bytes), (0, 0));
}
