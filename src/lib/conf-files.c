/* SPDX-License-Identifier: MIT */
/* The INI reader's files: one whole file read and parsed, and a drop-in directory's files in
 * byte order (see conf-parser.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf() */
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf-parser.h"
#include "strv.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

/* An error about a whole file: "path: message". */
#define file_error(p, path, ...) conf_parser_message((p), true, (path), 0, NULL, __VA_ARGS__)

/* Opens a configuration file. Unlike open_regular_file(), a symbolic link is followed: drop-ins
 * and main files may be links, as in systemd. What is not a regular file is -EBADFD, a
 * directory said as such. Returns 1 and the descriptor, 0 for a missing file when missing_ok,
 * or -errno (error recorded). */
static int open_conf_file(ConfParser *p, const char *path, bool missing_ok, int *ret_fd,
                          struct stat *ret_st) {
        _cleanup_(closep) int fd = -1;
        struct stat st;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                int e = -errno;
                if (e == -ENOENT && missing_ok)
                        return 0;
                (void) file_error(p, path, "%s", strerror(-e));
                return e;
        }
        if (fstat(fd, &st) < 0) {
                int e = -errno;
                (void) file_error(p, path, "%s", strerror(-e));
                return e;
        }
        if (!S_ISREG(st.st_mode)) {
                (void) file_error(p, path, "%s",
                                  S_ISDIR(st.st_mode) ? strerror(EISDIR) : "not a regular file");
                return -EBADFD;
        }
        if (st.st_size > CONF_FILE_SIZE_MAX) {
                (void) file_error(p, path, "the file is larger than %d bytes", CONF_FILE_SIZE_MAX);
                return -EFBIG;
        }
        *ret_st = st;
        *ret_fd = TAKE_FD(fd);
        return 1;
}

/* Reads all of fd, which is size bytes long. On failure the buffer is erased and freed. */
static int read_all(ConfParser *p, const char *path, int fd, size_t size, char **ret, size_t *ret_size) {
        _cleanup_(freep) char *data = NULL;
        size_t n = 0;
        int r = 0;

        data = malloc(size + 1);
        if (!data)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, data + n, size + 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = -errno;
                        (void) file_error(p, path, "%s", strerror(-r));
                        break;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > size) {
                        r = -EBUSY;
                        (void) file_error(p, path, "the file changed while it was read");
                        break;
                }
        }
        if (r < 0) {
                explicit_bzero(data, n);
                return r;
        }
        *ret = TAKE_PTR(data);
        *ret_size = n;
        return 0;
}

int conf_parser_parse_file(ConfParser *p, const char *path, bool missing_ok) {
        _cleanup_(closep) int fd = -1;
        _cleanup_(freep) char *data = NULL;
        struct stat st = {};
        size_t n;
        int r;

        r = open_conf_file(p, path, missing_ok, &fd, &st);
        if (r <= 0)
                return r;
        r = read_all(p, path, fd, (size_t) st.st_size, &data, &n);
        if (r < 0)
                return r;

        conf_parser_parse_buffer(p, path, data, n, (st.st_mode & S_IROTH) != 0);
        explicit_bzero(data, n);
        return 0;
}

static int compare_names(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool is_dropin_name(const char *name) {
        size_t n = strlen(name);

        return name[0] != '.' && n > 5 && streq(name + n - 5, ".conf");
}

/* The names of the drop-ins in dir, sorted; NULL for none or a missing directory. */
static int list_dropins(ConfParser *p, const char *dir, char ***ret) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_(strv_freep) char **names = NULL;
        struct dirent *de;

        d = opendir(dir);
        if (!d) {
                int e = -errno;
                if (e == -ENOENT) {
                        *ret = NULL;
                        return 0;
                }
                (void) file_error(p, dir, "%s", strerror(-e));
                return e;
        }
        while ((errno = 0, de = readdir(d)))
                if (is_dropin_name(de->d_name) && strv_extend(&names, de->d_name) < 0)
                        return -ENOMEM;
        if (errno != 0) {
                int e = -errno;
                (void) file_error(p, dir, "%s", strerror(-e));
                return e;
        }

        if (names)
                qsort(names, strv_length(names), sizeof(char *), compare_names);
        *ret = TAKE_PTR(names);
        return 0;
}

int conf_parser_parse_dropins(ConfParser *p, const char *dir) {
        _cleanup_(strv_freep) char **names = NULL;
        int r;

        r = list_dropins(p, dir, &names);
        if (r < 0)
                return r;

        for (char **n = names; n && *n; n++) {
                _cleanup_(freep) char *path = NULL;
                struct stat st;

                if (asprintf(&path, "%s/%s", dir, *n) < 0)
                        return -ENOMEM;
                if (stat(path, &st) == 0 && S_ISCHR(st.st_mode))
                        continue; /* a link to /dev/null masks a drop-in of the same name */
                if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
                        (void) conf_parser_message(p, false, path, 0, NULL,
                                                   "not a regular file, ignoring it");
                        continue;
                }
                r = conf_parser_parse_file(p, path, false);
                if (r == -ENOMEM)
                        return r;
                if (r < 0 && p->file_error == 0)
                        p->file_error = r;
        }
        return 0;
}
