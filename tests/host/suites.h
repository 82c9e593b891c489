/*
 * The host test suites: one SUITE(name) line per suite, where name is a
 * function `Suite *name(void)` defined in one of the C files in tests/host/.
 * tests/host/check_main.c includes this list twice (declarations, then runs).
 */
SUITE(string_suite)
SUITE(printfmt_suite)
SUITE(cmdline_suite)
SUITE(random_suite)
SUITE(sha256_suite)
SUITE(errname_suite)
SUITE(pgtable_suite)
SUITE(aspace_suite)
SUITE(elf_suite)
