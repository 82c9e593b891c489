/*
 * The host test suites: one SUITE(name, lab) line per suite, where name is a
 * function `Suite *name(void)` defined in one of the C files in tests/host/
 * and lab is the lab whose code it tests (0: code every tree has). In a
 * student's lab-N tree the suites of later labs do not run (their code is
 * still stubbed there). tests/host/check_main.c includes this list twice
 * (declarations, then runs).
 */
SUITE(string_suite, 0)
SUITE(printfmt_suite, 0)
SUITE(cmdline_suite, 0)
SUITE(random_suite, 0)
SUITE(sha256_suite, 0)
SUITE(errname_suite, 0)
SUITE(elf_suite, 0)
SUITE(pgtable_suite, 1)
SUITE(aspace_suite, 2)
SUITE(uaccess_suite, 3)
SUITE(tlb_suite, 4)
