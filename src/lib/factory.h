/* SPDX-License-Identifier: MIT */
#pragma once

/* What the factory server client (src/https/factory-client.h, in blinkupd-https) and the
 * daemon's proxy to it (src/daemon/factory-proxy.h) share: the configuration, the result of an
 * operation, the error kinds, and the checks that need no HTTP (factory-server-api.md;
 * org.blinkupd.Fixture1(5)). */

#include <stdbool.h>
#include <stdint.h>

#define FACTORY_RESPONSE_MAX (64 * 1024)

/* Exactly as logged and reported when the server says this fixture is not a factory fixture. */
#define FACTORY_NOT_A_FIXTURE_MESSAGE "Factory BlinkUp request failed. This is not a factory fixture."

typedef struct FactoryConfig {
        char *url; /* base URL, e.g. https://factory.example.com/v5 */
        bool production; /* TokenType=production */
        char *login_key; /* secret, owned by the caller; factory mode */
        char *api_key; /* secret, owned by the caller; production mode */
        char *plan_id; /* production, optional */
        char *fixture_id; /* 16 hex, resolved by the caller with factory_fixture_id_default() if empty */
        char *ca_file; /* NULL: the system's CA store */
        uint64_t timeout_usec; /* per request, total; 0 = 10 s */
        uint64_t connect_timeout_usec; /* 0 = 5 s */
        uint64_t attempt_timeout_usec; /* deadline of one operation including retries; 0 = 30 s */
        uint64_t confirm_timeout_usec; /* 0 = 120 s */
        uint64_t confirm_interval_usec; /* 0 = 1 s */
        bool allow_insecure_http; /* AllowInsecureHttp=yes: for local testing only */
} FactoryConfig;

typedef enum FactoryErrorKind {
        FACTORY_OK,
        FACTORY_ERROR_NOT_FACTORY_FIXTURE,
        FACTORY_ERROR_AUTH,
        FACTORY_ERROR_TIMEOUT,
        FACTORY_ERROR_SERVER, /* 4xx/5xx/bad data */
        FACTORY_ERROR_TRANSPORT, /* connect/DNS/TLS */
        FACTORY_ERROR_CANCELLED,
        _FACTORY_ERROR_KIND_MAX,
} FactoryErrorKind;

typedef struct FactoryResult {
        FactoryErrorKind kind;
        char message[256]; /* human, no secrets */
        char plan_id[17], token_id[17], device_id[17];
        long http_status; /* of the last response; 0 when none came */
        uint64_t token_expires_usec; /* the token's expires_at, CLOCK_REALTIME; 0 when not given */
} FactoryResult;

/* Checks c as server_new() does, without creating anything: -EINVAL (logged) for what
 * server_new() refuses; *ret_plain_http (may be NULL) tells whether the URL is http://. */
int factory_config_check(const FactoryConfig *c, bool *ret_plain_http);

/* Replaces the timeouts of c that are 0 by their defaults (see FactoryConfig). */
void factory_config_fill_timeouts(FactoryConfig *c);

const char *factory_error_kind_to_string(FactoryErrorKind k);

/* The default fixture ID: the machine ID hashed with this application's ID (so it is stable
 * and reveals nothing about the machine ID), its first 16 hex digits. The configuration's
 * unset FixtureId= in factory mode. */
int factory_fixture_id_default(char ret[17]);

/* A factory server identifier (plan, token, device, fixture): 1..FACTORY_ID_MAX hex digits,
 * carried in lower case. */
#define FACTORY_ID_MAX 16

/* True when s is 1..max hex digits (either case). */
bool factory_id_valid(const char *s, size_t max);

/* Copies an identifier (at most FACTORY_ID_MAX characters of src) in lower case. */
void factory_id_copy_lower(char dst[static FACTORY_ID_MAX + 1], const char *src);

/* An identifier checked as 1..16 hex digits and copied in lower case: 0, -EINVAL or -ENOMEM;
 * *ret untouched on failure. */
int factory_id_normalize(const char *s, char **ret);

/* The scheme a factory server URL starts with, in any case: "https://" or "http://" (in lower
 * case), or NULL for any other. */
const char *factory_url_scheme(const char *url);
