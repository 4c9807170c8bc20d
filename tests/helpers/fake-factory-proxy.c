/* SPDX-License-Identifier: MIT */
/* The fake factory proxy: factory-proxy.h with operations held in a list until the test
 * answers them (see fake-factory-proxy.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "fake-factory-proxy.h"
#include "macro.h"

struct FactoryProxyOp {
        FactoryProxy *proxy;
        FakeFactoryCall call;
        factory_proxy_callback_t cb;
        void *userdata;
        char token_id[17];
        FactoryProxyOp *next;
};

struct FactoryProxy {
        bool production;
        FactoryProxyOp *ops; /* the oldest first */
        unsigned started[_FAKE_FACTORY_CALL_MAX];
        unsigned cancelled;
};

static FactoryProxy *current;

int factory_proxy_new(sd_event *e, const FactoryConfig *c, FactoryProxy **ret) {
        FactoryProxy *s;
        int r;

        r = factory_config_check(c, NULL);
        if (r < 0)
                return r;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->production = c->production;
        *ret = current = s;
        return 0;
}

static void op_unlink(FactoryProxyOp *op) {
        for (FactoryProxyOp **p = &op->proxy->ops; *p; p = &(*p)->next)
                if (*p == op) {
                        *p = op->next;
                        return;
                }
}

FactoryProxyOp *factory_proxy_op_cancel(FactoryProxyOp *op) {
        if (!op)
                return NULL;
        op->proxy->cancelled++;
        op_unlink(op);
        free(op);
        return NULL;
}

FactoryProxy *factory_proxy_free(FactoryProxy *s) {
        if (!s)
                return NULL;
        while (s->ops)
                (void) factory_proxy_op_cancel(s->ops);
        if (current == s)
                current = NULL;
        free(s);
        return NULL;
}

static int op_start(FactoryProxy *s, FakeFactoryCall call, const char *token_id, factory_proxy_callback_t cb,
                    void *userdata, FactoryProxyOp **ret_op) {
        FactoryProxyOp *op, **p;

        op = calloc(1, sizeof(*op));
        if (!op)
                return -ENOMEM;
        *op = (FactoryProxyOp) { .proxy = s, .call = call, .cb = cb, .userdata = userdata };
        (void) snprintf(op->token_id, sizeof(op->token_id), "%s", token_id ?: "");
        for (p = &s->ops; *p; p = &(*p)->next)
                ;
        *p = op;
        s->started[call]++;
        *ret_op = op;
        return 0;
}

int factory_proxy_verify(FactoryProxy *s, factory_proxy_callback_t cb, void *userdata, FactoryProxyOp **ret_op) {
        if (s->production)
                return -EOPNOTSUPP;
        return op_start(s, FAKE_FACTORY_VERIFY, NULL, cb, userdata, ret_op);
}

int factory_proxy_request_token(FactoryProxy *s, factory_proxy_callback_t cb, void *userdata,
                                FactoryProxyOp **ret_op) {
        return op_start(s, FAKE_FACTORY_REQUEST_TOKEN, NULL, cb, userdata, ret_op);
}

int factory_proxy_enroll(FactoryProxy *s, factory_proxy_callback_t cb, void *userdata, FactoryProxyOp **ret_op) {
        return op_start(s, FAKE_FACTORY_ENROLL, NULL, cb, userdata, ret_op);
}

int factory_proxy_confirm(FactoryProxy *s, const char *token_id, factory_proxy_callback_t cb, void *userdata,
                          FactoryProxyOp **ret_op) {
        return op_start(s, FAKE_FACTORY_CONFIRM, token_id, cb, userdata, ret_op);
}

FactoryProxy *fake_factory_proxy_current(void) {
        return current;
}

static FactoryProxyOp *oldest(FactoryProxy *s, FakeFactoryCall call) {
        for (FactoryProxyOp *op = s ? s->ops : NULL; op; op = op->next)
                if (op->call == call)
                        return op;
        return NULL;
}

unsigned fake_factory_proxy_started(FactoryProxy *s, FakeFactoryCall call) {
        return s ? s->started[call] : 0;
}

unsigned fake_factory_proxy_held(FactoryProxy *s, FakeFactoryCall call) {
        unsigned n = 0;

        for (FactoryProxyOp *op = s ? s->ops : NULL; op; op = op->next)
                n += op->call == call;
        return n;
}

unsigned fake_factory_proxy_cancelled(FactoryProxy *s) {
        return s ? s->cancelled : 0;
}

const char *fake_factory_proxy_confirm_token(FactoryProxy *s) {
        FactoryProxyOp *op = oldest(s, FAKE_FACTORY_CONFIRM);

        return op ? op->token_id : NULL;
}

int fake_factory_proxy_answer(FactoryProxy *s, FakeFactoryCall call, const FactoryResult *res) {
        FactoryProxyOp *op = oldest(s, call);

        if (!op)
                return -ENOENT;
        op_unlink(op);
        op->cb(s, res, op->userdata); /* as the real proxy: the callback, then the op is freed */
        free(op);
        return 0;
}
