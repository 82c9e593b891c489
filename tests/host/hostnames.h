/*
 * Host unit tests link lib/ next to the C library: rename lib/'s functions
 * so the tests call Pagoda's code, not glibc's, and neither shadows the other.
 *
 * The C library's headers come first, so that their declarations keep their
 * own names. Renamed, they would declare Pagoda's functions with the C
 * library's attributes: glibc 2.38 declares strlcpy() nonnull, which makes
 * strlcpy(NULL, s, 0) (allowed by lib/string.h) undefined behaviour and an
 * error for GCC 14; with _FORTIFY_SOURCE (Ubuntu's default) its inline
 * wrappers would become second definitions of pg_memcpy and the like. The
 * tests take the declarations from lib/string.h and lib/printfmt.h.
 */
#ifndef TESTS_HOST_HOSTNAMES_H
#define TESTS_HOST_HOSTNAMES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define memcpy pg_memcpy
#define memmove pg_memmove
#define memset pg_memset
#define memcmp pg_memcmp
#define strlen pg_strlen
#define strnlen pg_strnlen
#define strcmp pg_strcmp
#define strncmp pg_strncmp
#define strchr pg_strchr
#define strlcpy pg_strlcpy
#define strtoul pg_strtoul
#define vsnprintf pg_vsnprintf
#define snprintf pg_snprintf
/* kern/x86.h's pause() (tests/host/cpu_host.c), not POSIX's. */
#define pause pg_pause

/* Check's macros call strcmp() and the like: Pagoda's, declared here. */
#include "lib/printfmt.h"
#include "lib/string.h"

#endif
