//! Why a call failed: two error types, each mapped once to each guest ABI.
//!
//! - [`ErrorCode`] mirrors the `wasi-memfd:memfd` WIT `error-code` enum: why
//!   `from-bytes` or `open-preopened` (and the host's `from_bytes`) failed.
//!   It is mapped once to the component's `error-code` (in `p2`) and once to
//!   a WASIp1 errno ([`ErrorCode::errno`]).
//! - [`FsError`] is why a filesystem operation on a memory file or a memory
//!   directory failed: a POSIX error, named as WASI names it. It is mapped
//!   once to a WASIp1 errno (in `p1`) and once to a `wasi:filesystem`
//!   `error-code` (in `p2`). A limit refused during one is an [`ErrorCode`]
//!   first, turned into an `FsError` by one `From`.

use std::fmt;

use wasmtime_wasi::p1::types::Errno;

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
    /// The WASIp1 errno a core-module guest sees for this code (its number,
    /// as the `wasi_memfd` imports return it).
    pub fn errno(self) -> u16 {
        self.wasi_errno() as u16
    }

    /// The WASIp1 errno a core-module guest sees for this code.
    pub(crate) fn wasi_errno(self) -> Errno {
        match self {
            ErrorCode::InvalidArgument => Errno::Inval,
            ErrorCode::NameTooLong => Errno::Nametoolong,
            ErrorCode::FileTooLarge => Errno::Fbig,
            ErrorCode::QuotaExceeded => Errno::Dquot,
            ErrorCode::TooManyFiles => Errno::Mfile,
            ErrorCode::NotFound => Errno::Noent,
            ErrorCode::OutOfMemory => Errno::Nomem,
            ErrorCode::Unsupported => Errno::Notsup,
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

/// Why a filesystem operation on a memory file or a memory directory failed:
/// a POSIX error, named as WASIp1's `errno` names it. Mapped once to a WASIp1
/// errno (`p1`) and once to a `wasi:filesystem` `error-code` (`p2`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum FsError {
    /// `EACCES`: the file refuses the access asked for (a read-only file
    /// the host attached, opened for writing).
    Acces,
    /// `EBADF`: the descriptor cannot do that (a write on a read-only one, a
    /// read on a directory).
    Badf,
    /// `EBUSY`: a rename of `.`.
    Busy,
    /// `EDQUOT`: the store's (or the shared budget's) bytes are used up.
    Dquot,
    /// `EEXIST`: the name is taken.
    Exist,
    /// `EFBIG`: the file would pass the per-file limit, or cannot grow.
    Fbig,
    /// `EINVAL`: a bad argument (a bad flag combination, a rename into the
    /// directory's own subtree, `rmdir` of `.`).
    Inval,
    /// `EISDIR`: a directory where a file is needed.
    Isdir,
    /// `ELOOP`: a symbolic link not followed, or too many of them.
    Loop,
    /// `ENAMETOOLONG`: a name over 255 bytes, or a path of 4096 or more.
    Nametoolong,
    /// `ENOENT`: no such file or directory.
    Noent,
    /// `ENOMEM`: the system refused memory (a Unix errno only: Windows
    /// has no memory files to refuse).
    #[cfg_attr(not(unix), allow(dead_code))]
    Nomem,
    /// `ENOSPC`: no room for another file (the store's or the budget's file
    /// limit), or the system refused the space.
    Nospc,
    /// `ENOTDIR`: a file where a directory is needed.
    Notdir,
    /// `ENOTEMPTY`: the directory has entries.
    Notempty,
    /// `ENOTSUP`: not supported on a memory file (or on this host).
    Notsup,
    /// `EOVERFLOW`: an offset or time out of range.
    Overflow,
    /// `EPERM`: not permitted (a path leading outside the directory, a hard
    /// link to a directory, changing a sealed file).
    Perm,
    /// `EXDEV`: a rename or link between two filesystems.
    Xdev,
}

impl From<ErrorCode> for FsError {
    /// A limit or a system refusal met while making or growing a memory
    /// file: per-file limit `EFBIG`, bytes `EDQUOT`, files `ENOSPC` (as a
    /// filesystem out of inodes), the system's refusal `ENOSPC`.
    fn from(code: ErrorCode) -> Self {
        match code {
            ErrorCode::InvalidArgument => FsError::Inval,
            ErrorCode::NameTooLong => FsError::Nametoolong,
            ErrorCode::FileTooLarge => FsError::Fbig,
            ErrorCode::QuotaExceeded => FsError::Dquot,
            ErrorCode::TooManyFiles | ErrorCode::OutOfMemory => FsError::Nospc,
            ErrorCode::NotFound => FsError::Noent,
            ErrorCode::Unsupported => FsError::Notsup,
        }
    }
}

impl FsError {
    /// The error of a system call on a memory file.
    pub(crate) fn from_system(errno: rustix::io::Errno) -> Self {
        use rustix::io::Errno as E;
        // Windows (winsock errnos in rustix) has no EPERM, ENOMEM or EFBIG;
        // it has no memory files either, so those arms are Unix-only.
        #[allow(unreachable_patterns)]
        match errno {
            E::INVAL => FsError::Inval,
            #[cfg(unix)]
            E::PERM => FsError::Perm,
            #[cfg(unix)]
            E::NOMEM => FsError::Nomem,
            #[cfg(unix)]
            E::FBIG => FsError::Fbig,
            E::BADF => FsError::Badf,
            E::OPNOTSUPP => FsError::Notsup,
            _ => FsError::Nospc,
        }
    }

    /// The WASIp1 errno a core-module guest sees.
    pub(crate) fn errno(self) -> Errno {
        match self {
            FsError::Acces => Errno::Acces,
            FsError::Badf => Errno::Badf,
            FsError::Busy => Errno::Busy,
            FsError::Dquot => Errno::Dquot,
            FsError::Exist => Errno::Exist,
            FsError::Fbig => Errno::Fbig,
            FsError::Inval => Errno::Inval,
            FsError::Isdir => Errno::Isdir,
            FsError::Loop => Errno::Loop,
            FsError::Nametoolong => Errno::Nametoolong,
            FsError::Noent => Errno::Noent,
            FsError::Nomem => Errno::Nomem,
            FsError::Nospc => Errno::Nospc,
            FsError::Notdir => Errno::Notdir,
            FsError::Notempty => Errno::Notempty,
            FsError::Notsup => Errno::Notsup,
            FsError::Overflow => Errno::Overflow,
            FsError::Perm => Errno::Perm,
            FsError::Xdev => Errno::Xdev,
        }
    }

    /// The `wasi:filesystem` `error-code` a component guest sees.
    pub(crate) fn error_code(self) -> wasmtime_wasi::p2::bindings::filesystem::types::ErrorCode {
        use wasmtime_wasi::p2::bindings::filesystem::types::ErrorCode as E;
        match self {
            FsError::Acces => E::Access,
            FsError::Badf => E::BadDescriptor,
            FsError::Busy => E::Busy,
            FsError::Dquot => E::Quota,
            FsError::Exist => E::Exist,
            FsError::Fbig => E::FileTooLarge,
            FsError::Inval => E::Invalid,
            FsError::Isdir => E::IsDirectory,
            FsError::Loop => E::Loop,
            FsError::Nametoolong => E::NameTooLong,
            FsError::Noent => E::NoEntry,
            FsError::Nomem => E::InsufficientMemory,
            FsError::Nospc => E::InsufficientSpace,
            FsError::Notdir => E::NotDirectory,
            FsError::Notempty => E::NotEmpty,
            FsError::Notsup => E::Unsupported,
            FsError::Overflow => E::Overflow,
            FsError::Perm => E::NotPermitted,
            FsError::Xdev => E::CrossDevice,
        }
    }
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.errno())
    }
}

impl std::error::Error for FsError {}

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
}
