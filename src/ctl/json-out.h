/* SPDX-License-Identifier: MIT */
#pragma once

/* A small JSON writer (RFC 8259) for blinkupctl's --json output, so that blinkupctl needs no
 * JSON library: values are written to a FILE as they are given, in one of two layouts.
 *
 *   short:   {"a":1,"b":[true,null]}
 *   pretty:  {
 *           <TAB>"a" : 1,
 *           <TAB>"b" : [
 *           <TAB><TAB>true,
 *           <TAB><TAB>null
 *           <TAB>]
 *           }
 *
 * Each value at the top level ends with a newline, so short output is one value per line.
 * Strings: '"' and '\' are escaped with a backslash, control characters (U+0000..U+001F) and
 * DEL as \u00XX (lowercase hex); valid UTF-8 is passed through as it is; a byte that does not
 * start a valid UTF-8 sequence (a stray continuation byte, an overlong form, a surrogate,
 * beyond U+10FFFF, cut short) is replaced by U+FFFD, one for each such byte. The output is
 * therefore always valid UTF-8 and valid JSON. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum JsonMode {
        JSON_OFF, /* text, not JSON */
        JSON_SHORT,
        JSON_PRETTY,
} JsonMode;

/* "off", "short" or "pretty" into ret; NULL (a bare --json) is short. -EINVAL otherwise. */
int json_mode_from_string(const char *s, JsonMode *ret);

/* containers open at once; deeper values are not written and error becomes -E2BIG */
#define JSON_DEPTH_MAX 80

typedef struct JsonOut {
        FILE *f;
        bool pretty;
        unsigned depth;
        bool after_key; /* a key was written, its value comes next */
        bool have_items[JSON_DEPTH_MAX + 1]; /* the container at this depth has a value */
        int error; /* 0, or -E2BIG once the nesting was too deep */
} JsonOut;

/* mode is JSON_SHORT or JSON_PRETTY */
void json_out_init(JsonOut *j, FILE *f, JsonMode mode);

void json_begin_object(JsonOut *j);
void json_end_object(JsonOut *j);
void json_begin_array(JsonOut *j);
void json_end_array(JsonOut *j);

/* an object's key; its value follows */
void json_key(JsonOut *j, const char *key);

void json_string(JsonOut *j, const char *s); /* NULL: null */
void json_string_len(JsonOut *j, const char *s, size_t n);
void json_unsigned(JsonOut *j, uint64_t v);
void json_signed(JsonOut *j, int64_t v);
void json_double(JsonOut *j, double d); /* NaN and the infinities, which JSON lacks: null */
void json_bool(JsonOut *j, bool b);
void json_null(JsonOut *j);

/* A key and its value. */
void json_field_string(JsonOut *j, const char *key, const char *s);
void json_field_unsigned(JsonOut *j, const char *key, uint64_t v);
void json_field_bool(JsonOut *j, const char *key, bool b);
void json_field_null(JsonOut *j, const char *key);

/* N bytes of S as a JSON string, quotes included, escaped as above. */
void json_write_string(FILE *f, const char *s, size_t n);
