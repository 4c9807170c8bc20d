/* SPDX-License-Identifier: MIT */
/* The factory server client's objects: the client (its configuration and secrets) and its
 * operations, their life cycle, and the public API of factory-client.h. How a request is sent
 * and retried is in factory-request.c, what the responses mean in factory-steps.c. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf() */
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "factory-client-internal.h"
#include "list.h"
#include "log.h"
#include "string-util.h"
#include "time-util.h"

static const char *const step_names[] = {
        [STEP_AUTH] = "auth",
        [STEP_DEVICE] = "device",
        [STEP_ENROLL] = "enroll",
        [STEP_POLL] = "confirm",
};

const char *step_to_string(Step step) {
        return step_names[step];
}

const char *format_span(char *buf, size_t size, uint64_t usec) {
        if (usec < USEC_PER_SEC)
                (void) snprintf(buf, size, "%" PRIu64 " ms", usec / USEC_PER_MSEC);
        else if (usec % USEC_PER_SEC == 0)
                (void) snprintf(buf, size, "%" PRIu64 " s", usec / USEC_PER_SEC);
        else
                (void) snprintf(buf, size, "%.1f s", (double) usec / USEC_PER_SEC);
        return buf;
}

/* Replaces every occurrence of a secret in a message, in case a server echoed one. */
static void scrub(char *msg, const char *secret) {
        static const char mask[] = "(secret)";
        size_t n;
        char *p;

        if (!secret || strlen(secret) < 4)
                return;
        n = strlen(secret);
        while ((p = strstr(msg, secret))) {
                size_t rest = strlen(p + n);
                if (n >= sizeof(mask) - 1) {
                        memcpy(p, mask, sizeof(mask) - 1);
                        memmove(p + sizeof(mask) - 1, p + n, rest + 1);
                } else
                        memset(p, '*', n);
        }
}

void server_scrub(FactoryClient *s, char *msg) {
        scrub(msg, s->login_key);
        scrub(msg, s->api_key);
        scrub(msg, s->access_token);
        scrub(msg, s->basic_authorization ? s->basic_authorization + strlen("Authorization: Basic ") : NULL);
}

/* ---- operations ---- */

static void op_unlink(FactoryOp *op) {
        if (!op->linked)
                return;
        LIST_REMOVE(op->client->ops, op);
        op->linked = false;
}

static FactoryOp *op_free(FactoryOp *op) {
        if (!op)
                return NULL;
        op_unlink(op);
        op_release_transfer(op);
        sd_event_source_disable_unref(op->timer);
        return mfree(op);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(FactoryOp *, op_free);

FactoryOp *factory_op_cancel(FactoryOp *op) {
        if (!op || op->dispatching)
                return NULL; /* a finishing operation is freed once its callback returns */
        return op_free(op);
}

static void op_finish(FactoryOp *op) {
        FactoryClient *s = op->client;

        server_scrub(s, op->result.message);

        if (op->result.kind == FACTORY_ERROR_NOT_FACTORY_FIXTURE)
                log_error("%s", FACTORY_NOT_A_FIXTURE_MESSAGE);
        else if (op->result.kind != FACTORY_OK)
                log_debug("Server request failed (%s): %s", factory_error_kind_to_string(op->result.kind),
                          op->result.message);

        op_unlink(op);
        op_release_transfer(op);
        op->timer = sd_event_source_disable_unref(op->timer);

        op->dispatching = true;
        if (op->callback)
                op->callback(s, &op->result, op->userdata);
        op_free(op);
}

int op_fail(FactoryOp *op, FactoryErrorKind kind, const char *format, ...) {
        va_list ap;

        op->result.kind = kind;
        va_start(ap, format);
        (void) vsnprintf(op->result.message, sizeof(op->result.message), format, ap);
        va_end(ap);
        op_finish(op);
        return 0;
}

int op_succeed(FactoryOp *op) {
        op->result.kind = FACTORY_OK;
        op->result.message[0] = 0;
        op_finish(op);
        return 0;
}

static int op_new(FactoryClient *s, OpKind kind, factory_client_callback_t cb, void *userdata, uint64_t timeout,
                  FactoryOp **ret) {
        FactoryOp *op;

        op = calloc(1, sizeof(*op));
        if (!op)
                return -ENOMEM;
        op->client = s;
        op->kind = kind;
        op->callback = cb;
        op->userdata = userdata;
        op->retry_after_sec = -1;
        op->started_usec = now_usec(CLOCK_MONOTONIC);
        op->deadline_usec = op->started_usec + timeout;
        op->result.kind = FACTORY_ERROR_SERVER;

        LIST_PREPEND(s->ops, op);
        op->linked = true;
        *ret = op;
        return 0;
}

/* Creates an operation and sends its first request; token_id only for OP_CONFIRM. */
static int op_start(FactoryClient *s, OpKind kind, Step first, const char *token_id, factory_client_callback_t cb,
                    void *userdata, FactoryOp **ret_op) {
        _cleanup_(op_freep) FactoryOp *op = NULL;
        int r;

        r = op_new(s, kind, cb, userdata, kind == OP_CONFIRM ? s->confirm_timeout_usec : s->attempt_timeout_usec,
                   &op);
        if (r < 0)
                return r;
        if (token_id) {
                factory_id_copy_lower(op->token_id, token_id);
                memcpy(op->result.token_id, op->token_id, sizeof(op->token_id));
        }
        op->step = first;
        r = op_send(op);
        if (r < 0)
                return r == -ETIME ? -ETIMEDOUT : r;
        if (ret_op)
                *ret_op = op;
        TAKE_PTR(op); /* the client owns it until it ends */
        return 0;
}

int factory_client_verify(FactoryClient *s, factory_client_callback_t cb, void *userdata, FactoryOp **ret_op) {
        if (!s)
                return -EINVAL;
        if (s->production)
                return -EOPNOTSUPP;
        return op_start(s, OP_VERIFY, STEP_DEVICE, NULL, cb, userdata, ret_op);
}

int factory_client_request_token(FactoryClient *s, factory_client_callback_t cb, void *userdata, FactoryOp **ret_op) {
        if (!s)
                return -EINVAL;
        return op_start(s, OP_TOKEN, s->production ? STEP_ENROLL : STEP_DEVICE, NULL, cb, userdata, ret_op);
}

int factory_client_enroll(FactoryClient *s, factory_client_callback_t cb, void *userdata, FactoryOp **ret_op) {
        if (!s)
                return -EINVAL;
        return op_start(s, OP_TOKEN, STEP_ENROLL, NULL, cb, userdata, ret_op);
}

int factory_client_confirm(FactoryClient *s, const char *token_id, factory_client_callback_t cb, void *userdata,
                           FactoryOp **ret_op) {
        if (!s || !factory_id_valid(token_id, FACTORY_ID_MAX))
                return -EINVAL;
        return op_start(s, OP_CONFIRM, STEP_POLL, token_id, cb, userdata, ret_op);
}

/* ---- the client ---- */

static char *base64_encode(const char *s) {
        static const char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t n = strlen(s), j = 0;
        const unsigned char *p = (const unsigned char *) s;
        char *out;

        out = malloc((n + 2) / 3 * 4 + 1);
        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i += 3) {
                uint32_t v = (uint32_t) p[i] << 16;
                if (i + 1 < n)
                        v |= (uint32_t) p[i + 1] << 8;
                if (i + 2 < n)
                        v |= p[i + 2];
                out[j++] = table[(v >> 18) & 63];
                out[j++] = table[(v >> 12) & 63];
                out[j++] = i + 1 < n ? table[(v >> 6) & 63] : '=';
                out[j++] = i + 2 < n ? table[v & 63] : '=';
        }
        out[j] = 0;
        return out;
}

/* "Authorization: Basic base64(key:)": the API key, a colon, and no password. */
static int basic_authorization(const char *api_key, char **ret) {
        _cleanup_(erase_and_freep) char *userpass = NULL, *b64 = NULL;
        char *h;

        if (asprintf(&userpass, "%s:", api_key) < 0)
                return -ENOMEM;
        b64 = base64_encode(userpass);
        if (!b64)
                return -ENOMEM;
        if (asprintf(&h, "Authorization: Basic %s", b64) < 0)
                return -ENOMEM;
        *ret = h;
        return 0;
}

/* The keys of the mode: the login key (factory), or the API key and plan (production). */
static int client_set_keys(FactoryClient *s, const FactoryConfig *c) {
        int r;

        if (!c->production)
                return free_and_strdup(&s->login_key, c->login_key);
        r = free_and_strdup(&s->plan_id, empty_to_null(c->plan_id));
        if (r < 0)
                return r;
        r = free_and_strdup(&s->api_key, c->api_key);
        if (r < 0)
                return r;
        return basic_authorization(c->api_key, &s->basic_authorization);
}

static int client_set_config(FactoryClient *s, const FactoryConfig *c) {
        FactoryConfig t = *c;
        size_t n;
        int r;

        s->production = c->production;
        s->allow_insecure_http = c->allow_insecure_http;
        factory_config_fill_timeouts(&t);
        s->timeout_usec = t.timeout_usec;
        s->connect_timeout_usec = t.connect_timeout_usec;
        s->attempt_timeout_usec = t.attempt_timeout_usec;
        s->confirm_timeout_usec = t.confirm_timeout_usec;
        s->confirm_interval_usec = t.confirm_interval_usec;

        r = free_and_strdup(&s->url, c->url);
        if (r < 0)
                return r;
        n = strlen(s->url);
        while (n > strlen("https://") && s->url[n - 1] == '/')
                s->url[--n] = 0;

        if (!isempty(c->fixture_id))
                factory_id_copy_lower(s->fixture_id, c->fixture_id);
        r = free_and_strdup(&s->ca_file, empty_to_null(c->ca_file));
        if (r < 0)
                return r;
        return client_set_keys(s, c);
}

int factory_client_new(sd_event *e, const FactoryConfig *c, FactoryClient **ret) {
        _cleanup_(factory_client_freep) FactoryClient *s = NULL;
        bool plain_http;
        int r;

        if (!e || !c || !ret)
                return -EINVAL;
        r = factory_config_check(c, &plain_http);
        if (r < 0)
                return r;
        if (plain_http)
                log_warning(
                        "WARNING: AllowInsecureHttp=yes: talking plain, unencrypted HTTP to %s. The %s and "
                        "the enrollment tokens can be read and changed by anyone on the network. Use this "
                        "for local testing only, never in a factory.",
                        c->url, c->production ? "API key" : "login key, the access tokens");

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(e);
        r = client_set_config(s, c);
        if (r < 0)
                return r;
        r = curl_glue_new(e, on_transfer_finished, s, &s->glue);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

FactoryClient *factory_client_free(FactoryClient *s) {
        if (!s)
                return NULL;
        while (s->ops)
                op_free(s->ops);
        curl_glue_free(s->glue);
        erase_and_free(s->login_key);
        erase_and_free(s->api_key);
        erase_and_free(s->basic_authorization);
        erase_and_free(s->access_token);
        free(s->url);
        free(s->plan_id);
        free(s->ca_file);
        sd_event_unref(s->event);
        return mfree(s);
}
