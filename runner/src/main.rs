//! `wasi-memfd run`: runs a component or a core module with wasmtime-wasi and
//! wasi-memfd linked.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use clap::{Parser, Subcommand};
use wasi_memfd::p1::WasiMemfdP1Ctx;
use wasi_memfd::p2::WasiMemfdP2Ctx;
use wasi_memfd::{Pool, PoolConfig, WasiMemfdCtx, WasiMemfdCtxBuilder};
use wasmtime::component::Component;
use wasmtime::{Engine, Module, Store};
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtx, WasiCtxBuilder};

#[cfg(unix)]
mod host_files;
#[cfg(not(unix))]
#[path = "host_files_unsupported.rs"]
mod host_files;

use host_files::{HostDir, Keep};

mod mem_dirs;

/// The runner's default `--max-files` (before what the `--mem-dir` trees
/// hold is added).
const RUNNER_MAX_FILES: usize = 4096;

/// Exit code when the guest traps (128 + SIGABRT, as the wasmtime CLI uses).
const TRAP_EXIT_CODE: u8 = 134;

#[derive(Parser, Debug)]
#[command(
    name = "wasi-memfd",
    version,
    about = "Run WebAssembly guests with wasi-memfd"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a component (wasi:cli/command) or a core module (_start), as
    /// .wasm or .wat.
    Run(RunArgs),
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Give the guest a host directory, under GUEST (default: the same path).
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,
    /// Give the guest a memory directory at GUEST: empty, or a copy of the
    /// host directory HOST's tree (read at start; HOST is never written).
    /// Every file in it is a memory file. Preopened after every --dir.
    #[arg(long = "mem-dir", value_name = "[HOST::]GUEST")]
    mem_dirs: Vec<String>,
    /// When the guest exits (whatever its status), write the final tree of
    /// the memory directory at GUEST into the host directory HOST (made if
    /// missing; it must be empty). Nothing is written outside HOST.
    #[arg(long = "mem-dir-out", value_name = "GUEST::HOST")]
    mem_dir_outs: Vec<String>,
    /// Set an environment variable for the guest; `--env NAME` passes on the
    /// host's value of NAME (nothing if it has none).
    #[arg(long = "env", value_name = "NAME[=VALUE]", value_parser = parse_env)]
    envs: Vec<(String, Option<OsString>)>,
    /// Copy a host file into a sealed memory file the guest opens by NAME.
    #[arg(long = "preopen", value_name = "NAME=PATH", value_parser = parse_pair)]
    preopens: Vec<(String, PathBuf)>,
    /// Copy a host file into a writable memory file (fixed size) the guest
    /// opens by NAME; its final bytes are written back to PATH when the
    /// guest exits.
    #[arg(long = "preopen-writable", value_name = "NAME=PATH", value_parser = parse_pair)]
    writable_preopens: Vec<(String, PathBuf)>,
    /// Do not cache compiled code (by default it is cached between runs, in
    /// wasmtime's cache directory, as the wasmtime CLI does).
    #[arg(long)]
    no_cache: bool,
    /// Most bytes one memory file may hold (K/M/G suffixes: 1024-based).
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    max_file_size: Option<u64>,
    /// Most bytes all of the guest's memory files may hold together
    /// (default: 256M plus what the --mem-dir trees hold).
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    max_total_size: Option<u64>,
    /// Most memory files the guest may hold (default: 4096 plus the files,
    /// directories and links of the --mem-dir trees).
    #[arg(long, value_name = "N")]
    max_files: Option<usize>,
    /// Take memory files from a pool a background thread keeps ready: SMALL
    /// empty files, and LARGE files with BYTES allocated ahead (default
    /// 64M), for data of more than half of BYTES. Costs a thread, the fds
    /// and LARGE x BYTES of memory; pooled files show as
    /// `memfd:wasi-memfd:pooled` in /proc.
    #[arg(long, value_name = "SMALL[,LARGE[,BYTES]]", value_parser = parse_pool)]
    pool: Option<PoolConfig>,
    /// The guest (a component or a core module, binary or text), then its
    /// arguments (its `argv[0]` is the WASM file name). Everything after WASM
    /// goes to the guest, flags included, as with `wasmtime run`.
    #[arg(
        value_name = "WASM [ARGS]...",
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    guest: Vec<OsString>,
}

impl RunArgs {
    /// The guest's file.
    fn wasm(&self) -> &Path {
        Path::new(&self.guest[0])
    }

    /// The guest's arguments after its `argv[0]`.
    fn guest_args(&self) -> &[OsString] {
        &self.guest[1..]
    }
}

fn parse_pair(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), PathBuf::from(v))),
        _ => Err(format!("expected NAME=PATH, got {s:?}")),
    }
}

/// `NAME=VALUE`, or `NAME` alone to inherit the host's value.
fn parse_env(s: &str) -> Result<(String, Option<OsString>), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), Some(OsString::from(v)))),
        None if !s.is_empty() => Ok((s.to_owned(), None)),
        _ => Err(format!("expected NAME or NAME=VALUE, got {s:?}")),
    }
}

/// WASI strings are UTF-8: a host string that is not gets a clear error.
fn utf8<'a>(what: &str, s: &'a OsStr) -> Result<&'a str> {
    s.to_str()
        .with_context(|| format!("{what} {s:?} is not valid UTF-8, which WASI needs"))
}

/// A byte count: digits with an optional K, M or G suffix (powers of 1024).
fn parse_size(s: &str) -> Result<u64, String> {
    let (digits, shift) = match s.as_bytes().last() {
        Some(b'k' | b'K') => (&s[..s.len() - 1], 10),
        Some(b'm' | b'M') => (&s[..s.len() - 1], 20),
        Some(b'g' | b'G') => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("expected a byte count like 4096, 64K, 16M or 1G, got {s:?}"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("{s} is too large"))
}

fn parse_pool(s: &str) -> Result<PoolConfig, String> {
    let mut config = PoolConfig::default();
    config.large_files = 0;
    let mut parts = s.split(',');
    let count = |part: Option<&str>, what: &str| -> Result<Option<usize>, String> {
        part.map(|p| {
            p.parse()
                .map_err(|_| format!("--pool: expected a number of {what} files, got {p:?}"))
        })
        .transpose()
    };
    if let Some(n) = count(parts.next(), "small")? {
        config.small_files = n;
    }
    if let Some(n) = count(parts.next(), "large")? {
        config.large_files = n;
    }
    if let Some(bytes) = parts.next() {
        config.large_bytes = parse_size(bytes)?;
    }
    if parts.next().is_some() {
        return Err(format!("--pool: expected SMALL[,LARGE[,BYTES]], got {s:?}"));
    }
    Ok(config)
}

fn main() -> ExitCode {
    let Cli {
        command: Command::Run(args),
    } = Cli::parse();
    match run(args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:?}");
            ExitCode::FAILURE
        }
    }
}

/// The runner's exit code once the guest ran: its own exit status, or
/// [`TRAP_EXIT_CODE`] if it trapped. Every error raised while the guest runs
/// is a trap: a wasm trap, or an error a host function raised (an
/// out-of-bounds pointer handed to WASI, a resource limit); errors before
/// it runs (reading, compiling, linking) are the caller's `Err`.
fn outcome(ran: wasmtime::Result<ExitCode>) -> ExitCode {
    let err = match ran {
        Ok(code) => return code,
        Err(err) => err,
    };
    if let Some(exit) = err.downcast_ref::<I32Exit>() {
        // WASI exit statuses are 0..=255 in practice; keep the low byte.
        return ExitCode::from(exit.0 as u8);
    }
    eprintln!("error: the guest trapped: {err:?}");
    ExitCode::from(TRAP_EXIT_CODE)
}

/// What kind of guest a file holds.
enum Guest {
    Component(Vec<u8>),
    Module(Vec<u8>),
}

fn load(path: &Path) -> Result<Guest> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let bytes = if bytes.starts_with(b"\0asm") {
        bytes
    } else {
        wat::parse_bytes(&bytes)
            .with_context(|| format!("{} is neither wasm nor valid wat", path.display()))?
            .into_owned()
    };
    if wasmparser::Parser::is_core_wasm(&bytes) {
        Ok(Guest::Module(bytes))
    } else if wasmparser::Parser::is_component(&bytes) {
        Ok(Guest::Component(bytes))
    } else {
        bail!("{}: unknown wasm version or layer", path.display())
    }
}

fn run(args: RunArgs) -> Result<ExitCode> {
    mem_dirs::raise_fd_limit();
    // wasmtime-wasi starts its tokio runtime the first time it needs it,
    // and panics if that fails: start it now, while fds are free, so a
    // guest that has used up the process's fds with memory files gets
    // `ENOSPC` from wasi-memfd and the host keeps serving.
    wasmtime_wasi::runtime::in_tokio(async {});
    let guest = load(args.wasm())?;
    let mut wasi = wasi_ctx(&args)?;
    let dirs = args
        .mem_dirs
        .iter()
        .map(|spec| mem_dirs::mem_dir(spec))
        .collect::<Result<Vec<_>>>()?;
    let mut write_backs = write_backs(&args)?;
    let mut memfd = memfd_builder(&args, &mut write_backs, &dirs)?;
    let engine = engine(!args.no_cache)?;
    // Opened (HOST made if missing) once every other argument is checked,
    // before the guest runs: nothing it does moves them.
    let outs = args
        .mem_dir_outs
        .iter()
        .map(|spec| mem_dirs::out(spec, &dirs))
        .collect::<Result<Vec<_>>>()?;
    let (code, mut memfd) = match guest {
        Guest::Component(bytes) => run_component(&engine, &bytes, wasi.build(), memfd.build())?,
        Guest::Module(bytes) => {
            let ctx = memfd.build_p1(&mut wasi).context("preopening --mem-dir")?;
            run_module(&engine, &bytes, ctx)?
        }
    };
    // Every file and tree is written whatever happened to the others; the
    // first failure is the error, the rest are reported.
    let mut failed = write_back(&write_backs, &mut memfd).err();
    for out in &outs {
        let written = out.write(&memfd).with_context(|| {
            format!(
                "the guest's tree was not written to {}",
                out.host().display()
            )
        });
        if let Err(err) = written {
            match failed {
                None => failed = Some(err),
                Some(_) => eprintln!("error: {err:?}"),
            }
        }
    }
    match failed {
        Some(err) => Err(err),
        None => Ok(code),
    }
}

/// The engine, with wasmtime's code cache unless `cache` is false. A cache
/// that cannot be set up (no cache directory, say) is only a warning.
fn engine(cache: bool) -> Result<Engine> {
    let mut config = wasmtime::Config::new();
    if cache {
        match wasmtime::Cache::new(wasmtime::CacheConfig::new()) {
            Ok(cache) => {
                config.cache(Some(cache));
            }
            Err(err) => eprintln!("warning: compiling without a code cache: {err:#}"),
        }
    }
    Ok(Engine::new(&config)?)
}

/// A `--preopen-writable` file: its host directory, held open from before
/// the guest runs, and what to keep of the file when it is replaced.
struct WriteBack {
    name: String,
    path: PathBuf,
    dir: HostDir,
    file: OsString,
    keep: Keep,
    /// The bytes read at start, until they are attached to the guest's
    /// writable file (then empty).
    bytes: Vec<u8>,
}

impl WriteBack {
    fn what(&self) -> String {
        format!(
            "writing back --preopen-writable {}={}",
            self.name,
            self.path.display()
        )
    }
}

/// Opens each `--preopen-writable` file's directory and reads the file
/// through it. PATH must be a regular file; a symbolic link is refused (its
/// target is named instead), so the file read is the file replaced.
fn write_backs(args: &RunArgs) -> Result<Vec<WriteBack>> {
    args.writable_preopens
        .iter()
        .map(|(name, path)| {
            let what = || format!("--preopen-writable {name}={}", path.display());
            let file = path
                .file_name()
                .with_context(|| format!("{}: not a file name", what()))?
                .to_owned();
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            let dir = HostDir::open(parent)
                .with_context(|| format!("{}: opening {}", what(), parent.display()))?;
            let (bytes, keep) = dir.read_regular(&file).with_context(what)?;
            Ok(WriteBack {
                name: name.clone(),
                path: path.clone(),
                dir,
                file,
                keep,
                bytes,
            })
        })
        .collect()
}

/// Writes each `--preopen-writable` file's final bytes back over its host
/// path, through the directory handle opened before the guest ran (see
/// [`HostDir::replace_file`]): a new file beside it, renamed over it, so a
/// failure never leaves a half-written file, and nothing the guest planted
/// is followed. Every file is tried; the first failure is returned.
fn write_back(write_backs: &[WriteBack], memfd: &mut WasiMemfdCtx) -> Result<()> {
    let mut first = Ok(());
    for wb in write_backs {
        let done = memfd
            .read_preopened(&wb.name)
            .and_then(|bytes| wb.dir.replace_file(&wb.file, &bytes, wb.keep))
            .with_context(|| wb.what());
        if let Err(err) = done {
            if first.is_ok() {
                first = Err(err);
            } else {
                eprintln!("error: {err:?}");
            }
        }
    }
    first
}

fn wasi_ctx(args: &RunArgs) -> Result<WasiCtxBuilder> {
    let mut wasi = WasiCtxBuilder::new();
    // The runner calls guests synchronously: file I/O on --dir files runs on
    // this thread rather than hopping to a blocking thread each call.
    wasi.inherit_stdio().allow_blocking_current_thread(true);
    let argv0 = args
        .wasm()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| args.wasm().display().to_string());
    wasi.arg(argv0);
    for arg in args.guest_args() {
        wasi.arg(utf8("argument", arg)?);
    }
    for (name, value) in &args.envs {
        let value = match value {
            Some(value) => value.clone(),
            None => match std::env::var_os(name) {
                Some(value) => value,
                None => continue,
            },
        };
        wasi.env(name, utf8(&format!("--env {name}:"), &value)?);
    }
    for dir in &args.dirs {
        let (host, guest) = dir.split_once("::").unwrap_or((dir, dir));
        wasi.preopened_dir(host, guest, FsPerms::ReadWrite)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("opening --dir {host}"))?;
    }
    Ok(wasi)
}

fn memfd_builder(
    args: &RunArgs,
    write_backs: &mut [WriteBack],
    dirs: &[mem_dirs::MemDirArg],
) -> Result<WasiMemfdCtxBuilder> {
    let mut memfd = WasiMemfdCtx::builder();
    if let Some(config) = args.pool {
        memfd.pool(&Pool::new(config).context("--pool")?);
    }
    // The defaults leave the guest their room on top of what the
    // --mem-dir trees hold; a limit given is the limit. A runner serves one
    // guest, so it allows more files than the library's default (which
    // suits a host with many stores): a memory directory should hold what
    // a program makes in a tmpfs. The process's fd limit is raised to its
    // hard limit at start.
    let preloaded = mem_dirs::preloaded(dirs);
    let mut defaults = wasi_memfd::Limits::default();
    defaults.max_files = RUNNER_MAX_FILES;
    memfd
        .max_file_size(args.max_file_size.unwrap_or(defaults.max_file_size))
        .max_total_size(
            args.max_total_size
                .unwrap_or(defaults.max_total_size.saturating_add(preloaded.bytes)),
        )
        .max_files(
            args.max_files
                .unwrap_or(defaults.max_files.saturating_add(preloaded.files)),
        );
    for (name, path) in &args.preopens {
        memfd
            .preopen_file(name, path, false)
            .with_context(|| format!("--preopen {name}={}", path.display()))?;
    }
    for wb in write_backs {
        memfd
            .preopen_bytes(&wb.name, &wb.bytes, true)
            .with_context(|| format!("--preopen-writable {}={}", wb.name, wb.path.display()))?;
        // The memory file holds them now: one copy for the whole run.
        wb.bytes = Vec::new();
    }
    for dir in dirs {
        memfd
            .preopened_mem_dir(&dir.dir, &dir.guest)
            .with_context(|| format!("--mem-dir {}", dir.guest))?;
    }
    Ok(memfd)
}

fn run_component(
    engine: &Engine,
    bytes: &[u8],
    wasi: WasiCtx,
    memfd: WasiMemfdCtx,
) -> Result<(ExitCode, WasiMemfdCtx)> {
    use wasmtime_wasi::p2::bindings::sync::CommandPre;
    let component = Component::new(engine, bytes)?;
    let mut linker = wasmtime::component::Linker::new(engine);
    wasi_memfd::p2::add_to_linker_sync(&mut linker)?;
    let pre = CommandPre::new(linker.instantiate_pre(&component)?)?;
    // Fuel fitted to the limits: a from-bytes list up to --max-file-size
    // gets a file, never a hostcall-fuel trap.
    let mut store = WasiMemfdP2Ctx::new(wasi, memfd).into_store(engine);
    let code = outcome((|| {
        let command = pre.instantiate(&mut store)?;
        match command.wasi_cli_run().call_run(&mut store)? {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(()) => Ok(ExitCode::FAILURE),
        }
    })());
    Ok((code, store.into_data().memfd))
}

fn run_module(
    engine: &Engine,
    bytes: &[u8],
    ctx: WasiMemfdP1Ctx,
) -> Result<(ExitCode, WasiMemfdCtx)> {
    let module = Module::new(engine, bytes)?;
    let mut linker = wasmtime::Linker::new(engine);
    wasi_memfd::p1::add_to_linker_sync(&mut linker, |s| s)?;
    let pre = linker.instantiate_pre(&module)?;
    if !matches!(
        module.get_export("_start"),
        Some(wasmtime::ExternType::Func(ty)) if ty.params().len() == 0 && ty.results().len() == 0
    ) {
        bail!("the module exports no `_start` function of type () -> ()");
    }
    let mut store = Store::new(engine, ctx);
    let code = outcome((|| {
        let instance = pre.instantiate(&mut store)?;
        let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
        start.call(&mut store, ())?;
        Ok(ExitCode::SUCCESS)
    })());
    Ok((code, std::mem::take(store.data_mut().memfd())))
}
