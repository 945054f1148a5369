//! The WASIp1 calls this layer does not serve itself, written once as a
//! list instead of one hand-written method each.
//!
//! [`delegate!`] expands each line of that list into a
//! `WasiSnapshotPreview1` method of `WasiMemfdP1Ctx`:
//! - `fn name(args) -> Ret;` (or `async fn`) passes the call to
//!   wasmtime-wasi's context unchanged (an `async` one through
//!   [`in_runtime`](super::sync::in_runtime));
//! - `[Errno on fd, ...] fn name(args) -> Ret;` first answers `Errno` when
//!   any of the named fd arguments is a memory file (a directory call on a
//!   file, a socket call, ...), and passes every other call on unchanged.

/// See the [module documentation](self).
macro_rules! delegate {
    () => {};
    (fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty; $($rest:tt)*) => {
        fn $name(&mut self, mem: &mut GuestMemory<'_>, $($arg: $ty),*) -> $ret {
            self.wasi.$name(mem, $($arg),*)
        }
        $crate::p1::delegate::delegate!($($rest)*);
    };
    (async fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty; $($rest:tt)*) => {
        async fn $name(&mut self, mem: &mut GuestMemory<'_>, $($arg: $ty),*) -> $ret {
            $crate::p1::sync::in_runtime(self.wasi.$name(mem, $($arg),*)).await
        }
        $crate::p1::delegate::delegate!($($rest)*);
    };
    ([$errno:ident on $($fd:ident),+] fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;
     $($rest:tt)*) => {
        fn $name(&mut self, mem: &mut GuestMemory<'_>, $($arg: $ty),*) -> $ret {
            if $(self.is_mem_fd($fd))||+ {
                return err(Errno::$errno);
            }
            self.wasi.$name(mem, $($arg),*)
        }
        $crate::p1::delegate::delegate!($($rest)*);
    };
    ([$errno:ident on $($fd:ident),+] async fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;
     $($rest:tt)*) => {
        async fn $name(&mut self, mem: &mut GuestMemory<'_>, $($arg: $ty),*) -> $ret {
            if $(self.is_mem_fd($fd))||+ {
                return err(Errno::$errno);
            }
            $crate::p1::sync::in_runtime(self.wasi.$name(mem, $($arg),*)).await
        }
        $crate::p1::delegate::delegate!($($rest)*);
    };
}

pub(crate) use delegate;
