//! The WASIp1 driver: runs [`Op`]s through a real `WasiMemfdP1Ctx` store,
//! calling the `wasi_memfd` and `wasi_snapshot_preview1` imports through a
//! WAT trampoline (`tests/support/trampoline.rs`), and checks every answer
//! against the model.
//!
//! The model of the fd table follows `host/src/p1/fds.rs`: memory-file fds
//! are numbered from `FIRST_FD`, the lowest closed number is reused first,
//! otherwise the number after the highest open one; each fd has its own
//! position. Fd numbers are compared too.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::sync::OnceLock;

use wasi_memfd::p1::{WasiMemfdP1Ctx, FIRST_FD};
use wasi_memfd::{Backend, Usage};
use wasmtime::{Engine, Instance, Linker, Memory, Module, Store, WasmParams, WasmResults};
use wasmtime_wasi::WasiCtxBuilder;

use super::state::{self, Model};
use super::trampoline;
use super::{errno, limits, memfd_ctx, pattern, preopens, Fault, FdRef, Op, Outcomes};

/// Linear memory: one 64 KiB page, laid out as below.
const PAGES: u32 = 1;
const MEM: u32 = 64 * 1024;
const OUT: u32 = 8; // a u32 or u64 the host writes
const IOV: u32 = 64; // two iovecs
const STAT: u32 = 128; // a filestat (64 bytes)
const FDSTAT: u32 = 256; // an fdstat (24 bytes)
const NAME: u32 = 512; // names, up to 260 bytes
const DATA: u32 = 1024; // from_bytes and write input, up to 4 KiB
const BUF: u32 = 8192; // read buffers, up to 8 KiB

/// A number in the memory-file range that is never given out (the limits
/// keep the numbers below `FIRST_FD + max_files`).
const NEVER: u32 = FIRST_FD + 0x1000;

/// `filetype::regular_file`.
const REGULAR_FILE: u8 = 4;

/// The rights of a memory-file fd (`rights` bits of typenames.witx).
fn rights(writable: bool) -> u64 {
    const FD_READ: u64 = 1 << 1;
    const FD_SEEK: u64 = 1 << 2;
    const FD_TELL: u64 = 1 << 5;
    const FD_WRITE: u64 = 1 << 6;
    const FD_ADVISE: u64 = 1 << 7;
    const FD_FILESTAT_GET: u64 = 1 << 21;
    let read = FD_READ | FD_SEEK | FD_TELL | FD_FILESTAT_GET | FD_ADVISE;
    if writable {
        read | FD_WRITE
    } else {
        read
    }
}

/// One engine and compiled trampoline per process.
fn compiled() -> &'static (Engine, Module) {
    static COMPILED: OnceLock<(Engine, Module)> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let engine = Engine::default();
        let module = Module::new(&engine, trampoline::wat(trampoline::IMPORTS, PAGES))
            .expect("the trampoline compiles");
        (engine, module)
    })
}

/// An open fd in the model.
#[derive(Clone, Debug)]
struct Fd {
    /// The model's ledger entry.
    entry: usize,
    pos: u64,
}

/// The model of `fds::FdTable`.
#[derive(Debug, Default)]
struct Fds {
    open: BTreeMap<u32, Fd>,
    free: BTreeSet<u32>,
}

impl Fds {
    fn insert(&mut self, fd: Fd) -> u32 {
        let n = match self.free.pop_first() {
            Some(n) => n,
            None => self.open.keys().next_back().map_or(FIRST_FD, |&n| n + 1),
        };
        self.open.insert(n, fd);
        n
    }

    fn remove(&mut self, n: u32) -> Option<Fd> {
        let fd = self.open.remove(&n)?;
        self.free.insert(n);
        Some(fd)
    }
}

/// A store running the trampoline, and the model beside it.
struct Driver {
    store: Store<WasiMemfdP1Ctx>,
    instance: Instance,
    memory: Memory,
    model: Model,
    fds: Fds,
    /// The op being run, for assertion messages.
    at: String,
    /// Which outcomes the ops had (see [`super::Outcomes`]).
    seen: Outcomes,
}

/// Runs `ops` through a WASIp1 store on `backend` and the model; panics at
/// the first difference. Returns the outcomes seen.
pub fn run(ops: &[Op], backend: Backend) -> Outcomes {
    let mut d = Driver::new(backend);
    for (i, op) in ops.iter().enumerate() {
        d.at = format!("p1 ({backend:?}) op {i} of {}: {op:?}", ops.len());
        d.step(op);
        let usage = d.usage();
        assert_eq!(usage, d.model.usage(), "usage after {}", d.at);
    }
    d.at = format!("p1 ({backend:?}) after the last op");
    d.finish();
    d.seen
}

impl Driver {
    fn new(backend: Backend) -> Self {
        let (engine, module) = compiled();
        let mut linker = Linker::new(engine);
        wasi_memfd::p1::add_to_linker_sync(&mut linker, |s| s).unwrap();
        let ctx = WasiMemfdP1Ctx::new(WasiCtxBuilder::new().build_p1(), memfd_ctx(backend));
        let mut store = Store::new(engine, ctx);
        let instance = linker.instantiate(&mut store, module).unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        assert_eq!(memory.data_size(&store), MEM as usize);
        Driver {
            store,
            instance,
            memory,
            model: Model::new(limits(), &preopens()),
            fds: Fds::default(),
            at: String::new(),
            seen: Outcomes::new(),
        }
    }

    fn usage(&mut self) -> Usage {
        self.store.data_mut().memfd().usage()
    }

    // ---- linear memory ----

    fn put(&mut self, addr: u32, bytes: &[u8]) {
        let at = addr as usize;
        self.memory.data_mut(&mut self.store)[at..at + bytes.len()].copy_from_slice(bytes);
    }

    fn get(&self, addr: u32, len: u64) -> Vec<u8> {
        let at = addr as usize;
        self.memory.data(&self.store)[at..at + len as usize].to_vec()
    }

    fn u32_at(&self, addr: u32) -> u32 {
        u32::from_le_bytes(self.get(addr, 4).try_into().unwrap())
    }

    fn u64_at(&self, addr: u32) -> u64 {
        u64::from_le_bytes(self.get(addr, 8).try_into().unwrap())
    }

    /// Two iovecs at [`IOV`]: `len` bytes from `base`, the first `split` of
    /// them (cut to `len`) in the first.
    fn iovecs(&mut self, base: u32, len: u64, split: u16) -> [u32; 2] {
        let lens = split_lens(len, split);
        let mut raw = Vec::new();
        for (ptr, n) in [(base, lens[0]), (base + lens[0], lens[1])] {
            raw.extend_from_slice(&ptr.to_le_bytes());
            raw.extend_from_slice(&n.to_le_bytes());
        }
        self.put(IOV, &raw);
        lens
    }

    // ---- calls ----

    /// Calls the trampoline's `name`; a trap is a failure of the library.
    fn call<P: WasmParams, R: WasmResults>(&mut self, name: &str, params: P) -> R {
        let func = self
            .instance
            .get_typed_func::<P, R>(&mut self.store, name)
            .unwrap();
        func.call(&mut self.store, params)
            .unwrap_or_else(|e| panic!("`{name}` trapped: {e:?}\n{}", self.at))
    }

    /// Asserts that a `what` call answered what the model says, and notes
    /// the outcome.
    fn check<T: Debug + PartialEq>(
        &mut self,
        what: &str,
        got: &Result<T, i32>,
        want: &Result<T, i32>,
    ) {
        assert_eq!(got, want, "{what}: {}", self.at);
        self.saw(what, got);
    }

    /// Notes the outcome of a `what` call.
    fn saw<T: Debug>(&mut self, what: &str, result: &Result<T, i32>) {
        self.seen.insert(match result {
            Ok(_) => format!("p1 {what} ok"),
            Err(errno) => format!("p1 {what} errno {errno}"),
        });
    }

    /// Notes a read or write that moved some but not all of `asked` bytes.
    fn saw_short(&mut self, what: &str, done: Option<usize>, asked: u64) {
        if matches!(done, Some(n) if n > 0 && (n as u64) < asked) {
            self.seen.insert(format!("p1 {what} short"));
        }
    }

    /// `Ok(value())` for errno 0, else `Err(errno)`.
    fn result<T>(errno: i32, value: impl FnOnce() -> T) -> Result<T, i32> {
        if errno == errno::SUCCESS {
            Ok(value())
        } else {
            Err(errno)
        }
    }

    /// The fd number `r` names (see [`FdRef`]); `stdin` allows fd 0.
    fn resolve(&self, r: FdRef, stdin: bool) -> u32 {
        let open: Vec<u32> = self.fds.open.keys().copied().collect();
        match r.0 {
            0..=223 if !open.is_empty() => open[usize::from(r.0) % open.len()],
            224..=239 => self.fds.free.first().copied().unwrap_or(NEVER),
            248.. if stdin => 0,
            _ => NEVER,
        }
    }

    /// The size of the file behind fd `n` in the model (0 if not open).
    fn size_of(&self, n: u32) -> u64 {
        self.fds
            .open
            .get(&n)
            .map_or(0, |fd| self.model.data(fd.entry).len() as u64)
    }

    /// A memory-file fd the guest got: `fd_out` holds it, or still holds
    /// what was there before if the call failed.
    fn new_fd(&mut self, errno: i32) -> Result<u32, i32> {
        let out = self.u32_at(OUT);
        if errno != errno::SUCCESS {
            assert_eq!(out, 0xEEEE_EEEE, "fd_out written on failure: {}", self.at);
        }
        Self::result(errno, || out)
    }

    fn step(&mut self, op: &Op) {
        match *op {
            Op::FromBytes {
                len,
                seed,
                name,
                writable,
                unknown_flag,
            } => {
                let data = pattern(len.get(), seed);
                let name = name.bytes();
                let flags = u32::from(writable) | if unknown_flag { 2 } else { 0 };
                self.put(DATA, &data);
                self.put(NAME, &name);
                self.put(OUT, &[0xEE; 4]);
                let errno: i32 = self.call(
                    "from_bytes",
                    (DATA, data.len() as u32, NAME, name.len() as u32, flags, OUT),
                );
                let got = self.new_fd(errno);
                // Flag bits, then UTF-8, then the name rules and limits.
                let want = if unknown_flag || std::str::from_utf8(&name).is_err() {
                    Err(errno::INVAL)
                } else {
                    match self.model.make_from_bytes(&data, &name, writable) {
                        Ok(entry) => Ok(self.fds.insert(Fd { entry, pos: 0 })),
                        Err(code) => Err(i32::from(code.errno())),
                    }
                };
                self.check("from_bytes", &got, &want);
            }
            Op::FromBytesFault { what } => {
                self.put(NAME, b"xy");
                let (data, name, out) = match what {
                    Fault::Data => (MEM - 8, NAME, OUT),
                    Fault::Name => (DATA, MEM - 1, OUT),
                    Fault::FdOut => (DATA, NAME, MEM - 2),
                };
                self.put(OUT, &[0xEE; 4]);
                let errno: i32 = self.call("from_bytes", (data, 16u32, name, 2u32, 0u32, out));
                let got = self.new_fd(errno);
                self.check("from_bytes", &got, &Err(errno::FAULT));
            }
            Op::OpenPreopened { name } => {
                let name = name.bytes();
                self.put(NAME, &name);
                self.put(OUT, &[0xEE; 4]);
                let errno: i32 = self.call("open_preopened", (NAME, name.len() as u32, OUT));
                let got = self.new_fd(errno);
                let want = if std::str::from_utf8(&name).is_err() {
                    Err(errno::INVAL)
                } else {
                    match self.model.open_preopened(&name) {
                        Ok(entry) => Ok(self.fds.insert(Fd { entry, pos: 0 })),
                        Err(code) => Err(i32::from(code.errno())),
                    }
                };
                self.check("open_preopened", &got, &want);
            }
            Op::Read { fd, len, split } => {
                let n = self.resolve(fd, false);
                let pos = self.fds.open.get(&n).map(|fd| fd.pos);
                let got = self.read("fd_read", n, len.get(), split, None);
                let want = match pos {
                    None => Err(errno::BADF),
                    Some(pos) => {
                        let entry = self.fds.open[&n].entry;
                        let iovs = split_lens(len.get(), split);
                        state::p1_read(self.model.data(entry), pos, iovs)
                    }
                };
                self.check("fd_read", &got, &want);
                self.saw_short("fd_read", got.as_ref().ok().map(Vec::len), len.get());
                if let Ok(bytes) = want {
                    self.fds.open.get_mut(&n).unwrap().pos += bytes.len() as u64;
                }
            }
            Op::Pread {
                fd,
                len,
                offset,
                split,
            } => {
                let n = self.resolve(fd, false);
                let offset = offset.get(self.size_of(n));
                let got = self.read("fd_pread", n, len.get(), split, Some(offset));
                let want = match self.fds.open.get(&n) {
                    None => Err(errno::BADF),
                    Some(fd) => {
                        let iovs = split_lens(len.get(), split);
                        state::p1_read(self.model.data(fd.entry), offset, iovs)
                    }
                };
                self.check("fd_pread", &got, &want);
                self.saw_short("fd_pread", got.as_ref().ok().map(Vec::len), len.get());
            }
            Op::Write {
                fd,
                len,
                seed,
                split,
            } => {
                let n = self.resolve(fd, false);
                let data = pattern(len.get(), seed);
                let got = self.write("fd_write", n, &data, split, None);
                let want = self.fds.open.get(&n).cloned().map(|fd| (fd.entry, fd.pos));
                let want = match want {
                    None => Err(errno::BADF),
                    Some((entry, pos)) => self.model_write(entry, pos, &data),
                };
                self.check("fd_write", &got, &want);
                self.saw_short("fd_write", want.ok().map(|n| n as usize), data.len() as u64);
                if let Ok(written) = want {
                    self.fds.open.get_mut(&n).unwrap().pos += written;
                }
            }
            Op::Pwrite {
                fd,
                len,
                seed,
                offset,
                split,
            } => {
                let n = self.resolve(fd, false);
                let offset = offset.get(self.size_of(n));
                let data = pattern(len.get(), seed);
                let got = self.write("fd_pwrite", n, &data, split, Some(offset));
                let want = match self.fds.open.get(&n).map(|fd| fd.entry) {
                    None => Err(errno::BADF),
                    Some(entry) => self.model_write(entry, offset, &data),
                };
                self.check("fd_pwrite", &got, &want);
                self.saw_short(
                    "fd_pwrite",
                    want.ok().map(|n| n as usize),
                    data.len() as u64,
                );
            }
            Op::Seek { fd, delta, whence } => {
                let n = self.resolve(fd, false);
                let size = self.size_of(n);
                self.put(OUT, &[0xEE; 8]);
                let errno: i32 = self.call("fd_seek", (n, delta.get(), whence.raw(), OUT));
                let got = Self::result(errno, || self.u64_at(OUT));
                let want = match self.fds.open.get_mut(&n) {
                    None => Err(errno::BADF),
                    Some(fd) => {
                        let new = state::p1_seek(fd.pos, size, delta.get(), whence);
                        if let Ok(pos) = new {
                            fd.pos = pos;
                        }
                        new
                    }
                };
                self.check("fd_seek", &got, &want);
            }
            Op::Tell { fd } => {
                let n = self.resolve(fd, false);
                self.put(OUT, &[0xEE; 8]);
                let errno: i32 = self.call("fd_tell", (n, OUT));
                let got = Self::result(errno, || self.u64_at(OUT));
                let want = self.fds.open.get(&n).map(|fd| fd.pos).ok_or(errno::BADF);
                self.check("fd_tell", &got, &want);
            }
            Op::Stat { fd } => {
                let n = self.resolve(fd, false);
                self.stat(n);
            }
            Op::SetSize { fd, size } => {
                let n = self.resolve(fd, false);
                let current = self.size_of(n);
                let new = size.get(current);
                let errno: i32 = self.call("fd_filestat_set_size", (n, new));
                let got = Self::result(errno, || ());
                let want = match self.fds.open.get(&n) {
                    None => Err(errno::BADF),
                    Some(fd) => state::p1_set_size(self.model.writable(fd.entry), current, new),
                };
                self.check("fd_filestat_set_size", &got, &want);
            }
            Op::Renumber { from, to } => {
                let (from, to) = (self.resolve(from, true), self.resolve(to, true));
                if from == 0 && to == 0 {
                    // wasmtime-wasi's own fds: not this layer's business.
                    return;
                }
                let errno: i32 = self.call("fd_renumber", (from, to));
                let got = Self::result(errno, || ());
                // Both must be open memory-file fds; `to`'s file is closed.
                let both = self.fds.open.contains_key(&from) && self.fds.open.contains_key(&to);
                let want = if !both {
                    Err(errno::BADF)
                } else {
                    if from != to {
                        let moved = self.fds.remove(from).unwrap();
                        let closed = self.fds.open.insert(to, moved).unwrap();
                        self.model.release(closed.entry);
                    }
                    Ok(())
                };
                self.check("fd_renumber", &got, &want);
            }
            Op::Close { fd } => {
                let n = self.resolve(fd, false);
                let errno: i32 = self.call("fd_close", (n,));
                let got = Self::result(errno, || ());
                let want = match self.fds.remove(n) {
                    None => Err(errno::BADF),
                    Some(fd) => {
                        self.model.release(fd.entry);
                        Ok(())
                    }
                };
                self.check("fd_close", &got, &want);
            }
            Op::OpenStream { .. } | Op::StreamRead { .. } | Op::DropStream { .. } => {}
        }
    }

    /// `fd_read` (no `offset`) or `fd_pread` of `len` bytes into two iovecs
    /// from [`BUF`]: the bytes read. Also checks that nothing past them was
    /// written.
    fn read(
        &mut self,
        func: &str,
        n: u32,
        len: u64,
        split: u16,
        offset: Option<u64>,
    ) -> Result<Vec<u8>, i32> {
        self.put(BUF, &vec![0xAA; len as usize]);
        self.iovecs(BUF, len, split);
        self.put(OUT, &[0xEE; 4]);
        let errno: i32 = match offset {
            None => self.call(func, (n, IOV, 2u32, OUT)),
            Some(offset) => self.call(func, (n, IOV, 2u32, offset, OUT)),
        };
        let got = Self::result(errno, || self.u32_at(OUT));
        let read = u64::from(*got.as_ref().unwrap_or(&0));
        assert!(read <= len, "read {read} of {len} bytes: {}", self.at);
        assert!(
            self.get(BUF + read as u32, len - read)
                .iter()
                .all(|&b| b == 0xAA),
            "bytes written past the {read} read: {}",
            self.at
        );
        got.map(|read| self.get(BUF, u64::from(read)))
    }

    /// `fd_write` (no `offset`) or `fd_pwrite` of `data` from two iovecs:
    /// how many bytes were written.
    fn write(
        &mut self,
        func: &str,
        n: u32,
        data: &[u8],
        split: u16,
        offset: Option<u64>,
    ) -> Result<u64, i32> {
        self.put(DATA, data);
        self.iovecs(DATA, data.len() as u64, split);
        self.put(OUT, &[0xEE; 4]);
        let errno: i32 = match offset {
            None => self.call(func, (n, IOV, 2u32, OUT)),
            Some(offset) => self.call(func, (n, IOV, 2u32, offset, OUT)),
        };
        Self::result(errno, || u64::from(self.u32_at(OUT)))
    }

    /// A write of `data` at `offset` on `entry` in the model: what it
    /// answers, with the written bytes applied.
    fn model_write(&mut self, entry: usize, offset: u64, data: &[u8]) -> Result<u64, i32> {
        let size = self.model.data(entry).len() as u64;
        let written = state::p1_write(self.model.writable(entry), size, offset, data.len() as u64)?;
        self.model
            .overwrite(entry, offset, &data[..written as usize]);
        Ok(written)
    }

    /// `fd_filestat_get` and `fd_fdstat_get` on fd `n`.
    fn stat(&mut self, n: u32) {
        self.put(STAT, &[0xEE; 64]);
        let errno: i32 = self.call("fd_filestat_get", (n, STAT));
        let got = Self::result(errno, || {
            (self.get(STAT + 16, 1)[0], self.u64_at(STAT + 32))
        });
        let open = self.fds.open.get(&n).map(|fd| fd.entry);
        let want = open
            .map(|entry| (REGULAR_FILE, self.model.data(entry).len() as u64))
            .ok_or(errno::BADF);
        self.check("fd_filestat_get", &got, &want);

        self.put(FDSTAT, &[0xEE; 24]);
        let errno: i32 = self.call("fd_fdstat_get", (n, FDSTAT));
        let got = Self::result(errno, || {
            let flags = u16::from_le_bytes(self.get(FDSTAT + 2, 2).try_into().unwrap());
            (self.get(FDSTAT, 1)[0], flags, self.u64_at(FDSTAT + 8))
        });
        let want = open
            .map(|entry| (REGULAR_FILE, 0, rights(self.model.writable(entry))))
            .ok_or(errno::BADF);
        self.check("fd_fdstat_get", &got, &want);
    }

    /// Every open fd still reads its model's bytes and position, the host
    /// reads the preopened files as the model has them; then everything is
    /// closed and the usage is back to zero.
    fn finish(&mut self) {
        let open: Vec<(u32, Fd)> = self.fds.open.clone().into_iter().collect();
        for (n, fd) in &open {
            let data = self.model.data(fd.entry).to_vec();
            let got = self.read("fd_pread", *n, data.len() as u64, 0, Some(0));
            assert_eq!(got, Ok(data), "fd {n}'s bytes: {}", self.at);
            self.put(OUT, &[0xEE; 8]);
            let errno: i32 = self.call("fd_tell", (*n, OUT));
            assert_eq!(
                Self::result(errno, || self.u64_at(OUT)),
                Ok(fd.pos),
                "fd {n}'s position: {}",
                self.at
            );
        }
        for (name, _, _) in preopens() {
            let host = self.store.data_mut().memfd().read_preopened(name).unwrap();
            assert_eq!(
                host,
                self.model.preopened(name),
                "preopened {name:?}: {}",
                self.at
            );
        }
        for (n, fd) in open {
            let errno: i32 = self.call("fd_close", (n,));
            assert_eq!(errno, errno::SUCCESS, "closing {n}: {}", self.at);
            self.fds.remove(n);
            self.model.release(fd.entry);
        }
        assert_eq!(self.model.usage(), Usage::default());
        assert_eq!(
            self.usage(),
            Usage::default(),
            "usage with everything closed"
        );
    }
}

/// The two iovec lengths [`Driver::iovecs`] lays out.
fn split_lens(len: u64, split: u16) -> [u32; 2] {
    let len = len as u32;
    let first = u32::from(split).min(len);
    [first, len - first]
}
