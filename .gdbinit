# Pagoda's GDB setup.  `make gdb` runs `gdb -q -n -x .gdbinit` with OBJ and
# GDBPORT in the environment; a plain `gdb` in this directory loads it too once
# your ~/.config/gdb/gdbinit (or ~/.gdbinit) has the line
#     add-auto-load-safe-path /path/to/pagoda/.gdbinit
#
# QEMU always sends 64-bit registers: GDB must believe the target is x86-64
# before it connects, or it fails with "Remote 'g' packet reply is too long".
set architecture i386:x86-64

python
import os

_pagoda_obj = os.environ.get("OBJ") or "obj"
_pagoda_kernel = os.path.join(_pagoda_obj, "kern", "kernel")
if os.path.exists(_pagoda_kernel):
    gdb.execute("file " + _pagoda_kernel)
else:
    print("pagoda: %s does not exist: build it first (make OBJ=%s)" % (_pagoda_kernel, _pagoda_obj))

if os.path.exists("tools/gdb/pagoda.py"):
    gdb.execute("source tools/gdb/pagoda.py")
    print("pagoda: ptwalk VA | ptdump [CR3] | pfinfo | trapframe [TF] | boot-break SYM | ptmem"
          " | memview [FILE]   (help CMD for details)")
    print("pagoda: kern/boot.S before higher_half runs at physical addresses: "
          "use `boot-break _start`, not `break _start`")
else:
    print("pagoda: tools/gdb/pagoda.py not found: run gdb from the top of the repository")

# Same default as the Makefile: 26000 + uid % 5000.
_pagoda_port = os.environ.get("GDBPORT") or str(26000 + os.getuid() % 5000)
# GDB itself retries a refused connection until `tcp connect-timeout` (15 s by
# default): 3 s is enough for `make qemu-gdb` started just before.
gdb.execute("set tcp connect-timeout 3")
try:
    gdb.execute("target remote localhost:" + _pagoda_port)
except gdb.error as e:
    print("pagoda: cannot connect to QEMU on localhost:%s (%s)" % (_pagoda_port, e))
    print("pagoda: start it with `make qemu-gdb`, then: target remote localhost:%s" % _pagoda_port)
end
