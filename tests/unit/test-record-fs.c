/* SPDX-License-Identifier: MIT */
/* The attempt record on a file system that fails for real: full (-ENOSPC) and read-only
 * (-EROFS), each a private tmpfs in a mount namespace of its own. Where no such namespace can be
 * made (neither root nor unprivileged user namespaces), the program is skipped (exit 77). */
#define _GNU_SOURCE 1 /* unshare() */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "record.h"
#include "test-record-util.h"
#include "tests.h"

static int write_string_file(const char *path, const char *s) {
        _cleanup_(closep) int fd = open(path, O_WRONLY | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        if (write(fd, s, strlen(s)) < 0)
                return -errno;
        return 0;
}

/* A private mount namespace: root can make one, and so can others where unprivileged user
 * namespaces are allowed (then as root of a user namespace of their own). */
static int enter_mount_namespace(void) {
        char map[64];
        uid_t uid = getuid();
        gid_t gid = getgid();
        int r;

        if (unshare(CLONE_NEWNS) >= 0)
                return 0;
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                return -errno;
        (void) write_string_file("/proc/self/setgroups", "deny");
        (void) snprintf(map, sizeof(map), "0 %u 1", (unsigned) uid);
        r = write_string_file("/proc/self/uid_map", map);
        if (r < 0)
                return r;
        (void) snprintf(map, sizeof(map), "0 %u 1", (unsigned) gid);
        return write_string_file("/proc/self/gid_map", map);
}

/* A fresh tmpfs of SIZE on DIR, seen by this process only (each test runs in a process of its
 * own, CK_FORK, so nothing leaks). */
static int mount_private_tmpfs(const char *dir, const char *size) {
        char opts[64];
        int r;

        r = enter_mount_namespace();
        if (r < 0)
                return r;
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return -errno;
        (void) snprintf(opts, sizeof(opts), "size=%s,mode=0755", size);
        if (mount("tmpfs", dir, "tmpfs", 0, opts) < 0)
                return -errno;
        return 0;
}

static char *private_tmpfs(const char *size) {
        char *dir = make_tmpdir();

        ck_assert_int_eq(mount_private_tmpfs(dir, size), 0);
        return dir;
}

/* Can this process make a private tmpfs? Tried in a child, which takes its namespace along. */
static int probe_private_tmpfs(void) {
        char dir[] = "/tmp/test-record-fs-XXXXXX";
        int status;
        pid_t pid;

        if (!mkdtemp(dir))
                return -errno;
        pid = fork();
        if (pid < 0) {
                (void) rmdir(dir);
                return -errno;
        }
        if (pid == 0)
                _exit(-mount_private_tmpfs(dir, "64k"));
        if (waitpid(pid, &status, 0) < 0) {
                int e = -errno;

                (void) rmdir(dir);
                return e;
        }
        (void) rmdir(dir);
        if (!WIFEXITED(status))
                return -EIO;
        return -WEXITSTATUS(status);
}

/* -ENOSPC for real: a full file system; the torn line it leaves is skipped, and the next
 * line after space is freed starts on a line of its own */
START_TEST(test_enospc_tmpfs) {
        _cleanup_(freep) char *dir = private_tmpfs("8k"), *path = record_path(dir), *text = NULL;
        _cleanup_(record_freep) Record *r = NULL;
        char *lines[256], big[300];
        size_t n, good = 0, bad = 0;
        uint64_t id = 0;
        int k = 0;

        memset(big, 'v', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;

        ck_assert_int_eq(record_open(dir, &r), 0);
        for (id = 1; id < 200; id++) {
                k = record_append(r, id, "started", "kind", "factory", "pad", big, NULL);
                if (k < 0)
                        break;
        }
        ck_assert_int_eq(k, -ENOSPC);
        ck_assert_uint_gt(id, 5);
        ck_assert_uint_eq(record_last_attempt_id(r), id - 1);

        /* the administrator makes room */
        ck_assert_int_eq(mount(NULL, dir, NULL, MS_REMOUNT, "size=64k"), 0);
        ck_assert_int_eq(record_append_started(r, id, "factory"), 0);
        r = record_free(r);

        text = read_file(path, NULL);
        n = split_lines(text, lines, ELEMENTSOF(lines));
        for (size_t i = 0; i < n; i++) {
                RecordLine l;

                if (record_parse_line(lines[i], &l) == 0) {
                        good++;
                        ck_assert_uint_eq(l.attempt_id, good);
                        record_line_done(&l);
                } else
                        bad++;
        }
        ck_assert_uint_eq(good, id);
        ck_assert_uint_le(bad, 1); /* the torn line, if the full disk cut one */
        ck_assert_int_eq(read_last_id(dir, &id), 0);
        ck_assert_uint_eq(id, good);
}
END_TEST

/* -EROFS: a read-only file system, with and without an existing record */
START_TEST(test_erofs) {
        _cleanup_(freep) char *dir = private_tmpfs("64k"), *sub = NULL;
        _cleanup_(record_freep) Record *r = NULL;
        uint64_t id;

        ck_assert_int_ge(asprintf(&sub, "%s/empty", dir), 0);
        ck_assert_int_eq(mkdir(sub, 0755), 0);
        ck_assert_int_eq(record_open(dir, &r), 0);
        ck_assert_int_eq(record_append_started(r, 1, "factory"), 0);
        r = record_free(r);

        ck_assert_int_eq(mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);
        ck_assert_int_eq(record_open(dir, &r), -EROFS);
        ck_assert_int_eq(record_open(sub, &r), -EROFS);
        ck_assert_ptr_null(r);
        /* reading still works */
        ck_assert_int_eq(read_last_id(dir, &id), 0);
        ck_assert_uint_eq(id, 1);
}
END_TEST

static Suite *record_fs_suite(void) {
        Suite *s = suite_create("record-fs");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_enospc_tmpfs);
        tcase_add_test(tc, test_erofs);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        int r;

        r = probe_private_tmpfs();
        if (r < 0) {
                fprintf(stderr, "test-record-fs: cannot mount a tmpfs in a private mount namespace (%s): skipped\n",
                        strerror(-r));
                return EXIT_TEST_SKIP;
        }
        return test_run_suite(record_fs_suite());
}
