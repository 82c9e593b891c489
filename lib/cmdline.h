/*
 * Kernel command line parsing: space-separated words, each "key=value" or a
 * bare "flag". Pure functions, so the host unit tests cover them.
 */
#ifndef LIB_CMDLINE_H
#define LIB_CMDLINE_H

#include "lib/types.h"

/*
 * cmdline_get - copy the value of key into buf (NUL-terminated, truncated to
 * size - 1). Returns the value's full length, or -1 when key is absent. A bare
 * flag has the empty value.
 */
int cmdline_get(const char *cmdline, const char *key, char *buf, size_t size);

/*
 * cmdline_unescape_grub - undo, in place, the backslash GRUB puts before
 * every \, ' and " of a command line it passes to the kernel
 * (grub_create_loader_cmdline), so that the kernel sees the bytes grub.cfg
 * asked for. A backslash before any other byte, or at the end, is kept: GRUB
 * never writes one.
 */
void cmdline_unescape_grub(char *cmdline);

/*
 * cmdline_get_rest - copy into buf (NUL-terminated) everything from key's
 * value to the end of cmdline, trailing whitespace dropped: the value of a
 * last word that may hold spaces ("run=hello a b"). Returns its length, -1
 * when key is absent, or -E2BIG when it needs more than size - 1 bytes: then
 * buf holds "" (a cut argument list would run something else).
 */
int cmdline_get_rest(const char *cmdline, const char *key, char *buf, size_t size);

/*
 * cmdline_get_u64 - numeric value of key (decimal or 0x hex), or dflt when key
 * is absent or its value is empty, not all digits, or does not fit in 64 bits.
 */
uint64_t cmdline_get_u64(const char *cmdline, const char *key, uint64_t dflt);

/*
 * list_match - whether name is selected by a comma-separated list of
 * patterns. A pattern selects a name equal to it or starting with it followed
 * by a dot ("lab1" selects "lab1.walk"), and "all" selects everything.
 */
bool list_match(const char *list, const char *name);

#endif
