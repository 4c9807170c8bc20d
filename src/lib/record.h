/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* The durable attempt record: one line per event in <state dir>/attempts.log.
 *
 *   2026-11-24T03:10:00.123456Z attempt=42 event=blinked edges=212 frames=1 max_lateness_ns=51234 p99_lateness_ns=40000 clean=yes crc=c07b31c5
 *
 * - The time (UTC, microseconds), then "key=value" fields separated by one space; "attempt"
 *   and "event" always come first, "crc" always last.
 * - Keys are [a-z0-9_]. A value is written bare when it is 1..RECORD_VALUE_MAX printable
 *   ASCII characters other than space, '"' and '\'; otherwise in double quotes with C escapes
 *   (\" \\ \n \r \t, \xHH for any other byte below 0x20 or above 0x7e). The file is pure
 *   ASCII, one event per line, so grep and awk work on it directly.
 * - crc is the CRC-32 (IEEE 802.3, as zlib's crc32()) of everything before " crc=", as 8
 *   lowercase hex digits. A line cut short by a power failure, or a block of zeros that
 *   some file systems leave behind, fails the check and is skipped by readers.
 *
 * Events (and the fields the record_append_*() helpers write):
 *   started    kind=factory|clear [serial=] [operator=]   (the unit, when the caller gave it)
 *   token      token_id= plan_id=            (identifiers only, never secrets)
 *   blinked    edges= frames= max_lateness_ns= p99_lateness_ns= clean=yes|no
 *   confirmed  device_id=
 *   failed     error=org.blinkupd.Fixture1.Error.* message=
 *   cancelled
 *
 * Every append is one write() of the whole line followed by fsync(); when it returns 0 the
 * line is on stable storage and the result may be reported. When the file is created, the
 * directory is fsync()ed as well. A torn last line (no final newline) found when the file is
 * opened, or left by a failed write, is terminated before the next line is written.
 *
 * Values are stored as given: never pass secrets (passwords, keys, enrollment tokens).
 *
 * record-line.c holds the line format (no I/O), record-read.c the readers, record-write.c the
 * writer (open, append, rotate). */

#define RECORD_FILENAME "attempts.log"
#define RECORD_FIELDS_MAX 16
#define RECORD_VALUE_MAX 1024 /* longer values are cut and end in "..." */
#define RECORD_LINE_MAX 65536 /* readers treat longer lines as damaged */

#define RECORD_EVENT_STARTED "started"
#define RECORD_EVENT_TOKEN "token"
#define RECORD_EVENT_BLINKED "blinked"
#define RECORD_EVENT_CONFIRMED "confirmed"
#define RECORD_EVENT_FAILED "failed"
#define RECORD_EVENT_CANCELLED "cancelled"

typedef struct Record Record;

typedef struct RecordField {
        const char *key;
        const char *value;
} RecordField;

/* One parsed line. The strings point into storage owned by the RecordLine. */
typedef struct RecordLine {
        uint64_t timestamp_usec; /* CLOCK_REALTIME */
        uint64_t attempt_id;
        const char *event;
        size_t n_fields; /* the fields after "event", without "crc" */
        RecordField fields[RECORD_FIELDS_MAX];
        char *storage;
} RecordLine;

typedef struct RecordTiming {
        uint64_t edges;
        uint64_t frames;
        uint64_t max_lateness_ns;
        uint64_t p99_lateness_ns;
        bool clean; /* no timing fault */
} RecordTiming;

/* Open (creating it with mode 0640 if needed) DIR/attempts.log for appending, take an
 * exclusive lock on it and find the highest attempt ID in it (in attempts.log, and in the
 * rotated files when that holds no "started" line; damaged lines are skipped). Errors: -ENOENT (no such
 * directory), -ENOTDIR, -EACCES, -EROFS, -ENOSPC, -EBUSY (another process holds the record),
 * -EISDIR or -EBADFD (attempts.log is a directory or not a regular file), -ENOMEM, or whatever
 * else open()/fsync() said. */
int record_open(const char *dir, Record **ret);

Record *record_free(Record *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(Record *, record_free);

/* The highest attempt ID found in the file when it was opened or appended since. */
uint64_t record_last_attempt_id(const Record *r);

/* Hand out the next attempt ID (last + 1); it stays used even if nothing is appended. */
uint64_t record_allocate_attempt_id(Record *r); /* 0: none left (the last was UINT64_MAX) */

/* Append one line: the event and n key/value fields. Returns 0 once the line is on stable
 * storage, or -errno (-ENOSPC, -EROFS, -EIO, ...): the event is then not recorded. -EINVAL
 * for an invalid event name, key or attempt ID 0, -E2BIG for more than RECORD_FIELDS_MAX. */
int record_append_fields(Record *r, uint64_t attempt_id, const char *event, const RecordField *fields,
                         size_t n);

/* The same with NULL-terminated key, value string pairs:
 * record_append(r, 42, "failed", "error", name, "message", msg, NULL). */
int record_append(Record *r, uint64_t attempt_id, const char *event, ...) __attribute__((sentinel));

int record_append_started(Record *r, uint64_t attempt_id, const char *kind);
/* The same with the unit's serial number and the operator (identity.h); a NULL or empty one is
 * left out of the line. */
int record_append_started_identity(Record *r, uint64_t attempt_id, const char *kind, const char *serial,
                                   const char *operator);
int record_append_token(Record *r, uint64_t attempt_id, const char *token_id, const char *plan_id);
int record_append_blinked(Record *r, uint64_t attempt_id, const RecordTiming *t);
int record_append_confirmed(Record *r, uint64_t attempt_id, const char *device_id);
int record_append_failed(Record *r, uint64_t attempt_id, const char *error_name, const char *message);
int record_append_cancelled(Record *r, uint64_t attempt_id);

/* Deferred durability: while defer is set, the record_append_*() above write their line (one
 * write(), as always) but return without fsync(); the caller makes it durable with an fsync()
 * of record_get_fd() (the daemon's fsync-worker.h, off its main loop), and calls
 * record_sync_failed() when that fails. */
void record_defer_sync(Record *r, bool defer);
/* The descriptor of the file lines are appended to (it changes with record_rotate()). */
int record_get_fd(const Record *r);
void record_sync_failed(Record *r);

/* Parse one line (a final "\n" is allowed). 0 on success; -ENODATA for an empty or blank
 * line; -EBADMSG for a damaged one (torn, bad checksum, bad syntax). ret is untouched on
 * failure; release it with record_line_done(). */
int record_parse_line(const char *line, RecordLine *ret);
void record_line_done(RecordLine *l);

/* The value of a field, or NULL. */
const char *record_line_get(const RecordLine *l, const char *key);

/* Called for each line of the file, last line first. offset is where the line starts;
 * terminated is false for a torn last line. line is not NUL-terminated and may contain NUL
 * bytes; length > RECORD_LINE_MAX is reported with line == NULL. Return 0 to go on, > 0 to
 * stop, < 0 to stop with an error. */
typedef int (*RecordLineFunc)(const char *line, size_t length, uint64_t offset, bool terminated,
                              void *userdata);

/* Walk the lines of an open file from its end, reading chunk bytes at a time (0: default).
 * Returns the callback's last return value, or -errno. */
int record_foreach_line_reverse(int fd, size_t chunk, RecordLineFunc f, void *userdata);

/* Rotation. The record never loses a line: when attempts.log has grown to the size given to
 * record_set_max_size() (0, the default: never), record_rotate() renames it to
 * attempts.log.N (N one more than the highest there is; rotated files are never renamed again
 * nor removed) and starts a new attempts.log. The daemon calls it before an attempt's
 * "started" line, so an attempt starts in one file; its later lines may land in the next.
 * Readers take attempts.log, then the rotated files from the highest N down. */
void record_set_max_size(Record *r, uint64_t bytes);
/* 0: nothing to do; 1: rotated (*ret_name, if not NULL: the rotated file's name); -errno:
 * not rotated, the record goes on in the same file. */
int record_rotate(Record *r, char **ret_name);
/* The numbers N of DIR's rotated files attempts.log.N, highest (newest) first. */
int record_list_rotated(int dir_fd, unsigned **ret, size_t *ret_n);

/* Format a CLOCK_REALTIME time as the record's "2026-11-24T03:10:00.123456Z". */
#define RECORD_TIMESTAMP_MAX 32
char *record_format_timestamp(char buf[static RECORD_TIMESTAMP_MAX], uint64_t usec);

/* Write LENGTH bytes of VALUE to BUF as the record does: bare, or quoted and escaped. Needs
 * at most 4 * LENGTH + 2 bytes. Returns the number of bytes written (no NUL). Also used by
 * "blinkupctl monitor". */
size_t record_escape_value(char *buf, const char *value, size_t length);
