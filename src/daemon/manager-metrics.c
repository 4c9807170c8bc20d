/* SPDX-License-Identifier: MIT */
/* The metrics file ([Metrics] TextfileDirectory=): written after an attempt, a confirmation, a
 * reload, a change of the factory or results status (at most once a second), at start and at a
 * clean stop; never on a timer of its own, and never while an attempt runs (the attempt's end
 * writes what changed meanwhile). A
 * failed write is logged once, until one succeeds again, and changes nothing else. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf() */
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "manager-internal.h"
#include "metrics.h"
#include "string-util.h"

/* the results status changes at most this often in the file */
#define METRICS_MIN_INTERVAL_USEC USEC_PER_SEC

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

static const char *write_hint(int r) {
        switch (r) {
        case -EROFS:
                return " (under systemd, the unit's sandbox must allow it: ReadWritePaths= in a drop-in, see "
                       "blinkupd-metrics(7))";
        case -EACCES:
        case -EPERM:
                return " (the daemon's user needs write access to the directory, see blinkupd-metrics(7))";
        case -ENOENT:
                return " (the directory does not exist)";
        case -ENOTDIR:
                return " (it is not a directory)";
        default:
                return "";
        }
}

static int metrics_write(Manager *m, const char *dir, bool up) {
        _cleanup_(freep) char *text = NULL;
        MetricsState s = {
                .version = PACKAGE_VERSION,
                .gpiod_api = STRINGIFY(GPIOD_API),
                .release = m->os_release,
                .up = up,
                .start_usec = m->start_usec,
                .factory_status = factory_status_to_string(m->factory_status),
        };
        size_t size;
        int r;

        m->metrics_written_usec = now_usec(CLOCK_MONOTONIC);
        if (m->metrics_source)
                (void) sd_event_source_set_enabled(m->metrics_source, SD_EVENT_OFF);
        if (m->results) {
                ResultsStatus st;

                results_proxy_get_status(m->results, &st);
                s.results = true;
                s.results_backlog = st.backlog;
                s.results_parked = st.parked;
                s.results_last_delivery_usec = st.last_delivery_usec;
        }
        r = metrics_format(&m->metrics, &s, &text, &size);
        if (r >= 0)
                r = metrics_write_file(dir, text, size);
        if (r < 0) {
                if (!m->metrics_failed)
                        log_warning_errno(r,
                                          "Cannot write the metrics file %s/" METRICS_FILENAME
                                          ": %m%s. Attempts go on; this is not logged again until a write "
                                          "succeeds.",
                                          dir, write_hint(r));
                m->metrics_failed = true;
                return r;
        }
        if (m->metrics_failed)
                log_info("The metrics file %s/" METRICS_FILENAME " is written again.", dir);
        m->metrics_failed = false;
        return 0;
}

void manager_metrics_update(Manager *m) {
        const char *dir = m->config->metrics.textfile_directory;

        if (!dir || m->state != MANAGER_IDLE)
                return;
        (void) metrics_write(m, dir, true);
}

static int on_metrics_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        manager_metrics_update(userdata);
        return 0;
}

void manager_metrics_update_soon(Manager *m) {
        uint64_t next = m->metrics_written_usec + METRICS_MIN_INTERVAL_USEC;
        int r;

        if (!m->config->metrics.textfile_directory || m->state != MANAGER_IDLE)
                return;
        if (m->metrics_written_usec == 0 || now_usec(CLOCK_MONOTONIC) >= next) {
                manager_metrics_update(m);
                return;
        }
        if (m->metrics_source)
                r = sd_event_source_set_time(m->metrics_source, next);
        else
                r = sd_event_add_time(m->event, &m->metrics_source, CLOCK_MONOTONIC, next, 0, on_metrics_timer, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->metrics_source, SD_EVENT_ONESHOT);
        if (r < 0) {
                log_debug_errno(r, "Cannot defer the metrics file's write, writing it now: %m");
                manager_metrics_update(m);
        }
}

void manager_metrics_moving(Manager *m, const Config *next) {
        const char *dir = m->config->metrics.textfile_directory;
        _cleanup_(freep) char *path = NULL;

        if (!dir || streq_ptr(dir, next->metrics.textfile_directory))
                return;
        /* the old file would be served on as if this fixture's */
        if (asprintf(&path, "%s/" METRICS_FILENAME, dir) >= 0 && unlink(path) < 0 && errno != ENOENT)
                log_warning_errno(-errno, "Cannot remove the old metrics file %s: %m", path);
        m->metrics_failed = false;
}

void manager_metrics_stopped(Manager *m) {
        const char *dir = m->config ? m->config->metrics.textfile_directory : NULL;

        m->metrics_source = sd_event_source_disable_unref(m->metrics_source);
        if (dir && m->start_usec > 0)
                (void) metrics_write(m, dir, false);
}

void manager_metrics_count_attempt(Manager *m, const char *error_name) {
        metrics_count_attempt(&m->metrics, m->attempt_clear ? METRICS_KIND_CLEAR : METRICS_KIND_FACTORY, error_name);
        if (!error_name)
                m->metrics.last_success_usec = now_usec(CLOCK_REALTIME);
}

void manager_metrics_count_blink(Manager *m, const TransmitResult *res) {
        const uint64_t *lateness;
        size_t n;

        n = transmitter_get_lateness(m->transmitter, &lateness);
        metrics_count_blink(&m->metrics, res->frames_sent, res->frames_resent, res->timing_faults, lateness, n);
}

void manager_metrics_server(Manager *m, MetricsStep step, uint64_t started_usec, const FactoryResult *res) {
        if (res->kind == FACTORY_ERROR_CANCELLED || started_usec == 0)
                return;
        metrics_observe_server(&m->metrics, step, now_usec(CLOCK_MONOTONIC) - started_usec);
}
