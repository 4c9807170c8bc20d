/* SPDX-License-Identifier: MIT */
/* blinkupctl's JSON writer: values straight to a FILE, short or pretty (see json-out.h). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "json-out.h"
#include "macro.h"

int json_mode_from_string(const char *s, JsonMode *ret) {
        if (!s || streq(s, "short"))
                *ret = JSON_SHORT;
        else if (streq(s, "pretty"))
                *ret = JSON_PRETTY;
        else if (streq(s, "off"))
                *ret = JSON_OFF;
        else
                return -EINVAL;
        return 0;
}

void json_out_init(JsonOut *j, FILE *f, JsonMode mode) {
        *j = (JsonOut){ .f = f, .pretty = mode == JSON_PRETTY };
}

static void json_indent(JsonOut *j) {
        fputc('\n', j->f);
        for (unsigned i = 0; i < j->depth; i++)
                fputc('\t', j->f);
}

/* Before any value or key: the separator from the one before it and, when pretty, its own
 * line. False when nothing may be written. */
static bool json_item(JsonOut *j) {
        if (j->error < 0)
                return false;
        if (j->after_key) {
                j->after_key = false;
                return true;
        }
        if (j->depth == 0)
                return true;
        if (j->have_items[j->depth])
                fputc(',', j->f);
        if (j->pretty)
                json_indent(j);
        j->have_items[j->depth] = true;
        return true;
}

/* after a value: a value at the top level is a line of its own */
static void json_item_done(JsonOut *j) {
        if (j->depth == 0)
                fputc('\n', j->f);
}

static void json_begin(JsonOut *j, char c) {
        if (!json_item(j))
                return;
        if (j->depth >= JSON_DEPTH_MAX) {
                j->error = -E2BIG;
                return;
        }
        fputc(c, j->f);
        j->have_items[++j->depth] = false;
}

static void json_end(JsonOut *j, char c) {
        bool had_items;

        if (j->error < 0 || j->depth == 0)
                return;
        had_items = j->have_items[j->depth--];
        if (j->pretty && had_items)
                json_indent(j);
        fputc(c, j->f);
        json_item_done(j);
}

void json_begin_object(JsonOut *j) {
        json_begin(j, '{');
}

void json_end_object(JsonOut *j) {
        json_end(j, '}');
}

void json_begin_array(JsonOut *j) {
        json_begin(j, '[');
}

void json_end_array(JsonOut *j) {
        json_end(j, ']');
}

void json_key(JsonOut *j, const char *key) {
        if (!json_item(j))
                return;
        json_write_string(j->f, key, strlen(key));
        fputs(j->pretty ? " : " : ":", j->f);
        j->after_key = true;
}

void json_string_len(JsonOut *j, const char *s, size_t n) {
        if (!json_item(j))
                return;
        json_write_string(j->f, s, n);
        json_item_done(j);
}

void json_string(JsonOut *j, const char *s) {
        if (!s)
                json_null(j);
        else
                json_string_len(j, s, strlen(s));
}

void json_unsigned(JsonOut *j, uint64_t v) {
        if (!json_item(j))
                return;
        fprintf(j->f, "%" PRIu64, v);
        json_item_done(j);
}

void json_signed(JsonOut *j, int64_t v) {
        if (!json_item(j))
                return;
        fprintf(j->f, "%" PRIi64, v);
        json_item_done(j);
}

void json_double(JsonOut *j, double d) {
        if (!isfinite(d)) {
                json_null(j);
                return;
        }
        if (!json_item(j))
                return;
        fprintf(j->f, "%.17g", d); /* enough digits to read back the same double */
        json_item_done(j);
}

void json_bool(JsonOut *j, bool b) {
        if (!json_item(j))
                return;
        fputs(b ? "true" : "false", j->f);
        json_item_done(j);
}

void json_null(JsonOut *j) {
        if (!json_item(j))
                return;
        fputs("null", j->f);
        json_item_done(j);
}

void json_field_string(JsonOut *j, const char *key, const char *s) {
        json_key(j, key);
        json_string(j, s);
}

void json_field_unsigned(JsonOut *j, const char *key, uint64_t v) {
        json_key(j, key);
        json_unsigned(j, v);
}

void json_field_bool(JsonOut *j, const char *key, bool b) {
        json_key(j, key);
        json_bool(j, b);
}

void json_field_null(JsonOut *j, const char *key) {
        json_key(j, key);
        json_null(j);
}

/* The length (2..4) of the valid UTF-8 sequence of a code point above U+007F at s, which has
 * n bytes; 0 when there is none. */
static size_t utf8_sequence_length(const unsigned char *s, size_t n) {
        uint32_t c;
        size_t len;

        if (s[0] >= 0xc2 && s[0] <= 0xdf) {
                len = 2;
                c = s[0] & 0x1f;
        } else if ((s[0] & 0xf0) == 0xe0) {
                len = 3;
                c = s[0] & 0x0f;
        } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
                len = 4;
                c = s[0] & 0x07;
        } else
                return 0; /* a continuation byte, an overlong two-byte form, or never in UTF-8 */
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                c = c << 6 | (s[i] & 0x3f);
        }
        if (len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff)))
                return 0; /* overlong, or a UTF-16 surrogate */
        if (len == 4 && (c < 0x10000 || c > 0x10ffff))
                return 0;
        return len;
}

void json_write_string(FILE *f, const char *s, size_t n) {
        const unsigned char *p = (const unsigned char *) s;

        fputc('"', f);
        for (size_t i = 0; i < n;) {
                size_t len;

                if (p[i] == '"' || p[i] == '\\') {
                        fputc('\\', f);
                        fputc(p[i++], f);
                } else if (p[i] < 0x20 || p[i] == 0x7f)
                        fprintf(f, "\\u%04x", p[i++]);
                else if (p[i] < 0x80)
                        fputc(p[i++], f);
                else if ((len = utf8_sequence_length(p + i, n - i)) > 0) {
                        fwrite(p + i, 1, len, f);
                        i += len;
                } else {
                        fputs("\xef\xbf\xbd", f); /* U+FFFD REPLACEMENT CHARACTER */
                        i++;
                }
        }
        fputc('"', f);
}
