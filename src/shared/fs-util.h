/* SPDX-License-Identifier: MIT */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"

/* Opens path (relative to dir_fd, or AT_FDCWD) for reading, and checks on what was opened, not
 * on the name: a symbolic link is not followed (-ELOOP), and a FIFO or device, which would make
 * the reader wait, is refused (-EBADFD: not a regular file). ret_st, when not NULL, receives the
 * file's status. Returns the descriptor or -errno. */
static inline int open_regular_file(int dir_fd, const char *path, struct stat *ret_st) {
        struct stat st;
        int fd;

        fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                int e = -errno;

                safe_close(fd);
                return e;
        }
        if (!S_ISREG(st.st_mode)) {
                safe_close(fd);
                return -EBADFD;
        }
        if (ret_st)
                *ret_st = st;
        return fd;
}
