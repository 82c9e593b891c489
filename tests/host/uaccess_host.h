/*
 * The machinery under lab 3's wrappers, simulated for the host tests
 * (tests/host/uaccess_host.c): __uaccess_copy and __uaccess_strncpy over a
 * window of simulated user memory in which every byte from a chosen address
 * on faults, and an exception table for kern/extable.c.
 *
 * The simulated routines also check the contract the wrappers owe them: one
 * side of every copy is the kernel buffer the test declared, and the user
 * side lies wholly in [0, USER_MAX). A wrapper that hands them anything else
 * (a kernel address, a range running past USER_MAX, more bytes than the
 * kernel buffer holds) fails the test on the spot: in the kernel that call
 * would have read or written kernel memory.
 */
#ifndef TESTS_HOST_UACCESS_HOST_H
#define TESTS_HOST_UACCESS_HOST_H

#include "kern/extable.h"
#include "kern/uaccess.h"

/*
 * uaccess_host_reset - user memory is the len bytes at user address base,
 * filled with a pattern (uaccess_host_byte), faulting nowhere inside; no
 * kernel buffer; counters zero.
 */
void uaccess_host_reset(uint64_t base, size_t len);

/* uaccess_host_byte - the pattern byte at user address uva (never 0). */
uint8_t uaccess_host_byte(uint64_t uva);

/* uaccess_host_mem - the host memory behind user address uva (inside the window). */
uint8_t *uaccess_host_mem(uint64_t uva);

/* uaccess_host_fault_from - every user byte at or above uva faults. */
void uaccess_host_fault_from(uint64_t uva);

/* uaccess_host_kernel - the kernel buffer the next copies must use. */
void uaccess_host_kernel(void *buf, size_t len);

/*
 * uaccess_host_reading_only - the code under test only reads user memory
 * (strncpy_from_user): a copy whose kernel side is not the test's buffer
 * (a bounce buffer of the student's own) then counts as a read from user
 * memory, not as a stray pointer.
 */
void uaccess_host_reading_only(bool on);

/* uaccess_host_calls - how many times a simulated routine ran since the reset. */
unsigned long uaccess_host_calls(void);

/* The simulated exception table: this many entries, between __extable_start and __extable_end. */
#define HOST_EXTABLE_N 16
extern struct extable_entry __extable_start[];

#endif
