//! WASIp1 over two fd tables: memory-file fds are served here, everything
//! else goes to wasmtime-wasi's [`WasiP1Ctx`](wasmtime_wasi::p1::WasiP1Ctx)
//! unchanged.
//!
//! On a memory-file fd every call behaves as on a regular read-only file,
//! or a fixed-size writable one:
//! - reads and writes go straight between the file and guest memory
//!   (`pread`/`pwrite` on the guest's iovecs: no host buffer; a shared
//!   memory, which cannot be lent as a slice, goes through a 64 KiB buffer);
//!   writes stop at the end of the file (`EFBIG` once nothing fits), and
//!   `EBADF` on read-only files, as for an fd not open for writing;
//! - every call's work is bounded by what the guest pays for: the iovec and
//!   subscription arrays this layer reads are charged against the store's
//!   hostcall fuel exactly as wasmtime-wasi charges its own (`ENOMEM` once
//!   spent), and one read or write serves at most [`IOV_MAX`] (1024, Linux's
//!   `IOV_MAX`) iovecs: the rest are left for the next call, which the
//!   short count tells the guest to make (wasmtime-wasi itself serves only
//!   the first non-empty iovec). Every iovec must lie inside memory, even
//!   the part a write clamped at the end of the file would not touch: one
//!   outside traps, as wasmtime-wasi's do;
//! - `fd_filestat_set_size` to the file's current size succeeds on a
//!   writable fd (as `ftruncate` to the same size does on a sealed memfd)
//!   and answers `EINVAL` on a read-only one (as `ftruncate` on an
//!   `O_RDONLY` fd does); any other size, `fd_allocate` past the end and
//!   `fd_filestat_set_times` answer `EPERM`: the size and metadata are
//!   fixed (the memfd is sealed);
//! - `fd_fdstat_set_flags` records `NONBLOCK`, `DSYNC`, `RSYNC` and `SYNC`
//!   (memory I/O never blocks and is always synchronous) and refuses
//!   `APPEND` with `ENOTSUP`; `fd_fdstat_set_rights` answers `ENOTSUP`, as
//!   wasmtime-wasi does;
//! - `fd_renumber` works between two open memory-file fds; into or out of
//!   wasmtime-wasi's table it answers `EBADF` and changes nothing;
//! - `fd_prestat_get` answers `EBADF` (not a preopened directory), directory
//!   and path calls `ENOTDIR`, socket calls `ENOTSOCK`;
//! - `poll_oneoff`: memory-file fds are always ready. When any subscription
//!   names one, the call returns at once with an event for each such
//!   subscription; the others are reported by a later call, as `poll` may.
//!   Otherwise the call is wasmtime-wasi's. Each subscription costs a table
//!   lookup (a file's size is known without a system call) and its event
//!   is written straight to guest memory.
//!
//! Errors are built only on the failure path: `types::Error` captures a
//! backtrace when made.

use std::fs::File;

use rustix::io::Errno as SysErrno;
use wasmtime_wasi::p1::types::{self, Errno};
use wasmtime_wasi::p1::wasi_snapshot_preview1::WasiSnapshotPreview1;
use wiggle::{GuestMemory, GuestPtr};

use super::fds::{FdTable, MemFd};
use super::WasiMemfdP1Ctx;

type Result<T> = std::result::Result<T, types::Error>;

/// Most iovecs one read or write serves (Linux's `IOV_MAX`).
pub const IOV_MAX: usize = 1024;

/// Charges reading `array` against the call's hostcall `fuel`, as
/// wasmtime-wasi's `consume_fuel_for_array` does: `ENOMEM` once spent.
fn charge<T>(fuel: &mut usize, array: GuestPtr<[T]>) -> Result<()> {
    let bytes = usize::try_from(array.len())
        .ok()
        .and_then(|n| n.checked_mul(std::mem::size_of::<T>()))
        .ok_or_else(|| types::Error::from(Errno::Overflow))?;
    match fuel.checked_sub(bytes) {
        Some(left) => {
            *fuel = left;
            Ok(())
        }
        None => err(Errno::Nomem),
    }
}

fn err<T>(errno: Errno) -> Result<T> {
    Err(errno.into())
}

/// A system error on a memory file, as a WASIp1 errno.
fn sys(e: SysErrno) -> types::Error {
    match e {
        SysErrno::INVAL => Errno::Inval,
        SysErrno::PERM => Errno::Perm,
        SysErrno::NOMEM => Errno::Nomem,
        SysErrno::FBIG => Errno::Fbig,
        _ => Errno::Io,
    }
    .into()
}

/// The rights a memory-file fd has.
fn rights(writable: bool) -> types::Rights {
    let read = types::Rights::FD_READ
        | types::Rights::FD_SEEK
        | types::Rights::FD_TELL
        | types::Rights::FD_FILESTAT_GET
        | types::Rights::FD_ADVISE;
    if writable {
        read | types::Rights::FD_WRITE
    } else {
        read
    }
}

/// Reads at `offset` until `buf` is full or the file ends.
fn pread_full(file: &File, buf: &mut [u8], offset: u64) -> Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        let at = offset
            .checked_add(done as u64)
            .ok_or_else(|| types::Error::from(Errno::Inval))?;
        match rustix::io::pread(file, &mut buf[done..], at) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(SysErrno::INTR) => {}
            Err(e) => return Err(sys(e)),
        }
    }
    Ok(done)
}

/// Writes all of `buf` at `offset` (the caller keeps it inside the file).
fn pwrite_full(file: &File, buf: &[u8], offset: u64) -> Result<()> {
    let mut done = 0;
    while done < buf.len() {
        match rustix::io::pwrite(file, &buf[done..], offset + done as u64) {
            Ok(0) => return err(Errno::Io),
            Ok(n) => done += n,
            Err(SysErrno::INTR) => {}
            Err(e) => return Err(sys(e)),
        }
    }
    Ok(())
}

/// Reads from `file` at `offset` into the guest's iovecs, straight into
/// linear memory. Returns the bytes read (at most `u32::MAX`).
fn read_into(
    mem: &mut GuestMemory<'_>,
    file: &File,
    iovs: types::IovecArray,
    offset: u64,
) -> Result<u32> {
    let mut total: u32 = 0;
    for iov in iovs.iter().take(IOV_MAX) {
        let iov = mem.read(iov?)?;
        let want = iov.buf_len.min(u32::MAX - total);
        let buf = iov.buf.as_array(want);
        let at = offset
            .checked_add(u64::from(total))
            .ok_or_else(|| types::Error::from(Errno::Inval))?;
        let n = match mem.as_slice_mut(buf)? {
            Some(slice) => pread_full(file, slice, at)?,
            None => bounce_read(mem, file, iov.buf, want, at)?,
        } as u32;
        total += n;
        if n < want || total == u32::MAX {
            break;
        }
    }
    Ok(total)
}

/// Largest host buffer for reads into shared memory.
const BOUNCE: usize = 64 * 1024;

/// Reads `len` bytes at `offset` into shared memory at `buf`, which cannot
/// be lent as a slice, through a bounded host buffer.
fn bounce_read(
    mem: &mut GuestMemory<'_>,
    file: &File,
    buf: GuestPtr<u8>,
    len: u32,
    offset: u64,
) -> Result<usize> {
    let mut tmp = vec![0u8; (len as usize).min(BOUNCE)];
    let mut done: u32 = 0;
    while done < len {
        let chunk = ((len - done) as usize).min(tmp.len());
        let at = offset
            .checked_add(u64::from(done))
            .ok_or_else(|| types::Error::from(Errno::Inval))?;
        let n = pread_full(file, &mut tmp[..chunk], at)?;
        mem.copy_from_slice(&tmp[..n], buf.add(done)?.as_array(n as u32))?;
        done += n as u32;
        if n < chunk {
            break;
        }
    }
    Ok(done as usize)
}

/// Writes `len` bytes from shared memory at `buf` to `file` at `offset`,
/// through a bounded host buffer.
fn bounce_write(
    mem: &GuestMemory<'_>,
    file: &File,
    buf: GuestPtr<u8>,
    len: u32,
    offset: u64,
) -> Result<()> {
    let mut done: u32 = 0;
    while done < len {
        let chunk = (len - done).min(BOUNCE as u32);
        let bytes = mem.as_cow(buf.add(done)?.as_array(chunk))?;
        pwrite_full(file, &bytes, offset + u64::from(done))?;
        done += chunk;
    }
    Ok(())
}

/// Writes the guest's ciovecs to `file` at `offset`, never past the end.
fn write_from(
    mem: &GuestMemory<'_>,
    entry: &MemFd,
    ciovs: types::CiovecArray,
    offset: u64,
) -> Result<u32> {
    if !entry.writable {
        return err(Errno::Badf);
    }
    let mut total: u32 = 0;
    let mut asked = false;
    for iov in ciovs.iter().take(IOV_MAX) {
        let iov = mem.read(iov?)?;
        asked |= iov.buf_len > 0;
        let at = offset.saturating_add(u64::from(total));
        let room = entry
            .size
            .saturating_sub(at)
            .min(u64::from(u32::MAX - total)) as u32;
        let len = iov.buf_len.min(room);
        // The whole iovec is checked, not only the part that fits.
        match mem.as_slice(iov.buf.as_array(iov.buf_len))? {
            Some(bytes) => pwrite_full(&entry.file, &bytes[..len as usize], at)?,
            None => bounce_write(mem, &entry.file, iov.buf, len, at)?,
        }
        total += len;
        if len < iov.buf_len {
            break;
        }
    }
    if total == 0 && asked {
        // Nothing fits: the file cannot grow.
        return err(Errno::Fbig);
    }
    Ok(total)
}

fn filestat(file: &File) -> Result<types::Filestat> {
    let st = rustix::fs::fstat(file).map_err(sys)?;
    let ns = |secs: i64, nsecs: i64| -> u64 {
        u64::try_from(secs)
            .unwrap_or(0)
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::try_from(nsecs).unwrap_or(0))
    };
    Ok(types::Filestat {
        dev: st.st_dev as u64,
        ino: st.st_ino as u64,
        filetype: types::Filetype::RegularFile,
        nlink: st.st_nlink as u64,
        size: u64::try_from(st.st_size).unwrap_or(0),
        atim: ns(st.st_atime as i64, st.st_atime_nsec as i64),
        mtim: ns(st.st_mtime as i64, st.st_mtime_nsec as i64),
        ctim: ns(st.st_ctime as i64, st.st_ctime_nsec as i64),
    })
}

impl WasiMemfdP1Ctx {
    fn mem_fd(&self, fd: types::Fd) -> Option<&MemFd> {
        self.fds.get(u32::from(fd))
    }

    fn mem_fd_mut(&mut self, fd: types::Fd) -> Option<&mut MemFd> {
        self.fds.get_mut(u32::from(fd))
    }

    fn is_mem_fd(&self, fd: types::Fd) -> bool {
        self.mem_fd(fd).is_some()
    }

    fn poll_event(&self, sub: &types::Subscription) -> Option<types::Event> {
        let (fd, type_) = match &sub.u {
            types::SubscriptionU::FdRead(s) => (s.file_descriptor, types::Eventtype::FdRead),
            types::SubscriptionU::FdWrite(s) => (s.file_descriptor, types::Eventtype::FdWrite),
            types::SubscriptionU::Clock(_) => return None,
        };
        let entry = self.mem_fd(fd)?;
        let left = entry.size.saturating_sub(entry.pos);
        let writing = matches!(type_, types::Eventtype::FdWrite);
        let (error, nbytes) = if writing && !entry.writable {
            (Errno::Badf, 0)
        } else {
            (Errno::Success, left)
        };
        let flags = if !writing && left == 0 {
            types::Eventrwflags::FD_READWRITE_HANGUP
        } else {
            types::Eventrwflags::empty()
        };
        Some(types::Event {
            userdata: sub.userdata,
            error,
            type_,
            fd_readwrite: types::EventFdReadwrite { nbytes, flags },
        })
    }
}

impl WasiSnapshotPreview1 for WasiMemfdP1Ctx {
    fn set_hostcall_fuel(&mut self, fuel: usize) {
        self.fuel = fuel;
        self.wasi.set_hostcall_fuel(fuel)
    }

    fn args_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        argv: GuestPtr<GuestPtr<u8>>,
        argv_buf: GuestPtr<u8>,
    ) -> Result<()> {
        self.wasi.args_get(mem, argv, argv_buf)
    }

    fn args_sizes_get(&mut self, mem: &mut GuestMemory<'_>) -> Result<(types::Size, types::Size)> {
        self.wasi.args_sizes_get(mem)
    }

    fn environ_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        environ: GuestPtr<GuestPtr<u8>>,
        environ_buf: GuestPtr<u8>,
    ) -> Result<()> {
        self.wasi.environ_get(mem, environ, environ_buf)
    }

    fn environ_sizes_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
    ) -> Result<(types::Size, types::Size)> {
        self.wasi.environ_sizes_get(mem)
    }

    fn clock_res_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        id: types::Clockid,
    ) -> Result<types::Timestamp> {
        self.wasi.clock_res_get(mem, id)
    }

    fn clock_time_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        id: types::Clockid,
        precision: types::Timestamp,
    ) -> Result<types::Timestamp> {
        self.wasi.clock_time_get(mem, id, precision)
    }

    async fn fd_advise(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: types::Fd,
        offset: types::Filesize,
        len: types::Filesize,
        advice: types::Advice,
    ) -> Result<()> {
        if self.is_mem_fd(fd) {
            return Ok(());
        }
        self.wasi.fd_advise(mem, fd, offset, len, advice).await
    }

    fn fd_allocate(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: types::Fd,
        offset: types::Filesize,
        len: types::Filesize,
    ) -> Result<()> {
        let Some(entry) = self.mem_fd(fd) else {
            return self.wasi.fd_allocate(mem, fd, offset, len);
        };
        match offset.checked_add(len) {
            Some(end) if end <= entry.size => Ok(()),
            _ => err(Errno::Perm),
        }
    }

    async fn fd_close(&mut self, mem: &mut GuestMemory<'_>, fd: types::Fd) -> Result<()> {
        if self.fds.remove(u32::from(fd)).is_some() {
            return Ok(());
        }
        self.wasi.fd_close(mem, fd).await
    }

    async fn fd_datasync(&mut self, mem: &mut GuestMemory<'_>, fd: types::Fd) -> Result<()> {
        if self.is_mem_fd(fd) {
            return Ok(());
        }
        self.wasi.fd_datasync(mem, fd).await
    }

    async fn fd_fdstat_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: types::Fd,
    ) -> Result<types::Fdstat> {
        let Some(entry) = self.mem_fd(fd) else {
            return self.wasi.fd_fdstat_get(mem, fd).await;
        };
        Ok(types::Fdstat {
            fs_filetype: types::Filetype::RegularFile,
            fs_flags: entry.flags,
            fs_rights_base: rights(entry.writable),
            fs_rights_inheriting: types::Rights::empty(),
        })
    }

    fn fd_fdstat_set_flags(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: types::Fd,
        flags: types::Fdflags,
    ) -> Result<()> {
        let Some(entry) = self.mem_fd_mut(fd) else {
            return self.wasi.fd_fdstat_set_flags(mem, fd, flags);
        };
        if flags.contains(types::Fdflags::APPEND) {
            return err(Errno::Notsup);
        }
        entry.flags = flags;
        Ok(())
    }

    fn fd_fdstat_set_rights(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: types::Fd,
        base: types::Rights,
        inheriting: types::Rights,
    ) -> Result<()> {
        if self.is_mem_fd(fd) {
            return err(Errno::Notsup);
        }
        self.wasi.fd_fdstat_set_rights(mem, fd, base, inheriting)
    }

    async fn fd_filestat_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: types::Fd,
    ) -> Result<types::Filestat> {
        let Some(entry) = self.mem_fd(fd) else {
            return self.wasi.fd_filestat_get(mem, fd).await;
        };
        filestat(&entry.file)
    }

    async fn fd_filestat_set_size(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: types::Fd,
        size: types::Filesize,
    ) -> Result<()> {
        match self.mem_fd(fd) {
            Some(entry) if !entry.writable => err(Errno::Inval),
            Some(entry) if entry.size == size => Ok(()),
            Some(_) => err(Errno::Perm),
            None => self.wasi.fd_filestat_set_size(mem, fd, size).await,
        }
    }

    async fn fd_filestat_set_times(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: types::Fd,
        atim: types::Timestamp,
        mtim: types::Timestamp,
        fst_flags: types::Fstflags,
    ) -> Result<()> {
        if self.is_mem_fd(fd) {
            return err(Errno::Perm);
        }
        self.wasi
            .fd_filestat_set_times(mem, fd, atim, mtim, fst_flags)
            .await
    }

    async fn fd_read(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: types::Fd,
        iovs: types::IovecArray,
    ) -> Result<types::Size> {
        let Some(entry) = self.fds.get_mut(u32::from(fd)) else {
            return self.wasi.fd_read(mem, fd, iovs).await;
        };
        charge(&mut self.fuel, iovs)?;
        let n = read_into(mem, &entry.file, iovs, entry.pos)?;
        entry.pos += u64::from(n);
        Ok(n)
    }

    async fn fd_pread(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: types::Fd,
        iovs: types::IovecArray,
        offset: types::Filesize,
    ) -> Result<types::Size> {
        let Some(entry) = self.fds.get(u32::from(fd)) else {
            return self.wasi.fd_pread(mem, fd, iovs, offset).await;
        };
        charge(&mut self.fuel, iovs)?;
        read_into(mem, &entry.file, iovs, offset)
    }

    async fn fd_write(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: types::Fd,
        ciovs: types::CiovecArray,
    ) -> Result<types::Size> {
        let Some(entry) = self.fds.get_mut(u32::from(fd)) else {
            return self.wasi.fd_write(mem, fd, ciovs).await;
        };
        charge(&mut self.fuel, ciovs)?;
        let n = write_from(mem, entry, ciovs, entry.pos)?;
        entry.pos += u64::from(n);
        Ok(n)
    }

    async fn fd_pwrite(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: types::Fd,
        ciovs: types::CiovecArray,
        offset: types::Filesize,
    ) -> Result<types::Size> {
        let Some(entry) = self.fds.get(u32::from(fd)) else {
            return self.wasi.fd_pwrite(mem, fd, ciovs, offset).await;
        };
        charge(&mut self.fuel, ciovs)?;
        write_from(mem, entry, ciovs, offset)
    }

    fn fd_prestat_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: types::Fd,
    ) -> Result<types::Prestat> {
        if self.is_mem_fd(fd) {
            return err(Errno::Badf);
        }
        self.wasi.fd_prestat_get(mem, fd)
    }

    fn fd_prestat_dir_name(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: types::Fd,
        path: GuestPtr<u8>,
        path_max_len: types::Size,
    ) -> Result<()> {
        if self.is_mem_fd(fd) {
            return err(Errno::Badf);
        }
        self.wasi.fd_prestat_dir_name(mem, fd, path, path_max_len)
    }

    async fn fd_renumber(
        &mut self,
        mem: &mut GuestMemory<'_>,
        from: types::Fd,
        to: types::Fd,
    ) -> Result<()> {
        let (from_n, to_n) = (u32::from(from), u32::from(to));
        if FdTable::in_range(from_n) || FdTable::in_range(to_n) {
            // Both must be open memory-file fds; across tables nothing moves.
            return if self.fds.renumber(from_n, to_n) {
                Ok(())
            } else {
                err(Errno::Badf)
            };
        }
        self.wasi.fd_renumber(mem, from, to).await
    }

    async fn fd_seek(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: types::Fd,
        offset: types::Filedelta,
        whence: types::Whence,
    ) -> Result<types::Filesize> {
        let Some(entry) = self.mem_fd_mut(fd) else {
            return self.wasi.fd_seek(mem, fd, offset, whence).await;
        };
        let base = match whence {
            types::Whence::Set => 0,
            types::Whence::Cur => entry.pos,
            types::Whence::End => entry.size,
        };
        let pos = i128::from(base) + i128::from(offset);
        if !(0..=i128::from(i64::MAX)).contains(&pos) {
            return err(Errno::Inval);
        }
        entry.pos = pos as u64;
        Ok(entry.pos)
    }

    async fn fd_sync(&mut self, mem: &mut GuestMemory<'_>, fd: types::Fd) -> Result<()> {
        if self.is_mem_fd(fd) {
            return Ok(());
        }
        self.wasi.fd_sync(mem, fd).await
    }

    fn fd_tell(&mut self, mem: &mut GuestMemory<'_>, fd: types::Fd) -> Result<types::Filesize> {
        match self.mem_fd(fd) {
            Some(entry) => Ok(entry.pos),
            None => self.wasi.fd_tell(mem, fd),
        }
    }

    async fn fd_readdir(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: types::Fd,
        buf: GuestPtr<u8>,
        buf_len: types::Size,
        cookie: types::Dircookie,
    ) -> Result<types::Size> {
        if self.is_mem_fd(fd) {
            return err(Errno::Notdir);
        }
        self.wasi.fd_readdir(mem, fd, buf, buf_len, cookie).await
    }

    async fn path_create_directory(
        &mut self,
        mem: &mut GuestMemory<'_>,
        dirfd: types::Fd,
        path: GuestPtr<str>,
    ) -> Result<()> {
        if self.is_mem_fd(dirfd) {
            return err(Errno::Notdir);
        }
        self.wasi.path_create_directory(mem, dirfd, path).await
    }

    async fn path_filestat_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        dirfd: types::Fd,
        flags: types::Lookupflags,
        path: GuestPtr<str>,
    ) -> Result<types::Filestat> {
        if self.is_mem_fd(dirfd) {
            return err(Errno::Notdir);
        }
        self.wasi.path_filestat_get(mem, dirfd, flags, path).await
    }

    async fn path_filestat_set_times(
        &mut self,
        mem: &mut GuestMemory<'_>,
        dirfd: types::Fd,
        flags: types::Lookupflags,
        path: GuestPtr<str>,
        atim: types::Timestamp,
        mtim: types::Timestamp,
        fst_flags: types::Fstflags,
    ) -> Result<()> {
        if self.is_mem_fd(dirfd) {
            return err(Errno::Notdir);
        }
        self.wasi
            .path_filestat_set_times(mem, dirfd, flags, path, atim, mtim, fst_flags)
            .await
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
        if self.is_mem_fd(src_fd) || self.is_mem_fd(target_fd) {
            return err(Errno::Notdir);
        }
        self.wasi
            .path_link(mem, src_fd, src_flags, src_path, target_fd, target_path)
            .await
    }

    async fn path_open(
        &mut self,
        mem: &mut GuestMemory<'_>,
        dirfd: types::Fd,
        dirflags: types::Lookupflags,
        path: GuestPtr<str>,
        oflags: types::Oflags,
        base: types::Rights,
        inheriting: types::Rights,
        fdflags: types::Fdflags,
    ) -> Result<types::Fd> {
        if self.is_mem_fd(dirfd) {
            return err(Errno::Notdir);
        }
        self.wasi
            .path_open(
                mem, dirfd, dirflags, path, oflags, base, inheriting, fdflags,
            )
            .await
    }

    async fn path_readlink(
        &mut self,
        mem: &mut GuestMemory<'_>,
        dirfd: types::Fd,
        path: GuestPtr<str>,
        buf: GuestPtr<u8>,
        buf_len: types::Size,
    ) -> Result<types::Size> {
        if self.is_mem_fd(dirfd) {
            return err(Errno::Notdir);
        }
        self.wasi
            .path_readlink(mem, dirfd, path, buf, buf_len)
            .await
    }

    async fn path_remove_directory(
        &mut self,
        mem: &mut GuestMemory<'_>,
        dirfd: types::Fd,
        path: GuestPtr<str>,
    ) -> Result<()> {
        if self.is_mem_fd(dirfd) {
            return err(Errno::Notdir);
        }
        self.wasi.path_remove_directory(mem, dirfd, path).await
    }

    async fn path_rename(
        &mut self,
        mem: &mut GuestMemory<'_>,
        src_fd: types::Fd,
        src_path: GuestPtr<str>,
        dest_fd: types::Fd,
        dest_path: GuestPtr<str>,
    ) -> Result<()> {
        if self.is_mem_fd(src_fd) || self.is_mem_fd(dest_fd) {
            return err(Errno::Notdir);
        }
        self.wasi
            .path_rename(mem, src_fd, src_path, dest_fd, dest_path)
            .await
    }

    async fn path_symlink(
        &mut self,
        mem: &mut GuestMemory<'_>,
        src_path: GuestPtr<str>,
        dirfd: types::Fd,
        dest_path: GuestPtr<str>,
    ) -> Result<()> {
        if self.is_mem_fd(dirfd) {
            return err(Errno::Notdir);
        }
        self.wasi
            .path_symlink(mem, src_path, dirfd, dest_path)
            .await
    }

    async fn path_unlink_file(
        &mut self,
        mem: &mut GuestMemory<'_>,
        dirfd: types::Fd,
        path: GuestPtr<str>,
    ) -> Result<()> {
        if self.is_mem_fd(dirfd) {
            return err(Errno::Notdir);
        }
        self.wasi.path_unlink_file(mem, dirfd, path).await
    }

    async fn poll_oneoff(
        &mut self,
        mem: &mut GuestMemory<'_>,
        subs: GuestPtr<types::Subscription>,
        events: GuestPtr<types::Event>,
        nsubscriptions: types::Size,
    ) -> Result<types::Size> {
        let mut count: u32 = 0;
        if !self.fds.is_empty() {
            let (sub_array, event_array) = (
                subs.as_array(nsubscriptions),
                events.as_array(nsubscriptions),
            );
            charge(&mut self.fuel, sub_array)?;
            charge(&mut self.fuel, event_array)?;
            for sub in sub_array.iter() {
                let sub = mem.read(sub?)?;
                if let Some(event) = self.poll_event(&sub) {
                    mem.write(events.add(count)?, event)?;
                    count += 1;
                }
            }
        }
        if count == 0 {
            return self
                .wasi
                .poll_oneoff(mem, subs, events, nsubscriptions)
                .await;
        }
        Ok(count)
    }

    fn proc_exit(&mut self, mem: &mut GuestMemory<'_>, status: types::Exitcode) -> wasmtime::Error {
        self.wasi.proc_exit(mem, status)
    }

    fn proc_raise(&mut self, mem: &mut GuestMemory<'_>, sig: types::Signal) -> Result<()> {
        self.wasi.proc_raise(mem, sig)
    }

    fn sched_yield(&mut self, mem: &mut GuestMemory<'_>) -> Result<()> {
        self.wasi.sched_yield(mem)
    }

    fn random_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        buf: GuestPtr<u8>,
        buf_len: types::Size,
    ) -> Result<()> {
        self.wasi.random_get(mem, buf, buf_len)
    }

    fn sock_accept(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: types::Fd,
        flags: types::Fdflags,
    ) -> Result<types::Fd> {
        if self.is_mem_fd(fd) {
            return err(Errno::Notsock);
        }
        self.wasi.sock_accept(mem, fd, flags)
    }

    fn sock_recv(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: types::Fd,
        ri_data: types::IovecArray,
        ri_flags: types::Riflags,
    ) -> Result<(types::Size, types::Roflags)> {
        if self.is_mem_fd(fd) {
            return err(Errno::Notsock);
        }
        self.wasi.sock_recv(mem, fd, ri_data, ri_flags)
    }

    fn sock_send(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: types::Fd,
        si_data: types::CiovecArray,
        si_flags: types::Siflags,
    ) -> Result<types::Size> {
        if self.is_mem_fd(fd) {
            return err(Errno::Notsock);
        }
        self.wasi.sock_send(mem, fd, si_data, si_flags)
    }

    fn sock_shutdown(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: types::Fd,
        how: types::Sdflags,
    ) -> Result<()> {
        if self.is_mem_fd(fd) {
            return err(Errno::Notsock);
        }
        self.wasi.sock_shutdown(mem, fd, how)
    }
}
