//! The component side of the path model: a small component whose exports
//! forward to `wasi:filesystem` (every descriptor method a path op needs,
//! and `get-directories`), instantiated twice per case:
//!
//! - in a store linked with `wasi_memfd::p2::add_to_linker_sync`, whose
//!   memory directory is preopened at `mem` (the system under test);
//! - in a store linked with `wasmtime_wasi::p2::add_to_linker_sync` alone,
//!   with the reference directory preopened at `mem` by `preopened_dir`.
//!
//! The component's core module is generated from its world: each export
//! takes its import's arguments (descriptors as their handle numbers) and
//! hands the import's result back through the same return area, so the
//! layouts are the canonical ABI's own ([`wat`]).
//!
//! The driver ([`run`]) takes the same [`Case`]s as the WASIp1 one and maps
//! each op to its `wasi:filesystem` counterpart (`open-at`, `read` and
//! `write` at an offset, `stat` with `get-type` and `get-flags`,
//! `set-size`, `set-times`, `sync`, `advise`, dropping a descriptor,
//! `read-directory`, `stat-at`, `set-times-at`,
//! `create-directory-at`, `remove-directory-at`, `unlink-file-at`,
//! `rename-at`, `link-at`, `symlink-at`, `readlink-at`); the ops with no
//! counterpart (seek, tell, set-flags, allocate, renumber) are not run. It
//! compares as the WASIp1 driver does: the same error codes and results,
//! the same usage as the reference tree implies after each op, the limits
//! checked against the model's count, the same trees at the end.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use wasi_memfd::p2::WasiMemfdP2Ctx;
use wasi_memfd::{Usage, WasiMemfdCtx};
use wasmtime::component::{
    Component, ComponentNamedList, Instance, InstancePre, Lift, Linker, Lower,
};
use wasmtime::Store;
use wasmtime_wasi::p2::bindings::clocks::wall_clock::Datetime;
use wasmtime_wasi::p2::bindings::filesystem::types::{
    Advice, DescriptorFlags, DescriptorStat, DescriptorType, DirectoryEntry, ErrorCode,
    MetadataHashValue, NewTimestamp, OpenFlags, PathFlags,
};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use super::common::{self, Common, PathDriver, Unnamed};
use super::ops::{Fst, Op, PathArg, H};
use super::reference::mem_tree;
use super::{Case, Limit, GUEST_PATH};
use crate::model::Outcomes;
use crate::{engine, repo_root};

/// The component's world: each export one `wasi:filesystem` call, with
/// descriptors and streams as their handle numbers.
const WORLD: &str = r#"package test:paths;

world paths {
    use wasi:filesystem/types@0.2.0.{error-code, descriptor-type, descriptor-flags, path-flags, open-flags, new-timestamp, descriptor-stat, directory-entry, advice, metadata-hash-value};
    import wasi:filesystem/preopens@0.2.0;

    /// Frees what the calls before allocated in the guest (the host has
    /// read every result by then).
    export reset: func();
    export get-directories: func() -> list<tuple<u32, string>>;
    export open-at: func(h: u32, pf: path-flags, path: string, of: open-flags, df: descriptor-flags) -> result<u32, error-code>;
    export read: func(h: u32, len: u64, offset: u64) -> result<tuple<list<u8>, bool>, error-code>;
    export write: func(h: u32, buffer: list<u8>, offset: u64) -> result<u64, error-code>;
    export stat: func(h: u32) -> result<descriptor-stat, error-code>;
    export get-type: func(h: u32) -> result<descriptor-type, error-code>;
    export get-flags: func(h: u32) -> result<descriptor-flags, error-code>;
    export metadata-hash: func(h: u32) -> result<metadata-hash-value, error-code>;
    export set-size: func(h: u32, size: u64) -> result<_, error-code>;
    export set-times: func(h: u32, atim: new-timestamp, mtim: new-timestamp) -> result<_, error-code>;
    export sync: func(h: u32) -> result<_, error-code>;
    export sync-data: func(h: u32) -> result<_, error-code>;
    export advise: func(h: u32, offset: u64, len: u64, advice: advice) -> result<_, error-code>;
    export read-directory: func(h: u32) -> result<u32, error-code>;
    export read-directory-entry: func(s: u32) -> result<option<directory-entry>, error-code>;
    export stat-at: func(h: u32, pf: path-flags, path: string) -> result<descriptor-stat, error-code>;
    export set-times-at: func(h: u32, pf: path-flags, path: string, atim: new-timestamp, mtim: new-timestamp) -> result<_, error-code>;
    export create-directory-at: func(h: u32, path: string) -> result<_, error-code>;
    export remove-directory-at: func(h: u32, path: string) -> result<_, error-code>;
    export unlink-file-at: func(h: u32, path: string) -> result<_, error-code>;
    export rename-at: func(h: u32, old: string, to: u32, new: string) -> result<_, error-code>;
    export link-at: func(h: u32, pf: path-flags, old: string, to: u32, new: string) -> result<_, error-code>;
    export symlink-at: func(h: u32, old: string, new: string) -> result<_, error-code>;
    export readlink-at: func(h: u32, path: string) -> result<string, error-code>;
    export drop-descriptor: func(h: u32);
    export drop-directory-entry-stream: func(s: u32);
}
"#;

const TYPES: &str = "wasi:filesystem/types@0.2.0";

/// The exports that each forward to the `descriptor` method of their name.
const DESCRIPTOR_METHODS: &[&str] = &[
    "open-at",
    "read",
    "write",
    "stat",
    "get-type",
    "get-flags",
    "metadata-hash",
    "set-size",
    "set-times",
    "sync",
    "sync-data",
    "advise",
    "read-directory",
    "stat-at",
    "set-times-at",
    "create-directory-at",
    "remove-directory-at",
    "unlink-file-at",
    "rename-at",
    "link-at",
    "symlink-at",
    "readlink-at",
];

/// Each export and the import it forwards to (module, name):
/// `get-directories`, the stream's `read-directory-entry`, and
/// [`DESCRIPTOR_METHODS`].
fn forwards() -> Vec<(&'static str, &'static str, String)> {
    let preopens = "wasi:filesystem/preopens@0.2.0";
    let mut forwards = vec![
        ("get-directories", preopens, "get-directories".to_owned()),
        (
            "read-directory-entry",
            TYPES,
            "[method]directory-entry-stream.read-directory-entry".to_owned(),
        ),
    ];
    let methods = DESCRIPTOR_METHODS.iter();
    forwards.extend(methods.map(|m| (*m, TYPES, format!("[method]descriptor.{m}"))));
    forwards
}

/// Where the imports write their results (the largest, `stat`'s, is 104
/// bytes), and where the bump heap for `cabi_realloc` starts.
const RET: u32 = 64;
const HEAP: u32 = 4096;

/// The world's WIT over the project's `wit/`.
fn world() -> (wit_parser::Resolve, wit_parser::WorldId) {
    let mut resolve = wit_parser::Resolve::default();
    resolve.push_dir(repo_root().join("wit")).unwrap();
    let pkg = resolve.push_str("paths.wit", WORLD).unwrap();
    let world = resolve.select_world(&[pkg], Some("paths")).unwrap();
    (resolve, world)
}

/// The component's core module: for each of [`forwards`] an export with
/// its canonical ABI signature that calls the import with its arguments
/// (and [`RET`] for a return pointer) and returns [`RET`]; the resource
/// drops; `reset`; and `cabi_realloc`, a bump allocator that grows memory.
pub fn wat() -> String {
    use wit_parser::abi::{AbiVariant, WasmType};
    let (resolve, world) = world();
    let core = |types: &[WasmType]| -> String {
        types
            .iter()
            .map(|t| match t {
                WasmType::I64 | WasmType::PointerOrI64 => " i64",
                WasmType::F32 => " f32",
                WasmType::F64 => " f64",
                _ => " i32",
            })
            .collect()
    };
    let export = |name: &str| {
        let key = wit_parser::WorldKey::Name(name.to_owned());
        match &resolve.worlds[world].exports[&key] {
            wit_parser::WorldItem::Function(f) => f.clone(),
            other => panic!("{name} is no function: {other:?}"),
        }
    };
    let import = |module: &str, name: &str| {
        let (_, iface) = resolve
            .interfaces
            .iter()
            .find(|(id, _)| resolve.id_of(*id).as_deref() == Some(module))
            .unwrap_or_else(|| panic!("no interface {module}"));
        iface.functions[name].clone()
    };
    let mut imports = String::new();
    let mut funcs = String::new();
    for (k, (name, module, field)) in forwards().into_iter().enumerate() {
        let out = resolve.wasm_signature(AbiVariant::GuestExport, &export(name));
        let into = resolve.wasm_signature(AbiVariant::GuestImport, &import(module, &field));
        assert!(
            !out.indirect_params && !into.indirect_params,
            "{name}: flat params"
        );
        imports += &format!(
            "  (import \"{module}\" \"{field}\" (func $i{k} (param{}) (result{})))\n",
            core(&into.params),
            core(&into.results)
        );
        let args: String = (0..out.params.len())
            .map(|i| format!(" (local.get {i})"))
            .collect();
        let ret = if into.retptr {
            format!(" (i32.const {RET})")
        } else {
            String::new()
        };
        let back = if out.retptr {
            format!(" (i32.const {RET})")
        } else {
            String::new()
        };
        funcs += &format!(
            "  (func (export \"{name}\") (param{}) (result{}) (call $i{k}{args}{ret}){back})\n",
            core(&out.params),
            core(&out.results)
        );
    }
    format!(
        r#"(module
{imports}  (import "{TYPES}" "[resource-drop]descriptor" (func $drop-descriptor (param i32)))
  (import "{TYPES}" "[resource-drop]directory-entry-stream" (func $drop-stream (param i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const {HEAP}))
{funcs}  (func (export "drop-descriptor") (param i32) (call $drop-descriptor (local.get 0)))
  (func (export "drop-directory-entry-stream") (param i32) (call $drop-stream (local.get 0)))
  (func (export "reset") (global.set $heap (i32.const {HEAP})))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $at i32) (local $end i32)
    (local.set $at (i32.and
      (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
      (i32.sub (i32.const 0) (local.get 2))))
    (local.set $end (i32.add (local.get $at) (local.get 3)))
    (if (i32.gt_u (local.get $end) (i32.shl (memory.size) (i32.const 16)))
      (then (if (i32.lt_s
        (memory.grow (i32.add (i32.shr_u
          (i32.sub (local.get $end) (i32.shl (memory.size) (i32.const 16)))
          (i32.const 16)) (i32.const 1)))
        (i32.const 0)) (then unreachable))))
    (global.set $heap (local.get $end))
    (local.get $at)))
"#
    )
}

/// The store data of both stores (the reference's memfd context is an
/// unused default one).
type State = WasiMemfdP2Ctx;

/// The component, compiled once, linked for the memory directory
/// (`[0]`) and for wasmtime-wasi alone (`[1]`).
fn instance_pre(reference: bool) -> &'static InstancePre<State> {
    static COMPONENT: OnceLock<Component> = OnceLock::new();
    static PRE: [OnceLock<InstancePre<State>>; 2] = [OnceLock::new(), OnceLock::new()];
    PRE[usize::from(reference)].get_or_init(|| {
        let component = COMPONENT.get_or_init(|| {
            let core = wat::parse_str(wat()).expect("the path component's module");
            let bytes = crate::component::encode(core, WORLD, "paths");
            Component::new(engine(), bytes).expect("compiling the path component")
        });
        let mut linker = Linker::new(engine());
        if reference {
            wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("linking wasmtime-wasi");
        } else {
            wasi_memfd::p2::add_to_linker_sync(&mut linker).expect("linking wasi-memfd");
        }
        linker
            .instantiate_pre(component)
            .expect("the linker satisfies every import of the path component")
    })
}

/// The component in a store.
struct Guest {
    store: Store<State>,
    instance: Instance,
}

type R<T> = Result<T, ErrorCode>;

impl Guest {
    fn new(state: State, reference: bool) -> Self {
        let mut store = state.into_store(engine());
        let instance = instance_pre(reference)
            .instantiate(&mut store)
            .expect("instantiating the path component");
        Guest { store, instance }
    }

    /// Calls export `name`; a trap fails the test.
    fn call<P, Q>(&mut self, name: &str, params: P) -> Q
    where
        P: ComponentNamedList + Lower,
        Q: ComponentNamedList + Lift,
    {
        let func = self
            .instance
            .get_typed_func::<P, Q>(&mut self.store, name)
            .unwrap_or_else(|e| panic!("export {name}: {e:?}"));
        let out = func
            .call(&mut self.store, params)
            .unwrap_or_else(|e| panic!("{name} trapped (no call of the model may): {e:?}"));
        let reset = self
            .instance
            .get_typed_func::<(), ()>(&mut self.store, "reset")
            .unwrap();
        reset.call(&mut self.store, ()).unwrap();
        out
    }

    /// A call answering `result<T, error-code>`.
    fn r<P, T>(&mut self, name: &str, params: P) -> R<T>
    where
        P: ComponentNamedList + Lower,
        (R<T>,): ComponentNamedList + Lift,
    {
        self.call::<P, (R<T>,)>(name, params).0
    }

    fn stat(&mut self, h: u32) -> R<DescriptorStat> {
        self.r("stat", (h,))
    }

    fn stat_at(&mut self, h: u32, follow: bool, path: &str) -> R<DescriptorStat> {
        self.r("stat-at", (h, path_flags(follow), path))
    }

    fn get_type(&mut self, h: u32) -> R<DescriptorType> {
        self.r("get-type", (h,))
    }

    fn get_flags(&mut self, h: u32) -> R<DescriptorFlags> {
        self.r("get-flags", (h,))
    }

    fn path_call(&mut self, name: &str, h: u32, path: &str) -> R<()> {
        self.r(name, (h, path))
    }

    fn drop_descriptor(&mut self, h: u32) {
        self.call::<_, ()>("drop-descriptor", (h,));
    }
}

fn path_flags(follow: bool) -> PathFlags {
    if follow {
        PathFlags::SYMLINK_FOLLOW
    } else {
        PathFlags::empty()
    }
}

/// A path as a `string` (not UTF-8: with replacement characters).
fn text(path: &PathArg) -> String {
    String::from_utf8_lossy(&path.0).into_owned()
}

/// The times a set-times op sets (as the WASIp1 driver's).
const ATIM: Datetime = Datetime {
    seconds: 1_000_000_000,
    nanoseconds: 123_456_789,
};
const MTIM: Datetime = Datetime {
    seconds: 1_100_000_000,
    nanoseconds: 987_654_321,
};

/// WASIp1's `fst_flags` as two `new-timestamp`s (both `X` and `X_NOW`,
/// which WASIp1 refuses, is the value).
fn timestamps(fst: Fst) -> (NewTimestamp, NewTimestamp) {
    let one = |set: u16, now: u16, value: Datetime| {
        if fst.0 & set != 0 {
            NewTimestamp::Timestamp(value)
        } else if fst.0 & now != 0 {
            NewTimestamp::Now
        } else {
            NewTimestamp::NoChange
        }
    };
    (one(1, 2, ATIM), one(4, 8, MTIM))
}

/// What a stat must agree on: type, link count, and size (but for a
/// directory, whose size is the filesystem's own).
fn comparable(s: &DescriptorStat) -> (DescriptorType, u64, Option<u64>) {
    (
        s.type_,
        s.link_count,
        (s.type_ != DescriptorType::Directory).then_some(s.size),
    )
}

/// The error code of a limit.
fn limit_code(limit: Limit) -> ErrorCode {
    match limit {
        Limit::FileSize => ErrorCode::FileTooLarge,
        Limit::Files => ErrorCode::InsufficientSpace,
        Limit::Bytes => ErrorCode::Quota,
    }
}

/// The two stores, and what both drivers keep.
struct Driver {
    sut: Guest,
    reference: Guest,
    c: Common,
}

/// Runs `case` through both component stores; panics at the first
/// difference. Returns the outcomes seen.
pub fn run(case: &Case) -> Outcomes {
    common::drive(Driver::new(case), case)
}

impl Driver {
    fn new(case: &Case) -> Self {
        let (c, mut builder) = Common::new("component", case);
        let sut = State::new(WasiCtxBuilder::new().build(), builder.build());
        let wasi = WasiCtxBuilder::new()
            .allow_blocking_current_thread(true)
            .preopened_dir(&c.dir.path, GUEST_PATH, FsPerms::ReadWrite)
            .expect("preopening the reference directory")
            .build();
        let reference = State::new(wasi, WasiMemfdCtx::new());
        let mut d = Driver {
            sut: Guest::new(sut, false),
            reference: Guest::new(reference, true),
            c,
        };
        let preopen = |g: &mut Guest| {
            let dirs = g.call::<(), (Vec<(u32, String)>,)>("get-directories", ()).0;
            dirs.into_iter()
                .find(|(_, name)| name == GUEST_PATH)
                .expect("the preopen is there")
                .0
        };
        let (s, r) = (preopen(&mut d.sut), preopen(&mut d.reference));
        d.c.keep((s, r), true);
        d.c.usage = d.sut_usage();
        let implied = d.implied_usage();
        assert_eq!(d.c.usage, implied, "usage of the preloaded tree: {case:?}");
        d
    }

    /// The handles `h` names: always an open one (a closed handle would
    /// trap the guest), mostly a directory (`dir`) or a file.
    fn resolve(&self, h: H, dir: bool) -> ((u32, u32), usize) {
        let i = self.c.pick_open(h.0, dir);
        ((self.c.handles[i].sut, self.c.handles[i].reference), i)
    }

    fn ref_size(&mut self, r: u32) -> u64 {
        self.reference.stat(r).map_or(0, |s| s.size)
    }

    fn path_op(&mut self, name: &str, dir: H, path: &PathArg) {
        let ((s, r), _) = self.resolve(dir, true);
        let path = text(path);
        let got = self.sut.path_call(name, s, &path);
        let want = self.reference.path_call(name, r, &path);
        self.c.check(name, &got, &want);
    }

    /// `read` of `len` bytes at `offset`.
    fn read(&mut self, (s, r): (u32, u32), len: u64, offset: u64) {
        let got: R<(Vec<u8>, bool)> = self.sut.r("read", (s, len, offset));
        let want: R<(Vec<u8>, bool)> = self.reference.r("read", (r, len, offset));
        if offset > i64::MAX as u64
            && want == Err(ErrorCode::Invalid)
            && got == Err(ErrorCode::BadDescriptor)
        {
            // Known difference (see the WASIp1 driver's `past_i64_max`):
            // the open mode checked before the offset.
            self.c
                .seen
                .insert("component known difference read past i64::MAX".to_owned());
            return;
        }
        self.c.check("read", &got, &want);
    }

    /// `write` of `bytes` at `offset`, which may grow the file.
    fn write(&mut self, (s, r): (u32, u32), bytes: Vec<u8>, offset: u64) {
        let sut = |d: &mut Self| {
            d.sut
                .r("write", (s, bytes.as_slice(), offset))
                .map(|_: u64| ())
        };
        let reference = |d: &mut Self| {
            d.reference
                .r("write", (r, bytes.as_slice(), offset))
                .map(|_: u64| ())
        };
        if offset > i64::MAX as u64 {
            // Known difference (see the WASIp1 driver's `past_i64_max`):
            // `invalid` on a real file; in a memory directory the write is
            // charged up to its end first (`file-too-large` or `quota`, or
            // success for an empty one), or `bad-descriptor` on a read-only
            // descriptor.
            let (got, want) = (sut(self), reference(self));
            let known = [
                Ok(()),
                Err(ErrorCode::FileTooLarge),
                Err(ErrorCode::Quota),
                Err(ErrorCode::BadDescriptor),
            ];
            if want == Err(ErrorCode::Invalid) && got != want && known.contains(&got) {
                self.c
                    .seen
                    .insert("component known difference write past i64::MAX".to_owned());
            } else {
                self.c.check("write", &got, &want);
            }
            return;
        }
        let charged = offset.saturating_add(bytes.len() as u64);
        let size = self.ref_size(r);
        let past = charged.saturating_sub(size);
        if self.c.limits.is_none() && self.c.usage.bytes.checked_add(past).is_none() {
            // The write is charged up to its end first (even an empty one:
            // see below), past what the store's counter holds: `quota`
            // whatever the limits (host/src/limits.rs) on a file it may
            // write, and the reference does not run the op.
            let got = sut(self);
            if got == Err(ErrorCode::Quota) {
                self.c.note("limit quota write past u64::MAX");
            } else {
                let want = reference(self);
                self.c.check("write", &got, &want);
            }
            return;
        }
        if bytes.is_empty() {
            // Writing nothing grows nothing, wherever it is: the same
            // answer as the reference's, limits or not.
            let (got, want) = (sut(self), reference(self));
            self.c.check("write", &got, &want);
            return;
        }
        let end = match bytes.len() as u64 {
            0 => 0,
            len => offset.saturating_add(len),
        };
        self.growing("write", r, end, sut, reference);
    }

    /// The limit error `code` is, if the case has limits.
    fn limit_of(&self, code: ErrorCode) -> Option<Limit> {
        self.c.limits?;
        match code {
            ErrorCode::FileTooLarge => Some(Limit::FileSize),
            ErrorCode::InsufficientSpace => Some(Limit::Files),
            ErrorCode::Quota => Some(Limit::Bytes),
            _ => None,
        }
    }

    /// As the WASIp1 driver's: the memory directory refused to make a node
    /// with `limit`'s error; the op is run on the reference and checked
    /// ([`Common::made_over_limit`]), then undone there (the reference's
    /// new descriptor, if `op` opened one, dropped).
    fn over_limit_creating(
        &mut self,
        what: &str,
        limit: Limit,
        op: impl FnOnce(&mut Self) -> R<Option<u32>>,
    ) {
        let before = self.c.names();
        let made = op(self);
        let usage = self.implied_usage();
        let limit = (limit, limit_code(limit).name().to_owned());
        self.c.made_over_limit(what, limit, &made, &before, usage);
        if let Ok(Some(h)) = made {
            self.reference.drop_descriptor(h);
        }
    }

    /// As the WASIp1 driver's: an op that may make the file of the
    /// reference's `r` `end` bytes long (0: it does not grow it).
    fn growing(
        &mut self,
        what: &str,
        r: u32,
        end: u64,
        sut: impl FnOnce(&mut Self) -> R<()>,
        reference: impl FnOnce(&mut Self) -> R<()>,
    ) {
        let writable = self
            .reference
            .get_flags(r)
            .is_ok_and(|f| f.contains(DescriptorFlags::WRITE));
        let file = self
            .reference
            .stat(r)
            .is_ok_and(|s| s.type_ == DescriptorType::RegularFile);
        let size = self.ref_size(r);
        let grown = (writable && file && end > size).then_some((size, end));
        let got = sut(self);
        if self.c.over_limit_growing(what, grown, &got, limit_code) {
            return;
        }
        let want = reference(self);
        self.c.check(what, &got, &want);
    }

    /// After a successful `set-times`: each time set to a value reads back
    /// the same in both stores ([`Common::time_read_back`]; `exact` when
    /// stat-ing a descriptor).
    fn times_read_back(
        &mut self,
        fst: Fst,
        a: R<DescriptorStat>,
        b: R<DescriptorStat>,
        exact: bool,
    ) {
        let (a, b) = match (a, b) {
            (Ok(a), Ok(b)) => (a, b),
            (a, b) => {
                let code = |r: &R<DescriptorStat>| r.as_ref().map(|_| ()).map_err(|e| *e);
                assert_eq!(code(&a), code(&b), "stat after set-times: {}", self.c.at);
                return;
            }
        };
        let ns =
            |t: Option<Datetime>| t.map(|t| t.seconds * 1_000_000_000 + u64::from(t.nanoseconds));
        let link = b.type_ == DescriptorType::SymbolicLink;
        let times = [
            (1, ATIM, a.data_access_timestamp, b.data_access_timestamp),
            (
                4,
                MTIM,
                a.data_modification_timestamp,
                b.data_modification_timestamp,
            ),
        ];
        for (bit, value, got, want) in times {
            if fst.0 & bit != 0 {
                let value = ns(Some(value)).expect("a time");
                self.c
                    .time_read_back(exact, value, (ns(got), ns(want)), bit == 1 && link);
            }
        }
    }

    /// `read-directory`, then every entry: the same set of names and types
    /// in both (no `.` or `..`).
    fn readdir(&mut self, s: u32, r: u32) {
        let mut listings = Vec::new();
        for sut in [true, false] {
            let g = if sut {
                &mut self.sut
            } else {
                &mut self.reference
            };
            let h = if sut { s } else { r };
            let listing = g.r::<_, u32>("read-directory", (h,)).and_then(|stream| {
                let mut entries = BTreeSet::new();
                let end = loop {
                    match g.r::<_, Option<DirectoryEntry>>("read-directory-entry", (stream,)) {
                        Ok(Some(e)) => {
                            entries.insert((e.name, format!("{:?}", e.type_)));
                        }
                        Ok(None) => break Ok(entries),
                        Err(code) => break Err(code),
                    }
                };
                g.call::<_, ()>("drop-directory-entry-stream", (stream,));
                end
            });
            listings.push(listing);
        }
        let want = listings.pop().unwrap();
        let got = listings.pop().unwrap();
        if let Ok(names) = &got {
            assert!(
                !names.iter().any(|(n, _)| n == "." || n == ".."),
                "read-directory lists . or ..: {}",
                self.c.at
            );
        }
        self.c.check("read-directory", &got, &want);
    }
}

impl PathDriver for Driver {
    fn common(&mut self) -> &mut Common {
        &mut self.c
    }

    fn sut_usage(&mut self) -> Usage {
        self.sut.store.data().memfd.usage()
    }

    /// What the reference implies ([`Common::implied`]): an open
    /// descriptor whose link count is 0 keeps a node without a name (told
    /// apart by metadata hash).
    fn implied_usage(&mut self) -> Usage {
        let mut unnamed = Vec::new();
        for h in self.c.opened() {
            let s = self.reference.stat(h.reference).unwrap();
            if s.link_count == 0 {
                let hash: MetadataHashValue =
                    self.reference.r("metadata-hash", (h.reference,)).unwrap();
                unnamed.push(Unnamed {
                    key: (hash.lower, hash.upper),
                    dir: s.type_ == DescriptorType::Directory,
                    size: s.size,
                });
            }
        }
        self.c.implied(unnamed)
    }

    fn step(&mut self, op: &Op) {
        match op {
            Op::Open(open) => {
                let ((s, r), _) = self.resolve(open.dir, true);
                // WASIp1's bits, in the same order as open-flags'.
                let o = |bit: u8, f: OpenFlags| {
                    if open.oflags & bit != 0 {
                        f
                    } else {
                        OpenFlags::empty()
                    }
                };
                let of = o(1, OpenFlags::CREATE)
                    | o(2, OpenFlags::DIRECTORY)
                    | o(4, OpenFlags::EXCLUSIVE)
                    | o(8, OpenFlags::TRUNCATE);
                // The rights as read/write; WASIp1's SYNC, DSYNC and RSYNC
                // as the sync flags; NONBLOCK as mutate-directory.
                let d =
                    |on: bool, f: DescriptorFlags| if on { f } else { DescriptorFlags::empty() };
                let fdflags = open.fdflags;
                let df = d(open.read, DescriptorFlags::READ)
                    | d(open.write, DescriptorFlags::WRITE)
                    | d(fdflags & 16 != 0, DescriptorFlags::FILE_INTEGRITY_SYNC)
                    | d(fdflags & 2 != 0, DescriptorFlags::DATA_INTEGRITY_SYNC)
                    | d(fdflags & 8 != 0, DescriptorFlags::REQUESTED_WRITE_SYNC)
                    | d(fdflags & 4 != 0, DescriptorFlags::MUTATE_DIRECTORY);
                let (pf, path) = (path_flags(open.follow), text(&open.path));
                let params = |h: u32| (h, pf, path.clone(), of, df);
                let got: R<u32> = self.sut.r("open-at", params(s));
                if let Err(code) = got {
                    if let Some(limit) = self.limit_of(code) {
                        self.over_limit_creating("open-at", limit, |d| {
                            d.reference.r::<_, u32>("open-at", params(r)).map(Some)
                        });
                        return;
                    }
                }
                let want: R<u32> = self.reference.r("open-at", params(r));
                self.c.check("open-at", &got.map(|_| ()), &want.map(|_| ()));
                if let (Ok(s), Ok(r)) = (got, want) {
                    let (ts, tr) = (self.sut.get_type(s), self.reference.get_type(r));
                    self.c.check("get-type", &ts, &tr);
                    let (fs, fr) = (self.sut.get_flags(s), self.reference.get_flags(r));
                    self.c.check("get-flags", &fs, &fr);
                    let dir = ts == Ok(DescriptorType::Directory);
                    self.c.opened_by("open-at", (s, r), dir);
                }
            }
            Op::Write { fd, data } => {
                // No position in wasi:filesystem: at the end.
                let ((s, r), _) = self.resolve(*fd, false);
                let offset = self.ref_size(r);
                self.write((s, r), data.bytes(), offset);
            }
            Op::Pwrite { fd, data, offset } => {
                let ((s, r), _) = self.resolve(*fd, false);
                let offset = offset.get(self.ref_size(r));
                self.write((s, r), data.bytes(), offset);
            }
            Op::Read { fd, len } => {
                let ((s, r), _) = self.resolve(*fd, false);
                self.read((s, r), u64::from(*len), 0);
            }
            Op::Pread { fd, len, offset } => {
                let ((s, r), _) = self.resolve(*fd, false);
                let offset = offset.get(self.ref_size(r));
                self.read((s, r), u64::from(*len), offset);
            }
            Op::Stat { fd } => {
                let ((s, r), _) = self.resolve(*fd, !fd.0.is_multiple_of(2));
                let got = self.sut.stat(s).map(|s| comparable(&s));
                let want = self.reference.stat(r).map(|s| comparable(&s));
                self.c.check("stat", &got, &want);
                // WASIp1's `fd_fdstat_get` as its counterparts.
                let (got, want) = (self.sut.get_type(s), self.reference.get_type(r));
                self.c.check("get-type", &got, &want);
                let (got, want) = (self.sut.get_flags(s), self.reference.get_flags(r));
                self.c.check("get-flags", &got, &want);
            }
            Op::SetSize { fd, size } => {
                let ((s, r), _) = self.resolve(*fd, false);
                let new = size.get(self.ref_size(r));
                self.growing(
                    "set-size",
                    r,
                    new,
                    |d| d.sut.r("set-size", (s, new)),
                    |d| d.reference.r("set-size", (r, new)),
                );
            }
            Op::SetTimes { fd, fst } => {
                let ((s, r), _) = self.resolve(*fd, !fd.0.is_multiple_of(2));
                let (atim, mtim) = timestamps(*fst);
                let got: R<()> = self.sut.r("set-times", (s, atim, mtim));
                let want: R<()> = self.reference.r("set-times", (r, atim, mtim));
                self.c.check("set-times", &got, &want);
                if got.is_ok() {
                    let (a, b) = (self.sut.stat(s), self.reference.stat(r));
                    self.times_read_back(*fst, a, b, true);
                }
            }
            Op::Sync { fd, data } => {
                let ((s, r), _) = self.resolve(*fd, false);
                let name = if *data { "sync-data" } else { "sync" };
                let (got, want): (R<()>, R<()>) =
                    (self.sut.r(name, (s,)), self.reference.r(name, (r,)));
                self.c.check(name, &got, &want);
            }
            Op::Advise(a) => {
                let ((s, r), _) = self.resolve(a.fd, false);
                let advice = [
                    Advice::Normal,
                    Advice::Sequential,
                    Advice::Random,
                    Advice::WillNeed,
                    Advice::DontNeed,
                    Advice::NoReuse,
                ][usize::from(a.advice % 6)];
                let params = |h: u32| (h, u64::from(a.offset), u64::from(a.len), advice);
                let got: R<()> = self.sut.r("advise", params(s));
                let want: R<()> = self.reference.r("advise", params(r));
                self.c.check("advise", &got, &want);
            }
            Op::Close { fd } => {
                let ((s, r), i) = self.resolve(*fd, !fd.0.is_multiple_of(2));
                if i == 0 {
                    // The preopen stays: the clean-up goes through it.
                    return;
                }
                self.sut.drop_descriptor(s);
                self.reference.drop_descriptor(r);
                self.c.handles[i].open = false;
                self.c.seen.insert("component drop-descriptor".to_owned());
            }
            Op::Readdir { fd, .. } => {
                let ((s, r), _) = self.resolve(*fd, true);
                self.readdir(s, r);
            }
            Op::PathStat { dir, path, follow } => {
                let ((s, r), _) = self.resolve(*dir, true);
                let path = text(path);
                let got = self.sut.stat_at(s, *follow, &path).map(|s| comparable(&s));
                let want = self
                    .reference
                    .stat_at(r, *follow, &path)
                    .map(|s| comparable(&s));
                self.c.check("stat-at", &got, &want);
            }
            Op::PathSetTimes(set) => {
                let ((s, r), _) = self.resolve(set.dir, true);
                let (path, follow, fst) = (text(&set.path), set.follow, set.fst);
                let pf = path_flags(follow);
                let (atim, mtim) = timestamps(fst);
                let params = |h: u32| (h, pf, path.clone(), atim, mtim);
                let got: R<()> = self.sut.r("set-times-at", params(s));
                let want: R<()> = self.reference.r("set-times-at", params(r));
                self.c.check("set-times-at", &got, &want);
                if got.is_ok() {
                    let a = self.sut.stat_at(s, follow, &path);
                    let b = self.reference.stat_at(r, follow, &path);
                    self.times_read_back(fst, a, b, false);
                }
            }
            Op::Mkdir { dir, path } => {
                let ((s, r), _) = self.resolve(*dir, true);
                let path = text(path);
                let name = "create-directory-at";
                let got = self.sut.path_call(name, s, &path);
                if let Err(code) = got {
                    if let Some(limit) = self.limit_of(code) {
                        self.over_limit_creating(name, limit, |d| {
                            d.reference.path_call(name, r, &path).map(|()| None)
                        });
                        return;
                    }
                }
                let want = self.reference.path_call(name, r, &path);
                self.c.check(name, &got, &want);
            }
            Op::Rmdir { dir, path } => self.path_op("remove-directory-at", *dir, path),
            Op::Unlink { dir, path } => self.path_op("unlink-file-at", *dir, path),
            Op::Rename(rename) => {
                let ((fs, fr), _) = self.resolve(rename.from_dir, true);
                let ((ts, tr), _) = self.resolve(rename.to_dir, true);
                let (from, to) = (text(&rename.from), text(&rename.to));
                let before = (
                    self.reference.stat_at(fr, false, &from).map(|s| s.type_),
                    self.reference.stat_at(tr, false, &to).map(|s| s.type_),
                );
                let got: R<()> = self
                    .sut
                    .r("rename-at", (fs, from.as_str(), ts, to.as_str()));
                let want: R<()> = self
                    .reference
                    .r("rename-at", (fr, from.as_str(), tr, to.as_str()));
                self.c.check("rename-at", &got, &want);
                match before {
                    (Ok(DescriptorType::RegularFile), Ok(DescriptorType::RegularFile))
                        if got.is_ok() =>
                    {
                        self.c
                            .seen
                            .insert("component rename-at over a file".to_owned());
                    }
                    (Ok(DescriptorType::Directory), Ok(DescriptorType::Directory))
                        if got.is_ok() =>
                    {
                        self.c
                            .seen
                            .insert("component rename-at over a directory".to_owned());
                    }
                    _ => {}
                }
            }
            Op::Link(link) => {
                let ((fs, fr), _) = self.resolve(link.from_dir, true);
                let ((ts, tr), _) = self.resolve(link.to_dir, true);
                let (from, to) = (text(&link.from), text(&link.to));
                let pf = path_flags(link.follow);
                let got: R<()> = self
                    .sut
                    .r("link-at", (fs, pf, from.as_str(), ts, to.as_str()));
                let want: R<()> = self
                    .reference
                    .r("link-at", (fr, pf, from.as_str(), tr, to.as_str()));
                self.c.check("link-at", &got, &want);
            }
            Op::Symlink { target, dir, path } => {
                let ((s, r), _) = self.resolve(*dir, true);
                let (target, path) = (String::from_utf8_lossy(&target.0).into_owned(), text(path));
                let params = |h: u32| (h, target.clone(), path.clone());
                let got: R<()> = self.sut.r("symlink-at", params(s));
                if let Err(code) = got {
                    if let Some(limit) = self.limit_of(code) {
                        self.over_limit_creating("symlink-at", limit, |d| {
                            d.reference
                                .r::<_, ()>("symlink-at", params(r))
                                .map(|()| None)
                        });
                        return;
                    }
                }
                let want: R<()> = self.reference.r("symlink-at", params(r));
                self.c.check("symlink-at", &got, &want);
            }
            Op::Readlink { dir, path, .. } => {
                let ((s, r), _) = self.resolve(*dir, true);
                let path = text(path);
                let got: R<String> = self.sut.r("readlink-at", (s, path.as_str()));
                let want: R<String> = self.reference.r("readlink-at", (r, path.as_str()));
                self.c.check("readlink-at", &got, &want);
            }
            // No counterpart in wasi:filesystem.
            Op::Seek(_)
            | Op::Tell { .. }
            | Op::SetFlags { .. }
            | Op::Allocate { .. }
            | Op::Renumber { .. } => {}
        }
    }

    /// Compares the trees, drops every descriptor, removes every node
    /// through the preopen, and checks nothing is charged any more.
    fn finish(&mut self) {
        let paths = self
            .c
            .final_tree(mem_tree(&self.sut.store.data().memfd, GUEST_PATH));
        for h in self.c.opened() {
            self.sut.drop_descriptor(h.sut);
            self.reference.drop_descriptor(h.reference);
        }
        self.c.handles.truncate(1);
        let (s, r) = (self.c.handles[0].sut, self.c.handles[0].reference);
        for (path, dir) in paths {
            let name = if dir {
                "remove-directory-at"
            } else {
                "unlink-file-at"
            };
            let got = self.sut.path_call(name, s, &path);
            let want = self.reference.path_call(name, r, &path);
            assert_eq!(
                (got, want),
                (Ok(()), Ok(())),
                "{name} {path:?}: {}",
                self.c.at
            );
        }
        let mem = mem_tree(&self.sut.store.data().memfd, GUEST_PATH);
        let (implied, usage) = (self.implied_usage(), self.sut_usage());
        self.c.all_gone(mem, implied, usage);
    }
}
