/* SPDX-License-Identifier: MIT */
#pragma once

/* What every libcheck unit test program shares: one main. */

#include <check.h>

#define EXIT_TEST_SKIP 77 /* automake: the test could not run here; never a pass */
#define EXIT_TEST_ERROR 99 /* automake: the test itself failed to set up */

/* Runs every case of s (CK_FORK as the environment says) and frees it: the program's exit
 * status, 0 when every check passed, 1 otherwise. */
int test_run_suite(Suite *s);

/* main() of a program whose only work is its suite. */
#define TEST_MAIN(suite_fn)                             \
        int main(void) {                                \
                return test_run_suite(suite_fn());      \
        }
