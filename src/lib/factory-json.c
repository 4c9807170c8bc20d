/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "factory-json.h"

static inline void json_object_putp(json_object **o) {
        if (*o)
                json_object_put(*o);
}

#define fail(err, ...) error_text_set((err), -EBADMSG, __VA_ARGS__)

static void copy_lower(char *dst, size_t size, const char *src) {
        size_t i;

        for (i = 0; i + 1 < size && src[i]; i++)
                dst[i] = (char) tolower((unsigned char) src[i]);
        dst[i] = 0;
}

/* Copies text from the server for a message: printable ASCII, others as '?', cut with "...". */
static void copy_sanitized(char *dst, size_t size, const char *src, size_t n) {
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

static const char *type_name(json_object *o) {
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
static int parse_object(const char *doc, const char *body, size_t size, json_object **ret,
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
                return fail(err, "%s: the response is %s, not a JSON object", doc, type_name(o));

        *ret = TAKE_PTR(o);
        return 0;
}

/* A member that must be a string when present. 0 = absent (or null), 1 = present. */
static int get_string(const char *doc, json_object *parent, const char *path, const char *key, bool required,
                      const char **ret, ErrorText *err) {
        json_object *v;

        if (!json_object_object_get_ex(parent, key, &v) || !v) {
                if (required)
                        return fail(err, "%s: %s%s is missing", doc, path, key);
                *ret = NULL;
                return 0;
        }
        if (!json_object_is_type(v, json_type_string))
                return fail(err, "%s: %s%s is %s, not a string", doc, path, key, type_name(v));
        *ret = json_object_get_string(v);
        return 1;
}

/* A member that must be an object when present. */
static int get_object(const char *doc, json_object *parent, const char *path, const char *key, bool required,
                      json_object **ret, ErrorText *err) {
        json_object *v;

        if (!json_object_object_get_ex(parent, key, &v) || !v) {
                if (required)
                        return fail(err, "%s: %s%s is missing", doc, path, key);
                *ret = NULL;
                return 0;
        }
        if (!json_object_is_type(v, json_type_object))
                return fail(err, "%s: %s%s is %s, not an object", doc, path, key, type_name(v));
        *ret = v;
        return 1;
}

static int get_id(const char *doc, json_object *parent, const char *key, bool required, size_t min,
                  char *ret, ErrorText *err) {
        const char *s;
        int r;

        r = get_string(doc, parent, "", key, required, &s, err);
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
        copy_lower(ret, FACTORY_ID_MAX + 1, s);
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

static int get_time(const char *doc, json_object *parent, const char *key, bool *have, time_t *ret,
                    ErrorText *err) {
        const char *s;
        int r;

        r = get_string(doc, parent, "", key, false, &s, err);
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

/* ---- request bodies ---- */

static int build(json_object *o, char **ret) {
        const char *s;
        char *copy;

        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

static int add_string(json_object *o, const char *key, const char *value) {
        json_object *v = json_object_new_string(value);

        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* json-c keeps its own copy of the key in the object and in the printing buffer: both are
 * overwritten before they are released. */
static void erase_string_member(json_object *o, const char *key) {
        json_object *v;

        if (json_object_object_get_ex(o, key, &v) && v && json_object_is_type(v, json_type_string)) {
                int n = json_object_get_string_len(v);
                explicit_bzero((char *) json_object_get_string(v), (size_t) n);
        }
}

int factory_json_build_auth(const char *login_key, char **ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        const char *s;
        char *copy;
        int r;

        if (!login_key || !*login_key)
                return -EINVAL;
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        r = add_string(o, "key", login_key);
        if (r < 0)
                return r;

        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s) {
                erase_string_member(o, "key");
                return -ENOMEM;
        }
        copy = strdup(s);
        explicit_bzero((char *) s, strlen(s));
        erase_string_member(o, "key");
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

int factory_json_build_enroll_factory(const char *fixture_id, char **ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        char id[FACTORY_ID_MAX + 1];
        int r;

        if (!factory_id_valid(fixture_id, FACTORY_ID_MAX))
                return -EINVAL;
        copy_lower(id, sizeof(id), fixture_id);

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        r = add_string(o, "type", "factory_token");
        if (r >= 0)
                r = add_string(o, "fixture_id", id);
        if (r < 0)
                return r;
        return build(o, ret);
}

int factory_json_build_enroll_production(const char *plan_id, char **ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        char id[FACTORY_ID_MAX + 1];
        int r;

        if (plan_id && *plan_id && !factory_id_valid(plan_id, FACTORY_ID_MAX))
                return -EINVAL;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        r = add_string(o, "type", "production_token");
        if (r >= 0 && plan_id && *plan_id) {
                copy_lower(id, sizeof(id), plan_id);
                r = add_string(o, "plan_id", id);
        }
        if (r < 0)
                return r;
        return build(o, ret);
}

/* ---- responses ---- */

void factory_auth_done(FactoryAuth *a) {
        if (!a)
                return;
        erase_and_free(a->access_token);
        erase_and_free(a->refresh_token);
        *a = (FactoryAuth){};
}

int factory_json_parse_auth(const char *body, size_t size, FactoryAuth *ret, ErrorText *err) {
        static const char doc[] = "auth";
        _cleanup_(json_object_putp) json_object *o = NULL;
        FactoryAuth a = {};
        const char *token, *refresh;
        json_object *v;
        int r;

        r = parse_object(doc, body, size, &o, err);
        if (r < 0)
                return r;

        r = get_string(doc, o, "", "access_token", true, &token, err);
        if (r < 0)
                return r;
        if (!*token)
                return fail(err, "%s: access_token is empty", doc);
        for (const char *p = token; *p; p++)
                if ((unsigned char) *p < 0x21 || (unsigned char) *p > 0x7e)
                        return fail(err, "%s: access_token contains characters not allowed in a header",
                                    doc);

        r = get_string(doc, o, "", "refresh_token", false, &refresh, err);
        if (r < 0)
                return r;

        if (json_object_object_get_ex(o, "expires_in", &v) && v) {
                int64_t n;
                if (!json_object_is_type(v, json_type_int))
                        return fail(err, "%s: expires_in is %s, not an integer", doc, type_name(v));
                errno = 0;
                n = json_object_get_int64(v);
                if (n < 0 || errno != 0)
                        return fail(err, "%s: expires_in is out of range", doc);
                a.have_expires_in = true;
                a.expires_in = (uint64_t) n;
        }
        r = get_time(doc, o, "expires_at", &a.have_expires_at, &a.expires_at, err);
        if (r < 0)
                return r;

        a.access_token = strdup(token);
        if (!a.access_token)
                return -ENOMEM;
        if (refresh) {
                a.refresh_token = strdup(refresh);
                if (!a.refresh_token) {
                        factory_auth_done(&a);
                        return -ENOMEM;
                }
        }
        erase_string_member(o, "access_token");
        erase_string_member(o, "refresh_token");
        *ret = a;
        return 0;
}

int factory_json_parse_device(const char *body, size_t size, FactoryDevice *ret, ErrorText *err) {
        static const char doc[] = "device";
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *data, *rel, *group;
        FactoryDevice d = {};
        const char *type, *id;
        int r;

        r = parse_object(doc, body, size, &o, err);
        if (r < 0)
                return r;

        r = get_object(doc, o, "", "data", true, &data, err);
        if (r < 0)
                return r;

        r = get_string(doc, data, "data.", "type", false, &type, err);
        if (r < 0)
                return r;
        if (type && !streq(type, "device"))
                return fail(err, "%s: data.type is \"%s\", not \"device\"", doc, type);

        r = get_string(doc, data, "data.", "id", false, &id, err);
        if (r < 0)
                return r;
        if (id) {
                if (!factory_id_valid(id, FACTORY_ID_MAX))
                        return fail(err, "%s: data.id is not 1..%d hex digits", doc, FACTORY_ID_MAX);
                copy_lower(d.id, sizeof(d.id), id);
        }

        r = get_object(doc, data, "data.", "relationships", false, &rel, err);
        if (r < 0)
                return r;
        if (rel) {
                r = get_object(doc, rel, "data.relationships.", "devicegroup", false, &group, err);
                if (r < 0)
                        return r;
                if (group) {
                        r = get_string(doc, group, "data.relationships.devicegroup.", "type", true, &type,
                                       err);
                        if (r < 0)
                                return r;
                        if (strlen(type) >= sizeof(d.group_type))
                                return fail(err, "%s: data.relationships.devicegroup.type is too long", doc);
                        copy_sanitized(d.group_type, sizeof(d.group_type), type, strlen(type));
                        d.factory_fixture = streq(type, FACTORY_GROUP_FACTORY_FIXTURE) ||
                                            streq(type, FACTORY_GROUP_PRE_FACTORY_FIXTURE);
                }
        }

        *ret = d;
        return 0;
}

int factory_json_parse_enroll(const char *body, size_t size, FactoryEnroll *ret, ErrorText *err) {
        static const char doc[] = "enroll";
        _cleanup_(json_object_putp) json_object *o = NULL;
        FactoryEnroll e = {};
        int r;

        r = parse_object(doc, body, size, &o, err);
        if (r < 0)
                return r;

        r = get_id(doc, o, "plan_id", true, 1, e.plan_id, err);
        if (r < 0)
                return r;
        r = get_id(doc, o, "token_id", true, 1, e.token_id, err);
        if (r < 0)
                return r;
        r = get_time(doc, o, "expires_at", &e.have_expires_at, &e.expires_at, err);
        if (r < 0)
                return r;

        *ret = e;
        return 0;
}

int factory_json_parse_confirm(const char *body, size_t size, FactoryConfirm *ret, ErrorText *err) {
        static const char doc[] = "confirm";
        _cleanup_(json_object_putp) json_object *o = NULL;
        FactoryConfirm c = {};
        const char *status;
        json_object *error;
        int r;

        r = parse_object(doc, body, size, &o, err);
        if (r < 0)
                return r;

        r = get_string(doc, o, "", "status", true, &status, err);
        if (r < 0)
                return r;
        copy_sanitized(c.status_text, sizeof(c.status_text), status, strlen(status));

        r = get_id(doc, o, "token_id", false, 1, c.token_id, err);
        if (r < 0)
                return r;
        r = get_id(doc, o, "plan_id", false, 1, c.plan_id, err);
        if (r < 0)
                return r;

        if (streq(status, "claimed")) {
                c.status = FACTORY_ENROLL_CLAIMED;
                r = get_id(doc, o, "device_id", true, FACTORY_ID_MAX, c.device_id, err);
                if (r < 0)
                        return r;
        } else if (streq(status, "error")) {
                const char *code = NULL, *message = NULL;
                char a[64] = "", b[96] = "";

                c.status = FACTORY_ENROLL_ERROR;
                r = get_object(doc, o, "", "error", false, &error, err);
                if (r < 0)
                        return r;
                if (error) {
                        r = get_string(doc, error, "error.", "code", false, &code, err);
                        if (r < 0)
                                return r;
                        r = get_string(doc, error, "error.", "message", false, &message, err);
                        if (r < 0)
                                return r;
                }
                if (code)
                        copy_sanitized(a, sizeof(a), code, strlen(code));
                if (message)
                        copy_sanitized(b, sizeof(b), message, strlen(message));
                if (*a && *b)
                        (void) snprintf(c.error, sizeof(c.error), "%s: %s", a, b);
                else if (*a || *b)
                        (void) snprintf(c.error, sizeof(c.error), "%s", *a ? a : b);
                else
                        (void) snprintf(c.error, sizeof(c.error), "no details given");
        } else {
                /* "pending", and whatever a newer server may say: keep polling */
                c.status = FACTORY_ENROLL_PENDING;
                /* a device_id that is present must still be well-formed */
                r = get_id(doc, o, "device_id", false, FACTORY_ID_MAX, c.device_id, err);
                if (r < 0)
                        return r;
                c.device_id[0] = 0;
        }

        *ret = c;
        return 0;
}

static bool looks_like_html(const char *body, size_t size, const char *content_type) {
        size_t i = 0;

        if (content_type && strncasecmp(content_type, "text/html", 9) == 0)
                return true;
        while (i < size && isspace((unsigned char) body[i]))
                i++;
        return i < size && body[i] == '<';
}

void factory_json_error_text(const char *body, size_t size, const char *content_type, char *buf,
                            size_t bufsize) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *errors, *first, *v;
        const char *title = NULL, *detail = NULL, *code = NULL;
        char t[96] = "", d[128] = "";
        ErrorText err;
        size_t n = 0;

        if (bufsize == 0)
                return;

        while (body && n < size && isspace((unsigned char) body[n]))
                n++;
        if (!body || n == size) {
                (void) snprintf(buf, bufsize, "empty response");
                return;
        }
        if (looks_like_html(body, size, content_type)) {
                (void) snprintf(buf, bufsize, "HTML response, not a JSON error document");
                return;
        }
        if (parse_object("error", body, size, &o, &err) < 0) {
                if (strstr(err.message, "truncated"))
                        (void) snprintf(buf, bufsize, "truncated JSON error document");
                else
                        (void) snprintf(buf, bufsize, "malformed error document");
                return;
        }
        if (!json_object_object_get_ex(o, "errors", &errors) ||
            !json_object_is_type(errors, json_type_array) || json_object_array_length(errors) < 1) {
                (void) snprintf(buf, bufsize, "no \"errors\" in the error document");
                return;
        }
        first = json_object_array_get_idx(errors, 0);
        if (!json_object_is_type(first, json_type_object)) {
                (void) snprintf(buf, bufsize, "malformed \"errors\" in the error document");
                return;
        }
        if (json_object_object_get_ex(first, "title", &v) && json_object_is_type(v, json_type_string))
                title = json_object_get_string(v);
        if (json_object_object_get_ex(first, "detail", &v) && json_object_is_type(v, json_type_string))
                detail = json_object_get_string(v);
        if (json_object_object_get_ex(first, "code", &v) && json_object_is_type(v, json_type_string))
                code = json_object_get_string(v);

        if (title && *title)
                copy_sanitized(t, sizeof(t), title, strlen(title));
        else if (code && *code)
                copy_sanitized(t, sizeof(t), code, strlen(code));
        if (detail && *detail)
                copy_sanitized(d, sizeof(d), detail, strlen(detail));

        if (*t && *d)
                n = (size_t) snprintf(buf, bufsize, "%s: %s", t, d);
        else if (*t || *d)
                n = (size_t) snprintf(buf, bufsize, "%s", *t ? t : d);
        else
                n = (size_t) snprintf(buf, bufsize, "no title or detail in the error document");
        if (n >= bufsize && bufsize > 4)
                memcpy(buf + bufsize - 4, "...", 4);
}
