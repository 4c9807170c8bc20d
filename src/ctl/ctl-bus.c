/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE 1 /* asprintf() */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "ctl.h"
#include "bus-names.h"
#include "fs-util.h"
#include "macro.h"
#include "record.h"
#include "time-util.h"


#define WAIT_TIMEOUT_DEFAULT_SEC 600
#define HISTORY_DEFAULT 20
#define HISTORY_MAX 100000

static bool arg_user_bus;

void ctl_set_user_bus(bool user) {
        arg_user_bus = user;
}

static const char *bus_name(void) {
        return arg_user_bus ? "session bus" : "system bus";
}

static int bus_connect(sd_bus **ret) {
        sd_bus *bus = NULL;
        int r;

        r = arg_user_bus ? sd_bus_open_user(&bus) : sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "blinkupctl: cannot connect to the %s: %s; is blinkupd running?\n",
                        bus_name(), strerror(-r));
                return r;
        }
        *ret = bus;
        return 0;
}

/* Say why a method call failed; returns the exit status. */
static int method_failed(const char *method, const sd_bus_error *error, int r) {
        if (sd_bus_error_has_name(error, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
            sd_bus_error_has_name(error, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                fprintf(stderr,
                        "blinkupctl: %s failed: blinkupd is not running (nobody owns %s on the %s)\n",
                        method, FIXTURE_BUS_NAME, bus_name());
        else if (sd_bus_error_has_name(error, SD_BUS_ERROR_ACCESS_DENIED))
                fprintf(stderr,
                        "blinkupctl: %s failed: %s: %s (only root and the blinkup group may do this)\n",
                        method, error->name, error->message ?: "access denied");
        else if (sd_bus_error_is_set(error))
                fprintf(stderr, "blinkupctl: %s failed: %s: %s\n", method, error->name,
                        error->message ?: "");
        else
                fprintf(stderr, "blinkupctl: %s failed: %s\n", method, strerror(-r));
        return CTL_EXIT_FAILURE;
}

static int bus_parse_error(int r) {
        fprintf(stderr, "blinkupctl: unexpected message from blinkupd: %s\n", strerror(-r));
        return CTL_EXIT_FAILURE;
}

/* Print S with control characters and non-ASCII bytes escaped, so that one event stays on one
 * line of the terminal. */
static void print_clean(FILE *f, const char *s) {
        for (; s && *s; s++) {
                unsigned char c = (unsigned char) *s;

                if (c == '\\')
                        fputs("\\\\", f);
                else if (c == '\n')
                        fputs("\\n", f);
                else if (c == '\t')
                        fputs("\\t", f);
                else if (c < ' ' || c > '~')
                        fprintf(f, "\\x%02x", c);
                else
                        fputc(c, f);
        }
}

static void print_escaped_value(FILE *f, const char *s) {
        size_t n = strlen(s);
        _cleanup_(freep) char *buf = malloc(4 * n + 3);

        if (!buf) {
                fputs("\"\"", f);
                return;
        }
        fwrite(buf, 1, record_escape_value(buf, s, n), f);
}

/* "51.2 us" */
static const char *format_ns(char buf[static 32], uint64_t ns) {
        if (ns < 1000)
                snprintf(buf, 32, "%" PRIu64 " ns", ns);
        else if (ns < 1000000)
                snprintf(buf, 32, "%" PRIu64 ".%" PRIu64 " us", ns / 1000, ns % 1000 / 100);
        else
                snprintf(buf, 32, "%" PRIu64 ".%" PRIu64 " ms", ns / 1000000, ns % 1000000 / 100000);
        return buf;
}

static bool parse_uint64(const char *s, uint64_t *ret) {
        char *end;
        unsigned long long v;

        if (!s || !(*s >= '0' && *s <= '9'))
                return false;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end)
                return false;
        *ret = v;
        return true;
}

/* long options without a short form */
enum {
        ARG_USER_BUS = 0x100,
        ARG_WAIT,
        ARG_CONFIRM,
        ARG_TIMEOUT,
        ARG_STATE_DIR,
};

/* The verbs take no positional arguments: -1 to go on, else the exit status. */
static int no_arguments(const char *verb, int argc, char *argv[]) {
        if (optind < argc) {
                fprintf(stderr, "blinkupctl %s: unexpected argument \"%s\"\n", verb, argv[optind]);
                return CTL_EXIT_USAGE;
        }
        return -1;
}

/* A verb whose only options are --help (printing help) and --user-bus: -1 to go on, else the
 * exit status. */
static int parse_plain_verb(const char *verb, const char *help, int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "user-bus", no_argument, NULL, ARG_USER_BUS },
                {},
        };
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(help, stdout);
                        return CTL_EXIT_OK;
                case ARG_USER_BUS:
                        arg_user_bus = true;
                        break;
                default:
                        return CTL_EXIT_USAGE;
                }
        return no_arguments(verb, argc, argv);
}

/* ---- status ---- */

typedef struct Status {
        char *state, *fixture_id, *factory_status, *ssid, *last_error, *last_device_id;
        int fast, active_high; /* -1: not reported */
        uint64_t attempts, successes, failures, last_attempt_id;
        bool have_attempts, have_successes, have_failures, have_last_attempt_id, have_timing;
        uint64_t max_lateness_ns, p99_lateness_ns, edges;
} Status;

static void status_done(Status *s) {
        free(s->state);
        free(s->fixture_id);
        free(s->factory_status);
        free(s->ssid);
        free(s->last_error);
        free(s->last_device_id);
}

/* read a variant holding an unsigned or signed integer of any width */
static int read_variant_uint(sd_bus_message *m, const char *contents, uint64_t *ret, bool *have) {
        union {
                uint8_t y;
                uint16_t q;
                int16_t n;
                uint32_t u;
                int32_t i;
                uint64_t t;
                int64_t x;
        } v;
        int r;

        if (strlen(contents) != 1 || !strchr("yqnuitx", contents[0]))
                return sd_bus_message_skip(m, "v");
        r = sd_bus_message_enter_container(m, 'v', contents);
        if (r < 0)
                return r;
        r = sd_bus_message_read_basic(m, contents[0], &v);
        if (r < 0)
                return r;
        switch (contents[0]) {
        case 'y':
                *ret = v.y;
                break;
        case 'q':
                *ret = v.q;
                break;
        case 'n':
                *ret = (uint64_t) MAX(v.n, 0);
                break;
        case 'u':
                *ret = v.u;
                break;
        case 'i':
                *ret = (uint64_t) MAX(v.i, 0);
                break;
        case 't':
                *ret = v.t;
                break;
        case 'x':
                *ret = (uint64_t) MAX(v.x, 0);
                break;
        }
        *have = true;
        return sd_bus_message_exit_container(m);
}

static int read_variant_string(sd_bus_message *m, const char *contents, char **ret) {
        const char *s;
        int r;

        if (!streq(contents, "s"))
                return sd_bus_message_skip(m, "v");
        r = sd_bus_message_read(m, "v", "s", &s);
        if (r < 0)
                return r;
        free(*ret);
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int read_variant_bool(sd_bus_message *m, const char *contents, int *ret) {
        int b, r;

        if (!streq(contents, "b"))
                return sd_bus_message_skip(m, "v");
        r = sd_bus_message_read(m, "v", "b", &b);
        if (r < 0)
                return r;
        *ret = !!b;
        return 0;
}

static int status_read(sd_bus_message *reply, Status *s) {
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *name, *contents;
                char type;

                r = sd_bus_message_read(reply, "s", &name);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(reply, &type, &contents);
                if (r < 0)
                        return r;

                if (streq(name, "State"))
                        r = read_variant_string(reply, contents, &s->state);
                else if (streq(name, "FixtureId"))
                        r = read_variant_string(reply, contents, &s->fixture_id);
                else if (streq(name, "FactoryStatus"))
                        r = read_variant_string(reply, contents, &s->factory_status);
                else if (streq(name, "SSID"))
                        r = read_variant_string(reply, contents, &s->ssid);
                else if (streq(name, "LastError"))
                        r = read_variant_string(reply, contents, &s->last_error);
                else if (streq(name, "LastDeviceId"))
                        r = read_variant_string(reply, contents, &s->last_device_id);
                else if (streq(name, "Fast"))
                        r = read_variant_bool(reply, contents, &s->fast);
                else if (streq(name, "ActiveHigh"))
                        r = read_variant_bool(reply, contents, &s->active_high);
                else if (streq(name, "Attempts"))
                        r = read_variant_uint(reply, contents, &s->attempts, &s->have_attempts);
                else if (streq(name, "Successes"))
                        r = read_variant_uint(reply, contents, &s->successes, &s->have_successes);
                else if (streq(name, "Failures"))
                        r = read_variant_uint(reply, contents, &s->failures, &s->have_failures);
                else if (streq(name, "LastAttemptId"))
                        r = read_variant_uint(reply, contents, &s->last_attempt_id,
                                              &s->have_last_attempt_id);
                else if (streq(name, "LastTiming") && streq(contents, "(ttt)")) {
                        r = sd_bus_message_read(reply, "v", "(ttt)", &s->max_lateness_ns,
                                                &s->p99_lateness_ns, &s->edges);
                        s->have_timing = r >= 0;
                } else
                        r = sd_bus_message_skip(reply, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(reply);
}

#define STATUS_LABEL_WIDTH 15

static void status_line(const char *label, const char *value) {
        printf("%*s: %s\n", STATUS_LABEL_WIDTH, label, value);
}

static void status_string(const char *label, const char *value, const char *if_empty) {
        printf("%*s: ", STATUS_LABEL_WIDTH, label);
        if (!value)
                fputs("n/a", stdout);
        else if (!*value)
                fputs(if_empty, stdout);
        else
                print_clean(stdout, value);
        putchar('\n');
}

static void status_print(const Status *s) {
        char buf[160], a[32], b[32];

        status_string("State", s->state, "n/a");
        status_string("Fixture ID", s->fixture_id, "(none)");
        status_string("Factory status", s->factory_status, "n/a");
        status_line("Bit rate", s->fast < 0 ? "n/a" : s->fast ? "fast (142 bits/s)" : "normal (60 bits/s)");
        status_line("LED polarity", s->active_high < 0 ? "n/a"
                                    : s->active_high   ? "active-high"
                                                       : "active-low");
        status_string("SSID", s->ssid, "(none: no WiFi settings in the frame)");

        if (s->have_attempts && s->have_successes && s->have_failures)
                snprintf(buf, sizeof(buf), "%" PRIu64 " (%" PRIu64 " succeeded, %" PRIu64 " failed)",
                         s->attempts, s->successes, s->failures);
        else if (s->have_attempts)
                snprintf(buf, sizeof(buf), "%" PRIu64, s->attempts);
        else
                snprintf(buf, sizeof(buf), "n/a");
        status_line("Attempts", buf);

        if (!s->have_last_attempt_id)
                snprintf(buf, sizeof(buf), "n/a");
        else if (s->last_attempt_id == 0)
                snprintf(buf, sizeof(buf), "none");
        else
                snprintf(buf, sizeof(buf), "%" PRIu64, s->last_attempt_id);
        status_line("Last attempt", buf);
        status_string("Last error", s->last_error, "none");
        status_string("Last device", s->last_device_id, "none");

        if (!s->have_timing)
                snprintf(buf, sizeof(buf), "n/a");
        else if (s->edges == 0)
                snprintf(buf, sizeof(buf), "none");
        else
                snprintf(buf, sizeof(buf), "%" PRIu64 " edges, max lateness %s, p99 %s", s->edges,
                         format_ns(a, s->max_lateness_ns), format_ns(b, s->p99_lateness_ns));
        status_line("Last timing", buf);
}

int ctl_status(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        Status s = { .fast = -1, .active_high = -1 };
        int r;

        r = parse_plain_verb("status",
                             "Usage: blinkupctl status\n\n"
                             "Show the fixture's state, configuration, counters and last result.\n",
                             argc, argv);
        if (r >= 0)
                return r;

        if (bus_connect(&bus) < 0)
                return CTL_EXIT_FAILURE;
        r = sd_bus_call_method(bus, FIXTURE_BUS_NAME, FIXTURE_OBJECT_PATH, "org.freedesktop.DBus.Properties", "GetAll",
                               &error, &reply, "s", FIXTURE_INTERFACE);
        if (r < 0)
                return method_failed("GetAll", &error, r);

        r = status_read(reply, &s);
        if (r < 0) {
                status_done(&s);
                return bus_parse_error(r);
        }
        status_print(&s);
        status_done(&s);
        return CTL_EXIT_OK;
}

/* ---- blinkup, clear, cancel ---- */

typedef struct Waiter {
        uint64_t id; /* 0 until the method returned */
        bool clear;
        bool confirm; /* wait for the confirmation as well */
        bool finished; /* the first Finished arrived */
        bool success; /* ... and said the frame went out */
        bool confirmed; /* Confirmed, or a Finished carrying a device ID */
        bool confirm_failed; /* a second Finished with failure */
        bool gone; /* blinkupd left the bus */
        char *error_name, *message, *device_id;
} Waiter;

static void waiter_done(Waiter *w) {
        free(w->error_name);
        free(w->message);
        free(w->device_id);
}

static bool waiter_complete(const Waiter *w) {
        return w->gone || w->confirm_failed ||
               (w->finished && (!w->success || w->clear || !w->confirm || w->confirmed));
}

static int set_string(char **p, const char *s) {
        char *t = strdup(s ?: "");

        if (!t)
                return -ENOMEM;
        free(*p);
        *p = t;
        return 0;
}

static void waiter_print_blinked(const Waiter *w) {
        if (w->clear)
                printf("Attempt %" PRIu64 ": clear frame sent.\n", w->id);
        else
                printf("Attempt %" PRIu64 ": BlinkUp sent.\n", w->id);
        fflush(stdout);
}

static void waiter_print_confirmed(const Waiter *w) {
        printf("Attempt %" PRIu64 ": device ", w->id);
        print_clean(stdout, w->device_id);
        printf(" enrolled.\n");
        fflush(stdout);
}

static int on_finished(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Waiter *w = userdata;
        const char *error_name, *message, *device_id;
        uint64_t id;
        int success, r;

        r = sd_bus_message_read(m, "tbsss", &id, &success, &error_name, &message, &device_id);
        if (r < 0 || w->id == 0 || id != w->id)
                return 0;

        if (!w->finished) {
                w->finished = true;
                w->success = success;
                if (success)
                        waiter_print_blinked(w);
        } else if (!success)
                w->confirm_failed = true;
        if (!success && (set_string(&w->error_name, error_name) < 0 || set_string(&w->message, message) < 0))
                return -ENOMEM;
        if (success && *device_id && !w->confirmed) {
                if (set_string(&w->device_id, device_id) < 0)
                        return -ENOMEM;
                w->confirmed = true;
                waiter_print_confirmed(w);
        }
        return 0;
}

static int on_confirmed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Waiter *w = userdata;
        const char *device_id;
        uint64_t id;
        int r;

        r = sd_bus_message_read(m, "ts", &id, &device_id);
        if (r < 0 || w->id == 0 || id != w->id || w->confirmed)
                return 0;
        if (set_string(&w->device_id, device_id) < 0)
                return -ENOMEM;
        w->confirmed = true;
        if (w->finished)
                waiter_print_confirmed(w);
        return 0;
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Waiter *w = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (streq(name, FIXTURE_BUS_NAME) && !*new_owner)
                w->gone = true;
        return 0;
}

static int parse_timeout(const char *verb, const char *s, uint64_t *ret_usec) {
        uint64_t sec;

        if (!parse_uint64(s, &sec) || sec > UINT64_MAX / USEC_PER_SEC) {
                fprintf(stderr, "blinkupctl %s: timeout: \"%s\" is not a number of seconds\n", verb, s);
                return -EINVAL;
        }
        *ret_usec = sec * USEC_PER_SEC;
        return 0;
}

static int wait_for_result(sd_bus *bus, Waiter *w, uint64_t timeout_usec) {
        uint64_t deadline = timeout_usec > 0 ? now_usec(CLOCK_MONOTONIC) + timeout_usec : UINT64_MAX;
        int r;

        while (!waiter_complete(w)) {
                uint64_t now;

                r = sd_bus_process(bus, NULL);
                if (r < 0) {
                        fprintf(stderr, "blinkupctl: lost the connection to the %s: %s\n", bus_name(),
                                strerror(-r));
                        return CTL_EXIT_FAILURE;
                }
                if (r > 0)
                        continue;
                now = now_usec(CLOCK_MONOTONIC);
                if (now >= deadline) {
                        fprintf(stderr,
                                "blinkupctl: attempt %" PRIu64 ": no %s within %" PRIu64
                                " s; it may still be running (see blinkupctl status)\n",
                                w->id, w->finished ? "confirmation" : "result", timeout_usec / USEC_PER_SEC);
                        return CTL_EXIT_FAILURE;
                }
                r = sd_bus_wait(bus, deadline == UINT64_MAX ? UINT64_MAX : deadline - now);
                if (r < 0 && r != -EINTR) {
                        fprintf(stderr, "blinkupctl: lost the connection to the %s: %s\n", bus_name(),
                                strerror(-r));
                        return CTL_EXIT_FAILURE;
                }
        }

        if (w->confirm_failed) {
                fprintf(stderr,
                        "blinkupctl: attempt %" PRIu64
                        ": the frame was sent but the device was not confirmed: %s: ",
                        w->id, w->error_name);
                print_clean(stderr, w->message);
                fputc('\n', stderr);
                return CTL_EXIT_FAILURE;
        }
        if (w->finished && !w->success) {
                fprintf(stderr, "blinkupctl: attempt %" PRIu64 " failed: %s: ", w->id, w->error_name);
                print_clean(stderr, w->message);
                fputc('\n', stderr);
                return CTL_EXIT_FAILURE;
        }
        if (w->gone && !(w->finished && (w->clear || !w->confirm || w->confirmed))) {
                fprintf(stderr, "blinkupctl: attempt %" PRIu64 ": blinkupd left the %s before the %s\n",
                        w->id, bus_name(), w->finished ? "confirmation" : "result");
                return CTL_EXIT_FAILURE;
        }
        return CTL_EXIT_OK;
}

static int start_attempt(int argc, char *argv[], bool clear) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "user-bus", no_argument, NULL, ARG_USER_BUS },
                { "wait", no_argument, NULL, ARG_WAIT },
                { "confirm", no_argument, NULL, ARG_CONFIRM },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                {},
        };
        const char *verb = clear ? "clear" : "blinkup", *method = clear ? "Clear" : "BlinkUp";
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *s_finished = NULL, *s_confirmed = NULL, *s_owner = NULL;
        uint64_t timeout_usec = WAIT_TIMEOUT_DEFAULT_SEC * USEC_PER_SEC;
        Waiter w = { .clear = clear };
        bool wait = false;
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        if (clear)
                                printf("Usage: blinkupctl clear [--wait] [--timeout=SEC]\n\n"
                                       "Flash the clear (wipe) frame; no server is needed.\n\n"
                                       "  --wait          wait until the frame was sent\n"
                                       "  --timeout=SEC   give up waiting after SEC seconds (default %d, 0: "
                                       "never)\n",
                                       WAIT_TIMEOUT_DEFAULT_SEC);
                        else
                                printf("Usage: blinkupctl blinkup [--wait [--confirm]] [--timeout=SEC]\n\n"
                                       "Start a factory BlinkUp and print its attempt ID.\n\n"
                                       "  --wait          wait until the frame was sent (or the attempt "
                                       "failed)\n"
                                       "  --confirm       with --wait: also wait until the factory server "
                                       "confirms\n"
                                       "                  that the device enrolled (or confirmation fails)\n"
                                       "  --timeout=SEC   give up waiting after SEC seconds (default %d, 0: "
                                       "never)\n\n"
                                       "Exit status with --wait: 0 on success, 1 on failure (the error on "
                                       "stderr).\n",
                                       WAIT_TIMEOUT_DEFAULT_SEC);
                        return CTL_EXIT_OK;
                case ARG_USER_BUS:
                        arg_user_bus = true;
                        break;
                case ARG_WAIT:
                        wait = true;
                        break;
                case ARG_CONFIRM:
                        if (clear) {
                                fprintf(stderr,
                                        "blinkupctl clear: --confirm: a clear frame is not confirmed\n");
                                return CTL_EXIT_USAGE;
                        }
                        w.confirm = true;
                        break;
                case ARG_TIMEOUT:
                        if (parse_timeout(verb, optarg, &timeout_usec) < 0)
                                return CTL_EXIT_USAGE;
                        break;
                default:
                        return CTL_EXIT_USAGE;
                }
        r = no_arguments(verb, argc, argv);
        if (r >= 0)
                return r;
        if (w.confirm)
                wait = true;

        if (bus_connect(&bus) < 0)
                return CTL_EXIT_FAILURE;

        if (wait) {
                /* listen before asking, so that no signal can be missed */
                r = sd_bus_match_signal(bus, &s_finished, FIXTURE_BUS_NAME, FIXTURE_OBJECT_PATH, FIXTURE_INTERFACE,
                                        "Finished", on_finished, &w);
                if (r >= 0)
                        r = sd_bus_match_signal(bus, &s_confirmed, FIXTURE_BUS_NAME, FIXTURE_OBJECT_PATH,
                                                FIXTURE_INTERFACE, "Confirmed", on_confirmed, &w);
                if (r >= 0)
                        r = sd_bus_add_match(bus, &s_owner,
                                             "type='signal',sender='org.freedesktop.DBus',"
                                             "path='/org/freedesktop/DBus',interface='org.freedesktop.DBus',"
                                             "member='NameOwnerChanged',arg0='" FIXTURE_BUS_NAME "'",
                                             on_name_owner_changed, &w);
                if (r < 0) {
                        fprintf(stderr, "blinkupctl: cannot subscribe to blinkupd's signals: %s\n",
                                strerror(-r));
                        return CTL_EXIT_FAILURE;
                }
        }

        r = sd_bus_call_method(bus, FIXTURE_BUS_NAME, FIXTURE_OBJECT_PATH, FIXTURE_INTERFACE, method, &error, &reply,
                               NULL);
        if (r < 0)
                return method_failed(method, &error, r);
        r = sd_bus_message_read(reply, "t", &w.id);
        if (r < 0)
                return bus_parse_error(r);
        if (w.id == 0) {
                fprintf(stderr, "blinkupctl: %s returned attempt ID 0\n", method);
                return CTL_EXIT_FAILURE;
        }

        if (!wait) {
                printf("Attempt %" PRIu64 " started.\n", w.id);
                return CTL_EXIT_OK;
        }
        r = wait_for_result(bus, &w, timeout_usec);
        waiter_done(&w);
        return r;
}

int ctl_blinkup(int argc, char *argv[]) {
        return start_attempt(argc, argv, false);
}

int ctl_clear(int argc, char *argv[]) {
        return start_attempt(argc, argv, true);
}

int ctl_cancel(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = parse_plain_verb("cancel",
                             "Usage: blinkupctl cancel\n\n"
                             "Stop the attempt in progress; the LED goes dark at once. Succeeds when "
                             "idle.\n",
                             argc, argv);
        if (r >= 0)
                return r;

        if (bus_connect(&bus) < 0)
                return CTL_EXIT_FAILURE;
        r = sd_bus_call_method(bus, FIXTURE_BUS_NAME, FIXTURE_OBJECT_PATH, FIXTURE_INTERFACE, "Cancel", &error, NULL,
                               NULL);
        if (r < 0)
                return method_failed("Cancel", &error, r);
        return CTL_EXIT_OK;
}

/* ---- monitor ---- */

static void monitor_begin(const char *what) {
        char ts[RECORD_TIMESTAMP_MAX];

        printf("%s %s", record_format_timestamp(ts, now_usec(CLOCK_REALTIME)), what);
}

static void monitor_end(void) {
        putchar('\n');
        fflush(stdout);
}

/* print the value the message is at: basic types, structs, arrays and variants of them */
static int print_value(sd_bus_message *m) {
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;

        switch (type) {
        case SD_BUS_TYPE_STRUCT:
        case SD_BUS_TYPE_ARRAY:
        case SD_BUS_TYPE_VARIANT:
        case SD_BUS_TYPE_DICT_ENTRY: {
                bool first = true;

                r = sd_bus_message_enter_container(m, type, contents);
                if (r < 0)
                        return r;
                fputs(type == SD_BUS_TYPE_ARRAY ? "[" : type == SD_BUS_TYPE_VARIANT ? "" : "(", stdout);
                while ((r = sd_bus_message_at_end(m, false)) == 0) {
                        if (!first)
                                putchar(',');
                        first = false;
                        r = print_value(m);
                        if (r < 0)
                                return r;
                }
                if (r < 0)
                        return r;
                fputs(type == SD_BUS_TYPE_ARRAY ? "]" : type == SD_BUS_TYPE_VARIANT ? "" : ")", stdout);
                return sd_bus_message_exit_container(m);
        }
        case SD_BUS_TYPE_STRING:
        case SD_BUS_TYPE_OBJECT_PATH:
        case SD_BUS_TYPE_SIGNATURE: {
                const char *s;

                r = sd_bus_message_read_basic(m, type, &s);
                if (r < 0)
                        return r;
                print_escaped_value(stdout, s);
                return 0;
        }
        case SD_BUS_TYPE_BOOLEAN: {
                int b;

                r = sd_bus_message_read_basic(m, type, &b);
                if (r < 0)
                        return r;
                fputs(b ? "yes" : "no", stdout);
                return 0;
        }
        case SD_BUS_TYPE_DOUBLE: {
                double d;

                r = sd_bus_message_read_basic(m, type, &d);
                if (r < 0)
                        return r;
                printf("%g", d);
                return 0;
        }
        case SD_BUS_TYPE_INT16:
        case SD_BUS_TYPE_INT32:
        case SD_BUS_TYPE_INT64: {
                union {
                        int16_t n;
                        int32_t i;
                        int64_t x;
                } v;

                r = sd_bus_message_read_basic(m, type, &v);
                if (r < 0)
                        return r;
                printf("%" PRIi64, type == SD_BUS_TYPE_INT16 ? v.n : type == SD_BUS_TYPE_INT32 ? v.i : v.x);
                return 0;
        }
        case SD_BUS_TYPE_BYTE:
        case SD_BUS_TYPE_UINT16:
        case SD_BUS_TYPE_UINT32:
        case SD_BUS_TYPE_UINT64: {
                union {
                        uint8_t y;
                        uint16_t q;
                        uint32_t u;
                        uint64_t t;
                } v;

                r = sd_bus_message_read_basic(m, type, &v);
                if (r < 0)
                        return r;
                printf("%" PRIu64, type == SD_BUS_TYPE_BYTE     ? v.y
                                   : type == SD_BUS_TYPE_UINT16 ? v.q
                                   : type == SD_BUS_TYPE_UINT32 ? v.u
                                                                : v.t);
                return 0;
        }
        default: {
                char sig[2] = { type, 0 };

                printf("<%s>", sig);
                return sd_bus_message_skip(m, sig);
        }
        }
}

static int on_monitor_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const char *member = sd_bus_message_get_member(m);
        int r = 0;

        if (!member)
                return 0;
        monitor_begin(member);

        if (streq(member, "StateChanged")) {
                const char *state;
                uint64_t id;

                r = sd_bus_message_read(m, "ts", &id, &state);
                if (r >= 0) {
                        printf(" attempt=%" PRIu64 " state=", id);
                        print_escaped_value(stdout, state);
                }
        } else if (streq(member, "Finished")) {
                const char *error_name, *message, *device_id;
                uint64_t id;
                int success;

                r = sd_bus_message_read(m, "tbsss", &id, &success, &error_name, &message, &device_id);
                if (r >= 0) {
                        printf(" attempt=%" PRIu64 " success=%s error=", id, success ? "yes" : "no");
                        print_escaped_value(stdout, error_name);
                        fputs(" message=", stdout);
                        print_escaped_value(stdout, message);
                        fputs(" device_id=", stdout);
                        print_escaped_value(stdout, device_id);
                }
        } else if (streq(member, "Confirmed")) {
                const char *device_id;
                uint64_t id;

                r = sd_bus_message_read(m, "ts", &id, &device_id);
                if (r >= 0) {
                        printf(" attempt=%" PRIu64 " device_id=", id);
                        print_escaped_value(stdout, device_id);
                }
        } else if (streq(member, "PropertiesChanged")) {
                const char *interface, *name;

                r = sd_bus_message_read(m, "s", &interface);
                if (r >= 0)
                        r = sd_bus_message_enter_container(m, 'a', "{sv}");
                while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                        r = sd_bus_message_read(m, "s", &name);
                        if (r < 0)
                                break;
                        printf(" %s=", name);
                        r = print_value(m);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r >= 0)
                        r = sd_bus_message_enter_container(m, 'a', "s");
                while (r >= 0 && (r = sd_bus_message_read(m, "s", &name)) > 0)
                        printf(" %s=<invalidated>", name);
        } else if (streq(member, "NameOwnerChanged")) {
                const char *name, *old_owner, *new_owner;

                r = sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner);
                if (r >= 0)
                        printf(" name=%s owner=%s", name, *new_owner ? new_owner : "\"\"");
        }
        if (r < 0)
                printf(" <unexpected contents: %s>", strerror(-r));
        monitor_end();
        return 0;
}

int ctl_monitor(int argc, char *argv[]) {
        static const char *const members[] = { "StateChanged", "Finished", "Confirmed" };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        sigset_t mask;
        int r;

        r = parse_plain_verb("monitor",
                             "Usage: blinkupctl monitor\n\n"
                             "Print blinkupd's signals as they arrive, one line each, until interrupted:\n"
                             "StateChanged, Finished, Confirmed, PropertiesChanged and NameOwnerChanged\n"
                             "(blinkupd starting or stopping).\n",
                             argc, argv);
        if (r >= 0)
                return r;

        /* SIGINT and SIGTERM end the loop, and the program, normally */
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
                fprintf(stderr, "blinkupctl: cannot block signals: %m\n");
                return CTL_EXIT_FAILURE;
        }

        if (bus_connect(&bus) < 0)
                return CTL_EXIT_FAILURE;

        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(members); i++)
                r = sd_bus_match_signal(bus, NULL, FIXTURE_BUS_NAME, FIXTURE_OBJECT_PATH, FIXTURE_INTERFACE, members[i],
                                        on_monitor_signal, NULL);
        if (r >= 0)
                r = sd_bus_add_match(
                        bus, NULL,
                        "type='signal',sender='" FIXTURE_BUS_NAME "',path='" FIXTURE_OBJECT_PATH "',"
                        "interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
                        "arg0='" FIXTURE_INTERFACE "'",
                        on_monitor_signal, NULL);
        if (r >= 0)
                r = sd_bus_add_match(
                        bus, NULL,
                        "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                        "interface='org.freedesktop.DBus',member='NameOwnerChanged',"
                        "arg0='" FIXTURE_BUS_NAME "'",
                        on_monitor_signal, NULL);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_bus_set_exit_on_disconnect(bus, true);
        if (r < 0) {
                fprintf(stderr, "blinkupctl: cannot subscribe to blinkupd's signals: %s\n", strerror(-r));
                return CTL_EXIT_FAILURE;
        }

        fprintf(stderr, "Monitoring %s on the %s; press Ctrl-C to stop.\n", FIXTURE_BUS_NAME, bus_name());
        /* 0 from the signals; sd-bus ends the loop with EXIT_FAILURE when the bus goes away */
        r = sd_event_loop(event);
        fflush(stdout);
        if (r < 0) {
                fprintf(stderr, "blinkupctl: monitor: %s\n", strerror(-r));
                return CTL_EXIT_FAILURE;
        }
        if (r != 0) {
                fprintf(stderr, "blinkupctl: lost the connection to the %s\n", bus_name());
                return CTL_EXIT_FAILURE;
        }
        return CTL_EXIT_OK;
}

/* ---- history ---- */

typedef struct Attempt {
        uint64_t id;
        uint64_t started_usec;
        bool have_started, have_timing;
        char *kind;
        char *outcome; /* the latest event */
        char *device_id;
        char *error_name, *message;
        uint64_t edges, max_lateness_ns, p99_lateness_ns;
        bool clean;
} Attempt;

typedef struct History {
        const char *path;
        Attempt *attempts;
        size_t n_attempts, n_started, allocated, want;
        size_t *index; /* open addressing, attempt ID -> position + 1 in attempts; 0: free */
        size_t index_size; /* a power of two, at least twice n_attempts */
        unsigned damaged;
} History;

static void history_done(History *h) {
        for (size_t i = 0; i < h->n_attempts; i++) {
                Attempt *a = h->attempts + i;
                free(a->kind);
                free(a->outcome);
                free(a->device_id);
                free(a->error_name);
                free(a->message);
        }
        free(h->attempts);
        free(h->index);
}

static size_t history_slot(const History *h, uint64_t id) {
        size_t mask = h->index_size - 1, i = (size_t) ((id * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & mask;

        while (h->index[i] != 0 && h->attempts[h->index[i] - 1].id != id)
                i = (i + 1) & mask;
        return i;
}

/* Doubles the index (and places every attempt again) when it is half full. */
static int history_index_grow(History *h) {
        size_t *old = h->index, old_size = h->index_size;

        if (h->index_size >= 2 * (h->n_attempts + 1))
                return 0;
        h->index_size = MAX(old_size * 2, (size_t) 64);
        h->index = calloc(h->index_size, sizeof(size_t));
        if (!h->index) {
                h->index = old;
                h->index_size = old_size;
                return -ENOMEM;
        }
        for (size_t i = 0; i < old_size; i++)
                if (old[i] != 0)
                        h->index[history_slot(h, h->attempts[old[i] - 1].id)] = old[i];
        free(old);
        return 0;
}

/* The attempt with this ID, added when it is new: a hash lookup, so reading a record is linear
 * in its lines however many attempts it holds. */
static Attempt *history_get(History *h, uint64_t id) {
        Attempt *a;
        size_t slot;

        if (h->index_size > 0) {
                slot = history_slot(h, id);
                if (h->index[slot] != 0)
                        return h->attempts + h->index[slot] - 1;
        }
        if (history_index_grow(h) < 0)
                return NULL;
        slot = history_slot(h, id);
        if (h->n_attempts >= h->allocated) {
                size_t n = MAX(h->allocated * 2, (size_t) 32);
                Attempt *p = reallocarray(h->attempts, n, sizeof(Attempt));
                if (!p)
                        return NULL;
                h->attempts = p;
                h->allocated = n;
        }
        a = h->attempts + h->n_attempts++;
        *a = (Attempt){ .id = id };
        h->index[slot] = h->n_attempts;
        return a;
}

static int set_once(char **p, const char *s) {
        return *p ? 0 : set_string(p, s);
}

static int history_line(const char *line, size_t length, uint64_t offset, bool terminated, void *userdata) {
        History *h = userdata;
        _cleanup_(freep) char *copy = NULL;
        RecordLine l = {};
        Attempt *a;
        const char *v;
        int r;

        if (length == 0)
                return 0;
        if (!line || memchr(line, 0, length)) {
                r = -EBADMSG;
        } else {
                copy = strndup(line, length);
                if (!copy)
                        return -ENOMEM;
                r = record_parse_line(copy, &l);
        }
        if (r == -ENODATA)
                return 0;
        if (r < 0) {
                h->damaged++;
                fprintf(stderr, "blinkupctl: %s: %s at byte %" PRIu64 " skipped%s\n", h->path,
                        terminated ? "damaged line" : "incomplete last line", offset,
                        terminated ? "" : " (a write was interrupted)");
                return 0;
        }

        /* lines come newest first: the first one seen of each kind is the latest */
        a = history_get(h, l.attempt_id);
        if (!a) {
                r = -ENOMEM;
                goto finish;
        }
        if (!a->outcome && (r = set_string(&a->outcome, l.event)) < 0)
                goto finish;
        if (streq(l.event, RECORD_EVENT_STARTED) && !a->have_started) {
                a->have_started = true;
                a->started_usec = l.timestamp_usec;
                if ((r = set_once(&a->kind, record_line_get(&l, "kind"))) < 0)
                        goto finish;
                h->n_started++;
        } else if (streq(l.event, RECORD_EVENT_BLINKED) && !a->have_timing) {
                a->have_timing = parse_uint64(record_line_get(&l, "edges"), &a->edges);
                (void) parse_uint64(record_line_get(&l, "max_lateness_ns"), &a->max_lateness_ns);
                (void) parse_uint64(record_line_get(&l, "p99_lateness_ns"), &a->p99_lateness_ns);
                v = record_line_get(&l, "clean");
                a->clean = !v || streq(v, "yes");
        } else if (streq(l.event, RECORD_EVENT_CONFIRMED)) {
                if ((r = set_once(&a->device_id, record_line_get(&l, "device_id"))) < 0)
                        goto finish;
        } else if (streq(l.event, RECORD_EVENT_FAILED) && !a->error_name) {
                if ((r = set_string(&a->error_name, record_line_get(&l, "error"))) < 0 ||
                    (r = set_string(&a->message, record_line_get(&l, "message"))) < 0)
                        goto finish;
        }
        /* every line before the Nth-last "started" belongs to an older attempt */
        r = h->n_started >= h->want;
finish:
        record_line_done(&l);
        return r;
}

static const char *attempt_outcome(const Attempt *a) {
        if (!a->outcome || streq(a->outcome, RECORD_EVENT_STARTED) || streq(a->outcome, RECORD_EVENT_TOKEN))
                return "unfinished";
        if (streq(a->outcome, RECORD_EVENT_BLINKED))
                return a->kind && streq(a->kind, "clear") ? "cleared"
                       : a->clean                         ? "blinked"
                                                          : "timing-fault";
        return a->outcome; /* confirmed, failed, cancelled, or an event of a later version */
}

static int attempt_compare(const void *x, const void *y) {
        const Attempt *a = x, *b = y;

        return a->id < b->id ? -1 : a->id > b->id;
}

/* One file of the record into h. What the daemon writes is a regular file: not a link, not a
 * FIFO (which would block). */
static int history_read_file(History *h, int dfd, const char *name, const char *path, bool missing_ok) {
        _cleanup_(closep) int fd = -1;
        int r;

        fd = open_regular_file(dfd, name, NULL);
        if (fd == -ENOENT && missing_ok)
                return CTL_EXIT_OK;
        if (fd == -ELOOP)
                fprintf(stderr, "blinkupctl: the attempt record %s is a symbolic link; not following it\n", path);
        else if (fd == -EBADFD)
                fprintf(stderr, "blinkupctl: the attempt record %s is not a regular file\n", path);
        else if (fd < 0)
                fprintf(stderr, "blinkupctl: cannot read the attempt record %s: %s\n", path, strerror(-fd));
        if (fd < 0)
                return CTL_EXIT_FAILURE;
        h->path = path;
        r = record_foreach_line_reverse(fd, 0, history_line, h);
        if (r < 0) {
                fprintf(stderr, "blinkupctl: reading %s: %s\n", path, strerror(-r));
                return CTL_EXIT_FAILURE;
        }
        return CTL_EXIT_OK;
}

/* attempts.log, then the rotated files attempts.log.N from the newest, until h has enough. */
static int history_read(History *h, const char *dir, const char *path) {
        _cleanup_(closep) int dfd = -1;
        _cleanup_(freep) unsigned *rotated = NULL;
        size_t n = 0;
        int r;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                fprintf(stderr, "blinkupctl: cannot read the attempt record %s: %m\n", path);
                return CTL_EXIT_FAILURE;
        }
        r = record_list_rotated(dfd, &rotated, &n);
        if (r < 0) {
                fprintf(stderr, "blinkupctl: cannot list %s: %s\n", dir, strerror(-r));
                return CTL_EXIT_FAILURE;
        }
        /* just after a rotation there may be no attempts.log for a moment */
        r = history_read_file(h, dfd, RECORD_FILENAME, path, n > 0);
        for (size_t i = 0; r == CTL_EXIT_OK && i < n && h->n_started < h->want; i++) {
                _cleanup_(freep) char *rpath = NULL;
                char name[sizeof(RECORD_FILENAME) + 16];

                (void) snprintf(name, sizeof(name), "%s.%u", RECORD_FILENAME, rotated[i]);
                if (asprintf(&rpath, "%s/%s", dir, name) < 0) {
                        rpath = NULL;
                        return CTL_EXIT_FAILURE;
                }
                r = history_read_file(h, dfd, name, rpath, true);
                h->path = path; /* rpath is freed here */
        }
        return r;
}

int ctl_history(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "user-bus", no_argument, NULL, ARG_USER_BUS },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                {},
        };
        _cleanup_(freep) char *path = NULL;
        const char *dir = STATEDIR;
        History h = { .want = HISTORY_DEFAULT };
        size_t device_width = strlen("DEVICE"), shown = 0;
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "hn:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        printf("Usage: blinkupctl history [-n N] [--state-dir=DIR]\n\n"
                               "Show the last attempts from the durable record, oldest first, one line "
                               "each.\n\n"
                               "  -n N              how many attempts (default %d)\n"
                               "  --state-dir=DIR   read DIR/%s (default %s)\n",
                               HISTORY_DEFAULT, RECORD_FILENAME, STATEDIR);
                        return CTL_EXIT_OK;
                case 'n': {
                        uint64_t n;

                        if (!parse_uint64(optarg, &n) || n < 1 || n > HISTORY_MAX) {
                                fprintf(stderr, "blinkupctl history: -n: \"%s\" is not 1..%d\n", optarg,
                                        HISTORY_MAX);
                                return CTL_EXIT_USAGE;
                        }
                        h.want = (size_t) n;
                        break;
                }
                case ARG_USER_BUS:
                        break; /* the record is read directly */
                case ARG_STATE_DIR:
                        dir = optarg;
                        break;
                default:
                        return CTL_EXIT_USAGE;
                }
        r = no_arguments("history", argc, argv);
        if (r >= 0)
                return r;

        if (asprintf(&path, "%s/%s", dir, RECORD_FILENAME) < 0) {
                path = NULL;
                return CTL_EXIT_FAILURE;
        }
        r = history_read(&h, dir, path);
        if (r != CTL_EXIT_OK) {
                history_done(&h);
                return r;
        }

        if (h.n_attempts > 0) /* an empty record: attempts is NULL, which qsort() must not get */
                qsort(h.attempts, h.n_attempts, sizeof(Attempt), attempt_compare);
        for (size_t i = 0; i < h.n_attempts; i++)
                if (h.attempts[i].have_started && h.attempts[i].device_id)
                        device_width = MAX(device_width, MIN(strlen(h.attempts[i].device_id), (size_t) 32));

        for (size_t i = 0; i < h.n_attempts; i++) {
                const Attempt *a = h.attempts + i;
                char ts[RECORD_TIMESTAMP_MAX], max[32], p99[32], edges[24];

                /* older attempts whose last lines came late, and attempts whose "started" is damaged */
                if (!a->have_started)
                        continue;
                if (shown++ == 0)
                        printf("%7s  %-20s  %-7s  %-12s  %-*s  %6s  %10s  %10s  %s\n", "ATTEMPT",
                               "STARTED (UTC)", "KIND", "OUTCOME", (int) device_width, "DEVICE", "EDGES",
                               "MAX LATE", "P99 LATE", "ERROR");

                record_format_timestamp(ts, a->started_usec);
                ts[19] = 'Z'; /* to the second */
                ts[20] = 0;
                if (a->have_timing)
                        snprintf(edges, sizeof(edges), "%" PRIu64, a->edges);
                printf("%7" PRIu64 "  %-20s  %-7s  %-12s  ", a->id, ts, a->kind && *a->kind ? a->kind : "-",
                       attempt_outcome(a));
                if (a->device_id && *a->device_id) {
                        print_clean(stdout, a->device_id);
                        printf("%*s", (int) (device_width - MIN(strlen(a->device_id), device_width)), "");
                } else
                        printf("%-*s", (int) device_width, "-");
                printf("  %6s  %10s  %10s  ", a->have_timing ? edges : "-",
                       a->have_timing ? format_ns(max, a->max_lateness_ns) : "-",
                       a->have_timing ? format_ns(p99, a->p99_lateness_ns) : "-");
                if (a->error_name) {
                        const char *e = a->error_name;

                        if (strncmp(e, FIXTURE_ERROR_PREFIX, strlen(FIXTURE_ERROR_PREFIX)) == 0)
                                e += strlen(FIXTURE_ERROR_PREFIX);
                        print_clean(stdout, *e ? e : "error");
                        if (a->message && *a->message) {
                                fputs(": ", stdout);
                                print_clean(stdout, a->message);
                        }
                } else
                        putchar('-');
                putchar('\n');
        }
        if (shown == 0)
                printf("No attempts recorded in %s.\n", path);
        history_done(&h);

        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "blinkupctl: writing output: %m\n");
                return CTL_EXIT_FAILURE;
        }
        return CTL_EXIT_OK;
}
