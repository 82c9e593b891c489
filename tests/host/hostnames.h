/*
 * Host unit tests link lib/ next to the C library: rename lib/'s functions
 * so the tests call Pagoda's code, not glibc's, and neither shadows the other.
 */
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
