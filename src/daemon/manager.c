/* SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf() */
#endif
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "frame.h"
#include "gpio.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "record.h"
#include "factory-proxy.h"
#include "time-util.h"
#include "transmitter.h"
#include "waveform.h"

/* Journal message IDs of the attempt events (journalctl MESSAGE_ID=...). */
#define MESSAGE_ID_STARTED "5e1b0b7a3c5f4d7e9a4f1e2d3c4b5a69"
#define MESSAGE_ID_BLINKED "0c7d6e5f4a3b4c2d8e1f0a9b8c7d6e5f"
#define MESSAGE_ID_CONFIRMED "a1b2c3d4e5f6478899aabbccddeeff01"
#define MESSAGE_ID_FAILED "f0e1d2c3b4a5469788796a5b4c3d2e1f"

/* A prefetched token older than this is replaced before it is used. */
#define PREFETCH_MAX_AGE_USEC (10 * 60 * USEC_PER_SEC)
/* A token is blinked only if it is still good this long after its frame would end: the device
 * enrolls with it after it has joined the network. */
#define TOKEN_EXPIRY_MARGIN_USEC (60 * USEC_PER_SEC)
/* A prefetched token is replaced this long before the margin above would refuse it: time for a
 * blink of the longest frame with all its retries. */
#define PREFETCH_EXPIRY_LEAD_USEC (2 * 60 * USEC_PER_SEC)
/* How long the transmitter may overrun its waveform before the watchdog stops being fed. */
#define TRANSMITTER_GRACE_USEC (5 * USEC_PER_SEC)

enum { IND_READY, IND_BUSY, IND_PASS, IND_FAIL, _IND_MAX };

typedef struct Confirmation Confirmation;
struct Confirmation {
        Manager *manager;
        uint64_t attempt_id;
        FactoryProxyOp *op;
        Confirmation *next;
};

struct Manager {
        sd_event *event;
        sd_bus *bus;
        bool user_bus;
        char *config_path;
        Config *config;

        GpioLine *led, *button, *indicators[_IND_MAX];
        Transmitter *transmitter;
        FactoryProxy *server;
        Record *record;
        char fixture_id[17];

        sd_event_source *transmitter_source, *button_source, *debounce_source, *watchdog_source;
        sd_event_source *prefetch_source;

        ManagerState state;
        FactoryStatus factory_status;
        uint64_t attempts, successes, failures, last_attempt_id;
        char *last_error;
        char last_device_id[17];
        uint64_t last_max_lateness_ns, last_p99_lateness_ns, last_edges;

        /* the attempt in progress */
        uint64_t attempt_id;
        bool attempt_clear;
        FactoryProxyOp *op;
        char token_id[17], plan_id[17];
        uint64_t token_expires_usec; /* CLOCK_REALTIME; 0: the server gave no expiry */
        uint64_t blink_started_usec, blink_duration_usec;

        /* PrefetchToken=yes */
        FactoryProxyOp *prefetch_op;
        bool prefetched;
        char prefetch_token_id[17], prefetch_plan_id[17];
        uint64_t prefetch_expires_usec;
        bool rotate_failed; /* warned about already */
        uint64_t prefetch_usec;

        Confirmation *confirmations;

        /* button debounce: the raw level and the accepted (stable) level */
        bool button_raw, button_stable;

        uint64_t watchdog_usec;
        bool stopping;
};

static const char *const state_names[_MANAGER_STATE_MAX] = {
        [MANAGER_IDLE] = "idle",
        [MANAGER_VERIFYING] = "verifying",
        [MANAGER_REQUESTING_TOKEN] = "requesting-token",
        [MANAGER_BLINKING] = "blinking",
};

static const char *const factory_status_names[_FACTORY_STATUS_MAX] = {
        [FACTORY_STATUS_UNKNOWN] = "unknown",
        [FACTORY_STATUS_VERIFIED] = "verified",
        [FACTORY_STATUS_NOT_A_FIXTURE] = "not-a-fixture",
        [FACTORY_STATUS_UNREACHABLE] = "unreachable",
};

const char *manager_state_to_string(ManagerState s) {
        return s >= 0 && s < _MANAGER_STATE_MAX ? state_names[s] : NULL;
}

const char *factory_status_to_string(FactoryStatus s) {
        return s >= 0 && s < _FACTORY_STATUS_MAX ? factory_status_names[s] : NULL;
}


static bool factory_mode(const Manager *m) {
        return m->config->server.token_type == CONFIG_TOKEN_FACTORY;
}

/* ---- logging of attempt events: the journal with fields when we run under it ---- */

_printf_(6, 7) static void log_attempt(Manager *m, int priority, const char *message_id, uint64_t attempt_id,
                                       const char *extra_field, const char *format, ...) {
        char text[512];
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(text, sizeof(text), format, ap);
        va_end(ap);

        if (log_stderr_is_journal() && !m->user_bus)
                (void) sd_journal_send("MESSAGE=%s", text, "MESSAGE_ID=%s", message_id, "PRIORITY=%i", priority,
                                       "BLINKUP_ATTEMPT_ID=%" PRIu64, attempt_id, "BLINKUP_FIXTURE_ID=%s",
                                       m->fixture_id, extra_field ? extra_field : "BLINKUP_EVENT=1", NULL);
        else
                (void) log_full_errno(priority, 0, "%s", text);
}

/* ---- status and indicators ---- */

static void indicator_set(Manager *m, int which, bool on) {
        GpioLine *l = m->indicators[which];
        ConfigLine *c;

        if (!l)
                return;
        c = which == IND_READY ? &m->config->indicators.ready
            : which == IND_BUSY ? &m->config->indicators.busy
            : which == IND_PASS ? &m->config->indicators.pass
                                : &m->config->indicators.fail;
        (void) c;
        (void) gpio_line_set(l, on ? 1 : 0); /* indicator lines are requested active-high */
}

static void notify_status(Manager *m) {
        char buf[256];

        if (m->state == MANAGER_IDLE)
                (void) snprintf(buf, sizeof(buf),
                                "STATUS=Idle, factory status %s; %" PRIu64 " attempts, %" PRIu64 " succeeded, %" PRIu64
                                " failed.",
                                factory_status_to_string(m->factory_status), m->attempts, m->successes,
                                m->failures);
        else
                (void) snprintf(buf, sizeof(buf), "STATUS=Attempt %" PRIu64 ": %s.", m->attempt_id,
                                manager_state_to_string(m->state));
        (void) sd_notify(false, buf);
}

static void set_state(Manager *m, ManagerState s) {
        if (m->state == s)
                return;
        m->state = s;
        indicator_set(m, IND_BUSY, s != MANAGER_IDLE);
        indicator_set(m, IND_READY, s == MANAGER_IDLE);
        (void) bus_fixture_emit_state_changed(m->bus, m->attempt_id, manager_state_to_string(s));
        (void) bus_fixture_emit_properties_changed(m->bus, "State", NULL);
        notify_status(m);
}

static void set_factory_status(Manager *m, FactoryStatus s) {
        if (m->factory_status == s)
                return;
        m->factory_status = s;
        (void) bus_fixture_emit_properties_changed(m->bus, "FactoryStatus", NULL);
        notify_status(m);
}

static void record_or_warn(Manager *m, int r, const char *what) {
        if (r < 0)
                log_error_errno(r, "Could not write the %s event to the attempt record: %m", what);
}

/* ---- the end of an attempt ---- */

static void attempt_reset(Manager *m) {
        m->op = factory_proxy_op_cancel(m->op);
        m->attempt_clear = false;
        m->token_id[0] = m->plan_id[0] = 0;
        m->token_expires_usec = 0;
        set_state(m, MANAGER_IDLE);
}

static void attempt_fail(Manager *m, const char *error_name, const char *message) {
        uint64_t id = m->attempt_id;

        if (streq(error_name, FIXTURE_ERROR_CANCELLED))
                record_or_warn(m, record_append_cancelled(m->record, id), "cancelled");
        else
                record_or_warn(m, record_append_failed(m->record, id, error_name, message), "failed");

        m->failures++;
        free(m->last_error);
        m->last_error = strdup(message);
        log_attempt(m, LOG_ERR, MESSAGE_ID_FAILED, id, NULL, "Attempt %" PRIu64 " failed: %s", id, message);
        indicator_set(m, IND_PASS, false);
        indicator_set(m, IND_FAIL, true);
        (void) bus_fixture_emit_finished(m->bus, id, false, error_name, message, "");
        (void) bus_fixture_emit_properties_changed(m->bus, "Failures", "LastError", NULL);
        attempt_reset(m);
}

static const char *factory_error_bus_name(FactoryErrorKind k) {
        switch (k) {
        case FACTORY_ERROR_NOT_FACTORY_FIXTURE:
                return FIXTURE_ERROR_NOT_FACTORY_FIXTURE;
        case FACTORY_ERROR_AUTH:
                return FIXTURE_ERROR_AUTH;
        case FACTORY_ERROR_TIMEOUT:
                return FIXTURE_ERROR_TIMEOUT;
        case FACTORY_ERROR_CANCELLED:
                return FIXTURE_ERROR_CANCELLED;
        default:
                return FIXTURE_ERROR_SERVER;
        }
}

/* ---- confirmation in the background ---- */

static void confirmation_free(Manager *m, Confirmation *c) {
        for (Confirmation **p = &m->confirmations; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
        factory_proxy_op_cancel(c->op);
        free(c);
}

static void on_confirmed(FactoryProxy *s, const FactoryResult *res, void *userdata) {
        Confirmation *c = userdata;
        Manager *m = c->manager;
        uint64_t id = c->attempt_id;

        c->op = NULL; /* finished: the server frees it */
        if (res->kind == FACTORY_OK) {
                char field[64];
                record_or_warn(m, record_append_confirmed(m->record, id, res->device_id), "confirmed");
                (void) snprintf(field, sizeof(field), "BLINKUP_DEVICE_ID=%s", res->device_id);
                log_attempt(m, LOG_INFO, MESSAGE_ID_CONFIRMED, id, field,
                            "Attempt %" PRIu64 ": device %s enrolled.", id, res->device_id);
                (void) snprintf(m->last_device_id, sizeof(m->last_device_id), "%s", res->device_id);
                (void) bus_fixture_emit_confirmed(m->bus, id, res->device_id);
                (void) bus_fixture_emit_properties_changed(m->bus, "LastDeviceId", NULL);
        } else {
                const char *name = factory_error_bus_name(res->kind);
                record_or_warn(m, record_append_failed(m->record, id, name, res->message), "failed");
                log_attempt(m, LOG_ERR, MESSAGE_ID_FAILED, id, NULL,
                            "Attempt %" PRIu64 ": enrollment was not confirmed: %s", id, res->message);
                (void) bus_fixture_emit_finished(m->bus, id, false, name, res->message, "");
        }
        confirmation_free(m, c);
}

static void confirm_start(Manager *m, uint64_t id, const char *token_id) {
        Confirmation *c, *oldest = NULL;
        unsigned n = 0;
        int r;

        /* the oldest is the last: new ones go to the front */
        for (c = m->confirmations; c; c = c->next, n++)
                oldest = c;
        if (n >= m->config->server.max_confirmations) { /* the oldest gives way */
                FactoryResult res = { .kind = FACTORY_ERROR_TIMEOUT };

                (void) snprintf(res.message, sizeof(res.message),
                                "the confirmation was given up for attempt %" PRIu64 "'s: %u confirmations were "
                                "running, MaxConfirmations=%u",
                                id, n, m->config->server.max_confirmations);
                oldest->op = factory_proxy_op_cancel(oldest->op);
                on_confirmed(m->server, &res, oldest); /* recorded and signalled as not confirmed */
        }

        c = calloc(1, sizeof(*c));
        if (!c) {
                log_oom();
                return;
        }
        c->manager = m;
        c->attempt_id = id;
        r = factory_proxy_confirm(m->server, token_id, on_confirmed, c, &c->op);
        if (r < 0) {
                log_error_errno(r, "Attempt %" PRIu64 ": could not start the confirmation: %m", id);
                free(c);
                return;
        }
        c->next = m->confirmations;
        m->confirmations = c;
}

/* ---- blinking ---- */

/* A token that expires before its frame would end, plus the time the device needs to enroll
 * with it, is not blinked: the attempt fails (true), saying when it expires. */
static bool token_expires_too_soon(Manager *m, uint64_t blink_usec) {
        uint64_t now = now_usec(CLOCK_REALTIME), until = m->token_expires_usec;
        char msg[256], when[64];
        struct tm tm;
        time_t t;

        if (until == 0 || until >= now + blink_usec + TOKEN_EXPIRY_MARGIN_USEC)
                return false;
        t = (time_t) (until / USEC_PER_SEC);
        if (!gmtime_r(&t, &tm) || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                (void) snprintf(when, sizeof(when), "%" PRIu64 " s after the epoch", until / USEC_PER_SEC);
        if (until <= now)
                (void) snprintf(msg, sizeof(msg),
                                "The enrollment token %s expired at %s, %" PRIu64 " s ago: nothing is blinked.",
                                m->token_id, when, (now - until) / USEC_PER_SEC);
        else
                (void) snprintf(msg, sizeof(msg),
                                "The enrollment token %s expires at %s, in %" PRIu64 " s: before its frame "
                                "(%.1f s) and the %" PRIu64 " s the device needs to enroll are over; nothing is "
                                "blinked.",
                                m->token_id, when, (until - now) / USEC_PER_SEC, (double) blink_usec / USEC_PER_SEC,
                                TOKEN_EXPIRY_MARGIN_USEC / USEC_PER_SEC);
        attempt_fail(m, FIXTURE_ERROR_SERVER, msg);
        return true;
}

static void blink_start(Manager *m) {
        const Config *c = m->config;
        FrameRequest req = {};
        ErrorText ferr = {};
        WaveformParams p;
        Waveform w = {};
        Frame f;
        int r;

        if (m->attempt_clear)
                frame_encode_clear(&f);
        else {
                req.ssid = c->wifi.ssid;
                req.password = c->wifi.password;
                req.plan_id = m->plan_id;
                req.token = m->token_id;
                r = frame_encode(&req, &f, &ferr);
                if (r < 0) {
                        char msg[256];
                        (void) snprintf(msg, sizeof(msg), "The frame cannot be built: %s", ferr.message);
                        attempt_fail(m, FIXTURE_ERROR_SERVER, msg);
                        return;
                }
        }

        waveform_params_default(&p, c->led.fast, c->led.active_high);
        p.repeat = c->led.repeat;
        r = waveform_build(&f, &p, &w);
        explicit_bzero(&f, sizeof(f));
        if (r < 0) {
                attempt_fail(m, FIXTURE_ERROR_GPIO, "The waveform cannot be built.");
                return;
        }

        m->blink_duration_usec = w.duration_ns / NSEC_PER_USEC * (1 + c->realtime.timing_fault_retries);
        if (!m->attempt_clear && token_expires_too_soon(m, m->blink_duration_usec)) {
                waveform_done(&w);
                return;
        }
        set_state(m, MANAGER_BLINKING);
        m->blink_started_usec = now_usec(CLOCK_MONOTONIC);
        r = transmitter_start(m->transmitter, &w);
        waveform_done(&w);
        if (r < 0) {
                char msg[128];
                (void) snprintf(msg, sizeof(msg), "The transmitter could not start: %s", strerror(-r));
                attempt_fail(m, FIXTURE_ERROR_GPIO, msg);
        }
}

static int on_transmitter(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        TransmitResult res = {};
        RecordTiming t;
        char field[64];
        uint64_t id = m->attempt_id;
        int r;

        r = transmitter_get_result(m->transmitter, &res);
        if (r < 0)
                return 0; /* spurious wake-up */
        if (m->state != MANAGER_BLINKING)
                return 0;

        m->last_max_lateness_ns = res.max_lateness_ns;
        m->last_p99_lateness_ns = res.p99_lateness_ns;
        m->last_edges = res.edges;
        (void) bus_fixture_emit_properties_changed(m->bus, "LastTiming", NULL);

        if (res.cancelled) {
                attempt_fail(m, FIXTURE_ERROR_CANCELLED, "The BlinkUp was cancelled; the LED is dark.");
                return 0;
        }
        if (res.error < 0) {
                char msg[160];
                (void) snprintf(msg, sizeof(msg), "Writing the LED line failed: %s", strerror(-res.error));
                attempt_fail(m, FIXTURE_ERROR_GPIO, msg);
                return 0;
        }

        t = (RecordTiming) {
                .edges = res.edges,
                .frames = res.frames_sent,
                .max_lateness_ns = res.max_lateness_ns,
                .p99_lateness_ns = res.p99_lateness_ns,
                .clean = res.clean,
        };
        r = record_append_blinked(m->record, id, &t);
        if (r < 0) {
                /* nothing is reported as done that is not on disk */
                char msg[160];
                (void) snprintf(msg, sizeof(msg), "The blink finished but could not be recorded: %s",
                                strerror(-r));
                attempt_fail(m, FIXTURE_ERROR_RECORD, msg);
                return 0;
        }

        (void) snprintf(field, sizeof(field), "BLINKUP_MAX_LATENESS_NS=%" PRIu64, res.max_lateness_ns);
        log_attempt(m, res.clean ? LOG_INFO : LOG_WARNING, MESSAGE_ID_BLINKED, id, field,
                    "Attempt %" PRIu64 ": %" PRIu64 " edges in %u frame(s), lateness max %" PRIu64
                    " ns, p99 %" PRIu64 " ns%s%s.",
                    id, res.edges, res.frames_sent, res.max_lateness_ns, res.p99_lateness_ns,
                    res.clean ? "" : ", TIMING FAULT in the last frame", res.realtime ? "" : " (no real-time priority)");

        if (!res.clean) {
                attempt_fail(m, FIXTURE_ERROR_TIMING_FAULT,
                             "Every frame sent had an edge later than MaxLatenessUs; the device may not have "
                             "read it.");
                return 0;
        }

        m->successes++;
        indicator_set(m, IND_FAIL, false);
        indicator_set(m, IND_PASS, true);
        free(m->last_error);
        m->last_error = NULL;
        (void) bus_fixture_emit_finished(m->bus, id, true, "", "", "");
        (void) bus_fixture_emit_properties_changed(m->bus, "Successes", "LastError", NULL);

        if (!m->attempt_clear && m->token_id[0])
                confirm_start(m, id, m->token_id);
        attempt_reset(m);
        return 0;
}

/* ---- tokens ---- */

static void prefetch_schedule(Manager *m, uint64_t delay_usec);

/* The token is on disk before it is on the LED: false (the attempt failed) when it cannot be. */
static bool take_token(Manager *m, const char *plan_id, const char *token_id, uint64_t expires_usec) {
        char msg[160];
        int r;

        (void) snprintf(m->plan_id, sizeof(m->plan_id), "%s", plan_id);
        (void) snprintf(m->token_id, sizeof(m->token_id), "%s", token_id);
        m->token_expires_usec = expires_usec;
        r = record_append_token(m->record, m->attempt_id, token_id, plan_id);
        if (r >= 0)
                return true;
        record_or_warn(m, r, "token");
        (void) snprintf(msg, sizeof(msg), "The token cannot be recorded (%s), so nothing is blinked.", strerror(-r));
        attempt_fail(m, FIXTURE_ERROR_RECORD, msg);
        return false;
}

static void on_token(FactoryProxy *s, const FactoryResult *res, void *userdata) {
        Manager *m = userdata;

        m->op = NULL;
        if (res->kind != FACTORY_OK) {
                if (res->kind == FACTORY_ERROR_NOT_FACTORY_FIXTURE) {
                        set_factory_status(m, FACTORY_STATUS_NOT_A_FIXTURE);
                        attempt_fail(m, FIXTURE_ERROR_NOT_FACTORY_FIXTURE,
                                     "Factory BlinkUp request failed. This is not a factory fixture.");
                        return;
                }
                if (res->kind == FACTORY_ERROR_TRANSPORT || res->kind == FACTORY_ERROR_TIMEOUT)
                        set_factory_status(m, FACTORY_STATUS_UNREACHABLE);
                attempt_fail(m, factory_error_bus_name(res->kind), res->message);
                return;
        }
        if (factory_mode(m))
                set_factory_status(m, FACTORY_STATUS_VERIFIED);
        if (take_token(m, res->plan_id, res->token_id, res->token_expires_usec))
                blink_start(m);
        if (m->config->server.prefetch_token)
                prefetch_schedule(m, 0);
}

static void on_verified(FactoryProxy *s, const FactoryResult *res, void *userdata) {
        Manager *m = userdata;
        int r;

        m->op = NULL;
        if (res->kind != FACTORY_OK) {
                on_token(s, res, m);
                return;
        }
        set_factory_status(m, FACTORY_STATUS_VERIFIED);
        set_state(m, MANAGER_REQUESTING_TOKEN);
        r = factory_proxy_enroll(m->server, on_token, m, &m->op);
        if (r < 0)
                attempt_fail(m, FIXTURE_ERROR_SERVER, "The token request could not be started.");
}

/* How long a prefetched token may be kept from now: PREFETCH_MAX_AGE_USEC, less when it expires
 * sooner (0: not at all). */
static uint64_t prefetch_keep_usec(uint64_t expires_usec) {
        uint64_t now = now_usec(CLOCK_REALTIME), lead = TOKEN_EXPIRY_MARGIN_USEC + PREFETCH_EXPIRY_LEAD_USEC;

        if (expires_usec == 0)
                return PREFETCH_MAX_AGE_USEC;
        return expires_usec > now + lead ? MIN(expires_usec - now - lead, PREFETCH_MAX_AGE_USEC) : 0;
}

static bool prefetch_usable(Manager *m) {
        return m->prefetched && now_usec(CLOCK_MONOTONIC) - m->prefetch_usec < PREFETCH_MAX_AGE_USEC &&
               prefetch_keep_usec(m->prefetch_expires_usec) > 0;
}

static void on_prefetched(FactoryProxy *s, const FactoryResult *res, void *userdata) {
        Manager *m = userdata;
        uint64_t keep;

        m->prefetch_op = NULL;
        if (res->kind == FACTORY_OK) {
                if (factory_mode(m))
                        set_factory_status(m, FACTORY_STATUS_VERIFIED);
                keep = prefetch_keep_usec(res->token_expires_usec);
                if (keep == 0) {
                        log_warning("The prefetched token %s expires too soon to be kept; another is asked for in "
                                    "30 s, or at the next attempt.",
                                    res->token_id);
                        prefetch_schedule(m, 30 * USEC_PER_SEC);
                        return;
                }
                (void) snprintf(m->prefetch_plan_id, sizeof(m->prefetch_plan_id), "%s", res->plan_id);
                (void) snprintf(m->prefetch_token_id, sizeof(m->prefetch_token_id), "%s", res->token_id);
                m->prefetch_expires_usec = res->token_expires_usec;
                m->prefetch_usec = now_usec(CLOCK_MONOTONIC);
                m->prefetched = true;
                log_debug("Prefetched token %s, kept for %" PRIu64 " s at most.", res->token_id,
                          keep / USEC_PER_SEC);
                prefetch_schedule(m, keep); /* replaced before it is too old, or expires */
                return;
        }
        if (res->kind == FACTORY_ERROR_NOT_FACTORY_FIXTURE)
                set_factory_status(m, FACTORY_STATUS_NOT_A_FIXTURE);
        else if (res->kind == FACTORY_ERROR_TRANSPORT || res->kind == FACTORY_ERROR_TIMEOUT)
                set_factory_status(m, FACTORY_STATUS_UNREACHABLE);
        log_warning("Could not prefetch a token: %s", res->message);
        prefetch_schedule(m, 30 * USEC_PER_SEC);
}

static int on_prefetch_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int r;

        if (m->prefetch_op)
                return 0;
        m->prefetched = false;
        r = factory_proxy_request_token(m->server, on_prefetched, m, &m->prefetch_op);
        if (r < 0)
                log_warning_errno(r, "Could not start a token prefetch: %m");
        return 0;
}

static void prefetch_schedule(Manager *m, uint64_t delay_usec) {
        int r;

        if (!m->config->server.prefetch_token || m->stopping)
                return;
        r = sd_event_source_set_time_relative(m->prefetch_source, delay_usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->prefetch_source, SD_EVENT_ONESHOT);
        if (r < 0)
                log_warning_errno(r, "Could not schedule the token prefetch: %m");
}

static void on_startup_verified(FactoryProxy *s, const FactoryResult *res, void *userdata) {
        Manager *m = userdata;

        m->prefetch_op = NULL;
        if (res->kind == FACTORY_OK)
                set_factory_status(m, FACTORY_STATUS_VERIFIED);
        else if (res->kind == FACTORY_ERROR_NOT_FACTORY_FIXTURE) {
                set_factory_status(m, FACTORY_STATUS_NOT_A_FIXTURE);
                log_error("Factory BlinkUp request failed. This is not a factory fixture.");
        } else {
                set_factory_status(m, FACTORY_STATUS_UNREACHABLE);
                log_warning("The factory server could not be reached: %s", res->message);
        }
}

/* Before an attempt starts: a full attempts.log is rotated. A rotation that fails is only a
 * warning (once, until one succeeds): the record goes on in the same file, nothing is lost. */
static void record_rotate_if_full(Manager *m) {
        _cleanup_(freep) char *name = NULL;
        int r;

        record_set_max_size(m->record, (uint64_t) m->config->daemon.record_max_file_mib * 1024 * 1024);
        r = record_rotate(m->record, &name);
        if (r > 0) {
                log_info("The attempt record reached %u MiB: it goes on in a new %s, the full one is now %s.",
                         m->config->daemon.record_max_file_mib, RECORD_FILENAME, name ?: "rotated");
                m->rotate_failed = false;
        } else if (r < 0 && !m->rotate_failed) {
                log_warning_errno(r, "Could not rotate the attempt record (it goes on growing in the same file): %m");
                m->rotate_failed = true;
        }
}

/* ---- the public operations ---- */

int manager_blinkup(Manager *m, bool clear, uint64_t *ret_attempt_id, sd_bus_error *error) {
        uint64_t id;
        int r;

        if (m->state != MANAGER_IDLE || transmitter_busy(m->transmitter))
                return sd_bus_error_setf(error, FIXTURE_ERROR_BUSY, "Attempt %" PRIu64 " is in progress (%s).",
                                         m->attempt_id, manager_state_to_string(m->state));

        record_rotate_if_full(m);
        id = record_allocate_attempt_id(m->record);
        if (id == 0)
                return sd_bus_error_setf(error, FIXTURE_ERROR_RECORD,
                                         "No attempt ID is left in the record (the last is %" PRIu64 "); "
                                         "restart with a new record.",
                                         UINT64_MAX);
        r = record_append_started(m->record, id, clear ? "clear" : "factory");
        if (r < 0)
                /* no blink without a record */
                return sd_bus_error_setf(error, FIXTURE_ERROR_RECORD,
                                         "The attempt cannot be recorded (%s), so nothing is blinked.",
                                         strerror(-r));

        m->attempt_id = m->last_attempt_id = id;
        m->attempt_clear = clear;
        m->attempts++;
        indicator_set(m, IND_PASS, false);
        indicator_set(m, IND_FAIL, false);
        log_attempt(m, LOG_INFO, MESSAGE_ID_STARTED, id, clear ? "BLINKUP_KIND=clear" : "BLINKUP_KIND=factory",
                    "Attempt %" PRIu64 " started (%s).", id, clear ? "clear" : "factory BlinkUp");
        (void) bus_fixture_emit_properties_changed(m->bus, "Attempts", "LastAttemptId", NULL);
        *ret_attempt_id = id;

        if (clear) {
                blink_start(m);
                return 0;
        }

        if (prefetch_usable(m)) {
                m->prefetched = false;
                if (take_token(m, m->prefetch_plan_id, m->prefetch_token_id, m->prefetch_expires_usec))
                        blink_start(m);
                prefetch_schedule(m, 0);
                return 0;
        }

        if (factory_mode(m)) {
                set_state(m, MANAGER_VERIFYING);
                r = factory_proxy_verify(m->server, on_verified, m, &m->op);
        } else {
                set_state(m, MANAGER_REQUESTING_TOKEN);
                r = factory_proxy_request_token(m->server, on_token, m, &m->op);
        }
        if (r < 0) {
                char msg[128];
                (void) snprintf(msg, sizeof(msg), "The server request could not be started: %s", strerror(-r));
                attempt_fail(m, FIXTURE_ERROR_SERVER, msg);
        }
        return 0;
}

int manager_cancel(Manager *m) {
        switch (m->state) {
        case MANAGER_IDLE:
                return 0;
        case MANAGER_VERIFYING:
        case MANAGER_REQUESTING_TOKEN:
                m->op = factory_proxy_op_cancel(m->op);
                attempt_fail(m, FIXTURE_ERROR_CANCELLED, "The BlinkUp was cancelled before the LED was lit.");
                return 1;
        case MANAGER_BLINKING:
                /* the transmitter darkens the LED within a bit and reports through the eventfd */
                transmitter_cancel(m->transmitter);
                return 1;
        default:
                return 0;
        }
}

void manager_get_info(Manager *m, ManagerInfo *ret) {
        *ret = (ManagerInfo) {
                .state = m->state,
                .factory_status = m->factory_status,
                .fixture_id = m->fixture_id,
                .fast = m->config->led.fast,
                .active_high = m->config->led.active_high,
                .ssid = m->config->wifi.ssid,
                .attempts = m->attempts,
                .successes = m->successes,
                .failures = m->failures,
                .last_attempt_id = m->last_attempt_id,
                .last_error = m->last_error,
                .last_device_id = m->last_device_id,
                .last_max_lateness_ns = m->last_max_lateness_ns,
                .last_p99_lateness_ns = m->last_p99_lateness_ns,
                .last_edges = m->last_edges,
        };
}

/* ---- button ---- */

static void button_pressed(Manager *m) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        uint64_t id;

        if (m->state != MANAGER_IDLE) {
                log_debug("Button pressed while attempt %" PRIu64 " is %s: ignored.", m->attempt_id,
                          manager_state_to_string(m->state));
                return;
        }
        log_info("Button pressed.");
        if (manager_blinkup(m, false, &id, &error) < 0)
                log_error("Button press refused: %s", error.message ?: "unknown error");
}

static void button_settled(Manager *m) {
        if (m->button_raw == m->button_stable)
                return;
        m->button_stable = m->button_raw;
        if (m->button_stable)
                button_pressed(m);
}

static int on_debounce(sd_event_source *s, uint64_t usec, void *userdata) {
        button_settled(userdata);
        return 0;
}

static int on_button(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        uint64_t ts;
        bool pressed;
        int r;

        r = gpio_input_read_event(m->button, &pressed, &ts);
        if (r == -EAGAIN || r == -EINTR)
                return 0;
        if (r < 0) {
                log_error_errno(r, "Reading the button failed, button disabled: %m");
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        }
        m->button_raw = pressed;
        if (m->config->button.debounce_msec == 0) {
                button_settled(m);
                return 0;
        }
        /* settled once the level has not changed for DebounceMs */
        r = sd_event_source_set_time_relative(m->debounce_source, m->config->button.debounce_msec * USEC_PER_MSEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->debounce_source, SD_EVENT_ONESHOT);
        if (r < 0)
                log_warning_errno(r, "Could not arm the debounce timer: %m");
        return 0;
}

/* ---- hardware: LED, transmitter, button, indicators ---- */

static void hardware_close(Manager *m) {
        m->transmitter_source = sd_event_source_disable_unref(m->transmitter_source);
        m->button_source = sd_event_source_disable_unref(m->button_source);
        m->transmitter = transmitter_free(m->transmitter); /* cancels, joins, LED dark */
        m->led = gpio_line_free(m->led);
        m->button = gpio_line_free(m->button);
        for (int i = 0; i < _IND_MAX; i++)
                m->indicators[i] = gpio_line_free(m->indicators[i]);
}

/* Says where a kernel line was found: its chip's number may differ from one boot to the next. */
static void log_line_found(const char *what, GpioLine *l) {
        if (gpio_line_where(l))
                log_info("%s: line %s is %s.", what, gpio_line_describe(l), gpio_line_where(l));
}

static int open_output(const char *what, const ConfigLine *l, bool active_high, const char *trace, GpioLine **ret,
                       char **ret_error) {
        _cleanup_(freep) char *err = NULL;
        int r;

        /* a simulated chip needs no line name; call it by its role */
        r = gpio_output_open(l->chip, l->line ?: (streq_ptr(l->chip, GPIO_CHIP_SIM) ? what : NULL), active_high,
                             trace, ret, &err);
        if (r < 0) {
                if (asprintf(ret_error, "%s: %s", what, err ?: strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }
        log_line_found(what, *ret);
        return r;
}

static int hardware_open(Manager *m, const Config *c, char **ret_error) {
        static const char *const names[_IND_MAX] = { "ready", "busy", "pass", "fail" };
        const ConfigLine *ind[_IND_MAX] = { &c->indicators.ready, &c->indicators.busy, &c->indicators.pass,
                                            &c->indicators.fail };
        TransmitterConfig tc;
        int r;

        r = open_output("led", &c->led.line, c->led.active_high, c->simulation.trace, &m->led, ret_error);
        if (r < 0)
                goto fail;

        tc = (TransmitterConfig) {
                .priority = (int) c->realtime.priority,
                .cpu = c->realtime.cpu,
                .max_lateness_ns = (uint64_t) c->realtime.max_lateness_usec * NSEC_PER_USEC,
                .timing_fault_retries = c->realtime.timing_fault_retries,
        };
        r = transmitter_new(m->led, &tc, &m->transmitter);
        if (r < 0) {
                if (asprintf(ret_error, "The transmitter thread could not be started: %s", strerror(-r)) < 0)
                        *ret_error = NULL;
                goto fail;
        }
        r = sd_event_add_io(m->event, &m->transmitter_source, transmitter_get_fd(m->transmitter), EPOLLIN,
                            on_transmitter, m);
        if (r < 0)
                goto fail;

        if (c->button.enabled) {
                _cleanup_(freep) char *err = NULL;

                r = gpio_input_open(c->button.line.chip,
                                    c->button.line.line ?: (streq_ptr(c->button.line.chip, GPIO_CHIP_SIM) ? "button" : NULL),
                                    c->button.active_low,
                                    config_bias_to_string(c->button.bias), c->simulation.button_fifo, &m->button,
                                    &err);
                if (r < 0) {
                        if (asprintf(ret_error, "button: %s", err ?: strerror(-r)) < 0)
                                *ret_error = NULL;
                        goto fail;
                }
                log_line_found("button", m->button);
                r = sd_event_add_io(m->event, &m->button_source, gpio_line_get_fd(m->button), EPOLLIN, on_button,
                                    m);
                if (r < 0)
                        goto fail;
                m->button_raw = m->button_stable = false;
        }

        for (int i = 0; i < _IND_MAX; i++) {
                if (!ind[i]->line)
                        continue;
                r = open_output(names[i], ind[i], true, NULL, &m->indicators[i], ret_error);
                if (r < 0)
                        goto fail;
        }
        indicator_set(m, IND_READY, m->state == MANAGER_IDLE);
        return 0;

fail:
        hardware_close(m);
        return r < 0 ? r : -EIO;
}

/* ---- the server ---- */

static int manager_open_factory(Manager *m, const Config *c, FactoryProxy **ret) {
        FactoryConfig sc = {
                .url = c->server.url,
                .production = c->server.token_type == CONFIG_TOKEN_PRODUCTION,
                .login_key = c->server.login_key,
                .api_key = c->server.api_key,
                .plan_id = c->server.plan_id,
                .fixture_id = c->server.fixture_id,
                .ca_file = c->server.ca_file,
                .timeout_usec = (uint64_t) c->server.timeout_sec * USEC_PER_SEC,
                .connect_timeout_usec = (uint64_t) c->server.connect_timeout_sec * USEC_PER_SEC,
                /* one attempt may spend three request timeouts on retries */
                .attempt_timeout_usec = 3 * (uint64_t) c->server.timeout_sec * USEC_PER_SEC,
                .confirm_timeout_usec = (uint64_t) c->server.confirm_timeout_sec * USEC_PER_SEC,
                .confirm_interval_usec = (uint64_t) c->server.confirm_interval_sec * USEC_PER_SEC,
                .allow_insecure_http = c->server.allow_insecure_http,
        };
        return factory_proxy_new(m->event, &sc, ret);
}

/* ---- watchdog, signals ---- */

static int on_watchdog(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        bool healthy = true;

        /* the loop runs (we are here); the transmitter must not overrun its waveform */
        if (m->state == MANAGER_BLINKING &&
            now_usec(CLOCK_MONOTONIC) - m->blink_started_usec > m->blink_duration_usec + TRANSMITTER_GRACE_USEC) {
                healthy = false;
                log_error("The transmitter has overrun attempt %" PRIu64 " by more than %" PRIu64
                          " s; not feeding the watchdog.",
                          m->attempt_id, TRANSMITTER_GRACE_USEC / USEC_PER_SEC);
        }
        if (healthy)
                (void) sd_notify(false, "WATCHDOG=1");
        (void) sd_event_source_set_time_relative(s, m->watchdog_usec / 2);
        return 0;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_info("Received %s, stopping.", strsignal((int) si->ssi_signo));
        m->stopping = true;
        (void) sd_notify(false, "STOPPING=1");
        if (m->state == MANAGER_BLINKING)
                transmitter_cancel(m->transmitter);
        if (m->state != MANAGER_IDLE)
                attempt_fail(m, FIXTURE_ERROR_CANCELLED, "The daemon was stopped during the BlinkUp; the LED is dark.");
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int on_reload_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        _cleanup_(freep) char *message = NULL;

        (void) manager_reload(userdata, &message); /* logged there */
        return 0;
}

/* ---- reload ---- */


static bool line_same(const ConfigLine *a, const ConfigLine *b) {
        return streq_ptr(a->chip, b->chip) && streq_ptr(a->line, b->line);
}

static bool hardware_same(const Config *a, const Config *b) {
        return line_same(&a->led.line, &b->led.line) && a->led.active_high == b->led.active_high &&
               a->button.enabled == b->button.enabled && line_same(&a->button.line, &b->button.line) &&
               a->button.active_low == b->button.active_low && a->button.bias == b->button.bias &&
               line_same(&a->indicators.ready, &b->indicators.ready) &&
               line_same(&a->indicators.busy, &b->indicators.busy) &&
               line_same(&a->indicators.pass, &b->indicators.pass) &&
               line_same(&a->indicators.fail, &b->indicators.fail) && a->realtime.priority == b->realtime.priority &&
               a->realtime.cpu == b->realtime.cpu && a->realtime.max_lateness_usec == b->realtime.max_lateness_usec &&
               a->realtime.timing_fault_retries == b->realtime.timing_fault_retries &&
               streq_ptr(a->simulation.trace, b->simulation.trace) &&
               streq_ptr(a->simulation.button_fifo, b->simulation.button_fifo);
}

static char *join_messages(char **l, size_t max) {
        size_t n = 0, len = 1;
        char *s, *p;

        for (char **i = l; i && *i && n < max; i++, n++)
                len += strlen(*i) + 1;
        s = p = malloc(len);
        if (!s)
                return NULL;
        *p = 0;
        n = 0;
        for (char **i = l; i && *i && n < max; i++, n++)
                p += sprintf(p, "%s%s", n > 0 ? "\n" : "", *i);
        return s;
}

static int reload(Manager *m, char **ret_message);

int manager_reload(Manager *m, char **ret_message) {
        int r;

        /* the same line in the journal whichever way it came: SIGHUP, Reload(), systemctl reload */
        r = reload(m, ret_message);
        if (r < 0)
                log_error("Reload failed, the old configuration stays in force: %s", *ret_message ?: strerror(-r));
        return r;
}

static int reload(Manager *m, char **ret_message) {
        _cleanup_(config_freep) Config *c = NULL;
        char **messages = NULL;
        FactoryProxy *server = NULL;
        int r;

        (void) sd_notify(false, "RELOADING=1\nSTATUS=Reloading the configuration.");
        r = config_load(m->config_path, &c, &messages);
        for (char **i = messages; i && *i; i++)
                log_full_errno(r < 0 ? LOG_ERR : LOG_WARNING, 0, "%s", *i);
        if (r < 0) {
                *ret_message = join_messages(messages, 8);
                strv_free(messages);
                (void) sd_notify(false, "READY=1");
                notify_status(m);
                return r;
        }
        strv_free(messages);

        if (m->state != MANAGER_IDLE) {
                *ret_message = strdup("An attempt is in progress; reload once the fixture is idle.");
                (void) sd_notify(false, "READY=1");
                return -EBUSY;
        }
        /* the record (its file, its lock, its IDs) is the daemon's for its life */
        if (!streq_ptr(m->config->daemon.state_directory, c->daemon.state_directory)) {
                if (asprintf(ret_message,
                             "[Daemon] StateDirectory= changed from %s to %s: the attempt record moves only with a "
                             "restart (systemctl restart blinkupd); nothing was reloaded.",
                             m->config->daemon.state_directory, c->daemon.state_directory) < 0)
                        *ret_message = NULL;
                (void) sd_notify(false, "READY=1");
                notify_status(m);
                return -EINVAL;
        }

        r = manager_open_factory(m, c, &server);
        if (r < 0) {
                if (asprintf(ret_message, "The factory server client could not be set up: %s", strerror(-r)) < 0)
                        *ret_message = NULL;
                (void) sd_notify(false, "READY=1");
                return r;
        }

        if (!hardware_same(m->config, c)) {
                _cleanup_(freep) char *err = NULL;

                hardware_close(m);
                r = hardware_open(m, c, &err);
                if (r < 0) {
                        _cleanup_(freep) char *err2 = NULL;

                        *ret_message = TAKE_PTR(err);
                        if (hardware_open(m, m->config, &err2) < 0)
                                log_error("The old lines could not be opened again either: %s", err2 ?: "");
                        factory_proxy_free(server);
                        (void) sd_notify(false, "READY=1");
                        return r;
                }
        }

        /* swap in: what the old client is still doing (prefetch, confirmations) ends here */
        m->prefetch_op = factory_proxy_op_cancel(m->prefetch_op);
        m->prefetched = false;
        if (m->confirmations)
                log_info("Confirmations in progress are abandoned by the reload.");
        while (m->confirmations)
                confirmation_free(m, m->confirmations);
        factory_proxy_free(m->server);
        m->server = server;
        config_free(m->config);
        m->config = TAKE_PTR(c);
        (void) snprintf(m->fixture_id, sizeof(m->fixture_id), "%s", m->config->server.fixture_id ?: "");

        (void) bus_fixture_emit_properties_changed(m->bus, "FixtureId", "Fast", "ActiveHigh", "SSID", NULL);
        log_info("Configuration reloaded.");
        prefetch_schedule(m, 0);
        (void) sd_notify(false, "READY=1");
        notify_status(m);
        return 0;
}

/* ---- life cycle ---- */

int manager_new(sd_event *e, const ManagerOptions *o, Config *config, Manager **ret) {
        Manager *m;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(e);
        m->user_bus = o->user_bus;
        m->config = config;
        if (o->config_path) {
                m->config_path = strdup(o->config_path);
                if (!m->config_path) {
                        m->config = NULL;
                        manager_free(m);
                        return -ENOMEM;
                }
        }
        (void) snprintf(m->fixture_id, sizeof(m->fixture_id), "%s", config->server.fixture_id ?: "");
        *ret = m;
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        m->prefetch_op = factory_proxy_op_cancel(m->prefetch_op);
        m->op = factory_proxy_op_cancel(m->op);
        while (m->confirmations)
                confirmation_free(m, m->confirmations);
        hardware_close(m);
        m->debounce_source = sd_event_source_disable_unref(m->debounce_source);
        m->watchdog_source = sd_event_source_disable_unref(m->watchdog_source);
        m->prefetch_source = sd_event_source_disable_unref(m->prefetch_source);
        m->server = factory_proxy_free(m->server);
        m->bus = sd_bus_flush_close_unref(m->bus);
        m->record = record_free(m->record);
        config_free(m->config);
        free(m->config_path);
        free(m->last_error);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

int manager_start(Manager *m) {
        _cleanup_(freep) char *err = NULL;
        const char *dir = m->config->daemon.state_directory;
        int r;

        r = record_open(dir, &m->record);
        if (r == -EOVERFLOW)
                return log_error_errno(r, "Cannot use the attempt record in %s: its attempt IDs are used up (the "
                                       "last is %" PRIu64 "), and IDs are never handed out twice. Move %s "
                                       "aside (blinkupctl history --state-dir= still reads it) to start a new "
                                       "record at 1.",
                                       dir, UINT64_MAX, RECORD_FILENAME);
        if (r == -ELOOP)
                return log_error_errno(r, "Cannot open the attempt record in %s: %s is a symbolic link, which is "
                                       "not followed; put the record itself there.",
                                       dir, RECORD_FILENAME);
        if (r == -EBADFD)
                return log_error_errno(r, "Cannot open the attempt record in %s: %s is not a regular file.", dir,
                                       RECORD_FILENAME);
        if (r < 0)
                return log_error_errno(r, "Cannot open the attempt record in %s: %m", dir);
        m->last_attempt_id = record_last_attempt_id(m->record);

        /* accuracy 1 µs: the default (250 ms) would let a short press be released before the
         * debounce timer fired, and the press would be lost */
        r = sd_event_add_time(m->event, &m->debounce_source, CLOCK_MONOTONIC, 0, 1, on_debounce, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->debounce_source, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time(m->event, &m->prefetch_source, CLOCK_MONOTONIC, 0, 0, on_prefetch_timer, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->prefetch_source, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGTERM, on_exit_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_exit_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGHUP, on_reload_signal, m);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the event loop: %m");

        r = hardware_open(m, m->config, &err);
        if (r < 0)
                return log_error_errno(r, "%s", err ?: "Cannot open the GPIO lines.");

        r = manager_open_factory(m, m->config, &m->server);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the factory server client: %m");

        r = m->user_bus ? sd_bus_open_user(&m->bus) : sd_bus_open_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Cannot connect to the %s bus: %m", m->user_bus ? "user" : "system");
        r = bus_fixture_register(m->bus, m);
        if (r < 0)
                return log_error_errno(r, "Cannot register the D-Bus object: %m");
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Cannot attach the bus to the event loop: %m");
        r = sd_bus_request_name(m->bus, FIXTURE_BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "Cannot own the bus name %s: %m (is another blinkupd running, or is "
                                       "the D-Bus policy not installed?)",
                                       FIXTURE_BUS_NAME);
        (void) sd_bus_set_exit_on_disconnect(m->bus, true);

        if (sd_watchdog_enabled(false, &m->watchdog_usec) > 0) {
                r = sd_event_add_time_relative(m->event, &m->watchdog_source, CLOCK_MONOTONIC, m->watchdog_usec / 2,
                                               m->watchdog_usec / 16, on_watchdog, m);
                if (r >= 0)
                        r = sd_event_source_set_enabled(m->watchdog_source, SD_EVENT_ON);
                if (r < 0)
                        return log_error_errno(r, "Cannot set up the watchdog timer: %m");
        }

        /* the factory status is known before the first press */
        if (m->config->server.prefetch_token)
                prefetch_schedule(m, 0);
        else if (factory_mode(m)) {
                r = factory_proxy_verify(m->server, on_startup_verified, m, &m->prefetch_op);
                if (r < 0)
                        log_warning_errno(r, "Cannot start the factory status check: %m");
        }

        (void) sd_notify(false, "READY=1");
        notify_status(m);
        log_info("Ready: fixture %s, LED %s, %u bits/s%s.", m->fixture_id[0] ? m->fixture_id : "(none)",
                 gpio_line_describe(m->led), m->config->led.fast ? 142u : 60u,
                 m->config->button.enabled ? ", button enabled" : "");
        return 0;
}
