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
#include <sys/stat.h>
#include <unistd.h>

#include "fs-util.h"
#include "macro.h"
#include "secret.h"

typedef char SecretBuffer[SECRET_SIZE_MAX + 1];

static void secret_buffer_erase(SecretBuffer *buf) {
        explicit_bzero(*buf, sizeof(*buf));
}

static int read_file(const char *path, bool private, char **ret) {
        _cleanup_(secret_buffer_erase) SecretBuffer buf;
        _cleanup_(closep) int fd = -1;
        struct stat st = {};
        size_t n = 0, len = 0;
        char *s;

        fd = open_regular_file(AT_FDCWD, path, &st);
        if (fd < 0)
                return fd;
        if (private && (st.st_mode & S_IROTH))
                return -EPERM;

        for (;;) {
                ssize_t k = read(fd, buf + n, sizeof(buf) - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n == sizeof(buf))
                        return -EFBIG;
        }

        /* the first line only */
        while (len < n && buf[len] != '\n' && buf[len] != '\r')
                len++;
        if (len == 0 || memchr(buf, 0, len))
                return -EBADMSG;

        s = strndup(buf, len);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int secret_read_file(const char *path, char **ret) {
        return read_file(path, false, ret);
}

int secret_read_private_file(const char *path, char **ret) {
        return read_file(path, true, ret);
}

/* What read_file()'s error means, for "<path>: <reason>". */
static const char *secret_error_reason(int error, char *buf, size_t size) {
        switch (error) {
        case -ELOOP:
                return "a symbolic link, which is not followed; name the file itself";
        case -EBADFD:
                return "not a regular file";
        case -EPERM:
                return "readable by other users, refusing to use it (chmod 0600 or 0640)";
        case -EBADMSG:
                return "empty, or the first line is empty or contains a NUL byte";
        case -EFBIG:
                (void) snprintf(buf, size, "larger than %d bytes", SECRET_SIZE_MAX);
                return buf;
        default:
                return strerror(-error);
        }
}

/* Sets *ret_error (when given) to the formatted message, NULL when out of memory. */
_printf_(2, 3) static void secret_error(char **ret_error, const char *format, ...) {
        va_list ap;
        char *m;

        if (!ret_error)
                return;
        va_start(ap, format);
        if (vasprintf(&m, format, ap) < 0)
                m = NULL;
        va_end(ap);
        *ret_error = m;
}

int secret_credential_path(const char *name, char **ret) {
        const char *dir = getenv("CREDENTIALS_DIRECTORY");

        if (!dir || dir[0] != '/')
                return -ENOENT;
        return asprintf(ret, "%s/%s", dir, name) < 0 ? -ENOMEM : 0;
}

int secret_load(const char *path, const char *credential_name, char **ret, char **ret_error) {
        _cleanup_(freep) char *cred = NULL;
        char buf[64];
        int r;

        if (!path || !*path) {
                r = credential_name ? secret_credential_path(credential_name, &cred) : -ENOENT;
                if (r == -ENOENT)
                        secret_error(ret_error, "no file given and no systemd credential \"%s\" available",
                                     credential_name ?: "");
                if (r < 0)
                        return r;
                path = cred;
        }

        r = secret_read_private_file(path, ret);
        if (r < 0) {
                secret_error(ret_error, "%s: %s", path, secret_error_reason(r, buf, sizeof(buf)));
                return r;
        }
        if (ret_error)
                *ret_error = NULL;
        return 0;
}
