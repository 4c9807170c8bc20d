/* SPDX-License-Identifier: MIT */
/* Reading the attempt record: its lines from the end of a file back, the rotated files of a
 * directory, and the highest attempt ID in them (for blinkupctl history and for the daemon's
 * start-up). */
#define _GNU_SOURCE 1 /* memrchr() */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fs-util.h"
#include "macro.h"
#include "record-internal.h"

#define CHUNK_DEFAULT (64 * 1024)

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

/* ---- lines from the end ---- */

typedef struct ReverseReader {
        RecordLineFunc f;
        void *userdata;
        bool terminated; /* the line being gathered ends in '\n' */
        char line[RECORD_LINE_MAX];
        size_t start; /* the line so far is line[start..RECORD_LINE_MAX) */
        uint64_t total; /* its real length */
} ReverseReader;

static void reader_reset_line(ReverseReader *rr) {
        rr->start = sizeof(rr->line);
        rr->total = 0;
}

static void reader_prepend(ReverseReader *rr, const char *p, size_t n) {
        rr->total += n;
        if (rr->total <= sizeof(rr->line)) {
                rr->start -= n;
                memcpy(rr->line + rr->start, p, n);
        }
}

static int reader_emit(ReverseReader *rr, uint64_t offset) {
        if (rr->total > sizeof(rr->line))
                return rr->f(NULL, (size_t) MIN(rr->total, (uint64_t) SIZE_MAX), offset, rr->terminated,
                             rr->userdata);
        return rr->f(rr->line + rr->start, (size_t) rr->total, offset, rr->terminated, rr->userdata);
}

/* The lines of one chunk read at base, last first: every line that starts in it is handed out;
 * the piece before its first '\n' stays gathered for the next chunk. */
static int reader_feed(ReverseReader *rr, const char *buf, size_t n, uint64_t base) {
        for (size_t end = n;;) {
                const char *nl = memrchr(buf, '\n', end);
                size_t start = nl ? (size_t) (nl - buf) + 1 : 0;
                int r;

                reader_prepend(rr, buf + start, end - start);
                if (!nl)
                        return 0;
                r = reader_emit(rr, base + start);
                if (r != 0)
                        return r;
                rr->terminated = true;
                reader_reset_line(rr);
                end = start - 1;
        }
}

int record_foreach_line_reverse(int fd, size_t chunk, RecordLineFunc f, void *userdata) {
        _cleanup_(freep) ReverseReader *rr = NULL;
        _cleanup_(freep) char *buf = NULL;
        struct stat st;
        uint64_t pos;
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

        rr = malloc(sizeof(*rr));
        buf = malloc(chunk);
        if (!rr || !buf)
                return -ENOMEM;
        *rr = (ReverseReader){ .f = f, .userdata = userdata };
        reader_reset_line(rr);

        pos = (uint64_t) st.st_size;
        r = pread_full(fd, &last, 1, pos - 1);
        if (r < 0)
                return r;
        rr->terminated = last == '\n';
        if (rr->terminated)
                pos--;

        while (pos > 0) {
                size_t n = (size_t) MIN((uint64_t) chunk, pos);

                pos -= n;
                r = pread_full(fd, buf, n, pos);
                if (r < 0)
                        return r;
                r = reader_feed(rr, buf, n, pos);
                if (r != 0)
                        return r;
        }
        return reader_emit(rr, 0);
}

/* ---- rotated files ---- */

/* N of "attempts.log.N" (1..999999999), or 0 for any other name */
static unsigned rotated_number(const char *name) {
        const char *num = startswith(name, RECORD_FILENAME ".");
        unsigned long v;
        char *end;

        if (!num || *num < '1' || *num > '9' || strlen(num) > 9)
                return 0;
        v = strtoul(num, &end, 10);
        return *end ? 0 : (unsigned) v;
}

static int compare_descending(const void *a, const void *b) {
        unsigned x = *(const unsigned *) a, y = *(const unsigned *) b;

        return x < y ? 1 : x > y ? -1 : 0;
}

int record_list_rotated(int dir_fd, unsigned **ret, size_t *ret_n) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_(freep) unsigned *list = NULL;
        size_t n = 0, allocated = 0;
        struct dirent *de;
        int fd;

        fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return -errno;
        }
        while ((de = readdir(d))) {
                unsigned v = rotated_number(de->d_name);

                if (v == 0)
                        continue;
                if (n >= allocated) {
                        size_t more = MAX(allocated * 2, (size_t) 16);
                        unsigned *p = reallocarray(list, more, sizeof(unsigned));

                        if (!p)
                                return -ENOMEM;
                        list = p;
                        allocated = more;
                }
                list[n++] = v;
        }
        if (n > 0) /* newest first */
                qsort(list, n, sizeof(unsigned), compare_descending);
        *ret = TAKE_PTR(list);
        *ret_n = n;
        return 0;
}

/* ---- the last attempt ID ---- */

typedef struct ScanState {
        uint64_t max_id;
        bool found_started;
} ScanState;

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

static int scan_rotated(int dir_fd, ScanState *s) {
        _cleanup_(freep) unsigned *rotated = NULL;
        size_t n = 0;
        int r;

        r = record_list_rotated(dir_fd, &rotated, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && !s->found_started; i++) {
                _cleanup_(closep) int fd = -1;
                char name[RECORD_ROTATED_NAME_MAX];

                fd = open_regular_file(dir_fd, record_rotated_name(name, rotated[i]), NULL);
                if (fd < 0)
                        return fd;
                r = record_foreach_line_reverse(fd, 0, scan_line, s);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Reads no more than it needs: back to the last "started" line. */
int record_find_last_id(int dir_fd, int fd, uint64_t *ret) {
        ScanState s = {};
        int r;

        if (fd >= 0) {
                r = record_foreach_line_reverse(fd, 0, scan_line, &s);
                if (r < 0)
                        return r;
        }
        if (!s.found_started && dir_fd >= 0) {
                r = scan_rotated(dir_fd, &s);
                if (r < 0)
                        return r;
        }
        *ret = s.max_id;
        return 0;
}
