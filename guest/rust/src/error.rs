//! The `error-code` enum of `wasi-memfd:memfd/memfd` and its WASIp1 errno
//! mapping.

use std::fmt;
use std::io;

/// WASIp1 errno values used by the `wasi_memfd` core-module ABI.
///
/// A call returns one of these (0 on success). They are the numbers of
/// `wasi_snapshot_preview1`'s `errno` type, which wasi-libc also uses as its
/// `errno` values, so on `wasm32-wasip1` they can be handed to
/// [`std::io::Error::from_raw_os_error`] as they are.
pub mod errno {
    /// No error occurred.
    pub const SUCCESS: i32 = 0;
    /// Bad file descriptor: what a write to a memory file not open for
    /// writing fails with (on `wasm32-wasip1` from the host, on
    /// `wasm32-wasip2` from `MemFile`). The ABI functions never return it.
    pub const EBADF: i32 = 8;
    /// Disk quota exceeded ([`Error::QuotaExceeded`](crate::Error::QuotaExceeded)).
    pub const EDQUOT: i32 = 19;
    /// A pointer/length pair lies outside the guest's linear memory. No
    /// [`Error`](crate::Error) variant: it means the caller passed a bad
    /// buffer.
    pub const EFAULT: i32 = 21;
    /// File too large ([`Error::FileTooLarge`](crate::Error::FileTooLarge)).
    /// Also what a write at or past the end of a writable memory file fails
    /// with.
    pub const EFBIG: i32 = 22;
    /// Invalid argument ([`Error::InvalidArgument`](crate::Error::InvalidArgument)).
    pub const EINVAL: i32 = 28;
    /// File descriptor value too large
    /// ([`Error::TooManyFiles`](crate::Error::TooManyFiles)).
    pub const EMFILE: i32 = 33;
    /// Filename too long ([`Error::NameTooLong`](crate::Error::NameTooLong)).
    pub const ENAMETOOLONG: i32 = 37;
    /// No such file or directory ([`Error::NotFound`](crate::Error::NotFound)).
    pub const ENOENT: i32 = 44;
    /// Not enough space ([`Error::OutOfMemory`](crate::Error::OutOfMemory)).
    pub const ENOMEM: i32 = 48;
    /// Not supported ([`Error::Unsupported`](crate::Error::Unsupported)).
    pub const ENOTSUP: i32 = 58;
}

/// Why a wasi-memfd call failed: the `error-code` enum of
/// `wasi-memfd:memfd/memfd@0.1.0`, one variant per WIT case.
///
/// The cases are the host's `wasi_memfd::ErrorCode`, with the same names,
/// WASIp1 errnos ([`Error::errno`]) and [`io::ErrorKind`]s
/// ([`Error::io_kind`]); both targets of this crate return it. Like the
/// host's, it is `#[non_exhaustive]`: a later interface version may add
/// cases.
///
/// A failed call creates nothing. Convert it into a [`std::io::Error`] with
/// `?` or [`From`]; get it back from one with [`Error::from_io_error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// `invalid-argument`: unknown option bits, or a NUL byte in the name.
    InvalidArgument,
    /// `name-too-long`: the name is longer than [`MAX_NAME_LEN`](crate::MAX_NAME_LEN)
    /// (249) bytes.
    NameTooLong,
    /// `file-too-large`: the data is longer than the host's per-file limit.
    FileTooLarge,
    /// `quota-exceeded`: the guest's memory files would hold more bytes than
    /// the host allows.
    QuotaExceeded,
    /// `too-many-files`: the guest would have more memory files open than the
    /// host allows.
    TooManyFiles,
    /// `not-found`: `open-preopened` found no file attached under that name.
    NotFound,
    /// `out-of-memory`: the system refused to make the file.
    OutOfMemory,
    /// `unsupported`: this host cannot make memory files.
    Unsupported,
}

impl Error {
    /// Every variant, in WIT declaration order.
    pub const ALL: [Error; 8] = [
        Error::InvalidArgument,
        Error::NameTooLong,
        Error::FileTooLarge,
        Error::QuotaExceeded,
        Error::TooManyFiles,
        Error::NotFound,
        Error::OutOfMemory,
        Error::Unsupported,
    ];

    /// The WIT name of this case, such as `"invalid-argument"`.
    pub fn wit_name(self) -> &'static str {
        match self {
            Error::InvalidArgument => "invalid-argument",
            Error::NameTooLong => "name-too-long",
            Error::FileTooLarge => "file-too-large",
            Error::QuotaExceeded => "quota-exceeded",
            Error::TooManyFiles => "too-many-files",
            Error::NotFound => "not-found",
            Error::OutOfMemory => "out-of-memory",
            Error::Unsupported => "unsupported",
        }
    }

    /// The WASIp1 errno the `wasi_memfd` core module returns for this case.
    pub fn errno(self) -> i32 {
        match self {
            Error::InvalidArgument => errno::EINVAL,
            Error::NameTooLong => errno::ENAMETOOLONG,
            Error::FileTooLarge => errno::EFBIG,
            Error::QuotaExceeded => errno::EDQUOT,
            Error::TooManyFiles => errno::EMFILE,
            Error::NotFound => errno::ENOENT,
            Error::OutOfMemory => errno::ENOMEM,
            Error::Unsupported => errno::ENOTSUP,
        }
    }

    /// The case for a WASIp1 errno, or `None` for 0, `EFAULT` and any errno
    /// that no case maps to.
    pub fn from_errno(errno: i32) -> Option<Error> {
        match errno {
            errno::EINVAL => Some(Error::InvalidArgument),
            errno::ENAMETOOLONG => Some(Error::NameTooLong),
            errno::EFBIG => Some(Error::FileTooLarge),
            errno::EDQUOT => Some(Error::QuotaExceeded),
            errno::EMFILE => Some(Error::TooManyFiles),
            errno::ENOENT => Some(Error::NotFound),
            errno::ENOMEM => Some(Error::OutOfMemory),
            errno::ENOTSUP => Some(Error::Unsupported),
            _ => None,
        }
    }

    /// The [`io::ErrorKind`] an [`io::Error`] made from this case has: the
    /// host's mapping (`From<wasi_memfd::ErrorCode> for io::Error`).
    ///
    /// | case | kind |
    /// | --- | --- |
    /// | `InvalidArgument`, `NameTooLong` | `InvalidInput` |
    /// | `FileTooLarge` | `FileTooLarge` |
    /// | `QuotaExceeded` | `QuotaExceeded` |
    /// | `TooManyFiles`, `OutOfMemory` | `OutOfMemory` |
    /// | `NotFound` | `NotFound` |
    /// | `Unsupported` | `Unsupported` |
    ///
    /// `FileTooLarge` and `QuotaExceeded` are kinds of Rust 1.83. Built with
    /// cargo (`rust-version` 1.85), and always on `wasm32-wasip2`, the crate
    /// uses them; only the `wasm32-wasip1` half built by a bare `rustc` (it
    /// also builds with Rust 1.63 that way) has [`io::ErrorKind::Other`] for
    /// those two cases.
    /// [`Error::from_io_error`] tells every case apart either way.
    pub fn io_kind(self) -> io::ErrorKind {
        match self {
            Error::InvalidArgument | Error::NameTooLong => io::ErrorKind::InvalidInput,
            Error::FileTooLarge => file_too_large_kind(),
            Error::QuotaExceeded => quota_exceeded_kind(),
            Error::TooManyFiles | Error::OutOfMemory => io::ErrorKind::OutOfMemory,
            Error::NotFound => io::ErrorKind::NotFound,
            Error::Unsupported => io::ErrorKind::Unsupported,
        }
    }

    /// Recovers the case from an [`io::Error`]: one made from an [`Error`]
    /// (by [`From`]), or one carrying a WASIp1 errno as its raw OS error (as
    /// the `wasm32-wasip1` functions of this crate return).
    pub fn from_io_error(err: &io::Error) -> Option<Error> {
        if let Some(inner) = err.get_ref() {
            if let Some(e) = inner.downcast_ref::<Error>() {
                return Some(*e);
            }
        }
        err.raw_os_error().and_then(Error::from_errno)
    }
}

/// `io::ErrorKind::FileTooLarge` (Rust 1.83), or `Other` for wasm32-wasip1
/// built without cargo (see [`Error::io_kind`]). Off WASI and on
/// wasm32-wasip2 the Rust is always new enough.
pub(crate) fn file_too_large_kind() -> io::ErrorKind {
    #[cfg(any(wasi_memfd_std_1_83, not(target_os = "wasi"), target_env = "p2"))]
    let kind = io::ErrorKind::FileTooLarge;
    #[cfg(not(any(wasi_memfd_std_1_83, not(target_os = "wasi"), target_env = "p2")))]
    let kind = io::ErrorKind::Other;
    kind
}

/// `io::ErrorKind::QuotaExceeded` (Rust 1.83), or `Other` for wasm32-wasip1
/// built without cargo (see [`Error::io_kind`]).
fn quota_exceeded_kind() -> io::ErrorKind {
    #[cfg(any(wasi_memfd_std_1_83, not(target_os = "wasi"), target_env = "p2"))]
    let kind = io::ErrorKind::QuotaExceeded;
    #[cfg(not(any(wasi_memfd_std_1_83, not(target_os = "wasi"), target_env = "p2")))]
    let kind = io::ErrorKind::Other;
    kind
}

/// The error a WASIp1 fd answers with `errno`, for errors that `MemFile`
/// makes itself, so they match what the host returns on `wasm32-wasip1`.
///
/// On WASI targets this is [`io::Error::from_raw_os_error`] (wasi-libc's
/// errno values are the WASI ones); elsewhere, where the number would mean
/// something else, an error of kind `other_kind` with message `msg`.
#[cfg_attr(all(target_os = "wasi", not(target_env = "p2")), allow(dead_code))]
pub(crate) fn wasi_errno_error(errno: i32, other_kind: io::ErrorKind, msg: &str) -> io::Error {
    if cfg!(target_os = "wasi") {
        io::Error::from_raw_os_error(errno)
    } else {
        io::Error::new(other_kind, msg)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let msg = match self {
            Error::InvalidArgument => {
                "invalid argument (unknown option bits or a NUL byte in the name)"
            }
            Error::NameTooLong => "memory file name is longer than 249 bytes",
            Error::FileTooLarge => "data is larger than the host's per-file limit",
            Error::QuotaExceeded => "the guest's memory files would exceed the host's byte quota",
            Error::TooManyFiles => {
                "the guest would have more memory files open than the host allows"
            }
            Error::NotFound => "the host attached no file under that name",
            Error::OutOfMemory => "the system refused to make the memory file",
            Error::Unsupported => "this host cannot make memory files",
        };
        f.write_str(msg)
    }
}

impl std::error::Error for Error {}

impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        io::Error::new(err.io_kind(), err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn errno_round_trips_for_every_case() {
        for e in Error::ALL {
            assert_eq!(Error::from_errno(e.errno()), Some(e), "{e:?}");
        }
    }

    #[test]
    fn errnos_and_names_are_distinct() {
        let errnos: HashSet<i32> = Error::ALL.iter().map(|e| e.errno()).collect();
        let names: HashSet<&str> = Error::ALL.iter().map(|e| e.wit_name()).collect();
        assert_eq!(errnos.len(), Error::ALL.len());
        assert_eq!(names.len(), Error::ALL.len());
        assert!(!errnos.contains(&errno::SUCCESS));
        assert!(!errnos.contains(&errno::EFAULT));
    }

    #[test]
    fn errno_values_match_wasi_preview1() {
        // Numbers of wasi_snapshot_preview1's errno enum.
        assert_eq!(Error::InvalidArgument.errno(), 28);
        assert_eq!(Error::NameTooLong.errno(), 37);
        assert_eq!(Error::FileTooLarge.errno(), 22);
        assert_eq!(Error::QuotaExceeded.errno(), 19);
        assert_eq!(Error::TooManyFiles.errno(), 33);
        assert_eq!(Error::NotFound.errno(), 44);
        assert_eq!(Error::OutOfMemory.errno(), 48);
        assert_eq!(Error::Unsupported.errno(), 58);
        assert_eq!(errno::EFAULT, 21);
    }

    #[test]
    fn unknown_errnos_map_to_none() {
        for n in [0, -1, 1, errno::EFAULT, 63, 76, 1000] {
            assert_eq!(Error::from_errno(n), None, "{n}");
        }
    }

    #[test]
    fn wit_names_follow_declaration_order() {
        let names: Vec<&str> = Error::ALL.iter().map(|e| e.wit_name()).collect();
        assert_eq!(
            names,
            [
                "invalid-argument",
                "name-too-long",
                "file-too-large",
                "quota-exceeded",
                "too-many-files",
                "not-found",
                "out-of-memory",
                "unsupported",
            ]
        );
    }

    #[test]
    fn display_is_nonempty_and_distinct() {
        let msgs: HashSet<String> = Error::ALL.iter().map(|e| e.to_string()).collect();
        assert_eq!(msgs.len(), Error::ALL.len());
        assert!(msgs.iter().all(|m| !m.is_empty()));
        assert!(Error::NameTooLong.to_string().contains("249"));
    }

    #[test]
    fn converts_into_io_error_with_kind_and_source() {
        // The host's mapping (host/src/error.rs, From<ErrorCode> for io::Error).
        let cases = [
            (Error::InvalidArgument, io::ErrorKind::InvalidInput),
            (Error::NameTooLong, io::ErrorKind::InvalidInput),
            (Error::FileTooLarge, io::ErrorKind::FileTooLarge),
            (Error::QuotaExceeded, io::ErrorKind::QuotaExceeded),
            (Error::TooManyFiles, io::ErrorKind::OutOfMemory),
            (Error::NotFound, io::ErrorKind::NotFound),
            (Error::OutOfMemory, io::ErrorKind::OutOfMemory),
            (Error::Unsupported, io::ErrorKind::Unsupported),
        ];
        for (e, kind) in cases {
            let io_err = io::Error::from(e);
            assert_eq!(io_err.kind(), kind, "{e:?}");
            assert_eq!(e.io_kind(), kind, "{e:?}");
            assert_eq!(io_err.to_string(), e.to_string());
            assert_eq!(Error::from_io_error(&io_err), Some(e));
        }
    }

    #[test]
    fn from_io_error_reads_raw_errnos() {
        for e in Error::ALL {
            let io_err = io::Error::from_raw_os_error(e.errno());
            assert_eq!(Error::from_io_error(&io_err), Some(e));
        }
        let other = io::Error::other("unrelated");
        assert_eq!(Error::from_io_error(&other), None);
        let efault = io::Error::from_raw_os_error(errno::EFAULT);
        assert_eq!(Error::from_io_error(&efault), None);
    }

    #[test]
    fn question_mark_converts_to_io_error() {
        fn fails() -> io::Result<()> {
            Err(Error::NotFound)?;
            Ok(())
        }
        let err = fails().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert_eq!(Error::from_io_error(&err), Some(Error::NotFound));
    }
}
