/* SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf() */
#endif
/* Finding a line on the kernel's chips (gpio-chips.c): by name across chips, by label, device
 * name, path or number, and the messages when it is not found. The chips are files in a
 * directory standing in for /dev, read by fake chip operations: a file "gpiochipN" holds the
 * chip's label on its first line, then one line name per line (empty: an unnamed line). The
 * layout is a Raspberry Pi 5's on a mid-2026 kernel, where the header chip is not chip 0. */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpio-internal.h"
#include "tests.h"

static char tmpdir[] = "/tmp/test-gpio-chips.XXXXXX";
static int n_open; /* chips open now */

typedef struct FakeChip {
        char name[64], label[64];
        char **lines;
        unsigned n;
} FakeChip;

static bool fake_is_chip(const char *path) {
        const char *base = strrchr(path, '/');

        return base && strncmp(base + 1, "gpiochip", 8) == 0 && access(path, F_OK) == 0;
}

static int fake_open(const char *path, void **ret) {
        _cleanup_(freep) char *buf = NULL;
        size_t size = 0;
        FakeChip *c;
        FILE *f;

        _cleanup_(freep) char *real = NULL;

        f = fopen(path, "re");
        if (!f)
                return -errno;
        c = calloc(1, sizeof(*c));
        ck_assert_ptr_nonnull(c);
        /* the kernel's name of the chip, also when opened through a link */
        real = realpath(path, NULL);
        ck_assert_ptr_nonnull(real);
        snprintf(c->name, sizeof(c->name), "%s", strrchr(real, '/') + 1);
        if (getline(&buf, &size, f) > 0) {
                buf[strcspn(buf, "\n")] = 0;
                snprintf(c->label, sizeof(c->label), "%s", buf);
        }
        while (getline(&buf, &size, f) >= 0) {
                buf[strcspn(buf, "\n")] = 0;
                c->lines = realloc(c->lines, (c->n + 1) * sizeof(char *));
                ck_assert_ptr_nonnull(c->lines);
                c->lines[c->n++] = strdup(buf);
        }
        fclose(f);
        if (streq(c->label, "!EACCES")) { /* a chip this user may not open */
                for (unsigned i = 0; i < c->n; i++)
                        free(c->lines[i]);
                free(c->lines);
                free(c);
                return -EACCES;
        }
        n_open++;
        *ret = c;
        return 0;
}

static int fake_info(void *chip, GpioChipInfo *ret) {
        FakeChip *c = chip;

        *ret = (GpioChipInfo) { .name = c->name, .label = c->label, .num_lines = c->n };
        return 0;
}

static int fake_find_line(void *chip, const char *name) {
        FakeChip *c = chip;

        for (unsigned i = 0; i < c->n; i++)
                if (streq(c->lines[i], name))
                        return (int) i;
        return -ENOENT;
}

static void fake_close(void *chip) {
        FakeChip *c = chip;

        for (unsigned i = 0; i < c->n; i++)
                free(c->lines[i]);
        free(c->lines);
        free(c);
        n_open--;
}

static const GpioChipOps fake_ops = {
        .is_chip = fake_is_chip,
        .open = fake_open,
        .info = fake_info,
        .find_line = fake_find_line,
        .close = fake_close,
        .info_command = "gpioinfo -c",
};

/* Writes dir/name: the label, then names[0..n-1] where given, else "prefix<i>" for n lines. */
static void write_chip(const char *name, const char *label, unsigned n, const char *prefix,
                       const char *const *names) {
        _cleanup_(freep) char *path = NULL;
        FILE *f;

        ck_assert_int_ge(asprintf(&path, "%s/%s", tmpdir, name), 0);
        f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        fprintf(f, "%s\n", label);
        for (unsigned i = 0; i < n; i++) {
                if (names)
                        fprintf(f, "%s\n", names[i]);
                else if (prefix)
                        fprintf(f, "%s%u\n", prefix, i);
                else
                        fputc('\n', f);
        }
        ck_assert_int_eq(fclose(f), 0);
}

static void pi5_setup(void) {
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
        n_open = 0;
        /* the Pi 5 on kernel 6.12.9x: no gpiochip0; the RP1 header chip is gpiochip13 */
        write_chip("gpiochip10", "gpio-brcmstb@107d508500", 32, NULL, NULL);
        write_chip("gpiochip11", "gpio-brcmstb@107d508520", 4, NULL, NULL);
        write_chip("gpiochip12", "gpio-brcmstb@107d517c00", 17, NULL, NULL);
        write_chip("gpiochip13", "pinctrl-rp1", 54, "GPIO", NULL);
        write_chip("gpiochip2", "pinctrl-aux", 2, NULL, (const char *const[]) { "AUX0", "SHARED" });
        write_chip("gpiochip3", "twin", 1, NULL, (const char *const[]) { "T0" });
        write_chip("gpiochip4", "twin", 1, NULL, (const char *const[]) { "SHARED" });
        /* not chips of their own: a link to one (as a udev rule may make), another device */
        {
                _cleanup_(freep) char *link = NULL;

                ck_assert_int_ge(asprintf(&link, "%s/gpiochip-header", tmpdir), 0);
                ck_assert_int_eq(symlink("gpiochip13", link), 0);
        }
        write_chip("null", "not a chip", 0, NULL, NULL);
}

static void teardown(void) {
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        ck_assert_int_eq(system(cmd), 0);
        strcpy(tmpdir, "/tmp/test-gpio-chips.XXXXXX");
        ck_assert_int_eq(n_open, 0); /* every chip opened was closed */
}

/* Finds chip:line and checks where it was found. */
static void expect_found(const char *chip, const char *line, const char *chip_name, unsigned offset,
                         const char *where) {
        _cleanup_(freep) char *err = NULL;
        GpioLocation loc = {};
        int r;

        r = gpio_locate_in(&fake_ops, tmpdir, chip, line, &loc, &err);
        ck_assert_msg(r == 0, "%s:%s: %d %s", chip ?: "(none)", line, r, err ?: "");
        ck_assert_ptr_null(err);
        ck_assert_str_eq(loc.chip_name, chip_name);
        ck_assert_uint_eq(loc.offset, offset);
        ck_assert_str_eq(loc.where, where);
        ck_assert_int_eq(n_open, 1); /* only the chip found is still open */
        gpio_location_done(&loc);
        ck_assert_int_eq(n_open, 0);
        ck_assert_ptr_null(loc.where);
}

/* Fails with want, and the message holds every one of the NULL-terminated parts. */
static void expect_fail(const char *chip, const char *line, int want, ...) {
        _cleanup_(freep) char *err = NULL;
        GpioLocation loc = {};
        const char *part;
        va_list ap;
        int r;

        r = gpio_locate_in(&fake_ops, tmpdir, chip, line, &loc, &err);
        ck_assert_msg(r == want, "%s:%s: got %d (%s), want %d", chip ?: "(none)", line, r, err ?: "", want);
        ck_assert_ptr_nonnull(err);
        ck_assert_ptr_null(strchr(err, '\n'));
        ck_assert_ptr_null(loc.chip);
        ck_assert_int_eq(n_open, 0);
        va_start(ap, want);
        while ((part = va_arg(ap, const char *)))
                ck_assert_msg(strstr(err, part), "message \"%s\" lacks \"%s\"", err, part);
        va_end(ap);

        /* and the same without a message wanted */
        ck_assert_int_eq(gpio_locate_in(&fake_ops, tmpdir, chip, line, &loc, NULL), want);
        ck_assert_int_eq(n_open, 0);
}

START_TEST(test_by_line_name) {
        /* the line alone: the one chip that has it, whatever its number */
        expect_found(NULL, "GPIO17", "gpiochip13", 17, "offset 17 of gpiochip13 [pinctrl-rp1]");
        expect_found("", "GPIO27", "gpiochip13", 27, "offset 27 of gpiochip13 [pinctrl-rp1]");
        expect_found(NULL, "GPIO0", "gpiochip13", 0, "offset 0 of gpiochip13 [pinctrl-rp1]");
        expect_found(NULL, "AUX0", "gpiochip2", 0, "offset 0 of gpiochip2 [pinctrl-aux]");
}
END_TEST

START_TEST(test_by_chip) {
        /* label, device name, number, path, a link to the device: with a line name or offset */
        expect_found("pinctrl-rp1", "GPIO17", "gpiochip13", 17, "offset 17 of gpiochip13 [pinctrl-rp1]");
        expect_found("pinctrl-rp1", "5", "gpiochip13", 5, "offset 5 of gpiochip13 [pinctrl-rp1]");
        expect_found("gpiochip13", "GPIO4", "gpiochip13", 4, "offset 4 of gpiochip13 [pinctrl-rp1]");
        expect_found("13", "53", "gpiochip13", 53, "offset 53 of gpiochip13 [pinctrl-rp1]");
        expect_found("gpiochip-header", "GPIO22", "gpiochip13", 22, "offset 22 of gpiochip13 [pinctrl-rp1]");
        {
                _cleanup_(freep) char *path = NULL;

                ck_assert_int_ge(asprintf(&path, "%s/gpiochip2", tmpdir), 0);
                expect_found(path, "SHARED", "gpiochip2", 1, "offset 1 of gpiochip2 [pinctrl-aux]");
        }
        /* a name two chips have is found once the chip is given */
        expect_found("pinctrl-aux", "SHARED", "gpiochip2", 1, "offset 1 of gpiochip2 [pinctrl-aux]");
        expect_found("gpiochip4", "SHARED", "gpiochip4", 0, "offset 0 of gpiochip4 [twin]");
}
END_TEST

START_TEST(test_not_found) {
        /* no chip has the name: the chips there are, in the order of their numbers */
        expect_fail(NULL, "GPIO99", -ENOENT, "GPIO line \"GPIO99\"", "no GPIO chip has a line of that name",
                    "The chips here: gpiochip2 [pinctrl-aux] (2 lines), gpiochip3 [twin] (1 line), "
                    "gpiochip4 [twin] (1 line), gpiochip10 [gpio-brcmstb@107d508500] (32 lines), "
                    "gpiochip11 [gpio-brcmstb@107d508520] (4 lines), gpiochip12 [gpio-brcmstb@107d517c00] "
                    "(17 lines), gpiochip13 [pinctrl-rp1] (54 lines); see their line names with gpioinfo.",
                    NULL);
        /* a chip number that the kernel has not given (the Pi 5's old gpiochip0) */
        expect_fail("gpiochip0", "GPIO17", -ENOENT, "GPIO chip \"gpiochip0\" line \"GPIO17\"",
                    "no such chip: no device", "The chips here: gpiochip2 [pinctrl-aux]", NULL);
        expect_fail("0", "GPIO17", -ENOENT, "no such chip (no ", "/gpiochip0)", NULL);
        expect_fail("pinctrl-bcm2711", "GPIO17", -ENOENT, "no such chip: no device",
                    "and no chip with that label", "gpiochip13 [pinctrl-rp1] (54 lines)", NULL);
        /* on the chip: an offset beyond its lines, a name it does not have */
        expect_fail("pinctrl-rp1", "54", -ENOENT, "no such line: gpiochip13 [pinctrl-rp1] has 54 lines",
                    "offsets 0 to 53", NULL);
        expect_fail("pinctrl-rp1", "GPIO99", -ENOENT, "no line of gpiochip13 [pinctrl-rp1] is named so",
                    "see its line names with gpioinfo -c gpiochip13", NULL);
        /* a path that is not a chip */
        {
                _cleanup_(freep) char *null = NULL;

                ck_assert_int_ge(asprintf(&null, "%s/null", tmpdir), 0);
                expect_fail(null, "1", -ENODEV, "not a GPIO chip", NULL);
        }
        expect_fail("/nonexistent/gpiochip5", "1", -ENOENT, "no such chip", NULL);
}
END_TEST

START_TEST(test_ambiguous_and_invalid) {
        /* a name on two chips, a label on two chips: refused, naming both */
        expect_fail(NULL, "SHARED", -ENOTUNIQ, "two chips have a line of that name",
                    "gpiochip2 [pinctrl-aux] and gpiochip4 [twin]", "Chip=", NULL);
        expect_fail("twin", "0", -ENOTUNIQ, "two chips have that label, gpiochip3 and gpiochip4", NULL);
        /* an offset needs a chip; a line is needed */
        expect_fail(NULL, "17", -EINVAL, "a line offset needs a chip", NULL);
        expect_fail("pinctrl-rp1", "", -EINVAL, "no line given", NULL);
}
END_TEST

START_TEST(test_no_chips_and_denied) {
        char cmd[160];

        /* a chip that cannot be opened: said so when the name is found nowhere else */
        write_chip("gpiochip5", "!EACCES", 0, NULL, NULL);
        expect_found(NULL, "GPIO17", "gpiochip13", 17, "offset 17 of gpiochip13 [pinctrl-rp1]");
        expect_fail(NULL, "GPIO99", -EACCES, "1 could not be opened: permission denied",
                    "gpiochip5 (cannot open: permission denied", NULL);

        /* no chip at all */
        snprintf(cmd, sizeof(cmd), "rm -f '%s'/gpiochip*", tmpdir);
        ck_assert_int_eq(system(cmd), 0);
        expect_fail(NULL, "GPIO17", -ENOENT, "no GPIO chip has a line of that name",
                    "There is no GPIO chip in", NULL);
}
END_TEST

static Suite *chips_suite(void) {
        Suite *s = suite_create("gpio-chips");
        TCase *tc = tcase_create("locate");

        tcase_add_checked_fixture(tc, pi5_setup, teardown);
        tcase_add_test(tc, test_by_line_name);
        tcase_add_test(tc, test_by_chip);
        tcase_add_test(tc, test_not_found);
        tcase_add_test(tc, test_ambiguous_and_invalid);
        tcase_add_test(tc, test_no_chips_and_denied);
        suite_add_tcase(s, tc);
        return s;
}

TEST_MAIN(chips_suite)
