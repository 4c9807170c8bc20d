/* SPDX-License-Identifier: MIT */
/* The factory server client's access token cache (factory mode): one token for all the client's
 * operations, renewed a little before it expires, dropped after a 401. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf() */
#endif
#include <stdio.h>
#include <time.h>

#include "factory-client-internal.h"
#include "time-util.h"

/* an access token is renewed this long before it expires (at most a tenth of its life) */
#define TOKEN_MARGIN_USEC (60 * USEC_PER_SEC)
#define TOKEN_LIFE_MAX_SEC (UINT64_C(366) * 24 * 3600)

bool token_valid(FactoryClient *s) {
        return s->access_token && now_usec(CLOCK_MONOTONIC) < s->access_token_until;
}

bool step_needs_bearer(FactoryClient *s, Step step) {
        return !s->production && step != STEP_AUTH;
}

/* How long the server says the token lives, in µs, from expires_in or else expires_at. */
static uint64_t token_life(const FactoryAuth *a) {
        if (a->have_expires_in)
                return MIN(a->expires_in, TOKEN_LIFE_MAX_SEC) * USEC_PER_SEC;
        if (a->have_expires_at) {
                time_t t = time(NULL);
                return a->expires_at > t ? MIN((uint64_t) (a->expires_at - t), TOKEN_LIFE_MAX_SEC) * USEC_PER_SEC
                                         : 0;
        }
        return UINT64_MAX / 4; /* until the server says 401 */
}

uint64_t token_store(FactoryClient *s, FactoryAuth *a) {
        uint64_t now = now_usec(CLOCK_MONOTONIC), life;

        life = token_life(a);
        life -= MIN(life / 10, TOKEN_MARGIN_USEC);

        erase_and_free(s->access_token);
        s->access_token = TAKE_PTR(a->access_token);
        s->access_token_until = now + life;
        s->token_generation++;
        return life;
}

void token_forget(FactoryClient *s, uint64_t generation) {
        if (generation != s->token_generation)
                return; /* a newer token came meanwhile */
        erase_and_free(s->access_token);
        s->access_token = NULL;
        s->access_token_until = 0;
}

char *token_bearer_header(FactoryClient *s) {
        char *h = NULL;

        if (asprintf(&h, "Authorization: Bearer %s", s->access_token) < 0)
                return NULL;
        return h;
}
