/* SPDX-License-Identifier: MIT */
/* blinkupctl status: blinkupd's properties, read with one GetAll and printed one per line. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-names.h"
#include "ctl-bus.h"
#include "ctl-common.h"
#include "macro.h"
#include "record.h"
#include "string-util.h"
#include "waveform.h"

#define STATUS_LABEL_WIDTH 15

typedef struct Status {
        char *state, *fixture_id, *factory_status, *ssid, *last_error, *last_device_id;
        char *last_serial, *last_operator, *pending_serial;
        /* the results delivery */
        char *results_url, *results_last_error;
        uint64_t results_backlog, results_parked, results_last_delivery, results_last_error_time;
        bool have_results_backlog, have_results_parked, have_results_last_delivery, have_results_last_error_time;
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
        free(s->last_serial);
        free(s->last_operator);
        free(s->pending_serial);
        free(s->results_url);
        free(s->results_last_error);
}

/* an unsigned or signed integer of any width; negative values count as 0 */
static uint64_t integer_value(char type, const void *v) {
        switch (type) {
        case 'y':
                return *(const uint8_t *) v;
        case 'q':
                return *(const uint16_t *) v;
        case 'n':
                return (uint64_t) MAX(*(const int16_t *) v, 0);
        case 'u':
                return *(const uint32_t *) v;
        case 'i':
                return (uint64_t) MAX(*(const int32_t *) v, 0);
        case 't':
                return *(const uint64_t *) v;
        default: /* 'x' */
                return (uint64_t) MAX(*(const int64_t *) v, 0);
        }
}

/* a variant holding an integer; skipped when it holds something else */
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
        *ret = integer_value(contents[0], &v);
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
        return free_and_strdup(ret, s);
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

static int read_variant_timing(sd_bus_message *m, const char *contents, Status *s) {
        int r;

        if (!streq(contents, "(ttt)"))
                return sd_bus_message_skip(m, "v");
        r = sd_bus_message_read(m, "v", "(ttt)", &s->max_lateness_ns, &s->p99_lateness_ns, &s->edges);
        s->have_timing = r >= 0;
        return r;
}

static int status_read_property_more(sd_bus_message *m, const char *name, const char *contents, Status *s) {
        if (streq(name, "LastSerial"))
                return read_variant_string(m, contents, &s->last_serial);
        if (streq(name, "LastOperator"))
                return read_variant_string(m, contents, &s->last_operator);
        if (streq(name, "PendingSerial"))
                return read_variant_string(m, contents, &s->pending_serial);
        if (streq(name, "ResultsURL"))
                return read_variant_string(m, contents, &s->results_url);
        if (streq(name, "ResultsLastError"))
                return read_variant_string(m, contents, &s->results_last_error);
        if (streq(name, "ResultsBacklog"))
                return read_variant_uint(m, contents, &s->results_backlog, &s->have_results_backlog);
        if (streq(name, "ResultsParked"))
                return read_variant_uint(m, contents, &s->results_parked, &s->have_results_parked);
        if (streq(name, "ResultsLastDelivery"))
                return read_variant_uint(m, contents, &s->results_last_delivery, &s->have_results_last_delivery);
        if (streq(name, "ResultsLastErrorTime"))
                return read_variant_uint(m, contents, &s->results_last_error_time,
                                         &s->have_results_last_error_time);
        return sd_bus_message_skip(m, "v");
}

/* The value of property NAME, the variant the message is at, into s; other properties are
 * skipped. */
static int status_read_property(sd_bus_message *m, const char *name, const char *contents, Status *s) {
        if (streq(name, "State"))
                return read_variant_string(m, contents, &s->state);
        if (streq(name, "FixtureId"))
                return read_variant_string(m, contents, &s->fixture_id);
        if (streq(name, "FactoryStatus"))
                return read_variant_string(m, contents, &s->factory_status);
        if (streq(name, "SSID"))
                return read_variant_string(m, contents, &s->ssid);
        if (streq(name, "LastError"))
                return read_variant_string(m, contents, &s->last_error);
        if (streq(name, "LastDeviceId"))
                return read_variant_string(m, contents, &s->last_device_id);
        if (streq(name, "Fast"))
                return read_variant_bool(m, contents, &s->fast);
        if (streq(name, "ActiveHigh"))
                return read_variant_bool(m, contents, &s->active_high);
        if (streq(name, "Attempts"))
                return read_variant_uint(m, contents, &s->attempts, &s->have_attempts);
        if (streq(name, "Successes"))
                return read_variant_uint(m, contents, &s->successes, &s->have_successes);
        if (streq(name, "Failures"))
                return read_variant_uint(m, contents, &s->failures, &s->have_failures);
        if (streq(name, "LastAttemptId"))
                return read_variant_uint(m, contents, &s->last_attempt_id, &s->have_last_attempt_id);
        if (streq(name, "LastTiming"))
                return read_variant_timing(m, contents, s);
        return status_read_property_more(m, name, contents, s);
}

/* GetAll's a{sv} */
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
                r = status_read_property(reply, name, contents, s);
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

static void status_print_bit_rate(const Status *s) {
        char buf[64];

        if (s->fast < 0)
                snprintf(buf, sizeof(buf), "n/a");
        else if (s->fast)
                snprintf(buf, sizeof(buf), "fast (%u bits/s)", WAVEFORM_RATE_FAST);
        else
                snprintf(buf, sizeof(buf), "normal (%u bits/s)", WAVEFORM_RATE_NORMAL);
        status_line("Bit rate", buf);
}

static void status_print_counters(const Status *s) {
        char buf[160];

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
}

static void status_print_timing(const Status *s) {
        char buf[160], max[FORMAT_NS_MAX], p99[FORMAT_NS_MAX];

        if (!s->have_timing)
                snprintf(buf, sizeof(buf), "n/a");
        else if (s->edges == 0)
                snprintf(buf, sizeof(buf), "none");
        else
                snprintf(buf, sizeof(buf), "%" PRIu64 " edges, max lateness %s, p99 %s", s->edges,
                         format_ns(max, s->max_lateness_ns), format_ns(p99, s->p99_lateness_ns));
        status_line("Last timing", buf);
}

/* "2026-11-24T03:10:00.000000Z", "never" for 0 */
static const char *status_time(char buf[static RECORD_TIMESTAMP_MAX], uint64_t usec) {
        return usec == 0 ? "never" : record_format_timestamp(buf, usec);
}

static void status_print_results(const Status *s) {
        char buf[256], t[RECORD_TIMESTAMP_MAX];

        if (!s->results_url) /* a daemon without the results delivery */
                return;
        status_string("Results to", s->results_url, "(none: [Results] URL= is not set)");
        if (!*s->results_url)
                return;
        snprintf(buf, sizeof(buf), "%" PRIu64 " waiting, %" PRIu64 " parked", s->results_backlog,
                 s->results_parked);
        status_line("Results backlog", buf);
        status_line("Last delivery", status_time(t, s->results_last_delivery));
        if (!s->results_last_error || !*s->results_last_error) {
                status_line("Delivery error", "none");
                return;
        }
        printf("%*s: ", STATUS_LABEL_WIDTH, "Delivery error");
        print_clean(stdout, s->results_last_error);
        printf(" (%s)\n", status_time(t, s->results_last_error_time));
}

static void status_print(const Status *s) {
        status_string("State", s->state, "n/a");
        status_string("Fixture ID", s->fixture_id, "(none)");
        status_string("Factory status", s->factory_status, "n/a");
        status_print_bit_rate(s);
        status_line("LED polarity", s->active_high < 0 ? "n/a"
                                    : s->active_high   ? "active-high"
                                                       : "active-low");
        status_string("SSID", s->ssid, "(none: no WiFi settings in the frame)");
        status_print_counters(s);
        status_string("Last error", s->last_error, "none");
        status_string("Last device", s->last_device_id, "none");
        status_string("Last serial", s->last_serial, "none");
        status_string("Last operator", s->last_operator, "none");
        status_string("Next serial", s->pending_serial, "none");
        status_print_timing(s);
        status_print_results(s);
}

static void status_json_bool(JsonOut *j, const char *key, int b) {
        if (b < 0)
                json_field_null(j, key);
        else
                json_field_bool(j, key, b);
}

static void status_json_uint(JsonOut *j, const char *key, uint64_t v, bool have) {
        if (have)
                json_field_unsigned(j, key, v);
        else
                json_field_null(j, key);
}

/* "results": null without a URL, else the delivery's figures; times in microseconds since the
 * epoch (0: never), as the properties give them. */
static void status_json_results(JsonOut *j, const Status *s) {
        if (!s->results_url || !*s->results_url) {
                json_field_null(j, "results");
                return;
        }
        json_key(j, "results");
        json_begin_object(j);
        json_field_string(j, "url", s->results_url);
        status_json_uint(j, "backlog", s->results_backlog, s->have_results_backlog);
        status_json_uint(j, "parked", s->results_parked, s->have_results_parked);
        status_json_uint(j, "last_delivery_usec", s->results_last_delivery, s->have_results_last_delivery);
        status_json_uint(j, "last_error_usec", s->results_last_error_time, s->have_results_last_error_time);
        json_field_string(j, "last_error", s->results_last_error);
        json_end_object(j);
}

/* One object: the properties as blinkupd reports them, null for those it does not. */
static void status_print_json(const Status *s, JsonMode mode) {
        JsonOut j;

        json_out_init(&j, stdout, mode);
        json_begin_object(&j);
        json_field_string(&j, "state", s->state);
        json_field_string(&j, "fixture_id", s->fixture_id);
        json_field_string(&j, "factory_status", s->factory_status);
        status_json_bool(&j, "fast", s->fast);
        status_json_bool(&j, "active_high", s->active_high);
        json_field_string(&j, "ssid", s->ssid);
        status_json_uint(&j, "attempts", s->attempts, s->have_attempts);
        status_json_uint(&j, "successes", s->successes, s->have_successes);
        status_json_uint(&j, "failures", s->failures, s->have_failures);
        status_json_uint(&j, "last_attempt_id", s->last_attempt_id, s->have_last_attempt_id);
        json_field_string(&j, "last_error", s->last_error);
        json_field_string(&j, "last_device_id", s->last_device_id);
        if (s->have_timing)
                ctl_json_timing(&j, "last_timing", s->max_lateness_ns, s->p99_lateness_ns, s->edges);
        else
                json_field_null(&j, "last_timing");
        json_field_string(&j, "last_serial", s->last_serial);
        json_field_string(&j, "last_operator", s->last_operator);
        json_field_string(&j, "pending_serial", s->pending_serial);
        status_json_results(&j, s);
        json_end_object(&j);
}

int ctl_status(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(status_done) Status s = { .fast = -1, .active_high = -1 };
        JsonMode json = JSON_OFF;
        int r;

        r = ctl_parse_plain_verb("status",
                                 "Usage: blinkupctl status [--json[=MODE]]\n\n"
                                 "Show the fixture's state, configuration, counters and last result.\n\n"
                                 CTL_JSON_HELP,
                                 argc, argv, &json);
        if (r <= 0)
                return ctl_parse_exit_status(r);

        if (ctl_bus_open(&bus) < 0)
                return CTL_EXIT_FAILURE;
        if (ctl_bus_call(bus, "org.freedesktop.DBus.Properties", "GetAll", &reply, "s", FIXTURE_INTERFACE) < 0)
                return CTL_EXIT_FAILURE;
        r = status_read(reply, &s);
        if (r < 0) {
                (void) ctl_bus_parse_error(r);
                return CTL_EXIT_FAILURE;
        }
        if (json == JSON_OFF)
                status_print(&s);
        else
                status_print_json(&s, json);
        return ctl_flush_stdout();
}
