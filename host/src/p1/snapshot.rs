//! WASIp1 over two fd tables: wasi-memfd's fds are served here, everything
//! else goes to wasmtime-wasi's [`WasiP1Ctx`](wasmtime_wasi::p1::WasiP1Ctx)
//! unchanged (under its own number, for a wasmtime-wasi fd the guest
//! renumbered onto one of wasi-memfd's: see [`super::fds`]).
//!
//! **A file or directory of a memory directory** answers every call as
//! wasmtime-wasi answers for a file or directory of a real directory on
//! Linux: the errnos, the rights `fd_fdstat_get` reports, `fd_readdir`'s
//! records and cookies, `APPEND`, `EBADF` for file calls on a directory.
//! Beyond wasmtime-wasi: a read or write serves up to [`IOV_MAX`] iovecs at
//! once (wasmtime-wasi serves the first non-empty one).
//!
//! **A `from_bytes` or preopened file** behaves as a regular read-only
//! file, or a fixed-size writable one:
//! - reads and writes go straight between the file and guest memory
//!   (`preadv`/`pwritev` on the guest's iovecs: no host buffer; a shared
//!   memory, which cannot be lent as a slice, goes through a 64 KiB buffer);
//!   writes stop at the end of the file (`EFBIG` once nothing fits), and
//!   `EBADF` on read-only files, as for an fd not open for writing;
//! - `fd_filestat_set_size` answers `EINVAL` for every size on a read-only
//!   fd (as `ftruncate` on an `O_RDONLY` fd does); on a writable fd the
//!   file's current size succeeds (as `ftruncate` to the same size does on
//!   a sealed memfd), and any other size, `fd_allocate` past the end and
//!   `fd_filestat_set_times` answer `EPERM`: the size and metadata are
//!   fixed (the memfd is sealed);
//! - `fd_fdstat_set_flags` records `NONBLOCK`, `DSYNC`, `RSYNC` and `SYNC`
//!   (memory I/O never blocks and is always synchronous) and refuses
//!   `APPEND` with `ENOTSUP`.
//!
//! **Every wasi-memfd fd**: `fd_fdstat_set_rights` answers `ENOTSUP` (as
//! wasmtime-wasi does); `fd_prestat_get` answers `EBADF` but for a memory
//! directory's preopen; path calls on a file `EBADF` (`path_open`
//! `ENOTDIR`); socket calls `ENOTSOCK`; `fd_renumber` works between any two
//! open fds of either table; every call's work is bounded by what the
//! guest pays for: the iovec and subscription arrays this layer reads are
//! charged against the store's hostcall fuel exactly as wasmtime-wasi
//! charges its own (`ENOMEM` once spent), and one read or write serves at
//! most [`IOV_MAX`](super::IOV_MAX) (1024, Linux's `IOV_MAX`) iovecs, with
//! one `preadv`/`pwritev`: the rest are left for the next call, which the
//! short count tells the guest to make. Every iovec must lie inside memory,
//! even the part a write clamped at the end of the file would not touch:
//! one outside traps, as wasmtime-wasi's do.
//!
//! `poll_oneoff`: memory files are always ready. When any subscription
//! names one, the call returns at once with an event for each such
//! subscription; the others are reported by a later call, as `poll` may.
//! Otherwise the call is wasmtime-wasi's. Each subscription costs a table
//! lookup and its event is written straight to guest memory; while
//! wasi-memfd fds are open a call takes at most [`POLL_MAX`] (4096)
//! subscriptions (`EINVAL` past that, as `poll` answers past its descriptor
//! limit), and a subscription on a memory directory, or on a wasmtime-wasi
//! fd renumbered into wasi-memfd's range, is `EBADF`.
//!
//! The I/O itself is in [`super::io`], the path calls in [`super::paths`].

use wasmtime_wasi::p1::types::{self, CiovecArray, Errno, Filesize, IovecArray, Size};
use wasmtime_wasi::p1::wasi_snapshot_preview1::WasiSnapshotPreview1;
use wiggle::{GuestMemory, GuestPtr};

use super::delegate::delegate;
use super::fds::{Entry, FileFd, Origin, Slot};
use super::io::{charge, filestat, read_into, rights, write_from, Result};
use super::paths::{path_str, times};
use super::sync::in_runtime;
use super::{err, fs_err, WasiMemfdP1Ctx};

/// Most subscriptions one `poll_oneoff` takes while wasi-memfd fds are open
/// (more answer `EINVAL`, as `poll` does past its descriptor limit): this
/// layer reads each to find its own fds, so the cap bounds that work.
pub const POLL_MAX: u32 = 4096;

/// Rights wasmtime-wasi reports, for a memory directory's fds to report
/// the same: a read-write preopen's base and inheriting rights, a directory
/// opened in one, and a file opened with both, neither (read) or only
/// write access.
mod rights_of {
    use wasmtime_wasi::p1::types::Rights;
    pub(super) const PREOPEN: Rights = Rights::from_bits_truncate(0x07B7_FE00);
    pub(super) const PREOPEN_INHERITING: Rights = Rights::from_bits_truncate(0x0FF7_FFFF);
    pub(super) const DIR: Rights = Rights::from_bits_truncate(0x3FB7_FFBB);
    pub(super) const FILE_RW: Rights = Rights::from_bits_truncate(0x3FFF_FFFF);
    pub(super) const FILE_RO: Rights = Rights::from_bits_truncate(0x3FFF_FFBF);
    pub(super) const FILE_WO: Rights = Rights::from_bits_truncate(0x3FFF_BFFD);
}

/// The guest's buffers of a read or a write.
#[derive(Clone, Copy)]
enum Io {
    Read(IovecArray),
    Write(CiovecArray),
}

/// Where a call on an fd goes.
pub(super) enum Route {
    /// One of wasi-memfd's files or directories.
    Mine,
    /// wasmtime-wasi's, under this number.
    Wasi(types::Fd),
    /// Not open.
    Closed,
}

impl WasiMemfdP1Ctx {
    pub(super) fn route(&mut self, fd: types::Fd) -> Route {
        match self.fds.slot(u32::from(fd)) {
            Slot::Ours(Entry::Alias(w)) => Route::Wasi(types::Fd::from(*w)),
            Slot::Ours(_) => Route::Mine,
            Slot::Closed => Route::Closed,
            Slot::Wasi(w) => Route::Wasi(types::Fd::from(w)),
        }
    }

    /// The memory file `fd` names, or `EBADF` (a directory).
    fn file_mut(&mut self, fd: types::Fd) -> Result<&mut FileFd> {
        match self.fds.get_mut(u32::from(fd)) {
            Some(Entry::File(f)) => Ok(f),
            _ => err(Errno::Badf),
        }
    }

    /// `fd_read`, `fd_pread`, `fd_write` and `fd_pwrite` on a memory file:
    /// at `at`, or at the fd's position (`None`), which then moves past
    /// what was read or written. `EBADF` on an fd not open for that. With
    /// `APPEND` every write goes to the end of the file (Linux's `pwrite` on
    /// an `O_APPEND` fd ignores its offset too), and `fd_write` leaves the
    /// position there, as wasmtime-wasi does.
    fn io(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: types::Fd,
        io: Io,
        at: Option<u64>,
    ) -> Result<Size> {
        match io {
            Io::Read(iovs) => charge(&mut self.fuel, iovs)?,
            Io::Write(ciovs) => charge(&mut self.fuel, ciovs)?,
        }
        let f = self.file_mut(fd)?;
        let allowed = match io {
            Io::Read(_) => f.access.read,
            Io::Write(_) => f.access.write,
        };
        if !allowed {
            return err(Errno::Badf);
        }
        let start = at.unwrap_or(f.pos);
        let (end, n) = match io {
            Io::Read(iovs) => {
                let file = f.file.fd().map_err(|e| fs_err(e.into()))?;
                let n = read_into(mem, &file, iovs, start)?;
                f.file.accessed();
                // Bytes read end within the file, so this cannot wrap.
                (start.saturating_add(u64::from(n)), n)
            }
            Io::Write(ciovs) => {
                let append = f.flags.contains(types::Fdflags::APPEND);
                let (to, n) = write_from(mem, &f.file, ciovs, start, append)?;
                (
                    if append {
                        f.file.size()
                    } else {
                        to + u64::from(n)
                    },
                    n,
                )
            }
        };
        if at.is_none() {
            f.pos = end;
        }
        Ok(n)
    }

    fn poll_event(&mut self, sub: &types::Subscription) -> Option<Result<types::Event>> {
        let (fd, type_) = match &sub.u {
            types::SubscriptionU::FdRead(s) => (s.file_descriptor, types::Eventtype::FdRead),
            types::SubscriptionU::FdWrite(s) => (s.file_descriptor, types::Eventtype::FdWrite),
            types::SubscriptionU::Clock(_) => return None,
        };
        let entry = match self.fds.slot(u32::from(fd)) {
            Slot::Ours(Entry::File(f)) => f,
            Slot::Wasi(_) => return None,
            // A directory, an alias, a hidden or closed number.
            _ => return Some(err(Errno::Badf)),
        };
        let left = entry.file.size().saturating_sub(entry.pos);
        let writing = matches!(type_, types::Eventtype::FdWrite);
        let (error, nbytes) = if writing && !entry.access.write {
            (Errno::Badf, 0)
        } else {
            (Errno::Success, left)
        };
        let flags = if !writing && left == 0 {
            types::Eventrwflags::FD_READWRITE_HANGUP
        } else {
            types::Eventrwflags::empty()
        };
        Some(Ok(types::Event {
            userdata: sub.userdata,
            error,
            type_,
            fd_readwrite: types::EventFdReadwrite { nbytes, flags },
        }))
    }

    /// Closes wasi-memfd's entry at `fd` (handing a memory file to the pool,
    /// if any, to close off the guest's thread).
    fn close_entry(&mut self, fd: u32) {
        match self.fds.remove(fd) {
            Some(Entry::File(f)) if matches!(f.origin(), Origin::Memfd) => {
                // With a pool, its thread drops this handle: it closes the
                // file (and frees its pages) off the guest's thread when
                // this was the last. The file stays charged until then; a
                // check that would refuse first closes that backlog itself.
                if let Some(pool) = self.memfd.pool() {
                    pool.release(f.file.into_file());
                }
            }
            // A memory directory's file closes here, on the guest's thread
            // (as the pool's documentation says).
            Some(Entry::File(_)) | Some(Entry::Dir(_)) | None => {}
            Some(Entry::Alias(_)) => {}
        }
    }

    /// A new placeholder fd in wasmtime-wasi's table (a duplicate of a
    /// memory directory's placeholder), for `fd_renumber` to move onto a
    /// wasmtime-wasi fd that wasi-memfd takes over. `EBADF` without memory
    /// directories.
    async fn spare_placeholder(&mut self, _mem: &mut GuestMemory<'_>) -> Result<types::Fd> {
        let Some(anchor) = self.fds.any_placeholder() else {
            return err(Errno::Badf);
        };
        let mut scratch = b".\0\0\0".to_vec();
        let mut smem = GuestMemory::Unshared(&mut scratch);
        let fd = in_runtime(self.wasi.path_open(
            &mut smem,
            types::Fd::from(anchor),
            types::Lookupflags::empty(),
            GuestPtr::new((0, 1)),
            types::Oflags::DIRECTORY,
            types::Rights::empty(),
            types::Rights::empty(),
            types::Fdflags::empty(),
        ))
        .await?;
        Ok(fd)
    }
}

/// The calls on one fd, written as a list: each entry,
/// `[async] fn name(fd, args…) -> Ret { body }`, becomes a
/// `WasiSnapshotPreview1` method that routes on `fd`: wasmtime-wasi's fds
/// go to wasmtime-wasi's same call under its own number (an `async` one
/// through [`in_runtime`]), a closed number is `EBADF`, and wasi-memfd's
/// run `body`. The list names the receiver and the memory (`self, mem;`)
/// so that the bodies can use them. An entry may check its arguments
/// before the route, where wasmtime-wasi checks them before the fd (a
/// closed fd with bad arguments is `EINVAL`, not `EBADF`):
/// `-> Ret where let pattern = check; { body }`.
macro_rules! fd_calls {
    ($this:ident, $mem:ident;) => {};
    ($this:ident, $mem:ident;
        fn $name:ident($fd:ident $(, $arg:ident: $ty:ty)*) -> $ret:ty
        $(where let $checked:pat = $check:expr;)? $mine:block
        $($rest:tt)*
    ) => {
        fn $name(&mut $this, $mem: &mut GuestMemory<'_>, $fd: types::Fd $(, $arg: $ty)*) -> $ret {
            $(let $checked = $check;)?
            match $this.route($fd) {
                Route::Wasi(w) => $this.wasi.$name($mem, w $(, $arg)*),
                Route::Closed => err(Errno::Badf),
                Route::Mine => $mine,
            }
        }
        fd_calls!($this, $mem; $($rest)*);
    };
    ($this:ident, $mem:ident;
        async fn $name:ident($fd:ident $(, $arg:ident: $ty:ty)*) -> $ret:ty
        $(where let $checked:pat = $check:expr;)? $mine:block
        $($rest:tt)*
    ) => {
        async fn $name(
            &mut $this,
            $mem: &mut GuestMemory<'_>,
            $fd: types::Fd
            $(, $arg: $ty)*
        ) -> $ret {
            $(let $checked = $check;)?
            match $this.route($fd) {
                Route::Wasi(w) => in_runtime($this.wasi.$name($mem, w $(, $arg)*)).await,
                Route::Closed => err(Errno::Badf),
                Route::Mine => $mine,
            }
        }
        fd_calls!($this, $mem; $($rest)*);
    };
}

/// Two paths under two directory fds: wasmtime-wasi's call when both are
/// its, `$mine` when both are wasi-memfd's, `EXDEV` across the two (two
/// filesystems), `EBADF` when either is closed.
macro_rules! on_two {
    ($self:ident, $a:expr, $b:expr, |$x:ident, $y:ident| $wasi:expr, $mine:expr) => {
        match ($self.route($a), $self.route($b)) {
            (Route::Closed, _) | (_, Route::Closed) => err(Errno::Badf),
            (Route::Wasi($x), Route::Wasi($y)) => in_runtime($wasi).await,
            (Route::Mine, Route::Mine) => $mine,
            _ => err(Errno::Xdev),
        }
    };
}

impl WasiSnapshotPreview1 for WasiMemfdP1Ctx {
    fn set_hostcall_fuel(&mut self, fuel: usize) {
        self.fuel = fuel;
        self.wasi.set_hostcall_fuel(fuel)
    }

    // Calls that name no fd: wasmtime-wasi's, unchanged (see
    // `super::delegate`).
    delegate! {
        fn args_get(argv: GuestPtr<GuestPtr<u8>>, argv_buf: GuestPtr<u8>) -> Result<()>;
        fn args_sizes_get() -> Result<(Size, Size)>;
        fn environ_get(environ: GuestPtr<GuestPtr<u8>>, environ_buf: GuestPtr<u8>) -> Result<()>;
        fn environ_sizes_get() -> Result<(Size, Size)>;
        fn clock_res_get(id: types::Clockid) -> Result<types::Timestamp>;
        fn clock_time_get(id: types::Clockid, precision: types::Timestamp) -> Result<types::Timestamp>;
        fn proc_exit(status: types::Exitcode) -> wasmtime::Error;
        fn proc_raise(sig: types::Signal) -> Result<()>;
        fn sched_yield() -> Result<()>;
        fn random_get(buf: GuestPtr<u8>, buf_len: Size) -> Result<()>;
    }

    fd_calls! { self, mem;
        async fn fd_advise(
            fd,
            offset: Filesize,
            len: Filesize,
            advice: types::Advice
        ) -> Result<()> {
            self.file_mut(fd)?;
            Ok(())
        }

        fn fd_allocate(fd, offset: Filesize, len: Filesize) -> Result<()> {
            let f = self.file_mut(fd)?;
            match f.origin() {
                // As wasmtime-wasi: never supported on a file.
                Origin::MemDir => err(Errno::Notsup),
                // Inside a fixed-size file: nothing to do; past it: the
                // seals refuse.
                Origin::Memfd => match offset.checked_add(len) {
                    Some(end) if end <= f.file.size() => Ok(()),
                    _ => err(Errno::Perm),
                },
            }
        }

        async fn fd_datasync(fd) -> Result<()> {
            self.file_mut(fd)?;
            Ok(())
        }

        async fn fd_fdstat_get(fd) -> Result<types::Fdstat> {
            Ok(match self.fds.get(u32::from(fd)) {
                Some(Entry::File(f)) => {
                    let base = match (f.origin(), f.access.read, f.access.write) {
                        (Origin::Memfd, _, writable) => rights(writable),
                        (Origin::MemDir, true, true) => rights_of::FILE_RW,
                        (Origin::MemDir, true, false) => rights_of::FILE_RO,
                        (Origin::MemDir, false, _) => rights_of::FILE_WO,
                    };
                    let inheriting = match f.origin() {
                        Origin::Memfd => types::Rights::empty(),
                        Origin::MemDir => base,
                    };
                    types::Fdstat {
                        fs_filetype: types::Filetype::RegularFile,
                        fs_flags: f.flags,
                        fs_rights_base: base,
                        fs_rights_inheriting: inheriting,
                    }
                }
                Some(Entry::Dir(d)) => {
                    let (base, inheriting) = match d.preopen {
                        Some(_) => (rights_of::PREOPEN, rights_of::PREOPEN_INHERITING),
                        None => (rights_of::DIR, rights_of::DIR),
                    };
                    types::Fdstat {
                        fs_filetype: types::Filetype::Directory,
                        fs_flags: types::Fdflags::empty(),
                        fs_rights_base: base,
                        fs_rights_inheriting: inheriting,
                    }
                }
                _ => return err(Errno::Badf),
            })
        }

        fn fd_fdstat_set_flags(fd, flags: types::Fdflags) -> Result<()> {
            use types::Fdflags as F;
            let f = self.file_mut(fd)?;
            match f.origin() {
                Origin::MemDir if flags.intersects(F::SYNC | F::DSYNC | F::RSYNC) => {
                    err(Errno::Inval)
                }
                Origin::MemDir => {
                    f.flags = flags & (F::APPEND | F::NONBLOCK);
                    Ok(())
                }
                // A fixed-size file cannot append.
                Origin::Memfd if flags.contains(F::APPEND) => err(Errno::Notsup),
                Origin::Memfd => {
                    f.flags = flags;
                    Ok(())
                }
            }
        }

        fn fd_fdstat_set_rights(fd, base: types::Rights, inheriting: types::Rights) -> Result<()> {
            err(Errno::Notsup)
        }

        async fn fd_filestat_get(fd) -> Result<types::Filestat> {
            Ok(filestat(match self.fds.get(u32::from(fd)) {
                Some(Entry::File(f)) => f.file.stat(),
                Some(Entry::Dir(d)) => d.dir.stat(),
                _ => return err(Errno::Badf),
            }))
        }

        async fn fd_filestat_set_size(fd, size: Filesize) -> Result<()> {
            let f = self.file_mut(fd)?;
            if !f.access.write {
                // `ftruncate` on an fd not open for writing.
                return err(Errno::Inval);
            }
            f.file.set_len(size).map_err(fs_err)
        }

        async fn fd_filestat_set_times(
            fd,
            atim: types::Timestamp,
            mtim: types::Timestamp,
            fst_flags: types::Fstflags
        ) -> Result<()>
        where let (atime, mtime) = times(atim, mtim, fst_flags)?;
        {
            match self.fds.get(u32::from(fd)) {
                Some(Entry::File(f)) => f.file.set_times(atime, mtime).map_err(fs_err),
                // wasmtime-wasi opens a preopen path-only: `futimens` on it
                // is `EBADF`, unless nothing is to change.
                Some(Entry::Dir(d))
                    if d.preopen.is_some() && (atime.is_some() || mtime.is_some()) =>
                {
                    err(Errno::Badf)
                }
                Some(Entry::Dir(d)) => {
                    d.dir.set_times(atime, mtime);
                    Ok(())
                }
                _ => err(Errno::Badf),
            }
        }

        async fn fd_read(fd, iovs: IovecArray) -> Result<Size> {
            self.io(mem, fd, Io::Read(iovs), None)
        }

        async fn fd_pread(fd, iovs: IovecArray, offset: Filesize) -> Result<Size> {
            self.io(mem, fd, Io::Read(iovs), Some(offset))
        }

        async fn fd_pwrite(fd, ciovs: CiovecArray, offset: Filesize) -> Result<Size> {
            self.io(mem, fd, Io::Write(ciovs), Some(offset))
        }

        async fn fd_write(fd, ciovs: CiovecArray) -> Result<Size> {
            self.io(mem, fd, Io::Write(ciovs), None)
        }

        fn fd_prestat_get(fd) -> Result<types::Prestat> {
            match self.fds.get(u32::from(fd)) {
                Some(Entry::Dir(d)) => match &d.preopen {
                    Some(name) => Ok(types::Prestat::Dir(types::PrestatDir {
                        pr_name_len: name.len() as Size,
                    })),
                    None => err(Errno::Badf),
                },
                _ => err(Errno::Badf),
            }
        }

        fn fd_prestat_dir_name(fd, path: GuestPtr<u8>, path_max_len: Size) -> Result<()> {
            match self.fds.get(u32::from(fd)) {
                Some(Entry::Dir(d)) if d.preopen.is_some() => {
                    let name = d.preopen.as_deref().unwrap_or_default();
                    if (path_max_len as usize) < name.len() {
                        return err(Errno::Nametoolong);
                    }
                    mem.copy_from_slice(name.as_bytes(), path.as_array(name.len() as u32))?;
                    Ok(())
                }
                // An fd, but not a preopen.
                _ => err(Errno::Notdir),
            }
        }

        async fn fd_readdir(
            fd,
            buf: GuestPtr<u8>,
            buf_len: Size,
            cookie: types::Dircookie
        ) -> Result<Size> {
            self.mem_readdir(mem, fd, buf, buf_len, cookie)
        }

        async fn fd_seek(fd, offset: types::Filedelta, whence: types::Whence) -> Result<Filesize> {
            let f = self.file_mut(fd)?;
            let base = match whence {
                types::Whence::Set => 0,
                types::Whence::Cur => f.pos,
                types::Whence::End => f.file.size(),
            };
            let pos = i128::from(base) + i128::from(offset);
            if !(0..=i128::from(i64::MAX)).contains(&pos) {
                return err(Errno::Inval);
            }
            f.pos = pos as u64;
            Ok(f.pos)
        }

        async fn fd_sync(fd) -> Result<()> {
            self.file_mut(fd)?;
            Ok(())
        }

        fn fd_tell(fd) -> Result<Filesize> {
            Ok(self.file_mut(fd)?.pos)
        }

        async fn path_create_directory(fd, path: GuestPtr<str>) -> Result<()> {
            let dir = self.mem_dir(fd)?;
            dir.create_dir(&path_str(&mut self.fuel, mem, path)?).map_err(fs_err)
        }

        async fn path_remove_directory(fd, path: GuestPtr<str>) -> Result<()> {
            let dir = self.mem_dir(fd)?;
            dir.remove_dir(&path_str(&mut self.fuel, mem, path)?).map_err(fs_err)
        }

        async fn path_unlink_file(fd, path: GuestPtr<str>) -> Result<()> {
            let dir = self.mem_dir(fd)?;
            dir.unlink(&path_str(&mut self.fuel, mem, path)?).map_err(fs_err)
        }

        async fn path_filestat_get(
            fd,
            flags: types::Lookupflags,
            path: GuestPtr<str>
        ) -> Result<types::Filestat> {
            let dir = self.mem_dir(fd)?;
            let path = path_str(&mut self.fuel, mem, path)?;
            self.mem_path_filestat_get(&dir, flags, &path)
        }

        async fn path_filestat_set_times(
            fd,
            flags: types::Lookupflags,
            path: GuestPtr<str>,
            atim: types::Timestamp,
            mtim: types::Timestamp,
            fst_flags: types::Fstflags
        ) -> Result<()>
        where let (atime, mtime) = times(atim, mtim, fst_flags)?;
        {
            let dir = self.mem_dir(fd)?;
            let follow = flags.contains(types::Lookupflags::SYMLINK_FOLLOW);
            dir.set_times_at(&path_str(&mut self.fuel, mem, path)?, follow, atime, mtime)
                .map_err(fs_err)
        }

        async fn path_open(
            fd,
            dirflags: types::Lookupflags,
            path: GuestPtr<str>,
            oflags: types::Oflags,
            base: types::Rights,
            inheriting: types::Rights,
            fdflags: types::Fdflags
        ) -> Result<types::Fd> {
            let path = path_str(&mut self.fuel, mem, path)?;
            let dir = match self.fds.get(u32::from(fd)) {
                Some(Entry::Dir(d)) => d.dir.clone(),
                _ => return err(Errno::Notdir),
            };
            self.mem_path_open(dir, dirflags, &path, oflags, base, fdflags)
        }

        async fn path_readlink(
            fd,
            path: GuestPtr<str>,
            buf: GuestPtr<u8>,
            buf_len: Size
        ) -> Result<Size> {
            let dir = self.mem_dir(fd)?;
            let path = path_str(&mut self.fuel, mem, path)?;
            self.mem_path_readlink(mem, &dir, &path, buf, buf_len)
        }

        fn sock_accept(fd, flags: types::Fdflags) -> Result<types::Fd> {
            err(Errno::Notsock)
        }

        fn sock_recv(
            fd,
            ri_data: IovecArray,
            ri_flags: types::Riflags
        ) -> Result<(Size, types::Roflags)> {
            err(Errno::Notsock)
        }

        fn sock_send(fd, si_data: CiovecArray, si_flags: types::Siflags) -> Result<Size> {
            err(Errno::Notsock)
        }

        fn sock_shutdown(fd, how: types::Sdflags) -> Result<()> {
            err(Errno::Notsock)
        }
    }

    async fn fd_close(&mut self, mem: &mut GuestMemory<'_>, fd: types::Fd) -> Result<()> {
        let n = u32::from(fd);
        match self.fds.slot(n) {
            Slot::Ours(Entry::Alias(w)) => {
                let w = types::Fd::from(*w);
                in_runtime(self.wasi.fd_close(mem, w)).await?;
                self.fds.remove(n);
                Ok(())
            }
            Slot::Ours(_) => {
                self.close_entry(n);
                Ok(())
            }
            Slot::Closed => err(Errno::Badf),
            Slot::Wasi(_) => in_runtime(self.wasi.fd_close(mem, fd)).await,
        }
    }

    // Across both tables: see `super::fds`.
    async fn fd_renumber(
        &mut self,
        mem: &mut GuestMemory<'_>,
        from: types::Fd,
        to: types::Fd,
    ) -> Result<()> {
        let (f, t) = (u32::from(from), u32::from(to));
        let from_route = self.route(from);
        let to_route = self.route(to);
        if matches!(from_route, Route::Closed) || matches!(to_route, Route::Closed) {
            return err(Errno::Badf);
        }
        if f == t {
            return Ok(());
        }
        match (from_route, to_route) {
            (Route::Wasi(a), Route::Wasi(b)) => {
                in_runtime(self.wasi.fd_renumber(mem, a, b)).await?;
                // `from` is closed: an alias of it goes (and its target
                // number, free now, shows again). An alias at `to` stays:
                // it names `b`, which holds the moved fd.
                self.fds.remove(f);
                Ok(())
            }
            (Route::Wasi(a), Route::Mine) => {
                if self.fds.is_backed(t) {
                    // The placeholder at `to` is closed; `from`'s fd takes
                    // its number in wasmtime-wasi's table.
                    in_runtime(self.wasi.fd_renumber(mem, a, to)).await?;
                    self.close_entry(t);
                    self.fds.release_backed(t);
                    self.fds.remove(f);
                } else {
                    self.close_entry(t);
                    if self.fds.get(f).is_some() {
                        // An alias onto another alias's number.
                        let moved = self.fds.remove(f).expect("checked");
                        self.fds.put(t, moved);
                    } else {
                        self.fds.put(t, Entry::Alias(u32::from(a)));
                    }
                }
                Ok(())
            }
            (Route::Mine, Route::Wasi(b)) => {
                if matches!(self.fds.get(t), Some(Entry::Alias(_))) {
                    // `to` is an alias onto `b`: `b` is closed (its number
                    // free again) and `to` is wasi-memfd's alone.
                    in_runtime(self.wasi.fd_close(mem, b)).await?;
                    self.fds.remove(t);
                } else {
                    // `to`'s fd is closed and its number kept for
                    // wasi-memfd by moving a placeholder onto it; a spare
                    // that cannot move (`to` not open) is closed again.
                    let spare = self.spare_placeholder(mem).await?;
                    if let Err(e) = in_runtime(self.wasi.fd_renumber(mem, spare, b)).await {
                        let _ = in_runtime(self.wasi.fd_close(mem, spare)).await;
                        return Err(e);
                    }
                }
                let entry = self.fds.remove(f).expect("routed as mine");
                self.fds.put(t, entry);
                Ok(())
            }
            (Route::Mine, Route::Mine) => {
                self.close_entry(t);
                let entry = self.fds.remove(f).expect("routed as mine");
                self.fds.put(t, entry);
                Ok(())
            }
            _ => err(Errno::Badf),
        }
    }

    async fn path_link(
        &mut self,
        mem: &mut GuestMemory<'_>,
        src_fd: types::Fd,
        src_flags: types::Lookupflags,
        src_path: GuestPtr<str>,
        target_fd: types::Fd,
        target_path: GuestPtr<str>,
    ) -> Result<()> {
        on_two!(
            self,
            src_fd,
            target_fd,
            |a, b| self
                .wasi
                .path_link(mem, a, src_flags, src_path, b, target_path),
            {
                let (from, to) = (self.mem_dir(src_fd)?, self.mem_dir(target_fd)?);
                let src = path_str(&mut self.fuel, mem, src_path)?;
                let dst = path_str(&mut self.fuel, mem, target_path)?;
                let follow = src_flags.contains(types::Lookupflags::SYMLINK_FOLLOW);
                from.link(&src, follow, &to, &dst).map_err(fs_err)
            }
        )
    }

    async fn path_rename(
        &mut self,
        mem: &mut GuestMemory<'_>,
        src_fd: types::Fd,
        src_path: GuestPtr<str>,
        dest_fd: types::Fd,
        dest_path: GuestPtr<str>,
    ) -> Result<()> {
        on_two!(
            self,
            src_fd,
            dest_fd,
            |a, b| self.wasi.path_rename(mem, a, src_path, b, dest_path),
            {
                let (from, to) = (self.mem_dir(src_fd)?, self.mem_dir(dest_fd)?);
                let src = path_str(&mut self.fuel, mem, src_path)?;
                let dst = path_str(&mut self.fuel, mem, dest_path)?;
                from.rename(&src, &to, &dst).map_err(fs_err)
            }
        )
    }

    async fn path_symlink(
        &mut self,
        mem: &mut GuestMemory<'_>,
        src_path: GuestPtr<str>,
        fd: types::Fd,
        dest_path: GuestPtr<str>,
    ) -> Result<()> {
        match self.route(fd) {
            Route::Wasi(w) => in_runtime(self.wasi.path_symlink(mem, src_path, w, dest_path)).await,
            Route::Closed => err(Errno::Badf),
            Route::Mine => {
                let dir = self.mem_dir(fd)?;
                let target = path_str(&mut self.fuel, mem, src_path)?;
                let path = path_str(&mut self.fuel, mem, dest_path)?;
                dir.symlink(&target, &path).map_err(fs_err)
            }
        }
    }

    async fn poll_oneoff(
        &mut self,
        mem: &mut GuestMemory<'_>,
        subs: GuestPtr<types::Subscription>,
        events: GuestPtr<types::Event>,
        nsubscriptions: Size,
    ) -> Result<Size> {
        let mut count: u32 = 0;
        if !self.fds.is_empty() {
            if nsubscriptions > POLL_MAX {
                return err(Errno::Inval);
            }
            let (sub_array, event_array) = (
                subs.as_array(nsubscriptions),
                events.as_array(nsubscriptions),
            );
            charge(&mut self.fuel, sub_array)?;
            charge(&mut self.fuel, event_array)?;
            for sub in sub_array.iter() {
                let sub = mem.read(sub?)?;
                if let Some(event) = self.poll_event(&sub) {
                    mem.write(events.add(count)?, event?)?;
                    count += 1;
                }
            }
        }
        if count == 0 {
            return in_runtime(self.wasi.poll_oneoff(mem, subs, events, nsubscriptions)).await;
        }
        Ok(count)
    }
}
