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
    host: &'a mut T,
}

/// The view a linker's `wasi:filesystem` calls get of the store's data.
pub(crate) fn view<T>(host: &mut T) -> FsView<'_, T> {
    FsView { host }
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

/// The descriptor methods that take one descriptor, written as a list:
/// each entry, `name(args…) -> Ok => |d| answer;`, becomes the method that
/// answers with `answer` on wasi-memfd's own descriptor `d`, and passes any
/// other descriptor (a real file or directory) to wasmtime-wasi's same
/// method, awaited.
macro_rules! descriptor_calls {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ok:ty => |$d:ident| $ours:expr;)*) => {$(
        async fn $name(&mut self, fd: Resource<Descriptor>, $($arg: $ty),*) -> FsResult<$ok> {
            match self.with(&fd, |$d| $ours) {
                Some(r) => r,
                None => t::HostDescriptor::$name(&mut self.wasi(), fd, $($arg),*).await,
            }
        }
    )*};
}

/// The calls that name a second descriptor (a link or a rename into
/// another directory), written as a list: each entry,
/// `name(args…) with other => |d, o| answer;`, becomes the method that
/// answers with `answer` when the first descriptor `d` is wasi-memfd's
/// (`o` is the other, `None` if it is wasmtime-wasi's), `cross-device`
/// when only the other is (two filesystems), and passes the call to
/// wasmtime-wasi when neither is.
macro_rules! two_descriptor_calls {
    ($($name:ident($($arg:ident: $ty:ty),*) with $other:ident
        => |$d:ident, $o:ident| $ours:expr;)*) => {$(
        async fn $name(&mut self, fd: Resource<Descriptor>, $($arg: $ty),*) -> FsResult<()> {
            if self.mine(&fd) {
                return self.with_two(&fd, &$other, |$d, $o| $ours);
            }
            if self.mine(&$other) {
                return Err(FsError::Xdev.into());
            }
            t::HostDescriptor::$name(&mut self.wasi(), fd, $($arg),*).await
        }
    )*};
}

impl<T: WasiView + WasiMemfdView> t::HostDescriptor for FsView<'_, T> {
    descriptor_calls! {
        advise(offset: u64, len: u64, advice: t::Advice) -> () => |d| d.advise();
        sync_data() -> () => |d| d.sync();
        get_flags() -> t::DescriptorFlags => |d| d.get_flags();
        get_type() -> t::DescriptorType => |d| d.get_type();
        set_size(size: u64) -> () => |d| d.set_size(size);
        set_times(atim: t::NewTimestamp, mtim: t::NewTimestamp) -> () => |d| d.set_times(atim, mtim);
        read(len: u64, offset: u64) -> (Vec<u8>, bool) => |d| d.read(len, offset);
        write(buf: Vec<u8>, offset: u64) -> u64 => |d| d.write(&buf, offset);
        sync() -> () => |d| d.sync();
        create_directory_at(path: String) -> () => |d| d.create_directory_at(&path);
        stat() -> t::DescriptorStat => |d| d.stat();
        stat_at(path_flags: t::PathFlags, path: String) -> t::DescriptorStat
            => |d| d.stat_at(path_flags, &path);
        set_times_at(
            path_flags: t::PathFlags,
            path: String,
            atim: t::NewTimestamp,
            mtim: t::NewTimestamp
        ) -> () => |d| d.set_times_at(path_flags, &path, atim, mtim);
        readlink_at(path: String) -> String => |d| d.readlink_at(&path);
        remove_directory_at(path: String) -> () => |d| d.remove_directory_at(&path);
        symlink_at(old_path: String, new_path: String) -> ()
            => |d| d.symlink_at(&old_path, &new_path);
        unlink_file_at(path: String) -> () => |d| d.unlink_file_at(&path);
        metadata_hash() -> t::MetadataHashValue => |d| d.metadata_hash();
        metadata_hash_at(path_flags: t::PathFlags, path: String) -> t::MetadataHashValue
            => |d| d.metadata_hash_at(path_flags, &path);
    }

    two_descriptor_calls! {
        link_at(
            old_path_flags: t::PathFlags,
            old_path: String,
            new_descriptor: Resource<Descriptor>,
            new_path: String
        ) with new_descriptor => |d, n| d.link_at(old_path_flags, &old_path, n, &new_path);
        rename_at(old_path: String, new_descriptor: Resource<Descriptor>, new_path: String)
            with new_descriptor => |d, n| d.rename_at(&old_path, n, &new_path);
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
/// (which answers at once), any other through wasmtime-wasi's sync one. A
/// method naming a second descriptor (`also other`) goes to the async
/// implementation when either is wasi-memfd's.
macro_rules! sync_methods {
    ($($name:ident($($arg:ident: $sty:ty => $conv:expr),*) $(also $other:ident)? -> $ret:ty;)*) => {$(
        fn $name(&mut self, fd: Resource<Descriptor>, $($arg: $sty),*) -> $ret {
            if self.mine(&fd) $(|| self.mine(&$other))? {
                #[allow(clippy::redundant_closure_call)]
                let r = ready(t::HostDescriptor::$name(self, fd, $(($conv)($arg)),*));
                return r.map(Into::into);
            }
            st::HostDescriptor::$name(&mut self.wasi(), fd, $($arg),*)
        }
    )*};
}

/// Each method: the async implementation's, which does not wait.
macro_rules! unawaited {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {$(
        fn $name(&mut self, fd: Resource<Descriptor>, $($arg: $ty),*) -> $ret {
            t::HostDescriptor::$name(self, fd, $($arg),*)
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
        link_at(old_path_flags: st::PathFlags => Into::into, old_path: String => |x| x, new_descriptor: Resource<Descriptor> => |x| x, new_path: String => |x| x) also new_descriptor -> FsResult<()>;
        rename_at(old_path: String => |x| x, new_descriptor: Resource<Descriptor> => |x| x, new_path: String => |x| x) also new_descriptor -> FsResult<()>;
        is_same_object(other: Resource<Descriptor> => |x| x) also other -> wasmtime::Result<bool>;
    }

    // Never waiting in their async form either: called as they are.
    unawaited! {
        drop() -> wasmtime::Result<()>;
        read_via_stream(offset: u64) -> FsResult<Resource<DynInputStream>>;
        write_via_stream(offset: u64) -> FsResult<Resource<DynOutputStream>>;
        append_via_stream() -> FsResult<Resource<DynOutputStream>>;
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
