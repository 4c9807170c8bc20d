/* SPDX-License-Identifier: MIT */
/* The factory server's responses: auth, device, enroll and confirm documents. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "factory-json-internal.h"
#include "macro.h"


FactoryAuth *factory_auth_free(FactoryAuth *a) {
        if (!a)
                return NULL;
        erase_and_free(a->access_token);
        erase_and_free(a->refresh_token);
        return mfree(a);
}

/* The token goes into an HTTP header: printable ASCII without spaces. */
static int auth_check_token(const char *doc, const char *token, ErrorText *err) {
        if (!*token)
                return fail(err, "%s: access_token is empty", doc);
        for (const char *p = token; *p; p++)
                if ((unsigned char) *p < 0x21 || (unsigned char) *p > 0x7e)
                        return fail(err, "%s: access_token contains characters not allowed in a header", doc);
        return 0;
}

/* expires_in: a non-negative integer, seconds. */
static int auth_get_expires_in(const char *doc, json_object *o, FactoryAuth *a, ErrorText *err) {
        json_object *v;
        int64_t n;

        if (!json_object_object_get_ex(o, "expires_in", &v) || !v)
                return 0;
        if (!json_object_is_type(v, json_type_int))
                return fail(err, "%s: expires_in is %s, not an integer", doc, doc_type_name(v));
        errno = 0;
        n = json_object_get_int64(v);
        if (n < 0 || errno != 0)
                return fail(err, "%s: expires_in is out of range", doc);
        a->have_expires_in = true;
        a->expires_in = (uint64_t) n;
        return 1;
}

int factory_json_parse_auth(const char *body, size_t size, FactoryAuth **ret, ErrorText *err) {
        static const char doc[] = "auth";
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_(factory_auth_freep) FactoryAuth *a = NULL;
        FactoryAuth t = {};
        const char *token, *refresh;
        int r;

        r = doc_parse_object(doc, body, size, &o, err);
        if (r < 0)
                return r;
        r = doc_get_string(doc, o, "", "access_token", true, &token, err);
        if (r < 0)
                return r;
        r = auth_check_token(doc, token, err);
        if (r < 0)
                return r;
        r = doc_get_string(doc, o, "", "refresh_token", false, &refresh, err);
        if (r < 0)
                return r;
        r = auth_get_expires_in(doc, o, &t, err);
        if (r < 0)
                return r;
        r = doc_get_time(doc, o, "expires_at", &t.have_expires_at, &t.expires_at, err);
        if (r < 0)
                return r;

        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        *a = t;
        a->access_token = strdup(token);
        if (!a->access_token)
                return -ENOMEM;
        if (refresh) {
                a->refresh_token = strdup(refresh);
                if (!a->refresh_token)
                        return -ENOMEM;
        }
        doc_erase_string_member(o, "access_token");
        doc_erase_string_member(o, "refresh_token");
        *ret = TAKE_PTR(a);
        return 0;
}

int factory_json_parse_device(const char *body, size_t size, FactoryDevice *ret, ErrorText *err) {
        static const char doc[] = "device";
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *data, *rel, *group;
        FactoryDevice d = {};
        const char *type, *id;
        int r;

        r = doc_parse_object(doc, body, size, &o, err);
        if (r < 0)
                return r;

        r = doc_get_object(doc, o, "", "data", true, &data, err);
        if (r < 0)
                return r;

        r = doc_get_string(doc, data, "data.", "type", false, &type, err);
        if (r < 0)
                return r;
        if (type && !streq(type, "device"))
                return fail(err, "%s: data.type is \"%s\", not \"device\"", doc, type);

        r = doc_get_string(doc, data, "data.", "id", false, &id, err);
        if (r < 0)
                return r;
        if (id) {
                if (!factory_id_valid(id, FACTORY_ID_MAX))
                        return fail(err, "%s: data.id is not 1..%d hex digits", doc, FACTORY_ID_MAX);
                factory_id_copy_lower(d.id, id);
        }

        r = doc_get_object(doc, data, "data.", "relationships", false, &rel, err);
        if (r < 0)
                return r;
        if (rel) {
                r = doc_get_object(doc, rel, "data.relationships.", "devicegroup", false, &group, err);
                if (r < 0)
                        return r;
                if (group) {
                        r = doc_get_string(doc, group, "data.relationships.devicegroup.", "type", true, &type,
                                       err);
                        if (r < 0)
                                return r;
                        if (strlen(type) >= sizeof(d.group_type))
                                return fail(err, "%s: data.relationships.devicegroup.type is too long", doc);
                        text_copy_sanitized(d.group_type, sizeof(d.group_type), type, strlen(type));
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

        r = doc_parse_object(doc, body, size, &o, err);
        if (r < 0)
                return r;

        r = doc_get_id(doc, o, "plan_id", true, 1, e.plan_id, err);
        if (r < 0)
                return r;
        r = doc_get_id(doc, o, "token_id", true, 1, e.token_id, err);
        if (r < 0)
                return r;
        r = doc_get_time(doc, o, "expires_at", &e.have_expires_at, &e.expires_at, err);
        if (r < 0)
                return r;

        *ret = e;
        return 0;
}

/* The error of a failed enrollment, as "code: message", either alone, or "no details given". */
static int confirm_get_error(const char *doc, json_object *o, char *buf, size_t size, ErrorText *err) {
        const char *code = NULL, *message = NULL;
        char a[64] = "", b[96] = "";
        json_object *error;
        int r;

        r = doc_get_object(doc, o, "", "error", false, &error, err);
        if (r < 0)
                return r;
        if (error) {
                r = doc_get_string(doc, error, "error.", "code", false, &code, err);
                if (r < 0)
                        return r;
                r = doc_get_string(doc, error, "error.", "message", false, &message, err);
                if (r < 0)
                        return r;
        }
        if (code)
                text_copy_sanitized(a, sizeof(a), code, strlen(code));
        if (message)
                text_copy_sanitized(b, sizeof(b), message, strlen(message));
        if (*a && *b)
                (void) snprintf(buf, size, "%s: %s", a, b);
        else if (*a || *b)
                (void) snprintf(buf, size, "%s", *a ? a : b);
        else
                (void) snprintf(buf, size, "no details given");
        return 0;
}

int factory_json_parse_confirm(const char *body, size_t size, FactoryConfirm *ret, ErrorText *err) {
        static const char doc[] = "confirm";
        _cleanup_(json_object_putp) json_object *o = NULL;
        FactoryConfirm c = {};
        const char *status;
        int r;

        r = doc_parse_object(doc, body, size, &o, err);
        if (r < 0)
                return r;

        r = doc_get_string(doc, o, "", "status", true, &status, err);
        if (r < 0)
                return r;
        text_copy_sanitized(c.status_text, sizeof(c.status_text), status, strlen(status));

        r = doc_get_id(doc, o, "token_id", false, 1, c.token_id, err);
        if (r < 0)
                return r;
        r = doc_get_id(doc, o, "plan_id", false, 1, c.plan_id, err);
        if (r < 0)
                return r;

        if (streq(status, "claimed")) {
                c.status = FACTORY_ENROLL_CLAIMED;
                r = doc_get_id(doc, o, "device_id", true, FACTORY_ID_MAX, c.device_id, err);
                if (r < 0)
                        return r;
        } else if (streq(status, "error")) {
                c.status = FACTORY_ENROLL_ERROR;
                r = confirm_get_error(doc, o, c.error, sizeof(c.error), err);
                if (r < 0)
                        return r;
        } else {
                /* "pending", and whatever a newer server may say: keep polling */
                c.status = FACTORY_ENROLL_PENDING;
                /* a device_id that is present must still be well-formed */
                r = doc_get_id(doc, o, "device_id", false, FACTORY_ID_MAX, c.device_id, err);
                if (r < 0)
                        return r;
                c.device_id[0] = 0;
        }

        *ret = c;
        return 0;
}

