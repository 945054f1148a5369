//! The WASIp1 calls that name no fd, written once as a list instead of one
//! hand-written method each.
//!
//! [`delegate!`] expands each line of that list, `fn name(args) -> Ret;`
//! (or `async fn`), into a `WasiSnapshotPreview1` method of
//! `WasiMemfdP1Ctx` that passes the call to wasmtime-wasi's context
//! unchanged (an `async` one through
//! [`in_runtime`](super::sync::in_runtime)). The calls that name an fd are
//! a list of the same kind in `snapshot.rs` (`fd_calls!`), which routes
//! each by its fd.

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
}

pub(crate) use delegate;
