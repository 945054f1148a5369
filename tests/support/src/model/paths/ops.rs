//! The path model's ops and their arguments, with `Arbitrary` written out
//! (the support crate must not turn on `arbitrary/derive`, see
//! `tests/support/Cargo.toml`).
//!
//! Paths are drawn from a small namespace (`a`, `b`, `d`, `e`, `l`, `m`,
//! `.`, `..`) joined by one or two slashes, sometimes with a trailing one,
//! and from a list of edge cases (absolute, empty, escaping, a name of 256
//! bytes, a path of 4097, NUL, non-UTF-8, deep ones), so that names collide
//! often and every resolution rule is reached within a few ops.

use arbitrary::{Arbitrary, Result, Unstructured};

/// Which handle an op is about.
///
/// The driver keeps every handle it opened, in both stores, by index:
/// below 200 one of the open handles (for file ops, mostly an open file),
/// 200..232 a closed one whose numbers no store reused (else one never
/// opened), 232..248 a number never opened, 248.. stdin (wasmtime-wasi's in
/// both stores).
#[derive(Copy, Clone, Debug)]
pub struct H(pub u8);

impl<'a> Arbitrary<'a> for H {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        // Mostly open handles: 1 in 16 something else.
        Ok(if u.ratio(1u8, 16)? {
            H(u.int_in_range(200..=255)?)
        } else {
            H(u.int_in_range(0..=199)?)
        })
    }
}

/// The names paths are made of: collisions are the point.
const NAMES: &[&str] = &["a", "b", "d", "e", "l", "m", ".", ".."];

/// Paths that each exercise a rule of their own.
fn special(i: usize) -> Vec<u8> {
    let s: &str = match i {
        0 => "",
        1 => "/",
        2 => "/a",
        3 => "..",
        4 => "../a",
        5 => "d/../..",
        6 => "d/../a",
        7 => "./a",
        8 => "a/.",
        9 => "d/.",
        10 => "d/./e/",
        11 => "x/a",
        12 => "a/a",
        13 => "a//",
        14 => "l/",
        15 => "l/a",
        16 => return vec![b'n'; 255],
        17 => return vec![b'n'; 256],
        18 => return [b"d/".as_slice(), &[b'n'; 256]].concat(),
        19 => return [b"./".repeat(2048).as_slice(), b"a"].concat(),
        20 => "a\0",
        21 => return vec![b'a', 0xff],
        22 => "d/e/../../a",
        23 => ".//d/e/a",
        24 => "d/e/a",
        25 => "d/e/",
        26 => "m/..",
        _ => "d/l/..",
    };
    s.as_bytes().to_vec()
}

const SPECIALS: usize = 28;

/// A path argument (raw bytes: not always UTF-8).
#[derive(Clone)]
pub struct PathArg(pub Vec<u8>);

/// Bytes as a readable string literal: escaped, long runs cut short.
fn show(bytes: &[u8], f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    let text: String = bytes.escape_ascii().to_string();
    if text.len() > 48 {
        write!(f, "\"{}…\" ({} bytes)", &text[..40], bytes.len())
    } else {
        write!(f, "\"{text}\"")
    }
}

impl std::fmt::Debug for PathArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        show(&self.0, f)
    }
}

impl<'a> Arbitrary<'a> for PathArg {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(PathArg(match u.int_in_range(0u8..=15)? {
            0..=11 => {
                // One name half the time: most calls then meet what the
                // ones before made.
                let n = match u.int_in_range(0u8..=19)? {
                    0..=9 => 1,
                    10..=16 => 2,
                    _ => 3,
                };
                let mut path = String::new();
                for i in 0..n {
                    if i > 0 {
                        path += if u.ratio(1u8, 10)? { "//" } else { "/" };
                    }
                    // A plain name three times in four, else `.` or `..`.
                    let k = u.int_in_range(0..=NAMES.len() * 4 - 1)?;
                    path += if k < 6 * 4 {
                        NAMES[k / 4]
                    } else {
                        NAMES[6 + k % 2]
                    };
                }
                if u.ratio(1u8, 8)? {
                    path.push('/');
                }
                path.into_bytes()
            }
            12..=14 => special(u.choose_index(SPECIALS)?),
            _ => {
                // Deep: d/d/d/.../name.
                let depth = u.int_in_range(2..=6)?;
                let mut path = "d/".repeat(depth);
                path += NAMES[u.choose_index(6)?];
                path.into_bytes()
            }
        }))
    }
}

/// A symbolic link's target, stored as given.
#[derive(Clone)]
pub struct Target(pub Vec<u8>);

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        show(&self.0, f)
    }
}

impl<'a> Arbitrary<'a> for Target {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        const TARGETS: &[&str] = &[
            "a",
            "b",
            "d",
            "d/e",
            "d/a",
            "..",
            "../a",
            "../../x",
            "/a",
            "/",
            "l",
            "m",
            "d/../a",
            "nowhere",
            "e/..",
            "a/",
            "d/e/../../a",
            "",
            ".",
            "d/l",
        ];
        Ok(Target(if u.ratio(1u8, 4)? {
            PathArg::arbitrary(u)?.0
        } else if u.ratio(1u8, 20)? {
            // Near or past a small per-file limit.
            vec![b't'; u.int_in_range(40..=300)?]
        } else {
            TARGETS[u.choose_index(TARGETS.len())?].as_bytes().to_vec()
        }))
    }
}

/// Bytes to write: `pattern(len, seed)`, up to 48 bytes.
#[derive(Copy, Clone, Debug)]
pub struct Data {
    /// `len % 49` bytes.
    pub len: u8,
    /// Varies the bytes.
    pub seed: u8,
}

impl Data {
    /// The bytes: `pattern(len % 49, seed)`.
    pub fn bytes(self) -> Vec<u8> {
        super::super::pattern(u64::from(self.len % 49), self.seed)
    }
}

/// An offset for `fd_pread`/`fd_pwrite`, or a size for
/// `fd_filestat_set_size`, near the file's size.
#[derive(Copy, Clone, Debug)]
pub enum Off {
    /// 0..=255.
    Abs(u8),
    /// The file's size plus this (at least 0).
    FromEnd(i8),
    /// 1 MiB: a sparse file past a small limit.
    Mib,
    /// `i64::MAX - n`: the kernel's last offsets.
    NearI64Max(u8),
    /// `u64::MAX`.
    U64Max,
}

impl Off {
    /// The offset, for a file of `size` bytes.
    pub fn get(self, size: u64) -> u64 {
        match self {
            Off::Abs(n) => u64::from(n),
            Off::FromEnd(d) => size.saturating_add_signed(i64::from(d)),
            Off::Mib => 1 << 20,
            Off::NearI64Max(n) => i64::MAX as u64 - u64::from(n % 4),
            Off::U64Max => u64::MAX,
        }
    }
}

impl<'a> Arbitrary<'a> for Off {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(match u.int_in_range(0u8..=31)? {
            0..=13 => Off::Abs(u.arbitrary()?),
            14..=28 => Off::FromEnd(u.int_in_range(-8..=24)?),
            29 => Off::Mib,
            30 => Off::NearI64Max(u.arbitrary()?),
            _ => Off::U64Max,
        })
    }
}

/// The `fst_flags` of a set-times call (bits ATIM 1, ATIM_NOW 2, MTIM 4,
/// MTIM_NOW 8), including the invalid pairs.
#[derive(Copy, Clone, Debug)]
pub struct Fst(pub u16);

impl<'a> Arbitrary<'a> for Fst {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        const CHOICES: &[u16] = &[1, 4, 5, 5, 5, 2, 8, 10, 0, 3, 12, 6, 9];
        Ok(Fst(CHOICES[u.choose_index(CHOICES.len())?]))
    }
}

/// Where `fd_readdir` starts: the start, after the `k`th record of the
/// full listing (a cookie from the middle), or past the end.
#[derive(Copy, Clone, Debug)]
pub enum Cookie {
    /// Cookie 0 only.
    Start,
    /// The cookie of the `n % count`th record.
    After(u8),
    /// The last record's cookie: nothing after it.
    Past,
}

impl<'a> Arbitrary<'a> for Cookie {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(match u.int_in_range(0u8..=7)? {
            0..=2 => Cookie::Start,
            3..=6 => Cookie::After(u.arbitrary()?),
            _ => Cookie::Past,
        })
    }
}

/// One WASIp1 call (some ops are a short sequence: see each). An op of
/// four arguments or more carries them as a struct of its own ([`Open`],
/// [`Seek`], [`Advise`], [`PathSetTimes`], [`Rename`], [`Link`]), so that
/// a driver names the ones it uses.
#[derive(Clone, Debug)]
pub enum Op {
    /// `path_open`, then `fd_fdstat_get` on the new fd.
    Open(Open),
    /// `fd_write` at the fd's position.
    Write { fd: H, data: Data },
    /// `fd_pwrite`.
    Pwrite { fd: H, data: Data, offset: Off },
    /// `fd_read` of up to `len` bytes.
    Read { fd: H, len: u8 },
    /// `fd_pread`.
    Pread { fd: H, len: u8, offset: Off },
    /// `fd_seek`.
    Seek(Seek),
    /// `fd_tell`.
    Tell { fd: H },
    /// `fd_filestat_get` and `fd_fdstat_get`.
    Stat { fd: H },
    /// `fd_filestat_set_size`.
    SetSize { fd: H, size: Off },
    /// `fd_fdstat_set_flags` (0, APPEND, NONBLOCK, both, or a sync flag).
    SetFlags { fd: H, flags: u16 },
    /// `fd_filestat_set_times`, then `fd_filestat_get`.
    SetTimes { fd: H, fst: Fst },
    /// `fd_sync` (or `fd_datasync` if `data`).
    Sync { fd: H, data: bool },
    /// `fd_advise`.
    Advise(Advise),
    /// `fd_allocate` over a small range.
    Allocate { fd: H, offset: u8, len: u8 },
    /// `fd_close` (never the preopen: the final clean-up goes through it).
    Close { fd: H },
    /// `fd_renumber` between two handles (never onto or off the preopen).
    Renumber { from: H, to: H },
    /// `fd_readdir`: the full listing from cookie 0 in one big buffer,
    /// then paged with a small buffer (`page`), then resumed from `cookie`.
    Readdir { fd: H, page: u8, cookie: Cookie },
    /// `path_filestat_get`.
    PathStat { dir: H, path: PathArg, follow: bool },
    /// `path_filestat_set_times`, then `path_filestat_get` of the same path.
    PathSetTimes(PathSetTimes),
    /// `path_create_directory`.
    Mkdir { dir: H, path: PathArg },
    /// `path_remove_directory`.
    Rmdir { dir: H, path: PathArg },
    /// `path_unlink_file`.
    Unlink { dir: H, path: PathArg },
    /// `path_rename`.
    Rename(Rename),
    /// `path_link`.
    Link(Link),
    /// `path_symlink`.
    Symlink {
        target: Target,
        dir: H,
        path: PathArg,
    },
    /// `path_readlink` into a buffer of `buf_len` bytes (a small one cuts
    /// the target).
    Readlink { dir: H, path: PathArg, buf_len: u8 },
}

/// [`Op::Open`]'s arguments.
#[derive(Clone, Debug)]
pub struct Open {
    /// The directory.
    pub dir: H,
    /// The path in it.
    pub path: PathArg,
    /// Bits CREAT 1, DIRECTORY 2, EXCL 4, TRUNC 8.
    pub oflags: u8,
    /// Asks for the right `FD_READ`.
    pub read: bool,
    /// Asks for the right `FD_WRITE`.
    pub write: bool,
    /// APPEND (and rarely NONBLOCK or a sync flag: `ENOTSUP`).
    pub fdflags: u16,
    /// `LOOKUP_SYMLINK_FOLLOW`.
    pub follow: bool,
}

/// [`Op::Seek`]'s arguments.
#[derive(Clone, Debug)]
pub struct Seek {
    /// The fd.
    pub fd: H,
    /// The offset, -100..=100 (unless `extreme`).
    pub delta: i16,
    /// SET 0, CUR 1, END 2.
    pub whence: u8,
    /// The offset is `i64::MAX` (`delta` at least 0) or `i64::MIN`.
    pub extreme: bool,
}

/// [`Op::Advise`]'s arguments: `advice % 6` over a small range.
#[derive(Clone, Debug)]
pub struct Advise {
    /// The fd.
    pub fd: H,
    /// Where the range starts.
    pub offset: u8,
    /// How long it is.
    pub len: u8,
    /// The advice, `% 6`.
    pub advice: u8,
}

/// [`Op::PathSetTimes`]'s arguments.
#[derive(Clone, Debug)]
pub struct PathSetTimes {
    /// The directory.
    pub dir: H,
    /// The path in it.
    pub path: PathArg,
    /// `LOOKUP_SYMLINK_FOLLOW`.
    pub follow: bool,
    /// Which times to set, and how.
    pub fst: Fst,
}

/// [`Op::Rename`]'s arguments.
#[derive(Clone, Debug)]
pub struct Rename {
    /// The source's directory.
    pub from_dir: H,
    /// The source's path in it.
    pub from: PathArg,
    /// The target's directory.
    pub to_dir: H,
    /// The target's path in it.
    pub to: PathArg,
}

/// [`Op::Link`]'s arguments.
#[derive(Clone, Debug)]
pub struct Link {
    /// The existing name's directory.
    pub from_dir: H,
    /// The existing name's path in it.
    pub from: PathArg,
    /// `LOOKUP_SYMLINK_FOLLOW` (`EINVAL`).
    pub follow: bool,
    /// The new name's directory.
    pub to_dir: H,
    /// The new name's path in it.
    pub to: PathArg,
}

arbitrary_fields! {
    Data { len, seed }
    Advise { fd, offset, len, advice }
    PathSetTimes { dir, path, follow, fst }
    Rename { from_dir, from, to_dir, to }
    SmallLimits { files, file_size, total }
}

impl<'a> Arbitrary<'a> for Open {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Open {
            dir: u.arbitrary()?,
            path: u.arbitrary()?,
            oflags: if u.ratio(2u8, 3)? {
                // Mostly CREAT, so there are files.
                1 | (u.int_in_range(0u8..=15)? & !2)
            } else {
                u.int_in_range(0..=15)?
            },
            read: u.arbitrary()?,
            write: u.arbitrary()?,
            fdflags: match u.int_in_range(0u8..=15)? {
                0..=3 => 1,
                4 => 4,
                5 => *u.choose(&[2, 8, 16, 17])?,
                _ => 0,
            },
            follow: u.arbitrary()?,
        })
    }
}

impl<'a> Arbitrary<'a> for Seek {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Seek {
            fd: u.arbitrary()?,
            delta: u.int_in_range(-100..=100)?,
            whence: u.int_in_range(0..=2)?,
            extreme: u.ratio(1u8, 10)?,
        })
    }
}

impl<'a> Arbitrary<'a> for Link {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Link {
            from_dir: u.arbitrary()?,
            from: u.arbitrary()?,
            follow: u.ratio(1u8, 10)?,
            to_dir: u.arbitrary()?,
            to: u.arbitrary()?,
        })
    }
}

impl<'a> Arbitrary<'a> for Op {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(match u.int_in_range(0u8..=44)? {
            0..=6 => Op::Open(u.arbitrary()?),
            7..=9 => drawn!(u, Op::Write { fd, data }),
            10..=11 => drawn!(u, Op::Pwrite { fd, data, offset }),
            12 => drawn!(u, Op::Read { fd, len }),
            13 => drawn!(u, Op::Pread { fd, len, offset }),
            14 => Op::Seek(u.arbitrary()?),
            15 => drawn!(u, Op::Tell { fd }),
            16 => drawn!(u, Op::Stat { fd }),
            17..=18 => drawn!(u, Op::SetSize { fd, size }),
            19 => Op::SetFlags {
                fd: u.arbitrary()?,
                flags: *u.choose(&[0, 1, 4, 5, 2, 16])?,
            },
            20 => drawn!(u, Op::SetTimes { fd, fst }),
            21 => match u.int_in_range(0u8..=2)? {
                0 => drawn!(u, Op::Sync { fd, data }),
                1 => Op::Advise(u.arbitrary()?),
                _ => drawn!(u, Op::Allocate { fd, offset, len }),
            },
            22..=23 => drawn!(u, Op::Close { fd }),
            24 => drawn!(u, Op::Renumber { from, to }),
            25..=26 => drawn!(u, Op::Readdir { fd, page, cookie }),
            27..=28 => drawn!(u, Op::PathStat { dir, path, follow }),
            29 => Op::PathSetTimes(u.arbitrary()?),
            30..=31 => drawn!(u, Op::Mkdir { dir, path }),
            32..=33 => drawn!(u, Op::Rmdir { dir, path }),
            34 => drawn!(u, Op::Unlink { dir, path }),
            35..=38 => Op::Rename(u.arbitrary()?),
            39..=40 => Op::Link(u.arbitrary()?),
            41..=42 => drawn!(u, Op::Symlink { target, dir, path }),
            _ => Op::Readlink {
                dir: u.arbitrary()?,
                path: u.arbitrary()?,
                // Often too small for the target: it is cut.
                buf_len: if u.arbitrary()? {
                    u.int_in_range(0..=4)?
                } else {
                    u.arbitrary()?
                },
            },
        })
    }
}

/// One thing a memory directory starts with (and the reference directory,
/// made the same on the host).
#[derive(Clone, Debug)]
pub enum Preload {
    /// A file of `data`'s bytes (missing directories made).
    File { path: &'static str, data: Data },
    /// A directory.
    Dir { path: &'static str },
    /// A symbolic link to `target` (left out if it is not UTF-8 or the
    /// host cannot store it).
    Symlink { path: &'static str, target: Target },
}

impl<'a> Arbitrary<'a> for Preload {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        const PATHS: &[&str] = &["a", "b", "d/a", "d/b", "d/e/a", "e/a", "l", "d/l", "m"];
        let path = PATHS[u.choose_index(PATHS.len())?];
        Ok(match u.int_in_range(0u8..=5)? {
            0..=2 => Preload::File {
                path,
                data: u.arbitrary()?,
            },
            3 => Preload::Dir { path },
            _ => Preload::Symlink {
                path,
                target: u.arbitrary()?,
            },
        })
    }
}

/// Small limits for a case: then a limit errno from the memory directory
/// is checked against the model's count instead of the reference's answer.
#[derive(Copy, Clone, Debug)]
pub struct SmallLimits {
    /// `max_files`: 1..=8.
    pub files: u8,
    /// `max_file_size`: 8..=135 bytes.
    pub file_size: u8,
    /// `max_total_size`: 16..=143 bytes (often below `max_file_size`, so
    /// the quota is reached before the per-file size).
    pub total: u8,
}

impl SmallLimits {
    /// As `Limits`.
    pub fn limits(self) -> wasi_memfd::Limits {
        let mut limits = wasi_memfd::Limits::default();
        limits.max_files = usize::from(self.files % 8) + 1;
        limits.max_file_size = 8 + u64::from(self.file_size % 128);
        limits.max_total_size = 16 + u64::from(self.total % 128);
        limits
    }
}
