/* SPDX-License-Identifier: MIT */
/* The JSON mapping's reading of documents (factory-json-internal.h): whole documents, typed
 * members with precise messages, identifiers, RFC 3339 times, and text copied from the server. */
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "factory-json-internal.h"
#include "macro.h"

/* Copies text from the server for a message: printable ASCII, others as '?', cut with "...". */
void text_copy_sanitized(char *dst, size_t size, const char *src, size_t n) {
        size_t i, j = 0;

        if (size == 0)
                return;
        for (i = 0; i < n && src[i] && j + 1 < size; i++) {
                unsigned char c = (unsigned char) src[i];
                if (c == '\n' || c == '\r' || c == '\t')
                        c = ' ';
                dst[j++] = (c >= 0x20 && c < 0x7f) ? (char) c : '?';
        }
        dst[j] = 0;
        if (i < n && src[i] && size > 4)
                memcpy(dst + size - 4, "...", 4);
}

const char *doc_type_name(json_object *o) {
        switch (json_object_get_type(o)) {
        case json_type_null:
                return "null";
        case json_type_boolean:
                return "a boolean";
        case json_type_double:
        case json_type_int:
                return "a number";
        case json_type_object:
                return "an object";
        case json_type_array:
                return "an array";
        case json_type_string:
                return "a string";
        }
        return "of an unknown type";
}

/* Parses a whole document that must be a JSON object. */
int doc_parse_object(const char *doc, const char *body, size_t size, json_object **ret,
                        ErrorText *err) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_tokener *tok;
        enum json_tokener_error e;
        size_t used;

        size_t i = 0;

        while (body && i < size && isspace((unsigned char) body[i]))
                i++;
        if (!body || i == size)
                return fail(err, "%s: the response is empty", doc);
        if (memchr(body, 0, size))
                return fail(err, "%s: the response contains a NUL byte", doc);
        if (size > INT32_MAX)
                return fail(err, "%s: the response is too large", doc);

        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        o = json_tokener_parse_ex(tok, body, (int) size);
        e = json_tokener_get_error(tok);
        used = json_tokener_get_parse_end(tok);
        if (!o && e == json_tokener_continue) {
                /* a bare literal or number is only complete at the end of the input: say so */
                o = json_tokener_parse_ex(tok, "", 1);
                e = json_tokener_get_error(tok);
                used = size;
        }
        json_tokener_free(tok);

        if (e == json_tokener_continue || e == json_tokener_error_parse_eof)
                return fail(err, "%s: the response is truncated JSON", doc);
        if (e == json_tokener_success && !o)
                return fail(err, "%s: the response is null, not a JSON object", doc);
        if (e != json_tokener_success || !o)
                return fail(err, "%s: the response is not valid JSON (%s)", doc, json_tokener_error_desc(e));
        for (; used < size; used++)
                if (!isspace((unsigned char) body[used]))
                        return fail(err, "%s: the response has data after the JSON document", doc);
        if (!json_object_is_type(o, json_type_object))
                return fail(err, "%s: the response is %s, not a JSON object", doc, doc_type_name(o));

        *ret = TAKE_PTR(o);
        return 0;
}

/* A member that must be a string when present. 0 = absent (or null), 1 = present. */
int doc_get_string(const char *doc, json_object *parent, const char *path, const char *key, bool required,
                      const char **ret, ErrorText *err) {
        json_object *v;

        if (!json_object_object_get_ex(parent, key, &v) || !v) {
                if (required)
                        return fail(err, "%s: %s%s is missing", doc, path, key);
                *ret = NULL;
                return 0;
        }
        if (!json_object_is_type(v, json_type_string))
                return fail(err, "%s: %s%s is %s, not a string", doc, path, key, doc_type_name(v));
        *ret = json_object_get_string(v);
        return 1;
}

/* A member that must be an object when present. */
int doc_get_object(const char *doc, json_object *parent, const char *path, const char *key, bool required,
                      json_object **ret, ErrorText *err) {
        json_object *v;

        if (!json_object_object_get_ex(parent, key, &v) || !v) {
                if (required)
                        return fail(err, "%s: %s%s is missing", doc, path, key);
                *ret = NULL;
                return 0;
        }
        if (!json_object_is_type(v, json_type_object))
                return fail(err, "%s: %s%s is %s, not an object", doc, path, key, doc_type_name(v));
        *ret = v;
        return 1;
}

int doc_get_id(const char *doc, json_object *parent, const char *key, bool required, size_t min,
                  char *ret, ErrorText *err) {
        const char *s;
        int r;

        r = doc_get_string(doc, parent, "", key, required, &s, err);
        if (r <= 0) {
                if (r == 0)
                        ret[0] = 0;
                return r;
        }
        if (strlen(s) < min || !factory_id_valid(s, FACTORY_ID_MAX)) {
                if (min == FACTORY_ID_MAX)
                        return fail(err, "%s: %s is not %d hex digits", doc, key, FACTORY_ID_MAX);
                return fail(err, "%s: %s is not 1..%d hex digits", doc, key, FACTORY_ID_MAX);
        }
        factory_id_copy_lower(ret, s);
        return 1;
}

static bool parse_digits(const char **p, int n, int *ret) {
        int v = 0;

        for (int i = 0; i < n; i++) {
                if (!isdigit((unsigned char) (*p)[i]))
                        return false;
                v = v * 10 + ((*p)[i] - '0');
        }
        *p += n;
        *ret = v;
        return true;
}

int factory_json_parse_time(const char *s, time_t *ret) {
        struct tm tm = {};
        int year, mon, mday, hour, min, sec;
        time_t t;

        if (!s)
                return -EINVAL;
        if (!parse_digits(&s, 4, &year) || *s++ != '-' || !parse_digits(&s, 2, &mon) || *s++ != '-' ||
            !parse_digits(&s, 2, &mday) || (*s != 'T' && *s != 't' && *s != ' '))
                return -EINVAL;
        s++;
        if (!parse_digits(&s, 2, &hour) || *s++ != ':' || !parse_digits(&s, 2, &min) || *s++ != ':' ||
            !parse_digits(&s, 2, &sec))
                return -EINVAL;
        if (*s == '.') {
                s++;
                if (!isdigit((unsigned char) *s))
                        return -EINVAL;
                while (isdigit((unsigned char) *s))
                        s++;
        }
        if (!streq(s, "Z") && !streq(s, "z") && !streq(s, "+00:00"))
                return -EINVAL;
        if (mon < 1 || mon > 12 || mday < 1 || mday > 31 || hour > 23 || min > 59 || sec > 60)
                return -EINVAL;

        tm.tm_year = year - 1900;
        tm.tm_mon = mon - 1;
        tm.tm_mday = mday;
        tm.tm_hour = hour;
        tm.tm_min = min;
        tm.tm_sec = sec;
        t = timegm(&tm);
        if (t == (time_t) -1)
                return -EINVAL;
        *ret = t;
        return 0;
}

int doc_get_time(const char *doc, json_object *parent, const char *key, bool *have, time_t *ret,
                    ErrorText *err) {
        const char *s = NULL;
        int r;

        r = doc_get_string(doc, parent, "", key, false, &s, err);
        if (r < 0)
                return r;
        if (r == 0) {
                *have = false;
                return 0;
        }
        if (factory_json_parse_time(s, ret) < 0)
                return fail(err, "%s: %s is not an RFC 3339 UTC time", doc, key);
        *have = true;
        return 1;
}

/* json-c keeps its own copy of the key in the object and in the printing buffer: both are
 * overwritten before they are released. */
void doc_erase_string_member(json_object *o, const char *key) {
        json_object *v;

        if (json_object_object_get_ex(o, key, &v) && v && json_object_is_type(v, json_type_string)) {
                int n = json_object_get_string_len(v);
                explicit_bzero((char *) json_object_get_string(v), (size_t) n);
        }
}
