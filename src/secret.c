/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
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
