/*
 * The host test suites: one SUITE(name) line per suite, where name is a
 * function `Suite *name(void)` defined in one of the tests/host/*.c files.
 * tests/host/check_main.c includes this list twice (declarations, then runs).
 */
