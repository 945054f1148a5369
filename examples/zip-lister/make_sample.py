#!/usr/bin/env python3
"""Makes sample.zip and expected.txt for the zip-lister example.

sample.zip holds a few text files with fixed timestamps (so the archive is
the same every time with a given zlib). expected.txt is zip-lister's output
for it, computed here independently with Python's zipfile, zlib and hashlib;
tests/examples.rs compares the guest's output against it.

    python3 examples/zip-lister/make_sample.py
"""
import hashlib
import os
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
STAMP = (2024, 1, 2, 3, 4, 6)

ENTRIES = [
    ("README.txt", zipfile.ZIP_DEFLATED,
     b"A sample archive for the wasi-memfd zip-lister example.\n"),
    ("poems/fog.txt", zipfile.ZIP_DEFLATED,
     b"The fog comes\non little cat feet.\n\n"
     b"It sits looking\nover harbor and city\non silent haunches\n"
     b"and then moves on.\n"),
    ("data/numbers.csv", zipfile.ZIP_DEFLATED,
     b"n,square,cube\n" + b"".join(b"%d,%d,%d\n" % (i, i * i, i ** 3) for i in range(1, 201))),
    ("data/stored.txt", zipfile.ZIP_STORED,
     b"This entry is stored, not deflated.\n"),
    ("empty.txt", zipfile.ZIP_STORED, b""),
]


def main():
    archive = os.path.join(HERE, "sample.zip")
    with zipfile.ZipFile(archive, "w") as zf:
        for name, method, data in ENTRIES:
            info = zipfile.ZipInfo(name, date_time=STAMP)
            info.compress_type = method
            info.external_attr = 0o644 << 16
            info.create_system = 3
            zf.writestr(info, data)

    lines = []
    total = 0
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            data = zf.read(info)
            assert info.CRC == zlib.crc32(data)
            lines.append("%08x  %s  %d  %s\n" % (
                info.CRC, hashlib.sha256(data).hexdigest(), len(data), info.filename))
            total += len(data)
    lines.append("%d files, %d bytes uncompressed, %d bytes compressed archive\n" % (
        len(lines), total, os.path.getsize(archive)))
    with open(os.path.join(HERE, "expected.txt"), "w") as f:
        f.writelines(lines)


if __name__ == "__main__":
    main()
