//! WASIp1 `wasi_memfd.from_bytes` and `open_preopened`: the fd written at
//! `fd_out`, ranges outside memory, flags, names, the three limits and
//! their slots and bytes given back, preopened files read-only and
//! writable.

use wasi_memfd::p1::FIRST_FD;
use wasi_memfd::{Usage, WasiMemfdCtx};
use wasi_memfd_testing::p1::layout::*;
use wasi_memfd_testing::p1::{errno, rights, Guest, WRITABLE};

#[test]
fn from_bytes_writes_the_fd_at_fd_out() {
    let mut g = Guest::new();
    assert_eq!(g.usage(), Usage::default());
    let a = g.memfd(b"hello");
    let b = g.memfd(b"world!");
    assert!(a >= FIRST_FD, "fd {a} is below {FIRST_FD}");
    assert!(b >= FIRST_FD, "fd {b} is below {FIRST_FD}");
    assert!(a <= i32::MAX as u32 && b <= i32::MAX as u32);
    assert_ne!(a, b);
    assert_eq!(
        g.usage(),
        Usage {
            files: 2,
            bytes: 11
        }
    );
    assert_eq!(g.read(a, 64).unwrap(), b"hello");
    assert_eq!(g.read(b, 64).unwrap(), b"world!");
    // An empty file with an empty name is fine too.
    let empty = g.make_named(b"", b"", 0).unwrap();
    assert_eq!(g.read(empty, 64).unwrap(), b"");
}

#[test]
fn from_bytes_faults_on_ranges_outside_memory_and_makes_nothing() {
    let mut g = Guest::new();
    let end = g.mem_len();
    g.put(DATA, b"data");
    g.put(NAME, b"name");
    let cases: &[(&str, [u32; 4])] = &[
        // (data, data_len, name, name_len), with flags 0 and fd_out OUT
        ("data straddles the end", [end - 2, 4, NAME, 4]),
        ("data starts past the end", [end + 1, 0, NAME, 4]),
        ("data_len near 4 GiB", [DATA, 0xFFFF_FFF0, NAME, 4]),
        ("data ptr and len wrap", [0xFFFF_FFFF, 2, NAME, 4]),
        ("name straddles the end", [DATA, 4, end - 1, 2]),
        ("name_len near 4 GiB", [DATA, 4, NAME, 0xFFFF_FFF0]),
    ];
    for (what, [data, data_len, name, name_len]) in cases {
        g.put(OUT, &[0xEE; 4]);
        let errno = g.make_raw((*data, *data_len), (*name, *name_len), 0, OUT);
        assert_eq!(errno, errno::FAULT, "{what}");
        assert_eq!(g.u32_at(OUT), 0xEEEE_EEEE, "{what}: fd_out was written");
        assert_eq!(g.usage(), Usage::default(), "{what}: a file was made");
    }
    for fd_out in [end - 3, end - 1, end, end + 4, u32::MAX - 1] {
        let errno = g.make_raw((DATA, 4), (NAME, 4), 0, fd_out);
        assert_eq!(
            errno,
            errno::FAULT,
            "fd_out {fd_out:#x} (memory ends at {end:#x})"
        );
        assert_eq!(
            g.usage(),
            Usage::default(),
            "fd_out {fd_out:#x}: a file was made"
        );
    }
    // The last four bytes of memory are a fine fd_out.
    assert_eq!(g.make_raw((DATA, 4), (NAME, 4), 0, end - 4), errno::SUCCESS);
    assert!(g.u32_at(end - 4) >= FIRST_FD);
    // And data may end exactly at the end of memory.
    assert_eq!(g.make_raw((end - 4, 4), (NAME, 4), 0, OUT), errno::SUCCESS);
    assert_eq!(g.usage(), Usage { files: 2, bytes: 8 });
}

#[test]
fn from_bytes_rejects_unknown_flags() {
    let mut g = Guest::new();
    for flags in [2, 3, 0x8000_0000, 0x8000_0001, u32::MAX] {
        assert_eq!(g.make(b"x", flags), Err(errno::INVAL), "flags {flags:#x}");
    }
    assert_eq!(g.usage(), Usage::default());
    assert!(g.make(b"x", 0).is_ok());
    assert!(g.make(b"x", WRITABLE).is_ok());
}

#[test]
fn from_bytes_checks_names() {
    let mut g = Guest::new();
    assert_eq!(g.make_named(b"x", b"\xff\xfe", 0), Err(errno::INVAL));
    assert_eq!(g.make_named(b"x", b"caf\xc3", 0), Err(errno::INVAL));
    assert_eq!(g.make_named(b"x", b"a\0b", 0), Err(errno::INVAL));
    assert_eq!(g.make_named(b"x", b"\0", 0), Err(errno::INVAL));
    assert_eq!(g.make_named(b"x", &[b'n'; 250], 0), Err(errno::NAMETOOLONG));
    assert_eq!(
        g.make_named(b"x", &[b'n'; 1000], 0),
        Err(errno::NAMETOOLONG)
    );
    assert_eq!(g.usage(), Usage::default());
    let fd = g.make_named(b"x", &[b'n'; 249], 0).unwrap();
    assert_eq!(g.read(fd, 8).unwrap(), b"x");
    // 249 bytes of multi-byte characters are fine too.
    let name = "é".repeat(124) + "e";
    assert_eq!(name.len(), 249);
    assert!(g.make_named(b"x", name.as_bytes(), 0).is_ok());
}

#[test]
fn from_bytes_enforces_max_file_size() {
    let mut g = Guest::with(WasiMemfdCtx::builder().max_file_size(16));
    assert_eq!(g.make(&[1; 17], 0), Err(errno::FBIG));
    assert_eq!(g.make(&[1; 17], WRITABLE), Err(errno::FBIG));
    assert_eq!(g.usage(), Usage::default());
    assert!(g.make(&[1; 16], 0).is_ok());
}

#[test]
fn from_bytes_enforces_max_total_size_and_gives_bytes_back_on_close() {
    let mut g = Guest::with(WasiMemfdCtx::builder().max_total_size(20));
    let a = g.memfd(&[1; 15]);
    assert_eq!(g.make(&[2; 6], 0), Err(errno::DQUOT));
    assert_eq!(
        g.usage(),
        Usage {
            files: 1,
            bytes: 15
        }
    );
    let b = g.memfd(&[3; 5]);
    assert_eq!(g.make(&[4; 1], 0), Err(errno::DQUOT));
    // Empty files cost nothing.
    let c = g.memfd(b"");
    assert_eq!(
        g.usage(),
        Usage {
            files: 3,
            bytes: 20
        }
    );
    assert_eq!(g.close(a), errno::SUCCESS);
    assert_eq!(g.usage(), Usage { files: 2, bytes: 5 });
    assert!(g.make(&[5; 15], 0).is_ok());
    assert_eq!(g.close(b), errno::SUCCESS);
    assert_eq!(g.close(c), errno::SUCCESS);
}

#[test]
fn from_bytes_enforces_max_files_and_gives_slots_back_on_close() {
    let mut b = WasiMemfdCtx::builder();
    b.max_files(3);
    b.preopen_bytes("in", b"preopened", false).unwrap();
    let mut g = Guest::with(&mut b);
    let a = g.memfd(b"a");
    let p = g.open_preopened("in").unwrap();
    let _c = g.memfd_rw(b"c");
    assert_eq!(g.make(b"d", 0), Err(errno::MFILE));
    assert_eq!(g.open_preopened("in"), Err(errno::MFILE));
    assert_eq!(g.usage(), Usage { files: 3, bytes: 2 });
    // Closing a from_bytes file frees its slot and bytes.
    assert_eq!(g.close(a), errno::SUCCESS);
    assert_eq!(g.usage(), Usage { files: 2, bytes: 1 });
    let d = g.memfd(b"dd");
    assert_eq!(g.read(d, 8).unwrap(), b"dd");
    assert_eq!(g.make(b"e", 0), Err(errno::MFILE));
    // Closing a preopened fd frees its slot.
    assert_eq!(g.close(p), errno::SUCCESS);
    let p2 = g.open_preopened("in").unwrap();
    assert_eq!(g.read(p2, 64).unwrap(), b"preopened");
    assert_eq!(g.open_preopened("in"), Err(errno::MFILE));
}

/// A guest whose context preopens `data` as `name`, writable or not.
fn guest_with_preopen(name: &str, data: &[u8], writable: bool) -> Guest {
    let mut b = WasiMemfdCtx::builder();
    b.preopen_bytes(name, data, writable).unwrap();
    Guest::with(&mut b)
}

#[test]
fn open_preopened_missing_name_is_enoent() {
    let mut g = guest_with_preopen("present", b"here", false);
    assert_eq!(g.open_preopened("absent"), Err(errno::NOENT));
    assert_eq!(g.open_preopened("presen"), Err(errno::NOENT));
    assert_eq!(g.open_preopened(""), Err(errno::NOENT));
    assert_eq!(g.open_preopened(&"p".repeat(250)), Err(errno::NAMETOOLONG));
    assert_eq!(g.usage(), Usage::default());
    assert!(g.open_preopened("present").is_ok());
}

#[test]
fn open_preopened_faults_on_ranges_outside_memory() {
    let mut g = guest_with_preopen("in", b"here", false);
    let end = g.mem_len();
    g.put(NAME, b"in");
    let open = |g: &mut Guest, name: u32, len: u32, out: u32| -> i32 {
        g.call("open_preopened", (name, len, out))
    };
    assert_eq!(open(&mut g, end - 1, 2, OUT), errno::FAULT);
    assert_eq!(open(&mut g, NAME, 0xFFFF_FFF0, OUT), errno::FAULT);
    assert_eq!(open(&mut g, NAME, 2, end - 3), errno::FAULT);
    assert_eq!(open(&mut g, NAME, 2, end), errno::FAULT);
    assert_eq!(g.usage(), Usage::default());
    assert_eq!(open(&mut g, NAME, 2, end - 4), errno::SUCCESS);
    assert!(g.u32_at(end - 4) >= FIRST_FD);
}

#[test]
fn open_preopened_twice_gives_two_fds_with_their_own_offsets() {
    let mut g = guest_with_preopen("in", b"0123456789", false);
    let x = g.open_preopened("in").unwrap();
    let y = g.open_preopened("in").unwrap();
    assert!(x >= FIRST_FD && y >= FIRST_FD);
    assert_ne!(x, y);
    // Preopened files are the host's: they cost slots, not bytes.
    assert_eq!(g.usage(), Usage { files: 2, bytes: 0 });
    assert_eq!(g.read(x, 4).unwrap(), b"0123");
    assert_eq!(g.read(y, 2).unwrap(), b"01");
    assert_eq!(g.read(x, 4).unwrap(), b"4567");
    assert_eq!(g.tell(x), Ok(8));
    assert_eq!(g.tell(y), Ok(2));
    // Closing one leaves the other working.
    assert_eq!(g.close(x), errno::SUCCESS);
    assert_eq!(g.read(y, 100).unwrap(), b"23456789");
    // Read-only preopens refuse writes.
    assert_eq!(g.pwrite(y, b"!", 0), Err(errno::BADF));
    assert_eq!(
        g.store.data_mut().memfd().read_preopened("in").unwrap(),
        b"0123456789"
    );
}

#[test]
fn writable_preopen_writes_reach_the_host_and_other_fds() {
    let mut g = guest_with_preopen("out", b"........", true);
    let w = g.open_preopened("out").unwrap();
    let r = g.open_preopened("out").unwrap();
    assert_eq!(
        g.fdstat(w).unwrap().rights_base,
        rights::READ_ONLY | rights::FD_WRITE
    );
    assert_eq!(g.write(w, b"done"), Ok(4));
    assert_eq!(g.pwrite(w, b"!", 7), Ok(1));
    // The fixed size holds for preopens too.
    assert_eq!(g.pwrite(w, b"more", 6), Ok(2));
    assert_eq!(g.pwrite(w, b"x", 8), Err(errno::FBIG));
    let host = g.store.data_mut().memfd().read_preopened("out").unwrap();
    assert_eq!(host, b"done..mo");
    // The other fd on the same file sees the bytes.
    assert_eq!(g.read(r, 64).unwrap(), b"done..mo");
    assert_eq!(g.filestat(w).unwrap().size, 8);
}
