;; The example guest: a core module that wit-component turns into a component
;; of the world in guest.wit. `run` hands a CSV held in a data segment to
;; `from-bytes`, then calls `stat` and `read` on the descriptor it gets back
;; and returns what it saw.
;;
;; Memory layout:
;;   16..27     the name "example.csv"
;;   64..76     from-bytes' return area: result<descriptor, error-code>,
;;              disc u8 @0, handle or error @4
;;   128..232   stat's return area: result<descriptor-stat, error-code>,
;;              disc @0, error @8 or stat @8 (size @24)
;;   256..272   read's return area: result<tuple<list<u8>, bool>, error-code>,
;;              disc @0, error @4 or ptr @4, len @8, eof @12
;;   512..      the CSV
;;   1024..1056 run's return area: result<report, failure>, disc @0,
;;              report @8 (held ptr @8, len @12, size @16, read-back ptr @24,
;;              len @28) or failure @8 (case @8, error code @9)
;;   4096..     cabi_realloc's bump heap (for the list `read` returns)
(module
  (import "wasi-memfd:memfd/memfd@0.1.0" "from-bytes"
    (func $from-bytes (param i32 i32 i32 i32 i32 i32)))
  (import "wasi:filesystem/types@0.2.0" "[method]descriptor.stat"
    (func $stat (param i32 i32)))
  (import "wasi:filesystem/types@0.2.0" "[method]descriptor.read"
    (func $read (param i32 i64 i64 i32)))
  (import "wasi:filesystem/types@0.2.0" "[resource-drop]descriptor"
    (func $drop (param i32)))

  (memory (export "memory") 1)
  (data (i32.const 16) "example.csv")
  (data (i32.const 512) "name,qty\nwidget,3\ngadget,7\n")
  (global $csv_len i32 (i32.const 27))
  (global $heap (mut i32) (i32.const 4096))

  ;; A bump allocator that never frees (the heap stays within the first
  ;; page's reach for this example: a realloc past 64 KiB traps).
  (func (export "cabi_realloc")
    (param $old i32) (param $old_size i32) (param $align i32) (param $size i32)
    (result i32)
    (local $ptr i32)
    (local.set $ptr
      (i32.and
        (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
    (global.set $heap (i32.add (local.get $ptr) (local.get $size)))
    (if (i32.gt_u (global.get $heap) (i32.const 65536)) (then unreachable))
    (local.get $ptr))

  ;; Writes failure `case` with the error code at `err` and returns it.
  (func $fail (param $case i32) (param $err i32) (result i32)
    (i32.store8 (i32.const 1024) (i32.const 1))
    (i32.store8 (i32.const 1032) (local.get $case))
    (i32.store8 (i32.const 1033) (i32.load8_u (local.get $err)))
    (i32.const 1024))

  ;; run: func() -> result<report, failure>
  (func (export "run") (result i32) (local $fd i32)
    ;; from-bytes(data, "example.csv", open-flags {}): a sealed, read-only file
    (call $from-bytes (i32.const 512) (global.get $csv_len)
      (i32.const 16) (i32.const 11) (i32.const 0) (i32.const 64))
    (if (i32.load8_u (i32.const 64))
      (then (return (call $fail (i32.const 0) (i32.const 68)))))
    (local.set $fd (i32.load (i32.const 68)))

    ;; stat: the size is the descriptor-stat's third field
    (call $stat (local.get $fd) (i32.const 128))
    (if (i32.load8_u (i32.const 128))
      (then (return (call $fail (i32.const 1) (i32.const 136)))))

    ;; read(size bytes, offset 0)
    (call $read (local.get $fd) (i64.load (i32.const 152)) (i64.const 0) (i32.const 256))
    (if (i32.load8_u (i32.const 256))
      (then (return (call $fail (i32.const 2) (i32.const 260)))))
    (call $drop (local.get $fd))

    ;; ok(report { held, size, read-back })
    (i32.store8 (i32.const 1024) (i32.const 0))
    (i32.store (i32.const 1032) (i32.const 512))
    (i32.store (i32.const 1036) (global.get $csv_len))
    (i64.store (i32.const 1040) (i64.load (i32.const 152)))
    (i32.store (i32.const 1048) (i32.load (i32.const 260)))
    (i32.store (i32.const 1052) (i32.load (i32.const 264)))
    (i32.const 1024))
)
