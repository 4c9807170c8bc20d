/* SPDX-License-Identifier: MIT */
#pragma once

/* The factory server's JSON documents (the contract: factory-server-api.md, also in
 * org.blinkupd.Fixture1(5)), in both directions. Pure: no I/O, no clock, no logging.
 *
 * Parsers tolerate unknown fields and refuse wrong types and malformed identifiers with a
 * message that names the document and the field, e.g. "enroll: token_id is not 1..16 hex
 * digits". They return 0 on success, -EBADMSG for a document that breaks the contract (the
 * reason in err->message), -ENOMEM; *ret is untouched on failure. Identifiers are returned
 * in lower case. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "error-text.h"
#include "factory.h"
#include "macro.h"


/* The group types that make a device a factory fixture. */
#define FACTORY_GROUP_FACTORY_FIXTURE "factoryfixture_devicegroup"
#define FACTORY_GROUP_PRE_FACTORY_FIXTURE "pre_factoryfixture_devicegroup"

/* POST /auth/token -> 200 */
typedef struct FactoryAuth {
        char *access_token; /* secret: erased when freed */
        char *refresh_token; /* secret, NULL when absent */
        bool have_expires_in;
        uint64_t expires_in; /* seconds */
        bool have_expires_at;
        time_t expires_at; /* seconds since the epoch, UTC */
} FactoryAuth;

/* Erases the secrets. Accepts NULL; returns NULL. */
FactoryAuth *factory_auth_free(FactoryAuth *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(FactoryAuth *, factory_auth_free);

/* GET /devices/{id} -> 200 */
typedef struct FactoryDevice {
        char id[FACTORY_ID_MAX + 1]; /* empty when absent */
        char group_type[64]; /* empty when the device has no group */
        bool factory_fixture; /* group_type is one of the factory fixture groups */
} FactoryDevice;

/* POST /enroll -> 200/201 */
typedef struct FactoryEnroll {
        char plan_id[FACTORY_ID_MAX + 1];
        char token_id[FACTORY_ID_MAX + 1];
        bool have_expires_at;
        time_t expires_at;
} FactoryEnroll;

typedef enum FactoryEnrollStatus {
        FACTORY_ENROLL_PENDING, /* "pending" and any status this client does not know */
        FACTORY_ENROLL_CLAIMED,
        FACTORY_ENROLL_ERROR,
} FactoryEnrollStatus;

/* GET /enroll/{token_id} -> 200 */
typedef struct FactoryConfirm {
        FactoryEnrollStatus status;
        char status_text[32]; /* as sent, for messages */
        char token_id[FACTORY_ID_MAX + 1];
        char plan_id[FACTORY_ID_MAX + 1];
        char device_id[FACTORY_ID_MAX + 1]; /* set when claimed */
        char error[192]; /* "code: message" when status is "error" */
} FactoryConfirm;

/* Request bodies. The strings are allocated; the auth body holds the login key, free it with
 * erase_and_free(). -EINVAL for an identifier that is not 1..16 hex digits. */
int factory_json_build_auth(const char *login_key, char **ret);
int factory_json_build_enroll_factory(const char *fixture_id, char **ret);
int factory_json_build_enroll_production(const char *plan_id, char **ret);

/* The auth document is allocated (factory_auth_free()); the others are filled in. */
int factory_json_parse_auth(const char *body, size_t size, FactoryAuth **ret, ErrorText *err);
int factory_json_parse_device(const char *body, size_t size, FactoryDevice *ret, ErrorText *err);
int factory_json_parse_enroll(const char *body, size_t size, FactoryEnroll *ret, ErrorText *err);
int factory_json_parse_confirm(const char *body, size_t size, FactoryConfirm *ret, ErrorText *err);

/* The human part of an error response of any shape: "title: detail" of the first entry of
 * {"errors": [...]}, or a description of what came instead ("empty response", "HTML
 * response", "malformed JSON response", ...). Never fails; always NUL-terminates. Control
 * characters from the server are replaced, long text is cut. */
void factory_json_error_text(const char *body, size_t size, const char *content_type, char *buf,
                            size_t bufsize);


/* Parses an RFC 3339 UTC time "YYYY-MM-DDTHH:MM:SS[.frac]Z" (or with +00:00). -EINVAL
 * otherwise. */
int factory_json_parse_time(const char *s, time_t *ret);
