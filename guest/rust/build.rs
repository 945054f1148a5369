//! Tells the crate it is built by cargo, so by a Rust of at least the
//! `rust-version` in Cargo.toml (1.85): `io::ErrorKind::FileTooLarge` and
//! `QuotaExceeded` (stable since 1.83) can be named. A bare
//! `rustc --target wasm32-wasi src/lib.rs` (the wasm32-wasip1 half builds
//! with Rust 1.63 that way) runs no build script, so there the crate falls
//! back to `ErrorKind::Other` for those two.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(wasi_memfd_std_1_83)");
    println!("cargo::rustc-cfg=wasi_memfd_std_1_83");
}
