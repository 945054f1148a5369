//! What the path model's two drivers ([`super::p1`], [`super::component`])
//! share: the handles opened in both stores, the reference directory, the
//! limits and the model's count, the comparisons, the accounting rule, the
//! checks of a node refused by a limit, and the loop over a case's ops.

use std::collections::BTreeSet;
use std::fmt::Debug;

use wasi_memfd::{Limits, Usage, WasiMemfdCtx, WasiMemfdCtxBuilder};
use wasmtime_wasi::p2::bindings::filesystem::types::ErrorCode;

use super::ops::Op;
use super::reference::{self, host_tree, named_usage, Node, TempDir, Tree};
use super::{growth_limit, node_limit, unlimited, Case, Limit, GUEST_PATH};
use crate::model::Outcomes;

/// An error an ABI answers: a WASIp1 errno or a `wasi:filesystem`
/// error code.
pub trait Code: Copy + Debug + PartialEq {
    /// Its name in the outcomes (`ENOENT`, `no-entry`).
    fn label(self) -> String;
}

impl Code for i32 {
    fn label(self) -> String {
        crate::trampoline::errno::name(self)
    }
}

impl Code for ErrorCode {
    fn label(self) -> String {
        ErrorCode::name(&self).to_owned()
    }
}

/// A descriptor opened in both stores, by index: the preopen is handle 0
/// (never closed: the final clean-up goes through it).
#[derive(Clone, Debug)]
pub struct Handle {
    /// Its number in the memory directory's store.
    pub sut: u32,
    /// Its number in the reference store.
    pub reference: u32,
    /// Closed (or renumbered away) once false.
    pub open: bool,
    /// A directory (else a file).
    pub dir: bool,
}

/// A node the reference holds without a name (link count 0) through an
/// open handle: charged once, whatever the handles on it.
pub struct Unnamed {
    /// What tells nodes apart (an inode number, a metadata hash).
    pub key: (u64, u64),
    /// A directory (charged no bytes).
    pub dir: bool,
    /// Its size (a file's charged bytes).
    pub size: u64,
}

/// The state both drivers keep beside their two stores (a field after
/// them: the reference directory goes last).
pub struct Common {
    /// `p1` or `component`: the outcomes' prefix.
    pub abi: &'static str,
    /// Every handle opened in both stores, the preopen first.
    pub handles: Vec<Handle>,
    /// The memory directory's small limits, if the case has them.
    pub limits: Option<Limits>,
    /// What the memory directory holds, as the reference implies it (the
    /// model's count), after the last op.
    pub usage: Usage,
    /// The outcomes reached.
    pub seen: Outcomes,
    /// The op running, for the panic messages.
    pub at: String,
    /// The reference directory.
    pub dir: TempDir,
}

impl Common {
    /// The reference directory preloaded as `case` says, and a builder of
    /// the memory directory's context: preloaded the same, preopened at
    /// [`GUEST_PATH`], with the case's backend and limits.
    pub fn new(abi: &'static str, case: &Case) -> (Common, WasiMemfdCtxBuilder) {
        let dir = TempDir::new();
        let mem = reference::preload(&case.preload, &dir.path);
        let limits = case.limits.map(|l| l.limits());
        let mut builder = WasiMemfdCtx::builder();
        builder
            .backend(case.backend)
            .limits(limits.unwrap_or_else(unlimited))
            .preopened_mem_dir(&mem, GUEST_PATH)
            .unwrap();
        let common = Common {
            abi,
            handles: Vec::new(),
            limits,
            usage: Usage::default(),
            seen: Outcomes::new(),
            at: format!("paths {abi} before the first op"),
            dir,
        };
        (common, builder)
    }

    /// Notes `outcome` (prefixed with the ABI).
    pub fn note(&mut self, outcome: impl std::fmt::Display) {
        self.seen.insert(format!("{} {outcome}", self.abi));
    }

    /// Asserts both stores answered the same, and notes the outcome.
    pub fn check<T: Debug + PartialEq, E: Code>(
        &mut self,
        what: &str,
        sut: &Result<T, E>,
        reference: &Result<T, E>,
    ) {
        assert_eq!(
            sut, reference,
            "{what}: the memory directory (left) and wasmtime-wasi (right) differ\n{}",
            self.at
        );
        self.saw(what, sut);
    }

    /// Notes the outcome of a `what` call.
    pub fn saw<T, E: Code>(&mut self, what: &str, result: &Result<T, E>) {
        match result {
            Ok(_) => self.note(format_args!("{what} ok")),
            Err(e) => self.note(format_args!("{what} {}", e.label())),
        }
    }

    /// Keeps a handle both stores opened (as `sut` and `reference`), a
    /// directory or a file.
    pub fn keep(&mut self, (sut, reference): (u32, u32), dir: bool) {
        self.handles.push(Handle {
            sut,
            reference,
            open: true,
            dir,
        });
    }

    /// Keeps a handle an open call (`what`) made in both stores, and notes
    /// which kind of node it opened.
    pub fn opened_by(&mut self, what: &str, handle: (u32, u32), dir: bool) {
        let kind = if dir { "directory" } else { "file" };
        self.note(format_args!("{what} ok {kind}"));
        self.keep(handle, dir);
    }

    /// The index of the open handle `n` picks: three times in four one of
    /// the kind an op is for (a directory if `dir`, else a file) if one is
    /// open, else any (the preopen is always open).
    pub fn pick_open(&self, n: u8, dir: bool) -> usize {
        let open: Vec<usize> = (0..self.handles.len())
            .filter(|&i| self.handles[i].open)
            .collect();
        let preferred: Vec<usize> = open
            .iter()
            .copied()
            .filter(|&i| self.handles[i].dir == dir)
            .collect();
        let pool = if !preferred.is_empty() && !n.is_multiple_of(4) {
            preferred
        } else {
            open
        };
        pool[usize::from(n) % pool.len()]
    }

    /// The open handles but the preopen.
    pub fn opened(&self) -> Vec<Handle> {
        self.handles
            .iter()
            .skip(1)
            .filter(|h| h.open)
            .cloned()
            .collect()
    }

    /// What the memory directory should be charged, from the reference:
    /// the nodes with a name, and the nodes without one that an open
    /// handle keeps, each once.
    pub fn implied(&self, unnamed: impl IntoIterator<Item = Unnamed>) -> Usage {
        let mut usage = named_usage(&self.dir.path);
        let mut seen = BTreeSet::new();
        for node in unnamed {
            if seen.insert(node.key) {
                usage.files += 1;
                if !node.dir {
                    usage.bytes += node.size;
                }
            }
        }
        usage
    }

    /// After each op: the memory directory's `usage` is what the reference
    /// `implied`, and never grew past a limit (the preloaded tree may start
    /// past them: it is the host's).
    pub fn check_usage(&mut self, usage: Usage, implied: Usage) {
        assert_eq!(usage, implied, "usage: {}", self.at);
        if let Some(l) = self.limits {
            let files = usage.files <= self.usage.files || usage.files <= l.max_files;
            let bytes = usage.bytes <= self.usage.bytes || usage.bytes <= l.max_total_size;
            assert!(files && bytes, "{usage:?} past {l:?}: {}", self.at);
        }
        self.usage = usage;
    }

    /// The names in the reference directory now.
    pub fn names(&self) -> BTreeSet<String> {
        host_tree(&self.dir.path).into_keys().collect()
    }

    /// The memory directory refused an op that makes a node (`path_open`
    /// with `CREAT`, `path_create_directory`, `path_symlink`, or their
    /// components' counterparts) with `limit`; the reference ran it
    /// (answering `made`), having the names `before` and implying `usage`
    /// after. It must have made exactly one node, whose charge passes that
    /// very limit (the per-file size, then the file count, then the bytes,
    /// as the ledger checks them); the node is then removed from the
    /// reference again, so both stores go on from the same tree (the
    /// caller closes the reference's new handle, if any).
    pub fn made_over_limit<T: Debug, E: Debug>(
        &mut self,
        what: &str,
        limit: (Limit, String),
        made: &Result<T, E>,
        before: &BTreeSet<String>,
        usage: Usage,
    ) {
        let limits = self.limits.expect("limits are set");
        let after = host_tree(&self.dir.path);
        let new: Vec<&String> = after.keys().filter(|p| !before.contains(*p)).collect();
        assert!(
            made.is_ok() && new.len() == 1 && usage.files == self.usage.files + 1,
            "{what}: the memory directory answered {} but wasmtime-wasi made {new:?} \
             ({made:?})\n{}",
            limit.1,
            self.at
        );
        let bytes = usage.bytes - self.usage.bytes;
        assert_eq!(
            Some(limit.0),
            node_limit(&limits, self.usage, bytes),
            "{what}: the memory directory answered {} making a node of {bytes} bytes with \
             {:?} held under {limits:?}\n{}",
            limit.1,
            self.usage,
            self.at
        );
        self.note(format_args!("limit {} {what}", limit.1));
        let path = self.dir.path.join(new[0]);
        match after[new[0]] {
            Node::Dir => std::fs::remove_dir(&path).unwrap(),
            _ => std::fs::remove_file(&path).unwrap(),
        }
    }

    /// An op that may grow a file (from `size` to `end` bytes: `grown`,
    /// worked out from the reference; `None` if it grows none) answered
    /// `got` in the memory directory. If the growth passes a limit, the
    /// reference is no oracle: `got` must be that limit's error (`code`),
    /// which is noted, and this returns true (the reference does not run
    /// the op). With small limits: the per-file size, then the bytes.
    /// Without (all `u64::MAX`): files of nearly 2^63 bytes each (sparse:
    /// set-size, or a write near `i64::MAX`) adding up past what the
    /// store's counter holds are over the bytes (host/src/limits.rs).
    pub fn over_limit_growing<T: Debug + PartialEq, E: Code>(
        &mut self,
        what: &str,
        grown: Option<(u64, u64)>,
        got: &Result<T, E>,
        code: impl Fn(Limit) -> E,
    ) -> bool {
        let Some((size, end)) = grown else {
            return false;
        };
        let (limit, past) = match self.limits {
            Some(limits) => (growth_limit(&limits, self.usage, size, end), ""),
            None if self.usage.bytes.checked_add(end - size).is_none() => {
                (Some(Limit::Bytes), " past u64::MAX")
            }
            None => (None, ""),
        };
        let Some(want) = limit.map(code) else {
            return false;
        };
        assert_eq!(
            *got,
            Err(want),
            "{what} grows the file from {size} to {end} bytes past {:?} (held {:?}): the \
             memory directory must answer {}\n{}",
            self.limits,
            self.usage,
            want.label(),
            self.at
        );
        self.note(format_args!("limit {} {what}{past}", want.label()));
        true
    }

    /// Compares one time after a successful set-times that set it to
    /// `value` (ns): `exact` when the stat is of the very node set (an fd),
    /// so both must be the value; else a path may stat another node than
    /// it set (its own rules), so the two must agree when either is the
    /// value, but for a link's atime (`link_atime`), which a real
    /// filesystem moves when the stat's own walk follows the link
    /// (relatime) and a memory directory never (times are synthetic).
    pub fn time_read_back(
        &mut self,
        exact: bool,
        value: u64,
        (got, want): (Option<u64>, Option<u64>),
        link_atime: bool,
    ) {
        let value = Some(value);
        if exact {
            assert_eq!((got, want), (value, value), "times set: {}", self.at);
        } else if link_atime && got == value && want != value {
            self.note("known difference atime of a followed link");
        } else if got == value || want == value {
            assert_eq!(got, want, "times set: {}", self.at);
        }
        self.note("set-times read back");
    }

    /// At the end: the two trees (memory directory `mem`) are the same;
    /// returns their paths deepest first, each with whether it is a
    /// directory, for the clean-up to remove in that order.
    pub fn final_tree(&self, mem: Tree) -> Vec<(String, bool)> {
        let tree = host_tree(&self.dir.path);
        assert_eq!(mem, tree, "the trees (memory directory left): {}", self.at);
        let mut paths: Vec<(String, bool)> = tree
            .into_iter()
            .map(|(path, node)| (path, node == Node::Dir))
            .collect();
        paths.sort_by_key(|(p, _)| std::cmp::Reverse(p.matches('/').count()));
        paths
    }

    /// After the clean-up: both trees empty, nothing charged.
    pub fn all_gone(&self, mem: Tree, implied: Usage, usage: Usage) {
        assert!(host_tree(&self.dir.path).is_empty() && mem.is_empty());
        assert_eq!(implied, Usage::default(), "{}", self.at);
        assert_eq!(
            usage,
            Usage::default(),
            "usage with everything gone: {}",
            self.at
        );
    }
}

/// A driver of the path model: two stores and a [`Common`].
pub trait PathDriver {
    /// What it keeps beside its stores.
    fn common(&mut self) -> &mut Common;
    /// Runs `op` in both stores and compares.
    fn step(&mut self, op: &Op);
    /// What the memory directory's context reports.
    fn sut_usage(&mut self) -> Usage;
    /// What the reference implies ([`Common::implied`]).
    fn implied_usage(&mut self) -> Usage;
    /// Compares the trees, closes and removes everything, checks nothing
    /// is charged.
    fn finish(&mut self);

    /// Checks the usage after an op ([`Common::check_usage`]).
    fn check_usage(&mut self) {
        let implied = self.implied_usage();
        let usage = self.sut_usage();
        self.common().check_usage(usage, implied);
    }
}

/// Runs `case` through `d`; panics at the first difference. Returns the
/// outcomes seen.
pub fn drive(mut d: impl PathDriver, case: &Case) -> Outcomes {
    let abi = d.common().abi;
    for (i, op) in case.ops.iter().enumerate() {
        d.common().at = format!("paths {abi} op {i} of {}: {op:?}", case.ops.len());
        d.step(op);
        d.check_usage();
    }
    d.common().at = format!("paths {abi} after the last op");
    d.finish();
    std::mem::take(&mut d.common().seen)
}
