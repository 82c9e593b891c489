#!/usr/bin/env python3
"""Give a built Pagoda ISO another kernel command line without rebuilding it.

The Makefile writes grub.cfg with a fixed-width command-line field right after
"multiboot2 /boot/kernel ". ISO 9660 stores file data as is, so the field can
be overwritten in a copy of the ISO: much faster than grub-mkrescue per boot.

Usage: isocmdline.py IN.iso OUT.iso 'test=lab1 seed=42'
"""
import os
import sys

MARKER = b"multiboot2 /boot/kernel "
FIELD = 1024  # must match CMDLINE_FIELD in the Makefile


class IsoError(Exception):
    pass


def field_offset(data):
    off = data.find(MARKER)
    if off < 0 or data.find(MARKER, off + 1) >= 0:
        raise IsoError("grub.cfg command-line field not found exactly once in the ISO")
    start = off + len(MARKER)
    if data[start + FIELD:start + FIELD + 1] != b"\n":
        raise IsoError("grub.cfg command-line field is not %d bytes wide" % FIELD)
    return start


def with_cmdline(data, cmdline):
    """Return a copy of the ISO bytes whose kernel command line is cmdline."""
    raw = cmdline.encode()
    if len(raw) > FIELD or b"\n" in raw:
        raise IsoError("command line longer than %d bytes or multi-line" % FIELD)
    start = field_offset(data)
    out = bytearray(data)
    out[start:start + FIELD] = raw.ljust(FIELD)
    return bytes(out)


def write_iso(src, dst, cmdline):
    with open(src, "rb") as f:
        data = f.read()
    tmp = dst + ".tmp%d" % os.getpid()
    with open(tmp, "wb") as f:
        f.write(with_cmdline(data, cmdline))
    os.replace(tmp, dst)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip().splitlines()[-1])
    try:
        write_iso(sys.argv[1], sys.argv[2], sys.argv[3])
    except (IsoError, OSError) as e:
        sys.exit("isocmdline: %s" % e)
