/*
 * Runner for the host unit tests: every suite listed in suites.h goes into one
 * SRunner. Check itself reads the environment:
 *   CK_VERBOSITY=silent|minimal|normal|verbose   how much to print
 *   CK_RUN_SUITE=name, CK_RUN_CASE=name          run only that suite / test case
 *   CK_FORK=no                                   no fork per test (for gdb)
 *   CK_DEFAULT_TIMEOUT=seconds                   per-test time limit
 * PAGODA_LAB=N (make check sets it in a student's lab-N tree, from
 * labs/current.json) leaves out the suites of later labs, whose code is
 * still stubbed there, and says so. The last line is Check's summary; the exit status is 0 only if every test
 * passed and at least one ran.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#define SUITE(fn, lab) Suite *fn(void);
#include "tests/host/suites.h"
#undef SUITE

int main(void)
{
	SRunner *sr = srunner_create(NULL);
	const char *tree_lab = getenv("PAGODA_LAB");
	int upto = tree_lab && *tree_lab ? atoi(tree_lab) : 0;
	int failed, run;

#define SUITE(fn, lab)                                                                     \
	if (upto > 0 && (lab) > upto)                                                      \
		printf("check_pagoda: %s: lab %d, not yet (this tree is for lab %d)\n", #fn, \
		       (lab), upto);                                                       \
	else                                                                               \
		srunner_add_suite(sr, fn());
#include "tests/host/suites.h"
#undef SUITE
	fflush(stdout);

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	run = srunner_ntests_run(sr);
	srunner_free(sr);

	if (run == 0) {
		const char *suite = getenv("CK_RUN_SUITE");
		const char *tcase = getenv("CK_RUN_CASE");

		fprintf(stderr, "check_pagoda: no test ran (CK_RUN_SUITE=%s CK_RUN_CASE=%s)\n",
			suite ? suite : "", tcase ? tcase : "");
		return EXIT_FAILURE;
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
