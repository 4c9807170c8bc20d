/* SPDX-License-Identifier: MIT */
#pragma once

/* Small string helpers with systemd's names and meanings. */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* s, or "" for NULL. */
static inline const char *strempty(const char *s) {
        return s ?: "";
}

/* s, or NULL for NULL and "". */
static inline const char *empty_to_null(const char *s) {
        return s && *s ? s : NULL;
}

static inline bool isempty(const char *s) {
        return !s || !*s;
}

/* Replaces *p by a copy of s (NULL for NULL): 0, or -ENOMEM with *p unchanged. */
static inline int free_and_strdup(char **p, const char *s) {
        char *t = NULL;

        if (s) {
                t = strdup(s);
                if (!t)
                        return -ENOMEM;
        }
        free(*p);
        *p = t;
        return 0;
}
