//! The `wasi_memfd` import module for core modules.
//!
//! Every range is checked against the guest's memory before anything is
//! made, so a failed call creates nothing; `data` is copied straight from
//! linear memory into the memory file (at once on the sync linker, in 1 MiB
//! chunks with a yield between them on the async one).

use std::ops::Range;

use wasmtime::{Caller, Extern, Linker, Memory};

use wasmtime_wasi::p1::types::Errno;

use super::{WasiMemfdP1Ctx, FLAG_WRITABLE};
use crate::copy;
use crate::error::ErrorCode;

/// The import module's name.
const MODULE: &str = "wasi_memfd";

/// Why a call failed, as the guest sees it.
enum Failure {
    Fault,
    Code(ErrorCode),
}

impl From<ErrorCode> for Failure {
    fn from(code: ErrorCode) -> Self {
        Failure::Code(code)
    }
}

impl Failure {
    fn errno(self) -> i32 {
        match self {
            Failure::Fault => Errno::Fault as i32,
            Failure::Code(code) => code.wasi_errno() as i32,
        }
    }
}

/// The arguments of `from_bytes`, as the guest passed them.
#[derive(Copy, Clone)]
struct FromBytes {
    data: u32,
    data_len: u32,
    name: u32,
    name_len: u32,
    flags: u32,
    fd_out: u32,
}

/// A `from_bytes` call whose ranges, flags and name passed (the limits are
/// the context's to check, when it makes the file).
struct Checked {
    data: Range<usize>,
    name: Range<usize>,
    writable: bool,
}

impl FromBytes {
    /// Checks every argument against `mem`; nothing is made yet.
    fn check(self, mem: &[u8]) -> Result<Checked, Failure> {
        let data = range(mem, self.data, self.data_len)?;
        let name = range(mem, self.name, self.name_len)?;
        range(mem, self.fd_out, 4)?;
        if self.flags & !FLAG_WRITABLE != 0 {
            return Err(ErrorCode::InvalidArgument.into());
        }
        utf8(&mem[name.clone()])?;
        Ok(Checked {
            data,
            name,
            writable: self.flags & FLAG_WRITABLE != 0,
        })
    }
}

fn utf8(name: &[u8]) -> Result<&str, Failure> {
    std::str::from_utf8(name).map_err(|_| ErrorCode::InvalidArgument.into())
}

/// Adds the `wasi_memfd` module for the sync linker: `from_bytes` copies at
/// once.
pub(super) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    f: impl Fn(&mut T) -> &mut WasiMemfdP1Ctx + Copy + Send + Sync + 'static,
) -> wasmtime::Result<()> {
    linker.func_wrap(
        MODULE,
        "from_bytes",
        move |mut caller: Caller<'_, T>,
              data: u32,
              data_len: u32,
              name: u32,
              name_len: u32,
              flags: u32,
              fd_out: u32|
              -> wasmtime::Result<i32> {
            let args = FromBytes {
                data,
                data_len,
                name,
                name_len,
                flags,
                fd_out,
            };
            with_memory(
                &mut caller,
                f,
                |mem, ctx| {
                    let checked = args.check(mem)?;
                    let name = utf8(&mem[checked.name])?;
                    let file = ctx
                        .memfd
                        .make_file(name, &mem[checked.data], checked.writable)?;
                    Ok(ctx.open_memfd(file.hold())?)
                },
                fd_out,
            )
        },
    )?;
    add_open_preopened(linker, f)
}

/// Adds the `wasi_memfd` module for the async linker: `from_bytes` copies
/// in chunks and yields between them.
pub(super) fn add_to_linker_async<T: Send + 'static>(
    linker: &mut Linker<T>,
    f: impl Fn(&mut T) -> &mut WasiMemfdP1Ctx + Copy + Send + Sync + 'static,
) -> wasmtime::Result<()> {
    linker.func_wrap_async(
        MODULE,
        "from_bytes",
        move |mut caller: Caller<'_, T>,
              (data, data_len, name, name_len, flags, fd_out): (
            u32,
            u32,
            u32,
            u32,
            u32,
            u32,
        )| {
            let args = FromBytes {
                data,
                data_len,
                name,
                name_len,
                flags,
                fd_out,
            };
            Box::new(async move { from_bytes_in_chunks(&mut caller, f, args).await })
        },
    )?;
    add_open_preopened(linker, f)
}

async fn from_bytes_in_chunks<T: 'static>(
    caller: &mut Caller<'_, T>,
    f: impl Fn(&mut T) -> &mut WasiMemfdP1Ctx,
    args: FromBytes,
) -> wasmtime::Result<i32> {
    let memory = match guest_memory(caller)? {
        Ok(memory) => memory,
        Err(failure) => return Ok(failure.errno()),
    };
    let Checked {
        data,
        name,
        writable,
    } = match args.check(memory.data(&*caller)) {
        Ok(checked) => checked,
        Err(failure) => return Ok(failure.errno()),
    };
    let name = match utf8(&memory.data(&*caller)[name]) {
        Ok(name) => name.to_owned(),
        Err(failure) => return Ok(failure.errno()),
    };
    let begun = f(caller.data_mut())
        .memfd
        .begin_file(&name, data.len(), writable);
    let file = match begun {
        Ok(mut file) => {
            let start = data.start;
            copy::fill_in_chunks(&mut file, data.len(), caller, |caller, chunk| {
                &memory.data(caller)[start + chunk.start..start + chunk.end]
            })
            .await
            .and_then(|()| file.finish())
        }
        Err(code) => Err(code),
    };
    let (mem, store) = memory.data_and_store_mut(&mut *caller);
    let opened = file.and_then(|file| f(store).open_memfd(file.hold()));
    Ok(finish(mem, opened.map_err(Failure::from), args.fd_out))
}

/// Adds `open_preopened`, the same on both linkers.
fn add_open_preopened<T: Send + 'static>(
    linker: &mut Linker<T>,
    f: impl Fn(&mut T) -> &mut WasiMemfdP1Ctx + Copy + Send + Sync + 'static,
) -> wasmtime::Result<()> {
    linker.func_wrap(
        MODULE,
        "open_preopened",
        move |mut caller: Caller<'_, T>,
              name: u32,
              name_len: u32,
              fd_out: u32|
              -> wasmtime::Result<i32> {
            with_memory(
                &mut caller,
                f,
                |mem, ctx| {
                    let name = range(mem, name, name_len)?;
                    range(mem, fd_out, 4)?;
                    Ok(ctx.open_preopened(utf8(&mem[name])?)?)
                },
                fd_out,
            )
        },
    )?;
    Ok(())
}

/// The guest's exported `memory`; a shared memory, which cannot be lent
/// out as a plain slice, is `ENOTSUP`.
fn guest_memory<T: 'static>(
    caller: &mut Caller<'_, T>,
) -> wasmtime::Result<Result<Memory, Failure>> {
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => Ok(Ok(memory)),
        Some(Extern::SharedMemory(_)) => Ok(Err(ErrorCode::Unsupported.into())),
        _ => wasmtime::bail!("wasi_memfd: the module exports no `memory`"),
    }
}

/// Runs `call` with the guest's memory and the context, then writes the fd
/// it returns at `fd_out` (already checked by `call`) and returns the errno.
fn with_memory<T: 'static>(
    caller: &mut Caller<'_, T>,
    f: impl Fn(&mut T) -> &mut WasiMemfdP1Ctx,
    call: impl FnOnce(&[u8], &mut WasiMemfdP1Ctx) -> Result<u32, Failure>,
    fd_out: u32,
) -> wasmtime::Result<i32> {
    let memory = match guest_memory(caller)? {
        Ok(memory) => memory,
        Err(failure) => return Ok(failure.errno()),
    };
    let (mem, data) = memory.data_and_store_mut(caller);
    let result = call(mem, f(data));
    Ok(finish(mem, result, fd_out))
}

/// Writes a new fd at `fd_out` (checked in bounds before anything was
/// made) and returns the errno for the guest.
fn finish(mem: &mut [u8], result: Result<u32, Failure>, fd_out: u32) -> i32 {
    match result {
        Ok(fd) => {
            let at = fd_out as usize;
            mem[at..at + 4].copy_from_slice(&fd.to_le_bytes());
            0
        }
        Err(failure) => failure.errno(),
    }
}

/// `ptr..ptr + len` if it lies inside `mem`.
fn range(mem: &[u8], ptr: u32, len: u32) -> Result<Range<usize>, Failure> {
    let start = ptr as usize;
    let end = start.checked_add(len as usize).ok_or(Failure::Fault)?;
    if end > mem.len() {
        return Err(Failure::Fault);
    }
    Ok(start..end)
}
