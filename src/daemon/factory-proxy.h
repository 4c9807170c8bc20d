/* SPDX-License-Identifier: MIT */
#pragma once

/* The daemon's proxy to its factory server client: the same operations as factory-client.h,
 * each sent to blinkupd-https over the private connection of https-proto.h and answered there
 * by the real client. The daemon links neither libcurl nor json-c.
 *
 * The helper is started on the first operation and again after it died; an operation whose
 * helper dies, or that outlives its deadline (attempt_timeout_usec, plus a margin), ends with
 * FACTORY_ERROR_SERVER or FACTORY_ERROR_TIMEOUT naming the helper, which is then killed.
 *
 * The client's contract, which the proxy keeps: everything runs on the caller's sd-event loop
 * through libcurl's multi interface: no threads, nothing blocks. An operation (verify, request a token, confirm an enrollment)
 * ends with exactly one call of its callback, from the loop, unless it is cancelled first;
 * the operation object is freed by the proxy right after the callback returns. Several
 * operations may run at once.
 *
 * Every request: HTTPS (plain HTTP only with allow_insecure_http), certificate and host name
 * verified, connect and total timeouts, no redirects, at most FACTORY_RESPONSE_MAX bytes.
 * Retries: 5xx and transport errors with exponential backoff and 429 after Retry-After, all
 * within the operation's deadline (attempt_timeout_usec); one re-authentication on 401.
 * Secrets are never logged and never part of a message. curl_global_init() must have been
 * called once, in main, before any thread starts (by blinkupd-https). */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "factory.h"
#include "macro.h"

typedef struct FactoryProxy FactoryProxy;
typedef struct FactoryProxyOp FactoryProxyOp;

typedef void (*factory_proxy_callback_t)(FactoryProxy *s, const FactoryResult *r, void *userdata);

/* Copies what it needs from c. -EINVAL (logged) for a URL that is not https:// (or http://
 * when allowed), a missing key or a malformed fixture or plan ID. */
int factory_proxy_new(sd_event *e, const FactoryConfig *c, FactoryProxy **ret);
/* Cancels whatever is running (no callbacks). Not from inside a server callback. */
FactoryProxy *factory_proxy_free(FactoryProxy *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(FactoryProxy *, factory_proxy_free);

/* Factory mode: authenticates if needed, then GET /devices/{fixture_id}. FACTORY_OK means the
 * server confirmed a factory fixture. -EOPNOTSUPP in production mode. */
int factory_proxy_verify(FactoryProxy *s, factory_proxy_callback_t cb, void *userdata, FactoryProxyOp **ret_op);

/* Factory mode: authenticate if needed, verify, POST /enroll (factory_token). Production
 * mode: POST /enroll (production_token) only. The result carries plan_id and token_id. */
int factory_proxy_request_token(FactoryProxy *s, factory_proxy_callback_t cb, void *userdata, FactoryProxyOp **ret_op);

/* POST /enroll only (authenticating first if needed): for a fixture just confirmed by
 * factory_proxy_verify(), so that an attempt checks the device once. A 403 is still "not a factory
 * fixture". In production mode the same as factory_proxy_request_token(). */
int factory_proxy_enroll(FactoryProxy *s, factory_proxy_callback_t cb, void *userdata, FactoryProxyOp **ret_op);

/* Polls GET /enroll/{token_id} every confirm_interval_usec until "claimed" (FACTORY_OK with
 * device_id), "error" (FACTORY_ERROR_SERVER) or confirm_timeout_usec (FACTORY_ERROR_TIMEOUT). */
int factory_proxy_confirm(FactoryProxy *s, const char *token_id, factory_proxy_callback_t cb, void *userdata,
                          FactoryProxyOp **ret_op);

/* The callback is not called after this. Accepts NULL; returns NULL. */
FactoryProxyOp *factory_proxy_op_cancel(FactoryProxyOp *op);

