//! End-to-end test guest for the `wasm32-wasip1` half of `wasi-memfd-guest`.
//! It uses the API both halves share (`from_bytes` & co. returning
//! `Result<MemFile, Error>`, `MemFile: Read + Write + Seek`), plus the
//! wasip1-only `as_file`/`into_file`.
//!
//! Built without cargo by `bash scripts/guests.sh rust-memfd-test` (into
//! `target/guests/rust-memfd-test.wasm`) and run by
//! `tests/runner/rust_guest.rs` as:
//!
//! ```sh
//! wasi-memfd run --preopen greeting=PATH \
//!     --max-files=8 --max-file-size=65536 --max-total-size=262144 \
//!     --env=WASI_MEMFD_TEST_MAX_FILES=8 \
//!     --env=WASI_MEMFD_TEST_MAX_FILE_SIZE=65536 \
//!     --env=WASI_MEMFD_TEST_MAX_TOTAL_SIZE=262144 \
//!     target/guests/rust-memfd-test.wasm
//! ```
//!
//! The file at PATH must hold exactly [`GREETING`]; the `WASI_MEMFD_TEST_*`
//! variables tell the limit checks the limits the runner was given. Those
//! checks fill the limits with 60 KiB files, so they need
//! `MAX_FILE_SIZE >= 61440` and `MAX_FILES > MAX_TOTAL_SIZE / 61440`, and
//! small limits keep them quick. Prints one line per check and exits 1 if
//! any failed. Keep to Rust 1.63.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::process::exit;

use wasi_memfd_guest::{errno, Error, MemFile};

/// What the runner's `--preopen greeting=PATH` file holds.
const GREETING: &str = "hello from the host\n";
/// The name the preopened file is attached under.
const PREOPEN: &str = "greeting";

type Check = Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

fn io<T>(what: &str, r: io::Result<T>) -> Result<T, String> {
    r.map_err(|e| {
        format!(
            "{}: {} (kind {:?}, errno {:?})",
            what,
            e,
            e.kind(),
            e.raw_os_error()
        )
    })
}

/// A memory file the crate made, or why not.
fn mk(what: &str, r: Result<MemFile, Error>) -> Result<MemFile, String> {
    r.map_err(|e| format!("{}: {} ({:?}, errno {})", what, e, e, e.errno()))
}

fn read_all<R: Read>(f: &mut R) -> Result<Vec<u8>, String> {
    let mut v = Vec::new();
    io("read_to_end", f.read_to_end(&mut v))?;
    Ok(v)
}

/// The `io::ErrorKind` the host gives each case (host/src/error.rs); this
/// crate, built by a bare rustc 1.63, has `Other` for the two kinds newer
/// than that.
fn host_kind(case: Error) -> io::ErrorKind {
    match case {
        Error::InvalidArgument | Error::NameTooLong => io::ErrorKind::InvalidInput,
        Error::FileTooLarge | Error::QuotaExceeded => io::ErrorKind::Other,
        Error::TooManyFiles | Error::OutOfMemory => io::ErrorKind::OutOfMemory,
        Error::NotFound => io::ErrorKind::NotFound,
        Error::Unsupported => io::ErrorKind::Unsupported,
        _ => io::ErrorKind::Other,
    }
}

/// `r` failed with `case`, whose WASI errno is `want`; as an `io::Error` it
/// has the host's kind and converts back to `case`.
fn want_error(what: &str, r: Result<MemFile, Error>, want: i32, case: Error) -> Check {
    let e = match r {
        Ok(_) => return Err(format!("{}: succeeded, want {:?}", what, case)),
        Err(e) => e,
    };
    ensure!(e == case, "{}: got {:?} ({}), want {:?}", what, e, e, case);
    ensure!(
        e.errno() == want,
        "{}: {:?}.errno() = {}, want {}",
        what,
        e,
        e.errno(),
        want
    );
    let io_err = io::Error::from(e);
    ensure!(
        io_err.kind() == host_kind(case) && e.io_kind() == host_kind(case),
        "{}: io kind {:?}, want {:?}",
        what,
        io_err.kind(),
        host_kind(case)
    );
    ensure!(
        Error::from_io_error(&io_err) == Some(case),
        "{}: Error::from_io_error = {:?}",
        what,
        Error::from_io_error(&io_err)
    );
    Ok(())
}

/// `r` failed with WASI errno `want`, which `Error::from_io_error` maps to
/// `case` and std maps to `kind` (when given).
fn want_errno<T>(
    what: &str,
    r: io::Result<T>,
    want: i32,
    case: Option<Error>,
    kind: Option<io::ErrorKind>,
) -> Check {
    let e = match r {
        Ok(_) => return Err(format!("{}: succeeded, want errno {}", what, want)),
        Err(e) => e,
    };
    ensure!(
        e.raw_os_error() == Some(want),
        "{}: got {} (errno {:?}), want errno {}",
        what,
        e,
        e.raw_os_error(),
        want
    );
    ensure!(
        Error::from_io_error(&e) == case,
        "{}: Error::from_io_error = {:?}, want {:?}",
        what,
        Error::from_io_error(&e),
        case
    );
    if let Some(kind) = kind {
        ensure!(
            e.kind() == kind,
            "{}: kind {:?}, want {:?}",
            what,
            e.kind(),
            kind
        );
    }
    Ok(())
}

fn from_bytes_reads_back() -> Check {
    let data = b"hello, wasi-memfd";
    let mut f = mk(
        "from_bytes",
        wasi_memfd_guest::from_bytes(data, "read-back"),
    )?;
    let got = read_all(&mut f)?;
    ensure!(got == data, "read back {:?}, want {:?}", got, data);
    // At the end, reads return 0.
    let mut buf = [0u8; 8];
    let n = io("read at end", f.read(&mut buf))?;
    ensure!(n == 0, "read at end returned {} bytes", n);
    Ok(())
}

fn metadata_is_a_regular_file_of_the_right_size() -> Check {
    let f = mk(
        "from_bytes",
        wasi_memfd_guest::from_bytes(b"0123456789", "meta"),
    )?;
    ensure!(
        f.len() == 10 && !f.is_empty() && !f.is_writable(),
        "len {} is_empty {} is_writable {}",
        f.len(),
        f.is_empty(),
        f.is_writable()
    );
    let md = io("metadata", f.as_file().metadata())?;
    ensure!(md.len() == 10, "metadata().len() = {}, want 10", md.len());
    ensure!(
        md.is_file(),
        "metadata says not a regular file: {:?}",
        md.file_type()
    );
    Ok(())
}

fn seek_and_read() -> Check {
    let mut f = mk(
        "from_bytes",
        wasi_memfd_guest::from_bytes(b"0123456789", "seek"),
    )?;
    let mut buf = [0u8; 3];

    let p = io("seek start", f.seek(SeekFrom::Start(4)))?;
    ensure!(p == 4, "Start(4) -> {}", p);
    io("read_exact", f.read_exact(&mut buf))?;
    ensure!(&buf == b"456", "after Start(4): {:?}", buf);

    let p = io("seek end", f.seek(SeekFrom::End(-2)))?;
    ensure!(p == 8, "End(-2) -> {}", p);
    let n = io("read", f.read(&mut buf))?;
    ensure!(
        n == 2 && &buf[..2] == b"89",
        "after End(-2): {:?}",
        &buf[..n]
    );

    let p = io("seek current", f.seek(SeekFrom::Current(-5)))?;
    ensure!(p == 5, "Current(-5) -> {}", p);
    let p = io("stream_position", f.stream_position())?;
    ensure!(p == 5, "stream_position = {}", p);
    io("read_exact", f.read_exact(&mut buf))?;
    ensure!(&buf == b"567", "after Current(-5): {:?}", buf);

    io("rewind", f.rewind())?;
    let all = read_all(&mut f)?;
    ensure!(all == b"0123456789", "after rewind: {:?}", all);

    // Past the end is a valid position; reads there return nothing.
    let p = io("seek past end", f.seek(SeekFrom::End(5)))?;
    ensure!(p == 15, "End(5) -> {}", p);
    let n = io("read past end", f.read(&mut buf))?;
    ensure!(n == 0, "read past end returned {} bytes", n);

    // Before 0 is not, and leaves the position alone.
    io("seek", f.seek(SeekFrom::Start(3)))?;
    let r = f.seek(SeekFrom::Current(-4));
    ensure!(r.is_err(), "seek to -1 succeeded: {:?}", r);
    let p = io("stream_position", f.stream_position())?;
    ensure!(p == 3, "position after a refused seek = {}, want 3", p);
    Ok(())
}

fn empty_data_and_empty_name() -> Check {
    let mut f = mk("from_bytes", wasi_memfd_guest::from_bytes(b"", ""))?;
    ensure!(f.is_empty() && f.len() == 0, "len {}", f.len());
    let md = io("metadata", f.as_file().metadata())?;
    ensure!(md.len() == 0, "len {}", md.len());
    let got = read_all(&mut f)?;
    ensure!(got.is_empty(), "read {:?}", got);
    Ok(())
}

fn larger_data_round_trips() -> Check {
    let data: Vec<u8> = (0..48 * 1024u32).map(|i| (i * 7 + i / 256) as u8).collect();
    let mut f = mk("from_bytes", wasi_memfd_guest::from_bytes(&data, "larger"))?;
    let md = io("metadata", f.as_file().metadata())?;
    ensure!(md.len() == data.len() as u64, "len {}", md.len());
    let got = read_all(&mut f)?;
    ensure!(
        got == data,
        "48 KiB did not round-trip (got {} bytes)",
        got.len()
    );
    Ok(())
}

fn read_only_files_refuse_writes() -> Check {
    let mut f = mk("from_bytes", wasi_memfd_guest::from_bytes(b"sealed", "ro"))?;
    want_errno(
        "write to a read-only file",
        f.write(b"X"),
        errno::EBADF,
        None,
        None,
    )?;
    ensure!(
        f.as_file().set_len(2).is_err(),
        "set_len on a read-only memory file succeeded"
    );
    io("rewind", f.rewind())?;
    let got = read_all(&mut f)?;
    ensure!(got == b"sealed", "contents changed: {:?}", got);
    Ok(())
}

fn writable_files_write_in_place() -> Check {
    let mut source = b"hello, world".to_vec();
    let mut f = mk(
        "from_bytes_writable",
        wasi_memfd_guest::from_bytes_writable(&source, "rw"),
    )?;
    ensure!(
        f.is_writable(),
        "from_bytes_writable: is_writable() is false"
    );
    io("write_all HELLO", f.write_all(b"HELLO"))?;
    io("seek", f.seek(SeekFrom::Start(7)))?;
    io("write_all WORLD", f.write_all(b"WORLD"))?;
    io("flush", f.flush())?;
    io("rewind", f.rewind())?;
    let got = read_all(&mut f)?;
    ensure!(
        got == b"HELLO, WORLD",
        "after in-place writes: {:?}",
        String::from_utf8_lossy(&got)
    );
    ensure!(
        source == b"hello, world",
        "writing the file changed the source bytes"
    );
    source.clear();

    // The size is fixed: a write at or past the end fails with EFBIG,
    // set_len fails.
    io("seek end", f.seek(SeekFrom::End(0)))?;
    want_errno(
        "write at the end",
        f.write(b"!"),
        errno::EFBIG,
        Some(Error::FileTooLarge),
        None,
    )?;
    io("seek past end", f.seek(SeekFrom::End(3)))?;
    want_errno(
        "write past the end",
        f.write(b"!"),
        errno::EFBIG,
        Some(Error::FileTooLarge),
        None,
    )?;
    ensure!(f.as_file().set_len(3).is_err(), "set_len(3) succeeded");
    ensure!(f.as_file().set_len(100).is_err(), "set_len(100) succeeded");
    // A write that crosses the end is short; write_all then fails.
    io("seek", f.seek(SeekFrom::Start(10)))?;
    let n = io("write across the end", f.write(b"!!!!"))?;
    ensure!(n == 2, "write across the end wrote {} bytes, want 2", n);
    io("seek", f.seek(SeekFrom::Start(10)))?;
    want_errno(
        "write_all across the end",
        f.write_all(b"????"),
        errno::EFBIG,
        Some(Error::FileTooLarge),
        None,
    )?;

    let md = io("metadata", f.as_file().metadata())?;
    ensure!(
        md.len() == 12,
        "size after refused writes = {}, want 12",
        md.len()
    );
    io("rewind", f.rewind())?;
    let got = read_all(&mut f)?;
    ensure!(
        got == b"HELLO, WOR??",
        "contents: {:?}",
        String::from_utf8_lossy(&got)
    );
    Ok(())
}

fn name_with_nul_is_invalid_input() -> Check {
    want_error(
        "name a\\0b",
        wasi_memfd_guest::from_bytes(b"x", "a\0b"),
        errno::EINVAL,
        Error::InvalidArgument,
    )
}

fn name_length_limit() -> Check {
    let ok = "n".repeat(wasi_memfd_guest::MAX_NAME_LEN);
    mk("249-byte name", wasi_memfd_guest::from_bytes(b"x", &ok))?;
    let long = "n".repeat(wasi_memfd_guest::MAX_NAME_LEN + 1);
    want_error(
        "250-byte name",
        wasi_memfd_guest::from_bytes(b"x", &long),
        errno::ENAMETOOLONG,
        Error::NameTooLong,
    )
}

fn unknown_flag_bits_are_invalid() -> Check {
    want_error(
        "flags 2",
        wasi_memfd_guest::from_bytes_with_flags(b"x", "flags", 2),
        errno::EINVAL,
        Error::InvalidArgument,
    )?;
    let f = mk(
        "flags WRITABLE",
        wasi_memfd_guest::from_bytes_with_flags(b"x", "flags", wasi_memfd_guest::flags::WRITABLE),
    )?;
    ensure!(f.is_writable(), "flags WRITABLE: is_writable() is false");
    let f = mk(
        "flags 0",
        wasi_memfd_guest::from_bytes_with_flags(b"x", "flags", 0),
    )?;
    ensure!(!f.is_writable(), "flags 0: is_writable() is true");
    Ok(())
}

fn missing_preopen_is_not_found() -> Check {
    want_error(
        "open_preopened(no-such-file)",
        wasi_memfd_guest::open_preopened("no-such-file"),
        errno::ENOENT,
        Error::NotFound,
    )
}

fn preopened_file_reads_and_has_its_own_offsets() -> Check {
    let mut a = mk(
        "open_preopened(greeting) (run with --preopen greeting=PATH)",
        wasi_memfd_guest::open_preopened(PREOPEN),
    )?;
    ensure!(
        a.len() == GREETING.len() as u64,
        "preopened len() {}",
        a.len()
    );
    ensure!(!a.is_writable(), "a --preopen file says it is writable");
    let md = io("metadata", a.as_file().metadata())?;
    ensure!(
        md.len() == GREETING.len() as u64,
        "preopened metadata len {}",
        md.len()
    );
    let mut head = [0u8; 5];
    io("read_exact", a.read_exact(&mut head))?;
    ensure!(&head == b"hello", "first 5 bytes {:?}", head);

    let mut b = mk(
        "open_preopened again",
        wasi_memfd_guest::open_preopened(PREOPEN),
    )?;
    let mut s = String::new();
    io("read_to_string", b.read_to_string(&mut s))?;
    ensure!(s == GREETING, "second descriptor read {:?}", s);

    let mut rest = String::new();
    io("read_to_string", a.read_to_string(&mut rest))?;
    ensure!(
        rest == GREETING[5..],
        "first descriptor went on with {:?}",
        rest
    );
    Ok(())
}

fn into_file_keeps_the_descriptor_and_offset() -> Check {
    let mut f = mk(
        "from_bytes",
        wasi_memfd_guest::from_bytes(b"0123456789", "into-file"),
    )?;
    let mut head = [0u8; 4];
    io("read_exact", f.read_exact(&mut head))?;
    let mut file: File = f.into_file();
    let rest = read_all(&mut file)?;
    ensure!(rest == b"456789", "File after into_file read {:?}", rest);
    let md = io("metadata", file.metadata())?;
    ensure!(md.len() == 10, "File metadata len {}", md.len());
    let g = mk(
        "from_bytes",
        wasi_memfd_guest::from_bytes(b"abc", "from-memfile"),
    )?;
    let mut file = File::from(g);
    let all = read_all(&mut file)?;
    ensure!(all == b"abc", "File::from(MemFile) read {:?}", all);
    Ok(())
}

fn dropped_files_are_closed() -> Check {
    // More files than --max-files allows at once: dropping each closes it
    // and gives its slot back.
    for i in 0..200 {
        let f = mk(
            "from_bytes in a loop",
            wasi_memfd_guest::from_bytes(b"loop", "loop"),
        )
        .map_err(|e| format!("file {}: {}", i, e))?;
        drop(f);
    }
    Ok(())
}

/// A limit the runner was given, from `--env WASI_MEMFD_TEST_<NAME>=N`.
fn limit(name: &str) -> Result<u64, String> {
    let var = format!("WASI_MEMFD_TEST_{}", name);
    let v = std::env::var(&var).map_err(|_| {
        format!(
            "{} is not set: run with --env {}=N matching the runner's limit",
            var, var
        )
    })?;
    v.parse()
        .map_err(|_| format!("{}={:?} is not a number", var, v))
}

fn limit_max_file_size() -> Check {
    let max = limit("MAX_FILE_SIZE")? as usize;
    let data = vec![7u8; max + 1];
    let f = mk(
        "from_bytes at the size limit",
        wasi_memfd_guest::from_bytes(&data[..max], "at-limit"),
    )?;
    drop(f);
    want_error(
        "from_bytes over the size limit",
        wasi_memfd_guest::from_bytes(&data, "over-limit"),
        errno::EFBIG,
        Error::FileTooLarge,
    )?;
    want_error(
        "from_bytes_writable over the size limit",
        wasi_memfd_guest::from_bytes_writable(&data, "over-limit-rw"),
        errno::EFBIG,
        Error::FileTooLarge,
    )
}

fn limit_max_files() -> Check {
    let max = limit("MAX_FILES")? as usize;
    let mut held = Vec::new();
    for i in 0..max {
        let f = mk(
            "from_bytes under the file limit",
            wasi_memfd_guest::from_bytes(b"f", "held"),
        )
        .map_err(|e| format!("file {} of {}: {}", i + 1, max, e))?;
        held.push(f);
    }
    want_error(
        "from_bytes over the file limit",
        wasi_memfd_guest::from_bytes(b"f", "one-too-many"),
        errno::EMFILE,
        Error::TooManyFiles,
    )?;
    // Closing one gives its slot back.
    held.pop();
    let f = mk(
        "from_bytes after closing one",
        wasi_memfd_guest::from_bytes(b"f", "again"),
    )?;
    held.push(f);
    Ok(())
}

fn limit_max_total_size() -> Check {
    let total = limit("MAX_TOTAL_SIZE")?;
    let chunk = vec![1u8; 60 * 1024];
    let fit = (total / chunk.len() as u64) as usize;
    let mut held = Vec::new();
    for i in 0..fit {
        let f = mk(
            "from_bytes under the quota",
            wasi_memfd_guest::from_bytes(&chunk, "quota"),
        )
        .map_err(|e| format!("file {} of {}: {}", i + 1, fit, e))?;
        held.push(f);
    }
    want_error(
        "from_bytes over the quota",
        wasi_memfd_guest::from_bytes(&chunk, "over-quota"),
        errno::EDQUOT,
        Error::QuotaExceeded,
    )?;
    // Closing one gives its bytes back.
    held.pop();
    let f = mk(
        "from_bytes after closing one",
        wasi_memfd_guest::from_bytes(&chunk, "quota-again"),
    )?;
    held.push(f);
    Ok(())
}

fn errors_display() -> Check {
    let e = match wasi_memfd_guest::open_preopened("missing") {
        Ok(_) => return Err("open_preopened(missing) succeeded".to_string()),
        Err(e) => e,
    };
    let msg = e.to_string();
    ensure!(!msg.is_empty(), "empty message");
    ensure!(e == Error::NotFound, "open_preopened(missing) = {:?}", e);
    // `?` turns it into an io::Error (and a Box<dyn Error>).
    fn question_mark() -> io::Result<MemFile> {
        Ok(wasi_memfd_guest::open_preopened("missing")?)
    }
    let via_q = match question_mark() {
        Ok(_) => return Err("open_preopened(missing) succeeded".to_string()),
        Err(e) => e,
    };
    ensure!(
        via_q.kind() == io::ErrorKind::NotFound
            && Error::from_io_error(&via_q) == Some(Error::NotFound),
        "via ?: {:?}",
        via_q
    );
    let case: io::Error = Error::NotFound.into();
    ensure!(
        case.kind() == io::ErrorKind::NotFound,
        "Error::NotFound -> {:?}",
        case.kind()
    );
    Ok(())
}

fn main() {
    let checks: &[(&str, fn() -> Check)] = &[
        ("from_bytes_reads_back", from_bytes_reads_back),
        (
            "metadata_is_a_regular_file_of_the_right_size",
            metadata_is_a_regular_file_of_the_right_size,
        ),
        ("seek_and_read", seek_and_read),
        ("empty_data_and_empty_name", empty_data_and_empty_name),
        ("larger_data_round_trips", larger_data_round_trips),
        (
            "read_only_files_refuse_writes",
            read_only_files_refuse_writes,
        ),
        (
            "writable_files_write_in_place",
            writable_files_write_in_place,
        ),
        (
            "name_with_nul_is_invalid_input",
            name_with_nul_is_invalid_input,
        ),
        ("name_length_limit", name_length_limit),
        (
            "unknown_flag_bits_are_invalid",
            unknown_flag_bits_are_invalid,
        ),
        ("missing_preopen_is_not_found", missing_preopen_is_not_found),
        (
            "preopened_file_reads_and_has_its_own_offsets",
            preopened_file_reads_and_has_its_own_offsets,
        ),
        (
            "into_file_keeps_the_descriptor_and_offset",
            into_file_keeps_the_descriptor_and_offset,
        ),
        ("dropped_files_are_closed", dropped_files_are_closed),
        ("limit_max_file_size", limit_max_file_size),
        ("limit_max_files", limit_max_files),
        ("limit_max_total_size", limit_max_total_size),
        ("errors_display", errors_display),
    ];
    let mut failed = 0;
    for (name, check) in checks {
        match check() {
            Ok(()) => println!("ok   {}", name),
            Err(msg) => {
                failed += 1;
                println!("FAIL {}: {}", name, msg);
            }
        }
    }
    if failed > 0 {
        println!("memfd_test: {} of {} checks failed", failed, checks.len());
        exit(1);
    }
    println!("memfd_test: all {} checks passed", checks.len());
}
