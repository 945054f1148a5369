//! Component encoding: a core module and a world over the project's `wit/`
//! made into a component with wit-component ([`encode`], also the bench
//! suite's), and a small `wasi:cli/command` component that uses wasi-memfd,
//! run by the runner, async-linker and embedding tests.

/// A `wasi:cli/command` component (no adapter: its core module imports only
/// component functions) whose `run` makes a memory file and returns
/// `ok` on success, `err` on any error code.
pub fn memfd_command_component() -> Vec<u8> {
    memfd_command_component_of(15)
}

/// As [`memfd_command_component`], passing `len` bytes to `from-bytes`
/// (its memory grows to hold them; the first 15 are "component bytes").
pub fn memfd_command_component_of(len: u32) -> Vec<u8> {
    let pages = len / 65536 + 2;
    let core = wat::parse_str(format!(
        r#"(module
          (import "wasi-memfd:memfd/memfd@0.1.0" "from-bytes"
            (func $from_bytes (param i32 i32 i32 i32 i32 i32)))
          (import "wasi:filesystem/types@0.2.0" "[resource-drop]descriptor"
            (func $drop (param i32)))
          (memory (export "memory") {pages})
          (data (i32.const 64) "component bytes")
          (func (export "wasi:cli/run@0.2.0#run") (result i32)
            (call $from_bytes (i32.const 64) (i32.const {len}) (i32.const 0) (i32.const 0)
              (i32.const 0) (i32.const 16))
            (if (result i32) (i32.load8_u (i32.const 16))
              (then (i32.const 1))
              (else (call $drop (i32.load (i32.const 20))) (i32.const 0))))
          (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) unreachable))"#
    ))
    .unwrap();
    encode(
        core,
        "package test:command;
         world command {
           import wasi-memfd:memfd/memfd@0.1.0;
           export wasi:cli/run@0.2.0;
         }",
        "command",
    )
}

/// Encodes `core` as a component of `world`, declared in `world_wit` over
/// the project's `wit/` (which brings `wasi:cli@0.2.0` with it).
pub fn encode(core: Vec<u8>, world_wit: &str, world: &str) -> Vec<u8> {
    let mut resolve = wit_parser::Resolve::default();
    resolve.push_dir(crate::repo_root().join("wit")).unwrap();
    let pkg = resolve.push_str("world.wit", world_wit).unwrap();
    let world = resolve.select_world(&[pkg], Some(world)).unwrap();
    let mut module = core;
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .unwrap();
    wit_component::ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .unwrap()
}
