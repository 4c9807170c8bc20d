/* SPDX-License-Identifier: MIT */
/* The results delivery's two files in the state directory: the delivered position (one line,
 * replaced atomically) and the parked documents (JSON lines, appended). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs-util.h"
#include "https-proto.h"
#include "record.h"
#include "results-outbox.h"

#define POSITION_TMP_FILENAME RESULTS_POSITION_FILENAME ".tmp"

static bool event_valid(const char *e) {
        return streq(e, RESULTS_EVENT_OUTCOME) || streq(e, RESULTS_EVENT_CONFIRMATION);
}

int results_position_format(char *buf, size_t size, const ResultsPosition *p) {
        int n = snprintf(buf, size, "generation=%" PRIu64 " offset=%" PRIu64 " attempt=%" PRIu64 " event=%s\n",
                         p->generation, p->offset, p->attempt_id, p->event);

        return n < 0 || (size_t) n >= size ? -ENOBUFS : n;
}

int results_position_load(int dir_fd, ResultsPosition *ret) {
        _cleanup_(closep) int fd = -1;
        char buf[RESULTS_POSITION_LINE_MAX + 1], again[RESULTS_POSITION_LINE_MAX];
        ResultsPosition p = {};
        ssize_t n;

        fd = open_regular_file(dir_fd, RESULTS_POSITION_FILENAME, NULL);
        if (fd < 0)
                return fd;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        if (sscanf(buf, "generation=%" SCNu64 " offset=%" SCNu64 " attempt=%" SCNu64 " event=%15[a-z]",
                   &p.generation, &p.offset, &p.attempt_id, p.event) != 4)
                return -EBADMSG;
        /* exactly what would have been written: nothing more, nothing less, no leading zeros */
        if (p.generation == 0 || p.attempt_id == 0 || !event_valid(p.event) ||
            results_position_format(again, sizeof(again), &p) < 0 || !streq(again, buf))
                return -EBADMSG;
        *ret = p;
        return 0;
}

int results_position_save(int dir_fd, const ResultsPosition *p) {
        _cleanup_(closep) int fd = -1;
        char buf[RESULTS_POSITION_LINE_MAX];
        int n, r;

        n = results_position_format(buf, sizeof(buf), p);
        if (n < 0)
                return n;
        fd = openat(dir_fd, POSITION_TMP_FILENAME, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (fd < 0)
                return -errno;
        r = write_all(fd, buf, (size_t) n);
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && renameat(dir_fd, POSITION_TMP_FILENAME, dir_fd, RESULTS_POSITION_FILENAME) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(dir_fd, POSITION_TMP_FILENAME, 0);
                return r;
        }
        return fsync(dir_fd) < 0 ? -errno : 0;
}

/* printable ASCII, at most RESULTS_REASON_MAX bytes: the file stays valid UTF-8 and one line */
static void reason_clean(char *dst, const char *src) {
        size_t i = 0;

        for (; src && src[i] && i < RESULTS_REASON_MAX; i++)
                dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
        dst[i] = 0;
}

int results_parked_line(const char *document_json, uint64_t now_usec, long http_status, const char *reason,
                        char **ret) {
        char ts[RECORD_TIMESTAMP_MAX], cleaned[RESULTS_REASON_MAX + 1];
        json_object *o, *doc;
        const char *s;

        doc = json_tokener_parse(document_json);
        if (!doc)
                return -EINVAL;
        o = json_object_new_object();
        if (!o) {
                json_object_put(doc);
                return -ENOMEM;
        }
        reason_clean(cleaned, reason);
        json_object_object_add(o, "parked_at", json_object_new_string(record_format_timestamp(ts, now_usec)));
        json_object_object_add(o, "http_status", json_object_new_int64(http_status));
        json_object_object_add(o, "reason", json_object_new_string(cleaned));
        json_object_object_add(o, "document", doc);
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s || asprintf(ret, "%s\n", s) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        json_object_put(o);
        return 0;
}

int results_parked_append(int dir_fd, const char *line) {
        _cleanup_(closep) int fd = -1;
        bool created = false;
        int r;

        fd = openat(dir_fd, RESULTS_PARKED_FILENAME, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 && errno == ENOENT) {
                fd = openat(dir_fd, RESULTS_PARKED_FILENAME, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                            0640);
                created = true;
        }
        if (fd < 0)
                return -errno;
        r = write_all(fd, line, strlen(line));
        if (r < 0)
                return r;
        if (fsync(fd) < 0)
                return -errno;
        if (created && fsync(dir_fd) < 0)
                return -errno;
        return 0;
}

int results_parked_count(int dir_fd, unsigned *ret) {
        _cleanup_(closep) int fd = -1;
        char buf[16384];
        unsigned n = 0;
        ssize_t k;

        fd = open_regular_file(dir_fd, RESULTS_PARKED_FILENAME, NULL);
        if (fd == -ENOENT) {
                *ret = 0;
                return 0;
        }
        if (fd < 0)
                return fd;
        while ((k = read(fd, buf, sizeof(buf))) != 0) {
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                for (ssize_t i = 0; i < k; i++)
                        n += buf[i] == '\n';
        }
        *ret = n;
        return 0;
}
