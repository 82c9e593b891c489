"""The test framework's signed lines (grading/README.md, "Signed lines").

For each boot the grader draws a fresh key and nonce and hands them to the
kernel in QEMU's fw_cfg file opt/pagoda/key ("<key hex> <nonce hex>"); the
kernel takes them before any lab code runs. Not on the command line: the
kernel command line is readable by every test and user program, and GRUB
parses it at a cost that depends on its bytes, which would make each boot's
SMP=det interleaving depend on the key. Every line that carries a verdict or frames a test (TEST SEED,
START, PASS, FAIL, SUMMARY) ends in " ~SEQ:MAC": SEQ counts the signed lines
of the boot from 0, MAC is HMAC-SHA-256(key, "NONCE SEQ LINE") cut to its
first 16 bytes, in hex (kern/test/ktest.c, lib/sha256.c). A line that does not
verify, or comes out of order, is output, never a result.
"""
import hashlib
import hmac
import os
import re

KEY_BYTES = 32
FW_CFG_NAME = "opt/pagoda/key"
MAC_HEX = 32
KINDS = ("SEED", "START", "PASS", "FAIL", "SUMMARY")
SIGNED = re.compile(rb"^(TEST (?:SEED|START|PASS|FAIL|SUMMARY) .*) ~(\d+):([0-9a-f]{%d})$"
                    % MAC_HEX)
BODY = re.compile(r"^TEST (SEED|START|PASS|FAIL|SUMMARY) (\S+?):?(?: (.*))?$")
# A verdict-like text anywhere in a line, as a student's code might print it.
CLAIM = re.compile(r"TEST (?:START|PASS|FAIL) (\S+?)(?=:|\s|$|TEST )")


def mac(key, nonce, seq, body):
    """The MAC of one line body (bytes, without the ' ~SEQ:MAC' suffix)."""
    msg = b"%s %d %s" % (nonce.encode(), seq, body)
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:MAC_HEX]


class Verifier:
    """One boot's key, nonce and expected sequence number."""

    def __init__(self, key=None, nonce=None):
        self.key = key if key is not None else os.urandom(KEY_BYTES)
        self.nonce = nonce if nonce is not None else os.urandom(8).hex()
        self.seq = 0

    def fw_cfg_text(self):
        return "%s %s\n" % (self.key.hex(), self.nonce)

    def qemu_args(self, tmpdir):
        """QEMU options that hand this boot's key to the kernel (a 0600 file in tmpdir)."""
        path = os.path.join(tmpdir, "key")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.fw_cfg_text())
        return ["-fw_cfg", "name=%s,file=%s" % (FW_CFG_NAME, path)]

    def sign(self, body):
        """The line the kernel prints for body (str): for tests of the grader."""
        line = "%s ~%d:%s" % (body, self.seq, mac(self.key, self.nonce, self.seq,
                                                  body.encode()))
        self.seq += 1
        return line

    def verify(self, raw):
        """(kind, name, rest) if raw (bytes, one line without its newline) is the
        next signed line of this boot, else None."""
        m = SIGNED.match(raw)
        if not m or int(m.group(2)) != self.seq:
            return None
        body = m.group(1)
        if not hmac.compare_digest(mac(self.key, self.nonce, self.seq, body),
                                   m.group(3).decode()):
            return None
        b = BODY.match(body.decode(errors="replace"))
        if not b:
            return None
        self.seq += 1
        return b.group(1), b.group(2), b.group(3) or ""


def claims(line):
    """Test names that a line which did not verify claims to start or judge."""
    return [m.group(1) for m in CLAIM.finditer(line)]
