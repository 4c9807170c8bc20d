/* SPDX-License-Identifier: MIT */
/* One attempt: started by manager_blinkup(), the fixture verified and a token requested from
 * the server (or the prefetched token taken), the token recorded, the frame blinked by the
 * transmitter, the result recorded and signalled; or the attempt fails or is cancelled. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "macro.h"
#include "manager-internal.h"
#include "string-util.h"
#include "waveform.h"

/* ---- the end of an attempt ---- */

static void start_call_answer(Manager *m, uint32_t durable, int error);

/* The call that started the attempt is answered before its Finished signal, which a caller
 * that waits for it matches by the ID the answer brings: the end's line was fsync'ed, and with
 * it the started line before it. */
static void start_call_answer_at_end(Manager *m) {
        start_call_answer(m, m->start_ticket, 0);
}

static void attempt_reset(Manager *m) {
        m->op = factory_proxy_op_cancel(m->op);
        m->attempt_clear = false;
        m->token_id[0] = m->plan_id[0] = 0;
        m->token_expires_usec = 0;
        manager_set_state(m, MANAGER_IDLE);
}

void manager_attempt_fail(Manager *m, const char *error_name, const char *message) {
        uint64_t id = m->attempt_id;

        if (streq(error_name, FIXTURE_ERROR_CANCELLED))
                manager_record_or_warn(m, record_append_cancelled(m->record, id), "cancelled");
        else
                manager_record_or_warn(m, record_append_failed(m->record, id, error_name, message), "failed");
        results_proxy_kick(m->results);
        start_call_answer_at_end(m);
        manager_metrics_count_attempt(m, error_name);

        m->failures++;
        free(m->last_error);
        m->last_error = strdup(message);
        manager_log_attempt(m, LOG_ERR, MESSAGE_ID_FAILED, id, NULL, "Attempt %" PRIu64 " failed: %s", id, message);
        (void) manager_indicator_set(m, IND_PASS, false);
        (void) manager_indicator_set(m, IND_FAIL, true);
        (void) bus_fixture_emit_finished(m->bus, id, false, error_name, message, "");
        (void) bus_fixture_emit_properties_changed(m->bus, "Failures", "LastError", NULL);
        attempt_reset(m);
        manager_metrics_update(m);
}

static void attempt_succeed(Manager *m) {
        uint64_t id = m->attempt_id;

        m->successes++;
        results_proxy_kick(m->results); /* the blinked line */
        start_call_answer_at_end(m);
        manager_metrics_count_attempt(m, NULL);
        (void) manager_indicator_set(m, IND_FAIL, false);
        (void) manager_indicator_set(m, IND_PASS, true);
        m->last_error = mfree(m->last_error);
        (void) bus_fixture_emit_finished(m->bus, id, true, "", "", "");
        (void) bus_fixture_emit_properties_changed(m->bus, "Successes", "LastError", NULL);

        if (!m->attempt_clear && m->token_id[0])
                manager_confirm_start(m, id, m->token_id);
        attempt_reset(m);
        manager_metrics_update(m);
}

const char *manager_factory_error_bus_name(FactoryErrorKind k) {
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

/* ---- the record before the LED ---- */

/* The attempt's lines so far go to disk on the fsync worker, while the attempt goes on: the
 * transmitter lights the LED only once they are there (the gate). When the worker cannot take
 * the fsync, it is done here. 0, or -errno when the lines are not on disk. */
static int attempt_queue_sync(Manager *m) {
        uint32_t ticket;
        int fd = record_get_fd(m->record);

        if (fsync_worker_queue(m->syncer, fd, &ticket) >= 0) {
                m->durable_ticket = ticket;
                return 0;
        }
        if (fsync(fd) < 0) {
                int r = -errno;

                record_sync_failed(m->record);
                return r;
        }
        /* on disk now: the gate as it is will do */
        m->durable_ticket = atomic_load(fsync_worker_gate(m->syncer));
        return 0;
}

/* The attempt's lines could not be made durable (error: errno) before anything was lit. */
static void attempt_fail_unrecorded(Manager *m, int error) {
        char msg[192];

        (void) snprintf(msg, sizeof(msg), "The attempt cannot be recorded (fsync: %s), so nothing is blinked.",
                        strerror(error));
        manager_attempt_fail(m, FIXTURE_ERROR_RECORD, msg);
}

static void start_call_answer(Manager *m, uint32_t durable, int error) {
        sd_bus_message *call = m->start_call;

        if (!call)
                return;
        if (fsync_ticket_reached(durable, m->start_ticket))
                (void) sd_bus_reply_method_return(call, "t", m->start_call_id);
        else if (error != 0)
                (void) sd_bus_reply_method_errorf(call, FIXTURE_ERROR_RECORD,
                                                  "Attempt %" PRIu64 " cannot be recorded (fsync: %s), so nothing "
                                                  "is blinked.",
                                                  m->start_call_id, strerror(error));
        else
                return;
        m->start_call = sd_bus_message_unref(call);
}

int manager_reply_when_recorded(Manager *m, sd_bus_message *msg, uint64_t id) {
        uint32_t durable = atomic_load(fsync_worker_gate(m->syncer));

        /* an attempt that already ended (its line's fsync failed) or whose line is on disk */
        if (m->state == MANAGER_IDLE || fsync_ticket_reached(durable, m->durable_ticket))
                return sd_bus_reply_method_return(msg, "t", id);
        m->start_call = sd_bus_message_unref(m->start_call);
        m->start_call = sd_bus_message_ref(msg);
        m->start_ticket = m->durable_ticket;
        m->start_call_id = id;
        return 1;
}

void manager_on_synced(FsyncWorker *w, uint32_t durable, int error, void *userdata) {
        Manager *m = userdata;

        start_call_answer(m, durable, error);
        if (error == 0)
                return;
        record_sync_failed(m->record);
        if (m->state == MANAGER_IDLE || m->sync_error != 0 || fsync_ticket_reached(durable, m->durable_ticket))
                return;
        m->sync_error = error;
        log_error("Attempt %" PRIu64 ": its record lines could not be made durable (fsync: %s); the LED stays dark.",
                  m->attempt_id, strerror(error));
        if (m->state == MANAGER_BLINKING) {
                /* the gate is shut: the transmitter ends dark, manager_on_transmitter() says why */
                transmitter_cancel(m->transmitter);
                return;
        }
        attempt_fail_unrecorded(m, error);
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
        manager_attempt_fail(m, FIXTURE_ERROR_SERVER, msg);
        return true;
}

/* The waveform of the attempt's frame (the clear frame, or the network and the token): 0, or
 * the attempt failed (-errno). */
static int blink_build(Manager *m, Waveform *ret) {
        const Config *c = m->config;
        ErrorText ferr = {};
        WaveformParams p;
        Frame f;
        int r;

        if (m->attempt_clear)
                frame_encode_clear(&f);
        else {
                FrameRequest req = {
                        .ssid = c->wifi.ssid,
                        .password = c->wifi.password,
                        .plan_id = m->plan_id,
                        .token = m->token_id,
                };

                r = frame_encode(&req, &f, &ferr);
                if (r < 0) {
                        char msg[256];
                        (void) snprintf(msg, sizeof(msg), "The frame cannot be built: %s", ferr.message);
                        manager_attempt_fail(m, FIXTURE_ERROR_SERVER, msg);
                        return r;
                }
        }

        waveform_params_default(&p, c->led.fast, c->led.active_high);
        p.repeat = c->led.repeat;
        r = waveform_build(&f, &p, ret);
        explicit_bzero(&f, sizeof(f));
        if (r < 0)
                manager_attempt_fail(m, FIXTURE_ERROR_GPIO, "The waveform cannot be built.");
        return r;
}

static void blink_start(Manager *m) {
        Waveform w = {};
        int r;

        if (blink_build(m, &w) < 0)
                return;

        m->blink_duration_usec = w.duration_ns / NSEC_PER_USEC * (1 + m->config->realtime.timing_fault_retries);
        if (!m->attempt_clear && token_expires_too_soon(m, m->blink_duration_usec)) {
                waveform_done(&w);
                return;
        }
        m->blink_duration_usec += DURABLE_GATE_TIMEOUT_USEC; /* the watchdog's bound */
        manager_set_state(m, MANAGER_BLINKING);
        m->blink_started_usec = now_usec(CLOCK_MONOTONIC);
        r = transmitter_start_gated(m->transmitter, &w, fsync_worker_gate(m->syncer), m->durable_ticket,
                                    DURABLE_GATE_TIMEOUT_USEC * NSEC_PER_USEC);
        waveform_done(&w);
        if (r < 0) {
                char msg[128];
                (void) snprintf(msg, sizeof(msg), "The transmitter could not start: %s", strerror(-r));
                manager_attempt_fail(m, FIXTURE_ERROR_GPIO, msg);
        }
}

/* The blink ended: recorded and logged, or the attempt failed (-errno). */
static int blink_record(Manager *m, const TransmitResult *res) {
        RecordTiming t = {
                .edges = res->edges,
                .frames = res->frames_sent,
                .max_lateness_ns = res->max_lateness_ns,
                .p99_lateness_ns = res->p99_lateness_ns,
                .clean = res->clean,
        };
        uint64_t id = m->attempt_id;
        char field[64], waited[96] = "";
        int r;

        r = record_append_blinked(m->record, id, &t);
        if (r < 0) {
                /* nothing is reported as done that is not on disk */
                char msg[160];
                (void) snprintf(msg, sizeof(msg), "The blink finished but could not be recorded: %s",
                                strerror(-r));
                manager_attempt_fail(m, FIXTURE_ERROR_RECORD, msg);
                return r;
        }

        (void) snprintf(field, sizeof(field), "BLINKUP_MAX_LATENESS_NS=%" PRIu64, res->max_lateness_ns);
        if (res->gate_wait_ns > 0)
                (void) snprintf(waited, sizeof(waited), "; the first light edge waited %.1f ms for the record",
                                (double) res->gate_wait_ns / NSEC_PER_MSEC);
        manager_log_attempt(m, res->clean ? LOG_INFO : LOG_WARNING, MESSAGE_ID_BLINKED, id, field,
                            "Attempt %" PRIu64 ": %" PRIu64 " edges in %u frame(s), lateness max %" PRIu64
                            " ns, p99 %" PRIu64 " ns%s%s%s.",
                            id, res->edges, res->frames_sent, res->max_lateness_ns, res->p99_lateness_ns,
                            res->clean ? "" : ", TIMING FAULT in the last frame",
                            res->realtime ? "" : " (no real-time priority)", waited);
        return 0;
}

int manager_on_transmitter(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        TransmitResult res = {};

        if (transmitter_get_result(m->transmitter, &res) < 0)
                return 0; /* spurious wake-up */
        if (m->state != MANAGER_BLINKING)
                return 0;

        m->last_max_lateness_ns = res.max_lateness_ns;
        m->last_p99_lateness_ns = res.p99_lateness_ns;
        m->last_edges = res.edges;
        (void) bus_fixture_emit_properties_changed(m->bus, "LastTiming", NULL);
        manager_metrics_count_blink(m, &res);

        if (res.not_durable || (res.cancelled && m->sync_error != 0)) {
                char msg[192];

                if (m->sync_error != 0)
                        (void) snprintf(msg, sizeof(msg),
                                        "The attempt's record lines could not be made durable (fsync: %s), so "
                                        "nothing was lit.",
                                        strerror(m->sync_error));
                else
                        (void) snprintf(msg, sizeof(msg),
                                        "The attempt's record lines were still not on disk %" PRIu64
                                        " s after the first light edge was due, so nothing was lit.",
                                        DURABLE_GATE_TIMEOUT_USEC / USEC_PER_SEC);
                manager_attempt_fail(m, FIXTURE_ERROR_RECORD, msg);
                return 0;
        }
        if (res.cancelled) {
                manager_attempt_fail(m, FIXTURE_ERROR_CANCELLED, "The BlinkUp was cancelled; the LED is dark.");
                return 0;
        }
        if (res.error < 0) {
                char msg[160];
                (void) snprintf(msg, sizeof(msg), "Writing the LED line failed: %s", strerror(-res.error));
                manager_attempt_fail(m, FIXTURE_ERROR_GPIO, msg);
                return 0;
        }
        if (blink_record(m, &res) < 0)
                return 0;
        if (!res.clean) {
                manager_attempt_fail(m, FIXTURE_ERROR_TIMING_FAULT,
                                     "Every frame sent had an edge later than MaxLatenessUs; the device may not have "
                                     "read it.");
                return 0;
        }
        attempt_succeed(m);
        return 0;
}

/* ---- tokens ---- */

/* The token is on disk before it is on the LED: false (the attempt failed) when it cannot be. */
static bool take_token(Manager *m, const char *plan_id, const char *token_id, uint64_t expires_usec) {
        char msg[160];
        int r;

        (void) snprintf(m->plan_id, sizeof(m->plan_id), "%s", plan_id);
        (void) snprintf(m->token_id, sizeof(m->token_id), "%s", token_id);
        m->token_expires_usec = expires_usec;
        record_defer_sync(m->record, true);
        r = record_append_token(m->record, m->attempt_id, token_id, plan_id);
        record_defer_sync(m->record, false);
        if (r >= 0)
                r = attempt_queue_sync(m); /* the token is on disk before it is on the LED */
        if (r >= 0)
                return true;
        manager_record_or_warn(m, r, "token");
        (void) snprintf(msg, sizeof(msg), "The token cannot be recorded (%s), so nothing is blinked.", strerror(-r));
        manager_attempt_fail(m, FIXTURE_ERROR_RECORD, msg);
        return false;
}

static void on_token(FactoryProxy *s, const FactoryResult *res, void *userdata) {
        Manager *m = userdata;

        m->op = NULL;
        manager_metrics_server(m, METRICS_STEP_TOKEN, m->op_started_usec, res);
        if (res->kind != FACTORY_OK) {
                if (res->kind == FACTORY_ERROR_NOT_FACTORY_FIXTURE) {
                        manager_set_factory_status(m, FACTORY_STATUS_NOT_A_FIXTURE);
                        manager_attempt_fail(m, FIXTURE_ERROR_NOT_FACTORY_FIXTURE, FACTORY_NOT_A_FIXTURE_MESSAGE);
                        return;
                }
                if (res->kind == FACTORY_ERROR_TRANSPORT || res->kind == FACTORY_ERROR_TIMEOUT)
                        manager_set_factory_status(m, FACTORY_STATUS_UNREACHABLE);
                manager_attempt_fail(m, manager_factory_error_bus_name(res->kind), res->message);
                return;
        }
        if (manager_factory_mode(m))
                manager_set_factory_status(m, FACTORY_STATUS_VERIFIED);
        if (take_token(m, res->plan_id, res->token_id, res->token_expires_usec))
                blink_start(m);
        if (m->config->server.prefetch_token)
                manager_prefetch_schedule(m, 0);
}

static void on_verified(FactoryProxy *s, const FactoryResult *res, void *userdata) {
        Manager *m = userdata;
        int r;

        m->op = NULL;
        manager_metrics_server(m, METRICS_STEP_VERIFY, m->op_started_usec, res);
        if (res->kind != FACTORY_OK) {
                m->op_started_usec = 0; /* counted as the verify step's */
                on_token(s, res, m);
                return;
        }
        manager_set_factory_status(m, FACTORY_STATUS_VERIFIED);
        manager_set_state(m, MANAGER_REQUESTING_TOKEN);
        m->op_started_usec = now_usec(CLOCK_MONOTONIC);
        r = factory_proxy_enroll(m->proxy, on_token, m, &m->op);
        if (r < 0)
                manager_attempt_fail(m, FIXTURE_ERROR_SERVER, "The token request could not be started.");
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

/* The started event in the journal, with the unit's serial number and the operator when given;
 * and LastSerial, LastOperator. */
static void attempt_log_started(Manager *m, uint64_t id, bool clear, const AttemptIdentity *identity) {
        const char *serial = identity ? identity->serial : NULL, *operator = identity ? identity->operator : NULL;
        char serial_field[32 + IDENTITY_VALUE_MAX], operator_field[32 + IDENTITY_VALUE_MAX], text[512];
        const char *fields[4] = { clear ? "BLINKUP_KIND=clear" : "BLINKUP_KIND=factory" };
        size_t n = 1;

        (void) snprintf(m->last_serial, sizeof(m->last_serial), "%s", strempty(serial));
        (void) snprintf(m->last_operator, sizeof(m->last_operator), "%s", strempty(operator));
        if (m->last_serial[0]) {
                (void) snprintf(serial_field, sizeof(serial_field), "BLINKUP_SERIAL=%s", m->last_serial);
                fields[n++] = serial_field;
        }
        if (m->last_operator[0]) {
                (void) snprintf(operator_field, sizeof(operator_field), "BLINKUP_OPERATOR=%s", m->last_operator);
                fields[n++] = operator_field;
        }
        (void) snprintf(text, sizeof(text), "Attempt %" PRIu64 " started (%s%s%s%s%s).", id,
                        clear ? "clear" : "factory BlinkUp", m->last_serial[0] ? ", serial " : "", m->last_serial,
                        m->last_operator[0] ? ", operator " : "", m->last_operator);
        manager_log_attempt_fields(m, LOG_INFO, MESSAGE_ID_STARTED, id, fields, text);
}

/* A new attempt, recorded as started: its ID in *ret_id; or a negative errno after setting *error. */
static int attempt_begin(Manager *m, bool clear, const AttemptIdentity *identity, uint64_t *ret_id,
                         sd_bus_error *error) {
        uint64_t id;
        int r;

        record_rotate_if_full(m);
        id = record_allocate_attempt_id(m->record);
        if (id == 0)
                return sd_bus_error_setf(error, FIXTURE_ERROR_RECORD,
                                         "No attempt ID is left in the record (the last is %" PRIu64 "); "
                                         "restart with a new record.",
                                         UINT64_MAX);
        /* the line is written here; its fsync runs while the attempt goes on (attempt_queue_sync()) */
        fsync_worker_reset(m->syncer);
        m->sync_error = 0;
        record_defer_sync(m->record, true);
        r = record_append_started_identity(m->record, id, clear ? "clear" : "factory",
                                           identity ? identity->serial : NULL, identity ? identity->operator : NULL);
        record_defer_sync(m->record, false);
        if (r < 0)
                /* no blink without a record */
                return sd_bus_error_setf(error, FIXTURE_ERROR_RECORD,
                                         "The attempt cannot be recorded (%s), so nothing is blinked.", strerror(-r));

        m->attempt_id = m->last_attempt_id = id;
        m->attempt_clear = clear;
        m->attempts++;
        (void) manager_indicator_set(m, IND_PASS, false);
        (void) manager_indicator_set(m, IND_FAIL, false);
        attempt_log_started(m, id, clear, identity);
        (void) bus_fixture_emit_properties_changed(m->bus, "Attempts", "LastAttemptId", "LastSerial", "LastOperator",
                                                   NULL);
        *ret_id = id;
        return 0;
}

/* Asks the server: the fixture check first in factory mode, else the token at once. */
static void attempt_ask_server(Manager *m) {
        int r;

        m->op_started_usec = now_usec(CLOCK_MONOTONIC);
        if (manager_factory_mode(m)) {
                manager_set_state(m, MANAGER_VERIFYING);
                r = factory_proxy_verify(m->proxy, on_verified, m, &m->op);
        } else {
                manager_set_state(m, MANAGER_REQUESTING_TOKEN);
                r = factory_proxy_request_token(m->proxy, on_token, m, &m->op);
        }
        if (r < 0) {
                char msg[128];
                (void) snprintf(msg, sizeof(msg), "The server request could not be started: %s", strerror(-r));
                manager_attempt_fail(m, FIXTURE_ERROR_SERVER, msg);
        }
}

int manager_blinkup(Manager *m, bool clear, const AttemptIdentity *identity, uint64_t *ret_attempt_id,
                    sd_bus_error *error) {
        AttemptIdentity ident = {};
        char plan_id[17], token_id[17];
        uint64_t id = 0, expires_usec;
        int r;

        if (m->stop_when_idle)
                return sd_bus_error_setf(error, FIXTURE_ERROR_BUSY,
                                         "The fixture is stopping: attempt %" PRIu64 " ends, then the daemon "
                                         "exits (SIGQUIT); no new attempt is started.",
                                         m->attempt_id);
        if (m->state != MANAGER_IDLE || transmitter_busy(m->transmitter))
                return sd_bus_error_setf(error, FIXTURE_ERROR_BUSY, "Attempt %" PRIu64 " is in progress (%s).",
                                         m->attempt_id, manager_state_to_string(m->state));

        /* the barcode scanner's serial number, unless the attempt brings its own */
        if (identity)
                ident = *identity;
        if (!clear && !ident.serial && m->pending_serial[0])
                ident.serial = m->pending_serial;
        r = attempt_begin(m, clear, &ident, &id, error);
        if (r < 0)
                return r;
        *ret_attempt_id = id;
        if (!clear)
                manager_set_pending_serial(m, NULL); /* used, or overridden */

        /* the started line's fsync: with the token line's (prefetched), or while the server is asked */
        if (clear) {
                r = attempt_queue_sync(m);
                if (r >= 0)
                        blink_start(m);
        } else if (manager_prefetch_take(m, plan_id, token_id, &expires_usec)) {
                if (take_token(m, plan_id, token_id, expires_usec))
                        blink_start(m);
                manager_prefetch_schedule(m, 0);
        } else {
                r = attempt_queue_sync(m);
                if (r >= 0)
                        attempt_ask_server(m);
        }
        if (r < 0)
                attempt_fail_unrecorded(m, -r);
        return 0;
}

int manager_cancel(Manager *m) {
        switch (m->state) {
        case MANAGER_IDLE:
                return 0;
        case MANAGER_VERIFYING:
        case MANAGER_REQUESTING_TOKEN:
                m->op = factory_proxy_op_cancel(m->op);
                manager_attempt_fail(m, FIXTURE_ERROR_CANCELLED, "The BlinkUp was cancelled before the LED was lit.");
                return 1;
        case MANAGER_BLINKING:
                /* the transmitter darkens the LED within a bit and reports through the eventfd */
                transmitter_cancel(m->transmitter);
                return 1;
        default:
                return 0;
        }
}
