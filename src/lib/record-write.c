/* SPDX-License-Identifier: MIT */
/* Writing the attempt record: opening attempts.log with its checks and lock, appending a line
 * durably (one write(), then fsync()), repairing a torn last line, rotating a full file, and
 * the attempt IDs. */
#define _GNU_SOURCE 1 /* renameat2() */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "fs-util.h"
#include "macro.h"
#include "record-internal.h"
#include "string-util.h"
#include "time-util.h"

#define RECORD_OPEN_FLAGS (O_RDWR | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW)
#define RECORD_MODE 0640

struct Record {
        int fd;
        int dfd; /* the state directory */
        uint64_t last_id;
        uint64_t max_size; /* rotate past this size; 0: never */
        unsigned rotated_max; /* the highest N of the rotated files attempts.log.N */
        bool check_tail; /* the file may end in a torn line: look before the next append */
        bool defer_sync; /* record_defer_sync(): lines are written, the caller fsyncs */
};

/* ---- opening ---- */

/* Open DIR's attempts.log, or create it (*ret_created): the file may come and go meanwhile. */
static int open_or_create(int dfd, bool *ret_created) {
        for (unsigned tries = 0;; tries++) {
                int fd;

                fd = openat(dfd, RECORD_FILENAME, RECORD_OPEN_FLAGS | O_NONBLOCK);
                if (fd >= 0) {
                        *ret_created = false;
                        return fd;
                }
                if (errno != ENOENT || tries >= 3)
                        return -errno;
                fd = openat(dfd, RECORD_FILENAME, RECORD_OPEN_FLAGS | O_NONBLOCK | O_CREAT | O_EXCL, RECORD_MODE);
                if (fd >= 0) {
                        *ret_created = true;
                        return fd;
                }
                if (errno != EEXIST)
                        return -errno;
        }
}

/* What was opened is a regular file; it becomes blocking and ours alone. */
static int check_and_lock(int fd, bool created) {
        struct stat st;
        int fl;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        /* a record from before the service ran with the operators' group: given to that group
         * (its mode is the administrator's choice and stays); where that is not allowed, the
         * record still works, unread by the group */
        if (!created && st.st_uid == geteuid() && st.st_gid != getegid())
                (void) fchown(fd, (uid_t) -1, getegid());
        fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
                return -errno;

        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : -errno;
        return 0;
}

/* A new file: exactly 0640 whatever the umask; then its name made durable. */
static int make_durable(int fd, int dfd) {
        if (fchmod(fd, RECORD_MODE) < 0 || fsync(fd) < 0 || fsync(dfd) < 0)
                return -errno;
        return 0;
}

/* The last attempt ID and the highest rotated file of an opened record. */
static int load_state(Record *r) {
        _cleanup_(freep) unsigned *rotated = NULL;
        size_t n = 0;
        int k;

        k = record_find_last_id(r->dfd, r->fd, &r->last_id);
        if (k < 0)
                return k;
        k = record_list_rotated(r->dfd, &rotated, &n);
        if (k < 0)
                return k;
        r->rotated_max = n > 0 ? rotated[0] : 0;
        if (r->last_id == UINT64_MAX)
                return -EOVERFLOW; /* no ID is left: IDs are never handed out twice */
        return 0;
}

int record_open(const char *dir, Record **ret) {
        _cleanup_(closep) int dfd = -1, fd = -1;
        _cleanup_(record_freep) Record *r = NULL;
        bool created = false;
        int k;

        if (!dir || !ret)
                return -EINVAL;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        fd = open_or_create(dfd, &created);
        if (fd < 0)
                return fd;
        k = check_and_lock(fd, created);
        if (k < 0)
                return k;
        if (created) {
                k = make_durable(fd, dfd);
                if (k < 0)
                        return k;
        }

        r = malloc(sizeof(*r));
        if (!r)
                return -ENOMEM;
        *r = (Record){ .fd = TAKE_FD(fd), .dfd = TAKE_FD(dfd), .check_tail = true };

        k = load_state(r);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(r);
        return 0;
}

Record *record_free(Record *r) {
        if (!r)
                return NULL;
        safe_close(r->fd);
        safe_close(r->dfd);
        return mfree(r);
}

uint64_t record_last_attempt_id(const Record *r) {
        return r ? r->last_id : 0;
}

uint64_t record_allocate_attempt_id(Record *r) {
        if (r->last_id == UINT64_MAX)
                return 0;
        return ++r->last_id;
}

/* ---- rotation ---- */

void record_set_max_size(Record *r, uint64_t bytes) {
        if (r)
                r->max_size = bytes;
}

/* The full file gets the next free number, in one rename that never replaces a file. */
static int rename_to_next(Record *r, char name[static RECORD_ROTATED_NAME_MAX], unsigned *ret_n) {
        for (unsigned n = r->rotated_max + 1;; n++) {
                if (renameat2(r->dfd, RECORD_FILENAME, r->dfd, record_rotated_name(name, n), RENAME_NOREPLACE) >= 0) {
                        *ret_n = n;
                        return 0;
                }
                if (errno != EEXIST || n - r->rotated_max > 1000)
                        return -errno;
        }
}

/* A new, empty attempts.log, locked, its name durable; until it is, lines still go to the
 * renamed file through the descriptor we hold: none is lost either way. On failure the old
 * file is put back under its name, if it can be: else it goes on as name. */
static int create_next(Record *r, const char *name) {
        _cleanup_(closep) int fd = -1;
        int e;

        fd = openat(r->dfd, RECORD_FILENAME, RECORD_OPEN_FLAGS | O_CREAT | O_EXCL, RECORD_MODE);
        if (fd >= 0 && fchmod(fd, RECORD_MODE) >= 0 && flock(fd, LOCK_EX | LOCK_NB) >= 0 && fsync(fd) >= 0 &&
            fsync(r->dfd) >= 0)
                return TAKE_FD(fd);

        e = -errno;
        if (fd >= 0)
                (void) unlinkat(r->dfd, RECORD_FILENAME, 0);
        (void) renameat2(r->dfd, name, r->dfd, RECORD_FILENAME, RENAME_NOREPLACE);
        (void) fsync(r->dfd);
        return e;
}

int record_rotate(Record *r, char **ret_name) {
        char name[RECORD_ROTATED_NAME_MAX];
        struct stat st;
        unsigned n = 0;
        int fd, k;

        if (!r || r->dfd < 0)
                return -EINVAL;
        if (r->max_size == 0)
                return 0;
        if (fstat(r->fd, &st) < 0)
                return -errno;
        if ((uint64_t) st.st_size < r->max_size)
                return 0;

        k = rename_to_next(r, name, &n);
        if (k < 0)
                return k;
        fd = create_next(r, name);
        if (fd < 0)
                return fd;

        safe_close(r->fd);
        r->fd = fd;
        r->check_tail = false;
        r->rotated_max = n;
        if (ret_name) {
                *ret_name = strdup(name);
                if (!*ret_name)
                        return -ENOMEM; /* rotated all the same */
        }
        return 1;
}

/* ---- appending ---- */

/* Does the file end in the middle of a line? */
static int tail_is_torn(Record *r) {
        struct stat st;
        char c;
        int k;

        if (fstat(r->fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_size == 0)
                return 0;
        k = pread_full(r->fd, &c, 1, (uint64_t) st.st_size - 1);
        if (k < 0)
                return k;
        return c != '\n';
}

void record_defer_sync(Record *r, bool defer) {
        if (r)
                r->defer_sync = defer;
}

int record_get_fd(const Record *r) {
        return r ? r->fd : -EINVAL;
}

void record_sync_failed(Record *r) {
        if (r)
                r->check_tail = true; /* the last lines may be gone, or half */
}

/* One write() of the whole line (O_APPEND puts it at the end), then fsync() unless deferred. */
static int write_line(Record *r, const char *line, size_t len) {
        int k;

        k = write_all(r->fd, line, len);
        if (k < 0) {
                r->check_tail = true; /* part of it may have landed */
                return k;
        }
        if (!r->defer_sync && fsync(r->fd) < 0) {
                r->check_tail = true;
                return -errno;
        }
        r->check_tail = false;
        return 0;
}

int record_append_fields(Record *r, uint64_t attempt_id, const char *event, const RecordField *fields,
                         size_t n) {
        _cleanup_(freep) char *line = NULL;
        size_t size, len;
        int torn, k;

        if (!r)
                return -EINVAL;
        k = record_line_check(attempt_id, event, fields, n);
        if (k < 0)
                return k;

        size = record_line_size(event, fields, n);
        line = malloc(1 + size);
        if (!line)
                return -ENOMEM;

        torn = r->check_tail ? tail_is_torn(r) : 0;
        if (torn < 0)
                return torn;
        if (torn)
                line[0] = '\n'; /* start on a line of our own */
        len = (size_t) torn + record_line_format(line + torn, size, now_usec(CLOCK_REALTIME), attempt_id, event,
                                                 fields, n);

        k = write_line(r, line, len);
        if (k < 0)
                return k;
        r->last_id = MAX(r->last_id, attempt_id);
        return 0;
}

int record_append(Record *r, uint64_t attempt_id, const char *event, ...) {
        RecordField fields[RECORD_FIELDS_MAX];
        size_t n = 0;
        const char *key;
        va_list ap;
        int k = 0;

        va_start(ap, event);
        while (k == 0 && (key = va_arg(ap, const char *))) {
                if (n >= RECORD_FIELDS_MAX)
                        k = -E2BIG;
                else {
                        fields[n].key = key;
                        fields[n].value = va_arg(ap, const char *);
                        if (!fields[n++].value)
                                k = -EINVAL;
                }
        }
        va_end(ap);
        if (k < 0)
                return k;
        return record_append_fields(r, attempt_id, event, fields, n);
}

int record_append_started(Record *r, uint64_t attempt_id, const char *kind) {
        return record_append_started_identity(r, attempt_id, kind, NULL, NULL);
}

int record_append_started_identity(Record *r, uint64_t attempt_id, const char *kind, const char *serial,
                                   const char *operator) {
        RecordField fields[3] = { { "kind", kind } };
        size_t n = 1;

        if (!kind)
                return -EINVAL;
        if (!isempty(serial))
                fields[n++] = (RecordField){ "serial", serial };
        if (!isempty(operator))
                fields[n++] = (RecordField){ "operator", operator };
        return record_append_fields(r, attempt_id, RECORD_EVENT_STARTED, fields, n);
}

int record_append_token(Record *r, uint64_t attempt_id, const char *token_id, const char *plan_id) {
        return record_append(r, attempt_id, RECORD_EVENT_TOKEN, "token_id", token_id ?: "", "plan_id",
                             plan_id ?: "", NULL);
}

int record_append_blinked(Record *r, uint64_t attempt_id, const RecordTiming *t) {
        char edges[21], frames[21], max[21], p99[21];

        if (!t)
                return -EINVAL;
        snprintf(edges, sizeof(edges), "%" PRIu64, t->edges);
        snprintf(frames, sizeof(frames), "%" PRIu64, t->frames);
        snprintf(max, sizeof(max), "%" PRIu64, t->max_lateness_ns);
        snprintf(p99, sizeof(p99), "%" PRIu64, t->p99_lateness_ns);
        return record_append(r, attempt_id, RECORD_EVENT_BLINKED, "edges", edges, "frames", frames,
                             "max_lateness_ns", max, "p99_lateness_ns", p99, "clean",
                             t->clean ? "yes" : "no", NULL);
}

int record_append_confirmed(Record *r, uint64_t attempt_id, const char *device_id) {
        return record_append(r, attempt_id, RECORD_EVENT_CONFIRMED, "device_id", device_id ?: "", NULL);
}

int record_append_failed(Record *r, uint64_t attempt_id, const char *error_name, const char *message) {
        return record_append(r, attempt_id, RECORD_EVENT_FAILED, "error", error_name ?: "", "message",
                             message ?: "", NULL);
}

int record_append_cancelled(Record *r, uint64_t attempt_id) {
        return record_append(r, attempt_id, RECORD_EVENT_CANCELLED, NULL);
}
