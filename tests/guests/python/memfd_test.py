"""The Python (componentize-py) test guest for wasi-memfd.

Built against the `wasi-memfd:memfd/command` world with guest/python on the
module path; run by tests/runner/python_guest.rs in the wasi-memfd runner:

    memfd_test basic
    memfd_test preopen NAME EXPECTED
    memfd_test preopen-writable NAME EXPECTED     (uppercases the file in place)
    memfd_test limits FILES FILE_SIZE TOTAL       (the runner's --max-* flags)

It prints "ok: CHECK" per passed check and "FAIL: CHECK: why" per failed
one, then "N passed, M failed", and exits 1 if any check failed.
"""

import errno
import hashlib
import io
import json
import zipfile

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import environment, exit as wasi_exit
from wit_world.imports import memfd as wit_memfd

import wasi_memfd
from checks import CheckFailed, check, ensure, finish, name_of

def expect_os_error(fn, num, exc_type=OSError, code=None):
    try:
        f = fn()
    except exc_type as e:
        ensure(isinstance(e, OSError), f"{e!r} is not an OSError")
        ensure(e.errno == num, f"errno {e.errno} ({name_of(e.errno)}), want {num} ({name_of(num)})")
        if code is not None:
            ensure(getattr(e, "wasi_memfd_code", None) == code, f"wasi_memfd_code {getattr(e, 'wasi_memfd_code', None)!r}, want {code!r}")
        return e
    close = getattr(f, "close", None)
    if close is not None:
        close()
    raise CheckFailed(f"no {exc_type.__name__} (errno {name_of(num)})")


TEXT = b"Hello, memory file! 0123456789abcdefghijklmnopqrstuvwxyz\n" * 100


def make_zip():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.txt", b"alpha\n" * 50, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("dir/b.bin", bytes(range(256)), compress_type=zipfile.ZIP_STORED)
        z.writestr("empty", b"")
    return buf.getvalue()


# -- basic --------------------------------------------------------------------


def basic():
    def raw_import():
        d = wit_memfd.from_bytes(TEXT, "raw", wit_memfd.OpenFlags(0))
        with d:
            data, end = d.read(len(TEXT) + 10, 0)
            ensure(data == TEXT, f"read {len(data)} bytes")
            data, end = d.read(10, len(TEXT))
            ensure(data == b"" and end, f"read at the end: {data!r} end={end}")

    check("raw from-bytes import returns a descriptor", raw_import)

    def contents():
        with wasi_memfd.from_bytes(TEXT, "contents") as f:
            ensure(isinstance(f, io.BufferedReader), f"from_bytes gave {type(f).__name__}")
            ensure(isinstance(f.raw, wasi_memfd.MemFile) and isinstance(f.raw, io.RawIOBase), "raw is not a MemFile")
            ensure(f.readable() and f.seekable() and not f.writable(), "readable/seekable/writable")
            ensure(f.name == "contents" and f.mode == "rb", f"name {f.name!r} mode {f.mode!r}")
            ensure(f.read() == TEXT, "read() != data")
            ensure(f.read() == b"", "read at EOF not empty")
        with wasi_memfd.from_bytes(bytearray(TEXT), buffering=0) as raw:
            ensure(isinstance(raw, wasi_memfd.MemFile), f"buffering=0 gave {type(raw).__name__}")
            ensure(raw.readall() == TEXT, "raw readall() != data")
        with wasi_memfd.from_bytes(memoryview(TEXT)) as f:
            ensure(b"".join(iter(lambda: f.read(7), b"")) == TEXT, "7-byte reads != data")

    check("from_bytes: BufferedReader over a MemFile, contents", contents)

    def stat():
        with wasi_memfd.from_bytes(TEXT, "stat") as f:
            st = f.raw.stat()
            ensure(st.type.name == "REGULAR_FILE", f"type {st.type}")
            ensure(st.size == len(TEXT) and f.raw.size == len(TEXT), f"size {st.size}")
            ensure(f.raw.descriptor.stat().size == len(TEXT), "descriptor.stat()")
            flags = f.raw.descriptor.get_flags()
            ensure(flags & type(flags).READ and not flags & type(flags).WRITE, f"flags {flags}")

    check("stat: regular file, true size, read-only flags", stat)

    def offsets():
        with wasi_memfd.from_bytes(TEXT, buffering=0) as f:
            ensure(f.pread(10, 7) == TEXT[7:17], "pread(10, 7)")
            ensure(f.tell() == 0, "pread moved the position")
            ensure(f.pread(100, len(TEXT) - 5) == TEXT[-5:], "pread across the end")
            ensure(f.pread(10, len(TEXT) + 100) == b"", "pread past the end")
            ensure(f.seek(100) == 100 and f.read(5) == TEXT[100:105], "seek(100)")
            ensure(f.seek(-10, io.SEEK_CUR) == 95 and f.read(3) == TEXT[95:98], "SEEK_CUR")
            ensure(f.seek(-4, io.SEEK_END) == len(TEXT) - 4 and f.read() == TEXT[-4:], "SEEK_END")
            ensure(f.seek(10, io.SEEK_END) == len(TEXT) + 10 and f.read(3) == b"", "past the end")
            expect_os_error(lambda: f.seek(-1), errno.EINVAL)
            buf = bytearray(16)
            f.seek(32)
            ensure(f.readinto(buf) == 16 and bytes(buf) == TEXT[32:48], "readinto")
        with wasi_memfd.from_bytes(TEXT) as f:
            f.seek(1000)
            ensure(f.read(10) == TEXT[1000:1010] and f.tell() == 1010, "buffered seek/read/tell")

    check("reads at offsets: pread, seek/tell, readinto", offsets)

    def streams():
        with wasi_memfd.from_bytes(TEXT, buffering=0) as f:
            ensure(b"".join(f.stream_chunks()) == TEXT, "whole stream")
            ensure(b"".join(f.stream_chunks(1234, chunk_size=100)) == TEXT[1234:], "stream from 1234")
            ensure(b"".join(f.stream_chunks(len(TEXT))) == b"", "stream from the end")
            chunks = list(wasi_memfd.stream_chunks(f.descriptor, 0, 1000))
            ensure(max(len(c) for c in chunks) <= 1000 and b"".join(chunks) == TEXT, "1000-byte chunks")
            ensure(f.read(4) == TEXT[:4], "the stream moved the position")

    check("read-via-stream: whole file, from an offset, chunked", streams)

    def zip_over_file():
        archive = make_zip()
        with wasi_memfd.from_bytes(archive, "test.zip") as f, zipfile.ZipFile(f) as z:
            ensure(z.namelist() == ["a.txt", "dir/b.bin", "empty"], f"names {z.namelist()}")
            ensure(z.read("a.txt") == b"alpha\n" * 50, "a.txt")
            ensure(z.read("dir/b.bin") == bytes(range(256)), "dir/b.bin")
            ensure(z.read("empty") == b"", "empty")
            ensure(z.testzip() is None, "testzip")

    check("zipfile.ZipFile over the file", zip_over_file)

    def json_and_text():
        doc = {"name": "wasi-memfd", "n": [1, 2, 3], "ünï": "cødé"}
        raw = json.dumps(doc).encode()
        with wasi_memfd.from_bytes(raw, "doc.json") as f:
            ensure(json.load(f) == doc, "json.load")
        with wasi_memfd.from_bytes(b"line one\nline two\n") as f:
            lines = list(io.TextIOWrapper(f, encoding="utf-8"))
            ensure(lines == ["line one\n", "line two\n"], f"lines {lines}")

    check("json.load and io.TextIOWrapper", json_and_text)

    def read_only():
        with wasi_memfd.from_bytes(b"sealed", buffering=0) as f:
            try:
                f.write(b"X")
            except io.UnsupportedOperation:
                pass
            else:
                raise CheckFailed("write succeeded")
            try:
                f.truncate(1)
            except io.UnsupportedOperation:
                pass
            else:
                raise CheckFailed("truncate succeeded")
            # The descriptor itself refuses too.
            try:
                f.descriptor.write(b"X", 0)
            except Err:
                pass
            else:
                raise CheckFailed("descriptor.write succeeded")
            ensure(f.pread(6, 0) == b"sealed", "bytes changed")

    check("read-only: writes raise io.UnsupportedOperation, descriptor refuses", read_only)

    def writable():
        with wasi_memfd.from_bytes(b"hello world!", "w", writable=True) as f:
            ensure(isinstance(f, io.BufferedRandom) and f.writable(), f"{type(f).__name__}")
            ensure(f.mode == "r+b", f"mode {f.mode!r}")
            f.write(b"HELLO")
            f.seek(6)
            f.write(b"WORLD")
            f.flush()
            ensure(f.raw.pread(100, 0) == b"HELLO WORLD!", f"after writes: {f.raw.pread(100, 0)!r}")
            f.seek(0)
            ensure(f.read() == b"HELLO WORLD!", "read back")
            flags = f.raw.descriptor.get_flags()
            ensure(flags & type(flags).WRITE, f"flags {flags}")
        with wasi_memfd.from_bytes(b"0123456789ab", writable=True, buffering=0) as f:
            f.seek(12)
            expect_os_error(lambda: f.write(b"!"), errno.EFBIG)
            f.seek(10)
            ensure(f.write(b"!!!!") == 2, "write across the end is short")
            f.seek(20)
            expect_os_error(lambda: f.write(b"!"), errno.EFBIG)
            # The host refuses too: the descriptor cannot grow the file.
            try:
                f.descriptor.write(b"!", 12)
            except Err:
                pass
            else:
                raise CheckFailed("descriptor.write at the end succeeded")
            ensure(f.stat().size == 12 and f.pread(20, 0) == b"0123456789!!", "size or bytes after the end")

    check("writable: in-place writes, fixed size (short across the end, EFBIG past it)", writable)

    def large():
        data = hashlib.sha256(b"seed").digest() * (8 * 1024 * 1024 // 32)
        with wasi_memfd.from_bytes(data, "large") as f:
            ensure(f.raw.size == len(data), f"size {f.raw.size}")
            ensure(hashlib.sha256(f.read()).digest() == hashlib.sha256(data).digest(), "round trip")
            ensure(f.raw.pread(64, len(data) - 64) == data[-64:], "pread near the end")

    check("large file: 8 MiB round trip, pread near the end", large)

    def empty():
        with wasi_memfd.from_bytes(b"") as f:
            ensure(f.raw.stat().size == 0 and f.read() == b"", "empty file")
            ensure(f.name == "", f"name {f.name!r}")

    check("empty data and empty name", empty)

    def close():
        f = wasi_memfd.from_bytes(b"abc", buffering=0)
        f.close()
        f.close()
        ensure(f.closed, "not closed")
        try:
            f.read()
        except ValueError:
            pass
        else:
            raise CheckFailed("read after close")

    check("close drops the descriptor; I/O after close raises ValueError", close)

    def nul():
        e = expect_os_error(lambda: wasi_memfd.from_bytes(b"x", "a\0b"), errno.EINVAL, wasi_memfd.InvalidArgumentError, "invalid-argument")
        ensure(isinstance(e, ValueError), "not a ValueError")

    check("invalid-argument: NUL in name -> InvalidArgumentError (OSError EINVAL, ValueError)", nul)

    def name_too_long():
        with wasi_memfd.from_bytes(b"x", "n" * 249) as f:
            ensure(f.read() == b"x", "249-byte name")
        expect_os_error(lambda: wasi_memfd.from_bytes(b"x", "n" * 250), errno.ENAMETOOLONG, code="name-too-long")
        # bytes, not characters: 125 two-byte characters are 250 bytes
        expect_os_error(lambda: wasi_memfd.from_bytes(b"x", "é" * 125), errno.ENAMETOOLONG)

    check("name-too-long: 250-byte name -> OSError(ENAMETOOLONG), 249 accepted", name_too_long)

    def not_found():
        expect_os_error(lambda: wasi_memfd.open_preopened("no such file"), errno.ENOENT, FileNotFoundError, "not-found")

    check("not-found: open_preopened of a missing name -> FileNotFoundError", not_found)

    def mapping():
        want = {
            "INVALID_ARGUMENT": (wasi_memfd.InvalidArgumentError, errno.EINVAL),
            "NAME_TOO_LONG": (OSError, errno.ENAMETOOLONG),
            "FILE_TOO_LARGE": (OSError, errno.EFBIG),
            "QUOTA_EXCEEDED": (OSError, errno.EDQUOT),
            "TOO_MANY_FILES": (OSError, errno.EMFILE),
            "NOT_FOUND": (FileNotFoundError, errno.ENOENT),
            "OUT_OF_MEMORY": (OSError, errno.ENOMEM),
            "UNSUPPORTED": (OSError, errno.ENOTSUP),
        }
        ensure(sorted(want) == sorted(c.name for c in wit_memfd.ErrorCode), "ErrorCode has other cases")
        for code in wit_memfd.ErrorCode:
            cls, num = want[code.name]
            e = wasi_memfd._memfd_error(Err(code), "n")
            ensure(type(e) is cls and e.errno == num, f"{code.name}: {e!r}")
            ensure(e.wasi_memfd_code == code.name.lower().replace("_", "-"), f"{code.name}: code {e.wasi_memfd_code}")

    check("every error-code maps to its Python exception", mapping)


# -- preopened files ---------------------------------------------------------


def preopen(name, expected):
    expected = expected.encode()

    def contents():
        with wasi_memfd.open_preopened(name) as a, wasi_memfd.open_preopened(name) as b:
            ensure(a.raw.descriptor is not b.raw.descriptor, "the same descriptor twice")
            st = a.raw.stat()
            ensure(st.type.name == "REGULAR_FILE" and st.size == len(expected), f"stat {st}")
            ensure(not a.writable(), "read-only preopen is writable")
            head = a.read(4)
            ensure(b.read() == expected, "second file")
            ensure(head + a.read() == expected, "first file")
            ensure(json.dumps(a.name) == json.dumps(name), f"name {a.name!r}")

    check("open_preopened: contents, stat, independent offsets", contents)


def preopen_writable(name, expected):
    expected = expected.encode()

    def upper():
        with wasi_memfd.open_preopened(name) as f:
            ensure(isinstance(f, io.BufferedRandom) and f.writable(), f"{type(f).__name__} writable={f.writable()}")
            ensure(f.read() == expected, "contents")
            f.seek(0)
            f.write(expected.upper())
            f.flush()
        with wasi_memfd.open_preopened(name) as g:
            ensure(g.read() == expected.upper(), "a second open does not see the write")

    check("open_preopened writable: write in place, seen by the next open", upper)


# -- limits ------------------------------------------------------------------


def limits(files, file_size, total):
    def too_large():
        wasi_memfd.from_bytes(bytes(file_size), "at-limit").close()
        expect_os_error(lambda: wasi_memfd.from_bytes(bytes(file_size + 1), "over"), errno.EFBIG, code="file-too-large")

    check("file-too-large: one byte over --max-file-size -> OSError(EFBIG)", too_large)

    def quota():
        held = []
        try:
            left = total
            while left > 0:
                n = min(left, file_size)
                held.append(wasi_memfd.from_bytes(bytes(n), "quota"))
                left -= n
            expect_os_error(lambda: wasi_memfd.from_bytes(b"1", "over-quota"), errno.EDQUOT, code="quota-exceeded")
            held.pop(0).close()
            held.append(wasi_memfd.from_bytes(b"1", "after-close"))
        finally:
            for f in held:
                f.close()

    check("quota-exceeded: one byte over --max-total-size -> OSError(EDQUOT); close gives bytes back", quota)

    def too_many():
        held = []
        try:
            for i in range(files):
                held.append(wasi_memfd.from_bytes(bytes([i]), "slot"))
            expect_os_error(lambda: wasi_memfd.from_bytes(b"x", "one-too-many", writable=True), errno.EMFILE, code="too-many-files")
            held.pop(0).close()
            held.append(wasi_memfd.from_bytes(b"x", "after-close"))
        finally:
            for f in held:
                f.close()

    check("too-many-files: one file over --max-files -> OSError(EMFILE); close frees the slot", too_many)

    def gc_frees():
        # A file object dropped without close() gives its slot back too
        # (the descriptor's finalizer drops it).
        for _ in range(files + 2):
            wasi_memfd.from_bytes(b"y", "dropped").read()
        import gc

        gc.collect()
        wasi_memfd.from_bytes(b"z", "after-gc").close()

    check("dropped file objects give their slots back", gc_frees)


# -- main --------------------------------------------------------------------


def usage():
    print("usage: memfd_test basic | preopen NAME EXPECTED | preopen-writable NAME EXPECTED | limits FILES FILE_SIZE TOTAL")
    wasi_exit.exit(Err(None))


def positive(s):
    try:
        n = int(s)
    except ValueError:
        n = 0
    if n <= 0:
        usage()
    return n


class Run(exports.Run):
    def run(self) -> None:
        args = environment.get_arguments()[1:]
        if args == ["basic"]:
            basic()
        elif len(args) == 3 and args[0] == "preopen":
            preopen(args[1], args[2])
        elif len(args) == 3 and args[0] == "preopen-writable":
            preopen_writable(args[1], args[2])
        elif len(args) == 4 and args[0] == "limits":
            limits(positive(args[1]), positive(args[2]), positive(args[3]))
        else:
            usage()
        if finish():
            raise Err(None)
