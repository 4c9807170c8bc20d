/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE 1 /* memrchr() */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "fs-util.h"
#include "macro.h"
#include "record.h"
#include "time-util.h"

struct Record {
        int fd;
        int dfd; /* the state directory; -1 for record_open_fd() */
        uint64_t last_id;
        uint64_t max_size; /* rotate past this size; 0: never */
        unsigned rotated_max; /* the highest N of the rotated files attempts.log.N */
        bool check_tail; /* the file may end in a torn line: look before the next append */
};

#define CRC_FIELD " crc="
#define CRC_DIGITS 8
#define TIMESTAMP_LEN 27 /* 2026-11-24T03:10:00.123456Z */
#define CHUNK_DEFAULT (64 * 1024)

/* CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), a byte at a time from a table made
 * on first use: readers check it on every line of what may be hundreds of megabytes. */
uint32_t record_crc32(const void *data, size_t length) {
        static uint32_t table[256];
        static bool have_table;
        const uint8_t *p = data;
        uint32_t crc = UINT32_MAX;

        if (!have_table) { /* the record is written and read on one thread only */
                for (uint32_t i = 0; i < 256; i++) {
                        uint32_t c = i;
                        for (unsigned b = 0; b < 8; b++)
                                c = (c >> 1) ^ (UINT32_C(0xEDB88320) & (0 - (c & 1)));
                        table[i] = c;
                }
                have_table = true;
        }
        for (size_t i = 0; i < length; i++)
                crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
        return ~crc;
}

char *record_format_timestamp(char buf[static RECORD_TIMESTAMP_MAX], uint64_t usec) {
        time_t sec = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        if (!gmtime_r(&sec, &tm) ||
            snprintf(buf, RECORD_TIMESTAMP_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (unsigned) (usec % USEC_PER_SEC)) != TIMESTAMP_LEN)
                snprintf(buf, RECORD_TIMESTAMP_MAX, "@%" PRIu64, usec / USEC_PER_SEC);
        return buf;
}

static bool char_is_bare(char c) {
        return c > ' ' && c <= '~' && c != '"' && c != '\\';
}

size_t record_escape_value(char *buf, const char *value, size_t length) {
        static const char hex[] = "0123456789abcdef";
        bool bare = length > 0;
        char *p = buf;

        for (size_t i = 0; bare && i < length; i++)
                bare = char_is_bare(value[i]);
        if (bare) {
                memcpy(buf, value, length);
                return length;
        }

        *p++ = '"';
        for (size_t i = 0; i < length; i++) {
                unsigned char c = (unsigned char) value[i];

                switch (c) {
                case '"':
                case '\\':
                        *p++ = '\\';
                        *p++ = (char) c;
                        break;
                case '\n':
                        *p++ = '\\';
                        *p++ = 'n';
                        break;
                case '\r':
                        *p++ = '\\';
                        *p++ = 'r';
                        break;
                case '\t':
                        *p++ = '\\';
                        *p++ = 't';
                        break;
                default:
                        if (c < ' ' || c > '~') {
                                *p++ = '\\';
                                *p++ = 'x';
                                *p++ = hex[c >> 4];
                                *p++ = hex[c & 15];
                        } else
                                *p++ = (char) c;
                }
        }
        *p++ = '"';
        return (size_t) (p - buf);
}

static bool name_is_valid(const char *s, bool dash) {
        if (!s || !*s || strlen(s) > 64)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
                      (dash && *s == '-')))
                        return false;
        return true;
}

static bool key_is_reserved(const char *key) {
        return streq(key, "attempt") || streq(key, "event") || streq(key, "crc");
}

/* ---- reading ---- */

static int read_full_at(int fd, void *buf, size_t n, uint64_t offset) {
        uint8_t *p = buf;

        while (n > 0) {
                ssize_t k = pread(fd, p, n, (off_t) offset);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -EIO; /* the file shrank under us */
                p += k;
                n -= (size_t) k;
                offset += (uint64_t) k;
        }
        return 0;
}

typedef struct LineBuffer {
        char buf[RECORD_LINE_MAX];
        size_t start; /* the line so far is buf[start..RECORD_LINE_MAX) */
        uint64_t total; /* its real length */
} LineBuffer;

static void line_buffer_reset(LineBuffer *b) {
        b->start = sizeof(b->buf);
        b->total = 0;
}

static void line_buffer_prepend(LineBuffer *b, const char *p, size_t n) {
        b->total += n;
        if (b->total <= sizeof(b->buf)) {
                b->start -= n;
                memcpy(b->buf + b->start, p, n);
        }
}

static int line_buffer_emit(LineBuffer *b, uint64_t offset, bool terminated, RecordLineFunc f,
                            void *userdata) {
        if (b->total > sizeof(b->buf))
                return f(NULL, (size_t) MIN(b->total, (uint64_t) SIZE_MAX), offset, terminated, userdata);
        return f(b->buf + b->start, (size_t) b->total, offset, terminated, userdata);
}

int record_foreach_line_reverse(int fd, size_t chunk, RecordLineFunc f, void *userdata) {
        _cleanup_(freep) LineBuffer *line = NULL;
        _cleanup_(freep) char *buf = NULL;
        struct stat st;
        uint64_t pos;
        bool terminated;
        char last;
        int r;

        if (fd < 0 || !f)
                return -EINVAL;
        if (chunk == 0)
                chunk = CHUNK_DEFAULT;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size <= 0)
                return 0;

        line = malloc(sizeof(*line));
        buf = malloc(chunk);
        if (!line || !buf)
                return -ENOMEM;
        line_buffer_reset(line);

        pos = (uint64_t) st.st_size;
        r = read_full_at(fd, &last, 1, pos - 1);
        if (r < 0)
                return r;
        terminated = last == '\n';
        if (terminated)
                pos--;

        while (pos > 0) {
                size_t n = (size_t) MIN((uint64_t) chunk, pos), end;
                uint64_t base = pos - n;

                r = read_full_at(fd, buf, n, base);
                if (r < 0)
                        return r;

                for (end = n;;) {
                        char *nl = memrchr(buf, '\n', end);
                        size_t start = nl ? (size_t) (nl - buf) + 1 : 0;

                        line_buffer_prepend(line, buf + start, end - start);
                        if (!nl)
                                break;
                        r = line_buffer_emit(line, base + start, terminated, f, userdata);
                        if (r != 0)
                                return r;
                        terminated = true;
                        line_buffer_reset(line);
                        end = start - 1;
                }
                pos = base;
        }
        return line_buffer_emit(line, 0, terminated, f, userdata);
}

/* the parser wants a C string: lines with NUL bytes (zeros after a crash) are damaged */
static int parse_raw_line(const char *line, size_t length, RecordLine *ret) {
        _cleanup_(freep) char *s = NULL;

        if (!line || memchr(line, 0, length))
                return -EBADMSG;
        s = strndup(line, length);
        if (!s)
                return -ENOMEM;
        return record_parse_line(s, ret);
}

typedef struct ScanState {
        uint64_t max_id;
        bool found_started;
} ScanState;

static int scan_line(const char *line, size_t length, uint64_t offset, bool terminated, void *userdata) {
        ScanState *s = userdata;
        RecordLine l;
        int r;

        r = parse_raw_line(line, length, &l);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0; /* damaged or empty: skip */

        s->max_id = MAX(s->max_id, l.attempt_id);
        /* IDs are handed out in order and "started" is written first: the last "started"
         * line carries the highest ID, later lines can only belong to older attempts */
        r = streq(l.event, RECORD_EVENT_STARTED);
        s->found_started = s->found_started || r;
        record_line_done(&l);
        return r;
}

int record_list_rotated(int dfd, unsigned **ret, size_t *ret_n) {
        _cleanup_(freep) unsigned *list = NULL;
        struct dirent *de;
        size_t n = 0, allocated = 0;
        DIR *d;
        int fd;

        fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return -errno;
        }
        while ((de = readdir(d))) {
                const char *num = startswith(de->d_name, RECORD_FILENAME ".");
                unsigned long v;
                char *end;

                if (!num || *num < '1' || *num > '9' || strlen(num) > 9)
                        continue;
                v = strtoul(num, &end, 10);
                if (*end)
                        continue;
                if (n >= allocated) {
                        unsigned *p = reallocarray(list, MAX(allocated * 2, (size_t) 16), sizeof(unsigned));
                        if (!p) {
                                closedir(d);
                                return -ENOMEM;
                        }
                        list = p;
                        allocated = MAX(allocated * 2, (size_t) 16);
                }
                list[n++] = (unsigned) v;
        }
        closedir(d);
        /* newest first */
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0 && list[j - 1] < list[j]; j--) {
                        unsigned t = list[j];
                        list[j] = list[j - 1];
                        list[j - 1] = t;
                }
        *ret = TAKE_PTR(list);
        *ret_n = n;
        return 0;
}

/* The highest attempt ID: from the end of the current file back to its last "started" line,
 * and, only when it has none (just rotated, or damaged), on into the rotated files, newest
 * first, until one has. Reads no more than that. */
static int scan_record(int dfd, int fd, uint64_t *ret) {
        _cleanup_(freep) unsigned *rotated = NULL;
        ScanState s = {};
        size_t n = 0;
        int r;

        if (fd >= 0) {
                r = record_foreach_line_reverse(fd, 0, scan_line, &s);
                if (r < 0)
                        return r;
        }
        if (!s.found_started && dfd >= 0) {
                r = record_list_rotated(dfd, &rotated, &n);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n && !s.found_started; i++) {
                _cleanup_(closep) int rfd = -1;
                char name[sizeof(RECORD_FILENAME) + 16];

                (void) snprintf(name, sizeof(name), RECORD_FILENAME ".%u", rotated[i]);
                rfd = open_regular_file(dfd, name, NULL);
                if (rfd < 0)
                        return rfd;
                r = record_foreach_line_reverse(rfd, 0, scan_line, &s);
                if (r < 0)
                        return r;
        }
        *ret = s.max_id;
        return 0;
}

int record_scan_last_id(const char *dir, uint64_t *ret) {
        _cleanup_(closep) int dfd = -1, fd = -1;

        if (!dir || !ret)
                return -EINVAL;
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        fd = open_regular_file(dfd, RECORD_FILENAME, NULL);
        if (fd < 0 && fd != -ENOENT)
                return fd;
        return scan_record(dfd, fd, ret);
}

/* ---- the writer ---- */

int record_open_fd(int fd, Record **ret) {
        Record *r;

        if (fd < 0 || !ret)
                return -EINVAL;
        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->fd = fd;
        r->dfd = -1;
        r->check_tail = true;
        *ret = r;
        return 0;
}

int record_open(const char *dir, Record **ret) {
        _cleanup_(closep) int dfd = -1, fd = -1;
        _cleanup_(record_freep) Record *r = NULL;
        bool created = false;
        struct stat st;
        int k;

        if (!dir || !ret)
                return -EINVAL;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;

        for (unsigned tries = 0;; tries++) {
                fd = openat(dfd, RECORD_FILENAME, O_RDWR | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
                if (fd >= 0)
                        break;
                if (errno != ENOENT || tries >= 3)
                        return -errno;
                fd = openat(dfd, RECORD_FILENAME,
                            O_RDWR | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW | O_CREAT | O_EXCL,
                            0640);
                if (fd >= 0) {
                        created = true;
                        break;
                }
                if (errno != EEXIST)
                        return -errno;
        }

        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        /* a record from before the service ran with the operators' group: given to that group
         * (its mode is the administrator's choice and stays); where that is not allowed, the
         * record still works, unread by the group */
        if (!created && st.st_uid == geteuid() && st.st_gid != getegid())
                (void) fchown(fd, (uid_t) -1, getegid());
        k = fcntl(fd, F_GETFL);
        if (k < 0 || fcntl(fd, F_SETFL, k & ~O_NONBLOCK) < 0)
                return -errno;

        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : -errno;

        if (created) {
                /* exactly 0640 whatever the umask; then make the new name durable */
                if (fchmod(fd, 0640) < 0 || fsync(fd) < 0 || fsync(dfd) < 0)
                        return -errno;
        }

        k = record_open_fd(fd, &r);
        if (k < 0)
                return k;
        TAKE_FD(fd);
        r->dfd = TAKE_FD(dfd);

        k = scan_record(r->dfd, r->fd, &r->last_id);
        if (k < 0)
                return k;
        {
                _cleanup_(freep) unsigned *rotated = NULL;
                size_t n = 0;

                k = record_list_rotated(r->dfd, &rotated, &n);
                if (k < 0)
                        return k;
                r->rotated_max = n > 0 ? rotated[0] : 0;
        }
        if (r->last_id == UINT64_MAX)
                return -EOVERFLOW; /* no ID is left: IDs are never handed out twice */

        *ret = TAKE_PTR(r);
        return 0;
}

Record *record_free(Record *r) {
        if (!r)
                return NULL;
        safe_close(r->fd);
        safe_close(r->dfd);
        free(r);
        return NULL;
}

void record_set_max_size(Record *r, uint64_t bytes) {
        if (r)
                r->max_size = bytes;
}

int record_rotate(Record *r, char **ret_name) {
        _cleanup_(closep) int fd = -1;
        char name[sizeof(RECORD_FILENAME) + 16];
        struct stat st;
        unsigned n;

        if (!r || r->dfd < 0)
                return -EINVAL;
        if (r->max_size == 0)
                return 0;
        if (fstat(r->fd, &st) < 0)
                return -errno;
        if ((uint64_t) st.st_size < r->max_size)
                return 0;

        /* 1. the full file gets the next free number, in one rename that never replaces a file */
        for (n = r->rotated_max + 1;; n++) {
                (void) snprintf(name, sizeof(name), RECORD_FILENAME ".%u", n);
                if (renameat2(r->dfd, RECORD_FILENAME, r->dfd, name, RENAME_NOREPLACE) >= 0)
                        break;
                if (errno != EEXIST || n - r->rotated_max > 1000)
                        return -errno;
        }
        /* 2. a new, empty attempts.log, locked, its name durable; until it is, lines still go to
         * the renamed file through the descriptor we hold: none is lost either way */
        fd = openat(r->dfd, RECORD_FILENAME,
                    O_RDWR | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_CREAT | O_EXCL, 0640);
        if (fd < 0 || fchmod(fd, 0640) < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0 || fsync(fd) < 0 ||
            fsync(r->dfd) < 0) {
                int e = -errno;

                if (fd >= 0)
                        (void) unlinkat(r->dfd, RECORD_FILENAME, 0);
                /* the old file back under its name, if it can be: else it goes on as name */
                (void) renameat2(r->dfd, name, r->dfd, RECORD_FILENAME, RENAME_NOREPLACE);
                (void) fsync(r->dfd);
                return e;
        }
        safe_close(r->fd);
        r->fd = TAKE_FD(fd);
        r->check_tail = false;
        r->rotated_max = n;
        if (ret_name) {
                *ret_name = strdup(name);
                if (!*ret_name)
                        return -ENOMEM; /* rotated all the same */
        }
        return 1;
}

uint64_t record_last_attempt_id(const Record *r) {
        return r ? r->last_id : 0;
}

uint64_t record_allocate_attempt_id(Record *r) {
        if (r->last_id == UINT64_MAX)
                return 0;
        return ++r->last_id;
}

/* Does the file end in the middle of a line? */
static int record_tail_is_torn(Record *r) {
        struct stat st;
        char c;
        int k;

        if (fstat(r->fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_size == 0)
                return 0;
        k = read_full_at(r->fd, &c, 1, (uint64_t) st.st_size - 1);
        if (k < 0)
                return k;
        return c != '\n';
}

static int write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -EIO;
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

int record_append_fields(Record *r, uint64_t attempt_id, const char *event, const RecordField *fields,
                         size_t n) {
        _cleanup_(freep) char *line = NULL;
        char ts[RECORD_TIMESTAMP_MAX];
        size_t size, len = 0;
        int torn, k;

        if (!r || attempt_id == 0 || !name_is_valid(event, true) || (n > 0 && !fields))
                return -EINVAL;
        if (n > RECORD_FIELDS_MAX)
                return -E2BIG;

        size = 1 + RECORD_TIMESTAMP_MAX + sizeof(" attempt=18446744073709551615 event=") + strlen(event) +
               sizeof(CRC_FIELD) + CRC_DIGITS + 1;
        for (size_t i = 0; i < n; i++) {
                if (!name_is_valid(fields[i].key, false) || key_is_reserved(fields[i].key) ||
                    !fields[i].value)
                        return -EINVAL;
                size += 1 + strlen(fields[i].key) + 1 + 4 * RECORD_VALUE_MAX + 2;
        }

        line = malloc(size);
        if (!line)
                return -ENOMEM;

        torn = r->check_tail ? record_tail_is_torn(r) : 0;
        if (torn < 0)
                return torn;
        if (torn)
                line[len++] = '\n'; /* start on a line of our own */

        len += (size_t) snprintf(line + len, size - len, "%s attempt=%" PRIu64 " event=%s",
                                 record_format_timestamp(ts, now_usec(CLOCK_REALTIME)),
                                 attempt_id, event);
        for (size_t i = 0; i < n; i++) {
                size_t vlen = strlen(fields[i].value);
                char cut[RECORD_VALUE_MAX];
                const char *v = fields[i].value;

                if (vlen > RECORD_VALUE_MAX) {
                        memcpy(cut, v, RECORD_VALUE_MAX - 3);
                        memcpy(cut + RECORD_VALUE_MAX - 3, "...", 3);
                        v = cut;
                        vlen = RECORD_VALUE_MAX;
                }
                len += (size_t) snprintf(line + len, size - len, " %s=", fields[i].key);
                len += record_escape_value(line + len, v, vlen);
        }
        /* the checksum covers the line itself, not the newline that may precede it */
        len += (size_t) snprintf(line + len, size - len, CRC_FIELD "%08" PRIx32 "\n",
                                 record_crc32(line + torn, len - (size_t) torn));

        /* one write() of the whole line; O_APPEND puts it at the end */
        k = write_all(r->fd, line, len);
        if (k < 0) {
                r->check_tail = true; /* part of it may have landed */
                return k;
        }
        if (fsync(r->fd) < 0) {
                r->check_tail = true;
                return -errno;
        }
        r->check_tail = false;
        r->last_id = MAX(r->last_id, attempt_id);
        return 0;
}

int record_append(Record *r, uint64_t attempt_id, const char *event, ...) {
        RecordField fields[RECORD_FIELDS_MAX];
        size_t n = 0;
        const char *key;
        va_list ap;

        va_start(ap, event);
        while ((key = va_arg(ap, const char *))) {
                if (n >= RECORD_FIELDS_MAX) {
                        va_end(ap);
                        return -E2BIG;
                }
                fields[n].key = key;
                fields[n].value = va_arg(ap, const char *);
                if (!fields[n].value) {
                        va_end(ap);
                        return -EINVAL;
                }
                n++;
        }
        va_end(ap);
        return record_append_fields(r, attempt_id, event, fields, n);
}

int record_append_started(Record *r, uint64_t attempt_id, const char *kind) {
        return record_append(r, attempt_id, RECORD_EVENT_STARTED, "kind", kind, NULL);
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

/* ---- the parser ---- */

static int parse_timestamp(const char *s, size_t len, uint64_t *ret) {
        struct tm tm = {};
        unsigned y, mo, d, h, mi, sec, us;
        int consumed = 0;
        time_t t;

        if (len != TIMESTAMP_LEN || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
            s[16] != ':' || s[19] != '.' || s[26] != 'Z')
                return -EBADMSG;
        for (size_t i = 0; i < len; i++)
                if (!(i == 4 || i == 7 || i == 10 || i == 13 || i == 16 || i == 19 || i == 26) &&
                    !(s[i] >= '0' && s[i] <= '9'))
                        return -EBADMSG;
        if (sscanf(s, "%4u-%2u-%2uT%2u:%2u:%2u.%6uZ%n", &y, &mo, &d, &h, &mi, &sec, &us, &consumed) != 7 ||
            consumed != TIMESTAMP_LEN)
                return -EBADMSG;
        if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
                return -EBADMSG;
        tm.tm_year = (int) y - 1900;
        tm.tm_mon = (int) mo - 1;
        tm.tm_mday = (int) d;
        tm.tm_hour = (int) h;
        tm.tm_min = (int) mi;
        tm.tm_sec = (int) sec;
        t = timegm(&tm);
        if (t == (time_t) -1 || t < 0)
                return -EBADMSG;
        *ret = (uint64_t) t * USEC_PER_SEC + us;
        return 0;
}

/* Parse the value at *p in place; on success *p points after it and the value is
 * NUL-terminated (the terminator may overwrite the separating space). */
static int parse_value(char **p, char **ret) {
        char *r = *p, *w;

        if (*r != '"') {
                char *start = r;

                while (char_is_bare(*r))
                        r++;
                if (r == start || (*r != ' ' && *r != 0))
                        return -EBADMSG;
                *ret = start;
                if (*r == ' ')
                        *r++ = 0;
                *p = r;
                return 0;
        }

        w = r++; /* the value is rebuilt over the opening quote */
        *ret = w;
        for (;;) {
                char c = *r++;

                if (c == '"')
                        break;
                if (c == 0 || !(c >= ' ' && c <= '~'))
                        return -EBADMSG;
                if (c == '\\') {
                        int hi, lo;

                        switch (*r++) {
                        case '"':
                                c = '"';
                                break;
                        case '\\':
                                c = '\\';
                                break;
                        case 'n':
                                c = '\n';
                                break;
                        case 'r':
                                c = '\r';
                                break;
                        case 't':
                                c = '\t';
                                break;
                        case 'x':
                                hi = unhexchar(r[0]);
                                lo = hi < 0 ? -1 : unhexchar(r[1]);
                                if (lo < 0 || (hi == 0 && lo == 0))
                                        return -EBADMSG;
                                c = (char) (hi << 4 | lo);
                                r += 2;
                                break;
                        default:
                                return -EBADMSG;
                        }
                }
                *w++ = c;
        }
        if (*r != ' ' && *r != 0)
                return -EBADMSG;
        *w = 0;
        if (*r == ' ')
                r++;
        *p = r;
        return 0;
}

int record_parse_line(const char *line, RecordLine *ret) {
        _cleanup_(freep) char *s = NULL;
        RecordLine l = {};
        size_t len, body;
        char *p, *key, *value, *end;
        uint32_t crc;
        int k;

        if (!line || !ret)
                return -EINVAL;

        len = strlen(line);
        if (len > 0 && line[len - 1] == '\n')
                len--;
        if (strspn(line, " \t\r") >= len)
                return -ENODATA;

        /* "<body> crc=xxxxxxxx" and the checksum of the body */
        if (len < TIMESTAMP_LEN + strlen(CRC_FIELD) + CRC_DIGITS)
                return -EBADMSG;
        body = len - strlen(CRC_FIELD) - CRC_DIGITS;
        if (memcmp(line + body, CRC_FIELD, strlen(CRC_FIELD)) != 0)
                return -EBADMSG;
        crc = 0;
        for (size_t i = body + strlen(CRC_FIELD); i < len; i++) {
                if (!((line[i] >= '0' && line[i] <= '9') || (line[i] >= 'a' && line[i] <= 'f')))
                        return -EBADMSG;
                crc = crc << 4 | (uint32_t) unhexchar(line[i]);
        }
        if (crc != record_crc32(line, body))
                return -EBADMSG;

        s = strndup(line, body);
        if (!s)
                return -ENOMEM;

        if (body < TIMESTAMP_LEN + 1 || s[TIMESTAMP_LEN] != ' ')
                return -EBADMSG;
        k = parse_timestamp(s, TIMESTAMP_LEN, &l.timestamp_usec);
        if (k < 0)
                return k;

        for (p = s + TIMESTAMP_LEN + 1, k = 0; *p; k++) {
                key = p;
                while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')
                        p++;
                if (p == key || *p != '=')
                        return -EBADMSG;
                *p++ = 0;
                if (parse_value(&p, &value) < 0)
                        return -EBADMSG;

                if (k == 0) {
                        if (!streq(key, "attempt") || !(*value >= '1' && *value <= '9'))
                                return -EBADMSG;
                        errno = 0;
                        l.attempt_id = strtoull(value, &end, 10);
                        if (errno != 0 || *end)
                                return -EBADMSG;
                } else if (k == 1) {
                        if (!streq(key, "event") || !name_is_valid(value, true))
                                return -EBADMSG;
                        l.event = value;
                } else {
                        if (l.n_fields >= RECORD_FIELDS_MAX || key_is_reserved(key))
                                return -EBADMSG;
                        l.fields[l.n_fields++] = (RecordField){ key, value };
                }
        }
        if (!l.event)
                return -EBADMSG;

        l.storage = TAKE_PTR(s);
        *ret = l;
        return 0;
}

void record_line_done(RecordLine *l) {
        if (!l)
                return;
        free(l->storage);
        *l = (RecordLine){};
}

const char *record_line_get(const RecordLine *l, const char *key) {
        for (size_t i = 0; l && i < l->n_fields; i++)
                if (streq(l->fields[i].key, key))
                        return l->fields[i].value;
        return NULL;
}
