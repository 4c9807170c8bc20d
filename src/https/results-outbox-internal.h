/* SPDX-License-Identifier: MIT */
#pragma once

/* What the parts of the results outbox share (results-outbox.h says which part does what). */

#include "record.h"
#include "results-outbox.h"

typedef struct ResultsAttempts ResultsAttempts;

/* Receives each document a line causes, in order; takes json and key (free() them). */
typedef int (*results_emit_t)(uint64_t attempt_id, const char *event, char *json, char *key, void *userdata);

/* The attempts' summaries; fixture_id and line (NULL: none) go into every document. */
ResultsAttempts *results_attempts_new(const char *fixture_id, const char *line);
ResultsAttempts *results_attempts_free(ResultsAttempts *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(ResultsAttempts *, results_attempts_free);

/* One parsed record line, in record order: updates its attempt's summary and hands out the
 * documents it causes (the outcomes of unfinished attempts before a "started" line, in the
 * order of their IDs; an outcome; a confirmation). Returns emit's error, or -ENOMEM. */
int results_attempts_feed(ResultsAttempts *a, const RecordLine *l, results_emit_t emit, void *userdata);
