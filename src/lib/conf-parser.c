/* SPDX-License-Identifier: MIT */
/* The INI reader: messages, lines, sections and assignments of one file's text. Reading files
 * and drop-in directories is in conf-files.c. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf() */
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf-parser.h"
#include "strv.h"

int conf_parser_new(const ConfParserCallbacks *callbacks, void *userdata, ConfParser **ret) {
        ConfParser *p;

        p = calloc(1, sizeof(ConfParser));
        if (!p)
                return -ENOMEM;
        p->callbacks = callbacks;
        p->userdata = userdata;
        *ret = p;
        return 0;
}

ConfParser *conf_parser_free(ConfParser *p) {
        if (!p)
                return NULL;
        strv_free(p->errors);
        strv_free(p->warnings);
        strv_free(p->files);
        free(p);
        return NULL;
}

int conf_parser_take_messages(ConfParser *p, char ***ret) {
        _cleanup_(strv_freep) char **m = NULL;

        if (strv_extend_strv(&m, p->errors) < 0 || strv_extend_strv(&m, p->warnings) < 0)
                return -ENOMEM;
        if (!m) {
                m = calloc(1, sizeof(char *));
                if (!m)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(m);
        return 0;
}

int conf_parser_message(ConfParser *p, bool error, const char *file, unsigned line, const char *key,
                        const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = conf_parser_messagev(p, error, file, line, key, format, ap);
        va_end(ap);
        return r;
}

int conf_parser_messagev(ConfParser *p, bool error, const char *file, unsigned line, const char *key,
                         const char *format, va_list ap) {
        _cleanup_(freep) char *text = NULL;
        char *s = NULL;
        int r;

        r = vasprintf(&text, format, ap);
        if (r < 0) {
                text = NULL;
                p->oom = true;
                return error ? -EINVAL : 0;
        }

        if (file && line > 0)
                r = asprintf(&s, "%s:%u: %s%s%s", file, line, key ?: "", key ? ": " : "", text);
        else if (file)
                r = asprintf(&s, "%s: %s%s%s", file, key ?: "", key ? ": " : "", text);
        else
                r = asprintf(&s, "%s%s%s", key ?: "", key ? ": " : "", text);
        if (r < 0 || strv_consume(error ? &p->errors : &p->warnings, r < 0 ? NULL : s) < 0)
                p->oom = true;

        if (error) {
                p->n_file_errors++;
                return -EINVAL;
        }
        return 0;
}

const char *conf_quote(const char *value, char buf[static CONF_QUOTED_VALUE_MAX + 8]) {
        size_t n = strlen(value);

        if (n <= CONF_QUOTED_VALUE_MAX) {
                snprintf(buf, CONF_QUOTED_VALUE_MAX + 8, "\"%s\"", value);
                return buf;
        }
        n = CONF_QUOTED_VALUE_MAX;
        while (n > 0 && ((unsigned char) value[n] & 0xC0) == 0x80)
                n--;
        snprintf(buf, CONF_QUOTED_VALUE_MAX + 8, "\"%.*s...\"", (int) n, value);
        return buf;
}

/* ---- one line ---- */

/* The length of the UTF-8 sequence at p (n bytes left), 0 when it is not valid: overlong
 * forms, surrogates and code points beyond U+10FFFF are refused. */
static size_t utf8_sequence_length(const unsigned char *p, size_t n) {
        unsigned c = p[0], len;
        uint32_t cp;

        if (c < 0x80)
                return 1;
        if (c >= 0xC2 && c <= 0xDF) {
                len = 2;
                cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
                len = 3;
                cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
                len = 4;
                cp = c & 0x07;
        } else
                return 0;
        if (len > n)
                return 0;
        for (unsigned k = 1; k < len; k++) {
                if ((p[k] & 0xC0) != 0x80)
                        return 0;
                cp = (cp << 6) | (p[k] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
                return 0;
        return len;
}

static bool utf8_is_valid(const char *s, size_t n) {
        const unsigned char *p = (const unsigned char *) s;

        for (size_t i = 0; i < n;) {
                size_t len = utf8_sequence_length(p + i, n - i);

                if (len == 0)
                        return false;
                i += len;
        }
        return true;
}

static char *strip(char *s) {
        size_t n;

        s += strspn(s, " \t");
        n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
                s[--n] = 0;
        return s;
}

/* Turns the text after '=' into the value, in place: a quoted value loses its quotes and
 * escapes, an unquoted one a trailing " # comment". NULL when malformed (error recorded). */
static char *unquote_value(ConfParser *p, const char *key, char *v) {
        char *end, *o, *raw = v;

        v += strspn(v, " \t");
        if (*v != '"') {
                /* raw still has the whitespace after '=': "Key=   # comment" is empty */
                for (char *c = raw; *c; c++)
                        if (*c == '#' && c > raw && (c[-1] == ' ' || c[-1] == '\t')) {
                                *c = 0;
                                break;
                        }
                return strip(v);
        }

        o = v;
        for (end = v + 1; *end && *end != '"'; end++) {
                if (*end == '\\' && (end[1] == '"' || end[1] == '\\'))
                        end++;
                *o++ = *end;
        }
        if (*end != '"') {
                (void) conf_bad_value(p, key, "the value lacks its closing quote");
                return NULL;
        }
        end++;
        end += strspn(end, " \t");
        if (*end && *end != '#') {
                (void) conf_bad_value(p, key, "unexpected text after the closing quote");
                return NULL;
        }
        *o = 0;
        return v;
}

typedef struct Section {
        char name[CONF_LINE_MAX + 1];
        bool set; /* a section header was seen */
        bool known; /* ... and the caller wants its keys */
} Section;

static int parse_section(ConfParser *p, Section *section, char *s) {
        char *end, *rest, *name = s + 1;

        end = strchr(name, ']');
        if (!end)
                return conf_line_error(p, "the section header lacks its closing ']'");
        rest = end + 1;
        rest += strspn(rest, " \t");
        if (*rest && *rest != '#' && *rest != ';')
                return conf_line_error(p, "unexpected text after the section header");
        *end = 0;
        if (!*name || strpbrk(name, " \t[="))
                return conf_line_error(p, "\"[%s]\" is not a valid section header", name);

        strcpy(section->name, name);
        section->set = true;
        section->known = p->callbacks->section_known(name, p->userdata);
        if (!section->known)
                return conf_line_warning(p, NULL, "unknown section [%s], ignoring its keys", name);
        return 0;
}

static int parse_assignment(ConfParser *p, const Section *section, char *s) {
        char *eq, *key, *value;
        int r;

        eq = strchr(s, '=');
        if (!eq)
                return conf_line_error(p, "expected Key=Value, a [Section] header or a comment");
        *eq = 0;
        key = strip(s);
        if (!*key)
                return conf_line_error(p, "the key name before '=' is missing");
        if (strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(key))
                return conf_line_error(p, "%s is not a valid key name", CONF_QUOTE(key));
        if (!section->set)
                return conf_bad_value(p, key,
                                      "the key is not in a section (a [Section] line must come first)");
        if (!section->known)
                return 0; /* warned about at the section header */

        value = unquote_value(p, key, eq + 1);
        if (!value)
                return -EINVAL;

        r = p->callbacks->assign(p, section->name, key, value, p->userdata);
        if (r == -ENOMEM)
                p->oom = true;
        return r;
}

static int parse_line(ConfParser *p, Section *section, char *s) {
        s = strip(s);
        if (!*s || *s == '#' || *s == ';')
                return 0;
        if (*s == '[')
                return parse_section(p, section, s);
        return parse_assignment(p, section, s);
}

/* Checks the line's bytes, then parses it. buf receives a copy of the line. */
static void check_and_parse_line(ConfParser *p, Section *section, const char *s, size_t len,
                                 char buf[static CONF_LINE_MAX + 1]) {
        size_t k;

        if (len > CONF_LINE_MAX) {
                (void) conf_line_error(p, "the line is longer than %d bytes", CONF_LINE_MAX);
                return;
        }
        if (memchr(s, 0, len)) {
                (void) conf_line_error(p, "the line contains a NUL byte (not a text file?)");
                return;
        }
        for (k = 0; k < len; k++)
                if (((unsigned char) s[k] < 0x20 && s[k] != '\t') || s[k] == 0x7F)
                        break;
        if (k < len) {
                (void) conf_line_error(p, "the line contains the control character 0x%02x",
                                       (unsigned char) s[k]);
                return;
        }
        if (!utf8_is_valid(s, len)) {
                (void) conf_line_error(p, "the line is not valid UTF-8");
                return;
        }
        memcpy(buf, s, len);
        buf[len] = 0;
        (void) parse_line(p, section, buf);
}

/* Starts a file: its name kept for the messages, the counters reset. */
static int begin_file(ConfParser *p, const char *name, bool world_readable) {
        if (strv_extend(&p->files, name) < 0)
                return -ENOMEM;
        p->file = p->files[strv_length(p->files) - 1];
        p->line = 0;
        p->world_readable = world_readable;
        p->n_file_errors = 0;
        if (p->callbacks->file_begin)
                p->callbacks->file_begin(p, p->userdata);
        return 0;
}

void conf_parser_parse_buffer(ConfParser *p, const char *name, const char *data, size_t size,
                              bool world_readable) {
        _cleanup_(freep) Section *section = NULL;
        char buf[CONF_LINE_MAX + 1];
        size_t pos = 0;

        section = calloc(1, sizeof(Section));
        if (!section || begin_file(p, name, world_readable) < 0) {
                p->oom = true;
                return;
        }

        if (size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) /* a UTF-8 byte order mark */
                pos = 3;

        while (pos < size) {
                const char *s = data + pos, *nl;
                size_t len;

                p->line++;
                nl = memchr(s, '\n', size - pos);
                len = nl ? (size_t) (nl - s) : size - pos;
                pos += len + (nl ? 1 : 0);
                if (len > 0 && s[len - 1] == '\r')
                        len--;

                check_and_parse_line(p, section, s, len, buf);

                if (p->n_file_errors >= CONF_ERRORS_PER_FILE_MAX && pos < size) {
                        (void) conf_line_error(p, "too many errors, ignoring the rest of the file");
                        break;
                }
        }
        explicit_bzero(buf, sizeof(buf)); /* it may have held a password */
}
