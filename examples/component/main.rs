//! Component round trip: a guest turns bytes in its own linear memory into a
//! `wasi:filesystem` descriptor with `wasi-memfd:memfd/memfd.from-bytes`,
//! then `stat`s and `read`s it.
//!
//! The guest is a WAT core module (`guest.wat`) that wit-component encodes
//! into a component of the world in `guest.wit`. Its one export, `run`,
//! returns the bytes it held, the size `stat` gave and the bytes `read`
//! gave, which the host checks: the guest's CSV, its size from `stat`, and
//! the same bytes read back. Run: `cargo run --release --example
//! component`; it exits non-zero on a mismatch, and `cargo test` runs it.

use std::path::Path;

use wasi_memfd::p2::bindings::ErrorCode as MemfdError;
use wasi_memfd::p2::WasiMemfdP2Ctx;
use wasi_memfd::WasiMemfdCtx;
use wasmtime::component::{Component, ComponentType, Lift, Linker};
use wasmtime::Engine;
use wasmtime_wasi::p2::bindings::filesystem::types::ErrorCode as FsError;
use wasmtime_wasi::WasiCtx;

/// `report` in guest.wit: what the guest saw.
#[derive(ComponentType, Lift, Debug)]
#[component(record)]
pub struct Report {
    /// The bytes the guest held in its data segment.
    pub held: Vec<u8>,
    /// The memory file's size, from `stat`.
    pub size: u64,
    /// What `read` returned.
    #[component(name = "read-back")]
    pub read_back: Vec<u8>,
}

/// `failure` in guest.wit: which call failed, and why.
#[derive(ComponentType, Lift, Debug)]
#[component(variant)]
pub enum Failure {
    #[component(name = "from-bytes")]
    FromBytes(MemfdError),
    #[component(name = "stat")]
    Stat(FsError),
    #[component(name = "read")]
    Read(FsError),
}

/// Encodes guest.wat into a component of guest.wit's world. (wit-component
/// speaks `anyhow::Error`; `run` converts it to a `wasmtime::Error`.)
fn guest_component() -> anyhow::Result<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")); // host/
    let mut resolve = wit_parser::Resolve::new();
    // wit/ is wasi-memfd's package; wit/deps/ holds the wasi packages it uses.
    resolve.push_dir(dir.join("../wit"))?;
    let package = resolve.push_file(dir.join("../examples/component/guest.wit"))?;
    let world = resolve.select_world(&[package], Some("guest"))?;

    let mut module = wat::parse_file(dir.join("../examples/component/guest.wat"))?;
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )?;
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&module)?
        .encode()
}

/// Builds and runs the guest; returns what it saw.
pub fn run() -> wasmtime::Result<Report> {
    let engine = Engine::default();
    let component = Component::new(
        &engine,
        guest_component().map_err(wasmtime::Error::from_anyhow)?,
    )?;
    let mut linker = Linker::new(&engine);
    wasi_memfd::p2::add_to_linker_sync(&mut linker)?;

    // Store data: wasmtime-wasi's and wasi-memfd's contexts over one shared
    // resource table, so a descriptor made by `from-bytes` is served by
    // `wasi:filesystem` (an embedder's own store data implements
    // `WasiView` and `WasiMemfdView` instead: see the README).
    let memfd = WasiMemfdCtx::new(); // default limits
    let ctx = WasiMemfdP2Ctx::new(WasiCtx::builder().build(), memfd);
    let mut store = ctx.into_store(&engine);
    let instance = linker.instantiate(&mut store, &component)?;
    let run = instance.get_typed_func::<(), (Result<Report, Failure>,)>(&mut store, "run")?;
    let (report,) = run.call(&mut store, ())?;
    report.map_err(|failure| wasmtime::format_err!("the guest failed: {failure:?}"))
}

fn main() -> wasmtime::Result<()> {
    let report = run()?;
    // The CSV ends in a newline.
    print!(
        "the guest held {} bytes:\n{}",
        report.held.len(),
        String::from_utf8_lossy(&report.held)
    );
    print!(
        "stat size {}; read back {} bytes:\n{}",
        report.size,
        report.read_back.len(),
        String::from_utf8_lossy(&report.read_back)
    );
    let csv = b"name,qty\nwidget,3\ngadget,7\n";
    if report.held == csv
        && report.read_back == report.held
        && report.size == report.held.len() as u64
    {
        println!("round trip ok: the descriptor holds exactly the guest's bytes");
        Ok(())
    } else {
        wasmtime::bail!("round trip mismatch")
    }
}
