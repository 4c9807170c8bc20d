/* SPDX-License-Identifier: MIT */
/* The steps of the factory server client's operations, auth -> device -> enroll -> poll, and
 * what each response means: the next step, a retry, success, or which error. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "factory-client-internal.h"
#include "log.h"

static int op_advance(FactoryOp *op, Step next) {
        op->step = next;
        op->tries = 0;
        return op_start_step(op);
}

/* A 2xx whose document breaks the contract: the parser's message, or "<step>: out of memory". */
static int op_fail_document(FactoryOp *op, int r, const ErrorText *err) {
        if (r == -ENOMEM)
                return op_fail(op, FACTORY_ERROR_SERVER, "%s: out of memory", step_to_string(op->step));
        return op_fail(op, FACTORY_ERROR_SERVER, "%s", err->message);
}

static int handle_auth(FactoryOp *op) {
        _cleanup_(factory_auth_freep) FactoryAuth *auth = NULL;
        ErrorText err = {};
        uint64_t life;
        char a[32];
        int r;

        r = factory_json_parse_auth(op->response, op->response_size, &auth, &err);
        if (r < 0)
                return op_fail_document(op, r, &err);

        life = token_store(op->client, auth);
        log_debug("Server: authenticated, the access token is good for %s.", format_span(a, sizeof(a), life));
        /* the step that needed the token, even if the token is already due for renewal */
        return op_advance(op, op->after_auth);
}

static int handle_device(FactoryOp *op) {
        FactoryClient *s = op->client;
        ErrorText err = {};
        FactoryDevice d;
        int r;

        r = factory_json_parse_device(op->response, op->response_size, &d, &err);
        if (r < 0)
                return op_fail_document(op, r, &err);
        if (d.id[0] && !streq(d.id, s->fixture_id))
                return op_fail(op, FACTORY_ERROR_SERVER, "device: the server answered for device %s, not for %s",
                               d.id, s->fixture_id);
        if (!d.factory_fixture) {
                if (d.group_type[0])
                        log_info("The server lists fixture %s in a device group of type \"%s\".", s->fixture_id,
                                 d.group_type);
                else
                        log_info("The server lists fixture %s in no device group.", s->fixture_id);
                return op_fail(op, FACTORY_ERROR_NOT_FACTORY_FIXTURE, "%s", FACTORY_NOT_A_FIXTURE_MESSAGE);
        }
        log_debug("Server: fixture %s is a factory fixture (%s).", s->fixture_id, d.group_type);
        if (op->kind == OP_VERIFY)
                return op_succeed(op);
        return op_advance(op, STEP_ENROLL);
}

static int handle_enroll(FactoryOp *op) {
        ErrorText err = {};
        FactoryEnroll e;
        int r;

        r = factory_json_parse_enroll(op->response, op->response_size, &e, &err);
        if (r < 0)
                return op_fail_document(op, r, &err);
        memcpy(op->result.plan_id, e.plan_id, sizeof(e.plan_id));
        memcpy(op->result.token_id, e.token_id, sizeof(e.token_id));
        if (e.have_expires_at) /* one in 1970 or before is long past, not "none" */
                op->result.token_expires_usec = e.expires_at > 0 ? (uint64_t) e.expires_at * USEC_PER_SEC : 1;
        log_debug("Server: enrollment token %s for plan %s.", e.token_id, e.plan_id);
        return op_succeed(op);
}

static int handle_poll(FactoryOp *op) {
        FactoryClient *s = op->client;
        ErrorText err = {};
        FactoryConfirm c;
        char a[32];
        int r;

        op->polls++;
        r = factory_json_parse_confirm(op->response, op->response_size, &c, &err);
        if (r < 0)
                return op_fail_document(op, r, &err);
        if (c.token_id[0] && !streq(c.token_id, op->token_id))
                return op_fail(op, FACTORY_ERROR_SERVER, "confirm: the server answered for token %s, not for %s",
                               c.token_id, op->token_id);
        if (c.plan_id[0])
                memcpy(op->result.plan_id, c.plan_id, sizeof(c.plan_id));

        switch (c.status) {
        case FACTORY_ENROLL_CLAIMED:
                memcpy(op->result.device_id, c.device_id, sizeof(c.device_id));
                return op_succeed(op);
        case FACTORY_ENROLL_ERROR:
                return op_fail(op, FACTORY_ERROR_SERVER, "confirm: the enrollment with token %s failed: %s",
                               op->token_id, c.error);
        case FACTORY_ENROLL_PENDING:
                op->tries = 0;
                if (op_schedule(op, s->confirm_interval_usec))
                        return 0;
                return op_fail(op, FACTORY_ERROR_TIMEOUT,
                               "confirm: token %s was not claimed within %s (last status \"%s\")", op->token_id,
                               format_span(a, sizeof(a), s->confirm_timeout_usec), c.status_text);
        }
        return op_fail(op, FACTORY_ERROR_SERVER, "confirm: unexpected status");
}

static int op_handle_success(FactoryOp *op) {
        switch (op->step) {
        case STEP_AUTH:
                return handle_auth(op);
        case STEP_DEVICE:
                return handle_device(op);
        case STEP_ENROLL:
                return handle_enroll(op);
        case STEP_POLL:
                return handle_poll(op);
        }
        return op_fail(op, FACTORY_ERROR_SERVER, "unexpected step");
}

/* 401: a refused key fails; a refused access token is renewed once. */
static int op_handle_401(FactoryOp *op, const char *text) {
        FactoryClient *s = op->client;
        const char *what = step_to_string(op->step);

        if (op->step == STEP_AUTH)
                return op_fail(op, FACTORY_ERROR_AUTH, "auth: the server refused the login key: HTTP 401: %s",
                               text);
        if (s->production)
                return op_fail(op, FACTORY_ERROR_AUTH, "%s: the server refused the API key: HTTP 401: %s", what,
                               text);
        if (op->reauthenticated)
                return op_fail(op, FACTORY_ERROR_AUTH, "%s: HTTP 401 again after authenticating anew: %s", what,
                               text);
        op->reauthenticated = true;
        token_forget(s, op->token_generation);
        log_debug("Server: %s: HTTP 401, authenticating anew.", what);
        op_release_transfer(op);
        return op_start_step(op);
}

/* 429: wait as long as the server asks (within limits), if the deadline allows. */
static int op_handle_429(FactoryOp *op, const char *text) {
        const char *what = step_to_string(op->step);
        int64_t sec = op->retry_after_sec >= 0 ? op->retry_after_sec : RETRY_AFTER_DEFAULT_SEC;
        uint64_t delay = (uint64_t) MIN(sec, (int64_t) RETRY_AFTER_MAX_SEC) * USEC_PER_SEC;
        char a[32];

        log_debug("Server: %s: HTTP 429, waiting %" PRIu64 " s (asked: %" PRId64 " s).", what,
                  delay / USEC_PER_SEC, sec);
        if (op_schedule(op, delay))
                return 0;
        return op_fail(op, FACTORY_ERROR_SERVER,
                       "%s: HTTP 429: %s; the server asks to wait %" PRId64 " s, beyond the deadline of %s", what,
                       text, sec, format_span(a, sizeof(a), op->deadline_usec - op->started_usec));
}

/* 403 and 404 where they mean "not a factory fixture" or a refused key; other 4xx fail as they are. */
static int op_handle_refusal(FactoryOp *op, long status, const char *text) {
        FactoryClient *s = op->client;

        if (status == 404 && op->step == STEP_DEVICE) {
                log_info("The server does not know fixture %s: HTTP 404: %s", s->fixture_id, text);
                return op_fail(op, FACTORY_ERROR_NOT_FACTORY_FIXTURE, "%s", FACTORY_NOT_A_FIXTURE_MESSAGE);
        }
        if (status == 403 && op->step == STEP_ENROLL) {
                if (s->production)
                        return op_fail(op, FACTORY_ERROR_AUTH,
                                       "enroll: the server refused the API key: HTTP 403: %s", text);
                log_info("The server refuses factory tokens to fixture %s: HTTP 403: %s", s->fixture_id, text);
                return op_fail(op, FACTORY_ERROR_NOT_FACTORY_FIXTURE, "%s", FACTORY_NOT_A_FIXTURE_MESSAGE);
        }
        if (status == 403 && op->step == STEP_AUTH)
                return op_fail(op, FACTORY_ERROR_AUTH, "auth: the server refused the login key: HTTP 403: %s",
                               text);
        return op_fail(op, FACTORY_ERROR_SERVER, "%s: HTTP %ld: %s", step_to_string(op->step), status, text);
}

static int op_handle_status(FactoryOp *op, long status) {
        const char *what = step_to_string(op->step);
        char text[160];

        if (status >= 200 && status < 300)
                return op_handle_success(op);

        factory_json_error_text(op->response, op->response_size, op->content_type, text, sizeof(text));
        server_scrub(op->client, text);

        if (status >= 300 && status < 400)
                return op_fail(op, FACTORY_ERROR_SERVER, "%s: HTTP %ld: redirects are not followed (to %s)", what,
                               status, op->location[0] ? op->location : "an unspecified location");
        if (status == 401)
                return op_handle_401(op, text);
        if (status == 429)
                return op_handle_429(op, text);
        if (status >= 500 && status < 600)
                return op_retry(op, FACTORY_ERROR_SERVER, "%s: HTTP %ld: %s", what, status, text);
        return op_handle_refusal(op, status, text);
}

static int op_handle_response(FactoryOp *op, CURLcode result) {
        long status = 0;

        (void) curl_easy_getinfo(op->curl, CURLINFO_RESPONSE_CODE, &status);
        op->result.http_status = status;
        log_debug("Server: %s -> %s%ld, %zu bytes%s%s", step_to_string(op->step), status ? "HTTP " : "status ",
                  status, op->response_size, result != CURLE_OK ? ", " : "",
                  result != CURLE_OK ? curl_easy_strerror(result) : "");

        if (result != CURLE_OK)
                return op_transport_error(op, result);
        return op_handle_status(op, status);
}

void on_transfer_finished(CurlGlue *g, CURL *c, CURLcode result, void *userdata) {
        char *p = NULL;

        if (curl_easy_getinfo(c, CURLINFO_PRIVATE, &p) != CURLE_OK || !p) {
                curl_glue_remove(g, c);
                return;
        }
        (void) op_handle_response((FactoryOp *) p, result);
}
