/* SPDX-License-Identifier: MIT */
/* The attempts' summaries, as the record's lines come in order, and the results documents the
 * lines cause (https-proto.h, results delivery): the first blinked, failed or cancelled line of
 * an attempt is its outcome; a started line ends, as "unfinished", every older attempt that has
 * none; a factory attempt that blinked is then confirmed (or not) by its next confirmed or
 * failed line. Other lines only fill in the summary. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf() */
#endif
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "https-proto.h"
#include "list.h"
#include "results-outbox-internal.h"

enum { TIMING_EDGES, TIMING_FRAMES, TIMING_MAX_LATENESS, TIMING_P99_LATENESS, _TIMING_N };
static const char *const timing_keys[_TIMING_N] = { "edges", "frames", "max_lateness_ns", "p99_lateness_ns" };

typedef struct Attempt {
        uint64_t id;
        char *kind, *serial, *operator, *plan_id, *token_id, *device_id;
        uint64_t started_at; /* 0: its started line was not read */
        bool has_outcome;
        bool awaits_confirmation; /* a factory attempt that blinked, not yet confirmed or failed */
        bool has_timing;
        uint64_t timing[_TIMING_N];
        bool timing_valid[_TIMING_N];
        int clean; /* -1: not said */
        struct Attempt *prev, *next;
} Attempt;

struct ResultsAttempts {
        char *fixture_id, *line;
        Attempt *head, *tail; /* ascending IDs */
        size_t n;
};

/* What one document says beyond the summary. */
typedef struct Ending {
        const char *event, *outcome;
        uint64_t finished_at; /* 0: null */
        const char *error_name, *message;
} Ending;

static Attempt *attempt_free(ResultsAttempts *a, Attempt *t) {
        if (t->prev)
                t->prev->next = t->next;
        else
                a->head = t->next;
        if (t->next)
                t->next->prev = t->prev;
        else
                a->tail = t->prev;
        a->n--;
        free(t->kind);
        free(t->serial);
        free(t->operator);
        free(t->plan_id);
        free(t->token_id);
        free(t->device_id);
        return mfree(t);
}

ResultsAttempts *results_attempts_new(const char *fixture_id, const char *line) {
        ResultsAttempts *a = calloc(1, sizeof(*a));

        if (!a)
                return NULL;
        if ((fixture_id && !(a->fixture_id = strdup(fixture_id))) || (line && !(a->line = strdup(line))))
                return results_attempts_free(a);
        return a;
}

ResultsAttempts *results_attempts_free(ResultsAttempts *a) {
        if (!a)
                return NULL;
        while (a->head)
                attempt_free(a, a->head);
        free(a->fixture_id);
        free(a->line);
        return mfree(a);
}

/* The attempt of id, made (in ID order) when it is new; the oldest go beyond
 * RESULTS_ATTEMPTS_MAX. NULL: out of memory. */
static Attempt *attempt_get(ResultsAttempts *a, uint64_t id) {
        Attempt *at, *t;

        for (at = a->tail; at && at->id > id; at = at->prev)
                ;
        if (at && at->id == id)
                return at;
        t = calloc(1, sizeof(*t));
        if (!t)
                return NULL;
        t->id = id;
        t->clean = -1;
        /* after at (NULL: first) */
        t->prev = at;
        t->next = at ? at->next : a->head;
        if (t->next)
                t->next->prev = t;
        else
                a->tail = t;
        if (at)
                at->next = t;
        else
                a->head = t;
        a->n++;
        while (a->n > RESULTS_ATTEMPTS_MAX && a->head != t)
                attempt_free(a, a->head);
        return t;
}

static int set_field(char **p, const RecordLine *l, const char *key) {
        const char *v = record_line_get(l, key);

        if (!v)
                return 0;
        free(*p);
        *p = strdup(v);
        return *p ? 0 : -ENOMEM;
}

static void set_timing(Attempt *t, const RecordLine *l) {
        const char *clean = record_line_get(l, "clean");

        t->has_timing = true;
        for (size_t i = 0; i < _TIMING_N; i++) {
                const char *v = record_line_get(l, timing_keys[i]);
                char *end;

                t->timing_valid[i] = false;
                if (!v || *v < '0' || *v > '9')
                        continue;
                errno = 0;
                t->timing[i] = strtoull(v, &end, 10);
                t->timing_valid[i] = errno == 0 && !*end;
        }
        t->clean = !clean ? -1 : streq(clean, "yes") ? 1 : streq(clean, "no") ? 0 : -1;
}

static json_object *json_uint(uint64_t v) {
#if defined(JSON_C_VERSION_NUM) && JSON_C_VERSION_NUM >= ((0 << 16) | (14 << 8))
        return json_object_new_uint64(v);
#else
        return json_object_new_int64(v > INT64_MAX ? INT64_MAX : (int64_t) v);
#endif
}

static json_object *json_str(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

static json_object *json_time(uint64_t usec) {
        char buf[RECORD_TIMESTAMP_MAX];

        return usec ? json_object_new_string(record_format_timestamp(buf, usec)) : NULL;
}

static json_object *json_timing(const Attempt *t) {
        json_object *o;

        if (!t->has_timing)
                return NULL;
        o = json_object_new_object();
        if (!o)
                return NULL;
        for (size_t i = 0; i < _TIMING_N; i++)
                json_object_object_add(o, timing_keys[i], t->timing_valid[i] ? json_uint(t->timing[i]) : NULL);
        json_object_object_add(o, "clean", t->clean < 0 ? NULL : json_object_new_boolean(t->clean));
        return o;
}

/* A value that could not be made (out of memory) is indistinguishable from null here; the whole
 * document is checked by its serialisation instead. */
static int document_build(const ResultsAttempts *a, const Attempt *t, const Ending *e, const char *key,
                          char **ret) {
        json_object *o = json_object_new_object();
        const char *s;

        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "schema", json_object_new_int(RESULTS_SCHEMA));
        json_object_object_add(o, "idempotency_key", json_object_new_string(key));
        json_object_object_add(o, "event", json_object_new_string(e->event));
        json_object_object_add(o, "fixture_id", json_str(a->fixture_id));
        json_object_object_add(o, "line", json_str(a->line));
        json_object_object_add(o, "attempt_id", json_uint(t->id));
        json_object_object_add(o, "kind", json_str(t->kind));
        json_object_object_add(o, "started_at", json_time(t->started_at));
        json_object_object_add(o, "finished_at", json_time(e->finished_at));
        json_object_object_add(o, "outcome", json_object_new_string(e->outcome));
        json_object_object_add(o, "error_name", json_str(e->error_name));
        json_object_object_add(o, "message", json_str(e->message));
        json_object_object_add(o, "plan_id", json_str(t->plan_id));
        json_object_object_add(o, "token_id", json_str(t->token_id));
        json_object_object_add(o, "device_id", json_str(t->device_id));
        json_object_object_add(o, "serial", json_str(t->serial));
        json_object_object_add(o, "operator", json_str(t->operator));
        json_object_object_add(o, "timing", json_timing(t));
        json_object_object_add(o, "frames_sent",
                               json_uint(t->has_timing && t->timing_valid[TIMING_FRAMES] ? t->timing[TIMING_FRAMES] : 0));
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        *ret = s ? strdup(s) : NULL;
        json_object_put(o);
        return *ret ? 0 : -ENOMEM;
}

static int emit_document(const ResultsAttempts *a, const Attempt *t, const Ending *e, results_emit_t emit,
                         void *userdata) {
        _cleanup_(freep) char *key = NULL, *json = NULL;
        int r;

        if (asprintf(&key, "%s-%" PRIu64 "-%s", a->fixture_id ?: "none", t->id, e->event) < 0)
                return -ENOMEM;
        r = document_build(a, t, e, key, &json);
        if (r < 0)
                return r;
        return emit(t->id, e->event, TAKE_PTR(json), TAKE_PTR(key), userdata);
}

/* A started line of id: every older attempt without an outcome ends as "unfinished". */
static int end_unfinished(ResultsAttempts *a, uint64_t id, results_emit_t emit, void *userdata) {
        static const Ending e = { .event = RESULTS_EVENT_OUTCOME, .outcome = "unfinished" };
        int r;

        for (Attempt *t = a->head; t && t->id < id; t = t->next) {
                if (t->has_outcome)
                        continue;
                t->has_outcome = true;
                r = emit_document(a, t, &e, emit, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int feed_started(Attempt *t, const RecordLine *l) {
        int r;

        t->started_at = l->timestamp_usec;
        r = set_field(&t->kind, l, "kind");
        if (r >= 0)
                r = set_field(&t->serial, l, "serial");
        if (r >= 0)
                r = set_field(&t->operator, l, "operator");
        return r;
}

/* blinked, failed, cancelled, confirmed: the document the line causes, if any (e->event NULL:
 * none). */
static int feed_ending(Attempt *t, const RecordLine *l, Ending *e) {
        bool blinked = streq(l->event, RECORD_EVENT_BLINKED), failed = streq(l->event, RECORD_EVENT_FAILED);
        bool confirmed = streq(l->event, RECORD_EVENT_CONFIRMED);

        *e = (Ending){ .finished_at = l->timestamp_usec };
        if (failed) {
                e->error_name = record_line_get(l, "error");
                e->message = record_line_get(l, "message");
        }
        if (!t->has_outcome && (blinked || failed || streq(l->event, RECORD_EVENT_CANCELLED))) {
                t->has_outcome = true;
                if (blinked)
                        set_timing(t, l);
                t->awaits_confirmation = blinked && streq_ptr(t->kind, "factory");
                e->event = RESULTS_EVENT_OUTCOME;
                e->outcome = blinked ? "success" : failed ? "failed" : "cancelled";
                return 0;
        }
        /* the confirmation of a factory attempt that blinked; a confirmed line of an attempt
         * whose beginning was not read is taken for one too (rather lose nothing) */
        if ((confirmed || failed) && (t->awaits_confirmation || (confirmed && !t->kind))) {
                t->awaits_confirmation = false;
                t->has_outcome = true;
                if (confirmed && set_field(&t->device_id, l, "device_id") < 0)
                        return -ENOMEM;
                e->event = RESULTS_EVENT_CONFIRMATION;
                e->outcome = confirmed ? "confirmed" : "failed";
        }
        return 0;
}

int results_attempts_feed(ResultsAttempts *a, const RecordLine *l, results_emit_t emit, void *userdata) {
        Ending e = {};
        Attempt *t;
        int r = 0;

        if (streq(l->event, RECORD_EVENT_STARTED)) {
                r = end_unfinished(a, l->attempt_id, emit, userdata);
                if (r < 0)
                        return r;
        }
        t = attempt_get(a, l->attempt_id);
        if (!t)
                return -ENOMEM;
        if (streq(l->event, RECORD_EVENT_STARTED))
                r = feed_started(t, l);
        else if (streq(l->event, RECORD_EVENT_TOKEN)) {
                r = set_field(&t->token_id, l, "token_id");
                if (r >= 0)
                        r = set_field(&t->plan_id, l, "plan_id");
        } else
                r = feed_ending(t, l, &e);
        if (r < 0 || !e.event)
                return r;
        return emit_document(a, t, &e, emit, userdata);
}
