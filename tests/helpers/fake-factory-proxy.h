/* SPDX-License-Identifier: MIT */
#pragma once

/* A fake of daemon/factory-proxy.h for the manager's unit test: no helper, no bus. Every
 * operation is held until the test answers it with fake_factory_proxy_answer(), which calls
 * its callback at once, as the real proxy does from the loop. */

#include "factory-proxy.h"

typedef enum FakeFactoryCall {
        FAKE_FACTORY_VERIFY,
        FAKE_FACTORY_REQUEST_TOKEN,
        FAKE_FACTORY_ENROLL,
        FAKE_FACTORY_CONFIRM,
        _FAKE_FACTORY_CALL_MAX,
} FakeFactoryCall;

/* The proxy factory_proxy_new() made last (NULL when none is alive). */
FactoryProxy *fake_factory_proxy_current(void);

/* How many operations of that kind were started, and how many are still held. */
unsigned fake_factory_proxy_started(FactoryProxy *s, FakeFactoryCall call);
unsigned fake_factory_proxy_held(FactoryProxy *s, FakeFactoryCall call);
/* How many operations were cancelled. */
unsigned fake_factory_proxy_cancelled(FactoryProxy *s);

/* The token_id a held confirmation polls for, of the oldest one; NULL when none. */
const char *fake_factory_proxy_confirm_token(FactoryProxy *s);

/* Ends the oldest held operation of that kind with res: 0, or -ENOENT when none is held. */
int fake_factory_proxy_answer(FactoryProxy *s, FakeFactoryCall call, const FactoryResult *res);
