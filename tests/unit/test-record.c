/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE 1 /* asprintf() */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "record.h"
#include "test-record-util.h"
#include "tests.h"
#include "time-util.h"

/* ---- fsync() and write() seen through the linker (-Wl,--wrap=fsync,--wrap=write): what was
 * synced and when, how many writes a line took, and a full disk ---- */

int __real_fsync(int fd);
int __wrap_fsync(int fd);
ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n);

#define SYNCS_MAX 64
static struct {
        bool is_dir;
        ino_t ino;
        off_t size; /* of the file at the time of the fsync() */
} syncs[SYNCS_MAX];
static unsigned n_syncs;
static int fsync_fail; /* errno to fail with, 0 = pass through */

int __wrap_fsync(int fd) {
        struct stat st;

        if (fstat(fd, &st) == 0 && n_syncs < SYNCS_MAX)
                syncs[n_syncs++] = (typeof(syncs[0])){ S_ISDIR(st.st_mode), st.st_ino, st.st_size };
        if (fsync_fail) {
                errno = fsync_fail;
                return -1;
        }
        return __real_fsync(fd);
}

static ino_t watch_ino; /* count the writes to this file */
static unsigned n_writes;
static int write_fail; /* errno to fail the writes to that file with, 0 = pass through */

ssize_t __wrap_write(int fd, const void *buf, size_t n) {
        struct stat st;

        if (watch_ino != 0 && fstat(fd, &st) == 0 && st.st_ino == watch_ino) {
                n_writes++;
                if (write_fail) {
                        errno = write_fail;
                        return -1;
                }
        }
        return __real_write(fd, buf, n);
}

/* ---- helpers ---- */

static void append_raw(const char *path, const char *data, size_t n) {
        int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, data, n), (ssize_t) n);
        close(fd);
}

/* ---- tests ---- */

/* the CRC-32 of zlib.crc32(): lines checksummed by it are accepted, and only with that sum */
START_TEST(test_crc32) {
        static const struct {
                const char *body;
                const char *crc;
        } lines[] = {
                { "1970-01-01T00:00:00.000000Z attempt=1 event=x", "2ec6c0d2" },
                { "2026-11-24T03:10:00.123456Z attempt=18446744073709551615 event=failed message=\"\\x01\\xff\"",
                  "95888870" },
        };

        for (size_t i = 0; i < ELEMENTSOF(lines); i++) {
                _cleanup_(freep) char *good = NULL, *bad = NULL;
                RecordLine l;

                ck_assert_int_ge(asprintf(&good, "%s crc=%s\n", lines[i].body, lines[i].crc), 0);
                ck_assert_int_ge(asprintf(&bad, "%s crc=00000000\n", lines[i].body), 0);
                ck_assert_int_eq(record_parse_line(good, &l), 0);
                record_line_done(&l);
                ck_assert_int_eq(record_parse_line(bad, &l), -EBADMSG);
        }
}
END_TEST

START_TEST(test_timestamp) {
        char buf[RECORD_TIMESTAMP_MAX];

        ck_assert_str_eq(record_format_timestamp(buf, UINT64_C(1795489800123456)),
                         "2026-11-24T03:10:00.123456Z");
        ck_assert_str_eq(record_format_timestamp(buf, 0), "1970-01-01T00:00:00.000000Z");
}
END_TEST

/* the example in record.h, checksum computed elsewhere (zlib.crc32) */
START_TEST(test_parse_example) {
        RecordLine l;

        ck_assert_int_eq(record_parse_line("2026-11-24T03:10:00.123456Z attempt=42 event=blinked edges=212 "
                                           "frames=1 max_lateness_ns=51234 p99_lateness_ns=40000 clean=yes "
                                           "crc=c07b31c5\n",
                                           &l),
                         0);
        ck_assert_uint_eq(l.timestamp_usec, UINT64_C(1795489800123456));
        ck_assert_uint_eq(l.attempt_id, 42);
        ck_assert_str_eq(l.event, "blinked");
        ck_assert_uint_eq(l.n_fields, 5);
        ck_assert_str_eq(l.fields[0].key, "edges");
        ck_assert_str_eq(l.fields[4].key, "clean");
        ck_assert_str_eq(l.fields[4].value, "yes");
        record_line_done(&l);
}
END_TEST

START_TEST(test_escape) {
        char buf[64];
        size_t n;

        n = record_escape_value(buf, "plain-42_x=y", 12);
        ck_assert_str_eq((buf[n] = 0, buf), "plain-42_x=y");
        n = record_escape_value(buf, "", 0);
        ck_assert_str_eq((buf[n] = 0, buf), "\"\"");
        n = record_escape_value(buf, "a b\"c\\d\ne\tf\rg\x01h\x7f\xc3\xa9", 18);
        ck_assert_str_eq((buf[n] = 0, buf), "\"a b\\\"c\\\\d\\ne\\tf\\rg\\x01h\\x7f\\xc3\\xa9\"");
}
END_TEST

/* every event helper, through the file and back */
START_TEST(test_round_trip) {
        static const char *const odd[] = {
                "",
                " ",
                "two words",
                "\"quoted\"",
                "back\\slash\\",
                "line\nbreak\r\n",
                "tab\there",
                "x=y z=w",
                "attempt=99 event=confirmed",
                "fake crc=00000000",
                "caf\xc3\xa9 \xe2\x98\x83",
                "\x01\x02\x1f\x7f\xff",
                "\\x41\\n",
                "ends with space ",
        };
        _cleanup_(freep) char *dir = make_tmpdir(), *path = record_path(dir), *text = NULL;
        _cleanup_(record_freep) Record *r = NULL;
        RecordTiming t = {
                .edges = 212, .frames = 1, .max_lateness_ns = 51234, .p99_lateness_ns = 40000, .clean = true
        };
        char *lines[64];
        size_t n;
        uint64_t before = (uint64_t) time(NULL) * USEC_PER_SEC;

        ck_assert_int_eq(record_open(dir, &r), 0);
        ck_assert_uint_eq(record_last_attempt_id(r), 0);
        ck_assert_int_eq(record_append_started(r, 42, "factory"), 0);
        ck_assert_int_eq(record_append_token(r, 42, "tok-1", "0123456789abcdef"), 0);
        ck_assert_int_eq(record_append_blinked(r, 42, &t), 0);
        ck_assert_int_eq(record_append_confirmed(r, 42, "dev 0001"), 0);
        ck_assert_int_eq(record_append_failed(r, 43, "org.blinkupd.Fixture1.Error.Timeout",
                                              "no answer from \"factory\"\nafter 10 s"),
                         0);
        ck_assert_int_eq(record_append_cancelled(r, 44), 0);
        for (size_t i = 0; i < ELEMENTSOF(odd); i++)
                ck_assert_int_eq(record_append(r, 45, "note", "value", odd[i], "after", "x", NULL), 0);
        ck_assert_uint_eq(record_last_attempt_id(r), 45);
        r = record_free(r);

        text = read_file(path, NULL);
        n = split_lines(text, lines, ELEMENTSOF(lines));
        ck_assert_uint_eq(n, 6 + ELEMENTSOF(odd));

        /* the documented layout, byte for byte apart from the time and the checksum */
        ck_assert_msg(strlen(lines[2]) > 28 && lines[2][27] == ' ', "%s", lines[2]);
        ck_assert_msg(strncmp(lines[2] + 27,
                              " attempt=42 event=blinked edges=212 frames=1 max_lateness_ns=51234 "
                              "p99_lateness_ns=40000 clean=yes crc=",
                              strlen(" attempt=42 event=blinked edges=212 frames=1 max_lateness_ns=51234 "
                                     "p99_lateness_ns=40000 clean=yes crc=")) == 0,
                      "%s", lines[2]);
        ck_assert_msg(strstr(lines[3], " event=confirmed device_id=\"dev 0001\" crc="), "%s", lines[3]);
        ck_assert_msg(strstr(lines[4], " message=\"no answer from \\\"factory\\\"\\nafter 10 s\" crc="),
                      "%s", lines[4]);
        ck_assert_msg(strstr(lines[5], " attempt=44 event=cancelled crc="), "%s", lines[5]);

        for (size_t i = 0; i < n; i++) {
                RecordLine l;

                for (const char *p = lines[i]; *p; p++)
                        ck_assert_msg(*p >= ' ' && *p <= '~', "line %zu has byte 0x%02x", i,
                                      (unsigned char) *p);
                ck_assert_int_eq(record_parse_line(lines[i], &l), 0);
                ck_assert_uint_ge(l.timestamp_usec, before);
                ck_assert_uint_le(l.timestamp_usec, now_usec(CLOCK_REALTIME)); /* time() may lag: a coarse clock */
                switch (i) {
                case 0:
                        ck_assert_uint_eq(l.attempt_id, 42);
                        ck_assert_str_eq(l.event, "started");
                        ck_assert_uint_eq(l.n_fields, 1);
                        ck_assert_str_eq(record_line_get(&l, "kind"), "factory");
                        break;
                case 1:
                        ck_assert_str_eq(l.event, "token");
                        ck_assert_str_eq(record_line_get(&l, "token_id"), "tok-1");
                        ck_assert_str_eq(record_line_get(&l, "plan_id"), "0123456789abcdef");
                        break;
                case 2:
                        ck_assert_str_eq(l.event, "blinked");
                        ck_assert_uint_eq(l.n_fields, 5);
                        ck_assert_str_eq(record_line_get(&l, "edges"), "212");
                        ck_assert_str_eq(record_line_get(&l, "frames"), "1");
                        ck_assert_str_eq(record_line_get(&l, "max_lateness_ns"), "51234");
                        ck_assert_str_eq(record_line_get(&l, "p99_lateness_ns"), "40000");
                        ck_assert_str_eq(record_line_get(&l, "clean"), "yes");
                        ck_assert_ptr_null(record_line_get(&l, "crc"));
                        break;
                case 3:
                        ck_assert_str_eq(record_line_get(&l, "device_id"), "dev 0001");
                        break;
                case 4:
                        ck_assert_uint_eq(l.attempt_id, 43);
                        ck_assert_str_eq(l.event, "failed");
                        ck_assert_str_eq(record_line_get(&l, "error"),
                                         "org.blinkupd.Fixture1.Error.Timeout");
                        ck_assert_str_eq(record_line_get(&l, "message"),
                                         "no answer from \"factory\"\nafter 10 s");
                        break;
                case 5:
                        ck_assert_uint_eq(l.attempt_id, 44);
                        ck_assert_str_eq(l.event, "cancelled");
                        ck_assert_uint_eq(l.n_fields, 0);
                        break;
                default:
                        ck_assert_uint_eq(l.attempt_id, 45);
                        ck_assert_str_eq(l.event, "note");
                        ck_assert_uint_eq(l.n_fields, 2);
                        ck_assert_str_eq(record_line_get(&l, "value"), odd[i - 6]);
                        ck_assert_str_eq(record_line_get(&l, "after"), "x");
                }
                record_line_done(&l);
        }
        rm_rf(dir);
}
END_TEST

START_TEST(test_long_value) {
        _cleanup_(freep) char *dir = make_tmpdir(), *path = record_path(dir), *text = NULL, *big = NULL;
        _cleanup_(record_freep) Record *r = NULL;
        RecordLine l;
        const char *v;

        big = malloc(5000);
        ck_assert_ptr_nonnull(big);
        memset(big, '\n', 4999);
        big[4999] = 0;
        ck_assert_int_eq(record_open(dir, &r), 0);
        ck_assert_int_eq(record_append_failed(r, 1, "org.blinkupd.Fixture1.Error.Server", big), 0);
        text = read_file(path, NULL);
        ck_assert_uint_lt(strlen(text), 4 * RECORD_VALUE_MAX);
        ck_assert_int_eq(record_parse_line(text, &l), 0);
        v = record_line_get(&l, "message");
        ck_assert_uint_eq(strlen(v), RECORD_VALUE_MAX);
        ck_assert_str_eq(v + RECORD_VALUE_MAX - 3, "...");
        ck_assert_uint_eq(strspn(v, "\n"), RECORD_VALUE_MAX - 3);
        record_line_done(&l);
        rm_rf(dir);
}
END_TEST

START_TEST(test_invalid_arguments) {
        _cleanup_(freep) char *dir = make_tmpdir(), *path = record_path(dir), *text = NULL;
        _cleanup_(record_freep) Record *r = NULL;
        RecordField many[RECORD_FIELDS_MAX + 1];
        size_t size;

        for (size_t i = 0; i < ELEMENTSOF(many); i++)
                many[i] = (RecordField){ "k", "v" };
        ck_assert_int_eq(record_open(dir, &r), 0);
        ck_assert_int_eq(record_append(r, 0, "started", "kind", "factory", NULL), -EINVAL);
        ck_assert_int_eq(record_append(r, 1, "Started", NULL), -EINVAL);
        ck_assert_int_eq(record_append(r, 1, "with space", NULL), -EINVAL);
        ck_assert_int_eq(record_append(r, 1, "", NULL), -EINVAL);
        ck_assert_int_eq(record_append(r, 1, "x", "Key", "v", NULL), -EINVAL);
        ck_assert_int_eq(record_append(r, 1, "x", "a=b", "v", NULL), -EINVAL);
        ck_assert_int_eq(record_append(r, 1, "x", "crc", "0", NULL), -EINVAL);
        ck_assert_int_eq(record_append(r, 1, "x", "attempt", "2", NULL), -EINVAL);
        ck_assert_int_eq(record_append(r, 1, "x", "event", "y", NULL), -EINVAL);
        ck_assert_int_eq(record_append_fields(r, 1, "x", many, RECORD_FIELDS_MAX + 1), -E2BIG);
        ck_assert_int_eq(record_append_started(r, 1, NULL), -EINVAL);
        ck_assert_int_eq(record_append_blinked(r, 1, NULL), -EINVAL);
        ck_assert_int_eq(record_append_fields(r, 1, "x", many, RECORD_FIELDS_MAX), 0);
        text = read_file(path, NULL);
        size = strlen(text);
        ck_assert_uint_eq(size > 0 && text[size - 1] == '\n' && !strchr(text, '\n')[1], true);
        ck_assert_ptr_null(record_free(NULL));
        ck_assert_int_eq(record_open(NULL, &r), -EINVAL);
        rm_rf(dir);
}
END_TEST

START_TEST(test_parse_rejects) {
        _cleanup_(freep) char *dir = make_tmpdir(), *path = record_path(dir), *text = NULL;
        _cleanup_(record_freep) Record *r = NULL;
        RecordLine l = { .attempt_id = 777 };
        char *bad;
        size_t n;

        ck_assert_int_eq(record_parse_line("", &l), -ENODATA);
        ck_assert_int_eq(record_parse_line("\n", &l), -ENODATA);
        ck_assert_int_eq(record_parse_line("   \t\n", &l), -ENODATA);
        ck_assert_int_eq(record_parse_line("garbage", &l), -EBADMSG);
        ck_assert_int_eq(record_parse_line("2026-11-24T03:10:00.123456Z attempt=1 event=started", &l),
                         -EBADMSG);

        ck_assert_int_eq(record_open(dir, &r), 0);
        ck_assert_int_eq(record_append(r, 7, "failed", "message", "a \"b\"", NULL), 0);
        text = read_file(path, NULL);
        n = strlen(text);
        ck_assert_int_eq(record_parse_line(text, &l), 0);
        record_line_done(&l);
        ck_assert_uint_eq(l.attempt_id, 0);

        /* any single changed byte is caught */
        bad = strdup(text);
        for (size_t i = 0; i + 1 < n; i++) {
                for (unsigned delta = 1; delta < 128; delta *= 2) {
                        RecordLine m = { .attempt_id = 777 };

                        memcpy(bad, text, n + 1);
                        bad[i] = (char) (bad[i] ^ (char) delta);
                        if (bad[i] == 0 || bad[i] == '\n')
                                continue;
                        ck_assert_msg(record_parse_line(bad, &m) == -EBADMSG, "byte %zu ^ %u: %s", i, delta,
                                      bad);
                        ck_assert_uint_eq(m.attempt_id, 777); /* untouched */
                }
        }
        /* every proper prefix, as a power cut would leave it, is rejected */
        for (size_t k = 1; k + 1 < n; k++) {
                memcpy(bad, text, k);
                bad[k] = 0;
                ck_assert_msg(record_parse_line(bad, &l) == -EBADMSG, "prefix %zu accepted: %s", k, bad);
        }
        /* the whole line without its newline is complete */
        memcpy(bad, text, n - 1);
        bad[n - 1] = 0;
        ck_assert_int_eq(record_parse_line(bad, &l), 0);
        record_line_done(&l);
        free(bad);
        rm_rf(dir);
}
END_TEST

/* the line is written and synced before record_append() returns; a new file's directory too */
START_TEST(test_fsync_order) {
        _cleanup_(freep) char *dir = make_tmpdir(), *path = record_path(dir), *text = NULL;
        _cleanup_(record_freep) Record *r = NULL;
        struct stat st, dst;
        size_t size;

        n_syncs = 0;
        ck_assert_int_eq(record_open(dir, &r), 0);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_int_eq(stat(dir, &dst), 0);
        ck_assert_uint_eq(n_syncs, 2);
        ck_assert(!syncs[0].is_dir && syncs[0].ino == st.st_ino);
        ck_assert(syncs[1].is_dir && syncs[1].ino == dst.st_ino);

        watch_ino = st.st_ino;
        for (unsigned i = 1; i <= 3; i++) {
                n_syncs = 0;
                n_writes = 0;
                ck_assert_int_eq(record_append_started(r, i, "clear"), 0);
                ck_assert_int_eq(stat(path, &st), 0);
                ck_assert_uint_eq(n_writes, 1); /* the whole line in one write() */
                ck_assert_uint_eq(n_syncs, 1);
                ck_assert(!syncs[0].is_dir && syncs[0].ino == st.st_ino);
                /* synced after the whole line was written */
                ck_assert_int_eq(syncs[0].size, st.st_size);
        }
        watch_ino = 0;
        r = record_free(r);

        /* content present for a new reader after record_free() */
        text = read_file(path, &size);
        ck_assert_uint_eq(size, (size_t) st.st_size);

        /* reopening an existing file does not sync anything */
        n_syncs = 0;
        ck_assert_int_eq(record_open(dir, &r), 0);
        ck_assert_uint_eq(n_syncs, 0);
        ck_assert_uint_eq(record_last_attempt_id(r), 3);

        /* a failed fsync is the caller's failure */
        fsync_fail = EIO;
        ck_assert_int_eq(record_append_started(r, 4, "factory"), -EIO);
        fsync_fail = 0;
        ck_assert_int_eq(record_append_started(r, 5, "factory"), 0);
        rm_rf(dir);
}
END_TEST

START_TEST(test_torn_line) {
        _cleanup_(freep) char *dir = make_tmpdir(), *path = record_path(dir), *text = NULL, *good = NULL;
        _cleanup_(record_freep) Record *r = NULL;
        char *lines[16];
        RecordLine l;
        uint64_t id;
        size_t n, half;

        ck_assert_int_eq(record_open(dir, &r), 0);
        ck_assert_int_eq(record_append_started(r, 5, "factory"), 0);
        ck_assert_int_eq(record_append_started(r, 6, "factory"), 0);
        r = record_free(r);

        /* a power cut in the middle of the line of attempt 7 */
        text = read_file(path, &n);
        good = strdup(strchr(text, '\n') + 1);
        ck_assert_ptr_nonnull(good);
        good[strlen(good) - 1] = 0;
        ck_assert_ptr_nonnull(strstr(good, "attempt=6"));
        strstr(good, "attempt=6")[8] = '7';
        ck_assert_ptr_nonnull(strstr(good, "attempt=7"));
        half = strlen(good) / 2;
        append_raw(path, good, half);

        /* the scan skips it: attempt 7 never finished writing */
        ck_assert_int_eq(read_last_id(dir, &id), 0);
        ck_assert_uint_eq(id, 6);

        ck_assert_int_eq(record_open(dir, &r), 0);
        ck_assert_uint_eq(record_last_attempt_id(r), 6);
        ck_assert_uint_eq(record_allocate_attempt_id(r), 7);
        ck_assert_int_eq(record_append_started(r, 7, "clear"), 0);
        ck_assert_int_eq(record_append_cancelled(r, 7), 0);
        r = record_free(r);

        free(text);
        text = read_file(path, NULL);
        n = split_lines(text, lines, ELEMENTSOF(lines));
        ck_assert_uint_eq(n, 5);
        ck_assert_int_eq(record_parse_line(lines[0], &l), 0);
        record_line_done(&l);
        ck_assert_int_eq(record_parse_line(lines[1], &l), 0);
        record_line_done(&l);
        ck_assert_uint_eq(strlen(lines[2]), half); /* the fragment, terminated */
        ck_assert_int_eq(record_parse_line(lines[2], &l), -EBADMSG); /* and skipped */
        ck_assert_int_eq(record_parse_line(lines[3], &l), 0); /* a line of its own */
        ck_assert_uint_eq(l.attempt_id, 7);
        ck_assert_str_eq(l.event, "started");
        record_line_done(&l);
        ck_assert_int_eq(record_parse_line(lines[4], &l), 0);
        ck_assert_str_eq(l.event, "cancelled");
        record_line_done(&l);

        /* zeros where a block was allocated but never written */
        append_raw(path, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
        ck_assert_int_eq(read_last_id(dir, &id), 0);
        ck_assert_uint_eq(id, 7);
        ck_assert_int_eq(record_open(dir, &r), 0);
        ck_assert_int_eq(record_append_started(r, 8, "factory"), 0);
        r = record_free(r);
        ck_assert_int_eq(read_last_id(dir, &id), 0);
        ck_assert_uint_eq(id, 8);
        rm_rf(dir);
}
END_TEST

typedef struct Collected {
        char *lines[512];
        bool terminated[512];
        uint64_t offsets[512];
        size_t n;
        size_t stop_after;
} Collected;

static int collect(const char *line, size_t length, uint64_t offset, bool terminated, void *userdata) {
        Collected *c = userdata;

        ck_assert_uint_lt(c->n, ELEMENTSOF(c->lines));
        c->lines[c->n] = line ? strndup(line, length) : strdup("<long>");
        c->terminated[c->n] = terminated;
        c->offsets[c->n] = offset;
        c->n++;
        return c->stop_after > 0 && c->n >= c->stop_after;
}

static void collected_done(Collected *c) {
        for (size_t i = 0; i < c->n; i++)
                free(c->lines[i]);
        c->n = 0;
}

START_TEST(test_reverse_lines) {
        static const char *const files[] = {
                "",
                "\n",
                "a",
                "a\n",
                "\n\n",
                "one\ntwo\nthree\n",
                "one\ntwo\nthr",
                "\nlead\n\nmiddle\n\n",
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\ny\nzzzzzzzzzzzzzzzzzzzzz",
        };
        static const size_t chunks[] = { 1, 2, 3, 7, 64, 0 };
        _cleanup_(freep) char *dir = make_tmpdir(), *path = record_path(dir);

        for (size_t f = 0; f < ELEMENTSOF(files); f++) {
                size_t len = strlen(files[f]);
                int fd;

                fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                ck_assert_int_ge(fd, 0);
                ck_assert_int_eq(write(fd, files[f], len), (ssize_t) len);

                for (size_t c = 0; c < ELEMENTSOF(chunks); c++) {
                        Collected got = {};
                        char *copy = strdup(files[f]), *expect[32];
                        uint64_t offs[32];
                        size_t n = 0;

                        /* the same split done forwards */
                        if (len > 0)
                                for (char *p = copy;;) {
                                        char *nl = strchr(p, '\n');
                                        offs[n] = (uint64_t) (p - copy);
                                        expect[n++] = p;
                                        if (!nl)
                                                break;
                                        *nl = 0;
                                        p = nl + 1;
                                        if (!*p)
                                                break;
                                }

                        ck_assert_int_eq(record_foreach_line_reverse(fd, chunks[c], collect, &got), 0);
                        ck_assert_msg(got.n == n, "file %zu chunk %zu: %zu lines, want %zu", f, chunks[c],
                                      got.n, n);
                        for (size_t i = 0; i < n; i++) {
                                ck_assert_str_eq(got.lines[i], expect[n - 1 - i]);
                                ck_assert_uint_eq(got.offsets[i], offs[n - 1 - i]);
                                ck_assert(got.terminated[i] == (i > 0 || files[f][len - 1] == '\n'));
                        }
                        collected_done(&got);
                        free(copy);
                }
                close(fd);
        }

        /* stopping early, and a line too long to hold */
        {
                Collected got = { .stop_after = 2 };
                char *big = malloc(RECORD_LINE_MAX + 10);
                int fd = open(path, O_RDWR | O_TRUNC | O_CLOEXEC);

                ck_assert_int_ge(fd, 0);
                memset(big, 'q', RECORD_LINE_MAX + 10);
                ck_assert_int_eq(write(fd, "first\n", 6), 6);
                ck_assert_int_eq(write(fd, big, RECORD_LINE_MAX + 10), RECORD_LINE_MAX + 10);
                ck_assert_int_eq(write(fd, "\nsecond\nthird\n", 14), 14);
                ck_assert_int_eq(record_foreach_line_reverse(fd, 1000, collect, &got), 1);
                ck_assert_uint_eq(got.n, 2);
                ck_assert_str_eq(got.lines[0], "third");
                ck_assert_str_eq(got.lines[1], "second");
                collected_done(&got);
                got.stop_after = 0;
                ck_assert_int_eq(record_foreach_line_reverse(fd, 1000, collect, &got), 0);
                ck_assert_uint_eq(got.n, 4);
                ck_assert_str_eq(got.lines[2], "<long>");
                ck_assert_uint_eq(got.offsets[2], 6);
                ck_assert_str_eq(got.lines[3], "first");
                collected_done(&got);
                free(big);
                close(fd);
        }
        rm_rf(dir);
}
END_TEST

START_TEST(test_last_id) {
        _cleanup_(freep) char *dir = make_tmpdir(), *path = record_path(dir);
        _cleanup_(record_freep) Record *r = NULL;
        RecordTiming t = { .edges = 10, .frames = 1, .clean = true };
        uint64_t id = 12345;

        /* no file yet */
        ck_assert_int_eq(read_last_id(dir, &id), 0);
        ck_assert_uint_eq(id, 0);
        ck_assert_int_eq(access(path, F_OK), -1);

        /* restarts: each opening continues where the last left off */
        for (unsigned run = 0; run < 3; run++) {
                uint64_t a, b;

                ck_assert_int_eq(record_open(dir, &r), 0);
                ck_assert_uint_eq(record_last_attempt_id(r), run * 2);
                a = record_allocate_attempt_id(r);
                b = record_allocate_attempt_id(r);
                ck_assert_uint_eq(a, run * 2 + 1);
                ck_assert_uint_eq(b, run * 2 + 2);
                ck_assert_int_eq(record_append_started(r, a, "factory"), 0);
                ck_assert_int_eq(record_append_started(r, b, "factory"), 0);
                /* the older attempt's late confirmation comes last */
                ck_assert_int_eq(record_append_blinked(r, b, &t), 0);
                ck_assert_int_eq(record_append_confirmed(r, a, "dev"), 0);
                r = record_free(r);
                ck_assert_int_eq(read_last_id(dir, &id), 0);
                ck_assert_uint_eq(id, run * 2 + 2);
        }

        /* a huge record: only its tail is read */
        {
                _cleanup_(freep) char *filler = malloc(1 << 20);
                int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);

                ck_assert_int_ge(fd, 0);
                ck_assert_ptr_nonnull(filler);
                memset(filler, '#', 1 << 20);
                for (int i = 0; i < 8; i++)
                        ck_assert_int_eq(write(fd, filler, 1 << 20), 1 << 20);
                ck_assert_int_eq(write(fd, "\n", 1), 1);
                close(fd);
        }
        ck_assert_int_eq(record_open(dir, &r), 0);
        ck_assert_uint_eq(record_last_attempt_id(r), 6);
        ck_assert_int_eq(record_append_started(r, 7, "factory"), 0);
        r = record_free(r);
        ck_assert_int_eq(read_last_id(dir, &id), 0);
        ck_assert_uint_eq(id, 7);
        rm_rf(dir);
}
END_TEST

START_TEST(test_file_mode) {
        static const mode_t masks[] = { 0, 022, 077 };

        for (size_t i = 0; i < ELEMENTSOF(masks); i++) {
                _cleanup_(freep) char *dir = make_tmpdir(), *path = record_path(dir);
                _cleanup_(record_freep) Record *r = NULL;
                mode_t old = umask(masks[i]);
                struct stat st;
                int fl;

                ck_assert_int_eq(record_open(dir, &r), 0);
                umask(old);
                ck_assert_int_eq(stat(path, &st), 0);
                ck_assert(S_ISREG(st.st_mode));
                ck_assert_uint_eq(st.st_mode & 07777, 0640);

                /* O_APPEND and O_CLOEXEC on the descriptor */
                for (int fd = 3; fd < 64; fd++) {
                        struct stat fst;
                        if (fstat(fd, &fst) == 0 && fst.st_ino == st.st_ino && fst.st_dev == st.st_dev) {
                                fl = fcntl(fd, F_GETFL);
                                ck_assert(fl & O_APPEND);
                                ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
                                ck_assert((fl & O_ACCMODE) == O_RDWR);
                        }
                }
                r = record_free(r);

                /* an existing file's mode is the administrator's choice */
                ck_assert_int_eq(chmod(path, 0600), 0);
                ck_assert_int_eq(record_open(dir, &r), 0);
                ck_assert_int_eq(stat(path, &st), 0);
                ck_assert_uint_eq(st.st_mode & 07777, 0600);
                rm_rf(dir);
        }
}
END_TEST

START_TEST(test_open_errors) {
        _cleanup_(freep) char *dir = make_tmpdir(), *path = record_path(dir), *missing = NULL;
        _cleanup_(record_freep) Record *r = NULL, *r2 = NULL;
        uint64_t id;

        ck_assert_int_ge(asprintf(&missing, "%s/no/such/dir", dir), 0);
        ck_assert_int_eq(record_open(missing, &r), -ENOENT);
        ck_assert_ptr_null(r);
        ck_assert_int_eq(read_last_id(missing, &id), -ENOENT);
        ck_assert_int_eq(record_open("/dev/null", &r), -ENOTDIR);

        /* one writer at a time */
        ck_assert_int_eq(record_open(dir, &r), 0);
        ck_assert_int_eq(record_open(dir, &r2), -EBUSY);
        ck_assert_ptr_null(r2);
        r = record_free(r);
        ck_assert_int_eq(record_open(dir, &r2), 0);
        r2 = record_free(r2);

        /* not a regular file */
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(mkfifo(path, 0600), 0);
        ck_assert_int_eq(record_open(dir, &r), -EBADFD);
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(mkdir(path, 0700), 0);
        ck_assert_int_eq(record_open(dir, &r), -EISDIR);
        rm_rf(dir);
}
END_TEST

/* -ENOSPC without privileges: the record's writes fail as on a full disk */
START_TEST(test_enospc_write) {
        _cleanup_(freep) char *dir = make_tmpdir(), *path = record_path(dir);
        _cleanup_(record_freep) Record *r = NULL;
        struct stat st;

        ck_assert_int_eq(record_open(dir, &r), 0);
        ck_assert_int_eq(stat(path, &st), 0);
        watch_ino = st.st_ino;
        write_fail = ENOSPC;
        ck_assert_int_eq(record_append_started(r, 1, "factory"), -ENOSPC);
        write_fail = 0;
        watch_ino = 0;
        ck_assert_uint_eq(record_last_attempt_id(r), 0);
        rm_rf(dir);
}
END_TEST

/* The unit's serial number and operator on the "started" line: written with the record's escaping
 * (lines checksummed elsewhere, with zlib.crc32), read back, and absent from older lines. */
START_TEST(test_started_identity_parse) {
        RecordLine l;

        ck_assert_int_eq(record_parse_line("2026-11-24T03:10:00.123456Z attempt=42 event=started kind=factory "
                                           "serial=SN-0042/A operator=\"Zo\\xc3\\xab Smith\" crc=0c9baadd\n",
                                           &l),
                         0);
        ck_assert_str_eq(l.event, "started");
        ck_assert_str_eq(record_line_get(&l, "kind"), "factory");
        ck_assert_str_eq(record_line_get(&l, "serial"), "SN-0042/A");
        ck_assert_str_eq(record_line_get(&l, "operator"), "Zo\xc3\xab Smith");
        record_line_done(&l);

        /* a record written before the fields existed */
        ck_assert_int_eq(record_parse_line("2026-11-24T03:09:00.000000Z attempt=41 event=started kind=factory "
                                           "crc=14cdadba\n",
                                           &l),
                         0);
        ck_assert_str_eq(record_line_get(&l, "kind"), "factory");
        ck_assert_ptr_null(record_line_get(&l, "serial"));
        ck_assert_ptr_null(record_line_get(&l, "operator"));
        record_line_done(&l);
}
END_TEST

START_TEST(test_started_identity_round_trip) {
        _cleanup_(freep) char *dir = make_tmpdir(), *path = record_path(dir), *text = NULL;
        _cleanup_(record_freep) Record *r = NULL;
        static const char *const expected[] = {
                " attempt=1 event=started kind=factory serial=SN-0042/A operator=\"Zo\\xc3\\xab Smith\" crc=",
                " attempt=2 event=started kind=factory serial=SN123 crc=",
                " attempt=3 event=started kind=clear operator=alice crc=",
                " attempt=4 event=started kind=factory crc=",
                " attempt=5 event=started kind=factory crc=",
        };
        char *lines[8];
        size_t n;

        ck_assert_int_eq(record_open(dir, &r), 0);
        ck_assert_int_eq(record_append_started_identity(r, 1, "factory", "SN-0042/A", "Zo\xc3\xab Smith"), 0);
        ck_assert_int_eq(record_append_started_identity(r, 2, "factory", "SN123", NULL), 0);
        ck_assert_int_eq(record_append_started_identity(r, 3, "clear", "", "alice"), 0);
        ck_assert_int_eq(record_append_started_identity(r, 4, "factory", NULL, NULL), 0);
        ck_assert_int_eq(record_append_started(r, 5, "factory"), 0);
        ck_assert_int_eq(record_append_started_identity(r, 6, NULL, "SN1", NULL), -EINVAL);
        r = record_free(r);

        text = read_file(path, NULL);
        n = split_lines(text, lines, ELEMENTSOF(lines));
        ck_assert_uint_eq(n, ELEMENTSOF(expected));
        for (size_t i = 0; i < n; i++) {
                RecordLine l;

                ck_assert_msg(strncmp(lines[i] + 27, expected[i], strlen(expected[i])) == 0, "%s", lines[i]);
                ck_assert_int_eq(record_parse_line(lines[i], &l), 0);
                ck_assert_uint_eq(l.attempt_id, i + 1);
                record_line_done(&l);
        }
        rm_rf(dir);
}
END_TEST

static Suite *record_suite(void) {
        Suite *s = suite_create("record");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_crc32);
        tcase_add_test(tc, test_timestamp);
        tcase_add_test(tc, test_parse_example);
        tcase_add_test(tc, test_escape);
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_long_value);
        tcase_add_test(tc, test_invalid_arguments);
        tcase_add_test(tc, test_parse_rejects);
        tcase_add_test(tc, test_fsync_order);
        tcase_add_test(tc, test_torn_line);
        tcase_add_test(tc, test_reverse_lines);
        tcase_add_test(tc, test_last_id);
        tcase_add_test(tc, test_file_mode);
        tcase_add_test(tc, test_open_errors);
        tcase_add_test(tc, test_enospc_write);
        tcase_add_test(tc, test_started_identity_parse);
        tcase_add_test(tc, test_started_identity_round_trip);
        suite_add_tcase(s, tc);
        return s;
}

TEST_MAIN(record_suite)
