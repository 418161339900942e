#!/usr/bin/env python3
"""Rewrites a component so that every `canon lift` that names the utf8 string encoding names
latin1+utf16 instead (the same byte count: option 0x00 becomes 0x02), for the test of the
component-dependency fallback (tests/host/test_deps.c): the one-copy adapter copies UTF-8
only, so a dependency that lifts with another encoding must go through component values.
Only top-level canon sections are read (what `jco new` writes).
Usage: latin1_lifts.py IN.wasm OUT.wasm"""
import sys


def leb(b, i):
    r = s = 0
    while True:
        x = b[i]
        i += 1
        r |= (x & 0x7F) << s
        s += 7
        if x < 0x80:
            return r, i


def opts(b, j, patch):
    n, j = leb(b, j)
    for _ in range(n):
        o = b[j]
        if o == 0x00 and patch is not None:
            patch.append(j)
        j += 1
        if o in (3, 4, 5):  # memory, realloc, post-return: an index follows
            _, j = leb(b, j)
    return j


def main():
    data = bytearray(open(sys.argv[1], "rb").read())
    if data[4:8] != b"\x0d\x00\x01\x00":
        sys.exit(f"{sys.argv[1]}: not a component")
    at = []
    i = 8
    while i < len(data):
        sid = data[i]
        size, i = leb(data, i + 1)
        if sid == 8:  # canon
            n, j = leb(data, i)
            for _ in range(n):
                op = data[j]
                if op == 0x00:  # lift: 0x00 0x00 core-func opts type
                    _, j = leb(data, j + 2)
                    j = opts(data, j, at)
                    _, j = leb(data, j)
                elif op == 0x01:  # lower: 0x01 0x00 func opts
                    _, j = leb(data, j + 2)
                    j = opts(data, j, None)
                elif op in (2, 3, 4):  # resource.new/drop/rep
                    _, j = leb(data, j + 1)
                else:
                    sys.exit(f"{sys.argv[1]}: canon opcode {op:#x} at {j:#x} is not handled")
        i += size
    if not at:
        sys.exit(f"{sys.argv[1]}: no lift names the utf8 encoding")
    for j in at:
        data[j] = 0x02
    open(sys.argv[2], "wb").write(data)


main()
