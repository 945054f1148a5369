//! WASIp1 `poll_oneoff` with memory-file fds: ready at once with the bytes
//! left, beside clocks, for reading and writing.

use wasi_memfd_testing::p1::{errno, eventtype, whence::*, Event, Guest, Sub};

/// Each event's userdata, error and type: what the tests check where the
/// other fields are not theirs to fix.
fn heads(events: &[Event]) -> Vec<(u64, u16, u8)> {
    events
        .iter()
        .map(|e| (e.userdata, e.error, e.type_))
        .collect()
}

#[test]
fn poll_on_a_memory_fd_is_ready_with_the_bytes_left() {
    let mut g = Guest::new();
    let fd = g.memfd(b"0123456789");
    let sub = Sub::Read {
        userdata: 0x1234_5678_9abc_def0,
        fd,
    };
    let ready = |nbytes| Event {
        userdata: 0x1234_5678_9abc_def0,
        error: 0,
        type_: eventtype::FD_READ,
        nbytes,
        flags: 0,
    };
    assert_eq!(g.poll(&[sub]).unwrap(), [ready(10)]);
    g.read(fd, 4).unwrap();
    assert_eq!(g.poll(&[sub]).unwrap(), [ready(6)]);
    // At the end there is nothing left to read (the flags may say hangup).
    g.seek(fd, 0, END).unwrap();
    let events = g.poll(&[sub]).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].error, events[0].type_, events[0].nbytes),
        (0, eventtype::FD_READ, 0)
    );
}

#[test]
fn poll_with_a_memory_fd_and_a_clock_returns_at_once() {
    let mut g = Guest::new();
    let fd = g.memfd(b"abc");
    let subs = [
        Sub::Clock {
            userdata: 1,
            timeout_ns: 10_000_000_000,
        },
        Sub::Read { userdata: 2, fd },
    ];
    // A 10 s timeout: this returns at once or the test hangs for 10 s.
    assert_eq!(
        g.poll(&subs).unwrap(),
        [Event {
            userdata: 2,
            error: 0,
            type_: eventtype::FD_READ,
            nbytes: 3,
            flags: 0,
        }]
    );
}

#[test]
fn poll_with_two_memory_fds_reports_both() {
    let mut g = Guest::new();
    let a = g.memfd(b"abc");
    let b = g.memfd_rw(b"defgh");
    let events = g
        .poll(&[
            Sub::Read { userdata: 1, fd: a },
            Sub::Write { userdata: 2, fd: b },
        ])
        .unwrap();
    assert_eq!(
        heads(&events),
        [(1, 0, eventtype::FD_READ), (2, 0, eventtype::FD_WRITE)]
    );
    assert_eq!(events[0].nbytes, 3);
}

#[test]
fn poll_clock_only_is_delegated_even_with_memory_fds_open() {
    let mut g = Guest::new();
    let _fd = g.memfd(b"abc");
    let events = g
        .poll(&[Sub::Clock {
            userdata: 77,
            timeout_ns: 1_000_000,
        }])
        .unwrap();
    assert_eq!(heads(&events), [(77, 0, eventtype::CLOCK)]);
}

#[test]
fn poll_for_writing_on_a_read_only_memory_fd_is_ebadf() {
    let mut g = Guest::new();
    let fd = g.memfd(b"abc");
    let events = g.poll(&[Sub::Write { userdata: 9, fd }]).unwrap();
    assert_eq!(
        heads(&events),
        [(9, errno::BADF as u16, eventtype::FD_WRITE)]
    );
}
