/* SPDX-License-Identifier: MIT */
/* The results outbox: the attempt record read forward, file by file (attempts.log.N lowest N
 * first, then attempts.log), from where reading stopped; each complete line goes through
 * results-attempt.c and the documents it causes are queued with the position just past it. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs-util.h"
#include "https-proto.h"
#include "log.h"
#include "results-outbox-internal.h"

#define READ_CHUNK (RECORD_LINE_MAX + 2)

struct ResultsOutbox {
        int dir_fd;
        char *state_dir;
        ResultsAttempts *attempts;
        ResultsDocument *head, *tail;
        size_t backlog;
        unsigned parked;

        /* reading: the next byte to read, in the file of that generation */
        uint64_t generation, offset;
        bool skipping; /* inside a line longer than RECORD_LINE_MAX, dropped up to its end */
        uint64_t line_end; /* of the line being fed */
        char *buf;

        /* until the delivered position is passed, documents are not queued */
        bool learning;
        ResultsPosition resume;
};

int results_outbox_new(const char *state_dir, const char *fixture_id, const char *line, ResultsOutbox **ret) {
        _cleanup_(results_outbox_freep) ResultsOutbox *o = NULL;

        o = calloc(1, sizeof(*o));
        if (!o)
                return -ENOMEM;
        o->dir_fd = -1;
        o->state_dir = strdup(state_dir);
        o->attempts = results_attempts_new(fixture_id, line);
        o->buf = malloc(READ_CHUNK);
        if (!o->state_dir || !o->attempts || !o->buf)
                return -ENOMEM;
        o->dir_fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (o->dir_fd < 0)
                return -errno;
        *ret = TAKE_PTR(o);
        return 0;
}

static void document_free(ResultsDocument *d) {
        free(d->key);
        free(d->json);
        free(d);
}

static void queue_pop(ResultsOutbox *o) {
        ResultsDocument *d = o->head;

        o->head = d->next;
        if (o->head)
                o->head->prev = NULL;
        else
                o->tail = NULL;
        o->backlog--;
        document_free(d);
}

ResultsOutbox *results_outbox_free(ResultsOutbox *o) {
        if (!o)
                return NULL;
        while (o->head)
                queue_pop(o);
        results_attempts_free(o->attempts);
        safe_close(o->dir_fd);
        free(o->state_dir);
        free(o->buf);
        return mfree(o);
}

const ResultsDocument *results_outbox_peek(const ResultsOutbox *o) {
        return o->head;
}

size_t results_outbox_backlog(const ResultsOutbox *o) {
        return o->backlog;
}

unsigned results_outbox_parked(const ResultsOutbox *o) {
        return o->parked;
}

static int position_compare(uint64_t g1, uint64_t o1, uint64_t g2, uint64_t o2) {
        if (g1 != g2)
                return g1 < g2 ? -1 : 1;
        return o1 < o2 ? -1 : o1 > o2 ? 1 : 0;
}

static int on_document(uint64_t attempt_id, const char *event, char *json, char *key, void *userdata) {
        ResultsOutbox *o = userdata;
        ResultsDocument *d;

        /* while learning, only the documents of the delivered position's own line are kept (the
         * ones after the delivered one go out after the line is done) */
        if (o->learning && position_compare(o->generation, o->line_end, o->resume.generation, o->resume.offset) < 0) {
                free(json);
                free(key);
                return 0;
        }
        d = calloc(1, sizeof(*d));
        if (!d) {
                free(json);
                free(key);
                return -ENOMEM;
        }
        d->json = json;
        d->key = key;
        d->position = (ResultsPosition){ .generation = o->generation, .offset = o->line_end, .attempt_id = attempt_id };
        (void) snprintf(d->position.event, sizeof(d->position.event), "%s", event);
        d->prev = o->tail;
        if (o->tail)
                o->tail->next = d;
        else
                o->head = d;
        o->tail = d;
        o->backlog++;
        return 0;
}

/* The line just fed reached or passed the delivered position: learning ends. The documents of
 * the position's own line up to the delivered one are dropped; when none of them is the
 * delivered one (the position does not match the record), all are kept. */
static void learning_check(ResultsOutbox *o) {
        int c = position_compare(o->generation, o->line_end, o->resume.generation, o->resume.offset);

        if (c < 0)
                return;
        o->learning = false;
        if (c > 0) {
                log_warning("The delivered position (%s) is not at the end of a line: going on from the next "
                            "line; a document may be delivered twice.", RESULTS_POSITION_FILENAME);
                return;
        }
        for (ResultsDocument *d = o->head; d; d = d->next)
                if (d->position.attempt_id == o->resume.attempt_id && streq(d->position.event, o->resume.event)) {
                        while (o->head != d)
                                queue_pop(o);
                        queue_pop(o);
                        return;
                }
}

/* One line, terminated by its '\n' (at line[length]), ending at o->line_end. */
static int feed_line(ResultsOutbox *o, char *line, size_t length) {
        RecordLine l;
        int r;

        if (length > RECORD_LINE_MAX || memchr(line, 0, length))
                r = -EBADMSG; /* zeros after a crash, or too long */
        else {
                line[length] = 0;
                r = record_parse_line(line, &l);
        }
        if (r == -ENOMEM)
                return r;
        if (r >= 0) {
                r = results_attempts_feed(o->attempts, &l, on_document, o);
                record_line_done(&l);
                if (r < 0)
                        return r;
        } else if (r != -ENODATA)
                log_debug("Skipping a damaged line of the record (generation %" PRIu64 ", ending at %" PRIu64 ").",
                          o->generation, o->line_end);
        if (o->learning)
                learning_check(o);
        return 0;
}

/* The complete lines of buf (n bytes read at o->offset); o->offset moves past each. Returns 1
 * when the queue is full (reading pauses), 0 when the chunk holds no more complete line. */
static int feed_chunk(ResultsOutbox *o, size_t n) {
        uint64_t base = o->offset;
        size_t start = 0;
        int r;

        for (;;) {
                char *nl = memchr(o->buf + start, '\n', n - start);
                size_t end;

                if (!nl)
                        return 0;
                end = (size_t) (nl - o->buf);
                o->line_end = base + end + 1;
                if (o->skipping)
                        o->skipping = false;
                else {
                        r = feed_line(o, o->buf + start, end - start);
                        if (r < 0)
                                return r;
                }
                o->offset = o->line_end;
                start = end + 1;
                if (o->backlog >= RESULTS_QUEUE_MAX && !o->learning)
                        return 1;
        }
}

/* Reads the open file from o->offset to its last '\n'. A rotated file is never written again:
 * its unterminated end is damaged, and passed. Returns 1 when reading paused. */
static int read_file(ResultsOutbox *o, int fd, bool rotated) {
        struct stat st;
        int r;

        if (fstat(fd, &st) < 0)
                return -errno;
        while (o->offset < (uint64_t) st.st_size) {
                uint64_t before = o->offset;
                size_t n = (size_t) MIN((uint64_t) READ_CHUNK, (uint64_t) st.st_size - o->offset);

                r = pread_full(fd, o->buf, n, o->offset);
                if (r < 0)
                        return r;
                r = feed_chunk(o, n);
                if (r != 0)
                        return r;
                if (o->offset != before)
                        continue;
                if (n == READ_CHUNK) { /* no '\n' in a whole chunk: a line too long, dropped */
                        o->skipping = true;
                        o->offset += n;
                } else if (rotated) {
                        o->offset = (uint64_t) st.st_size;
                        o->skipping = false;
                } else
                        break; /* a line still being written, or torn: read when it is complete */
        }
        return 0;
}

/* The highest N of attempts.log.N (0: none) and the lowest N >= from (0: none). */
static int rotated_scan(int dir_fd, uint64_t from, uint64_t *ret_highest, uint64_t *ret_next) {
        _cleanup_(freep) unsigned *list = NULL;
        size_t n = 0;
        int r;

        r = record_list_rotated(dir_fd, &list, &n);
        if (r < 0)
                return r;
        *ret_highest = n > 0 ? list[0] : 0;
        *ret_next = 0;
        for (size_t i = 0; i < n && list[i] >= from; i++) /* highest first */
                *ret_next = list[i];
        return 0;
}

/* Opens the file of o->generation (the next rotated one when that number is missing; attempts.log
 * past the rotated ones). *ret_fd is -1 when there is nothing to read yet. */
static int open_current(ResultsOutbox *o, int *ret_fd, bool *ret_rotated) {
        for (;;) {
                char name[sizeof(RECORD_FILENAME) + 24];
                uint64_t highest, next, again;
                int fd, r;

                r = rotated_scan(o->dir_fd, o->generation, &highest, &next);
                if (r < 0)
                        return r;
                if (next > 0) {
                        if (next != o->generation) {
                                log_warning("%s.%" PRIu64 " is missing: going on with %s.%" PRIu64 ".",
                                            RECORD_FILENAME, o->generation, RECORD_FILENAME, next);
                                o->generation = next;
                                o->offset = 0;
                        }
                        (void) snprintf(name, sizeof(name), RECORD_FILENAME ".%" PRIu64, next);
                        fd = open_regular_file(o->dir_fd, name, NULL);
                        if (fd < 0)
                                return fd;
                        *ret_fd = fd;
                        *ret_rotated = true;
                        return 0;
                }
                if (o->generation != highest + 1) { /* only when a rotated file went away */
                        o->generation = highest + 1;
                        o->offset = 0;
                }
                fd = open_regular_file(o->dir_fd, RECORD_FILENAME, NULL);
                if (fd == -ENOENT) {
                        *ret_fd = -1;
                        return 0;
                }
                if (fd < 0)
                        return fd;
                /* rotated between the listing and the open: this may be the next generation */
                r = rotated_scan(o->dir_fd, o->generation, &again, &next);
                if (r >= 0 && again == highest) {
                        *ret_fd = fd;
                        *ret_rotated = false;
                        return 0;
                }
                safe_close(fd);
                if (r < 0)
                        return r;
        }
}

static int read_record(ResultsOutbox *o) {
        for (;;) {
                _cleanup_(closep) int fd = -1;
                bool rotated = false;
                int r;

                r = open_current(o, &fd, &rotated);
                if (r < 0)
                        return r;
                if (fd < 0)
                        return 0;
                r = read_file(o, fd, rotated);
                if (r != 0)
                        return r < 0 ? r : 0;
                if (!rotated)
                        return 0;
                o->generation++;
                o->offset = 0;
                o->skipping = false;
        }
}

int results_outbox_read(ResultsOutbox *o) {
        size_t before = o->backlog;
        int r;

        r = read_record(o);
        if (r < 0)
                return log_error_errno(r, "Cannot read the record in %s: %m", o->state_dir);
        return (int) MIN(o->backlog - MIN(before, o->backlog), (size_t) INT32_MAX);
}

/* Does the position point into the record as it is (a file of its generation at least as long
 * as its offset)? */
static bool position_valid(ResultsOutbox *o, const ResultsPosition *p) {
        char name[sizeof(RECORD_FILENAME) + 24];
        uint64_t highest, next;
        struct stat st = {};
        int fd;

        if (rotated_scan(o->dir_fd, p->generation, &highest, &next) < 0)
                return false;
        if (p->generation <= highest && next == p->generation)
                (void) snprintf(name, sizeof(name), RECORD_FILENAME ".%" PRIu64, p->generation);
        else if (p->generation == highest + 1)
                (void) snprintf(name, sizeof(name), "%s", RECORD_FILENAME);
        else
                return false;
        fd = open_regular_file(o->dir_fd, name, &st);
        if (fd < 0)
                return false;
        safe_close(fd);
        return p->offset <= (uint64_t) st.st_size;
}

/* Where reading starts: the beginning of the file before the position's (learning up to the
 * position), or of the oldest file. */
static int start_at(ResultsOutbox *o, const ResultsPosition *p) {
        _cleanup_(freep) unsigned *list = NULL;
        size_t n = 0;
        int r;

        r = record_list_rotated(o->dir_fd, &list, &n);
        if (r < 0)
                return r;
        o->offset = 0;
        o->generation = n > 0 ? list[n - 1] : 1; /* the oldest */
        if (!p)
                return 0;
        o->learning = true;
        o->resume = *p;
        for (size_t i = 0; i < n; i++) /* the highest below the position's */
                if (list[i] < p->generation) {
                        o->generation = list[i];
                        return 0;
                }
        o->generation = MIN(o->generation, p->generation);
        return 0;
}

int results_outbox_start(ResultsOutbox *o) {
        ResultsPosition p;
        int r;

        r = results_parked_count(o->dir_fd, &o->parked);
        if (r < 0)
                log_warning_errno(r, "Cannot count the lines of %s: %m", RESULTS_PARKED_FILENAME);

        r = results_position_load(o->dir_fd, &p);
        if (r >= 0 && !position_valid(o, &p))
                r = -ERANGE;
        if (r == -EBADMSG || r == -ERANGE)
                log_error("%s/%s is %s: delivering from the oldest file of the record (documents may be "
                          "delivered twice).",
                          o->state_dir, RESULTS_POSITION_FILENAME,
                          r == -EBADMSG ? "corrupt" : "past the end of the record");
        else if (r < 0 && r != -ENOENT)
                log_error_errno(r, "Cannot read %s/%s, delivering from the oldest file of the record: %m",
                                o->state_dir, RESULTS_POSITION_FILENAME);
        r = start_at(o, r >= 0 ? &p : NULL);
        if (r < 0)
                return log_error_errno(r, "Cannot list the record's files in %s: %m", o->state_dir);
        return results_outbox_read(o);
}

int results_outbox_delivered(ResultsOutbox *o) {
        int r;

        if (!o->head)
                return -ENODATA;
        r = results_position_save(o->dir_fd, &o->head->position);
        if (r < 0)
                log_error_errno(r, "Cannot save the delivered position in %s/%s: %m", o->state_dir,
                                RESULTS_POSITION_FILENAME);
        queue_pop(o);
        return 0;
}

int results_outbox_park(ResultsOutbox *o, uint64_t now_usec, long http_status, const char *reason) {
        _cleanup_(freep) char *line = NULL;
        int r;

        if (!o->head)
                return -ENODATA;
        r = results_parked_line(o->head->json, now_usec, http_status, reason, &line);
        if (r >= 0)
                r = results_parked_append(o->dir_fd, line);
        if (r < 0)
                return log_error_errno(r, "Cannot write %s/%s: %m", o->state_dir, RESULTS_PARKED_FILENAME);
        o->parked++;
        return results_outbox_delivered(o);
}
