/* SPDX-License-Identifier: MIT */
#pragma once

/* What the parts of the factory server client share: the client and operation objects, the
 * steps of an operation, and the functions each part offers the others:
 *   factory-client.c   the objects, their life cycle and the public API;
 *   factory-request.c  building and sending a request, the retry policy (backoff, Retry-After,
 *                      transport errors);
 *   factory-steps.c    the steps auth -> device -> enroll -> poll and what each response means;
 *   factory-token.c    the access token cache. */

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "curl-glue.h"
#include "factory-client.h"
#include "factory-json.h"
#include "http-util.h"
#include "macro.h"

#define BACKOFF_FIRST_USEC (250 * USEC_PER_MSEC)
#define BACKOFF_MAX_USEC (4 * USEC_PER_SEC)
/* Retry-After: what a 429 without one (or with one that is neither form) waits; the longest
 * wait that is waited (a longer one is waited this long, if the deadline allows); the largest
 * figure kept, for the message */
#define RETRY_AFTER_DEFAULT_SEC 1
#define RETRY_AFTER_MAX_SEC 3600
#define RETRY_AFTER_SATURATE_SEC HTTP_RETRY_AFTER_SATURATE_SEC

typedef enum OpKind {
        OP_VERIFY,
        OP_TOKEN,
        OP_CONFIRM,
} OpKind;

typedef enum Step {
        STEP_AUTH, /* POST /auth/token */
        STEP_DEVICE, /* GET /devices/{fixture_id} */
        STEP_ENROLL, /* POST /enroll */
        STEP_POLL, /* GET /enroll/{token_id} */
} Step;

struct FactoryOp {
        FactoryClient *client;
        OpKind kind;
        Step step, after_auth;
        factory_client_callback_t callback;
        void *userdata;
        bool linked, dispatching;

        uint64_t started_usec, deadline_usec; /* CLOCK_MONOTONIC */
        unsigned tries; /* failed tries of the current request, for the backoff */
        unsigned polls;
        bool reauthenticated; /* the one re-authentication after a 401 is used up */
        uint64_t token_generation; /* of the access token the request carried */
        uint64_t request_timeout_usec; /* of the request in flight: the smaller of the total
                                        * timeout and what is left of the deadline */

        /* the transfer in flight */
        CURL *curl;
        struct curl_slist *headers;
        char *body;
        char *response;
        size_t response_size;
        bool too_large;
        int64_t retry_after_sec; /* -1: none */
        char content_type[64];
        char location[128];
        char error_buffer[CURL_ERROR_SIZE];

        sd_event_source *timer;

        char token_id[FACTORY_ID_MAX + 1];
        FactoryResult result;
        FactoryOp *prev, *next;
};

struct FactoryClient {
        sd_event *event;
        CurlGlue *glue;

        char *url;
        bool production;
        char *login_key;
        char *api_key;
        char *basic_authorization; /* "Authorization: Basic ..." for production mode */
        char *plan_id;
        char fixture_id[FACTORY_ID_MAX + 1];
        char *ca_file;
        uint64_t timeout_usec, connect_timeout_usec, attempt_timeout_usec;
        uint64_t confirm_timeout_usec, confirm_interval_usec;
        bool allow_insecure_http;

        char *access_token;
        uint64_t access_token_until; /* CLOCK_MONOTONIC */
        uint64_t token_generation;

        FactoryOp *ops;
};

/* factory-client.c */
const char *step_to_string(Step step);
/* "1.5 s", "3 s", "250 ms" */
const char *format_span(char *buf, size_t size, uint64_t usec);
/* Masks the client's secrets in text that came from the server, before it is logged or reported. */
void server_scrub(FactoryClient *s, char *msg);
/* The operation ends: its callback is called once, then it is freed. They return 0. */
_printf_(3, 4) int op_fail(FactoryOp *op, FactoryErrorKind kind, const char *format, ...);
int op_succeed(FactoryOp *op);

/* factory-request.c */
void op_release_transfer(FactoryOp *op);
/* Sends the request of the current step (authenticating first when the token is missing or
 * due): -ETIME when the deadline leaves no time for it. */
int op_send(FactoryOp *op);
/* op_send(), failing the operation when it cannot. */
int op_start_step(FactoryOp *op);
/* Runs the current step again after delay; false when that would pass the deadline. */
bool op_schedule(FactoryOp *op, uint64_t delay);
/* A transient failure: try again after the backoff, or give up with this message. */
_printf_(3, 4) int op_retry(FactoryOp *op, FactoryErrorKind kind, const char *format, ...);
int op_transport_error(FactoryOp *op, CURLcode e);

/* factory-steps.c */
void on_transfer_finished(CurlGlue *g, CURL *c, CURLcode result, void *userdata);

/* factory-token.c */
bool token_valid(FactoryClient *s);
bool step_needs_bearer(FactoryClient *s, Step step);
/* Keeps the access token of an auth response; returns how long it is used, in µs. */
uint64_t token_store(FactoryClient *s, FactoryAuth *a);
/* After a 401 on a request that carried the token of generation: that token is no good. */
void token_forget(FactoryClient *s, uint64_t generation);
/* "Authorization: Bearer ..." for a request (erase_and_free() it); NULL on ENOMEM. */
char *token_bearer_header(FactoryClient *s);
