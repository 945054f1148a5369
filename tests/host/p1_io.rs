//! WASIp1 I/O on memory-file fds: `fd_read`, `fd_pread`, `fd_seek`,
//! `fd_tell`, `fd_write`, `fd_pwrite`, the metadata calls (`filestat`,
//! `fdstat`, advise, sync) and what stays fixed (size, times, flags,
//! rights).

use wasi_memfd_testing::p1::layout::*;
use wasi_memfd_testing::p1::{
    errno, fdflags, rights, whence::*, Fdstat, Guest, REGULAR_FILE, WRITABLE,
};

/// A fresh guest holding one memory file of `data`, opened with `flags`
/// (0 or `WRITABLE`), as most tests here start.
fn guest_with(data: &[u8], flags: u32) -> (Guest, u32) {
    let mut g = Guest::new();
    let fd = g.make(data, flags).expect("from_bytes");
    (g, fd)
}

#[test]
fn fd_read_fills_iovecs_in_order_and_stops_at_eof() {
    let (mut g, fd) = guest_with(b"abcdefghij", 0);
    // Three iovecs, one of them empty.
    assert_eq!(g.read_vec(fd, &[3, 0, 4]).unwrap(), b"abcdefg");
    assert_eq!(g.tell(fd), Ok(7));
    // Short at the end of the file: the rest of the buffer is untouched.
    assert_eq!(g.read_vec(fd, &[2, 8]).unwrap(), b"hij");
    assert_eq!(g.get(BUF + 3, 7), [0xAA; 7]);
    assert_eq!(g.tell(fd), Ok(10));
    // At the end: 0, again and again.
    assert_eq!(g.read(fd, 16).unwrap(), b"");
    assert_eq!(g.read_vec(fd, &[1, 1]).unwrap(), b"");
    assert_eq!(g.tell(fd), Ok(10));
    // No iovecs at all reads nothing.
    g.seek(fd, 0, SET).unwrap();
    assert_eq!(g.read_vec(fd, &[]).unwrap(), b"");
    assert_eq!(g.tell(fd), Ok(0));
}

#[test]
fn fd_pread_reads_at_an_offset_without_moving_the_fd() {
    let (mut g, fd) = guest_with(b"0123456789", 0);
    assert_eq!(g.read(fd, 2).unwrap(), b"01");
    assert_eq!(g.pread(fd, 3, 5).unwrap(), b"567");
    assert_eq!(g.pread(fd, 100, 8).unwrap(), b"89");
    assert_eq!(g.pread(fd, 4, 10).unwrap(), b"");
    assert_eq!(g.pread(fd, 4, 1 << 40).unwrap(), b"");
    assert_eq!(g.tell(fd), Ok(2));
    assert_eq!(g.read(fd, 3).unwrap(), b"234");
}

#[test]
fn fd_seek_and_fd_tell() {
    let (mut g, fd) = guest_with(b"0123456789", 0);
    assert_eq!(g.seek(fd, 4, SET), Ok(4));
    assert_eq!(g.tell(fd), Ok(4));
    assert_eq!(g.read(fd, 1).unwrap(), b"4");
    assert_eq!(g.seek(fd, 2, CUR), Ok(7));
    assert_eq!(g.seek(fd, -3, CUR), Ok(4));
    assert_eq!(g.seek(fd, 0, CUR), Ok(4));
    assert_eq!(g.seek(fd, -2, END), Ok(8));
    assert_eq!(g.read(fd, 10).unwrap(), b"89");
    assert_eq!(g.seek(fd, 0, END), Ok(10));
    // A negative result is refused and the offset stays.
    assert_eq!(g.seek(fd, 3, SET), Ok(3));
    assert_eq!(g.seek(fd, -1, SET), Err(errno::INVAL));
    assert_eq!(g.seek(fd, -4, CUR), Err(errno::INVAL));
    assert_eq!(g.seek(fd, -11, END), Err(errno::INVAL));
    assert_eq!(g.seek(fd, i64::MIN, END), Err(errno::INVAL));
    assert_eq!(g.tell(fd), Ok(3));
    // Past i64::MAX is refused; i64::MAX itself is fine.
    assert_eq!(g.seek(fd, i64::MAX, SET), Ok(i64::MAX as u64));
    assert_eq!(g.seek(fd, 1, CUR), Err(errno::INVAL));
    assert_eq!(g.seek(fd, i64::MAX, CUR), Err(errno::INVAL));
    assert_eq!(g.tell(fd), Ok(i64::MAX as u64));
    assert_eq!(g.seek(fd, i64::MAX, END), Err(errno::INVAL));
    assert_eq!(g.seek(fd, i64::MAX - 10, END), Ok(i64::MAX as u64));
    // Past the end reads nothing.
    assert_eq!(g.seek(fd, 100, SET), Ok(100));
    assert_eq!(g.read(fd, 4).unwrap(), b"");
    assert_eq!(g.tell(fd), Ok(100));
    assert_eq!(g.seek(fd, 1 << 40, SET), Ok(1 << 40));
    assert_eq!(g.read(fd, 4).unwrap(), b"");
    assert_eq!(g.tell(fd), Ok(1 << 40));
}

#[test]
fn fd_filestat_get_reports_a_regular_file_of_the_true_size() {
    let mut g = Guest::new();
    let mut inodes = Vec::new();
    for (data, flags) in [(&b"hello"[..], 0), (b"", 0), (b"writable!", WRITABLE)] {
        let fd = g.make(data, flags).unwrap();
        g.put(STRUCT, &[0xAA; 72]);
        let st = g.filestat(fd).unwrap();
        assert_eq!(st.filetype, REGULAR_FILE, "{data:?}");
        assert_eq!(st.size, data.len() as u64, "{data:?}");
        assert_ne!(st.mtim, 0, "{data:?}: times are the file's");
        assert_eq!(
            g.get(STRUCT + 64, 8),
            [0xAA; 8],
            "wrote past the 64-byte filestat"
        );
        inodes.push(st.ino);
        // Reading does not change the size.
        g.read(fd, 3).unwrap();
        assert_eq!(g.filestat(fd).unwrap().size, data.len() as u64);
    }
    inodes.sort();
    inodes.dedup();
    assert_eq!(inodes.len(), 3, "three files, three inodes: {inodes:?}");
}

#[test]
fn fd_fdstat_get_reports_the_rights() {
    let mut g = Guest::new();
    let ro = g.memfd(b"ro");
    let rw = g.memfd_rw(b"rw");
    assert_eq!(
        g.fdstat(ro).unwrap(),
        Fdstat {
            filetype: REGULAR_FILE,
            flags: 0,
            rights_base: rights::READ_ONLY,
            rights_inheriting: 0,
        }
    );
    assert_eq!(
        g.fdstat(rw).unwrap(),
        Fdstat {
            filetype: REGULAR_FILE,
            flags: 0,
            rights_base: rights::READ_ONLY | rights::FD_WRITE,
            rights_inheriting: 0,
        }
    );
}

#[test]
fn fd_advise_sync_and_datasync_succeed() {
    let mut g = Guest::new();
    for fd in [g.memfd(b"abc"), g.memfd_rw(b"abc")] {
        for advice in 0..=5u32 {
            let errno: i32 = g.call("fd_advise", (fd, 0u64, 3u64, advice));
            assert_eq!(errno, errno::SUCCESS, "advice {advice}");
        }
        let errno: i32 = g.call("fd_advise", (fd, 100u64, u64::MAX, 0u32));
        assert_eq!(errno, errno::SUCCESS);
        assert_eq!(g.fd_call("fd_sync", fd), errno::SUCCESS);
        assert_eq!(g.fd_call("fd_datasync", fd), errno::SUCCESS);
    }
}

#[test]
fn writes_on_read_only_fds_are_ebadf() {
    let (mut g, fd) = guest_with(b"sealed", 0);
    assert_eq!(g.write(fd, b"X"), Err(errno::BADF));
    assert_eq!(g.pwrite(fd, b"X", 0), Err(errno::BADF));
    assert_eq!(g.write_vec(fd, &[]), Err(errno::BADF));
    assert_eq!(g.tell(fd), Ok(0));
    assert_eq!(g.read(fd, 16).unwrap(), b"sealed");
}

#[test]
fn writable_fds_write_in_place_up_to_the_end() {
    let (mut g, fd) = guest_with(b"hello world", WRITABLE);
    assert_eq!(g.write(fd, b"J"), Ok(1));
    assert_eq!(g.tell(fd), Ok(1));
    assert_eq!(g.write_vec(fd, &[b"E", b"", b"LL"]), Ok(3));
    assert_eq!(g.tell(fd), Ok(4));
    assert_eq!(g.pread(fd, 64, 0).unwrap(), b"JELLo world");
    // fd_pwrite does not move the offset.
    assert_eq!(g.pwrite(fd, b"W", 6), Ok(1));
    assert_eq!(g.tell(fd), Ok(4));
    // A write straddling the end is short.
    assert_eq!(g.seek(fd, 8, SET), Ok(8));
    assert_eq!(g.write(fd, b"RLD!!"), Ok(3));
    assert_eq!(g.tell(fd), Ok(11));
    assert_eq!(g.pwrite(fd, b"xyz", 10), Ok(1));
    assert_eq!(g.write_vec(fd, &[]), Ok(0));
    // At or after the end nothing fits.
    assert_eq!(g.write(fd, b"!"), Err(errno::FBIG));
    assert_eq!(g.pwrite(fd, b"!", 11), Err(errno::FBIG));
    assert_eq!(g.pwrite(fd, b"!", 1 << 40), Err(errno::FBIG));
    assert_eq!(g.pwrite(fd, b"!", u64::MAX), Err(errno::FBIG));
    assert_eq!(g.seek(fd, 20, SET), Ok(20));
    assert_eq!(g.write(fd, b"!"), Err(errno::FBIG));
    assert_eq!(g.tell(fd), Ok(20));
    let st = g.filestat(fd).unwrap();
    assert_eq!(st.size, 11);
    assert_eq!(g.pread(fd, 64, 0).unwrap(), b"JELLo WoRLx");
}

#[test]
fn size_and_times_are_fixed() {
    let mut g = Guest::new();
    let (ro, rw) = (g.memfd(b"12345"), g.memfd_rw(b"12345"));
    // To the same size: allowed on a writable fd (as ftruncate on a sealed
    // memfd), refused on a read-only one (as ftruncate on O_RDONLY).
    let errno: i32 = g.call("fd_filestat_set_size", (rw, 5u64));
    assert_eq!(errno, errno::SUCCESS);
    let errno: i32 = g.call("fd_filestat_set_size", (ro, 5u64));
    assert_eq!(errno, errno::INVAL);
    for fd in [ro, rw] {
        let errno: i32 = g.call("fd_filestat_set_size", (fd, 2u64));
        let want = if fd == ro { errno::INVAL } else { errno::PERM };
        assert_eq!(errno, want);
        let errno: i32 = g.call("fd_filestat_set_size", (fd, 10u64));
        assert_eq!(errno, want);
        // fd_allocate inside the file is a no-op; past the end it is refused.
        for (offset, len, want) in [
            (0u64, 5u64, errno::SUCCESS),
            (2, 3, errno::SUCCESS),
            (5, 0, errno::SUCCESS),
            (0, 6, errno::PERM),
            (5, 1, errno::PERM),
            (u64::MAX, 2, errno::PERM),
        ] {
            let errno: i32 = g.call("fd_allocate", (fd, offset, len));
            assert_eq!(errno, want, "fd_allocate({offset}, {len})");
        }
        // fst_flags: ATIM | MTIM.
        let errno: i32 = g.call("fd_filestat_set_times", (fd, 1u64, 2u64, 0b0101u32));
        assert_eq!(errno, errno::PERM);
        assert_eq!(g.filestat(fd).unwrap().size, 5);
    }
}

#[test]
fn fdstat_flags_accept_nonblock_and_refuse_append() {
    let (mut g, fd) = guest_with(b"abc", WRITABLE);
    let set_flags =
        |g: &mut Guest, flags: u32| -> i32 { g.call("fd_fdstat_set_flags", (fd, flags)) };
    assert_eq!(set_flags(&mut g, fdflags::APPEND), errno::NOTSUP);
    assert_eq!(
        set_flags(&mut g, fdflags::APPEND | fdflags::NONBLOCK),
        errno::NOTSUP
    );
    assert_eq!(g.fdstat(fd).unwrap().flags, 0);
    assert_eq!(set_flags(&mut g, fdflags::NONBLOCK), errno::SUCCESS);
    assert_eq!(g.fdstat(fd).unwrap().flags, fdflags::NONBLOCK as u16);
    // The fd still works as before.
    assert_eq!(g.write(fd, b"A"), Ok(1));
    assert_eq!(g.pread(fd, 8, 0).unwrap(), b"Abc");
    assert_eq!(set_flags(&mut g, 0), errno::SUCCESS);
    assert_eq!(g.fdstat(fd).unwrap().flags, 0);
}

#[test]
fn fdstat_set_rights_is_not_supported() {
    let (mut g, fd) = guest_with(b"abc", 0);
    for asked in [rights::FD_READ, rights::READ_ONLY] {
        let errno: i32 = g.call("fd_fdstat_set_rights", (fd, asked, 0u64));
        assert_eq!(errno, errno::NOTSUP, "fd_fdstat_set_rights({asked:#x})");
    }
    assert_eq!(g.fdstat(fd).unwrap().rights_base, rights::READ_ONLY);
}
