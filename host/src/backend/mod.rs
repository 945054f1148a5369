//! Anonymous memory files: made, filled with one copy, and sealed, by one of
//! three backends behind one small interface.
//!
//! - [`Backend::Memfd`] (Linux, `memfd.rs`): `memfd_create`, sealed.
//! - [`Backend::Shm`] (every Unix, `shm.rs`; selectable on Linux so the tests
//!   cover it): POSIX shared memory under a random name, unlinked at once.
//! - Neither (`unsupported.rs`): where the platform lacks one, every call
//!   answers [`UNSUPPORTED`] (`unsupported` for the guest), so no memory file
//!   ever exists there and the I/O on one is never reached.
//!
//! Each backend module has `blank`: make an empty file that will hold `len`
//! bytes. The memfd backend (and its stand-in, `unsupported.rs`) also has
//! `seal`, which adds the seals a [`Seal`] asks for (shared memory has none),
//! and `prepared`, a file for the [`Pool`](crate::Pool), which serves memfd
//! only. Bytes go in with `pwrite` on every backend but macOS's shared
//! memory, filled through a mapping. This module builds the rest on these:
//! every file is
//! made in three steps, [`blank`], [`Blank::fill_at`] and [`Blank::finish`],
//! so a large copy can be done in chunks (the async linkers yield between
//! them) and every step can fail under the tests' fault injection
//! ([`crate::faults`]).

use rustix::io::Errno;
use std::fs::File;

use crate::error::ErrorCode;
use crate::faults::{self, Step};

#[cfg(any(target_os = "linux", target_os = "android"))]
mod memfd;
#[cfg(unix)]
mod shm;
#[cfg(not(all(unix, any(target_os = "linux", target_os = "android"))))]
mod unsupported;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
use unsupported as memfd;
#[cfg(not(unix))]
use unsupported as shm;

/// The longest name a memory file can have, in bytes: Linux's limit for a
/// `memfd_create` name (`NAME_MAX` less the `memfd:` prefix).
pub const MAX_NAME_LEN: usize = 249;

/// What a backend this platform lacks answers: `unsupported` for the guest
/// ([`ErrorCode::from_system`]). `EOPNOTSUPP`, the one such errno that
/// rustix has on every platform (Windows has no `ENOSYS`).
#[cfg_attr(unix, allow(dead_code))]
pub(crate) const UNSUPPORTED: Errno = Errno::OPNOTSUPP;

/// How memory files are made.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// Linux `memfd_create`, sealed. The default on Linux and Android.
    Memfd,
    /// POSIX shared memory under a random name, unlinked at once. The default
    /// elsewhere.
    Shm,
}

impl Default for Backend {
    fn default() -> Self {
        if cfg!(any(target_os = "linux", target_os = "android")) {
            Backend::Memfd
        } else {
            Backend::Shm
        }
    }
}

/// What a finished file allows, and the seals that keep it so (memfd; shared
/// memory has no seals: wasi-memfd keeps the rules itself).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Seal {
    /// Nobody, host or guest, can change its bytes or size
    /// (`F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL`).
    ReadOnly,
    /// Bytes can be overwritten in place; the size never changes
    /// (`F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL`).
    FixedSize,
    /// A file in a memory directory: it grows and shrinks as the guest
    /// writes and truncates it (no seals).
    Growable,
}

/// A memory file that exists but is not yet filled and sealed: what
/// [`blank`] makes. Fill it with [`Blank::fill_at`] (once, or in chunks at
/// increasing offsets), then [`Blank::finish`] seals it and hands it out.
/// Dropping it instead closes everything it holds.
#[derive(Debug)]
pub(crate) struct Blank {
    /// The read-write descriptor the bytes are written through.
    rw: File,
    /// For a read-only shared-memory file, the `O_RDONLY` descriptor that
    /// is handed out instead of `rw`.
    read_only: Option<File>,
    /// Seals to add when finished (memfd only).
    seal: Option<Seal>,
    /// Bytes the file holds once filled.
    len: u64,
    /// Bytes copied in so far (the next offset).
    filled: u64,
    /// The file's size before it is filled: 0 for a new file, the bytes
    /// allocated ahead for a large pooled one (trimmed to `len` when
    /// finished).
    size: u64,
}

/// Makes an empty memory file that will hold `len` bytes.
///
/// On error nothing is left behind: every descriptor made so far is closed
/// and a shared-memory name is already unlinked.
pub(crate) fn blank(
    backend: Backend,
    name: &str,
    len: u64,
    seal: Seal,
) -> Result<Blank, ErrorCode> {
    match backend {
        Backend::Memfd => memfd::blank(name, len, seal),
        Backend::Shm => shm::blank(name, len, seal),
    }
    .map_err(ErrorCode::from_system)
}

/// Makes a memory file holding a copy of `data`: [`blank`], one
/// [`Blank::fill_at`], [`Blank::finish`].
///
/// The file is at offset 0 (it is only ever used with positioned I/O).
pub(crate) fn create(
    backend: Backend,
    name: &str,
    data: &[u8],
    seal: Seal,
) -> Result<File, ErrorCode> {
    let mut blank = blank(backend, name, data.len() as u64, seal)?;
    blank.fill_at(data)?;
    blank.finish()
}

/// A [`Blank`] for `len` bytes over a memfd the pool prepared, `size` bytes
/// long (its bytes allocated ahead; 0 for a small one).
pub(crate) fn blank_pooled(file: File, size: u64, len: u64, seal: Seal) -> Blank {
    Blank::new(file, None, Some(seal), len, size)
}

/// A memfd for the pool, named `wasi-memfd:pooled` (a memfd's name is fixed
/// when it is made), with `capacity` bytes allocated (0: none).
pub(crate) fn prepared(capacity: u64) -> Result<File, Errno> {
    memfd::prepared(capacity)
}

impl Blank {
    fn new(rw: File, read_only: Option<File>, seal: Option<Seal>, len: u64, size: u64) -> Blank {
        Blank {
            rw,
            read_only,
            seal,
            len,
            filled: 0,
            size,
        }
    }

    /// Copies `data` in after what was copied so far.
    pub(crate) fn fill_at(&mut self, data: &[u8]) -> Result<(), ErrorCode> {
        let end = self.filled + data.len() as u64;
        debug_assert!(end <= self.len, "filled past the announced length");
        faults::check(Step::Fill)
            .and_then(|()| fill(&self.rw, data, self.filled))
            .map_err(ErrorCode::from_system)?;
        self.filled = end;
        Ok(())
    }

    /// Seals the filled file and returns the descriptor the guest gets.
    pub(crate) fn finish(self) -> Result<File, ErrorCode> {
        debug_assert_eq!(self.filled, self.len, "finished before it was filled");
        if self.size > self.len {
            faults::check(Step::Seal)
                .and_then(|()| set_len(&self.rw, self.len))
                .map_err(ErrorCode::from_system)?;
        }
        if let Some(seal) = self.seal {
            faults::check(Step::Seal)
                .and_then(|()| memfd::seal(&self.rw, seal))
                .map_err(ErrorCode::from_system)?;
        }
        Ok(self.read_only.unwrap_or(self.rw))
    }
}

/// Copies `data` into `file` at `offset`: with `pwrite` everywhere but on
/// macOS's shared memory, which refuses it (`shm.rs` fills through a
/// mapping there).
fn fill(file: &File, data: &[u8], offset: u64) -> Result<(), Errno> {
    #[cfg(target_vendor = "apple")]
    {
        shm::fill_mapped(file, data, offset)
    }
    #[cfg(not(target_vendor = "apple"))]
    {
        pwrite_all(file, data, offset)
    }
}

/// Writes all of `data` at `offset` with `pwrite` (through short writes and
/// `EINTR`), leaving the file offset where it was.
#[cfg(all(unix, not(target_vendor = "apple")))]
pub(crate) fn pwrite_all(file: &File, data: &[u8], offset: u64) -> Result<(), Errno> {
    use std::os::unix::fs::FileExt;
    file.write_all_at(data, offset)
        .map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::IO))
}

/// Not Unix: never reached (no memory file can be made).
#[cfg(not(unix))]
pub(crate) fn pwrite_all(_file: &File, _data: &[u8], _offset: u64) -> Result<(), Errno> {
    Err(UNSUPPORTED)
}

/// macOS: shared memory is sized once and refuses `pwrite`, so it cannot be
/// written after it is filled (memory directories are not served there).
#[cfg(target_vendor = "apple")]
pub(crate) fn pwrite_all(_file: &File, _data: &[u8], _offset: u64) -> Result<(), Errno> {
    Err(UNSUPPORTED)
}

/// Sets the file's size (trims a pooled file, resizes a growable one).
pub(crate) fn set_len(file: &File, len: u64) -> Result<(), Errno> {
    #[cfg(unix)]
    {
        rustix::fs::ftruncate(file, len)
    }
    #[cfg(not(unix))]
    {
        let _ = (file, len);
        Err(UNSUPPORTED)
    }
}

/// Reads all bytes of `file` (from offset 0, through `pread`, straight into
/// the returned buffer), for the embedder reading back what a guest wrote.
pub(crate) fn read_all(file: &File) -> std::io::Result<Vec<u8>> {
    #[cfg(unix)]
    {
        let len = rustix::fs::fstat(file)?.st_size;
        let len = usize::try_from(len).map_err(|_| Errno::FBIG)?;
        let mut bytes = vec![0u8; len];
        let n = pread_full(file, &mut bytes, 0)?;
        bytes.truncate(n);
        Ok(bytes)
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        Err(std::io::ErrorKind::Unsupported.into())
    }
}

/// Most bytes [`copy_to`] holds at once.
const COPY_CHUNK: usize = 1 << 20;

/// Writes all bytes of `file` (from offset 0, through `pread`; the fd's
/// own offset is left alone) to `out`, a chunk of at most 1 MiB at a time,
/// so a large file is never held in memory a second time. Returns how many
/// bytes it wrote.
pub(crate) fn copy_to(file: &File, out: &mut dyn std::io::Write) -> std::io::Result<u64> {
    #[cfg(unix)]
    {
        let len = rustix::fs::fstat(file)?.st_size;
        let len = u64::try_from(len).map_err(|_| Errno::FBIG)?;
        let mut buf = vec![0u8; usize::try_from(len).unwrap_or(COPY_CHUNK).min(COPY_CHUNK)];
        let mut done = 0u64;
        while done < len {
            let want = usize::try_from(len - done)
                .unwrap_or(COPY_CHUNK)
                .min(buf.len());
            let n = pread_full(file, &mut buf[..want], done)?;
            out.write_all(&buf[..n])?;
            done += n as u64;
            if n < want {
                // The file shrank meanwhile: what is there is all.
                break;
            }
        }
        Ok(done)
    }
    #[cfg(not(unix))]
    {
        let _ = (file, out, COPY_CHUNK);
        Err(std::io::ErrorKind::Unsupported.into())
    }
}

/// Reads at `offset` until `buf` is full or the file ends: how many bytes.
#[cfg(unix)]
fn pread_full(file: &File, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
    let mut filled = 0;
    while filled < buf.len() {
        match rustix::io::pread(file, &mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// `wasi-memfd:<name>`, cut to [`MAX_NAME_LEN`] bytes at a character
/// boundary. The caller has checked that `name` holds no NUL.
#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
fn memfd_name(name: &str) -> std::ffi::CString {
    /// So `/proc/<pid>/fd` shows where a file came from.
    const NAME_PREFIX: &str = "wasi-memfd:";
    let mut full = String::with_capacity(NAME_PREFIX.len() + name.len());
    full.push_str(NAME_PREFIX);
    full.push_str(name);
    let mut end = full.len().min(MAX_NAME_LEN);
    while !full.is_char_boundary(end) {
        end -= 1;
    }
    full.truncate(end);
    std::ffi::CString::new(full).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::fs::{fcntl_add_seals, fcntl_get_seals, fstat, ftruncate, SealFlags};

    fn contents(file: &File) -> Vec<u8> {
        read_all(file).unwrap()
    }

    #[test]
    fn read_only_memfd_is_sealed_against_every_change() {
        let file = create(Backend::Memfd, "ro", b"hello", Seal::ReadOnly).unwrap();
        let seals = fcntl_get_seals(&file).unwrap();
        for seal in [
            SealFlags::SHRINK,
            SealFlags::GROW,
            SealFlags::WRITE,
            SealFlags::SEAL,
        ] {
            assert!(seals.contains(seal), "{seal:?} missing from {seals:?}");
        }
        assert_eq!(contents(&file), b"hello");
        let at = rustix::fs::seek(&file, rustix::fs::SeekFrom::Current(0)).unwrap();
        assert_eq!(at, 0, "the file offset is left at 0");
        assert_eq!(rustix::io::pwrite(&file, b"J", 0), Err(Errno::PERM));
        assert_eq!(ftruncate(&file, 1), Err(Errno::PERM));
        assert_eq!(ftruncate(&file, 100), Err(Errno::PERM));
        assert_eq!(fcntl_add_seals(&file, SealFlags::empty()), Err(Errno::PERM));
        assert_eq!(fstat(&file).unwrap().st_size, 5);
    }

    /// A writer that keeps what it was given and the size of each write.
    #[derive(Default)]
    struct Recorder {
        bytes: Vec<u8>,
        writes: Vec<usize>,
    }

    impl std::io::Write for Recorder {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.bytes.extend_from_slice(buf);
            self.writes.push(buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn copy_to_writes_the_whole_file_a_chunk_at_a_time() {
        let data: Vec<u8> = (0..(5 * COPY_CHUNK / 2)).map(|i| (i % 251) as u8).collect();
        let file = create(Backend::Memfd, "big", &data, Seal::Growable).unwrap();
        let mut out = Recorder::default();
        assert_eq!(copy_to(&file, &mut out).unwrap(), data.len() as u64);
        assert!(out.bytes == data, "the bytes written are the file's");
        assert_eq!(out.writes, [COPY_CHUNK, COPY_CHUNK, COPY_CHUNK / 2]);
        let at = rustix::fs::seek(&file, rustix::fs::SeekFrom::Current(0)).unwrap();
        assert_eq!(at, 0, "the file offset is left alone");
        let empty = create(Backend::Memfd, "empty", b"", Seal::Growable).unwrap();
        let mut out = Recorder::default();
        assert_eq!(copy_to(&empty, &mut out).unwrap(), 0);
        assert!(out.writes.is_empty());
    }

    #[test]
    fn fixed_size_memfd_writes_in_place_and_keeps_its_size() {
        let file = create(Backend::Memfd, "rw", b"hello", Seal::FixedSize).unwrap();
        let seals = fcntl_get_seals(&file).unwrap();
        assert!(seals.contains(SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL));
        assert!(!seals.contains(SealFlags::WRITE));
        assert_eq!(rustix::io::pwrite(&file, b"J", 0), Ok(1));
        assert_eq!(contents(&file), b"Jello");
        // Growing by a write past the end is refused by the GROW seal.
        assert_eq!(rustix::io::pwrite(&file, b"!", 5), Err(Errno::PERM));
        assert_eq!(ftruncate(&file, 2), Err(Errno::PERM));
        assert_eq!(fstat(&file).unwrap().st_size, 5);
    }

    #[test]
    fn growable_files_grow_and_shrink_on_both_backends() {
        for backend in [Backend::Memfd, Backend::Shm] {
            let file = create(backend, "grow", b"abc", Seal::Growable).unwrap();
            pwrite_all(&file, b"def", 3).unwrap();
            assert_eq!(contents(&file), b"abcdef", "{backend:?}");
            set_len(&file, 2).unwrap();
            assert_eq!(contents(&file), b"ab", "{backend:?}");
        }
    }

    #[test]
    fn a_missing_backend_answers_unsupported() {
        // What every memory-file call answers where the platform has no
        // backend (non-Unix, and memfd off Linux): the stubs return this.
        assert_eq!(ErrorCode::from_system(UNSUPPORTED), ErrorCode::Unsupported);
    }

    #[test]
    fn empty_and_large_files() {
        let empty = create(Backend::Memfd, "", b"", Seal::ReadOnly).unwrap();
        assert_eq!(fstat(&empty).unwrap().st_size, 0);
        let big: Vec<u8> = (0..3 * 1024 * 1024 + 7).map(|i| (i % 251) as u8).collect();
        let file = create(Backend::Memfd, "big", &big, Seal::ReadOnly).unwrap();
        assert_eq!(contents(&file), big);
    }

    #[test]
    fn memfd_name_is_prefixed_and_cut_to_the_kernel_limit() {
        assert_eq!(memfd_name("x").to_str().unwrap(), "wasi-memfd:x");
        let long = "é".repeat(200);
        let cut = memfd_name(&long);
        assert!(cut.as_bytes().len() <= MAX_NAME_LEN);
        assert!(cut.to_str().is_ok(), "cut inside a character");
        let link = |file: &File| {
            use rustix::fd::AsRawFd;
            std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).unwrap()
        };
        let file = create(Backend::Memfd, "report.csv", b"a,b", Seal::ReadOnly).unwrap();
        assert_eq!(
            link(&file).to_str().unwrap(),
            "/memfd:wasi-memfd:report.csv (deleted)"
        );
    }

    #[test]
    fn shm_files_hold_the_bytes_and_leave_no_name() {
        let ro = create(Backend::Shm, "ignored", b"shared", Seal::ReadOnly).unwrap();
        let rw = create(Backend::Shm, "", b"shared", Seal::FixedSize).unwrap();
        assert_eq!(contents(&ro), b"shared");
        assert_eq!(contents(&rw), b"shared");
        // The read-only file was handed out through an O_RDONLY descriptor.
        assert_eq!(rustix::io::pwrite(&ro, b"S", 0), Err(Errno::BADF));
        assert_eq!(rustix::io::pwrite(&rw, b"S", 0), Ok(1));
        assert_eq!(contents(&rw), b"Shared");
        // Both names were unlinked as soon as the files opened.
        assert_eq!(fstat(&ro).unwrap().st_nlink, 0);
        assert_eq!(fstat(&rw).unwrap().st_nlink, 0);
    }
}
