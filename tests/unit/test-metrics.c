/* SPDX-License-Identifier: MIT */
/* daemon/metrics.c: counting, the exposition text and the atomic file (metrics.h). The expected
 * lines are worked out by hand from the observations each case makes; promtool and a real
 * Prometheus read the daemon's file in tests/integration/test-metrics.py. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "metrics.h"
#include "tests.h"

static const MetricsState state = {
        .version = "1.2.3",
        .gpiod_api = "2",
        .release = "trixie",
        .up = true,
        .start_usec = 1796620000123456,
        .factory_status = "verified",
};

static char *format(const Metrics *m, const MetricsState *s) {
        char *text = NULL;
        size_t size = 0;

        ck_assert_int_eq(metrics_format(m, s, &text, &size), 0);
        ck_assert_uint_eq(size, strlen(text));
        return text;
}

/* text has this whole line */
static void has_line(const char *text, const char *line) {
        size_t n = strlen(line);

        for (const char *p = text; (p = strstr(p, line)); p++)
                if ((p == text || p[-1] == '\n') && p[n] == '\n')
                        return;
        ck_abort_msg("no line \"%s\" in:\n%s", line, text);
}

static unsigned count(const char *text, const char *needle) {
        unsigned n = 0;

        for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
                n++;
        return n;
}

START_TEST(test_attempts) {
        _cleanup_(freep) char *text = NULL;
        Metrics m = {};

        metrics_count_attempt(&m, METRICS_KIND_FACTORY, NULL);
        metrics_count_attempt(&m, METRICS_KIND_FACTORY, "");
        metrics_count_attempt(&m, METRICS_KIND_FACTORY, "org.blinkupd.Fixture1.Error.Cancelled");
        metrics_count_attempt(&m, METRICS_KIND_FACTORY, "TimingFault");
        metrics_count_attempt(&m, METRICS_KIND_FACTORY, "org.example.Error.Unheard");
        metrics_count_attempt(&m, METRICS_KIND_CLEAR, NULL);
        metrics_count_attempt(&m, METRICS_KIND_CLEAR, "org.blinkupd.Fixture1.Error.Gpio");
        text = format(&m, &state);

        has_line(text, "# TYPE blinkupd_attempts_total counter");
        has_line(text, "blinkupd_attempts_total{kind=\"factory\",outcome=\"success\"} 2");
        has_line(text, "blinkupd_attempts_total{kind=\"factory\",outcome=\"Cancelled\"} 1");
        has_line(text, "blinkupd_attempts_total{kind=\"factory\",outcome=\"TimingFault\"} 1");
        /* a name not in the list counts as a server error */
        has_line(text, "blinkupd_attempts_total{kind=\"factory\",outcome=\"Server\"} 1");
        has_line(text, "blinkupd_attempts_total{kind=\"factory\",outcome=\"Auth\"} 0");
        has_line(text, "blinkupd_attempts_total{kind=\"clear\",outcome=\"success\"} 1");
        has_line(text, "blinkupd_attempts_total{kind=\"clear\",outcome=\"Gpio\"} 1");
        has_line(text, "blinkupd_attempts_total{kind=\"clear\",outcome=\"NotFactoryFixture\"} 0");
        /* every kind and outcome is always there: 2 x 9 series */
        ck_assert_uint_eq(count(text, "\nblinkupd_attempts_total{"), 18);
}
END_TEST

START_TEST(test_lateness_histogram) {
        /* 0 and 10 µs are in the first bucket (le is "less or equal"), 10.001 µs in the second,
         * 3 ms in le 0.005, 20 ms only in +Inf */
        const uint64_t lateness[] = { 0, 10000, 10001, 3000000, 20000000 };
        _cleanup_(freep) char *text = NULL;
        Metrics m = {};

        metrics_count_blink(&m, 3, 2, 1, lateness, ELEMENTSOF(lateness));
        metrics_count_blink(&m, 1, 0, 0, NULL, 0);
        text = format(&m, &state);

        has_line(text, "blinkupd_frames_sent_total 4");
        has_line(text, "blinkupd_frames_resent_total 2");
        has_line(text, "blinkupd_timing_faults_total 1");
        has_line(text, "# TYPE blinkupd_edge_lateness_seconds histogram");
        has_line(text, "blinkupd_edge_lateness_seconds_bucket{le=\"1e-05\"} 2");
        has_line(text, "blinkupd_edge_lateness_seconds_bucket{le=\"2.5e-05\"} 3");
        has_line(text, "blinkupd_edge_lateness_seconds_bucket{le=\"0.0025\"} 3");
        has_line(text, "blinkupd_edge_lateness_seconds_bucket{le=\"0.005\"} 4");
        has_line(text, "blinkupd_edge_lateness_seconds_bucket{le=\"0.01\"} 4");
        has_line(text, "blinkupd_edge_lateness_seconds_bucket{le=\"+Inf\"} 5");
        /* 0 + 10000 + 10001 + 3000000 + 20000000 ns */
        has_line(text, "blinkupd_edge_lateness_seconds_sum 0.023020001");
        has_line(text, "blinkupd_edge_lateness_seconds_count 5");
        ck_assert_uint_eq(count(text, "\nblinkupd_edge_lateness_seconds_bucket{"), 11);
}
END_TEST

START_TEST(test_server_and_confirmations) {
        _cleanup_(freep) char *text = NULL;
        Metrics m = {};

        metrics_observe_server(&m, METRICS_STEP_VERIFY, 50000); /* 50 ms: le 0.05 */
        metrics_observe_server(&m, METRICS_STEP_VERIFY, 31000000); /* 31 s: +Inf only */
        metrics_observe_server(&m, METRICS_STEP_TOKEN, 120000); /* 120 ms: le 0.25 */
        metrics_count_confirmation(&m, NULL, 4000000); /* 4 s: le 5 */
        metrics_count_confirmation(&m, "org.blinkupd.Fixture1.Error.Timeout", 600000000); /* 600 s: le 600 */
        metrics_count_confirmation(&m, "Weird", 1);
        text = format(&m, &state);

        has_line(text, "blinkupd_server_request_duration_seconds_bucket{step=\"verify\",le=\"0.05\"} 1");
        has_line(text, "blinkupd_server_request_duration_seconds_bucket{step=\"verify\",le=\"30\"} 1");
        has_line(text, "blinkupd_server_request_duration_seconds_bucket{step=\"verify\",le=\"+Inf\"} 2");
        has_line(text, "blinkupd_server_request_duration_seconds_sum{step=\"verify\"} 31.050000000");
        has_line(text, "blinkupd_server_request_duration_seconds_count{step=\"verify\"} 2");
        has_line(text, "blinkupd_server_request_duration_seconds_bucket{step=\"token\",le=\"0.1\"} 0");
        has_line(text, "blinkupd_server_request_duration_seconds_bucket{step=\"token\",le=\"0.25\"} 1");
        has_line(text, "blinkupd_server_request_duration_seconds_sum{step=\"token\"} 0.120000000");
        has_line(text, "blinkupd_confirmations_total{outcome=\"confirmed\"} 1");
        has_line(text, "blinkupd_confirmations_total{outcome=\"Timeout\"} 1");
        has_line(text, "blinkupd_confirmations_total{outcome=\"Server\"} 1");
        has_line(text, "blinkupd_confirmations_total{outcome=\"Auth\"} 0");
        has_line(text, "blinkupd_confirmation_duration_seconds_bucket{le=\"1\"} 1");
        has_line(text, "blinkupd_confirmation_duration_seconds_bucket{le=\"2.5\"} 1");
        has_line(text, "blinkupd_confirmation_duration_seconds_bucket{le=\"5\"} 2");
        has_line(text, "blinkupd_confirmation_duration_seconds_bucket{le=\"300\"} 2");
        has_line(text, "blinkupd_confirmation_duration_seconds_bucket{le=\"600\"} 3");
        has_line(text, "blinkupd_confirmation_duration_seconds_sum 604.000001000");
}
END_TEST

START_TEST(test_state) {
        _cleanup_(freep) char *text = NULL, *text2 = NULL;
        MetricsState s = state;
        Metrics m = { .last_success_usec = 1796620100000001 };

        text = format(&m, &s);
        has_line(text, "blinkupd_build_info{version=\"1.2.3\",libgpiod_api=\"2\",release=\"trixie\"} 1");
        has_line(text, "blinkupd_up 1");
        has_line(text, "blinkupd_start_time_seconds 1796620000.123456");
        has_line(text, "blinkupd_last_success_timestamp_seconds 1796620100.000001");
        has_line(text, "blinkupd_factory_status{status=\"unknown\"} 0");
        has_line(text, "blinkupd_factory_status{status=\"verified\"} 1");
        has_line(text, "blinkupd_factory_status{status=\"not-a-fixture\"} 0");
        has_line(text, "blinkupd_factory_status{status=\"unreachable\"} 0");
        ck_assert_ptr_null(strstr(text, "blinkupd_results_"));

        s.up = false;
        s.release = "we\"ird\\";
        s.results = true;
        s.results_backlog = 7;
        s.results_parked = 2;
        s.results_last_delivery_usec = 5;
        text2 = format(&m, &s);
        has_line(text2, "blinkupd_up 0");
        has_line(text2, "blinkupd_build_info{version=\"1.2.3\",libgpiod_api=\"2\",release=\"we\\\"ird\\\\\"} 1");
        has_line(text2, "# TYPE blinkupd_results_backlog gauge");
        has_line(text2, "blinkupd_results_backlog 7");
        has_line(text2, "blinkupd_results_parked 2");
        has_line(text2, "blinkupd_results_last_delivery_timestamp_seconds 0.000005");
}
END_TEST

/* Every family has its HELP and TYPE before its samples, and each sample line belongs to the
 * family above it (a histogram's samples end in _bucket, _sum or _count). */
START_TEST(test_families) {
        _cleanup_(freep) char *text = NULL;
        MetricsState s = state;
        Metrics m = {};
        char family[128] = "", type[16] = "";
        unsigned families = 0;

        s.results = true;
        text = format(&m, &s);
        ck_assert(text[strlen(text) - 1] == '\n');
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                char name[128];
                size_t n;

                if (sscanf(line, "# HELP %127s", name) == 1) {
                        snprintf(family, sizeof(family), "%s", name);
                        type[0] = 0;
                        families++;
                        continue;
                }
                if (sscanf(line, "# TYPE %127s %15s", name, type) == 2) {
                        ck_assert_str_eq(name, family);
                        continue;
                }
                ck_assert_msg(line[0] != '#', "stray comment: %s", line);
                ck_assert_msg(type[0], "sample before its TYPE: %s", line);
                n = strcspn(line, "{ ");
                snprintf(name, sizeof(name), "%.*s", (int) n, line);
                if (streq(type, "histogram")) {
                        const char *suffix = name + strlen(family);

                        ck_assert_msg(startswith(name, family) && (streq(suffix, "_bucket") || streq(suffix, "_sum") ||
                                                                   streq(suffix, "_count")),
                                      "%s in %s", name, family);
                } else
                        ck_assert_str_eq(name, family);
        }
        /* build_info up start_time attempts frames_sent frames_resent timing_faults lateness server
         * confirmations confirmation_duration last_success factory_status 3 x results */
        ck_assert_uint_eq(families, 16);
}
END_TEST

static char tmpdir[] = "/tmp/test-metrics-XXXXXX";

static void setup(void) {
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void) {
        char cmd[64];

        (void) snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
        (void) !system(cmd);
        (void) snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-metrics-XXXXXX");
}

static unsigned dir_entries(const char *dir, char *ret_name, size_t size) {
        struct dirent *de;
        unsigned n = 0;
        DIR *d = opendir(dir);

        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..")) {
                        (void) snprintf(ret_name, size, "%s", de->d_name);
                        n++;
                }
        closedir(d);
        return n;
}

START_TEST(test_write_file) {
        char path[256], buf[64] = "", name[256];
        struct stat st;
        FILE *f;

        ck_assert_int_eq(metrics_write_file(tmpdir, "a 1\n", 4), 0);
        ck_assert_int_eq(metrics_write_file(tmpdir, "b 2\n", 4), 0);
        (void) snprintf(path, sizeof(path), "%s/blinkupd.prom", tmpdir);
        f = fopen(path, "re");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fread(buf, 1, sizeof(buf) - 1, f), 4);
        fclose(f);
        ck_assert_str_eq(buf, "b 2\n");
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0644);
        /* no temporary file is left behind */
        ck_assert_uint_eq(dir_entries(tmpdir, name, sizeof(name)), 1);
        ck_assert_str_eq(name, "blinkupd.prom");

        /* a directory that is not there */
        (void) snprintf(path, sizeof(path), "%s/gone", tmpdir);
        ck_assert_int_eq(metrics_write_file(path, "a 1\n", 4), -ENOENT);
        /* a file where the directory should be */
        (void) snprintf(path, sizeof(path), "%s/blinkupd.prom", tmpdir);
        ck_assert_int_eq(metrics_write_file(path, "a 1\n", 4), -ENOTDIR);
}
END_TEST

START_TEST(test_os_release) {
        char path[256], r[32];
        FILE *f;

        (void) snprintf(path, sizeof(path), "%s/os-release", tmpdir);
        metrics_os_release(path, r, sizeof(r));
        ck_assert_str_eq(r, "unknown");

        f = fopen(path, "we");
        fputs("PRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\nVERSION_CODENAME=\"trixie\"\nID=debian\n", f);
        fclose(f);
        metrics_os_release(path, r, sizeof(r));
        ck_assert_str_eq(r, "trixie");

        f = fopen(path, "we");
        fputs("VERSION_CODENAME=bookworm\n", f);
        fclose(f);
        metrics_os_release(path, r, sizeof(r));
        ck_assert_str_eq(r, "bookworm");

        /* only the characters a code name has, and what fits */
        f = fopen(path, "we");
        fputs("VERSION_CODENAME=abc\"} 1\nx\n", f);
        fclose(f);
        metrics_os_release(path, r, sizeof(r));
        ck_assert_str_eq(r, "abc");
        metrics_os_release(path, r, 3);
        ck_assert_str_eq(r, "ab");
}
END_TEST

static Suite *metrics_suite(void) {
        Suite *s = suite_create("metrics");
        TCase *tc = tcase_create("format");
        TCase *tf = tcase_create("files");

        tcase_add_test(tc, test_attempts);
        tcase_add_test(tc, test_lateness_histogram);
        tcase_add_test(tc, test_server_and_confirmations);
        tcase_add_test(tc, test_state);
        tcase_add_test(tc, test_families);
        suite_add_tcase(s, tc);
        tcase_add_checked_fixture(tf, setup, teardown);
        tcase_add_test(tf, test_write_file);
        tcase_add_test(tf, test_os_release);
        suite_add_tcase(s, tf);
        return s;
}

TEST_MAIN(metrics_suite)
