/* SPDX-License-Identifier: MIT */
#pragma once

/* What the parts of the attempt record share between them and nobody else: the line format's
 * checks and formatting for the writer (record-line.c), the reading helpers the writer uses
 * when it opens the record (record-read.c), and the names of the rotated files. */

#include <stdio.h>

#include "record.h"

#define RECORD_ROTATED_NAME_MAX (sizeof(RECORD_FILENAME) + 16)

/* "attempts.log.N" */
static inline char *record_rotated_name(char buf[static RECORD_ROTATED_NAME_MAX], unsigned n) {
        (void) snprintf(buf, RECORD_ROTATED_NAME_MAX, RECORD_FILENAME ".%u", n);
        return buf;
}

/* ---- record-line.c: the line format, pure ---- */

/* 0 if a line of these can be written; -EINVAL for attempt ID 0, an invalid event name or key,
 * a reserved key or a NULL value; -E2BIG for more than RECORD_FIELDS_MAX fields. */
int record_line_check(uint64_t attempt_id, const char *event, const RecordField *fields, size_t n);

/* The most bytes record_line_format() may write for these, its NUL included. */
size_t record_line_size(const char *event, const RecordField *fields, size_t n);

/* Write the whole line (time, attempt, event, fields, crc, "\n") of checked arguments to buf of
 * record_line_size() bytes; returns its length (no NUL). Values longer than RECORD_VALUE_MAX
 * are cut and end in "...". */
size_t record_line_format(char *buf, size_t size, uint64_t timestamp_usec, uint64_t attempt_id,
                          const char *event, const RecordField *fields, size_t n);

/* ---- record-read.c ---- */

/* The highest attempt ID: from the end of the open record fd (if >= 0) back to its last
 * "started" line, and, only when it has none, on into the rotated files of dir_fd (if >= 0),
 * newest first, until one has. Damaged lines are skipped. */
int record_find_last_id(int dir_fd, int fd, uint64_t *ret);
