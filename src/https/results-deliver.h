/* SPDX-License-Identifier: MIT */
#pragma once

/* The results delivery (https-proto.h): the outbox's documents POSTed one at a time, in order;
 * 2xx delivered, 408, 429, 5xx and transport failures tried again with backoff, anything else
 * parked. No timer while nothing waits. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"

#define RESULTS_ERROR_MAX 256

typedef struct ResultsConfig {
        const char *url, *token, *ca_file, *state_dir, *fixture_id, *line; /* NULL: none */
        uint64_t timeout_usec, connect_timeout_usec, retry_max_usec;
        bool allow_insecure_http;
} ResultsConfig;

typedef struct ResultsStatus {
        uint32_t backlog, parked;
        uint64_t last_delivery_usec, last_error_usec; /* CLOCK_REALTIME, 0: none */
        char last_error[RESULTS_ERROR_MAX];
} ResultsStatus;

typedef struct ResultsDeliver ResultsDeliver;

/* Called after the first scan and whenever a value changes. */
typedef void (*results_status_t)(const ResultsStatus *s, void *userdata);

/* Copies the configuration, reads the record from the delivered position and starts
 * delivering. */
int results_deliver_new(sd_event *e, const ResultsConfig *c, results_status_t on_status, void *userdata,
                        ResultsDeliver **ret);
ResultsDeliver *results_deliver_free(ResultsDeliver *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(ResultsDeliver *, results_deliver_free);

/* New lines are on stable storage: read them; deliver at once when idle (a backoff in progress
 * is kept). */
int results_deliver_kick(ResultsDeliver *d);
