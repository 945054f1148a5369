//! The WASIp1 trampoline: a WAT module that imports host functions and
//! exports, under the same names, wasm functions that call them with their
//! arguments unchanged, with its linear memory. [`crate::p1::Guest`]
//! instantiates it; tests that need another memory (a shared one) or
//! another store layout take its text from [`wat_with_memory`] rather than
//! writing a trampoline by hand.
//!
//! Re-exporting an import as-is would not do: called from Rust, a host
//! function then has no calling instance, so it cannot find the guest's
//! `memory`.

/// Imports per module: function name and parameter types. Every function
/// returns an `i32` (an errno).
pub type Imports<'a> = &'a [(&'a str, &'a [(&'a str, &'a str)])];

/// What the tests import: `wasi_memfd`'s two calls and every WASIp1 call
/// the tests make (the model uses some of them).
pub const IMPORTS: Imports<'static> = &[
    (
        "wasi_memfd",
        &[
            ("from_bytes", "i32 i32 i32 i32 i32 i32"),
            ("open_preopened", "i32 i32 i32"),
        ],
    ),
    (
        "wasi_snapshot_preview1",
        &[
            ("fd_read", "i32 i32 i32 i32"),
            ("fd_pread", "i32 i32 i32 i64 i32"),
            ("fd_write", "i32 i32 i32 i32"),
            ("fd_pwrite", "i32 i32 i32 i64 i32"),
            ("fd_seek", "i32 i64 i32 i32"),
            ("fd_tell", "i32 i32"),
            ("fd_filestat_get", "i32 i32"),
            ("fd_fdstat_get", "i32 i32"),
            ("fd_advise", "i32 i64 i64 i32"),
            ("fd_sync", "i32"),
            ("fd_datasync", "i32"),
            ("fd_close", "i32"),
            ("fd_filestat_set_size", "i32 i64"),
            ("fd_allocate", "i32 i64 i64"),
            ("fd_filestat_set_times", "i32 i64 i64 i32"),
            ("fd_fdstat_set_flags", "i32 i32"),
            ("fd_fdstat_set_rights", "i32 i64 i64"),
            ("fd_renumber", "i32 i32"),
            ("fd_prestat_get", "i32 i32"),
            ("fd_prestat_dir_name", "i32 i32 i32"),
            ("fd_readdir", "i32 i32 i32 i64 i32"),
            ("path_open", "i32 i32 i32 i32 i32 i64 i64 i32 i32"),
            ("path_filestat_get", "i32 i32 i32 i32 i32"),
            ("path_create_directory", "i32 i32 i32"),
            ("path_unlink_file", "i32 i32 i32"),
            ("sock_recv", "i32 i32 i32 i32 i32 i32"),
            ("sock_send", "i32 i32 i32 i32 i32"),
            ("sock_shutdown", "i32 i32"),
            ("sock_accept", "i32 i32 i32"),
            ("poll_oneoff", "i32 i32 i32 i32"),
        ],
    ),
];

/// The trampoline's text: every import in `imports` wrapped in an exported
/// wasm function of the same name, and an exported memory of `pages`
/// 64 KiB pages.
pub fn wat(imports: Imports<'_>, pages: u32) -> String {
    wat_with_memory(imports, &format!("(memory (export \"memory\") {pages})"))
}

/// [`wat`] with `memory` as the module's memory declaration (such as
/// `(memory (export "memory") 8 8 shared)`).
pub fn wat_with_memory(imports: Imports<'_>, memory: &str) -> String {
    let funcs = || {
        imports.iter().flat_map(|(module, funcs)| {
            funcs
                .iter()
                .map(move |(name, params)| (module, name, params))
        })
    };
    let mut wat = String::from("(module\n");
    for (module, name, params) in funcs() {
        wat += &format!(
            "  (import \"{module}\" \"{name}\" (func ${name} (param {params}) (result i32)))\n"
        );
    }
    for (_, name, params) in funcs() {
        let args: String = (0..params.split_whitespace().count())
            .map(|i| format!(" (local.get {i})"))
            .collect();
        wat += &format!(
            "  (func (export \"{name}\") (param {params}) (result i32) (call ${name}{args}))\n"
        );
    }
    wat += &format!("  {memory}\n)\n");
    wat
}

/// WASIp1 errnos the tests expect, as the numbers the calls return: each is
/// wasmtime-wasi's `Errno` (the `errno` enum of typenames.witx), so no
/// number is written here.
pub mod errno {
    use wasmtime_wasi::p1::types::Errno;

    /// `NAME = Variant`: `pub const NAME: i32` is `Errno::Variant`.
    macro_rules! errnos {
        ($($name:ident = $variant:ident),* $(,)?) => {$(
            #[doc = concat!("`Errno::", stringify!($variant), "`.")]
            pub const $name: i32 = Errno::$variant as i32;
        )*};
    }

    errnos! {
        SUCCESS = Success, ACCES = Acces, BADF = Badf, DQUOT = Dquot, FAULT = Fault,
        FBIG = Fbig, ILSEQ = Ilseq, INVAL = Inval, MFILE = Mfile, NOMEM = Nomem,
        NAMETOOLONG = Nametoolong, NOENT = Noent, NOSPC = Nospc, NOTDIR = Notdir,
        NOTSOCK = Notsock, NOTSUP = Notsup, PERM = Perm,
    }

    /// The name of a WASIp1 errno (`EBADF` for 8, `SUCCESS` for 0), any of
    /// typenames.witx's, as the models' outcomes name it; `errno N` for a
    /// number that names none.
    pub fn name(errno: i32) -> String {
        match Errno::try_from(errno) {
            Ok(Errno::Success) => "SUCCESS".to_owned(),
            Ok(Errno::TooBig) => "E2BIG".to_owned(),
            Ok(e) => format!("E{e:?}").to_uppercase(),
            Err(_) => format!("errno {errno}"),
        }
    }
}
