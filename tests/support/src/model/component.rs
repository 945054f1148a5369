//! The component driver: runs [`Op`]s through a real component store (the
//! probe component of `crate::probe`, linked with wasmtime-wasi and
//! wasi-memfd as the runner links them) and checks every answer against the
//! model.
//!
//! Descriptors and input streams are the guest's handles; the driver keeps
//! the open ones in lists and ops pick one by index (a dropped handle would
//! trap the guest, so none is ever reused). An input stream keeps its file
//! alive until it is dropped, so it counts as a handle in the model.

use std::fmt::Debug;

use wasi_memfd::{Backend, Usage};

use super::state::{self, ComponentWrite, Model, MAX_READ};
use super::{limits, memfd_ctx, pattern, preopens, FdRef, Op, Outcomes};
use crate::probe::{
    DescriptorFlags, DescriptorType, FsError, MemfdError, Probe, StreamError, Wasi,
};

/// An error's name in the WIT, for [`Outcomes`].
trait Label {
    fn label(&self) -> &'static str;
}

impl Label for MemfdError {
    fn label(&self) -> &'static str {
        self.name()
    }
}

impl Label for FsError {
    fn label(&self) -> &'static str {
        self.name()
    }
}

impl Label for StreamError {
    fn label(&self) -> &'static str {
        match self {
            StreamError::LastOperationFailed => "last-operation-failed",
            StreamError::Closed => "closed",
        }
    }
}

/// An open descriptor.
#[derive(Clone, Debug)]
struct Desc {
    handle: u32,
    /// The model's ledger entry.
    entry: usize,
}

/// An open input stream.
#[derive(Clone, Debug)]
struct Stream {
    handle: u32,
    entry: usize,
    /// Where its next read starts.
    pos: u64,
    /// Whether it has reported `closed` (or failed): it stays so.
    closed: bool,
}

struct Driver {
    probe: Probe,
    model: Model,
    descs: Vec<Desc>,
    streams: Vec<Stream>,
    /// The op being run, for assertion messages.
    at: String,
    /// Which outcomes the ops had (see [`super::Outcomes`]).
    seen: Outcomes,
}

/// Runs `ops` through a component store built against `wasi` and the model;
/// panics at the first difference. Returns the outcomes seen.
pub fn run(ops: &[Op], wasi: Wasi, backend: Backend) -> Outcomes {
    let mut d = Driver::new(wasi, backend);
    for (i, op) in ops.iter().enumerate() {
        d.at = format!(
            "component ({wasi:?}, {backend:?}) op {i} of {}: {op:?}",
            ops.len()
        );
        d.step(op);
        let usage = d.probe.usage();
        assert_eq!(usage, d.model.usage(), "usage after {}", d.at);
    }
    d.at = format!("component ({wasi:?}) after the last op");
    d.finish();
    d.seen
}

impl Driver {
    fn new(wasi: Wasi, backend: Backend) -> Self {
        Driver {
            probe: Probe::new(wasi, memfd_ctx(backend)),
            model: Model::new(limits(), &preopens()),
            descs: Vec::new(),
            streams: Vec::new(),
            at: String::new(),
            seen: Outcomes::new(),
        }
    }

    /// Asserts that a `what` call answered what the model says, and notes
    /// the outcome.
    fn check<T: Debug + PartialEq, E: Debug + PartialEq + Label>(
        &mut self,
        what: &str,
        got: &Result<T, E>,
        want: &Result<T, E>,
    ) {
        assert_eq!(got, want, "{what}: {}", self.at);
        self.saw(what, got);
    }

    /// Notes the outcome of a `what` call.
    fn saw<T, E: Label>(&mut self, what: &str, result: &Result<T, E>) {
        self.seen.insert(match result {
            Ok(_) => format!("component {what} ok"),
            Err(e) => format!("component {what} {}", e.label()),
        });
    }

    /// The open descriptor `r` picks, if any is open.
    fn desc(&self, r: FdRef) -> Option<Desc> {
        if self.descs.is_empty() {
            None
        } else {
            Some(self.descs[usize::from(r.0) % self.descs.len()].clone())
        }
    }

    /// The open stream `r` picks (its index), if any is open.
    fn stream(&self, r: u8) -> Option<usize> {
        (!self.streams.is_empty()).then(|| usize::from(r) % self.streams.len())
    }

    fn size(&self, entry: usize) -> u64 {
        self.model.data(entry).len() as u64
    }

    /// A descriptor the guest got: it must not be one already open.
    fn opened(
        &mut self,
        what: &str,
        got: Result<u32, MemfdError>,
        want: Result<usize, MemfdError>,
    ) {
        self.check(what, &got.map(|_| ()), &want.map(|_| ()));
        if let (Ok(handle), Ok(entry)) = (got, want) {
            assert!(
                self.descs.iter().all(|d| d.handle != handle),
                "handle {handle} given twice: {}",
                self.at
            );
            self.descs.push(Desc { handle, entry });
        }
    }

    fn step(&mut self, op: &Op) {
        match *op {
            Op::FromBytes(make) => {
                // `unknown_flag` is WASIp1's: a component passes a `bool`.
                let data = pattern(make.len.get(), make.seed);
                // A component string is UTF-8: the probe passes what this
                // makes of the name's bytes.
                let name = String::from_utf8_lossy(&make.name.bytes()).into_owned();
                let got = self.probe.make(&data, &name, make.writable);
                let want = self
                    .model
                    .make_from_bytes(&data, name.as_bytes(), make.writable)
                    .map_err(MemfdError::from);
                self.opened("from-bytes", got, want);
            }
            Op::OpenPreopened { name } => {
                let name = String::from_utf8_lossy(&name.bytes()).into_owned();
                let got = self.probe.open_preopened(&name);
                let want = self
                    .model
                    .open_preopened(name.as_bytes())
                    .map_err(MemfdError::from);
                self.opened("open-preopened", got, want);
            }
            Op::Pread(read) => {
                let Some(d) = self.desc(read.fd) else { return };
                let (len, offset) = (read.len.get(), read.offset.get(self.size(d.entry)));
                let got = self.probe.read(d.handle, len, offset);
                let want = state::component_read(self.model.data(d.entry), len, offset);
                self.check("read", &got, &want);
            }
            Op::Pwrite(write) => {
                let Some(d) = self.desc(write.fd) else { return };
                let (size, len) = (self.size(d.entry), write.len.get());
                let offset = write.offset.get(size);
                let data = pattern(len, write.seed);
                let got = self.probe.write(d.handle, &data, offset);
                let writable = self.model.writable(d.entry);
                let ComponentWrite::Exact(want) =
                    state::component_write(writable, size, offset, len);
                self.check("write", &got, &want);
                if matches!(want, Ok(n) if n > 0 && n < len) {
                    self.seen
                        .insert("component write across the end short".into());
                }
                let written = want.unwrap_or(0);
                self.model
                    .overwrite(d.entry, offset, &data[..written as usize]);
            }
            Op::Stat { fd } => {
                let Some(d) = self.desc(fd) else { return };
                let got = (
                    self.probe.stat_size(d.handle),
                    self.probe.get_type(d.handle),
                    self.probe.get_flags(d.handle),
                );
                let mut flags = DescriptorFlags::READ;
                if self.model.writable(d.entry) {
                    flags |= DescriptorFlags::WRITE;
                }
                let want = (
                    Ok(self.size(d.entry)),
                    Ok(DescriptorType::RegularFile),
                    Ok(flags),
                );
                assert_eq!(got, want, "stat: {}", self.at);
                self.saw("stat", &got.0);
            }
            Op::SetSize { fd, size } => {
                let Some(d) = self.desc(fd) else { return };
                let current = self.size(d.entry);
                let new = size.get(current);
                let got = self.probe.set_size(d.handle, new);
                let want = state::component_set_size(self.model.writable(d.entry), current, new);
                self.check("set-size", &got, &want);
            }
            Op::Close { fd } => {
                let Some(d) = self.desc(fd) else { return };
                self.probe.drop_descriptor(d.handle);
                self.descs.retain(|x| x.handle != d.handle);
                self.model.release(d.entry);
                self.seen.insert("component drop-descriptor".into());
            }
            Op::OpenStream { fd, offset } => {
                let Some(d) = self.desc(fd) else { return };
                let offset = offset.get(self.size(d.entry));
                let got = self.probe.read_via_stream(d.handle, offset);
                let handle = got.unwrap_or_else(|e| panic!("read-via-stream: {e:?}: {}", self.at));
                assert!(
                    self.streams.iter().all(|s| s.handle != handle),
                    "stream handle {handle} given twice: {}",
                    self.at
                );
                self.model.retain(d.entry);
                self.seen.insert("component read-via-stream ok".into());
                self.streams.push(Stream {
                    handle,
                    entry: d.entry,
                    pos: offset,
                    closed: false,
                });
            }
            Op::StreamRead { stream, len } => {
                let Some(i) = self.stream(stream) else { return };
                let got = self.probe.blocking_read(self.streams[i].handle, len.get());
                let want = self.model_stream_read(i, len.get());
                self.check("blocking-read", &got, &want);
            }
            Op::DropStream { stream } => {
                let Some(i) = self.stream(stream) else { return };
                let s = self.streams.remove(i);
                self.probe.drop_stream(s.handle);
                self.model.release(s.entry);
                self.seen.insert("component drop-stream".into());
            }
            Op::FromBytesFault { .. }
            | Op::Read { .. }
            | Op::Write(_)
            | Op::Seek { .. }
            | Op::Tell { .. }
            | Op::Renumber { .. } => {}
        }
    }

    /// `input-stream.blocking-read` of `len` on stream `i` in the model:
    /// wasmtime-wasi's file stream makes one `pread` of at most 64 KiB at
    /// its position and hands all of it over; a read that returns nothing
    /// (at the end, or of 0 bytes) closes the stream for good, and so does
    /// a failed one, after reporting the failure once.
    fn model_stream_read(&mut self, i: usize, len: u64) -> Result<Vec<u8>, StreamError> {
        let s = &self.streams[i];
        if s.closed {
            return Err(StreamError::Closed);
        }
        let count = len.min(MAX_READ);
        let result = if !state::kernel_range_ok(s.pos, count) {
            Err(StreamError::LastOperationFailed)
        } else {
            let bytes = state::slice_at(self.model.data(s.entry), s.pos, count);
            if bytes.is_empty() {
                Err(StreamError::Closed)
            } else {
                Ok(bytes)
            }
        };
        let s = &mut self.streams[i];
        match &result {
            Ok(bytes) => s.pos += bytes.len() as u64,
            Err(_) => s.closed = true,
        }
        result
    }

    /// Every open descriptor still reads its model's bytes and the host
    /// reads the preopened files as the model has them; then every stream
    /// and descriptor is dropped and the usage is back to zero.
    fn finish(&mut self) {
        for d in self.descs.clone() {
            let got = self.probe.read(d.handle, MAX_READ, 0);
            let want = state::component_read(self.model.data(d.entry), MAX_READ, 0);
            assert_eq!(got, want, "descriptor {}'s bytes: {}", d.handle, self.at);
        }
        for (name, _, _) in preopens() {
            let host = self.probe.ctx().read_preopened(name).unwrap();
            assert_eq!(
                host,
                self.model.preopened(name),
                "preopened {name:?}: {}",
                self.at
            );
        }
        for s in std::mem::take(&mut self.streams) {
            self.probe.drop_stream(s.handle);
            self.model.release(s.entry);
        }
        for d in std::mem::take(&mut self.descs) {
            self.probe.drop_descriptor(d.handle);
            self.model.release(d.entry);
        }
        assert_eq!(self.model.usage(), Usage::default());
        assert_eq!(
            self.probe.usage(),
            Usage::default(),
            "usage with everything dropped"
        );
    }
}
