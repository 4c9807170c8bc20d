/* SPDX-License-Identifier: MIT */
/* The fixture manager's object: its life cycle (new, start, free), its status (state, factory
 * status, sd_notify, attempt events in the journal), the watchdog and the signals. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "macro.h"
#include "manager-internal.h"

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

bool manager_factory_mode(const Manager *m) {
        return m->config->server.token_type == CONFIG_TOKEN_FACTORY;
}

/* ---- logging of attempt events: the journal with fields when we run under it ---- */

static struct iovec iovec_string(const char *s) {
        return (struct iovec){ .iov_base = (char *) s, .iov_len = strlen(s) };
}

void manager_log_attempt_fields(Manager *m, int priority, const char *message_id, uint64_t attempt_id,
                                const char *const *extra_fields, const char *text) {
        char message[600], id[64], prio[32], attempt[64], fixture[64];
        struct iovec iov[5 + MANAGER_LOG_FIELDS_MAX];
        size_t n = 0;

        if (!log_stderr_is_journal() || m->user_bus) {
                (void) log_full_errno(priority, 0, "%s", text);
                return;
        }
        (void) snprintf(message, sizeof(message), "MESSAGE=%s", text);
        (void) snprintf(id, sizeof(id), "MESSAGE_ID=%s", message_id);
        (void) snprintf(prio, sizeof(prio), "PRIORITY=%i", priority);
        (void) snprintf(attempt, sizeof(attempt), "BLINKUP_ATTEMPT_ID=%" PRIu64, attempt_id);
        (void) snprintf(fixture, sizeof(fixture), "BLINKUP_FIXTURE_ID=%s", m->fixture_id);
        iov[n++] = iovec_string(message);
        iov[n++] = iovec_string(id);
        iov[n++] = iovec_string(prio);
        iov[n++] = iovec_string(attempt);
        iov[n++] = iovec_string(fixture);
        for (size_t i = 0; extra_fields && extra_fields[i] && i < MANAGER_LOG_FIELDS_MAX; i++)
                iov[n++] = iovec_string(extra_fields[i]);
        if (n == 5)
                iov[n++] = iovec_string("BLINKUP_EVENT=1");
        (void) sd_journal_sendv(iov, (int) n);
}

void manager_log_attempt(Manager *m, int priority, const char *message_id, uint64_t attempt_id,
                         const char *extra_field, const char *format, ...) {
        char text[512];
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(text, sizeof(text), format, ap);
        va_end(ap);
        manager_log_attempt_fields(m, priority, message_id, attempt_id, (const char *const[]){ extra_field, NULL },
                                   text);
}

/* ---- status ---- */

void manager_notify_status(Manager *m) {
        char buf[256];

        if (m->state == MANAGER_IDLE)
                (void) snprintf(buf, sizeof(buf),
                                "STATUS=Idle, factory status %s; %" PRIu64 " attempts, %" PRIu64 " succeeded, %" PRIu64
                                " failed.",
                                factory_status_to_string(m->factory_status), m->attempts, m->successes,
                                m->failures);
        else
                (void) snprintf(buf, sizeof(buf), "STATUS=Attempt %" PRIu64 ": %s%s.", m->attempt_id,
                                manager_state_to_string(m->state),
                                m->stop_when_idle ? "; stopping once it has ended" : "");
        (void) sd_notify(false, buf);
}

void manager_set_state(Manager *m, ManagerState s) {
        if (m->state == s)
                return;
        m->state = s;
        (void) manager_indicator_set(m, IND_BUSY, s != MANAGER_IDLE);
        (void) manager_indicator_set(m, IND_READY, s == MANAGER_IDLE && !m->stop_when_idle);
        (void) bus_fixture_emit_state_changed(m->bus, m->attempt_id, manager_state_to_string(s));
        (void) bus_fixture_emit_properties_changed(m->bus, "State", NULL);
        if (s == MANAGER_IDLE && m->stop_when_idle) {
                /* the end of the attempt SIGQUIT waited for; confirmations still running are
                 * abandoned as on SIGTERM */
                log_info("Attempt %" PRIu64 " has ended, stopping.", m->attempt_id);
                (void) sd_event_exit(m->event, 0);
                return;
        }
        manager_notify_status(m);
}

void manager_set_factory_status(Manager *m, FactoryStatus s) {
        if (m->factory_status == s)
                return;
        m->factory_status = s;
        (void) bus_fixture_emit_properties_changed(m->bus, "FactoryStatus", NULL);
        manager_notify_status(m);
        manager_metrics_update(m);
}

void manager_record_or_warn(Manager *m, int r, const char *what) {
        if (r < 0)
                log_error_errno(r, "Could not write the %s event to the attempt record: %m", what);
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
                .last_serial = m->last_serial,
                .last_operator = m->last_operator,
                .pending_serial = m->pending_serial,
                .last_max_lateness_ns = m->last_max_lateness_ns,
                .last_p99_lateness_ns = m->last_p99_lateness_ns,
                .last_edges = m->last_edges,
        };
        if (m->results) {
                ResultsStatus st;

                results_proxy_get_status(m->results, &st);
                ret->results_url = m->config->results.url;
                ret->results_last_error = st.last_error;
                ret->results_backlog = st.backlog;
                ret->results_parked = st.parked;
                ret->results_last_delivery_usec = st.last_delivery_usec;
                ret->results_last_error_usec = st.last_error_usec;
        }
}

/* ---- the server ---- */

int manager_open_factory(Manager *m, const Config *c, FactoryProxy **ret) {
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

static void on_results_changed(ResultsProxy *rp, void *userdata) {
        Manager *m = userdata;

        (void) bus_fixture_emit_properties_changed(m->bus, "ResultsBacklog", "ResultsParked", "ResultsLastDelivery",
                                                   "ResultsLastErrorTime", "ResultsLastError", NULL);
        manager_metrics_update_soon(m);
}

int manager_open_results(Manager *m, const Config *c, ResultsProxy **ret, bool *ret_keep) {
        ResultsConfig rc = {
                .url = c->results.url,
                .token = c->results.token,
                .ca_file = c->server.ca_file,
                .state_directory = c->daemon.state_directory,
                .fixture_id = c->server.fixture_id,
                .line = c->fixture.line,
                .timeout_usec = (uint64_t) c->server.timeout_sec * USEC_PER_SEC,
                .connect_timeout_usec = (uint64_t) c->server.connect_timeout_sec * USEC_PER_SEC,
                .retry_max_usec = (uint64_t) c->results.retry_max_sec * USEC_PER_SEC,
                .allow_insecure_http = c->server.allow_insecure_http,
        };

        *ret_keep = false;
        *ret = NULL;
        if (!c->results.url)
                return 0;
        if (m->results && results_proxy_config_equal(m->results, &rc)) {
                *ret = m->results;
                *ret_keep = true;
                return 0;
        }
        return results_proxy_new(m->event, &rc, on_results_changed, m, ret);
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
        m->stop_when_idle = false; /* a SIGQUIT before: no longer waited for, the exit is here */
        (void) sd_notify(false, "STOPPING=1");
        if (m->state == MANAGER_BLINKING)
                transmitter_cancel(m->transmitter);
        if (m->state != MANAGER_IDLE)
                manager_attempt_fail(m, FIXTURE_ERROR_CANCELLED,
                                     "The daemon was stopped during the BlinkUp; the LED is dark.");
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

/* Stop between attempts: one in progress is finished (its blink is not cut), new ones are
 * refused, then the loop ends (manager_set_state()). When idle, the same as SIGTERM. */
static int on_quit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        if (m->state == MANAGER_IDLE)
                return on_exit_signal(s, si, userdata);
        if (m->stop_when_idle)
                return 0;

        log_info("Received SIGQUIT: stopping once attempt %" PRIu64 " has ended.", m->attempt_id);
        m->stop_when_idle = true;
        m->stopping = true; /* no token prefetched any more */
        /* No STOPPING=1 yet: systemd would start the unit's stop timeout (TimeoutStopSec=) and
         * could kill a long attempt; it is sent once the loop has ended. STATUS= says why. */
        manager_notify_status(m);
        return 0;
}

static int on_reload_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        _cleanup_(freep) char *message = NULL;

        (void) manager_reload(userdata, &message); /* logged there */
        return 0;
}

static int signals_setup(Manager *m) {
        int r;

        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_exit_signal, m);
        if (r < 0)
                return r;
        r = sd_event_add_signal(m->event, NULL, SIGINT, on_exit_signal, m);
        if (r < 0)
                return r;
        r = sd_event_add_signal(m->event, NULL, SIGQUIT, on_quit_signal, m);
        if (r < 0)
                return r;
        return sd_event_add_signal(m->event, NULL, SIGHUP, on_reload_signal, m);
}

static int watchdog_setup(Manager *m) {
        int r;

        if (sd_watchdog_enabled(false, &m->watchdog_usec) <= 0)
                return 0;
        r = sd_event_add_time_relative(m->event, &m->watchdog_source, CLOCK_MONOTONIC, m->watchdog_usec / 2,
                                       m->watchdog_usec / 16, on_watchdog, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->watchdog_source, SD_EVENT_ON);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the watchdog timer: %m");
        return 0;
}

/* ---- life cycle ---- */

int manager_new(sd_event *e, const ManagerOptions *o, Config *config, Manager **ret) {
        _cleanup_(config_freep) Config *c = config; /* ours from here on, whatever happens */
        _cleanup_(manager_freep) Manager *m = NULL;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(e);
        m->scanner_fd = -1;
        m->user_bus = o->user_bus;
        m->config = TAKE_PTR(c);
        if (o->config_path) {
                m->config_path = strdup(o->config_path);
                if (!m->config_path)
                        return -ENOMEM;
        }
        (void) snprintf(m->fixture_id, sizeof(m->fixture_id), "%s", m->config->server.fixture_id ?: "");
        metrics_os_release(NULL, m->os_release, sizeof(m->os_release));
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        manager_metrics_stopped(m);
        m->prefetch_op = factory_proxy_op_cancel(m->prefetch_op);
        m->op = factory_proxy_op_cancel(m->op);
        manager_confirmations_abandon(m);
        manager_hardware_close(m);
        manager_scanner_close(m);
        m->debounce_source = sd_event_source_disable_unref(m->debounce_source);
        m->watchdog_source = sd_event_source_disable_unref(m->watchdog_source);
        m->prefetch_source = sd_event_source_disable_unref(m->prefetch_source);
        m->proxy = factory_proxy_free(m->proxy);
        m->results = results_proxy_free(m->results);
        m->bus = sd_bus_flush_close_unref(m->bus);
        m->record = record_free(m->record);
        config_free(m->config);
        free(m->config_path);
        free(m->last_error);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

static int record_setup(Manager *m) {
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
        return 0;
}

static int bus_setup(Manager *m) {
        int r;

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
        return 0;
}

static int event_sources_setup(Manager *m) {
        int r;

        r = manager_button_setup(m);
        if (r >= 0)
                r = manager_prefetch_setup(m);
        if (r >= 0)
                r = signals_setup(m);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the event loop: %m");
        return 0;
}

int manager_start(Manager *m) {
        _cleanup_(freep) char *err = NULL;
        int r;

        m->start_usec = now_usec(CLOCK_REALTIME);
        r = record_setup(m);
        if (r < 0)
                return r;
        r = event_sources_setup(m);
        if (r < 0)
                return r;

        r = manager_hardware_open(m, m->config, &err);
        if (r < 0)
                return log_error_errno(r, "%s", err ?: "Cannot open the GPIO lines.");
        (void) manager_scanner_open(m, m->config);

        r = manager_open_factory(m, m->config, &m->proxy);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the factory server client: %m");
        r = manager_open_results(m, m->config, &m->results, &(bool) { false });
        if (r < 0)
                return log_error_errno(r, "Cannot set up the results delivery: %m");

        r = bus_setup(m);
        if (r < 0)
                return r;
        r = watchdog_setup(m);
        if (r < 0)
                return r;

        manager_prefetch_startup(m);
        manager_metrics_update(m);

        (void) sd_notify(false, "READY=1");
        manager_notify_status(m);
        log_info("Ready: fixture %s, LED %s, %u bits/s%s%s.", m->fixture_id[0] ? m->fixture_id : "(none)",
                 gpio_line_describe(m->led), m->config->led.fast ? 142u : 60u,
                 m->config->button.enabled ? ", button enabled" : "", m->scanner_dev ? ", barcode scanner" : "");
        return 0;
}
