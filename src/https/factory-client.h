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
 * verified, connect and total timeouts, no redirects, at most FACTORY_RESPONSE_MAX bytes.
 * Retries: 5xx and transport errors with exponential backoff and 429 after Retry-After, all
 * within the operation's deadline (attempt_timeout_usec); one re-authentication on 401.
 * Secrets are never logged and never part of a message. curl_global_init() must have been
 * called once, in main, before any thread starts. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "factory.h"
#include "macro.h"

typedef struct FactoryClient FactoryClient;
typedef struct FactoryOp FactoryOp;

typedef void (*factory_client_callback_t)(FactoryClient *s, const FactoryResult *r, void *userdata);

/* Copies what it needs from c. -EINVAL (logged) for a URL that is not https:// (or http://
 * when allowed), a missing key or a malformed fixture or plan ID. */
int factory_client_new(sd_event *e, const FactoryConfig *c, FactoryClient **ret);
/* Cancels whatever is running (no callbacks). Not from inside a server callback. Accepts NULL;
 * returns NULL. */
FactoryClient *factory_client_free(FactoryClient *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(FactoryClient *, factory_client_free);

/* Factory mode: authenticates if needed, then GET /devices/{fixture_id}. FACTORY_OK means the
 * server confirmed a factory fixture. -EOPNOTSUPP in production mode. */
int factory_client_verify(FactoryClient *s, factory_client_callback_t cb, void *userdata, FactoryOp **ret_op);

/* Factory mode: authenticate if needed, verify, POST /enroll (factory_token). Production
 * mode: POST /enroll (production_token) only. The result carries plan_id and token_id. */
int factory_client_request_token(FactoryClient *s, factory_client_callback_t cb, void *userdata, FactoryOp **ret_op);

/* POST /enroll only (authenticating first if needed): for a fixture just confirmed by
 * factory_client_verify(), so that an attempt checks the device once. A 403 is still "not a factory
 * fixture". In production mode the same as factory_client_request_token(). */
int factory_client_enroll(FactoryClient *s, factory_client_callback_t cb, void *userdata, FactoryOp **ret_op);

/* Polls GET /enroll/{token_id} every confirm_interval_usec until "claimed" (FACTORY_OK with
 * device_id), "error" (FACTORY_ERROR_SERVER) or confirm_timeout_usec (FACTORY_ERROR_TIMEOUT). */
int factory_client_confirm(FactoryClient *s, const char *token_id, factory_client_callback_t cb, void *userdata, FactoryOp **ret_op);

/* The callback is not called after this. Accepts NULL; returns NULL. */
FactoryOp *factory_op_cancel(FactoryOp *op);

