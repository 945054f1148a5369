//! The probe component and a store to run it in: the component harness of
//! `tests/host/component.rs`, `tests/fd_leaks.rs`, `tests/faults.rs` and the
//! model's component driver.
//!
//! The probe (`probe.wat`, `probe.wit` beside this file) is a core module
//! whose exports forward to `wasi-memfd:memfd/memfd`, `wasi:filesystem/types`
//! and `wasi:io/streams` imports, encoded into a component with
//! wit-component. It holds the descriptors and streams; the tests pass their
//! handle indices back in and make every assertion in Rust.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use wasi_memfd::{Usage, WasiMemfdCtx};
use wasmtime::component::{
    Component, ComponentNamedList, Instance, InstancePre, Lift, Linker, Lower, ResourceTable,
};
use wasmtime::Store;
use wasmtime_wasi::WasiCtx;

use crate::{engine, repo_root};

pub use wasi_memfd::p2::bindings::ErrorCode as MemfdError;
pub use wasmtime_wasi::p2::bindings::filesystem::types::{
    DescriptorFlags, DescriptorType, ErrorCode as FsError,
};

const PROBE_WAT: &str = include_str!("probe.wat");
const PROBE_WIT: &str = include_str!("probe.wit");

/// The wasi 0.2 release a probe is built against.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Wasi {
    /// The project's own `wit/` (what `wit/memfd.wit` uses).
    V0_2_0,
    /// The newest 0.2 release: the WIT wasmtime-wasi itself is built from,
    /// read from the wasmtime-wasi source in `Cargo.lock` (so it follows a
    /// wasmtime upgrade; no copy of it is kept here).
    Wasmtime,
}

impl Wasi {
    pub const ALL: [Wasi; 2] = [Wasi::V0_2_0, Wasi::Wasmtime];

    /// The release, as its `wasi:io` package names it.
    fn version(self) -> &'static str {
        match self {
            Wasi::V0_2_0 => "0.2.0",
            Wasi::Wasmtime => &wasmtime_wasi_wit().1,
        }
    }

    /// The directory holding this release's packages (a directory or a
    /// `.wit` file each).
    fn deps(self) -> PathBuf {
        match self {
            Wasi::V0_2_0 => repo_root().join("wit/deps"),
            Wasi::Wasmtime => wasmtime_wasi_wit().0.clone(),
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// wasmtime-wasi's `src/p2/wit/deps` and the wasi version it holds.
///
/// Where cargo unpacked wasmtime-wasi is what `cargo metadata` reports
/// (offline, from the lock file). It runs with `--filter-platform` for the
/// host: without it cargo resolves every target platform and needs each
/// one's crates, so it fails on a machine whose cargo cache lacks the
/// Windows-only ones. Cargo.lock alone would give the version but not the
/// directory (that would mean guessing cargo's registry layout).
fn wasmtime_wasi_wit() -> &'static (PathBuf, String) {
    static WIT: OnceLock<(PathBuf, String)> = OnceLock::new();
    WIT.get_or_init(|| {
        let out = std::process::Command::new(env!("CARGO"))
            .args(["metadata", "--format-version", "1", "--locked", "--offline"])
            .args(["--filter-platform", &host_triple()])
            .arg("--manifest-path")
            .arg(repo_root().join("Cargo.toml"))
            .output()
            .expect("running cargo metadata");
        assert!(
            out.status.success(),
            "cargo metadata: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
        let manifest = meta["packages"]
            .as_array()
            .expect("metadata lists packages")
            .iter()
            .find(|p| p["name"] == "wasmtime-wasi")
            .and_then(|p| p["manifest_path"].as_str())
            .expect("wasmtime-wasi is a dependency");
        let deps = Path::new(manifest)
            .parent()
            .expect("a manifest has a directory")
            .join("src/p2/wit/deps");
        let io = std::fs::read_to_string(deps.join("io.wit"))
            .unwrap_or_else(|e| panic!("{}: {e}", deps.join("io.wit").display()));
        let version = io
            .lines()
            .find_map(|l| l.trim().strip_prefix("package wasi:io@"))
            .and_then(|v| v.strip_suffix(';'))
            .expect("io.wit names its package")
            .to_string();
        (deps, version)
    })
}

/// The host's target triple, from `$RUSTC -vV` (`rustc` if unset), the
/// compiler cargo would use.
fn host_triple() -> String {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = std::process::Command::new(&rustc)
        .arg("-vV")
        .output()
        .unwrap_or_else(|e| panic!("running {} -vV: {e}", rustc.to_string_lossy()));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .unwrap_or_else(|| panic!("{} -vV names no host", rustc.to_string_lossy()))
        .to_string()
}

/// The WIT of the probe's world and everything it uses, at `wasi`'s version.
fn probe_world(wasi: Wasi) -> (wit_parser::Resolve, wit_parser::WorldId) {
    let mut resolve = wit_parser::Resolve::new();
    // Dependencies first, in dependency order.
    for package in ["io", "clocks", "random", "filesystem", "sockets", "cli"] {
        let dir = wasi.deps().join(package);
        let file = dir.with_extension("wit");
        let pushed = if dir.is_dir() {
            resolve.push_dir(&dir).map(|_| ())
        } else if file.is_file() {
            resolve.push_file(&file).map(|_| ())
        } else {
            continue;
        };
        pushed.unwrap_or_else(|e| panic!("{}: {e:?}", dir.display()));
    }
    // wasi-memfd's own package, moved to `wasi`'s filesystem version.
    let memfd_path = repo_root().join("wit/memfd.wit");
    let memfd = std::fs::read_to_string(&memfd_path).expect("reading wit/memfd.wit");
    let memfd = memfd.replace("@0.2.0", &format!("@{}", wasi.version()));
    resolve
        .push_str(&memfd_path, &memfd)
        .unwrap_or_else(|e| panic!("wit/memfd.wit at wasi {}: {e:?}", wasi.version()));
    let probe = PROBE_WIT.replace("@0.2.0", &format!("@{}", wasi.version()));
    let package = resolve
        .push_str("probe.wit", &probe)
        .unwrap_or_else(|e| panic!("probe.wit: {e:?}"));
    let world = resolve
        .select_world(&[package], Some("probe"))
        .expect("probe.wit has world `probe`");
    (resolve, world)
}

/// The probe as a component binary, built against `wasi`.
pub fn probe_component_bytes(wasi: Wasi) -> Vec<u8> {
    let (resolve, world) = probe_world(wasi);
    let mut module = wat::parse_str(PROBE_WAT.replace("{WASI}", wasi.version()))
        .unwrap_or_else(|e| panic!("probe.wat: {e}"));
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .expect("embedding the probe's world");
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&module)
        .expect("the probe module matches its world")
        .encode()
        .unwrap_or_else(|e| panic!("encoding the probe component: {e:?}"))
}

/// The probe, compiled and linked once per wasi version per process.
fn instance_pre(wasi: Wasi) -> &'static InstancePre<State> {
    static PRE: [OnceLock<InstancePre<State>>; 2] = [OnceLock::new(), OnceLock::new()];
    PRE[wasi.index()].get_or_init(|| {
        let component =
            Component::new(engine(), probe_component_bytes(wasi)).expect("compiling the probe");
        let mut linker = Linker::new(engine());
        wasi_memfd::p2::add_to_linker_sync(&mut linker).expect("linking WASI with wasi-memfd");
        linker
            .instantiate_pre(&component)
            .expect("the linker satisfies every import of the probe")
    })
}

/// Store data, as the runner's: wasmtime-wasi and wasi-memfd share one
/// resource table.
pub type State = wasi_memfd::p2::WasiMemfdP2Ctx;

/// `wasi:io/streams` `stream-error`, without the error resource.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum StreamError {
    LastOperationFailed,
    Closed,
}

/// A probe instance in its own store.
///
/// The typed helpers panic if the call traps; [`Probe::call`] and
/// [`Probe::make_raw`] return the trap.
pub struct Probe {
    pub store: Store<State>,
    instance: Instance,
}

impl Probe {
    /// A probe built against `wasi`, with `memfd` as its wasi-memfd context.
    pub fn new(wasi: Wasi, memfd: WasiMemfdCtx) -> Probe {
        let state = State {
            wasi: WasiCtx::builder().build(),
            memfd,
            table: ResourceTable::new(),
        };
        let mut store = Store::new(engine(), state);
        let instance = instance_pre(wasi)
            .instantiate(&mut store)
            .expect("instantiating the probe");
        Probe { store, instance }
    }

    /// A probe on the default context (default limits, memfd backend on
    /// Linux, nothing preopened).
    pub fn with_defaults(wasi: Wasi) -> Probe {
        Probe::new(wasi, WasiMemfdCtx::new())
    }

    /// The store's wasi-memfd context.
    pub fn ctx(&mut self) -> &mut WasiMemfdCtx {
        &mut self.store.data_mut().memfd
    }

    /// What the guest holds now, as the host's ledger counts it.
    pub fn usage(&mut self) -> Usage {
        self.ctx().usage()
    }

    /// Calls the export `name`; a trap is an `Err`.
    pub fn call<P, R>(&mut self, name: &str, params: P) -> wasmtime::Result<R>
    where
        P: ComponentNamedList + Lower,
        R: ComponentNamedList + Lift,
    {
        let func = self
            .instance
            .get_typed_func::<P, R>(&mut self.store, name)?;
        func.call(&mut self.store, params)
    }

    fn expect<P, R>(&mut self, name: &str, params: P) -> R
    where
        P: ComponentNamedList + Lower,
        R: ComponentNamedList + Lift,
    {
        self.call(name, params)
            .unwrap_or_else(|e| panic!("probe `{name}` trapped: {e:?}"))
    }

    /// Copies `data` into the guest's memory; returns its address.
    pub fn stash(&mut self, data: &[u8]) -> u32 {
        self.expect::<_, (u32,)>("stash", (data,)).0
    }

    /// `from-bytes`; returns the new descriptor's handle.
    pub fn make(&mut self, data: &[u8], name: &str, writable: bool) -> Result<u32, MemfdError> {
        self.expect::<_, (Result<u32, MemfdError>,)>("from-bytes", (data, name, writable))
            .0
    }

    /// `from-bytes` with raw guest pointers and option bits; may trap.
    pub fn make_raw(
        &mut self,
        (ptr, len): (u32, u32),
        (name_ptr, name_len): (u32, u32),
        flags: u32,
    ) -> wasmtime::Result<Result<u32, MemfdError>> {
        self.call::<_, (Result<u32, MemfdError>,)>(
            "from-bytes-raw",
            (ptr, len, name_ptr, name_len, flags),
        )
        .map(|(r,)| r)
    }

    /// `open-preopened`; returns the new descriptor's handle.
    pub fn open_preopened(&mut self, name: &str) -> Result<u32, MemfdError> {
        self.expect::<_, (Result<u32, MemfdError>,)>("open-preopened", (name,))
            .0
    }

    /// The `size` field of `stat`.
    pub fn stat_size(&mut self, h: u32) -> Result<u64, FsError> {
        self.expect::<_, (Result<u64, FsError>,)>("stat-size", (h,))
            .0
    }

    pub fn get_type(&mut self, h: u32) -> Result<DescriptorType, FsError> {
        self.expect::<_, (Result<DescriptorType, FsError>,)>("get-type", (h,))
            .0
    }

    pub fn get_flags(&mut self, h: u32) -> Result<DescriptorFlags, FsError> {
        self.expect::<_, (Result<DescriptorFlags, FsError>,)>("get-flags", (h,))
            .0
    }

    /// `read`: the bytes and the end-of-file flag.
    pub fn read(&mut self, h: u32, len: u64, offset: u64) -> Result<(Vec<u8>, bool), FsError> {
        self.expect::<_, (Result<(Vec<u8>, bool), FsError>,)>("read", (h, len, offset))
            .0
    }

    /// Reads from `offset` to the end of the file with `read` calls (each
    /// returns at most 64 KiB in wasmtime-wasi).
    pub fn read_to_end(&mut self, h: u32, mut offset: u64) -> Vec<u8> {
        let mut all = Vec::new();
        loop {
            match self.read(h, 1 << 20, offset) {
                Ok((bytes, true)) => {
                    assert!(bytes.is_empty(), "eof with bytes");
                    return all;
                }
                Ok((bytes, false)) => {
                    assert!(!bytes.is_empty(), "no bytes and no eof");
                    offset += bytes.len() as u64;
                    all.extend_from_slice(&bytes);
                }
                Err(e) => panic!("reading descriptor {h} at {offset}: {e:?}"),
            }
        }
    }

    /// `write`: how many bytes were written.
    pub fn write(&mut self, h: u32, data: &[u8], offset: u64) -> Result<u64, FsError> {
        self.expect::<_, (Result<u64, FsError>,)>("write", (h, data, offset))
            .0
    }

    pub fn set_size(&mut self, h: u32, size: u64) -> Result<(), FsError> {
        self.expect::<_, (Result<(), FsError>,)>("set-size", (h, size))
            .0
    }

    /// `read-via-stream`; returns the input stream's handle.
    pub fn read_via_stream(&mut self, h: u32, offset: u64) -> Result<u32, FsError> {
        self.expect::<_, (Result<u32, FsError>,)>("read-via-stream", (h, offset))
            .0
    }

    /// `input-stream.blocking-read`.
    pub fn blocking_read(&mut self, s: u32, len: u64) -> Result<Vec<u8>, StreamError> {
        let (r,) = self.expect::<_, (Result<Vec<u8>, u8>,)>("blocking-read", (s, len));
        r.map_err(|disc| match disc {
            0 => StreamError::LastOperationFailed,
            1 => StreamError::Closed,
            other => panic!("stream-error has no case {other}"),
        })
    }

    /// Reads a stream in `chunk`-byte reads until it reports `closed`.
    pub fn read_stream_to_end(&mut self, s: u32, chunk: u64) -> Vec<u8> {
        let mut all = Vec::new();
        loop {
            match self.blocking_read(s, chunk) {
                Ok(bytes) => {
                    assert!(bytes.len() as u64 <= chunk, "read more than asked");
                    all.extend_from_slice(&bytes);
                }
                Err(StreamError::Closed) => return all,
                Err(e) => panic!("reading stream {s}: {e:?}"),
            }
        }
    }

    pub fn drop_descriptor(&mut self, h: u32) {
        self.expect::<_, ()>("drop-descriptor", (h,))
    }

    pub fn drop_stream(&mut self, s: u32) {
        self.expect::<_, ()>("drop-stream", (s,))
    }
}
