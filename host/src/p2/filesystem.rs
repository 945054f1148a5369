//! `wasi:filesystem` for components, served by wasi-memfd where the
//! descriptor is its own and by wasmtime-wasi everywhere else.
//!
//! wasmtime-wasi's `Descriptor` is a closed enum over real OS files and
//! directories, so wasi-memfd's descriptors ([`MemDescriptor`]) sit in the
//! same `ResourceTable` under the same `descriptor` resource type, and this
//! module's `HostDescriptor` takes each call: a descriptor the table holds
//! as a `MemDescriptor` is answered here, any other is passed to
//! wasmtime-wasi's `WasiFilesystemCtxView` unchanged (a call naming one of
//! each, a link or rename between the two, is `cross-device`). The
//! preopens are wasmtime-wasi's, then the memory directories.
//!
//! Both linkers are served: the async traits here, and the sync ones
//! (wasmtime-wasi's sync bindings, with their own record types) converting
//! at the edges.

use std::marker::PhantomData;

use wasmtime::component::{HasData, Resource, ResourceTable};
use wasmtime_wasi::filesystem::{Descriptor, WasiFilesystemCtxView, WasiFilesystemView};
use wasmtime_wasi::p2::bindings::filesystem::preopens;
use wasmtime_wasi::p2::bindings::filesystem::types as t;
use wasmtime_wasi::p2::bindings::sync::filesystem::types as st;
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, FsError as WasiFsError, FsResult};
use wasmtime_wasi::WasiView;

use super::descriptor::{self, DirDesc, MemDescriptor};
use crate::error::FsError;
use crate::view::WasiMemfdView;

/// The `HasData` that adds this module's `wasi:filesystem` to a linker.
pub(crate) struct MemdirFilesystem<T>(PhantomData<T>);

impl<T: 'static> HasData for MemdirFilesystem<T> {
    type Data<'a> = FsView<'a, T>;
}

/// The store's data, as `wasi:filesystem` calls reach it.
pub(crate) struct FsView<'a, T> {
    pub(crate) host: &'a mut T,
}

impl<T: WasiView + WasiMemfdView> FsView<'_, T> {
    fn table(&mut self) -> &mut ResourceTable {
        self.host.memfd().table
    }

    fn wasi(&mut self) -> WasiFilesystemCtxView<'_> {
        self.host.filesystem()
    }

    /// Whether `fd` is wasi-memfd's.
    fn mine(&mut self, fd: &Resource<Descriptor>) -> bool {
        descriptor::get(self.table(), fd).is_some()
    }

    /// Runs `op` on `fd` if it is wasi-memfd's.
    fn with<R>(
        &mut self,
        fd: &Resource<Descriptor>,
        op: impl FnOnce(&MemDescriptor) -> R,
    ) -> Option<R> {
        descriptor::get(self.table(), fd).map(op)
    }

    /// Runs `op` on `fd` (wasi-memfd's) and `other` (wasi-memfd's, or
    /// `None` if it is wasmtime-wasi's).
    fn with_two<R>(
        &mut self,
        fd: &Resource<Descriptor>,
        other: &Resource<Descriptor>,
        op: impl FnOnce(&MemDescriptor, Option<&MemDescriptor>) -> R,
    ) -> R {
        let table = self.table();
        let a = descriptor::get(table, fd).expect("checked by the caller");
        op(a, descriptor::get(table, other))
    }

    /// Puts a descriptor `op` opened into the table.
    fn push(&mut self, desc: FsResult<MemDescriptor>) -> FsResult<Resource<Descriptor>> {
        descriptor::push(self.table(), desc?).map_err(WasiFsError::trap)
    }

    fn push_input(
        &mut self,
        stream: FsResult<DynInputStream>,
    ) -> FsResult<Resource<DynInputStream>> {
        Ok(self.table().push(stream?)?)
    }

    fn push_output(
        &mut self,
        stream: FsResult<DynOutputStream>,
    ) -> FsResult<Resource<DynOutputStream>> {
        Ok(self.table().push(stream?)?)
    }
}

impl<T: WasiView + WasiMemfdView> preopens::Host for FsView<'_, T> {
    /// wasmtime-wasi's preopened directories, then the memory directories,
    /// each call with new handles (as wasmtime-wasi's).
    fn get_directories(&mut self) -> wasmtime::Result<Vec<(Resource<Descriptor>, String)>> {
        let mut dirs = preopens::Host::get_directories(&mut self.wasi())?;
        let crate::WasiMemfdCtxView { ctx, table } = self.host.memfd();
        for mount in ctx.mem_dirs() {
            let desc = MemDescriptor::Dir(DirDesc {
                dir: mount.root.clone(),
                preopen: true,
            });
            dirs.push((descriptor::push(table, desc)?, mount.guest_path.clone()));
        }
        Ok(dirs)
    }
}

impl<T: WasiView + WasiMemfdView> t::Host for FsView<'_, T> {
    fn convert_error_code(
        &mut self,
        err: wasmtime_wasi::p2::FsError,
    ) -> wasmtime::Result<t::ErrorCode> {
        t::Host::convert_error_code(&mut self.wasi(), err)
    }

    /// A stream's error: wasi-memfd's own (a limit, a write on a read-only
    /// descriptor), else wasmtime-wasi's reading of it.
    fn filesystem_error_code(
        &mut self,
        err: Resource<wasmtime::Error>,
    ) -> wasmtime::Result<Option<t::ErrorCode>> {
        if let Some(code) = self.table().get(&err)?.downcast_ref::<FsError>() {
            return Ok(Some(code.error_code()));
        }
        t::Host::filesystem_error_code(&mut self.wasi(), err)
    }
}

/// Each method: wasi-memfd's descriptor answers at once; any other goes to
/// wasmtime-wasi's (awaited).
/// Serves a `wasi:filesystem` descriptor method: with `$ours` on
/// wasi-memfd's own descriptor `$fd`, else by wasmtime-wasi's
/// implementation (a real file or directory).
macro_rules! mine_or_wasi {
    ($self:ident, $fd:ident, |$d:ident| $ours:expr, $method:ident($($arg:expr),*)) => {
        match $self.with(&$fd, |$d| $ours) {
            Some(r) => r,
            None => t::HostDescriptor::$method(&mut $self.wasi(), $fd, $($arg),*).await,
        }
    };
}

impl<T: WasiView + WasiMemfdView> t::HostDescriptor for FsView<'_, T> {
    async fn advise(
        &mut self,
        fd: Resource<Descriptor>,
        offset: u64,
        len: u64,
        advice: t::Advice,
    ) -> FsResult<()> {
        mine_or_wasi!(self, fd, |d| d.advise(), advise(offset, len, advice))
    }

    async fn sync_data(&mut self, fd: Resource<Descriptor>) -> FsResult<()> {
        mine_or_wasi!(self, fd, |d| d.sync(), sync_data())
    }

    async fn get_flags(&mut self, fd: Resource<Descriptor>) -> FsResult<t::DescriptorFlags> {
        mine_or_wasi!(self, fd, |d| d.get_flags(), get_flags())
    }

    async fn get_type(&mut self, fd: Resource<Descriptor>) -> FsResult<t::DescriptorType> {
        mine_or_wasi!(self, fd, |d| d.get_type(), get_type())
    }

    async fn set_size(&mut self, fd: Resource<Descriptor>, size: u64) -> FsResult<()> {
        mine_or_wasi!(self, fd, |d| d.set_size(size), set_size(size))
    }

    async fn set_times(
        &mut self,
        fd: Resource<Descriptor>,
        atim: t::NewTimestamp,
        mtim: t::NewTimestamp,
    ) -> FsResult<()> {
        mine_or_wasi!(self, fd, |d| d.set_times(atim, mtim), set_times(atim, mtim))
    }

    async fn read(
        &mut self,
        fd: Resource<Descriptor>,
        len: u64,
        offset: u64,
    ) -> FsResult<(Vec<u8>, bool)> {
        mine_or_wasi!(self, fd, |d| d.read(len, offset), read(len, offset))
    }

    async fn write(
        &mut self,
        fd: Resource<Descriptor>,
        buf: Vec<u8>,
        offset: u64,
    ) -> FsResult<u64> {
        mine_or_wasi!(self, fd, |d| d.write(&buf, offset), write(buf, offset))
    }

    async fn read_directory(
        &mut self,
        fd: Resource<Descriptor>,
    ) -> FsResult<Resource<t::DirectoryEntryStream>> {
        match self.with(&fd, |d| d.read_directory()) {
            Some(r) => {
                let rep = self.table().push(r?)?.rep();
                Ok(Resource::new_own(rep))
            }
            None => t::HostDescriptor::read_directory(&mut self.wasi(), fd).await,
        }
    }

    async fn sync(&mut self, fd: Resource<Descriptor>) -> FsResult<()> {
        mine_or_wasi!(self, fd, |d| d.sync(), sync())
    }

    async fn create_directory_at(
        &mut self,
        fd: Resource<Descriptor>,
        path: String,
    ) -> FsResult<()> {
        mine_or_wasi!(
            self,
            fd,
            |d| d.create_directory_at(&path),
            create_directory_at(path)
        )
    }

    async fn stat(&mut self, fd: Resource<Descriptor>) -> FsResult<t::DescriptorStat> {
        mine_or_wasi!(self, fd, |d| d.stat(), stat())
    }

    async fn stat_at(
        &mut self,
        fd: Resource<Descriptor>,
        path_flags: t::PathFlags,
        path: String,
    ) -> FsResult<t::DescriptorStat> {
        mine_or_wasi!(
            self,
            fd,
            |d| d.stat_at(path_flags, &path),
            stat_at(path_flags, path)
        )
    }

    async fn set_times_at(
        &mut self,
        fd: Resource<Descriptor>,
        path_flags: t::PathFlags,
        path: String,
        atim: t::NewTimestamp,
        mtim: t::NewTimestamp,
    ) -> FsResult<()> {
        match self.with(&fd, |d| d.set_times_at(path_flags, &path, atim, mtim)) {
            Some(r) => r,
            None => {
                t::HostDescriptor::set_times_at(&mut self.wasi(), fd, path_flags, path, atim, mtim)
                    .await
            }
        }
    }

    async fn link_at(
        &mut self,
        fd: Resource<Descriptor>,
        old_path_flags: t::PathFlags,
        old_path: String,
        new_descriptor: Resource<Descriptor>,
        new_path: String,
    ) -> FsResult<()> {
        if self.mine(&fd) {
            return self.with_two(&fd, &new_descriptor, |d, n| {
                d.link_at(old_path_flags, &old_path, n, &new_path)
            });
        }
        if self.mine(&new_descriptor) {
            return Err(FsError::Xdev.into());
        }
        t::HostDescriptor::link_at(
            &mut self.wasi(),
            fd,
            old_path_flags,
            old_path,
            new_descriptor,
            new_path,
        )
        .await
    }

    async fn open_at(
        &mut self,
        fd: Resource<Descriptor>,
        path_flags: t::PathFlags,
        path: String,
        open_flags: t::OpenFlags,
        flags: t::DescriptorFlags,
    ) -> FsResult<Resource<Descriptor>> {
        match self.with(&fd, |d| d.open_at(path_flags, &path, open_flags, flags)) {
            Some(desc) => self.push(desc),
            None => {
                t::HostDescriptor::open_at(
                    &mut self.wasi(),
                    fd,
                    path_flags,
                    path,
                    open_flags,
                    flags,
                )
                .await
            }
        }
    }

    fn drop(&mut self, fd: Resource<Descriptor>) -> wasmtime::Result<()> {
        if descriptor::drop_if_mine(self.table(), &fd) {
            return Ok(());
        }
        t::HostDescriptor::drop(&mut self.wasi(), fd)
    }

    async fn readlink_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<String> {
        mine_or_wasi!(self, fd, |d| d.readlink_at(&path), readlink_at(path))
    }

    async fn remove_directory_at(
        &mut self,
        fd: Resource<Descriptor>,
        path: String,
    ) -> FsResult<()> {
        mine_or_wasi!(
            self,
            fd,
            |d| d.remove_directory_at(&path),
            remove_directory_at(path)
        )
    }

    async fn rename_at(
        &mut self,
        fd: Resource<Descriptor>,
        old_path: String,
        new_descriptor: Resource<Descriptor>,
        new_path: String,
    ) -> FsResult<()> {
        if self.mine(&fd) {
            return self.with_two(&fd, &new_descriptor, |d, n| {
                d.rename_at(&old_path, n, &new_path)
            });
        }
        if self.mine(&new_descriptor) {
            return Err(FsError::Xdev.into());
        }
        t::HostDescriptor::rename_at(&mut self.wasi(), fd, old_path, new_descriptor, new_path).await
    }

    async fn symlink_at(
        &mut self,
        fd: Resource<Descriptor>,
        old_path: String,
        new_path: String,
    ) -> FsResult<()> {
        mine_or_wasi!(
            self,
            fd,
            |d| d.symlink_at(&old_path, &new_path),
            symlink_at(old_path, new_path)
        )
    }

    async fn unlink_file_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<()> {
        mine_or_wasi!(self, fd, |d| d.unlink_file_at(&path), unlink_file_at(path))
    }

    fn read_via_stream(
        &mut self,
        fd: Resource<Descriptor>,
        offset: u64,
    ) -> FsResult<Resource<DynInputStream>> {
        match self.with(&fd, |d| d.read_stream(offset)) {
            Some(stream) => self.push_input(stream),
            None => t::HostDescriptor::read_via_stream(&mut self.wasi(), fd, offset),
        }
    }

    fn write_via_stream(
        &mut self,
        fd: Resource<Descriptor>,
        offset: u64,
    ) -> FsResult<Resource<DynOutputStream>> {
        match self.with(&fd, |d| d.write_stream(Some(offset))) {
            Some(stream) => self.push_output(stream),
            None => t::HostDescriptor::write_via_stream(&mut self.wasi(), fd, offset),
        }
    }

    fn append_via_stream(
        &mut self,
        fd: Resource<Descriptor>,
    ) -> FsResult<Resource<DynOutputStream>> {
        match self.with(&fd, |d| d.write_stream(None)) {
            Some(stream) => self.push_output(stream),
            None => t::HostDescriptor::append_via_stream(&mut self.wasi(), fd),
        }
    }

    async fn is_same_object(
        &mut self,
        a: Resource<Descriptor>,
        b: Resource<Descriptor>,
    ) -> wasmtime::Result<bool> {
        match (self.mine(&a), self.mine(&b)) {
            (true, true) => {
                Ok(self.with_two(&a, &b, |x, y| y.is_some_and(|y| x.is_same_object(y))))
            }
            (false, false) => t::HostDescriptor::is_same_object(&mut self.wasi(), a, b).await,
            _ => Ok(false),
        }
    }

    async fn metadata_hash(&mut self, fd: Resource<Descriptor>) -> FsResult<t::MetadataHashValue> {
        mine_or_wasi!(self, fd, |d| d.metadata_hash(), metadata_hash())
    }

    async fn metadata_hash_at(
        &mut self,
        fd: Resource<Descriptor>,
        path_flags: t::PathFlags,
        path: String,
    ) -> FsResult<t::MetadataHashValue> {
        mine_or_wasi!(
            self,
            fd,
            |d| d.metadata_hash_at(path_flags, &path),
            metadata_hash_at(path_flags, path)
        )
    }
}

impl<T: WasiView + WasiMemfdView> t::HostDirectoryEntryStream for FsView<'_, T> {
    async fn read_directory_entry(
        &mut self,
        stream: Resource<t::DirectoryEntryStream>,
    ) -> FsResult<Option<t::DirectoryEntry>> {
        if let Some(readdir) = descriptor::get_readdir(self.table(), &stream) {
            return readdir.next();
        }
        t::HostDirectoryEntryStream::read_directory_entry(&mut self.wasi(), stream).await
    }

    fn drop(&mut self, stream: Resource<t::DirectoryEntryStream>) -> wasmtime::Result<()> {
        if descriptor::drop_readdir_if_mine(self.table(), &stream) {
            return Ok(());
        }
        t::HostDirectoryEntryStream::drop(&mut self.wasi(), stream)
    }
}

// ---- the sync linker: the same, in the sync bindings' types ----

/// Runs a call on the async implementation to completion. wasi-memfd's
/// descriptors answer in the first poll; wasmtime-wasi's calls go through
/// its sync bindings, which run them on its runtime.
fn ready<F: std::future::Future>(future: F) -> F::Output {
    wasmtime_wasi::runtime::poll_noop(std::pin::pin!(future))
        .expect("wasi-memfd's descriptors never wait")
}

impl<T: WasiView + WasiMemfdView> st::Host for FsView<'_, T> {
    fn convert_error_code(
        &mut self,
        err: wasmtime_wasi::p2::FsError,
    ) -> wasmtime::Result<st::ErrorCode> {
        Ok(t::Host::convert_error_code(self, err)?.into())
    }

    fn filesystem_error_code(
        &mut self,
        err: Resource<wasmtime::Error>,
    ) -> wasmtime::Result<Option<st::ErrorCode>> {
        Ok(t::Host::filesystem_error_code(self, err)?.map(Into::into))
    }
}

/// Each method: wasi-memfd's descriptor through the async implementation
/// (which answers at once), any other through wasmtime-wasi's sync one.
macro_rules! sync_methods {
    ($($name:ident($($arg:ident: $sty:ty => $conv:expr),*) -> $ret:ty;)*) => {$(
        fn $name(&mut self, fd: Resource<Descriptor>, $($arg: $sty),*) -> $ret {
            if self.mine(&fd) {
                #[allow(clippy::redundant_closure_call)]
                let r = ready(t::HostDescriptor::$name(self, fd, $(($conv)($arg)),*));
                return r.map(Into::into);
            }
            st::HostDescriptor::$name(&mut self.wasi(), fd, $($arg),*)
        }
    )*};
}

impl<T: WasiView + WasiMemfdView> st::HostDescriptor for FsView<'_, T> {
    sync_methods! {
        advise(offset: u64 => |x| x, len: u64 => |x| x, advice: st::Advice => Into::into) -> FsResult<()>;
        sync_data() -> FsResult<()>;
        get_flags() -> FsResult<st::DescriptorFlags>;
        get_type() -> FsResult<st::DescriptorType>;
        set_size(size: u64 => |x| x) -> FsResult<()>;
        set_times(atim: st::NewTimestamp => Into::into, mtim: st::NewTimestamp => Into::into) -> FsResult<()>;
        read(len: u64 => |x| x, offset: u64 => |x| x) -> FsResult<(Vec<u8>, bool)>;
        write(buf: Vec<u8> => |x| x, offset: u64 => |x| x) -> FsResult<u64>;
        read_directory() -> FsResult<Resource<st::DirectoryEntryStream>>;
        sync() -> FsResult<()>;
        create_directory_at(path: String => |x| x) -> FsResult<()>;
        stat() -> FsResult<st::DescriptorStat>;
        stat_at(path_flags: st::PathFlags => Into::into, path: String => |x| x) -> FsResult<st::DescriptorStat>;
        set_times_at(path_flags: st::PathFlags => Into::into, path: String => |x| x, atim: st::NewTimestamp => Into::into, mtim: st::NewTimestamp => Into::into) -> FsResult<()>;
        open_at(path_flags: st::PathFlags => Into::into, path: String => |x| x, open_flags: st::OpenFlags => Into::into, flags: st::DescriptorFlags => Into::into) -> FsResult<Resource<Descriptor>>;
        readlink_at(path: String => |x| x) -> FsResult<String>;
        remove_directory_at(path: String => |x| x) -> FsResult<()>;
        symlink_at(old_path: String => |x| x, new_path: String => |x| x) -> FsResult<()>;
        unlink_file_at(path: String => |x| x) -> FsResult<()>;
        metadata_hash() -> FsResult<st::MetadataHashValue>;
        metadata_hash_at(path_flags: st::PathFlags => Into::into, path: String => |x| x) -> FsResult<st::MetadataHashValue>;
    }

    fn link_at(
        &mut self,
        fd: Resource<Descriptor>,
        old_path_flags: st::PathFlags,
        old_path: String,
        new_descriptor: Resource<Descriptor>,
        new_path: String,
    ) -> FsResult<()> {
        if self.mine(&fd) || self.mine(&new_descriptor) {
            return ready(t::HostDescriptor::link_at(
                self,
                fd,
                old_path_flags.into(),
                old_path,
                new_descriptor,
                new_path,
            ));
        }
        st::HostDescriptor::link_at(
            &mut self.wasi(),
            fd,
            old_path_flags,
            old_path,
            new_descriptor,
            new_path,
        )
    }

    fn rename_at(
        &mut self,
        fd: Resource<Descriptor>,
        old_path: String,
        new_descriptor: Resource<Descriptor>,
        new_path: String,
    ) -> FsResult<()> {
        if self.mine(&fd) || self.mine(&new_descriptor) {
            return ready(t::HostDescriptor::rename_at(
                self,
                fd,
                old_path,
                new_descriptor,
                new_path,
            ));
        }
        st::HostDescriptor::rename_at(&mut self.wasi(), fd, old_path, new_descriptor, new_path)
    }

    fn drop(&mut self, fd: Resource<Descriptor>) -> wasmtime::Result<()> {
        t::HostDescriptor::drop(self, fd)
    }

    fn read_via_stream(
        &mut self,
        fd: Resource<Descriptor>,
        offset: u64,
    ) -> FsResult<Resource<DynInputStream>> {
        t::HostDescriptor::read_via_stream(self, fd, offset)
    }

    fn write_via_stream(
        &mut self,
        fd: Resource<Descriptor>,
        offset: u64,
    ) -> FsResult<Resource<DynOutputStream>> {
        t::HostDescriptor::write_via_stream(self, fd, offset)
    }

    fn append_via_stream(
        &mut self,
        fd: Resource<Descriptor>,
    ) -> FsResult<Resource<DynOutputStream>> {
        t::HostDescriptor::append_via_stream(self, fd)
    }

    fn is_same_object(
        &mut self,
        a: Resource<Descriptor>,
        b: Resource<Descriptor>,
    ) -> wasmtime::Result<bool> {
        if self.mine(&a) || self.mine(&b) {
            return ready(t::HostDescriptor::is_same_object(self, a, b));
        }
        st::HostDescriptor::is_same_object(&mut self.wasi(), a, b)
    }
}

impl<T: WasiView + WasiMemfdView> st::HostDirectoryEntryStream for FsView<'_, T> {
    fn read_directory_entry(
        &mut self,
        stream: Resource<st::DirectoryEntryStream>,
    ) -> FsResult<Option<st::DirectoryEntry>> {
        if let Some(readdir) = descriptor::get_readdir(self.table(), &stream) {
            return Ok(readdir.next()?.map(Into::into));
        }
        st::HostDirectoryEntryStream::read_directory_entry(&mut self.wasi(), stream)
    }

    fn drop(&mut self, stream: Resource<st::DirectoryEntryStream>) -> wasmtime::Result<()> {
        t::HostDirectoryEntryStream::drop(self, stream)
    }
}
