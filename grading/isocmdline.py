#!/usr/bin/env python3
r"""Give a built Pagoda ISO another kernel command line without rebuilding it.

The Makefile writes grub.cfg with a fixed-width command-line field right after
"multiboot2 /boot/kernel ". ISO 9660 stores file data as is, so the field can
be overwritten in a copy of the ISO: much faster than grub-mkrescue per boot.

GRUB parses that line like a shell: `$` expands a variable, `;` ends the
command, `#` starts a comment, quotes and backslashes are removed, runs of
spaces collapse. So each space-separated word is written in single quotes
(inside them everything is literal; a single quote is written '\'' ), and an
empty word ('') stands for each extra space, which GRUB turns back into a
space when it joins the words. GRUB then puts a backslash before every \, '
and " it passes on; the kernel takes those backslashes out again
(cmdline_unescape_grub in lib/cmdline.c). So every printable byte reaches the
kernel as given; control characters and a line that does not fit the field
once quoted are refused with an error.

Usage: isocmdline.py IN.iso OUT.iso 'test=lab1 seed=42'
       isocmdline.py --env VAR IN.iso OUT.iso    (the command line from $VAR)
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


def check_cmdline(raw):
    """Raise IsoError naming the first byte of raw that cannot reach the kernel as is."""
    for i, b in enumerate(raw):
        if b < 0x20 or b == 0x7f:
            raise IsoError("command line byte %d is the control character %#04x: it cannot "
                           "be passed through grub.cfg; use printable characters" % (i, b))


def grub_words(raw):
    """The grub.cfg text that makes GRUB hand the kernel exactly raw."""
    if not raw:
        return b""
    return b" ".join(b"'" + w.replace(b"'", b"'\\''") + b"'" for w in raw.split(b" "))


def with_cmdline(data, cmdline):
    """Return a copy of the ISO bytes whose kernel command line is cmdline
    (str or bytes)."""
    raw = cmdline if isinstance(cmdline, bytes) else os.fsencode(cmdline)
    check_cmdline(raw)
    text = grub_words(raw)
    if len(text) > FIELD:
        raise IsoError("command line too long: %d bytes, %d once quoted for grub.cfg "
                       "(at most %d)" % (len(raw), len(text), FIELD))
    start = field_offset(data)
    out = bytearray(data)
    out[start:start + FIELD] = text.ljust(FIELD)
    return bytes(out)


def write_iso(src, dst, cmdline):
    with open(src, "rb") as f:
        data = f.read()
    out = with_cmdline(data, cmdline)
    tmp = dst + ".tmp%d" % os.getpid()
    with open(tmp, "wb") as f:
        f.write(out)
    os.replace(tmp, dst)


def main(argv):
    if len(argv) == 5 and argv[1] == "--env":
        src, dst = argv[3], argv[4]
        cmdline = os.environb.get(os.fsencode(argv[2]), b"")
    elif len(argv) == 4:
        src, dst, cmdline = argv[1], argv[2], argv[3]
    else:
        sys.exit(__doc__.strip().splitlines()[-2].strip() + "\n" +
                 __doc__.strip().splitlines()[-1].strip())
    try:
        write_iso(src, dst, cmdline)
    except (IsoError, OSError) as e:
        sys.exit("isocmdline: %s" % e)


if __name__ == "__main__":
    main(sys.argv)
