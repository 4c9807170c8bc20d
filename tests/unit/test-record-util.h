/* SPDX-License-Identifier: MIT */
#pragma once

/* What test-record and test-record-fs share: temporary directories, reading a record file
 * back, and the highest attempt ID in a record read the way blinkupctl history reads it. */

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs-util.h"
#include "macro.h"
#include "record.h"

static inline char *make_tmpdir(void) {
        char *d;

        ck_assert_int_ge(asprintf(&d, "%s/test-record-XXXXXX", getenv("TMPDIR") ?: "/tmp"), 0);
        ck_assert_ptr_nonnull(mkdtemp(d));
        return d;
}

static inline char *record_path(const char *dir) {
        char *p;

        ck_assert_int_ge(asprintf(&p, "%s/" RECORD_FILENAME, dir), 0);
        return p;
}

static inline char *read_file(const char *path, size_t *ret_size) {
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t size = 0;

        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
        size = (size_t) ftell(f);
        rewind(f);
        buf = calloc(1, size + 1);
        ck_assert_ptr_nonnull(buf);
        ck_assert_uint_eq(fread(buf, 1, size, f), size);
        fclose(f);
        if (ret_size)
                *ret_size = size;
        return buf;
}

/* split a file's text into lines (the pieces between '\n'; a torn last piece included) */
static inline size_t split_lines(char *text, char *lines[], size_t max) {
        size_t n = 0;

        for (char *p = text; *p && n < max;) {
                char *nl = strchr(p, '\n');

                lines[n++] = p;
                if (!nl)
                        break;
                *nl = 0;
                p = nl + 1;
        }
        return n;
}

static inline void rm_rf(const char *dir) {
        char *cmd;

        ck_assert_int_ge(asprintf(&cmd, "rm -rf '%s'", dir), 0);
        (void) system(cmd);
        free(cmd);
}

static inline int max_id_line(const char *line, size_t length, uint64_t offset, bool terminated, void *userdata) {
        uint64_t *max = userdata;
        _cleanup_(freep) char *s = NULL;
        RecordLine l;

        if (!line || memchr(line, 0, length))
                return 0; /* damaged */
        s = strndup(line, length);
        ck_assert_ptr_nonnull(s);
        if (record_parse_line(s, &l) < 0)
                return 0; /* damaged or empty */
        *max = MAX(*max, l.attempt_id);
        record_line_done(&l);
        return 0;
}

static inline int max_id_file(int dir_fd, const char *name, uint64_t *max) {
        _cleanup_(closep) int fd = open_regular_file(dir_fd, name, NULL);

        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return fd;
        return record_foreach_line_reverse(fd, 0, max_id_line, max);
}

/* The highest attempt ID in DIR's record, attempts.log and its rotated files, 0 if none, read
 * without opening the record for writing: what a reader sees. */
static inline int read_last_id(const char *dir, uint64_t *ret) {
        _cleanup_(closep) int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_(freep) unsigned *rotated = NULL;
        uint64_t max = 0;
        size_t n = 0;
        int r;

        if (dfd < 0)
                return -errno;
        r = max_id_file(dfd, RECORD_FILENAME, &max);
        if (r < 0)
                return r;
        r = record_list_rotated(dfd, &rotated, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                char name[sizeof(RECORD_FILENAME) + 16];

                (void) snprintf(name, sizeof(name), RECORD_FILENAME ".%u", rotated[i]);
                r = max_id_file(dfd, name, &max);
                if (r < 0)
                        return r;
        }
        *ret = max;
        return 0;
}
