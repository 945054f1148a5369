//! The per-store context, [`WasiMemfdCtx`], and its builder.
//!
//! One context serves both guest ABIs (components and WASIp1 core modules):
//! one backend, one set of limits (a [`Ledger`]), the preopened files and the
//! memory directories of one store. Every memory file a guest gets is made
//! here, by one operation ([`WasiMemfdCtx::make_file`], or
//! [`WasiMemfdCtx::begin_file`] for a copy in chunks), with no WASI types:
//! each ABI only puts the result in its table.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use crate::backend::{self, Backend, Blank, Seal, MAX_NAME_LEN};
use crate::error::ErrorCode;
use crate::file::MemoryFile;
use crate::limits::{Budget, Charge, Ledger, Limits, Slot, Usage};
use crate::memdir::{DirRef, MemDir, MemDirEntry, Template};
use crate::memfile::{Held, MemFile};
use crate::pool::Pool;

/// A file the host attached, as the builder keeps it.
#[derive(Clone, Debug)]
enum Source {
    /// Made once, sealed, and shared by every context built from the
    /// builder or its clones.
    ReadOnly { file: Arc<File>, len: u64 },
    /// The bytes each context copies into a writable file of its own, the
    /// first time its guest opens it.
    Writable { bytes: Arc<[u8]> },
}

/// A file the host attached, in a context.
#[derive(Debug)]
struct Preopen {
    source: Source,
    /// The context's memory file, once the guest (or the host) needed it.
    made: Option<Arc<MemFile>>,
}

impl Preopen {
    /// The context's memory file, made now if this is the first time.
    fn file(&mut self, backend: Backend, name: &str) -> Result<Arc<MemFile>, ErrorCode> {
        if let Some(file) = &self.made {
            return Ok(file.clone());
        }
        let file = match &self.source {
            Source::ReadOnly { file, len } => {
                MemFile::new(file.clone(), *len, Seal::ReadOnly, backend, None)
            }
            Source::Writable { bytes } => {
                let file = backend::create(backend, name, bytes, Seal::FixedSize)?;
                MemFile::new(
                    Arc::new(file),
                    bytes.len() as u64,
                    Seal::FixedSize,
                    backend,
                    None,
                )
            }
        };
        Ok(self.made.insert(file).clone())
    }
}

/// A memory directory preopened in a context.
#[derive(Debug)]
pub(crate) struct MemDirMount {
    /// The path the guest sees it at.
    pub(crate) guest_path: String,
    /// Its root.
    pub(crate) root: DirRef,
}

/// Per-store state of wasi-memfd: limits, accounting, preopened files and
/// memory directories.
///
/// Made with [`WasiMemfdCtxBuilder`] (or [`WasiMemfdCtx::default`] for the
/// default limits and nothing attached), kept in the store's data and
/// reached through [`WasiMemfdView`](crate::WasiMemfdView).
#[derive(Debug, Default)]
pub struct WasiMemfdCtx {
    backend: Backend,
    pool: Option<Pool>,
    ledger: Ledger,
    preopens: HashMap<String, Preopen>,
    mem_dirs: Vec<MemDirMount>,
}

/// A memory file being made and filled in chunks (the async linkers copy
/// `from-bytes` that way): [`NewFile::fill_at`] each chunk, then
/// [`NewFile::finish`]. Dropping it instead closes the file and gives its
/// charge back.
#[derive(Debug)]
pub(crate) struct NewFile {
    blank: Blank,
    charge: Charge,
    seal: Seal,
    backend: Backend,
    len: u64,
}

impl NewFile {
    /// Copies `data` in after what was copied so far.
    pub(crate) fn fill_at(&mut self, data: &[u8]) -> Result<(), ErrorCode> {
        self.blank.fill_at(data)
    }

    /// Seals the filled file: the guest's memory file, charged.
    pub(crate) fn finish(self) -> Result<Arc<MemFile>, ErrorCode> {
        let file = self.blank.finish()?;
        Ok(MemFile::new(
            Arc::new(file),
            self.len,
            self.seal,
            self.backend,
            Some(self.charge),
        ))
    }
}

impl WasiMemfdCtx {
    /// A context with default limits and nothing attached.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder for a context.
    pub fn builder() -> WasiMemfdCtxBuilder {
        WasiMemfdCtxBuilder::new()
    }

    /// The limits this context enforces.
    pub fn limits(&self) -> &Limits {
        self.ledger.limits()
    }

    /// How this context makes memory files.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The [`Pool`] this context takes memory files from, if one was set.
    pub fn pool(&self) -> Option<&Pool> {
        self.pool.as_ref()
    }

    /// The [`Budget`] this context shares with others, if one was set.
    pub fn budget(&self) -> Option<&Budget> {
        self.ledger.budget()
    }

    /// The hostcall fuel a component store needs so that a `from-bytes`
    /// list of any size up to [`Limits::max_file_size`] is lifted rather
    /// than trapping: wasmtime charges every `list<u8>` a guest passes to a
    /// host function against the store's hostcall fuel (128 MiB by default)
    /// before the host function runs, although wasi-memfd never copies the
    /// list on the host.
    ///
    /// It is the larger of wasmtime's default and `max_file_size` plus room
    /// for the name. [`crate::p2::fit_hostcall_fuel`] applies it to a
    /// store (never lowering it); `WasiMemfdP2Ctx::into_store` and the runner
    /// do so. Raising the fuel raises it for every host call of the store:
    /// any host function may then receive a list or string that large.
    pub fn hostcall_fuel(&self) -> usize {
        const WASMTIME_DEFAULT: usize = 128 << 20;
        let needed = self
            .limits()
            .max_file_size
            .saturating_add(MAX_NAME_LEN as u64 + 4096);
        usize::try_from(needed)
            .unwrap_or(usize::MAX)
            .max(WASMTIME_DEFAULT)
    }

    /// What the guest holds now: memory files (every file of its memory
    /// directories, and each handle on a preopened file) and their bytes.
    /// Exact: a file whose last handle was dropped is already given back.
    pub fn usage(&self) -> Usage {
        self.ledger.usage()
    }

    /// The host's own handle on the file attached under `name`, for example
    /// to hand to native code after the guest ran (a writable one is made
    /// now if the guest never opened it).
    pub fn preopened_file(&mut self, name: &str) -> Result<MemoryFile, ErrorCode> {
        let backend = self.backend;
        let preopen = self.preopens.get_mut(name).ok_or(ErrorCode::NotFound)?;
        let file = preopen.file(backend, name)?;
        let writable = !file.is_read_only();
        MemoryFile::new(file, writable)
    }

    /// All bytes of the file attached under `name`, including whatever the
    /// guest wrote into it if it was attached as writable.
    pub fn read_preopened(&self, name: &str) -> std::io::Result<Vec<u8>> {
        let preopen = self
            .preopens
            .get(name)
            .ok_or_else(|| std::io::Error::from(ErrorCode::NotFound))?;
        match (&preopen.source, &preopen.made) {
            (_, Some(file)) => file.read_all(),
            (Source::ReadOnly { file, .. }, None) => backend::read_all(file),
            (Source::Writable { bytes }, None) => Ok(bytes.to_vec()),
        }
    }

    /// Every entry of the memory directory preopened at `guest_path`, as it
    /// is now (during or after a run): its directories, its files (bytes,
    /// or a [`MemoryFile`] for native code, with no copy) and its links,
    /// each directory before its entries. `None` if no memory directory is
    /// preopened there.
    pub fn mem_dir_entries(&self, guest_path: &str) -> Option<Vec<MemDirEntry>> {
        let mount = self.mem_dirs.iter().find(|m| m.guest_path == guest_path)?;
        Some(mount.root.walk())
    }

    /// The memory directories, in the order they were preopened.
    pub(crate) fn mem_dirs(&self) -> &[MemDirMount] {
        &self.mem_dirs
    }

    /// Makes the guest's memory file holding a copy of `data` named `name`
    /// (`from-bytes`, and the host's `from_bytes`): checked against the
    /// name rules and the limits, made (from the pool when it has a file
    /// ready), filled, sealed (read-only, or writable in place at a fixed
    /// size) and charged, in one operation both ABIs share.
    pub(crate) fn make_file(
        &self,
        name: &str,
        data: &[u8],
        writable: bool,
    ) -> Result<Arc<MemFile>, ErrorCode> {
        let mut file = self.begin_file(name, data.len(), writable)?;
        file.fill_at(data)?;
        file.finish()
    }

    /// [`make_file`](Self::make_file) in steps: the file is admitted and
    /// made now, filled by the caller in chunks.
    pub(crate) fn begin_file(
        &self,
        name: &str,
        len: usize,
        writable: bool,
    ) -> Result<NewFile, ErrorCode> {
        check_name(name)?;
        let len = u64::try_from(len).map_err(|_| ErrorCode::FileTooLarge)?;
        let charge = self.ledger.admit(Slot::File, len)?;
        let seal = if writable {
            Seal::FixedSize
        } else {
            Seal::ReadOnly
        };
        let pooled = match (&self.pool, self.backend) {
            (Some(pool), Backend::Memfd) => pool.take(len),
            _ => None,
        };
        let blank = match pooled {
            Some((file, size)) => backend::blank_pooled(file, size, len, seal),
            None => backend::blank(self.backend, name, len, seal)?,
        };
        Ok(NewFile {
            blank,
            charge,
            seal,
            backend: self.backend,
            len,
        })
    }

    /// Opens the file attached under `name` for the guest: a hold on its
    /// memory file that takes a file slot (a preopened file is the host's:
    /// no bytes are charged).
    pub(crate) fn open_preopened(&mut self, name: &str) -> Result<Held, ErrorCode> {
        check_name(name)?;
        if !self.preopens.contains_key(name) {
            return Err(ErrorCode::NotFound);
        }
        let charge = self.ledger.admit(Slot::Preopened, 0)?;
        let backend = self.backend;
        let preopen = self.preopens.get_mut(name).ok_or(ErrorCode::NotFound)?;
        Ok(preopen.file(backend, name)?.hold().taking(charge))
    }
}

/// Checks a guest-given name: no NUL, at most [`MAX_NAME_LEN`] bytes.
pub(crate) fn check_name(name: &str) -> Result<(), ErrorCode> {
    if name.len() > MAX_NAME_LEN {
        Err(ErrorCode::NameTooLong)
    } else if name.as_bytes().contains(&0) {
        Err(ErrorCode::InvalidArgument)
    } else {
        Ok(())
    }
}

/// Builds a [`WasiMemfdCtx`]: limits, backend, a shared [`Budget`],
/// preopened files and memory directories.
///
/// As wasmtime-wasi's `WasiCtxBuilder`, a builder builds one context:
/// [`build`](Self::build) panics if called twice. To make a context per
/// store from one configuration (a server making a store per request), set
/// up a builder once and `clone()` it for each store: clones share its
/// read-only preopened files and the read-only files of its memory
/// directories, which are sealed once, when they are added, with the
/// backend chosen so far (choose the backend first). Everything writable is
/// per context: each context copies a writable preopened file into a memory
/// file of its own the first time its guest opens it, and gets its own copy
/// of every memory directory.
#[derive(Clone, Debug, Default)]
pub struct WasiMemfdCtxBuilder {
    backend: Backend,
    pool: Option<Pool>,
    limits: Limits,
    budget: Option<Budget>,
    preopens: HashMap<String, Source>,
    mem_dirs: Vec<(String, Template)>,
    built: bool,
}

impl WasiMemfdCtxBuilder {
    /// A builder with the default limits, the platform's default backend and
    /// nothing attached.
    pub fn new() -> Self {
        Self::default()
    }

    /// How memory files are made (default: [`Backend::Memfd`] on Linux,
    /// [`Backend::Shm`] elsewhere).
    pub fn backend(&mut self, backend: Backend) -> &mut Self {
        self.backend = backend;
        self
    }

    /// Takes memory files from `pool` (see [`Pool`]) when it has one ready:
    /// faster `from_bytes` and `fd_close`, the same files for the guest.
    /// Only with the memfd backend; contexts may share one pool.
    pub fn pool(&mut self, pool: &Pool) -> &mut Self {
        self.pool = Some(pool.clone());
        self
    }

    /// Charges every file of the context to `budget` too, a cap shared with
    /// the other contexts built with it (see [`Budget`]).
    pub fn budget(&mut self, budget: &Budget) -> &mut Self {
        self.budget = Some(budget.clone());
        self
    }

    /// Sets all limits at once.
    pub fn limits(&mut self, limits: Limits) -> &mut Self {
        self.limits = limits;
        self
    }

    /// Most bytes one memory file may hold (default 64 MiB).
    pub fn max_file_size(&mut self, bytes: u64) -> &mut Self {
        self.limits.max_file_size = bytes;
        self
    }

    /// Most bytes the guest's memory files may hold together
    /// (default 256 MiB).
    pub fn max_total_size(&mut self, bytes: u64) -> &mut Self {
        self.limits.max_total_size = bytes;
        self
    }

    /// Most memory files the guest may hold (default 64).
    pub fn max_files(&mut self, files: usize) -> &mut Self {
        self.limits.max_files = files;
        self
    }

    /// Attaches a copy of `data` under `name`, for the guest's
    /// `open-preopened`. A read-only file is sealed; a writable one keeps its
    /// size and is shared by every descriptor the guest opens on it, and the
    /// host reads it back with [`WasiMemfdCtx::read_preopened`].
    ///
    /// Fails if `name` breaks the name rules (no NUL, at most 249 bytes), is
    /// already attached, or the memory file cannot be made.
    pub fn preopen_bytes(
        &mut self,
        name: &str,
        data: &[u8],
        writable: bool,
    ) -> std::io::Result<&mut Self> {
        check_name(name)?;
        if self.preopens.contains_key(name) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("a file is already attached under {name:?}"),
            ));
        }
        let source = if writable {
            Source::Writable {
                bytes: Arc::from(data),
            }
        } else {
            let file = backend::create(self.backend, name, data, Seal::ReadOnly)?;
            Source::ReadOnly {
                file: Arc::new(file),
                len: data.len() as u64,
            }
        };
        self.preopens.insert(name.to_owned(), source);
        Ok(self)
    }

    /// Attaches a copy of the host file at `path` under `name`, as
    /// [`preopen_bytes`](Self::preopen_bytes) does. The host file itself is
    /// never touched again.
    pub fn preopen_file(
        &mut self,
        name: &str,
        path: impl AsRef<Path>,
        writable: bool,
    ) -> std::io::Result<&mut Self> {
        let path = path.as_ref();
        let data = std::fs::read(path).map_err(|e| {
            std::io::Error::new(e.kind(), format!("reading {}: {e}", path.display()))
        })?;
        self.preopen_bytes(name, &data, writable)
    }

    /// Preopens a memory directory for the guest at `guest_path`, holding
    /// `dir`'s contents: the memory-file counterpart of wasmtime-wasi's
    /// `WasiCtxBuilder::preopened_dir`. Guests find it as they find any
    /// preopened directory (WASIp1's `fd_prestat_get`, components'
    /// `wasi:filesystem/preopens`), after the directories preopened with
    /// wasmtime-wasi, in the order they were added. Each context gets its
    /// own copy of the tree; `dir`'s read-only files are sealed now, once,
    /// and shared by every context built from this builder and its clones.
    ///
    /// Every file, directory and link in it counts against the context's
    /// limits and budget from the start, even past them (the host put them
    /// there): size the limits for what `dir` holds
    /// ([`MemDir::usage`] says how much `dir` holds; the runner adds it to
    /// its defaults).
    ///
    /// For core modules, build with
    /// [`build_p1`](WasiMemfdCtxBuilder::build_p1), which also gives the
    /// directory a low fd among wasmtime-wasi's preopens.
    pub fn preopened_mem_dir(
        &mut self,
        dir: &MemDir,
        guest_path: &str,
    ) -> std::io::Result<&mut Self> {
        if guest_path.is_empty() || guest_path.contains('\0') {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{guest_path:?} is not a guest path"),
            ));
        }
        let template = Template::new(dir, self.backend)?;
        self.mem_dirs.push((guest_path.to_owned(), template));
        Ok(self)
    }

    /// How many memory directories were added so far.
    pub(crate) fn mem_dir_count(&self) -> usize {
        self.mem_dirs.len()
    }

    /// The context.
    ///
    /// # Panics
    ///
    /// If called twice on one builder, as `WasiCtxBuilder::build` does: clone
    /// the builder before building to make more contexts.
    pub fn build(&mut self) -> WasiMemfdCtx {
        assert!(
            !self.built,
            "WasiMemfdCtxBuilder::build called twice: clone the builder to build more contexts"
        );
        self.built = true;
        let ledger = Ledger::new(self.limits, self.budget.clone(), self.pool.clone());
        let mem_dirs = self
            .mem_dirs
            .iter()
            .map(|(guest_path, template)| MemDirMount {
                guest_path: guest_path.clone(),
                root: template.instantiate(&ledger, self.backend),
            })
            .collect();
        WasiMemfdCtx {
            backend: self.backend,
            pool: self.pool.clone(),
            ledger,
            preopens: std::mem::take(&mut self.preopens)
                .into_iter()
                .map(|(name, source)| (name, Preopen { source, made: None }))
                .collect(),
            mem_dirs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert_eq!(check_name(""), Ok(()));
        assert_eq!(check_name(&"a".repeat(249)), Ok(()));
        assert_eq!(check_name(&"a".repeat(250)), Err(ErrorCode::NameTooLong));
        assert_eq!(check_name("a\0b"), Err(ErrorCode::InvalidArgument));
    }

    #[test]
    fn builder_attaches_and_reads_back() {
        let mut ctx = WasiMemfdCtx::builder()
            .max_files(3)
            .preopen_bytes("in", b"input", false)
            .unwrap()
            .preopen_bytes("out", b"....", true)
            .unwrap()
            .build();
        assert_eq!(ctx.limits().max_files, 3);
        assert_eq!(ctx.read_preopened("in").unwrap(), b"input");
        let out = ctx.open_preopened("out").unwrap();
        assert!(!out.is_read_only());
        rustix::io::pwrite(&*out.fd().unwrap(), b"done", 0).unwrap();
        assert_eq!(ctx.read_preopened("out").unwrap(), b"done");
        assert_eq!(ctx.open_preopened("nope").unwrap_err(), ErrorCode::NotFound);
        assert_eq!(
            ctx.read_preopened("nope").unwrap_err().kind(),
            std::io::ErrorKind::NotFound
        );
    }

    #[test]
    fn builder_refuses_bad_and_duplicate_names() {
        let mut b = WasiMemfdCtx::builder();
        b.preopen_bytes("a", b"", false).unwrap();
        let dup = b.preopen_bytes("a", b"", false).unwrap_err();
        assert_eq!(dup.kind(), std::io::ErrorKind::AlreadyExists);
        let nul = b.preopen_bytes("a\0", b"", false).unwrap_err();
        assert_eq!(nul.kind(), std::io::ErrorKind::InvalidInput);
        let missing = b.preopen_file("f", "/nonexistent/file", false).unwrap_err();
        assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    #[should_panic(expected = "build called twice")]
    fn a_builder_builds_once() {
        let mut b = WasiMemfdCtx::builder();
        let _ = b.build();
        let _ = b.build();
    }

    #[test]
    fn clones_share_read_only_preopens_and_copy_writable_ones() {
        let ino = |ctx: &mut WasiMemfdCtx, name: &str| {
            let file = ctx.open_preopened(name).unwrap();
            rustix::fs::fstat(&*file.fd().unwrap()).unwrap().st_ino
        };
        let mut template = WasiMemfdCtx::builder();
        template
            .max_files(5)
            .preopen_bytes("ro", b"shared", false)
            .unwrap()
            .preopen_bytes("rw", b"......", true)
            .unwrap();
        let mut a = template.clone().build();
        let mut b = template.clone().build();
        assert_eq!(b.limits().max_files, 5, "the configuration is cloned");
        // One sealed file behind every context's read-only preopen.
        assert_eq!(ino(&mut a, "ro"), ino(&mut b, "ro"));
        // A writable one is each context's own: a write in one is not seen
        // in the other, and the template's bytes stay as they were.
        assert_ne!(ino(&mut a, "rw"), ino(&mut b, "rw"));
        let rw = a.open_preopened("rw").unwrap();
        rustix::io::pwrite(&*rw.fd().unwrap(), b"A", 0).unwrap();
        assert_eq!(a.read_preopened("rw").unwrap(), b"A.....");
        assert_eq!(b.read_preopened("rw").unwrap(), b"......");
        let mut c = template.build();
        assert_eq!(c.read_preopened("rw").unwrap(), b"......", "not opened yet");
        assert_eq!(
            c.preopened_file("rw").unwrap().read_all().unwrap(),
            b"......"
        );
        assert!(c.preopened_file("ro").unwrap().is_sealed_read_only());
    }

    #[test]
    fn make_file_charges_until_the_last_handle_goes() {
        let ctx = WasiMemfdCtx::builder().max_files(1).build();
        let file = ctx.make_file("a", b"abc", false).unwrap();
        assert_eq!(ctx.usage(), Usage { files: 1, bytes: 3 });
        assert_eq!(
            ctx.make_file("b", b"", false).unwrap_err(),
            ErrorCode::TooManyFiles
        );
        let other = file.clone();
        drop(file);
        assert_eq!(ctx.usage().files, 1);
        drop(other);
        assert_eq!(ctx.usage(), Usage::default());
    }
}
