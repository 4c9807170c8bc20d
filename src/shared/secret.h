/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>

#define SECRET_SIZE_MAX 4096

/* Reads a secret from a file: the first line, without its line ending. The buffer is erased
 * when freed with erase_and_free(). The file is opened first and checked after, on what was
 * opened: a symbolic link is not followed (-ELOOP), a FIFO or device does not block the reader
 * (-EBADFD: not a regular file). -EBADMSG when the first line is empty, -EFBIG when the file is
 * too large. */
int secret_read_file(const char *path, char **ret);
/* The same, and a file that others may read is refused (-EPERM): for the daemon's secrets. */
int secret_read_private_file(const char *path, char **ret);

/* The path of the systemd credential name, $CREDENTIALS_DIRECTORY/<name>: 0, -ENOENT when
 * $CREDENTIALS_DIRECTORY is unset or not an absolute path, -ENOMEM. */
int secret_credential_path(const char *name, char **ret);

/* Loads a secret for a key such as LoginKeyFile=: from path when set, otherwise from the
 * systemd credential $CREDENTIALS_DIRECTORY/<credential_name>. A file that others may read
 * is refused. On failure returns -errno and, when ret_error is given, an allocated message
 * for a person (the path and the reason, never the content). */
int secret_load(const char *path, const char *credential_name, char **ret, char **ret_error);
