/* SPDX-License-Identifier: MIT */
#pragma once

/* A reader of systemd's INI dialect, knowing nothing of the keys: it reads a file, a buffer or
 * a drop-in directory, checks each line (length, NUL bytes, control characters, UTF-8), parses
 * "[Section]" headers and "Key=Value" assignments (quotes, escapes, trailing comments), and
 * hands each assignment to its caller. Errors and warnings are collected as
 * "file:line: Key: message". The format is described in conf.h. */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

#define CONF_LINE_MAX 4096 /* bytes per line, without the line ending */
#define CONF_FILE_SIZE_MAX (1024 * 1024) /* bytes per file */
#define CONF_ERRORS_PER_FILE_MAX 16 /* then the rest of the file is skipped */
#define CONF_QUOTED_VALUE_MAX 64 /* bytes of a bad value repeated in a message */

typedef struct ConfParser ConfParser;

typedef struct ConfParserCallbacks {
        /* Whether the section's keys are wanted; an unknown one is warned about at its header. */
        bool (*section_known)(const char *section, void *userdata);
        /* A file begins (its name is p->file). */
        void (*file_begin)(ConfParser *p, void *userdata);
        /* Key=Value in a known section, the value unquoted: 0, -EINVAL with an error recorded,
         * or -ENOMEM. */
        int (*assign)(ConfParser *p, const char *section, const char *key, const char *value,
                      void *userdata);
} ConfParserCallbacks;

struct ConfParser {
        const ConfParserCallbacks *callbacks;
        void *userdata;

        char **errors;
        char **warnings;
        char **files; /* every file name, so that messages and origins may point into it */
        bool oom;
        int file_error; /* the first errno of a file or directory that could not be read */

        /* the file being parsed */
        const char *file;
        unsigned line;
        bool world_readable;
        unsigned n_file_errors;
};

/* A parser that hands the assignments to callbacks with userdata. */
int conf_parser_new(const ConfParserCallbacks *callbacks, void *userdata, ConfParser **ret);
/* Accepts NULL, returns NULL. */
ConfParser *conf_parser_free(ConfParser *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(ConfParser *, conf_parser_free);

/* Hands over the messages, errors first, as a NULL-terminated list (never NULL): 0 or -ENOMEM. */
int conf_parser_take_messages(ConfParser *p, char ***ret);

/* Adds "file:line: key: message" (the parts that are NULL or 0 are left out) to the errors or
 * the warnings. Returns -EINVAL for an error, 0 for a warning. */
_printf_(6, 7) int conf_parser_message(ConfParser *p, bool error, const char *file, unsigned line,
                                       const char *key, const char *format, ...);
_printf_(6, 0) int conf_parser_messagev(ConfParser *p, bool error, const char *file, unsigned line,
                                        const char *key, const char *format, va_list ap);

/* An error or warning about the key on the line being parsed. */
#define conf_bad_value(p, key, ...) conf_parser_message((p), true, (p)->file, (p)->line, (key), __VA_ARGS__)
#define conf_line_error(p, ...) conf_parser_message((p), true, (p)->file, (p)->line, NULL, __VA_ARGS__)
#define conf_line_warning(p, key, ...) \
        conf_parser_message((p), false, (p)->file, (p)->line, (key), __VA_ARGS__)

/* A value repeated in a message: in double quotes, cut at CONF_QUOTED_VALUE_MAX bytes (at a
 * character boundary) with "...". */
const char *conf_quote(const char *value, char buf[static CONF_QUOTED_VALUE_MAX + 8]);
#define CONF_QUOTE(v) conf_quote((v), (char[CONF_QUOTED_VALUE_MAX + 8]){})

/* Parses one file's text called name (a copy of the name is kept). world_readable: the file
 * may be read by other users (for warnings about secrets in it). Errors are recorded. */
void conf_parser_parse_buffer(ConfParser *p, const char *name, const char *data, size_t size,
                              bool world_readable);

/* Reads and parses a whole file. Errors are recorded; returns 0 or -errno (0 for a missing
 * file when missing_ok). A directory or another file that is not a regular one is -EBADFD. */
int conf_parser_parse_file(ConfParser *p, const char *path, bool missing_ok);

/* Parses dir/ *.conf in byte order; hidden files are skipped, links to /dev/null mask, and
 * what is not a regular file is skipped with a warning. A missing directory is fine. */
int conf_parser_parse_dropins(ConfParser *p, const char *dir);
