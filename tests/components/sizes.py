#!/usr/bin/env python3
"""Prints, for each component given, its size and, for each core module inside it (component
section 1, nested components included), the module's size, its memories' initial size and
the bytes its active data segments initialise: the figures docs/COMPONENTS.md records.

    tests/components/sizes.py build/components/*.wasm
"""
import sys


def leb(buf, pos):
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return result, pos


def skip_expr(buf, pos):
    """Skips a constant expression up to its `end` (0x0b); data offsets are i32.const or
    global.get, whose immediates never contain 0x0b as a first byte we would stop on."""
    op = buf[pos]
    pos += 1
    if op in (0x41, 0x42, 0x23):  # i32.const, i64.const, global.get
        _, pos = leb(buf, pos)
    assert buf[pos] == 0x0B, "unexpected constant expression"
    return pos + 1


def core_module(buf):
    pos, pages, data = 8, 0, 0
    while pos < len(buf):
        sid = buf[pos]
        size, pos = leb(buf, pos + 1)
        end = pos + size
        if sid == 5:  # memory
            n, p = leb(buf, pos)
            for _ in range(n):
                flags, p = leb(buf, p)
                initial, p = leb(buf, p)
                if flags & 1:
                    _, p = leb(buf, p)
                pages += initial
        elif sid == 11:  # data
            n, p = leb(buf, pos)
            for _ in range(n):
                kind, p = leb(buf, p)
                if kind == 2:
                    _, p = leb(buf, p)
                if kind in (0, 2):
                    p = skip_expr(buf, p)
                length, p = leb(buf, p)
                if kind in (0, 2):
                    data += length
                p += length
        pos = end
    return pages, data


def walk(buf, depth, out):
    pos = 8
    while pos < len(buf):
        sid = buf[pos]
        size, pos = leb(buf, pos + 1)
        body = buf[pos:pos + size]
        if sid == 1:
            out.append((depth, size) + core_module(body))
        elif sid == 4:
            walk(body, depth + 1, out)
        pos += size


for path in sys.argv[1:]:
    buf = open(path, "rb").read()
    mods = []
    walk(buf, 0, mods)
    print(f"{path}: {len(buf)} bytes, {len(mods)} core modules")
    for depth, size, pages, data in mods:
        print(f"  {'  ' * depth}core module {size} bytes, memory {pages * 64} KiB initial, "
              f"{data} bytes of active data")
