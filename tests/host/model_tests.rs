//! The model test (issue 7): random sequences of guest calls through a real
//! WASIp1 store and a real component store, every answer compared with a
//! plain in-memory model (`tests/model/`, shared with the fuzz target in
//! `fuzz/`).
//!
//! The sequences come from a seeded PRNG (splitmix64) through
//! `arbitrary::Unstructured`, so every run is the same and a failure names
//! its seed. Environment:
//! - `MODEL_SEED=N` runs only the case of seed `N` (the number a failure
//!   prints);
//! - `MODEL_CASES=N` runs `N` cases per ABI instead of [`CASES`];
//! - `MODEL_INPUT=FILE` runs one fuzz input (a crash artifact from
//!   `fuzz/artifacts/model/`) instead, decoded as the fuzz target does:
//!   a reproduction without nightly or sanitizers.
//!
//! Each test also checks that its cases reached every outcome listed in it
//! (every limit error, short reads and writes, refused writes, ...), so a
//! generator or driver that stopped exercising something fails.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use arbitrary::Unstructured;
use wasi_memfd::Backend;
use wasi_memfd_testing::model::{self, Case, Outcomes};
use wasi_memfd_testing::probe::Wasi;

/// Cases per ABI (about a second each in release).
const CASES: u64 = 2000;
/// Most ops per case.
const MAX_OPS: u64 = 64;
/// The first case's seed; case `i` has seed `FIRST_SEED + i`.
const FIRST_SEED: u64 = 0x7_0000;

/// splitmix64: a few lines, good enough to feed `Unstructured`.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len.div_ceil(8))
            .flat_map(|_| self.next().to_le_bytes())
            .take(len)
            .collect()
    }
}

/// The case of `seed`: up to [`MAX_OPS`] ops, the backend and wasi version
/// alternating with the seed.
fn case(seed: u64) -> Case {
    let mut rng = SplitMix64(seed);
    let ops = rng.next() % (MAX_OPS + 1);
    // Far more bytes than the ops take (a few dozen each at most).
    let bytes = rng.bytes(64 * 64);
    let mut u = Unstructured::new(&bytes);
    Case {
        backend: if seed.is_multiple_of(2) {
            Backend::Memfd
        } else {
            Backend::Shm
        },
        wasi: if seed % 4 < 2 {
            Wasi::V0_2_0
        } else {
            Wasi::Wasmtime
        },
        ops: (0..ops)
            .map(|_| model::arbitrary_op(&mut u).expect("enough bytes"))
            .collect(),
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a number")),
    )
}

/// A fuzz input from the file at `MODEL_INPUT`, decoded as the fuzz target
/// decodes it.
fn fuzz_input() -> Option<Case> {
    let path = std::env::var_os("MODEL_INPUT")?;
    let data = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("MODEL_INPUT={}: {e}", path.to_string_lossy()));
    let case = model::decode(&data);
    eprintln!("MODEL_INPUT decodes to {case:#?}");
    Some(case.unwrap_or_else(|| panic!("MODEL_INPUT: not a case (the fuzz target skips it)")))
}

/// Runs the seeded cases (or `MODEL_SEED`'s, or `MODEL_INPUT`'s) through
/// `driver`; on a failure prints the seed and the case. Returns the
/// outcomes seen, or `None` if the environment picked one case.
fn run_cases(abi: &str, driver: impl Fn(&Case) -> Outcomes) -> Option<Outcomes> {
    if let Some(case) = fuzz_input() {
        driver(&case);
        return None;
    }
    let one = env_u64("MODEL_SEED");
    let seeds: Vec<u64> = match one {
        Some(seed) => vec![seed],
        None => {
            let cases = env_u64("MODEL_CASES").unwrap_or(CASES);
            (FIRST_SEED..FIRST_SEED + cases).collect()
        }
    };
    let mut seen = Outcomes::new();
    for seed in seeds {
        let case = case(seed);
        match catch_unwind(AssertUnwindSafe(|| driver(&case))) {
            Ok(outcomes) => seen.extend(outcomes),
            Err(panic) => {
                eprintln!(
                    "\n{abi} model test failed for seed {seed}; rerun it alone with\n  \
                     MODEL_SEED={seed} cargo test --release -p wasi-memfd --test host model_tests::{abi}\n\
                     the case: {case:#?}\n"
                );
                resume_unwind(panic);
            }
        }
    }
    one.is_none().then_some(seen)
}

/// Asserts that `seen` holds every outcome in `expected`.
fn assert_reached(seen: &Outcomes, expected: &[&str]) {
    let missing: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|e| !seen.contains(*e))
        .collect();
    assert!(
        missing.is_empty(),
        "the cases never reached {missing:#?}\nthey reached {seen:#?}"
    );
}

/// Every outcome the p1 cases must reach.
const P1_REACHED: &[&str] = &[
    "p1 from_bytes ok",
    "p1 from_bytes EDQUOT",
    "p1 from_bytes EFAULT",
    "p1 from_bytes EFBIG",
    "p1 from_bytes EINVAL", // flags, NUL, UTF-8
    "p1 from_bytes EMFILE",
    "p1 from_bytes ENAMETOOLONG",
    "p1 open_preopened ok",
    "p1 open_preopened EINVAL",
    "p1 open_preopened EMFILE",
    "p1 open_preopened ENAMETOOLONG",
    "p1 open_preopened ENOENT",
    "p1 fd_read ok",
    "p1 fd_read short",
    "p1 fd_read EBADF",
    "p1 fd_pread ok",
    "p1 fd_pread short",
    "p1 fd_pread EBADF",
    "p1 fd_pread EINVAL", // beyond the kernel's offsets
    "p1 fd_write ok",
    "p1 fd_write short",
    "p1 fd_write EBADF",
    "p1 fd_write EFBIG",
    "p1 fd_pwrite ok",
    "p1 fd_pwrite short",
    "p1 fd_pwrite EBADF",
    "p1 fd_pwrite EFBIG",
    "p1 fd_seek ok",
    "p1 fd_seek EINVAL",
    "p1 fd_seek EBADF",
    "p1 fd_tell ok",
    "p1 fd_tell EBADF",
    "p1 fd_filestat_get ok",
    "p1 fd_filestat_get EBADF",
    "p1 fd_fdstat_get ok",
    "p1 fd_filestat_set_size ok",
    "p1 fd_filestat_set_size EINVAL",
    "p1 fd_filestat_set_size EPERM",
    "p1 fd_filestat_set_size EBADF",
    "p1 fd_renumber ok",
    "p1 fd_renumber EBADF",
    "p1 fd_close ok",
    "p1 fd_close EBADF",
];

/// Every outcome the component cases must reach.
const COMPONENT_REACHED: &[&str] = &[
    "component from-bytes ok",
    "component from-bytes file-too-large",
    "component from-bytes quota-exceeded",
    "component from-bytes too-many-files",
    "component from-bytes name-too-long",
    "component from-bytes invalid-argument",
    "component open-preopened ok",
    "component open-preopened not-found",
    "component open-preopened too-many-files",
    "component read ok",
    "component read invalid",
    "component write ok",
    "component write not-permitted",
    "component write across the end short",
    "component set-size ok",
    "component set-size not-permitted",
    "component stat ok",
    "component read-via-stream ok",
    "component blocking-read ok",
    "component blocking-read closed",
    "component blocking-read last-operation-failed",
    "component drop-stream",
    "component drop-descriptor",
];

#[test]
fn p1() {
    let Some(seen) = run_cases("p1", |case| model::p1::run(&case.ops, case.backend)) else {
        return;
    };
    assert_reached(&seen, P1_REACHED);
}

#[test]
fn component() {
    let Some(seen) = run_cases("component", |case| {
        model::component::run(&case.ops, case.wasi)
    }) else {
        return;
    };
    assert_reached(&seen, COMPONENT_REACHED);
}

/// The p1 cases again, with memory files taken from a pool: every answer
/// must be the same, every outcome must be reached, and the pool must have
/// served files.
#[test]
fn p1_with_a_pool() {
    let (seen, stats) =
        model::with_pool(|| run_cases("p1", |case| model::p1::run(&case.ops, case.backend)));
    if let Some(seen) = seen {
        assert_reached(&seen, P1_REACHED);
        assert!(stats.small_taken > 0, "the pool served no file: {stats:?}");
    }
}

/// The component cases again, with memory files taken from a pool.
#[test]
fn component_with_a_pool() {
    let (seen, stats) = model::with_pool(|| {
        run_cases("component", |case| {
            model::component::run(&case.ops, case.wasi)
        })
    });
    if let Some(seen) = seen {
        assert_reached(&seen, COMPONENT_REACHED);
        assert!(stats.small_taken > 0, "the pool served no file: {stats:?}");
    }
}
