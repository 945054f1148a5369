//! The `wasi_memfd` import module for core modules.
//!
//! Every range is checked against the guest's memory before anything is
//! made, so a failed call creates nothing; `data` is copied straight from
//! linear memory into the memory file.

use wasmtime::{Caller, Extern, Linker};

use super::{WasiMemfdP1Ctx, FLAG_WRITABLE};
use crate::error::ErrorCode;

/// The import module's name.
const MODULE: &str = "wasi_memfd";

/// WASIp1 `EFAULT`: a range outside the guest's memory.
const EFAULT: i32 = 21;

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
            Failure::Fault => EFAULT,
            Failure::Code(code) => i32::from(code.errno()),
        }
    }
}

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
            with_memory(
                &mut caller,
                f,
                |mem, ctx| {
                    let data = range(mem, data, data_len)?;
                    let name = range(mem, name, name_len)?;
                    range(mem, fd_out, 4)?;
                    if flags & !FLAG_WRITABLE != 0 {
                        return Err(ErrorCode::InvalidArgument.into());
                    }
                    let name =
                        std::str::from_utf8(&mem[name]).map_err(|_| ErrorCode::InvalidArgument)?;
                    let fd = ctx.open_from_bytes(&mem[data], name, flags & FLAG_WRITABLE != 0)?;
                    Ok(fd)
                },
                fd_out,
            )
        },
    )?;
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
                    let name =
                        std::str::from_utf8(&mem[name]).map_err(|_| ErrorCode::InvalidArgument)?;
                    Ok(ctx.open_preopened(name)?)
                },
                fd_out,
            )
        },
    )?;
    Ok(())
}

/// Runs `call` with the guest's memory and the context, then writes the fd
/// it returns at `fd_out` (already checked by `call`) and returns the errno.
fn with_memory<T: 'static>(
    caller: &mut Caller<'_, T>,
    f: impl Fn(&mut T) -> &mut WasiMemfdP1Ctx,
    call: impl FnOnce(&[u8], &mut WasiMemfdP1Ctx) -> Result<u32, Failure>,
    fd_out: u32,
) -> wasmtime::Result<i32> {
    let memory = match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => memory,
        // Shared memories cannot be lent out as a plain slice.
        Some(Extern::SharedMemory(_)) => return Ok(i32::from(ErrorCode::Unsupported.errno())),
        _ => wasmtime::bail!("wasi_memfd: the module exports no `memory`"),
    };
    let (mem, data) = memory.data_and_store_mut(caller);
    let ctx = f(data);
    match call(mem, ctx) {
        Ok(fd) => {
            let at = fd_out as usize;
            mem[at..at + 4].copy_from_slice(&fd.to_le_bytes());
            Ok(0)
        }
        Err(failure) => Ok(failure.errno()),
    }
}

/// `ptr..ptr + len` if it lies inside `mem`.
fn range(mem: &[u8], ptr: u32, len: u32) -> Result<std::ops::Range<usize>, Failure> {
    let start = ptr as usize;
    let end = start.checked_add(len as usize).ok_or(Failure::Fault)?;
    if end > mem.len() {
        return Err(Failure::Fault);
    }
    Ok(start..end)
}
