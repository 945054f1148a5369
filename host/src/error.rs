//! Why a call failed: one error type for both guest ABIs.
//!
//! [`ErrorCode`] mirrors the WIT `error-code` enum. It is mapped once to the
//! component's `error-code` (in [`crate::component`]) and once to a WASIp1
//! errno ([`ErrorCode::errno`], used by the core-module ABI).

use std::fmt;

/// Why a wasi-memfd call failed. The same codes reach component guests as the
/// WIT `error-code` and core-module guests as the WASIp1 errno of
/// [`ErrorCode::errno`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// Unknown option bits, or a NUL byte (or, for core modules, invalid
    /// UTF-8) in the name.
    InvalidArgument,
    /// The name is longer than [`crate::MAX_NAME_LEN`] bytes.
    NameTooLong,
    /// The data is longer than the per-file limit.
    FileTooLarge,
    /// The store's memory files would hold more bytes than allowed.
    QuotaExceeded,
    /// The store (or a shared [`Budget`](crate::Budget)) would have more
    /// memory files open than allowed, or the host process or system is out
    /// of file descriptors (EMFILE, ENFILE).
    TooManyFiles,
    /// No file is attached under that name.
    NotFound,
    /// The system refused to make the file for lack of memory or space
    /// (ENOMEM, ENOSPC, ...).
    OutOfMemory,
    /// This host cannot make memory files.
    Unsupported,
}

impl ErrorCode {
    /// The WASIp1 errno a core-module guest sees for this code.
    pub fn errno(self) -> u16 {
        match self {
            ErrorCode::InvalidArgument => 28, // EINVAL
            ErrorCode::NameTooLong => 37,     // ENAMETOOLONG
            ErrorCode::FileTooLarge => 22,    // EFBIG
            ErrorCode::QuotaExceeded => 19,   // EDQUOT
            ErrorCode::TooManyFiles => 33,    // EMFILE
            ErrorCode::NotFound => 44,        // ENOENT
            ErrorCode::OutOfMemory => 48,     // ENOMEM
            ErrorCode::Unsupported => 58,     // ENOTSUP
        }
    }

    /// Maps a system error from making or filling a memory file: out of
    /// descriptors (the process's or the system's file table) is
    /// `TooManyFiles`, "not supported here" is `Unsupported`, and anything
    /// else means the system refused for lack of memory or space.
    pub(crate) fn from_system(errno: rustix::io::Errno) -> Self {
        use rustix::io::Errno;
        // ENOTSUP and EOPNOTSUPP are one value on Linux, two elsewhere;
        // Windows has neither ENOSYS nor ENOTSUP.
        #[allow(unreachable_patterns)]
        match errno {
            #[cfg(unix)]
            Errno::NOSYS | Errno::NOTSUP => ErrorCode::Unsupported,
            Errno::OPNOTSUPP => ErrorCode::Unsupported,
            Errno::MFILE => ErrorCode::TooManyFiles,
            #[cfg(unix)]
            Errno::NFILE => ErrorCode::TooManyFiles,
            _ => ErrorCode::OutOfMemory,
        }
    }

    /// [`ErrorCode::from_system`] for an error from std's file calls (one
    /// without an errno means the system refused: `OutOfMemory`).
    pub(crate) fn from_io(e: &std::io::Error) -> Self {
        rustix::io::Errno::from_io_error(e).map_or(ErrorCode::OutOfMemory, Self::from_system)
    }

    fn describe(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "invalid argument",
            ErrorCode::NameTooLong => "name too long",
            ErrorCode::FileTooLarge => "file too large",
            ErrorCode::QuotaExceeded => "memory-file quota exceeded",
            ErrorCode::TooManyFiles => "too many memory files",
            ErrorCode::NotFound => "no such preopened file",
            ErrorCode::OutOfMemory => "the system refused to make a memory file",
            ErrorCode::Unsupported => "memory files are not supported on this host",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

impl std::error::Error for ErrorCode {}

impl From<ErrorCode> for std::io::Error {
    fn from(code: ErrorCode) -> Self {
        use std::io::ErrorKind;
        let kind = match code {
            ErrorCode::InvalidArgument | ErrorCode::NameTooLong => ErrorKind::InvalidInput,
            ErrorCode::FileTooLarge => ErrorKind::FileTooLarge,
            ErrorCode::QuotaExceeded => ErrorKind::QuotaExceeded,
            ErrorCode::TooManyFiles | ErrorCode::OutOfMemory => ErrorKind::OutOfMemory,
            ErrorCode::NotFound => ErrorKind::NotFound,
            ErrorCode::Unsupported => ErrorKind::Unsupported,
        };
        std::io::Error::new(kind, code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errnos_are_the_wasip1_numbers() {
        // Numbers from the WASIp1 witx `errno` enum.
        let expected = [
            (ErrorCode::InvalidArgument, 28),
            (ErrorCode::NameTooLong, 37),
            (ErrorCode::FileTooLarge, 22),
            (ErrorCode::QuotaExceeded, 19),
            (ErrorCode::TooManyFiles, 33),
            (ErrorCode::NotFound, 44),
            (ErrorCode::OutOfMemory, 48),
            (ErrorCode::Unsupported, 58),
        ];
        for (code, errno) in expected {
            assert_eq!(code.errno(), errno, "{code:?}");
        }
    }

    #[test]
    fn system_errors_map_to_their_codes() {
        use rustix::io::Errno;
        assert_eq!(ErrorCode::from_system(Errno::NOMEM), ErrorCode::OutOfMemory);
        assert_eq!(
            ErrorCode::from_system(Errno::MFILE),
            ErrorCode::TooManyFiles
        );
        assert_eq!(
            ErrorCode::from_system(Errno::NFILE),
            ErrorCode::TooManyFiles
        );
        assert_eq!(ErrorCode::from_system(Errno::NOSPC), ErrorCode::OutOfMemory);
        assert_eq!(ErrorCode::from_system(Errno::NOSYS), ErrorCode::Unsupported);
        assert_eq!(
            ErrorCode::from_system(Errno::NOTSUP),
            ErrorCode::Unsupported
        );
        assert_eq!(
            ErrorCode::from_system(Errno::OPNOTSUPP),
            ErrorCode::Unsupported
        );
    }

    #[test]
    fn std_errors_map_by_their_errno() {
        use rustix::io::Errno;
        let os = |errno: Errno| std::io::Error::from_raw_os_error(errno.raw_os_error());
        assert_eq!(
            ErrorCode::from_io(&os(Errno::MFILE)),
            ErrorCode::TooManyFiles
        );
        assert_eq!(
            ErrorCode::from_io(&os(Errno::NOMEM)),
            ErrorCode::OutOfMemory
        );
        let no_errno = std::io::Error::other("no errno");
        assert_eq!(ErrorCode::from_io(&no_errno), ErrorCode::OutOfMemory);
    }
}
