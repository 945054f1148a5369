;; The probe: a core module that wit-component turns into a component of the
;; world in probe.wit. Every export forwards its arguments to one import and
;; hands the import's result back, so the Rust tests (tests/component.rs,
;; tests/fd_leaks.rs) make every assertion themselves.
;;
;; `{WASI}` is replaced by the wasi version the probe is built against
;; (0.2.0 or 0.2.12) before the text is parsed.
;;
;; Memory layout:
;;   0..64      unused
;;   64..168    return area of the import being called (the largest result
;;              is stat's: result<descriptor-stat, error-code>, 8 + 96 bytes)
;;   256..272   return area of `stat-size` (the only export whose result is
;;              not laid out exactly as its import's)
;;   1024..     cabi_realloc's bump heap (never freed; each test uses a fresh
;;              instance)
;;
;; Canonical ABI notes. Flat params: list/string = (ptr, len), u64 = i64,
;; bool/u32/handles/flags (<= 32 bits) = i32. A result that does not fit in
;; one core value is written through a trailing return pointer (imports) or
;; returned as a pointer to it (exports). The layouts used:
;;   result<own<descriptor>|u32, error-code>  disc u8 @0, payload @4
;;   result<tuple<list<u8>, bool>, fs-error>  disc @0, ptr @4, len @8, eof @12
;;   result<u64, fs-error>                    disc @0, payload @8
;;   result<enum|flags (u8), fs-error>        disc @0, payload @1
;;   result<_, fs-error>                      disc @0, error @1
;;   result<list<u8>, stream-error>           disc @0, ptr @4, len @8 or
;;                                            stream-error disc @4 (handle @8)
;;   result<descriptor-stat, fs-error>        disc @0, stat @8: type @8,
;;                                            link-count @16, size @24
(module
  ;; wasi-memfd:memfd/memfd@0.1.0
  (import "wasi-memfd:memfd/memfd@0.1.0" "from-bytes"
    (func $from-bytes (param i32 i32 i32 i32 i32 i32)))
  (import "wasi-memfd:memfd/memfd@0.1.0" "open-preopened"
    (func $open-preopened (param i32 i32 i32)))

  ;; wasi:filesystem/types
  (import "wasi:filesystem/types@{WASI}" "[method]descriptor.stat"
    (func $stat (param i32 i32)))
  (import "wasi:filesystem/types@{WASI}" "[method]descriptor.get-type"
    (func $get-type (param i32 i32)))
  (import "wasi:filesystem/types@{WASI}" "[method]descriptor.get-flags"
    (func $get-flags (param i32 i32)))
  (import "wasi:filesystem/types@{WASI}" "[method]descriptor.read"
    (func $read (param i32 i64 i64 i32)))
  (import "wasi:filesystem/types@{WASI}" "[method]descriptor.write"
    (func $write (param i32 i32 i32 i64 i32)))
  (import "wasi:filesystem/types@{WASI}" "[method]descriptor.set-size"
    (func $set-size (param i32 i64 i32)))
  (import "wasi:filesystem/types@{WASI}" "[method]descriptor.read-via-stream"
    (func $read-via-stream (param i32 i64 i32)))
  (import "wasi:filesystem/types@{WASI}" "[resource-drop]descriptor"
    (func $drop-descriptor (param i32)))

  ;; wasi:io/streams
  (import "wasi:io/streams@{WASI}" "[method]input-stream.blocking-read"
    (func $blocking-read (param i32 i64 i32)))
  (import "wasi:io/streams@{WASI}" "[resource-drop]input-stream"
    (func $drop-stream (param i32)))

  (memory (export "memory") 1)

  ;; Where the import being called writes its result.
  (global $ret i32 (i32.const 64))
  ;; stat-size's own return area.
  (global $out i32 (i32.const 256))
  ;; Next free byte of the bump heap.
  (global $heap (mut i32) (i32.const 1024))

  ;; A bump allocator: aligns, grows memory as needed, never frees. A
  ;; realloc copies the old bytes to the new block.
  (func (export "cabi_realloc")
    (param $old i32) (param $old_size i32) (param $align i32) (param $size i32)
    (result i32)
    (local $ptr i32) (local $end i64) (local $have i64)
    ;; ptr = align_up(heap, align)
    (local.set $ptr
      (i32.and
        (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end
      (i64.add (i64.extend_i32_u (local.get $ptr)) (i64.extend_i32_u (local.get $size))))
    (if (i64.gt_u (local.get $end) (i64.const 0x1_0000_0000))
      (then unreachable))
    (local.set $have (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))
    (if (i64.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow
                (i32.wrap_i64
                  (i64.shr_u
                    (i64.add (i64.sub (local.get $end) (local.get $have)) (i64.const 0xffff))
                    (i64.const 16))))
              (i32.const -1))
          (then unreachable))))
    (if (local.get $old)
      (then
        (memory.copy (local.get $ptr) (local.get $old)
          (select (local.get $old_size) (local.get $size)
            (i32.lt_u (local.get $old_size) (local.get $size))))))
    (global.set $heap (i32.wrap_i64 (local.get $end)))
    (local.get $ptr))

  ;; stash: func(data: list<u8>) -> u32
  ;; Leaves `data` in memory and says where: for from-bytes-raw.
  (func (export "stash") (param $ptr i32) (param $len i32) (result i32)
    (local.get $ptr))

  ;; from-bytes: func(data: list<u8>, name: string, writable: bool)
  ;;   -> result<u32, memfd-error>
  ;; A bool is 0 or 1: exactly the `writable` bit of open-flags.
  (func (export "from-bytes")
    (param $ptr i32) (param $len i32) (param $name i32) (param $name_len i32)
    (param $writable i32) (result i32)
    (call $from-bytes (local.get $ptr) (local.get $len)
      (local.get $name) (local.get $name_len) (local.get $writable) (global.get $ret))
    (global.get $ret))

  ;; from-bytes-raw: func(ptr: u32, len: u32, name-ptr: u32, name-len: u32,
  ;;   flags: u32) -> result<u32, memfd-error>
  ;; What a hostile or broken guest can pass: any pointers, any flag bits.
  (func (export "from-bytes-raw")
    (param $ptr i32) (param $len i32) (param $name i32) (param $name_len i32)
    (param $flags i32) (result i32)
    (call $from-bytes (local.get $ptr) (local.get $len)
      (local.get $name) (local.get $name_len) (local.get $flags) (global.get $ret))
    (global.get $ret))

  ;; open-preopened: func(name: string) -> result<u32, memfd-error>
  (func (export "open-preopened") (param $name i32) (param $name_len i32) (result i32)
    (call $open-preopened (local.get $name) (local.get $name_len) (global.get $ret))
    (global.get $ret))

  ;; stat-size: func(h: u32) -> result<u64, fs-error>
  ;; stat's payload starts at 8, not 8 + 16: copy the size (or the error).
  (func (export "stat-size") (param $h i32) (result i32)
    (call $stat (local.get $h) (global.get $ret))
    (i32.store8 (global.get $out) (i32.load8_u (global.get $ret)))
    (if (i32.load8_u (global.get $ret))
      (then
        (i32.store8 offset=8 (global.get $out) (i32.load8_u offset=8 (global.get $ret))))
      (else
        (i64.store offset=8 (global.get $out) (i64.load offset=24 (global.get $ret)))))
    (global.get $out))

  ;; get-type: func(h: u32) -> result<descriptor-type, fs-error>
  (func (export "get-type") (param $h i32) (result i32)
    (call $get-type (local.get $h) (global.get $ret))
    (global.get $ret))

  ;; get-flags: func(h: u32) -> result<descriptor-flags, fs-error>
  (func (export "get-flags") (param $h i32) (result i32)
    (call $get-flags (local.get $h) (global.get $ret))
    (global.get $ret))

  ;; read: func(h: u32, len: u64, offset: u64)
  ;;   -> result<tuple<list<u8>, bool>, fs-error>
  (func (export "read") (param $h i32) (param $len i64) (param $off i64) (result i32)
    (call $read (local.get $h) (local.get $len) (local.get $off) (global.get $ret))
    (global.get $ret))

  ;; write: func(h: u32, data: list<u8>, offset: u64) -> result<u64, fs-error>
  (func (export "write")
    (param $h i32) (param $ptr i32) (param $len i32) (param $off i64) (result i32)
    (call $write (local.get $h) (local.get $ptr) (local.get $len) (local.get $off)
      (global.get $ret))
    (global.get $ret))

  ;; set-size: func(h: u32, size: u64) -> result<_, fs-error>
  (func (export "set-size") (param $h i32) (param $size i64) (result i32)
    (call $set-size (local.get $h) (local.get $size) (global.get $ret))
    (global.get $ret))

  ;; read-via-stream: func(h: u32, offset: u64) -> result<u32, fs-error>
  (func (export "read-via-stream") (param $h i32) (param $off i64) (result i32)
    (call $read-via-stream (local.get $h) (local.get $off) (global.get $ret))
    (global.get $ret))

  ;; blocking-read: func(s: u32, len: u64) -> result<list<u8>, u8>
  ;; The error is stream-error's discriminant (0 last-operation-failed,
  ;; 1 closed), which sits where the u8 error goes. A last-operation-failed
  ;; error resource stays in the guest's table until the store goes.
  (func (export "blocking-read") (param $s i32) (param $len i64) (result i32)
    (call $blocking-read (local.get $s) (local.get $len) (global.get $ret))
    (global.get $ret))

  ;; drop-descriptor: func(h: u32)
  (func (export "drop-descriptor") (param $h i32)
    (call $drop-descriptor (local.get $h)))

  ;; drop-stream: func(s: u32)
  (func (export "drop-stream") (param $s i32)
    (call $drop-stream (local.get $s)))
)
