/* SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf(), open_memstream() */
#endif
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-id128.h>

/* The build directory has the autoconf "config.h", found first for "config.h": name ours. */
#include "conf-parser.h"
#include "conf-table.h"
#include "conf.h"
#include "factory.h"
#include "secret.h"
#include "strv.h"
#include "tests.h"

/* The tests may run as root, for whom a file's mode does not make it unreadable: a file that
 * cannot be read is simulated with a directory, a path under a missing directory, or a FIFO. */

#define LOGIN_KEY "LK-5f1c9e0a7b2d4e6f"
#define API_KEY "AK-0a1b2c3d4e5f"
#define WIFI_PASSWORD "secret123"

static char *tmpdir;

static char *tmp_path(const char *rel) {
        char *p;

        ck_assert_int_ge(asprintf(&p, "%s/%s", tmpdir, rel), 0);
        return p;
}

/* Writes tmpdir/rel with the mode (umask ignored) and returns its path. */
static char *write_file(const char *rel, mode_t mode, const void *data, size_t size) {
        char *p = tmp_path(rel);
        FILE *f = fopen(p, "we");

        ck_assert_msg(f, "%s: %s", p, strerror(errno));
        ck_assert_uint_eq(fwrite(data, 1, size, f), size);
        ck_assert_int_eq(fclose(f), 0);
        ck_assert_int_eq(chmod(p, mode), 0);
        return p;
}

static char *write_text(const char *rel, mode_t mode, const char *text) {
        return write_file(rel, mode, text, strlen(text));
}

static void make_dir(const char *rel) {
        _cleanup_(freep) char *p = tmp_path(rel);

        ck_assert_int_eq(mkdir(p, 0755), 0);
}

static void setup(void) {
        char t[] = "/tmp/test-config-XXXXXX";

        ck_assert_ptr_nonnull(mkdtemp(t));
        tmpdir = strdup(t);
        ck_assert_ptr_nonnull(tmpdir);
        unsetenv("CREDENTIALS_DIRECTORY");
        free(write_text("login-key", 0600, LOGIN_KEY "\n"));
        free(write_text("results-token", 0600, "line-3.0fc1c2e4\n"));
        free(write_text("api-key", 0640, API_KEY "\n"));
        free(write_text("wifi-password", 0600, WIFI_PASSWORD "\n"));
        free(write_text("ca.pem", 0644, "-----BEGIN CERTIFICATE-----\n"));
}

static int remove_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(p);
}

static void teardown(void) {
        (void) nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
        free(tmpdir);
        tmpdir = NULL;
}

/* A small valid configuration, 6 lines: what is appended starts on line 7. */
static char *base_text(void) {
        char *s;

        ck_assert_int_ge(asprintf(&s,
                                  "[LED]\n"
                                  "Line=GPIO17\n"
                                  "[Server]\n"
                                  "URL=https://factory.example.com/v5\n"
                                  "LoginKeyFile=%s/login-key\n"
                                  "FixtureId=0123456789abcdef\n",
                                  tmpdir),
                         0);
        return s;
}

static char *with_base(const char *extra) {
        _cleanup_(freep) char *b = base_text();
        char *s;

        ck_assert_int_ge(asprintf(&s, "%s%s", b, extra), 0);
        return s;
}

/* The base, then the formatted text. */
_printf_(1, 2) static char *with_basef(const char *format, ...) {
        _cleanup_(freep) char *extra = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&extra, format, ap);
        va_end(ap);
        ck_assert_int_ge(r, 0);
        return with_base(extra);
}

static unsigned count_lines(const char *s) {
        unsigned n = 0;

        for (; *s; s++)
                n += *s == '\n';
        return n;
}

/* Key i of the table (for checking the shipped example and the manual against the parser):
 * false when i is past the last key; the default is NULL for keys without one. */
static bool config_key_info(size_t i, const char **ret_section, const char **ret_key,
                            const char **ret_default_value) {
        if (i >= config_n_items)
                return false;
        if (ret_section)
                *ret_section = config_items[i].section;
        if (ret_key)
                *ret_key = config_items[i].key;
        if (ret_default_value)
                *ret_default_value = config_items[i].default_value;
        return true;
}

static int load(const char *text, Config **ret, char ***messages) {
        return config_load_buffer("test.conf", text, strlen(text), ret, messages);
}

static void print_messages(char **m) {
        for (char **i = m; i && *i; i++)
                fprintf(stderr, "    %s\n", *i);
}

/* The errors of a configuration that sets none of the three required keys: 3, and one more,
 * after them, where there is no machine ID (a minimal build root or a container): FixtureId=,
 * which is then neither set nor derivable. */
static size_t required_key_errors(char **m) {
        sd_id128_t machine;

        if (sd_id128_get_machine(&machine) >= 0)
                return 3;
        if (strv_length(m) >= 4)
                ck_assert_ptr_nonnull(strstr(m[3], "FixtureId: not set, and it cannot be derived from /etc/machine-id"));
        return 4;
}

static Config *expect_ok(const char *text) {
        _cleanup_(strv_freep) char **m = NULL;
        Config *c = NULL;
        int r;

        r = load(text, &c, &m);
        if (r != 0)
                print_messages(m);
        ck_assert_int_eq(r, 0);
        ck_assert_ptr_nonnull(c);
        ck_assert_ptr_nonnull(m);
        return c;
}

/* The first message (the first error) is exactly "message". */
static void expect_error(const char *text, const char *message) {
        _cleanup_(strv_freep) char **m = NULL;
        Config *c = (Config *) 0x1;
        int r;

        r = load(text, &c, &m);
        if (r != -EINVAL || !m[0] || !streq(m[0], message)) {
                fprintf(stderr, "expected: %s\n", message);
                print_messages(m);
        }
        ck_assert_int_eq(r, -EINVAL);
        ck_assert_ptr_eq(c, (Config *) 0x1); /* untouched */
        ck_assert_ptr_nonnull(m);
        ck_assert_ptr_nonnull(m[0]);
        ck_assert_str_eq(m[0], message);
}

/* Loads text, expecting success and exactly this one warning. */
static Config *expect_warning(const char *text, const char *warning) {
        _cleanup_(strv_freep) char **m = NULL;
        Config *c = NULL;
        int r;

        r = load(text, &c, &m);
        if (r != 0 || strv_length(m) != 1)
                print_messages(m);
        ck_assert_int_eq(r, 0);
        ck_assert_uint_eq(strv_length(m), 1);
        ck_assert_str_eq(m[0], warning);
        return c;
}

static char *dump(const Config *c) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(config_dump(c, f), 0);
        ck_assert_int_eq(fclose(f), 0);
        return buf;
}

/* The value of Key= in [Section] of the dump, NULL when absent. */
static char *dump_value(const Config *c, const char *section, const char *key) {
        _cleanup_(freep) char *d = dump(c), *header = NULL, *prefix = NULL;
        const char *p, *end;

        ck_assert_int_ge(asprintf(&header, "\n[%s]\n", section), 0);
        ck_assert_int_ge(asprintf(&prefix, "\n%s=", key), 0);
        p = strstr(d, header);
        if (!p)
                return NULL;
        p += strlen(header) - 1;
        end = strstr(p, "\n[") ?: p + strlen(p);
        p = strstr(p, prefix);
        if (!p || p >= end)
                return NULL;
        p += strlen(prefix);
        return strndup(p, strcspn(p, "\n"));
}

/* ---- defaults ---- */

START_TEST(test_defaults) {
        _cleanup_(freep) char *text = base_text(), *login = tmp_path("login-key");
        _cleanup_(config_freep) Config *c = expect_ok(text);

        ck_assert_str_eq(c->path, "test.conf");
        ck_assert_ptr_null(c->wifi.ssid);
        ck_assert_ptr_null(c->wifi.password);
        ck_assert_ptr_null(c->wifi.password_file);
        ck_assert_int_eq(c->wifi.password_source, CONFIG_SECRET_NONE);

        ck_assert_ptr_null(c->led.line.chip); /* the line is found by its name */
        ck_assert_str_eq(c->led.line.line, "GPIO17");
        ck_assert(!c->led.active_high);
        ck_assert(c->led.fast);
        ck_assert_uint_eq(c->led.repeat, 1);

        ck_assert(!c->button.enabled);
        ck_assert_ptr_null(c->button.line.chip);
        ck_assert_ptr_null(c->button.line.line);
        ck_assert(c->button.active_low);
        ck_assert_int_eq(c->button.bias, CONFIG_BIAS_PULL_UP);
        ck_assert_uint_eq(c->button.debounce_msec, 30);

        ck_assert_ptr_null(c->indicators.ready.line);
        ck_assert_ptr_null(c->indicators.busy.line);
        ck_assert_ptr_null(c->indicators.pass.line);
        ck_assert_ptr_null(c->indicators.fail.line);
        ck_assert_ptr_null(c->indicators.fail.chip);

        ck_assert_str_eq(c->server.url, "https://factory.example.com/v5");
        ck_assert_int_eq(c->server.token_type, CONFIG_TOKEN_FACTORY);
        ck_assert_str_eq(c->server.login_key, LOGIN_KEY);
        ck_assert_str_eq(c->server.login_key_file, login);
        ck_assert_int_eq(c->server.login_key_source, CONFIG_SECRET_FILE);
        ck_assert_ptr_null(c->server.api_key);
        ck_assert_ptr_null(c->server.api_key_file);
        ck_assert_int_eq(c->server.api_key_source, CONFIG_SECRET_NONE);
        ck_assert_ptr_null(c->server.plan_id);
        ck_assert_str_eq(c->server.fixture_id, "0123456789abcdef");
        ck_assert(!c->server.fixture_id_derived);
        ck_assert_ptr_null(c->server.ca_file);
        ck_assert_uint_eq(c->server.timeout_sec, 10);
        ck_assert_uint_eq(c->server.connect_timeout_sec, 5);
        ck_assert_uint_eq(c->server.confirm_timeout_sec, 120);
        ck_assert_uint_eq(c->server.confirm_interval_sec, 1);
        ck_assert(!c->server.prefetch_token);
        ck_assert(!c->server.allow_insecure_http);

        ck_assert_uint_eq(c->realtime.priority, 80);
        ck_assert_int_eq(c->realtime.cpu, -1);
        ck_assert_uint_eq(c->realtime.max_lateness_usec, 0);
        ck_assert_uint_eq(c->realtime.timing_fault_retries, 1);

        ck_assert_ptr_null(c->simulation.trace);
        ck_assert_ptr_null(c->simulation.button_fifo);
        ck_assert_str_eq(c->daemon.state_directory, STATEDIR);
}
END_TEST

START_TEST(test_empty_value_resets) {
        _cleanup_(freep) char *text = with_base("[RealTime]\nPriority=10\nCPU=2\n"
                                                "[LED]\nChip=pinctrl-rp1\nFast=no\n"
                                                "[RealTime]\nCPU=\n[LED]\nChip=\nFast=  \n");
        _cleanup_(strv_freep) char **m = NULL;
        _cleanup_(config_freep) Config *c = NULL;

        ck_assert_int_eq(load(text, &c, &m), 0);
        ck_assert_uint_eq(c->realtime.priority, 10);
        ck_assert_int_eq(c->realtime.cpu, -1);
        ck_assert_ptr_null(c->led.line.chip);
        ck_assert(c->led.fast);
        /* three keys set twice in the file */
        ck_assert_uint_eq(strv_length(m), 3);
        ck_assert_str_eq(
                m[0], "test.conf:14: CPU: set again in this file (first on line 9), the later value wins");
}
END_TEST

/* ---- every key, a good and a bad value ---- */

typedef struct KeyCase {
        const char *section, *key;
        const char *extra; /* lines before "[section]\nkey=..."; "@" is the temporary dir */
        const char *good; /* "@" is replaced by the temporary directory */
        const char *good_dump; /* the value in the dump, NULL = good */
        const char *bad;
        const char *bad_message; /* after "test.conf:N: key: " */
} KeyCase;

static const KeyCase key_cases[] = {
        { "WiFi", "SSID", NULL, "FactoryNet", NULL, "0123456789abcdef0123456789abcdef0",
          "\"0123456789abcdef0123456789abcdef0\" is 33 bytes long, at most 32 are allowed" },
        { "WiFi", "Password", "[WiFi]\nSSID=Net\n", WIFI_PASSWORD, "(set, 9 bytes)", "abc",
          "3 characters is not a valid length (WPA: 8..63 characters or 64 hex digits; WEP: 5 or 13 "
          "characters, 10 or 26 hex digits)" },
        { "WiFi", "PasswordFile", "[WiFi]\nSSID=Net\n", "@/wifi-password", NULL, "wifi-password",
          "\"wifi-password\" is not an absolute path" },
        { "LED", "Chip", NULL, "pinctrl-bcm2711", NULL, "gpio chip", "chip \"gpio chip\" contains whitespace" },
        { "LED", "Line", NULL, "GPIO17", NULL, "70000",
          "line offset \"70000\" is not in the range 0..65535" },
        { "LED", "ActiveHigh", NULL, "yes", NULL, "maybe",
          "\"maybe\" is not a boolean (yes/no, true/false, on/off, 1/0)" },
        { "LED", "Fast", NULL, "off", "no", "2",
          "\"2\" is not a boolean (yes/no, true/false, on/off, 1/0)" },
        { "LED", "Repeat", NULL, "16", NULL, "17", "\"17\" is not in the range 1..16" },
        { "Button", "Chip", NULL, "sim", NULL, "/dev/gpio chip1",
          "chip \"/dev/gpio chip1\" contains whitespace" },
        { "Button", "Line", NULL, "GPIO27", NULL, "GPIO 27", "line \"GPIO 27\" contains whitespace" },
        { "Button", "ActiveLow", "[Button]\nLine=GPIO27\n", "no", NULL, "low",
          "\"low\" is not a boolean (yes/no, true/false, on/off, 1/0)" },
        { "Button", "Bias", "[Button]\nLine=GPIO27\n", "pull-down", NULL, "up",
          "\"up\" is not as-is, disable, pull-up or pull-down" },
        { "Button", "DebounceMs", "[Button]\nLine=GPIO27\n", "0", NULL, "1001",
          "\"1001\" is not in the range 0..1000" },
        { "Indicators", "Ready", NULL, "gpiochip1:5", NULL,
          "gpiochip1:", "\"gpiochip1:\" is not \"chip:line\" or \"line\"" },
        { "Indicators", "Busy", NULL, "GPIO6", NULL, ":6", "\":6\" is not \"chip:line\" or \"line\"" },
        { "Indicators", "Pass", NULL, "sim:1", NULL, "sim:a b", "line \"a b\" contains whitespace" },
        { "Indicators", "Fail", NULL, "/dev/gpiochip2:GPIO22", NULL, "0123456789abcdef0123456789abcdef:1",
          "chip \"0123456789abcdef0123456789abcdef\" is longer than 31 bytes" },
        { "Server", "URL", NULL, "HTTPS://example.org/api//", "https://example.org/api", "ftp://example.org",
          "\"ftp://example.org\" is not an https:// URL" },
        { "Server", "TokenType", "[Server]\nApiKeyFile=@/api-key\n", "production", NULL, "test",
          "\"test\" is not factory or production" },
        { "Server", "LoginKeyFile", NULL, "@/login-key", NULL, "login-key",
          "\"login-key\" is not an absolute path" },
        { "Server", "ApiKeyFile", NULL, "@/api-key", NULL, "~/api-key",
          "\"~/api-key\" is not an absolute path" },
        { "Server", "PlanId", NULL, "ABCDEF", "abcdef", "xyz", "\"xyz\" is not 1..16 hex digits" },
        { "Server", "FixtureId", NULL, "FEDCBA9876543210", "fedcba9876543210", "0123456789abcdef0",
          "\"0123456789abcdef0\" is not 1..16 hex digits" },
        { "Server", "CAFile", NULL, "@/ca.pem", NULL, "ca.pem", "\"ca.pem\" is not an absolute path" },
        { "Server", "TimeoutSec", NULL, "3600", NULL, "0", "\"0\" is not in the range 1..3600" },
        { "Server", "ConnectTimeoutSec", NULL, "1", NULL, "3601", "\"3601\" is not in the range 1..3600" },
        { "Server", "ConfirmTimeoutSec", NULL, "86400", NULL, "-1", "\"-1\" is not a number" },
        { "Server", "ConfirmIntervalSec", NULL, "60", NULL, "1.5", "\"1.5\" is not a number" },
        { "Server", "MaxConfirmations", NULL, "1024", NULL, "0", "\"0\" is not in the range 1..1024" },
        { "Server", "PrefetchToken", NULL, "true", "yes", "ja",
          "\"ja\" is not a boolean (yes/no, true/false, on/off, 1/0)" },
        { "Server", "AllowInsecureHttp", NULL, "1", "yes", "yes please",
          "\"yes please\" is not a boolean (yes/no, true/false, on/off, 1/0)" },
        { "Fixture", "Line", NULL, "Line 3 (east hall)", NULL, "line\t3",
          "the name: control character U+0009 at byte 4" },
        { "Results", "URL", NULL, "HTTPS://mes.example.org/results/", "https://mes.example.org/results",
          "mes.example.org", "\"mes.example.org\" is not an https:// URL" },
        { "Results", "TokenFile", "[Results]\nURL=https://mes.example.org\n", "@/results-token", NULL,
          "results-token", "\"results-token\" is not an absolute path" },
        { "Results", "RetryMaxSec", NULL, "86400", NULL, "0", "\"0\" is not in the range 1..86400" },
        { "Scanner", "Device", NULL, "/dev/input/by-id/usb-Scanner-event-kbd", NULL, "input/event3",
          "\"input/event3\" is not an absolute path" },
        { "Metrics", "TextfileDirectory", NULL, "/var/lib/prometheus/node-exporter", NULL, "node-exporter",
          "\"node-exporter\" is not an absolute path" },
        { "RealTime", "Priority", NULL, "0", NULL, "120", "\"120\" is not in the range 0..99" },
        { "RealTime", "CPU", NULL, "3", NULL, "1024", "\"1024\" is not in the range 0..1023" },
        { "RealTime", "MaxLatenessUs", NULL, "500", NULL, "0", "\"0\" is not in the range 1..1000000" },
        { "RealTime", "TimingFaultRetries", NULL, "10", NULL, "11", "\"11\" is not in the range 0..10" },
        { "Simulation", "Trace", "[LED]\nChip=sim\n", "/run/blinkupd/led.vcd", NULL, "led.vcd",
          "\"led.vcd\" is not an absolute path" },
        { "Simulation", "ButtonFifo", "[Button]\nChip=sim\n", "/run/blinkupd/button", NULL, "button",
          "\"button\" is not an absolute path" },
        { "Simulation", "IdealTiming", "[LED]\nChip=sim\n", "on", "yes", "ideal",
          "\"ideal\" is not a boolean (yes/no, true/false, on/off, 1/0)" },
        { "Daemon", "StateDirectory", NULL, "/srv/blinkupd", NULL, "srv/blinkupd",
          "\"srv/blinkupd\" is not an absolute path" },
        { "Daemon", "RecordMaxFileMiB", NULL, "0", NULL, "4097", "\"4097\" is not in the range 0..4096" },
};

static char *replace_at(const char *s) {
        char *o = malloc(strlen(s) * strlen(tmpdir) + strlen(s) + 1), *p = o;

        ck_assert_ptr_nonnull(o);
        for (; *s; s++)
                if (*s == '@')
                        p = stpcpy(p, tmpdir);
                else
                        *p++ = *s;
        *p = 0;
        return o;
}

static char *key_case_text(const KeyCase *k, const char *value) {
        _cleanup_(freep) char *extra = replace_at(k->extra ?: ""), *v = replace_at(value), *s = NULL;

        ck_assert_int_ge(asprintf(&s, "[%s]\n%s=%s\n", k->section, k->key, v), 0);
        _cleanup_(freep) char *all = NULL;
        ck_assert_int_ge(asprintf(&all, "%s%s", extra, s), 0);
        return with_base(all);
}

START_TEST(test_key_good) {
        const KeyCase *k = &key_cases[_i];
        _cleanup_(freep) char *text = key_case_text(k, k->good), *expected = NULL, *got = NULL;
        _cleanup_(config_freep) Config *c = expect_ok(text);

        expected = replace_at(k->good_dump ?: k->good);
        got = dump_value(c, k->section, k->key);
        ck_assert_msg(got, "[%s] %s= missing from the dump", k->section, k->key);
        ck_assert_str_eq(got, expected);
}
END_TEST

START_TEST(test_key_bad) {
        const KeyCase *k = &key_cases[_i];
        _cleanup_(freep) char *text = key_case_text(k, k->bad), *message = NULL;

        ck_assert_int_ge(
                asprintf(&message, "test.conf:%u: %s: %s", count_lines(text), k->key, k->bad_message), 0);
        expect_error(text, message);
}
END_TEST

START_TEST(test_every_key_has_a_case) {
        const char *section, *key;
        size_t n = 0;

        for (size_t i = 0; config_key_info(i, &section, &key, NULL); i++) {
                bool found = false;
                for (size_t j = 0; j < ELEMENTSOF(key_cases); j++)
                        if (streq(key_cases[j].section, section) && streq(key_cases[j].key, key))
                                found = true;
                ck_assert_msg(found, "no test case for [%s] %s=", section, key);
                n++;
        }
        ck_assert_uint_eq(n, ELEMENTSOF(key_cases));
        ck_assert(!config_key_info(n, NULL, NULL, NULL));
}
END_TEST

START_TEST(test_typed_values) {
        _cleanup_(freep) char *text = with_base("[WiFi]\nSSID=F\xc3\xa1"
                                                "brica\n"
                                                "[LED]\nChip=sim\nLine=\nActiveHigh=on\nFast=0\nRepeat=3\n"
                                                "[Button]\nChip=gpiochip1\nLine=GPIO27\nActiveLow=false\n"
                                                "Bias=as-is\nDebounceMs=5\n"
                                                "[Indicators]\nReady=7\nFail=gpiochip2:8\n"
                                                "[Server]\nConnectTimeoutSec=3\nPrefetchToken=Yes\n"
                                                "[RealTime]\nPriority=99\nCPU=1023\nMaxLatenessUs=16665\n");
        _cleanup_(config_freep) Config *c = expect_ok(text);

        ck_assert_str_eq(c->wifi.ssid, "F\xc3\xa1"
                                       "brica");
        ck_assert_str_eq(c->led.line.chip, "sim");
        ck_assert_ptr_null(c->led.line.line);
        ck_assert(c->led.active_high);
        ck_assert(!c->led.fast);
        ck_assert_uint_eq(c->led.repeat, 3);
        ck_assert(c->button.enabled);
        ck_assert_str_eq(c->button.line.chip, "gpiochip1");
        ck_assert_str_eq(c->button.line.line, "GPIO27");
        ck_assert(!c->button.active_low);
        ck_assert_int_eq(c->button.bias, CONFIG_BIAS_AS_IS);
        ck_assert_uint_eq(c->button.debounce_msec, 5);
        ck_assert_str_eq(c->indicators.ready.chip, "sim"); /* the LED's chip */
        ck_assert_str_eq(c->indicators.ready.line, "7");
        ck_assert_str_eq(c->indicators.fail.chip, "gpiochip2");
        ck_assert_str_eq(c->indicators.fail.line, "8");
        ck_assert_ptr_null(c->indicators.busy.chip);
        ck_assert_uint_eq(c->server.connect_timeout_sec, 3);
        ck_assert(c->server.prefetch_token);
        ck_assert_uint_eq(c->realtime.priority, 99);
        ck_assert_int_eq(c->realtime.cpu, 1023);
        ck_assert_uint_eq(c->realtime.max_lateness_usec, 16665);

        ck_assert_str_eq(config_bias_to_string(CONFIG_BIAS_PULL_DOWN), "pull-down");
        ck_assert_str_eq(config_token_type_to_string(CONFIG_TOKEN_PRODUCTION), "production");
        ck_assert_ptr_null(config_bias_to_string(_CONFIG_BIAS_MAX));
}
END_TEST

/* ---- the file format ---- */

START_TEST(test_missing_sections) {
        _cleanup_(strv_freep) char **m = NULL;
        Config *c = NULL;

        ck_assert_int_eq(load("", &c, &m), -EINVAL);
        ck_assert_ptr_null(c);
        ck_assert_uint_eq(strv_length(m), required_key_errors(m));
        ck_assert_str_eq(
                m[0],
                "test.conf: [LED] Line: not set; give the LED's line name (Line=GPIO17) (or use Chip=sim)");
        ck_assert_str_eq(m[1], "test.conf: [Server] URL: not set; give the factory server's https:// URL");
        ck_assert_str_eq(
                m[2], "test.conf: [Server] LoginKeyFile: not set, and TokenType=factory needs a login key "
                      "(or the credential login-key)");

        /* the optional sections may all be missing */
        _cleanup_(freep) char *text = base_text();
        _cleanup_(config_freep) Config *ok = expect_ok(text);
        ck_assert(!ok->button.enabled);
}
END_TEST

START_TEST(test_duplicate_keys) {
        _cleanup_(freep) char *text =
                with_base("[RealTime]\nPriority=10\n[LED]\nLine=GPIO4\n[RealTime]\nPriority=20\n");
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(strv_freep) char **m = NULL;

        ck_assert_int_eq(load(text, &c, &m), 0);
        ck_assert_uint_eq(c->realtime.priority, 20);
        ck_assert_str_eq(c->led.line.line, "GPIO4");
        ck_assert_uint_eq(strv_length(m), 2);
        ck_assert_str_eq(
                m[0], "test.conf:10: Line: set again in this file (first on line 2), the later value wins");
        ck_assert_str_eq(
                m[1],
                "test.conf:12: Priority: set again in this file (first on line 8), the later value wins");
}
END_TEST

START_TEST(test_unknown_sections_and_keys) {
        _cleanup_(freep) char *text = with_base("[Foo]\nBar=1\nLine=?\n[LED]\nColour=red\nline=3\n");
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(strv_freep) char **m = NULL;

        ck_assert_int_eq(load(text, &c, &m), 0);
        ck_assert_str_eq(c->led.line.line, "GPIO17");
        ck_assert_uint_eq(strv_length(m), 3);
        ck_assert_str_eq(m[0], "test.conf:7: unknown section [Foo], ignoring its keys");
        ck_assert_str_eq(m[1], "test.conf:11: Colour: unknown key in section [LED], ignoring it");
        ck_assert_str_eq(m[2], "test.conf:12: line: unknown key in section [LED], ignoring it");
}
END_TEST

/* ---- one bad input, one error: the first message ---- */

typedef struct ErrorCase {
        bool base; /* text comes after the base (lines 1..6), on line 7 */
        const char *text;
        const char *message;
} ErrorCase;

static const ErrorCase error_cases[] = {
        /* syntax */
        { true, "[LED]\nFast yes\n", "test.conf:8: expected Key=Value, a [Section] header or a comment" },
        { true, "[LED\n", "test.conf:7: the section header lacks its closing ']'" },
        { true, "[LED] Fast=yes\n", "test.conf:7: unexpected text after the section header" },
        { true, "[]\n", "test.conf:7: \"[]\" is not a valid section header" },
        { true, "[LED]\n=yes\n", "test.conf:8: the key name before '=' is missing" },
        { true, "[LED]\nFa st=yes\n", "test.conf:8: \"Fa st\" is not a valid key name" },
        { true, "[WiFi]\nSSID=\"Net\n", "test.conf:8: SSID: the value lacks its closing quote" },
        { true, "[WiFi]\nSSID=\"Net\" x\n", "test.conf:8: SSID: unexpected text after the closing quote" },
        { false, "Line=17\n[LED]\n",
          "test.conf:1: Line: the key is not in a section (a [Section] line must come first)" },

        /* bytes that are not text */
        { false, "[LED]\nLine=1\x01\n", "test.conf:2: the line contains the control character 0x01" },
        { false, "[LED]\nLine=\x7f\n", "test.conf:2: the line contains the control character 0x7f" },
        { false, "[LED]\nLine=\xff\xfe\n", "test.conf:2: the line is not valid UTF-8" },
        { false, "[LED]\nLine=\xc0\xaf\n", "test.conf:2: the line is not valid UTF-8" }, /* overlong '/' */
        { false, "[LED]\nLine=\xed\xa0\x80\n", "test.conf:2: the line is not valid UTF-8" }, /* surrogate */

        /* the URL */
        { true, "[Server]\nURL=https:///v5\n", "test.conf:8: URL: \"https:///v5\" has no host name" },

        /* rules across keys */
        { true, "[Server]\nConfirmIntervalSec=30\nConfirmTimeoutSec=10\n",
          "test.conf:8: ConfirmIntervalSec: ConfirmIntervalSec=30 is longer than ConfirmTimeoutSec=10" },
        { true, "[Server]\nConfirmTimeoutSec=0\n",
          "test.conf:8: ConfirmTimeoutSec: \"0\" is not in the range 1..86400" },
        { true, "[RealTime]\nMaxLatenessUs=7042\n",
          "test.conf:8: MaxLatenessUs: 7042 is not less than one bit (7042 us with Fast=yes)" },
        { true, "[Simulation]\nIdealTiming=yes\n",
          "test.conf:8: IdealTiming: is only for the simulated LED ([LED] Chip=sim): a real LED's late edges are "
          "always timing faults" },
        { true, "[Button]\nChip=gpiochip1\n",
          "test.conf:8: Chip: the button needs Line= too (its line name), unless Chip=sim" },
        { true, "[WiFi]\nPassword=abcdefgh\n", "test.conf:8: Password: a WiFi password is given but SSID= is not set" },
        { true, "[Server]\nTokenType=production\n",
          "test.conf: [Server] ApiKeyFile: not set, and TokenType=production needs an API key (or the credential "
          "api-key)" },

        /* lines: negative offsets are not names; an offset needs a chip, on the LED, the button or an
         * indicator */
        { true, "[LED]\nLine=-3\n", "test.conf:8: Line: line offset \"-3\" is not in the range 0..65535" },
        { true, "[Button]\nLine=+27\n", "test.conf:8: Line: line offset \"+27\" is not in the range 0..65535" },
        { true, "[LED]\nLine=17\n",
          "test.conf:8: Line: line offset \"17\" needs a chip: give the line's name (GPIO17), or the chip's label "
          "in Chip=" },
        { true, "[Button]\nLine=27\n",
          "test.conf:8: Line: line offset \"27\" needs a chip: give the line's name (GPIO17), or the chip's label "
          "in Chip=" },
        { true, "[Indicators]\nReady=5\n",
          "test.conf:8: Ready: line offset \"5\" needs a chip: give the line's name (GPIO17), or the chip's label "
          "in Chip=" },
};

START_TEST(test_error_case) {
        const ErrorCase *e = &error_cases[_i];
        _cleanup_(freep) char *text = e->base ? with_base(e->text) : strdup(e->text);

        ck_assert_ptr_nonnull(text);
        expect_error(text, e->message);
}
END_TEST

START_TEST(test_errors_first_then_warnings) {
        _cleanup_(freep) char *text =
                with_base("[LED]\nColour=red\nRepeat=0\n[Nope]\n[RealTime]\nPriority=x\n");
        _cleanup_(strv_freep) char **m = NULL;
        Config *c = NULL;

        ck_assert_int_eq(load(text, &c, &m), -EINVAL);
        ck_assert_uint_eq(strv_length(m), 4);
        ck_assert_str_eq(m[0], "test.conf:9: Repeat: \"0\" is not in the range 1..16");
        ck_assert_str_eq(m[1], "test.conf:12: Priority: \"x\" is not a number");
        ck_assert_str_eq(m[2], "test.conf:8: Colour: unknown key in section [LED], ignoring it");
        ck_assert_str_eq(m[3], "test.conf:10: unknown section [Nope], ignoring its keys");

        /* with errors in the files, rules across keys are not checked: no "URL not set" */
        strv_free(TAKE_PTR(m));
        ck_assert_int_eq(load("[LED]\nLine=GPIO1\n[RealTime]\nPriority=100\n", &c, &m), -EINVAL);
        ck_assert_uint_eq(strv_length(m), 1);
        ck_assert_str_eq(m[0], "test.conf:4: Priority: \"100\" is not in the range 0..99");
        ck_assert_ptr_null(c);

        /* a NULL ret_messages is fine */
        ck_assert_int_eq(load("[LED]\nLine=GPIO1\n[RealTime]\nPriority=100\n", &c, NULL), -EINVAL);
}
END_TEST

START_TEST(test_comments_quotes_whitespace) {
        _cleanup_(freep) char *text = NULL;

        /* the example of the interfaces page, with its trailing comments */
        ck_assert_int_ge(asprintf(&text,
                                  "\xEF\xBB\xBF# a comment\r\n"
                                  "; another comment\n"
                                  "[WiFi]\n"
                                  "SSID=FactoryNet            # empty for cellular/Ethernet DUTs\n"
                                  "PasswordFile=%s/wifi-password   # or Password=; or systemd credential\n"
                                  "[LED]\r\n"
                                  "Chip=pinctrl-bcm2711       # a label; none: lines found by name\n"
                                  "  Line  =  17  \n"
                                  "\tFast=yes\t# 142 bits/s instead of 60\n"
                                  "[Button]                   # optional: no section = D-Bus triggers only\n"
                                  "Chip=pinctrl-bcm2711\n"
                                  "Line=27\n"
                                  "Bias=pull-up               # as-is | disable | pull-up | pull-down\n"
                                  "[Indicators]               # optional status LEDs\n"
                                  "[Server]\n"
                                  "URL=https://factory.example.com/v5#frag\n"
                                  "TokenType=factory          # factory | production\n"
                                  "LoginKeyFile=%s/login-key       # factory mode; or credential login-key\n"
                                  "ApiKeyFile=                # production mode; or credential api-key\n"
                                  "FixtureId=\"abc\"  # quoted\n"
                                  "[RealTime]\n"
                                  "Priority=80                # SCHED_FIFO priority\n"
                                  "CPU=                       # optional CPU\n",
                                  tmpdir, tmpdir),
                         0);
        _cleanup_(config_freep) Config *c = expect_ok(text);

        ck_assert_str_eq(c->wifi.ssid, "FactoryNet");
        ck_assert_str_eq(c->wifi.password, WIFI_PASSWORD);
        ck_assert_int_eq(c->wifi.password_source, CONFIG_SECRET_FILE);
        ck_assert_str_eq(c->led.line.line, "17");
        ck_assert(c->button.enabled);
        ck_assert_str_eq(c->button.line.line, "27");
        ck_assert_str_eq(c->server.url, "https://factory.example.com/v5#frag");
        ck_assert_ptr_null(c->server.api_key_file);
        ck_assert_str_eq(c->server.fixture_id, "abc");
        ck_assert_int_eq(c->realtime.cpu, -1);

        /* quotes keep whitespace and " #"; \" and \\ are the only escapes */
        _cleanup_(freep) char *q =
                with_base("[WiFi]\nSSID=\" Net #1 \"\nPassword=\"pa\\\"ss \\\\ #w\\d\"\n");
        _cleanup_(config_freep) Config *c2 = expect_ok(q);
        ck_assert_str_eq(c2->wifi.ssid, " Net #1 ");
        ck_assert_str_eq(c2->wifi.password, "pa\"ss \\ #w\\d");
}
END_TEST

START_TEST(test_long_lines) {
        char *line = malloc(CONF_LINE_MAX + 2);
        _cleanup_(freep) char *ok = NULL, *bad = NULL, *value = NULL, *expected = NULL;

        ck_assert_ptr_nonnull(line);
        /* a comment of exactly 4096 bytes is fine */
        memset(line, 'x', CONF_LINE_MAX + 1);
        line[0] = '#';
        line[CONF_LINE_MAX] = 0;
        ok = with_basef("%s\n", line);
        config_free(expect_ok(ok));

        /* one more byte is not */
        line[CONF_LINE_MAX] = 'x';
        line[CONF_LINE_MAX + 1] = 0;
        bad = with_basef("[LED]\n%s\nRepeat=0\n", line);
        expect_error(bad, "test.conf:8: the line is longer than 4096 bytes");

        /* a long value is cut in the message */
        memset(line, 'y', 100);
        line[100] = 0;
        value = with_basef("[WiFi]\nSSID=%s\n", line);
        line[64] = 0;
        ck_assert_int_ge(asprintf(&expected,
                                  "test.conf:8: SSID: \"%s...\" is 100 bytes long, at most 32 are allowed",
                                  line),
                         0);
        expect_error(value, expected);
        free(line);
}
END_TEST

START_TEST(test_binary_garbage) {
        static const char nul[] = "[LED]\nLine=1\0 7\n";
        _cleanup_(strv_freep) char **m = NULL;
        Config *c = NULL;
        uint32_t x = 12345;
        char *junk;

        ck_assert_int_eq(config_load_buffer("test.conf", nul, sizeof(nul) - 1, &c, &m), -EINVAL);
        ck_assert_str_eq(m[0], "test.conf:2: the line contains a NUL byte (not a text file?)");
        strv_free(TAKE_PTR(m));

        /* the control characters and bad UTF-8: in error_cases */

        /* 64 KiB of noise: a bounded number of errors, then the file is given up */
        junk = malloc(65536);
        ck_assert_ptr_nonnull(junk);
        for (size_t i = 0; i < 65536; i++) {
                x = x * 1103515245 + 12345;
                junk[i] = (char) (x >> 16);
        }
        ck_assert_int_eq(config_load_buffer("junk.bin", junk, 65536, &c, &m), -EINVAL);
        ck_assert_ptr_null(c);
        ck_assert_uint_le(strv_length(m), CONF_ERRORS_PER_FILE_MAX + 1);
        ck_assert_uint_ge(strv_length(m), 2);
        ck_assert_ptr_nonnull(
                strstr(m[strv_length(m) - 1], ": too many errors, ignoring the rest of the file"));
        ck_assert(strncmp(m[0], "junk.bin:", 9) == 0);
        free(junk);
}
END_TEST

/* ---- rules across keys ---- */

/* [Results]: the rules across keys, the token's file and credential */
START_TEST(test_results) {
        _cleanup_(freep) char *http = with_base("[Results]\nURL=http://mes.example.org\n");
        _cleanup_(freep) char *allowed = with_base("[Server]\nAllowInsecureHttp=yes\n[Results]\nURL=http://mes.example.org\n");
        _cleanup_(freep) char *token = with_basef("[Results]\nURL=https://mes.example.org/r\nTokenFile=%s/results-token\n",
                                                  tmpdir);
        _cleanup_(freep) char *spaced = NULL, *nourl = NULL, *bad = NULL, *cred = NULL, *creddir = NULL;
        Config *c;

        /* URL= is line 8, the first after the base's six and "[Results]" */
        expect_error(http, "test.conf:8: URL: \"http://mes.example.org\" is plain HTTP; use https:// "
                           "([Server] AllowInsecureHttp=yes permits http:// for tests)");
        c = expect_ok(allowed);
        ck_assert_str_eq(c->results.url, "http://mes.example.org");
        ck_assert_ptr_null(c->results.token);
        ck_assert_uint_eq(c->results.retry_max_sec, 300);
        config_free(c);

        c = expect_ok(token);
        ck_assert_str_eq(c->results.url, "https://mes.example.org/r");
        ck_assert_str_eq(c->results.token, "line-3.0fc1c2e4");
        ck_assert_int_eq(c->results.token_source, CONFIG_SECRET_FILE);
        config_free(c);

        /* a token that cannot go into a header */
        free(write_text("spaced-token", 0600, "two words\n"));
        bad = with_basef("[Results]\nURL=https://mes.example.org\nTokenFile=%s/spaced-token\n", tmpdir);
        ck_assert_int_ge(asprintf(&spaced,
                                  "test.conf:9: TokenFile: %s/spaced-token: the bearer token is empty or holds a "
                                  "space or a character that is not printable ASCII",
                                  tmpdir),
                         0);
        expect_error(bad, spaced);

        /* a token without a URL is only a warning */
        nourl = with_basef("[Results]\nTokenFile=%s/results-token\n", tmpdir);
        config_free(expect_warning(nourl, "test.conf:8: TokenFile: ignored: [Results] URL= is not set"));

        /* the credential, when TokenFile= is unset */
        creddir = tmp_path("creds");
        (void) mkdir(creddir, 0700);
        free(write_text("creds/results-token", 0600, "from-credential\n"));
        ck_assert_int_eq(setenv("CREDENTIALS_DIRECTORY", creddir, 1), 0);
        cred = with_base("[Results]\nURL=https://mes.example.org\n");
        c = expect_ok(cred);
        ck_assert_str_eq(c->results.token, "from-credential");
        ck_assert_int_eq(c->results.token_source, CONFIG_SECRET_CREDENTIAL);
        config_free(c);
        ck_assert_int_eq(unsetenv("CREDENTIALS_DIRECTORY"), 0);
}
END_TEST

START_TEST(test_url_scheme) {
        _cleanup_(freep) char *http = NULL, *allowed = NULL;
        _cleanup_(freep) char *b = base_text();

        /* URL= is line 4 of the base */
        http = strdup(b);
        http = realloc(http, strlen(b) + 64);
        ck_assert_ptr_nonnull(http);
        {
                char *p = strstr(http, "https://");
                memmove(p + 4, p + 5, strlen(p + 5) + 1); /* "https" -> "http" */
        }
        expect_error(http, "test.conf:4: URL: \"http://factory.example.com/v5\" is plain HTTP; use https:// "
                           "(AllowInsecureHttp=yes permits http:// for tests)");

        /* AllowInsecureHttp= before URL= counts as well: the rule is checked at the end */
        ck_assert_int_ge(asprintf(&allowed, "[Server]\nAllowInsecureHttp=yes\n%s", http), 0);
        _cleanup_(config_freep) Config *c = expect_ok(allowed);
        ck_assert_str_eq(c->server.url, "http://factory.example.com/v5");
}
END_TEST

START_TEST(test_cross_key_rules) {
        _cleanup_(freep) char *e = with_base("[RealTime]\nMaxLatenessUs=7042\n[LED]\nFast=no\n"),
                              *g = with_base("[Button]\nChip=sim\n"),
                              *h = with_base("[Simulation]\nTrace=/tmp/led.vcd\n"),
                              *i = with_base("[LED]\nChip=sim\nLine=\n"),
                              *j = with_base("[Server]\nConfirmTimeoutSec=1\n");

        /* the errors are in error_cases; Fast=no makes a bit long enough */
        config_free(expect_ok(e));

        _cleanup_(config_freep) Config *sim = expect_ok(g);
        ck_assert(sim->button.enabled);
        ck_assert_str_eq(sim->button.line.chip, "sim");
        ck_assert_ptr_null(sim->button.line.line);

        config_free(expect_warning(h, "test.conf:8: Trace: has no effect unless [LED] Chip=sim"));
        _cleanup_(config_freep) Config *led = expect_ok(i);
        ck_assert_ptr_null(led->led.line.line);

        /* the default interval is within any timeout */
        config_free(expect_ok(j));
}
END_TEST

/* Lines by name, chips never by number: an offset needs a chip; a numbered chip works but warns. */
START_TEST(test_line_lookup_rules) {
        static const char *const numbered[] = { "3", "gpiochip4", "/dev/gpiochip10" };
        static const char *const stable[] = { "pinctrl-rp1", "pinctrl-bcm2711", "/dev/gpiochip-led", "sim" };

        for (size_t k = 0; k < ELEMENTSOF(numbered); k++) {
                _cleanup_(freep) char *text = with_basef("[LED]\nChip=%s\n", numbered[k]), *want = NULL;

                ck_assert_int_ge(asprintf(&want,
                                          "test.conf:8: Chip: chip \"%s\" is named by its number, and chip "
                                          "numbers change between kernels (a Pi 5's header chip has been "
                                          "gpiochip4, gpiochip0 and gpiochip10..15); name the line alone "
                                          "(Line=GPIO17) or the chip by its label (Chip=pinctrl-rp1, "
                                          "Chip=pinctrl-bcm2711)",
                                          numbered[k]),
                                 0);
                config_free(expect_warning(text, want));
        }
        for (size_t k = 0; k < ELEMENTSOF(stable); k++) {
                _cleanup_(freep) char *text = with_basef("[LED]\nChip=%s\n", stable[k]);
                _cleanup_(strv_freep) char **m = NULL;
                _cleanup_(config_freep) Config *c = NULL;

                ck_assert_int_eq(load(text, &c, &m), 0);
                ck_assert_msg(strv_length(m) == 0, "Chip=%s: %s", stable[k], m[0]);
        }

        /* negative offsets, and offsets without a chip: in error_cases */

        /* the LED's chip, when given, is the button's and the indicators' too */
        _cleanup_(freep) char *given = with_base("[LED]\nChip=pinctrl-rp1\n[Button]\nLine=27\n"
                                                 "[Indicators]\nPass=GPIO22\nFail=gpiochip-x:3\n");
        _cleanup_(config_freep) Config *c = expect_ok(given);
        ck_assert_str_eq(c->button.line.chip, "pinctrl-rp1");
        ck_assert_str_eq(c->button.line.line, "27");
        ck_assert_str_eq(c->indicators.pass.chip, "pinctrl-rp1");
        ck_assert_str_eq(c->indicators.fail.chip, "gpiochip-x");

        /* and without it every line is found by its name */
        _cleanup_(freep) char *names = with_base("[Button]\nLine=GPIO27\n[Indicators]\nBusy=GPIO23\n");
        _cleanup_(config_freep) Config *n = expect_ok(names);
        ck_assert(n->button.enabled);
        ck_assert_ptr_null(n->led.line.chip);
        ck_assert_ptr_null(n->button.line.chip);
        ck_assert_str_eq(n->button.line.line, "GPIO27");
        ck_assert_ptr_null(n->indicators.busy.chip);
        ck_assert_str_eq(n->indicators.busy.line, "GPIO23");
}
END_TEST

START_TEST(test_wifi_rules) {
        _cleanup_(freep) char *both = NULL, *badfile = NULL, *pw = NULL;

        both = with_basef("[WiFi]\nSSID=Net\nPassword=abcdefgh\nPasswordFile=%s/wifi-password\n", tmpdir);
        expect_error(both, "test.conf:10: PasswordFile: cannot be combined with Password= (test.conf:9); "
                           "empty one of them");

        pw = write_text("short-password", 0600, "abc\n");
        badfile = with_basef("[WiFi]\nSSID=Net\nPasswordFile=%s\n", pw);
        _cleanup_(freep) char *expected = NULL;
        ck_assert_int_ge(asprintf(&expected,
                                  "test.conf:9: PasswordFile: %s: 3 characters is not a valid length (WPA: "
                                  "8..63 characters or 64 hex digits; WEP: 5 or 13 characters, 10 or 26 hex "
                                  "digits)",
                                  pw),
                         0);
        expect_error(badfile, expected);

        /* a 64-digit hex key, and an open network */
        _cleanup_(freep) char *psk =
                with_base("[WiFi]\nSSID=Net\n"
                          "Password=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
        config_free(expect_ok(psk));
        _cleanup_(freep) char *open = with_base("[WiFi]\nSSID=Net\n");
        _cleanup_(config_freep) Config *c = expect_ok(open);
        ck_assert_ptr_null(c->wifi.password);
}
END_TEST

START_TEST(test_token_type_rules) {
        _cleanup_(freep) char *prod_ok = NULL, *factory = NULL, *expected = NULL;

        prod_ok = with_basef("[Server]\nTokenType=production\nApiKeyFile=%s/api-key\nPlanId=1F\n", tmpdir);
        _cleanup_(strv_freep) char **m = NULL;
        _cleanup_(config_freep) Config *c = NULL;
        ck_assert_int_eq(load(prod_ok, &c, &m), 0);
        ck_assert_str_eq(c->server.api_key, API_KEY);
        ck_assert_ptr_null(c->server.login_key); /* not read: not needed */
        ck_assert_str_eq(c->server.plan_id, "1f");
        ck_assert_uint_eq(strv_length(m), 1);
        ck_assert_str_eq(m[0], "test.conf:5: LoginKeyFile: ignored with TokenType=production");

        factory = with_basef("[Server]\nApiKeyFile=%s/api-key\nPlanId=1\n", tmpdir);
        strv_free(TAKE_PTR(m));
        config_free(TAKE_PTR(c));
        ck_assert_int_eq(load(factory, &c, &m), 0);
        ck_assert_ptr_null(c->server.api_key);
        ck_assert_uint_eq(strv_length(m), 2);
        ck_assert_str_eq(m[0], "test.conf:8: ApiKeyFile: ignored with TokenType=factory");
        ck_assert_str_eq(
                m[1], "test.conf:9: PlanId: ignored with TokenType=factory (the server chooses the plan)");
}
END_TEST

/* ---- secrets ---- */

/* The error about the base's LoginKeyFile= (line 5): "<path>: <reason>". */
static void expect_login_key_error(const char *text, const char *login, const char *reason) {
        _cleanup_(freep) char *expected = NULL;

        ck_assert_int_ge(asprintf(&expected, "test.conf:5: LoginKeyFile: %s: %s", login, reason), 0);
        expect_error(text, expected);
}

START_TEST(test_secret_files) {
        _cleanup_(freep) char *login = tmp_path("login-key"), *text = base_text();

        /* readable by others: refused */
        ck_assert_int_eq(chmod(login, 0644), 0);
        expect_login_key_error(text, login, "readable by other users, refusing to use it (chmod 0600 or 0640)");

        /* group-readable is fine */
        ck_assert_int_eq(chmod(login, 0640), 0);
        config_free(expect_ok(text));

        /* empty */
        free(write_text("login-key", 0600, "\n"));
        expect_login_key_error(text, login, "empty, or the first line is empty or contains a NUL byte");

        /* too large */
        {
                char *big = malloc(SECRET_SIZE_MAX + 10);
                memset(big, 'k', SECRET_SIZE_MAX + 10);
                free(write_file("login-key", 0600, big, SECRET_SIZE_MAX + 10));
                free(big);
        }
        expect_login_key_error(text, login, "larger than 4096 bytes");

        /* missing, and a directory */
        ck_assert_int_eq(unlink(login), 0);
        expect_login_key_error(text, login, "No such file or directory");
        ck_assert_int_eq(mkdir(login, 0700), 0);
        expect_login_key_error(text, login, "not a regular file");

        /* a FIFO put there: refused at once, never waited on (the test would time out) */
        ck_assert_int_eq(rmdir(login), 0);
        ck_assert_int_eq(mkfifo(login, 0600), 0);
        expect_login_key_error(text, login, "not a regular file");

        /* a symbolic link, even to a good file: not followed */
        ck_assert_int_eq(unlink(login), 0);
        {
                _cleanup_(freep) char *real = write_text("real-login-key", 0600, "key\n");

                ck_assert_int_eq(symlink(real, login), 0);
        }
        expect_login_key_error(text, login, "a symbolic link, which is not followed; name the file itself");
}
END_TEST

START_TEST(test_secrets_never_shown) {
        _cleanup_(freep) char *text = NULL, *d = NULL;
        _cleanup_(strv_freep) char **m = NULL;
        _cleanup_(config_freep) Config *c = NULL;

        text = with_basef("[WiFi]\nSSID=Net\nPassword=hunter2hunter2\n[Foo]\n");
        ck_assert_int_eq(load(text, &c, &m), 0);
        d = dump(c);
        ck_assert_ptr_null(strstr(d, "hunter2"));
        ck_assert_ptr_null(strstr(d, LOGIN_KEY));
        ck_assert_ptr_nonnull(strstr(d, "\nPassword=(set, 14 bytes)\n"));
        ck_assert_ptr_nonnull(strstr(d, "\n# login key: (set, 19 bytes), from LoginKeyFile=\n"));
        ck_assert_ptr_nonnull(strstr(d, "\n# API key: (unset)\n"));
        ck_assert_ptr_null(strv_find_substring(m, "hunter2"));

        /* nor in errors about the password */
        strv_free(TAKE_PTR(m));
        Config *bad = NULL;
        ck_assert_int_eq(load("[WiFi]\nSSID=Net\nPassword=hunter\xc3\xa9xyz\n", &bad, &m), -EINVAL);
        ck_assert_ptr_null(strv_find_substring(m, "hunter"));
        ck_assert_str_eq(m[0], "test.conf:3: Password: only printable ASCII characters are allowed");
}
END_TEST

START_TEST(test_password_in_readable_file) {
        _cleanup_(freep) char *body = NULL, *path = NULL, *expected = NULL;
        _cleanup_(strv_freep) char **m = NULL;
        _cleanup_(config_freep) Config *c = NULL;

        body = with_basef("[WiFi]\nSSID=Net\nPassword=abcdefgh\n");
        path = write_text("blinkupd.conf", 0644, body);
        ck_assert_int_eq(config_load(path, &c, &m), 0);
        ck_assert_str_eq(c->wifi.password, "abcdefgh");
        ck_assert_int_eq(c->wifi.password_source, CONFIG_SECRET_INLINE);
        ck_assert_int_ge(asprintf(&expected,
                                  "%s:9: Password: %s is readable by other users; use PasswordFile= or the "
                                  "credential wifi-password, or chmod 0640",
                                  path, path),
                         0);
        ck_assert_uint_eq(strv_length(m), 1);
        ck_assert_str_eq(m[0], expected);

        /* not with 0640 */
        ck_assert_int_eq(chmod(path, 0640), 0);
        strv_free(TAKE_PTR(m));
        config_free(TAKE_PTR(c));
        ck_assert_int_eq(config_load(path, &c, &m), 0);
        ck_assert_uint_eq(strv_length(m), 0);
}
END_TEST

START_TEST(test_credentials) {
        _cleanup_(freep) char *creds = tmp_path("creds"), *lk = NULL, *text = NULL,
                              *login = tmp_path("login-key");
        _cleanup_(strv_freep) char **m = NULL;
        Config *c = NULL;

        make_dir("creds");
        lk = write_text("creds/login-key", 0400, "credential-login-key\n");
        free(write_text("creds/api-key", 0400, "credential-api-key"));
        free(write_text("creds/wifi-password", 0400, "credential-wifi\r\n"));
        setenv("CREDENTIALS_DIRECTORY", creds, 1);

        /* no key set: the credentials are used */
        text = strdup("[WiFi]\nSSID=Net\n[LED]\nLine=GPIO1\n[Server]\nURL=https://x.example\nFixtureId=1\n");
        ck_assert_int_eq(load(text, &c, &m), 0);
        ck_assert_str_eq(c->server.login_key, "credential-login-key");
        ck_assert_int_eq(c->server.login_key_source, CONFIG_SECRET_CREDENTIAL);
        ck_assert_str_eq(c->server.login_key_file, lk);
        ck_assert_str_eq(c->wifi.password, "credential-wifi");
        ck_assert_int_eq(c->wifi.password_source, CONFIG_SECRET_CREDENTIAL);
        ck_assert_ptr_null(c->server.api_key);
        {
                _cleanup_(freep) char *d = dump(c), *line = NULL;
                ck_assert_int_ge(
                        asprintf(&line,
                                 "\nLoginKeyFile=\n# login key: (set, 20 bytes), from the credential "
                                 "login-key (%s)\n",
                                 lk),
                        0);
                ck_assert_ptr_nonnull(strstr(d, line));
                ck_assert_ptr_nonnull(
                        strstr(d, "\nPassword=(set, 15 bytes)\nPasswordFile=\n# password: (set, 15 "
                                  "bytes), from the credential wifi-password"));
        }
        config_free(TAKE_PTR(c));
        strv_free(TAKE_PTR(m));

        /* production mode: api-key */
        _cleanup_(freep) char *prod =
                strdup("[WiFi]\nSSID=Net\n[LED]\nLine=GPIO1\n[Server]\nURL=https://x.example\n"
                       "TokenType=production\n");
        ck_assert_int_eq(load(prod, &c, &m), 0);
        ck_assert_str_eq(c->server.api_key, "credential-api-key");
        ck_assert_ptr_null(c->server.login_key);
        config_free(TAKE_PTR(c));
        strv_free(TAKE_PTR(m));

        /* a key that is set wins over the credential */
        _cleanup_(freep) char *explicit = with_base("[WiFi]\nSSID=Net\n");
        ck_assert_int_eq(load(explicit, &c, &m), 0);
        ck_assert_str_eq(c->server.login_key, LOGIN_KEY);
        ck_assert_str_eq(c->server.login_key_file, login);
        config_free(TAKE_PTR(c));
        strv_free(TAKE_PTR(m));

        /* a credential others can read is refused */
        ck_assert_int_eq(chmod(lk, 0444), 0);
        _cleanup_(freep) char *expected = NULL;
        ck_assert_int_ge(asprintf(&expected,
                                  "credential login-key: %s: readable by other users, refusing to use it (chmod 0600 or 0640)",
                                  lk),
                         0);
        expect_error(text, expected);

        /* a missing credential is "not set" */
        ck_assert_int_eq(unlink(lk), 0);
        expect_error(text,
                     "test.conf: [Server] LoginKeyFile: not set, and TokenType=factory needs a login key "
                     "(or the credential login-key)");

        /* a credential password with no SSID */
        free(write_text("creds/login-key", 0400, "k\n"));
        expect_error("[LED]\nLine=GPIO1\n[Server]\nURL=https://x.example\nFixtureId=1\n",
                     "credential wifi-password: a WiFi password is given but [WiFi] SSID= is not set");
}
END_TEST

/* ---- files and drop-ins ---- */

START_TEST(test_unreadable_files) {
        _cleanup_(freep) char *missing = tmp_path("no/such/dir/blinkupd.conf"), *expected = NULL;
        _cleanup_(strv_freep) char **m = NULL;
        Config *c = NULL;

        ck_assert_int_eq(config_load(missing, &c, &m), -ENOENT);
        ck_assert_ptr_null(c);
        ck_assert_int_ge(asprintf(&expected, "%s: No such file or directory", missing), 0);
        ck_assert_str_eq(m[0], expected);
        strv_free(TAKE_PTR(m));

        /* a directory where the file should be: not a regular file, said as a directory */
        ck_assert_int_eq(config_load(tmpdir, &c, &m), -EBADFD);
        free(expected);
        ck_assert_int_ge(asprintf(&expected, "%s: Is a directory", tmpdir), 0);
        ck_assert_str_eq(m[0], expected);
        strv_free(TAKE_PTR(m));

        /* a FIFO: not read (and not waited on) */
        _cleanup_(freep) char *fifo = tmp_path("fifo.conf");
        ck_assert_int_eq(mkfifo(fifo, 0600), 0);
        ck_assert_int_eq(config_load(fifo, &c, &m), -EBADFD);
        free(expected);
        ck_assert_int_ge(asprintf(&expected, "%s: not a regular file", fifo), 0);
        ck_assert_str_eq(m[0], expected);
        strv_free(TAKE_PTR(m));

        /* a drop-in "directory" that is a file */
        _cleanup_(freep) char *b = base_text(), *main_path = write_text("main.conf", 0600, b);
        free(write_text("main.conf.d", 0600, "x"));
        ck_assert_int_eq(config_load(main_path, &c, &m), -ENOTDIR);
        free(expected);
        ck_assert_int_ge(asprintf(&expected, "%s.d: Not a directory", main_path), 0);
        ck_assert_str_eq(m[0], expected);
}
END_TEST

START_TEST(test_missing_main_file) {
        _cleanup_(freep) char *path = tmp_path("blinkupd.conf"), *b = base_text();
        _cleanup_(strv_freep) char **m = NULL;
        Config *c = NULL;

        /* as the default path: only the drop-ins and the defaults */
        make_dir("blinkupd.conf.d");
        free(write_text("blinkupd.conf.d/50-base.conf", 0600, b));
        ck_assert_int_eq(config_load_full(path, true, &c, &m), 0);
        ck_assert_str_eq(c->led.line.line, "GPIO17");
        ck_assert_str_eq(c->path, path);
        config_free(TAKE_PTR(c));
        strv_free(TAKE_PTR(m));

        /* as a path given by the user: an error */
        ck_assert_int_eq(config_load(path, &c, &m), -ENOENT);
        ck_assert_ptr_null(c);
}
END_TEST

START_TEST(test_dropins) {
        _cleanup_(freep) char *b = base_text(), *main_path = NULL, *expected = NULL, *body = NULL;
        _cleanup_(strv_freep) char **m = NULL;
        Config *c = NULL;

        ck_assert_int_ge(
                asprintf(&body, "%s[RealTime]\nPriority=10\n[Server]\nURL=http://insecure.example\n", b), 0);
        main_path = write_text("blinkupd.conf", 0600, body);
        make_dir("blinkupd.conf.d");
        free(write_text("blinkupd.conf.d/10-a.conf", 0600, "[RealTime]\nPriority=20\nCPU=1\n"));
        free(write_text("blinkupd.conf.d/20-b.conf", 0600, "[RealTime]\nPriority=30\n"));
        free(write_text("blinkupd.conf.d/3-c.conf", 0600,
                        "[RealTime]\nPriority=40\n[Server]\nAllowInsecureHttp=yes\n"));
        free(write_text("blinkupd.conf.d/.hidden.conf", 0600, "[RealTime]\nPriority=50\n"));
        free(write_text("blinkupd.conf.d/99-z.conf.bak", 0600, "[RealTime]\nPriority=60\n"));
        free(write_text("blinkupd.conf.d/README", 0600, "not a drop-in\n"));
        make_dir("blinkupd.conf.d/90-dir.conf");

        /* "3-c" sorts after "20-b"; the http:// URL of the main file is allowed by the last one */
        ck_assert_int_eq(config_load(main_path, &c, &m), 0);
        ck_assert_uint_eq(c->realtime.priority, 40);
        ck_assert_int_eq(c->realtime.cpu, 1);
        ck_assert(c->server.allow_insecure_http);
        /* URL= is in the main file twice; the directory is not a drop-in */
        ck_assert_uint_eq(strv_length(m), 2);
        ck_assert_int_ge(asprintf(&expected,
                                  "%s:10: URL: set again in this file (first on line 4), the later "
                                  "value wins",
                                  main_path),
                         0);
        ck_assert_str_eq(m[0], expected);
        free(expected);
        ck_assert_int_ge(asprintf(&expected, "%s.d/90-dir.conf: not a regular file, ignoring it", main_path),
                         0);
        ck_assert_str_eq(m[1], expected);
        config_free(TAKE_PTR(c));
        strv_free(TAKE_PTR(m));

        /* a link to /dev/null masks a drop-in */
        _cleanup_(freep) char *masked = tmp_path("blinkupd.conf.d/3-c.conf");
        ck_assert_int_eq(unlink(masked), 0);
        ck_assert_int_eq(symlink("/dev/null", masked), 0);
        ck_assert_int_eq(config_load(main_path, &c, &m), -EINVAL);
        /* the rule across keys names the main file's line, since no drop-in allows http:// */
        free(expected);
        ck_assert_int_ge(asprintf(&expected,
                                  "%s:10: URL: \"http://insecure.example\" is plain HTTP; use https:// "
                                  "(AllowInsecureHttp=yes permits http:// for tests)",
                                  main_path),
                         0);
        ck_assert_str_eq(m[0], expected);
        strv_free(TAKE_PTR(m));

        /* an error in a drop-in names the drop-in; a key repeated across files is no warning */
        free(write_text("blinkupd.conf.d/20-b.conf", 0600,
                        "[Server]\nAllowInsecureHttp=yes\n[LED]\nRepeat=99\n"));
        ck_assert_int_eq(config_load(main_path, &c, &m), -EINVAL);
        free(expected);
        ck_assert_int_ge(
                asprintf(&expected, "%s.d/20-b.conf:4: Repeat: \"99\" is not in the range 1..16", main_path),
                0);
        ck_assert_uint_eq(strv_length(m), 3);
        ck_assert_str_eq(m[0], expected);
        strv_free(TAKE_PTR(m));

        free(write_text("blinkupd.conf.d/20-b.conf", 0600,
                        "[Server]\nAllowInsecureHttp=yes\n[LED]\nLine=GPIO99\n"));
        ck_assert_int_eq(config_load(main_path, &c, &m), 0);
        ck_assert_str_eq(c->led.line.line, "GPIO99");
        ck_assert_uint_eq(c->realtime.priority, 20); /* 10-a */
        ck_assert_uint_eq(strv_length(m), 2); /* as above */
        config_free(c);
}
END_TEST

/* ---- the fixture ID ---- */

START_TEST(test_fixture_id_derived) {
        _cleanup_(freep) char *text = NULL;
        _cleanup_(strv_freep) char **m = NULL;
        Config *a = NULL, *b = NULL;
        sd_id128_t machine;
        int r;

        ck_assert_int_ge(
                asprintf(&text,
                         "[LED]\nLine=GPIO1\n[Server]\nURL=https://x.example\nLoginKeyFile=%s/login-key\n",
                         tmpdir),
                0);
        r = load(text, &a, &m);
        if (sd_id128_get_machine(&machine) < 0) {
                /* no machine ID here: the error says so */
                ck_assert_int_eq(r, -EINVAL);
                const char *prefix = "test.conf: [Server] FixtureId: not set, and it cannot be derived";
                ck_assert(strncmp(m[0], prefix, strlen(prefix)) == 0);
                return;
        }
        ck_assert_int_eq(r, 0);
        ck_assert(a->server.fixture_id_derived);
        ck_assert_uint_eq(strlen(a->server.fixture_id), 16);
        ck_assert_uint_eq(strspn(a->server.fixture_id, "0123456789abcdef"), 16);

        /* stable, and not the machine ID itself */
        char raw[SD_ID128_STRING_MAX];
        sd_id128_to_string(machine, raw);
        ck_assert(strncmp(a->server.fixture_id, raw, 16) != 0);
        ck_assert_int_eq(load(text, &b, NULL), 0);
        ck_assert_str_eq(a->server.fixture_id, b->server.fixture_id);

        _cleanup_(freep) char *d = dump(a);
        ck_assert_ptr_nonnull(strstr(d, "\n# FixtureId= is derived from /etc/machine-id\n"));
        config_free(a);
        config_free(b);
}
END_TEST

/* the derivation itself, as blinkupd-https uses it too */
START_TEST(test_fixture_id_default) {
        char a[17], b[17], machine[64] = "";
        FILE *f;
        int r;

        memset(a, 'x', sizeof(a));
        r = factory_fixture_id_default(a);
        if (r < 0) {
                /* no machine ID in this environment: only the failure is checked */
                ck_assert_msg(r == -ENOENT || r == -ENOMEDIUM || r == -ENOPKG || r == -EINVAL, "r=%d", r);
                return;
        }
        ck_assert_int_eq(factory_fixture_id_default(b), 0);
        ck_assert_msg(strlen(a) == 16 && strspn(a, "0123456789abcdef") == 16, "%s", a);
        ck_assert_str_eq(a, b);
        /* hashed: it does not reveal the machine ID */
        f = fopen("/etc/machine-id", "re");
        if (f) {
                ck_assert_ptr_nonnull(fgets(machine, sizeof(machine), f));
                fclose(f);
                ck_assert_int_ne(strncmp(machine, a, 16), 0);
        }
}
END_TEST

/* ---- the dump ---- */

START_TEST(test_dump_round_trip) {
        _cleanup_(freep) char *text = NULL, *d1 = NULL, *d2 = NULL, *filtered = NULL;
        _cleanup_(config_freep) Config *c = NULL, *c2 = NULL;

        text = with_basef(
                "[WiFi]\nSSID=Net\n[LED]\nActiveHigh=yes\nRepeat=2\n[Button]\nLine=GPIO27\nBias=disable\n"
                "[Indicators]\nPass=sim:4\n[Server]\nCAFile=%s/ca.pem\nPrefetchToken=yes\n"
                "[RealTime]\nCPU=2\nMaxLatenessUs=100\n",
                tmpdir);
        c = expect_ok(text);
        d1 = dump(c);
        ck_assert_ptr_nonnull(strstr(
                d1, "\n[Button]\nChip=\nLine=GPIO27\nActiveLow=yes\nBias=disable\nDebounceMs=30\n"));
        ck_assert_ptr_nonnull(strstr(d1, "\n[Indicators]\nReady=\nBusy=\nPass=sim:4\nFail=\n"));
        ck_assert_ptr_nonnull(
                strstr(d1, "\n[RealTime]\nPriority=80\nCPU=2\nMaxLatenessUs=100\nTimingFaultRetries=1\n"));
        ck_assert_ptr_nonnull(strstr(d1, "\nPassword=(unset)\n"));

        /* the dump reads back as the same configuration (the masked password line left out) */
        filtered = strdup(d1);
        {
                char *p = strstr(filtered, "\nPassword=(unset)\n");
                memmove(p, p + strlen("\nPassword=(unset)"), strlen(p + strlen("\nPassword=(unset)")) + 1);
        }
        c2 = expect_ok(filtered);
        d2 = dump(c2);
        ck_assert_str_eq(d1, d2);
}
END_TEST

/* ---- the shipped file and the manual ---- */

static char *read_source(const char *rel) {
        const char *top = getenv("top_srcdir") ?: ".";
        _cleanup_(freep) char *path = NULL;
        char *buf = NULL;
        size_t size = 0;
        FILE *f, *o;
        char chunk[4096];
        size_t n;

        ck_assert_int_ge(asprintf(&path, "%s/%s", top, rel), 0);
        f = fopen(path, "re");
        ck_assert_msg(f, "%s: %s", path, strerror(errno));
        o = open_memstream(&buf, &size);
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
                fwrite(chunk, 1, n, o);
        fclose(f);
        fclose(o);
        return buf;
}

START_TEST(test_shipped_file) {
        _cleanup_(freep) char *text = read_source("etc/blinkupd.conf"), *uncommented = NULL;
        _cleanup_(strv_freep) char **m = NULL;
        char section[64] = "";
        bool seen[128] = {};
        size_t n_keys = 0;
        Config *c = NULL;

        while (config_key_info(n_keys, NULL, NULL, NULL))
                n_keys++;
        ck_assert_uint_le(n_keys, ELEMENTSOF(seen));

        /* every key once, commented out, in its section, with its default */
        uncommented = strdup(text);
        for (char *line = text, *next, *u = uncommented; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                if (line[0] == '[' || (line[0] == '#' && line[1] == '[')) {
                        ck_assert_int_eq(sscanf(line + (line[0] == '#'), "[%63[^]]]", section), 1);
                } else if (line[0] == '#' && strchr(line, '=') && !strchr(line, ' ')) {
                        const char *key = line + 1, *value = strchr(line, '=') + 1, *s = NULL, *k = NULL, *def = NULL;
                        size_t i;

                        for (i = 0; config_key_info(i, &s, &k, &def); i++)
                                if (streq(s, section) && strncmp(k, key, (size_t) (value - 1 - key)) == 0 &&
                                    strlen(k) == (size_t) (value - 1 - key))
                                        break;
                        ck_assert_msg(i < n_keys, "unknown key in the shipped file: [%s] %s", section, line);
                        ck_assert_msg(!seen[i], "[%s] %s twice in the shipped file", section, k);
                        seen[i] = true;
                        if (streq(k, "StateDirectory"))
                                ck_assert_str_eq(value, ""); /* the build's STATEDIR */
                        else
                                ck_assert_msg(streq(value, def ?: ""),
                                              "[%s] %s: \"%s\" in the shipped file, \"%s\" in the parser",
                                              section, k, value, def ?: "");
                        /* and uncomment it in the copy */
                        u[line - text] = ' ';
                }
        }
        for (size_t i = 0; i < n_keys; i++) {
                const char *s, *k;
                config_key_info(i, &s, &k, NULL);
                ck_assert_msg(seen[i], "[%s] %s missing from the shipped file", s, k);
        }

        /* as shipped and with every key uncommented: only the three required keys are missing,
         * and nothing is unknown */
        _cleanup_(freep) char *orig = read_source("etc/blinkupd.conf"); /* text has NULs now */
        const char *variants[] = { orig, uncommented };
        for (size_t v = 0; v < ELEMENTSOF(variants); v++) {
                ck_assert_int_eq(load(variants[v], &c, &m), -EINVAL);
                if (strv_length(m) != required_key_errors(m))
                        print_messages(m);
                ck_assert_uint_eq(strv_length(m), required_key_errors(m));
                /* as shipped, "[Section] Key" without a line; uncommented, the empty "Key=" line */
                ck_assert_ptr_nonnull(
                        strstr(m[0], v == 0 ? "test.conf: [LED] Line: not set" : ": Line: not set"));
                ck_assert_ptr_nonnull(
                        strstr(m[1], v == 0 ? "test.conf: [Server] URL: not set" : ": URL: not set"));
                ck_assert_ptr_nonnull(strstr(m[2], v == 0 ? "test.conf: [Server] LoginKeyFile: not set"
                                                          : ": LoginKeyFile: not set"));
                ck_assert(v == 0 || strncmp(m[0], "test.conf:", 10) == 0);
                strv_free(TAKE_PTR(m));
        }
}
END_TEST

START_TEST(test_man_page) {
        _cleanup_(freep) char *man = read_source("man/blinkupd.conf.5.in");
        const char *section, *key, *def;

        for (size_t i = 0; config_key_info(i, &section, &key, &def); i++) {
                _cleanup_(freep) char *heading = NULL, *entry = NULL, *defline = NULL;
                const char *start, *end;

                ck_assert_int_ge(asprintf(&heading, "\n.SH \"[%s] SECTION\"\n", section), 0);
                ck_assert_int_ge(asprintf(&entry, "\n.TP\n.BI %s= ", key), 0);
                start = strstr(man, heading);
                ck_assert_msg(start, "no section %s in the manual", heading);
                end = strstr(start + 1, "\n.SH ") ?: start + strlen(start);
                start = strstr(start, entry);
                ck_assert_msg(start && start < end, "[%s] %s= is not described in the manual", section, key);

                /* the default is stated, in bold, before the next key */
                if (def && !streq(key, "StateDirectory")) {
                        const char *next = strstr(start + 1, "\n.TP\n") ?: end;
                        char escaped[64], *e = escaped;
                        for (const char *p = def; *p && e < escaped + sizeof(escaped) - 3; p++) {
                                if (*p == '-')
                                        *e++ = '\\';
                                *e++ = *p;
                        }
                        *e = 0;
                        ck_assert_int_ge(asprintf(&defline, "Default:\n.BR %s .\n", escaped), 0);
                        const char *d = strstr(start, defline);
                        ck_assert_msg(d && d < MIN(next, end), "[%s] %s=: the manual lacks \"Default: %s.\"",
                                      section, key, def);
                }
        }
        ck_assert_ptr_nonnull(strstr(man, "\n.SH FILES\n"));
        ck_assert_ptr_nonnull(strstr(man, "\n.SH \"SEE ALSO\"\n") ?: strstr(man, "\n.SH SEE ALSO\n"));
        ck_assert_ptr_nonnull(strstr(man, "@statedir@"));
}
END_TEST

START_TEST(test_free_null) {
        ck_assert_ptr_null(config_free(NULL));
        ck_assert_ptr_null(strv_free(NULL));
        ck_assert_uint_eq(strv_length(NULL), 0);
}
END_TEST

static Suite *config_suite(void) {
        Suite *s = suite_create("config");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_defaults);
        tcase_add_test(tc, test_empty_value_resets);
        tcase_add_loop_test(tc, test_key_good, 0, (int) ELEMENTSOF(key_cases));
        tcase_add_loop_test(tc, test_key_bad, 0, (int) ELEMENTSOF(key_cases));
        tcase_add_test(tc, test_every_key_has_a_case);
        tcase_add_test(tc, test_typed_values);
        tcase_add_test(tc, test_missing_sections);
        tcase_add_test(tc, test_duplicate_keys);
        tcase_add_test(tc, test_unknown_sections_and_keys);
        tcase_add_loop_test(tc, test_error_case, 0, (int) ELEMENTSOF(error_cases));
        tcase_add_test(tc, test_errors_first_then_warnings);
        tcase_add_test(tc, test_comments_quotes_whitespace);
        tcase_add_test(tc, test_long_lines);
        tcase_add_test(tc, test_binary_garbage);
        tcase_add_test(tc, test_url_scheme);
        tcase_add_test(tc, test_results);
        tcase_add_test(tc, test_cross_key_rules);
        tcase_add_test(tc, test_line_lookup_rules);
        tcase_add_test(tc, test_wifi_rules);
        tcase_add_test(tc, test_token_type_rules);
        tcase_add_test(tc, test_secret_files);
        tcase_add_test(tc, test_secrets_never_shown);
        tcase_add_test(tc, test_password_in_readable_file);
        tcase_add_test(tc, test_credentials);
        tcase_add_test(tc, test_unreadable_files);
        tcase_add_test(tc, test_missing_main_file);
        tcase_add_test(tc, test_dropins);
        tcase_add_test(tc, test_fixture_id_derived);
        tcase_add_test(tc, test_fixture_id_default);
        tcase_add_test(tc, test_dump_round_trip);
        tcase_add_test(tc, test_shipped_file);
        tcase_add_test(tc, test_man_page);
        tcase_add_test(tc, test_free_null);
        suite_add_tcase(s, tc);
        return s;
}

TEST_MAIN(config_suite)
