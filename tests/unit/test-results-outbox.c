/* SPDX-License-Identifier: MIT */
/* The results outbox without the network: a record written by the real writer (rotations, a
 * damaged line, a torn last line, an attempt the daemon did not finish, a confirmation after
 * the next attempt's outcome) must give exactly the documents the results delivery's rules say
 * (https-proto.h), in record order, and a restart from a saved position exactly the rest. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <check.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "https-proto.h"
#include "record.h"
#include "results-outbox.h"
#include "tests.h"

#define FIXTURE "0123456789abcdef"
#define ERR_TIMEOUT "org.blinkupd.Fixture1.Error.Timeout"
#define ERR_CONFIRM "org.blinkupd.Fixture1.Error.Server"

/* ---- helpers ---- */

static void make_dir(char *dir) {
        strcpy(dir, "/tmp/test-results-outbox.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_dir(const char *dir) {
        char *cmd;

        ck_assert_int_ge(asprintf(&cmd, "rm -rf '%s'", dir), 0);
        ck_assert_int_eq(system(cmd), 0);
        free(cmd);
}

static char *read_text(const char *dir, const char *name) {
        char path[PATH_MAX], *text = NULL;
        size_t n = 0;
        FILE *f;

        (void) snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "re");
        if (!f)
                return NULL;
        text = calloc(1, 1 << 20);
        ck_assert_ptr_nonnull(text);
        n = fread(text, 1, (1 << 20) - 1, f);
        text[n] = 0;
        fclose(f);
        return text;
}

static void append_raw(const char *dir, const char *name, const char *bytes, size_t n) {
        char path[PATH_MAX];
        int fd;

        (void) snprintf(path, sizeof(path), "%s/%s", dir, name);
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, bytes, n), (ssize_t) n);
        close(fd);
}

/* The line of file name holding needle: its time (the first 27 bytes) and the offset just past
 * it. */
static bool find_line(const char *dir, const char *name, const char *needle, char ts[static 32], uint64_t *ret_end) {
        char *text = read_text(dir, name), *p, *start, *nl;

        if (!text)
                return false;
        p = strstr(text, needle);
        if (!p) {
                free(text);
                return false;
        }
        for (start = p; start > text && start[-1] != '\n'; start--)
                ;
        nl = strchr(p, '\n');
        ck_assert_ptr_nonnull(nl);
        memcpy(ts, start, 27);
        ts[27] = 0;
        if (ret_end)
                *ret_end = (uint64_t) (nl + 1 - text);
        free(text);
        return true;
}

static const char *jstr(json_object *o, const char *key) {
        json_object *v;

        ck_assert_msg(json_object_object_get_ex(o, key, &v), "no \"%s\"", key);
        return v ? json_object_get_string(v) : NULL;
}

static bool jnull(json_object *o, const char *key) {
        json_object *v;

        ck_assert_msg(json_object_object_get_ex(o, key, &v), "no \"%s\"", key);
        return v == NULL;
}

static int64_t jint(json_object *o, const char *key) {
        json_object *v;

        ck_assert_msg(json_object_object_get_ex(o, key, &v) && v, "no \"%s\"", key);
        ck_assert(json_object_is_type(v, json_type_int));
        return json_object_get_int64(v);
}

static void ck_str_or_null(json_object *o, const char *key, const char *want) {
        if (!want)
                ck_assert_msg(jnull(o, key), "\"%s\" should be null", key);
        else
                ck_assert_str_eq(jstr(o, key) ?: "(null)", want);
}

typedef struct Want {
        uint64_t attempt;
        const char *event, *outcome, *kind;
        const char *started_needle, *finished_needle; /* the lines whose times they are; NULL: null */
        const char *error_name, *message, *plan_id, *token_id, *device_id, *serial, *operator;
        int64_t frames_sent; /* also: timing is null when 0 */
        uint64_t generation;
        const char *end_needle; /* the line that caused it (its end is the position) */
} Want;

/* attempts.log.G, or attempts.log when there is no such file */
static const char *file_of(const char *dir, uint64_t generation) {
        static char name[64];
        char path[PATH_MAX];

        (void) snprintf(name, sizeof(name), RECORD_FILENAME ".%" PRIu64, generation);
        (void) snprintf(path, sizeof(path), "%s/%s", dir, name);
        return access(path, F_OK) == 0 ? name : RECORD_FILENAME;
}

static void check_time(const char *dir, json_object *o, const char *key, const char *needle) {
        char ts[32];

        if (!needle) {
                ck_assert_msg(jnull(o, key), "\"%s\" should be null", key);
                return;
        }
        ck_assert_msg(find_line(dir, RECORD_FILENAME ".1", needle, ts, NULL) ||
                              find_line(dir, RECORD_FILENAME ".2", needle, ts, NULL) ||
                              find_line(dir, RECORD_FILENAME, needle, ts, NULL),
                      "no line \"%s\"", needle);
        ck_assert_str_eq(jstr(o, key), ts);
}

/* The document matches w in every field, and its position is just past w's line. */
static void check_document(const char *dir, const char *fixture, const ResultsDocument *d, const Want *w) {
        char key[128], ts[32];
        uint64_t end = 0;
        json_object *o, *t;

        ck_assert_ptr_nonnull(d);
        (void) snprintf(key, sizeof(key), "%s-%" PRIu64 "-%s", fixture ?: "none", w->attempt, w->event);
        ck_assert_str_eq(d->key, key);
        o = json_tokener_parse(d->json);
        ck_assert_ptr_nonnull(o);
        ck_assert_int_eq(json_object_object_length(o), 19);
        ck_assert_int_eq(jint(o, "schema"), 1);
        ck_assert_str_eq(jstr(o, "idempotency_key"), key);
        ck_assert_str_eq(jstr(o, "event"), w->event);
        ck_str_or_null(o, "fixture_id", fixture);
        ck_str_or_null(o, "line", fixture ? "line-3" : NULL);
        ck_assert_int_eq(jint(o, "attempt_id"), (int64_t) w->attempt);
        ck_str_or_null(o, "kind", w->kind);
        check_time(dir, o, "started_at", w->started_needle);
        check_time(dir, o, "finished_at", w->finished_needle);
        ck_assert_str_eq(jstr(o, "outcome"), w->outcome);
        ck_str_or_null(o, "error_name", w->error_name);
        ck_str_or_null(o, "message", w->message);
        ck_str_or_null(o, "plan_id", w->plan_id);
        ck_str_or_null(o, "token_id", w->token_id);
        ck_str_or_null(o, "device_id", w->device_id);
        ck_str_or_null(o, "serial", w->serial);
        ck_str_or_null(o, "operator", w->operator);
        ck_assert_int_eq(jint(o, "frames_sent"), w->frames_sent);
        if (w->frames_sent == 0)
                ck_assert(jnull(o, "timing"));
        else {
                ck_assert(json_object_object_get_ex(o, "timing", &t) && t);
                ck_assert_int_eq(json_object_object_length(t), 5);
                ck_assert_int_eq(jint(t, "edges"), 212);
                ck_assert_int_eq(jint(t, "frames"), w->frames_sent);
                ck_assert_int_eq(jint(t, "max_lateness_ns"), 51234);
                ck_assert_int_eq(jint(t, "p99_lateness_ns"), 40000);
                ck_assert_str_eq(jstr(t, "clean"), "true");
        }
        json_object_put(o);

        ck_assert_int_eq(d->position.generation, w->generation);
        ck_assert(find_line(dir, file_of(dir, w->generation), w->end_needle, ts, &end));
        ck_assert_int_eq(d->position.offset, end);
        ck_assert_int_eq(d->position.attempt_id, w->attempt);
        ck_assert_str_eq(d->position.event, w->event);
}

static const RecordTiming timing_one = { .edges = 212, .frames = 1, .max_lateness_ns = 51234,
                                         .p99_lateness_ns = 40000, .clean = true };

/* A complete line for the torn-line step, written by the real writer in a scratch directory. */
static char *line_of_started(uint64_t id) {
        char dir[64];
        Record *r = NULL;
        char *text;

        make_dir(dir);
        ck_assert_int_eq(record_open(dir, &r), 0);
        ck_assert_int_eq(record_append_started(r, id, "factory"), 0);
        record_free(r);
        text = read_text(dir, RECORD_FILENAME);
        remove_dir(dir);
        return text;
}

/* attempts.log.1: 1 (factory, blinked), 2 (clear, cancelled), 1's confirmation;
 * attempts.log.2: 3 (failed), a damaged line, 4 (no outcome), 5 (blinked, confirmation failed);
 * attempts.log:   6 (clear, blinked), and a torn last line: 7's started line, half written. */
static char seven[256]; /* that line, whole */

static void write_record(const char *dir) {
        static const char damaged[] = "2026-11-24T03:10:00.123456Z attempt=9 event=blinked crc=00000000\n";
        Record *r = NULL;
        char *line;

        ck_assert_int_eq(record_open(dir, &r), 0);
        ck_assert_int_eq(record_append_started_identity(r, 1, "factory", "SN-0001", "alice"), 0);
        ck_assert_int_eq(record_append_token(r, 1, "1234567890abcdef", "00aa11bb22cc33dd"), 0);
        ck_assert_int_eq(record_append_blinked(r, 1, &timing_one), 0);
        ck_assert_int_eq(record_append_started(r, 2, "clear"), 0);
        ck_assert_int_eq(record_append_cancelled(r, 2), 0);
        ck_assert_int_eq(record_append_confirmed(r, 1, "dev-0001"), 0);
        record_set_max_size(r, 1);
        ck_assert_int_eq(record_rotate(r, NULL), 1);

        ck_assert_int_eq(record_append_started_identity(r, 3, "factory", "SN-0003", NULL), 0);
        ck_assert_int_eq(record_append_failed(r, 3, ERR_TIMEOUT, "no answer in 30 s"), 0);
        append_raw(dir, RECORD_FILENAME, damaged, strlen(damaged));
        ck_assert_int_eq(record_append_started(r, 4, "factory"), 0);
        ck_assert_int_eq(record_append_token(r, 4, "aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"), 0);
        ck_assert_int_eq(record_append_started(r, 5, "factory"), 0);
        ck_assert_int_eq(record_append_blinked(r, 5, &timing_one), 0);
        ck_assert_int_eq(record_append_failed(r, 5, ERR_CONFIRM, "the device did not check in"), 0);
        ck_assert_int_eq(record_rotate(r, NULL), 1);

        ck_assert_int_eq(record_append_started(r, 6, "clear"), 0);
        ck_assert_int_eq(record_append_blinked(r, 6, &timing_one), 0);
        record_free(r);

        line = line_of_started(7);
        ck_assert_int_lt(strlen(line), sizeof(seven));
        strcpy(seven, line);
        free(line);
        append_raw(dir, RECORD_FILENAME, seven, 30);
}

/* The record's documents, by hand from the rules. */
static const Want want_all[] = {
        { 1, "outcome", "success", "factory", "attempt=1 event=started", "attempt=1 event=blinked", NULL, NULL,
          "00aa11bb22cc33dd", "1234567890abcdef", NULL, "SN-0001", "alice", 1, 1, "attempt=1 event=blinked" },
        { 2, "outcome", "cancelled", "clear", "attempt=2 event=started", "attempt=2 event=cancelled", NULL, NULL,
          NULL, NULL, NULL, NULL, NULL, 0, 1, "attempt=2 event=cancelled" },
        { 1, "confirmation", "confirmed", "factory", "attempt=1 event=started", "attempt=1 event=confirmed", NULL,
          NULL, "00aa11bb22cc33dd", "1234567890abcdef", "dev-0001", "SN-0001", "alice", 1, 1,
          "attempt=1 event=confirmed" },
        { 3, "outcome", "failed", "factory", "attempt=3 event=started", "attempt=3 event=failed", ERR_TIMEOUT,
          "no answer in 30 s", NULL, NULL, NULL, "SN-0003", NULL, 0, 2, "attempt=3 event=failed" },
        { 4, "outcome", "unfinished", "factory", "attempt=4 event=started", NULL, NULL, NULL, "bbbbbbbbbbbbbbbb",
          "aaaaaaaaaaaaaaaa", NULL, NULL, NULL, 0, 2, "attempt=5 event=started" },
        { 5, "outcome", "success", "factory", "attempt=5 event=started", "attempt=5 event=blinked", NULL, NULL, NULL,
          NULL, NULL, NULL, NULL, 1, 2, "attempt=5 event=blinked" },
        { 5, "confirmation", "failed", "factory", "attempt=5 event=started", "attempt=5 event=failed", ERR_CONFIRM,
          "the device did not check in", NULL, NULL, NULL, NULL, NULL, 1, 2, "attempt=5 event=failed" },
        { 6, "outcome", "success", "clear", "attempt=6 event=started", "attempt=6 event=blinked", NULL, NULL, NULL,
          NULL, NULL, NULL, NULL, 1, 3, "attempt=6 event=blinked" },
};
/* 7, once its line is complete and it is cancelled */
static const Want want_seven = { 7, "outcome", "cancelled", "factory", "attempt=7 event=started",
                                 "attempt=7 event=cancelled", NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 3,
                                 "attempt=7 event=cancelled" };

static ResultsOutbox *outbox_start(const char *dir, const char *fixture) {
        ResultsOutbox *o = NULL;

        ck_assert_int_eq(results_outbox_new(dir, fixture, fixture ? "line-3" : NULL, &o), 0);
        ck_assert_int_ge(results_outbox_start(o), 0);
        return o;
}

/* Checks the queue holds exactly want[from..n) and delivers them all. */
static void deliver_expect(const char *dir, const char *fixture, ResultsOutbox *o, const Want *want, size_t from,
                           size_t n) {
        ck_assert_int_eq(results_outbox_backlog(o), n - from);
        for (size_t i = from; i < n; i++) {
                check_document(dir, fixture, results_outbox_peek(o), &want[i]);
                ck_assert_int_eq(results_outbox_delivered(o), 0);
        }
        ck_assert_ptr_null(results_outbox_peek(o));
        ck_assert_int_eq(results_outbox_backlog(o), 0);
}

static void ck_position_file(const char *dir, const char *want_line) {
        char *text = read_text(dir, RESULTS_POSITION_FILENAME);

        ck_assert_ptr_nonnull(text);
        ck_assert_str_eq(text, want_line);
        free(text);
}

static void write_text(const char *dir, const char *name, const char *text) {
        char path[PATH_MAX];
        FILE *f;

        (void) snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        fputs(text, f);
        fclose(f);
}

/* ---- tests ---- */

START_TEST(test_sequence) {
        char dir[64], ts[32], want_pos[128];
        const size_t n = ELEMENTSOF(want_all);
        Record *r = NULL;
        ResultsOutbox *o;
        uint64_t end;

        make_dir(dir);
        write_record(dir);
        o = outbox_start(dir, FIXTURE);
        deliver_expect(dir, FIXTURE, o, want_all, 0, n);

        /* the last delivered: 6's outcome, just past its blinked line in attempts.log (3) */
        ck_assert(find_line(dir, RECORD_FILENAME, "attempt=6 event=blinked", ts, &end));
        (void) snprintf(want_pos, sizeof(want_pos), "generation=3 offset=%" PRIu64 " attempt=6 event=outcome\n", end);
        ck_position_file(dir, want_pos);

        /* the torn line completes: a started line causes nothing by itself */
        append_raw(dir, RECORD_FILENAME, seven + 30, strlen(seven) - 30);
        ck_assert_int_eq(results_outbox_read(o), 0);
        ck_assert_int_eq(results_outbox_backlog(o), 0);

        ck_assert_int_eq(record_open(dir, &r), 0);
        ck_assert_int_eq(record_append_cancelled(r, 7), 0);
        record_free(r);
        ck_assert_int_eq(results_outbox_read(o), 1);
        deliver_expect(dir, FIXTURE, o, &want_seven, 0, 1);
        ck_assert_int_eq(results_outbox_read(o), 0);
        results_outbox_free(o);
        remove_dir(dir);
}
END_TEST

/* Without a fixture ID and a line: "none" in the key, null in the document. */
START_TEST(test_no_fixture_id) {
        const size_t n = ELEMENTSOF(want_all);
        ResultsOutbox *o;
        char dir[64];

        make_dir(dir);
        write_record(dir);
        o = outbox_start(dir, NULL);
        deliver_expect(dir, NULL, o, want_all, 0, n);
        results_outbox_free(o);
        remove_dir(dir);
}
END_TEST

/* Stopped after any number of documents, a new outbox hands out exactly the rest. */
START_TEST(test_resume) {
        const size_t n = ELEMENTSOF(want_all);
        char dir[64], path[PATH_MAX];

        make_dir(dir);
        write_record(dir);
        (void) snprintf(path, sizeof(path), "%s/%s", dir, RESULTS_POSITION_FILENAME);
        for (size_t k = 0; k <= n; k++) {
                ResultsOutbox *o;

                (void) unlink(path);
                o = outbox_start(dir, FIXTURE);
                ck_assert_int_eq(results_outbox_backlog(o), n);
                for (size_t i = 0; i < k; i++)
                        ck_assert_int_eq(results_outbox_delivered(o), 0);
                results_outbox_free(o);

                o = outbox_start(dir, FIXTURE);
                deliver_expect(dir, FIXTURE, o, want_all, k, n);
                results_outbox_free(o);
        }
        remove_dir(dir);
}
END_TEST

/* One started line ends two unfinished attempts (the daemon hands out IDs in order, so only a
 * record written out of order does this): a stop between their documents loses neither. */
START_TEST(test_two_unfinished) {
        static const Want want[] = {
                { 10, "outcome", "unfinished", "factory", "attempt=10 event=started", NULL, NULL, NULL, NULL, NULL,
                  NULL, NULL, NULL, 0, 1, "attempt=12 event=started" },
                { 11, "outcome", "unfinished", "clear", "attempt=11 event=started", NULL, NULL, NULL, NULL, NULL, NULL,
                  NULL, NULL, 0, 1, "attempt=12 event=started" },
                { 12, "outcome", "cancelled", "factory", "attempt=12 event=started", "attempt=12 event=cancelled",
                  NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 1, "attempt=12 event=cancelled" },
        };
        char dir[64], ts[32], want_pos[128];
        Record *r = NULL;
        ResultsOutbox *o;
        uint64_t end;

        make_dir(dir);
        ck_assert_int_eq(record_open(dir, &r), 0);
        ck_assert_int_eq(record_append_started(r, 11, "clear"), 0);
        ck_assert_int_eq(record_append_started(r, 10, "factory"), 0);
        ck_assert_int_eq(record_append_started(r, 12, "factory"), 0);
        ck_assert_int_eq(record_append_cancelled(r, 12), 0);
        record_free(r);

        o = outbox_start(dir, FIXTURE);
        ck_assert_int_eq(results_outbox_backlog(o), 3);
        check_document(dir, FIXTURE, results_outbox_peek(o), &want[0]);
        ck_assert_int_eq(results_outbox_delivered(o), 0);
        results_outbox_free(o);

        ck_assert(find_line(dir, RECORD_FILENAME, "attempt=12 event=started", ts, &end));
        (void) snprintf(want_pos, sizeof(want_pos), "generation=1 offset=%" PRIu64 " attempt=10 event=outcome\n", end);
        ck_position_file(dir, want_pos);

        o = outbox_start(dir, FIXTURE);
        deliver_expect(dir, FIXTURE, o, want, 1, 3);
        results_outbox_free(o);
        remove_dir(dir);
}
END_TEST

/* A corrupt position, or one past the end of the record: everything again, nothing lost. */
START_TEST(test_bad_position) {
        static const char *const bad[] = {
                "generation=2 offset=x\n",
                "generation=2 offset=10 attempt=3 event=outcome",
                "generation=02 offset=10 attempt=3 event=outcome\n",
                "generation=2 offset=10 attempt=3 event=outcome\nmore\n",
                "generation=2 offset=10 attempt=3 event=other\n",
                "generation=0 offset=10 attempt=3 event=outcome\n",
                "generation=9 offset=10 attempt=3 event=outcome\n",
                "generation=2 offset=999999 attempt=3 event=outcome\n",
        };
        const size_t n = ELEMENTSOF(want_all);
        char dir[64];

        make_dir(dir);
        write_record(dir);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                ResultsOutbox *o;

                write_text(dir, RESULTS_POSITION_FILENAME, bad[i]);
                o = outbox_start(dir, FIXTURE);
                ck_assert_msg(results_outbox_backlog(o) == n, "\"%s\": %zu documents", bad[i],
                              results_outbox_backlog(o));
                results_outbox_free(o);
        }
        remove_dir(dir);
}
END_TEST

START_TEST(test_position_file) {
        ResultsPosition p = { .generation = 3, .offset = 4711, .attempt_id = 42, .event = "confirmation" }, q;
        char dir[64];
        int dir_fd;

        make_dir(dir);
        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(dir_fd, 0);
        ck_assert_int_eq(results_position_load(dir_fd, &q), -ENOENT);
        ck_assert_int_eq(results_position_save(dir_fd, &p), 0);
        ck_position_file(dir, "generation=3 offset=4711 attempt=42 event=confirmation\n");
        ck_assert_int_eq(results_position_load(dir_fd, &q), 0);
        ck_assert_int_eq(q.generation, 3);
        ck_assert_int_eq(q.offset, 4711);
        ck_assert_int_eq(q.attempt_id, 42);
        ck_assert_str_eq(q.event, "confirmation");
        ck_assert_int_eq(faccessat(dir_fd, RESULTS_POSITION_FILENAME ".tmp", F_OK, 0), -1);
        close(dir_fd);
        remove_dir(dir);
}
END_TEST

/* A refused document goes to the parked file, whole, and delivery goes on past it. */
START_TEST(test_park) {
        const size_t n = ELEMENTSOF(want_all);
        json_object *o, *doc;
        ResultsOutbox *ob;
        char dir[64], *text, *nl;

        make_dir(dir);
        write_record(dir);
        ob = outbox_start(dir, FIXTURE);
        ck_assert_int_eq(results_outbox_parked(ob), 0);
        /* 2026-11-24T03:10:00.5Z */
        ck_assert_int_eq(results_outbox_park(ob, UINT64_C(1795489800500000), 422, "bad \"plan\"\n\x01\xc3\xa9"), 0);
        ck_assert_int_eq(results_outbox_parked(ob), 1);
        ck_assert_int_eq(results_outbox_backlog(ob), n - 1);
        results_outbox_free(ob);

        text = read_text(dir, RESULTS_PARKED_FILENAME);
        ck_assert_ptr_nonnull(text);
        nl = strchr(text, '\n');
        ck_assert(nl && nl[1] == 0); /* one line */
        o = json_tokener_parse(text);
        ck_assert_ptr_nonnull(o);
        ck_assert_int_eq(json_object_object_length(o), 4);
        ck_assert_str_eq(jstr(o, "parked_at"), "2026-11-24T03:10:00.500000Z");
        ck_assert_int_eq(jint(o, "http_status"), 422);
        ck_assert_str_eq(jstr(o, "reason"), "bad \"plan\"????");
        ck_assert(json_object_object_get_ex(o, "document", &doc) && doc);
        ck_assert_str_eq(jstr(doc, "idempotency_key"), FIXTURE "-1-outcome");
        ck_assert_str_eq(jstr(doc, "outcome"), "success");
        json_object_put(o);
        free(text);

        /* counted at start; the position is past the parked one */
        ob = outbox_start(dir, FIXTURE);
        ck_assert_int_eq(results_outbox_parked(ob), 1);
        deliver_expect(dir, FIXTURE, ob, want_all, 1, n);
        results_outbox_free(ob);
        remove_dir(dir);
}
END_TEST

static Suite *results_outbox_suite(void) {
        Suite *s = suite_create("results-outbox");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_sequence);
        tcase_add_test(tc, test_no_fixture_id);
        tcase_add_test(tc, test_resume);
        tcase_add_test(tc, test_two_unfinished);
        tcase_add_test(tc, test_bad_position);
        tcase_add_test(tc, test_position_file);
        tcase_add_test(tc, test_park);
        suite_add_tcase(s, tc);
        return s;
}

TEST_MAIN(results_outbox_suite)
