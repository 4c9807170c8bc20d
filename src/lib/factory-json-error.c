/* SPDX-License-Identifier: MIT */
/* The human part of the factory server's error documents, or a word on what came instead. */
#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "factory-json-internal.h"
#include "macro.h"

static bool looks_like_html(const char *body, size_t size, const char *content_type) {
        size_t i = 0;

        if (content_type && strncasecmp(content_type, "text/html", 9) == 0)
                return true;
        while (i < size && isspace((unsigned char) body[i]))
                i++;
        return i < size && body[i] == '<';
}

/* A string member of an error entry, or NULL (absent, or not a string). */
static const char *entry_string(json_object *entry, const char *key) {
        json_object *v;

        if (json_object_object_get_ex(entry, key, &v) && json_object_is_type(v, json_type_string))
                return json_object_get_string(v);
        return NULL;
}

/* "title: detail" of an entry of "errors" (the code when there is no title), cut with "...". */
static void entry_text(json_object *entry, char *buf, size_t bufsize) {
        const char *title = entry_string(entry, "title"), *detail = entry_string(entry, "detail"),
                   *code = entry_string(entry, "code");
        char t[96] = "", d[128] = "";
        size_t n;

        if (title && *title)
                text_copy_sanitized(t, sizeof(t), title, strlen(title));
        else if (code && *code)
                text_copy_sanitized(t, sizeof(t), code, strlen(code));
        if (detail && *detail)
                text_copy_sanitized(d, sizeof(d), detail, strlen(detail));

        if (*t && *d)
                n = (size_t) snprintf(buf, bufsize, "%s: %s", t, d);
        else if (*t || *d)
                n = (size_t) snprintf(buf, bufsize, "%s", *t ? t : d);
        else
                n = (size_t) snprintf(buf, bufsize, "no title or detail in the error document");
        if (n >= bufsize && bufsize > 4)
                memcpy(buf + bufsize - 4, "...", 4);
}

void factory_json_error_text(const char *body, size_t size, const char *content_type, char *buf,
                            size_t bufsize) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *errors, *first;
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
        if (doc_parse_object("error", body, size, &o, &err) < 0) {
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
        entry_text(first, buf, bufsize);
}
