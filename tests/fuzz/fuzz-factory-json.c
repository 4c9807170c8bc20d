/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: every parser of factory-json.h on the same arbitrary bytes, plus the
 * error text extraction, the time parser and the identifier check. The parsers get the bytes
 * exactly as received (not NUL-terminated: a copy of exactly size bytes), as the client does. */

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "factory-json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(int r, const ErrorText *err) {
        if (r == 0)
                return;
        if (r != -EBADMSG && r != -ENOMEM)
                abort();
        /* a refusal always says why, NUL-terminated within the buffer */
        if (r == -EBADMSG && (memchr(err->message, 0, sizeof(err->message)) == NULL || err->message[0] == 0))
                abort();
}

static void check_id(const char *id) {
        size_t n = strnlen(id, FACTORY_ID_MAX + 1);

        if (n > FACTORY_ID_MAX)
                abort();
        for (size_t i = 0; i < n; i++)
                if (!strchr("0123456789abcdef", id[i]))
                        abort(); /* identifiers come back in lower case */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        ErrorText err;
        char *body, *str, buf[256];
        int r;

        /* exactly size bytes, so that ASan sees any read past the end */
        body = malloc(size ?: 1);
        if (!body)
                return 0;
        if (size > 0)
                memcpy(body, data, size);

        {
                _cleanup_(factory_auth_freep) FactoryAuth *a = NULL;
                memset(&err, 0, sizeof(err));
                r = factory_json_parse_auth(body, size, &a, &err);
                check_message(r, &err);
                if (r == 0 && (!a || !a->access_token || !a->access_token[0]))
                        abort();
                if (r < 0 && a)
                        abort(); /* untouched on failure */
        }
        {
                FactoryDevice d = {};
                memset(&err, 0, sizeof(err));
                r = factory_json_parse_device(body, size, &d, &err);
                check_message(r, &err);
                if (r == 0) {
                        check_id(d.id);
                        if (!memchr(d.group_type, 0, sizeof(d.group_type)))
                                abort();
                }
        }
        {
                FactoryEnroll e = {};
                memset(&err, 0, sizeof(err));
                r = factory_json_parse_enroll(body, size, &e, &err);
                check_message(r, &err);
                if (r == 0) {
                        check_id(e.plan_id);
                        check_id(e.token_id);
                        if (!e.token_id[0])
                                abort();
                }
        }
        {
                FactoryConfirm c = {};
                memset(&err, 0, sizeof(err));
                r = factory_json_parse_confirm(body, size, &c, &err);
                check_message(r, &err);
                if (r == 0) {
                        check_id(c.token_id);
                        check_id(c.plan_id);
                        check_id(c.device_id);
                        if (!memchr(c.status_text, 0, sizeof(c.status_text)) || !memchr(c.error, 0, sizeof(c.error)))
                                abort();
                }
        }

        for (size_t i = 0; i < 3; i++) {
                static const char *const types[] = { "application/json", "text/html; charset=utf-8", NULL };
                memset(buf, 'x', sizeof(buf));
                factory_json_error_text(body, size, types[i], buf, sizeof(buf));
                if (!memchr(buf, 0, sizeof(buf)))
                        abort();
                for (const char *p = buf; *p; p++)
                        if ((unsigned char) *p < 0x20 || *p == 0x7f)
                                abort(); /* control characters are replaced */
        }
        /* a small buffer: cut, still terminated */
        factory_json_error_text(body, size, NULL, buf, 8);
        if (!memchr(buf, 0, 8))
                abort();

        /* the NUL-terminated helpers on the same bytes as a string */
        str = strndup(body, size);
        if (str) {
                time_t t;
                char *out = NULL;

                (void) factory_json_parse_time(str, &t);
                if (factory_id_valid(str, FACTORY_ID_MAX) && strlen(str) > FACTORY_ID_MAX)
                        abort();

                /* the login key comes back unchanged out of the body it was put in */
                r = factory_json_build_auth(str, &out);
                if (r == 0) {
                        bool ascii = true;
                        for (const char *p = str; *p; p++)
                                if ((unsigned char) *p >= 0x80)
                                        ascii = false;
                        if (ascii) {
                                json_object *o = json_tokener_parse(out), *k = NULL;
                                if (!o || !json_object_object_get_ex(o, "key", &k) ||
                                    !json_object_is_type(k, json_type_string) ||
                                    strcmp(json_object_get_string(k), str) != 0)
                                        abort();
                                json_object_put(o);
                        }
                } else if (r != -ENOMEM && str[0])
                        abort();
                free(out);
                out = NULL;

                r = factory_json_build_enroll_factory(str, &out);
                if (r != -ENOMEM && (r == 0) != factory_id_valid(str, FACTORY_ID_MAX))
                        abort();
                free(out);
                out = NULL;
                r = factory_json_build_enroll_production(str, &out);
                if (r != -ENOMEM && (r == 0) != (!str[0] || factory_id_valid(str, FACTORY_ID_MAX)))
                        abort();
                free(out);
                free(str);
        }

        free(body);
        return 0;
}
