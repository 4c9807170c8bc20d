/* SPDX-License-Identifier: MIT */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"

/* write() all of p, again after a short write or EINTR: 0 or -errno (-EIO for a write of 0). */
static inline int write_all(int fd, const void *p, size_t n) {
        const char *s = p;

        while (n > 0) {
                ssize_t k = write(fd, s, n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -EIO;
                s += k;
                n -= (size_t) k;
        }
        return 0;
}

/* pread() n bytes at offset, again after a short read or EINTR: 0 or -errno (-EIO when the file
 * ends first: it shrank under the reader). */
static inline int pread_full(int fd, void *buf, size_t n, uint64_t offset) {
        char *p = buf;

        while (n > 0) {
                ssize_t k = pread(fd, p, n, (off_t) offset);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -EIO;
                p += k;
                n -= (size_t) k;
                offset += (uint64_t) k;
        }
        return 0;
}

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
