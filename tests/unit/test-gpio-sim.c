/* SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf() */
#endif
/* The GPIO layer: the simulated output and its VCD trace, and the simulated button (the libgpiod
 * backend's error messages are in test-gpiod-errors; the real kernel path runs in a VM). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decoder.h"
#include "gpio.h"
#include "rt.h"
#include "tests.h"

static char tmpdir[] = "/tmp/test-gpio-sim.XXXXXX";

static void setup(void) {
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void) {
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        ck_assert_int_eq(system(cmd), 0);
        strcpy(tmpdir, "/tmp/test-gpio-sim.XXXXXX");
}

static char *path_in_tmp(const char *name) {
        char *p;

        ck_assert_int_ge(asprintf(&p, "%s/%s", tmpdir, name), 0);
        return p;
}

static long read_trace(const char *path, DecodeEdge **ret) {
        FILE *f = fopen(path, "re");
        long n;

        ck_assert_ptr_nonnull(f);
        n = decoder_read_vcd(f, ret);
        fclose(f);
        return n;
}

static bool file_contains(const char *path, const char *s) {
        char line[512];
        FILE *f = fopen(path, "re");
        bool found = false;

        ck_assert_ptr_nonnull(f);
        while (!found && fgets(line, sizeof(line), f))
                found = strstr(line, s) != NULL;
        fclose(f);
        return found;
}

static void check_output(bool active_high) {
        _cleanup_(freep) char *trace = path_in_tmp(active_high ? "high.vcd" : "low.vcd");
        int dark = active_high ? 0 : 1, lit = !dark;
        DecodeEdge *e = NULL;
        GpioLine *l = NULL;
        uint64_t before[4], after[4];
        char *err = NULL;
        long n;

        ck_assert_int_eq(gpio_output_open("sim", "led", active_high, trace, &l, &err), 0);
        ck_assert_ptr_null(err);
        ck_assert_int_eq(gpio_line_dark_level(l), dark);
        ck_assert_int_eq(gpio_line_get(l), dark); /* requested dark */
        ck_assert_str_eq(gpio_line_describe(l), "sim:led");
        ck_assert_int_eq(gpio_line_get_fd(l), -EINVAL);

        /* lit, dark, dark again (no change), lit: three changes */
        before[0] = rt_now_ns();
        ck_assert_int_eq(gpio_line_set(l, lit), 0);
        after[0] = rt_now_ns();
        ck_assert_int_eq(gpio_line_get(l), lit);
        before[1] = rt_now_ns();
        ck_assert_int_eq(gpio_line_set(l, dark), 0);
        after[1] = rt_now_ns();
        ck_assert_int_eq(gpio_line_set(l, dark), 0);
        before[2] = rt_now_ns();
        ck_assert_int_eq(gpio_line_set(l, lit ? 7 : 0), 0); /* any non-zero level is 1 */
        after[2] = rt_now_ns();
        ck_assert_int_eq(gpio_line_get(l), lit);

        /* nothing reaches the file before the flush */
        n = read_trace(trace, &e);
        ck_assert_int_eq(n, 1);
        ck_assert_uint_eq(e[0].level, dark);
        free(e);

        ck_assert_int_eq(gpio_line_flush(l), 0);
        before[3] = rt_now_ns();
        l = gpio_line_free(l); /* drives dark */
        after[3] = rt_now_ns();
        ck_assert_ptr_null(l);

        /* initial level at #0, then the changes at their CLOCK_MONOTONIC times */
        FILE *f = fopen(trace, "re");
        ck_assert_ptr_nonnull(f);
        char line[256];
        uint64_t t[8];
        int levels[8], k = -1;
        while (fgets(line, sizeof(line), f)) {
                if (line[0] == '#') {
                        k++;
                        ck_assert_int_lt(k, 8);
                        t[k] = strtoull(line + 1, NULL, 10);
                        levels[k] = -1;
                } else if ((line[0] == '0' || line[0] == '1') && line[1] == '!' && k >= 0)
                        levels[k] = line[0] - '0';
        }
        fclose(f);
        /* #0 initial, 4 changes, end marker */
        ck_assert_int_eq(k, 5);
        ck_assert_uint_eq(t[0], 0);
        ck_assert_int_eq(levels[0], dark);
        for (int i = 0; i < 4; i++) {
                ck_assert_uint_ge(t[i + 1], before[i]);
                ck_assert_uint_le(t[i + 1], after[i]);
                ck_assert_int_eq(levels[i + 1], i % 2 == 0 ? lit : dark);
        }
        ck_assert_int_eq(levels[5], -1);
        ck_assert_uint_ge(t[5], t[4]);
        ck_assert(file_contains(trace, active_high ? "active-high" : "active-low"));
        ck_assert(file_contains(trace, "$timescale 1ns $end"));
        ck_assert(file_contains(trace, "$var wire 1 ! led $end"));
}

START_TEST(test_output_active_low) {
        check_output(false);
}
END_TEST

START_TEST(test_output_active_high) {
        check_output(true);
}
END_TEST

START_TEST(test_output_without_trace) {
        GpioLine *l = NULL;

        ck_assert_int_eq(gpio_output_open("sim", "17", false, NULL, &l, NULL), 0);
        ck_assert_int_eq(gpio_line_get(l), 1);
        ck_assert_int_eq(gpio_line_reserve(l, 1000000), 0);
        for (int i = 0; i < 20000; i++)
                ck_assert_int_eq(gpio_line_set(l, i & 1), 0);
        ck_assert_int_eq(gpio_line_get(l), 1);
        ck_assert_int_eq(gpio_line_flush(l), 0);
        gpio_line_free(l);
        gpio_line_free(NULL);
}
END_TEST

START_TEST(test_output_reserve_and_overflow) {
        _cleanup_(freep) char *trace = path_in_tmp("many.vcd");
        DecodeEdge *e = NULL;
        GpioLine *l = NULL;
        long n;

        /* with room reserved, every change is kept */
        ck_assert_int_eq(gpio_output_open("sim", "led", true, trace, &l, NULL), 0);
        ck_assert_int_eq(gpio_line_reserve(l, 10000), 0);
        for (int i = 1; i <= 10000; i++)
                ck_assert_int_eq(gpio_line_set(l, i & 1), 0);
        ck_assert_int_eq(gpio_line_flush(l), 0);
        /* flushing twice writes nothing twice */
        ck_assert_int_eq(gpio_line_flush(l), 0);

        /* without, the default room runs out: the loss is reported, not hidden */
        for (int i = 1; i <= 100000; i++)
                ck_assert_int_eq(gpio_line_set(l, i & 1), 0);
        ck_assert_int_eq(gpio_line_flush(l), -ENOBUFS);
        ck_assert_int_eq(gpio_line_flush(l), 0);
        gpio_line_free(l);

        n = read_trace(trace, &e);
        ck_assert_int_gt(n, 10001);
        ck_assert_int_lt(n, 10001 + 100000);
        for (long i = 1; i <= 10000; i++) {
                ck_assert_uint_eq(e[i].level, i & 1);
                ck_assert_uint_ge(e[i].t_ns, e[i - 1].t_ns);
        }
        ck_assert_uint_eq(e[n - 1].level, 0); /* ends dark */
        ck_assert(file_contains(trace, "lost"));
        free(e);
}
END_TEST

/* gpio_line_set_at() (IdealTiming=): the change is recorded at the time given, never before the
 * last one recorded; gpio_line_set() after it still records its own time */
START_TEST(test_output_set_at) {
        _cleanup_(freep) char *trace = path_in_tmp("at.vcd");
        GpioLine *l = NULL;
        DecodeEdge *e = NULL;
        uint64_t base = rt_now_ns() + 10 * NSEC_PER_SEC, before, after;
        long n;

        ck_assert_int_eq(gpio_output_open("sim", "led", false, trace, &l, NULL), 0);
        ck_assert_int_eq(gpio_line_set_at(l, 0, base + 1000), 0); /* lit (active-low) */
        ck_assert_int_eq(gpio_line_get(l), 0);
        ck_assert_int_eq(gpio_line_set_at(l, 0, base + 1500), 0); /* no change: nothing recorded */
        ck_assert_int_eq(gpio_line_set_at(l, 1, base + 7042), 0);
        ck_assert_int_eq(gpio_line_set_at(l, 0, base + 5000), 0); /* earlier than the last: kept at it */
        before = rt_now_ns();
        ck_assert_int_eq(gpio_line_set(l, 1), 0); /* the time of the write, still not before the last */
        after = rt_now_ns();
        ck_assert_int_eq(gpio_line_flush(l), 0);
        l = gpio_line_free(l);

        n = read_trace(trace, &e);
        ck_assert_int_eq(n, 5);
        ck_assert_uint_eq(e[1].t_ns, base + 1000);
        ck_assert_uint_eq(e[1].level, 0);
        ck_assert_uint_eq(e[2].t_ns, base + 7042);
        ck_assert_uint_eq(e[2].level, 1);
        ck_assert_uint_eq(e[3].t_ns, base + 7042);
        ck_assert_uint_eq(e[3].level, 0);
        /* base is 10 s ahead: the write's own time is earlier, so it is recorded at the last time */
        ck_assert_uint_gt(base, after);
        ck_assert_uint_gt(base + 7042, before);
        ck_assert_uint_eq(e[4].t_ns, base + 7042);
        ck_assert_uint_eq(e[4].level, 1);
        free(e);
}
END_TEST

START_TEST(test_output_bad_trace_path) {
        GpioLine *l = NULL;
        char *err = NULL;

        ck_assert_int_eq(gpio_output_open("sim", "led", false, "/nonexistent/dir/x.vcd", &l, &err), -ENOENT);
        ck_assert_ptr_null(l);
        ck_assert_ptr_nonnull(err);
        ck_assert_msg(strstr(err, "\"sim\"") && strstr(err, "\"led\"") &&
                              strstr(err, "/nonexistent/dir/x.vcd"),
                      "%s", err);
        ck_assert_ptr_null(strchr(err, '\n'));
        free(err);
}
END_TEST

static void write_fifo(const char *path, const char *s) {
        int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t) strlen(s));
        close(fd);
}

static bool readable(int fd) {
        struct pollfd p = { .fd = fd, .events = POLLIN };

        ck_assert_int_ge(poll(&p, 1, 0), 0);
        return p.revents & POLLIN;
}

static void check_button(bool active_low) {
        _cleanup_(freep) char *fifo = path_in_tmp("button");
        GpioLine *l = NULL;
        struct stat st;
        char *err = NULL;
        bool pressed;
        uint64_t ts, before, after;
        int fd;

        ck_assert_int_eq(gpio_input_open("sim", "27", active_low, CONFIG_BIAS_PULL_UP, fifo, &l, &err), 0);
        ck_assert_ptr_null(err);
        ck_assert_int_eq(stat(fifo, &st), 0);
        ck_assert(S_ISFIFO(st.st_mode));
        fd = gpio_line_get_fd(l);
        ck_assert_int_ge(fd, 0);
        ck_assert(!readable(fd));
        ck_assert_int_eq(gpio_input_read_event(l, &pressed, &ts), -EAGAIN);
        ck_assert_int_eq(gpio_line_dark_level(l), -EINVAL);
        ck_assert_int_eq(gpio_line_set(l, 1), -EPERM);
        ck_assert_int_eq(gpio_line_get(l), active_low ? 1 : 0); /* released */

        /* press */
        write_fifo(fifo, "1");
        ck_assert(readable(fd));
        before = rt_now_ns();
        ck_assert_int_eq(gpio_input_read_event(l, &pressed, &ts), 0);
        after = rt_now_ns();
        ck_assert(pressed);
        ck_assert_uint_ge(ts, before);
        ck_assert_uint_le(ts, after);
        ck_assert_int_eq(gpio_line_get(l), active_low ? 0 : 1);
        ck_assert(!readable(fd));

        /* release, as "echo 0 >fifo" would: the newline is no event */
        write_fifo(fifo, "0\n");
        ck_assert_int_eq(gpio_input_read_event(l, &pressed, NULL), 0);
        ck_assert(!pressed);
        ck_assert_int_eq(gpio_input_read_event(l, &pressed, NULL), -EAGAIN);
        ck_assert(!readable(fd));

        /* several at once, in order */
        write_fifo(fifo, "1x0\n1");
        ck_assert_int_eq(gpio_input_read_event(l, &pressed, NULL), 0);
        ck_assert(pressed);
        ck_assert_int_eq(gpio_input_read_event(l, &pressed, NULL), 0);
        ck_assert(!pressed);
        ck_assert_int_eq(gpio_input_read_event(l, &pressed, NULL), 0);
        ck_assert(pressed);
        ck_assert_int_eq(gpio_input_read_event(l, &pressed, NULL), -EAGAIN);

        gpio_line_free(l);
        /* we made the FIFO, so we removed it */
        ck_assert_int_eq(access(fifo, F_OK), -1);
}

START_TEST(test_button) {
        check_button(true);
        check_button(false);
}
END_TEST

START_TEST(test_button_existing_fifo) {
        _cleanup_(freep) char *fifo = path_in_tmp("given");
        _cleanup_(freep) char *plain = path_in_tmp("plain");
        GpioLine *l = NULL;
        char *err = NULL;
        bool pressed;
        int fd;

        ck_assert_int_eq(mkfifo(fifo, 0600), 0);
        ck_assert_int_eq(gpio_input_open("sim", "button", true, CONFIG_BIAS_AS_IS, fifo, &l, NULL), 0);
        write_fifo(fifo, "1");
        ck_assert_int_eq(gpio_input_read_event(l, &pressed, NULL), 0);
        ck_assert(pressed);
        gpio_line_free(l);
        /* not ours: left in place */
        ck_assert_int_eq(access(fifo, F_OK), 0);

        fd = open(plain, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        close(fd);
        ck_assert_int_eq(gpio_input_open("sim", "button", true, CONFIG_BIAS_AS_IS, plain, &l, &err), -EEXIST);
        ck_assert_msg(strstr(err, "not a FIFO"), "%s", err);
        free(err);

        ck_assert_int_eq(gpio_input_open("sim", "button", true, CONFIG_BIAS_AS_IS, NULL, &l, &err), -EINVAL);
        ck_assert_msg(strstr(err, "FIFO"), "%s", err);
        free(err);
}
END_TEST

static Suite *gpio_suite(void) {
        Suite *s = suite_create("gpio");
        TCase *tc = tcase_create("sim");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_output_active_low);
        tcase_add_test(tc, test_output_active_high);
        tcase_add_test(tc, test_output_without_trace);
        tcase_add_test(tc, test_output_reserve_and_overflow);
        tcase_add_test(tc, test_output_set_at);
        tcase_add_test(tc, test_output_bad_trace_path);
        tcase_add_test(tc, test_button);
        tcase_add_test(tc, test_button_existing_fifo);
        suite_add_tcase(s, tc);
        return s;
}

TEST_MAIN(gpio_suite)
