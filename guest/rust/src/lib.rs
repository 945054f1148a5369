//! Guest bindings for wasi-memfd: turn bytes in a WebAssembly guest's linear
//! memory into a file descriptor backed by a sealed memory file on the host.
//!
//! One API on both WASI targets: the same functions return the same types,
//! so code written for one compiles for the other.
//!
//! | | `wasm32-wasip1` | `wasm32-wasip2` |
//! | --- | --- | --- |
//! | binds to | the `wasi_memfd` core-module imports | the `wasi-memfd:memfd/memfd@0.1.0` component interface (`wit-bindgen`) |
//! | `from_bytes`, `from_bytes_writable`, `from_bytes_with_flags`, `open_preopened` | `Result<MemFile, Error>` | `Result<MemFile, Error>` |
//! | `MemFile` | `Read + Write + Seek + Debug`, `len`, `is_empty`, `is_writable` | the same |
//! | `MemFile` wraps | a [`std::fs::File`]: `into_file()`, `as_file()`, `From<MemFile> for File` | a `wasi:filesystem` `Descriptor` and a cursor: `into_descriptor()`, `descriptor()`, `From<MemFile> for Descriptor` |
//!
//! On every target the crate provides [`Error`] (the WIT `error-code` enum,
//! the host's `ErrorCode`, with its WASIp1 errno and `io::ErrorKind`
//! mappings), the option bits in [`flags`], [`validate_name`],
//! [`validate_flags`] and [`MAX_NAME_LEN`]; on a non-WASI target that is all
//! it has, unless the `p2-host-check` feature compiles the `wasm32-wasip2`
//! API there too, for CI (its functions are stubs there: calling one aborts
//! the process).
//!
//! ```no_run
//! # // The API exists on WASI targets, and on the host with `p2-host-check`
//! # // (test.sh compiles this example that way).
//! # #[cfg(not(any(target_os = "wasi", feature = "p2-host-check")))]
//! # fn main() {}
//! # #[cfg(any(target_os = "wasi", feature = "p2-host-check"))]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::io::{Read, Seek, SeekFrom};
//!
//! let mut file = wasi_memfd_guest::from_bytes(b"hello, wasi-memfd", "greeting")?;
//! assert_eq!(file.len(), 17);
//! file.seek(SeekFrom::Start(7))?;
//! let mut s = String::new();
//! file.read_to_string(&mut s)?;
//! assert_eq!(s, "wasi-memfd");
//! match wasi_memfd_guest::open_preopened("config") {
//!     Ok(config) => println!("config: {} bytes", config.len()),
//!     Err(wasi_memfd_guest::Error::NotFound) => println!("no config attached"),
//!     Err(e) => return Err(e.into()),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Everything but the `wasm32-wasip2` module builds with Rust 1.63 and no
//! dependency, so the `wasm32-wasip1` half can be built with a bare
//! `rustc --target wasm32-wasi src/lib.rs` too.
#![deny(missing_docs)]

mod error;
// The logic of wasm32-wasip2's `MemFile` and its cursor arithmetic, compiled
// everywhere so their tests run on the host; not public.
#[cfg_attr(
    not(any(
        all(target_os = "wasi", target_env = "p2"),
        all(not(target_os = "wasi"), feature = "p2-host-check")
    )),
    allow(dead_code)
)]
mod fixed;
mod options;
#[cfg_attr(
    not(any(
        all(target_os = "wasi", target_env = "p2"),
        all(not(target_os = "wasi"), feature = "p2-host-check")
    )),
    allow(dead_code)
)]
mod position;

pub use error::{errno, Error};
pub use options::{flags, validate_flags, validate_name, MAX_NAME_LEN};

#[cfg(all(target_os = "wasi", not(target_env = "p2")))]
mod p1;
#[cfg(all(target_os = "wasi", not(target_env = "p2")))]
pub use p1::{from_bytes, from_bytes_with_flags, from_bytes_writable, open_preopened, MemFile};

// The `p2-host-check` feature compiles it on non-WASI targets too, so the
// host's clippy checks it (wit-bindgen's imports are `unreachable!()` stubs
// off wasm32: calling a function aborts). Not on wasm32-wasip1, which has
// its own `from_bytes` & co. above.
#[cfg(any(
    all(target_os = "wasi", target_env = "p2"),
    all(not(target_os = "wasi"), feature = "p2-host-check")
))]
mod p2;
#[cfg(any(
    all(target_os = "wasi", target_env = "p2"),
    all(not(target_os = "wasi"), feature = "p2-host-check")
))]
pub use p2::{
    from_bytes, from_bytes_with_flags, from_bytes_writable, open_preopened, Descriptor, MemFile,
};

/// Compiled wherever one of the two halves is (wasm32-wasip1 with Rust 1.63,
/// wasm32-wasip2, `p2-host-check`), never called: it stops compiling if the
/// halves' shared API drifts apart.
#[cfg(any(
    target_os = "wasi",
    all(not(target_os = "wasi"), feature = "p2-host-check")
))]
#[allow(dead_code)]
fn shared_api_check() -> Result<(), Box<dyn std::error::Error>> {
    use std::io::{Read, Seek, SeekFrom, Write};

    let _: fn(&[u8], &str) -> Result<MemFile, Error> = from_bytes;
    let _: fn(&[u8], &str) -> Result<MemFile, Error> = from_bytes_writable;
    let _: fn(&[u8], &str, u32) -> Result<MemFile, Error> = from_bytes_with_flags;
    let _: fn(&str) -> Result<MemFile, Error> = open_preopened;
    let _: fn(&MemFile) -> u64 = MemFile::len;
    let _: fn(&MemFile) -> bool = MemFile::is_empty;
    let _: fn(&MemFile) -> bool = MemFile::is_writable;

    fn traits<T: Read + Write + Seek + std::fmt::Debug>(_: &T) {}
    let mut file = from_bytes_with_flags(b"x", "n", flags::WRITABLE)?;
    traits(&file);
    file.seek(SeekFrom::Start(0))?;
    file.write_all(b"y")?;
    file.flush()?;
    let mut back = Vec::new();
    file.rewind()?;
    file.read_to_end(&mut back)?;
    let _: std::io::Error = Error::NotFound.into();
    Ok(())
}
