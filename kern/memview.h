/*
 * memview: a census of physical memory and the checks made from it.
 *
 * For every 4 KiB frame of RAM the census says who holds it: free, the
 * kernel image, a boot page table, the frame allocator's own data, a page
 * table of some address space (and at which level), a data frame that a
 * space owns or maps (and at which virtual address), a user program image
 * (a Multiboot2 module), or nothing but the direct map. It is built by
 * walking every known address space with lab 1's walker (under the test
 * framework's fault catcher) and by reading the frame allocator.
 *
 * From the census it checks the invariants of the memory system: no frame
 * mapped by a space is free in the allocator, every page-table page is
 * reached from exactly one place, no two user spaces map a private frame
 * writable, no user-accessible mapping reaches a kernel frame, and every
 * frame allocated by a test is reached by something when the test is over.
 * The test framework runs the check after every lab 2-4 test
 * (kern/test/ktest.c).
 *
 * The census is also drawn: a character map on the console (`memview` on
 * the kernel command line), and a machine-readable dump (`memview=dump`)
 * that tools/memview.py turns into obj/memview.html.
 */
#ifndef KERN_MEMVIEW_H
#define KERN_MEMVIEW_H

#include "kern/aspace.h"

/*
 * memview_track - make as (and its name, for messages) known to the census
 * until memview_untrack(as). as must stay at the same address meanwhile.
 * Tracking more than the census holds is ignored (the space is then not
 * checked).
 */
void memview_track(struct aspace *as, const char *name);
void memview_untrack(struct aspace *as);

/*
 * Test framework hooks (kern/test/ktest.c), on the BSP between tests:
 * memview_test_begin before the test (remembers which frames are allocated),
 * memview_test_body_done after its body, before its cleanups (checks the
 * mappings while the test's spaces still exist, if the body passed and no
 * other CPU still runs the test's work; with memview= on the command line
 * it also draws them, pass or fail), memview_test_end after the frame-leak
 * check. All of them do nothing for tests outside labs 2-4. memview_test_end
 * returns false and writes the first finding into why when a check during
 * the test or at its end found one (the others are printed as TEST INFO
 * lines); leak_failed says the framework's own leak check already failed
 * the test: the findings are then only named.
 */
void memview_test_begin(const char *test);
void memview_test_body_done(const char *test, bool passed);
bool memview_test_end(const char *test, bool leak_failed, char *why, size_t size);

/*
 * memview_test_check - check the machine now, in the middle of a lab 2-4
 * test, as after its body: for a space the test destroys before its body
 * ends (lab2.model), or one that other CPUs use until the test's cleanups
 * (lab 4). The findings fail the test when it ends. On the BSP; skipped
 * (with a TEST INFO line) while another CPU still runs the test's work,
 * since it could be changing the tables, and once the check after the body
 * ran (the cleanups that follow it stop CPUs and undo; the check at the end
 * of the test sees what they leave).
 */
void memview_test_check(void);

/*
 * memview_print - take a census of the machine now and print it: mode
 * "dump" prints the MEMVIEW lines tools/memview.py reads, "color" the
 * character maps with ANSI colours, anything else plain letters.
 */
void memview_print(const char *mode, const char *title);

/* memview_boot - act on memview= on the kernel command line after boot. */
void memview_boot(const char *cmdline);

#endif
