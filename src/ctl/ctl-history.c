/* SPDX-License-Identifier: MIT */
/* blinkupctl history: the last attempts, read from the durable attempt record (attempts.log
 * and its rotated files) without the bus, newest lines first, printed oldest first. */
#define _GNU_SOURCE 1 /* asprintf() */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-names.h"
#include "ctl-common.h"
#include "fs-util.h"
#include "macro.h"
#include "record.h"
#include "string-util.h"

#define HISTORY_DEFAULT 20
#define HISTORY_MAX 100000
#define DEVICE_WIDTH_MAX 32

typedef struct Attempt {
        uint64_t id;
        uint64_t started_usec;
        bool have_started, have_timing;
        char *kind;
        char *serial, *operator; /* NULL: the started line has none */
        char *outcome; /* the latest event */
        char *device_id;
        char *token_id, *plan_id;
        char *error_name, *message;
        uint64_t edges, frames, max_lateness_ns, p99_lateness_ns;
        bool clean, have_frames;
} Attempt;

typedef struct History {
        const char *path; /* of the file being read, for messages */
        Attempt *attempts;
        size_t n_attempts, n_started, allocated, want;
        size_t *index; /* open addressing, attempt ID -> position + 1 in attempts; 0: free */
        size_t index_size; /* a power of two, at least twice n_attempts */
} History;

static void history_done(History *h) {
        for (size_t i = 0; i < h->n_attempts; i++) {
                Attempt *a = h->attempts + i;
                free(a->kind);
                free(a->serial);
                free(a->operator);
                free(a->outcome);
                free(a->device_id);
                free(a->token_id);
                free(a->plan_id);
                free(a->error_name);
                free(a->message);
        }
        free(h->attempts);
        free(h->index);
}

static size_t history_slot(const History *h, uint64_t id) {
        size_t mask = h->index_size - 1, i = (size_t) ((id * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & mask;

        while (h->index[i] != 0 && h->attempts[h->index[i] - 1].id != id)
                i = (i + 1) & mask;
        return i;
}

/* Doubles the index (and places every attempt again) when it is half full. */
static int history_index_grow(History *h) {
        _cleanup_(freep) size_t *old = NULL;
        size_t old_size = h->index_size, size = MAX(old_size * 2, (size_t) 64), *index;

        if (h->index_size >= 2 * (h->n_attempts + 1))
                return 0;
        index = calloc(size, sizeof(size_t));
        if (!index)
                return -ENOMEM;
        old = TAKE_PTR(h->index);
        h->index = index;
        h->index_size = size;
        for (size_t i = 0; i < old_size; i++)
                if (old[i] != 0)
                        h->index[history_slot(h, h->attempts[old[i] - 1].id)] = old[i];
        return 0;
}

/* The attempt with this ID, added when it is new: a hash lookup, so reading a record is linear
 * in its lines however many attempts it holds. NULL when out of memory. */
static Attempt *history_get(History *h, uint64_t id) {
        Attempt *a;
        size_t slot;

        if (h->index_size > 0) {
                slot = history_slot(h, id);
                if (h->index[slot] != 0)
                        return h->attempts + h->index[slot] - 1;
        }
        if (history_index_grow(h) < 0)
                return NULL;
        slot = history_slot(h, id);
        if (h->n_attempts >= h->allocated) {
                size_t n = MAX(h->allocated * 2, (size_t) 32);
                Attempt *p = reallocarray(h->attempts, n, sizeof(Attempt));
                if (!p)
                        return NULL;
                h->attempts = p;
                h->allocated = n;
        }
        a = h->attempts + h->n_attempts++;
        *a = (Attempt){ .id = id };
        h->index[slot] = h->n_attempts;
        return a;
}

static int set_once(char **p, const char *s) {
        return *p ? 0 : free_and_strdup(p, strempty(s));
}

/* One line of the record into ret: 0, -ENODATA for a blank line, -EBADMSG for a damaged one. */
static int parse_line(const char *line, size_t length, RecordLine *ret) {
        _cleanup_(freep) char *copy = NULL;

        if (!line || memchr(line, 0, length))
                return -EBADMSG;
        copy = strndup(line, length);
        if (!copy)
                return -ENOMEM;
        return record_parse_line(copy, ret);
}

/* What line l says about its attempt a. Lines come newest first: the first one seen of each
 * kind is the latest. */
static int attempt_apply(History *h, Attempt *a, const RecordLine *l) {
        const char *v;
        int r;

        if (!a->outcome && (r = free_and_strdup(&a->outcome, strempty(l->event))) < 0)
                return r;
        if (streq(l->event, RECORD_EVENT_STARTED) && !a->have_started) {
                a->have_started = true;
                a->started_usec = l->timestamp_usec;
                h->n_started++;
                if ((v = record_line_get(l, "serial")) && (r = free_and_strdup(&a->serial, v)) < 0)
                        return r;
                if ((v = record_line_get(l, "operator")) && (r = free_and_strdup(&a->operator, v)) < 0)
                        return r;
                return set_once(&a->kind, record_line_get(l, "kind"));
        }
        if (streq(l->event, RECORD_EVENT_BLINKED) && !a->have_timing) {
                a->have_timing = ctl_parse_uint64(record_line_get(l, "edges"), &a->edges) >= 0;
                a->have_frames = ctl_parse_uint64(record_line_get(l, "frames"), &a->frames) >= 0;
                (void) ctl_parse_uint64(record_line_get(l, "max_lateness_ns"), &a->max_lateness_ns);
                (void) ctl_parse_uint64(record_line_get(l, "p99_lateness_ns"), &a->p99_lateness_ns);
                v = record_line_get(l, "clean");
                a->clean = !v || streq(v, "yes");
                return 0;
        }
        if (streq(l->event, RECORD_EVENT_TOKEN) && !a->token_id) {
                r = set_once(&a->token_id, record_line_get(l, "token_id"));
                if (r < 0)
                        return r;
                return set_once(&a->plan_id, record_line_get(l, "plan_id"));
        }
        if (streq(l->event, RECORD_EVENT_CONFIRMED))
                return set_once(&a->device_id, record_line_get(l, "device_id"));
        if (streq(l->event, RECORD_EVENT_FAILED) && !a->error_name) {
                r = free_and_strdup(&a->error_name, strempty(record_line_get(l, "error")));
                if (r < 0)
                        return r;
                return free_and_strdup(&a->message, strempty(record_line_get(l, "message")));
        }
        return 0;
}

/* RecordLineFunc: 0 to go on, 1 when h has its attempts, -errno. */
static int history_line(const char *line, size_t length, uint64_t offset, bool terminated, void *userdata) {
        _cleanup_(record_line_done) RecordLine l = {};
        History *h = userdata;
        Attempt *a;
        int r;

        if (length == 0)
                return 0;
        r = parse_line(line, length, &l);
        if (r == -ENODATA)
                return 0;
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                fprintf(stderr, "blinkupctl: %s: %s at byte %" PRIu64 " skipped%s\n", h->path,
                        terminated ? "damaged line" : "incomplete last line", offset,
                        terminated ? "" : " (a write was interrupted)");
                return 0;
        }
        a = history_get(h, l.attempt_id);
        if (!a)
                return -ENOMEM;
        r = attempt_apply(h, a, &l);
        if (r < 0)
                return r;
        /* every line before the Nth-last "started" belongs to an older attempt */
        return h->n_started >= h->want;
}

/* One file of the record into h: 0, or -errno after saying why not. What the daemon writes is
 * a regular file: not a link, not a FIFO (which would block). */
static int history_read_file(History *h, int dfd, const char *name, const char *path, bool missing_ok) {
        _cleanup_(closep) int fd = -1;
        int r;

        fd = open_regular_file(dfd, name, NULL);
        if (fd == -ENOENT && missing_ok)
                return 0;
        if (fd == -ELOOP)
                fprintf(stderr, "blinkupctl: the attempt record %s is a symbolic link; not following it\n", path);
        else if (fd == -EBADFD)
                fprintf(stderr, "blinkupctl: the attempt record %s is not a regular file\n", path);
        else if (fd < 0)
                fprintf(stderr, "blinkupctl: cannot read the attempt record %s: %s\n", path, strerror(-fd));
        if (fd < 0)
                return fd;
        h->path = path;
        r = record_foreach_line_reverse(fd, 0, history_line, h);
        if (r < 0) {
                fprintf(stderr, "blinkupctl: reading %s: %s\n", path, strerror(-r));
                return r;
        }
        return 0;
}

/* The rotated file attempts.log.N into h. */
static int history_read_rotated(History *h, int dfd, const char *dir, unsigned n) {
        _cleanup_(freep) char *path = NULL;
        char name[sizeof(RECORD_FILENAME) + 16];
        const char *saved = h->path;
        int r;

        (void) snprintf(name, sizeof(name), "%s.%u", RECORD_FILENAME, n);
        if (asprintf(&path, "%s/%s", dir, name) < 0) {
                path = NULL;
                return -ENOMEM;
        }
        r = history_read_file(h, dfd, name, path, true);
        h->path = saved; /* path is freed here */
        return r;
}

/* attempts.log, then the rotated files attempts.log.N from the newest, until h has enough:
 * 0, or -errno after saying why not. */
static int history_read(History *h, const char *dir, const char *path) {
        _cleanup_(closep) int dfd = -1;
        _cleanup_(freep) unsigned *rotated = NULL;
        size_t n = 0;
        int r;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                r = -errno;
                fprintf(stderr, "blinkupctl: cannot read the attempt record %s: %s\n", path, strerror(-r));
                return r;
        }
        r = record_list_rotated(dfd, &rotated, &n);
        if (r < 0) {
                fprintf(stderr, "blinkupctl: cannot list %s: %s\n", dir, strerror(-r));
                return r;
        }
        /* just after a rotation there may be no attempts.log for a moment */
        h->path = path;
        r = history_read_file(h, dfd, RECORD_FILENAME, path, n > 0);
        for (size_t i = 0; r >= 0 && i < n && h->n_started < h->want; i++)
                r = history_read_rotated(h, dfd, dir, rotated[i]);
        return r;
}

static const char *attempt_outcome(const Attempt *a) {
        if (!a->outcome || streq(a->outcome, RECORD_EVENT_STARTED) || streq(a->outcome, RECORD_EVENT_TOKEN))
                return "unfinished";
        if (streq(a->outcome, RECORD_EVENT_BLINKED))
                return a->kind && streq(a->kind, "clear") ? "cleared"
                       : a->clean                         ? "blinked"
                                                          : "timing-fault";
        return a->outcome; /* confirmed, failed, cancelled, or an event of a later version */
}

static int attempt_compare(const void *x, const void *y) {
        const Attempt *a = x, *b = y;

        return a->id < b->id ? -1 : a->id > b->id;
}

/* The last column: the error without the interface's prefix, and its message. */
static void attempt_print_error(const Attempt *a) {
        const char *e;

        if (!a->error_name) {
                putchar('-');
                return;
        }
        e = startswith(a->error_name, FIXTURE_ERROR_PREFIX);
        if (!e)
                e = a->error_name;
        print_clean(stdout, *e ? e : "error");
        if (!isempty(a->message)) {
                fputs(": ", stdout);
                print_clean(stdout, a->message);
        }
}

/* The unit and its operator, when the started line names them: a line of their own under the
 * attempt's, so that the table's columns stay as they are. */
static void attempt_print_identity(const Attempt *a) {
        if (!a->serial && !a->operator)
                return;
        fputs("         ", stdout);
        if (a->serial) {
                fputs("serial ", stdout);
                print_clean(stdout, a->serial);
        }
        if (a->operator) {
                fputs(a->serial ? "  operator " : "operator ", stdout);
                print_clean(stdout, a->operator);
        }
        putchar('\n');
}

static void attempt_print(const Attempt *a, size_t device_width) {
        char ts[RECORD_TIMESTAMP_MAX], max[FORMAT_NS_MAX], p99[FORMAT_NS_MAX], edges[24];

        record_format_timestamp(ts, a->started_usec);
        ts[19] = 'Z'; /* to the second */
        ts[20] = 0;
        if (a->have_timing)
                snprintf(edges, sizeof(edges), "%" PRIu64, a->edges);
        printf("%7" PRIu64 "  %-20s  %-7s  %-12s  ", a->id, ts, isempty(a->kind) ? "-" : a->kind,
               attempt_outcome(a));
        if (!isempty(a->device_id)) {
                print_clean(stdout, a->device_id);
                printf("%*s", (int) (device_width - MIN(strlen(a->device_id), device_width)), "");
        } else
                printf("%-*s", (int) device_width, "-");
        printf("  %6s  %10s  %10s  ", a->have_timing ? edges : "-",
               a->have_timing ? format_ns(max, a->max_lateness_ns) : "-",
               a->have_timing ? format_ns(p99, a->p99_lateness_ns) : "-");
        attempt_print_error(a);
        putchar('\n');
        attempt_print_identity(a);
}

static void attempt_json_timing(JsonOut *j, const char *key, uint64_t v, bool have) {
        if (have)
                json_field_unsigned(j, key, v);
        else
                json_field_null(j, key);
}

/* One object: what the record says of the attempt; null for what it does not. */
static void attempt_print_json(JsonOut *j, const Attempt *a) {
        char ts[RECORD_TIMESTAMP_MAX];

        json_begin_object(j);
        json_field_unsigned(j, "attempt_id", a->id);
        json_field_string(j, "kind", a->kind);
        json_field_string(j, "serial", a->serial);
        json_field_string(j, "operator", a->operator);
        json_field_string(j, "started_at", record_format_timestamp(ts, a->started_usec));
        json_field_unsigned(j, "started_at_usec", a->started_usec);
        json_field_string(j, "outcome", attempt_outcome(a));
        json_field_string(j, "device_id", a->device_id);
        json_field_string(j, "token_id", a->token_id);
        json_field_string(j, "plan_id", a->plan_id);
        json_field_string(j, "error_name", a->error_name);
        json_field_string(j, "message", a->message);
        attempt_json_timing(j, "edges", a->edges, a->have_timing);
        attempt_json_timing(j, "frames", a->frames, a->have_timing && a->have_frames);
        attempt_json_timing(j, "max_lateness_ns", a->max_lateness_ns, a->have_timing);
        attempt_json_timing(j, "p99_lateness_ns", a->p99_lateness_ns, a->have_timing);
        json_key(j, "clean");
        if (a->have_timing)
                json_bool(j, a->clean);
        else
                json_null(j);
        json_end_object(j);
}

/* One object per attempt, oldest first, of those the table would show; nothing when none. */
static void history_print_json(const History *h, JsonMode mode) {
        JsonOut j;

        json_out_init(&j, stdout, mode);
        for (size_t i = 0; i < h->n_attempts; i++)
                if (h->attempts[i].have_started)
                        attempt_print_json(&j, h->attempts + i);
}

/* The table, oldest first, of the attempts whose "started" line was read (older attempts whose
 * last lines came late, and attempts whose "started" is damaged, are left out). */
static void history_print(const History *h, const char *path) {
        size_t device_width = strlen("DEVICE"), shown = 0;

        for (size_t i = 0; i < h->n_attempts; i++)
                if (h->attempts[i].have_started && h->attempts[i].device_id)
                        device_width = MAX(device_width,
                                           MIN(strlen(h->attempts[i].device_id), (size_t) DEVICE_WIDTH_MAX));

        for (size_t i = 0; i < h->n_attempts; i++) {
                if (!h->attempts[i].have_started)
                        continue;
                if (shown++ == 0)
                        printf("%7s  %-20s  %-7s  %-12s  %-*s  %6s  %10s  %10s  %s\n", "ATTEMPT",
                               "STARTED (UTC)", "KIND", "OUTCOME", (int) device_width, "DEVICE", "EDGES",
                               "MAX LATE", "P99 LATE", "ERROR");
                attempt_print(h->attempts + i, device_width);
        }
        if (shown == 0)
                printf("No attempts recorded in %s.\n", path);
}

typedef struct HistoryArgs {
        size_t want;
        const char *dir;
        JsonMode json;
} HistoryArgs;

/* Returns as the verbs' parsers do. */
static int history_parse_argv(int argc, char *argv[], HistoryArgs *args) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "user-bus", no_argument, NULL, ARG_USER_BUS },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "json", optional_argument, NULL, ARG_JSON },
                {},
        };
        uint64_t n;
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "hn:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        printf("Usage: blinkupctl history [-n N] [--state-dir=DIR] [--json[=MODE]]\n\n"
                               "Show the last attempts from the durable record, oldest first, one line "
                               "each.\n\n"
                               "  -n N              how many attempts (default %d)\n"
                               "  --state-dir=DIR   read DIR/%s (default %s)\n" CTL_JSON_HELP,
                               HISTORY_DEFAULT, RECORD_FILENAME, STATEDIR);
                        return 0;
                case 'n':
                        if (ctl_parse_uint64(optarg, &n) < 0 || n < 1 || n > HISTORY_MAX) {
                                fprintf(stderr, "blinkupctl history: -n: \"%s\" is not 1..%d\n", optarg,
                                        HISTORY_MAX);
                                return -EINVAL;
                        }
                        args->want = (size_t) n;
                        break;
                case ARG_USER_BUS:
                        break; /* the record is read directly */
                case ARG_STATE_DIR:
                        args->dir = optarg;
                        break;
                case ARG_JSON:
                        c = ctl_parse_json("history", optarg, &args->json);
                        if (c <= 0)
                                return c;
                        break;
                default:
                        return -EINVAL; /* getopt said why */
                }
        c = ctl_no_arguments("history", argc, argv);
        return c < 0 ? c : 1;
}

int ctl_history(int argc, char *argv[]) {
        _cleanup_(freep) char *path = NULL;
        _cleanup_(history_done) History h = {};
        HistoryArgs args = { .want = HISTORY_DEFAULT, .dir = STATEDIR, .json = JSON_OFF };
        int r;

        r = history_parse_argv(argc, argv, &args);
        if (r <= 0)
                return ctl_parse_exit_status(r);
        if (asprintf(&path, "%s/%s", args.dir, RECORD_FILENAME) < 0) {
                path = NULL;
                return CTL_EXIT_FAILURE;
        }
        h.want = args.want;
        if (history_read(&h, args.dir, path) < 0)
                return CTL_EXIT_FAILURE;

        if (h.n_attempts > 0) /* an empty record: attempts is NULL, which qsort() must not get */
                qsort(h.attempts, h.n_attempts, sizeof(Attempt), attempt_compare);
        if (args.json == JSON_OFF)
                history_print(&h, path);
        else
                history_print_json(&h, args.json);
        return ctl_flush_stdout();
}
