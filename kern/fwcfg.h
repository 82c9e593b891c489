/*
 * QEMU's firmware configuration device (fw_cfg): named files the host puts in
 * the machine with `-fw_cfg name=opt/...,file=...`. The grader hands the test
 * framework its signing key this way, away from the command line (which the
 * boot loader parses at a cost that depends on its bytes).
 */
#ifndef KERN_FWCFG_H
#define KERN_FWCFG_H

#include "lib/types.h"

/*
 * fwcfg_read_file - copy the first size bytes of fw_cfg file name into buf.
 * Returns the file's full size (which may be more or less than size), or
 * -ENOENT when there is no such file or no fw_cfg device. Not reentrant: call
 * with one CPU running, or under a lock of the caller's.
 */
long fwcfg_read_file(const char *name, void *buf, size_t size);

#endif
