//! Guests with a shared memory: `wasi_memfd` answers ENOTSUP (a shared
//! memory cannot be lent as a slice), and a memory-file fd made by another
//! instance in the same store is still read and written correctly through a
//! bounded host buffer, in chunks larger and smaller than that buffer.

use wasi_memfd::p1::WasiMemfdP1Ctx;
use wasi_memfd::WasiMemfdCtx;
use wasi_memfd_testing::trampoline::{self, errno};
use wasmtime::{Config, Engine, Linker, Module, Store};
use wasmtime_wasi::WasiCtxBuilder;

/// The trampoline (every import wrapped in an exported wasm function, so
/// each call has a calling instance whose `memory` the host finds) with
/// `memory` as its memory.
fn module(engine: &Engine, memory: &str) -> Module {
    Module::new(
        engine,
        trampoline::wat_with_memory(trampoline::IMPORTS, memory),
    )
    .unwrap()
}

#[test]
fn shared_memory_guests_get_enotsup_and_correct_reads_and_writes() {
    let mut config = Config::new();
    config.wasm_threads(true).shared_memory(true);
    let engine = Engine::new(&config).unwrap();
    let mut linker = Linker::<WasiMemfdP1Ctx>::new(&engine);
    wasi_memfd::p1::add_to_linker_sync(&mut linker, |ctx| ctx).unwrap();
    let wasi = WasiCtxBuilder::new().build_p1();
    let mut store = Store::new(&engine, WasiMemfdP1Ctx::new(wasi, WasiMemfdCtx::default()));

    // 300 KiB of patterned data, made by an instance with a plain memory.
    let plain = linker
        .instantiate(
            &mut store,
            &module(&engine, r#"(memory (export "memory") 8)"#),
        )
        .unwrap();
    let data: Vec<u8> = (0..300 * 1024).map(|i| (i % 251) as u8).collect();
    let mem = plain.get_memory(&mut store, "memory").unwrap();
    mem.write(&mut store, 4096, &data).unwrap();
    let made = from_bytes_plain(&mut store, &plain, data.len(), 0);
    assert_eq!(made, errno::SUCCESS);
    let mut fd = [0u8; 4];
    mem.read(&store, 0, &mut fd).unwrap();
    let fd = i32::from_le_bytes(fd);

    // An instance whose memory is shared.
    let shared = linker
        .instantiate(
            &mut store,
            &module(&engine, r#"(memory (export "memory") 8 8 shared)"#),
        )
        .unwrap();
    let from_bytes = shared
        .get_typed_func::<(i32, i32, i32, i32, i32, i32), i32>(&mut store, "from_bytes")
        .unwrap();
    assert_eq!(
        from_bytes.call(&mut store, (4096, 16, 0, 0, 0, 0)).unwrap(),
        errno::NOTSUP,
        "for a shared memory"
    );

    // Two iovecs: 200 KiB (over the 64 KiB host buffer) then 100 KiB + 1
    // (one byte past the end of the file).
    let smem = shared.get_shared_memory(&mut store, "memory").unwrap();
    let put = |at: usize, v: u32| {
        for (i, b) in v.to_le_bytes().into_iter().enumerate() {
            // SAFETY: no other thread runs; nothing else touches the memory.
            unsafe { *smem.data()[at + i].get() = b };
        }
    };
    put(16, 4096);
    put(20, 200 * 1024);
    put(24, 4096 + 200 * 1024);
    put(28, 100 * 1024 + 1);
    let fd_read = shared
        .get_typed_func::<(i32, i32, i32, i32), i32>(&mut store, "fd_read")
        .unwrap();
    assert_eq!(
        fd_read.call(&mut store, (fd, 16, 2, 32)).unwrap(),
        errno::SUCCESS
    );
    // SAFETY: as above, the guest is not running.
    let byte = |at: usize| unsafe { *smem.data()[at].get() };
    let nread = u32::from_le_bytes([byte(32), byte(33), byte(34), byte(35)]);
    assert_eq!(nread as usize, data.len());
    let read: Vec<u8> = (0..data.len()).map(|i| byte(4096 + i)).collect();
    assert!(read == data, "the bytes read into shared memory differ");
    // One byte past the data was not touched.
    assert_eq!(byte(4096 + data.len()), 0);

    // Writes from shared memory: the plain instance makes a writable copy;
    // the shared instance overwrites its first 150 KiB + 3 with 0xAB; the
    // plain instance reads it all back.
    let made = from_bytes_plain(&mut store, &plain, data.len(), 1);
    assert_eq!(made, errno::SUCCESS);
    let mut wfd = [0u8; 4];
    mem.read(&store, 0, &mut wfd).unwrap();
    let wfd = i32::from_le_bytes(wfd);
    let patch = 150 * 1024 + 3;
    for i in 0..patch {
        // SAFETY: as above.
        unsafe { *smem.data()[8192 + i].get() = 0xAB };
    }
    put(16, 8192);
    put(20, patch as u32);
    let fd_write = shared
        .get_typed_func::<(i32, i32, i32, i32), i32>(&mut store, "fd_write")
        .unwrap();
    assert_eq!(
        fd_write.call(&mut store, (wfd, 16, 1, 32)).unwrap(),
        errno::SUCCESS
    );
    assert_eq!(
        byte(32) as usize | (byte(33) as usize) << 8 | (byte(34) as usize) << 16,
        patch
    );
    let seek = plain
        .get_typed_func::<(i32, i64, i32, i32), i32>(&mut store, "fd_seek")
        .unwrap();
    assert_eq!(
        seek.call(&mut store, (wfd, 0, 0, 40)).unwrap(),
        errno::SUCCESS
    );
    let iov = [8192u32.to_le_bytes(), (data.len() as u32).to_le_bytes()].concat();
    mem.write(&mut store, 16, &iov).unwrap();
    let plain_read = plain
        .get_typed_func::<(i32, i32, i32, i32), i32>(&mut store, "fd_read")
        .unwrap();
    assert_eq!(
        plain_read.call(&mut store, (wfd, 16, 1, 32)).unwrap(),
        errno::SUCCESS
    );
    let mut back = vec![0u8; data.len()];
    mem.read(&store, 8192, &mut back).unwrap();
    assert!(
        back[..patch].iter().all(|&b| b == 0xAB),
        "the patch was not written"
    );
    assert!(
        back[patch..] == data[patch..],
        "bytes after the patch changed"
    );
}

/// `from_bytes` of the plain instance's 4096.. data with `flags`.
fn from_bytes_plain(
    store: &mut Store<WasiMemfdP1Ctx>,
    plain: &wasmtime::Instance,
    len: usize,
    flags: i32,
) -> i32 {
    plain
        .get_typed_func::<(i32, i32, i32, i32, i32, i32), i32>(&mut *store, "from_bytes")
        .unwrap()
        .call(&mut *store, (4096, len as i32, 0, 0, flags, 0))
        .unwrap()
}
