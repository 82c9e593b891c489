#!/usr/bin/env python3
"""Build the kernel's embedded symbol table (see kern/ksyms.h).

Usage: mksyms.py NM_OUTPUT OUT_BLOB SIZE
NM_OUTPUT is `nm -S --defined-only` of the linked kernel. Writes a blob of
exactly SIZE bytes, sorted by address, that objcopy puts into .ksyms.
"""
import struct
import sys

MAGIC = 0x4D59534B


def main():
    nm_path, out_path, size = sys.argv[1], sys.argv[2], int(sys.argv[3], 0)
    syms = []
    with open(nm_path) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 4 or parts[2] not in "tTwW":
                continue
            addr, length, name = int(parts[0], 16), int(parts[1], 16), parts[3]
            syms.append((addr, length, name))
    syms.sort()
    header = 16
    entries = 16 * len(syms)
    strtab = bytearray()
    body = bytearray()
    for addr, length, name in syms:
        body += struct.pack("<QII", addr, length, len(strtab))
        strtab += name.encode() + b"\0"
    blob = struct.pack("<IIII", MAGIC, len(syms), header + entries, 0) + body + strtab
    if len(blob) > size:
        sys.exit("mksyms: symbol table needs %d bytes, KSYMS_BLOB_SIZE is %d: "
                 "raise it in kern/ksyms.h" % (len(blob), size))
    with open(out_path, "wb") as f:
        f.write(blob + bytes(size - len(blob)))


if __name__ == "__main__":
    main()
