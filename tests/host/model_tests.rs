//! The model test (issue 7): random sequences of guest calls through a real
//! WASIp1 store and a real component store, every answer compared with a
//! plain in-memory model (`tests/support/src/model/`, shared with the fuzz
//! target in `fuzz/`); and the path model (`model::paths`): random
//! sequences of path calls in a memory directory and in a real directory
//! through wasmtime-wasi, every answer compared.
//!
//! The sequences come from a seeded PRNG (splitmix64) through
//! `arbitrary::Unstructured`, so every run is the same and a failure names
//! its seed. Environment:
//! - `MODEL_SEED=N` runs only the case of seed `N` (the number a failure
//!   prints);
//! - `MODEL_CASES=N` runs `N` cases per ABI instead of [`CASES`];
//! - `MODEL_INPUT=FILE` runs one fuzz input (a crash artifact from
//!   `fuzz/artifacts/model/`) instead, decoded as the fuzz target does:
//!   a reproduction without nightly or sanitizers; `PATHS_INPUT=FILE` the
//!   same for the path model (`fuzz/artifacts/paths/`).
//!
//! Each test also checks that its cases reached every outcome listed in it
//! (every limit error, short reads and writes, refused writes, ...), so a
//! generator or driver that stopped exercising something fails.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use arbitrary::Unstructured;
use wasi_memfd::Backend;
use wasi_memfd_testing::model::{self, paths, Case, Outcomes};
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

/// A fuzz input from the file named by the environment variable `var`,
/// decoded with `decode` as the fuzz target decodes it.
fn fuzz_input<C: std::fmt::Debug>(var: &str, decode: fn(&[u8]) -> Option<C>) -> Option<C> {
    let path = std::env::var_os(var)?;
    let data =
        std::fs::read(&path).unwrap_or_else(|e| panic!("{var}={}: {e}", path.to_string_lossy()));
    let case = decode(&data);
    eprintln!("{var} decodes to {case:#?}");
    Some(case.unwrap_or_else(|| panic!("{var}: not a case (the fuzz target skips it)")))
}

/// How a family of tests gets its cases: from a seed, or from a fuzz input
/// (the file named by `input`, decoded with `decode`).
struct Cases<C> {
    seeded: fn(u64) -> C,
    input: &'static str,
    decode: fn(&[u8]) -> Option<C>,
    /// Cases to run when `MODEL_CASES` does not say.
    count: u64,
}

/// The model's cases.
const MODEL: Cases<Case> = Cases {
    seeded: case,
    input: "MODEL_INPUT",
    decode: model::decode,
    count: CASES,
};

/// Runs the seeded cases (or `MODEL_SEED`'s, or `MODEL_INPUT`'s) through
/// `driver`; on a failure prints the seed and the case. Returns the
/// outcomes seen, or `None` if the environment picked one case.
fn run_cases(abi: &str, driver: impl Fn(&Case) -> Outcomes) -> Option<Outcomes> {
    run_cases_of(&MODEL, abi, driver)
}

/// [`run_cases`] for any family of cases.
fn run_cases_of<C: std::fmt::Debug>(
    cases: &Cases<C>,
    abi: &str,
    driver: impl Fn(&C) -> Outcomes,
) -> Option<Outcomes> {
    if let Some(case) = fuzz_input(cases.input, cases.decode) {
        driver(&case);
        return None;
    }
    let one = env_u64("MODEL_SEED");
    let seeds: Vec<u64> = match one {
        Some(seed) => vec![seed],
        None => {
            let count = env_u64("MODEL_CASES").unwrap_or(cases.count);
            (FIRST_SEED..FIRST_SEED + count).collect()
        }
    };
    let mut seen = Outcomes::new();
    for seed in seeds {
        let case = (cases.seeded)(seed);
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
        model::component::run(&case.ops, case.wasi, case.backend)
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
            model::component::run(&case.ops, case.wasi, case.backend)
        })
    });
    if let Some(seen) = seen {
        assert_reached(&seen, COMPONENT_REACHED);
        assert!(stats.small_taken > 0, "the pool served no file: {stats:?}");
    }
}

/// Path-model cases (seeded like the model's).
const PATHS_CASES: u64 = 3000;
/// Most ops per path-model case.
const PATHS_MAX_OPS: u64 = 64;

/// The path-model case of `seed`: up to [`PATHS_MAX_OPS`] ops.
fn paths_case(seed: u64) -> paths::Case {
    let mut rng = SplitMix64(seed);
    let ops = rng.next() % (PATHS_MAX_OPS + 1);
    // Far more bytes than the ops take (a few dozen each at most).
    let bytes = rng.bytes(128 * 64);
    paths::Case::generate(&mut Unstructured::new(&bytes), ops as usize).expect("enough bytes")
}

/// The path model's cases.
const PATHS: Cases<paths::Case> = Cases {
    seeded: paths_case,
    input: "PATHS_INPUT",
    decode: paths::decode,
    count: PATHS_CASES,
};

/// Runs the path-model cases through `driver` (the test `name`) and checks
/// that they reach every outcome in `reached`.
fn run_paths(name: &str, driver: fn(&paths::Case) -> Outcomes, reached: &[&str]) {
    if let Some(seen) = run_cases_of(&PATHS, name, driver) {
        assert_reached(&seen, reached);
    }
}

/// Every outcome the WASIp1 path-model cases must reach: each errno class
/// of path resolution, each limit errno, renames over files, readdir
/// resumed from a cookie.
const PATHS_P1_REACHED: &[&str] = &[
    "p1 path_open ok file",
    "p1 path_open ok directory",
    "p1 path_open ENOENT",
    "p1 path_open EEXIST",
    "p1 path_open EISDIR",
    "p1 path_open ENOTDIR",
    "p1 path_open ELOOP",
    "p1 path_open EPERM", // escapes: `..`, absolute paths and link targets
    "p1 path_open EINVAL",
    "p1 path_open ENAMETOOLONG",
    "p1 path_open EILSEQ",
    "p1 path_open ENOTSUP",
    "p1 path_open EBADF",
    "p1 path_create_directory ok",
    "p1 path_create_directory EEXIST",
    "p1 path_remove_directory ok",
    "p1 path_remove_directory ENOTEMPTY",
    "p1 path_remove_directory ENOTDIR",
    "p1 path_remove_directory EINVAL",
    "p1 path_unlink_file ok",
    "p1 path_unlink_file EISDIR",
    "p1 path_rename ok",
    "p1 path_rename over a file",
    "p1 path_rename over a directory",
    "p1 path_rename EBUSY",
    "p1 path_rename ENOTEMPTY",
    "p1 path_rename EINVAL",
    "p1 path_link ok",
    "p1 path_link EPERM",
    "p1 path_link EEXIST",
    "p1 path_symlink ok",
    "p1 path_symlink EPERM",
    "p1 path_readlink ok",
    "p1 path_readlink cut",
    "p1 path_readlink EINVAL",
    "p1 path_filestat_get ok",
    "p1 path_filestat_get ELOOP",
    "p1 path_filestat_set_times ok",
    "p1 set-times read back",
    "p1 fd_read ok",
    "p1 fd_read EBADF",
    "p1 fd_write ok",
    "p1 fd_pwrite ok",
    "p1 fd_seek ok",
    "p1 fd_seek EINVAL",
    "p1 fd_tell ok",
    "p1 fd_filestat_set_size ok",
    "p1 fd_filestat_set_size EINVAL",
    "p1 fd_allocate ENOTSUP",
    "p1 fd_advise ok",
    "p1 fd_sync ok",
    "p1 fd_renumber ok",
    "p1 fd_close ok",
    "p1 fd_close EBADF",
    "p1 fd_readdir ok",
    "p1 fd_readdir EBADF",
    "p1 fd_readdir resume",
    "p1 fd_readdir from a cookie",
    "p1 limit ENOSPC path_open",
    "p1 limit ENOSPC path_create_directory",
    "p1 limit ENOSPC path_symlink",
    "p1 limit EDQUOT path_symlink",
    "p1 limit EFBIG path_symlink",
    "p1 limit EDQUOT fd_write",
    "p1 limit EFBIG fd_write",
    "p1 limit EDQUOT fd_pwrite",
    "p1 limit EFBIG fd_pwrite",
    "p1 limit EDQUOT fd_filestat_set_size",
    "p1 limit EFBIG fd_filestat_set_size",
];

/// The path model through WASIp1: a memory directory against wasmtime-wasi
/// on a real directory (`model::paths`).
#[test]
fn paths_p1() {
    run_paths("paths_p1", paths::p1::run, PATHS_P1_REACHED);
}

/// Every outcome the component path-model cases must reach.
const PATHS_COMPONENT_REACHED: &[&str] = &[
    "component open-at ok file",
    "component open-at ok directory",
    "component open-at no-entry",
    "component open-at exist",
    "component open-at is-directory",
    "component open-at not-directory",
    "component open-at loop",
    "component open-at not-permitted", // escapes
    "component open-at invalid",
    "component open-at name-too-long",
    "component open-at unsupported",
    "component create-directory-at ok",
    "component create-directory-at exist",
    "component remove-directory-at ok",
    "component remove-directory-at not-empty",
    "component remove-directory-at not-directory",
    "component unlink-file-at ok",
    "component unlink-file-at is-directory",
    "component rename-at ok",
    "component rename-at over a file",
    "component rename-at over a directory",
    "component rename-at busy",
    "component rename-at not-empty",
    "component link-at ok",
    "component link-at exist",
    "component symlink-at ok",
    "component symlink-at not-permitted",
    "component readlink-at ok",
    "component readlink-at invalid",
    "component stat-at ok",
    "component stat-at loop",
    "component set-times-at ok",
    "component set-times ok",
    "component set-times read back",
    "component read ok",
    "component read bad-descriptor",
    "component write ok",
    "component write bad-descriptor",
    "component set-size ok",
    "component stat ok",
    "component get-flags ok",
    "component advise ok",
    "component sync ok",
    "component read-directory ok",
    "component read-directory not-directory",
    "component drop-descriptor",
    "component limit insufficient-space open-at",
    "component limit insufficient-space create-directory-at",
    "component limit insufficient-space symlink-at",
    "component limit quota symlink-at",
    "component limit file-too-large symlink-at",
    "component limit quota write",
    "component limit file-too-large write",
    "component limit quota set-size",
    "component limit file-too-large set-size",
];

/// The path model through `wasi:filesystem`: a memory directory against
/// wasmtime-wasi on a real directory (`model::paths::component`).
#[test]
fn paths_component() {
    run_paths(
        "paths_component",
        paths::component::run,
        PATHS_COMPONENT_REACHED,
    );
}

/// The path model's regression cases (`model::paths::regressions`): each a
/// difference the model once found, written out, through both ABIs.
#[test]
fn paths_regressions() {
    for (i, case) in paths::regressions::cases().iter().enumerate() {
        if catch_unwind(AssertUnwindSafe(|| paths::run(case))).is_err() {
            panic!("path-model regression case {i} failed: {case:#?}");
        }
    }
}
