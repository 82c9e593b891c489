#!/bin/sh
# Run QEMU and explain its exit status (isa-debug-exit codes, kern/panic.h).
"$@"
status=$?
case $status in
0) msg="QEMU exited (quit by you, or the kernel reset: a triple fault with -no-reboot)" ;;
33) msg="all selected tests passed"; status=0 ;;
35) msg="some tests failed" ;;
37) msg="the kernel panicked" ;;
39) msg="the kernel halted on request"; status=0 ;;
*) msg="QEMU failed with status $status" ;;
esac
echo "pagoda: $msg" >&2
exit $status
