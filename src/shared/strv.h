/* SPDX-License-Identifier: MIT */
#pragma once

/* NULL-terminated arrays of malloc'ed strings ("strv"), as systemd calls them. */

#include <stdarg.h>
#include <stddef.h>

#include "macro.h"

/* Frees every string and the array. Accepts NULL, returns NULL. */
char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);

size_t strv_length(char *const *l);

/* Appends s, taking ownership of it (also on failure, when s is freed). *l may be NULL. */
int strv_consume(char ***l, char *s);

/* Appends a copy of s. */
int strv_extend(char ***l, const char *s);

/* Appends a formatted string. */
int strv_extendf(char ***l, const char *format, ...) _printf_(2, 3);

/* Appends copies of every string of b to *a. */
int strv_extend_strv(char ***a, char *const *b);

/* The first string of l that contains needle, or NULL. */
const char *strv_find_substring(char *const *l, const char *needle);
