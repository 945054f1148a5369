//! The WASIp1 driver: runs [`Op`]s through a real `WasiMemfdP1Ctx` store,
//! calling the `wasi_memfd` and `wasi_snapshot_preview1` imports through the
//! trampoline guest ([`crate::p1::Guest`]), and checks every answer against
//! the model.
//!
//! The model of the fd table follows `host/src/p1/fds.rs`: memory-file fds
//! are numbered from `FIRST_FD`, the lowest closed number is reused first,
//! otherwise the number after the highest open one; each fd has its own
//! position. Fd numbers are compared too.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use wasi_memfd::p1::FIRST_FD;
use wasi_memfd::{Backend, Usage};

use super::state::{self, Model};
use super::{errno, limits, memfd_ctx, pattern, preopens, Fault, FdRef, Op, Outcomes};
use crate::p1::layout::{DATA, NAME, OUT};
use crate::p1::{result, rights, Guest, REGULAR_FILE};

/// A number in the memory-file range that is never given out (the limits
/// keep the numbers below `FIRST_FD + max_files`).
const NEVER: u32 = FIRST_FD + 0x1000;

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
    /// A number the guest renumbered stdin onto: taken, but not a memory
    /// file (the model sends no op to it).
    stdin_at: Option<u32>,
}

impl Fds {
    fn insert(&mut self, fd: Fd) -> u32 {
        let n = match self.free.pop_first() {
            Some(n) => n,
            None => {
                let last = self.open.keys().next_back().copied().max(self.stdin_at);
                last.map_or(FIRST_FD, |n| n + 1)
            }
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

/// A guest running the trampoline, and the model beside it.
struct Driver {
    g: Guest,
    model: Model,
    fds: Fds,
    /// Which outcomes the ops had (see [`super::Outcomes`]).
    seen: Outcomes,
}

/// Runs `ops` through a WASIp1 store on `backend` and the model; panics at
/// the first difference. Returns the outcomes seen.
pub fn run(ops: &[Op], backend: Backend) -> Outcomes {
    let mut d = Driver::new(backend);
    let pool = super::pool();
    for (i, op) in ops.iter().enumerate() {
        d.g.at = format!("p1 ({backend:?}) op {i} of {}: {op:?}", ops.len());
        d.step(op);
        if let Some(pool) = &pool {
            // A closed pooled file stays charged until the pool's thread
            // has really closed it (decided in "Pool: a closed file stays
            // charged until it is really closed"): compare once it has.
            crate::wait_until("the pool's thread is idle", || pool.is_idle());
        }
        let usage = d.g.usage();
        assert_eq!(usage, d.model.usage(), "usage after {}", d.g.at);
    }
    d.g.at = format!("p1 ({backend:?}) after the last op");
    d.finish();
    d.seen
}

impl Driver {
    fn new(backend: Backend) -> Self {
        Driver {
            g: Guest::of(memfd_ctx(backend)),
            model: Model::new(limits(), &preopens()),
            fds: Fds::default(),
            seen: Outcomes::new(),
        }
    }

    /// Asserts that a `what` call answered what the model says, and notes
    /// the outcome.
    fn check<T: Debug + PartialEq>(
        &mut self,
        what: &str,
        got: &Result<T, i32>,
        want: &Result<T, i32>,
    ) {
        assert_eq!(got, want, "{what}: {}", self.g.at);
        self.saw(what, got);
    }

    /// Notes the outcome of a `what` call.
    fn saw<T: Debug>(&mut self, what: &str, result: &Result<T, i32>) {
        self.seen.insert(match result {
            Ok(_) => format!("p1 {what} ok"),
            Err(e) => format!("p1 {what} {}", crate::trampoline::errno::name(*e)),
        });
    }

    /// Notes a read or write that moved some but not all of `asked` bytes.
    fn saw_short(&mut self, what: &str, done: Option<usize>, asked: u64) {
        if matches!(done, Some(n) if n > 0 && (n as u64) < asked) {
            self.seen.insert(format!("p1 {what} short"));
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

    fn step(&mut self, op: &Op) {
        match *op {
            Op::FromBytes(make) => {
                let data = pattern(make.len.get(), make.seed);
                let name = make.name.bytes();
                let flags = u32::from(make.writable) | if make.unknown_flag { 2 } else { 0 };
                let got = self.g.make_named(&data, &name, flags);
                // Flag bits, then UTF-8, then the name rules and limits.
                let want = if make.unknown_flag || std::str::from_utf8(&name).is_err() {
                    Err(errno::INVAL)
                } else {
                    match self.model.make_from_bytes(&data, &name, make.writable) {
                        Ok(entry) => Ok(self.fds.insert(Fd { entry, pos: 0 })),
                        Err(code) => Err(i32::from(code.errno())),
                    }
                };
                self.check("from_bytes", &got, &want);
            }
            Op::FromBytesFault { what } => {
                let end = self.g.mem_len();
                self.g.put(NAME, b"xy");
                let (data, name, out) = match what {
                    Fault::Data => (end - 8, NAME, OUT),
                    Fault::Name => (DATA, end - 1, OUT),
                    Fault::FdOut => (DATA, NAME, end - 2),
                };
                self.g.put(OUT, &[0xEE; 4]);
                let errno = self.g.make_raw((data, 16), (name, 2), 0, out);
                assert_eq!(self.g.u32_at(OUT), 0xEEEE_EEEE, "fd_out: {}", self.g.at);
                let got = result(errno, || ());
                self.check("from_bytes", &got, &Err(errno::FAULT));
            }
            Op::OpenPreopened { name } => {
                let name = name.bytes();
                let got = self.g.open_preopened_raw(&name);
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
                let iovs = split_lens(len.get(), split);
                let got = self.g.read_vec(n, &iovs);
                let want = match pos {
                    None => Err(errno::BADF),
                    Some(pos) => {
                        let entry = self.fds.open[&n].entry;
                        state::p1_read(self.model.data(entry), pos, iovs)
                    }
                };
                self.check("fd_read", &got, &want);
                self.saw_short("fd_read", got.as_ref().ok().map(Vec::len), len.get());
                if let Ok(bytes) = want {
                    self.fds.open.get_mut(&n).unwrap().pos += bytes.len() as u64;
                }
            }
            Op::Pread(read) => {
                let (n, len) = (self.resolve(read.fd, false), read.len.get());
                let offset = read.offset.get(self.size_of(n));
                let iovs = split_lens(len, read.split);
                let got = self.g.pread_vec(n, &iovs, offset);
                let want = match self.fds.open.get(&n) {
                    None => Err(errno::BADF),
                    Some(fd) => state::p1_read(self.model.data(fd.entry), offset, iovs),
                };
                self.check("fd_pread", &got, &want);
                self.saw_short("fd_pread", got.as_ref().ok().map(Vec::len), len);
            }
            Op::Write(write) => {
                let n = self.resolve(write.fd, false);
                let data = pattern(write.len.get(), write.seed);
                let got = self.write(n, &data, write.split, None);
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
            Op::Pwrite(write) => {
                let n = self.resolve(write.fd, false);
                let offset = write.offset.get(self.size_of(n));
                let data = pattern(write.len.get(), write.seed);
                let got = self.write(n, &data, write.split, Some(offset));
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
                let got = self.g.seek(n, delta.get(), whence.raw());
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
                let got = self.g.tell(n);
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
                let got = result(self.g.set_size(n, new), || ());
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
                let got = result(self.g.renumber(from, to), || ());
                let (from_open, to_open) = (
                    self.fds.open.contains_key(&from),
                    self.fds.open.contains_key(&to),
                );
                let want = if from == 0 && to_open && self.fds.stdin_at.is_none() {
                    // stdin onto a memory fd: the memory file is closed and
                    // the number is stdin's now (stdin's own is closed).
                    let closed = self.fds.open.remove(&to).unwrap();
                    self.model.release(closed.entry);
                    self.fds.stdin_at = Some(to);
                    Ok(())
                } else if from_open && to_open {
                    if from != to {
                        let moved = self.fds.remove(from).unwrap();
                        let closed = self.fds.open.insert(to, moved).unwrap();
                        self.model.release(closed.entry);
                    }
                    Ok(())
                } else {
                    // Across to wasmtime-wasi's table without a memory
                    // directory to keep the number, or a closed fd.
                    Err(errno::BADF)
                };
                self.check("fd_renumber", &got, &want);
            }
            Op::Close { fd } => {
                let n = self.resolve(fd, false);
                let got = result(self.g.close(n), || ());
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

    /// `fd_write` (no `offset`) or `fd_pwrite` of `data` from two iovecs,
    /// the first of `split` bytes: how many bytes were written.
    fn write(&mut self, n: u32, data: &[u8], split: u16, offset: Option<u64>) -> Result<u64, i32> {
        let first = split_lens(data.len() as u64, split)[0] as usize;
        let chunks = [&data[..first], &data[first..]];
        let written = match offset {
            None => self.g.write_vec(n, &chunks),
            Some(offset) => self.g.pwrite_vec(n, &chunks, offset),
        };
        written.map(u64::from)
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
        let got = self.g.filestat(n).map(|st| (st.filetype, st.size));
        let open = self.fds.open.get(&n).map(|fd| fd.entry);
        let want = open
            .map(|entry| (REGULAR_FILE, self.model.data(entry).len() as u64))
            .ok_or(errno::BADF);
        self.check("fd_filestat_get", &got, &want);

        let got = self
            .g
            .fdstat(n)
            .map(|st| (st.filetype, st.flags, st.rights_base));
        let want = open
            .map(|entry| (REGULAR_FILE, 0, rights::of(self.model.writable(entry))))
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
            let got = self.g.pread(*n, data.len() as u32, 0);
            assert_eq!(got, Ok(data), "fd {n}'s bytes: {}", self.g.at);
            assert_eq!(
                self.g.tell(*n),
                Ok(fd.pos),
                "fd {n}'s position: {}",
                self.g.at
            );
        }
        for (name, _, _) in preopens() {
            let host = self
                .g
                .store
                .data_mut()
                .memfd()
                .read_preopened(name)
                .unwrap();
            assert_eq!(
                host,
                self.model.preopened(name),
                "preopened {name:?}: {}",
                self.g.at
            );
        }
        for (n, fd) in open {
            assert_eq!(
                self.g.close(n),
                errno::SUCCESS,
                "closing {n}: {}",
                self.g.at
            );
            self.fds.remove(n);
            self.model.release(fd.entry);
        }
        assert_eq!(self.model.usage(), Usage::default());
        if let Some(pool) = super::pool() {
            crate::wait_until("the pool's thread is idle", || pool.is_idle());
        }
        assert_eq!(
            self.g.usage(),
            Usage::default(),
            "usage with everything closed"
        );
    }
}

/// The two iovec lengths a `split` makes of `len` bytes: the first `split`
/// of them (cut to `len`), then the rest.
fn split_lens(len: u64, split: u16) -> [u32; 2] {
    let len = len as u32;
    let first = u32::from(split).min(len);
    [first, len - first]
}
