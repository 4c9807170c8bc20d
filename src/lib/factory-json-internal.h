/* SPDX-License-Identifier: MIT */
#pragma once

/* What the parts of the JSON mapping share (factory-json.c): reading a document and its
 * members with messages that name the document and the field, and copying text from the
 * server. factory-json-parse.c reads the responses, factory-json-build.c writes the request
 * bodies, factory-json-error.c reads error documents. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "error-text.h"
#include "factory-json.h"

static inline void json_object_putp(json_object **o) {
        if (*o)
                json_object_put(*o);
}

/* "return fail(err, ...)": a document that breaks the contract */
#define fail(err, ...) error_text_set((err), -EBADMSG, __VA_ARGS__)

/* Copies at most size - 1 characters of src, in lower case. */
/* Copies text from the server for a message: printable ASCII, others as '?', cut with "...". */
void text_copy_sanitized(char *dst, size_t size, const char *src, size_t n);

/* "a number", "an object", ...: for messages. */
const char *doc_type_name(json_object *o);
/* Parses a whole document that must be a JSON object; doc names it in messages. */
int doc_parse_object(const char *doc, const char *body, size_t size, json_object **ret, ErrorText *err);
/* A member that must be a string (an object) when present: 0 = absent (or null), 1 = present. path is
 * the parent's, for messages ("data."). */
int doc_get_string(const char *doc, json_object *parent, const char *path, const char *key, bool required,
                   const char **ret, ErrorText *err);
int doc_get_object(const char *doc, json_object *parent, const char *path, const char *key, bool required,
                   json_object **ret, ErrorText *err);
/* An identifier of min..16 hex digits, returned in lower case (ret: FACTORY_ID_MAX + 1 bytes). */
int doc_get_id(const char *doc, json_object *parent, const char *key, bool required, size_t min, char *ret,
               ErrorText *err);
/* An RFC 3339 UTC time; *have tells whether it was there. */
int doc_get_time(const char *doc, json_object *parent, const char *key, bool *have, time_t *ret, ErrorText *err);
/* json-c keeps its own copy of a string member: a secret's is overwritten before it is released. */
void doc_erase_string_member(json_object *o, const char *key);
