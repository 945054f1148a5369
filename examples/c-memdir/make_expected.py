#!/usr/bin/env python3
"""Writes expected.txt: c-memdir's output for input/ (read at /in, summary
written to /out), computed here independently of the C code, with wc's
rules (a line is a newline, a word a run of non-whitespace bytes).

    python3 examples/c-memdir/make_expected.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def files(top):
    """Regular files under top, relative, in byte order per directory."""
    out = []

    def walk(d, rel):
        for name in sorted(os.listdir(d), key=os.fsencode):
            full, sub = os.path.join(d, name), f"{rel}/{name}" if rel else name
            if os.path.isdir(full):
                walk(full, sub)
            elif os.path.isfile(full):
                out.append((full, sub))

    walk(top, "")
    return out


def main():
    rows = ["%7s %7s %7s  %s\n" % ("lines", "words", "bytes", "file")]
    total = [0, 0, 0]
    found = files(os.path.join(HERE, "input"))
    for full, rel in found:
        with open(full, "rb") as f:
            data = f.read()
        c = [data.count(b"\n"), len(data.split()), len(data)]
        rows.append("%7d %7d %7d  %s\n" % (*c, rel))
        total = [a + b for a, b in zip(total, c)]
    rows.append("%7d %7d %7d  total (%d files)\n" % (*total, len(found)))
    summary = "".join(rows)
    out = summary + "wrote /out/summary.txt: %d bytes\n" % len(summary.encode())
    with open(os.path.join(HERE, "expected.txt"), "w") as f:
        f.write(out)


if __name__ == "__main__":
    main()
