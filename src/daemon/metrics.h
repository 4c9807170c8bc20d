/* SPDX-License-Identifier: MIT */
#pragma once

/* The fixture's metrics in Prometheus's text exposition format (0.0.4), for node_exporter's
 * textfile collector: counters and histograms kept by the main loop, the file written whole
 * and atomically (a temporary file in the same directory, then rename()) when something
 * happened, never on a timer. Names, types and labels: blinkupd-metrics(7). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_FILENAME "blinkupd.prom"

/* attempts_total's outcomes: success, then the errors an attempt can end with (the short names of
 * org.blinkupd.Fixture1.Error.*), in the file's order */
#define METRICS_ATTEMPT_OUTCOMES 9
/* confirmations_total's outcomes: confirmed, then the errors a confirmation can end with */
#define METRICS_CONFIRM_OUTCOMES 5

typedef enum MetricsKind { METRICS_KIND_FACTORY, METRICS_KIND_CLEAR, _METRICS_KIND_MAX } MetricsKind;
typedef enum MetricsStep { METRICS_STEP_VERIFY, METRICS_STEP_TOKEN, _METRICS_STEP_MAX } MetricsStep;

#define METRICS_BUCKETS_MAX 10

/* A histogram in ns: the observations per bucket (not cumulative; the file's buckets are), those
 * above the highest bound only in count */
typedef struct MetricsHistogram {
        uint64_t bucket[METRICS_BUCKETS_MAX];
        uint64_t count;
        uint64_t sum_ns;
} MetricsHistogram;

typedef struct Metrics {
        uint64_t attempts[_METRICS_KIND_MAX][METRICS_ATTEMPT_OUTCOMES];
        uint64_t confirmations[METRICS_CONFIRM_OUTCOMES];
        uint64_t frames_sent, frames_resent, timing_faults;
        MetricsHistogram lateness, server[_METRICS_STEP_MAX], confirmation;
        uint64_t last_success_usec; /* CLOCK_REALTIME; 0: none */
} Metrics;

/* What the file shows besides the counters: the daemon's state when it is written. */
typedef struct MetricsState {
        const char *version, *gpiod_api, *release;
        bool up;
        uint64_t start_usec; /* CLOCK_REALTIME */
        const char *factory_status; /* one of factory_status_to_string()'s names */
        bool results; /* [Results] URL= is set: the results gauges are written */
        uint64_t results_backlog, results_parked, results_last_delivery_usec;
} MetricsState;

/* An attempt ended: error_name NULL or "" for a success, else the D-Bus error's full or short
 * name (an unknown one counts as Server). */
void metrics_count_attempt(Metrics *m, MetricsKind kind, const char *error_name);
/* A blink ended: its frames, resent frames, timing faults and the lateness of each edge. */
void metrics_count_blink(Metrics *m, uint64_t frames_sent, uint64_t frames_resent, uint64_t timing_faults,
                         const uint64_t *lateness_ns, size_t n);
void metrics_observe_server(Metrics *m, MetricsStep step, uint64_t usec);
/* A confirmation ended after usec: error_name NULL or "" when the device enrolled. */
void metrics_count_confirmation(Metrics *m, const char *error_name, uint64_t usec);

/* The whole file, NUL-terminated, in *ret (free()); its length in *ret_size. -ENOMEM. */
int metrics_format(const Metrics *m, const MetricsState *s, char **ret, size_t *ret_size);

/* Replaces dir/blinkupd.prom with text atomically: 0 or -errno (nothing half-written is left). */
int metrics_write_file(const char *dir, const char *text, size_t size);

/* The OS release's VERSION_CODENAME from /etc/os-release (or the file os_release), "unknown"
 * when there is none; at most size - 1 characters of [A-Za-z0-9._-]. */
void metrics_os_release(const char *os_release, char *ret, size_t size);
