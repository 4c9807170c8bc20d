/* SPDX-License-Identifier: MIT */
/* The factory server client as blinkupd uses it (factory-proxy.h): the operations of
 * factory-client.h, carried out by blinkupd-https in a process of its own (https-proto.h says
 * why and how), so the daemon maps neither libcurl nor a TLS library: what it locks in memory
 * for the transmitter is its own code and libsystemd's.
 *
 * blinkupd-https is started by factory_proxy_new() and again by the first request after it stopped;
 * a request it cannot answer because it stopped ends as FACTORY_ERROR_TRANSPORT, with the
 * reason, like any other transport failure. The daemon trusts nothing it answers beyond its
 * form: the identifiers are checked again here. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* close_range() */
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "https-proto.h"
#include "list.h"
#include "log.h"
#include "macro.h"
#include "factory-json.h"
#include "factory-proxy.h"
#include "helper-process.h"
#include "string-util.h"

/* beyond the operation's own deadline, which blinkupd-https keeps: time for its answer to
 * arrive. Past it the daemon ends the operation itself, and kills blinkupd-https. */
#define ANSWER_MARGIN_USEC (500 * USEC_PER_MSEC)

struct FactoryProxyOp {
        FactoryProxy *proxy;
        uint64_t id;
        const char *method;
        sd_bus *bus; /* the connection the call went out on (it may be an old one, closing) */
        sd_bus_slot *slot;
        sd_event_source *deadline; /* the operation's own deadline, whatever the helper does */
        uint64_t deadline_usec; /* relative, for the message */
        factory_proxy_callback_t callback;
        void *userdata;
        FactoryProxyOp *prev, *next;
};

struct FactoryProxy {
        sd_event *event;
        FactoryConfig config; /* the strings owned; the keys erased when freed */
        HelperProcess hp;

        uint64_t next_id;
        FactoryProxyOp *ops;
};

/* ---- blinkupd-https, the process ---- */

static int on_open_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(m);

        if (e)
                log_error("blinkupd-https did not take the server configuration: %s", e->message);
        return 0;
}

static int helper_open(FactoryProxy *s) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        const FactoryConfig *c = &s->config;
        int r;

        r = sd_bus_message_new_method_call(s->hp.bus, &m, NULL, HTTPS_PROTO_PATH, HTTPS_PROTO_INTERFACE,
                                           "Open");
        if (r < 0)
                return r;
        (void) sd_bus_message_sensitive(m); /* the keys: erased when the message is freed */
        r = sd_bus_message_append(
                m, HTTPS_PROTO_OPEN_SIGNATURE, c->url, c->production, strempty(c->login_key),
                strempty(c->api_key), strempty(c->plan_id), strempty(c->fixture_id),
                strempty(c->ca_file), c->timeout_usec, c->connect_timeout_usec, c->attempt_timeout_usec,
                c->confirm_timeout_usec, c->confirm_interval_usec, c->allow_insecure_http);
        if (r < 0)
                return r;
        return sd_bus_call_async(s->hp.bus, NULL, m, on_open_reply, s, 0);
}

static int helper_start(FactoryProxy *s) {
        int r;

        r = helper_process_start(&s->hp);
        if (r < 0)
                return r;
        r = helper_open(s);
        if (r < 0)
                return log_error_errno(r, "Cannot send the configuration to blinkupd-https: %m");
        return 0;
}

static int helper_ensure(FactoryProxy *s) {
        if (helper_process_running(&s->hp))
                return 0;
        if (s->hp.starts > 0)
                log_notice("Starting blinkupd-https, the factory server client, again.");
        return helper_start(s);
}

/* ---- operations ---- */

static void op_unlink(FactoryProxyOp *op) {
        LIST_REMOVE(op->proxy->ops, op);
}

static void op_free(FactoryProxyOp *op) {
        op_unlink(op);
        op->slot = sd_bus_slot_unref(op->slot);
        op->deadline = sd_event_source_disable_unref(op->deadline);
        op->bus = sd_bus_unref(op->bus);
        free(op);
}

static bool id_ok(const char *id) {
        return !*id || factory_id_valid(id, FACTORY_ID_MAX);
}

static void result_from_reply(sd_bus_message *m, FactoryResult *res) {
        const char *message, *plan_id, *token_id, *device_id;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        int64_t status;
        uint64_t expires;
        uint32_t kind;
        int r;

        res->kind = FACTORY_ERROR_TRANSPORT;
        if (e) {
                (void) snprintf(res->message, sizeof(res->message),
                                "No answer from blinkupd-https, the factory server client: %s", e->message);
                return;
        }
        r = sd_bus_message_read(m, HTTPS_PROTO_RESULT_SIGNATURE, &kind, &message, &plan_id, &token_id,
                                &device_id, &status, &expires);
        if (r < 0 || kind >= _FACTORY_ERROR_KIND_MAX || strlen(message) >= sizeof(res->message) ||
            !id_ok(plan_id) || !id_ok(token_id) || !id_ok(device_id)) {
                (void) snprintf(res->message, sizeof(res->message),
                                "blinkupd-https, the factory server client, answered something malformed.");
                return;
        }
        res->kind = (FactoryErrorKind) kind;
        strcpy(res->message, message);
        strcpy(res->plan_id, plan_id);
        strcpy(res->token_id, token_id);
        strcpy(res->device_id, device_id);
        res->http_status = (long) status;
        res->token_expires_usec = expires;
}

static int on_op_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        FactoryProxyOp *op = userdata;
        FactoryResult res = {};

        result_from_reply(m, &res);
        op_unlink(op);
        op->callback(op->proxy, &res, op->userdata);
        op_free(op);
        return 0;
}

/* Ends op with a timeout and this message, and frees it. */
_printf_(2, 3) static void op_fail_timeout(FactoryProxyOp *op, const char *format, ...) {
        FactoryProxy *s = op->proxy;
        FactoryResult res = { .kind = FACTORY_ERROR_TIMEOUT };
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(res.message, sizeof(res.message), format, ap);
        va_end(ap);
        op_unlink(op);
        op->callback(s, &res, op->userdata);
        op_free(op);
}

/* The operation's deadline passed with no answer: blinkupd-https is stuck (stopped, spinning, or
 * it never finished its handshake). The operation fails now, and the helper is killed, so that
 * the next request starts a new one; the other requests it had fail with it, saying why. */
static int on_op_deadline(sd_event_source *source, uint64_t usec, void *userdata) {
        FactoryProxyOp *op = userdata;
        FactoryProxy *s = op->proxy;
        _cleanup_(sd_bus_unrefp) sd_bus *stuck = NULL;
        const char *method = op->method;
        char span[32];

        (void) snprintf(span, sizeof(span), "%.1f s", (double) op->deadline_usec / (double) USEC_PER_SEC);
        if (op->bus == s->hp.bus && s->hp.helper) {
                log_warning("blinkupd-https (PID %d) did not answer %s within its deadline of %s; killing it.",
                            (int) helper_process_pid(&s->hp), method, span);
                stuck = sd_bus_ref(s->hp.bus);
                helper_process_retire(&s->hp, true);
        }
        op_fail_timeout(op,
                        "%s: no answer from blinkupd-https, the factory server client, within the deadline of "
                        "%s; it was killed, and the next request starts it again",
                        method, span);

        /* the callbacks may start requests: those go to a new helper, never to the stuck one */
        for (FactoryProxyOp *other; stuck;) {
                for (other = s->ops; other && other->bus != stuck; other = other->next)
                        ;
                if (!other)
                        break;
                op_fail_timeout(other,
                                "%s: no answer from blinkupd-https, the factory server client: it was killed, "
                                "as it did not answer %s within its deadline of %s",
                                other->method, method, span);
        }
        return 0;
}

/* token_id: Confirm's argument; its deadline is the confirmation's, the others' one attempt's */
static int op_call(FactoryProxy *s, const char *method, const char *token_id, factory_proxy_callback_t cb,
                   void *userdata, FactoryProxyOp **ret_op) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        uint64_t deadline_usec;
        FactoryProxyOp *op;
        int r;

        if (!s || !cb)
                return -EINVAL;
        deadline_usec = token_id ? s->config.confirm_timeout_usec : s->config.attempt_timeout_usec;
        r = helper_ensure(s);
        if (r < 0)
                return r;
        op = calloc(1, sizeof(*op));
        if (!op)
                return -ENOMEM;
        op->proxy = s;
        op->id = ++s->next_id;
        op->method = method;
        op->deadline_usec = deadline_usec;
        op->callback = cb;
        op->userdata = userdata;
        op->bus = sd_bus_ref(s->hp.bus);

        r = sd_bus_message_new_method_call(s->hp.bus, &m, NULL, HTTPS_PROTO_PATH, HTTPS_PROTO_INTERFACE,
                                           method);
        if (r >= 0)
                r = sd_bus_message_append(m, "t", op->id);
        if (r >= 0 && token_id)
                r = sd_bus_message_append(m, "s", token_id);
        /* sd-bus's own timeout does not run while the connection is still authenticating: the
         * deadline is a timer of the event loop's, sd-bus's only a later backstop */
        if (r >= 0)
                r = sd_bus_call_async(s->hp.bus, &op->slot, m, on_op_reply, op,
                                      deadline_usec + ANSWER_MARGIN_USEC + HELPER_EXIT_TIMEOUT_USEC);
        if (r >= 0)
                r = sd_event_add_time_relative(s->event, &op->deadline, CLOCK_MONOTONIC,
                                               deadline_usec + ANSWER_MARGIN_USEC, 10 * USEC_PER_MSEC,
                                               on_op_deadline, op);
        if (r < 0) {
                op_free(op);
                return log_error_errno(r, "Cannot send the %s request to blinkupd-https: %m", method);
        }
        LIST_PREPEND(s->ops, op);
        if (ret_op)
                *ret_op = op;
        return 0;
}

int factory_proxy_verify(FactoryProxy *s, factory_proxy_callback_t cb, void *userdata, FactoryProxyOp **ret_op) {
        if (s && s->config.production)
                return -EOPNOTSUPP;
        return op_call(s, "Verify", NULL, cb, userdata, ret_op);
}

int factory_proxy_request_token(FactoryProxy *s, factory_proxy_callback_t cb, void *userdata, FactoryProxyOp **ret_op) {
        return op_call(s, "RequestToken", NULL, cb, userdata, ret_op);
}

int factory_proxy_enroll(FactoryProxy *s, factory_proxy_callback_t cb, void *userdata, FactoryProxyOp **ret_op) {
        return op_call(s, "Enroll", NULL, cb, userdata, ret_op);
}

int factory_proxy_confirm(FactoryProxy *s, const char *token_id, factory_proxy_callback_t cb, void *userdata,
                   FactoryProxyOp **ret_op) {
        if (!factory_id_valid(token_id, FACTORY_ID_MAX))
                return -EINVAL;
        return op_call(s, "Confirm", token_id, cb, userdata, ret_op);
}

FactoryProxyOp *factory_proxy_op_cancel(FactoryProxyOp *op) {
        if (!op)
                return NULL;
        /* blinkupd-https is told, not asked: no answer comes, none is waited for */
        if (op->bus && sd_bus_is_open(op->bus) > 0)
                (void) sd_bus_call_method_async(op->bus, NULL, NULL, HTTPS_PROTO_PATH, HTTPS_PROTO_INTERFACE,
                                                "Cancel", NULL, NULL, "t", op->id);
        op_free(op);
        return NULL;
}

/* ---- setup ---- */

static void config_clear(FactoryConfig *c) {
        free(c->url);
        erase_and_free(c->login_key);
        erase_and_free(c->api_key);
        free(c->plan_id);
        free(c->fixture_id);
        free(c->ca_file);
        *c = (FactoryConfig){};
}

static int config_copy(FactoryConfig *dst, const FactoryConfig *src) {
        *dst = *src;
        dst->url = dst->login_key = dst->api_key = dst->plan_id = dst->fixture_id = dst->ca_file = NULL;
        factory_config_fill_timeouts(dst);
        if (!(dst->url = strdup(src->url)) ||
            (src->login_key && !(dst->login_key = strdup(src->login_key))) ||
            (src->api_key && !(dst->api_key = strdup(src->api_key))) ||
            (src->plan_id && !(dst->plan_id = strdup(src->plan_id))) ||
            (src->fixture_id && !(dst->fixture_id = strdup(src->fixture_id))) ||
            (src->ca_file && !(dst->ca_file = strdup(src->ca_file))))
                return -ENOMEM;
        return 0;
}

int factory_proxy_new(sd_event *e, const FactoryConfig *c, FactoryProxy **ret) {
        _cleanup_(factory_proxy_freep) FactoryProxy *s = NULL;
        int r;

        if (!e || !c || !ret)
                return -EINVAL;
        r = factory_config_check(c, NULL);
        if (r < 0)
                return r;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(e);
        r = helper_process_init(&s->hp, e, NULL, "the factory server client");
        if (r < 0)
                return r;
        r = config_copy(&s->config, c);
        if (r < 0)
                return r;
        r = helper_start(s);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

FactoryProxy *factory_proxy_free(FactoryProxy *s) {
        if (!s)
                return NULL;
        while (s->ops)
                op_free(s->ops);
        helper_process_done(&s->hp);
        config_clear(&s->config);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}
