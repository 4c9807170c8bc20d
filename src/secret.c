/* SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf() */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "secret.h"

int secret_read_file(const char *path, char **ret) {
        _cleanup_(closep) int fd = -1;
        char buf[SECRET_SIZE_MAX + 1];
        size_t n = 0;
        char *s;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;

        for (;;) {
                ssize_t k = read(fd, buf + n, sizeof(buf) - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        int e = -errno;
                        explicit_bzero(buf, sizeof(buf));
                        return e;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n == sizeof(buf)) {
                        explicit_bzero(buf, sizeof(buf));
                        return -EFBIG;
                }
        }

        /* the first line only */
        size_t len = 0;
        while (len < n && buf[len] != '\n' && buf[len] != '\r')
                len++;
        if (len == 0 || memchr(buf, 0, len)) {
                explicit_bzero(buf, sizeof(buf));
                return -EBADMSG;
        }

        s = strndup(buf, len);
        explicit_bzero(buf, sizeof(buf));
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

_printf_(2, 3) static int secret_error(char **ret_error, const char *format, ...) {
        va_list ap;

        if (ret_error) {
                char *m = NULL;
                va_start(ap, format);
                if (vasprintf(&m, format, ap) < 0)
                        m = NULL;
                va_end(ap);
                *ret_error = m;
        }
        return 0;
}

int secret_load(const char *path, const char *credential_name, char **ret, char **ret_error) {
        _cleanup_(freep) char *cred = NULL;
        struct stat st;
        char *s = NULL;
        int r;

        if (!path || !*path) {
                const char *dir = getenv("CREDENTIALS_DIRECTORY");

                if (!credential_name || !dir || !*dir) {
                        secret_error(ret_error, "no file given and no systemd credential \"%s\" available",
                                     credential_name ? credential_name : "");
                        return -ENOENT;
                }
                if (asprintf(&cred, "%s/%s", dir, credential_name) < 0)
                        return -ENOMEM;
                path = cred;
        }

        if (stat(path, &st) < 0) {
                r = -errno;
                secret_error(ret_error, "%s: %s", path, strerror(-r));
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                secret_error(ret_error, "%s: not a regular file", path);
                return -EBADFD;
        }
        if (!secret_mode_is_private(&st)) {
                secret_error(ret_error, "%s: readable by others (mode %04o), refusing to use it; "
                             "make it private, e.g. chmod o-rwx", path, (unsigned) (st.st_mode & 07777));
                return -EPERM;
        }

        r = secret_read_file(path, &s);
        if (r == -EBADMSG) {
                secret_error(ret_error, "%s: empty, or the first line is empty or contains a NUL byte", path);
                return r;
        }
        if (r == -EFBIG) {
                secret_error(ret_error, "%s: larger than %d bytes", path, SECRET_SIZE_MAX);
                return r;
        }
        if (r < 0) {
                secret_error(ret_error, "%s: %s", path, strerror(-r));
                return r;
        }
        *ret = s;
        if (ret_error)
                *ret_error = NULL;
        return 0;
}
