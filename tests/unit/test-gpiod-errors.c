/* SPDX-License-Identifier: MIT */
/* The messages of the real GPIO backend (libgpiod) for chips and lines that are not there or
 * not GPIO chips. The checks name gpiochip99 as missing: on a machine that has it, the program
 * is skipped (exit 77). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpio.h"
#include "tests.h"

static void expect_error(int r, char *err, int want, const char *chip, const char *line,
                         const char *reason) {
        ck_assert_msg(r == want, "got %d (%s), want %d", r, err ?: "", want);
        ck_assert_ptr_nonnull(err);
        ck_assert_msg(strstr(err, chip) && strstr(err, line) && strstr(err, reason),
                      "message \"%s\" lacks chip \"%s\", line \"%s\" or \"%s\"", err, chip, line, reason);
        ck_assert_ptr_null(strchr(err, '\n'));
        free(err);
}

START_TEST(test_gpiod_errors) {
        GpioLine *l = NULL;
        char *err = NULL;
        int r;

        /* by name, number, path, label: none exists here (main() made sure) */
        r = gpio_output_open("gpiochip99", "17", false, NULL, &l, &err);
        expect_error(r, err, -ENOENT, "gpiochip99", "17", "no such chip");
        r = gpio_output_open("99", "GPIO17", false, NULL, &l, &err);
        expect_error(r, err, -ENOENT, "\"99\"", "GPIO17", "no such chip");
        r = gpio_output_open("/dev/gpiochip99", "17", true, NULL, &l, &err);
        expect_error(r, err, -ENOENT, "/dev/gpiochip99", "17", "no such chip");
        r = gpio_output_open("no-such-label", "17", true, NULL, &l, &err);
        expect_error(r, err, -ENOENT, "no-such-label", "17", "no such chip");
        /* a device and a file that are not GPIO chips */
        r = gpio_output_open("/dev/null", "3", false, NULL, &l, &err);
        expect_error(r, err, -ENODEV, "/dev/null", "3", "not a GPIO chip");
        if (access("/etc/hostname", F_OK) == 0) {
                r = gpio_output_open("/etc/hostname", "3", false, NULL, &l, &err);
                expect_error(r, err, -ENODEV, "/etc/hostname", "3", "not a GPIO chip");
        }

        r = gpio_input_open("gpiochip99", "27", true, CONFIG_BIAS_PULL_UP, NULL, &l, &err);
        expect_error(r, err, -ENOENT, "gpiochip99", "27", "no such chip");

        /* what is wrong before any chip is looked at */
        r = gpio_input_open("gpiochip0", "27", true, (ConfigBias) 42, NULL, &l, &err);
        expect_error(r, err, -EINVAL, "gpiochip0", "27", "invalid bias 42");
        r = gpio_output_open("", "27", true, NULL, &l, &err);
        expect_error(r, err, -EINVAL, "GPIO line", "27", "a line offset needs a chip");
        r = gpio_output_open(NULL, "27", true, NULL, &l, &err);
        expect_error(r, err, -EINVAL, "GPIO line", "27", "a line offset needs a chip");
        r = gpio_output_open("gpiochip0", NULL, true, NULL, &l, &err);
        expect_error(r, err, -EINVAL, "gpiochip0", "\"\"", "no line given");
        ck_assert_ptr_null(l);

        /* no message wanted */
        ck_assert_int_eq(gpio_output_open("gpiochip99", "1", false, NULL, &l, NULL), -ENOENT);
}
END_TEST

static Suite *gpiod_suite(void) {
        Suite *s = suite_create("gpio");
        TCase *tc = tcase_create("gpiod");

        tcase_add_test(tc, test_gpiod_errors);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        if (access("/dev/gpiochip99", F_OK) == 0) {
                fprintf(stderr, "test-gpiod-errors: /dev/gpiochip99 exists, the chip these checks name as missing: skipped\n");
                return EXIT_TEST_SKIP;
        }
        return test_run_suite(gpiod_suite());
}
