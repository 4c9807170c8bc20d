/* SPDX-License-Identifier: MIT */
/* A stand-in for blinkupd on the session bus, for testing blinkupctl: the interface of
 * org.blinkupd.Fixture1 with canned behaviour and fast timers.
 *
 *   BlinkUp()  -> IDs from 7 up (or after the last one in --state-dir's record); State goes
 *                 verifying, requesting-token, blinking (50 ms each), then Finished(id, true,
 *                 "", "", "") and idle; 100 ms later Confirmed(id, "dev-<id>").
 *   BlinkUpWithOptions(a{sv}) -> the same, the serial and operator checked as the daemon does,
 *                 recorded on the started line and shown as LastSerial and LastOperator.
 *   Clear()    -> blinking for 100 ms, then Finished(id, true, ...).
 *   Cancel()   -> ends the attempt in progress with Error.Cancelled; nothing when idle.
 *   Reload()   -> succeeds.
 *   PendingSerial is always "SN-0002" (FAKE_PENDING_SERIAL).
 *   Error.Busy for BlinkUp()/Clear() while not idle.
 *
 * What the next attempts do is set with org.blinkupd.FakeControl1.SetOutcome(s):
 *   "ok" (the default), "no-confirm" (no confirmation ever), "<Error>" (e.g. "Timeout": the
 *   attempt fails before blinking), "confirm-<Error>" (blinks, then confirmation fails),
 *   "hang" (stays in blinking until cancelled), "vanish" (leaves the bus while blinking).
 *
 * With --state-dir=DIR, every event is appended to DIR/attempts.log with the record API, as
 * the daemon does. "READY" is printed on stdout once the name is owned.
 *
 * Its org.blinkupd.Fixture1 is the shipped dbus/org.blinkupd.Fixture1.xml (test-ctl-bus.sh
 * compares the two). */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus-names.h"
#include "macro.h"
#include "identity.h"
#include "record.h"

/* the results endpoint that ResultsURL shows */
#define FAKE_RESULTS_URL "https://results.example.com/lines/3"
/* PendingSerial, fixed: as if a scanner had read it (the fake takes it for no attempt) */
#define FAKE_PENDING_SERIAL "SN-0002"

#define PATH FIXTURE_OBJECT_PATH
#define IFACE FIXTURE_INTERFACE
#define STEP_USEC (50 * USEC_PER_MSEC)

typedef struct Fake {
        sd_bus *bus;
        sd_event *event;
        sd_event_source *timer;
        Record *record;
        char outcome[64];

        const char *state;
        uint64_t attempt_id, next_id;
        bool clear;
        unsigned step;
        uint64_t confirm_id; /* the attempt waiting for its confirmation */
        char confirm_outcome[64];

        uint64_t attempts, successes, failures;
        char last_error[128], last_device_id[64];
        char last_serial[IDENTITY_VALUE_MAX + 1], last_operator[IDENTITY_VALUE_MAX + 1];
} Fake;

static void record_event(Fake *f, int r) {
        if (r < 0)
                fprintf(stderr, "fake-fixture: record: %s\n", strerror(-r));
}

static void set_state(Fake *f, const char *state) {
        f->state = state;
        (void) sd_bus_emit_signal(f->bus, PATH, IFACE, "StateChanged", "ts", f->attempt_id, state);
        (void) sd_bus_emit_properties_changed(f->bus, PATH, IFACE, "State", NULL);
}

static void schedule(Fake *f, uint64_t usec) {
        uint64_t now;

        (void) sd_event_now(f->event, CLOCK_MONOTONIC, &now);
        (void) sd_event_source_set_time(f->timer, now + usec);
        (void) sd_event_source_set_enabled(f->timer, SD_EVENT_ONESHOT);
}

static void finish(Fake *f, bool success, const char *error, const char *message) {
        char name[128] = "";
        uint64_t id = f->attempt_id;

        if (!success)
                snprintf(name, sizeof(name), FIXTURE_ERROR_PREFIX "%s", error);
        if (success) {
                RecordTiming t = { .edges = 212,
                                   .frames = 1,
                                   .max_lateness_ns = 51234,
                                   .p99_lateness_ns = 40000,
                                   .clean = true };
                if (f->record)
                        record_event(f, record_append_blinked(f->record, id, &t));
                if (f->clear)
                        f->successes++;
        } else {
                if (f->record)
                        record_event(f, streq(error, "Cancelled")
                                                ? record_append_cancelled(f->record, id)
                                                : record_append_failed(f->record, id, name, message));
                f->failures++;
                snprintf(f->last_error, sizeof(f->last_error), "%s", name);
        }
        (void) sd_bus_emit_signal(f->bus, PATH, IFACE, "Finished", "tbsss", id, success, name, message, "");
        (void) sd_bus_emit_properties_changed(f->bus, PATH, IFACE, "Successes", "Failures", "LastError",
                                              "LastTiming", NULL);
        set_state(f, "idle");

        if (success && !f->clear && !streq(f->outcome, "no-confirm")) {
                f->confirm_id = id;
                snprintf(f->confirm_outcome, sizeof(f->confirm_outcome), "%s", f->outcome);
                f->step = 100;
                schedule(f, 2 * STEP_USEC);
        }
}

static void confirm(Fake *f) {
        uint64_t id = f->confirm_id;

        f->confirm_id = 0;
        if (strncmp(f->confirm_outcome, "confirm-", 8) == 0) {
                char name[128];
                const char *message = "The device did not enroll in time.";

                snprintf(name, sizeof(name), FIXTURE_ERROR_PREFIX "%s", f->confirm_outcome + 8);
                if (f->record)
                        record_event(f, record_append_failed(f->record, id, name, message));
                f->failures++;
                snprintf(f->last_error, sizeof(f->last_error), "%s", name);
                (void) sd_bus_emit_signal(f->bus, PATH, IFACE, "Finished", "tbsss", id, false, name, message,
                                          "");
                (void) sd_bus_emit_properties_changed(f->bus, PATH, IFACE, "Failures", "LastError", NULL);
                return;
        }
        snprintf(f->last_device_id, sizeof(f->last_device_id), "dev-%" PRIu64, id);
        if (f->record)
                record_event(f, record_append_confirmed(f->record, id, f->last_device_id));
        f->successes++;
        (void) sd_bus_emit_signal(f->bus, PATH, IFACE, "Confirmed", "ts", id, f->last_device_id);
        (void) sd_bus_emit_properties_changed(f->bus, PATH, IFACE, "Successes", "LastDeviceId", NULL);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Fake *f = userdata;

        if (f->step == 100) {
                confirm(f);
                return 0;
        }
        if (f->clear) {
                finish(f, true, NULL, "");
                return 0;
        }
        switch (f->step++) {
        case 0:
                if (!streq(f->outcome, "ok") && !streq(f->outcome, "no-confirm") &&
                    !streq(f->outcome, "hang") && !streq(f->outcome, "vanish") &&
                    strncmp(f->outcome, "confirm-", 8) != 0) {
                        finish(f, false, f->outcome, "No answer from the factory server.");
                        return 0;
                }
                set_state(f, "requesting-token");
                if (f->record)
                        record_event(f, record_append_token(f->record, f->attempt_id, "tok-42",
                                                            "0123456789abcdef"));
                schedule(f, STEP_USEC);
                break;
        case 1:
                set_state(f, "blinking");
                if (streq(f->outcome, "vanish")) {
                        (void) sd_event_exit(f->event, 0);
                        break;
                }
                if (!streq(f->outcome, "hang"))
                        schedule(f, 2 * STEP_USEC);
                break;
        default:
                finish(f, true, NULL, "");
        }
        return 0;
}

static int start(Fake *f, sd_bus_message *m, sd_bus_error *error, bool clear, const AttemptIdentity *identity) {
        uint64_t id;

        if (!streq(f->state, "idle"))
                return sd_bus_error_setf(error, FIXTURE_ERROR_BUSY, "Attempt %" PRIu64 " is in progress.",
                                         f->attempt_id);
        if (f->record)
                f->next_id = MAX(f->next_id, record_last_attempt_id(f->record) + 1);
        id = f->next_id++;
        if (f->record) {
                int r = record_append_started_identity(f->record, id, clear ? "clear" : "factory",
                                                       identity ? identity->serial : NULL,
                                                       identity ? identity->operator : NULL);
                if (r < 0)
                        return sd_bus_error_set_errnof(error, -r, "Cannot record the attempt: %s",
                                                       strerror(-r));
        }
        f->attempt_id = id;
        f->clear = clear;
        snprintf(f->last_serial, sizeof(f->last_serial), "%s", identity && identity->serial ? identity->serial : "");
        snprintf(f->last_operator, sizeof(f->last_operator), "%s",
                 identity && identity->operator ? identity->operator : "");
        f->step = 0;
        f->attempts++;
        f->confirm_id = 0; /* one timer: a new attempt drops a pending confirmation */
        (void) sd_bus_emit_properties_changed(f->bus, PATH, IFACE, "Attempts", "LastAttemptId", "LastSerial",
                                              "LastOperator", NULL);
        set_state(f, clear ? "blinking" : "verifying");
        schedule(f, clear ? 2 * STEP_USEC : STEP_USEC);
        return sd_bus_reply_method_return(m, "t", id);
}

static int method_blinkup(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return start(userdata, m, error, false, NULL);
}

/* The options as the daemon takes them: InvalidArgs naming the key for an unknown one, one that
 * is not a string, given twice, or against the rules of identity.h. */
static int method_blinkup_with_options(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        AttemptIdentity identity = {};
        const char *key, *contents, *value;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char **slot;
                ErrorText e = {};

                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                if (!identity_key_is_known(key))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option \"%s\".", key);
                slot = streq(key, IDENTITY_KEY_SERIAL) ? &identity.serial : &identity.operator;
                r = sd_bus_message_peek_type(m, NULL, &contents);
                if (r < 0)
                        return r;
                if (*slot || !streq_ptr(contents, "s"))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Option \"%s\": given twice or not a string.", key);
                r = sd_bus_message_read(m, "v", "s", &value);
                if (r >= 0 && identity_check(key, value, &e) < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Option %s.", e.message);
                *slot = value;
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        return start(userdata, m, error, false, &identity);
}

static int method_clear(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return start(userdata, m, error, true, NULL);
}

static int method_cancel(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Fake *f = userdata;

        if (!streq(f->state, "idle")) {
                (void) sd_event_source_set_enabled(f->timer, SD_EVENT_OFF);
                finish(f, false, "Cancelled", "Cancelled by request.");
        }
        return sd_bus_reply_method_return(m, NULL);
}

static int method_reload(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return sd_bus_reply_method_return(m, NULL);
}

static int method_set_outcome(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Fake *f = userdata;
        const char *outcome;
        int r;

        r = sd_bus_message_read(m, "s", &outcome);
        if (r < 0)
                return r;
        snprintf(f->outcome, sizeof(f->outcome), "%s", outcome);
        return sd_bus_reply_method_return(m, NULL);
}

static int get_property(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Fake *f = userdata;

        if (streq(property, "State"))
                return sd_bus_message_append(reply, "s", f->state);
        if (streq(property, "FixtureId"))
                return sd_bus_message_append(reply, "s", "0123456789abcdef");
        if (streq(property, "FactoryStatus"))
                return sd_bus_message_append(reply, "s", "verified");
        if (streq(property, "Fast"))
                return sd_bus_message_append(reply, "b", true);
        if (streq(property, "ActiveHigh"))
                return sd_bus_message_append(reply, "b", false);
        if (streq(property, "SSID"))
                return sd_bus_message_append(reply, "s", "Factory Net");
        if (streq(property, "Attempts"))
                return sd_bus_message_append(reply, "t", f->attempts);
        if (streq(property, "Successes"))
                return sd_bus_message_append(reply, "t", f->successes);
        if (streq(property, "Failures"))
                return sd_bus_message_append(reply, "t", f->failures);
        if (streq(property, "LastAttemptId"))
                return sd_bus_message_append(reply, "t", f->attempt_id);
        if (streq(property, "LastError"))
                return sd_bus_message_append(reply, "s", f->last_error);
        if (streq(property, "LastDeviceId"))
                return sd_bus_message_append(reply, "s", f->last_device_id);
        if (streq(property, "LastSerial"))
                return sd_bus_message_append(reply, "s", f->last_serial);
        if (streq(property, "LastOperator"))
                return sd_bus_message_append(reply, "s", f->last_operator);
        if (streq(property, "PendingSerial"))
                return sd_bus_message_append(reply, "s", FAKE_PENDING_SERIAL);
        if (streq(property, "LastTiming"))
                return f->attempts > 0 ? sd_bus_message_append(reply, "(ttt)", UINT64_C(51234),
                                                               UINT64_C(40000), UINT64_C(212))
                                       : sd_bus_message_append(reply, "(ttt)", UINT64_C(0), UINT64_C(0),
                                                               UINT64_C(0));
        /* a delivery that has worked and is failing now: 2026-11-24T03:10:00Z, then 03:12:30Z */
        if (streq(property, "ResultsURL"))
                return sd_bus_message_append(reply, "s", FAKE_RESULTS_URL);
        if (streq(property, "ResultsBacklog"))
                return sd_bus_message_append(reply, "u", UINT32_C(2));
        if (streq(property, "ResultsParked"))
                return sd_bus_message_append(reply, "u", UINT32_C(1));
        if (streq(property, "ResultsLastDelivery"))
                return sd_bus_message_append(reply, "t", UINT64_C(1795489800000000));
        if (streq(property, "ResultsLastErrorTime"))
                return sd_bus_message_append(reply, "t", UINT64_C(1795489950000000));
        if (streq(property, "ResultsLastError"))
                return sd_bus_message_append(reply, "s", "HTTP 503 from " FAKE_RESULTS_URL);
        return -ENOENT;
}

#define PROP(name, sig) SD_BUS_PROPERTY(name, sig, get_property, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)

/* as dbus/org.blinkupd.Fixture1.xml describes it */
static const sd_bus_vtable fixture_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("BlinkUp", SD_BUS_NO_ARGS, SD_BUS_RESULT("t", attempt_id), method_blinkup,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("BlinkUpWithOptions", SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("t", attempt_id),
                                method_blinkup_with_options, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Clear", SD_BUS_NO_ARGS, SD_BUS_RESULT("t", attempt_id), method_clear,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Cancel", NULL, NULL, method_cancel, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Reload", NULL, NULL, method_reload, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("StateChanged", SD_BUS_ARGS("t", attempt_id, "s", state), 0),
        SD_BUS_SIGNAL_WITH_ARGS("Finished",
                                SD_BUS_ARGS("t", attempt_id, "b", success, "s", error_name, "s", message,
                                            "s", device_id),
                                0),
        SD_BUS_SIGNAL_WITH_ARGS("Confirmed", SD_BUS_ARGS("t", attempt_id, "s", device_id), 0),
        PROP("State", "s"),
        PROP("FixtureId", "s"),
        PROP("FactoryStatus", "s"),
        PROP("Fast", "b"),
        PROP("ActiveHigh", "b"),
        PROP("SSID", "s"),
        PROP("Attempts", "t"),
        PROP("Successes", "t"),
        PROP("Failures", "t"),
        PROP("LastAttemptId", "t"),
        PROP("LastError", "s"),
        PROP("LastDeviceId", "s"),
        PROP("LastSerial", "s"),
        PROP("LastOperator", "s"),
        PROP("PendingSerial", "s"),
        PROP("LastTiming", "(ttt)"),
        PROP("ResultsURL", "s"),
        PROP("ResultsBacklog", "u"),
        PROP("ResultsParked", "u"),
        PROP("ResultsLastDelivery", "t"),
        PROP("ResultsLastErrorTime", "t"),
        PROP("ResultsLastError", "s"),
        SD_BUS_VTABLE_END
};

static const sd_bus_vtable control_vtable[] = { SD_BUS_VTABLE_START(0),
                                                SD_BUS_METHOD("SetOutcome", "s", "", method_set_outcome,
                                                              SD_BUS_VTABLE_UNPRIVILEGED),
                                                SD_BUS_VTABLE_END };

static void fake_done(Fake *f) {
        sd_bus_flush_close_unref(f->bus);
        sd_event_source_unref(f->timer);
        sd_event_unref(f->event);
        record_free(f->record);
}

/* The event loop (ended by SIGINT and SIGTERM), the timer, and both objects on the session bus
 * under the fixture's name. */
static int fake_setup(Fake *f) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);

        r = sd_event_default(&f->event);
        if (r >= 0)
                r = sd_event_add_signal(f->event, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(f->event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_time(f->event, &f->timer, CLOCK_MONOTONIC, UINT64_MAX, USEC_PER_MSEC,
                                      on_timer, f);
        if (r >= 0)
                r = sd_event_source_set_enabled(f->timer, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_bus_open_user(&f->bus);
        if (r >= 0)
                r = sd_bus_add_object_vtable(f->bus, NULL, PATH, IFACE, fixture_vtable, f);
        if (r >= 0)
                r = sd_bus_add_object_vtable(f->bus, NULL, PATH, "org.blinkupd.FakeControl1", control_vtable, f);
        if (r >= 0)
                r = sd_bus_request_name(f->bus, FIXTURE_BUS_NAME, 0);
        if (r >= 0)
                r = sd_bus_attach_event(f->bus, f->event, SD_EVENT_PRIORITY_NORMAL);
        return r;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "state-dir", required_argument, NULL, 's' },
                {},
        };
        _cleanup_(fake_done) Fake f = { .state = "idle", .next_id = 7, .outcome = "ok" };
        const char *state_dir = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                if (c != 's')
                        return 2;
                state_dir = optarg;
        }

        if (state_dir) {
                r = record_open(state_dir, &f.record);
                if (r < 0) {
                        fprintf(stderr, "fake-fixture: record_open(%s): %s\n", state_dir, strerror(-r));
                        return 1;
                }
        }
        r = fake_setup(&f);
        if (r < 0) {
                fprintf(stderr, "fake-fixture: setup: %s\n", strerror(-r));
                return 1;
        }
        printf("READY\n");
        fflush(stdout);

        r = sd_event_loop(f.event);
        return r < 0 ? 1 : 0;
}
