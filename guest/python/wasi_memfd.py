"""wasi-memfd for Python components built with componentize-py.

Turns ``bytes`` into a Python file object backed by a host memory file::

    import zipfile
    import wasi_memfd

    with wasi_memfd.from_bytes(archive_bytes, name="archive.zip") as f:
        with zipfile.ZipFile(f) as z:
            print(z.namelist())

Build the guest against the ``command`` world of the project's WIT, with
this file on the module path::

    componentize-py -d wit -w wasi-memfd:memfd/command componentize \\
        -p guest/python -p . app -o app.wasm

``from_bytes`` and ``open_preopened`` return what ``open(path, "rb")`` (or
``"r+b"`` for a writable file) returns: an ``io.BufferedReader`` (or
``io.BufferedRandom``) over a :class:`MemFile`, the ``io.RawIOBase`` that
reads and writes the ``wasi:filesystem`` descriptor at its own offset
(``read``/``write`` with an offset, never the descriptor's cursor). With
``buffering=0`` they return the :class:`MemFile` itself. Either works with
``zipfile.ZipFile``, ``tarfile.open(fileobj=...)``, ``json.load``,
``io.TextIOWrapper`` and anything else that takes a binary file.

The descriptor stays reachable for what the file object does not cover:
``f.raw.descriptor`` (``f.descriptor`` on a :class:`MemFile`) and
``f.raw.stat()``.

Errors are the exceptions Python raises for the same failure, each an
``OSError`` with the WASI ``errno`` value set and the WIT name of the error
in ``.wasi_memfd_code``:

==================  =====================================================
WIT ``error-code``  Python exception
==================  =====================================================
invalid-argument    :class:`InvalidArgumentError` (``OSError`` with
                    ``EINVAL`` *and* ``ValueError``, as Python's
                    ``open("a\\0b")`` raises ``ValueError``)
name-too-long       ``OSError(ENAMETOOLONG)``
file-too-large      ``OSError(EFBIG)``
quota-exceeded      ``OSError(EDQUOT)``
too-many-files      ``OSError(EMFILE)``
not-found           ``FileNotFoundError`` (``ENOENT``)
out-of-memory       ``OSError(ENOMEM)`` (as ``os.memfd_create`` raises)
unsupported         ``OSError(ENOTSUP)``
==================  =====================================================

``wasi:filesystem`` errors from reads and writes become ``OSError`` with
the matching errno too (``bad-descriptor`` -> ``EBADF``, ``not-permitted``
-> ``EPERM``, ...). A memory file's size is fixed: on a writable file a
write that crosses the end is short and one at or past the end raises
``OSError(EFBIG)``, as the host's core-module fds and the other bindings
do. Writing to a read-only file object raises ``io.UnsupportedOperation``,
as Python's own files do.

componentize-py keeps only the modules imported while it builds the
component: import at module level whatever your guest needs at run time
(this module imports ``encodings.cp437`` so ``zipfile`` can decode names).
"""

import errno as _errno
import io
import os

# componentize-py keeps only the modules imported while it builds the
# component (it snapshots the initialized interpreter); anything imported
# lazily at run time is missing. zipfile decodes entry names that are not
# flagged UTF-8 with cp437, through a codec lookup that imports this module
# lazily, so import it here: zipfile.ZipFile then works on these files.
import encodings.cp437  # noqa: F401

from componentize_py_types import Err

from wit_world.imports import memfd as _memfd

__all__ = [
    "from_bytes",
    "open_preopened",
    "MemFile",
    "InvalidArgumentError",
    "stream_chunks",
    "ERRNO",
]


class InvalidArgumentError(OSError, ValueError):
    """``invalid-argument``: a NUL byte in the name (``EINVAL``).

    Both an ``OSError`` and a ``ValueError``, so code written for either of
    Python's habits (``ValueError: embedded null byte`` from ``open``,
    ``OSError(EINVAL)`` from system calls) catches it.
    """


# WIT error-code -> errno, for `wasi-memfd:memfd/memfd.error-code`.
ERRNO = {
    "invalid-argument": _errno.EINVAL,
    "name-too-long": _errno.ENAMETOOLONG,
    "file-too-large": _errno.EFBIG,
    "quota-exceeded": _errno.EDQUOT,
    "too-many-files": _errno.EMFILE,
    "not-found": _errno.ENOENT,
    "out-of-memory": _errno.ENOMEM,
    "unsupported": _errno.ENOTSUP,
}

# `wasi:filesystem/types.error-code` -> errno, for reads, writes and stat.
_FS_ERRNO = {
    "access": _errno.EACCES,
    "would-block": _errno.EAGAIN,
    "already": _errno.EALREADY,
    "bad-descriptor": _errno.EBADF,
    "busy": _errno.EBUSY,
    "deadlock": _errno.EDEADLK,
    "quota": _errno.EDQUOT,
    "exist": _errno.EEXIST,
    "file-too-large": _errno.EFBIG,
    "illegal-byte-sequence": _errno.EILSEQ,
    "in-progress": _errno.EINPROGRESS,
    "interrupted": _errno.EINTR,
    "invalid": _errno.EINVAL,
    "io": _errno.EIO,
    "is-directory": _errno.EISDIR,
    "loop": _errno.ELOOP,
    "too-many-links": _errno.EMLINK,
    "message-size": _errno.EMSGSIZE,
    "name-too-long": _errno.ENAMETOOLONG,
    "no-device": _errno.ENODEV,
    "no-entry": _errno.ENOENT,
    "no-lock": _errno.ENOLCK,
    "insufficient-memory": _errno.ENOMEM,
    "insufficient-space": _errno.ENOSPC,
    "not-directory": _errno.ENOTDIR,
    "not-empty": _errno.ENOTEMPTY,
    "not-recoverable": _errno.ENOTRECOVERABLE,
    "unsupported": _errno.ENOTSUP,
    "no-tty": _errno.ENOTTY,
    "no-such-device": _errno.ENXIO,
    "overflow": _errno.EOVERFLOW,
    "not-permitted": _errno.EPERM,
    "pipe": _errno.EPIPE,
    "read-only": _errno.EROFS,
    "invalid-seek": _errno.ESPIPE,
    "text-file-busy": _errno.ETXTBSY,
    "cross-device": _errno.EXDEV,
}


def _wit_name(value):
    """`ErrorCode.NAME_TOO_LONG` -> "name-too-long" (any generated enum)."""
    name = getattr(value, "name", None)
    return name.lower().replace("_", "-") if isinstance(name, str) else repr(value)


def _os_error(code, table, filename=None):
    """The exception for a WIT error-code `code` (its kebab-case name)."""
    num = table.get(code, _errno.EIO)
    msg = os.strerror(num)
    if code == "invalid-argument" and table is ERRNO:
        err = InvalidArgumentError(num, msg, filename)
    elif filename is None:
        err = OSError(num, msg)  # picks FileNotFoundError etc. from errno
    else:
        err = OSError(num, msg, filename)
    err.wasi_memfd_code = code
    return err


def _memfd_error(e, filename):
    return _os_error(_wit_name(e.value), ERRNO, filename)


def _fs_error(e, filename):
    return _os_error(_wit_name(e.value), _FS_ERRNO, filename)


class MemFile(io.RawIOBase):
    """An ``io.RawIOBase`` over a ``wasi:filesystem`` descriptor.

    Reads and writes go to the descriptor at this object's own position
    (positional ``read``/``write``), so several ``MemFile`` objects on the
    same descriptor never disturb each other. The size is read once with
    ``stat`` (memory files never change size). ``close`` drops the
    descriptor; the host frees the memory file when its last handle goes.
    """

    def __init__(self, descriptor, name="", writable=False):
        super().__init__()
        self._descriptor = descriptor
        self._writable = bool(writable)
        self._pos = 0
        self.name = name
        self.mode = "r+b" if self._writable else "rb"
        try:
            self._size = descriptor.stat().size
        except Err as e:
            self._descriptor = None
            descriptor.__exit__(None, None, None)
            raise _fs_error(e, name) from None

    # -- what RawIOBase asks for -------------------------------------------

    def readable(self):
        self._check_closed()
        return True

    def writable(self):
        self._check_closed()
        return self._writable

    def seekable(self):
        self._check_closed()
        return True

    def readinto(self, buffer):
        self._check_closed()
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._size - self._pos)
        if want <= 0:
            return 0
        data = self.pread(want, self._pos)
        n = len(data)
        view[:n] = data
        self._pos += n
        return n

    def readall(self):
        self._check_closed()
        chunks = []
        while self._pos < self._size:
            data = self.pread(self._size - self._pos, self._pos)
            if not data:
                break
            chunks.append(data)
            self._pos += len(data)
        return b"".join(chunks)

    def write(self, buffer):
        self._check_closed()
        if not self._writable:
            raise io.UnsupportedOperation("File not open for writing")
        data = bytes(buffer)
        if not data:
            return 0
        # The size is fixed: as on the host's memory-file fds (and in the Go,
        # C and Rust bindings), a write at or past the end fails with EFBIG
        # and one that crosses it is short, without asking the host.
        room = self._size - self._pos
        if room <= 0:
            raise OSError(_errno.EFBIG, os.strerror(_errno.EFBIG), self.name)
        data = data[:room]
        try:
            n = self._descriptor.write(data, self._pos)
        except Err as e:
            raise _fs_error(e, self.name) from None
        self._pos += n
        return n

    def seek(self, offset, whence=io.SEEK_SET):
        self._check_closed()
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._size + offset
        else:
            raise ValueError(f"invalid whence ({whence}, should be 0, 1 or 2)")
        if pos < 0:
            raise OSError(_errno.EINVAL, os.strerror(_errno.EINVAL), self.name)
        self._pos = pos
        return pos

    def tell(self):
        self._check_closed()
        return self._pos

    def truncate(self, size=None):
        raise io.UnsupportedOperation("memory files have a fixed size")

    def close(self):
        if not self.closed:
            descriptor, self._descriptor = self._descriptor, None
            try:
                super().close()
            finally:
                if descriptor is not None:
                    descriptor.__exit__(None, None, None)

    def _check_closed(self):
        if self.closed:
            raise ValueError("I/O operation on closed file.")

    # -- beyond RawIOBase --------------------------------------------------

    @property
    def descriptor(self):
        """The ``wasi:filesystem`` descriptor (``types.Descriptor``)."""
        self._check_closed()
        return self._descriptor

    @property
    def size(self):
        """The file's size in bytes (fixed for its lifetime)."""
        return self._size

    def stat(self):
        """``descriptor.stat()``: a ``DescriptorStat`` (``type``, ``size``, ...)."""
        self._check_closed()
        try:
            return self._descriptor.stat()
        except Err as e:
            raise _fs_error(e, self.name) from None

    def pread(self, length, offset):
        """Up to ``length`` bytes at ``offset``; the position is left alone."""
        self._check_closed()
        try:
            data, _end = self._descriptor.read(length, offset)
        except Err as e:
            raise _fs_error(e, self.name) from None
        return data

    def stream_chunks(self, offset=0, chunk_size=65536):
        """Yields the bytes from ``offset`` to the end through
        ``read-via-stream`` (a ``wasi:io`` input stream)."""
        self._check_closed()
        return stream_chunks(self._descriptor, offset, chunk_size, self.name)

    def __repr__(self):
        state = "closed" if self.closed else f"size={self._size}"
        return f"<wasi_memfd.MemFile name={self.name!r} mode={self.mode!r} {state}>"


def stream_chunks(descriptor, offset=0, chunk_size=65536, name=None):
    """Yields a descriptor's bytes from ``offset`` on through
    ``read-via-stream``, ``chunk_size`` at most at a time; the stream is
    dropped when the generator finishes or is closed."""
    try:
        stream = descriptor.read_via_stream(offset)
    except Err as e:
        raise _fs_error(e, name) from None
    with stream:
        while True:
            try:
                data = stream.blocking_read(chunk_size)
            except Err as e:
                if type(e.value).__name__.endswith("Closed"):
                    return
                raise OSError(_errno.EIO, f"stream read failed: {e.value!r}", name) from None
            if data:
                yield data


def _wrap(raw, buffering):
    if buffering == 0:
        return raw
    size = io.DEFAULT_BUFFER_SIZE if buffering in (-1, 1) else buffering
    if raw.writable():
        return io.BufferedRandom(raw, size)
    return io.BufferedReader(raw, size)


def from_bytes(data, name="", writable=False, buffering=-1):
    """Copies ``data`` (any bytes-like object) into a new host memory file
    and opens it: ``io.BufferedReader``, or ``io.BufferedRandom`` when
    ``writable`` (the bytes can then be overwritten in place; the size never
    changes); the raw :class:`MemFile` when ``buffering=0``.

    ``name`` labels the file (``/proc/<pid>/fd`` on the host shows
    ``memfd:wasi-memfd:<name>``): at most 249 bytes, no NUL.
    """
    flags = _memfd.OpenFlags.WRITABLE if writable else _memfd.OpenFlags(0)
    try:
        descriptor = _memfd.from_bytes(bytes(data), name, flags)
    except Err as e:
        raise _memfd_error(e, name) from None
    return _wrap(MemFile(descriptor, name, writable), buffering)


def open_preopened(name, buffering=-1):
    """Opens the file the host attached under ``name``
    (``wasi-memfd run --preopen NAME=PATH``); writable when the host attached
    it writable. ``FileNotFoundError`` when there is none."""
    try:
        descriptor = _memfd.open_preopened(name)
    except Err as e:
        raise _memfd_error(e, name) from None
    try:
        flags = descriptor.get_flags()
    except Err as e:
        descriptor.__exit__(None, None, None)
        raise _fs_error(e, name) from None
    writable = bool(flags & type(flags).WRITE)
    return _wrap(MemFile(descriptor, name, writable), buffering)
