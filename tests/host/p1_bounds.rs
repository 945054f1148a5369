//! What a WASIp1 guest's pointers and array lengths may cost: iovecs and
//! arrays outside memory trap (even where a write would be clamped), one
//! call serves at most `IOV_MAX` iovecs and `POLL_MAX` subscriptions,
//! arrays are charged against hostcall fuel, overlapping and scattered
//! iovecs are served in iovec order, and a mebibyte comes back in one read.

use wasi_memfd_testing::p1::layout::*;
use wasi_memfd_testing::p1::{errno, eventtype, Guest, Sub, PAGE};
use wasi_memfd_testing::pattern;

/// `func(fd, [iovec], 1, OUT)` with the one iovec at [`IOV`]: `len` bytes
/// from `before_end` bytes before the end of memory, past it; must trap.
fn assert_traps(g: &mut Guest, func: &str, fd: u32, before_end: u32, len: u32) {
    let iovec = (g.mem_len() - before_end, len);
    g.put_iovecs(&[iovec]);
    let trapped = g.try_call::<_, i32>(func, (fd, IOV, 1u32, OUT));
    assert!(
        trapped.is_err(),
        "{func} with the iovec {iovec:?} past the end of memory: {trapped:?}"
    );
}

#[test]
fn fd_read_traps_on_iovecs_outside_memory() {
    // WASIp1 traps on out-of-bounds pointers (wasmtime-wasi does, for every
    // fd); the memory-file fd must too, and stay usable afterwards.
    let mut g = Guest::new();
    let fd = g.memfd(b"abc");
    assert_traps(&mut g, "fd_read", fd, 1, 2);
    let end = g.mem_len();
    let trapped = g.try_call::<_, i32>("fd_read", (fd, end - 4, 1u32, OUT));
    assert!(trapped.is_err(), "iovec array past the end: {trapped:?}");
    assert_eq!(g.tell(fd), Ok(0));
    assert_eq!(g.read(fd, 8).unwrap(), b"abc");
}

#[test]
fn one_fd_read_returns_a_whole_mebibyte() {
    const MIB: usize = 1 << 20;
    let mut g = Guest::new();
    let data = pattern(MIB + 3);
    let fd = g.memfd(&data);
    // BUF is below DATA + len, so read into a buffer past the input.
    let buf = (DATA as usize + data.len()).next_multiple_of(PAGE) as u32;
    g.grow_to(buf as usize + MIB + 16);
    g.put_iovecs(&[(buf, (MIB + 16) as u32)]);
    let errno: i32 = g.call("fd_read", (fd, IOV, 1u32, OUT));
    assert_eq!(errno, errno::SUCCESS);
    assert_eq!(g.u32_at(OUT) as usize, MIB + 3, "one call returns it all");
    assert!(g.get(buf, MIB + 3) == data, "the bytes differ");
    assert_eq!(g.tell(fd), Ok((MIB + 3) as u64));
}

#[test]
fn one_read_or_write_serves_at_most_iov_max_iovecs() {
    assert_eq!(wasi_memfd::p1::IOV_MAX, 1024);
    let mut g = Guest::new();
    let data: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
    let (ro, rw) = (g.memfd(&data), g.memfd_rw(&vec![0; 3000]));
    let (table, buf) = (256 * 1024, 512 * 1024);
    g.put_many_iovecs(table, 1500, buf, 1);
    // 1500 one-byte iovecs: the first 1024 are served, a short count.
    let errno: i32 = g.call("fd_read", (ro, table, 1500u32, OUT));
    assert_eq!(errno, errno::SUCCESS);
    assert_eq!(g.u32_at(OUT), 1024);
    assert_eq!(g.get(buf, 1024), &data[..1024]);
    assert_eq!(g.tell(ro), Ok(1024));
    let errno: i32 = g.call("fd_pwrite", (rw, table, 1500u32, 10u64, OUT));
    assert_eq!(errno, errno::SUCCESS);
    assert_eq!(g.u32_at(OUT), 1024);
    assert_eq!(g.pread(rw, 1034, 0).unwrap()[10..], data[..1024]);
}

#[test]
fn iovec_and_subscription_arrays_are_charged_against_hostcall_fuel() {
    let mut g = Guest::new();
    let fd = g.memfd(b"0123456789");
    let (table, buf) = (256 * 1024, 512 * 1024);
    g.put_many_iovecs(table, 100, buf, 1);
    // 100 iovecs are 800 bytes of array.
    g.store.set_hostcall_fuel(799);
    let errno: i32 = g.call("fd_pread", (fd, table, 100u32, 0u64, OUT));
    assert_eq!(errno, errno::NOMEM, "once the fuel is spent");
    g.store.set_hostcall_fuel(800);
    let errno: i32 = g.call("fd_pread", (fd, table, 100u32, 0u64, OUT));
    assert_eq!(errno, errno::SUCCESS);
    assert_eq!(g.u32_at(OUT), 10);
    // wasmtime-wasi charges both the subscription and the event arrays
    // (each entry tens of bytes), and so does this layer.
    let subs = [Sub::Read { userdata: 1, fd }, Sub::Read { userdata: 2, fd }];
    g.store.set_hostcall_fuel(60);
    assert_eq!(g.poll(&subs), Err(errno::NOMEM));
    g.store.set_hostcall_fuel(1 << 20);
    assert_eq!(g.poll(&subs).unwrap().len(), 2);
    // At the default fuel (128 MiB), 32 Mi iovecs (256 MiB of array) are
    // refused before any is read.
    g.store.set_hostcall_fuel(128 << 20);
    g.grow_to(300 << 20);
    let errno: i32 = g.call("fd_read", (fd, 16u32, 32u32 << 20, OUT));
    assert_eq!(errno, errno::NOMEM);
    assert_eq!(g.tell(fd), Ok(0));
}

#[test]
fn an_iovec_outside_memory_traps_even_when_the_write_is_clamped() {
    let mut g = Guest::new();
    let fd = g.memfd_rw(b"abcd");
    // 100 bytes from 10 before the end of memory; only 4 would be written.
    assert_traps(&mut g, "fd_write", fd, 10, 100);
    assert_eq!(g.pread(fd, 4, 0).unwrap(), b"abcd", "nothing was written");
    // In bounds, the same write is clamped at the end of the file.
    let end = g.mem_len();
    g.put_iovecs(&[(end - 100, 100)]);
    let errno: i32 = g.call("fd_write", (fd, IOV, 1u32, OUT));
    assert_eq!(errno, errno::SUCCESS);
    assert_eq!(g.u32_at(OUT), 4);
}

#[test]
fn poll_oneoff_takes_at_most_poll_max_subscriptions_while_memory_files_are_open() {
    let max = wasi_memfd::p1::POLL_MAX;
    let mut g = Guest::new();
    let fd = g.memfd(b"ready");
    let (subs, events) = (1 << 20, 2 << 20);
    g.grow_to((events + 32 * (max + 1)) as usize);
    let mut sub = [0u8; 48];
    sub[8] = eventtype::FD_READ;
    sub[16..20].copy_from_slice(&fd.to_le_bytes());
    g.put(subs, &sub.repeat(max as usize + 1));
    let errno: i32 = g.call("poll_oneoff", (subs, events, max + 1, OUT));
    assert_eq!(errno, errno::INVAL);
    let errno: i32 = g.call("poll_oneoff", (subs, events, max, OUT));
    assert_eq!(errno, errno::SUCCESS);
    assert_eq!(g.u32_at(OUT), max, "one event per subscription");
}

#[test]
fn overlapping_and_scattered_iovecs_read_and_write_in_iovec_order() {
    let mut g = Guest::new();
    let data: Vec<u8> = (0..64u8).collect();
    let ro = g.memfd(&data);
    // Out of address order, and one overlapping another: the bytes land in
    // iovec order either way.
    for iovecs in [
        vec![(BUF + 100, 4), (BUF, 4), (BUF + 50, 8)],
        vec![(BUF, 8), (BUF + 4, 8)],
    ] {
        g.put_iovecs(&iovecs);
        let errno: i32 = g.call("fd_pread", (ro, IOV, iovecs.len() as u32, 0u64, OUT));
        assert_eq!(errno, errno::SUCCESS);
        let total: u32 = iovecs.iter().map(|i| i.1).sum();
        assert_eq!(g.u32_at(OUT), total);
        let mut at = 0;
        let last = iovecs.last().unwrap();
        for &(ptr, len) in &iovecs[..iovecs.len() - 1] {
            if ptr + len <= last.0 || ptr >= last.0 + last.1 {
                assert_eq!(g.get(ptr, len as usize), &data[at..at + len as usize]);
            }
            at += len as usize;
        }
        assert_eq!(
            g.get(last.0, last.1 as usize),
            &data[at..at + last.1 as usize]
        );
    }
    let rw = g.memfd_rw(&[0; 16]);
    g.put(BUF, b"abcdefgh");
    g.put_iovecs(&[(BUF + 4, 4), (BUF, 4), (BUF + 2, 4)]);
    let errno: i32 = g.call("fd_pwrite", (rw, IOV, 3u32, 0u64, OUT));
    assert_eq!(errno, errno::SUCCESS);
    assert_eq!(g.u32_at(OUT), 12);
    assert_eq!(g.pread(rw, 16, 0).unwrap(), b"efghabcdcdef\0\0\0\0");
}
