/* SPDX-License-Identifier: MIT */
/* The fixture manager's state machine through its API, with the fake factory proxy of
 * tests/helpers/fake-factory-proxy.c, simulated lines (Chip=sim) and a private session bus
 * that this program starts (exit 77 when dbus-daemon cannot run here). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake-factory-proxy.h"
#include "manager-internal.h" /* manager_set_pending_serial(): what the scanner does */
#include "manager.h"
#include "record.h"
#include "tests.h"

#define PLAN_ID "00112233445566ab"
#define TOKEN_ID "0123456789abcdef"
#define DEVICE_ID "fedcba9876543210"

static pid_t bus_pid;
static pid_t main_pid;

#define DIR_TEMPLATE "/tmp/test-manager-XXXXXX"
static char dir[sizeof(DIR_TEMPLATE)];
static sd_event *event;
static Manager *manager;

/* ---- the private bus ---- */

static void bus_stop(void) {
        if (bus_pid > 0 && getpid() == main_pid)
                (void) kill(bus_pid, SIGTERM);
}

static void bus_start_or_skip(void) {
        char line[512] = "";
        FILE *f;
        long pid;

        main_pid = getpid();
        f = popen("dbus-daemon --session --fork --print-address=1 --print-pid=1 2>/dev/null", "r");
        if (!f || !fgets(line, sizeof(line), f) || fscanf(f, "%ld", &pid) != 1) {
                fprintf(stderr, "test-manager: dbus-daemon cannot run here; skipped.\n");
                exit(EXIT_TEST_SKIP);
        }
        (void) pclose(f);
        line[strcspn(line, "\n")] = 0;
        bus_pid = (pid_t) pid;
        (void) atexit(bus_stop);
        setenv("DBUS_SESSION_BUS_ADDRESS", line, 1);
        unsetenv("NOTIFY_SOCKET");
        unsetenv("WATCHDOG_USEC");
}

static ManagerInfo info(void);
static void answer(FakeFactoryCall call, FactoryErrorKind kind, const char *message);

/* ---- one manager per test, on a configuration of simulated lines ---- */

static void write_file(const char *path, const char *text) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        ck_assert_int_eq(close(fd), 0);
}

static void setup(void) {
        char path[256], key[256], state[256], conf[2048];
        ManagerOptions o = { .config_path = path, .user_bus = true };
        Config *c = NULL;
        sigset_t ss;

        memcpy(dir, DIR_TEMPLATE, sizeof(dir)); /* afresh: without CK_FORK the tests share it */
        ck_assert_ptr_nonnull(mkdtemp(dir));
        (void) snprintf(key, sizeof(key), "%s/login-key", dir);
        (void) snprintf(state, sizeof(state), "%s/state", dir);
        (void) snprintf(path, sizeof(path), "%s/blinkupd.conf", dir);
        ck_assert_int_eq(mkdir(state, 0700), 0);
        write_file(key, "test-login-key\n");
        (void) snprintf(conf, sizeof(conf),
                        "[WiFi]\nSSID=Factory\nPassword=secret-password\n"
                        "[LED]\nChip=sim\nFast=yes\n"
                        "[Server]\nURL=https://factory.invalid\nLoginKeyFile=%s\nFixtureId=0123456789abcdef\n"
                        "[RealTime]\nPriority=0\nMaxLatenessUs=7000\nTimingFaultRetries=10\n"
                        "[Simulation]\nTrace=%s/led.vcd\nIdealTiming=yes\n"
                        "[Daemon]\nStateDirectory=%s\n",
                        key, dir, state);
        write_file(path, conf);
        ck_assert_int_eq(config_load(path, &c, NULL), 0);

        ck_assert_int_eq(sigemptyset(&ss), 0);
        ck_assert_int_eq(sigaddset(&ss, SIGTERM), 0);
        ck_assert_int_eq(sigaddset(&ss, SIGINT), 0);
        ck_assert_int_eq(sigaddset(&ss, SIGQUIT), 0);
        ck_assert_int_eq(sigaddset(&ss, SIGHUP), 0);
        ck_assert_int_eq(sigprocmask(SIG_BLOCK, &ss, NULL), 0);

        ck_assert_int_eq(sd_event_new(&event), 0);
        ck_assert_int_eq(manager_new(event, &o, c, &manager), 0);
        ck_assert_int_eq(manager_start(manager), 0);

        /* the status check at start */
        ck_assert_int_eq(info().factory_status, FACTORY_STATUS_UNKNOWN);
        answer(FAKE_FACTORY_VERIFY, FACTORY_OK, NULL);
        ck_assert_int_eq(info().factory_status, FACTORY_STATUS_VERIFIED);
}

static void teardown(void) {
        char cmd[128];

        manager = manager_free(manager);
        event = sd_event_unref(event);
        (void) snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        ck_assert_int_eq(system(cmd), 0);
}

static ManagerInfo info(void) {
        ManagerInfo i;

        manager_get_info(manager, &i);
        return i;
}

static FactoryProxy *proxy(void) {
        FactoryProxy *s = fake_factory_proxy_current();

        ck_assert_ptr_nonnull(s);
        return s;
}

/* Runs the loop until the fixture is idle again: the transmitter reports through its eventfd. */
static void run_until_idle(void) {
        for (unsigned i = 0; info().state != MANAGER_IDLE; i++) {
                ck_assert_uint_lt(i, 600); /* a hang guard, not a timing judgement */
                ck_assert_int_ge(sd_event_run(event, 100 * 1000), 0);
        }
}

static void answer(FakeFactoryCall call, FactoryErrorKind kind, const char *message) {
        FactoryResult res = { .kind = kind };

        (void) snprintf(res.message, sizeof(res.message), "%s", message ?: "");
        if (kind == FACTORY_OK && (call == FAKE_FACTORY_ENROLL || call == FAKE_FACTORY_REQUEST_TOKEN)) {
                strcpy(res.plan_id, PLAN_ID);
                strcpy(res.token_id, TOKEN_ID);
        }
        if (kind == FACTORY_OK && call == FAKE_FACTORY_CONFIRM)
                strcpy(res.device_id, DEVICE_ID);
        ck_assert_int_eq(fake_factory_proxy_answer(proxy(), call, &res), 0);
}

static uint64_t blinkup(void) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        uint64_t id = 0;

        ck_assert_int_eq(manager_blinkup(manager, false, NULL, &id, &error), 0);
        ck_assert_uint_gt(id, 0);
        return id;
}

/* ---- the record ---- */

/* The events of attempt id, comma-separated ("started,token,blinked"); *ret_last receives the
 * last line of the attempt (release it with record_line_done()). */
static void record_events(uint64_t id, char *buf, size_t size, RecordLine *ret_last) {
        char path[256], line[4096];
        RecordLine last = {};
        FILE *f;

        (void) snprintf(path, sizeof(path), "%s/state/%s", dir, RECORD_FILENAME);
        f = fopen(path, "re");
        ck_assert_ptr_nonnull(f);
        buf[0] = 0;
        while (fgets(line, sizeof(line), f)) {
                RecordLine l;

                ck_assert_int_eq(record_parse_line(line, &l), 0);
                if (l.attempt_id != id) {
                        record_line_done(&l);
                        continue;
                }
                (void) snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", buf[0] ? "," : "", l.event);
                record_line_done(&last);
                last = l;
        }
        (void) fclose(f);
        *ret_last = last;
}

static void check_record(uint64_t id, const char *events, const char *key, const char *value) {
        RecordLine last;
        char buf[256];

        record_events(id, buf, sizeof(buf), &last);
        ck_assert_str_eq(buf, events);
        if (key)
                ck_assert_str_eq(record_line_get(&last, key) ?: "(none)", value);
        record_line_done(&last);
}

/* ---- the cases ---- */

START_TEST(test_success) {
        uint64_t id;

        id = blinkup();
        ck_assert_int_eq(info().state, MANAGER_VERIFYING);
        answer(FAKE_FACTORY_VERIFY, FACTORY_OK, NULL);
        ck_assert_int_eq(info().state, MANAGER_REQUESTING_TOKEN);
        answer(FAKE_FACTORY_ENROLL, FACTORY_OK, NULL);
        ck_assert_int_eq(info().state, MANAGER_BLINKING);
        check_record(id, "started,token", "token_id", TOKEN_ID);

        run_until_idle();
        ck_assert_uint_eq(info().successes, 1);
        ck_assert_uint_eq(info().failures, 0);
        ck_assert_uint_gt(info().last_edges, 0);
        ck_assert_ptr_null(info().last_error);
        check_record(id, "started,token,blinked", "clean", "yes");

        /* the confirmation runs in the background */
        ck_assert_str_eq(fake_factory_proxy_confirm_token(proxy()), TOKEN_ID);
        answer(FAKE_FACTORY_CONFIRM, FACTORY_OK, NULL);
        check_record(id, "started,token,blinked,confirmed", "device_id", DEVICE_ID);
        ck_assert_str_eq(info().last_device_id, DEVICE_ID);
}
END_TEST

START_TEST(test_not_a_fixture) {
        uint64_t id = blinkup();

        answer(FAKE_FACTORY_VERIFY, FACTORY_ERROR_NOT_FACTORY_FIXTURE, "403");
        ck_assert_int_eq(info().state, MANAGER_IDLE);
        ck_assert_int_eq(info().factory_status, FACTORY_STATUS_NOT_A_FIXTURE);
        ck_assert_uint_eq(fake_factory_proxy_started(proxy(), FAKE_FACTORY_ENROLL), 0);
        ck_assert_uint_eq(info().last_edges, 0); /* nothing blinked */
        ck_assert_uint_eq(info().failures, 1);
        ck_assert_str_eq(info().last_error, FACTORY_NOT_A_FIXTURE_MESSAGE);
        check_record(id, "started,failed", "error", FIXTURE_ERROR_NOT_FACTORY_FIXTURE);
}
END_TEST

START_TEST(test_server_error) {
        uint64_t id = blinkup();

        answer(FAKE_FACTORY_VERIFY, FACTORY_OK, NULL);
        answer(FAKE_FACTORY_ENROLL, FACTORY_ERROR_SERVER, "the server said 500");
        ck_assert_int_eq(info().state, MANAGER_IDLE);
        ck_assert_int_eq(info().factory_status, FACTORY_STATUS_VERIFIED);
        ck_assert_uint_eq(info().last_edges, 0);
        ck_assert_str_eq(info().last_error, "the server said 500");
        check_record(id, "started,failed", "error", FIXTURE_ERROR_SERVER);
        check_record(id, "started,failed", "message", "the server said 500");
}
END_TEST

START_TEST(test_timeout) {
        uint64_t id = blinkup();

        answer(FAKE_FACTORY_VERIFY, FACTORY_ERROR_TIMEOUT, "no answer in time");
        ck_assert_int_eq(info().state, MANAGER_IDLE);
        ck_assert_int_eq(info().factory_status, FACTORY_STATUS_UNREACHABLE);
        ck_assert_uint_eq(info().last_edges, 0);
        check_record(id, "started,failed", "error", FIXTURE_ERROR_TIMEOUT);
}
END_TEST

static void check_busy(uint64_t running) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        uint64_t id = 0;

        ck_assert_int_lt(manager_blinkup(manager, false, NULL, &id, &error), 0);
        ck_assert_str_eq(error.name, FIXTURE_ERROR_BUSY);
        ck_assert_uint_eq(id, 0);
        ck_assert_uint_eq(info().last_attempt_id, running);
}

START_TEST(test_busy_then_cancel_blinking) {
        uint64_t id = blinkup();

        check_busy(id);
        ck_assert_uint_eq(fake_factory_proxy_started(proxy(), FAKE_FACTORY_VERIFY), 2); /* start, attempt */
        answer(FAKE_FACTORY_VERIFY, FACTORY_OK, NULL);
        answer(FAKE_FACTORY_ENROLL, FACTORY_OK, NULL);
        ck_assert_int_eq(info().state, MANAGER_BLINKING);
        check_busy(id);

        ck_assert_int_eq(manager_cancel(manager), 1);
        run_until_idle();
        ck_assert_uint_eq(info().successes, 0);
        ck_assert_uint_eq(info().failures, 1);
        check_record(id, "started,token,cancelled", NULL, NULL);
        ck_assert_uint_eq(fake_factory_proxy_held(proxy(), FAKE_FACTORY_CONFIRM), 0);
}
END_TEST

START_TEST(test_cancel_before_the_led) {
        uint64_t id = blinkup();
        unsigned cancelled = fake_factory_proxy_cancelled(proxy());

        ck_assert_int_eq(manager_cancel(manager), 1);
        ck_assert_int_eq(info().state, MANAGER_IDLE);
        ck_assert_uint_eq(fake_factory_proxy_cancelled(proxy()), cancelled + 1);
        ck_assert_uint_eq(info().failures, 1);
        check_record(id, "started,cancelled", NULL, NULL);
        ck_assert_int_eq(manager_cancel(manager), 0); /* nothing left to cancel */

        /* the next attempt gets the next ID */
        ck_assert_uint_eq(blinkup(), id + 1);
}
END_TEST

/* Runs the loop until a start is refused because the fixture is stopping (SIGQUIT, pending
 * until sd-event reads it): true, or false when it never is. */
static bool stopping_refused(void) {
        for (unsigned i = 0; i < 50; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                uint64_t id = 0;

                ck_assert_int_lt(manager_blinkup(manager, false, NULL, &id, &error), 0);
                ck_assert_str_eq(error.name, FIXTURE_ERROR_BUSY);
                if (strstr(error.message, "stopping"))
                        return true;
                ck_assert_int_ge(sd_event_run(event, 100 * 1000), 0);
        }
        return false;
}

START_TEST(test_sigquit_waits_for_the_attempt) {
        uint64_t id = blinkup();
        int code = -1;

        answer(FAKE_FACTORY_VERIFY, FACTORY_OK, NULL);
        ck_assert_int_eq(kill(getpid(), SIGQUIT), 0);
        ck_assert(stopping_refused());
        ck_assert_int_eq(sd_event_get_exit_code(event, &code), -ENODATA); /* not yet */

        /* the attempt goes on to its end, not cancelled */
        ck_assert_int_eq(info().state, MANAGER_REQUESTING_TOKEN);
        answer(FAKE_FACTORY_ENROLL, FACTORY_OK, NULL);
        ck_assert_int_eq(info().state, MANAGER_BLINKING);
        ck_assert(stopping_refused());
        run_until_idle();
        ck_assert_uint_eq(info().successes, 1);
        check_record(id, "started,token,blinked", "clean", "yes");

        /* then the loop is told to end, with 0 */
        ck_assert_int_eq(sd_event_get_exit_code(event, &code), 0);
        ck_assert_int_eq(code, 0);
}
END_TEST

/* The barcode scanner's serial number: taken by the next attempt without one, dropped by one
 * with its own, neither by a clear. */
START_TEST(test_pending_serial) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        AttemptIdentity own = { .serial = "SN-OWN-1", .operator = "alice" };
        uint64_t id = 0;

        ck_assert_str_eq(info().pending_serial, "");
        manager_set_pending_serial(manager, "SN-SCAN-0042");
        ck_assert_str_eq(info().pending_serial, "SN-SCAN-0042");
        id = blinkup();
        ck_assert_str_eq(info().pending_serial, "");
        ck_assert_str_eq(info().last_serial, "SN-SCAN-0042");
        check_record(id, "started", "serial", "SN-SCAN-0042");
        ck_assert_int_eq(manager_cancel(manager), 1);
        ck_assert_int_eq(info().state, MANAGER_IDLE);

        manager_set_pending_serial(manager, "SN-SCAN-0043");
        ck_assert_int_eq(manager_blinkup(manager, false, &own, &id, &error), 0);
        ck_assert_str_eq(info().pending_serial, "");
        ck_assert_str_eq(info().last_serial, "SN-OWN-1");
        check_record(id, "started", "serial", "SN-OWN-1");
        ck_assert_int_eq(manager_cancel(manager), 1);

        /* an operator alone: the scanner's serial number, the given operator */
        manager_set_pending_serial(manager, "SN-SCAN-0044");
        ck_assert_int_eq(manager_blinkup(manager, false, &(AttemptIdentity) { .operator = "bob" }, &id, &error), 0);
        ck_assert_str_eq(info().last_serial, "SN-SCAN-0044");
        ck_assert_str_eq(info().last_operator, "bob");
        ck_assert_str_eq(info().pending_serial, "");
        ck_assert_int_eq(manager_cancel(manager), 1);

        manager_set_pending_serial(manager, "SN-SCAN-0045");
        ck_assert_int_eq(manager_blinkup(manager, true, NULL, &id, &error), 0);
        ck_assert_str_eq(info().pending_serial, "SN-SCAN-0045");
        ck_assert_str_eq(info().last_serial, "");
        run_until_idle();
        manager_set_pending_serial(manager, NULL);
        ck_assert_str_eq(info().pending_serial, "");
}
END_TEST

START_TEST(test_sigquit_idle) {
        int code = -1;

        ck_assert_int_eq(kill(getpid(), SIGQUIT), 0);
        for (unsigned i = 0; sd_event_get_exit_code(event, &code) == -ENODATA; i++) {
                ck_assert_uint_lt(i, 50); /* a hang guard */
                ck_assert_int_ge(sd_event_run(event, 100 * 1000), 0);
        }
        ck_assert_int_eq(code, 0);
        ck_assert_uint_eq(info().attempts, 0);
}
END_TEST

static Suite *manager_suite(void) {
        Suite *s = suite_create("manager");
        TCase *tc = tcase_create("attempt");

        bus_start_or_skip();
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_success);
        tcase_add_test(tc, test_not_a_fixture);
        tcase_add_test(tc, test_server_error);
        tcase_add_test(tc, test_timeout);
        tcase_add_test(tc, test_busy_then_cancel_blinking);
        tcase_add_test(tc, test_cancel_before_the_led);
        tcase_add_test(tc, test_sigquit_waits_for_the_attempt);
        tcase_add_test(tc, test_sigquit_idle);
        tcase_add_test(tc, test_pending_serial);
        suite_add_tcase(s, tc);
        return s;
}

TEST_MAIN(manager_suite)
