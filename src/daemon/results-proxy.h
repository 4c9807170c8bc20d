/* SPDX-License-Identifier: MIT */
#pragma once

/* The daemon's side of the results delivery ([Results] URL=, blinkupd.conf(5)): it keeps
 * "blinkupd-https --results" running (https-proto.h), which delivers every attempt's results
 * from the record, and hears its status. The daemon only tells it, after a line that ends an
 * attempt or its confirmation is on stable storage, that there is more to read (a Kick(), never
 * waited for): nothing of the delivery can hold up an attempt, and the daemon is woken only
 * when the delivery's status changes.
 *
 * A helper that exits is started again after RESULTS_RESTART_MIN_USEC, doubling up to
 * RESULTS_RESTART_MAX_USEC while it keeps failing; a new one reads the record from the position
 * delivered last, so nothing is lost. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"

#define RESULTS_RESTART_MIN_USEC (1 * USEC_PER_SEC)
#define RESULTS_RESTART_MAX_USEC (60 * USEC_PER_SEC)

typedef struct ResultsProxy ResultsProxy;

typedef struct ResultsConfig {
        const char *url, *token, *ca_file, *state_directory, *fixture_id, *line; /* NULL: none */
        uint64_t timeout_usec, connect_timeout_usec, retry_max_usec;
        bool allow_insecure_http;
} ResultsConfig;

typedef struct ResultsStatus {
        uint32_t backlog, parked;
        uint64_t last_delivery_usec, last_error_usec; /* CLOCK_REALTIME; 0: none */
        const char *last_error; /* "" none */
        bool running; /* the helper is up */
} ResultsStatus;

/* Called from the loop when the status changed. */
typedef void (*results_proxy_changed_t)(ResultsProxy *rp, void *userdata);

/* Copies c and starts the helper. */
int results_proxy_new(sd_event *e, const ResultsConfig *c, results_proxy_changed_t changed, void *userdata,
                      ResultsProxy **ret);
ResultsProxy *results_proxy_free(ResultsProxy *rp);
DEFINE_TRIVIAL_CLEANUP_FUNC(ResultsProxy *, results_proxy_free);

/* Whether c is the configuration rp was made with. */
bool results_proxy_config_equal(const ResultsProxy *rp, const ResultsConfig *c);

/* New lines are on stable storage in the record. Accepts NULL. */
void results_proxy_kick(ResultsProxy *rp);

/* The last status heard (all zero and "" before the first). */
void results_proxy_get_status(const ResultsProxy *rp, ResultsStatus *ret);
