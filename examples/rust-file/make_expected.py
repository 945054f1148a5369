#!/usr/bin/env python3
"""Computes expected.txt, the rust-file example's output for notes.txt,
independently of the guest: line, word and byte counts, the longest line,
and the last three lines."""
import pathlib

here = pathlib.Path(__file__).resolve().parent
data = (here / "notes.txt").read_bytes()
lines = data.decode("utf-8").split("\n")
if lines and lines[-1] == "":
    lines.pop()
words = len(data.decode("utf-8").split())
longest = max(range(len(lines)), key=lambda i: (len(lines[i].encode()), -i))
out = [
    f"{len(lines)} lines, {words} words, {len(data)} bytes",
    f"longest line: {longest + 1} ({len(lines[longest].encode())} bytes)",
    "last 3 lines:",
]
out += [f"  {line}" for line in lines[-3:]]
(here / "expected.txt").write_text("\n".join(out) + "\n")
