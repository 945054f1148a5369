//! A model test of wasi-memfd: random sequences of guest calls, run through
//! a real WASIp1 store and a real component store, each answer compared
//! with a plain in-memory model.
//!
//! One driver, two feeders: `tests/host/model_tests.rs` feeds it from a
//! seeded PRNG (the test command), `fuzz/fuzz_targets/model.rs` from
//! libFuzzer (with coverage guidance), both through
//! [`arbitrary::Unstructured`] into a [`Case`] and [`run`].
//!
//! - [`Op`] is one guest call, with small arguments (data up to 4 KiB,
//!   offsets near the file sizes plus the extremes, names including the
//!   empty one, NUL, non-UTF-8 and over 249 bytes);
//! - [`state`] is the model: files as `Vec<u8>`, who holds them, the
//!   limits, and the per-ABI rules as plain functions;
//! - [`p1`] drives a WASIp1 store through the trampoline guest
//!   ([`crate::p1::Guest`]);
//! - [`component`] drives a component store through the probe component
//!   ([`crate::probe`]);
//! - [`paths`] is a model of its own, for memory directories: the same
//!   path calls in a memory directory and in a real one through
//!   wasmtime-wasi, every answer compared.
//!
//! Each driver applies an op to the store and to the model, asserts that the
//! answers match (errno or error code, bytes read, positions, sizes, fd
//! numbers) and that `WasiMemfdCtx::usage()` equals the model's; at the end
//! it compares every open file's bytes, closes everything and asserts that
//! usage is back to zero. The limits are small ([`limits`]) so every limit
//! error is reached within a few ops.

/// `drawn!(u, Op::Write { fd, data })`: the struct or variant with each
/// field named drawn from `u` by its type's own `Arbitrary`, in the order
/// named (the impls are written out, not derived: see [`Op`]).
macro_rules! drawn {
    ($u:ident, $($name:ident)::+ { $($field:ident),+ $(,)? }) => {
        $($name)::+ { $($field: $u.arbitrary()?),+ }
    };
}

/// `Arbitrary` for structs of an op's arguments whose every field is
/// [`drawn!`].
macro_rules! arbitrary_fields {
    ($($name:ident { $($field:ident),+ })+) => {$(
        impl<'a> ::arbitrary::Arbitrary<'a> for $name {
            fn arbitrary(u: &mut ::arbitrary::Unstructured<'a>) -> ::arbitrary::Result<Self> {
                Ok(drawn!(u, $name { $($field),+ }))
            }
        }
    )+};
}

pub mod component;
pub mod p1;
pub mod paths;
pub mod state;

use arbitrary::{Arbitrary, Unstructured};
use wasi_memfd::{Backend, MAX_NAME_LEN};

use crate::probe;
pub use crate::trampoline::errno;
pub use state::Whence;
pub use wasi_memfd::Limits;

thread_local! {
    /// The pool the drivers on this thread build their stores with, inside
    /// [`with_pool`].
    static POOL: std::cell::RefCell<Option<wasi_memfd::Pool>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `f` with the drivers on this thread taking memory files from a new
/// [`wasi_memfd::Pool`] (memfd backend only) of eight small files (the
/// model's data is a few KiB: a large file would never serve it): what the
/// guest observes must not change. Returns what `f` returned and what the
/// pool did.
pub fn with_pool<R>(f: impl FnOnce() -> R) -> (R, wasi_memfd::PoolStats) {
    let mut config = wasi_memfd::PoolConfig::default();
    config.small_files = 8;
    let pool = wasi_memfd::Pool::new(config).expect("starting the model's pool");
    POOL.set(Some(pool.clone()));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    POOL.set(None);
    let result = result.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    (result, pool.stats())
}

/// The pool the drivers use inside [`with_pool`], if any.
pub fn pool() -> Option<wasi_memfd::Pool> {
    POOL.with_borrow(|pool| pool.clone())
}

/// Most bytes of data one op passes or asks for.
pub const MAX_DATA: u64 = 4096;

/// The store's limits: small, so a few ops reach each of them.
pub fn limits() -> Limits {
    // `Limits` is non-exhaustive: start from the defaults, set each field.
    let mut limits = Limits::default();
    limits.max_file_size = 3 * 1024;
    limits.max_total_size = 8 * 1024;
    limits.max_files = 8;
    limits
}

/// The files the host attaches before the guest runs: name, bytes,
/// writable. `rw` is larger than `max_file_size` (preopened files are the
/// host's: no per-file limit, no quota) and spans a page boundary; the
/// empty name is a valid name, here for an empty writable file.
pub fn preopens() -> Vec<(&'static str, Vec<u8>, bool)> {
    vec![
        ("ro", (0..700).map(|i| (i * 3 % 256) as u8).collect(), false),
        ("rw", (0..5000).map(|i| (i % 253) as u8).collect(), true),
        ("", Vec::new(), true),
    ]
}

/// The context every driver's store starts with: `backend`, [`limits`],
/// [`pool`] (inside [`with_pool`]) and [`preopens`].
pub fn memfd_ctx(backend: Backend) -> wasi_memfd::WasiMemfdCtx {
    let mut builder = wasi_memfd::WasiMemfdCtx::builder();
    builder.backend(backend).limits(limits());
    if let Some(pool) = pool() {
        builder.pool(&pool);
    }
    for (name, data, writable) in preopens() {
        builder
            .preopen_bytes(name, &data, writable)
            .expect("attaching the model's preopens");
    }
    builder.build()
}

/// `len` bytes that differ from their neighbours, varied by `seed`.
pub fn pattern(len: u64, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i % 251) as u8).wrapping_add(seed))
        .collect()
}

// ---------------------------------------------------------------------------
// The ops.

/// One guest call. Ops an ABI has no counterpart for are skipped by its
/// driver (noted on each). An op of four arguments or more carries them as
/// a struct of its own ([`FromBytes`], [`Pread`], [`Write`], [`Pwrite`]),
/// so that a driver names the ones it uses.
///
/// The `Arbitrary` impls here are written out rather than derived:
/// `arbitrary`'s `derive` feature would also reach the `arbitrary` that
/// Cranelift builds with, so the runner built alone (the demo) would
/// rebuild wasmtime after the tests.
#[derive(Clone, Debug)]
pub enum Op {
    /// `from_bytes` / `from-bytes`.
    FromBytes(FromBytes),
    /// WASIp1 only: `from_bytes` with a range outside linear memory.
    FromBytesFault { what: Fault },
    /// `open_preopened` / `open-preopened`.
    OpenPreopened { name: PreopenName },
    /// WASIp1 only: `fd_read` at the fd's position into two iovecs, the
    /// first of `split` bytes (cut to `len`).
    Read { fd: FdRef, len: Len, split: u16 },
    /// `fd_pread` (two iovecs, as `Read`) / `descriptor.read`.
    Pread(Pread),
    /// WASIp1 only: `fd_write` at the fd's position.
    Write(Write),
    /// `fd_pwrite` / `descriptor.write`.
    Pwrite(Pwrite),
    /// WASIp1 only: `fd_seek`.
    Seek {
        fd: FdRef,
        delta: Delta,
        whence: Whence,
    },
    /// WASIp1 only: `fd_tell`.
    Tell { fd: FdRef },
    /// `fd_filestat_get` + `fd_fdstat_get` / `stat` + `get-type` +
    /// `get-flags`.
    Stat { fd: FdRef },
    /// `fd_filestat_set_size` / `descriptor.set-size`.
    SetSize { fd: FdRef, size: NewSize },
    /// WASIp1 only: `fd_renumber`.
    Renumber { from: FdRef, to: FdRef },
    /// `fd_close` / dropping the descriptor.
    Close { fd: FdRef },
    /// Components only: `read-via-stream` at `offset`.
    OpenStream { fd: FdRef, offset: Offset },
    /// Components only: `input-stream.blocking-read`.
    StreamRead { stream: u8, len: Len },
    /// Components only: dropping an input stream.
    DropStream { stream: u8 },
}

/// [`Op::FromBytes`]'s arguments: a memory file of `pattern(len, seed)`.
#[derive(Copy, Clone, Debug)]
pub struct FromBytes {
    /// How many bytes.
    pub len: Len,
    /// Varies the bytes.
    pub seed: u8,
    /// The file's name.
    pub name: Name,
    /// Whether the guest may write to it.
    pub writable: bool,
    /// WASIp1: also set an unknown flag bit (`EINVAL`). Components pass a
    /// `bool`: ignored.
    pub unknown_flag: bool,
}

/// [`Op::Pread`]'s arguments.
#[derive(Copy, Clone, Debug)]
pub struct Pread {
    /// The fd.
    pub fd: FdRef,
    /// How many bytes to read.
    pub len: Len,
    /// Where.
    pub offset: Offset,
    /// The first iovec's length (WASIp1).
    pub split: u16,
}

/// [`Op::Write`]'s arguments: `pattern(len, seed)`.
#[derive(Copy, Clone, Debug)]
pub struct Write {
    /// The fd.
    pub fd: FdRef,
    /// How many bytes.
    pub len: Len,
    /// Varies the bytes.
    pub seed: u8,
    /// The first iovec's length.
    pub split: u16,
}

/// [`Op::Pwrite`]'s arguments: `pattern(len, seed)` at `offset`.
#[derive(Copy, Clone, Debug)]
pub struct Pwrite {
    /// The fd.
    pub fd: FdRef,
    /// How many bytes.
    pub len: Len,
    /// Varies the bytes.
    pub seed: u8,
    /// Where.
    pub offset: Offset,
    /// The first iovec's length (WASIp1).
    pub split: u16,
}

arbitrary_fields! {
    FromBytes { len, seed, name, writable, unknown_flag }
    Pread { fd, len, offset, split }
    Write { fd, len, seed, split }
    Pwrite { fd, len, seed, offset, split }
}

impl<'a> Arbitrary<'a> for Op {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u.choose_index(16)? {
            0 => Op::FromBytes(u.arbitrary()?),
            1 => drawn!(u, Op::FromBytesFault { what }),
            2 => drawn!(u, Op::OpenPreopened { name }),
            3 => drawn!(u, Op::Read { fd, len, split }),
            4 => Op::Pread(u.arbitrary()?),
            5 => Op::Write(u.arbitrary()?),
            6 => Op::Pwrite(u.arbitrary()?),
            7 => drawn!(u, Op::Seek { fd, delta, whence }),
            8 => drawn!(u, Op::Tell { fd }),
            9 => drawn!(u, Op::Stat { fd }),
            10 => drawn!(u, Op::SetSize { fd, size }),
            11 => drawn!(u, Op::Renumber { from, to }),
            12 => drawn!(u, Op::Close { fd }),
            13 => drawn!(u, Op::OpenStream { fd, offset }),
            14 => drawn!(u, Op::StreamRead { stream, len }),
            _ => drawn!(u, Op::DropStream { stream }),
        })
    }
}

/// Which fd or descriptor an op is about.
///
/// WASIp1: below 224 one of the open memory-file fds (if any), 224..240 a
/// closed one (the next number to be reused, if any), 240.. one never
/// opened; `fd_renumber` also takes stdin (fd 0, wasmtime-wasi's) for
/// 248.. . Components: always one of the open descriptors (a dropped handle
/// would trap the guest); the op is skipped when none is open.
#[derive(Copy, Clone, Debug)]
pub struct FdRef(pub u8);

impl<'a> Arbitrary<'a> for FdRef {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(FdRef(u.arbitrary()?))
    }
}

/// How many bytes an op passes or asks for, at most [`MAX_DATA`].
#[derive(Copy, Clone, Debug)]
pub enum Len {
    Zero,
    Tiny(u8),
    Small(u8),
    /// `max_file_size` - 2 ..= + 2: the per-file limit's edge.
    AtLimit(u8),
    Big(u16),
}

impl Len {
    pub fn get(self) -> u64 {
        match self {
            Len::Zero => 0,
            Len::Tiny(n) => u64::from(n % 16),
            Len::Small(n) => u64::from(n),
            Len::AtLimit(n) => limits().max_file_size - 2 + u64::from(n % 5),
            Len::Big(n) => u64::from(n) % (MAX_DATA + 1),
        }
    }
}

impl<'a> Arbitrary<'a> for Len {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u.int_in_range(0u8..=9)? {
            0 => Len::Zero,
            1..=2 => Len::Tiny(u.arbitrary()?),
            3..=5 => Len::Small(u.arbitrary()?),
            6 => Len::AtLimit(u.arbitrary()?),
            _ => Len::Big(u.arbitrary()?),
        })
    }
}

/// An offset for `pread`, `pwrite` or `read-via-stream`.
#[derive(Copy, Clone, Debug)]
pub enum Offset {
    /// `n % 5200`: inside or past the files of a few KiB.
    Near(u16),
    /// The file's size plus `d` (at least 0).
    FromEnd(i8),
    /// 2^40: far past the end, still a valid file offset.
    Tera,
    /// `i64::MAX`: the kernel's last offset.
    I64Max,
    /// `u64::MAX`: past what the kernel takes.
    U64Max,
}

impl Offset {
    pub fn get(self, size: u64) -> u64 {
        match self {
            Offset::Near(n) => u64::from(n) % 5200,
            Offset::FromEnd(d) => size.saturating_add_signed(i64::from(d)),
            Offset::Tera => 1 << 40,
            Offset::I64Max => i64::MAX as u64,
            Offset::U64Max => u64::MAX,
        }
    }
}

impl<'a> Arbitrary<'a> for Offset {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u.int_in_range(0u8..=15)? {
            0..=6 => Offset::Near(u.arbitrary()?),
            7..=12 => Offset::FromEnd(u.arbitrary()?),
            13 => Offset::Tera,
            14 => Offset::I64Max,
            _ => Offset::U64Max,
        })
    }
}

/// A `fd_seek` offset.
#[derive(Copy, Clone, Debug)]
pub enum Delta {
    /// `n % 5200`, either sign.
    Small(i16),
    /// `i64::MAX` or `i64::MIN`.
    Extreme(bool),
}

impl Delta {
    pub fn get(self) -> i64 {
        match self {
            Delta::Small(n) => i64::from(n) % 5200,
            Delta::Extreme(true) => i64::MAX,
            Delta::Extreme(false) => i64::MIN,
        }
    }
}

impl<'a> Arbitrary<'a> for Delta {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(if u.ratio(1u8, 10)? {
            Delta::Extreme(u.arbitrary()?)
        } else {
            Delta::Small(u.arbitrary()?)
        })
    }
}

/// A size for `set_size`, relative to the file's.
#[derive(Copy, Clone, Debug)]
pub enum NewSize {
    Same,
    Plus(u8),
    Minus(u8),
    Zero,
    Tera,
    Max,
}

impl NewSize {
    pub fn get(self, size: u64) -> u64 {
        match self {
            NewSize::Same => size,
            NewSize::Plus(d) => size + u64::from(d) + 1,
            NewSize::Minus(d) => size.saturating_sub(u64::from(d) + 1),
            NewSize::Zero => 0,
            NewSize::Tera => 1 << 40,
            NewSize::Max => u64::MAX,
        }
    }
}

impl<'a> Arbitrary<'a> for NewSize {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u.choose_index(6)? {
            0 => NewSize::Same,
            1 => NewSize::Plus(u.arbitrary()?),
            2 => NewSize::Minus(u.arbitrary()?),
            3 => NewSize::Zero,
            4 => NewSize::Tera,
            _ => NewSize::Max,
        })
    }
}

/// A `from-bytes` name.
#[derive(Copy, Clone, Debug)]
pub enum Name {
    /// `f` and a number: never a preopened name.
    Short(u8),
    Empty,
    /// `a\0b`: `EINVAL` / `invalid-argument`.
    Nul,
    /// Exactly [`MAX_NAME_LEN`] bytes.
    Longest,
    /// [`MAX_NAME_LEN`] + 1 + `n % 8` bytes.
    TooLong(u8),
    /// Too long and holding a NUL: the length is checked first.
    TooLongWithNul,
    /// Two-byte characters, 248 to 252 bytes: the limit is in bytes.
    Multibyte(u8),
    /// `0xff 0xfe`: not UTF-8 (WASIp1 `EINVAL`; a component can only pass
    /// UTF-8, so it sends the replacement characters).
    NotUtf8,
}

impl Name {
    pub fn bytes(self) -> Vec<u8> {
        match self {
            Name::Short(n) => format!("f{n}").into_bytes(),
            Name::Empty => Vec::new(),
            Name::Nul => b"a\0b".to_vec(),
            Name::Longest => vec![b'n'; MAX_NAME_LEN],
            Name::TooLong(n) => vec![b'n'; MAX_NAME_LEN + 1 + usize::from(n % 8)],
            Name::TooLongWithNul => {
                let mut name = vec![b'n'; MAX_NAME_LEN + 3];
                name[1] = 0;
                name
            }
            Name::Multibyte(n) => "é".repeat(124 + usize::from(n % 3)).into_bytes(),
            Name::NotUtf8 => vec![0xff, 0xfe],
        }
    }
}

impl<'a> Arbitrary<'a> for Name {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u.choose_index(8)? {
            0 => Name::Short(u.arbitrary()?),
            1 => Name::Empty,
            2 => Name::Nul,
            3 => Name::Longest,
            4 => Name::TooLong(u.arbitrary()?),
            5 => Name::TooLongWithNul,
            6 => Name::Multibyte(u.arbitrary()?),
            _ => Name::NotUtf8,
        })
    }
}

/// An `open-preopened` name.
#[derive(Copy, Clone, Debug)]
pub enum PreopenName {
    /// `ro`, read-only.
    ReadOnly,
    /// `rw`, writable.
    Writable,
    /// Any [`Name`]: the empty one is attached (an empty writable file),
    /// the others are not (`ENOENT` / `not-found`) or break the rules.
    Other(Name),
}

impl PreopenName {
    pub fn bytes(self) -> Vec<u8> {
        match self {
            PreopenName::ReadOnly => b"ro".to_vec(),
            PreopenName::Writable => b"rw".to_vec(),
            PreopenName::Other(name) => name.bytes(),
        }
    }
}

impl<'a> Arbitrary<'a> for PreopenName {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u.choose_index(3)? {
            0 => PreopenName::ReadOnly,
            1 => PreopenName::Writable,
            _ => PreopenName::Other(u.arbitrary()?),
        })
    }
}

/// Which `from_bytes` range lies outside linear memory.
#[derive(Copy, Clone, Debug)]
pub enum Fault {
    Data,
    Name,
    FdOut,
}

impl<'a> Arbitrary<'a> for Fault {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(*u.choose(&[Fault::Data, Fault::Name, Fault::FdOut])?)
    }
}

// ---------------------------------------------------------------------------
// Feeding the drivers.

/// Most ops one input runs (a fuzz input can be long).
pub const MAX_OPS: usize = 256;

/// One input: which backend and wasi version to use, then the ops.
#[derive(Clone, Debug)]
pub struct Case {
    /// Both stores' backend.
    pub backend: Backend,
    pub wasi: probe::Wasi,
    pub ops: Vec<Op>,
}

impl<'a> Arbitrary<'a> for Case {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let backend = if u.arbitrary()? {
            Backend::Shm
        } else {
            Backend::Memfd
        };
        let wasi = if u.arbitrary()? {
            probe::Wasi::Wasmtime
        } else {
            probe::Wasi::V0_2_0
        };
        let mut ops = Vec::new();
        while ops.len() < MAX_OPS && !u.is_empty() {
            ops.push(arbitrary_op(u)?);
        }
        Ok(Case { backend, wasi, ops })
    }
}

/// One op, with the ops that open files four times as likely as the
/// plain [`Op::arbitrary`] makes them (1 in 16), so that sequences fill
/// the fd table and the quota often.
pub fn arbitrary_op(u: &mut Unstructured<'_>) -> arbitrary::Result<Op> {
    if !u.ratio(1u8, 4)? {
        return u.arbitrary();
    }
    Ok(if u.ratio(2u8, 3)? {
        Op::FromBytes(FromBytes {
            len: u.arbitrary()?,
            seed: u.arbitrary()?,
            name: u.arbitrary()?,
            writable: u.arbitrary()?,
            unknown_flag: u.ratio(1u8, 16)?,
        })
    } else {
        Op::OpenPreopened {
            name: u.arbitrary()?,
        }
    })
}

/// The outcomes the drivers saw, such as `p1 from_bytes EFBIG` or
/// `component set-size NotPermitted`. The seeded test checks that its
/// sequences reach every outcome it expects, so a generator that stopped
/// reaching a limit (or a driver that stopped calling something) fails it.
pub type Outcomes = std::collections::BTreeSet<String>;

/// Runs one case through both drivers; returns the outcomes seen.
pub fn run(case: &Case) -> Outcomes {
    let mut seen = p1::run(&case.ops, case.backend);
    seen.extend(component::run(&case.ops, case.wasi, case.backend));
    seen
}

/// Decodes `data` as the fuzz target does (`Case::arbitrary_take_rest`);
/// `None` if it is no case (the fuzz target skips such inputs).
pub fn decode(data: &[u8]) -> Option<Case> {
    Case::arbitrary_take_rest(Unstructured::new(data)).ok()
}
