/* SPDX-License-Identifier: MIT */
#pragma once

/* The factory server client (factory-server-api.md; org.blinkupd.Fixture1(5)).
 *
 * Everything runs on the caller's sd-event loop through libcurl's multi interface: no
 * threads, nothing blocks. An operation (verify, request a token, confirm an enrollment)
 * ends with exactly one call of its callback, from the loop, unless it is cancelled first;
 * the operation object is freed by the server right after the callback returns. Several
 * operations may run at once.
 *
 * Every request: HTTPS (plain HTTP only with allow_insecure_http), certificate and host name
 * verified, connect and total timeouts, no redirects, at most SERVER_RESPONSE_MAX bytes.
 * Retries: 5xx and transport errors with exponential backoff and 429 after Retry-After, all
 * within the operation's deadline (attempt_timeout_usec); one re-authentication on 401.
 * Secrets are never logged and never part of a message. curl_global_init() must have been
 * called once, in main, before any thread starts. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#define SERVER_RESPONSE_MAX (64 * 1024)

/* Exactly as logged and reported when the server says this fixture is not a factory fixture. */
#define SERVER_NOT_FACTORY_FIXTURE_MESSAGE "Factory BlinkUp request failed. This is not a factory fixture."

typedef struct Server Server;
typedef struct ServerOp ServerOp;

typedef struct ServerConfig {
        char *url; /* base URL, e.g. https://factory.example.com/v5 */
        bool production; /* TokenType=production */
        char *login_key; /* secret, owned by the caller; factory mode */
        char *api_key; /* secret, owned by the caller; production mode */
        char *plan_id; /* production, optional */
        char *fixture_id; /* 16 hex, resolved by the caller with server_fixture_id_default() if empty */
        char *ca_file; /* NULL: the system's CA store */
        uint64_t timeout_usec; /* per request, total; 0 = 10 s */
        uint64_t connect_timeout_usec; /* 0 = 5 s */
        uint64_t attempt_timeout_usec; /* deadline of one operation including retries; 0 = 30 s */
        uint64_t confirm_timeout_usec; /* 0 = 120 s */
        uint64_t confirm_interval_usec; /* 0 = 1 s */
        bool allow_insecure_http; /* AllowInsecureHttp=yes: for local testing only */
} ServerConfig;

typedef enum ServerErrorKind {
        SERVER_OK,
        SERVER_ERROR_NOT_FACTORY_FIXTURE,
        SERVER_ERROR_AUTH,
        SERVER_ERROR_TIMEOUT,
        SERVER_ERROR_SERVER, /* 4xx/5xx/bad data */
        SERVER_ERROR_TRANSPORT, /* connect/DNS/TLS */
        SERVER_ERROR_CANCELLED,
        _SERVER_ERROR_KIND_MAX,
} ServerErrorKind;

typedef struct ServerResult {
        ServerErrorKind kind;
        char message[256]; /* human, no secrets */
        char plan_id[17], token_id[17], device_id[17];
        long http_status; /* of the last response; 0 when none came */
        uint64_t token_expires_usec; /* the token's expires_at, CLOCK_REALTIME; 0 when not given */
} ServerResult;

typedef void (*server_callback_t)(Server *s, const ServerResult *r, void *userdata);

/* Checks c as server_new() does, without creating anything: -EINVAL (logged) for what
 * server_new() refuses; *ret_plain_http (may be NULL) tells whether the URL is http://. */
int server_config_check(const ServerConfig *c, bool *ret_plain_http);

/* Replaces the timeouts of c that are 0 by their defaults (see ServerConfig). */
void server_config_fill_timeouts(ServerConfig *c);

/* Copies what it needs from c. -EINVAL (logged) for a URL that is not https:// (or http://
 * when allowed), a missing key or a malformed fixture or plan ID. */
int server_new(sd_event *e, const ServerConfig *c, Server **ret);
/* Cancels whatever is running (no callbacks). Not from inside a server callback. */
Server *server_free(Server *s);

/* Factory mode: authenticates if needed, then GET /devices/{fixture_id}. SERVER_OK means the
 * server confirmed a factory fixture. -EOPNOTSUPP in production mode. */
int server_verify(Server *s, server_callback_t cb, void *userdata, ServerOp **ret_op);

/* Factory mode: authenticate if needed, verify, POST /enroll (factory_token). Production
 * mode: POST /enroll (production_token) only. The result carries plan_id and token_id. */
int server_request_token(Server *s, server_callback_t cb, void *userdata, ServerOp **ret_op);

/* POST /enroll only (authenticating first if needed): for a fixture just confirmed by
 * server_verify(), so that an attempt checks the device once. A 403 is still "not a factory
 * fixture". In production mode the same as server_request_token(). */
int server_enroll(Server *s, server_callback_t cb, void *userdata, ServerOp **ret_op);

/* Polls GET /enroll/{token_id} every confirm_interval_usec until "claimed" (SERVER_OK with
 * device_id), "error" (SERVER_ERROR_SERVER) or confirm_timeout_usec (SERVER_ERROR_TIMEOUT). */
int server_confirm(Server *s, const char *token_id, server_callback_t cb, void *userdata, ServerOp **ret_op);

/* The callback is not called after this. Accepts NULL; returns NULL. */
ServerOp *server_op_cancel(ServerOp *op);

/* Number of operations that have not finished yet. */
unsigned server_pending(Server *s);

const char *server_error_kind_to_string(ServerErrorKind k);

/* The default fixture ID: the machine ID hashed with this application's ID (so it is stable
 * and reveals nothing about the machine ID), its first 16 hex digits. */
int server_fixture_id_default(char ret[17]);

/* Reads a secret from path, or when path is NULL or empty from the systemd credential
 * $CREDENTIALS_DIRECTORY/<credential_name>. Files readable by others are refused. On
 * failure -errno and an allocated message in *ret_error (path and reason, never content). */
int server_load_secret(const char *path_or_null, const char *credential_name, char **ret, char **ret_error);
