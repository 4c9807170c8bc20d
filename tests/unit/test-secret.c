/* SPDX-License-Identifier: MIT */
/* shared/secret.c: secret files (first line, private, regular files only) and the systemd
 * credentials. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "secret.h"
#include "tests.h"

static void write_file(const char *path, const char *text, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        ck_assert_int_eq(fchmod(fd, mode), 0);
        close(fd);
}

START_TEST(test_load_secret) {
        char dir[32], path[PATH_MAX + 32], cred[PATH_MAX + 32];
        char *s = NULL, *err = NULL;

        (void) snprintf(dir, sizeof(dir), "/tmp/test-secret.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        (void) snprintf(path, sizeof(path), "%s/login-key", dir);

        write_file(path, "the-key\nsecond line\n", 0640);
        ck_assert_int_eq(secret_load(path, "login-key", &s, &err), 0);
        ck_assert_str_eq(s, "the-key");
        ck_assert_ptr_null(err);
        erase_and_free(s);
        s = NULL;

        write_file(path, "the-key\n", 0644);
        ck_assert_int_eq(secret_load(path, "login-key", &s, &err), -EPERM);
        ck_assert_ptr_null(s);
        ck_assert_ptr_nonnull(strstr(err, "readable by other users, refusing to use it"));
        ck_assert_ptr_nonnull(strstr(err, path));
        ck_assert_ptr_null(strstr(err, "the-key\n"));
        free(err);

        write_file(path, "\n", 0600);
        ck_assert_int_eq(secret_load(path, NULL, &s, &err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err, "empty"));
        free(err);

        /* the systemd credential, when no file is named */
        (void) unsetenv("CREDENTIALS_DIRECTORY");
        ck_assert_int_eq(secret_load(NULL, "api-key", &s, &err), -ENOENT);
        ck_assert_str_eq(err, "no file given and no systemd credential \"api-key\" available");
        free(err);
        (void) snprintf(cred, sizeof(cred), "%s/api-key", dir);
        write_file(cred, "cred-key", 0400);
        ck_assert_int_eq(setenv("CREDENTIALS_DIRECTORY", dir, 1), 0);
        ck_assert_int_eq(secret_load("", "api-key", &s, &err), 0);
        ck_assert_str_eq(s, "cred-key");
        erase_and_free(s);
        ck_assert_int_eq(secret_load(NULL, "login-key-missing", &s, &err), -ENOENT);
        ck_assert_ptr_nonnull(strstr(err, "login-key-missing: No such file or directory"));
        free(err);

        (void) unlink(cred);
        (void) unlink(path);
        (void) rmdir(dir);
}
END_TEST

START_TEST(test_credential_path) {
        char *p = NULL;

        (void) unsetenv("CREDENTIALS_DIRECTORY");
        ck_assert_int_eq(secret_credential_path("api-key", &p), -ENOENT);
        ck_assert_ptr_null(p);
        ck_assert_int_eq(setenv("CREDENTIALS_DIRECTORY", "relative/dir", 1), 0);
        ck_assert_int_eq(secret_credential_path("api-key", &p), -ENOENT);
        ck_assert_ptr_null(p);
        ck_assert_int_eq(setenv("CREDENTIALS_DIRECTORY", "/run/credentials/blinkupd.service", 1), 0);
        ck_assert_int_eq(secret_credential_path("api-key", &p), 0);
        ck_assert_str_eq(p, "/run/credentials/blinkupd.service/api-key");
        free(p);
        (void) unsetenv("CREDENTIALS_DIRECTORY");
}
END_TEST

static Suite *secret_suite(void) {
        Suite *s = suite_create("secret");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_load_secret);
        tcase_add_test(tc, test_credential_path);
        suite_add_tcase(s, tc);
        return s;
}

TEST_MAIN(secret_suite)
