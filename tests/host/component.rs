//! Component integration tests (issue 2): a component guest calls
//! `wasi-memfd:memfd/memfd` and uses the descriptors it gets through
//! `wasi:filesystem` and `wasi:io/streams`, in wasmtime with wasmtime-wasi
//! and wasi-memfd linked as the runner links them.
//!
//! The guest is the probe (`wasi_memfd_testing::probe`, `tests/support/`): each of its exports
//! forwards to one import, so every assertion is made here. Each test has its
//! own store; the compiled probe is shared.
//!
//! Not covered here: the `out-of-memory` and `unsupported` error codes. The
//! first needs the system to refuse a memfd (ENOMEM, ENFILE, EMFILE: only by
//! exhausting a process or system resource, which would disturb the tests
//! running beside it); the second needs a host without memfd or POSIX shared
//! memory. Descriptor leaks are checked in `tests/fd_leaks.rs`, which runs
//! alone in its own process.

use crate::usage;
use wasi_memfd::{Backend, Usage, WasiMemfdCtx, MAX_NAME_LEN};
use wasi_memfd_testing::pattern;
use wasi_memfd_testing::probe::{
    DescriptorFlags, DescriptorType, FsError, MemfdError, Probe, StreamError, Wasi,
};

/// A context on `backend` with default limits.
fn ctx_on(backend: Backend) -> WasiMemfdCtx {
    WasiMemfdCtx::builder().backend(backend).build()
}

const BACKENDS: [Backend; 2] = [Backend::Memfd, Backend::Shm];

// ---------------------------------------------------------------------------
// Round trip, on both wasi versions.

/// Bytes in; stat, get-type, get-flags, reads at offsets and past the end,
/// read-via-stream; everything given back on drop.
fn round_trip(wasi: Wasi) {
    let mut p = Probe::with_defaults(wasi);
    let data = pattern(1000);
    let h = p.make(&data, "round-trip", false).unwrap();
    assert_eq!(p.usage(), usage(1, 1000));

    assert_eq!(p.stat_size(h), Ok(1000));
    assert_eq!(p.get_type(h), Ok(DescriptorType::RegularFile));
    assert_eq!(p.get_flags(h), Ok(DescriptorFlags::READ));

    // Reads at offsets.
    assert_eq!(p.read(h, 10, 0), Ok((data[..10].to_vec(), false)));
    assert_eq!(p.read(h, 100, 500), Ok((data[500..600].to_vec(), false)));
    assert_eq!(p.read(h, 1 << 20, 0), Ok((data.clone(), false)));
    assert_eq!(p.read_to_end(h, 0), data);
    // A read that runs into the end returns the bytes that are there
    // (wasmtime-wasi sets `eof` only when a read returns nothing) ...
    assert_eq!(p.read(h, 100, 990), Ok((data[990..].to_vec(), false)));
    // ... and a read at or past the end returns nothing, with `eof`.
    assert_eq!(p.read(h, 100, 1000), Ok((vec![], true)));
    assert_eq!(p.read(h, 100, 1 << 40), Ok((vec![], true)));

    // read-via-stream from an offset, in small reads, up to `closed`.
    let s = p.read_via_stream(h, 7).unwrap();
    assert_eq!(p.read_stream_to_end(s, 64), &data[7..]);
    assert_eq!(p.blocking_read(s, 1), Err(StreamError::Closed));
    p.drop_stream(s);
    // A stream that starts past the end is closed at once.
    let s = p.read_via_stream(h, 5000).unwrap();
    assert_eq!(p.blocking_read(s, 10), Err(StreamError::Closed));
    p.drop_stream(s);

    // A writable file is open for reading and writing.
    let w = p.make(&data[..5], "", true).unwrap();
    assert_eq!(
        p.get_flags(w),
        Ok(DescriptorFlags::READ | DescriptorFlags::WRITE)
    );
    assert_eq!(p.get_type(w), Ok(DescriptorType::RegularFile));
    assert_eq!(p.read(w, 5, 0), Ok((data[..5].to_vec(), false)));
    assert_eq!(p.usage(), usage(2, 1005));

    p.drop_descriptor(h);
    p.drop_descriptor(w);
    assert_eq!(p.usage(), Usage::default());
}

#[test]
fn round_trip_wasi_0_2_0() {
    round_trip(Wasi::V0_2_0);
}

#[test]
fn round_trip_wasi_as_wasmtime_wasi_ships_it() {
    round_trip(Wasi::Wasmtime);
}

#[test]
fn both_backends_round_trip() {
    for backend in BACKENDS {
        let mut p = Probe::new(Wasi::V0_2_0, ctx_on(backend));
        let data = pattern(4096 + 3);
        for writable in [false, true] {
            let h = p.make(&data, "backend", writable).unwrap();
            assert_eq!(p.stat_size(h), Ok(4099), "{backend:?}");
            assert_eq!(p.get_type(h), Ok(DescriptorType::RegularFile));
            assert_eq!(p.read(h, 8192, 0), Ok((data.clone(), false)));
            let s = p.read_via_stream(h, 4000).unwrap();
            assert_eq!(p.read_stream_to_end(s, 4096), &data[4000..]);
            p.drop_stream(s);
            let mut flags = DescriptorFlags::READ;
            if writable {
                flags |= DescriptorFlags::WRITE;
            }
            assert_eq!(p.get_flags(h), Ok(flags), "{backend:?} writable={writable}");
            p.drop_descriptor(h);
        }
        assert_eq!(p.usage(), Usage::default());
    }
}

// ---------------------------------------------------------------------------
// Empty and huge lists.

#[test]
fn an_empty_list_makes_an_empty_file() {
    for wasi in Wasi::ALL {
        for backend in BACKENDS {
            let mut p = Probe::new(wasi, ctx_on(backend));
            let h = p.make(&[], "", false).unwrap();
            assert_eq!(p.stat_size(h), Ok(0));
            assert_eq!(p.get_type(h), Ok(DescriptorType::RegularFile));
            assert_eq!(p.read(h, 10, 0), Ok((vec![], true)));
            let s = p.read_via_stream(h, 0).unwrap();
            assert_eq!(p.blocking_read(s, 10), Err(StreamError::Closed));
            p.drop_stream(s);
            // It still counts as a file, of no bytes.
            assert_eq!(p.usage(), usage(1, 0));
            p.drop_descriptor(h);
            assert_eq!(p.usage(), Usage::default());
        }
    }
}

#[test]
fn a_64_mib_list_round_trips() {
    const LEN: usize = 64 << 20;
    let data = pattern(LEN);
    let mut p = Probe::with_defaults(Wasi::V0_2_0);
    let h = p.make(&data, "big", false).unwrap();
    assert_eq!(p.stat_size(h), Ok(LEN as u64));
    assert_eq!(p.usage(), usage(1, LEN as u64));
    for offset in [0, 4095, 4096, (1 << 20) + 3, LEN / 2 + 7, LEN - 16] {
        let (bytes, eof) = p.read(h, 16, offset as u64).unwrap();
        assert_eq!(bytes, &data[offset..offset + 16], "at {offset}");
        assert!(!eof);
    }
    // One read answers at most 1 MiB ...
    let (bytes, eof) = p.read(h, 2 << 20, 20 << 20).unwrap();
    assert_eq!(bytes.len(), 1 << 20);
    assert!(bytes == data[20 << 20..(21 << 20)] && !eof);
    // ... so read the whole file back in a loop of reads.
    let all = p.read_to_end(h, 0);
    assert!(
        all.len() == LEN && all == data,
        "the bytes read back differ"
    );
    assert_eq!(p.read(h, 16, LEN as u64), Ok((vec![], true)));
    // The tail through a stream.
    let s = p.read_via_stream(h, (LEN - 100_000) as u64).unwrap();
    assert!(p.read_stream_to_end(s, 65536) == data[LEN - 100_000..]);
    p.drop_stream(s);
    p.drop_descriptor(h);
    assert_eq!(p.usage(), Usage::default());
}

// ---------------------------------------------------------------------------
// A hostile guest: lists and names outside its memory.

/// Each case traps: the call returns an error (no host panic, no `Ok`) and
/// no file is made. A trapped instance cannot be entered again, so each
/// case gets a fresh probe.
#[test]
fn out_of_bounds_lists_trap_and_create_nothing() {
    // (data ptr, data len), (name ptr, name len). The probe's memory is a
    // few pages, far below 0x1000_0000.
    let cases: [((u32, u32), (u32, u32)); 5] = [
        ((0x1000_0000, 1), (0, 0)),    // data wholly outside memory
        ((1024, 0x1000_0000), (0, 0)), // data runs off the end
        ((u32::MAX, 2), (0, 0)),       // ptr + len overflows u32
        ((0, u32::MAX), (0, 0)),       // the largest length
        ((1024, 4), (0x1000_0000, 4)), // the name outside memory
    ];
    for (data, name) in cases {
        let mut p = Probe::with_defaults(Wasi::V0_2_0);
        // One honest file, so "nothing made" is visible against a non-empty
        // ledger.
        let h = p.make(b"abc", "honest", false).unwrap();
        let before = p.usage();
        assert_eq!(before, usage(1, 3));
        let err = p
            .make_raw(data, name, 0)
            .expect_err(&format!("{data:?} {name:?} did not trap"));
        let msg = format!("{err:?}");
        assert!(msg.contains("out of bounds"), "{data:?} {name:?}: {msg}");
        assert_eq!(p.usage(), before, "{data:?} {name:?} made a file");
        // The store (and the host) are fine; the instance is poisoned.
        assert!(p
            .call::<_, (Result<u64, FsError>,)>("stat-size", (h,))
            .is_err());
    }
}

/// The same raw entry point with in-bounds arguments works, so the traps
/// above are about the bounds and nothing else.
#[test]
fn raw_in_bounds_lists_work() {
    let mut p = Probe::with_defaults(Wasi::V0_2_0);
    let data = p.stash(b"stashed bytes");
    let name = p.stash(b"stash");
    let h = p.make_raw((data, 13), (name, 5), 0).unwrap().unwrap();
    assert_eq!(p.read(h, 100, 0), Ok((b"stashed bytes".to_vec(), false)));
    // A zero-length list at an in-bounds address is an empty file.
    let h = p.make_raw((data, 0), (0, 0), 0).unwrap().unwrap();
    assert_eq!(p.stat_size(h), Ok(0));
}

/// Names that are not UTF-8 break the canonical ABI. Wasmtime checks only
/// the bounds when it lifts a string; the host decodes the name itself and
/// answers `invalid-argument` instead of trapping.
#[test]
fn a_name_that_is_not_utf8_is_invalid_argument() {
    let mut p = Probe::with_defaults(Wasi::V0_2_0);
    let data = p.stash(b"x");
    let name = p.stash(b"bad\xff\xfe");
    assert_eq!(
        p.make_raw((data, 1), (name, 5), 0).unwrap(),
        Err(MemfdError::InvalidArgument)
    );
    assert_eq!(p.usage(), Usage::default());
}

/// `open-flags` has one flag. The canonical ABI lifts flags by their bits
/// and drops the unknown ones, so a component guest cannot send unknown
/// option bits: the `invalid-argument` case "unknown option bits" can only
/// happen to core-module guests.
#[test]
fn unknown_option_bits_never_reach_the_host() {
    let mut p = Probe::with_defaults(Wasi::V0_2_0);
    let data = p.stash(b"flags");
    let ro = p.make_raw((data, 5), (0, 0), 0b10).unwrap().unwrap();
    assert_eq!(p.get_flags(ro), Ok(DescriptorFlags::READ));
    let rw = p.make_raw((data, 5), (0, 0), u32::MAX).unwrap().unwrap();
    assert_eq!(
        p.get_flags(rw),
        Ok(DescriptorFlags::READ | DescriptorFlags::WRITE)
    );
}

// ---------------------------------------------------------------------------
// Every error code (but out-of-memory and unsupported: see the top).
// A failed call creates nothing: the ledger is checked after each.

#[test]
fn a_nul_in_the_name_is_invalid_argument() {
    let mut p = Probe::with_defaults(Wasi::V0_2_0);
    for name in ["\0", "a\0b", "trailing\0"] {
        assert_eq!(
            p.make(b"x", name, false),
            Err(MemfdError::InvalidArgument),
            "{name:?}"
        );
        assert_eq!(
            p.open_preopened(name),
            Err(MemfdError::InvalidArgument),
            "{name:?}"
        );
    }
    assert_eq!(p.usage(), Usage::default());
}

#[test]
fn names_longer_than_249_bytes_are_refused() {
    assert_eq!(MAX_NAME_LEN, 249);
    let mut p = Probe::with_defaults(Wasi::V0_2_0);
    let longest = "a".repeat(249);
    let h = p.make(b"x", &longest, false).unwrap();
    assert_eq!(p.read(h, 1, 0), Ok((b"x".to_vec(), false)));
    assert_eq!(
        p.make(b"x", &"a".repeat(250), false),
        Err(MemfdError::NameTooLong)
    );
    assert_eq!(
        p.make(b"x", &"a".repeat(100_000), true),
        Err(MemfdError::NameTooLong)
    );
    // The limit counts bytes, not characters: 124 two-byte characters and
    // one more byte are 249 bytes; 125 of them are 250.
    let multibyte = format!("{}a", "é".repeat(124));
    assert_eq!(multibyte.len(), 249);
    p.make(b"x", &multibyte, false).unwrap();
    assert_eq!(
        p.make(b"x", &"é".repeat(125), false),
        Err(MemfdError::NameTooLong)
    );
    // open-preopened checks the same rule before it looks the name up.
    assert_eq!(
        p.open_preopened(&"a".repeat(250)),
        Err(MemfdError::NameTooLong)
    );
    assert_eq!(p.usage(), usage(2, 2));
}

#[test]
fn a_file_over_the_size_limit_is_file_too_large() {
    let ctx = WasiMemfdCtx::builder().max_file_size(16).build();
    let mut p = Probe::new(Wasi::V0_2_0, ctx);
    for writable in [false, true] {
        assert_eq!(
            p.make(&pattern(17), "big", writable),
            Err(MemfdError::FileTooLarge)
        );
    }
    assert_eq!(p.usage(), Usage::default());
    let h = p.make(&pattern(16), "fits", false).unwrap();
    assert_eq!(p.stat_size(h), Ok(16));
    assert_eq!(p.usage(), usage(1, 16));
}

#[test]
fn files_over_the_total_are_quota_exceeded_and_bytes_come_back_on_drop() {
    let ctx = WasiMemfdCtx::builder().max_total_size(100).build();
    let mut p = Probe::new(Wasi::V0_2_0, ctx);
    let a = p.make(&pattern(60), "a", false).unwrap();
    assert_eq!(
        p.make(&pattern(41), "b", true),
        Err(MemfdError::QuotaExceeded)
    );
    assert_eq!(p.usage(), usage(1, 60));
    let b = p.make(&pattern(40), "b", false).unwrap();
    assert_eq!(p.usage(), usage(2, 100));
    // Full: only empty files fit.
    assert_eq!(p.make(b"x", "c", false), Err(MemfdError::QuotaExceeded));
    let empty = p.make(b"", "empty", false).unwrap();
    assert_eq!(p.usage(), usage(3, 100));
    // Dropping a file gives its bytes back.
    p.drop_descriptor(a);
    assert_eq!(p.usage(), usage(2, 40));
    let c = p.make(&pattern(60), "c", false).unwrap();
    assert_eq!(p.usage(), usage(3, 100));
    for h in [b, c, empty] {
        p.drop_descriptor(h);
    }
    assert_eq!(p.usage(), Usage::default());
}

#[test]
fn files_over_the_count_are_too_many_files_and_slots_come_back_on_drop() {
    let mut builder = WasiMemfdCtx::builder();
    builder.max_files(2);
    builder.preopen_bytes("pre", b"preopened", false).unwrap();
    let mut p = Probe::new(Wasi::V0_2_0, builder.build());
    let a = p.make(b"a", "a", false).unwrap();
    let b = p.make(b"b", "b", true).unwrap();
    assert_eq!(p.usage(), usage(2, 2));
    assert_eq!(p.make(b"c", "c", false), Err(MemfdError::TooManyFiles));
    // open-preopened takes a slot too.
    assert_eq!(p.open_preopened("pre"), Err(MemfdError::TooManyFiles));
    assert_eq!(p.usage(), usage(2, 2));
    // Dropping one gives its slot back.
    p.drop_descriptor(a);
    assert_eq!(p.usage(), usage(1, 1));
    let c = p.make(b"c", "c", false).unwrap();
    assert_eq!(p.read(c, 1, 0), Ok((b"c".to_vec(), false)));
    assert_eq!(p.usage(), usage(2, 2));
    p.drop_descriptor(b);
    let pre = p.open_preopened("pre").unwrap();
    assert_eq!(p.usage(), usage(2, 1));
    assert_eq!(p.make(b"d", "d", false), Err(MemfdError::TooManyFiles));
    // A stream on the preopened file keeps its slot after the descriptor
    // is dropped, until the stream is dropped too.
    let s = p.read_via_stream(pre, 0).unwrap();
    p.drop_descriptor(pre);
    assert_eq!(p.usage(), usage(2, 1));
    assert_eq!(p.read_stream_to_end(s, 4), b"preopened");
    p.drop_stream(s);
    assert_eq!(p.usage(), usage(1, 1));
    p.drop_descriptor(c);
    assert_eq!(p.usage(), Usage::default());
}

#[test]
fn an_unknown_preopen_is_not_found() {
    let mut builder = WasiMemfdCtx::builder();
    builder.preopen_bytes("present", b"", false).unwrap();
    let mut p = Probe::new(Wasi::V0_2_0, builder.build());
    for name in ["missing", "", "Present", "present "] {
        assert_eq!(
            p.open_preopened(name),
            Err(MemfdError::NotFound),
            "{name:?}"
        );
    }
    assert_eq!(p.usage(), Usage::default());
    p.open_preopened("present").unwrap();
}

/// Which limit answers when a call breaks several: the per-file size first,
/// then the file count, then the total.
#[test]
fn limits_are_checked_size_then_count_then_total() {
    let ctx = WasiMemfdCtx::builder()
        .max_file_size(10)
        .max_total_size(10)
        .max_files(1)
        .build();
    let mut p = Probe::new(Wasi::V0_2_0, ctx);
    p.make(&pattern(10), "full", false).unwrap();
    assert_eq!(
        p.make(&pattern(11), "", false),
        Err(MemfdError::FileTooLarge)
    );
    // Both the count and the total are full: the count answers.
    assert_eq!(
        p.make(&pattern(1), "", false),
        Err(MemfdError::TooManyFiles)
    );
    // The name is checked before any limit.
    assert_eq!(
        p.make(&pattern(11), "a\0", false),
        Err(MemfdError::InvalidArgument)
    );
}

// ---------------------------------------------------------------------------
// Quota held by streams.

/// `read-via-stream` gives the stream its own reference to the file
/// (wasmtime-wasi's file input stream holds the file), so dropping the
/// descriptor alone gives nothing back: the file, its slot and its bytes stay
/// charged until the stream is dropped too. The stream keeps working.
#[test]
fn a_live_stream_keeps_its_file_charged() {
    let ctx = WasiMemfdCtx::builder()
        .max_files(1)
        .max_total_size(10)
        .build();
    let mut p = Probe::new(Wasi::V0_2_0, ctx);
    let data = pattern(10);
    let h = p.make(&data, "streamed", false).unwrap();
    let s = p.read_via_stream(h, 0).unwrap();
    p.drop_descriptor(h);
    assert_eq!(p.usage(), usage(1, 10));
    assert_eq!(p.make(b"", "", false), Err(MemfdError::TooManyFiles));
    assert_eq!(p.read_stream_to_end(s, 3), data);
    // Even a stream read to its end holds the file until it is dropped.
    assert_eq!(p.usage(), usage(1, 10));
    p.drop_stream(s);
    assert_eq!(p.usage(), Usage::default());
    p.make(&data, "again", false).unwrap();
}

// ---------------------------------------------------------------------------
// Writes, per backend.

/// Read-only files refuse writes and set-size on both backends (wasi-memfd's
/// descriptors refuse before the kernel sees anything).
#[test]
fn read_only_files_refuse_every_change() {
    for backend in BACKENDS {
        let mut p = Probe::new(Wasi::V0_2_0, ctx_on(backend));
        let h = p.make(b"hello", "ro", false).unwrap();
        for offset in [0, 4, 5, 100] {
            assert_eq!(
                p.write(h, b"J", offset),
                Err(FsError::NotPermitted),
                "{backend:?} at {offset}"
            );
        }
        for size in [0, 4, 5, 6, 1 << 30] {
            assert_eq!(
                p.set_size(h, size),
                Err(FsError::NotPermitted),
                "{backend:?} to {size}"
            );
        }
        assert_eq!(p.read(h, 100, 0), Ok((b"hello".to_vec(), false)));
        assert_eq!(p.stat_size(h), Ok(5));
    }
}

/// Writable files take writes in place.
#[test]
fn writable_files_take_writes_in_place() {
    {
        let backend = Backend::Memfd;
        let mut p = Probe::new(Wasi::V0_2_0, ctx_on(backend));
        let h = p.make(b"hello", "rw", true).unwrap();
        assert_eq!(p.write(h, b"J", 0), Ok(1), "{backend:?}");
        assert_eq!(p.read(h, 100, 0), Ok((b"Jello".to_vec(), false)));
        assert_eq!(p.write(h, b"ELLO", 1), Ok(4));
        assert_eq!(p.write(h, b"", 5), Ok(0));
        assert_eq!(p.read(h, 100, 0), Ok((b"JELLO".to_vec(), false)));
        // Each from-bytes file is its own copy.
        let other = p.make(b"hello", "rw", true).unwrap();
        assert_eq!(p.read(other, 100, 0), Ok((b"hello".to_vec(), false)));
    }
}

/// A writable file keeps its size, on both backends (sealed on memfd;
/// wasi-memfd serves every call on its descriptors, so on shm too): a write
/// that straddles the end is short, to the end; one at or past the end, and
/// set-size to another size, are refused (`file-too-large`,
/// `not-permitted`), and nothing changes.
#[test]
fn writable_files_keep_their_size() {
    for backend in BACKENDS {
        let mut p = Probe::new(Wasi::V0_2_0, ctx_on(backend));
        let h = p.make(b"hello", "rw", true).unwrap();
        assert_eq!(
            p.write(h, b"!", 5),
            Err(FsError::FileTooLarge),
            "{backend:?}"
        );
        assert_eq!(p.write(h, b"!", 1 << 20), Err(FsError::FileTooLarge));
        assert_eq!(
            p.write(h, b"xyz", 3),
            Ok(2),
            "{backend:?}: short, to the end"
        );
        for size in [0, 4, 6, 1 << 30] {
            assert_eq!(p.set_size(h, size), Err(FsError::NotPermitted), "to {size}");
        }
        // Setting the size it already has changes nothing and is allowed.
        assert_eq!(p.set_size(h, 5), Ok(()));
        assert_eq!(p.stat_size(h), Ok(5));
        assert_eq!(p.read(h, 100, 0), Ok((b"helxy".to_vec(), false)));
        assert_eq!(p.usage(), usage(1, 5));
    }
}

/// A read-only `from-bytes` file on shm refuses changes beside a read-only
/// preopen, which stays readable.
#[test]
fn read_only_shm_files_refuse_changes_beside_a_read_only_preopen() {
    let mut builder = WasiMemfdCtx::builder();
    builder.backend(Backend::Shm);
    builder.preopen_bytes("ro", b"read only", false).unwrap();
    let mut p = Probe::new(Wasi::V0_2_0, builder.build());
    let h = p.make(b"hello", "ro", false).unwrap();
    assert_eq!(p.write(h, b"!", 5), Err(FsError::NotPermitted));
    assert_eq!(p.set_size(h, 1 << 20), Err(FsError::NotPermitted));
    assert_eq!(p.stat_size(h), Ok(5));
    let r = p.open_preopened("ro").unwrap();
    assert_eq!(p.read(r, 100, 0), Ok((b"read only".to_vec(), false)));
    assert_eq!(p.usage(), usage(2, 5));
}

// ---------------------------------------------------------------------------
// Preopened files.

#[test]
fn preopened_files_open_as_often_as_asked() {
    for backend in BACKENDS {
        let mut builder = WasiMemfdCtx::builder();
        builder.backend(backend);
        builder.preopen_bytes("ro", b"read only", false).unwrap();
        builder.preopen_bytes("rw", b"........", true).unwrap();
        let mut p = Probe::new(Wasi::V0_2_0, builder.build());

        // Two opens, two descriptors on the same bytes.
        let a = p.open_preopened("ro").unwrap();
        let b = p.open_preopened("ro").unwrap();
        assert_ne!(a, b);
        for h in [a, b] {
            assert_eq!(p.read(h, 100, 0), Ok((b"read only".to_vec(), false)));
            assert_eq!(p.stat_size(h), Ok(9));
            assert_eq!(p.get_type(h), Ok(DescriptorType::RegularFile));
            assert_eq!(p.get_flags(h), Ok(DescriptorFlags::READ));
            assert_eq!(p.write(h, b"R", 0), Err(FsError::NotPermitted));
            assert_eq!(p.set_size(h, 1), Err(FsError::NotPermitted));
        }
        let s = p.read_via_stream(a, 5).unwrap();
        assert_eq!(p.read_stream_to_end(s, 2), b"only");
        p.drop_stream(s);

        // A writable preopen is shared by every descriptor and the host.
        let w1 = p.open_preopened("rw").unwrap();
        let w2 = p.open_preopened("rw").unwrap();
        assert_ne!(w1, w2);
        assert_eq!(
            p.get_flags(w1),
            Ok(DescriptorFlags::READ | DescriptorFlags::WRITE)
        );
        assert_eq!(p.write(w1, b"done", 0), Ok(4), "{backend:?}");
        assert_eq!(p.read(w2, 100, 0), Ok((b"done....".to_vec(), false)));
        assert_eq!(p.write(w2, b"!", 7), Ok(1));
        // Preopens take slots but no bytes.
        assert_eq!(p.usage(), usage(4, 0));
        for h in [a, b, w1, w2] {
            p.drop_descriptor(h);
        }
        assert_eq!(p.usage(), Usage::default());
        // The host reads what the guest wrote, after the guest let go.
        assert_eq!(p.ctx().read_preopened("rw").unwrap(), b"done...!");
        assert_eq!(p.ctx().read_preopened("ro").unwrap(), b"read only");
        // And the guest can open it again.
        let again = p.open_preopened("rw").unwrap();
        assert_eq!(p.read(again, 100, 0), Ok((b"done...!".to_vec(), false)));
    }
}

/// A writable preopen keeps its size, as from-bytes files do.
#[test]
fn memfd_writable_preopens_keep_their_size() {
    let mut builder = WasiMemfdCtx::builder();
    builder.backend(Backend::Memfd);
    builder.preopen_bytes("out", b"1234", true).unwrap();
    let mut p = Probe::new(Wasi::V0_2_0, builder.build());
    let h = p.open_preopened("out").unwrap();
    assert_eq!(p.write(h, b"5", 4), Err(FsError::FileTooLarge));
    assert_eq!(p.set_size(h, 0), Err(FsError::NotPermitted));
    assert_eq!(p.ctx().read_preopened("out").unwrap(), b"1234");
}

#[test]
fn lists_larger_than_the_default_hostcall_fuel_get_a_file_once_the_fuel_fits() {
    const LEN: usize = 200 << 20;
    let ctx = || {
        WasiMemfdCtx::builder()
            .max_file_size(LEN as u64)
            .max_total_size(LEN as u64)
            .build()
    };
    let mut data = vec![0u8; LEN];
    data[LEN - 5..].copy_from_slice(b"tail!");
    // At wasmtime's default fuel (128 MiB) the lift itself traps, before
    // wasi-memfd runs: what `fit_hostcall_fuel` is for.
    let mut unfitted = Probe::new(Wasi::V0_2_0, ctx());
    assert_eq!(unfitted.store.hostcall_fuel(), 128 << 20);
    let at = unfitted.stash(&data);
    assert!(unfitted.make_raw((at, LEN as u32), (0, 0), 0).is_err());
    assert_eq!(unfitted.usage(), Usage::default());
    drop(unfitted);
    let mut p = Probe::new(Wasi::V0_2_0, ctx());
    let at = p.stash(&data);
    drop(data);
    wasi_memfd::p2::fit_hostcall_fuel(&mut p.store);
    assert!(p.store.hostcall_fuel() >= LEN);
    let h = p.make_raw((at, LEN as u32), (0, 0), 0).unwrap().unwrap();
    assert_eq!(p.stat_size(h), Ok(LEN as u64));
    assert_eq!(p.read(h, 5, (LEN - 5) as u64).unwrap().0, b"tail!");
    p.drop_descriptor(h);
    // One byte over the limit is `file-too-large`, not a trap.
    assert_eq!(
        p.make_raw((at, LEN as u32 + 1), (0, 0), 0).unwrap(),
        Err(MemfdError::FileTooLarge)
    );
    // A store made through WasiMemfdP2Ctx::into_store is fitted already.
    let ctx = WasiMemfdCtx::builder().max_file_size(1 << 30).build();
    let store = wasi_memfd::p2::WasiMemfdP2Ctx::new(wasmtime_wasi::WasiCtx::builder().build(), ctx)
        .into_store(wasi_memfd_testing::engine());
    assert!(store.hostcall_fuel() >= 1 << 30);
}

/// The host's side of a guest's files: a host function that receives a
/// `Resource<Descriptor>` asks whether it is a memory file and gets it as a
/// shared `std::fs::File`; a host function can also give the guest a new
/// memory file of host bytes, charged like `from-bytes`.
#[test]
fn the_host_finds_memory_files_behind_descriptors_and_makes_new_ones() {
    use wasi_memfd::{p2::WasiMemfdP2Ctx, WasiMemfdView};
    let ctx = WasiMemfdCtx::builder().max_files(2).build();
    let mut state = WasiMemfdP2Ctx::new(wasmtime_wasi::WasiCtx::builder().build(), ctx);
    let mut view = state.memfd();
    let ro = view.from_bytes(b"host bytes", "host", false).unwrap();
    let rw = view.from_bytes(b"rw", "", true).unwrap();
    assert_eq!(
        view.from_bytes(b"third", "", false).unwrap_err(),
        wasi_memfd::ErrorCode::TooManyFiles,
        "charged to the guest's limits"
    );
    let file = view.memory_file(&ro).expect("a memory file");
    assert_eq!(file.size().unwrap(), 10);
    assert!(!file.is_writable() && file.is_sealed_read_only());
    assert_eq!(file.read_all().unwrap(), b"host bytes");
    let file = view.memory_file(&rw).expect("a memory file");
    assert!(file.is_writable() && !file.is_sealed_read_only());
    // An ordinary file in the same table is not one.
    let plain = wasmtime_wasi::filesystem::File::new(
        std::fs::File::open("/dev/null").unwrap(),
        wasmtime_wasi::FsPerms::ReadOnly,
        wasmtime_wasi::OpenMode::READ,
        true,
    );
    let plain = view
        .table
        .push(wasmtime_wasi::filesystem::Descriptor::File(plain))
        .unwrap();
    assert!(view.memory_file(&plain).is_none());
    assert_eq!(state.memfd.usage(), usage(2, 12));
}

/// A guest's writable `from-bytes` file is read back by the host after the
/// guest wrote into it, while the guest still holds it.
#[test]
fn the_host_reads_back_what_the_guest_wrote_into_a_from_bytes_file() {
    use wasi_memfd::WasiMemfdView;
    let mut p = Probe::with_defaults(Wasi::V0_2_0);
    let h = p.make(b"........", "report", true).unwrap();
    assert_eq!(p.write(h, b"done", 2), Ok(4));
    // The host side: every descriptor in the table that is a memory file.
    let view = p.store.data_mut().memfd();
    let found: Vec<_> = (0..64u32)
        .filter_map(|rep| {
            let res =
                wasmtime::component::Resource::<wasmtime_wasi::filesystem::Descriptor>::new_borrow(
                    rep,
                );
            view.memory_file(&res)
        })
        .collect();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].read_all().unwrap(), b"..done..");
}
