/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>

#define SECRET_SIZE_MAX 4096

/* Reads a secret from a file: the first line, without its line ending. The buffer is erased
 * when freed with erase_and_free(). -EBADMSG when empty, -EFBIG when too large. */
int secret_read_file(const char *path, char **ret);

/* True when nobody but the owner (and the owner's group) can read the file. */
static inline bool secret_mode_is_private(const struct stat *st) {
        return (st->st_mode & S_IROTH) == 0;
}

/* Loads a secret for a key such as LoginKeyFile=: from path when set, otherwise from the
 * systemd credential $CREDENTIALS_DIRECTORY/<credential_name>. A file that others may read
 * is refused. On failure returns -errno and, when ret_error is given, an allocated message
 * for a person (the path and the reason, never the content). */
int secret_load(const char *path, const char *credential_name, char **ret, char **ret_error);
