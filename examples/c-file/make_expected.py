#!/usr/bin/env python3
"""Writes expected.txt: c-file's output for inventory.csv, computed here
independently of the C code. tests/examples.rs compares against it.

    python3 examples/c-file/make_expected.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    with open(os.path.join(HERE, "inventory.csv"), "rb") as f:
        data = f.read()
    out = ["inventory (through FILE *):\n"]
    items = units = total = 0
    for line in data.decode().splitlines():
        if not line or line.startswith("#") or line.startswith("name,"):
            continue
        name, qty, price = line.split(",")
        qty, cents = int(qty), round(float(price) * 100)
        value = qty * cents
        out.append("  %-10s %5d x %3d.%02d = %7d.%02d\n" % (
            name, qty, cents // 100, cents % 100, value // 100, value % 100))
        items += 1
        units += qty
        total += value
    out.append("  %d items, %d units, total value %d.%02d\n" % (
        items, units, total // 100, total % 100))

    body = data[:-1] if data.endswith(b"\n") else data
    starts = [i + 1 for i, c in enumerate(body) if c == ord("\n")]
    start = starts[-3] if len(starts) >= 3 else 0
    out.append("tail -n 3 (through fstat + pread):\n")
    out.append("  (%d-byte file, last 3 lines from offset %d)\n" % (len(data), start))
    out.append(data[start:].decode())
    with open(os.path.join(HERE, "expected.txt"), "w") as f:
        f.writelines(out)


if __name__ == "__main__":
    main()
