//! WASIp1 over two fd tables: memory-file fds are served here, everything
//! else goes to wasmtime-wasi's [`WasiP1Ctx`](wasmtime_wasi::p1::WasiP1Ctx)
//! unchanged.
//!
//! On a memory-file fd every call behaves as on a regular read-only file,
//! or a fixed-size writable one:
//! - reads and writes go straight between the file and guest memory
//!   (`preadv`/`pwritev` on the guest's iovecs: no host buffer; a shared
//!   memory, which cannot be lent as a slice, goes through a 64 KiB buffer);
//!   writes stop at the end of the file (`EFBIG` once nothing fits), and
//!   `EBADF` on read-only files, as for an fd not open for writing;
//! - every call's work is bounded by what the guest pays for: the iovec and
//!   subscription arrays this layer reads are charged against the store's
//!   hostcall fuel exactly as wasmtime-wasi charges its own (`ENOMEM` once
//!   spent), and one read or write serves at most [`IOV_MAX`](super::IOV_MAX) (1024, Linux's
//!   `IOV_MAX`) iovecs, with one `preadv`/`pwritev`: the rest are left for
//!   the next call, which the short count tells the guest to make
//!   (wasmtime-wasi itself serves only the first non-empty iovec). Every iovec must lie inside memory, even
//!   the part a write clamped at the end of the file would not touch: one
//!   outside traps, as wasmtime-wasi's do;
//! - `fd_filestat_set_size` answers `EINVAL` for every size on a read-only
//!   fd (as `ftruncate` on an `O_RDONLY` fd does); on a writable fd the
//!   file's current size succeeds (as `ftruncate` to the same size does on
//!   a sealed memfd), and any other size, `fd_allocate` past the end and
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
//!   is written straight to guest memory; while memory-file fds are open a
//!   call takes at most [`POLL_MAX`] (4096) subscriptions (`EINVAL` past
//!   that, as `poll` answers past its descriptor limit).
//!
//! The I/O itself, errnos and `filestat` are in [`super::io`].

use wasmtime_wasi::p1::types::{self, Errno};
use wasmtime_wasi::p1::wasi_snapshot_preview1::WasiSnapshotPreview1;
use wiggle::{GuestMemory, GuestPtr};

use super::delegate::delegate;
use super::fds::{FdTable, MemFd};
use super::io::{charge, err, filestat, read_into, rights, write_from, Result};
use super::sync::in_runtime;
use super::WasiMemfdP1Ctx;

/// Most subscriptions one `poll_oneoff` takes while memory-file fds are open
/// (more answer `EINVAL`, as `poll` does past its descriptor limit): this
/// layer reads each to find its own fds, so the cap bounds that work.
pub const POLL_MAX: u32 = 4096;

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

    // Everything this layer does not serve itself (see `super::delegate`).
    delegate! {
        // Calls that name no fd: wasmtime-wasi's, unchanged.
        fn args_get(argv: GuestPtr<GuestPtr<u8>>, argv_buf: GuestPtr<u8>) -> Result<()>;
        fn args_sizes_get() -> Result<(types::Size, types::Size)>;
        fn environ_get(environ: GuestPtr<GuestPtr<u8>>, environ_buf: GuestPtr<u8>) -> Result<()>;
        fn environ_sizes_get() -> Result<(types::Size, types::Size)>;
        fn clock_res_get(id: types::Clockid) -> Result<types::Timestamp>;
        fn clock_time_get(id: types::Clockid, precision: types::Timestamp) -> Result<types::Timestamp>;
        fn proc_exit(status: types::Exitcode) -> wasmtime::Error;
        fn proc_raise(sig: types::Signal) -> Result<()>;
        fn sched_yield() -> Result<()>;
        fn random_get(buf: GuestPtr<u8>, buf_len: types::Size) -> Result<()>;

        // Calls that a memory-file fd cannot answer: the errno a regular
        // file gives (not a directory, not a socket, no preopen, fixed
        // metadata, no rights to change); wasmtime-wasi's for other fds.
        [Notsup on fd] fn fd_fdstat_set_rights(fd: types::Fd, base: types::Rights, inheriting: types::Rights) -> Result<()>;
        [Perm on fd] async fn fd_filestat_set_times(fd: types::Fd, atim: types::Timestamp, mtim: types::Timestamp, fst_flags: types::Fstflags) -> Result<()>;
        [Badf on fd] fn fd_prestat_get(fd: types::Fd) -> Result<types::Prestat>;
        [Badf on fd] fn fd_prestat_dir_name(fd: types::Fd, path: GuestPtr<u8>, path_max_len: types::Size) -> Result<()>;
        [Notdir on fd] async fn fd_readdir(fd: types::Fd, buf: GuestPtr<u8>, buf_len: types::Size, cookie: types::Dircookie) -> Result<types::Size>;
        [Notdir on dirfd] async fn path_create_directory(dirfd: types::Fd, path: GuestPtr<str>) -> Result<()>;
        [Notdir on dirfd] async fn path_filestat_get(dirfd: types::Fd, flags: types::Lookupflags, path: GuestPtr<str>) -> Result<types::Filestat>;
        [Notdir on dirfd] async fn path_filestat_set_times(dirfd: types::Fd, flags: types::Lookupflags, path: GuestPtr<str>, atim: types::Timestamp, mtim: types::Timestamp, fst_flags: types::Fstflags) -> Result<()>;
        [Notdir on src_fd, target_fd] async fn path_link(src_fd: types::Fd, src_flags: types::Lookupflags, src_path: GuestPtr<str>, target_fd: types::Fd, target_path: GuestPtr<str>) -> Result<()>;
        [Notdir on dirfd] async fn path_open(dirfd: types::Fd, dirflags: types::Lookupflags, path: GuestPtr<str>, oflags: types::Oflags, base: types::Rights, inheriting: types::Rights, fdflags: types::Fdflags) -> Result<types::Fd>;
        [Notdir on dirfd] async fn path_readlink(dirfd: types::Fd, path: GuestPtr<str>, buf: GuestPtr<u8>, buf_len: types::Size) -> Result<types::Size>;
        [Notdir on dirfd] async fn path_remove_directory(dirfd: types::Fd, path: GuestPtr<str>) -> Result<()>;
        [Notdir on src_fd, dest_fd] async fn path_rename(src_fd: types::Fd, src_path: GuestPtr<str>, dest_fd: types::Fd, dest_path: GuestPtr<str>) -> Result<()>;
        [Notdir on dirfd] async fn path_symlink(src_path: GuestPtr<str>, dirfd: types::Fd, dest_path: GuestPtr<str>) -> Result<()>;
        [Notdir on dirfd] async fn path_unlink_file(dirfd: types::Fd, path: GuestPtr<str>) -> Result<()>;
        [Notsock on fd] fn sock_accept(fd: types::Fd, flags: types::Fdflags) -> Result<types::Fd>;
        [Notsock on fd] fn sock_recv(fd: types::Fd, ri_data: types::IovecArray, ri_flags: types::Riflags) -> Result<(types::Size, types::Roflags)>;
        [Notsock on fd] fn sock_send(fd: types::Fd, si_data: types::CiovecArray, si_flags: types::Siflags) -> Result<types::Size>;
        [Notsock on fd] fn sock_shutdown(fd: types::Fd, how: types::Sdflags) -> Result<()>;
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
        in_runtime(self.wasi.fd_advise(mem, fd, offset, len, advice)).await
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
        if let Some(entry) = self.fds.remove(u32::from(fd)) {
            // With a pool, its thread drops this handle: it closes the file
            // (and frees its pages) off the guest's thread when this was
            // the last. The file stays charged until then; a check that
            // would refuse first closes that backlog itself.
            if let Some(pool) = self.memfd.pool() {
                pool.release(entry.file);
            }
            return Ok(());
        }
        in_runtime(self.wasi.fd_close(mem, fd)).await
    }

    async fn fd_datasync(&mut self, mem: &mut GuestMemory<'_>, fd: types::Fd) -> Result<()> {
        if self.is_mem_fd(fd) {
            return Ok(());
        }
        in_runtime(self.wasi.fd_datasync(mem, fd)).await
    }

    async fn fd_fdstat_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: types::Fd,
    ) -> Result<types::Fdstat> {
        let Some(entry) = self.mem_fd(fd) else {
            return in_runtime(self.wasi.fd_fdstat_get(mem, fd)).await;
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

    async fn fd_filestat_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: types::Fd,
    ) -> Result<types::Filestat> {
        let Some(entry) = self.mem_fd(fd) else {
            return in_runtime(self.wasi.fd_filestat_get(mem, fd)).await;
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
            None => in_runtime(self.wasi.fd_filestat_set_size(mem, fd, size)).await,
        }
    }

    async fn fd_read(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: types::Fd,
        iovs: types::IovecArray,
    ) -> Result<types::Size> {
        let Some(entry) = self.fds.get_mut(u32::from(fd)) else {
            return in_runtime(self.wasi.fd_read(mem, fd, iovs)).await;
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
            return in_runtime(self.wasi.fd_pread(mem, fd, iovs, offset)).await;
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
            return in_runtime(self.wasi.fd_write(mem, fd, ciovs)).await;
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
            return in_runtime(self.wasi.fd_pwrite(mem, fd, ciovs, offset)).await;
        };
        charge(&mut self.fuel, ciovs)?;
        write_from(mem, entry, ciovs, offset)
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
        in_runtime(self.wasi.fd_renumber(mem, from, to)).await
    }

    async fn fd_seek(
        &mut self,
        mem: &mut GuestMemory<'_>,
        fd: types::Fd,
        offset: types::Filedelta,
        whence: types::Whence,
    ) -> Result<types::Filesize> {
        let Some(entry) = self.mem_fd_mut(fd) else {
            return in_runtime(self.wasi.fd_seek(mem, fd, offset, whence)).await;
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
        in_runtime(self.wasi.fd_sync(mem, fd)).await
    }

    fn fd_tell(&mut self, mem: &mut GuestMemory<'_>, fd: types::Fd) -> Result<types::Filesize> {
        match self.mem_fd(fd) {
            Some(entry) => Ok(entry.pos),
            None => self.wasi.fd_tell(mem, fd),
        }
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
                    mem.write(events.add(count)?, event)?;
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
