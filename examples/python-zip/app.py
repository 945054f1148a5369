"""python-zip: zipfile over a wasi-memfd file, in a componentize-py guest.

    python-zip ARCHIVE.zip        read the bytes (through a --dir preopen),
                                  then wasi_memfd.from_bytes
    python-zip -preopen NAME      the archive the host attached with
                                  --preopen NAME=PATH

Lists each file entry as examples/zip-lister (Go) does: CRC-32, SHA-256 of
the content, size, name; then a summary line.
"""

import hashlib
import posixpath
import sys
import zipfile
import zlib

from componentize_py_types import Err
from wit_world import exports

import wasi_memfd


def listing(f):
    size = f.raw.stat().size
    files = total = 0
    with zipfile.ZipFile(f) as z:
        for info in z.infolist():
            if info.is_dir():
                continue
            data = z.read(info)  # zipfile checks the CRC-32 itself
            crc = zlib.crc32(data)
            if crc != info.CRC:
                raise ValueError(f"{info.filename}: CRC-32 {crc:08x}, archive says {info.CRC:08x}")
            print(f"{crc:08x}  {hashlib.sha256(data).hexdigest()}  {len(data)}  {info.filename}")
            files += 1
            total += len(data)
    print(f"{files} files, {total} bytes uncompressed, {size} bytes compressed archive")


def open_archive(args):
    if len(args) == 2 and args[0] == "-preopen":
        return wasi_memfd.open_preopened(args[1])
    if len(args) == 1 and not args[0].startswith("-"):
        with open(args[0], "rb") as src:
            data = src.read()
        # The bytes the guest holds become a file: one copy, into host memory.
        return wasi_memfd.from_bytes(data, name=posixpath.basename(args[0]))
    print("usage: python-zip ARCHIVE.zip | python-zip -preopen NAME", file=sys.stderr)
    raise Err(None)


class Run(exports.Run):
    def run(self) -> None:
        try:
            with open_archive(sys.argv[1:]) as f:
                listing(f)
        except (OSError, ValueError, zipfile.BadZipFile) as e:
            print(f"python-zip: {e}", file=sys.stderr)
            raise Err(None) from None
