/* SPDX-License-Identifier: MIT */
/* The request bodies of the factory server API: POST /auth/token and POST /enroll. */
#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "factory-json-internal.h"
#include "macro.h"

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
                doc_erase_string_member(o, "key");
                return -ENOMEM;
        }
        copy = strdup(s);
        explicit_bzero((char *) s, strlen(s));
        doc_erase_string_member(o, "key");
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
        factory_id_copy_lower(id, fixture_id);

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
                factory_id_copy_lower(id, plan_id);
                r = add_string(o, "plan_id", id);
        }
        if (r < 0)
                return r;
        return build(o, ret);
}

