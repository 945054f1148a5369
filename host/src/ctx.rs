//! The per-store context, [`WasiMemfdCtx`], and its builder.
//!
//! One context serves both guest ABIs (components and WASIp1 core modules):
//! one backend, one set of limits, one ledger and one set of preopened files
//! per store. Every memory file a guest gets is made through it.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use crate::error::ErrorCode;
use crate::file::MemoryFile;
use crate::limits::{Admitted, Budget, Ledger, Limits, Usage};
use crate::memfd::{self, Backend, Blank, MAX_NAME_LEN};
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
    /// The context's writable copy, once made.
    made: Option<Arc<File>>,
}

impl Preopen {
    fn writable(&self) -> bool {
        matches!(self.source, Source::Writable { .. })
    }

    fn len(&self) -> u64 {
        match &self.source {
            Source::ReadOnly { len, .. } => *len,
            Source::Writable { bytes } => bytes.len() as u64,
        }
    }

    /// The file, made now if it is a writable one not opened before.
    fn file(&mut self, backend: Backend, name: &str) -> Result<&Arc<File>, ErrorCode> {
        match &self.source {
            Source::ReadOnly { file, .. } => Ok(file),
            Source::Writable { bytes } => match self.made {
                Some(ref file) => Ok(file),
                None => {
                    let file = memfd::create(backend, name, bytes, true)?;
                    Ok(self.made.insert(Arc::new(file)))
                }
            },
        }
    }
}

/// Per-store state of wasi-memfd: limits, accounting and preopened files.
///
/// Made with [`WasiMemfdCtxBuilder`] (or [`WasiMemfdCtx::default`] for the
/// default limits and no preopened files), kept in the store's data and
/// reached through [`WasiMemfdView`](crate::WasiMemfdView).
#[derive(Debug, Default)]
pub struct WasiMemfdCtx {
    backend: Backend,
    pool: Option<Pool>,
    limits: Limits,
    ledger: Ledger,
    preopens: HashMap<String, Preopen>,
}

/// A `from-bytes` call that passed every check; [`Admission::fill`] (or
/// [`Admission::blank`], for a copy in chunks) makes the file and
/// [`WasiMemfdCtx::record`] charges it. Nothing else can run on the store in
/// between, so the store's checks still hold when the file is recorded; a
/// shared [`Budget`] holds a reservation until then. Dropping an admission
/// instead (the file could not be made) gives everything back.
#[derive(Debug)]
pub(crate) struct Admission {
    backend: Backend,
    pool: Option<Pool>,
    pub(crate) writable: bool,
    /// Bytes the file will hold.
    pub(crate) len: u64,
    admitted: Admitted,
}

impl Admission {
    /// Makes the memory file holding a copy of `data`.
    pub(crate) fn fill(&self, name: &str, data: &[u8]) -> Result<File, ErrorCode> {
        match self.pooled() {
            Some(mut blank) => {
                blank.fill_at(data)?;
                blank.finish()
            }
            None => memfd::create(self.backend, name, data, self.writable),
        }
    }

    /// A blank over a file from the pool, if the context has one and it has
    /// a file ready (memfd backend only).
    fn pooled(&self) -> Option<Blank> {
        if self.backend != Backend::Memfd {
            return None;
        }
        let (file, size) = self.pool.as_ref()?.take(self.len)?;
        Some(memfd::blank_pooled(file, size, self.len, self.writable))
    }

    /// What the ledger records once the file is made.
    pub(crate) fn into_admitted(self) -> Admitted {
        self.admitted
    }

    /// Makes the empty memory file, to be filled in chunks.
    pub(crate) fn blank(&self, name: &str) -> Result<Blank, ErrorCode> {
        if let Some(blank) = self.pooled() {
            return Ok(blank);
        }
        memfd::blank(self.backend, name, self.len, self.writable)
    }
}

/// A new descriptor on a preopened file (a `dup` of the host's), admitted
/// but not yet recorded.
#[derive(Debug)]
pub(crate) struct OpenedPreopen {
    pub(crate) file: File,
    pub(crate) writable: bool,
    pub(crate) len: u64,
    pub(crate) admitted: Admitted,
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
        &self.limits
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
            .limits
            .max_file_size
            .saturating_add(MAX_NAME_LEN as u64 + 4096);
        usize::try_from(needed)
            .unwrap_or(usize::MAX)
            .max(WASMTIME_DEFAULT)
    }

    /// What the guest holds now: open memory-file descriptors and the bytes
    /// charged to its quota. Exact: files whose last handle was dropped are
    /// already given back.
    pub fn usage(&mut self) -> Usage {
        self.ledger.usage()
    }

    /// The host's own handle on the file attached under `name`, for example
    /// to hand to native code after the guest ran (a writable one is made
    /// now if the guest never opened it).
    pub fn preopened_file(&mut self, name: &str) -> Result<MemoryFile, ErrorCode> {
        let backend = self.backend;
        let preopen = self.preopens.get_mut(name).ok_or(ErrorCode::NotFound)?;
        let writable = preopen.writable();
        Ok(MemoryFile::new(
            preopen.file(backend, name)?.clone(),
            writable,
        ))
    }

    /// All bytes of the file attached under `name`, including whatever the
    /// guest wrote into it if it was attached as writable.
    pub fn read_preopened(&self, name: &str) -> std::io::Result<Vec<u8>> {
        let preopen = self
            .preopens
            .get(name)
            .ok_or_else(|| std::io::Error::from(ErrorCode::NotFound))?;
        match (&preopen.source, &preopen.made) {
            (Source::ReadOnly { file, .. }, _) | (_, Some(file)) => memfd::read_all(file),
            (Source::Writable { bytes }, None) => Ok(bytes.to_vec()),
        }
    }

    /// Checks a `from-bytes` call of `len` bytes against the name rules and
    /// the limits.
    pub(crate) fn admit_from_bytes(
        &mut self,
        len: usize,
        name: &str,
        writable: bool,
    ) -> Result<Admission, ErrorCode> {
        check_name(name)?;
        let len = u64::try_from(len).map_err(|_| ErrorCode::FileTooLarge)?;
        let admitted = self.admit(len)?;
        Ok(Admission {
            backend: self.backend,
            pool: self.pool.clone(),
            writable,
            len,
            admitted,
        })
    }

    /// Opens a new descriptor on the file attached under `name`, if the
    /// guest may hold one more.
    pub(crate) fn open_preopened(&mut self, name: &str) -> Result<OpenedPreopen, ErrorCode> {
        check_name(name)?;
        let backend = self.backend;
        if !self.preopens.contains_key(name) {
            return Err(ErrorCode::NotFound);
        }
        let admitted = self.admit(0)?;
        let preopen = self.preopens.get_mut(name).ok_or(ErrorCode::NotFound)?;
        let (writable, len) = (preopen.writable(), preopen.len());
        let shared = preopen.file(backend, name)?;
        let file = crate::faults::check(crate::faults::Step::Dup)
            .map_err(std::io::Error::from)
            .and_then(|()| shared.try_clone())
            .map_err(|e| ErrorCode::from_io(&e))?;
        Ok(OpenedPreopen {
            file,
            writable,
            len,
            admitted,
        })
    }

    /// Checks one more file of `bytes` bytes against the limits and the
    /// budget. Files a guest closed that a [`Pool`]'s thread has not
    /// closed yet are still charged: before refusing, this closes them on
    /// this thread and checks again, so they never cause a refusal.
    fn admit(&mut self, bytes: u64) -> Result<Admitted, ErrorCode> {
        match self.ledger.admit(&self.limits, bytes) {
            Err(ErrorCode::QuotaExceeded | ErrorCode::TooManyFiles) if self.pool.is_some() => {
                if let Some(pool) = &self.pool {
                    pool.free_released();
                }
                self.ledger.admit(&self.limits, bytes)
            }
            admitted => admitted,
        }
    }

    /// Whether `file` is a memory file this context made or opened.
    pub(crate) fn holds(&self, file: &Arc<File>) -> bool {
        self.ledger.holds(file)
    }

    /// Records a file the guest now holds, as admitted (a preopened file
    /// takes a slot but no quota bytes).
    pub(crate) fn record(&mut self, file: &Arc<File>, admitted: Admitted) {
        self.ledger.record(file, admitted);
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
/// preopened files.
///
/// As wasmtime-wasi's `WasiCtxBuilder`, a builder builds one context:
/// [`build`](Self::build) panics if called twice. To make a context per
/// store from one configuration (a server making a store per request), set
/// up a builder once and `clone()` it for each store: clones share its
/// read-only preopened files, which are copied into sealed memory files
/// once, when `preopen_*` runs, with the backend chosen so far (choose the
/// backend first). A writable preopened file is per context: each context
/// copies the bytes into a writable memory file of its own the first time
/// its guest opens it.
#[derive(Clone, Debug, Default)]
pub struct WasiMemfdCtxBuilder {
    backend: Backend,
    pool: Option<Pool>,
    limits: Limits,
    budget: Option<Budget>,
    preopens: HashMap<String, Source>,
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

    /// Most bytes one `from-bytes` file may hold (default 64 MiB).
    pub fn max_file_size(&mut self, bytes: u64) -> &mut Self {
        self.limits.max_file_size = bytes;
        self
    }

    /// Most bytes the guest's `from-bytes` files may hold together
    /// (default 256 MiB).
    pub fn max_total_size(&mut self, bytes: u64) -> &mut Self {
        self.limits.max_total_size = bytes;
        self
    }

    /// Most memory-file descriptors the guest may hold open (default 64).
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
            let file = memfd::create(self.backend, name, data, false)?;
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
        WasiMemfdCtx {
            backend: self.backend,
            pool: self.pool.clone(),
            limits: self.limits,
            ledger: Ledger::with_budget(self.budget.clone()),
            preopens: std::mem::take(&mut self.preopens)
                .into_iter()
                .map(|(name, source)| (name, Preopen { source, made: None }))
                .collect(),
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
        assert!(out.writable);
        rustix::io::pwrite(&out.file, b"done", 0).unwrap();
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
            let file = ctx.open_preopened(name).unwrap().file;
            rustix::fs::fstat(&file).unwrap().st_ino
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
        rustix::io::pwrite(&rw.file, b"A", 0).unwrap();
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
}
