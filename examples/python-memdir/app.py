"""python-memdir: plain Python file code in a memory directory.

A componentize-py component with no wasi-memfd import: it reads a CSV by
path, writes one small report file per continent with open(), zips the
reports with zipfile.ZipFile(path, "w"), reads the archive back by path and
prints its listing, then lists the output directory. Run with --mem-dir,
every path it opens is served from memory.

    python-memdir IN OUT    reads IN/cities.csv; writes OUT/report/*.txt
                            and OUT/report.zip

Build and run it with `bash examples/run.sh python-memdir`.
"""

import csv
import os
import sys
import zipfile
import zlib

# zipfile decodes entry names not flagged UTF-8 with cp437, through a codec
# lookup that componentize-py cannot see: import the codec so it is bundled.
import encodings.cp437  # noqa: F401

from componentize_py_types import Err
from wit_world import exports


def write_reports(src, report_dir):
    by_continent = {}
    with open(src, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            by_continent.setdefault(row["continent"], []).append(row)
    os.mkdir(report_dir)
    names = []
    for continent, rows in sorted(by_continent.items()):
        name = continent.lower().replace(" ", "-") + ".txt"
        total = sum(int(r["population"]) for r in rows)
        with open(os.path.join(report_dir, name), "w", encoding="utf-8") as out:
            out.write(f"{continent}: {len(rows)} cities, {total:,} people\n")
            for r in sorted(rows, key=lambda r: -int(r["population"])):
                out.write(f"  {r['city']:<10} {r['country']:<10} {int(r['population']):>12,}\n")
        names.append(name)
    return names


def zip_reports(report_dir, names, archive):
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name in names:
            z.write(os.path.join(report_dir, name), arcname=f"report/{name}")


def list_archive(archive):
    with zipfile.ZipFile(archive) as z:
        bad = z.testzip()
        if bad is not None:
            raise ValueError(f"{archive}: {bad} is corrupt")
        total = 0
        for info in z.infolist():
            data = z.read(info)
            if zlib.crc32(data) != info.CRC:
                raise ValueError(f"{info.filename}: CRC-32 mismatch")
            print(f"{info.CRC:08x}  {info.file_size:5}  {info.filename}")
            total += info.file_size
        print(f"{len(z.infolist())} entries, {total} bytes, {sum(i.compress_size for i in z.infolist())} bytes deflated")


def list_dir(path):
    print(f"{path}:")
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        if os.path.isdir(full):
            print(f"  {name + '/':<14} {len(os.listdir(full))} files")
        else:
            print(f"  {name:<14} {os.path.getsize(full)} bytes")


class Run(exports.Run):
    def run(self) -> None:
        if len(sys.argv) != 3:
            print("usage: python-memdir IN OUT", file=sys.stderr)
            raise Err(None)
        src, out = sys.argv[1], sys.argv[2]
        try:
            names = write_reports(os.path.join(src, "cities.csv"), os.path.join(out, "report"))
            archive = os.path.join(out, "report.zip")
            zip_reports(os.path.join(out, "report"), names, archive)
            list_archive(archive)
            list_dir(out)
        except (OSError, ValueError, zipfile.BadZipFile) as e:
            print(f"python-memdir: {e}", file=sys.stderr)
            raise Err(None) from None
